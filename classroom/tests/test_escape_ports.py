"""A student who takes the ports of a class about to start, or that a class left when its hub crashed, gets
nothing: the class's own services listen on sockets no other account can take (the gateway, the practice
server, the proxy's API, the local model), and make classroom starts the hub only on ports nobody holds, then
checks that its own processes hold them, or stops with one sentence naming who does. The class's logs
rotate by size meanwhile."""
import glob
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time

import pytest
import requests

from conftest import REPO, STUDENTS, Class, free_port
from test_classroom import class_left
from test_restarts import descendants, gateway_pids

ADA = STUDENTS[0]  # a student of another class on this machine
SQ, SQ_TEACHER = "sdtest-sq", "sdtest-sqteacher"
LOG_MAX = 50000

SQUAT = r'''
import json, sys, threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
out = open(sys.argv[1], "a")
class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args): pass
    def answer(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        out.write(json.dumps({"port": self.server.server_address[1], "line": self.requestline, "headers": dict(self.headers),
                              "body": body.decode("latin-1")}) + "\n")
        out.flush()
        if self.path.endswith("/models"):  # looks like a model server, or the gateway
            status, data = (401, b"{}") if "/services/" in self.path else (200, b'{"object":"list","data":[{"id":"smollm2-135m"}]}')
        elif self.path.startswith("/hub/api"):
            status, data = 200, b'{"version":"6.1.1"}'
        else:
            status, data = 401, b"{}"
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
    do_GET = do_POST = do_DELETE = answer
for port in sys.argv[2:]:
    server = ThreadingHTTPServer(("127.0.0.1", int(port)), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
print("listening", flush=True)
threading.Event().wait()
'''


class Squatter:
    """A student's program that listens on ports and records every request it is sent."""

    def __init__(self, account, ports):
        self.dir = tempfile.mkdtemp(prefix="sdtest-squat-")
        os.chmod(self.dir, 0o755)
        self.out = os.path.join(self.dir, "seen.jsonl")
        with open(os.path.join(self.dir, "squat.py"), "w") as f:
            f.write(SQUAT)
        open(self.out, "w").close()
        shutil.chown(self.out, account)
        self.proc = subprocess.Popen(["/usr/sbin/runuser", "-u", account, "--", "/usr/bin/python3", f"{self.dir}/squat.py",
                                      self.out, *map(str, ports)], cwd="/", stdout=subprocess.PIPE, text=True,
                                     start_new_session=True, env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"})
        if self.proc.stdout.readline().strip() != "listening":
            self.close()
            raise RuntimeError(f"the squatter could not listen on {ports}")

    def seen(self):
        with open(self.out) as f:
            return [json.loads(line) for line in f if line.strip()]

    def close(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


@pytest.fixture(scope="module")
def nextclass(klass):
    """A second class on this machine, not started: it looks for the local model (no UPSTREAM_URL) on a port
    of its own, and its logs rotate at LOG_MAX bytes."""
    c = Class(students=[SQ], teacher=SQ_TEACHER, state=os.path.join(REPO, "build", "classroom-test-sq"), first_port=8600)
    c.remove()
    c.env.pop("UPSTREAM_URL")
    c.env.update(OLLAMA_PORT=str(free_port()), LOG_MAX_BYTES=str(LOG_MAX))
    try:
        yield c
    finally:
        c.remove()
        os.unlink(c.roster)


def ask(c, name):
    """One streamed answer through the class's gateway, with a token of the student's own."""
    token = c.student(name).gateway_token()
    r = requests.post(f"{c.base}/services/llm/v1/chat/completions", headers={"Authorization": f"Bearer {token}"}, timeout=120,
                      json={"model": "sonar-pro", "stream": True, "messages": [{"role": "user", "content": "How many stars?"}]})
    return r.status_code, r.text


def test_the_ports_of_a_class_about_to_start_taken_by_a_student_get_nothing(nextclass):
    c = nextclass
    ports = [c.port + 1, c.port + 2, c.port + 90, int(c.env["OLLAMA_PORT"])]  # the proxy API's, practice's, gateway's, model's
    with Squatter(ADA, ports) as squatter:
        out = c.make("classroom")
        assert "class ready" in out, out[-1000:]
        status, text = ask(c, SQ)
        assert status == 200 and "stars" in text, text[:500]
        seen = squatter.seen()
    assert not seen, f"{ADA}'s listeners were sent: {[s['line'] for s in seen]}"


def test_the_class_logs_rotate_by_size(nextclass):
    c = nextclass
    c.make("classroom")  # started, or already running
    with requests.Session() as s:
        for _ in range(1500):  # each refusal is a line of the hub's log
            s.get(f"{c.base}/hub/api/users", timeout=10)
    hub_logs = glob.glob(os.path.join(c.state, "jupyterhub.log*"))
    assert os.path.join(c.state, "jupyterhub.log.1") in hub_logs, hub_logs
    assert len(hub_logs) <= 5 and all(os.path.getsize(p) <= LOG_MAX for p in hub_logs), {p: os.path.getsize(p) for p in hub_logs}
    marker = f"/hub/api/sdtest-marker-{os.urandom(4).hex()}"  # the hub goes on logging, into the newest file
    assert requests.get(c.base + marker, timeout=10).status_code == 404
    deadline = time.monotonic() + 10
    while marker not in open(os.path.join(c.state, "jupyterhub.log")).read():
        assert time.monotonic() < deadline, "the hub's latest line is not in jupyterhub.log"
        time.sleep(0.2)


def class_processes(c):
    """Every process of class c but its students': the hub and all it started, the practice server, the gateway."""
    roots = []
    for name in ("jupyterhub.pid", "proxy.pid", "practice-server.pid"):
        path = os.path.join(c.state, name)
        if os.path.exists(path):
            roots.append(int(open(path).read()))
    return {p for p in descendants(roots + gateway_pids(c)) if os.path.exists(f"/proc/{p}")}


def test_a_student_process_that_outlived_a_hub_crash_stops_the_start_with_one_sentence(nextclass):
    c = nextclass
    for pid in class_processes(c):  # the hub, its proxy and services, the practice server: killed hard
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + 15
    while class_processes(c) and time.monotonic() < deadline:
        time.sleep(0.2)
    with Squatter(ADA, [c.port, c.port + 81]) as squatter:
        r = subprocess.run(["make", "--no-print-directory", "-C", REPO, "classroom"], env=c.env, capture_output=True,
                           text=True, timeout=600)
        assert r.returncode, r.stdout[-1000:]
        said = [line for line in r.stderr.splitlines() if line.startswith("classroom: ")]
        assert said and said[-1] == (f"classroom: port {c.port} (the hub's public port) is held by a process of {ADA}, so the"
                                     " class is not started: end that process, or choose another CLASSROOM_PORT."), r.stderr[-1000:]
        seen = squatter.seen()
    assert not seen, f"{ADA}'s listeners were sent: {[s['line'] for s in seen]}"
    assert not class_left(c), class_left(c)
    out = c.make("classroom")  # once she has gone
    assert "class ready" in out
    status, text = ask(c, SQ)
    assert status == 200 and "stars" in text, text[:500]
