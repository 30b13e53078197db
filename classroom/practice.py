"""The class's practice server (streamdemo serve), its upstream when it has no other: on a socket only the
gateway's account (and root) opens, its token the gateway's key, in its environment only (never argv)."""
import os
import secrets
import subprocess
import time

from classroom import procs, upstream_key
from classroom.accounts import as_gateway
from classroom.settings import die, say

BASE = "http://localhost/v1"


def answers(c, key):
    """True if it answers the gateway's account with key through its socket."""
    r = subprocess.run(as_gateway(c, ["curl", "-fsS", "-m", "2", "-o", "/dev/null", "-H", "@-", "--unix-socket",
                                      c.practice_socket, f"{BASE}/models"]),
                       input=f"Authorization: Bearer {key}\n", text=True, capture_output=True)
    return r.returncode == 0


def ensure(c):
    """The running practice server's key, or a new server's. Returns (key, started)."""
    if procs.pid_of(c.pid_file("practice-server")):
        key = upstream_key.read_kept(c)
        if key is None:
            die(f"the practice server runs but its key ({upstream_key.path(c)}) cannot be read: make classroom-down, "
                "then make classroom")
        return key, False
    key = "practice-" + secrets.token_urlsafe(24)
    log = c.state("practice-server.log")
    procs.start([os.path.join(c.runtime, "bin", "streamdemo"), "serve", "--addr", f"unix:{c.practice_socket}"],
                pid_file=c.pid_file("practice-server"), log=log, log_max_bytes=c["log_max_bytes"],
                env=procs.clean_env(c.environ, STREAMDEMO_PRACTICE_TOKEN=key),
                user=c.gateway_user if c.as_root else None, log_python=c.venv_python)
    deadline = time.monotonic() + 10
    while not answers(c, key):
        if time.monotonic() > deadline or not procs.pid_of(c.pid_file("practice-server")):
            die(f"the practice server did not start, so the class is stopped again: see the end of {log}")
        time.sleep(0.1)
    say(f"practice server (the class's upstream) started on unix:{c.practice_socket}")
    return key, True
