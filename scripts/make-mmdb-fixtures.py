#!/usr/bin/env python3
"""Writes the small MaxMind DB fixtures of crates/analytics/tests/fixtures.

Made once with `pip install mmdb-writer netaddr` and committed; the tests do
not need Python. Documentation addresses only (RFC 5737, RFC 3849).
"""
import os
from mmdb_writer import MMDBWriter, MmdbU32
from netaddr import IPSet

out = os.path.join(os.path.dirname(__file__), "..", "crates", "analytics", "tests", "fixtures")

asn = MMDBWriter(ip_version=6, database_type="GeoLite2-ASN", languages=["en"], description="dragnet fixture", ipv4_compatible=True)
asn.insert_network(IPSet(["192.0.2.0/24"]), {"autonomous_system_number": MmdbU32(64500), "autonomous_system_organization": "Example Hosting"})
asn.insert_network(IPSet(["198.51.100.0/25"]), {"autonomous_system_number": MmdbU32(64501), "autonomous_system_organization": "Bulletproof Ltd"})
asn.insert_network(IPSet(["2001:db8:40::/48"]), {"autonomous_system_number": MmdbU32(64502), "autonomous_system_organization": "V6 Transit"})
asn.to_db_file(os.path.join(out, "asn.mmdb"))

country = MMDBWriter(ip_version=6, database_type="GeoLite2-Country", languages=["en"], description="dragnet fixture", ipv4_compatible=True)
country.insert_network(IPSet(["192.0.2.0/24"]), {"country": {"iso_code": "NL", "names": {"en": "Netherlands"}}})
country.insert_network(IPSet(["198.51.100.128/25"]), {"country_code": "de"})
country.insert_network(IPSet(["2001:db8:40::/48"]), {"country": {"iso_code": "SE"}})
country.to_db_file(os.path.join(out, "country.mmdb"))
