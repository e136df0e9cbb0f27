//! The DNS packet handler's fuzz invariants, kept apart from `lib.rs`
//! (whose targets the engine's tests replay) because the DNS edge depends
//! on the engine, not the other way round; `crates/dns/tests` replays these.

use std::sync::OnceLock;

use dragnet_dns::index::{Index, IndexBuilder, Rpz};
use dragnet_dns::{Zone, respond_all, respond_in, transfer, wire};

fn fixture() -> &'static (Vec<Zone>, Index) {
    static FIXTURE: OnceLock<(Vec<Zone>, Index)> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let dnsbl = Zone::new("dnsbl.example.org", "ns1.example.org", "https://dragnet.example/lookup/{}")
            .expect("a valid zone");
        let rpz = Zone::rpz("rpz.example.org", "ns1.example.org").expect("a valid zone");
        let mut b = IndexBuilder::default();
        b.add_v4(u32::from_be_bytes([45, 10, 1, 7]), 32, 6);
        b.add_v4(u32::from_be_bytes([45, 20, 0, 0]), 16, 9);
        b.add_v6(0x2a01_04f8_0010_0000_0000_0000_0000_0001, 128, 8);
        let mut index = b.build(1);
        index.rpz = Rpz::from_names(["c2.example", "*.c2.example", "32.7.1.10.45.rpz-ip"], 2);
        (vec![dnsbl, rpz], index)
    })
}

/// Queries the fuzzed message is batched with: a listed address, an
/// unlisted one, the listed test point and a listed network's address.
fn lookups() -> &'static [Vec<u8>] {
    static LOOKUPS: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    LOOKUPS.get_or_init(|| {
        ["7.1.10.45", "8.1.10.45", "2.0.0.127", "9.9.20.45"]
            .iter()
            .map(|host| {
                let name = wire::encode_name(&format!("{host}.dnsbl.example.org")).expect("a valid name");
                wire::question(0xabcd, 0x0100, &name, wire::rtype::A)
            })
            .collect()
    })
}

/// Any bytes as a query: never a panic; a message too short for a header
/// or itself a response gets nothing; every answer echoes the id, is a
/// response, and fits a plain UDP datagram; a transfer's messages do too
/// (but for their size); in a batch, each message gets the answer it gets
/// alone.
pub fn packet(data: &[u8]) {
    let (zones, index) = fixture();
    for m in transfer(data, zones, index).unwrap_or_default() {
        assert_eq!(m.get(..2), data.get(..2), "the id is echoed");
        assert!(m.get(2).is_some_and(|f| f & 0x80 != 0), "a response");
    }
    // In a batch, between listed, unlisted and test-point lookups and
    // beside its own halves, as the UDP loop answers it.
    let half = data.len() / 2;
    let mut parts: Vec<&[u8]> = lookups().iter().map(Vec::as_slice).collect();
    parts.insert(2, data);
    parts.extend([data.get(..half).unwrap_or_default(), data.get(half..).unwrap_or_default()]);
    let each: Vec<Option<Vec<u8>>> = parts.iter().map(|p| respond_in(p, zones, index)).collect();
    assert_eq!(respond_all(parts.iter().copied(), zones, index), each, "a batch is answered as each message alone");
    match each.get(2).cloned().flatten() {
        None => assert!(data.len() < 12 || data.get(2).is_some_and(|f| f & 0x80 != 0), "dropped a query"),
        Some(r) => {
            assert!(r.len() >= 12);
            assert_eq!(r.get(..2), data.get(..2), "the id is echoed");
            assert!(r.get(2).is_some_and(|f| f & 0x80 != 0), "a response");
            assert!(r.len() <= 512, "{} bytes", r.len());
        }
    }
}
