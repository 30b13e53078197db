"""A teacher's own upstream on this machine that takes no key answers the class's gateway alone.

    python3 classroom/firewall.py install CLASS_PORT UPSTREAM_URL GATEWAY_USER
    python3 classroom/firewall.py remove CLASS_PORT

install: when UPSTREAM_URL's host is an address of this machine (loopback or any of its own), an nftables
table of the class's own (inet streamdemo_class_PORT) refuses every connection to that port of this machine
from any account but root and GATEWAY_USER; anywhere else, nothing (and the class's table goes). Students
could otherwise ask it directly, with no budget, allow-list or pause. It says what it did in one line.
remove: the class's table goes (make classroom-down, classroom-remove, a start that failed).
"""
import pwd
import shutil
import socket
import subprocess
import sys
import urllib.parse


def table(class_port):
    return f"inet streamdemo_class_{int(class_port)}"


def nft(script):
    if not shutil.which("nft"):
        raise SystemExit("classroom: nft is missing, and the class needs it to keep students from the upstream on this"
                         " machine: install nftables (Debian: apt-get install nftables), then make classroom again.")
    r = subprocess.run(["nft", "-f", "-"], input=script, capture_output=True, text=True)
    if r.returncode:
        raise SystemExit(f"classroom: nftables refused the class's rule ({r.stderr.strip()[-300:]}), so the class is not"
                         " started: an upstream without a key on this machine needs it.")


def on_this_machine(host):
    """True if host names an address of this machine: binding to it succeeds."""
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except socket.gaierror:
        return False
    for family, _, _, _, addr in infos:
        with socket.socket(family, socket.SOCK_STREAM) as s:
            try:
                s.bind((addr[0], 0))
                return True
            except OSError:
                pass
    return False


def remove(class_port):
    if not shutil.which("nft"):
        return  # no nftables: no table of the class's either
    nft(f"add table {table(class_port)}\ndelete table {table(class_port)}\n")


def install(class_port, url, gateway_user):
    u = urllib.parse.urlsplit(url)
    port = u.port or (443 if u.scheme == "https" else 80)
    if not u.hostname or not on_this_machine(u.hostname):
        remove(class_port)
        return
    uid = pwd.getpwnam(gateway_user).pw_uid
    # One transaction: the old table (if any) goes and the new one comes at once.
    nft(f"""add table {table(class_port)}
delete table {table(class_port)}
table {table(class_port)} {{
  chain output {{
    type filter hook output priority filter; policy accept;
    tcp dport {port} fib daddr type local meta skuid != {{ 0, {uid} }} counter reject with tcp reset
  }}
}}
""")
    print(f"==> the upstream on this machine (port {port}) answers the gateway alone: every other account but root is"
          f" refused (nftables table {table(class_port)}, removed with the class)")


def main():
    if len(sys.argv) == 5 and sys.argv[1] == "install":
        install(*sys.argv[2:])
    elif len(sys.argv) == 3 and sys.argv[1] == "remove":
        remove(sys.argv[2])
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main()
