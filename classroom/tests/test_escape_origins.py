"""A student's page in the teacher's browser, on the loopback class: the hub at localhost, each student's
server at NAME.localhost, the teacher's page at llm--service.localhost (origins.py). The page tries
everything origin_attack.py lists; each fails, and the teacher's hub and page still work afterwards."""
import contextlib
import os
import re
import subprocess

from conftest import STATE, STUDENTS, TEACHER
from origin_attack import (after_the_flood, attack_all, open_as_teacher, publish, targets, teacher_still_works,
                           what_it_got, withdraw)

ADA = STUDENTS[0]
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"]


def said(klass, what):
    """A URL make classroom said when the class started ("class ready: URL", "teacher's page: URL")."""
    return re.search(rf"{what}: (\S+)", klass.started).group(1)


def test_a_students_page_opened_by_the_teacher_gets_nothing_of_the_teachers(klass):
    hub, teacher_page = said(klass, "class ready"), said(klass, "teacher's page")
    ada = klass.student(ADA)
    publish(ADA, targets(hub, teacher_page, TEACHER, ada.hub_xsrf()))
    try:
        attack_as_the_teacher(klass, ada, hub, teacher_page)
    finally:
        withdraw(ADA)  # her server as the other tests know it
        with contextlib.suppress(RuntimeError, TimeoutError):  # a start that failed leaves nothing to stop
            ada.stop_server()
    assert "origins: the hub at" in klass.started and "no page a student publishes shares an origin" in klass.started


def attack_as_the_teacher(klass, ada, hub, teacher_page):
    from playwright.sync_api import sync_playwright

    if ada.hub_api("GET", f"users/{ADA}").json().get("servers", {}).get(""):
        ada.stop_server()
    try:
        ada.start_server()  # with her own server configuration
    except TimeoutError:
        log = open(os.path.join(STATE, "jupyterhub.log")).read().splitlines()
        raise AssertionError("her server did not start: " + "\n".join(line for line in log[-400:] if ADA in line)[-3000:])
    server = ada.hub_api("GET", f"users/{ADA}").json()["servers"][""]["url"]
    chromium = subprocess.run(["bash", "-c", "command -v chromium"], capture_output=True, text=True).stdout.strip()
    assert chromium, "chromium is missing: run make browser-setup"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=FLAGS)
        try:
            page = browser.new_context().new_page()  # the teacher's browser: one cookie jar
            page.goto(f"{hub}/hub/login")
            page.fill("#username_input", TEACHER)
            page.fill("#password_input", klass.password(TEACHER))
            page.click("#login_submit")
            page.wait_for_url(re.compile(r".*/hub/.*"))
            # The teacher opens her page from a page of the hub's (on loopback another site: no loop through OAuth).
            page.goto(f"{hub}/hub/home")
            page.evaluate("url => { location.href = url; }", teacher_page)
            page.locator("meta[name=class-csrf]").wait_for(state="attached", timeout=30_000)
            assert page.url == teacher_page, page.url
            attack = (server if server.startswith("http") else hub + server) + "files/attack.html"
            r = attack_all(page, attack)
            got = what_it_got(r)
            assert not got, "a student's page got " + "; ".join(got) + f" (all it tried: {r})"
            scope = r["worker"].get("scope", "")
            assert not scope.startswith((hub + "/", teacher_page.split("/services/")[0] + "/")), \
                f"a student's service worker took the hub's or the teacher's page's origin: {scope}"
            teacher_still_works(page.context.new_page(), hub, teacher_page, TEACHER)
            # Then a flood of big cookies: on loopback they stay on her own host (localhost takes none).
            assert open_as_teacher(page, attack + "?flood")["big"] > 100_000, "the flood was not tried"
            assert after_the_flood(page, hub, TEACHER, klass.password(TEACHER)) < 8192, "the flood reached the hub"
            teacher_still_works(page, hub, teacher_page, TEACHER)
        finally:
            browser.close()
