"""The class's local model (make classroom-model): Ollama in a network namespace of its own, reached only
through a Unix socket that root and the gateway's account alone may open.

    python3 classroom/model.py start|stop|status        (as root; stdlib only)

Ollama v0.6.5 listens on TCP only, without authentication, and its runner on a second loopback port of its
own: on the machine's loopback every student could ask it directly (no budget, allow-list or pause), delete
or rewrite the class's model, fill the disk, or take its port first. Here both ports exist only inside the
namespace, whose loopback no other process shares; the way in is SOCKET, in a folder of root's that only the
gateway's group may enter, forwarded to Ollama's port inside. make classroom without a key uses this server
when it answers there. make model-start's server (one user, no class) stays on 127.0.0.1:11434.

start: as many parallel slots as this machine has (kernel-setup/model-slots.sh, or OLLAMA_NUM_PARALLEL); a
server already running with other slots is restarted; the model is loaded before start returns. The log is
build/ollama-class.log (rotated by size, classroom/logpipe.py). Needs kernel-setup/model.sh first (the make
target runs it), which builds Ollama and registers the model.
"""
import asyncio
import ctypes
import fcntl
import http.client
import json
import os
import pwd
import signal
import socket
import struct
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from logpipe import RotatingLog, copy  # noqa: E402

NAME = "smollm2-135m"  # streamdemo.LocalModel
RUN = "/run/streamdemo-classroom-model"  # root's, the gateway's group may enter
SOCKET = f"{RUN}/ollama.sock"
PID, SLOTS = f"{RUN}/model.pid", f"{RUN}/slots"
LOG = os.path.join(REPO, "build", "ollama-class.log")
INSIDE = ("127.0.0.1", 11434)  # Ollama's port, inside the namespace only
GATEWAY_USER = os.environ.get("GATEWAY_USER", "streamdemo-llm")
CLONE_NEWNET = 0x40000000


def say(text):
    print(f"==> {text}", flush=True)


def die(text):
    raise SystemExit(f"classroom: {text}")


class UnixHTTPConnection(http.client.HTTPConnection):
    """HTTP to a server on a Unix socket."""

    def __init__(self, path, timeout):
        super().__init__("localhost", timeout=timeout)
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.path)


def ask(path, body=None, timeout=5):
    """The JSON answer of GET path (POST body) through the socket; raises OSError or ValueError."""
    conn = UnixHTTPConnection(SOCKET, timeout)
    try:
        conn.request("POST" if body else "GET", path, json.dumps(body) if body else None, {"Content-Type": "application/json"})
        r = conn.getresponse()
        data = r.read()
        if r.status != 200:
            raise ValueError(f"HTTP {r.status}: {data[:200].decode(errors='replace')}")
        return json.loads(data)
    finally:
        conn.close()


def ollama():
    built = os.path.join(REPO, ".tools", "bin", "ollama")
    if os.access(built, os.X_OK):
        return built
    for folder in os.environ.get("PATH", "").split(os.pathsep):
        if os.access(os.path.join(folder, "ollama"), os.X_OK):
            return os.path.join(folder, "ollama")
    die("no ollama in .tools/bin or on PATH: run make classroom-model (it builds it), or bash kernel-setup/model.sh")


def slots():
    asked = os.environ.get("OLLAMA_NUM_PARALLEL", "class")
    if asked != "class":
        return asked
    return subprocess.run(["bash", os.path.join(REPO, "kernel-setup", "model-slots.sh")], capture_output=True, text=True,
                          check=True).stdout.strip()


def supervisor():
    """The pid of the running supervisor (this file's serve), or None."""
    try:
        pid = int(open(PID).read())
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            argv = f.read().split(b"\0")
    except (OSError, ValueError):
        return None
    return pid if any(a.endswith(b"model.py") for a in argv) and b"serve" in argv else None


def gateway_group():
    """The gateway account's own group (the account is made as make classroom makes it, if missing)."""
    try:
        return pwd.getpwnam(GATEWAY_USER).pw_gid
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin",
                        "--user-group", GATEWAY_USER], check=True)
        return pwd.getpwnam(GATEWAY_USER).pw_gid


