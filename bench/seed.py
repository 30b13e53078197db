"""The seed lesson's two code cells, verbatim (from the seed's text, In [1] and the
streaming cell), and the only edits the benchmark makes to them."""

IN_1 = '''import os
from dotenv import load_dotenv
load_dotenv()
perplexity_api_key = os.getenv("PERPLEXITY_API_KEY")'''

STREAMING_CELL = '''from openai import OpenAI

YOUR_API_KEY = perplexity_api_key

messages = [
    {
        "role": "system",
        "content": (
            "You are an artificial intelligence assistant and you need to "
            "engage in a helpful, detailed, polite conversation with a user."
        ),
    },
    {
        "role": "user",
        "content": (
            "How many stars are in the universe?"
        ),
    },
]

client = OpenAI(api_key=YOUR_API_KEY, base_url="https://api.perplexity.ai")

# chat completion with streaming
response_stream = client.chat.completions.create(
    model="sonar-pro",
    messages=messages,
    stream=True,
)
for response in response_stream:
    # For each chunk of the streamed response, print the content
    # The 'end=""' prevents adding a newline after each chunk
    # The 'flush=True' ensures immediate output to the console
    print(response.choices[0].delta.content, end="", flush=True)'''

SYSTEM_PROMPT = ("You are an artificial intelligence assistant and you need to "
                 "engage in a helpful, detailed, polite conversation with a user.")
QUESTION = "How many stars are in the universe?"
# The model the seed's call names against the practice server: it answers chat completions as OpenAI
# does for an OpenAI model, and as Perplexity does today (the retired endpoint's 403) for sonar-pro.
CHAT_MODEL = "gpt-4o-mini"


def _replace_once(text, old, new):
    if text.count(old) != 1:
        raise ValueError(f"expected exactly one {old!r} in the seed cell")
    return text.replace(old, new)


def streaming_cell(base_url, model=None, temperature=None):
    """The seed's streaming cell with base_url changed and, for the local model or the
    practice server, its model name and a temperature."""
    cell = _replace_once(STREAMING_CELL, 'base_url="https://api.perplexity.ai"', f'base_url="{base_url}"')
    if model:
        cell = _replace_once(cell, 'model="sonar-pro",', f'model="{model}",')
    if temperature is not None:
        cell = _replace_once(cell, "    stream=True,\n", f"    stream=True,\n    temperature={temperature},\n")
    return cell
