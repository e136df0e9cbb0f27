//! A burst of queries from one client, of two answer sizes and two
//! clients: the server sends equal-sized answers to one client as one
//! segmented send, and each query must still get its own datagram, whole,
//! with its own id. Run against the real server on loopback.

use std::collections::HashMap;
use std::net::UdpSocket;
use std::time::Duration;

use dragnet_dns::index::IndexBuilder;
use dragnet_dns::wire;

/// A query for `name` (type A) with id `id`.
fn query(id: u16, name: &str) -> Vec<u8> {
    wire::question(id, 0x0100, &wire::encode_name(name).unwrap(), wire::rtype::A)
}

#[test]
fn each_query_of_a_burst_gets_its_own_whole_answer() {
    let mut builder = IndexBuilder::with_capacity(1);
    builder.add_v4(
        u32::from(std::net::Ipv4Addr::new(192, 0, 2, 7)),
        32,
        dragnet_dns::index::code(dragnet_core::Category::BotnetC2),
    );
    let zone = dragnet_dns::Zone::new("bl.example", "localhost", "https://dragnet.example/{}").unwrap();
    let listening =
        dragnet_dns::serve("127.0.0.1:0".parse().unwrap(), dragnet_dns::Shared::new(vec![zone], builder.build(1)), 1)
            .unwrap();
    let clients = [UdpSocket::bind("127.0.0.1:0").unwrap(), UdpSocket::bind("127.0.0.1:0").unwrap()];
    for c in &clients {
        c.connect(listening.udp).unwrap();
        c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    }
    // Listed (an A answer) and unlisted (NXDOMAIN) alternate: two sizes.
    let names = ["7.2.0.192.bl.example", "8.2.0.192.bl.example"];
    let mut sizes: HashMap<(usize, &str), usize> = HashMap::new();
    for round in 0..20u16 {
        for client in &clients {
            for i in 0..60u16 {
                client.send(&query(round * 1000 + i, names[usize::from(i % 2)])).unwrap();
            }
        }
        for (c, client) in clients.iter().enumerate() {
            let mut seen = Vec::new();
            let mut buf = [0u8; 2048];
            for _ in 0..60 {
                let n = client.recv(&mut buf).expect("every query is answered");
                let answer = &buf[..n];
                let id = u16::from_be_bytes([answer[0], answer[1]]);
                assert!(id / 1000 == round, "an answer of another round: {id}");
                let name = names[usize::from(id % 2)];
                // The question is echoed whole: the datagram was not cut or run together.
                assert_eq!(&answer[12..12 + query(0, name).len() - 12], &query(0, name)[12..], "{id}");
                let rcode = answer[3] & 0x0f;
                assert_eq!(rcode, if id % 2 == 0 { 0 } else { 3 }, "listed answers, unlisted NXDOMAIN: {id}");
                let size = sizes.entry((c, name)).or_insert(n);
                assert_eq!(*size, n, "answers to one name are one size");
                seen.push(id);
            }
            seen.sort_unstable();
            assert_eq!(seen, (0..60).map(|i| round * 1000 + i).collect::<Vec<_>>());
        }
    }
}
