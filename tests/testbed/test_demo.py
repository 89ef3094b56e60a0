"""`make demo`'s main job, run as the user runs it: the whole pipeline on a local chain; and
`make demo KEEP=1`, which then serves the web app on that chain."""

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]


def test_demo_deploys_updates_and_closes_once_and_notifies_each_event():
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    result = subprocess.run(
        [sys.executable, "-m", "testbed.demo"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    assert "LOCAL EMULATOR of the Spheron Compute API (not Spheron" in output
    passes = [line for line in output.splitlines() if line.startswith("PASS  ")]
    assert len(passes) == 7, output[-4000:]
    assert "DEPLOYED, 1 create request" in passes[0]
    assert "no DeployEvent" in passes[1]
    assert "refused by policy" in passes[2]
    assert "proposal 4 (update): DEPLOYED, 1 update request applied in place" in passes[3]
    assert "drift on the instance of proposal 1 reported" in passes[4]
    assert "proposal 5 (close): CLOSED, 1 close request" in passes[5]
    assert "notifications: 9 delivered, 9 expected" in passes[6]
    assert "drift on the instance of proposal 1 (changed): tag: voted 1.28, running" in output
    assert "FAIL" not in output
    pids = [int(pid) for pid in re.findall(r"\(pid (\d+)\)", output)]
    assert len(pids) == 2, "the demo names the anvil and watcher processes it starts"
    for pid in pids:
        assert not _alive(pid), f"process {pid} left running"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _start_demo(*args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    return subprocess.Popen(
        [sys.executable, "-m", "testbed.demo", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _lines_until(demo: subprocess.Popen[str], marker: str) -> list[str]:
    """The demo's output up to the first line containing ``marker``."""
    lines = []
    for line in demo.stdout:
        lines.append(line)
        if marker in line:
            break
    return lines


def test_ctrl_c_stops_every_process_the_demo_started():
    demo = _start_demo()
    lines = _lines_until(demo, "ape run watcher started")
    demo.send_signal(signal.SIGINT)
    rest, _ = demo.communicate(timeout=120)
    output = "".join(lines) + rest
    assert demo.returncode == 130, output
    assert "interrupted: stopping everything the demo started" in output
    pids = [int(pid) for pid in re.findall(r"\(pid (\d+)\)", output)]
    assert len(pids) == 2
    for pid in pids:
        assert not _alive(pid), f"process {pid} left running"


def test_keep_serves_the_web_app_on_the_demo_chain_until_ctrl_c():
    demo = _start_demo("--keep")
    lines = _lines_until(demo, "web app: ")
    url = lines[-1].removeprefix("web app: ").strip()
    assert url.startswith("http://127.0.0.1:"), "".join(lines)
    config = requests.get(url + "config.json", timeout=5).json()
    assert config["chainId"] == 1337 and config["botUrl"].startswith("http://127.0.0.1:")
    page_origin = url.rstrip("/")
    deployments = requests.get(
        config["botUrl"] + "/deployments", headers={"Origin": page_origin}, timeout=5
    )
    assert deployments.headers["Access-Control-Allow-Origin"] == page_origin
    rows = deployments.json()
    assert [(row["kind"], row["state"]) for row in rows] == [
        ("deploy", "DEPLOYED"),
        ("deploy", "REJECTED"),
        ("update", "DEPLOYED"),
        ("close", "CLOSED"),
    ]
    assert '<script src="app.js"' in requests.get(url, timeout=5).text
    demo.send_signal(signal.SIGINT)
    rest, _ = demo.communicate(timeout=120)
    output = "".join(lines) + rest
    assert demo.returncode == 0, output
    assert "demo passed" in output
    for pid in (int(pid) for pid in re.findall(r"\(pid (\d+)\)", output)):
        assert not _alive(pid), f"process {pid} left running"
    with pytest.raises(requests.ConnectionError):
        requests.get(url, timeout=5)
