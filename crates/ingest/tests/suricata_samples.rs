//! The Slips Suricata EVE sample reads completely: 3,512 flows, 745 alerts,
//! 680 DNS, 56 HTTP and 1 TLS events, as its README states.

use dragnet_ingest::suricata::read_eve;

#[test]
fn slips_eve_sample_reads_with_the_stated_counts() {
    let Some(path) = dragnet_testkit::samples("suricata/test6-malicious.suricata.json") else { return };
    let raw = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let eve = read_eve(&raw).unwrap();
    assert!(eve.rejects.is_empty(), "{:?}", eve.rejects.first());
    assert_eq!(eve.conns.len(), 3512);
    assert_eq!(eve.alerts.len(), 745);
    let named_or_skipped = eve.names.len() as u64 + eve.dns.len() as u64 + eve.skipped;
    // 680 DNS + 56 HTTP + 1 TLS events, plus 3 anomaly and 3 fileinfo events skipped.
    assert_eq!(named_or_skipped, 680 + 56 + 1 + 6);
    assert!(eve.names.iter().any(|n| n.name == "www.myedimax.com"));
}
