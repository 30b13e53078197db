"""The class's HTTPS front door: Caddy in front of the hub's proxy, for a class served beyond loopback (a
host other than 127.0.0.1 or localhost). The loopback class has none.

    python3 -m classroom frontdoor check     stops with one sentence when the front door's settings cannot work
    python3 -m classroom frontdoor start     writes and checks the Caddyfile, starts Caddy (or reloads it, or asks
                                             systemd), waits until it answers, hands out the class's own CA
    python3 -m classroom frontdoor stop [--quiet]
    python3 -m classroom frontdoor status    one line on the front door, if the class has one
    python3 -m classroom frontdoor url       the address students open
    python3 -m classroom frontdoor run|ready|reload    the front door's systemd unit: Caddy itself, its
                                             ExecStartPost (waits, hands out the CA), its ExecReload

Its certificate (mode): the school's (tls_cert, tls_key), an ACME CA's for a public DNS name (acme_email), or
the class's own CA (class_ca.py), whose root the class hands out (class-ca.crt in the state folder). With a
DNS name, each student's server and the teacher's page have a name of their own under it (origins.py): the
school's certificate must cover NAME and *.NAME, the class CA covers both, and ACME gets one certificate per
name (a wildcard would need a DNS-01 challenge). Every path and value in the Caddyfile comes from the class's
settings, none from a student; Caddy runs from an allow-listed environment with its files in the front door's
owner-only folder.
"""
import hashlib
import os
import re
import socket
import ssl
import subprocess
import sys
import time
import urllib.parse

from classroom import procs, units
from classroom.config import replace_file
from classroom.ports import listeners
from classroom.roster import BadName, roster_names
from classroom.settings import HERE, die, load, say

COOKIE_BYTES = 8192  # the most cookies a browser sends the class before the front door clears them (the class sets ~1 KB)
WAIT_SECONDS = 90  # an ACME certificate may take a while


def mode(c):
    """Where the front door's certificate comes from: files, acme or class-ca."""
    if c["tls_cert"] or c["tls_key"]:
        return "files"
    return "acme" if c["acme_email"] else "class-ca"


def by_systemd(c):
    """True when the front door is a systemd unit of its own (make classroom-service keeps its name in the
    class's settings): start and stop then ask systemd instead of starting or killing Caddy themselves."""
    return bool(c["frontdoor_unit"]) and os.path.isdir("/run/systemd/system")


def host_is_ip(c):
    """True if the class's host is an IP address: the front door then binds that address alone."""
    return bool(re.fullmatch(r"[0-9.]+", c["host"])) or ":" in c["host"]


def caddy(c):
    return os.path.join(c.runtime, "bin", "caddy")


def path(c, name):
    """A file of the front door's owner-only folder."""
    return os.path.join(c.frontdoor_dir, name)


def port_taken(port):
    """True if something on this machine listens on TCP port (any address)."""
    return bool(listeners(port))


def http_port_ours(c):
    """True unless something other than the class's running front door listens on the http port."""
    if not port_taken(int(c["http_port"])):
        return True
    try:
        with open(path(c, "Caddyfile")) as f:
            redirects = "disable_redirects" not in f.read()
    except FileNotFoundError:
        return False
    if by_systemd(c):
        return redirects and subprocess.run(["systemctl", "is-active", "--quiet", c["frontdoor_unit"]]).returncode == 0
    return redirects and procs.pid_of(c.pid_file("caddy")) is not None


def answers(url, connect, port):
    """True if an HTTPS server on connect:port answers a request for url (any status; the certificate is not
    checked: it may be the class CA's, or not yet renewed)."""
    ctx = ssl.create_default_context()
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    netloc = urllib.parse.urlsplit(url).netloc
    try:
        with socket.create_connection((connect, port), timeout=2) as raw, \
                ctx.wrap_socket(raw, server_hostname=urllib.parse.urlsplit(url).hostname) as s:
            s.sendall(f"GET /hub/api/ HTTP/1.1\r\nHost: {netloc}\r\nConnection: close\r\n\r\n".encode())
            return s.recv(64).startswith(b"HTTP/")
    except (OSError, ssl.SSLError):
        return False


def ca_fingerprint(pem):
    """The SHA-256 fingerprint of a PEM certificate as openssl prints it (AB:CD:...)."""
    return ":".join(f"{b:02X}" for b in hashlib.sha256(ssl.PEM_cert_to_DER_cert(pem)).digest())


