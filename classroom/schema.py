"""Every setting of a class, in one place: its key in the configuration file, the environment variable the
class's scripts read it from today, its kind, default, one line of help, and its check.

A check takes the value as text and returns it as it is kept (a path made absolute, a number as an int), or
raises ValueError with what to do; the caller names the key. Secrets are never values: the upstream key and
the hub database's URL stay in files of their own, named here by path (upstream_key_file,
hub_database_url_file); HUB_DATABASE_URL itself is read from the environment only.
"""
import os
import re
from dataclasses import dataclass

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _port(text):
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise ValueError("give a TCP port, a number from 1 to 65535")
    return int(text)


def _count(low):
    def check(text):
        if not text.isdigit() or int(text) < low:
            raise ValueError(f"give a whole number, at least {low}")
        return int(text)
    return check


def _word(pattern, what):
    def check(text):
        if not re.fullmatch(pattern, text):
            raise ValueError(f"give {what}")
        return text
    return check


def _choice(*names):
    return _word("|".join(map(re.escape, names)), " or ".join(names))


def _path(text):
    if "\n" in text or "\0" in text:
        raise ValueError("give a path on one line")
    return os.path.abspath(os.path.expanduser(text))


def _file(text):
    path = _path(text)
    if not os.path.exists(path):
        raise ValueError(f"there is no file at {path}: give a file that exists")
    if os.path.isdir(path):
        raise ValueError(f"{path} is a folder: give a file")
    return path


_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


def size_bytes(text):
    """Bytes of a size as systemd writes it (1G, 512M, 1073741824)."""
    return int(text[:-1] if text[-1:] in _UNITS else text) * _UNITS[text[-1:] if text[-1:] in _UNITS else ""]


def _size(low_mib):
    def check(text):
        text = text.strip().upper()
        if text.endswith("B"):
            text = text[:-1]
        if not re.fullmatch(r"[0-9]+[KMGT]?", text):
            raise ValueError("give a size such as 1G or 768M (K, M, G, T: powers of 1024), or a number of bytes")
        if size_bytes(text) < low_mib << 20:
            raise ValueError(f"give at least {low_mib}M")
        return text
    return check


def _between(low, high):
    def check(text):
        if not text.isdigit() or not low <= int(text) <= high:
            raise ValueError(f"give a whole number from {low} to {high}")
        return int(text)
    return check


def _url(text):
    if not re.fullmatch(r"https?://[^\s\"'<>\\]+", text):
        raise ValueError("give an http:// or https:// URL")
    return text


def _upstream(text):
    return text if text in ("practice", "local") else _url(text)


_NAME = r"[a-z][a-z0-9-]{0,30}"
_HOST = r"[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?|\[?[0-9A-Fa-f:.]+\]?"


@dataclass(frozen=True)
class Setting:
    key: str
    env: str
    kind: str
    default: str  # as the scripts default it; a computed default is described in words
    help: str
    check: object
    in_file: bool = True  # False: the environment alone names it (it says where the file is)


