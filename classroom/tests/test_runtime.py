"""The class's runtime installer (python3 -m classroom install) and its Go tool builder (gotool), where no
install is needed: a step whose stamp is current is skipped and one whose stamp is stale runs again; the
kernelspec's paths move into the runtime, GOFLAGS gets -mod=mod once, and one that still names the
repository is refused; programs are replaced as new files only when they changed; everything ends up
readable by every account. Fast: nothing is installed, no class is started."""
import json
import os
import pathlib
import stat
import subprocess
import sys
import types

import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, REPO)
from classroom import gotool, hub, runtime  # noqa: E402
from classroom.config import Refused  # noqa: E402


@pytest.fixture
def steps(monkeypatch):
    """The commands the installer runs, recorded instead of run."""
    ran = []
    monkeypatch.setattr(runtime, "run", lambda cmd, what, **kw: ran.append(what))
    return ran


def test_a_stamp_is_current_only_with_the_same_value(tmp_path):
    stamp = str(tmp_path / ".stamp")
    assert not runtime.current(stamp, "abc 1.2")
    runtime.write_stamp(stamp, "abc 1.2")
    with open(stamp) as f:
        assert f.read() == "abc 1.2\n"  # as the shell's printf '%s\n' wrote it: installed runtimes stay ready
    assert runtime.current(stamp, "abc 1.2")
    assert not runtime.current(stamp, "abc 1.3")


def fake_venv(folder):
    """A venv whose python passes pip check and which has a jupyterhub, as an installed one has."""
    bin_dir = folder / "bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    for name in ("python", "jupyterhub"):
        (bin_dir / name).write_text("#!/bin/sh\nexit 0\n")
        (bin_dir / name).chmod(0o755)


@pytest.fixture
def builds(monkeypatch):
    """The installer's steps recorded, "creating the hub venv" making a fake venv where it was asked to; a step
    named in failing is refused as run() refuses it."""
    ran, failing = [], set()

    def run(cmd, what, **kw):
        ran.append(what)
        if what in failing:
            raise Refused(f"{what} failed: its output is above")
        if what == "creating the hub venv":
            fake_venv(pathlib.Path(cmd[-1]))
    monkeypatch.setattr(runtime, "run", run)
    return types.SimpleNamespace(ran=ran, failing=failing)


def venvs(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("venv-"))


def test_the_hub_venv_is_installed_once_and_again_for_another_python(tmp_path, builds, capsys):
    c = types.SimpleNamespace(runtime=str(tmp_path))
    py = os.path.realpath(sys.executable)
    runtime.hub_venv(c, py)
    assert builds.ran == ["creating the hub venv", "installing classroom/requirements.lock"]
    first = venvs(tmp_path)
    assert len(first) == 1 and os.readlink(tmp_path / "venv") == first[0], os.listdir(tmp_path)
    runtime.hub_venv(c, py)
    assert len(builds.ran) == 2, "a current venv was rebuilt"
    assert "==> hub venv: ready" in capsys.readouterr().out
    other = tmp_path / "python3"
    os.symlink(py, other)
    runtime.hub_venv(c, str(other))
    assert len(builds.ran) == 4, "a venv stamped for another Python was kept"
    second = venvs(tmp_path)
    assert len(second) == 1 and second != first and os.readlink(tmp_path / "venv") == second[0], \
        "the venv no process uses was kept beside the new one"
    overrides = tmp_path / "venv" / "share" / "jupyter" / "lab" / "settings" / "overrides.json"
    assert json.loads(overrides.read_text())["@jupyterlab/apputils-extension:notification"]["checkForUpdates"] is False