def origins(c, *args):
    """origins.py's answer (stdout, stripped) and status, run by the runtime's Python (it has JupyterHub)."""
    r = subprocess.run([c.venv_python, os.path.join(HERE, "origins.py"), *args], capture_output=True, text=True)
    return r.returncode, (r.stdout if r.returncode == 0 else r.stderr).strip()


def sites(c):
    """The site addresses: the class's address and, with a DNS name, its subdomains: a wildcard with the
    class CA or the school's certificate, each name with ACME."""
    host, port = c["host"], c["https_port"]
    if host_is_ip(c):
        return f"https://[{host}]:{port}" if ":" in host else f"https://{host}:{port}"
    if mode(c) == "acme":
        try:
            students = roster_names(c.roster)
        except (OSError, BadName) as e:
            die(f"the roster {c.roster} cannot be read for the front door's names ({e}): fix ROSTER")
        status, said = origins(c, "names", host, c.teacher, *students)
        if status:
            die(f"the front door's names could not be worked out: {said}")
        return ", ".join(f"https://{n}:{port}" for n in said.splitlines())
    return f"https://{host}:{port}, https://*.{host}:{port}"


def tls_block(c):
    """The site's tls directive and the global pki block (the class CA's) for the class's mode."""
    m = mode(c)
    if m == "files":
        return f"tls {os.path.realpath(c['tls_cert'])} {os.path.realpath(c['tls_key'])}", ""
    if m == "acme":
        root = f"\n\t\tca_root {os.path.realpath(c['acme_ca_root'])}" if c["acme_ca_root"] else ""
        return f"tls {c['acme_email']} {{\n\t\tca {c['acme_directory']}{root}\n\t}}", ""
    ca = path(c, "ca")
    # The class's own CA (class_ca.py): Caddy signs with its intermediate and never holds the root's key.
    pki = (f"\tpki {{\n\t\tca local {{\n\t\t\tname \"streamdemo class CA\"\n"
           f"\t\t\troot {{\n\t\t\t\tcert {ca}/root.crt\n\t\t\t}}\n"
           f"\t\t\tintermediate {{\n\t\t\t\tcert {ca}/intermediate.crt\n\t\t\t\tkey {ca}/intermediate.key\n\t\t\t}}\n"
           f"\t\t}}\n\t}}\n")
    return "tls internal", pki


def config_text(c):
    """The Caddyfile: a function of the class's settings and what is found on this machine (whether the http
    port is taken, the roster's names for ACME, where the certificate files really are)."""
    extra = ""  # only the IP students open; the http port left alone when taken; a test's quicker renewal checks
    if host_is_ip(c):
        extra += f"\tdefault_bind {c['host']}\n"
    if not http_port_ours(c):
        extra += "\tauto_https disable_redirects\n"
    if c["renew_interval"]:
        extra += f"\trenew_interval {c['renew_interval']}\n"
    tls, pki = tls_block(c)
    d = c.frontdoor_dir
    return f"""\
# Written by python3 -m classroom frontdoor at each start: edit the class's settings (python3 -m classroom config), not this file.
{{
	admin unix/{d}/admin.sock
	storage file_system {d}/data
	persist_config off
	skip_install_trust
	ocsp_stapling off
	grace_period 5s
	http_port {c['http_port']}
	servers {{
		max_header_size 1MB
	}}
{extra}{pki}	log {{
		output file {d}/caddy.log
	}}
}}

{sites(c)} {{
	{tls}
	header Strict-Transport-Security "max-age=31536000"
	# More cookies than the class ever sets: a page planted them (a student's server can set cookies for
	# the class's domain). Rather than every request of that browser being refused for its size, the
	# browser is told to drop the class's cookies, and its user logs in again.
	@planted expression `{{http.request.header.Cookie}}.size() > {COOKIE_BYTES}`
	handle @planted {{
		header Clear-Site-Data `"cookies"`
		respond "This browser held more cookies for the class than the class sets (a page planted them): they are deleted now. Open the class again and log in." 400
	}}
	# Each chunk of an answer goes out as it comes; websockets (the kernels' channels) pass as they are.
	handle {{
		reverse_proxy 127.0.0.1:{c.port} {{
			flush_interval -1
		}}
	}}
	log {{
		output file {d}/access.log
	}}
}}
"""