SETTINGS = [
    Setting("roster", "ROSTER", "file", "classroom/roster.example",
            "the roster: one student name per line (lower-case letters, digits, '-'), # comments", _file),
    Setting("port", "CLASSROOM_PORT", "port", "8000",
            "the hub's port on 127.0.0.1 (and the hub's own, +81); it names the class", _port),
    Setting("state_dir", "CLASSROOM_DIR", "path", "build/classroom",
            "the class's owner-only folder (passwords, tokens, hub database, logs, this configuration)", _path,
            in_file=False),
    Setting("runtime", "CLASSROOM_RUNTIME", "path", "/opt/streamdemo-classroom as root, else build/classroom-runtime",
            "the runtime students read but cannot change (hub venv, proxy, Go kernel, caches)", _path),
    Setting("class_var", "CLASS_VAR", "path", "/var/lib/streamdemo-classroom/port-PORT as root, else STATE_DIR/var",
            "the published lessons, the students' git config and the gateway's folder (key, ledger)", _path),
    Setting("teacher", "TEACHER", "account", "teacher", "the teacher's login (a hub admin)",
            _word(_NAME, "an account name: lower-case letters, digits and '-', starting with a letter")),
    Setting("student_group", "STUDENT_GROUP", "account", "streamdemo-class",
            "the Unix group of every account the class makes",
            _word(_NAME, "a group name: lower-case letters, digits and '-', starting with a letter")),
    Setting("gateway_user", "GATEWAY_USER", "account", "streamdemo-llm",
            "the account the gateway runs as, the only one that reads the upstream key",
            _word(_NAME, "an account name: lower-case letters, digits and '-', starting with a letter")),
    Setting("upstream_url", "UPSTREAM_URL", "upstream", "",
            "where the gateway sends questions: practice, local, or a URL (none: Perplexity with a key, else the "
            "class's local model if it answers, else practice)", _upstream),
    Setting("upstream_key_file", "UPSTREAM_KEY_FILE", "file", "",
            "a file (0600) holding the upstream key, alone or as a PERPLEXITY_API_KEY= line (none: the checkout's .env)",
            _file),
    Setting("student_provider", "STUDENT_PROVIDER", "word", "",
            "the students' library provider (STREAMDEMO_PROVIDER); none: chosen from the upstream",
            _word(r"[a-z][a-z0-9-]{0,30}", "a provider name in lower-case letters, as the library names it")),
    Setting("student_model", "STUDENT_MODEL", "word", "",
            "the class's model (STREAMDEMO_MODEL); none: the library's default for the provider",
            _word(r"[A-Za-z0-9][A-Za-z0-9._:/@-]{0,127}", "a model name without spaces")),
    Setting("gateway_models", "GATEWAY_MODELS", "list", "",
            "the models and presets students may use, comma-separated, until the teacher sets a list "
            "(none: the class's model)",
            _word(r"[A-Za-z0-9._:/@-]+(,[A-Za-z0-9._:/@-]+)*", "model names separated by commas, without spaces")),
    Setting("jupyter_ai", "JUPYTER_AI", "choice", "on",
            "on: Jupyternaut (jupyter-ai's chat) in every student's JupyterLab, through the gateway; off: jupyter-ai "
            "off for the class (takes effect at the next start after make classroom-down)", _choice("on", "off")),
    Setting("idle_timeout", "IDLE_TIMEOUT", "seconds", "3600",
            "seconds after which the idle culler stops an idle server", _count(60)),
    Setting("pull_timeout", "PULL_TIMEOUT", "seconds", "60",
            "seconds a student's lesson pull may take before their server starts without it", _count(1)),
    Setting("solutions", "SOLUTIONS", "choice", "withhold",
            "withhold, or include to publish the lesson's solutions too", _choice("withhold", "include")),
    Setting("log_max_bytes", "LOG_MAX_BYTES", "bytes", "20000000",
            "the size at which a log of the class moves aside (five files at most)", _count(10000)),
    Setting("hub_database_url_file", "HUB_DATABASE_URL_FILE", "file", "",
            "a file (0600) holding the hub database's URL (none: the database the class has, SQLite at first)",
            _file),
    Setting("host", "CLASSROOM_HOST", "host", "127.0.0.1",
            "the address or DNS name students open; anything but 127.0.0.1 or localhost gets the HTTPS front door",
            _word(_HOST, "an IP address or a DNS name")),
    Setting("https_port", "CLASSROOM_HTTPS_PORT", "port", "443", "the front door's HTTPS port", _port),
    Setting("http_port", "CLASSROOM_HTTP_PORT", "port", "80",
            "the port that only redirects to HTTPS and answers ACME challenges", _port),
    Setting("tls_cert", "TLS_CERT", "file", "", "the school's certificate with its chain (PEM)", _file),
    Setting("tls_key", "TLS_KEY", "file", "", "the school certificate's key (PEM)", _file),
    Setting("acme_email", "ACME_EMAIL", "email", "",
            "an e-mail address for automatic certificates from an ACME CA (a public DNS name)",
            _word(r"[^@\s\"'\\]+@[A-Za-z0-9.-]+", "an e-mail address")),
    Setting("acme_directory", "ACME_DIRECTORY", "url", "https://acme-v02.api.letsencrypt.org/directory",
            "the ACME CA's directory URL", _url),
    Setting("acme_ca_root", "ACME_CA_ROOT", "file", "", "a CA bundle to trust the ACME server itself", _file),
    Setting("renew_interval", "CLASSROOM_RENEW_INTERVAL", "duration", "",
            "how often the front door looks for certificates to renew (none: 10m)",
            _word(r"([0-9]+(ms|s|m|h))+", "a duration such as 10m, 2s or 1h")),
    Setting("class_ca_days", "CLASS_CA_DAYS", "days", "180", "how long the class's own CA lives (a term)", _count(1)),
    Setting("frontdoor_unit", "CLASSROOM_FRONTDOOR_UNIT", "unit", "",
            "the front door's systemd unit (make classroom-service sets it)",
            _word(r"[A-Za-z0-9@._-]+\.service", "a systemd unit name ending in .service")),
    Setting("spawner", "SPAWNER", "choice", "auto",
            "where each student's server runs: systemd (a unit of her own with the limits below, a /tmp of her own, "
            "the system read-only outside her home; needs systemd as PID 1 and root), local (a process of her "
            "account, not limited), or auto (systemd when /run/systemd/system exists and the class runs as root, "
            "else local)", _choice("auto", "systemd", "local")),
    Setting("students_memory", "STUDENTS_MEMORY", "size", "",
            "the memory limit of all students' servers together (their slice), so they cannot starve the hub, "
            "the gateway and the local model. None: this machine's memory less a quarter of it, less at least 2G",
            _size(512)),
    Setting("students_tasks", "STUDENTS_TASKS", "count", "",
            "the limit of all students' processes and threads together (their slice). None: half of what the "
            "kernel allows (the lower of kernel.pid_max and kernel.threads-max), at most 32768", _count(64)),
    Setting("student_memory", "STUDENT_MEMORY", "size", "",
            "each student's memory limit (MemoryMax of her server's unit; a process past it is killed, her server "
            "stays up). None: students_memory divided by the roster's students, between 512M and 2G (an idle "
            "server holds ~105 MiB, ~330 MiB with Jupyternaut)", _size(256)),
    Setting("student_tasks", "STUDENT_TASKS", "count", "512",
            "each student's limit of processes and threads together (TasksMax): a fork loop stops there", _count(16)),
    Setting("student_cpu_weight", "STUDENT_CPU_WEIGHT", "count", "100",
            "each student's CPU weight (CPUWeight, 1-10000): when the machine is busy, students share it in these "
            "proportions; alone, a student gets all of it", _between(1, 10000)),
    Setting("ollama_port", "OLLAMA_PORT", "port", "11434",
            "the port of make model-start's local model (a try-out class may use it)", _port),
    Setting("class_url", "CLASS_URL", "url", "", "the address on the handout's cards (none: the running class's)", _url),
]

