"""Warms a Go build cache the way a student's first lesson cells will fill it.

Usage: GOCACHE=DIR GOMODCACHE=DIR JUPYTER_PATH=... python warm.py LESSON.ipynb

Runs the lesson's code cells up to and including `%noautoget` (the import
cell) in a GoNB kernel, then a small cell, and stops the kernel. Exits non-zero with one sentence if a cell fails.
"""
import json
import os
import sys
import time

from jupyter_client import KernelManager


def setup_cells(lesson):
    cells = [c for c in json.load(open(lesson))["cells"] if c["cell_type"] == "code"]
    out = []
    for cell in cells:
        out.append("".join(cell["source"]))
        if "%noautoget" in out[-1]:
            return out
    sys.exit(f"warm.py: {lesson} has no %noautoget cell: cannot tell where its set-up ends")


def run(kc, code, timeout=300):
    msg_id = kc.execute(code)
    deadline, output = time.monotonic() + timeout, []
    while time.monotonic() < deadline:
        msg = kc.get_iopub_msg(timeout=timeout)
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        if msg["msg_type"] == "error":
            sys.exit("warm.py: a set-up cell failed: " + " ".join(msg["content"]["traceback"])[:500])
        if msg["msg_type"] == "stream":
            output.append(msg["content"]["text"])
        if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            return "".join(output)
    sys.exit(f"warm.py: a set-up cell was still running after {timeout} s")


def main():
    lesson = os.path.abspath(sys.argv[1])
    km = KernelManager(kernel_name="gonb")
    log = open(os.environ.get("WARM_LOG", os.devnull), "a")  # GoNB logs every step to stderr
    km.start_kernel(cwd=os.path.dirname(lesson), stderr=log)
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=60)
        for code in setup_cells(lesson):
            run(kc, code)
        if "warm" not in run(kc, '%%\nfmt.Println("warm")'):
            sys.exit("warm.py: the kernel did not run a cell")
    finally:
        kc.stop_channels()
        km.shutdown_kernel()


if __name__ == "__main__":
    main()
