"""Installs the class's shared runtime into c.runtime (settings.py), every version pinned.

    python3 -m classroom install

    (a) the notebook side of the repository (kernel-setup/install.sh: gonb, goimports, gopls)
    (b) Node for the proxy (Debian's nodejs, root only, when node is missing), and nftables (root only)
    (c) hub venv          -> RUNTIME/venv          (classroom/requirements.lock: JupyterHub, JupyterLab,
                                                    nbgitpuller, jupyterhub-idle-culler)
    (d) proxy             -> RUNTIME/proxy         (classroom/proxy/package-lock.json, npm ci)
    (e) programs          -> RUNTIME/bin, RUNTIME/supervisor (gonb, goimports, gopls, streamdemo)
    (h) front door        -> RUNTIME/bin/caddy     (classroom/frontdoor/go.mod: Caddy, for a class beyond loopback)
    (f) GoNB kernelspec   -> RUNTIME/share/jupyter/kernels/gonb (started through gonb-supervisor)
    (g) Go caches         -> RUNTIME/go/mod (shared, read-only module cache),
                             RUNTIME/go/build-seed (warmed build cache each student gets a copy of)

Idempotent: each step records what it installed in a stamp file and is skipped when that is current.
Students read all of it and write none of it.
"""
import glob
import hashlib
import json
import os
import shutil
import stat
import subprocess
import tempfile

from classroom import gotool, procs, settings
from classroom.schema import REPO
from classroom.settings import HERE, die, say

# JupyterLab's defaults for every student: no news pop-up, no update check (no request to a website).
LAB_OVERRIDES = '{"@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": false}}\n'
# Behind the HTTPS front door the hub asks for Secure cookies (JUPYTERHUB_COOKIE_OPTIONS): the Jupyter
# server's own XSRF cookie too, on the path it would have had.
SERVER_CONFIG = '''import json
import os

if json.loads(os.environ.get("JUPYTERHUB_COOKIE_OPTIONS") or "{}").get("secure"):
    c.ServerApp.tornado_settings = {"xsrf_cookie_kwargs": {"path": os.environ["JUPYTERHUB_SERVICE_PREFIX"], "secure": True}}  # noqa: F821
'''
CADDY = "github.com/caddyserver/caddy/v2/cmd/caddy"


def current(stamp_file, value):
    """True if stamp_file already holds value (what a step installed last)."""
    try:
        with open(stamp_file) as f:
            return f.read().rstrip("\n") == value
    except FileNotFoundError:
        return False


def write_stamp(stamp_file, value):
    with open(stamp_file, "w") as f:
        f.write(f"{value}\n")


def sha256(*files):
    """The hash of the files' contents, one after the other."""
    h = hashlib.sha256()
    for name in files:
        with open(name, "rb") as f:
            h.update(f.read())
    return h.hexdigest()


def run(cmd, what, **kw):
    """Runs cmd (its output goes on to the caller's); a failure is refused as what failed."""
    if subprocess.run(cmd, **kw).returncode:
        die(f"{what} failed: its output is above")


def output(cmd, **kw):
    """What cmd prints, stripped."""
    p = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, **kw)
    if p.returncode:
        die(f"{' '.join(cmd)} failed: its output is above")
    return p.stdout.strip()


def as_nobody(c, *cmd):
    """True if an account with no rights runs cmd successfully (as root; True otherwise)."""
    return not c.as_root or subprocess.run(["runuser", "-u", "nobody", "--", *cmd], stdout=subprocess.DEVNULL,
                                           stderr=subprocess.DEVNULL).returncode == 0


def apt_install(*packages):
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    run(["apt-get", "update", "-qq"], "apt-get update", env=env)
    run(["apt-get", "install", "-y", "-qq", *packages], f"apt-get install {' '.join(packages)}", env=env,
        stdout=subprocess.DEVNULL)


def notebook_side():
    """(a) kernel-setup/install.sh, its progress lines marked as the notebook side's."""
    p = subprocess.Popen(["bash", os.path.join(REPO, "kernel-setup", "install.sh")], stdout=subprocess.PIPE, text=True)
    for line in p.stdout:
        print(f"==> notebook side: {line[4:]}" if line.startswith("==> ") else line, end="", flush=True)
    if p.wait():
        raise SystemExit(p.returncode)  # its own sentence is above