def start():
    if os.geteuid() != 0:
        die("the class's model server needs root (a network namespace of its own): run make classroom-model as root."
            " A try-out class (not root) uses make model-start's server on 127.0.0.1:11434.")
    n = slots()
    if supervisor():
        if open(SLOTS).read().strip() == n:
            version = ask("/api/version")["version"]
            say(f"the class's local model: Ollama {version} with {n} parallel slots, answering through {SOCKET} only")
            return
        say(f"the class's local model: restarting with {n} parallel slots")
        stop()
    gid = gateway_group()
    os.makedirs(RUN, exist_ok=True)
    st = os.lstat(RUN)
    if not os.path.isdir(RUN) or os.path.islink(RUN) or st.st_uid != 0:
        die(f"{RUN} is not root's own folder: remove it, then make classroom-model again")
    os.chown(RUN, 0, gid)
    os.chmod(RUN, 0o750)
    with open(SLOTS, "w") as f:
        f.write(n + "\n")
    os.makedirs(os.path.dirname(LOG), exist_ok=True)
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "OLLAMA_NUM_PARALLEL": n}
    proc = subprocess.Popen([sys.executable, os.path.abspath(__file__), "serve", ollama(), str(gid)], cwd="/", env=env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    with open(PID, "w") as f:
        f.write(f"{proc.pid}\n")
    deadline = time.monotonic() + 60
    while True:
        try:
            version = ask("/api/version")["version"]
            break
        except (OSError, ValueError):
            if proc.poll() is not None or time.monotonic() > deadline:
                stop()
                die(f"the class's model server did not start: see the end of {LOG}")
            time.sleep(0.2)
    t0 = time.monotonic()
    try:  # loaded now (and kept: OLLAMA_KEEP_ALIVE=-1), so that the first student's answer is quick
        ask("/api/chat", {"model": NAME, "stream": False, "messages": [{"role": "user", "content": "Hi"}],
                          "options": {"num_predict": 1}}, timeout=300)
    except (OSError, ValueError) as e:
        stop()
        die(f"{NAME} did not answer a one-token request ({e}): run bash kernel-setup/model.sh, which registers it")
    say(f"the class's local model: Ollama {version} with {n} parallel slots, loaded in {time.monotonic() - t0:.1f} s,"
        f" answering through {SOCKET} only (root and {GATEWAY_USER}); log: {LOG}")


def stop():
    pid = supervisor()
    if pid:
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        while os.path.exists(f"/proc/{pid}") and time.monotonic() < deadline:
            time.sleep(0.1)
    for proc in os.listdir("/proc"):  # whatever of its session is left: Ollama and its runners
        try:
            if pid and proc.isdigit() and int(open(f"/proc/{proc}/stat").read().rsplit(")", 1)[1].split()[3]) == pid:
                os.kill(int(proc), signal.SIGKILL)
        except (OSError, ValueError, IndexError):
            pass
    for path in (PID, SLOTS, SOCKET):
        if os.path.exists(path):
            os.unlink(path)
    say("the class's local model: stopped" if pid else "the class's local model: not running")


def status():
    try:
        version = ask("/api/version")["version"]
        names = [m["name"] for m in ask("/api/tags")["models"]]
    except (OSError, ValueError):
        print(f"stopped: nothing answers through {SOCKET}")
        return 1
    print(f"ready: Ollama {version} through {SOCKET}, {open(SLOTS).read().strip()} slots, {'with' if f'{NAME}:latest' in names else 'WITHOUT'} {NAME}")
    return 0 if f"{NAME}:latest" in names else 2


def link_up(name=b"lo"):
    """Brings an interface up (the namespace's loopback starts down)."""
    siocgifflags, siocsifflags, iff_up = 0x8913, 0x8914, 0x1
    with socket.socket() as s:
        flags = struct.unpack("16sH", fcntl.ioctl(s, siocgifflags, struct.pack("16sH", name, 0)))[1]
        fcntl.ioctl(s, siocsifflags, struct.pack("16sH", name, flags | iff_up))


async def pipe(reader, writer):
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()
    except OSError:
        pass


async def forward(reader, writer):
    """One connection on the socket, to Ollama's port inside the namespace and back."""
    try:
        up_reader, up_writer = await asyncio.open_connection(*INSIDE)
    except OSError:
        writer.close()
        return
    await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
    for w in (writer, up_writer):
        w.close()


async def supervise(server, ollama_proc):
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.set)
    while not stopping.is_set() and ollama_proc.poll() is None:
        try:
            await asyncio.wait_for(stopping.wait(), 0.5)
        except asyncio.TimeoutError:
            pass
    server.close()


def serve(binary, gid):
    """The supervisor: a namespace of its own, Ollama in it, the socket forwarded to it; until SIGTERM or Ollama ends."""
    if ctypes.CDLL(None, use_errno=True).unshare(CLONE_NEWNET) != 0:
        die(f"no network namespace for the class's model server: {os.strerror(ctypes.get_errno())}")
    link_up()
    log = RotatingLog(LOG)
    env = dict(os.environ, HOME=os.path.join(REPO, ".tools", "ollama"), OLLAMA_HOST="%s:%d" % INSIDE, OLLAMA_KEEP_ALIVE="-1",
               OLLAMA_MODELS=os.path.join(REPO, ".tools", "ollama", "models"))
    proc = subprocess.Popen([binary, "serve"], env=env, cwd="/", stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    threading.Thread(target=copy, args=(proc.stdout, log), daemon=True).start()
    while proc.poll() is None:  # the socket appears once Ollama answers inside
        try:
            socket.create_connection(INSIDE, timeout=1).close()
            break
        except OSError:
            time.sleep(0.2)
    if proc.poll() is None:
        if os.path.lexists(SOCKET):
            os.unlink(SOCKET)
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old = os.umask(0o117)  # root and the group may connect, from the first moment
        listener.bind(SOCKET)
        os.umask(old)
        os.chown(SOCKET, 0, gid)
        listener.listen(128)

        async def run():
            server = await asyncio.start_unix_server(forward, sock=listener)
            await supervise(server, proc)
        asyncio.run(run())
        if os.path.lexists(SOCKET):
            os.unlink(SOCKET)
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
    status = proc.wait()
    log.write(f"classroom model.py: ollama serve ended with status {status}\n".encode())


def main():
    args = sys.argv[1:]
    if args == ["start"]:
        start()
    elif args == ["stop"]:
        stop()
    elif args == ["status"]:
        sys.exit(status())
    elif len(args) == 3 and args[0] == "serve":
        serve(args[1], int(args[2]))
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main()
