"""The class gateway's teacher's page in headless chromium: a teacher logs in with the
teacher's token, watches three students' answers stream through the gateway (live, without
reloading), and pauses one student, then the whole class, with the page's switches."""
import json
import os
import subprocess
import tempfile
import threading
import urllib.error
import urllib.request

import pytest
from playwright.sync_api import expect

from listening import GATEWAY_SAYS, Listening

from .conftest import BUILD, stop, wait_for_url

STUDENTS = ["ana", "bob", "cara"]
QUESTION = "How many stars are in the universe?"


def cli(binary, *args):
    """Run a gateway command; its last line (a token for `token add`)."""
    out = subprocess.run([binary, "gateway", *args], check=True, capture_output=True, text=True, timeout=60)
    return out.stdout.strip().splitlines()[-1]


def ask(base, token, path="v1/agent"):
    """One streamed answer through the gateway; (HTTP status, error type or text)."""
    body = json.dumps({"model": "perplexity/sonar", "stream": True, "input": QUESTION}).encode()
    req = urllib.request.Request(base + path, data=body, headers={
        "Authorization": "Bearer " + token, "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())["error"]["type"]


@pytest.fixture(scope="module")
def gateway(practice_server):
    """`streamdemo gateway serve` in front of the practice server; yield (URL, tokens)."""
    binary = os.path.join(BUILD, "test", "streamdemo")  # built by the practice_server fixture
    data = tempfile.mkdtemp(prefix="gateway-", dir=os.path.join(BUILD, "test"))
    tokens = {name: cli(binary, "token", "add", name, "--data", data) for name in STUDENTS}
    tokens["teacher"] = cli(binary, "token", "add", "--teacher", "tina", "--data", data)
    env = {k: v for k, v in os.environ.items() if k != "STREAMDEMO_UPSTREAM_KEY"}
    gw = Listening([binary, "gateway", "serve", "--addr", "127.0.0.1:0", "--upstream", practice_server, "--data", data],
                   os.path.join(BUILD, "test", "browser-gateway.log"), GATEWAY_SAYS, timeout=30, env=env)
    base = f"http://{gw.address}/"
    try:
        wait_for_url(base, gw.proc, "the class gateway", timeout=30)
        yield base, tokens
    finally:
        stop(gw.proc)
        gw.stop()


def row(page, name):
    return page.locator(f'#students tr[data-student="{name}"]')


def test_teacher_sees_students_live_and_pauses(browser, gateway):
    base, tokens = gateway
    page = browser.new_page()
    page.goto(base)
    page.fill("#token", tokens["ana"])  # a student's token opens nothing
    page.click("button[type=submit]")
    expect(page.get_by_role("alert")).to_contain_text("student's token")
    page.fill("#token", tokens["teacher"])
    page.click("button[type=submit]")
    expect(page.locator("#pause-all")).to_have_text("Pause everyone (exam)")

    results = {}
    threads = [threading.Thread(target=lambda n=n: results.__setitem__(n, ask(base, tokens[n]))) for n in STUDENTS]
    for t in threads:
        t.start()
    # While they stream, the page shows them streaming, without a reload.
    for name in STUDENTS:
        expect(row(page, name).locator("td").nth(6)).to_have_text("1", timeout=15_000)
    page.screenshot(path=os.path.join(BUILD, "screenshots", "gateway-teacher-streaming.png"))
    for t in threads:
        t.join(timeout=60)
    assert all(status == 200 and "200 billion trillion" in text for status, text in results.values()), results
    for name in STUDENTS:
        cells = row(page, name).locator("td")
        expect(cells.nth(1)).to_have_text("1", timeout=10_000)  # requests today
        expect(cells.nth(6)).to_have_text("0")  # none streaming now
        assert int(cells.nth(2).inner_text()) > 100  # tokens today, from the stream's usage
    expect(page.locator("#chart path")).to_have_count(1)
    page.screenshot(path=os.path.join(BUILD, "screenshots", "gateway-teacher.png"))

    # Pause one student: only that one is refused.
    row(page, "bob").locator("button.pause").click()
    expect(row(page, "bob").locator("button.pause")).to_have_text("Resume")
    assert ask(base, tokens["bob"]) == (403, "class_paused")
    status, _ = ask(base, tokens["ana"])
    assert status == 200
    # Change a budget: the next request over it is refused.
    tokens_limit = row(page, "cara").locator("input.tokens-per-day")
    tokens_limit.fill("1")
    row(page, "cara").locator("button.save-limits").click()
    expect(page.locator("#log li").first).to_contain_text("tina: limits for cara (tokens_per_day=1, usd_per_day=0)")
    expect(row(page, "cara").locator("input.tokens-per-day")).to_have_value("1")
    assert ask(base, tokens["cara"]) == (429, "class_budget_exceeded")
    # Exam mode: everyone is refused until it is switched off.
    page.click("#pause-all")
    expect(page.locator("#pause-all")).to_have_text("Class paused: resume everyone")
    assert ask(base, tokens["ana"]) == (403, "class_paused")
    page.click("#pause-all")
    expect(page.locator("#pause-all")).to_have_text("Pause everyone (exam)")
    expect(page.locator("#log li").first).to_contain_text("tina: class resumed")
    assert ask(base, tokens["ana"])[0] == 200
    page.close()
