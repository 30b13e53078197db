"""Each GoNB patch's share (kernel-setup/gonb-patches): GoNB built with the first N patches
for every N (kernel-setup/gonb-build.sh), each started as a probed kernel of its own, set
up as the lesson is; the lesson cell goes through the steps of a round (edits.ROUND) in
every one of them and in the seed's kernel, taking turns, so every figure is measured side
by side."""
import glob
import os
import subprocess

import probe
from edits import IDENTICAL, LESSON_CELL, MEASURED
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


# The patch that lets the kernel take the lesson's module by itself (its -enclosing_module flag);
# a kernel without it runs the lesson's former set-up cell first.
ENCLOSING = next(i + 1 for i, p in enumerate(PATCHES) if "module-enclosing" in os.path.basename(p))
SETUP_CELL = ("!*go mod edit -require=github.com/streamdemo/streamdemo@v0.0.0 "
              "-replace=github.com/streamdemo/streamdemo=${GONB_DIR}/..")


def variants(root, progress=print):
    """Build GoNB with 0..all patches under root (skipped while up to date); return
    [(label, probe.Probe, cells to run before the lesson's)], the unpatched kernel first."""
    out = []
    for n in range(len(PATCHES) + 1):
        binary = os.path.join(root, "bin", f"gonb-{n}")
        done = subprocess.run(["bash", os.path.join(REPO, "kernel-setup", "gonb-build.sh"), binary, str(n)],
                              capture_output=True, text=True, timeout=900)
        if done.returncode:
            raise RuntimeError(f"kernel-setup/gonb-build.sh {binary} {n} failed:\n{done.stdout}{done.stderr}")
        progress(f"  {done.stdout.strip().splitlines()[-1].removeprefix('==> ')}")
        old = n < ENCLOSING
        p = probe.Probe(os.path.join(root, f"probe-{n}"), name=f"gonb-patches-{n}", gonb=binary,
                        drop_flags=("enclosing_module",) if old else ())
        out.append((label(n), p, [SETUP_CELL] if old else []))
    return out


def _medians(results):
    return {step: {c: median([r.first for r in runs if r.warm]) for c, runs in results[(LESSON_CELL, step)].items()}
            for step in MEASURED}


def _vs_seed(step, ours, seed):
    return f"{ours / seed:.2f}×" if step == IDENTICAL else f"{ours - seed:+.3f} s"


def table(results, seed):
    """Markdown: per kernel and step, the warm median of the execute request → first answer
    chunk and how it compares with the seed's in the same rounds (a difference, or a ratio for
    the identical re-run); then what each patch changed from the kernel one patch down."""
    med = _medians(results)
    head = " | ".join(MEASURED)
    lines = [f"| Kernel | {head} |", "|---|" + "--:|" * len(MEASURED)]
    for n in range(len(PATCHES) + 1):
        c = label(n)
        name = c if not n else f"{c} ({title(n)})"
        lines.append(f"| {name} | " + " | ".join(f"{med[s][c]:.3f} ({_vs_seed(s, med[s][c], med[s][seed])})"
                                                 for s in MEASURED) + " |")
    lines.append(f"| {seed} | " + " | ".join(f"{med[s][seed]:.3f}" for s in MEASURED) + " |")
    lines += ["", f"| This patch's share (s) | {head} |", "|---|" + "--:|" * len(MEASURED)]
    for n in range(1, len(PATCHES) + 1):
        lines.append(f"| {os.path.basename(PATCHES[n - 1])[:4]} ({title(n)}) | "
                     + " | ".join(f"{med[s][label(n)] - med[s][label(n - 1)]:+.3f}" for s in MEASURED) + " |")
    return "\n".join(lines)


def summary(results, seed):
    """The fully patched kernel against the seed: {step: (ours - seed in s, ours / seed)}."""
    med, last = _medians(results), label(len(PATCHES))
    return {s: (med[s][last] - med[s][seed], med[s][last] / med[s][seed]) for s in MEASURED}
