#!/usr/bin/env python3
"""Reads the messages an SMTP sink (aiosmtpd's Mailbox handler) stored in
a maildir, as a mail client would, and validates each attached X-ARF v4
report with the xarf package. Prints one JSON object per message:
{"from", "to", "subject", "message_id", "text", "report", "xarf_errors"}.

    scripts/smtp_sink_read.py MAILDIR
"""
import email
import email.policy
import json
import mailbox
import sys

from xarf import parse

out = []
for key, raw in mailbox.Maildir(sys.argv[1], factory=None, create=False).items():
    message = email.message_from_bytes(raw.as_bytes(), policy=email.policy.default)
    text, report, errors = None, None, []
    for part in message.iter_parts():
        if part.get_content_type() == "text/plain":
            text = part.get_content()
        elif part.get_content_type() == "application/json":
            body = part.get_content()
            body = body.decode("utf-8") if isinstance(body, bytes) else body
            report = json.loads(body)
            result = parse(body)
            errors = [f"{e.field}: {e.message}" for e in result.errors]
            if result.report is None and not errors:
                errors = ["the typed model refused it"]
    out.append({
        "from": str(message["From"]),
        "to": sorted(a.strip() for a in str(message["To"]).split(",")),
        "subject": str(message["Subject"]),
        "message_id": str(message["Message-ID"]),
        "text": text,
        "report": report,
        "xarf_errors": errors,
    })
out.sort(key=lambda m: m["message_id"])
print(json.dumps(out))
