"""Tables (Markdown), the findings where ours is slower, and the chunk-arrival chart (SVG)."""
import os

import levers
import patches
import report_edits
from edits import IDENTICAL, LESSON_CELL, MEASURED
from notebook import PY
from timing import BUILD_END, BUILD_START, FIRST, IMPORTS_START, ORDER, PRINTED, REQ, median, p95


# ---------------------------------------------------------------- tables

def _s(x):
    return "—" if x is None else f"{x:.3f}"


def _ms(x):
    return "—" if x is None else f"{x * 1000:.2f}"


def _ratio(a, b):
    return "—" if a is None or b is None or b <= 0 else f"{a / b:.2f}×"


def figures(runs):
    """{figure: (first run, warm median, warm p95, first-run p95 or None)} for one client."""
    first = next(r for r in runs if not r.warm)
    warm = [r for r in runs if r.warm]
    out = {}
    for key in ("first", "total"):
        values = [getattr(r, key) for r in warm]
        out[key] = (getattr(first, key), median(values), p95(values), None)
    if first.delays is not None:
        delays = [d for r in warm for d in r.delays]
        out["delay"] = (median(first.delays), median(delays), p95(delays), p95(first.delays))
    return out


def split(results):
    """Clients whose label starts with "Go " are ours (the first is the lesson as it is),
    the others theirs (the first is the seed)."""
    ours = [c for c in results if c.startswith("Go ")]
    return ours, [c for c in results if c not in ours]


def table(results, names):
    """results: {client: [Run]}. names: figure -> row title. A ratio row for every
    pair (ours, theirs)."""
    ours, theirs = split(results)
    clients = ours + theirs
    figs = {c: figures(results[c]) for c in clients}
    lines = ["| Figure | Client | First run | Warm median | Warm p95 |", "|---|---|--:|--:|--:|"]
    for key, title in names.items():
        if key not in figs[ours[0]]:
            continue
        fmt = _ms if key == "delay" else _s
        for i, c in enumerate(clients):
            f = figs[c][key]
            first = fmt(f[0]) + (f" (p95 {fmt(f[3])})" if f[3] is not None else "")
            label = f"**{c}** (ours)" if c == ours[0] else c
            lines.append(f"| {title if i == 0 else ''} | {label} | {first} | {fmt(f[1])} | {fmt(f[2])} |")
        for o_name in ours:
            for t_name in theirs:
                o, t = figs[o_name][key], figs[t_name][key]
                cells = [_ratio(o[j], t[j]) for j in range(3)]
                if key == "delay":
                    cells = [f"{c} (Δ {(o[j] - t[j]) * 1000:+.2f} ms)" for j, c in enumerate(cells)]
                who = "ours" if o_name == ours[0] else o_name
                lines.append(f"|  | *ratio {who} / {t_name}* | {' | '.join(cells)} |")
    return "\n".join(lines)


def negatives(results):
    """A sentence on per-chunk delays below zero, which the server's stamping causes."""
    delays = [d for runs in results.values() for run in runs for d in (run.delays or [])]
    neg = [d for d in delays if d < 0]
    if not neg:
        return "No per-chunk delay came out negative."
    return (f"{len(neg)} of {len(delays)} per-chunk delays came out negative (down to {min(neg) * 1000:.2f} ms): the "
            "practice server stamps a chunk after writing and flushing it, so when its goroutine is descheduled in "
            "between, the client can read the chunk before the stamp is taken. Medians are barely affected; read "
            "sub-millisecond differences with that in mind.")


NOTEBOOK_FIGURES = {"first": "Execute request → first answer chunk visible (s)",
                    "delay": "Per chunk: server wrote it → frontend received it (ms)",
                    "total": "Execute request → kernel idle (s)"}
TERMINAL_FIGURES = {"first": "Process start → first answer byte on stdout (s)",
                    "delay": "Per chunk: server wrote it → read from the pipe (ms)",
                    "total": "Process start → exit (s)"}


