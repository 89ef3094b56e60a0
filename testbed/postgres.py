"""A throwaway PostgreSQL cluster for the tests, the benchmarks and the process tests of the
replicated bot: Debian's server, created with `initdb` and run with `pg_ctl` on a free loopback
port in a temporary directory, removed when stopped.

    with PostgresServer() as server:
        url = server.create_database()        # postgresql://postgres@127.0.0.1:PORT/ledger_1
        server.restart()                      # same port and data, as an operator's restart

PostgreSQL refuses to run as root, so as root every server command goes through the `postgres`
system user (`runuser -u postgres --`), and the directory belongs to it. Clients on 127.0.0.1 log
in as `postgres` without a password (trust); every other role needs its password (SCRAM), so a
test can create a role and be refused with a wrong password. `pg_ctl` always gets a log file:
without one the server keeps the caller's stdout open and a captured run never returns.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from itertools import count
from pathlib import Path
from types import TracebackType

import psycopg

#: Superuser, reachable without a password on loopback only.
SUPERUSER = "postgres"
_INSTALL_HINT = "run `make install` (tools/install-postgresql.sh installs Debian's postgresql)"


class PostgresError(RuntimeError):
    """The server could not be found, started or stopped; the message ends with its log."""


def find_bindir() -> Path:
    """The directory of `initdb` and `pg_ctl`: Debian's newest `/usr/lib/postgresql/N/bin`, else
    the one holding `pg_ctl` on PATH (Debian only links some of them into PATH)."""
    versions = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"),
        key=lambda path: int(path.parent.parent.name) if path.parent.parent.name.isdigit() else 0,
    )
    if versions:
        return versions[-1].parent
    on_path = shutil.which("pg_ctl")
    if on_path:
        return Path(os.path.realpath(on_path)).parent
    raise PostgresError(f"PostgreSQL server binaries not found; {_INSTALL_HINT}")


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


class PostgresServer:
    """One cluster on `127.0.0.1:port` (a free port by default) under a temporary directory."""

    def __init__(self, *, port: int | None = None, bindir: Path | None = None) -> None:
        self.bindir = bindir or find_bindir()
        self.port = port or free_port()
        self.host = "127.0.0.1"
        self._as_root = os.geteuid() == 0
        self._directory: Path | None = None
        self._databases = count(1)

    # -- lifecycle ---------------------------------------------------------------------------------

    def __enter__(self) -> PostgresServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop(remove=True)

    @property
    def data_dir(self) -> Path:
        if self._directory is None:
            raise PostgresError("the server was never started")
        return self._directory / "data"

    def start(self) -> PostgresServer:
        """Create the cluster on first start, then start the server and wait until it accepts."""
        if self._directory is None:
            self._create_cluster()
        self._pg_ctl(
            "start",
            "-w",
            "-l",
            str(self._directory / "server.log"),
            "-o",
            f"-p {self.port} -k {self._directory} -c listen_addresses={self.host} -c fsync=off "
            "-c full_page_writes=off -c max_connections=200",
        )
        return self

    def stop(self, *, remove: bool = False, mode: str = "fast") -> None:
        """Stop the server (`mode` as pg_ctl's: fast, immediate); `remove` deletes the cluster."""
        if self._directory is None:
            return
        if (self.data_dir / "postmaster.pid").exists():
            self._pg_ctl("stop", "-w", "-m", mode)
        if remove:
            shutil.rmtree(self._directory, ignore_errors=True)
            self._directory = None

    def restart(self, *, mode: str = "fast") -> None:
        """Stop and start on the same port with the same data (clients lose their sessions)."""
        self.stop(mode=mode)
        self.start()

    # -- databases and roles -----------------------------------------------------------------------

    def url(self, database: str = "postgres", *, user: str = SUPERUSER, password: str = "") -> str:
        credentials = f"{user}:{password}" if password else user
        return f"postgresql://{credentials}@{self.host}:{self.port}/{database}"

    def create_database(self, name: str | None = None) -> str:
        """A new empty database; its URL (as the superuser)."""
        name = name or f"ledger_{next(self._databases)}"
        self.sql(f'CREATE DATABASE "{name}" STRATEGY FILE_COPY')  # 4x quicker than WAL_LOG
        return self.url(name)

    def create_schema(self, database: str) -> str:
        """A new empty schema in `database` (created if missing); the URL of a connection that
        uses it (`search_path`). A thousand times quicker than a database, for unit tests."""
        if not self.sql(f"SELECT 1 FROM pg_database WHERE datname = '{database}'"):
            self.create_database(database)
        name = f"s{next(self._databases)}"
        self.sql(f'CREATE SCHEMA "{name}"', database)
        return f"{self.url(database)}?options=-csearch_path%3D{name}"

    def create_role(self, name: str, password: str) -> None:
        self.sql(f"CREATE ROLE \"{name}\" LOGIN PASSWORD '{password}'")

    def sql(self, statement: str, database: str = "postgres") -> list[tuple]:
        """Run one statement as the superuser (autocommit); the rows it returns, if any."""
        with psycopg.connect(self.url(database), autocommit=True) as connection:
            cursor = connection.execute(statement)
            return cursor.fetchall() if cursor.description else []

    def log_tail(self, lines: int = 20) -> str:
        if self._directory is None:
            return ""
        log = self._directory / "server.log"
        if not log.exists():
            return ""
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])

    # -- internals ---------------------------------------------------------------------------------

    def _create_cluster(self) -> None:
        directory = Path(tempfile.mkdtemp(prefix="pg-"))
        if self._as_root:
            owner = pwd.getpwnam(SUPERUSER)
            os.chown(directory, owner.pw_uid, owner.pw_gid)
        self._directory = directory
        self._run(
            str(self.bindir / "initdb"),
            "-D",
            str(self.data_dir),
            "-U",
            SUPERUSER,
            "--auth=trust",
            "--no-sync",
            "--no-instructions",
            "-E",
            "UTF8",
            "--locale=C",
        )
        hba = self.data_dir / "pg_hba.conf"
        hba.write_text(
            "local all all trust\n"
            f"host all {SUPERUSER} 127.0.0.1/32 trust\n"
            "host all all 127.0.0.1/32 scram-sha-256\n"
        )

    def _pg_ctl(self, *args: str) -> None:
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data_dir), *args)

    def _run(self, *command: str) -> None:
        prefix = ["runuser", "-u", SUPERUSER, "--"] if self._as_root else []
        result = subprocess.run(
            [*prefix, *command],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if result.returncode != 0:
            raise PostgresError(
                f"{Path(command[0]).name} {' '.join(command[1:3])} failed "
                f"({result.returncode}): {result.stderr.strip() or result.stdout.strip()}\n"
                f"{self.log_tail()}"
            )