def check(c):
    """Stops with one sentence when the front door's settings cannot work."""
    was = _read(c.state("class-url")).decode().strip()
    if procs.pid_of(c.pid_file("jupyterhub")) and was and was != c.class_url:
        die(f"the class runs at {was}: stop it first (make classroom-down) to serve it at {c.class_url}")
    if not c.frontdoor_wanted:
        return
    if not os.access(caddy(c), os.X_OK):
        die(f"the front door's server {caddy(c)} is missing: run make classroom again (it installs it)")
    if c["tls_cert"] or c["tls_key"]:
        if not (c["tls_cert"] and c["tls_key"] and os.access(c["tls_cert"], os.R_OK)
                and os.access(c["tls_key"], os.R_OK)):
            die("TLS_CERT and TLS_KEY must both name readable PEM files (the certificate and its key)")
        if not host_is_ip(c):
            status, why = origins(c, "covers", c["tls_cert"], c["host"])
            if status:
                die(why)
    if c["acme_ca_root"] and not os.access(c["acme_ca_root"], os.R_OK):
        die(f"ACME_CA_ROOT {c['acme_ca_root']} cannot be read: name the ACME server's CA bundle, or leave it unset")
    if port_taken(int(c["https_port"])) and not procs.pid_of(c.pid_file("caddy")):
        die(f"port {c['https_port']} is taken on this machine: stop what listens there, or choose CLASSROOM_HTTPS_PORT=...")


def caddy_env(c):
    """Caddy's environment: the allow-listed part of the caller's, its home and data in the front door's folder."""
    d = c.frontdoor_dir
    return procs.clean_env(c.environ, HOME=d, XDG_DATA_HOME=os.path.join(d, "data"),
                           XDG_CONFIG_HOME=os.path.join(d, "config"))


def caddy_run(c):
    return [caddy(c), "run", "--config", path(c, "Caddyfile"), "--adapter", "caddyfile"]


def write_config(c):
    """Writes the Caddyfile once Caddy has validated it (its words in validate.log)."""
    os.makedirs(c.frontdoor_dir, exist_ok=True)
    os.chmod(c.frontdoor_dir, 0o700)
    if mode(c) == "class-ca":
        made = subprocess.run([c.venv_python, os.path.join(HERE, "class_ca.py"), path(c, "ca"), c["host"],
                               c["class_ca_days"]], stdout=subprocess.PIPE, text=True)
        if made.returncode:
            raise SystemExit(1)  # class_ca.py said why
        say(made.stdout.strip())
    tmp = path(c, "Caddyfile.tmp")
    with open(tmp, "w") as f:
        f.write(config_text(c))
    with open(path(c, "validate.log"), "w") as log:
        valid = subprocess.run([caddy(c), "validate", "--config", tmp, "--adapter", "caddyfile"], env=caddy_env(c),
                               stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, cwd=c.frontdoor_dir)
    if valid.returncode:
        die(f"the front door's configuration does not validate: see {path(c, 'validate.log')}")
    os.replace(tmp, path(c, "Caddyfile"))


def start(c):
    """Writes the Caddyfile and starts Caddy (or reloads the running one, or asks systemd), then waits until it
    answers over HTTPS. A loopback class has no front door: a running one is stopped quietly."""
    if not c.frontdoor_wanted:
        stop(c, quiet=True)
        return
    write_config(c)
    if by_systemd(c):
        # --no-block: the unit starts after the hub's, whose start this may be.
        subprocess.run(["systemctl", "reload-or-restart", "--no-block", c["frontdoor_unit"]], check=True)
        say(f"front door: {c.class_url}, started by systemd ({c['frontdoor_unit']}); log: {path(c, 'caddy.log')}")
        return
    if procs.pid_of(c.pid_file("caddy")):
        reload(c)
    else:
        procs.start(caddy_run(c), pid_file=c.pid_file("caddy"), log=path(c, "caddy.log"),
                    log_max_bytes=c["log_max_bytes"], env=caddy_env(c), cwd=c.frontdoor_dir, log_python=c.venv_python)
    ready(c)
    with open(path(c, "Caddyfile")) as f:
        http = "is taken, so it stays closed" if "disable_redirects" in f.read() else "only redirects"
    say(f"front door: {c.class_url} (HTTPS, {mode(c)}; http://...:{c['http_port']} {http}); log: {path(c, 'caddy.log')}")


def reload(c):
    """Hands the running Caddy its new Caddyfile through its admin socket."""
    with open(path(c, "caddy.log"), "a") as log:
        r = subprocess.run([caddy(c), "reload", "--config", path(c, "Caddyfile"), "--adapter", "caddyfile",
                            "--address", f"unix/{path(c, 'admin.sock')}"], env=caddy_env(c),
                           stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, cwd=c.frontdoor_dir)
    if r.returncode:
        die(f"the front door did not take its new configuration: see {path(c, 'caddy.log')}")


