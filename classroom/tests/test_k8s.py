"""The Kubernetes path (classroom/k8s/), checked offline: no cluster, no image
build, and no Helm chart, which is served only from the JupyterHub project's
own Helm repository, out of reach here (no npm, PyPI or Go module carries it).

What stands in for `helm template` with the chart's schema: values.yaml is
validated against check/values-4.4.0.schema.json, the keys chart 4.4.0's
schema allows where our values set any (unknown keys refused where the
chart refuses them), and the hub configuration the chart makes of the values
(check/hub_loads.py restates the chart's jupyterhub_config.py for the parts
our values reach) is started in JupyterHub 5.5.0 with KubeSpawner 7.0.0
(check/hub-requirements.lock) as far as services, roles, the authenticator
and a student's server environment. The Kubernetes objects decode strictly
with k8s.io/api (check/decode_test.go, a Go module of its own), and the
gateway, run as the pod runs it, accepts its key file with the owner, group
and mode the kubelet gives a Secret mounted for an fsGroup, and is ready on
the readiness probe's path.
check/setup.sh installs what these need (pinned, idempotent; `make
kubernetes-setup`, a prerequisite of `make classroomtest`, runs it too)."""
import json
import os
import re
import shutil
import subprocess
import tempfile
import time

import pytest
import requests
import yaml

from conftest import REPO

K8S = os.path.join(REPO, "classroom", "k8s")
CHECK = os.path.join(K8S, "check")
VENV = os.path.join(REPO, "build", "k8s-hub-venv")
CHART = "4.4.0"  # the Zero to JupyterHub release values.yaml is written for
CHART_HUB = "5.5.0"  # the JupyterHub that chart's hub image runs (its appVersion)
KUBESPAWNER = "7.0.0"  # the KubeSpawner that chart's hub image runs
HOME_MOUNT = "/home/jovyan"  # where the chart mounts a student's volume (singleuser.storage.homeMountPath)


def load(name):
    with open(os.path.join(K8S, name)) as f:
        return list(yaml.safe_load_all(f))


def gateway_objects():
    return {d["kind"]: d for d in load("gateway.yaml") if d}


@pytest.fixture(scope="module")
def hub_venv():
    r = subprocess.run(["bash", os.path.join(CHECK, "setup.sh")], capture_output=True, text=True, timeout=600)
    if r.returncode:
        pytest.fail(f"classroom/k8s/check/setup.sh failed:\n{r.stdout[-2000:]}\n{r.stderr[-2000:]}")
    return os.path.join(VENV, "bin", "python")


@pytest.fixture(scope="module")
def loaded_hub(hub_venv, tmp_path_factory):
    """What JupyterHub of the chart's version made of the values' hub configuration."""
    work = tmp_path_factory.mktemp("hub")
    r = subprocess.run([hub_venv, os.path.join(CHECK, "hub_loads.py"), os.path.join(K8S, "values.yaml"), str(work)],
                       capture_output=True, text=True, timeout=120)
    if r.returncode:
        pytest.fail(f"the chart's hub configuration did not load in JupyterHub {CHART_HUB}:\n{r.stderr[-3000:]}")
    return json.loads(r.stdout), r.stderr


def test_versions_agree_with_the_chart():
    header = open(os.path.join(K8S, "values.yaml")).read().split("\nhub:")[0]
    assert f"--version {CHART}" in header, "values.yaml must name the chart release it is written for"
    lock = open(os.path.join(CHECK, "hub-requirements.lock")).read()
    assert f"\njupyterhub=={CHART_HUB}\n" in lock and f"\njupyterhub-kubespawner=={KUBESPAWNER}\n" in lock
    dockerfile = open(os.path.join(K8S, "singleuser.Dockerfile")).read()
    assert re.search(rf"^ARG JUPYTERHUB_VERSION={re.escape(CHART_HUB)}$", dockerfile, re.M), \
        "the student's image must run the JupyterHub of the chart's hub"
    assert 'echo "jupyterhub==${JUPYTERHUB_VERSION}"' in dockerfile and "grep -v '^jupyterhub=='" in dockerfile


