"""Tables for what a student does between runs (issues 13, 30): the lesson cell through a
round of edits, ours against the seed's, the targets, where GoNB's time goes, and the first
session after `make lab`."""
from edits import EXERCISE_3, IDENTICAL, NEW_PROMPT, NEW_QUESTION
from notebook import GO, PY
from timing import BUILD_END, BUILD_START, GET_END, IMPORTS_END, IMPORTS_START, PRINTED, REQ, SENT, median

# Targets (issue 30), a step's first answer chunk against the seed's: at most this long after it,
# or (the identical re-run) at most this many times it.
AFTER_SEED_S = {NEW_QUESTION: 0.05, NEW_PROMPT: 0.05, EXERCISE_3: 0.25}
IDENTICAL_RATIO = 1.05


def warm(runs):
    return [r for r in runs if r.warm]


def spread(values):
    return f"{min(values):.3f}–{max(values):.3f}"


def first_chunks(results, client):
    return [r.first for r in warm(results[client])]


def summary(results):
    """One row per (cell, case): warm medians of the first chunk, their spread, difference and ratio."""
    lines = ["| Cell | Case | Go lesson (GoNB): median (min–max) | Python seed: median (min–max) | Go − Python | Go / Python |",
             "|---|---|--:|--:|--:|--:|"]
    for (cell, case), clients in results.items():
        go, py = first_chunks(clients, GO), first_chunks(clients, PY)
        g, p = median(go), median(py)
        lines.append(f"| {cell} | {case} | {g:.3f} ({spread(go)}) | {p:.3f} ({spread(py)}) | {g - p:+.3f} s | {g / p:.2f}× |")
    return "\n".join(lines)


def targets(results):
    """A sentence per (cell, step) saying whether its target (issue 30) is met, and by how much it is missed."""
    out = []
    for (cell, step), clients in results.items():
        g, p = median(first_chunks(clients, GO)), median(first_chunks(clients, PY))
        if step == IDENTICAL:
            gap = g / p - IDENTICAL_RATIO
            verdict = "met" if gap <= 0 else f"**missed by {gap:.2f}× ({g - IDENTICAL_RATIO * p:.3f} s)**"
            out.append(f"- {cell}, {step}: ours {g / p:.2f}× the seed's (target ≤ {IDENTICAL_RATIO:.2f}×): {verdict}.")
        elif step in AFTER_SEED_S:
            gap = g - p - AFTER_SEED_S[step]
            verdict = "met" if gap <= 0 else f"**missed by {gap:.3f} s**"
            out.append(f"- {cell}, {step}: ours {g - p:+.3f} s after the seed's (target ≤ +{AFTER_SEED_S[step]:.2f} s): {verdict}.")
    return "\n".join(out)


# (row, function of one run's phases and steps giving seconds or None)
def _between(a, b):
    return lambda ph, st: ph[b] - ph[a] if a in ph and b in ph else None


GO_ROWS = [
    ("execute request → the program's first line (all of GoNB's work)", lambda ph, st: ph.get(PRINTED)),
    ("GoNB parses the cell and writes main.go", lambda ph, st: ph.get(IMPORTS_START)),
    ("`goimports`", _between(IMPORTS_START, IMPORTS_END)),
    ("GoNB merges the imports and rewrites main.go", lambda ph, st: ph[BUILD_START] - ph[IMPORTS_END]
     if GET_END not in ph and BUILD_START in ph and IMPORTS_END in ph else None),
    ("`go get` (only with %autoget)", _between(IMPORTS_END, GET_END)),
    ("`go build`, whole", _between(BUILD_START, BUILD_END)),
    ("… of which loading packages¹", lambda ph, st: st.get("load packages")),
    ("… of which compiling the cell¹", lambda ph, st: st.get("compile the cell")),
    ("… of which linking¹", lambda ph, st: st.get("link")),
    ("… of which the rest (cache checks, writing the binary)¹", lambda ph, st: st["go build"] - st["load packages"]
     - st.get("compile the cell", 0) - st.get("link", 0) if "go build" in st and "load packages" in st else None),
    ("program starts, prints its first line", _between(BUILD_END, PRINTED)),
    ("first line → request at the server", _between(PRINTED, REQ)),
]
PY_ROWS = [("execute request → request at the server", lambda ph, st: ph.get(REQ))]
SHARED_ROWS = [
    ("server's first-token wait", _between(REQ, SENT)),
    ("server sent the first chunk → visible in the frontend", lambda ph, st: ph["first"] - ph[SENT] if SENT in ph else None),
]


def _row_median(runs, fn):
    values = [v for r in runs for v in [fn(dict(r.phases, first=r.first), r.steps)] if v is not None]
    return median(values) if values else None


def breakdown(results):
    """Warm medians of each step of the first chunk, per (cell, case), Go and Python."""
    keys = list(results)
    head = " | ".join(f"{cell}, {case}" for cell, case in keys)
    lines = [f"| Step (warm median, s) | {head} |", "|---|" + "--:|" * len(keys)]

    def rows(client, spec, label):
        for name, fn in spec:
            cells = [_row_median(warm(results[k][client]), fn) for k in keys]
            if any(c is not None for c in cells):
                lines.append(f"| {label}{name} | " + " | ".join("—" if c is None else f"{c:.3f}" for c in cells) + " |")

    rows(GO, GO_ROWS + SHARED_ROWS, "Go: ")
    lines.append("| **Go: first chunk visible** | " + " | ".join(f"**{median(first_chunks(results[k], GO)):.3f}**" for k in keys) + " |")
    rows(PY, PY_ROWS + SHARED_ROWS, "Python: ")
    lines.append("| **Python: first chunk visible** | " + " | ".join(f"**{median(first_chunks(results[k], PY)):.3f}**" for k in keys) + " |")
    return "\n".join(lines)


def first_session(setup, results, cell):
    """Kernel start, each set-up cell, and the first run of the streaming cell, per client."""
    lines = ["| Client | Step | s | Detail |", "|---|---|--:|---|"]
    for client in (GO, PY):
        steps = list(setup[client])
        first = next(r for r in results[(cell, NEW_QUESTION)][client] if not r.warm)
        steps.append((f"first run of the {cell}: first answer chunk", first.first, ""))
        for i, (what, seconds, detail) in enumerate(steps):
            lines.append(f"| {client if i == 0 else ''} | {what} | {seconds:.3f} | {detail} |")
        lines.append(f"|  | **kernel start → first answer chunk** | **{sum(s for _, s, _ in steps):.3f}** | |")
    return "\n".join(lines)