def run(c):
    """Becomes Caddy, from an allow-listed environment (the front door's systemd unit's service)."""
    os.chdir(c.frontdoor_dir)
    cmd = caddy_run(c)
    os.execve(cmd[0], cmd, caddy_env(c))


def ready(c):
    """Waits until the front door answers, then hands out the class's own CA where it has one."""
    wait(c)
    if mode(c) == "class-ca":
        publish_ca(c)
    else:
        _remove(c.class_ca_sha256)


def wait(c):
    """Returns once the front door answers over HTTPS; stops it and dies if it does not within WAIT_SECONDS."""
    for _ in range(WAIT_SECONDS * 2):
        if not by_systemd(c) and not procs.pid_of(c.pid_file("caddy")):
            die(f"the front door stopped while starting: see the end of {path(c, 'caddy.log')}")
        if answers(c.class_url, c["host"] if host_is_ip(c) else "127.0.0.1", int(c["https_port"])):
            return
        time.sleep(0.5)
    if not by_systemd(c):
        stop(c, quiet=True, say_stopped=False)
    die(f"the front door did not answer on {c.class_url} within {WAIT_SECONDS} s, so it is stopped again: "
        f"see {path(c, 'caddy.log')}")


def publish_ca(c):
    """Copies the class's own CA (class_ca.py's root) to class-ca.crt and says its SHA-256 fingerprint, the one
    students compare before trusting it."""
    root = path(c, "ca/root.crt")
    pem = _read(root)
    if not pem:
        die(f"the class has no CA ({root} is missing): run make classroom again")
    if _read(c.class_ca) != pem:
        replace_file(c.class_ca, pem.decode(), 0o600)
    fingerprint = ca_fingerprint(pem.decode())
    replace_file(c.class_ca_sha256, fingerprint + "\n", 0o644)
    say(f"the class's own CA: hand out {c.class_ca} (students' browsers trust it); its SHA-256 fingerprint: "
        f"{fingerprint}")


def stop(c, quiet=False, say_stopped=True):
    """Stops the front door if it runs (asks systemd to, for its unit); quiet: nothing said when it does not."""
    pid = procs.pid_of(c.pid_file("caddy"))
    if by_systemd(c):
        subprocess.run(["systemctl", "stop", "--no-block", c["frontdoor_unit"]], check=False)
    elif pid:
        procs.stop(pid, "the front door", quiet=not say_stopped)
    elif not quiet:
        say("the front door is not running")
    _remove(c.pid_file("caddy"))


def status(c):
    """One line on the front door (without say's arrow), or None for a class that has none."""
    if by_systemd(c):
        unit = units.show([c["frontdoor_unit"]], ("ActiveState", "MainPID", "NRestarts")).get(c["frontdoor_unit"])
        if unit and unit["ActiveState"] == "active":
            return f"front door: running (pid {unit['MainPID']}; unit {unit['Id']}, {units.restarts(unit)}) at {c.class_url}"
        state = unit["ActiveState"] if unit else "not installed"
        return f"front door: not running (unit {c['frontdoor_unit']}: {state}; journalctl -u {c['frontdoor_unit']})"
    pid = procs.pid_of(c.pid_file("caddy"))
    if pid:
        return f"front door: running (pid {pid}) at {c.class_url}"
    return "front door: not running" if c.frontdoor_wanted else None


def _read(file):
    """The bytes of file, b"" if there is none."""
    try:
        with open(file, "rb") as f:
            return f.read()
    except FileNotFoundError:
        return b""


def _remove(file):
    try:
        os.unlink(file)
    except FileNotFoundError:
        pass


USAGE = "usage: python3 -m classroom frontdoor check|start|stop [--quiet]|status|url|run|ready|reload"


def main(args):
    c = load()
    command = args[0] if args else ""
    if command == "stop" and args[1:] in ([], ["--quiet"]):
        stop(c, quiet=bool(args[1:]))
        return
    if len(args) != 1:
        die(USAGE)
    if command == "status":
        line = status(c)
        if line:
            say(line)
    elif command == "url":
        print(c.class_url)
    elif command in ("check", "start", "run", "ready", "reload"):
        getattr(sys.modules[__name__], command)(c)
    else:
        die(USAGE)
