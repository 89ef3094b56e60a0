"""`make demo`'s main job, run as the user runs it: the whole pipeline on a local chain."""

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_demo_deploys_the_passing_proposal_once_and_nothing_else():
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
    passes = [line for line in output.splitlines() if line.startswith("PASS  proposal")]
    assert len(passes) == 3, output[-4000:]
    assert "DEPLOYED, 1 create request" in passes[0]
    assert "no DeployEvent" in passes[1]
    assert "refused by policy" in passes[2]
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


def test_ctrl_c_stops_every_process_the_demo_started():
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    demo = subprocess.Popen(
        [sys.executable, "-m", "testbed.demo"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines = []
    for line in demo.stdout:
        lines.append(line)
        if "ape run watcher started" in line:
            break
    demo.send_signal(signal.SIGINT)
    rest, _ = demo.communicate(timeout=120)
    output = "".join(lines) + rest
    assert demo.returncode == 130, output
    assert "interrupted: stopping everything the demo started" in output
    pids = [int(pid) for pid in re.findall(r"\(pid (\d+)\)", output)]
    assert len(pids) == 2
    for pid in pids:
        assert not _alive(pid), f"process {pid} left running"
