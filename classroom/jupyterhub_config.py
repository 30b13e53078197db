"""JupyterHub configuration of the one-machine classroom (started by python3 -m classroom up: classroom/hub.py).

Everything comes from the environment hub.py sets (CLASSROOM_*) and the class's
owner-only files, so this file holds no secret and no machine path, and the
hub's environment holds no secret either. Run as root, every student is a Unix
account of its own and the gateway runs as an account of its own; each
student's server is a systemd unit with her limits where systemd runs the
machine (SystemdSpawner), else a process of her account (LocalProcessSpawner);
run by another user, the class is a try-out where everyone
shares that user (SimpleLocalProcessSpawner, each with a home of its own).
"""
import asyncio
import contextlib
import os
import pwd
import shutil
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gateway_service  # noqa: E402
import jupyternaut  # noqa: E402
import origins  # noqa: E402
from roster_auth import RosterAuthenticator  # noqa: E402
from unix_proxy import UnixSocketProxy, proxy_api_socket, socket_url  # noqa: E402

c = get_config()  # noqa: F821  (provided by JupyterHub)
env = os.environ
PORT = int(env["CLASSROOM_PORT"])
STATE = env["CLASSROOM_DIR"]  # owner-only
RUNTIME = env["CLASSROOM_RUNTIME"]  # read-only for students
VENV = os.path.realpath(f"{RUNTIME}/venv")  # the venv this hub started from: its servers keep it (runtime.py)
GATEWAY_DIR = env["CLASSROOM_GATEWAY_DIR"]
LESSONS = env["CLASSROOM_LESSONS"]
TEACHER = env["CLASSROOM_TEACHER"]
GITCONFIG = env["CLASSROOM_GITCONFIG"]  # the students' git system config (root's)
PULL_TIMEOUT = int(env.get("CLASSROOM_PULL_TIMEOUT", "60"))
AS_ROOT = os.geteuid() == 0
RUNUSER = shutil.which("runuser") or "/usr/sbin/runuser"  # found on the hub's PATH, not the student's
BASE = f"http://127.0.0.1:{PORT}"  # the proxy, as programs on this machine reach it
HOST = env.get("CLASSROOM_HOST", "127.0.0.1")  # what students open (frontdoor.py)
HTTPS_PORT = int(env.get("CLASSROOM_HTTPS_PORT", "443"))

# Hub, proxy and database: loopback only; state in the owner-only class folder. The proxy's API listens on
# a socket in a root-only folder: on a loopback port, whoever took the port first would be sent its token.
c.JupyterHub.bind_url = BASE
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = PORT + 81
c.JupyterHub.proxy_class = UnixSocketProxy
# In a root-only folder of the class's own (not the checkout's build/ folder): JupyterHub reads a socket's path
# as a URL's host, which it lowercases, so the path may hold no capital letter (a checkout's may).
PROXY_API = proxy_api_socket(GATEWAY_DIR)
c.ConfigurableHTTPProxy.api_url = socket_url(PROXY_API)
c.ConfigurableHTTPProxy.command = [f"{RUNTIME}/proxy/node_modules/.bin/configurable-http-proxy"]
c.ConfigurableHTTPProxy.pid_file = f"{STATE}/proxy.pid"
# The proxy's token from its owner-only file: JupyterHub hands it to the proxy (root) alone; it is
# never in the hub's own environment, which a student's process must not be able to inherit.
with open(f"{STATE}/proxy-auth-token") as f:
    c.ConfigurableHTTPProxy.auth_token = f.read().strip()


def hub_database_url():
    """PostgreSQL (or another SQLite file) when the class kept a URL in the owner-only hub-database-url
    (HUB_DATABASE_URL), else SQLite in the class folder. The URL, password included, stays in this process."""
    with contextlib.suppress(FileNotFoundError), open(f"{STATE}/hub-database-url") as f:
        return f.read().strip()
    return f"sqlite:///{STATE}/jupyterhub.sqlite"


c.JupyterHub.db_url = hub_database_url()
# Origins apart (origins.py): the hub at HOST, each student's server at NAME.HOST, the teacher's page at
# llm--service.HOST, so no page a student publishes runs with the hub's or the teacher's page's origin.
# A class at an IP address cannot have subdomains: one origin (make classroom says so at start).
HUB_ORIGIN = origins.urls(HOST, PORT, HTTPS_PORT)[0]
if origins.kind(HOST) != "ip":
    c.JupyterHub.subdomain_host = HUB_ORIGIN
