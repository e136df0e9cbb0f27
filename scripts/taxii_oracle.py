#!/usr/bin/env python3
"""Drives a TAXII 2.1 server with taxii2-client (the OASIS client library):
discovery, API root, collections, every object page by page, then a POST
to a writable collection and its status. Prints what it saw as JSON.

    scripts/taxii_oracle.py BASE_URL TOKEN PAGE_SIZE
"""
import json
import sys

import requests
from taxii2client.v21 import Collection, Server, Status, as_pages


class Bearer(requests.auth.AuthBase):
    def __init__(self, token):
        self.token = token

    def __call__(self, request):
        request.headers["Authorization"] = f"Bearer {self.token}"
        return request


base, token, per_page = sys.argv[1], sys.argv[2], int(sys.argv[3])
auth = Bearer(token)
server = Server(f"{base}/taxii2/", auth=auth)
out = {"title": server.title, "api_roots": [], "collections": {}, "posted": None}
for root in server.api_roots:
    out["api_roots"].append(root.url)
    for c in root.collections:
        entry = {"can_read": c.can_read, "can_write": c.can_write, "objects": 0, "pages": 0, "ids": []}
        if c.can_read:
            collection = Collection(c.url, auth=auth)
            for envelope in as_pages(collection.get_objects, per_request=per_page):
                entry["pages"] += 1
                for o in envelope.get("objects", []):
                    entry["objects"] += 1
                    entry["ids"].append(o["id"])
            entry["manifest"] = len(collection.get_manifest().get("objects", []))
        out["collections"][c.title] = entry
        if c.can_write and out["posted"] is None:
            collection = Collection(c.url, auth=auth)
            indicator = {
                "type": "indicator", "spec_version": "2.1",
                "id": "indicator--6b2d8b5f-4f0c-4b5e-9d5e-0a4a4a0b9d11",
                "created": "2024-05-01T00:00:00.000Z", "modified": "2024-05-01T00:00:00.000Z",
                "pattern": "[ipv4-addr:value = '45.66.77.88']", "pattern_type": "stix",
                "valid_from": "2024-05-01T00:00:00Z", "indicator_types": ["malicious-activity"],
            }
            status = collection.add_objects({"objects": [indicator]})
            polled = Status(f"{base}/taxii2/api/status/{status.id}/", auth=auth)
            polled.refresh()
            out["posted"] = {"status": polled.status, "success_count": polled.success_count,
                             "collection": c.title}
print(json.dumps(out))
