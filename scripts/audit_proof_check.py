#!/usr/bin/env python3
"""Checks a `dragnet audit proof` the way an outside auditor would, with
nothing of Dragnet's code: RFC 6962 / RFC 9162 hashing from hashlib and the
tree head's ed25519 signature from the `cryptography` package.

    dragnet audit proof N > proof.json
    scripts/audit_proof_check.py proof.json [TRUSTED_PUBLIC_KEY_HEX]

Exits 0 and prints "ok" when the entry is in the signed tree; 1 otherwise.
"""
import hashlib
import json
import struct
import sys

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey


def sha256(*parts: bytes) -> bytes:
    h = hashlib.sha256()
    for p in parts:
        h.update(p)
    return h.digest()


def leaf_data(proof: dict, at_seconds: int) -> bytes:
    # seq and time as 8-byte big-endian, then each text as a 4-byte length and its UTF-8.
    out = struct.pack(">Qq", proof["entry"], at_seconds)
    for field in ("actor", "action", "subject", "body"):
        raw = proof[field].encode("utf-8")
        out += struct.pack(">I", len(raw)) + raw
    return out


def root_from_path(leaf: bytes, index: int, size: int, path: list) -> bytes:
    # RFC 9162, 2.1.3.2.
    if index >= size:
        raise ValueError("index beyond the tree")
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            raise ValueError("path longer than the tree is deep")
        if fn & 1 or fn == sn:
            r = sha256(b"\x01", p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = sha256(b"\x01", r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ValueError("path shorter than the tree is deep")
    return r


def main() -> int:
    proof = json.load(open(sys.argv[1]))
    head = proof["tree_head"]
    data = bytes.fromhex(proof["leaf_data"])
    (at_seconds,) = struct.unpack(">q", data[8:16])
    if data != leaf_data(proof, at_seconds):
        print("the leaf data is not the entry shown")
        return 1
    leaf = sha256(b"\x00", data)
    if leaf.hex() != proof["leaf_hash"]:
        print("the leaf hash is not SHA-256(0x00 || leaf data)")
        return 1
    path = [bytes.fromhex(h) for h in proof["path"]]
    root = root_from_path(leaf, proof["leaf_index"], proof["tree_size"], path)
    if root.hex() != head["root"]:
        print("the path does not lead to the signed root")
        return 1
    signed = bytes.fromhex(proof["signed"])
    # RFC 6962 TreeHeadSignature: version 0, type tree_hash, ms, size, root.
    if signed[:2] != b"\x00\x01" or struct.unpack(">Q", signed[10:18])[0] != proof["tree_size"] or signed[18:] != root:
        print("the signed bytes are not this tree head")
        return 1
    key = bytes.fromhex(head["key"])
    if len(sys.argv) > 2 and key != bytes.fromhex(sys.argv[2]):
        print("signed by another key")
        return 1
    try:
        Ed25519PublicKey.from_public_bytes(key).verify(bytes.fromhex(head["signature"]), signed)
    except InvalidSignature:
        print("bad signature")
        return 1
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
