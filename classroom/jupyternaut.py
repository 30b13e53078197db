"""Jupyternaut (jupyter-ai's chat) in every student's JupyterLab, answering through the class gateway.

The hub writes a Jupyter configuration folder of the class's at each start (config_folder) and each
student's server reads it (JUPYTER_CONFIG_PATH, environment). Switched on, Jupyternaut asks the class's
model through LiteLLM's OpenAI path at the gateway, with the student's own hub token: both come from
the server's environment, never from a file or a settings screen, so the class's allow-list, budgets,
pauses and usage apply to it as to the lesson. jupyter-ai's MCP server is off: it would listen without
a password on a loopback port any account can take first or reach (3001), and Jupyternaut would ask
whoever holds it. Switched off (the teacher's JUPYTER_AI=off), every jupyter-ai extension is off, on
the server and in the page.
"""
import json
import os

# The server extensions of jupyter-ai 3.2.0 (classroom/requirements.txt) and what they bring to the page.
SERVER_EXTENSIONS = ("jupyter_ai_jupyternaut", "jupyter_ai_litellm", "jupyter_ai_persona_manager", "jupyter_ai_router",
                     "jupyter_ai_chat_commands", "jupyter_ai_tools", "jupyter_ai_acp_client", "jupyter_server_mcp",
                     "jupyter_live_content", "jupyterlab_chat", "jupyterlab_commands_toolkit")
PAGE_EXTENSIONS = ("@jupyter-ai/jupyternaut", "@jupyter-ai/acp-client", "@jupyter-ai/chat-commands", "@jupyter-ai/router",
                   "@jupyter-ai/persona-manager", "@jupyter-ai-contrib/live-content", "jupyterlab-chat-extension",
                   "jupyterlab-ai-commands", "jupyterlab-commands-toolkit", "jupyterlab-diff",
                   "jupyterlab-cell-input-footer-extension")
# Never on in a class: the MCP server (above), and the agents of other vendors' command-line tools.
NEVER = ("jupyter_server_mcp", "jupyter_ai_acp_client")
NEVER_IN_PAGE = ("@jupyter-ai/acp-client",)


def switch(value):
    """JUPYTER_AI's value as on (True) or off (False); anything else is refused in one sentence."""
    v = value or "on"
    if v in ("on", "off"):
        return v == "on"
    raise SystemExit(f"JUPYTER_AI is {value!r}: set it to on (students chat with Jupyternaut through the class) or off")


def server_config(on, model):
    """The Jupyter server's configuration for every student's server."""
    extensions = {name: False for name in (NEVER if on else SERVER_EXTENSIONS)}
    config = {"ServerApp": {"jpserver_extensions": extensions}}
    if on:
        config["PersonaManager"] = {"builtin_mcp_servers": []}
        config["JupyternautExtension"] = {"initial_language_model": f"openai/{model}"}
    return config


def page_config(on):
    """JupyterLab's page configuration: the extensions the page leaves out."""
    return {"disabledExtensions": {name: True for name in (NEVER_IN_PAGE if on else PAGE_EXTENSIONS)}}


def write(path, data):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(data, f, indent=1, sort_keys=True)
        f.write("\n")
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def config_folder(folder, on, model):
    """Writes the class's Jupyter configuration folder (world-readable, no secret in it); returns its path."""
    os.makedirs(os.path.join(folder, "labconfig"), exist_ok=True)
    for d in (folder, os.path.join(folder, "labconfig")):
        os.chmod(d, 0o755)
    write(os.path.join(folder, "jupyter_server_config.json"), server_config(on, model))
    write(os.path.join(folder, "labconfig", "page_config.json"), page_config(on))
    return folder


def environment(folder, gateway_v1):
    """What a student's server needs beyond its token: the configuration, the gateway (as every OpenAI
    client reads it), and LiteLLM's price list from its own package rather than a website."""
    return {"JUPYTER_CONFIG_PATH": folder, "OPENAI_BASE_URL": gateway_v1, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}


if __name__ == "__main__":  # python3 jupyternaut.py check VALUE: a check of JUPYTER_AI by hand (python3 -m classroom up checks it first)
    import sys
    switch(sys.argv[2] if len(sys.argv) > 2 else "")
