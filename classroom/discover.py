"""What a teacher's own upstream speaks and which model the class uses (up.sh runs it as the gateway's account).

    python3 discover.py BASE_URL [MODEL]    the upstream key, if any, on stdin (never on a command line)

Prints "PROTOCOL MODEL": responses when POST BASE_URL/responses answers (the Agent API), agent when only
POST BASE_URL/agent does (Perplexity's own path of it), else chat; the model is MODEL, or the only one
GET BASE_URL/models lists; then " agent-only" when the upstream speaks the Agent API and its chat
completions do not answer (the gateway then answers them through the Agent API). Otherwise one
sentence on stderr, exit status 2.
"""
import json
import sys
import urllib.error
import urllib.request

TIMEOUT = 10


def ask(method, url, key, body=None):
    """(HTTP status, body) of one request; the key goes in a header only."""
    headers = {"Accept": "application/json"}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    req = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(req, timeout=TIMEOUT) as r:
            return r.status, r.read(1 << 20)
    except urllib.error.HTTPError as e:
        return e.code, e.read(1 << 16)


def listed(body):
    """The model ids of an OpenAI-style model list, or None if body is not one."""
    try:
        data = json.loads(body).get("data")
        return [m["id"] for m in data if isinstance(m, dict) and isinstance(m.get("id"), str)]
    except (ValueError, AttributeError, TypeError):
        return None


def names(models, most=8):
    shown = ", ".join(models[:most])
    return shown + (f" and {len(models) - most} more" if len(models) > most else "")


def discover(base, model, key):
    """(protocol, model) for the upstream at base, or raises SystemExit with the sentence to show."""
    base = base.rstrip("/")
    try:
        status, body = ask("GET", base + "/models", key)
    except (urllib.error.URLError, OSError, ValueError) as e:
        raise SystemExit(f"cannot reach the upstream at {base} ({getattr(e, 'reason', e)}): check UPSTREAM_URL (a base URL ending in /v1).")
    if status in (401, 403):
        raise SystemExit(f"the upstream at {base} refused {'the key' if key else 'a request without a key'} (HTTP {status}):"
                         " put its key in .env (PERPLEXITY_API_KEY=...) or UPSTREAM_KEY_FILE.")
    models = listed(body) if status == 200 else None
    if model:
        if models and model not in models:
            raise SystemExit(f"the upstream lists no model STUDENT_MODEL={model}; it lists {len(models)}"
                             f" ({names(models)}): choose one of them.")
    elif models is None:
        raise SystemExit(f"the upstream at {base} did not list its models (GET /models: HTTP {status}):"
                         " name the class's model with STUDENT_MODEL=...")
    elif not models:
        raise SystemExit("the upstream lists no model: load one in it, or name one with STUDENT_MODEL=...")
    elif len(models) > 1:
        raise SystemExit(f"the upstream lists {len(models)} models ({names(models)}): choose one with STUDENT_MODEL=...")
    else:
        model = models[0]
    protocol = protocol_of(base, key)
    return protocol, model, protocol != "chat" and not chat_answers(base, key)


def protocol_of(base, key):
    """responses or agent: the path where the upstream's Agent API answers (the alias OpenAI clients use
    first, then Perplexity's own), else chat. An empty request spends nothing: a server with the Agent
    API refuses it (400), one without says 404."""
    for path in ("responses", "agent"):
        try:
            status, _ = ask("POST", f"{base}/{path}", key, {})
        except (urllib.error.URLError, OSError):
            continue
        if 200 <= status < 500 and status not in (401, 403, 404, 405):
            return path
    return "chat"


def chat_answers(base, key):
    """Whether POST BASE/chat/completions is served. An empty request spends nothing: a server without
    chat completions says 404 or 405, Perplexity (which retired them) 403 chat_completions_not_available."""
    try:
        status, body = ask("POST", f"{base}/chat/completions", key, {})
    except (urllib.error.URLError, OSError):
        return False
    return not (status in (404, 405) or (status == 403 and b"chat_completions_not_available" in body))


def main():
    if len(sys.argv) not in (2, 3):
        raise SystemExit(__doc__)
    key = sys.stdin.read().strip()
    try:
        protocol, model, agent_only = discover(sys.argv[1], sys.argv[2] if len(sys.argv) == 3 else "", key)
    except SystemExit as e:
        print("classroom:", e.code, file=sys.stderr)
        sys.exit(2)
    print(protocol, model, *(["agent-only"] if agent_only else []))


if __name__ == "__main__":
    main()
