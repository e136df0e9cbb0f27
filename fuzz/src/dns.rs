//! The DNS packet handler's fuzz invariants, kept apart from `lib.rs`
//! (whose targets the engine's tests replay) because the DNS edge depends
//! on the engine, not the other way round; `crates/dns/tests` replays these.

use std::sync::OnceLock;

use dragnet_dns::index::{Index, IndexBuilder};
use dragnet_dns::{Zone, respond};

fn fixture() -> &'static (Zone, Index) {
    static FIXTURE: OnceLock<(Zone, Index)> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let zone = Zone::new("dnsbl.example.org", "ns1.example.org", "https://dragnet.example/lookup/{}")
            .expect("a valid zone");
        let mut b = IndexBuilder::default();
        b.add_v4(u32::from_be_bytes([45, 10, 1, 7]), 32, 6);
        b.add_v4(u32::from_be_bytes([45, 20, 0, 0]), 16, 9);
        b.add_v6(0x2a01_04f8_0010_0000_0000_0000_0000_0001, 128, 8);
        (zone, b.build(1))
    })
}

/// Any bytes as a query: never a panic; a message too short for a header
/// or itself a response gets nothing; every answer echoes the id, is a
/// response, and fits a plain UDP datagram.
pub fn packet(data: &[u8]) {
    let (zone, index) = fixture();
    match respond(data, zone, index) {
        None => assert!(data.len() < 12 || data.get(2).is_some_and(|f| f & 0x80 != 0), "dropped a query"),
        Some(r) => {
            assert!(r.len() >= 12);
            assert_eq!(r.get(..2), data.get(..2), "the id is echoed");
            assert!(r.get(2).is_some_and(|f| f & 0x80 != 0), "a response");
            assert!(r.len() <= 512, "{} bytes", r.len());
        }
    }
}
