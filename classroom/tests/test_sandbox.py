"""Where each student's server runs and her limits (classroom/sandbox.py, the spawner settings of schema.py,
jupyterhub_config.py): the spawner chosen from the machine, each bad limit refused with one sentence naming
its key, the defaults sized from the machine and the roster, and the hub's configuration as each spawner gets
it (limits, slice, sandbox; the same command, environment and hooks; no secret gained). Fast: no class is
started; the configuration is loaded by the container hub's Python (make systemd-container-setup)."""
import json
import os
import subprocess
import sys

import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, REPO)
from classroom import config, sandbox, schema, settings  # noqa: E402
from classroom.config import Refused  # noqa: E402

HUB_PYTHON = os.path.join(REPO, "build", "systemd-hub", "venv", "bin", "python")
G, M = 1 << 30, 1 << 20


def test_auto_is_systemd_only_where_systemd_runs_the_machine_and_the_class_is_root():
    assert sandbox.choose("auto", as_root=True, systemd_runs=True) == "systemd"
    assert sandbox.choose("auto", as_root=True, systemd_runs=False) == "local"
    assert sandbox.choose("auto", as_root=False, systemd_runs=True) == "local"
    assert sandbox.choose("local", as_root=True, systemd_runs=True) == "local"
    assert sandbox.choose("systemd", as_root=True, systemd_runs=True) == "systemd"


@pytest.mark.parametrize("as_root,systemd_runs,said", [(True, False, "no /run/systemd/system"),
                                                         (False, True, "run it as root")])
def test_systemd_asked_for_where_it_cannot_run_is_refused_in_one_sentence(as_root, systemd_runs, said):
    with pytest.raises(Refused) as e:
        sandbox.choose("systemd", as_root=as_root, systemd_runs=systemd_runs)
    assert str(e.value).startswith("spawner = systemd needs") and said in str(e.value) and "\n" not in str(e.value)


@pytest.mark.parametrize("key,value,said", [
    ("spawner", "docker", "give auto or systemd or local"),
    ("student_memory", "100M", "give at least 256M"),
    ("student_memory", "1 GB", "give a size such as 1G"),
    ("student_memory", "-1G", "give a size such as 1G"),
    ("students_memory", "256M", "give at least 512M"),
    ("student_tasks", "8", "at least 16"),
    ("student_tasks", "many", "at least 16"),
    ("students_tasks", "10", "at least 64"),
    ("student_cpu_weight", "0", "from 1 to 10000"),
    ("student_cpu_weight", "10001", "from 1 to 10000"),
])
def test_a_bad_limit_is_refused_naming_its_key(key, value, said):
    with pytest.raises(Refused) as e:
        config.checked(schema.BY_KEY[key], value)
    assert str(e.value).startswith(f"{key} = {value!r} is refused: ") and said in str(e.value)


def test_sizes_are_kept_as_systemd_writes_them():
    check = schema.BY_KEY["student_memory"].check
    assert check("1g") == "1G" and check("768M") == "768M" and check("1GB") == "1G"
    assert schema.size_bytes(check("1G")) == G and schema.size_bytes(check("1073741824")) == G
    assert schema.size_bytes("1536M") == 1536 * M


def test_the_students_together_leave_the_hub_a_quarter_of_the_machine_and_at_least_2G():
    assert schema.machine_students_memory(24 * G) == f"{18 * 1024}M"
    assert schema.machine_students_memory(4 * G) == "2048M"
    assert schema.machine_students_memory(1 * G) == "512M"  # a tiny machine: the check's floor


def test_each_students_memory_is_her_share_of_the_slice_between_512M_and_2G():
    assert schema.student_memory("18432M", 12) == "1536M"
    assert schema.student_memory("18432M", 3) == "2048M"
    assert schema.student_memory("6144M", 30) == "512M"
    assert schema.student_memory("6144M", 0) == "2048M"  # no roster read: the cap


def load(tmp_path, environ):
    env = {k: v for k, v in os.environ.items() if k not in {s.env for s in schema.SETTINGS}}
    env.update(CLASSROOM_DIR=str(tmp_path / "state"), **environ)
    return settings.load(env)


def test_the_defaults_follow_the_roster(tmp_path):
    roster = tmp_path / "roster"
    roster.write_text("# class 4b\nada\nbo\n\ncy  # new\n")
    c = load(tmp_path, {"ROSTER": str(roster), "STUDENTS_MEMORY": "3G"})
    assert c["student_memory"] == "1024M" and c["student_tasks"] == "512" and c["student_cpu_weight"] == "100"
    assert c["spawner"] == "auto"


