"""The seed lesson's streaming call as a terminal script: its In [1] and its streaming
cell, verbatim but for base_url, which is the first argument (the seed has
"https://api.perplexity.ai"). The key comes from PERPLEXITY_API_KEY, as in the seed.

    .venv/bin/python bench/seed_terminal.py http://127.0.0.1:PORT/v1
"""
import sys

import os
from dotenv import load_dotenv
load_dotenv()
perplexity_api_key = os.getenv("PERPLEXITY_API_KEY")

from openai import OpenAI

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

client = OpenAI(api_key=YOUR_API_KEY, base_url=sys.argv[1])

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
    print(response.choices[0].delta.content, end="", flush=True)
