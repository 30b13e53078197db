"""Refuse notebooks whose saved outputs hold anything key-shaped or a path of
this machine. Exit status 1 names each problem.

    python lesson-harness/check_outputs.py NOTEBOOK...
"""
import json
import os
import re
import sys

KEY_PATTERNS = [
    re.compile(r"pplx-[A-Za-z0-9]{8,}"),            # Perplexity
    re.compile(r"sk-(?:proj-|svcacct-)?[A-Za-z0-9_-]{16,}"),  # OpenAI
]
PATH_PATTERN = re.compile(r"(?:/home/|/root/|/Users/|/tmp/|/work/|[A-Z]:\\\\Users\\\\)[^\s\"'<>]*")


def output_texts(nb):
    """Every text an output holds: streams, rich data, tracebacks."""
    for index, cell in enumerate(nb.get("cells", [])):
        for out in cell.get("outputs", []):
            parts = [out.get("text", ""), out.get("evalue", ""), *out.get("traceback", [])]
            for value in out.get("data", {}).values():
                parts.append(value if isinstance(value, str) else json.dumps(value))
            for part in parts:
                yield index, "".join(part) if isinstance(part, list) else str(part)


def problems(path, extra_secrets=()):
    with open(path, encoding="utf-8") as f:
        nb = json.load(f)
    found = []
    for index, text in output_texts(nb):
        for pattern in KEY_PATTERNS:
            if pattern.search(text):
                found.append(f"{path}: cell {index} output holds something shaped like an API key")
        for secret in extra_secrets:
            if secret and secret in text:
                found.append(f"{path}: cell {index} output holds a configured secret")
        match = PATH_PATTERN.search(text)
        if match:
            found.append(f"{path}: cell {index} output holds a machine path ({match.group(0)[:40]})")
    return found


def main(paths):
    secrets = [os.environ.get(v, "") for v in ("PERPLEXITY_API_KEY", "OPENAI_API_KEY", "STREAMDEMO_API_KEY")]
    found = [p for path in paths for p in problems(path, secrets)]
    for p in found:
        print(p)
    if found:
        print("Clear those outputs (JupyterLab: Edit > Clear Outputs of All Cells) before committing.")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
