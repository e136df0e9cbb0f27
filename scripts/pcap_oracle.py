#!/usr/bin/env python3
"""Writes NetFlow/IPFIX export packets into capture files with scapy, a
real third-party pcap writer, for crates/ingest/tests/netflow_samples.rs.

usage: pcap_oracle.py OUT_DIR FILE...
Each FILE's bytes become one UDP datagram (in the order given) from exporter
198.51.100.<index of its exporter group>, port 2055, one second apart from
1700000000.25. Written three ways: pcap (Ethernet with an 802.1Q tag),
pcap with nanosecond timestamps (Linux cooked SLL), pcapng (Ethernet).
Prints one JSON line per datagram: file, exporter, ts.
"""
import json
import os
import sys

from scapy.all import Dot1Q, Ether, IP, UDP, CookedLinux, wrpcap, wrpcapng

out, files = sys.argv[1], sys.argv[2:]
groups = {}
ether, cooked = [], []
for i, path in enumerate(files):
    name = os.path.basename(path)
    cut = min([name.find(m) for m in ("_tpl", "_data", "_opttpl", "_tplopt") if m in name] or [len(name)])
    exporter = "198.51.100.%d" % (1 + groups.setdefault(name[:cut], len(groups)))
    payload = open(path, "rb").read()
    ts = 1700000000.25 + i
    udp = IP(src=exporter, dst="192.0.2.1") / UDP(sport=40000 + i, dport=2055) / payload
    e = Ether() / Dot1Q(vlan=100) / udp
    e.time = ts
    c = CookedLinux() / udp
    c.time = ts
    ether.append(e)
    cooked.append(c)
    print(json.dumps({"file": name, "exporter": exporter, "ts": ts}))
wrpcap(os.path.join(out, "exports.pcap"), ether)
wrpcap(os.path.join(out, "exports-ns.pcap"), cooked, nano=True)
wrpcapng(os.path.join(out, "exports.pcapng"), ether)
