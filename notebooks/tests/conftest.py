"""Fixtures for the notebook tests: the practice server, built from this
repository and run on a free loopback port at a realistic pace."""
import os
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.path.join(REPO, "build", "test")
sys.path.insert(0, os.path.join(REPO, "notebooks"))

# A recognisable fake key: no output may ever contain it, or any 8 characters of it.
TEST_KEY = "pplx-NBTEST-7d3f9a2b4c6e8f0a1b3c5d7e9f2a4b6c"
PACE = {"first_token": 0.3, "tps": 40.0}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_practice(log_name, *args):
    """Build and start `streamdemo serve ARGS` on a free loopback port; return
    (process, base URL, log path, log file)."""
    os.makedirs(BUILD, exist_ok=True)
    binary = os.path.join(BUILD, "streamdemo")
    subprocess.run(["go", "build", "-o", binary, "./cmd/streamdemo"], cwd=REPO, check=True)
    port = free_port()
    log_path = os.path.join(BUILD, log_name)
    log = open(log_path, "w")
    proc = subprocess.Popen([binary, "serve", "--addr", f"127.0.0.1:{port}", *args], stdout=log, stderr=log)
    base = f"http://127.0.0.1:{port}/v1"
    for _ in range(100):
        try:
            urllib.request.urlopen(base + "/models", timeout=1)
            break
        except OSError:
            time.sleep(0.05)
    else:
        proc.kill()
        pytest.fail("the practice server did not start: see " + log_path)
    return proc, base, log_path, log


def stop_practice(proc, log):
    proc.terminate()
    proc.wait(timeout=5)
    log.close()


@pytest.fixture(scope="session")
def practice_server():
    """Start `streamdemo serve` at a realistic pace; yield its base URL and log path."""
    proc, base, log_path, log = start_practice("practice-server.log", "--first-token", f"{PACE['first_token']}s",
                                               "--tps", str(PACE["tps"]))
    yield base, log_path
    stop_practice(proc, log)
