"""The official OpenAI Python SDK (pinned in kernel-setup/requirements.lock)
reads the practice server's Agent API stream as it reads Perplexity's real
recorded stream (served unchanged as model replay/agent-web-search), and its
chat stream and errors as it reads OpenAI's."""
import itertools

import openai
import pytest

from conftest import start_practice

QUESTION = "How many stars are in the universe?"


@pytest.fixture(scope="module")
def client():
    with start_practice("practice-sdk.log", "--first-token", "0", "--tps", "0") as server:
        yield openai.OpenAI(base_url=server.base_url, api_key="sdk-test-key", max_retries=0)


def sdk_view(events):
    """What the SDK made of a stream: each event type with the class it parsed
    it into (consecutive repeats collapsed), and the final response."""
    seen = [(e.type, type(e).__name__, getattr(e, "output_index", None),
             getattr(getattr(e, "item", None), "type", None)) for e in events]
    return [k for k, _ in itertools.groupby(seen)], events[-1].response


def test_agent_stream_reads_like_the_real_capture(client):
    real, real_end = sdk_view(list(client.responses.create(model="replay/agent-web-search", input=QUESTION, stream=True)))
    practice_events = list(client.responses.create(
        model="perplexity/sonar", input=QUESTION, stream=True,
        tools=[{"type": "web_search"}], tool_choice={"type": "web_search"}))
    practice, end = sdk_view(practice_events)
    assert practice == real
    for response in (real_end, end):
        assert response.status == "completed"
        assert [item.type for item in response.output] == ["search_results", "message"]
        assert response.usage.input_tokens > 0 and response.usage.total_tokens > response.usage.output_tokens > 0
        cost = response.usage.cost
        assert cost["currency"] == "USD" and cost["total_cost"] > 0
    assert real_end.model == "openai/gpt-6-luna" and real_end.output_text.startswith("The official TypeScript website")
    deltas = "".join(e.delta for e in practice_events if e.type == "response.output_text.delta")
    assert end.output_text == deltas and deltas.startswith("Astronomers estimate")
    results = [e.results for e in practice_events if e.type == "response.reasoning.search_results"][0]
    assert [r["id"] for r in results] == [1, 2, 3, 4, 5] and all(r["url"].startswith("https://") for r in results)


def test_whole_agent_answer_reads_like_the_real_one(client):
    real = client.responses.create(model="replay/agent-web-search", input=QUESTION)
    practice = client.responses.create(model="perplexity/sonar", input=QUESTION,
                                       tools=[{"type": "web_search"}], tool_choice={"type": "web_search"})
    for response in (real, practice):
        assert [item.type for item in response.output] == ["search_results", "message"]
        assert len(response.output[0].results) > 0 and response.output_text
        assert response.usage.cost["total_cost"] > 0
    assert set(real.model_dump(warnings=False)) == set(practice.model_dump(warnings=False))


def test_agent_errors_are_the_sdks_exceptions(client):
    with pytest.raises(openai.AuthenticationError) as e:
        client.responses.create(model="fault/401", input=QUESTION)
    assert e.value.body["type"] == "forbidden"
    with pytest.raises(openai.BadRequestError) as e:
        client.responses.create(model="perplexity/sonar", input=QUESTION, extra_body={"search_mode": "academic"})
    assert e.value.body == {"message": 'invalid request body: json: unknown field "search_mode"',
                            "type": "invalid_request", "code": 400, "param": "search_mode"}
    with pytest.raises(openai.RateLimitError):
        client.responses.create(model="fault/429", input=QUESTION)


def test_chat_stream_and_errors_read_like_openai(client):
    chunks = list(client.chat.completions.create(model="gpt-4o-mini", stream=True, stream_options={"include_usage": True},
                                                 messages=[{"role": "user", "content": QUESTION}]))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    whole = client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": QUESTION}])
    assert text == whole.choices[0].message.content and text.startswith("Astronomers estimate")
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens == whole.usage.completion_tokens
    with pytest.raises(openai.NotFoundError) as e:
        client.chat.completions.create(model="no-such-model", messages=[{"role": "user", "content": QUESTION}])
    assert e.value.code == "model_not_found"
    with pytest.raises(openai.BadRequestError) as e:
        client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": QUESTION}],
                                       extra_body={"search_mode": "academic"})
    assert e.value.body["type"] == "invalid_request_error" and "search_mode" in e.value.body["message"]
