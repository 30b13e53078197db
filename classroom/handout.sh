#!/usr/bin/env bash
# make classroom-handout: a printable page with one card per student (the class's address, their login
# and password, and the fingerprint of the class's own CA when it made one), owner-only in $CLASSROOM_DIR.
# CLASS_URL: the address students open (default: the one the running class was started with).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[[ -r $CLASSROOM_DIR/passwords ]] || die "no passwords in $CLASSROOM_DIR yet: start the class first (make classroom)"
OUT=$CLASSROOM_DIR/handout.html
mapfile -t STUDENTS < <(roster_names)
URL=${CLASS_URL:-$(cat "$CLASSROOM_DIR/class-url" 2>/dev/null || class_url)}
CA_SHA256=$(cat "$CLASSROOM_DIR/class-ca.sha256" 2>/dev/null || true)  # only while the class uses its own CA
if ! (
  umask 077
  "$RUNTIME/venv/bin/python" - "$CLASSROOM_DIR/passwords" "$URL" "$CA_SHA256" "${STUDENTS[@]}" >"$OUT.tmp" <<'PY'
import html, sys
passwords = dict(line.split(" ", 1) for line in open(sys.argv[1]).read().splitlines() if " " in line)
url, ca, names = sys.argv[2], sys.argv[3], sys.argv[4:]
missing = [n for n in names if n not in passwords]
if missing:
    sys.exit(f"classroom: no password yet for {', '.join(missing)}: run make classroom first, then the handout")
e = html.escape
print('<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Class logins</title><style>'
      "body{font:14pt system-ui,sans-serif;margin:1cm}.card{display:inline-block;box-sizing:border-box;width:8.5cm;"
      "margin:0 .4cm .4cm 0;padding:.4cm;border:1px dashed #888;break-inside:avoid;vertical-align:top}"
      "code{font-size:1.1em}</style></head><body>")
for name in names:
    print(f'<div class="card" data-student="{e(name)}"><div>Open <code>{e(url)}</code></div>'
          f'<div>Login: <code class="login">{e(name)}</code></div>'
          f'<div>Password: <code class="password">{e(passwords[name])}</code></div>'
          + (f'<div>Class CA, SHA-256: <code class="ca">{e(ca)}</code></div>' if ca else "") + "</div>")
print("</body></html>")
PY
); then
  rm -f "$OUT.tmp"
  exit 1
fi
mv -f "$OUT.tmp" "$OUT"
say "handout for ${#STUDENTS[@]} students (one card each, keep it private: it holds their passwords): $OUT"
