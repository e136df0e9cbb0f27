#!/usr/bin/env python3
"""Times the same TAXII 2.1 reads against medallion and Dragnet holding the
same N indicators: a walk of the whole collection 100 objects a page, the
manifest's first page, one object by id, and a `match[type]` page.
Used by scripts/bench-taxii, which starts both servers.

    taxii_timing.py write-medallion-data N FILE       # medallion's data file
    taxii_timing.py post N DRAGNET_COLLECTION_URL TOKEN
    taxii_timing.py time NAME COLLECTION_URL AUTHORIZATION N
"""
import http.client
import json
import sys
import time
import urllib.parse
import uuid

TAXII = "application/taxii+json;version=2.1"
NAMESPACE = uuid.UUID("6ba7b811-9dad-11d1-80b4-00c04fd430c8")


def indicators(n):
    for i in range(n):
        address = f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}"
        created = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(1_700_000_000 + i))
        yield {
            "type": "indicator", "spec_version": "2.1",
            "id": f"indicator--{uuid.uuid5(NAMESPACE, address)}",
            "created": created, "modified": created, "name": f"C2 {address}",
            "pattern": f"[ipv4-addr:value = '{address}']", "pattern_type": "stix",
            "valid_from": created, "indicator_types": ["malicious-activity"],
        }


def write_medallion_data(n, path):
    objects = list(indicators(n))
    manifest = [{"id": o["id"], "date_added": o["created"].replace(".000Z", ".000000Z"), "version": o["modified"],
                 "media_type": "application/stix+json;version=2.1"} for o in objects]
    data = {
        "/discovery": {"title": "bench", "api_roots": ["http://127.0.0.1/bench/"], "default": "http://127.0.0.1/bench/"},
        "bench": {
            "information": {"title": "bench", "versions": [TAXII], "max_content_length": 100_000_000},
            "status": [],
            "collections": [{"id": "00000000-0000-4000-8000-000000000001", "title": "bench", "can_read": True,
                             "can_write": True, "media_types": ["application/stix+json;version=2.1"],
                             "objects": objects, "manifest": manifest}],
        },
    }
    with open(path, "w") as f:
        json.dump(data, f)


class Client:
    def __init__(self, url, authorization):
        self.url = urllib.parse.urlsplit(url)
        self.authorization = authorization
        self.connection = http.client.HTTPConnection(self.url.hostname, self.url.port, timeout=600)

    def request(self, method, path, body=None):
        headers = {"Accept": TAXII, "Authorization": self.authorization}
        if body is not None:
            headers["Content-Type"] = TAXII
        self.connection.request(method, self.url.path + path, body=body, headers=headers)
        response = self.connection.getresponse()
        data = response.read()
        if response.status >= 300:
            raise SystemExit(f"{method} {path}: {response.status} {data[:300]!r}")
        return json.loads(data or b"null")


def post(n, url, token):
    client = Client(url, "Bearer " + token)
    batch = []
    for o in indicators(n):
        batch.append(o)
        if len(batch) == 1000:
            client.request("POST", "objects/", json.dumps({"objects": batch}).encode())
            batch = []
    if batch:
        client.request("POST", "objects/", json.dumps({"objects": batch}).encode())


def timed(work):
    started = time.perf_counter()
    out = work()
    return time.perf_counter() - started, out


def walk(client):
    seen, pages, body = 0, 0, client.request("GET", "objects/?limit=100")
    while True:
        seen += len(body.get("objects", []))
        pages += 1
        if not body.get("more"):
            return seen, pages
        body = client.request("GET", "objects/?limit=100&next=" + urllib.parse.quote(body["next"]))


def time_reads(name, url, authorization, n):
    client = Client(url, authorization)
    some = next(o["id"] for i, o in enumerate(indicators(n)) if i == n // 2)
    seconds, (seen, pages) = timed(lambda: walk(client))
    assert seen == n, f"{name}: walked {seen} objects of {n}"
    reads = {
        "manifest page": lambda: client.request("GET", "manifest/?limit=100"),
        "one object by id": lambda: client.request("GET", f"objects/{some}/"),
        "match[type] page": lambda: client.request("GET", "objects/?limit=100&match[type]=indicator"),
    }
    row = {"server": name, "objects": n, "walk_s": round(seconds, 3), "pages": pages,
           "ms_per_page": round(1000 * seconds / pages, 2)}
    for label, read in reads.items():
        # Best of five, or of fewer when one read already takes seconds.
        times = []
        while len(times) < 5 and sum(times) < 5:
            times.append(timed(read)[0])
        row[label + " ms"] = round(1000 * min(times), 2)
    print(json.dumps(row))


if __name__ == "__main__":
    command = sys.argv[1]
    if command == "write-medallion-data":
        write_medallion_data(int(sys.argv[2]), sys.argv[3])
    elif command == "post":
        post(int(sys.argv[2]), sys.argv[3], sys.argv[4])
    elif command == "time":
        time_reads(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]))
