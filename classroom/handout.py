"""A printable page with one card per student: the class's address, their login and password, and the
fingerprint of the class's own CA when it made one. Written owner-only (0600) to handout.html in the
class's state folder, at once.

    python3 -m classroom handout        (make classroom-handout [CLASS_URL=...])

The address is the class_url setting (CLASS_URL), else the one the running class was started with, else
the one the configuration gives.
"""
import html

from classroom import config, students
from classroom.settings import die, load, say

STYLE = ("body{font:14pt system-ui,sans-serif;margin:1cm}.card{display:inline-block;box-sizing:border-box;width:8.5cm;"
         "margin:0 .4cm .4cm 0;padding:.4cm;border:1px dashed #888;break-inside:avoid;vertical-align:top}"
         "code{font-size:1.1em}")


def read_text(path):
    """The file's text without its trailing newlines, or '' if there is none."""
    try:
        with open(path) as f:
            return f.read().rstrip("\n")
    except OSError:
        return ""


def passwords(c):
    """{login: password} of the class's passwords file."""
    try:
        with open(c.state("passwords")) as f:
            lines = f.read().splitlines()
    except OSError:
        die(f"no passwords in {c.dir} yet: start the class first (make classroom)")
    return dict(line.split(" ", 1) for line in lines if " " in line)


def address(c):
    return c["class_url"] or read_text(c.state("class-url")) or c.class_url


def card(name, url, password, ca):
    e = html.escape
    return (f'<div class="card" data-student="{e(name)}"><div>Open <code>{e(url)}</code></div>'
            f'<div>Login: <code class="login">{e(name)}</code></div>'
            f'<div>Password: <code class="password">{e(password)}</code></div>'
            + (f'<div>Class CA, SHA-256: <code class="ca">{e(ca)}</code></div>' if ca else "") + "</div>")


def page(names, url, passwords, ca):
    """The handout's HTML: one card for each of names, in order."""
    missing = [n for n in names if n not in passwords]
    if missing:
        die(f"no password yet for {', '.join(missing)}: run make classroom first, then the handout")
    head = ('<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Class logins</title>'
            f"<style>{STYLE}</style></head><body>")
    return "\n".join([head] + [card(n, url, passwords[n], ca) for n in names] + ["</body></html>"]) + "\n"


def write(c):
    """Writes the class's handout; returns its path."""
    known = passwords(c)
    names = students.names(c.roster)
    ca = read_text(c.class_ca_sha256)  # only while the class uses its own CA
    out = c.state("handout.html")
    config.replace_file(out, page(names, address(c), known, ca), 0o600)
    say(f"handout for {len(names)} students (one card each, keep it private: it holds their passwords): {out}")
    return out


def main(args):
    if args:
        die("usage: python3 -m classroom handout (CLASS_URL=... in the environment or the configuration)")
    write(load())