c.JupyterHub.public_url = HUB_ORIGIN + "/"
# Served beyond loopback: students come through the HTTPS front door (Caddy, classroom/frontdoor.py),
# so every cookie of the hub, its XSRF cookie and the Jupyter servers' (JUPYTERHUB_COOKIE_OPTIONS, which the
# runtime's jupyter_server_config.py also applies to their XSRF cookie) is Secure. With a DNS name, the
# hub's login cookies are __Host- ones: a student's NAME.HOST can set cookies for HOST (Domain=HOST) but
# none named __Host-, so none that shadows the teacher's login.
if origins.kind(HOST) != "loopback":
    c.JupyterHub.tornado_settings = {"cookie_options": {"secure": True}}
    c.JupyterHub.cookie_host_prefix_enabled = origins.kind(HOST) == "name"
c.JupyterHub.cookie_secret_file = f"{STATE}/jupyterhub_cookie_secret"

# One login per person, from the class's passwords file.
c.JupyterHub.authenticator_class = RosterAuthenticator
c.RosterAuthenticator.passwords_file = f"{STATE}/passwords"
c.Authenticator.admin_users = {TEACHER}
with open(f"{STATE}/passwords") as f:  # so the teacher sees every student listed before their first login
    c.Authenticator.allowed_users = {line.split(" ", 1)[0] for line in f if line.strip()} - {TEACHER}

# Student servers: JupyterLab from the shared runtime, opened on the lesson. Where systemd runs the machine
# (CLASSROOM_SPAWNER=systemd, classroom/sandbox.py), each a unit of her own with her limits; else a process of
# her account (root), or of the one try-out user. Everything below on c.Spawner (command, environment, hooks,
# token scopes) is the same for each.
SPAWNER = env.get("CLASSROOM_SPAWNER", "local")
if SPAWNER == "systemd":
    c.JupyterHub.spawner_class = "systemdspawner.SystemdSpawner"
    c.SystemdSpawner.mem_limit = int(env["CLASSROOM_STUDENT_MEMORY"])  # MemoryMax: her processes past it are killed
    # TasksMax (a fork loop stops there) and CPUWeight (a share of a busy machine, all of an idle one); the
    # server itself stays up when the kernel kills one of her processes (SystemdSpawner sets OOMPolicy=continue).
    c.SystemdSpawner.unit_extra_properties = {"TasksMax": env["CLASSROOM_STUDENT_TASKS"],
                                              "CPUWeight": env["CLASSROOM_STUDENT_CPU_WEIGHT"]}
    c.SystemdSpawner.slice = env["CLASSROOM_STUDENTS_SLICE"]  # all students together: limits of their own
    c.SystemdSpawner.isolate_tmp = True  # PrivateTmp=yes: a /tmp and /var/tmp of her server's own
    c.SystemdSpawner.isolate_devices = True  # PrivateDevices=yes
    c.SystemdSpawner.disable_user_sudo = True  # NoNewPrivileges=yes: no setuid program raises her rights
    c.SystemdSpawner.readonly_paths = ["/"]  # ReadOnlyPaths=/, but for her home (prepare_home sets it)
elif AS_ROOT:
    c.JupyterHub.spawner_class = "localprocess"
else:
    c.JupyterHub.spawner_class = "simple"
    c.SimpleLocalProcessSpawner.home_dir_template = f"{STATE}/homes/{{username}}"
c.Spawner.cmd = [f"{VENV}/bin/jupyterhub-singleuser"]
c.Spawner.default_url = "/lab/tree/streamdemo/notebooks/01-streaming-chat-completion.ipynb"
c.Spawner.http_timeout = 60
c.Spawner.start_timeout = 120
c.Spawner.environment = {
    "PATH": f"{RUNTIME}/bin:{env['CLASSROOM_GODIR']}:/usr/local/bin:/usr/bin:/bin",
    "JUPYTER_PATH": f"{RUNTIME}/share/jupyter",  # the gonb kernelspec, installed once for all
    # Go, offline: the shared read-only module cache; GOCACHE stays the student's own (~/.cache/go-build).
    "GOMODCACHE": f"{RUNTIME}/go/mod",
    "GOPROXY": "off",
    "GOSUMDB": "off",  # offline: the checksums come from the lesson module's go.sum (GoNB patch 0005)
    "GOFLAGS": "-mod=mod",
    "GOTOOLCHAIN": "local",
    # The library talks to the gateway with the student's own hub token; no upstream key here.
    "STREAMDEMO_PROVIDER": env["CLASSROOM_STUDENT_PROVIDER"],
    "STREAMDEMO_BASE_URL": f"{BASE}/services/llm/v1",
    "PERPLEXITY_API_KEY": lambda spawner: spawner.api_token,
    "STREAMDEMO_API_KEY": lambda spawner: spawner.api_token,  # the key variable of compatible and ollama
}
# The class's model and protocol, as `streamdemo resolve` said (upstream.py).
if env.get("CLASSROOM_STUDENT_MODEL"):
    c.Spawner.environment["STREAMDEMO_MODEL"] = env["CLASSROOM_STUDENT_MODEL"]