def phases_table(results):
    """Warm medians of the moments that split "first chunk", per client (seconds since start)."""
    clients = sum(split(results), [])
    med = {}
    for c in clients:
        warm = [r for r in results[c] if r.warm]
        names = {n for r in warm for n in r.phases}
        med[c] = {n: median([r.phases[n] for r in warm if n in r.phases]) for n in names}
        med[c][FIRST] = median([r.first for r in warm])
    order = [n for n in ORDER if any(n in med[c] for c in clients)]
    lines = ["| Moment (warm median, s since start) | " + " | ".join(clients) + " |",
             "|---|" + "--:|" * len(clients)]
    for n in order:
        lines.append(f"| {n} | " + " | ".join(_s(med[c].get(n)) for c in clients) + " |")
    return "\n".join(lines), med


# ---------------------------------------------------------------- findings

def findings(sections):
    """Where ours is slower: warm first-chunk ratio > 1, or per-chunk median delay more
    than 1 ms above theirs. sections: [(title, results)]."""
    out = []
    for title, results in sections:
        ours, theirs = split(results)
        o_name, t_name = ours[0], theirs[0]
        fo, ft = figures(results[o_name]), figures(results[t_name])
        if fo["first"][1] > ft["first"][1]:
            out.append(f"- **{title}, first chunk (warm median): ours {fo['first'][1]:.3f} s vs "
                       f"the seed's {ft['first'][1]:.3f} s ({fo['first'][1] / ft['first'][1]:.2f}×).** "
                       + explain_first(results, o_name, t_name))
        if "delay" in fo and fo["delay"][1] - ft["delay"][1] > 0.001:
            out.append(f"- **{title}, per-chunk delay (warm median): ours {fo['delay'][1] * 1000:.2f} ms vs "
                       f"the seed's {ft['delay'][1] * 1000:.2f} ms.**")
    return "\n".join(out) if out else ("- Nowhere in this run: every warm first-chunk ratio is ≤ 1.00 and no "
                                        "per-chunk median delay is more than 1 ms above the seed's.")


def explain_first(results, ours, theirs):
    _, med = phases_table(results)
    o, t = med[ours], med[theirs]
    steps = []
    if BUILD_END in o:
        steps.append(f"GoNB started `goimports` at {o.get(IMPORTS_START, 0):.3f} s and `go build` at "
                     f"{o.get(BUILD_START, 0):.3f} s, which finished at {o[BUILD_END]:.3f} s")
    if PRINTED in o:
        steps.append(f"the program printed its first line at {o[PRINTED]:.3f} s")
    if REQ in o:
        steps.append(f"its request reached the server at ≈{o[REQ]:.3f} s")
    text = ("Ours: " + ", ".join(steps) + ". ") if steps else ""
    if REQ in o and REQ in t:
        text += (f"The seed's request reached the server at ≈{t[REQ]:.3f} s. Ours left {o[REQ] - t[REQ]:.3f} s later "
                 f"and its first chunk came {o[FIRST] - t[FIRST]:.3f} s later: after the request both wait for the same server. ")
    else:
        text += f"The seed's first chunk was visible at {t[FIRST]:.3f} s, {o[FIRST] - t[FIRST]:.3f} s sooner. "
    if BUILD_END in o:
        text += f"{o[BUILD_END] - o.get(BUILD_START, 0):.3f} s of ours is `go build`."
    return text


# ---------------------------------------------------------------- chart

COLOURS = {0: "#007d9c", 1: "#e0701c"}  # ours (Go blue), theirs


