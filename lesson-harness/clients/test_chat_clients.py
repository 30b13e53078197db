"""The chat-completions clients students already use, each from its own pinned venv, against a
real class gateway whose upstream answers only the Agent API: each streams the lesson's answer
(and reads it whole), meets the class's refusals as its own typed error carrying the class's one
sentence, and is charged exactly what the same question costs on the Agent API path."""
import json
import os
import subprocess

import pytest

from conftest import CLASS_MODEL, HERE, OTHER_MODEL, QUESTION, venv_bin

PAUSED = "Your teacher has paused your access to the model; ask your teacher."
BUDGET = "Your class budget for today is used up; ask your teacher."
NOT_ALLOWED = f"This class allows only {CLASS_MODEL}: use one of these as the model."

# client -> (its venv, the packages its errors may come from)
CLIENTS = {
    "openai": ("openai", {"openai"}),
    "perplexityai": ("perplexityai", {"perplexity"}),
    "langchain-openai": ("langchain-openai", {"openai", "langchain_openai", "langchain_core"}),
    "litellm-openai": ("litellm", {"litellm"}),
    "litellm-perplexity": ("litellm", {"litellm"}),
}
# refusal -> (the error class a client raises, its HTTP status, the class's sentence)
REFUSALS = {"paused": ("PermissionDeniedError", 403, PAUSED), "budget": ("RateLimitError", 429, BUDGET),
            "model": ("BadRequestError", 400, NOT_ALLOWED)}
# LiteLLM raises its APIError (status 403), not PermissionDeniedError, for a 403 to a streamed request.
OWN_CLASS = {("litellm-openai", "paused"): "APIError", ("litellm-perplexity", "paused"): "APIError"}


def students(klass, client):
    """Fresh students for one client: one streams, one asks whole, one is paused, one has no budget
    left, one asks for another model."""
    names = {k: f"{client}-{k}" for k in ("streamed", "whole", "paused", "budget", "model")}
    tokens = {k: klass.student(n, *(["--usd-per-day", "0.000001"] if k == "budget" else [])) for k, n in names.items()}
    klass.cli("pause", names["paused"])
    return names, tokens


@pytest.mark.parametrize("client", sorted(CLIENTS))
def test_a_client_streams_meets_refusals_and_is_charged_as_the_agent_api(klass, reference, client):
    venv, packages = CLIENTS[client]
    names, tokens = students(klass, client)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "PERPLEXITY_", "STREAMDEMO_"))}
    env.update({"CLASS_BASE_URL": klass.base_url, "CLASS_MODEL": CLASS_MODEL, "OTHER_MODEL": OTHER_MODEL,
                "LITELLM_LOCAL_MODEL_COST_MAP": "True",  # LiteLLM would fetch its price list from the internet
                **{"TOKEN_" + k.upper(): t for k, t in tokens.items()}})
    run = subprocess.run([venv_bin(venv, "python"), os.path.join(HERE, "ask.py"), client], env=env,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-3000:]
    seen = json.loads(run.stdout.splitlines()[-1])
    for how, stream in (("streamed", True), ("whole", False)):
        text, charged = reference[stream]
        assert seen[how].get("text") == text, f"{client} {how}: {seen[how]}"
        assert klass.usage(names[how]) == charged, f"{client} {how} was charged otherwise than the Agent API path"
    for refusal, (error, status, sentence) in REFUSALS.items():
        got, error = seen[refusal], OWN_CLASS.get((client, refusal), error)
        classes = got.get("classes", [])
        assert error in [c.rsplit(".", 1)[-1] for c in classes] and classes[0].split(".")[0] in packages, f"{client} {refusal}: {got}"
        assert got["status"] == status and sentence in got["message"], f"{client} {refusal}: {got}"
    assert klass.usage(names["paused"])["usd_today"] == 0 and klass.usage(names["budget"])["usd_today"] == 0


def llm(klass, token, tmp_path, *args):
    """The llm CLI with the class configured as an extra OpenAI-compatible model, the token in its
    key store (never on the command line)."""
    home = tmp_path / "llm"
    home.mkdir(exist_ok=True)
    (home / "extra-openai-models.yaml").write_text("".join(
        f"- model_id: class-{m}\n  model_name: {m}\n  api_base: {klass.base_url}\n  api_key_name: class\n" for m in (CLASS_MODEL, OTHER_MODEL)))
    keys = home / "keys.json"
    keys.write_text(json.dumps({"class": token}))
    keys.chmod(0o600)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "LLM_"))}
    return subprocess.run([venv_bin("llm", "llm"), *args, QUESTION], env={**env, "LLM_USER_PATH": str(home)},
                          capture_output=True, text=True, timeout=60)


def test_the_llm_cli_streams_meets_refusals_and_is_charged_as_the_agent_api(klass, reference, tmp_path_factory):
    names, tokens = students(klass, "llm")
    for how, flags in (("streamed", []), ("whole", ["--no-stream"])):
        run = llm(klass, tokens[how], tmp_path_factory.mktemp(how), "-m", f"class-{CLASS_MODEL}", *flags)
        text, charged = reference[how == "streamed"]
        assert run.returncode == 0 and run.stdout == text + "\n", run.stderr
        assert klass.usage(names[how]) == charged, f"llm {how} was charged otherwise than the Agent API path"
    for refusal, (_, _, sentence) in REFUSALS.items():
        model = OTHER_MODEL if refusal == "model" else CLASS_MODEL
        run = llm(klass, tokens[refusal], tmp_path_factory.mktemp(refusal), "-m", f"class-{model}")
        assert run.returncode == 1 and run.stderr.startswith("Error: ") and sentence in run.stderr, run.stderr
