"""make classroom-service: the class's systemd units, written under DESTDIR and checked with
systemd-analyze verify; on a machine systemd does not run, one sentence and nothing installed.
No class is started: these tests need no accounts."""
import os
import shutil
import subprocess
import tomllib

from conftest import REPO

PORT = "18150"


def service(tmp_path, **env):
    roster = tmp_path / "roster"
    roster.write_text("sdtest-ada\n")
    run_env = dict(os.environ, ROSTER=str(roster), CLASSROOM_PORT=PORT, CLASSROOM_DIR=str(tmp_path / "state"),
                   UPSTREAM_URL="practice", **env)
    run_env.pop("MAKEFLAGS", None)
    return subprocess.run(["make", "--no-print-directory", "-C", REPO, "classroom-service"], env=run_env,
                          capture_output=True, text=True, timeout=120)


def configuration(tmp_path):
    with open(tmp_path / "state" / "classroom.toml", "rb") as f:
        return tomllib.load(f)


def test_the_units_pass_systemd_analyze_and_start_the_class_at_boot(tmp_path):
    assert shutil.which("systemd-analyze"), "systemd-analyze is missing: run make systemd-setup"
    key = tmp_path / "key"
    key.write_text("pplx-unit-secret-123\n")
    dest = tmp_path / "root"
    r = service(tmp_path, DESTDIR=str(dest), UPSTREAM_KEY_FILE=str(key))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "checked with systemd-analyze verify" in r.stdout
    units = dest / "etc/systemd/system"
    hub = units / f"streamdemo-classroom-{PORT}.service"
    checked = subprocess.run(["systemd-analyze", "verify", str(hub)], capture_output=True, text=True)
    assert (checked.returncode, checked.stdout + checked.stderr) == (0, ""), checked.stderr
    text = hub.read_text()
    for line in ("ExecStart=/usr/bin/env python3 -P -m classroom up", "ExecStop=/usr/bin/env python3 -P -m classroom down",
                 f"Environment=PYTHONPATH={REPO}", f"PIDFile={tmp_path}/state/jupyterhub.pid", "Restart=on-failure", "WantedBy=multi-user.target",
                 f"EnvironmentFile=/etc/streamdemo-classroom/port-{PORT}.env"):
        assert line in text.splitlines(), f"{line!r} not in\n{text}"
    wanted = units / "multi-user.target.wants" / hub.name  # what systemctl enable makes
    assert os.readlink(wanted) == f"/etc/systemd/system/{hub.name}"
    settings = dest / f"etc/streamdemo-classroom/port-{PORT}.env"
    assert settings.stat().st_mode & 0o777 == 0o600
    # The units read the class's configuration file, which now holds this call's settings; the environment
    # file says only where it is.
    names = [line.split("=", 1)[0] for line in settings.read_text().splitlines()]
    assert set(names) <= {"CLASSROOM_DIR", "PATH", "HOME", "LANG"} and "CLASSROOM_DIR" in names, names
    assert f'CLASSROOM_DIR="{tmp_path}/state"' in settings.read_text().splitlines()
    kept = configuration(tmp_path)
    assert kept["port"] == int(PORT) and kept["upstream_url"] == "practice" and kept["upstream_key_file"] == str(key)
    for f in dest.rglob("*"):
        if f.is_file():
            assert "pplx-unit-secret-123" not in f.read_text(), f"{f} holds the upstream key"
    assert "pplx-unit-secret-123" not in r.stdout + r.stderr


def test_a_class_beyond_loopback_gets_a_front_door_unit_of_its_own(tmp_path):
    dest = tmp_path / "root"
    r = service(tmp_path, DESTDIR=str(dest), CLASSROOM_HOST="198.18.9.1", CLASSROOM_HTTPS_PORT="18943")
    assert r.returncode == 0, r.stdout + r.stderr
    units = dest / "etc/systemd/system"
    hub, door = f"streamdemo-classroom-{PORT}.service", f"streamdemo-classroom-frontdoor-{PORT}.service"
    checked = subprocess.run(["systemd-analyze", "verify", str(units / hub), str(units / door)], capture_output=True, text=True)
    assert (checked.returncode, checked.stdout + checked.stderr) == (0, ""), checked.stderr
    lines = (units / door).read_text().splitlines()
    for line in ("ExecStart=/usr/bin/env python3 -P -m classroom frontdoor run",
                 "ExecStartPost=/usr/bin/env python3 -P -m classroom frontdoor ready",
                 "ExecReload=/usr/bin/env python3 -P -m classroom frontdoor reload", f"Environment=PYTHONPATH={REPO}",
                 f"After=network-online.target {hub}", f"PartOf={hub}", "Restart=always", "WantedBy=multi-user.target",
                 f"EnvironmentFile=/etc/streamdemo-classroom/port-{PORT}.env"):
        assert line in lines, f"{line!r} not in the front door's unit:\n" + "\n".join(lines)
    assert os.readlink(units / "multi-user.target.wants" / door) == f"/etc/systemd/system/{door}"
    kept = configuration(tmp_path)
    # up and down, started by the hub's unit, hand Caddy to systemd instead of running it themselves.
    assert kept["frontdoor_unit"] == door and kept["host"] == "198.18.9.1", kept
    # The loopback class again (the configuration remembers the host, so it is given): no front door, and its
    # unit is gone.
    r = service(tmp_path, DESTDIR=str(dest), CLASSROOM_HOST="127.0.0.1")
    assert r.returncode == 0, r.stdout + r.stderr
    assert not (units / door).exists() and not (units / "multi-user.target.wants" / door).exists()


def test_where_systemd_does_not_run_the_machine_it_says_so_and_installs_nothing(tmp_path):
    assert not os.path.isdir("/run/systemd/system"), "this test expects a machine systemd does not run (as CI's)"
    r = service(tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    said = r.stdout.strip().splitlines()
    assert len(said) == 1 and said[0].startswith("==> systemd does not run this machine") and "make classroom" in said[0], said
    assert not os.path.exists(f"/etc/systemd/system/streamdemo-classroom-{PORT}.service")
    assert not os.path.exists(f"/etc/streamdemo-classroom/port-{PORT}.env")
