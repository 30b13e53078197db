"""A class as a chat-completions client meets it: the practice server standing in for Perplexity
(chat completions answer its retired endpoint's 403, the Agent API answers), a real class gateway
in front of it that answers chat completions through the Agent API (--agent-only) and allows only
sonar-pro, each student a token of the gateway's own. Every client runs from its own venv
(.tools/clients/NAME, `make clients-setup`)."""
import json
import os
import subprocess
import sys
import urllib.request

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests"))

from listening import GATEWAY_SAYS, PRACTICE_SAYS, Listening  # noqa: E402
from practice_server import REPO, build  # noqa: E402

BUILD = os.path.join(REPO, "build", "clients")
VENVS = os.path.join(REPO, ".tools", "clients")
CLASS_MODEL, OTHER_MODEL = "sonar-pro", "sonar"
QUESTION = "How many stars are in the universe?"


def venv_bin(venv, program):
    """The program in a client's venv; fails (in CI too) with what to run when it is missing."""
    path = os.path.join(VENVS, venv, "bin", program)
    if not os.path.exists(path):
        pytest.fail(f"{path} is missing: run make clients-setup")
    return path


class Class:
    """The practice server, the gateway in front of it and the gateway's ledger folder."""

    def __init__(self, tmp):
        self.binary = build(BUILD)
        self.data = os.path.join(tmp, "ledger")
        key = os.urandom(16).hex()
        key_file = os.path.join(tmp, "upstream-key")
        with open(os.open(key_file, os.O_WRONLY | os.O_CREAT, 0o600), "w") as f:
            f.write(key + "\n")
        env = {k: v for k, v in os.environ.items() if not k.startswith("STREAMDEMO_")}
        self.practice = Listening([self.binary, "serve", "--addr", "127.0.0.1:0", "--first-token", "0", "--tps", "400"],
                                  os.path.join(BUILD, "practice.log"), PRACTICE_SAYS, env={**env, "STREAMDEMO_PRACTICE_TOKEN": key})
        try:
            self.gateway = Listening([self.binary, "gateway", "serve", "--addr", "127.0.0.1:0", "--upstream", f"http://{self.practice.address}/v1",
                                      "--key-file", key_file, "--agent-only", "--models", CLASS_MODEL, "--data", self.data],
                                     os.path.join(BUILD, "gateway.log"), GATEWAY_SAYS, env=env)
        except BaseException:
            self.practice.stop()
            raise
        self.base_url = f"http://{self.gateway.address}/v1"

    def cli(self, *args):
        out = subprocess.run([self.binary, "gateway", *args, "--data", self.data], capture_output=True, text=True, timeout=30)
        assert out.returncode == 0, out.stderr
        return out.stdout

    def student(self, name, *flags):
        """A new student's token (the CLI prints it as its last line)."""
        return self.cli("token", "add", name, *flags).strip().splitlines()[-1]

    def usage(self, name):
        """What the ledger holds of a student: requests, tokens, dollars, estimates."""
        s = next(s for s in json.loads(self.cli("usage", "--json"))["students"] if s["name"] == name)
        return {k: s[k] for k in ("requests", "tokens_today", "usd_today", "estimated", "open_streams")}

    def agent_answer(self, token, stream):
        """The lesson's question as the library puts sonar-pro to the Agent API (preset low), through the
        gateway: the text it reads."""
        body = {"preset": "low", "input": [{"type": "message", "role": "user", "content": QUESTION}], "stream": stream}
        req = urllib.request.Request(self.base_url + "/responses", json.dumps(body).encode(),
                                     {"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=30) as r:
            raw = r.read().decode()
        if not stream:
            return "".join(p["text"] for item in json.loads(raw)["output"] if item["type"] == "message" for p in item["content"])
        events = [json.loads(line[6:]) for line in raw.splitlines() if line.startswith("data: ")]
        return "".join(e["delta"] for e in events if e["type"] == "response.output_text.delta")

    def stop(self):
        self.gateway.stop()
        self.practice.stop()


@pytest.fixture(scope="session")
def klass(tmp_path_factory):
    c = Class(str(tmp_path_factory.mktemp("class")))
    yield c
    c.stop()


@pytest.fixture(scope="session")
def reference(klass):
    """The Agent API path's answer and charge, streamed and whole, for the clients to match."""
    out = {}
    for stream in (True, False):
        name = f"agent-api-{'streamed' if stream else 'whole'}"
        text = klass.agent_answer(klass.student(name), stream)
        out[stream] = (text, klass.usage(name))
    return out