def test_the_hubs_environment_carries_the_limits_in_bytes(tmp_path, monkeypatch):
    monkeypatch.setattr(sandbox, "SYSTEMD_RUNS", str(tmp_path))  # a folder that exists: systemd runs here
    c = load(tmp_path, {"STUDENT_MEMORY": "1G", "STUDENT_TASKS": "64", "STUDENT_CPU_WEIGHT": "50",
                        "CLASSROOM_PORT": "8123"})
    want = "systemd" if os.geteuid() == 0 else "local"
    assert sandbox.limits(c) == {"CLASSROOM_SPAWNER": want, "CLASSROOM_STUDENT_MEMORY": str(G),
                                 "CLASSROOM_STUDENT_TASKS": "64", "CLASSROOM_STUDENT_CPU_WEIGHT": "50",
                                 "CLASSROOM_STUDENTS_SLICE": "streamdemo-students-8123.slice"}
    unit = sandbox.slice_unit(load(tmp_path, {"STUDENTS_MEMORY": "2G", "STUDENTS_TASKS": "900"}))
    assert "MemoryMax=2147483648\n" in unit and "TasksMax=900\n" in unit


def test_without_systemd_up_says_in_one_line_that_students_are_not_limited(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(sandbox, "SYSTEMD_RUNS", str(tmp_path / "none"))
    sandbox.prepare(load(tmp_path, {}))
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 1 and out[0].startswith("==> WARNING: students are not limited on this machine")


LOAD = """
import json, sys
from traitlets.config.loader import PyFileConfigLoader
c = PyFileConfigLoader("jupyterhub_config.py", path=sys.argv[1]).load_config()
spawner = c.Spawner
print(json.dumps({
    "class": c.JupyterHub.spawner_class,
    "systemd": {k: v for k, v in c.SystemdSpawner.items()},
    "cmd": spawner.cmd, "hook": spawner.pre_spawn_hook.__name__, "scopes": spawner.server_token_scopes,
    "environment": {k: "<per server>" if callable(v) else v for k, v in spawner.environment.items()},
    "services": c.JupyterHub.services,
}, default=str))
"""


def hub_config(tmp_path, spawner, **more):
    """The class's hub configuration as the hub loads it, with the environment hub.py gives it (and more)."""
    if not os.path.exists(HUB_PYTHON):
        pytest.fail("the hub's Python is missing: run make systemd-container-setup")
    state, var = tmp_path / "state", tmp_path / "var"
    state.mkdir(parents=True, exist_ok=True)
    (var / "gateway").mkdir(parents=True, exist_ok=True)
    for name in ("proxy-auth-token", "teacher-api-token", "roster-api-token"):
        (state / name).write_text("secret-" + name + "\n")
    (state / "passwords").write_text("teacher pw\nada pw\n")
    env = dict(PATH=os.environ["PATH"], CLASSROOM_PORT="8123", CLASSROOM_DIR=str(state), CLASSROOM_RUNTIME="/rt",
               CLASSROOM_GATEWAY_DIR=str(var / "gateway"), CLASSROOM_LESSONS=str(var / "lessons.git"),
               CLASSROOM_TEACHER="teacher", CLASSROOM_GITCONFIG=str(var / "gitconfig"), CLASSROOM_GODIR="/go/bin",
               CLASSROOM_GATEWAY_USER="streamdemo-llm", CLASSROOM_UPSTREAM_URL="practice",
               CLASSROOM_STUDENT_PROVIDER="perplexity", CLASSROOM_STUDENT_MODEL="sonar", CLASSROOM_SPAWNER=spawner,
               CLASSROOM_STUDENT_MEMORY=str(G), CLASSROOM_STUDENT_TASKS="64", CLASSROOM_STUDENT_CPU_WEIGHT="50",
               CLASSROOM_STUDENTS_SLICE="streamdemo-students-8123.slice", **more)
    r = subprocess.run([HUB_PYTHON, "-c", LOAD, os.path.join(REPO, "classroom")], env=env, capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_with_systemd_each_server_is_a_unit_with_her_limits_in_the_students_slice_and_a_sandbox(tmp_path):
    got = hub_config(tmp_path, "systemd")
    assert got["class"] == "systemdspawner.SystemdSpawner"
    s = got["systemd"]
    assert s["mem_limit"] == G and s["unit_extra_properties"] == {"TasksMax": "64", "CPUWeight": "50"}
    assert s["slice"] == "streamdemo-students-8123.slice"
    assert s["isolate_tmp"] is True and s["isolate_devices"] is True and s["disable_user_sudo"] is True
    assert s["readonly_paths"] == ["/"]


def test_both_spawners_get_the_same_command_environment_hooks_and_scopes_and_no_secret(tmp_path):
    local, systemd = hub_config(tmp_path, "local"), hub_config(tmp_path, "systemd")
    assert local["class"] in ("localprocess", "simple") and local["systemd"] == {}
    for key in ("cmd", "hook", "scopes", "environment"):
        assert systemd[key] == local[key], key
    environment = systemd["environment"]
    assert systemd["hook"] == "prepare_home"
    assert environment["GOMODCACHE"] == "/rt/go/mod" and environment["GOPROXY"] == "off"
    assert environment["STREAMDEMO_MODEL"] == "sonar" and "JUPYTER_CONFIG_PATH" in environment
    for name in ("PERPLEXITY_API_KEY", "STREAMDEMO_API_KEY", "OPENAI_API_KEY"):
        assert environment[name] == "<per server>"  # her own server's token, made when it starts
    assert "secret-" not in json.dumps({k: v for k, v in systemd.items() if k != "services"})
