"""What one chat-completions client makes of the class gateway. Run with that client's own venv
(.tools/clients/NAME): it asks the lesson's question streamed and whole, then as a paused student,
a student whose budget is spent and with a model the class does not allow; it prints one JSON object,
each outcome the text read or the error raised (its class, the classes it inherits, its message, its HTTP status),
as the last line of its output.

    .tools/clients/NAME/bin/python ask.py CLIENT    CLIENT: openai, perplexityai, langchain-openai,
                                                    litellm-openai or litellm-perplexity
Environment: CLASS_BASE_URL, CLASS_MODEL, OTHER_MODEL, and a student's token for each outcome (never
on a command line): TOKEN_STREAMED, TOKEN_WHOLE, TOKEN_PAUSED, TOKEN_BUDGET, TOKEN_MODEL.
"""
import json
import os
import sys

BASE, MODEL = os.environ["CLASS_BASE_URL"], os.environ["CLASS_MODEL"]
QUESTION = "How many stars are in the universe?"
MESSAGES = [{"role": "user", "content": QUESTION}]


def openai_client(token, model, stream):
    import openai
    client = openai.OpenAI(base_url=BASE, api_key=token)  # the SDK's own retries: a refusal must not be retried
    if not stream:
        return client.chat.completions.create(model=model, messages=MESSAGES).choices[0].message.content
    chunks = client.chat.completions.create(model=model, messages=MESSAGES, stream=True, stream_options={"include_usage": True})
    return "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)


def perplexityai_client(token, model, stream):
    import perplexity
    client = perplexity.Perplexity(base_url=BASE, api_key=token)
    if not stream:
        return client.chat.completions.create(model=model, messages=MESSAGES).choices[0].message.content
    text, sources = "", []
    for c in client.chat.completions.create(model=model, messages=MESSAGES, stream=True):
        text += "".join(choice.delta.content or "" for choice in c.choices)
        sources = c.search_results or sources
    return text if sources else "no search_results in the stream"


def langchain_openai_client(token, model, stream):
    from langchain_openai import ChatOpenAI
    chat = ChatOpenAI(model=model, base_url=BASE, api_key=token, stream_usage=True)
    if not stream:
        return chat.invoke(QUESTION).content
    return "".join(c.content for c in chat.stream(QUESTION))


def litellm_client(provider):
    def ask(token, model, stream):
        import litellm
        litellm.suppress_debug_info = True  # else it prints a feedback banner on stdout for every error
        answer = litellm.completion(model=f"{provider}/{model}", api_base=BASE, api_key=token, messages=MESSAGES, stream=stream)
        if not stream:
            return answer.choices[0].message.content
        return "".join(c.choices[0].delta.content or "" for c in answer if c.choices)
    return ask


CLIENTS = {"openai": openai_client, "perplexityai": perplexityai_client, "langchain-openai": langchain_openai_client,
           "litellm-openai": litellm_client("openai"), "litellm-perplexity": litellm_client("perplexity")}


def outcome(ask, token, model, stream):
    try:
        return {"text": ask(token, model, stream)}
    except Exception as e:  # what the client raised is what is checked
        return {"error": type(e).__name__, "classes": [f"{c.__module__}.{c.__name__}" for c in type(e).__mro__], "message": str(e),
                "status": getattr(e, "status_code", None)}


def main():
    ask = CLIENTS[sys.argv[1]]
    asked = {"streamed": (MODEL, True), "whole": (MODEL, False), "paused": (MODEL, True), "budget": (MODEL, True),
             "model": (os.environ["OTHER_MODEL"], True)}
    print(json.dumps({k: outcome(ask, os.environ["TOKEN_" + k.upper()], model, stream) for k, (model, stream) in asked.items()}))


if __name__ == "__main__":
    main()