def test_values_pass_the_charts_schema(hub_venv):
    code = """
import json, sys, yaml, jsonschema
schema = json.load(open(sys.argv[1]))
values = yaml.safe_load(open(sys.argv[2]))
errors = [f"{'.'.join(map(str, e.path)) or '(top)'}: {e.message}" for e in jsonschema.Draft7Validator(schema).iter_errors(values)]
print("\\n".join(errors))
sys.exit(1 if errors else 0)
"""
    schema = os.path.join(CHECK, f"values-{CHART}.schema.json")
    r = subprocess.run([hub_venv, "-c", code, schema, os.path.join(K8S, "values.yaml")], capture_output=True, text=True)
    assert r.returncode == 0, f"values.yaml breaks chart {CHART}'s schema:\n{r.stdout}{r.stderr}"
    # The check refuses what the chart's schema refuses: a misspelt key.
    with tempfile.NamedTemporaryFile("w", suffix=".yaml") as bad:
        values = load("values.yaml")[0]
        values["singleuser"]["extraenv"] = values["singleuser"].pop("extraEnv")
        yaml.safe_dump(values, bad)
        bad.flush()
        r = subprocess.run([hub_venv, "-c", code, schema, bad.name], capture_output=True, text=True)
        assert r.returncode == 1 and "extraenv" in r.stdout, r.stdout + r.stderr


def test_the_hub_configuration_loads_with_services_roles_and_authenticator(loaded_hub):
    hub, log = loaded_hub
    assert hub["spawner"] == "kubespawner.spawner.KubeSpawner"
    assert hub["authenticator"].endswith("NativeAuthenticator")
    assert hub["allow_all"] is True and hub["student_allowed"], "JupyterHub 5 would let no student in"
    assert "nobody can login" not in log
    assert hub["admin_users"] == ["teacher"]
    assert hub["services"]["llm"]["url"] == "http://streamdemo-gateway:8790"
    assert "custom:llm:teacher" in hub["oauth_clients"][hub["services"]["llm"]["oauth_client_id"]], \
        "the gateway's OAuth client cannot carry the teacher scope"
    assert "custom:llm:teacher" in hub["custom_scopes"]
    assert "access:services!service=llm" in hub["roles"]["user"]
    assert hub["roles"]["teacher"] == ["custom:llm:teacher"] and hub["role_users"]["teacher"] == ["teacher"]
    scripts = set(hub["roles"]["teacher-scripts"])  # drives the gateway, acts as nobody
    assert "custom:llm:teacher" in scripts and not {"admin:users", "admin:servers", "tokens", "admin-ui"} & scripts
    assert "jupyterhub-idle-culler" in hub["services"]
    assert "access:services!service=llm" in hub["server_token_scopes"]


def test_a_students_server_gets_its_own_token_and_the_gateway(loaded_hub):
    env = loaded_hub[0]["env"]
    assert env["PERPLEXITY_API_KEY"] == env["STREAMDEMO_API_KEY"] == env["JUPYTERHUB_API_TOKEN"]
    assert env["STREAMDEMO_BASE_URL"] == "http://proxy-public/services/llm/v1"
    assert env["STREAMDEMO_PROVIDER"] == "perplexity" and env["GOPROXY"] == "off"
    assert loaded_hub[0]["image"] == "registry.example.org/streamdemo/singleuser:0.1.0"


