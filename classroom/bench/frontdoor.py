"""make classroom-frontdoor-bench: what the HTTPS front door (Caddy) adds to a streamed answer.

A class of its own is served at https://198.18.1.1:18043 (its own CA; the address is this machine's end
of a veth pair to a namespace made here, deleted at the end). The same student asks the same question
through the front door and straight to the hub's proxy on loopback, in turns, ROUNDS times each; printed:
time to the first chunk and the mean gap between chunks, each path, and their ratio side by side.
"""
import os
import statistics
import sys
import time

import requests

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests"))
from conftest import REPO, Class  # noqa: E402
from hubclient import Student  # noqa: E402
from netns import Laptop, delete_all  # noqa: E402

HOST, HTTPS_PORT, HTTP_PORT = "198.18.1.1", 18043, 18080
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "20"))
QUESTION = {"model": "sonar-pro", "stream": True, "messages": [{"role": "user", "content": "How many stars are in the universe?"}]}


def stream(url, token, verify):
    """(seconds to the first chunk, mean seconds between chunks) of one streamed answer."""
    t0 = time.monotonic()
    arrivals = []
    with requests.post(url + "/services/llm/v1/chat/completions", json=QUESTION, stream=True, timeout=120,
                       verify=verify, headers={"Authorization": f"Bearer {token}"}) as r:
        r.raise_for_status()
        for line in r.iter_lines():
            if line.startswith(b"data:") and line != b"data: [DONE]":
                arrivals.append(time.monotonic() - t0)
    gaps = [b - a for a, b in zip(arrivals, arrivals[1:])]
    return arrivals[0], statistics.mean(gaps)


def main():
    laptop = Laptop("fd-bench", 1)  # gives this machine the address 198.18.1.1
    klass = Class(students=["sdbench-fd"], teacher="sdbench-teacher", state=os.path.join(REPO, "build", "classroom-bench-fd"),
                  first_port=18000)
    klass.env.update(CLASSROOM_HOST=HOST, CLASSROOM_HTTPS_PORT=str(HTTPS_PORT), CLASSROOM_HTTP_PORT=str(HTTP_PORT))
    klass.remove()
    try:
        klass.make("classroom")
        ca = os.path.join(klass.state, "class-ca.crt")
        door = f"https://{HOST}:{HTTPS_PORT}"
        student = Student(door, "sdbench-fd", klass.password("sdbench-fd"))
        student.http.verify = ca  # the class's cookies are Secure: the student logs in through the front door
        student.http.trust_env = False  # the class's CA, not a CA bundle named in the environment
        student.login()
        r = student.hub_api("POST", f"users/{student.name}/tokens", json={
            "scopes": ["access:services!service=llm"], "note": "frontdoor-bench"})
        r.raise_for_status()
        token = r.json()["token"]
        paths = {"loopback (hub's proxy)": (klass.base, True), "front door (HTTPS)": (door, ca)}
        for url, verify in paths.values():
            stream(url, token, verify)  # warm: connections, the gateway's first look at the student
        got = {name: [] for name in paths}
        for _ in range(ROUNDS):
            for name, (url, verify) in paths.items():
                got[name].append(stream(url, token, verify))
        print(f"{ROUNDS} answers each way, one student, the class's practice server as upstream")
        print(f"{'':<26}{'first chunk p50':>17}{'first chunk p95':>17}{'gap between chunks':>20}")
        rows = {}
        for name, runs in got.items():
            firsts, gaps = sorted(r[0] for r in runs), [r[1] for r in runs]
            rows[name] = (statistics.median(firsts), firsts[int(0.95 * (len(firsts) - 1))], statistics.mean(gaps))
            print(f"{name:<26}{rows[name][0] * 1000:>14.2f} ms{rows[name][1] * 1000:>14.2f} ms{rows[name][2] * 1000:>17.3f} ms")
        (lo, fd) = rows.values()
        print(f"{'front door / loopback':<26}{fd[0] / lo[0]:>16.3f}x{fd[1] / lo[1]:>16.3f}x{fd[2] / lo[2]:>19.3f}x")
        print(f"{'front door adds':<26}{(fd[0] - lo[0]) * 1000:>14.2f} ms{(fd[1] - lo[1]) * 1000:>14.2f} ms"
              f"{(fd[2] - lo[2]) * 1000:>17.3f} ms")
    finally:
        klass.remove()
        os.unlink(klass.roster)
        delete_all([laptop])


if __name__ == "__main__":
    main()
