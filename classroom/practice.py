"""The class's practice server (streamdemo serve), its upstream when it has no other: on a socket only the
gateway's account (and root) opens, its token the gateway's key, in its environment only (never argv). Where
systemd runs the class it is a unit of its own (units.py), its environment in a file only root reads."""
import os
import secrets
import subprocess
import time

from classroom import config, procs, units, upstream_key
from classroom.accounts import as_gateway
from classroom.settings import die, say

BASE = "http://localhost/v1"


def answers(c, key):
    """True if it answers the gateway's account with key through its socket."""
    r = subprocess.run(as_gateway(c, ["curl", "-fsS", "-m", "2", "-o", "/dev/null", "-H", "@-", "--unix-socket",
                                      c.practice_socket, f"{BASE}/models"]),
                       input=f"Authorization: Bearer {key}\n", text=True, capture_output=True)
    return r.returncode == 0


def running(c):
    """Its unit's, or the process its pid file names (a class started before its unit, or without systemd)."""
    if units.supervises(c) and units.active(c, "practice"):
        return True
    return procs.pid_of(c.pid_file("practice-server")) is not None


def ensure(c):
    """The running practice server's key, or a new server's. Returns (key, started)."""
    if running(c):
        key = upstream_key.read_kept(c)
        if key is None:
            die(f"the practice server runs but its key ({upstream_key.path(c)}) cannot be read: make classroom-down, "
                "then make classroom")
        return key, False
    key = "practice-" + secrets.token_urlsafe(24)
    argv = [os.path.join(c.runtime, "bin", "streamdemo"), "serve", "--addr", f"unix:{c.practice_socket}"]
    if units.supervises(c):  # a unit of its own, started again by systemd whenever it ends
        env_file, log = c.state("practice-server.env"), f"journalctl -u {units.service(c, 'practice')}"
        config.replace_file(env_file, f"STREAMDEMO_PRACTICE_TOKEN={key}\n")
        units.start(c, "practice", argv, user=c.gateway_user, env_file=env_file, cwd="/",
                    description=f"the practice server of the streamdemo classroom on port {c.port}")
    else:
        log = c.state("practice-server.log")
        procs.start(argv, pid_file=c.pid_file("practice-server"), log=log, log_max_bytes=c["log_max_bytes"],
                    env=procs.clean_env(c.environ, STREAMDEMO_PRACTICE_TOKEN=key),
                    user=c.gateway_user if c.as_root else None, log_python=c.venv_python)
        log = f"the end of {log}"
    deadline = time.monotonic() + 10
    while not answers(c, key):
        if time.monotonic() > deadline or not running(c):
            die(f"the practice server did not start, so the class is stopped again: see {log}")
        time.sleep(0.1)
    say(f"practice server (the class's upstream) started on unix:{c.practice_socket}")
    return key, True