if env.get("CLASSROOM_STUDENT_PROTOCOL"):
    c.Spawner.environment["STREAMDEMO_PROTOCOL"] = env["CLASSROOM_STUDENT_PROTOCOL"]
# Jupyternaut through the gateway with the same token (OPENAI_API_KEY, as LiteLLM and every OpenAI client read
# it), or jupyter-ai off for the class (JUPYTER_AI=off): a configuration folder of the class's (jupyternaut.py).
JUPYTER_CONFIG = jupyternaut.config_folder(os.path.join(os.path.dirname(GATEWAY_DIR), "jupyter"),
                                           jupyternaut.switch(env.get("CLASSROOM_JUPYTER_AI")), env.get("CLASSROOM_STUDENT_MODEL", ""))
c.Spawner.environment.update(jupyternaut.environment(JUPYTER_CONFIG, f"{BASE}/services/llm/v1"))
c.Spawner.environment["OPENAI_API_KEY"] = lambda spawner: spawner.api_token
# Both halves are needed for a server's token to reach the gateway: this and the "user" role below.
c.Spawner.server_token_scopes = ["users:activity!user", "access:servers!server", "access:services!service=llm"]


def home_of(spawner):
    if AS_ROOT:
        return pwd.getpwnam(spawner.user.name).pw_dir
    return spawner.home_dir


def student_env(spawner):
    """The whole environment of what the hub runs as a student: an allow-list, never the hub's own."""
    name = spawner.user.name if AS_ROOT else pwd.getpwuid(os.getuid()).pw_name
    return {
        "HOME": home_of(spawner), "USER": name, "LOGNAME": name, "PATH": "/usr/local/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "GIT_CONFIG_SYSTEM": GITCONFIG,  # root's: lessons.git (root's) is safe to read
        "NBGITPULLER_DEPTH": "0",  # whole history: a merge still finds its base after solutions are withdrawn
    }


async def run_as_student(spawner, argv, timeout):
    """Runs argv as the student, in a session of its own, for at most timeout seconds.

    Returns None on success, else a short reason. The hub opens nothing of the student's itself:
    every path in their home is read by this process, as them, never in the hub's event loop.
    """
    if AS_ROOT:
        argv = [RUNUSER, "-u", spawner.user.name, "--"] + argv
    proc = await asyncio.create_subprocess_exec(
        *argv, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        cwd="/", env=student_env(spawner), start_new_session=True)
    tail = b""

    async def drain():
        nonlocal tail
        while chunk := await proc.stdout.read(65536):
            tail = (tail + chunk)[-2000:]  # bounded: a student's command may print forever
        await proc.wait()

    try:
        await asyncio.wait_for(drain(), timeout)
    except asyncio.TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        await proc.wait()
        return f"it did not finish within {timeout} s"
    if proc.returncode:
        lines = [line for line in tail.decode(errors="replace").splitlines() if line.strip()]
        return f"exit {proc.returncode}: {lines[-1][-200:] if lines else 'no output'!r}"
    return None


# Run as the student: the warmed Go build cache at the first start, then the lesson (nbgitpuller clones
# on the first start and later merges the teacher's updates, keeping the student's edits).
PREPARE = """
cd "$HOME" || exit 1
[ -d .cache/go-build ] || { mkdir -p .cache && cp -r "$1" .cache/go-build; } || echo "no warmed Go build cache"
exec "$2" "file://$3" main "$HOME/streamdemo"
"""


