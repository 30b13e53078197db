"""Builds a Go program pinned by a tool module of the repository, unless OUT already is that version.

    python3 -m classroom gotool OUT MODDIR PACKAGE

MODDIR's go.mod names PACKAGE with `tool`; its go.sum pins the whole module graph (-mod=readonly: exactly
what is pinned, from the Go module proxy, checksums verified). Used for the class's front door (Caddy,
classroom/frontdoor) and the tests' ACME CA (Pebble, classroom/tests/pebble).
"""
import os
import subprocess

from classroom.settings import die, say

# Only what MODDIR pins: no workspace of the caller's, no go.mod rewritten.
GO_ENV = {"GOWORK": "off", "GOFLAGS": "-mod=readonly"}


def pinned(moddir, package):
    """(module, version) that moddir pins for package."""
    p = subprocess.run(["go", "list", "-f", "{{.Module.Path}} {{.Module.Version}}", package], cwd=moddir,
                       env=dict(os.environ, **GO_ENV), stdout=subprocess.PIPE, text=True)
    if p.returncode or len(p.stdout.split()) != 2:
        die(f"{moddir}/go.mod does not pin {package}: run go list {package} in {moddir} to see why")
    module, version = p.stdout.split()
    return module, version


def built(out):
    """'module@version' of the program in out, or '' when there is none."""
    p = subprocess.run(["go", "version", "-m", out], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    return main_module(p.stdout) if p.returncode == 0 else ""


def main_module(version_m):
    """'module@version' of the main module in the output of go version -m, or ''."""
    for line in version_m.splitlines():
        fields = line.split()
        if len(fields) >= 3 and fields[0] == "mod":
            return f"{fields[1]}@{fields[2]}"
    return ""


def build(out, moddir, package):
    """Builds package as moddir pins it into out, unless out already is that version."""
    out = os.path.realpath(out)
    name = os.path.basename(out)
    module, version = pinned(moddir, package)
    if built(out) == f"{module}@{version}":
        say(f"{name} {version}: ready")
        return
    say(f"building {name} {version} from {moddir}/go.mod (first time: 1-3 min)")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    if subprocess.run(["go", "build", "-o", f"{out}.tmp", package], cwd=moddir, env=dict(os.environ, **GO_ENV)).returncode:
        die(f"building {name} failed: run the command above in {moddir} to see why")
    os.replace(f"{out}.tmp", out)


def main(args):
    if len(args) != 3:
        die("gotool takes OUT MODDIR PACKAGE: python3 -m classroom gotool .tools/bin/pebble classroom/tests/pebble "
            "github.com/letsencrypt/pebble/v2/cmd/pebble")
    build(*args)
