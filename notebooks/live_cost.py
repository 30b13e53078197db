"""Measure what streamdemo.Show sends through a real GoNB kernel: for each pace
(tokens per second) and answer size (characters), the bytes of every
display_data / update_display_data payload (all MIME types) per byte of answer.
The closing stats line and chart are sent once whatever the pace and are not
counted; the waiting line is. Answers come from the practice server's
`practice/length-N` models.

    .venv/bin/python notebooks/live_cost.py [--out docs/live-display.md]
"""
import argparse
import os
import socket
import subprocess
import sys
import time
import urllib.request

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(REPO, "notebooks", "tests"))
from kernel import Kernel  # noqa: E402

FIRST_TOKEN = "600ms"
PACES = [5, 10, 40, 100]
SIZES = [100, 1000, 5000, 20000]
CELL = '''import "github.com/streamdemo/streamdemo/pkg/streamdemo"

%%
messages := []streamdemo.Message{{Role: "user", Content: "Tell me about the stars."}}
client := streamdemo.NewClient(streamdemo.Config{Provider: "practice", BaseURL: "BASE"})
streamdemo.Show(client.ChatStream(context.Background(), "practice/length-SIZE", messages))'''


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PracticeServers:
    """One practice server per pace (tokens per second), on free loopback ports, each
    sending its first token after first_token; base[pace] is its URL; close() stops them."""

    def __init__(self, paces, log_dir, first_token=FIRST_TOKEN):
        os.makedirs(log_dir, exist_ok=True)
        binary = os.path.join(log_dir, "streamdemo")
        subprocess.run(["go", "build", "-o", binary, "./cmd/streamdemo"], cwd=REPO, check=True)
        self.procs, self.base, self.logs = [], {}, []
        for tps in paces:
            port = free_port()
            log = open(os.path.join(log_dir, f"practice-server-{tps}tps-{first_token}.log"), "w")
            self.logs.append(log)
            self.procs.append(subprocess.Popen([binary, "serve", "--addr", f"127.0.0.1:{port}",
                                                "--first-token", first_token, "--tps", str(tps)],
                                               stdout=log, stderr=log))
            self.base[tps] = f"http://127.0.0.1:{port}/v1"
        for base in self.base.values():
            for _ in range(100):
                try:
                    urllib.request.urlopen(base + "/models", timeout=1)
                    break
                except OSError:
                    time.sleep(0.05)

    def close(self):
        for p in self.procs:
            p.terminate()
            p.wait(timeout=5)
        for log in self.logs:
            log.close()


def payload(content):
    return sum(len(v.encode()) if isinstance(v, str) else len(str(v).encode())
               for v in content.get("data", {}).values())


def measure(kernel, base, size):
    """Run Show once; return (bytes per answer byte, display messages, final Markdown of the answer)."""
    messages = kernel.run(CELL.replace("BASE", base).replace("SIZE", str(size)), timeout=1200)
    return cost(messages, size)


def cost(messages, size):
    """What a Show cell's messages cost per answer byte: (ratio, display messages, final answer Markdown)."""
    shows = [m for m in messages if m["type"] in ("display_data", "update_display_data")]
    final, order = {}, []
    for m in shows:
        key = m["content"].get("transient", {}).get("display_id") or id(m)
        if key not in final:
            order.append(key)
        final[key] = m["content"]["data"]
    once = {k for k in order if "⏱ " in final[k].get("text/markdown", "") or "<svg" in final[k].get("text/html", "")}
    sent = sum(payload(m["content"]) for m in shows
               if (m["content"].get("transient", {}).get("display_id") or id(m)) not in once)
    answer = "".join(final[k].get("text/markdown", "") for k in order if k not in once)
    return sent / size, len(shows), answer


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", help="write the table as Markdown here")
    parser.add_argument("--max-seconds", type=float, default=120,
                        help="skip cells whose answer would stream longer than this (default 120)")
    args = parser.parse_args()
    build = os.path.join(REPO, "build", "live-cost")
    servers = PracticeServers(PACES, build)
    kernel = Kernel(cwd=os.path.join(REPO, "build"), env=dict(os.environ),
                    log_path=os.path.join(build, "kernel.log"))
    rows = []
    try:
        for size in SIZES:
            cells = []
            for tps in PACES:
                if size / 5.7 / tps > args.max_seconds:  # about 5.7 characters a token
                    cells.append("—")
                    continue
                ratio, count, _ = measure(kernel, servers.base[tps], size)
                print(f"{size} characters at {tps} tokens/s: {ratio:.2f} bytes per answer byte, {count} messages", flush=True)
                cells.append(f"{ratio:.2f}")
            rows.append(f"| {size:,} | " + " | ".join(cells) + " |")
    finally:
        kernel.close()
        servers.close()
    table = "| answer (characters) | " + " | ".join(f"{t} tokens/s" for t in PACES) + " |\n|--:|" + "--:|" * len(PACES) + "\n" + "\n".join(rows)
    print(table)
    if args.out:
        with open(args.out, "w") as f:
            f.write(TEMPLATE.format(table=table, first=FIRST_TOKEN, limit=int(args.max_seconds)))


TEMPLATE = """# What the live display costs

`streamdemo.Show` shows an answer as it arrives. Finished blocks (paragraphs,
list items, code fences) are sent once, final; only the growing block is
re-sent, and only while everything sent stays within 2.5 bytes per byte of
answer received (`liveBudget` in `pkg/streamdemo/live.go`). A slow stream
therefore refreshes less often instead of costing more.

Bytes sent per byte of answer, measured from a real GoNB kernel's
`display_data` and `update_display_data` messages (the payload of every MIME
type; the message envelope is not counted), against the practice server's
`practice/length-N` answers, first token after {first}. The closing stats line
and the chart are sent once whatever the pace and are left out; the waiting
line is counted. "—" marks an answer that would take over {limit} s to stream.

{table}

Produced by `.venv/bin/python notebooks/live_cost.py --out docs/live-display.md`
(add `--max-seconds 800` for every cell; `make live-cost` runs it).
`go test ./pkg/streamdemo -run '^$' -bench LiveMarkdown` gives the same figures
for every cell from a simulated stream, with the longest pause between two
refreshes (`s-longest-stall`): within a long paragraph the growing block is
re-sent each time it has about tripled, so at 5 tokens/s the text can pause
for several seconds. `notebooks/tests/test_live_display.py` holds four cells
of this table to at most 3.

GoNB's `gonbui/dom` could append to an element instead, but each append is a
transient `<script>` (about 150 bytes of JavaScript for a few words of text,
plus a second message that clears it), it runs only in a frontend that
executes output scripts (not under nbclient or nbconvert), and what it builds
is not saved with the notebook, so a final formatted update is needed anyway.
"""


if __name__ == "__main__":
    main()
