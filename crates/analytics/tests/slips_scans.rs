//! Slips' port-scan fixtures (../shared/samples/zeek/slips/port-scans) are found.

use dragnet_analytics::filter::Filter;
use dragnet_analytics::scan::{ScanConfig, ScanKind, scans};
use dragnet_ingest::zeek;

fn conn_log(name: &str) -> Option<Vec<dragnet_core::telemetry::Conn>> {
    let path = dragnet_testkit::samples(&format!("zeek/slips/port-scans/{name}/conn.log"))?;
    let raw = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    Some(zeek::read_conn(&zeek::decompress(&raw).unwrap()).unwrap().conns)
}

#[test]
fn horizontal_scan_to_port_80_is_found() {
    let Some(conns) = conn_log("horizontal") else { return };
    let found = scans(&conns, &Filter::default(), &ScanConfig::default());
    let hit = found
        .iter()
        .find(|s| s.kind == ScanKind::Horizontal && s.src.to_string() == "10.0.2.112" && s.port == Some(80))
        .unwrap_or_else(|| panic!("no horizontal scan from 10.0.2.112 to :80 in {found:?}"));
    assert!(hit.targets > 5);
}

#[test]
fn vertical_scan_of_one_host_is_found() {
    let Some(conns) = conn_log("vertical") else { return };
    let found = scans(&conns, &Filter::default(), &ScanConfig::default());
    let hit = found
        .iter()
        .find(|s| s.kind == ScanKind::Vertical && s.src.to_string() == "192.168.1.9")
        .unwrap_or_else(|| panic!("no vertical scan from 192.168.1.9 in {found:?}"));
    assert_eq!(hit.dst.map(|d| d.to_string()).as_deref(), Some("45.33.32.156"));
    println!("{} ports, {} attempts", hit.targets, hit.attempts);
    assert!(hit.targets > 5);
}