def go_everyone_runs(c):
    go = shutil.which("go")
    if not go:
        die("go not found on PATH (Go 1.26 is expected)")
    go = os.path.join(os.path.dirname(os.path.realpath(go)), "go")
    if not as_nobody(c, "test", "-x", go):
        die(f"students could not run {go} (a folder on its path is private): install Go where every account can "
            "read it, e.g. /usr/local/go")


def system_packages(c):
    """(b) Node and npm for the hub's proxy; nftables: a teacher's own upstream on this machine without a key
    answers the gateway alone (firewall.py)."""
    if not shutil.which("node") or not shutil.which("npm"):
        if not c.as_root:
            die("node and npm are needed for the hub's proxy: install Node 20 (Debian: apt-get install nodejs npm)")
        say("installing Debian's nodejs and npm for the hub's proxy")
        apt_install("nodejs", "npm")
    if c.as_root and not shutil.which("nft"):
        say("installing Debian's nftables (the class's firewall rule for an upstream on this machine)")
        apt_install("nftables")


def student_python(c):
    """A Python every student can run (pyenv's under /root is private): this one if it is, else Debian's."""
    py = os.path.realpath(shutil.which("python3"))
    if as_nobody(c, py, "-c", "import venv"):
        return py
    py = "/usr/bin/python3"
    if not as_nobody(c, py, "-c", "import venv, ensurepip"):
        say("installing Debian's python3 and python3-venv (the Python on PATH is private to root)")
        apt_install("python3", "python3-venv")
    return py


