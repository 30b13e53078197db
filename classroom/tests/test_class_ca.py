"""The class's own CA (classroom/class_ca.py), run by the runtime's Python as make classroom runs it:
kept while it fits the class's name and has more than a week left, made anew otherwise (another name,
an address, the end of its term); owner-only files. Its use by a front door is test_network_origins.py's."""
import os
import subprocess

from conftest import REPO

STEPS = """
import datetime, sys
sys.path.insert(0, sys.argv[1])
import class_ca
folder, day = sys.argv[2], datetime.timedelta(days=1)
now = datetime.datetime.now(datetime.timezone.utc)
for host, later in (("class.fd.test", 0), ("class.fd.test", 20), ("class.fd.test", 24), ("other.fd.test", 24),
                    ("198.18.1.1", 24), ("198.18.1.1", 25)):
    print(class_ca.keep(folder, host, 30, now + later * day))
"""


def test_the_class_ca_is_kept_for_its_name_and_term_and_made_anew_otherwise(klass, tmp_path):
    python = os.path.join(klass.env.get("CLASSROOM_RUNTIME", "/opt/streamdemo-classroom"), "venv", "bin", "python")
    folder = str(tmp_path / "ca")
    r = subprocess.run([python, "-c", STEPS, os.path.join(REPO, "classroom"), folder], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-1500:]
    said = r.stdout.splitlines()
    assert said[0].startswith("a new class CA, for class.fd.test and its subdomains only"), said[0]
    assert said[1].startswith("the class CA for class.fd.test is kept"), said[1]
    assert said[2].startswith("a new class CA, for class.fd.test"), f"a week before its end: {said[2]}"
    assert said[3].startswith("a new class CA, for other.fd.test and its subdomains only"), said[3]
    assert said[4].startswith("a new class CA, for 198.18.1.1 only"), said[4]
    assert said[5].startswith("the class CA for 198.18.1.1 is kept"), said[5]
    assert sorted(os.listdir(folder)) == ["intermediate.crt", "intermediate.key", "root.crt"]  # no root key
    assert all(os.stat(os.path.join(folder, f)).st_mode & 0o077 == 0 for f in os.listdir(folder))
    allowed = subprocess.run(["openssl", "x509", "-in", os.path.join(folder, "root.crt"), "-noout", "-ext", "nameConstraints"],
                             capture_output=True, text=True).stdout
    assert "IP:198.18.1.1" in allowed and "DNS:invalid" in allowed, allowed  # that address, and no name
