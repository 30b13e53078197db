"""JupyterHub configuration of the one-machine classroom (started by up.sh).

Everything comes from the environment up.sh sets (CLASSROOM_*), so this file
holds no secret and no machine path. Run as root, every student is a Unix
account of its own (LocalProcessSpawner) and the gateway runs as an account
of its own; run by another user, the class is a try-out where everyone
shares that user (SimpleLocalProcessSpawner, each with a home of its own).
"""
import asyncio
import os
import pwd
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from roster_auth import RosterAuthenticator  # noqa: E402

c = get_config()  # noqa: F821  (provided by JupyterHub)
env = os.environ
PORT = int(env["CLASSROOM_PORT"])
STATE = env["CLASSROOM_DIR"]  # owner-only
RUNTIME = env["CLASSROOM_RUNTIME"]  # read-only for students
GATEWAY_DIR = env["CLASSROOM_GATEWAY_DIR"]
LESSONS = env["CLASSROOM_LESSONS"]
TEACHER = env["CLASSROOM_TEACHER"]
AS_ROOT = os.geteuid() == 0
BASE = f"http://127.0.0.1:{PORT}"

# Hub, proxy and database: loopback only; state in the owner-only class folder.
c.JupyterHub.bind_url = BASE
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = PORT + 81
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{PORT + 1}"
c.ConfigurableHTTPProxy.command = [f"{RUNTIME}/proxy/node_modules/.bin/configurable-http-proxy"]
c.ConfigurableHTTPProxy.pid_file = f"{STATE}/proxy.pid"
c.JupyterHub.db_url = f"sqlite:///{STATE}/jupyterhub.sqlite"
c.JupyterHub.cookie_secret_file = f"{STATE}/jupyterhub_cookie_secret"

# One login per person, from the class's passwords file.
c.JupyterHub.authenticator_class = RosterAuthenticator
c.RosterAuthenticator.passwords_file = f"{STATE}/passwords"
c.Authenticator.admin_users = {TEACHER}
with open(f"{STATE}/passwords") as f:  # so the teacher sees every student listed before their first login
    c.Authenticator.allowed_users = {line.split(" ", 1)[0] for line in f if line.strip()} - {TEACHER}

# Student servers: JupyterLab from the shared runtime, opened on the lesson.
if AS_ROOT:
    c.JupyterHub.spawner_class = "localprocess"
else:
    c.JupyterHub.spawner_class = "simple"
    c.SimpleLocalProcessSpawner.home_dir_template = f"{STATE}/homes/{{username}}"
c.Spawner.cmd = [f"{RUNTIME}/venv/bin/jupyterhub-singleuser"]
c.Spawner.default_url = "/lab/tree/streamdemo/notebooks/01-streaming-chat-completion.ipynb"
c.Spawner.http_timeout = 60
c.Spawner.start_timeout = 120
c.Spawner.environment = {
    "PATH": f"{RUNTIME}/bin:{env['CLASSROOM_GODIR']}:/usr/local/bin:/usr/bin:/bin",
    "JUPYTER_PATH": f"{RUNTIME}/share/jupyter",  # the gonb kernelspec, installed once for all
    # Go, offline: the shared read-only module cache; GOCACHE stays the student's own (~/.cache/go-build).
    "GOMODCACHE": f"{RUNTIME}/go/mod",
    "GOPROXY": "off",
    "GOSUMDB": "off",  # GoNB's temporary module has no go.sum
    "GOFLAGS": "-mod=mod",
    "GOTOOLCHAIN": "local",
    # The library talks to the gateway with the student's own hub token; no upstream key here.
    "STREAMDEMO_PROVIDER": env["CLASSROOM_STUDENT_PROVIDER"],
    "STREAMDEMO_BASE_URL": f"{BASE}/services/llm/v1",
    "PERPLEXITY_API_KEY": lambda spawner: spawner.api_token,
}
if env.get("CLASSROOM_STUDENT_MODEL"):
    c.Spawner.environment["STREAMDEMO_MODEL"] = env["CLASSROOM_STUDENT_MODEL"]
# Both halves are needed for a server's token to reach the gateway: this and the "user" role below.
c.Spawner.server_token_scopes = ["users:activity!user", "access:servers!server", "access:services!service=llm"]


