"""python3 -m classroom handout without a class (no root): every card's name, address, password and CA
fingerprint read back exactly as given, whatever HTML characters they hold; the file owner-only; a student
without a password named in one sentence, and no page written."""
import os
import stat
import sys
from html.parser import HTMLParser

import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, REPO)
from classroom import handout, settings  # noqa: E402

TRICKY = "<script>alert('x')</script> & \"quoted\""


class Cards(HTMLParser):
    """[{"student": data-student, "open"/"login"/"password"/"ca": text}] of a handout."""

    def __init__(self, page):
        super().__init__()
        self.cards, self.field = [], None
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "div" and attrs.get("class") == "card":
            self.cards.append({"student": attrs["data-student"]})
        elif tag == "code":
            self.field = attrs.get("class") or "open"
            self.cards[-1][self.field] = ""

    def handle_endtag(self, tag):
        self.field = None if tag == "code" else self.field

    def handle_data(self, data):
        if self.field:
            self.cards[-1][self.field] += data


def test_every_field_reads_back_exactly_however_it_is_written():
    page = handout.page(["ada", TRICKY], f"https://class.example/?a=1&b={TRICKY}",
                        {"ada": "pw<&>'\"", TRICKY: TRICKY}, "AB:CD&<")
    assert "<script>" not in page
    url = f"https://class.example/?a=1&b={TRICKY}"
    assert Cards(page).cards == [
        {"student": "ada", "open": url, "login": "ada", "password": "pw<&>'\"", "ca": "AB:CD&<"},
        {"student": TRICKY, "open": url, "login": TRICKY, "password": TRICKY, "ca": "AB:CD&<"}]
    assert "class=\"ca\"" not in handout.page(["ada"], url, {"ada": "x"}, "")


@pytest.fixture
def state(tmp_path):
    state = tmp_path / "state"
    state.mkdir(mode=0o700)
    (state / "passwords").write_text("teacher secret-of-the-teacher\nada pw-ada\nbo pw<bo>\n")
    (tmp_path / "roster").write_text("ada\nbo  # second\n")
    return state


def load(tmp_path, **env):
    environ = {k: v for k, v in os.environ.items() if k != "CLASS_URL"}
    return settings.load(dict(environ, CLASSROOM_DIR=str(tmp_path / "state"), ROSTER=str(tmp_path / "roster"),
                              CLASSROOM_PORT="8123", **env))


def test_the_page_is_the_owners_alone_and_has_the_roster_and_nobody_else(tmp_path, state, capsys):
    out = handout.write(load(tmp_path, CLASS_URL="https://given.example"))
    assert out == str(state / "handout.html") and stat.S_IMODE(os.stat(out).st_mode) == 0o600
    assert capsys.readouterr().out == (f"==> handout for 2 students (one card each, keep it private: it holds their "
                                       f"passwords): {out}\n")
    page = open(out).read()
    assert [c["student"] for c in Cards(page).cards] == ["ada", "bo"] and "secret-of-the-teacher" not in page
    assert Cards(page).cards[1] == {"student": "bo", "open": "https://given.example", "login": "bo",
                                    "password": "pw<bo>"}
    assert [f for f in os.listdir(state) if "tmp" in f] == []


def test_the_address_is_the_given_one_else_the_running_classs_else_the_configured(tmp_path, state):
    def address(**env):
        return Cards(open(handout.write(load(tmp_path, **env))).read()).cards[0]["open"]

    assert address() == "http://localhost:8123"
    (state / "class-url").write_text("https://running.example\n")
    (state / "class-ca.sha256").write_text("AA:BB\n")
    assert address() == "https://running.example"
    assert address(CLASS_URL="https://given.example") == "https://given.example"
    assert Cards(open(state / "handout.html").read()).cards[0]["ca"] == "AA:BB"


def test_a_student_without_a_password_is_named_and_no_page_is_written(tmp_path, state):
    (tmp_path / "roster").write_text("ada\ncy\nbo\ndee\n")
    with pytest.raises(settings.Refused) as e:
        handout.write(load(tmp_path))
    assert str(e.value) == "no password yet for cy, dee: run make classroom first, then the handout"
    assert not os.path.exists(state / "handout.html")


def test_no_passwords_yet_says_to_start_the_class(tmp_path, state):
    os.unlink(state / "passwords")
    with pytest.raises(settings.Refused, match=r"^no passwords in .*state yet: start the class first \(make classroom\)$"):
        handout.write(load(tmp_path))
