#!/usr/bin/env bash
# Prints the mail a capstone wrote to files (no SMTP_URL set), decoded: the newest first.
# The .eml files are what an SMTP server would have received, so their text is encoded
# (quoted-printable: long lines, links included, are split with `=` and `=` is `=3D`);
# this shows the headers that matter and the text part as a reader would see it.
#
#   scripts/read-mail.sh            # the newest mail in ./var/mail
#   scripts/read-mail.sh 3          # the three newest
#   MAIL_DIR=/tmp/mail scripts/read-mail.sh
set -euo pipefail
count="${1:-1}"
dir="${MAIL_DIR:-var/mail}"
[ -d "$dir" ] || { echo "no mail directory at $dir (has the app sent anything yet?)" >&2; exit 1; }
ls -t "$dir"/*.eml 2>/dev/null | head -n "$count" | python3 -c '
import email, email.policy, sys
for path in sys.stdin.read().split():
    with open(path, "rb") as f:
        m = email.message_from_binary_file(f, policy=email.policy.default)
    print(f"== {path}")
    for h in ("Date", "From", "To", "Subject", "List-Unsubscribe"):
        if m[h]:
            print(f"{h}: {m[h]}")
    body = m.get_body(("plain",))
    print()
    print((body.get_content() if body else "(no text part)").rstrip())
    print()
'
