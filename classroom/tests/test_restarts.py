"""A class that loses its processes: every one killed hard, then make classroom, keeps accounts,
notebooks, the ledger and certificates; the gateway killed mid-answer comes back by itself and charges
the answer; the hub restarted while a student streams (what the student sees is printed as figures,
docs/classroom/howto-systemd.md)."""
import json
import os
import pwd
import signal
import subprocess
import threading
import time

import requests

from conftest import REPO, STATE, STUDENTS, TEACHER, certificates
from test_classroom import account_processes, class_left

ADA = STUDENTS[0]
NOTEBOOK = "streamdemo/notebooks/01-streaming-chat-completion.ipynb"
QUESTION = {"model": "sonar-pro", "stream": True,
            "messages": [{"role": "user", "content": "How many stars are in the Milky Way? Explain at length."}]}


def pids_of(klass, name):
    path = os.path.join(STATE, name)
    return [int(open(path).read())] if os.path.exists(path) else []


def gateway_pids(klass):
    """This class's gateway: the gateway account's processes whose cwd is the class's gateway folder."""
    out = subprocess.run(["pgrep", "-u", "streamdemo-llm"], capture_output=True, text=True).stdout.split()
    found = []
    for pid in out:
        try:
            if os.readlink(f"/proc/{pid}/cwd") == klass.gateway_dir:
                found.append(int(pid))
        except OSError:
            pass
    return found


def descendants(roots):
    """roots and every process below them."""
    children = {}
    for line in subprocess.run(["ps", "-eo", "pid=,ppid="], capture_output=True, text=True).stdout.splitlines():
        pid, ppid = map(int, line.split())
        children.setdefault(ppid, []).append(pid)
    seen, todo = set(), list(roots)
    while todo:
        p = todo.pop()
        if p not in seen:
            seen.add(p)
            todo += children.get(p, [])
    return seen


def class_processes(klass):
    """Every process of the class: the hub and all it started, the practice server, the gateway, and
    whatever runs under the class's accounts."""
    roots = pids_of(klass, "jupyterhub.pid") + pids_of(klass, "proxy.pid") + pids_of(klass, "practice-server.pid")
    every = descendants(roots + gateway_pids(klass))
    every |= {int(p.split()[0]) for p in account_processes(STUDENTS + [TEACHER])}
    return {p for p in every if os.path.exists(f"/proc/{p}")}


def ledger(klass):
    """The gateway's ledger, per student, as `streamdemo gateway usage --json` reads it (as the gateway's account)."""
    r = subprocess.run(["runuser", "-u", "streamdemo-llm", "--", "/opt/streamdemo-classroom/bin/streamdemo", "gateway",
                        "usage", "--json", "--data", klass.gateway_dir], capture_output=True, text=True, cwd="/", timeout=60)
    assert r.returncode == 0, r.stderr
    return {s["name"]: s for s in json.loads(r.stdout)["students"]}




def service_token(student):
    """A token of the student's for the gateway, as a script of theirs would use."""
    r = student.hub_api("POST", f"users/{student.name}/tokens", json={"scopes": ["access:services!service=llm"],
                                                                       "note": "restart test", "expires_in": 600})
    assert r.status_code == 201, r.text
    return r.json()["token"]


class Answer(threading.Thread):
    """One streaming answer through the proxy and the gateway; records when each chunk arrived."""

    def __init__(self, klass, token):
        super().__init__(daemon=True)
        self.klass, self.token, self.chunks, self.error, self.done = klass, token, [], None, False
        self.first = threading.Event()

    def run(self):
        try:
            with requests.post(f"{self.klass.base}/services/llm/v1/chat/completions", json=QUESTION, stream=True,
                               headers={"Authorization": f"Bearer {self.token}"}, timeout=30) as r:
                r.raise_for_status()
                for line in r.iter_lines():
                    if line.startswith(b"data: "):
                        self.chunks.append(time.monotonic())
                        self.first.set()
                        if line == b"data: [DONE]":
                            self.done = True
        except Exception as e:  # what the student's program would see
            self.error = f"{type(e).__name__}: {e}"
        finally:
            self.ended = time.monotonic()
            self.first.set()


def gateway_answers(klass):
    try:
        return requests.get(f"{klass.base}/services/llm/v1/models", timeout=2).status_code == 401
    except requests.RequestException:
        return False


def hub_answers(klass):
    try:
        return requests.get(f"{klass.base}/hub/api/", timeout=2).status_code == 200
    except requests.RequestException:
        return False


def test_the_gateway_killed_mid_answer_comes_back_by_itself_and_charges_the_answer(klass):
    ada = klass.student(ADA)
    token = service_token(ada)
    before = ledger(klass).get(ADA, {"requests": 0, "tokens_total": 0})
    old = gateway_pids(klass)
    answer = Answer(klass, token)
    answer.start()
    assert answer.first.wait(30) and answer.chunks, answer.error
    for pid in old:
        os.kill(pid, signal.SIGKILL)
    killed = time.monotonic()
    while not gateway_answers(klass) and time.monotonic() - killed < 40:
        time.sleep(0.1)
    back = time.monotonic() - killed
    assert gateway_answers(klass), "the gateway was not started again within 40 s"
    assert set(gateway_pids(klass)).isdisjoint(old)
    answer.join(30)
    assert not answer.done, "the answer was complete before the gateway was killed: ask a longer question"
    print(f"\nclassroom restart: the gateway killed mid-answer answered again after {back:.1f} s; the student's "
          f"stream ended {answer.ended - killed:.1f} s after the kill with {answer.error}")
    assert back < 10, f"the gateway took {back:.1f} s to come back"
    after = ledger(klass)[ADA]
    assert after["requests"] == before["requests"] + 1, (before, after)
    assert after["tokens_total"] > before["tokens_total"], "the interrupted answer was not charged"
    # and the class goes on: a new answer streams to its end
    again = Answer(klass, token)
    again.start()
    again.join(60)
    assert again.done, again.error


