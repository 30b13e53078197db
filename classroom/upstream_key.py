"""The upstream's key: read from the teacher's file (owner-only), kept where only the gateway's account reads it.
The key never goes on a command line: it travels on stdin."""
import os
import subprocess

from classroom.accounts import as_gateway
from classroom.config import owner_only
from classroom.schema import REPO
from classroom.settings import die


def read(path):
    """The key in path (a PERPLEXITY_API_KEY= line of a .env, or the file's only content); '' for no file or an
    empty one (/dev/null)."""
    if not os.access(path, os.R_OK) or not os.path.getsize(path):
        return ""
    owner_only(path, "the key file", f", so students could read the class's key: chmod 600 {path}, then make classroom "
               "again")
    with open(path) as f:
        text = f.read()
    for line in text.splitlines():
        if line.startswith("PERPLEXITY_API_KEY="):
            return "".join(ch for ch in line.split("=", 1)[1] if ch not in "\"' \r")
    return "".join(ch for ch in text if ch not in " \r\n")


def file_of(c):
    """The teacher's key file: UPSTREAM_KEY_FILE, else the checkout's .env."""
    named = c["upstream_key_file"]
    if named and not os.access(named, os.R_OK):
        die(f"the upstream key file {named} cannot be read: fix UPSTREAM_KEY_FILE, or leave it unset for an upstream "
            "without a key")
    return named or os.path.join(REPO, ".env")


def path(c):
    return os.path.join(c.gateway_dir, "upstream-key")


def write(c, key):
    """The key, readable by the gateway's account alone and written by it."""
    subprocess.run(as_gateway(c, ["sh", "-c", 't=$(mktemp "$1.XXXXXX") && cat >"$t" && mv -f "$t" "$1"', "sh", path(c)]),
                   input=key + "\n", text=True, check=True)


def read_kept(c):
    """The key the gateway keeps (the running practice server's), or None."""
    r = subprocess.run(as_gateway(c, ["cat", path(c)]), capture_output=True, text=True)
    return r.stdout.strip() if r.returncode == 0 else None


def remove(c):
    subprocess.run(as_gateway(c, ["rm", "-f", path(c)]), check=True)
