"""Servers are known by the address they say they bound, and a start that fails says so."""
import os
import sys
import time
import urllib.request

import pytest

from conftest import BUILD, build
from listening import Listening
from practice_server import PracticeServer


def test_the_practice_server_is_found_where_it_says_it_listens():
    with PracticeServer(build(BUILD), os.path.join(BUILD, "listening-practice-server.log")) as server:
        assert server.port != 0
        with urllib.request.urlopen(server.base_url + "/models", timeout=5) as resp:
            assert resp.status == 200


def test_a_server_that_exits_before_listening_fails_the_start(tmp_path):
    log = str(tmp_path / "log")
    with pytest.raises(RuntimeError, match="ended with code 3: see " + log):
        Listening([sys.executable, "-c", "print('starting'); raise SystemExit(3)"], log, r"on (\S+)$")


def test_a_server_that_never_says_where_fails_the_start(tmp_path):
    log, start = str(tmp_path / "log"), time.monotonic()
    with pytest.raises(RuntimeError, match="said nothing of where it listens in 1 s"):
        Listening([sys.executable, "-c", "import time; print('starting', flush=True); time.sleep(60)"], log,
                  r"on (\S+)$", timeout=1)
    assert time.monotonic() - start < 10, "the silent server was not stopped"
    with open(log) as f:
        assert f.read() == "starting\n"
