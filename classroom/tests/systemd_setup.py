"""make systemd-container-setup: what the tests on a booted systemd need, pinned and idempotent.

1. systemd-nspawn: Debian's systemd-container package, at the version of the systemd installed (the
   two must match; any other version would upgrade this machine's systemd).
2. A hub for the container in build/systemd-hub/venv: classroom/requirements.lock (JupyterHub,
   JupyterLab...) and systemdspawner.lock (SystemdSpawner), with Debian's Python, which every account
   can run; configurable-http-proxy in build/systemd-hub/proxy from classroom/proxy's lock.
3. The class's gateway for the class's own hub in the container: streamdemo, built from this checkout
   into build/class-runtime/bin (Go's cache makes a second build quick).
Each part is skipped when what it installed is current. One sentence on failure, saying what to do.
"""
import hashlib
import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
HUB = os.path.join(REPO, "build", "systemd-hub")
PYTHON = "/usr/bin/python3"


def say(text):
    print(f"==> systemd tests: {text}", flush=True)


def fail(text):
    print(f"systemd tests: {text}", file=sys.stderr)
    sys.exit(1)


def run(*argv, **kwargs):
    r = subprocess.run(argv, capture_output=True, text=True, **kwargs)
    if r.returncode:
        fail(f"{' '.join(argv[:4])} failed: {(r.stderr or r.stdout).strip()[-1500:]}")
    return r.stdout


def nspawn():
    if shutil.which("systemd-nspawn"):
        say("systemd-nspawn: ready")
        return
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        fail("the tests on a booted systemd need systemd-nspawn: install it as root "
             "(Debian: apt-get install systemd-container), then run them again")
    version = subprocess.run(["dpkg-query", "-W", "-f=${Version}", "systemd"], capture_output=True, text=True).stdout
    package = f"systemd-container={version}" if version else "systemd-container"
    say(f"installing Debian's {package}")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    run("apt-get", "update", "-qq", env=env)
    run("apt-get", "install", "-y", "-qq", package, env=env)


def stamp(*files):
    h = hashlib.sha256()
    for f in files:
        with open(f, "rb") as fh:
            h.update(fh.read())
    return h.hexdigest()


def current(path, value):
    try:
        with open(path) as f:
            return f.read().strip() == value
    except OSError:
        return False


def hub_venv():
    venv = os.path.join(HUB, "venv")
    locks = [os.path.join(REPO, "classroom", "requirements.lock"), os.path.join(HERE, "systemdspawner.lock")]
    if not os.access(PYTHON, os.X_OK):
        fail(f"the container's hub needs Debian's Python ({PYTHON}): apt-get install python3 python3-venv")
    value = f"{stamp(*locks)} {run(PYTHON, '-c', 'import sys; print(sys.version.split()[0])').strip()}"
    if os.path.exists(os.path.join(venv, "bin", "jupyterhub")) and current(os.path.join(venv, ".lock-stamp"), value):
        say("hub venv: ready")
        return
    say(f"creating {os.path.relpath(venv, REPO)} (first time: ~1 min)")
    run(PYTHON, "-m", "venv", "--clear", venv)
    pip = [os.path.join(venv, "bin", "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
           "--no-input", "--no-deps"]
    run(*pip, "-r", locks[0])
    run(*pip, "--require-hashes", "-r", locks[1])
    check = subprocess.run([os.path.join(venv, "bin", "python"), "-m", "pip", "check", "--disable-pip-version-check"],
                           capture_output=True, text=True)
    if check.returncode:
        fail(f"the hub's locks are incomplete: {check.stdout.strip()}")
    with open(os.path.join(venv, ".lock-stamp"), "w") as f:
        f.write(value + "\n")


def proxy():
    target = os.path.join(HUB, "proxy")
    source = os.path.join(REPO, "classroom", "proxy")
    value = stamp(os.path.join(source, "package-lock.json"))
    if os.path.exists(os.path.join(target, "node_modules", ".bin", "configurable-http-proxy")) and \
            current(os.path.join(target, ".lock-stamp"), value):
        say("configurable-http-proxy: ready")
        return
    if not shutil.which("npm"):
        fail("the container's hub needs npm for its proxy: install Node 20 (Debian: apt-get install nodejs npm)")
    say("installing configurable-http-proxy from classroom/proxy/package-lock.json")
    os.makedirs(target, exist_ok=True)
    for f in ("package.json", "package-lock.json"):
        shutil.copy(os.path.join(source, f), target)
    run("npm", "ci", "--silent", "--no-audit", "--no-fund", cwd=target)
    with open(os.path.join(target, ".lock-stamp"), "w") as f:
        f.write(value + "\n")


def streamdemo():
    out = os.path.join(REPO, "build", "class-runtime", "bin", "streamdemo")
    go = shutil.which("go") or "/usr/local/go/bin/go"
    r = subprocess.run([go, "build", "-o", out, "./cmd/streamdemo"], cwd=REPO, capture_output=True, text=True)
    if r.returncode:
        fail(f"streamdemo did not build ({r.stderr.strip()[-300:]}): run go build ./cmd/streamdemo to see why")
    say("streamdemo for the class's hub: ready")


if __name__ == "__main__":
    nspawn()
    hub_venv()
    proxy()
    streamdemo()
