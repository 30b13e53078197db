"""Fixtures for the notebook tests: the practice server, built from this
repository and run on a free loopback port at a realistic pace."""
import os
import sys

import pytest

from practice_server import PracticeServer, build, free_port  # noqa: F401 (free_port: for the tests)

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.path.join(REPO, "build", "test")
os.makedirs(BUILD, exist_ok=True)  # every suite's logs go here, whichever test runs first
sys.path.insert(0, os.path.join(REPO, "lesson-harness"))

# A recognisable fake key: no output may ever contain it, or any 8 characters of it.
TEST_KEY = "pplx-NBTEST-7d3f9a2b4c6e8f0a1b3c5d7e9f2a4b6c"
PACE = {"first_token": 0.3, "tps": 40.0}


def start_practice(log_name, *args):
    """Build and start `streamdemo serve ARGS` on a free loopback port, its log in build/test."""
    return PracticeServer(build(BUILD), os.path.join(BUILD, log_name), *args)


@pytest.fixture(scope="session")
def practice_server():
    """Start `streamdemo serve` at a realistic pace; yield its base URL and log path."""
    with start_practice("practice-server.log", "--first-token", f"{PACE['first_token']}s", "--tps", str(PACE["tps"])) as server:
        yield server.base_url, server.log_path