def hub_venv(c, py):
    """(c) The hub venv, at runtime/venv: a link to the venv of the lock it was built from. Its stamp holds the
    lock's hash, the Python and its version, and the link's path. A new lock's venv is built beside it and the
    link switched at once: a class running through the upgrade keeps the venv it started from (its processes
    name it), and a build that fails leaves the class its venv. Venvs no process uses any more are removed."""
    link, lock = os.path.join(c.runtime, "venv"), os.path.join(HERE, "requirements.lock")
    version = output([py, "-c", "import sys; print(sys.version.split()[0])"])
    stamp = f"{sha256(lock)} {py} {version} {link}"
    if os.access(os.path.join(link, "bin", "jupyterhub"), os.X_OK) and current(f"{link}/.lock-stamp", stamp):
        say("hub venv: ready")
    else:
        venv = f"{link}-{hashlib.sha256(stamp.encode()).hexdigest()[:12]}"
        say(f"creating the hub venv in {venv} from classroom/requirements.lock (first time: ~40 s)")
        run([py, "-m", "venv", "--clear", venv], "creating the hub venv")  # clears what a failed build left
        vpy = os.path.join(venv, "bin", "python")
        run([vpy, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-input", "--no-deps", "-r", lock],
            "installing classroom/requirements.lock")
        check = subprocess.run([vpy, "-m", "pip", "check", "--disable-pip-version-check"], stdout=subprocess.PIPE, text=True)
        if check.returncode:
            die(f"classroom/requirements.lock is incomplete: {check.stdout.strip()}")
        write_stamp(f"{venv}/.lock-stamp", stamp)
        switch(link, venv)
    write_file(os.path.join(link, "share", "jupyter", "lab", "settings", "overrides.json"), LAB_OVERRIDES)
    write_file(os.path.join(link, "etc", "jupyter", "jupyter_server_config.py"), SERVER_CONFIG)
    prune_venvs(link)
    return link


def switch(link, venv):
    """Points link at venv in one step; a venv installed at link itself (before venvs were linked) goes aside."""
    if os.path.isdir(link) and not os.path.islink(link):
        os.rename(link, f"{link}-{os.urandom(6).hex()}")
    os.symlink(os.path.basename(venv), f"{link}.new")
    os.replace(f"{link}.new", link)


def prune_venvs(link):
    """Removes the venvs beside link that it does not point at and that no running process names."""
    current = os.path.realpath(link)
    old = [p for p in glob.glob(f"{link}-*") if os.path.isdir(p) and os.path.realpath(p) != current]
    if not old:
        return
    used = " ".join(procs.cmdline_of(pid) for pid, _ in procs.processes())
    for venv in old:
        if f"{venv}/" not in used:
            shutil.rmtree(venv, ignore_errors=True)


def write_file(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(f"{path}.tmp", "w") as f:
        f.write(text)
    os.replace(f"{path}.tmp", path)


def proxy(c):
    """(d) configurable-http-proxy, as classroom/proxy's lock pins it."""
    dest, src = os.path.join(c.runtime, "proxy"), os.path.join(HERE, "proxy")
    files = [os.path.join(src, "package.json"), os.path.join(src, "package-lock.json")]
    stamp = f"{sha256(*files)} {output(['node', '--version'])}"
    if os.access(f"{dest}/node_modules/.bin/configurable-http-proxy", os.X_OK) and current(f"{dest}/.lock-stamp", stamp):
        say("configurable-http-proxy: ready")
        return
    say("installing configurable-http-proxy from classroom/proxy/package-lock.json (first time: ~10 s)")
    os.makedirs(dest, exist_ok=True)
    for f in files:
        shutil.copy(f, dest)
    if subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=dest,
                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode:
        die(f"npm ci failed in {dest}: run it there to see why")
    write_stamp(f"{dest}/.lock-stamp", stamp)


def install_file(src, dst, mode=0o755):
    """Copies src to dst only when it changed, as a new file: a running class keeps its open files."""
    with open(src, "rb") as f:
        data = f.read()
    try:
        with open(dst, "rb") as f:
            if f.read() == data:
                return
    except FileNotFoundError:
        pass
    with open(f"{dst}.new", "wb") as f:
        f.write(data)
    os.chmod(f"{dst}.new", mode)
    os.replace(f"{dst}.new", dst)


def programs(c):
    """(e) streamdemo, the notebook side's tools and the kernel's supervisor."""
    bin_dir, sup = os.path.join(c.runtime, "bin"), os.path.join(c.runtime, "supervisor")
    os.makedirs(bin_dir, exist_ok=True)
    os.makedirs(sup, exist_ok=True)
    say("building streamdemo (the gateway and practice server)")
    tmp = os.path.join(bin_dir, ".streamdemo.tmp")
    run(["go", "build", "-o", tmp, "./cmd/streamdemo"], "building streamdemo", cwd=REPO)
    install_file(tmp, os.path.join(bin_dir, "streamdemo"))
    os.unlink(tmp)
    for tool in ("gonb", "goimports", "gopls"):
        install_file(os.path.join(REPO, ".tools", "bin", tool), os.path.join(bin_dir, tool))
    install_file(os.path.join(REPO, "kernel-setup", "supervisor", "gonb-supervisor"), os.path.join(sup, "gonb-supervisor"))
    link = os.path.join(sup, "gopls")
    if not os.path.islink(link) or os.readlink(link) != "gonb-supervisor":
        os.symlink("gonb-supervisor", f"{link}.new")
        os.replace(f"{link}.new", link)


def kernel(runtime, repo=REPO):
    """(f) The kernelspec: the repository's own, with its paths moved into the runtime. Returns its path."""
    src = os.path.join(repo, ".venv", "share", "jupyter", "kernels", "gonb")
    dst = os.path.join(runtime, "share", "jupyter", "kernels", "gonb")
    os.makedirs(dst, exist_ok=True)
    for logo in glob.glob(os.path.join(src, "logo-*")):
        shutil.copy(logo, dst)
    with open(os.path.join(src, "kernel.json")) as f:
        spec = moved(f.read(), repo, runtime)
    tmp = os.path.join(dst, "kernel.json.tmp")
    with open(tmp, "w") as f:
        f.write(spec)
    if repo in spec:
        die(f"the kernelspec still points into the repository: {tmp}")
    os.replace(tmp, os.path.join(dst, "kernel.json"))
    say(f"kernel gonb (in {runtime}/share/jupyter): ready")
    return os.path.join(dst, "kernel.json")


def moved(spec, repo, runtime):
    """The kernelspec spec (kernel.json's text) with the repository's programs moved into the runtime.
    Its env replaces the spawner's GOFLAGS: the cell build flags stay and -mod=mod is added (students build
    offline; the cells' checksums come from the lesson module's go.sum, GoNB patch 0005)."""
    spec = spec.replace(f"{repo}/.tools/bin", f"{runtime}/bin")
    spec = json.loads(spec.replace(f"{repo}/kernel-setup/supervisor", f"{runtime}/supervisor"))
    flags = spec.setdefault("env", {}).get("GOFLAGS", "")
    if "-mod=mod" not in flags:
        spec["env"]["GOFLAGS"] = ("-mod=mod " + flags).strip()
    return json.dumps(spec, indent=1)


def go_caches(c, venv, kernel_json):
    """(g) The shared module cache, filled from this machine's own cache first, then the proxy; and a build
    cache warmed by running the lesson's first cells in a GoNB kernel, as a student's first start will."""
    caches = os.path.join(c.runtime, "go")
    sums = [os.path.join(REPO, "go.sum"), os.path.join(REPO, "kernel-setup", "tools", "go.sum"), kernel_json]
    stamp = f"{sha256(*sums)} {output(['go', 'version'])} {sha256(os.path.join(c.runtime, 'bin', 'gonb'))}"
    if current(f"{caches}/.stamp", stamp):
        say("Go module cache and warmed build cache: ready")
        return
    say("filling the shared Go module cache and warming a build cache (first time: ~40 s)")
    os.makedirs(caches, exist_ok=True)
    shutil.rmtree(os.path.join(caches, "build-seed"), ignore_errors=True)
    own = output(["go", "env", "GOMODCACHE"], env=dict(os.environ, GOMODCACHE=""))
    env = dict(os.environ, GOMODCACHE=os.path.join(caches, "mod"), GOFLAGS="-mod=mod", GOTOOLCHAIN="local")
    env["GOPROXY"] = f"file://{own}/cache/download,{output(['go', 'env', 'GOPROXY'], env=env)}"
    # -modfile: a copy of go.mod/go.sum, so the repository's own files are never touched.
    with tempfile.TemporaryDirectory() as tmp:
        for name in ("go.mod", "go.sum"):
            shutil.copy(os.path.join(REPO, name), tmp)
        run(["go", "mod", "download", f"-modfile={tmp}/go.mod", "all"], "filling the Go module cache", cwd=REPO, env=env)
    env.update(WARM_LOG=os.path.join(caches, "warm.log"), GOCACHE=os.path.join(caches, "build-seed"), GOPROXY="off",
               GOSUMDB="off", JUPYTER_PATH=os.path.join(c.runtime, "share", "jupyter"))
    lesson = os.path.join(REPO, "notebooks", "01-streaming-chat-completion.ipynb")
    run([os.path.join(venv, "bin", "python"), os.path.join(HERE, "warm.py"), lesson], "warming the build cache", env=env)
    write_stamp(f"{caches}/.stamp", stamp)


def readable(top):
    """chmod -R a+rX: everyone reads every file and enters every folder (and runs what is executable).
    Links are left as they are."""
    widen(top, os.lstat(top))
    folders = [top]
    while folders:
        with os.scandir(folders.pop()) as entries:
            for entry in entries:
                if entry.is_symlink():
                    continue
                widen(entry.path, entry.stat(follow_symlinks=False))
                if entry.is_dir(follow_symlinks=False):
                    folders.append(entry.path)


def widen(path, st):
    """Adds read for all, and execute for all to a folder or to a file someone may execute."""
    mode = stat.S_IMODE(st.st_mode)
    wanted = mode | 0o444 | (0o111 if stat.S_ISDIR(st.st_mode) or mode & 0o111 else 0)
    if wanted != mode:
        os.chmod(path, wanted)


def install(c):
    """Installs or checks every part of the runtime; each says ready or what it installed."""
    notebook_side()
    go_everyone_runs(c)
    system_packages(c)
    py = student_python(c)
    os.makedirs(c.runtime, exist_ok=True)
    os.chmod(c.runtime, 0o755)
    venv = hub_venv(c, py)
    proxy(c)
    programs(c)
    gotool.build(os.path.join(c.runtime, "bin", "caddy"), os.path.join(HERE, "frontdoor"), CADDY)
    go_caches(c, venv, kernel(c.runtime))
    readable(c.runtime)
    say(f"classroom runtime ready in {c.runtime}")


def main(args):
    if args:
        die("install takes no arguments: python3 -m classroom install (the class's settings say where: "
            "python3 -m classroom config show)")
    install(settings.load())
