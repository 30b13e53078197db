"""The Kubernetes path, checked as far as this machine allows (no cluster, no
image builds): the files parse, agree with each other and with the
one-machine class, and the image copies only what the repository holds."""
import os
import re

import yaml

from conftest import REPO

K8S = os.path.join(REPO, "classroom", "k8s")


def load(name):
    with open(os.path.join(K8S, name)) as f:
        return list(yaml.safe_load_all(f))


def test_values_wire_the_gateway_and_the_scopes():
    (values,) = load("values.yaml")
    hub = values["hub"]
    assert hub["services"]["llm"]["url"] == "http://streamdemo-gateway:8790"
    assert "access:services!service=llm" in hub["loadRoles"]["user"]["scopes"]
    assert hub["services"]["llm"]["oauth_client_allowed_scopes"] == ["custom:llm:teacher"]
    scripts = hub["loadRoles"]["teacher-scripts"]["scopes"]  # drives the gateway, acts as nobody
    assert "custom:llm:teacher" in scripts and not {"admin:users", "admin:servers", "tokens", "admin-ui"} & set(scripts)
    assert "access:services!service=llm" in hub["extraConfig"]["streamdemo"]  # server_token_scopes too
    assert values["singleuser"]["extraEnv"]["STREAMDEMO_BASE_URL"].endswith("/services/llm/v1")
    assert values["singleuser"]["extraEnv"]["GOPROXY"] == "off"
    assert values["cull"]["enabled"] is True


def test_gateway_deployment_matches_its_service_and_keeps_the_key_apart():
    docs = {d["kind"]: d for d in load("gateway.yaml")}
    deploy, service = docs["Deployment"], docs["Service"]
    pod = deploy["spec"]["template"]
    assert service["spec"]["selector"].items() <= pod["metadata"]["labels"].items()
    env = {e["name"]: e for e in pod["spec"]["containers"][0]["env"]}
    assert env["STREAMDEMO_GATEWAY_KEY_FILE"]["value"].startswith("/secrets/")
    assert "STREAMDEMO_UPSTREAM_KEY" not in env  # never in the environment
    assert env["JUPYTERHUB_API_TOKEN"]["valueFrom"]["secretKeyRef"]["key"] == "hub.services.llm.apiToken"
    key_volume = next(v for v in pod["spec"]["volumes"] if v["name"] == "key")
    assert key_volume["secret"]["defaultMode"] == 0o400
    assert deploy["spec"]["replicas"] == 1  # one SQLite writer


def test_singleuser_image_pins_its_base_and_copies_existing_files():
    text = open(os.path.join(K8S, "singleuser.Dockerfile")).read()
    base = re.search(r"^FROM (\S+)", text, re.M).group(1)
    assert ":" in base and not base.endswith(":latest"), base
    for path in re.findall(r"(kernel-setup/[\w./-]+|classroom/[\w./-]+\.(?:py|lock)|notebooks/[\w.-]+\.ipynb)", text):
        assert os.path.exists(os.path.join(REPO, path)), f"the image uses {path}, which the repository does not hold"
    assert "gonb-supervisor" in text and "build-seed" in text and "GOMODCACHE" in text
