#!/usr/bin/env python3
"""Validates XARF v4 reports (one JSON object a line) with the xarf package,
the format's reference library, and prints what it read as JSON.

    scripts/xarf_oracle.py REPORTS.jsonl
"""
import json
import sys

from xarf import parse
from xarf.parser import _REPORT_ADAPTER

kinds = []
for number, line in enumerate(open(sys.argv[1], encoding="utf-8"), 1):
    if not line.strip():
        continue
    result = parse(line)
    if result.errors or result.report is None:
        for e in result.errors:
            print(f"line {number}: {e.field}: {e.message}", file=sys.stderr)
        if result.report is None and not result.errors:
            # The schema passed but the typed model refused it: say why.
            try:
                _REPORT_ADAPTER.validate_python(json.loads(line))
            except Exception as e:  # noqa: BLE001 - the reason is the output
                print(f"line {number}: {e}", file=sys.stderr)
        sys.exit(1)
    kinds.append(f"{result.report.category}/{result.report.type}")
print(json.dumps({"reports": len(kinds), "kinds": sorted(set(kinds))}))
