"""Oracle for Dragnet's warninglist matching: reads JSON lines
{"list": PATH, "value": VALUE} on stdin and prints, for each, whether
pymispwarninglists' full search finds VALUE on the list at PATH ("1"/"0")."""
import json
import sys

from pymispwarninglists.api import WarningList

lists = {}
for line in sys.stdin:
    probe = json.loads(line)
    path = probe["list"]
    if path not in lists:
        with open(path) as f:
            lists[path] = WarningList(json.load(f), slow_search=True)
    print("1" if probe["value"] in lists[path] else "0")