def test_every_class_process_killed_hard_then_make_classroom_keeps_everything(klass):
    ada = klass.student(ADA)
    ada.start_server()
    nb = ada.api("GET", f"contents/{NOTEBOOK}")
    nb["content"]["cells"][0]["source"] = "# Notes kept through a crash\n"
    ada.api("PUT", f"contents/{NOTEBOOK}", json={"type": "notebook", "content": nb["content"]})
    kept = {
        "accounts": {n: pwd.getpwnam(n)[2:4] for n in STUDENTS + [TEACHER]},
        "passwords": open(os.path.join(STATE, "passwords")).read(),
        "ledger": ledger(klass),
        "certificates": certificates(STATE),
    }
    doomed = class_processes(klass)
    assert len(doomed) >= 6, doomed  # hub, proxy, gateway, culler, practice server, ada's server (and kernels)
    for pid in doomed:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and class_processes(klass):
        time.sleep(0.2)
    assert not class_processes(klass), class_processes(klass)

    out = klass.make("classroom")
    assert "class ready" in out, out[-1000:]
    ada = klass.student(ADA)  # the same password
    ada.start_server()
    assert ada.api("GET", f"contents/{NOTEBOOK}")["content"]["cells"][0]["source"] == "# Notes kept through a crash\n"
    now = {
        "accounts": {n: pwd.getpwnam(n)[2:4] for n in STUDENTS + [TEACHER]},
        "passwords": open(os.path.join(STATE, "passwords")).read(),
        "ledger": ledger(klass),
        "certificates": certificates(STATE),
    }
    for what in kept:
        assert now[what] == kept[what], f"the {what} changed through the crash"
    assert gateway_answers(klass)


def test_the_hub_restarted_while_a_student_streams(klass):
    """Two restarts, measured: the hub killed hard (then make classroom), and make classroom-down and
    make classroom (what systemctl restart of the class's unit runs)."""
    ada = klass.student(ADA)
    ada.start_server()
    server = [p for p in account_processes([ADA]) if "jupyterhub-singleuser" in p]
    token = service_token(ada)

    # The hub killed hard: the proxy and the gateway are processes of their own.
    old_gateway = gateway_pids(klass)
    answer = Answer(klass, token)
    answer.start()
    assert answer.first.wait(30), answer.error
    os.kill(pids_of(klass, "jupyterhub.pid")[0], signal.SIGKILL)
    killed = time.monotonic()
    answer.join(60)
    after_kill = len([t for t in answer.chunks if t > killed])
    assert answer.done and not answer.error, f"the stream broke when the hub was killed: {answer.error}"
    t0 = time.monotonic()
    klass.make("classroom")
    while not hub_answers(klass) and time.monotonic() - t0 < 60:
        time.sleep(0.1)
    hub_back = time.monotonic() - t0
    assert hub_answers(klass)
    time.sleep(3)  # the new hub's gateway has started, or failed for a port the old one holds
    assert gateway_pids(klass) and set(gateway_pids(klass)).isdisjoint(old_gateway), "the dead hub's gateway still runs"
    assert os.path.exists(f"/proc/{pids_of(klass, 'jupyterhub.pid')[0]}") and gateway_answers(klass)
    kept_server = [p for p in account_processes([ADA]) if "jupyterhub-singleuser" in p] == server
    print(f"\nclassroom restart: hub killed hard mid-answer: the answer streamed to its end through the proxy "
          f"({after_kill} chunks after the kill); make classroom had the hub API answering after {hub_back:.1f} s; "
          f"the student's server {'kept' if kept_server else 'restarted'}")

    # make classroom-down, then make classroom, while the student streams.
    ada = klass.student(ADA)
    answer = Answer(klass, token)
    answer.start()
    assert answer.first.wait(30), answer.error
    t0 = time.monotonic()
    klass.make("classroom-down")
    klass.make("classroom")
    while not hub_answers(klass) and time.monotonic() - t0 < 60:
        time.sleep(0.1)
    down_up = time.monotonic() - t0
    answer.join(30)
    print(f"classroom restart: make classroom-down + make classroom mid-answer: the answer "
          f"{'ended' if answer.done else 'was cut: ' + str(answer.error)[:120]}; hub API answering after {down_up:.1f} s")
    assert hub_answers(klass) and gateway_answers(klass)


def test_make_classroom_down_after_the_hub_was_killed_leaves_nothing(klass):
    klass.student(ADA).start_server()
    os.kill(pids_of(klass, "jupyterhub.pid")[0], signal.SIGKILL)
    time.sleep(1)
    assert gateway_pids(klass), "the gateway did not outlive the hub: nothing for make classroom-down to stop"
    klass.make("classroom-down")
    assert not class_left(klass), class_left(klass)
    assert not class_processes(klass), class_processes(klass)
    assert not started_by_the_hub(), started_by_the_hub()
    klass.make("classroom")  # for the tests after this one


def started_by_the_hub():
    """Processes the hub started in the class folder (the proxy, the idle culler), by command line."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if os.readlink(f"/proc/{pid}/cwd") == STATE:
                cmd = open(f"/proc/{pid}/cmdline", "rb").read().replace(b"\0", b" ").decode()
                if "jupyterhub_idle_culler" in cmd or "configurable-http-proxy" in cmd:
                    found.append(f"{pid} {cmd}")
        except OSError:
            pass
    return found
