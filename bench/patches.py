"""Each GoNB patch's share (kernel-setup/gonb-patches): GoNB built with the first N patches
for every N (kernel-setup/gonb-build.sh), each started as a probed kernel of its own, set
up as the lesson is; the lesson cell is edited and re-run unchanged in every one of them
and in the seed's kernel, taking turns, so every figure is measured side by side."""
import glob
import os
import subprocess

import probe
from edits import EDITED, LESSON_CELL, UNCHANGED
from timing import median

BENCH = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(BENCH)
PATCHES = sorted(glob.glob(os.path.join(REPO, "kernel-setup", "gonb-patches", "[0-9][0-9][0-9][0-9]-*.patch")))
UNPATCHED = "Go, GoNB v0.11.4 unpatched"


def label(n):
    """The kernel with the first n patches: 'Go, GoNB + 0001 + 0002'."""
    if n == 0:
        return UNPATCHED
    return "Go, GoNB + " + " + ".join(os.path.basename(p)[:4] for p in PATCHES[:n])


def title(n):
    """Patch n's name from its file: 'skip-unchanged-build' for 0001-skip-unchanged-build.patch."""
    return os.path.basename(PATCHES[n - 1])[5:-len(".patch")]


def variants(root, progress=print):
    """Build GoNB with 0..all patches under root (skipped while up to date); return
    [(label, probe.Probe)], the unpatched kernel first."""
    out = []
    for n in range(len(PATCHES) + 1):
        binary = os.path.join(root, "bin", f"gonb-{n}")
        done = subprocess.run(["bash", os.path.join(REPO, "kernel-setup", "gonb-build.sh"), binary, str(n)],
                              capture_output=True, text=True, timeout=900)
        if done.returncode:
            raise RuntimeError(f"kernel-setup/gonb-build.sh {binary} {n} failed:\n{done.stdout}{done.stderr}")
        progress(f"  {done.stdout.strip().splitlines()[-1].removeprefix('==> ')}")
        out.append((label(n), probe.Probe(os.path.join(root, f"probe-{n}"), name=f"gonb-patches-{n}", gonb=binary)))
    return out


def table(results, seed):
    """Markdown: per kernel, the warm medians of the edited and the unchanged lesson cell
    (execute → first answer chunk), against the seed's measured in the same rounds, and
    what each patch took off."""
    med = {case: {c: median([r.first for r in runs if r.warm]) for c, runs in results[(LESSON_CELL, case)].items()}
           for case in (EDITED, UNCHANGED)}
    e_seed, u_seed = med[EDITED][seed], med[UNCHANGED][seed]
    lines = ["| Kernel | Edited: first chunk (s) | vs the seed | This patch's share | "
             "Unchanged: first chunk (s) | vs the seed | This patch's share |",
             "|---|--:|--:|--:|--:|--:|--:|"]
    for n in range(len(PATCHES) + 1):
        c = label(n)
        e, u = med[EDITED][c], med[UNCHANGED][c]
        share = "—"
        if n:
            p = label(n - 1)
            share = (f"{e - med[EDITED][p]:+.3f} s", f"{u - med[UNCHANGED][p]:+.3f} s")
        name = c if not n else f"{c} ({title(n)})"
        lines.append(f"| {name} | {e:.3f} | {e - e_seed:+.3f} s | {share if not n else share[0]} | "
                     f"{u:.3f} | {u / u_seed:.2f}× | {share if not n else share[1]} |")
    lines.append(f"| {seed} | {e_seed:.3f} | | | {u_seed:.3f} | | |")
    return "\n".join(lines)


def summary(results, seed):
    """The final figures against the seed, for the console and the README: (edited Δ s, unchanged ratio)."""
    last = label(len(PATCHES))
    e = {c: median([r.first for r in runs if r.warm]) for c, runs in results[(LESSON_CELL, EDITED)].items()}
    u = {c: median([r.first for r in runs if r.warm]) for c, runs in results[(LESSON_CELL, UNCHANGED)].items()}
    return e[last] - e[seed], u[last] / u[seed]