def test_a_running_class_keeps_its_venv_through_an_upgrade_and_the_hub_starts_from_the_new_one(tmp_path, builds):
    c = types.SimpleNamespace(runtime=str(tmp_path))
    py = os.path.realpath(sys.executable)
    runtime.hub_venv(c, py)
    before = str(tmp_path / venvs(tmp_path)[0])
    assert hub.command(c)[0] == f"{before}/bin/jupyterhub"
    other = tmp_path / "python3"
    os.symlink(py, other)
    running = subprocess.Popen(["sh", "-c", "sleep 60", "hub", f"{before}/bin/jupyterhub"])  # names it, as a hub does
    try:
        runtime.hub_venv(c, str(other))
        after = os.path.realpath(tmp_path / "venv")
        assert after != before and os.path.isfile(f"{before}/bin/jupyterhub"), "a venv in use was removed"
        assert hub.command(c)[0] == f"{after}/bin/jupyterhub"
    finally:
        running.kill()
        running.wait()
    runtime.hub_venv(c, str(other))
    assert not os.path.exists(before), "a venv no process names any more was kept"


def test_a_failed_build_leaves_the_class_its_venv(tmp_path, builds):
    c = types.SimpleNamespace(runtime=str(tmp_path))
    py = os.path.realpath(sys.executable)
    runtime.hub_venv(c, py)
    kept = os.readlink(tmp_path / "venv")
    other = tmp_path / "python3"
    os.symlink(py, other)
    builds.failing.add("installing classroom/requirements.lock")
    with pytest.raises(Refused, match="installing classroom/requirements.lock failed"):
        runtime.hub_venv(c, str(other))
    assert os.readlink(tmp_path / "venv") == kept and os.access(tmp_path / "venv" / "bin" / "jupyterhub", os.X_OK)


def test_a_venv_installed_in_place_before_is_replaced_by_a_link(tmp_path, builds):
    fake_venv(tmp_path / "venv")  # as the class's scripts, and the program before venvs were linked, made it
    (tmp_path / "venv" / ".lock-stamp").write_text("an older lock\n")
    c = types.SimpleNamespace(runtime=str(tmp_path))
    runtime.hub_venv(c, os.path.realpath(sys.executable))
    assert os.path.islink(tmp_path / "venv") and len(venvs(tmp_path)) == 1, os.listdir(tmp_path)


def test_the_go_caches_are_filled_once_and_again_when_the_kernelspec_changes(tmp_path, steps, capsys):
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "gonb").write_bytes(b"gonb")
    spec = tmp_path / "kernel.json"
    spec.write_text('{"env": {}}')
    c = types.SimpleNamespace(runtime=str(tmp_path))
    runtime.go_caches(c, str(tmp_path / "venv"), str(spec))
    assert steps == ["filling the Go module cache", "warming the build cache"]
    runtime.go_caches(c, str(tmp_path / "venv"), str(spec))
    assert len(steps) == 2, "current Go caches were filled again"
    assert "==> Go module cache and warmed build cache: ready" in capsys.readouterr().out
    spec.write_text('{"env": {"GOFLAGS": "-mod=mod"}}')
    runtime.go_caches(c, str(tmp_path / "venv"), str(spec))
    assert len(steps) == 4, "a build cache warmed for another kernelspec was kept"


def repo_kernelspec(repo, extra=""):
    """A repository's kernelspec as kernel-setup/install.sh writes it."""
    d = repo / ".venv" / "share" / "jupyter" / "kernels" / "gonb"
    d.mkdir(parents=True)
    (d / "logo-64x64.png").write_bytes(b"png")
    spec = {"argv": [f"{repo}/kernel-setup/supervisor/gonb-supervisor", f"{repo}/.tools/bin/gonb", "--kernel",
                     "{connection_file}"],
            "display_name": "Go (gonb)", "language": "go",
            "env": {"PATH": f"{repo}/.tools/bin:/usr/local/go/bin:${{PATH}}", "CGO_ENABLED": "0",
                    "GOFLAGS": "'-ldflags=-s -w'", "EXTRA": extra}}
    (d / "kernel.json").write_text(json.dumps(spec, indent=1))


