"""Terminal side: our CLI, the seed's call as a Python script, and curl -N (the floor),
each a fresh process whose stdout pipe is read and stamped as bytes arrive."""
import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import time

import seed
from notebook import kernel_env
from timing import REQ, SENT, Run, answer_arrivals, chunk_delays

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def commands(binary, base_url):
    """label -> (argv, env, decode) for the three clients, all sending the seed's request."""
    body = json.dumps({"model": seed.CHAT_MODEL, "stream": True, "messages": [
        {"role": "system", "content": seed.SYSTEM_PROMPT}, {"role": "user", "content": seed.QUESTION}]})
    return {
        "Go CLI (streamdemo ask)": (
            [binary, "ask", "--provider", "openai", "--base-url", base_url, "--system", seed.SYSTEM_PROMPT, seed.QUESTION],
            kernel_env({"OPENAI_API_KEY": "bench-any-key"}), raw_bytes),
        "Python seed script": (
            [os.path.join(REPO, ".venv", "bin", "python"), os.path.join(REPO, "bench", "seed_terminal.py"), base_url],
            kernel_env({}), raw_bytes),
        "curl -N (floor)": (
            ["curl", "-sS", "-N", "--max-time", "60", "-H", "Content-Type: application/json",
             "-H", "Authorization: Bearer bench-any-key", "-d", body, base_url + "/chat/completions"],
            kernel_env({}), sse_answer_bytes),
    }


def raw_bytes(pieces):
    """The client prints the answer itself: every byte is answer (up to the limit)."""
    return [(t, len(data)) for t, data in pieces]


def sse_answer_bytes(pieces):
    """curl prints the raw server-sent events: count the answer text of each event
    completed by each read."""
    out, buf = [], b""
    for t, data in pieces:
        buf += data
        n = 0
        while b"\n\n" in buf:
            event, buf = buf.split(b"\n\n", 1)
            for line in event.split(b"\n"):
                if line.startswith(b"data: ") and line[6:].strip() != b"[DONE]":
                    choices = json.loads(line[6:]).get("choices") or [{}]
                    n += len((choices[0].get("delta", {}).get("content") or "").encode())
        out.append((t, n))
    return out


def read_process(argv, env, timeout):
    """Start argv; return (start, [(seconds since start, bytes read)], seconds to exit)."""
    with tempfile.TemporaryFile() as err:
        start = time.time()
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=err,
                                cwd=REPO, env=env, bufsize=0, start_new_session=True)
        try:
            fd, pieces = proc.stdout.fileno(), []
            poll = select.poll()
            poll.register(fd, select.POLLIN | select.POLLHUP)
            deadline = time.monotonic() + timeout
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"{argv[0]} still running after {timeout}s")
                if not poll.poll(left * 1000):
                    continue
                data = os.read(fd, 65536)
                now = time.time()
                if not data:
                    break
                pieces.append((now - start, data))
            rc = proc.wait(max(1, deadline - time.monotonic()))
            total = time.time() - start
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(5)
            proc.stdout.close()
        if rc != 0:
            err.seek(0)
            raise RuntimeError(f"{os.path.basename(argv[0])} exited with {rc}: {err.read().decode(errors='replace')[-500:]}")
    return start, pieces, total


def measure(binary, server, runs, timeout=60, progress=print):
    """One warm-up run then `runs` warm runs of each client, rotating which goes first."""
    cmds = commands(binary, server.base_url)
    labels = list(cmds)
    results = {label: [] for label in labels}
    for i in range(runs + 1):
        for label in labels[i % 3:] + labels[:i % 3]:
            argv, env, decode = cmds[label]
            start, pieces, total = read_process(argv, env, timeout)
            stamps = server.last_stamps()
            limit = sum(s["bytes"] for s in stamps)
            arrivals = answer_arrivals(decode(pieces), 0, limit)
            if not arrivals or arrivals[-1][1] < limit:
                raise RuntimeError(f"{label}: expected {limit} answer bytes, got {arrivals[-1][1] if arrivals else 0}")
            run = Run(warm=i > 0, first=arrivals[0][0], total=total, arrivals=arrivals, answer_bytes=limit,
                      delays=chunk_delays(arrivals, stamps, start))
            run.phases[REQ] = stamps[0]["unix_ns"] / 1e9 - server.first_token_s - start
            run.phases[SENT] = stamps[0]["unix_ns"] / 1e9 - start
            results[label].append(run)
            progress(f"  {label:26} {'warm' if i else 'first'} run: first byte {run.first:.3f} s, total {run.total:.3f} s")
    return results


if __name__ == "__main__":
    sys.exit("run bench/run.py")
