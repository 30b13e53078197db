"""Installs each chat-completions client the class gateway is tested with into a venv of its own,
.tools/clients/NAME, exactly as locks/NAME.lock pins it: every package, by hash, nothing resolved
here. Idempotent: a venv whose stamp (the lock's hash, Python's version, the venv's path) matches
is kept; any change recreates it from scratch.

    python3 lesson-harness/clients/install.py [NAME...]     (default: every lock)
"""
import hashlib
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
LOCKS = os.path.join(HERE, "locks")
VENVS = os.path.join(REPO, ".tools", "clients")


def names():
    return sorted(f[:-len(".lock")] for f in os.listdir(LOCKS) if f.endswith(".lock"))


def venv(name):
    return os.path.join(VENVS, name)


def stamp(name):
    with open(os.path.join(LOCKS, name + ".lock"), "rb") as f:
        lock = hashlib.sha256(f.read()).hexdigest()
    return f"{lock} {sys.version.split()[0]} {venv(name)}\n"


def install(name):
    """Make .tools/clients/NAME hold exactly its lock, unless it already does."""
    path, want = venv(name), stamp(name)
    stamp_file = os.path.join(path, ".lock-stamp")
    if os.path.exists(stamp_file) and open(stamp_file).read() == want:
        print(f"==> client {name}: ready")
        return
    print(f"==> client {name}: installing from lesson-harness/clients/locks/{name}.lock", flush=True)
    subprocess.run([sys.executable, "-m", "venv", "--clear", path], check=True)
    pip = [os.path.join(path, "bin", "python"), "-m", "pip", "--disable-pip-version-check", "--no-input"]
    subprocess.run(pip + ["install", "-q", "--require-hashes", "--no-deps", "-r", os.path.join(LOCKS, name + ".lock")], check=True)
    check = subprocess.run(pip + ["check"], capture_output=True, text=True)
    if check.returncode != 0:
        sys.exit(f"install.py: locks/{name}.lock is incomplete or inconsistent: {check.stdout.strip()}")
    with open(stamp_file, "w") as f:
        f.write(want)


def main():
    wanted = sys.argv[1:] or names()
    unknown = set(wanted) - set(names())
    if unknown:
        sys.exit(f"install.py: no lock for {', '.join(sorted(unknown))}; the locks are {', '.join(names())}")
    for name in wanted:
        install(name)


if __name__ == "__main__":
    main()
