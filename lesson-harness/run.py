"""Run a GoNB notebook headless, echo its streamed output live, save the
executed copy, and record when every output message arrived.

    .venv/bin/python lesson-harness/run.py NOTEBOOK [--out FILE] [--quiet]
"""
import argparse
import os
import re
import sys
import time

import nbformat
from nbclient import NotebookClient
from rich.console import Console
from rich.markdown import Markdown

OUTPUT_TYPES = {"stream", "display_data", "update_display_data", "execute_result", "error"}


class RecordingClient(NotebookClient):
    """A NotebookClient that timestamps each output message as it arrives."""

    def __init__(self, nb, echo=True, kernel_log=None, **kw):
        super().__init__(nb, coalesce_streams=True, **kw)
        self.echo = echo
        self.kernel_log = kernel_log
        self.messages = []  # dicts: cell, t (seconds since start), type, content
        self.started = time.monotonic()

    async def async_start_new_kernel(self, **kwargs):
        # GoNB logs a lot on stderr: keep it out of the terminal.
        if self.kernel_log:
            kwargs.setdefault("stderr", self.kernel_log)
        return await super().async_start_new_kernel(**kwargs)

    async def async_execute_cell(self, cell, cell_index, *args, **kwargs):
        cell = await super().async_execute_cell(cell, cell_index, *args, **kwargs)
        if self.echo:  # what the cell displays (notebook.Show), in its final state
            show_outputs(cell.get("outputs", []))
        return cell

    def process_message(self, msg, cell, cell_index):
        kind = msg["msg_type"]
        if kind in OUTPUT_TYPES or (kind == "status" and msg["content"].get("execution_state") == "busy"):
            self.messages.append({"cell": cell_index, "t": time.monotonic() - self.started,
                                  "type": kind, "content": msg["content"]})
        if self.echo and kind == "execute_input":
            first = next((l for l in cell.source.splitlines() if l.strip() and not l.startswith(("//", "%%"))), "")
            sys.stdout.write(f"\n\033[2m── cell {cell_index}: {first[:60]}\033[0m\n")
        if self.echo and kind == "stream":
            sys.stdout.write(msg["content"]["text"])
            sys.stdout.flush()
        elif self.echo and kind == "error":
            sys.stdout.write("\n" + msg["content"].get("evalue", "") + "\n")
        return super().process_message(msg, cell, cell_index)


def show_outputs(outputs, file=None):
    """Print a cell's displayed outputs as a terminal shows them: Markdown rendered
    (links followed by their URL), a chart as one line saying what it shows."""
    file = file or sys.stdout
    console = Console(file=file, highlight=False)
    with console.capture() as captured:
        for out in outputs:
            data = out.get("data", {})
            if data.get("text/markdown"):
                console.print(Markdown(data["text/markdown"], hyperlinks=False))
            elif "<svg" in data.get("text/html", ""):
                console.print(chart_summary(data["text/html"]), markup=False)
    # rich pads each line to the console's width: drop the padding (before any closing colour code).
    for line in captured.get().splitlines():
        file.write(re.sub(r" +((?:\x1b\[[0-9;]*m)*)$", r"\1", line) + "\n")
    file.flush()


def chart_summary(svg):
    """One line for a timeline chart: its panels, chunks, first chunk and total."""
    panels = []
    for panel in re.split(r'<g class="panel"', svg)[1:]:
        label = re.search(r'font-weight="bold">([^<]*)<', panel)
        first = re.search(r"first chunk ([0-9.]+) s", panel)
        total = re.search(r"total ([0-9.]+) s", panel)
        chunks = panel.count('class="chunk"')
        panels.append(f"{label.group(1) if label else 'stream'}: {chunks} chunks"
                      + (f", first after {first.group(1)} s" if first else "")
                      + (f", total {total.group(1)} s" if total else ""))
    return "[chart] " + ("; ".join(panels) or "timeline")


def run(path, out=None, echo=True, timeout=600, kernel_log=os.devnull):
    """Execute the notebook at path in its own folder; return the client."""
    nb = nbformat.read(path, as_version=4)
    with open(kernel_log, "a") as log:
        client = RecordingClient(nb, echo=echo, kernel_log=log, kernel_name="gonb", timeout=timeout,
                                 allow_errors=True,
                                 resources={"metadata": {"path": os.path.dirname(os.path.abspath(path))}})
        client.execute()
    if out:
        os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
        nbformat.write(nb, out)
    return client


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebook")
    parser.add_argument("--out", help="where to save the executed notebook")
    parser.add_argument("--quiet", action="store_true", help="do not echo the output")
    parser.add_argument("--kernel-log", default=os.devnull, help="where the kernel's own log goes")
    args = parser.parse_args()
    client = run(args.notebook, args.out, echo=not args.quiet, kernel_log=args.kernel_log)
    errors = [m for m in client.messages if m["type"] == "error"]
    if args.out:
        print(f"\nexecuted notebook saved to {args.out}")
    sys.exit(1 if errors else 0)


if __name__ == "__main__":
    main()