def test_gateway_objects_decode_strictly_with_the_kubernetes_api():
    r = subprocess.run(["go", "test", "-count=1", "./..."], cwd=CHECK, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, f"classroom/k8s/check (k8s.io/api, strict):\n{r.stdout[-3000:]}{r.stderr[-2000:]}"


def test_gateway_replicas_share_a_ledger_from_a_secret_and_keep_the_key_apart():
    docs = gateway_objects()
    assert {"Deployment", "PodDisruptionBudget", "NetworkPolicy", "Service"} <= docs.keys()
    assert "PersistentVolumeClaim" not in docs  # the ledger lives in PostgreSQL
    pod = docs["Deployment"]["spec"]["template"]
    assert docs["Deployment"]["spec"]["replicas"] >= 2
    env = {e["name"]: e for e in pod["spec"]["containers"][0]["env"]}
    assert env["STREAMDEMO_GATEWAY_DATABASE"]["valueFrom"]["secretKeyRef"]["key"] == "url"
    assert env["STREAMDEMO_GATEWAY_KEY_FILE"]["value"].startswith("/secrets/")
    assert "STREAMDEMO_UPSTREAM_KEY" not in env  # never in the environment
    assert env["JUPYTERHUB_API_TOKEN"]["valueFrom"]["secretKeyRef"]["key"] == "hub.services.llm.apiToken"
    probe = pod["spec"]["containers"][0]["readinessProbe"]["httpGet"]
    assert probe["path"] == env["JUPYTERHUB_SERVICE_PREFIX"]["value"] + "healthz"
    text = open(os.path.join(K8S, "gateway.yaml")).read()
    assert "--from-literal" not in text  # a password on a command line is in every shell history


def mounted_key(root):
    """The key file as the kubelet mounts gateway.yaml's Secret: its layout
    (timestamped folder, ..data and the key's symlinks), root's, of the pod's
    fsGroup, with group read added to defaultMode for the read-only volume.
    Returns the path the gateway is given and the pod's user and groups."""
    pod = gateway_objects()["Deployment"]["spec"]["template"]["spec"]
    ctx, container = pod["securityContext"], pod["containers"][0]
    env = {e["name"]: e.get("value") for e in container["env"]}
    mount = next(m for m in container["volumeMounts"] if env["STREAMDEMO_GATEWAY_KEY_FILE"].startswith(m["mountPath"] + "/"))
    secret = next(v for v in pod["volumes"] if v["name"] == mount["name"])["secret"]
    mode = secret.get("defaultMode", 0o644)
    group = ctx.get("fsGroup", 0)
    if "fsGroup" in ctx:
        mode |= 0o440
    name = os.path.relpath(env["STREAMDEMO_GATEWAY_KEY_FILE"], mount["mountPath"])
    volume = os.path.join(root, "secrets")
    stamp = os.path.join(volume, "..2026_01_01_00_00_00.000000001")
    os.makedirs(stamp)
    with open(os.path.join(stamp, name), "w") as f:
        f.write("sk-a-test-upstream-key\n")
    os.symlink(os.path.basename(stamp), os.path.join(volume, "..data"))
    os.symlink(os.path.join("..data", name), os.path.join(volume, name))
    for path, perm in ((volume, 0o2755), (stamp, 0o2755), (os.path.join(stamp, name), mode)):
        os.chown(path, 0, group)
        os.chmod(path, perm)
    user, primary = ctx["runAsUser"], ctx.get("runAsGroup", 0)
    return os.path.join(volume, name), user, primary, sorted({group, primary})


def pod_environment(data):
    """The gateway container's environment from gateway.yaml, on loopback: the
    hub's service URL on a free port, a made-up hub token for the hub Secret's,
    and a SQLite folder standing in for the PostgreSQL ledger its Secret names."""
    container = gateway_objects()["Deployment"]["spec"]["template"]["spec"]["containers"][0]
    env = {"PATH": "/usr/bin:/bin", "HOME": data}
    for e in container["env"]:
        if "value" in e:
            env[e["name"]] = e["value"]
    env.pop("STREAMDEMO_GATEWAY_DATABASE", None)
    env.update(JUPYTERHUB_SERVICE_URL="http://127.0.0.1:0", JUPYTERHUB_API_TOKEN="a-made-up-hub-token",
               STREAMDEMO_GATEWAY_DATA=data, STREAMDEMO_GATEWAY_UPSTREAM="http://127.0.0.1:9/v1")
    return env, container["readinessProbe"]["httpGet"]["path"]


def test_the_gateway_starts_as_the_pod_runs_it_accepts_its_key_and_is_ready():
    """The real gateway, as the pod's user and groups with the pod's
    environment and its key file as the kubelet mounts it: it starts with the
    key, and the readiness probe's path answers 200."""
    if os.geteuid() != 0:
        pytest.fail("this test gives the key file to root and to the pod's group, as the kubelet does: run it as root")
    root = tempfile.mkdtemp(prefix="k8s-key-")
    proc = None
    try:
        os.chmod(root, 0o755)
        binary = os.path.join(root, "streamdemo")
        subprocess.run(["go", "build", "-o", binary, "./cmd/streamdemo"], cwd=REPO, check=True, timeout=600)
        key, user, primary, groups = mounted_key(root)
        data = os.path.join(root, "data")
        os.makedirs(data)
        os.chown(data, user, primary)
        env, ready_path = pod_environment(data)
        assert env["STREAMDEMO_GATEWAY_KEY_FILE"] == "/secrets/upstream-key"
        env["STREAMDEMO_GATEWAY_KEY_FILE"] = key  # the mount point moved into the test's folder
        proc = subprocess.Popen([binary, "gateway", "serve"], env=env, user=user, group=primary,
                                extra_groups=groups, stderr=subprocess.PIPE, text=True, cwd=root)
        seen, deadline = [], time.monotonic() + 30
        while time.monotonic() < deadline and not (seen and "class gateway on" in seen[-1]):
            seen.append(proc.stderr.readline())
            if not seen[-1] and proc.poll() is not None:
                break
        assert "class gateway on" in seen[-1] and "with the upstream key" in seen[-1], \
            f"the gateway refused the key file mounted as {oct(os.stat(key).st_mode & 0o7777)}: {''.join(seen)}"
        addr = re.search(r"class gateway on http://(127\.0\.0\.1:\d+)/", seen[-1]).group(1)
        r = requests.get(f"http://{addr}{ready_path}", timeout=5)
        assert r.status_code == 200 and r.text == "ok\n", (r.status_code, r.text)
    finally:
        if proc and proc.poll() is None:
            proc.terminate()
            proc.wait(timeout=10)
        shutil.rmtree(root, ignore_errors=True)


def test_the_images_kernelspec_is_outside_the_students_volume_and_built_as_install_sh_builds_it():
    """Runs the image's kernelspec step (its RUN line, with the image's folders
    moved into a temporary one) with the real gonb, and compares its kernel.json
    with the one kernel-setup/install.sh made for this repository."""
    text = open(os.path.join(K8S, "singleuser.Dockerfile")).read().replace("\\\n", " ")
    kernels = re.search(r"^ENV KERNELS=(\S+)$", text, re.M).group(1)
    step = next(line[4:] for line in text.splitlines() if line.startswith("RUN ") and "gonb --install" in line)
    data_dir = re.search(r"JUPYTER_DATA_DIR=(\S+)", step).group(1)
    assert kernels == data_dir + "/kernels" and not kernels.startswith(HOME_MOUNT)
    assert data_dir in ("/usr/local/share/jupyter", "/usr/share/jupyter"), "a folder Jupyter always searches"
    ours = os.path.join(REPO, ".venv", "share", "jupyter", "kernels", "gonb", "kernel.json")
    gonb = os.path.join(REPO, ".tools", "bin", "gonb")
    if not (os.path.exists(ours) and os.path.exists(gonb)):
        pytest.fail("the GoNB kernel is not installed here: run make setup, then this test again")
    with tempfile.TemporaryDirectory() as tmp:
        image_data = tmp + data_dir
        script = step.replace(data_dir, image_data).replace("VENV=/opt/conda", "VENV=" + os.path.join(REPO, ".venv"))
        env = dict(os.environ, KERNELS=image_data + "/kernels",
                   PATH=f"{os.path.dirname(gonb)}:{os.path.dirname(shutil.which('go'))}:/usr/bin:/bin")
        r = subprocess.run(["sh", "-c", script], cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, f"the image's kernelspec step failed:\n{r.stdout}{r.stderr}"
        spec = json.load(open(os.path.join(image_data, "kernels", "gonb", "kernel.json")))
        assert not os.path.exists(os.path.join(image_data, "kernels", "gonb", "gonb"))  # no stale self-copy
    want = json.load(open(ours))
    assert spec["argv"][:2] == ["/opt/streamdemo/bin/supervisor/gonb-supervisor", "/opt/streamdemo/bin/gonb"]
    assert spec["argv"][2:] == want["argv"][2:]
    assert spec["env"]["PATH"] == "/opt/streamdemo/bin:/usr/local/go/bin:${PATH}"
    assert {k: v for k, v in spec["env"].items() if k != "PATH"} == {k: v for k, v in want["env"].items() if k != "PATH"}
    assert spec["env"]["GOFLAGS"] == "'-ldflags=-s -w'" and spec["env"]["CGO_ENABLED"] == "0"
    assert {k: v for k, v in spec.items() if k not in ("argv", "env")} == {k: v for k, v in want.items() if k not in ("argv", "env")}


def test_the_images_python_packages_agree_with_the_charts_jupyterhub():
    """Runs the image's package step (the class's lock with jupyterhub replaced
    by the chart's, then pip check) in a venv of the test's own."""
    text = open(os.path.join(K8S, "singleuser.Dockerfile")).read().replace("\\\n", " ")
    version = re.search(r"^ARG JUPYTERHUB_VERSION=(\S+)$", text, re.M).group(1)
    run = next(line for line in text.splitlines() if "grep -v '^jupyterhub=='" in line)
    commands = [c.strip() for c in run.split("&&")]
    first = next(i for i, c in enumerate(commands) if c.startswith("grep -v '^jupyterhub=='"))
    last = commands.index("pip check")
    step = commands[first:last + 1]
    with tempfile.TemporaryDirectory() as tmp:
        venv = os.path.join(tmp, "venv")
        python = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else shutil.which("python3")
        subprocess.run([python, "-m", "venv", venv], check=True)
        pip = f"{venv}/bin/python -m pip --disable-pip-version-check"
        script = " && ".join(step).replace("/tmp/singleuser.lock", f"{tmp}/singleuser.lock")
        script = script.replace(" --no-cache-dir", "")  # the image keeps no cache; the test may use this machine's
        script = script.replace("pip install", f"{pip} install --quiet").replace("pip check", f"{pip} check")
        r = subprocess.run(["sh", "-c", script], cwd=REPO, env=dict(os.environ, JUPYTERHUB_VERSION=version),
                           capture_output=True, text=True, timeout=600)
        assert r.returncode == 0, f"the image's packages do not install with JupyterHub {version}:\n{r.stdout}{r.stderr}"
        r = subprocess.run([f"{venv}/bin/python", "-c", "import jupyterhub; print(jupyterhub.__version__)"],
                           capture_output=True, text=True)
        assert r.stdout.strip() == CHART_HUB, r.stdout + r.stderr


def test_singleuser_image_pins_its_base_and_copies_existing_files():
    text = open(os.path.join(K8S, "singleuser.Dockerfile")).read()
    base = re.search(r"^FROM (\S+)", text, re.M).group(1)
    assert ":" in base and not base.endswith(":latest"), base
    for path in re.findall(r"(kernel-setup/[\w./-]+|classroom/[\w./-]+\.(?:py|lock)|notebooks/[\w.-]+\.ipynb)", text):
        assert os.path.exists(os.path.join(REPO, path)), f"the image uses {path}, which the repository does not hold"
    assert "gonb-supervisor" in text and "build-seed" in text and "GOMODCACHE" in text
    assert "bash kernel-setup/gonb-build.sh /opt/streamdemo/bin/gonb" in text, "the kernelspec's flags need the patched GoNB"
