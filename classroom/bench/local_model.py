"""make classroom-bench, on the local model: students streaming at once through the real hub, proxy and
gateway to the class's model server (make classroom-model's slots, and one slot to compare), for 1, 4 and
the slot count of students: first chunk p50 / p95 and tokens/s per student, side by side."""
import concurrent.futures as cf
import os
import statistics
import subprocess
import sys
import time

import requests

from conftest import REPO, Class

ANSWER_TOKENS = 64
QUESTION = {"model": "smollm2-135m", "stream": True, "max_tokens": ANSWER_TOKENS,
            "messages": [{"role": "user", "content": "How many stars are in the universe?"}]}


def stream(url, token):
    """(seconds to the first chunk, tokens per second after it) of one streamed answer; one chunk is one token."""
    t0 = time.monotonic()
    times = []
    with requests.post(url + "/chat/completions", json=QUESTION, stream=True, timeout=300,
                       headers={"Authorization": f"Bearer {token}"}) as r:
        r.raise_for_status()
        for line in r.iter_lines():
            if line.startswith(b"data:") and b'"content"' in line:
                times.append(time.monotonic() - t0)
    rate = (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 and times[-1] > times[0] else float("nan")
    return times[0] if times else float("nan"), rate


def pct(values, q):
    values = sorted(values)
    return values[max(0, min(len(values) - 1, int(round(q * len(values) + 0.5)) - 1))]


def model_server(slots):
    """The class's local model (classroom/model.py, as make classroom-model starts it) with this many slots."""
    subprocess.run([sys.executable, f"{REPO}/classroom/model.py", "start"], env=dict(os.environ, OLLAMA_NUM_PARALLEL=str(slots)),
                   check=True, capture_output=True, timeout=300)


def main(report):
    slots = int(subprocess.run(["bash", f"{REPO}/kernel-setup/model-slots.sh"], capture_output=True, text=True,
                               check=True).stdout)
    counts = sorted({1, 4, slots})
    klass = Class(students=[f"sdbench-m{i:02d}" for i in range(1, max(counts) + 1)], teacher="sdbench-teacher",
                  state=os.path.join(REPO, "build", "classroom-bench-model"), first_port=8800)
    klass.remove()
    model_server(slots)
    try:
        klass.make("classroom", UPSTREAM_URL="local", UPSTREAM_KEY_FILE="/dev/null")
        tokens = [klass.student(name).gateway_token("classroom-bench") for name in klass.students]
        gateway = f"{klass.base}/services/llm/v1"
        requests.post(f"{klass.base}/services/llm/teacher/limits", headers={"Authorization": f"Bearer {klass.teacher_token()}"},
                      json={"student": "*", "limits": {"requests_per_minute": 0, "concurrent_streams": 0, "tokens_per_day": 0}})
        head = "".join(f"{n:>4} at once".rjust(26) for n in counts)
        report(f"local model, {ANSWER_TOKENS}-token answers, students streaming at once", head)
        for server_slots in (slots, 1):
            model_server(server_slots)
            stream(gateway, tokens[0])  # the model loaded, the gateway knows the token
            cells = []
            for n in counts:
                with cf.ThreadPoolExecutor(n) as pool:
                    runs = [r for _ in range(max(1, 8 // n)) for r in pool.map(lambda t: stream(gateway, t), tokens[:n])]
                firsts, rates = [f for f, _ in runs], [r for _, r in runs]
                cells.append(f"{pct(firsts, .5) * 1000:.0f}/{pct(firsts, .95) * 1000:.0f} ms {statistics.median(rates):.0f} tok/s")
            report(f"  {server_slots} slot(s): first chunk p50/p95, tokens/s per student", "".join(c.rjust(26) for c in cells))
    finally:
        klass.make("classroom-down")
        klass.remove()
        os.unlink(klass.roster)
        subprocess.run([sys.executable, f"{REPO}/classroom/model.py", "stop"], capture_output=True, timeout=60)