async def prepare_home(spawner):
    """Before each start: the student's own Go build cache and the lesson, or one log line saying why not."""
    if not AS_ROOT:
        os.makedirs(spawner.home_dir, mode=0o700, exist_ok=True)
    if SPAWNER == "systemd":
        spawner.readwrite_paths = [home_of(spawner)]  # ReadWritePaths=: the one folder her server may change
    why = await run_as_student(spawner, ["sh", "-c", PREPARE, "sh", f"{RUNTIME}/go/build-seed",
                                         f"{VENV}/bin/gitpuller", LESSONS], PULL_TIMEOUT)
    if why:
        spawner.log.warning("%s: the lesson was not brought up to date (%s); the server starts without the update."
                            " Check ~/streamdemo and ~/.gitconfig in that account.", spawner.user.name, why)


c.Spawner.pre_spawn_hook = prepare_home

# Services: the gateway (hub service "llm"), the teacher's scripts' token, the roster's, the idle culler. The
# gateway listens on a socket in its own folder, which no other account can take first as it could a loopback
# port. The proxy routes to it there itself (extra routes, which JupyterHub's services cannot name as sockets;
# unix_proxy.py; the service has no "url"): the teacher's page on an origin of its own,
# llm--service.HOST (origins.py), and, for students' programs, this machine's own address, whose
# /services/llm/ the Python and Go clients reach with STREAMDEMO_BASE_URL (they do not resolve
# NAME.localhost). No student's page has either origin, and the page logs in on the first alone (its OAuth
# callback is there). A class at an IP address has one origin: the gateway at /services/llm/ on it.
GATEWAY_PREFIX = gateway_service.prefix()
GATEWAY_URL = gateway_service.url(env)
if origins.kind(HOST) == "ip":
    c.Proxy.extra_routes = {GATEWAY_PREFIX: GATEWAY_URL}
else:
    c.Proxy.extra_routes = {origins.page_host(HOST) + GATEWAY_PREFIX: GATEWAY_URL, "127.0.0.1" + GATEWAY_PREFIX: GATEWAY_URL}
gateway_token = None
if env.get("CLASSROOM_GATEWAY_UNIT_ENV"):  # systemd runs the gateway (up.py starts its unit, with this file)
    with open(f"{STATE}/gateway-api-token") as f:
        gateway_token = f.read().strip()
    gateway_service.write_unit_environment(env["CLASSROOM_GATEWAY_UNIT_ENV"], env, gateway_token)
gateway = gateway_service.service(env, AS_ROOT, gateway_token)
with open(f"{STATE}/teacher-api-token") as f:
    teacher_token = f.read().strip()
with open(f"{STATE}/roster-api-token") as f:
    roster_token = f.read().strip()
c.JupyterHub.services = [
    gateway,
    {"name": "teacher-scripts", "api_token": teacher_token},
    {"name": "roster", "api_token": roster_token},
    {"name": "idle-culler", "command": [
        f"{VENV}/bin/python", "-m", "jupyterhub_idle_culler",
        f"--timeout={int(env.get('CLASSROOM_IDLE_TIMEOUT', '3600'))}", "--cull-every=60"]},
]
c.JupyterHub.custom_scopes = {
    "custom:llm:teacher": {"description": "See the class's LLM usage and set budgets and pauses in the gateway."},
}
c.JupyterHub.load_roles = [
    {"name": "user", "scopes": ["self", "access:services!service=llm"]},
    {"name": "teacher", "scopes": ["custom:llm:teacher"], "users": [TEACHER]},
    # The teacher's scripts: read who is in the class and whose server runs, drive the gateway. No
    # admin:users, admin:servers or tokens: this token cannot act as anyone.
    {"name": "teacher-scripts", "services": ["teacher-scripts"], "scopes": [
        "list:users", "read:users:name", "read:servers", "custom:llm:teacher", "access:services!service=llm"]},
    # make classroom deletes the hub users no longer on the roster (classroom/roster.py): their servers and tokens go.
    {"name": "roster", "services": ["roster"], "scopes": ["list:users", "read:users:name", "delete:users"]},
    # The gateway lists the hub's users, so the teacher's page shows every student from the start.
    {"name": "llm-roster", "services": ["llm"], "scopes": ["list:users", "read:users:name"]},
    {"name": "idle-culler", "services": ["idle-culler"], "scopes": [
        "list:users", "read:users:activity", "read:servers", "delete:servers"]},
]


def restart_services_within(seconds):
    """A managed service that exits (the gateway killed, say) is started again when the hub next polls
    it: every 30 s by default, and the services' spawner takes no configuration. Poll them this often."""
    from jupyterhub.services.service import _ServiceSpawner

    start_polling = _ServiceSpawner.start_polling

    def often(self):
        self.poll_interval = seconds
        start_polling(self)

    _ServiceSpawner.start_polling = often


restart_services_within(2)
