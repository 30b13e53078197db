"""make classroom-bench: figures of a class on this machine, through the real
hub, proxy, spawner and gateway (a class of its own, removed at the end).

BENCH_SERVERS=5,10,30 chooses the class sizes whose servers are started at
once (default 5,10); BENCH_PARTS=class,local-model chooses what is measured
(default both; local-model: students streaming at once on the local model,
local_model.py). Prints one line per figure; docs/classroom/explanation-figures.md says what
they mean for the size of machine a class needs.
"""
import concurrent.futures as cf
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import time

import requests

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests"))
from conftest import REPO, Class  # noqa: E402
from hubclient import lesson_cells  # noqa: E402

import local_model  # noqa: E402

CELLS = lesson_cells(os.path.join(REPO, "notebooks", "01-streaming-chat-completion.ipynb"))
LESSON = "streamdemo/notebooks/01-streaming-chat-completion.ipynb"
QUESTION = {"model": "sonar-pro", "stream": True, "messages": [{"role": "user", "content": "How many stars are in the universe?"}]}


def report(what, value):
    print(f"{what:<58} {value}", flush=True)


def pss_mib(pids):
    total = 0
    for pid in pids:
        try:
            for line in open(f"/proc/{pid}/smaps_rollup"):
                if line.startswith("Pss:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


def pids_of(user, needle):
    out = subprocess.run(["pgrep", "-u", user, "-f", needle], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def at_once(fn, items):
    with cf.ThreadPoolExecutor(len(items)) as pool:
        return list(pool.map(fn, items))


def first_chunk(url, token, whole=True):
    """Seconds to the first streamed byte of an answer, and whether the whole answer arrived."""
    t0 = time.monotonic()
    with requests.post(url + "/chat/completions", json=QUESTION, stream=True, timeout=120,
                       headers={"Authorization": f"Bearer {token}"}) as r:
        first = None
        for line in r.iter_lines():
            if first is None and line.startswith(b"data:"):
                first = time.monotonic() - t0
                if not whole:
                    return first, r.status_code == 200
            if line.strip() == b"data: [DONE]":
                return first, r.status_code == 200
    return first, False


class UnixConnection(http.client.HTTPConnection):
    """HTTP to a Unix socket's path (the class's practice server listens on one)."""

    def __init__(self, path):
        super().__init__("localhost", timeout=120)
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.path)


def first_chunk_direct(sock, key):
    """Seconds to the first streamed event of the practice server's answer, asked on its socket as the
    gateway asks it for the class's chat question (the Agent API, sonar-pro's preset)."""
    t0 = time.monotonic()
    conn = UnixConnection(sock)
    body = {"preset": "low", "stream": True, "input": QUESTION["messages"][0]["content"]}
    conn.request("POST", "/v1/responses", body=json.dumps(body), headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"})
    r = conn.getresponse()
    try:
        while line := r.readline():
            if line.startswith(b"data:"):
                return time.monotonic() - t0, r.status == 200
        return None, False
    finally:
        conn.close()


def main():
    parts = os.environ.get("BENCH_PARTS", "class,local-model").split(",")
    if "class" in parts:
        class_bench()
    if "local-model" in parts:
        local_model.main(report)


def class_bench():
    sizes = [int(s) for s in os.environ.get("BENCH_SERVERS", "5,10").split(",")]
    n = max(max(sizes), 10)
    klass = Class(students=[f"sdbench-{i:02d}" for i in range(1, n + 1)], teacher="sdbench-teacher",
                  state=os.path.join(REPO, "build", "classroom-bench"), first_port=8700)
    klass.remove()  # whatever an interrupted earlier run left
    t0 = time.monotonic()
    klass.make("classroom")
    report("make classroom (runtime installed, accounts new)", f"{time.monotonic() - t0:.1f} s")
    try:
        bench(klass, sizes)
    finally:
        t0 = time.monotonic()
        klass.make("classroom-down")
        report("make classroom-down", f"{time.monotonic() - t0:.1f} s")
        klass.remove()
        os.unlink(klass.roster)


def bench(klass, sizes):
    students = at_once(klass.student, klass.students)
    # Servers started at once; the first round is every student's first start (cache seeded, lesson cloned).
    started = set()
    for size in sorted(sizes):
        group = students[:size]
        first = sum(1 for s in group if s.name not in started)
        t0 = time.monotonic()
        at_once(lambda s: s.start_server(timeout=300), group)
        report(f"start {size} servers at once ({first} first starts)", f"{time.monotonic() - t0:.1f} s")
        started.update(s.name for s in group)
        if size != max(sizes):
            at_once(lambda s: s.stop_server(), group)
    idle = [pss_mib(pids_of(s.name, "jupyterhub-singleuser")) for s in students[:max(sizes)]]
    report("memory per idle server (PSS, median)", f"{statistics.median(idle):.0f} MiB")

    # First lesson cell (the import that compiles the package), alone and ten at once.
    def first_cell(student):
        kernel = student.open_kernel(LESSON)
        t0 = time.monotonic()
        kernel.run(CELLS["setup"])
        return kernel, time.monotonic() - t0
    alone, took = first_cell(students[0])
    report("first lesson cell (import), one student", f"{took:.2f} s")
    ten = at_once(first_cell, students[1:11])
    times = sorted(t for _, t in ten)
    report("first lesson cell, ten students at once (median / max)", f"{times[len(times) // 2]:.2f} / {times[-1]:.2f} s")
    per_kernel = [pss_mib(pids_of(s.name, "gonb|gopls")) for s in students[:11]]
    report("memory per running kernel (gonb + gopls + supervisor, PSS)", f"{statistics.median(per_kernel):.0f} MiB")
    for kernel, _ in [(alone, 0)] + ten:
        kernel.close()

    # First chunk through proxy + gateway vs straight to the upstream, alternating.
    tokens = [s.gateway_token("classroom-bench") for s in students]
    at_once(lambda t: first_chunk(f"{klass.base}/services/llm/v1", t, whole=False), tokens)  # the gateway learns of them
    requests.post(f"{klass.base}/services/llm/teacher/limits", headers={"Authorization": f"Bearer {klass.teacher_token()}"},
             json={"student": "*", "limits": {"requests_per_minute": 0, "concurrent_streams": 0, "tokens_per_day": 0}})
    practice_sock = os.path.join(klass.gateway_dir, "practice.sock")
    via, direct = [], []
    for i in range(10):
        via.append(first_chunk(f"{klass.base}/services/llm/v1", tokens[i % len(tokens)], whole=False)[0])
        direct.append(first_chunk_direct(practice_sock, klass.upstream_key())[0])
    mv, md = statistics.median(via), statistics.median(direct)
    report("first chunk direct / via proxy+gateway (median of 10)", f"{md * 1000:.1f} / {mv * 1000:.1f} ms (+{(mv - md) * 1000:.1f} ms)")

    # Students streaming at once: every answer must complete; first chunk p95 against one alone.
    for k in (10, 30, 60, 100):
        t0 = time.monotonic()
        results = at_once(lambda i: first_chunk(f"{klass.base}/services/llm/v1", tokens[i % len(tokens)]), range(k))
        firsts = sorted(f for f, _ in results if f is not None)
        ok = sum(1 for _, done in results if done)
        p95 = firsts[int(len(firsts) * 0.95) - 1] if firsts else float("nan")
        report(f"{k} answers streaming at once: complete, first chunk p95, wall", f"{ok}/{k}, {p95 * 1000:.0f} ms, {time.monotonic() - t0:.1f} s")


if __name__ == "__main__":
    main()
