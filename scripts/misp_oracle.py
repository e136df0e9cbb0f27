#!/usr/bin/env python3
"""Loads a MISP event with PyMISP (the reference client) and prints what it
read as JSON, for the tests to compare with what Dragnet wrote.

    scripts/misp_oracle.py EVENT.json
"""
import json
import sys

from pymisp import MISPEvent

event = MISPEvent()
event.load_file(sys.argv[1])
# A round trip through PyMISP's own serialiser must keep every attribute.
again = MISPEvent()
again.load(event.to_json())
print(json.dumps({
    "info": event.info,
    "tags": sorted(t.name for t in event.tags),
    "attributes": len(event.attributes),
    "objects": len(event.objects),
    "object_attributes": sum(len(o.attributes) for o in event.objects),
    "values": sorted([a.value for a in event.attributes] + [a.value for o in event.objects for a in o.attributes]),
    "round_trip_values": len(again.attributes) + sum(len(o.attributes) for o in again.objects),
    "object_names": sorted({o.name for o in event.objects}),
}))