def home_of(spawner):
    if AS_ROOT:
        return pwd.getpwnam(spawner.user.name).pw_dir
    return spawner.home_dir


async def run_as(spawner, argv, **kw):
    """Runs argv as the student (as root) or as the hub's user (try-out); raises on failure."""
    if AS_ROOT:
        argv = ["runuser", "-u", spawner.user.name, "--"] + argv
    proc = await asyncio.create_subprocess_exec(
        *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, **kw)
    out, _ = await proc.communicate()
    if proc.returncode:
        raise RuntimeError(f"{argv[-1]!r}: {out.decode(errors='replace')[-400:]}")


async def prepare_home(spawner):
    """Before each start: the student's own warmed Go build cache, and the lesson pulled in."""
    home = home_of(spawner)
    os.makedirs(home, exist_ok=True)
    if not AS_ROOT:
        os.chmod(home, 0o700)
    cache = os.path.join(home, ".cache", "go-build")
    if not os.path.isdir(cache):  # first start: copy the warmed seed (the copy is the student's)
        await run_as(spawner, ["mkdir", "-p", os.path.dirname(cache)])
        await run_as(spawner, ["cp", "-r", f"{RUNTIME}/go/build-seed", cache])
    # nbgitpuller: clones on the first start; later merges the teacher's updates, keeping the student's edits.
    # lessons.git belongs to root, so the student's git must be told once that it is safe to read.
    git_env = dict(os.environ, HOME=home)
    gitconfig = os.path.join(home, ".gitconfig")
    if LESSONS not in (open(gitconfig).read() if os.path.exists(gitconfig) else ""):
        await run_as(spawner, ["git", "config", "--global", "--add", "safe.directory", LESSONS], cwd=home, env=git_env)
    await run_as(spawner, [f"{RUNTIME}/venv/bin/gitpuller", f"file://{LESSONS}", "main",
                           os.path.join(home, "streamdemo")], cwd=home, env=git_env)


c.Spawner.pre_spawn_hook = prepare_home

# Services: the gateway (hub service "llm"), the teacher's scripts' token, the idle culler.
gateway = {
    "name": "llm",
    "url": f"http://127.0.0.1:{PORT + 90}",
    "command": [f"{RUNTIME}/bin/streamdemo", "gateway", "serve"],
    "cwd": GATEWAY_DIR,
    "environment": {
        "STREAMDEMO_GATEWAY_UPSTREAM": env["CLASSROOM_UPSTREAM_URL"],
        "STREAMDEMO_GATEWAY_DATA": GATEWAY_DIR,
    },
    "oauth_no_confirm": True,
    "display": True,
}
if os.path.exists(f"{GATEWAY_DIR}/upstream-key") or AS_ROOT:
    gateway["environment"]["STREAMDEMO_GATEWAY_KEY_FILE"] = f"{GATEWAY_DIR}/upstream-key"
if AS_ROOT:
    gateway["user"] = env["CLASSROOM_GATEWAY_USER"]  # the only account that can read the key file
with open(f"{STATE}/teacher-api-token") as f:
    teacher_token = f.read().strip()
c.JupyterHub.services = [
    gateway,
    {"name": "teacher-scripts", "api_token": teacher_token},
    {"name": "idle-culler", "command": [
        f"{RUNTIME}/venv/bin/python", "-m", "jupyterhub_idle_culler",
        f"--timeout={int(env.get('CLASSROOM_IDLE_TIMEOUT', '3600'))}", "--cull-every=60"]},
]
c.JupyterHub.custom_scopes = {
    "custom:llm:teacher": {"description": "See the class's LLM usage and set budgets and pauses in the gateway."},
}
c.JupyterHub.load_roles = [
    {"name": "user", "scopes": ["self", "access:services!service=llm"]},
    {"name": "teacher", "scopes": ["custom:llm:teacher"], "users": [TEACHER]},
    {"name": "teacher-scripts", "services": ["teacher-scripts"], "scopes": [
        "admin:users", "admin:servers", "tokens", "custom:llm:teacher", "access:services!service=llm"]},
    {"name": "idle-culler", "services": ["idle-culler"], "scopes": [
        "list:users", "read:users:activity", "read:servers", "delete:servers"]},
]
