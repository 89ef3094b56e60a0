"""Which replica reads the chain: exactly one leader polls the log source, checks drift and
delivers notifications; every replica, leader or not, advances deployments by claiming ledger rows
(`services.bot.deployer`).

**SQLite** has one bot per ledger (the lock file, `services.bot.ledger_lock`): it is always the
leader (`SoleLeader`).

**PostgreSQL**: the leader is the replica whose session holds the advisory lock of the ledger's
(chain id, DAO) key (`AdvisoryLeadership`); the others try to take it on every poll. Why an
advisory lock rather than a lease row with a heartbeat:

- a killed leader (``kill -9``, a crash, an OOM kill) frees the lock the moment its connection
  closes, so another replica leads after at most one poll interval, where a lease row would make
  every failover wait out the whole lease;
- there is no row to write and no hosts' clocks to compare: the server alone knows who holds it
  and when its session last spoke;
- a leader whose host vanishes (power, network) is noticed by the server's TCP keepalives and
  ``tcp_user_timeout``, both set on the leader's session to the lease (`DEPLOYBOT_LEASE`), so the
  lock is freed within the lease; the vanished leader cannot reach the database either, and stops
  acting (it pauses, see `services.bot.watcher`);
- a leader whose process is frozen (SIGSTOP, a paused container or VM) while its host and
  connection stay up is found by its silence: a leader speaks on its session every third of the
  lease from a thread of its own, and a follower ends a session silent for longer than the lease
  (`AdvisoryLock.depose_silent_holder`), freeing the lock. A leader that wakes up finds its
  session gone and follows.

Correctness never rests on there being one leader: recording events is idempotent (the ledger
ignores what it has), so two replicas that both believed they led for a moment would only read the
chain twice, and might deliver a notification twice (delivery is at least once anyway: each message
carries its `event_id`). What keeps a deployment from being created twice is the row claims and the
in-flight and name-lookup rules of `services.bot.deployer`. Leadership only spares the log source
(Etherscan's rate limits) from reading the chain once per replica, and the sinks from one message
per replica.

A lock held through PgBouncer in transaction mode would not be a session's: connect the replicas
to PostgreSQL directly (or through session pooling).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Protocol

from services.bot.ledger_lock import AdvisoryLock, advisory_key
from services.bot.ledger_store import LedgerLocation
from services.bot.metrics import BotMetrics

logger = logging.getLogger(__name__)

_LOST = "lost the leadership (its database session ended)"


class Leadership(Protocol):
    def lead(self) -> bool:
        """Become or stay the leader if possible; whether this replica leads now. May raise
        `LedgerUnavailableError` (the replica then pauses)."""
        ...

    @property
    def leading(self) -> bool:
        """Whether this replica led at its last `lead` (read by other threads, never blocks)."""
        ...

    def release(self) -> None:
        """Step down (when the replica stops)."""
        ...


class SoleLeader:
    """The one bot of a SQLite ledger: it always leads."""

    def __init__(self, metrics: BotMetrics) -> None:
        metrics.set_leader(True)

    def lead(self) -> bool:
        return True

    @property
    def leading(self) -> bool:
        return True

    def release(self) -> None:
        return None


class AdvisoryLeadership:
    """Leadership through the PostgreSQL advisory lock of one (chain, DAO) (see the module
    docstring), reported to the metrics on every change.

    While it leads, a heartbeat thread speaks on the lock's session every third of the lease,
    whatever the poll is doing. A follower that finds the leader's session silent for longer than
    the lease (its process stopped, paused or frozen, its host still up) ends that session and
    takes the lead: no frozen process holds the chain up.
    """

    def __init__(
        self,
        location: LedgerLocation,
        chain_id: int,
        dao_address: str,
        metrics: BotMetrics,
        *,
        lease_s: float,
    ) -> None:
        self._lock = AdvisoryLock(location, advisory_key(chain_id, dao_address), lease_s=lease_s)
        self._metrics = metrics
        self._lease_s = lease_s
        self._leading = False
        self._heartbeat: _Heartbeat | None = None
        #: Changes of leadership come from the poll and from the heartbeat: one at a time.
        self._state = threading.Lock()

    def lead(self) -> bool:
        with self._state:
            if self._leading and self._lock.held():
                return True
            if self._leading:
                self._change(False, _LOST)
            if self._lock.try_acquire():
                self._change(True, "leads: reads the chain and records events")
            else:
                self._depose_silent_leader()
            return self._leading

    @property
    def leading(self) -> bool:
        return self._leading

    def release(self) -> None:
        with self._state:
            self._stop_heartbeat()
            self._lock.release()
            if self._leading:
                self._change(False, "stepped down")

    def _beat(self) -> bool:
        """The heartbeat: speak on the lock's session. A session found gone ends the leadership at
        once, not at the next poll (which may be busy for a while), so that no two replicas say
        they lead and a former leader neither checks drift nor notifies."""
        if self._lock.held():
            return True
        with self._state:
            if self._leading and not self._lock.held():
                self._change(False, _LOST)
        return False

    def _depose_silent_leader(self) -> None:
        ended = self._lock.depose_silent_holder(self._lease_s)
        if ended is None:
            return
        self._metrics.record_leader_deposed()
        logger.warning(
            "the leader's database session (server process %d) was silent for more than the "
            "lease (%g s): ended it; the lead goes to the next replica that asks",
            ended,
            self._lease_s,
        )

    def _change(self, leading: bool, what: str) -> None:
        self._leading = leading
        self._metrics.set_leader(leading)
        if leading:
            self._heartbeat = _Heartbeat(self._beat, self._lease_s / 3).start()
        else:
            self._stop_heartbeat()
        logger.info("this replica %s", what)

    def _stop_heartbeat(self) -> None:
        heartbeat, self._heartbeat = self._heartbeat, None
        if heartbeat is not None:
            heartbeat.stop()


class _Heartbeat:
    """Calls `beat` every `interval_s` in a daemon thread until stopped or `beat` returns False."""

    def __init__(self, beat: Callable[[], bool], interval_s: float) -> None:
        self._beat = beat
        self._interval_s = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="leader-heartbeat", daemon=True)

    def start(self) -> _Heartbeat:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Not joined: the caller may hold the lock a last beat waits for, and a last beat is
        harmless (it re-checks the session under that lock)."""
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.wait(self._interval_s):
            if not self._beat():
                return
