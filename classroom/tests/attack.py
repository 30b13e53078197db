"""Small tools of the attack tests: run a shell script as an account, read the hub's log, ask a server on a
Unix socket."""
import json
import os
import subprocess
import sys

from conftest import REPO, STATE

sys.path.insert(0, os.path.join(REPO, "classroom"))
from model import UnixHTTPConnection  # noqa: E402  (the class's own HTTP over a Unix socket)

# What a command the hub runs as a student may find in its environment (git adds GIT_*, GITHEAD_* of its own).
ALLOWED_ENV = {"HOME", "USER", "LOGNAME", "PATH", "LANG", "PWD", "SHLVL", "OLDPWD", "_", "NBGITPULLER_DEPTH"}
HUB_ENV_PREFIXES = ("JUPYTERHUB_", "JPY_", "CONFIGPROXY_", "CLASSROOM_", "STREAMDEMO_", "PERPLEXITY_")


def as_account(name, script, check=True, timeout=60):
    """Runs script with sh as account name (a login-less environment); returns its output."""
    r = subprocess.run(["/usr/sbin/runuser", "-u", name, "--", "sh", "-c", script], cwd="/", capture_output=True, text=True,
                       timeout=timeout, env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"})
    if check and r.returncode:
        raise AssertionError(f"as {name}: {script[:200]!r} failed: {r.stdout[-500:]} {r.stderr[-500:]}")
    return r.stdout


def log_size():
    return os.path.getsize(os.path.join(STATE, "jupyterhub.log"))


def log_since(offset):
    with open(os.path.join(STATE, "jupyterhub.log"), encoding="utf-8", errors="replace") as f:
        f.seek(offset)
        return f.read()


def parse_env(text):
    """KEY=VALUE lines (as env prints them) as a dict; continuation lines of a value are kept with it."""
    env, key = {}, None
    for line in text.splitlines():
        name, eq, value = line.partition("=")
        if eq and name.replace("_", "").isalnum():
            key, env[name] = name, value
        elif key:
            env[key] += "\n" + line
    return env


def over_socket(path, method, target, headers=None, body=None, timeout=10):
    """(status, body bytes) of one HTTP request to the server on the Unix socket at path; a dict body goes as JSON."""
    conn = UnixHTTPConnection(path, timeout)
    try:
        conn.request(method, target, json.dumps(body) if isinstance(body, dict) else body, headers or {})
        r = conn.getresponse()
        return r.status, r.read()
    finally:
        conn.close()
