"""Students' laptops as hosts of their own: network namespaces joined to this machine by veth pairs,
addresses from the benchmarking range 198.18.0.0/15 only, always deleted. A laptop's browser is
Debian's chromium run inside its namespace, with a profile (and NSS certificate store) of its own."""
import os
import shutil
import subprocess
import tempfile

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--no-first-run"]


def sh(*argv, check=True):
    return subprocess.run(argv, capture_output=True, text=True, check=check)


class Laptop:
    """A host at 198.18.N.2 whose only link leads to this machine, 198.18.N.1."""

    def __init__(self, name, subnet):
        self.name, self.addr, self.gateway = name, f"198.18.{subnet}.2", f"198.18.{subnet}.1"
        self.link = f"{name}-c"  # this machine's end of the veth pair
        self.etc = f"/etc/netns/{name}"
        self.home = tempfile.mkdtemp(prefix=f"{name}-home-")
        self.delete()
        sh("ip", "netns", "add", name)
        sh("ip", "link", "add", self.link, "type", "veth", "peer", "name", "eth0", "netns", name)
        sh("ip", "addr", "add", f"{self.gateway}/24", "dev", self.link)
        sh("ip", "link", "set", self.link, "up")
        self.run("ip", "addr", "add", f"{self.addr}/24", "dev", "eth0")
        self.run("ip", "link", "set", "eth0", "up")
        self.run("ip", "link", "set", "lo", "up")
        self.run("ip", "route", "add", "default", "via", self.gateway)
        self.wrapper = os.path.join(self.home, "chromium")
        with open(self.wrapper, "w") as f:  # Playwright starts this; chromium then runs on the laptop
            f.write(f'#!/bin/sh\nexec ip netns exec {name} {CHROMIUM} "$@"\n')
        os.chmod(self.wrapper, 0o755)

    def run(self, *argv, check=True, timeout=60):
        return subprocess.run(["ip", "netns", "exec", self.name, *argv], capture_output=True, text=True,
                              check=check, timeout=timeout)

    def hosts(self, lines):
        """Names this laptop resolves (ip netns exec mounts /etc/netns/NAME/hosts over /etc/hosts)."""
        os.makedirs(self.etc, exist_ok=True)
        with open(os.path.join(self.etc, "hosts"), "w") as f:
            f.write("127.0.0.1 localhost\n" + "".join(line + "\n" for line in lines))

    def trust(self, ca_file, nickname):
        """Adds a CA to the laptop's browser's certificate store, as a student does with the class's CA file."""
        db = os.path.join(self.home, ".pki", "nssdb")
        os.makedirs(db, exist_ok=True)
        if not os.path.exists(os.path.join(db, "cert9.db")):
            sh("certutil", "-d", f"sql:{db}", "-N", "--empty-password")
        sh("certutil", "-d", f"sql:{db}", "-A", "-t", "C,,", "-n", nickname, "-i", ca_file)

    def browser(self, playwright):
        """Headless chromium on this laptop, with the laptop's own home (its certificate store)."""
        return playwright.chromium.launch(executable_path=self.wrapper, args=CHROMIUM_FLAGS,
                                          env=dict(os.environ, HOME=self.home))

    def curl(self, *args):
        """curl on the laptop: (status code, headers and body)."""
        r = self.run("curl", "-sS", "-m", "10", "-D", "-", "-o", "-", "-w", "\n%{http_code}", *args, check=False)
        body, _, code = r.stdout.rpartition("\n")
        return int(code or 0), body + r.stderr

    def open_ports(self, host, timeout=120):
        """Every TCP port of host that accepts a connection from this laptop."""
        r = self.run(os.environ.get("PYTHON", "python3"), "-c", SCAN, host, check=True, timeout=timeout)
        return {int(p) for p in r.stdout.split()}

    def delete(self):
        sh("ip", "netns", "del", self.name, check=False)
        sh("ip", "link", "del", self.link, check=False)
        shutil.rmtree(self.etc, ignore_errors=True)


def delete_all(laptops):
    for laptop in laptops:
        laptop.delete()
        shutil.rmtree(laptop.home, ignore_errors=True)


# A connect() scan of all 65535 ports, 500 at a time (a closed port answers a reset at once).
SCAN = r'''
import asyncio, sys
host = sys.argv[1]
async def probe(port, gate, found):
    async with gate:
        try:
            _, w = await asyncio.wait_for(asyncio.open_connection(host, port), 3)
            found.append(port)
            w.close()
        except (OSError, asyncio.TimeoutError):
            pass
async def main():
    gate, found = asyncio.Semaphore(500), []
    await asyncio.gather(*(probe(p, gate, found) for p in range(1, 65536)))
    print(" ".join(map(str, sorted(found))))
asyncio.run(main())
'''
