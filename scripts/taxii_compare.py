#!/usr/bin/env python3
"""Sends the same TAXII 2.1 requests to medallion (the OASIS reference
server, from PyPI) and to Dragnet, after posting the same envelope to a
writable collection of each, and compares the answers: status codes,
objects (as sets: the order of a page is not part of the contract),
manifests and versions without their `date_added` (each server stamps its
own), and the status resource of the POST.

    taxii_compare.py DATA_JSON MEDALLION_COLLECTION_URL USER:PASSWORD \
        DRAGNET_COLLECTION_URL TOKEN

DATA_JSON is medallion's default_data.json: the objects of its "High Value
Indicator Collection" are the envelope. Prints one line per request and
exits 1 if any answer differs in a way docs/taxii.md does not list.
"""
import base64
import json
import sys
import urllib.error
import urllib.request

TAXII = "application/taxii+json;version=2.1"
SOURCE_COLLECTION = "91a7b528-80eb-42ed-a74d-c6fbd5a26116"
VERSIONED = "indicator--6770298f-0fd8-471a-ab8c-1c658a46574e"
MALWARE = "malware--c0931cc6-c75e-47e5-9036-78fabc95d4ec"
MISSING = "indicator--00000000-0000-4000-8000-000000000000"

# (path under the collection, how to compare the answers)
REQUESTS = [
    ("objects/", "objects"),
    ("objects/?match[type]=indicator", "objects"),
    ("objects/?match[type]=indicator,malware", "objects"),
    (f"objects/?match[id]={VERSIONED}", "objects"),
    (f"objects/?match[id]={VERSIONED}&match[version]=all", "objects"),
    (f"objects/?match[id]={VERSIONED}&match[version]=first", "objects"),
    (f"objects/?match[id]={VERSIONED}&match[version]=last", "objects"),
    (f"objects/?match[id]={VERSIONED}&match[version]=2016-12-25T12:30:59.444Z", "objects"),
    ("objects/?match[version]=all", "objects"),
    ("objects/?match[spec_version]=2.1", "objects"),
    ("objects/?match[type]=campaign", "objects"),
    (f"objects/{VERSIONED}/", "objects"),
    (f"objects/{VERSIONED}/?match[version]=all", "objects"),
    (f"objects/{MALWARE}/?match[version]=all", "objects"),
    (f"objects/{MISSING}/", "status"),
    (f"objects/{VERSIONED}/versions/", "versions"),
    (f"objects/{MISSING}/versions/", "status"),
    ("manifest/", "manifest"),
    ("manifest/?match[type]=indicator&match[version]=all", "manifest"),
    ("objects/?limit=2", "paged"),
]


def call(url, auth, method="GET", body=None):
    request = urllib.request.Request(url, method=method, data=body)
    request.add_header("Accept", TAXII)
    request.add_header("Authorization", auth)
    if body is not None:
        request.add_header("Content-Type", TAXII)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, None


def canonical(objects):
    return sorted(json.dumps(o, sort_keys=True) for o in objects or [])


def manifest(body):
    return sorted((m["id"], m["version"], m["media_type"]) for m in (body or {}).get("objects", []))


def paged(base, path, auth):
    """Every object reached by following `next` (limit in the path)."""
    seen, url, pages = [], base + path, 0
    while pages < 100:
        status, body = call(url, auth)
        if status != 200:
            return status, None
        seen.extend((body or {}).get("objects", []))
        pages += 1
        if not body.get("more"):
            return status, canonical(seen)
        url = base + path + "&next=" + urllib.request.quote(body["next"])
    return status, "did not end"


def answer(base, path, kind, auth):
    if kind == "paged":
        return paged(base, path, auth)
    status, body = call(base + path, auth)
    if kind == "objects":
        return status, canonical((body or {}).get("objects"))
    if kind == "manifest":
        return status, manifest(body)
    if kind == "versions":
        return status, sorted((body or {}).get("versions", []))
    return status, None


def main():
    data, medallion, user, dragnet, token = sys.argv[1:6]
    medallion, dragnet = medallion.rstrip("/") + "/", dragnet.rstrip("/") + "/"
    objects = next(c for c in json.load(open(data))["trustgroup1"]["collections"] if c["id"] == SOURCE_COLLECTION)
    envelope = json.dumps({"objects": objects["objects"]}).encode()
    m_auth = "Basic " + base64.b64encode(user.encode()).decode()
    d_auth = "Bearer " + token
    differences = 0
    m_status, m_body = call(medallion + "objects/", m_auth, "POST", envelope)
    d_status, d_body = call(dragnet + "objects/", d_auth, "POST", envelope)
    counts = ("total_count", "success_count", "failure_count", "pending_count")
    same = (m_status, [m_body.get(k) for k in counts]) == (d_status, [d_body.get(k) for k in counts])
    print(f"{'same' if same else 'DIFFERENT'}  POST objects/: medallion {m_status} {[m_body.get(k) for k in counts]}, "
          f"dragnet {d_status} {[d_body.get(k) for k in counts]}")
    differences += not same
    for path, kind in REQUESTS:
        m = answer(medallion, path, kind, m_auth)
        d = answer(dragnet, path, kind, d_auth)
        same = m == d
        differences += not same
        print(f"{'same' if same else 'DIFFERENT'}  GET {path}: medallion {m[0]}, dragnet {d[0]}")
        if not same:
            print(f"    medallion: {m[1]}\n    dragnet:   {d[1]}")
    print(f"{differences} of {len(REQUESTS) + 1} requests answered differently")
    sys.exit(1 if differences else 0)


if __name__ == "__main__":
    main()
