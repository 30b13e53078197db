"""Where the class's gateway sends questions and what its students' library is told, as `streamdemo resolve` says.

resolve(STREAMDEMO, UPSTREAM, PROVIDER, MODEL, KEY, GATEWAY_USER): UPSTREAM is practice or local (the class's own
practice server or local model, behind a socket), a base URL, or empty: the library's rule then chooses by the
key, which reaches resolve on its stdin (never on a command line). PROVIDER and MODEL are STUDENT_PROVIDER and
STUDENT_MODEL, or empty. It returns the class's Upstream, or Refused with one sentence.

Every default (provider, protocol, model, base URL) and the discovery of a teacher's own server are the Go
library's: this module only says which provider each kind of upstream stands for, and runs resolve as the
gateway's account (GATEWAY_USER, as root), with a clean environment, in /, the key on its stdin.
"""
import json
import os
import subprocess
from dataclasses import dataclass

# The address resolve is given for the class's own upstreams: they answer on a socket, not at a URL.
SOCKET_BASE = "http://localhost/v1"
# What resolve's refusal kinds ask the teacher to change, in the class's settings.
MENDS = {
    "no API key": "put the upstream's key in .env (PERPLEXITY_API_KEY=...) or UPSTREAM_KEY_FILE",
    "API key rejected": "put the upstream's key in .env (PERPLEXITY_API_KEY=...) or UPSTREAM_KEY_FILE",
    "unknown model": "name one of them with STUDENT_MODEL=NAME",
    "bad configuration": "name the class's model with STUDENT_MODEL=NAME (or check UPSTREAM_URL and STUDENT_PROVIDER)",
}
UNREACHABLE = "check UPSTREAM_URL (a base URL ending in /v1)"


class Refused(Exception):
    """resolve's refusal, as one sentence for the teacher."""


@dataclass
class Upstream:
    url: str  # the gateway's upstream: practice, local or a base URL
    provider: str  # the students' library's provider
    model: str  # the class's model
    protocol: str  # the students' library's protocol: chat or responses
    agent_path: str  # the gateway's path of the upstream's Agent API, if not /v1/responses
    agent_only: bool  # chat completions reach the upstream only through its Agent API


def local_port():
    """make model-start's local model's port (OLLAMA_PORT's)."""
    return os.environ.get("OLLAMA_PORT") or "11434"


def stands_for(upstream, provider):
    """The library's provider for this upstream: the teacher's, else the one the upstream stands for ("" leaves
    it to the library's rule)."""
    if provider or not upstream:
        return provider
    if upstream == "practice" or "perplexity" in upstream:
        return "perplexity"  # the practice server stands in for Perplexity
    return "ollama" if upstream == "local" or on_port(upstream, local_port()) else "compatible"


def on_port(url, port):
    """True if url names port (make model-start's local model's, say)."""
    return url.endswith(f":{port}") or f":{port}/" in url


def resolve_command(streamdemo, upstream, provider, model, key):
    """resolve's command line: never the key, which goes on stdin (--key-file -)."""
    cmd = [streamdemo, "resolve", "--json"]
    if provider:
        cmd += ["--provider", provider]
    if upstream:
        cmd += ["--base-url", SOCKET_BASE if upstream in ("practice", "local") else upstream]
    if model:
        cmd += ["--model", model]
    if key and upstream not in ("practice", "local"):
        cmd += ["--key-file", "-"]
    return cmd


def resolve(streamdemo, upstream, provider, model, key, gateway_user=""):
    """The class's Upstream, as `streamdemo resolve` says; Refused with one sentence otherwise."""
    provider = stands_for(upstream, provider)
    cmd = resolve_command(streamdemo, upstream, provider, model, key)
    if gateway_user:
        cmd = ["runuser", "-u", gateway_user, "--"] + cmd
    clean = {k: os.environ[k] for k in ("PATH", "LANG", "LC_ALL") if k in os.environ}
    r = subprocess.run(cmd, input=key, capture_output=True, text=True, env=clean, cwd="/", timeout=120)
    try:
        said = json.loads(r.stdout)
    except ValueError:
        said = {}
    if r.returncode or "error" in said:
        sentence = said.get("error") or r.stderr.strip() or f"streamdemo resolve failed (exit {r.returncode})"
        raise Refused(f"{what_happened(sentence)}: {MENDS.get(said.get('kind'), UNREACHABLE)}.")
    protocol, agent_path = said["protocol"], ""
    if protocol == "agent":  # students speak the Agent API at /responses; the gateway sends it on to /v1/agent
        protocol, agent_path = "responses", "v1/agent"
    url = upstream if upstream in ("practice", "local") else said["base_url"]
    return Upstream(url, said["provider"], said["model"], protocol, agent_path, said["chat_via_agent"])


def what_happened(sentence):
    """The library's sentence without its advice to a notebook's author (STREAMDEMO_... in .env, Config...),
    which the class's settings replace."""
    head, colon, advice = sentence.rstrip(".").rpartition(": ")
    return head if colon and ("STREAMDEMO_" in advice or "Config." in advice) else sentence.rstrip(".")
