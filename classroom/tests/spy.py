"""What an account on the class machine can read of other processes, and the class's secrets to
look for in it.

A Scanner runs as an unprivileged account and records every /proc/PID/environ and cmdline it can
read, again and again, while make targets and tests run. A SecretWatch (root) gathers every secret
of the class as it appears: files, and the hub tokens in the class's processes' environments."""
import glob
import json
import os
import pwd
import shutil
import subprocess
import tempfile
import threading
import time

SCAN = r'''
import glob, hashlib, json, sys, time
out, seen = open(sys.argv[1], "a"), set()
while True:
    for d in glob.glob("/proc/[0-9]*"):
        for what in ("environ", "cmdline"):
            try:
                with open(d + "/" + what, "rb") as f:
                    data = f.read()
            except OSError:
                continue
            h = hashlib.sha1(data).digest()
            if h not in seen:
                seen.add(h)
                out.write(json.dumps({"pid": d[6:], "what": what, "data": data.decode("latin-1")}) + "\n")
    out.write('{"round": 1}\n')
    out.flush()
    time.sleep(0.1)
'''


class Scanner:
    """A /proc reader running as account (who must exist); its findings stay in a file of its own."""

    def __init__(self, account):
        self.account = account
        self.dir = tempfile.mkdtemp(prefix="sdtest-scan-")
        self.out = os.path.join(self.dir, "seen.jsonl")
        with open(os.path.join(self.dir, "scan.py"), "w") as f:
            f.write(SCAN)
        pw = pwd.getpwnam(account)
        self.uid = pw.pw_uid
        os.chown(self.dir, pw.pw_uid, pw.pw_gid)
        os.chmod(self.dir, 0o755)
        try:
            self.proc = subprocess.Popen(["/usr/sbin/runuser", "-u", account, "--", "/usr/bin/python3", f"{self.dir}/scan.py",
                                          self.out], cwd="/", stdin=subprocess.DEVNULL, start_new_session=True,
                                         env={"PATH": "/usr/bin:/bin", "HOME": "/", "LANG": "C.UTF-8"})
        except OSError:
            shutil.rmtree(self.dir, ignore_errors=True)
            raise

    def alive(self):
        return self.proc.poll() is None

    def rounds(self):
        return sum(1 for line in self._lines() if line == '{"round": 1}')

    def _lines(self):
        try:
            with open(self.out, encoding="latin-1") as f:
                return f.read().splitlines()
        except FileNotFoundError:
            return []

    def seen(self):
        """[(pid, "environ" or "cmdline", content)] of everything read so far."""
        rows = [json.loads(line) for line in self._lines() if line and line != '{"round": 1}']
        return [(r["pid"], r["what"], r["data"]) for r in rows]

    def stop(self):
        if self.alive():
            os.killpg(self.proc.pid, 9)
        self.proc.wait()

    def remove(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


class SecretWatch:
    """Root's view: every secret the class has had, with the uid it belongs to (None: no account's)."""

    TOKEN_VARS = ("JUPYTERHUB_API_TOKEN", "JPY_API_TOKEN", "CONFIGPROXY_AUTH_TOKEN", "STREAMDEMO_PRACTICE_TOKEN",
                  "PERPLEXITY_API_KEY", "STREAMDEMO_GATEWAY_KEY", "STREAMDEMO_UPSTREAM_KEY")

    def __init__(self, klass):
        self.klass, self.secrets, self.lock = klass, {}, threading.Lock()
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def add(self, what, value, uid=None):
        if value and len(value) >= 8:
            with self.lock:
                self.secrets.setdefault(value, (what, uid))

    def _files(self):
        k = self.klass
        for name in ("proxy-auth-token", "teacher-api-token", "roster-api-token", "gateway-api-token",
                     "jupyterhub_cookie_secret"):
            self._file(name, os.path.join(k.state, name))
        for name in ("upstream-key", "cookie-secret"):
            self._file("gateway " + name, os.path.join(k.gateway_dir, name))
        try:
            with open(os.path.join(k.state, "passwords")) as f:
                for line in f:
                    name, _, password = line.strip().partition(" ")
                    self.add(f"password of {name}", password)
        except OSError:
            pass

    def _file(self, what, path):
        try:
            with open(path, "rb") as f:
                data = f.read().strip()
        except OSError:
            return
        self.add(what, data.decode("latin-1"))

    def _processes(self):
        hub_api = f"127.0.0.1:{self.klass.port + 81}/"
        for d in glob.glob("/proc/[0-9]*"):
            try:
                with open(d + "/environ", "rb") as f:
                    env = dict(kv.split("=", 1) for kv in f.read().decode("latin-1").split("\0") if "=" in kv)
                uid = os.stat(d).st_uid
            except OSError:
                continue
            if hub_api not in env.get("JUPYTERHUB_API_URL", "") and "CONFIGPROXY_AUTH_TOKEN" not in env:
                continue
            for var in self.TOKEN_VARS:
                if var in env:
                    self.add(f"{var} of pid {d[6:]} ({pwd.getpwuid(uid).pw_name})", env[var], None if uid == 0 else uid)

    def _run(self):
        while not self.done.is_set():
            self._files()
            self._processes()
            time.sleep(0.25)

    def stop(self):
        self.done.set()
        self.thread.join()

    def found_in(self, scanner, own_uid=None):
        """The secrets scanner read, as ["what (pid, environ|cmdline)"]; own_uid's own secrets excluded."""
        with self.lock:
            secrets = dict(self.secrets)
        found = []
        for pid, what, data in scanner.seen():
            for value, (name, uid) in secrets.items():
                if value in data and not (own_uid is not None and uid == own_uid):
                    found.append(f"{name} (in /proc/{pid}/{what})")
        return found