BY_KEY = {s.key: s for s in SETTINGS}
BY_ENV = {s.env: s for s in SETTINGS}


def default(setting, values):
    """The default of setting, given the other settings' effective values (by key); '' for none."""
    root = os.geteuid() == 0
    if setting.key == "roster":
        return os.path.join(REPO, "classroom", "roster.example")
    if setting.key == "state_dir":
        return os.path.join(REPO, "build", "classroom")
    if setting.key == "runtime":
        return "/opt/streamdemo-classroom" if root else os.path.join(REPO, "build", "classroom-runtime")
    if setting.key == "class_var":
        if root:
            return f"/var/lib/streamdemo-classroom/port-{values.get('port', 8000)}"
        return os.path.join(values["state_dir"], "var")
    if setting.key == "students_memory":
        return machine_students_memory()
    if setting.key == "students_tasks":
        return str(machine_students_tasks())
    if setting.key == "student_memory":
        return student_memory(values.get("students_memory") or machine_students_memory(), roster_size(values))
    return setting.default


def machine_memory():
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def machine_students_memory(total=None):
    """This machine's memory less what the hub, its proxy, the gateway and the local model need: a quarter of
    it, at least 2G; never below 512M. In whole MiB."""
    total = machine_memory() if total is None else total
    return f"{max(512 << 20, total - max(total // 4, 2 << 30)) >> 20}M"


def student_memory(all_students, students):
    """The students' memory shared by the roster, between 512M and 2G, in whole MiB."""
    share = size_bytes(all_students) // max(1, students)
    return f"{min(2 << 30, max(512 << 20, share)) >> 20}M"


def machine_students_tasks():
    def read(name):
        try:
            with open(f"/proc/sys/kernel/{name}") as f:
                return int(f.read())
        except (OSError, ValueError):
            return 32768
    return min(32768, min(read("pid_max"), read("threads-max")) // 2)


def roster_size(values):
    """How many students the roster names (0 when it cannot be read: the size is then the slice's cap)."""
    try:
        with open(values.get("roster") or default(BY_KEY["roster"], {})) as f:
            return sum(1 for line in f if line.split("#", 1)[0].strip())
    except OSError:
        return 0