def test_the_kernelspec_moves_into_the_runtime(tmp_path, capsys):
    repo, rt = tmp_path / "repo", tmp_path / "runtime"
    repo_kernelspec(repo)
    path = runtime.kernel(str(rt), str(repo))
    spec = json.load(open(path))
    assert spec["argv"][:2] == [f"{rt}/supervisor/gonb-supervisor", f"{rt}/bin/gonb"]
    assert spec["env"]["PATH"] == f"{rt}/bin:/usr/local/go/bin:${{PATH}}"
    assert spec["env"]["GOFLAGS"] == "-mod=mod '-ldflags=-s -w'"
    assert (rt / "share" / "jupyter" / "kernels" / "gonb" / "logo-64x64.png").read_bytes() == b"png"
    assert f"kernel gonb (in {rt}/share/jupyter): ready" in capsys.readouterr().out


def test_goflags_gets_mod_mod_once():
    once = runtime.moved('{"env": {"GOFLAGS": "-trimpath"}}', "/repo", "/rt")
    assert json.loads(once)["env"]["GOFLAGS"] == "-mod=mod -trimpath"
    assert runtime.moved(once, "/repo", "/rt") == once
    assert json.loads(runtime.moved('{"argv": []}', "/repo", "/rt"))["env"]["GOFLAGS"] == "-mod=mod"


def test_a_kernelspec_still_naming_the_repository_is_refused(tmp_path):
    repo, rt = tmp_path / "repo", tmp_path / "runtime"
    repo_kernelspec(repo, extra=f"{repo}/build/gocache")
    with pytest.raises(Refused, match="the kernelspec still points into the repository"):
        runtime.kernel(str(rt), str(repo))
    assert not (rt / "share" / "jupyter" / "kernels" / "gonb" / "kernel.json").exists()


def test_a_program_is_replaced_as_a_new_file_only_when_it_changed(tmp_path):
    src, dst = tmp_path / "src", tmp_path / "dst"
    src.write_bytes(b"v1")
    runtime.install_file(str(src), str(dst))
    assert dst.read_bytes() == b"v1" and stat.S_IMODE(dst.stat().st_mode) == 0o755
    before = dst.stat()
    runtime.install_file(str(src), str(dst))
    assert dst.stat().st_ino == before.st_ino and dst.stat().st_mtime_ns == before.st_mtime_ns
    with open(dst, "rb") as running:  # a running class's open file keeps its bytes
        src.write_bytes(b"v2")
        runtime.install_file(str(src), str(dst))
        assert running.read() == b"v1"
    assert dst.read_bytes() == b"v2" and dst.stat().st_ino != before.st_ino


def test_everything_in_the_runtime_is_readable_by_every_account(tmp_path):
    top = tmp_path / "rt"
    (top / "private").mkdir(parents=True)
    (top / "private").chmod(0o700)
    (top / "private" / "data").write_text("x")
    (top / "private" / "data").chmod(0o600)
    (top / "tool").write_text("#!/bin/sh\n")
    (top / "tool").chmod(0o700)
    os.symlink("/nonexistent", top / "link")
    runtime.readable(str(top))
    assert stat.S_IMODE((top / "private").stat().st_mode) == 0o755
    assert stat.S_IMODE((top / "private" / "data").stat().st_mode) == 0o644
    assert stat.S_IMODE((top / "tool").stat().st_mode) == 0o755


def test_the_built_version_is_the_main_modules():
    out = ("/opt/x/bin/caddy: go1.26.8\n\tpath\tgithub.com/caddyserver/caddy/v2/cmd/caddy\n"
           "\tmod\tgithub.com/caddyserver/caddy/v2\tv2.11.9\th1:abc=\n\tdep\tgithub.com/other/mod\tv1.0.0\th1:def=\n")
    assert gotool.main_module(out) == "github.com/caddyserver/caddy/v2@v2.11.9"
    assert gotool.main_module("") == ""


def test_gotool_refuses_a_package_its_module_does_not_pin(tmp_path):
    (tmp_path / "go.mod").write_text("module example.com/tools\n\ngo 1.26\n")
    with pytest.raises(Refused, match="does not pin example.com/missing/cmd"):
        gotool.build(str(tmp_path / "out"), str(tmp_path), "example.com/missing/cmd")
    assert not (tmp_path / "out").exists()