def chart(results, title):
    """Cumulative answer bytes over time since the execute request, every run of each client."""
    W, H, L, R, T, B = 760, 420, 64, 20, 46, 52
    ours, theirs = split(results)
    results = {c: results[c] for c in (ours[0], theirs[0])}  # the lesson as it is vs the seed
    runs = [(i, c, r) for i, c in enumerate(results) for r in results[c]]
    xmax = max(r.arrivals[-1][0] for _, _, r in runs)
    xmax = max(1.0, int(xmax * 2 + 1) / 2)
    ymax = max(r.arrivals[-1][1] for _, _, r in runs)
    ystep = max(100, round(ymax / 5, -2))
    ytop = ystep * (int(ymax / ystep) + 1)
    px = lambda t: L + (W - L - R) * t / xmax  # noqa: E731
    py = lambda b: H - B - (H - T - B) * b / ytop  # noqa: E731
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" '
           'font-family="sans-serif" font-size="12">',
           f'<rect width="{W}" height="{H}" fill="white"/>',
           f'<text x="{W / 2}" y="20" text-anchor="middle" font-size="14">{title}</text>']
    for k in range(int(xmax) + 1):
        x = px(k)
        out.append(f'<line x1="{x:.1f}" y1="{T}" x2="{x:.1f}" y2="{H - B}" stroke="#eee"/>'
                   f'<text x="{x:.1f}" y="{H - B + 16}" text-anchor="middle">{k}</text>')
    y_ticks = [ystep * k for k in range(int(ytop / ystep) + 1)]
    for b in y_ticks:
        y = py(b)
        out.append(f'<line x1="{L}" y1="{y:.1f}" x2="{W - R}" y2="{y:.1f}" stroke="#eee"/>'
                   f'<text x="{L - 6}" y="{y + 4:.1f}" text-anchor="end">{int(b)}</text>')
    out.append(f'<line x1="{L}" y1="{H - B}" x2="{W - R}" y2="{H - B}" stroke="#444"/>'
               f'<line x1="{L}" y1="{T}" x2="{L}" y2="{H - B}" stroke="#444"/>'
               f'<text x="{(L + W - R) / 2}" y="{H - 14}" text-anchor="middle">seconds since the execute request</text>'
               f'<text transform="translate(16 {(T + H - B) / 2}) rotate(-90)" text-anchor="middle">answer bytes received</text>')
    for i, c, r in sorted(runs, key=lambda x: x[2].warm, reverse=True):  # first runs on top
        points = [(0, 0), (r.arrivals[0][0], 0)] + r.arrivals
        d = " ".join(f"{px(t):.1f},{py(b):.1f}" for t, b in points)
        style = 'stroke-width="1.2" stroke-opacity="0.55"' if r.warm else 'stroke-width="2.2" stroke-dasharray="6 4"'
        out.append(f'<polyline fill="none" stroke="{COLOURS[i]}" {style} points="{d}"/>')
    for k, (i, c, warm) in enumerate([(i, c, w) for i, c in enumerate(results) for w in (False, True)]):
        y = T + 14 + 18 * k
        style = 'stroke-width="1.2" stroke-opacity="0.55"' if warm else 'stroke-width="2.2" stroke-dasharray="6 4"'
        out.append(f'<line x1="{L + 14}" y1="{y}" x2="{L + 44}" y2="{y}" stroke="{COLOURS[i]}" {style}/>'
                   f'<text x="{L + 50}" y="{y + 4}">{c}, {"warm runs" if warm else "first run"}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------- document

def final_line(p):
    """One sentence: the fully patched kernel against the seed, and the targets."""
    parts = []
    for step, (delta, ratio) in patches.summary(p["results"], PY).items():
        if step == IDENTICAL:
            ok = "met" if ratio <= report_edits.IDENTICAL_RATIO else "missed"
            parts.append(f"{step} {ratio:.2f}× the seed's (target ≤ {report_edits.IDENTICAL_RATIO:.2f}×: {ok})")
        else:
            limit = report_edits.AFTER_SEED_S[step]
            ok = "met" if delta <= limit else "missed"
            parts.append(f"{step} {delta:+.3f} s after the seed's (target ≤ +{limit:.2f} s: {ok})")
    return "With every patch, in these rounds: " + "; ".join(parts) + "."


def patches_section(p):
    """Each patch's share: one kernel per patch level and the seed, taking turns."""
    return [
        "### Each GoNB patch's share",
        "",
        "GoNB v0.11.4 built with the first N patches of `kernel-setup/gonb-patches/` for every N "
        "(`kernel-setup/gonb-build.sh`), each a kernel of its own set up as the lesson is, and the seed's kernel: the "
        f"lesson cell through the same round of edits, every kernel in turn at each step ({p['runs']} warm rounds after "
        "a first one, the order rotating each round), against a practice server of its own at the same first-token "
        f"delay streaming at {p['tps']} tokens/s (only the first chunk counts here, and the rounds are shorter). "
        "Medians of the execute request → first answer chunk, with the seed's in the same rounds; the second table is "
        "what each patch changed from the kernel one patch down. Without patch 0005 a kernel needs the set-up cell "
        "`!*go mod edit -require=…@v0.0.0 -replace=…=${GONB_DIR}/..`, which those kernels run first.",
        "",
        patches.table(p["results"], PY),
        "",
        final_line(p),
        "",
    ]


def edits_section(nb, first_token):
    """The edited / unchanged comparison at one server pace: summary, targets, breakdown."""
    res = nb["results"]
    lines = [report_edits.summary(res), "", "Targets (issue 30: a new question or system prompt at most the seed's + 0.05 s, "
             "exercise 3's edit at most the seed's + 0.25 s, the identical re-run at most 1.05× the seed's), from these "
             "medians:", "", report_edits.targets(res), ""]
    go_runs = [r for runs in res.values() for r in runs.get("Go lesson (GoNB)", [])]
    if any(PRINTED in r.phases for r in go_runs):  # the probed kernel: GoNB's steps are known
        lines += [f"Where the time to the first chunk goes (warm medians; first token {first_token}):", "",
                  report_edits.breakdown(res), "",
                  "GoNB's steps come from wrappers around `go` and `goimports` (`bench/probe/tool`, one bash start "
                  "each) on the PATH of a copy of the installed kernelspec; the server's arrival: its stamp of the first "
                  "chunk minus its first-token delay. The kernel is GoNB with every patch of `kernel-setup/gonb-patches/`: "
                  "a new question or system prompt runs the program built last with the new strings (0004), an identical "
                  "re-run runs it as it is (0001), so neither runs `goimports` or `go build`; exercise 3's edit runs "
                  "`goimports` (a new identifier) and then the compiler and the linker without the go command (0002), so "
                  "its `go build` row is empty too; the ¹ rows describe a full `go build` of that cell."
                  + (" ¹ From a rebuild of the same cell right after each run of exercise 3's edit (not timed with it): a copy of "
                     "GoNB's module, the cell's main.go with a comment appended, built with the kernel's environment and "
                     "`go build -debug-trace` (whose tracing adds to its “rest”). “`go build`, whole” is the timed build "
                     "itself; medians of parts need not add up." if any(r.steps for r in go_runs) else ""), ""]
    return lines


def document(r):
    """The whole of docs/benchmarks.md from run.py's results dict."""
    m = r["machine"]
    nb, term, local, slow = r["notebook"], r["terminal"], r["local"], r["slow"]
    lesson = nb["results"][(LESSON_CELL, IDENTICAL)]
    lines = [
        "# Benchmarks: streaming the answer, ours (Go) vs the seed lesson (Python)",
        "",
        f"Generated by `bench/run.py` (`make bench`) on {r['date']} in {r['duration']:.0f} s. Every number below comes "
        "from that one run; rerun it to refresh this file and `docs/benchmarks.svg`. Raw numbers of every run: "
        "`build/bench/results.json`; server and kernel logs: `build/bench/`.",
        "",
        "```",
        r["command"],
        "```",
        "",
        f"All clients ask one at a time of the same practice server (`streamdemo serve --first-token "
        f"{r['server']['first_token']} --tps {r['server']['tps']}`; the lesson's question gets a scripted answer of "
        f"{r['server']['answer_bytes']} bytes in {r['server']['chunks']} chunks) over OpenAI chat completions. "
        f"Each client: one first run, then {r['runs']} warm runs; clients take turns. Medians and spreads are over the "
        "warm runs. Ratios are ours / theirs from this same run: above 1.00 ours is slower.",
        "",
        "## Notebooks: edit a prompt, run the cell",
        "",
        "What a student does all lesson long: change the question or the system prompt, press Shift+Enter, watch the "
        "answer; and exercise 3, a sleep added in the loop. Our lesson's streaming cell in GoNB, after the cells before "
        "it (`.env`, `%noautoget`; no set-up cell: the kernel takes the repository's module by itself), in a kernel "
        "started in `notebooks/` with `STREAMDEMO_PROVIDER=openai` and `STREAMDEMO_BASE_URL` set; the seed's `In [1]` "
        "and its streaming cell in ipykernel, `base_url` changed to the practice server. Each round takes both cells "
        "through the same steps, every kernel in turn at each step: a **new question** (“(take N)” added to it), an "
        "**identical re-run**, a **new system prompt** (“(take N)” added to it), **exercise 3's edit** "
        "(`time.Sleep(N * time.Microsecond)` after the print in the loop; the seed gets `time.sleep(N / 1e6)`), then, "
        "not measured, the cell again without the sleep, so the next round's new question follows a run of the same "
        "code, as a student's does. The practice server answers every take alike. Times are from the execute request to "
        "the first answer chunk in the Jupyter iopub messages as received (`jupyter_client`, wall clock). Our "
        "“Answering with …” line and the seed's trailing `None` are not answer bytes.",
        "",
        *edits_section(nb, r["server"]["first_token"]),
        *patches_section(r["patches"]),
        "### What the kernel's environment changes",
        "",
        "The edited cell's `go build` alone, as GoNB runs it (`go build -o`), in a copy of GoNB's module: the cell edited "
        "before each build, the settings taking turns (one untimed build each first). `kernel-setup/install.sh` puts "
        "`CGO_ENABLED=0` and `GOFLAGS='-ldflags=-s -w'` in the kernelspec's environment.",
        "",
        levers.table(r["levers"]),
        "",
        f"### The same, the practice server's first token at {slow['first_token']}",
        "",
        "Closer to a real web-search answer: the fixed cost of a Go cell, in context (a new question and the identical "
        "re-run, fresh kernels).",
        "",
        *edits_section(slow, slow["first_token"]),
        "### The first cell after `make lab`",
        "",
        "A fresh kernel, as a student meets it: kernel start, the cells before the streaming cell, then its first run "
        "(as the notebook has it). The Go build cache was warmed by `kernel-setup/prewarm.sh` (run by `make "
        "setup`) with the kernel's own environment, so only the cell's program is compiled. For the seed: kernel start, "
        "`In [1]`, its streaming cell (whose first run imports `openai`).",
        "",
        report_edits.first_session(nb["setup"], nb["results"], LESSON_CELL),
        "",
        "### The identical re-run, in detail",
        "",
        table(lesson, NOTEBOOK_FIGURES),
        "",
        negatives(lesson),
        "",
        "![Answer bytes received over time, Go lesson vs Python seed, a new question in each run](benchmarks.svg)",
        "",
        "## Terminal: `streamdemo ask` vs the seed's call as a script vs `curl -N`",
        "",
    ]
    if term:
        lines += [
            "`build/bench/streamdemo ask --provider openai --base-url URL --system PROMPT \"How many stars are in the universe?\"`, "
            "`.venv/bin/python bench/seed_terminal.py URL` (the seed's `In [1]` and streaming cell, `base_url` from the argument), "
            "and `curl -sS -N` posting the same request (the floor: no client library at all; its bytes are the raw events, "
            "counted as answer bytes when an event is complete). Each run is a fresh process; stdout is a pipe read as bytes "
            "arrive. Times count from just before the process is started.",
            "",
            table(term, TERMINAL_FIGURES),
            "",
            negatives(term),
            "",
            "Where the time to the first byte goes (warm medians):",
            "",
            phases_table(term)[0].replace(FIRST, "first answer byte read"),
        ]
    else:
        lines.append(f"Skipped: {r['terminal_note']}")
    lines += ["", "## Local model (Ollama)", ""]
    if local:
        lines += [
            f"The notebook comparison again (a new question and the identical re-run), against Ollama at "
            f"`http://127.0.0.1:11434/v1`, model `smollm2-135m`, temperature 0 (the seed's cell gets "
            f"`model=\"smollm2-135m\"` and `temperature=0`; ours `STREAMDEMO_MODEL=smollm2-135m` and `client.Stream(..., "
            f"streamdemo.Request{{Messages: messages, Temperature: new(float32)}})` in place of `client.ChatStream(...)`). "
            f"Fresh kernels; the model was loaded before the first run. Ollama stamps nothing, so only first chunk and "
            f"total. " + local["note"] + " Ollama computes on the same two cores as everything else: its totals swing "
            "with that load. The first chunk, mostly fixed client-side costs, is the steadier figure.",
            "",
            report_edits.summary(local["results"]),
        ]
    else:
        lines.append(f"Skipped: {r['local_note']}")
    sections = [(f"Notebook, {step}", nb["results"][(LESSON_CELL, step)]) for step in MEASURED]
    sections += [("Terminal", term)] if term else []
    sections += [("Local model notebook, identical re-run", local["results"][(LESSON_CELL, IDENTICAL)])] if local else []
    lines += ["", "## Where ours is slower", "", findings(sections), ""]
    notes = os.path.join(os.path.dirname(os.path.abspath(__file__)), "notes.md")
    if os.path.exists(notes):
        with open(notes) as f:
            lines += [f.read().rstrip(), ""]
    lines += [
        "## Machine",
        "",
        *[f"- {k}: {v}" for k, v in m.items()],
        "",
        "Other processes were free to run meanwhile; the load averages above say how busy the machine was. "
        "Absolute times move with that load; ratios from one run are the fairer comparison.",
        "",
    ]
    return "\n".join(lines)


def console(r):
    """The tables, for the terminal."""
    nb, slow = r["notebook"], r["slow"]
    out = ["", f"Notebooks, a round of edits (practice server, first token {r['server']['first_token']})",
           report_edits.summary(nb["results"]), "", report_edits.targets(nb["results"]), "",
           report_edits.breakdown(nb["results"]), "",
           "Each GoNB patch's share (warm medians, side by side)", patches.table(r["patches"]["results"], PY), "",
           final_line(r["patches"]), "",
           "The edited cell's go build per kernel environment", levers.table(r["levers"]), "",
           f"Notebooks, a new question and the identical re-run (first token {slow['first_token']})",
           report_edits.summary(slow["results"]), "", report_edits.targets(slow["results"]), "",
           report_edits.breakdown(slow["results"]), "",
           "First cell after `make lab`", report_edits.first_session(nb["setup"], nb["results"], LESSON_CELL), ""]
    if r["terminal"]:
        out += ["Terminal (practice server)", table(r["terminal"], TERMINAL_FIGURES), "",
                phases_table(r["terminal"])[0].replace(FIRST, "first answer byte read"), ""]
    if r["local"]:
        out += ["Notebooks (local model)", report_edits.summary(r["local"]["results"]), ""]
    else:
        out += [f"Local model: skipped: {r['local_note']}", ""]
    return "\n".join(out)
