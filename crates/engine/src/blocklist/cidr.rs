//! IPs and networks merged into the smallest exact CIDR cover: the same
//! addresses, no more, in as few blocks as a prefix list can hold them.
//! Sorting is the only super-linear step.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// A block of addresses: its first address and prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Block {
    pub v6: bool,
    pub start: u128,
    pub len: u8,
}

impl Block {
    fn bits(v6: bool) -> u8 {
        if v6 { 128 } else { 32 }
    }

    pub fn address(&self) -> IpAddr {
        if self.v6 {
            IpAddr::V6(Ipv6Addr::from(self.start))
        } else {
            // A v4 block's start is below 2^32 by construction.
            IpAddr::V4(Ipv4Addr::from(u32::try_from(self.start).unwrap_or(u32::MAX)))
        }
    }

    pub fn is_host(&self) -> bool {
        self.len == Block::bits(self.v6)
    }

    /// The last address of the block.
    fn end(&self) -> u128 {
        let host_bits = u32::from(Block::bits(self.v6) - self.len);
        self.start | mask(host_bits)
    }
}

impl std::fmt::Display for Block {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.address(), self.len)
    }
}

/// The low `bits` bits set.
fn mask(bits: u32) -> u128 {
    if bits >= 128 { u128::MAX } else { (1u128 << bits) - 1 }
}

/// An address (`198.51.100.7`) or a network (`198.51.100.0/24`) as a
/// block, host bits cleared; `None` for anything else.
pub fn parse(value: &str) -> Option<Block> {
    let (address, len) = match value.split_once('/') {
        Some((a, l)) => (a, Some(l.parse::<u8>().ok()?)),
        None => (value, None),
    };
    let (v6, start) = match address.parse::<IpAddr>().ok()? {
        IpAddr::V4(a) => (false, u128::from(u32::from(a))),
        IpAddr::V6(a) => (true, u128::from(a)),
    };
    let bits = Block::bits(v6);
    let len = len.unwrap_or(bits);
    if len > bits {
        return None;
    }
    Some(Block { v6, start: start & !mask(u32::from(bits - len)), len })
}

/// The smallest list of blocks holding exactly the addresses of `blocks`:
/// IPv4 first, then IPv6, each in address order.
pub fn cover(blocks: impl IntoIterator<Item = Block>) -> Vec<Block> {
    let mut ranges: Vec<(bool, u128, u128)> = blocks.into_iter().map(|b| (b.v6, b.start, b.end())).collect();
    ranges.sort_unstable();
    let mut merged: Vec<(bool, u128, u128)> = Vec::with_capacity(ranges.len());
    for (v6, start, end) in ranges {
        match merged.last_mut() {
            // Overlapping or adjacent (end + 1 == start) in the same family.
            Some((last_v6, _, last_end)) if *last_v6 == v6 && (*last_end == u128::MAX || start <= *last_end + 1) => {
                *last_end = (*last_end).max(end);
            }
            _ => merged.push((v6, start, end)),
        }
    }
    let mut out = Vec::with_capacity(merged.len());
    for (v6, start, end) in merged {
        split_range(v6, start, end, &mut out);
    }
    out
}

/// The fewest aligned blocks that tile [start, end]: at each step the
/// largest block that starts at `start` (its alignment) and ends by `end`.
fn split_range(v6: bool, mut start: u128, end: u128, out: &mut Vec<Block>) {
    let bits = u32::from(Block::bits(v6));
    loop {
        let aligned = start.trailing_zeros().min(bits);
        // Host bits of the largest block that fits: floor(log2(end - start + 1)).
        let room = match (end - start).checked_add(1) {
            Some(count) => 127 - count.leading_zeros(),
            None => 128,
        };
        let host_bits = aligned.min(room).min(bits);
        let len = u8::try_from(bits - host_bits).unwrap_or(0);
        out.push(Block { v6, start, len });
        let last = start | mask(host_bits);
        if last >= end {
            return;
        }
        start = last + 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn covered(values: &[&str]) -> Vec<String> {
        cover(values.iter().map(|v| parse(v).unwrap())).iter().map(Block::to_string).collect()
    }

    #[test]
    fn neighbours_merge_and_nothing_is_added() {
        assert_eq!(covered(&["10.0.0.0", "10.0.0.1"]), ["10.0.0.0/31"]);
        assert_eq!(covered(&["10.0.0.1", "10.0.0.2"]), ["10.0.0.1/32", "10.0.0.2/32"], "not aligned: no /30");
        assert_eq!(covered(&["10.0.0.0/25", "10.0.0.128/25", "10.0.0.7"]), ["10.0.0.0/24"]);
        assert_eq!(covered(&["10.0.0.0/24", "10.0.1.0/24", "10.0.2.0/24"]), ["10.0.0.0/23", "10.0.2.0/24"]);
        assert_eq!(covered(&["10.0.0.5/24"]), ["10.0.0.0/24"], "host bits are cleared");
        assert_eq!(covered(&["0.0.0.0/0", "1.2.3.4"]), ["0.0.0.0/0"]);
        assert_eq!(covered(&["2001:db8::1", "10.0.0.1", "2001:db8::"]), ["10.0.0.1/32", "2001:db8::/127"]);
        assert_eq!(covered(&["::/0", "2001:db8::/32"]), ["::/0"]);
        assert_eq!(covered(&["255.255.255.255", "255.255.255.254"]), ["255.255.255.254/31"]);
        assert_eq!(
            covered(&["ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"]),
            ["ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128"]
        );
        assert!(parse("10.0.0.0/33").is_none() && parse("example.com").is_none() && parse("1.2.3.4/x").is_none());
    }

    /// The cover holds exactly the addresses given, checked address by
    /// address over a small space, and no two blocks could be one.
    #[test]
    fn the_cover_is_exact_and_minimal_on_random_sets() {
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for _ in 0..300 {
            let mut wanted = [false; 256];
            let mut blocks = Vec::new();
            for _ in 0..(next() % 12) {
                let len = 24 + (next() % 9) as u8;
                let start = u128::from(0x0a00_0000u32 | (next() % 256) as u32);
                let b = parse(&format!("{}/{len}", Ipv4Addr::from(u32::try_from(start).unwrap()))).unwrap();
                for a in b.start..=b.end() {
                    wanted[(a & 0xff) as usize] = true;
                }
                blocks.push(b);
            }
            let got = cover(blocks);
            let mut have = [false; 256];
            for b in &got {
                for a in b.start..=b.end() {
                    assert!(!have[(a & 0xff) as usize], "blocks overlap: {got:?}");
                    have[(a & 0xff) as usize] = true;
                }
            }
            assert_eq!(have, wanted);
            for pair in got.windows(2) {
                let (a, b) = (pair[0], pair[1]);
                let mergeable =
                    a.len == b.len && a.end() + 1 == b.start && a.start.trailing_zeros() > u32::from(32 - a.len);
                assert!(!mergeable, "{a} and {b} could be one block");
            }
        }
    }
}
