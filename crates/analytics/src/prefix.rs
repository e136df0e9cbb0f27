//! A read-only IPv4 longest-prefix-match index for serving: prefixes are
//! flattened into disjoint ranges (the most specific prefix wins), and a
//! table on the first 20 bits narrows each lookup to one or two ranges. Built once from a snapshot, swapped in whole.

use std::net::Ipv4Addr;

/// Maps IPv4 addresses to the value of the longest prefix that covers them.
#[derive(Debug, Clone)]
pub struct PrefixIndex<V> {
    /// Ranges as (start, slot), sorted by start; range `i` runs to the next
    /// start − 1, its slot is a value index or `u32::MAX` for a gap. Kept
    /// side by side so one cache line serves a lookup.
    ranges: Vec<(u32, u32)>,
    /// For each /16, the first range that may hold its addresses.
    buckets: Vec<u32>,
    values: Vec<V>,
}

const GAP: u32 = u32::MAX;

/// Bits of the address that index the first-level table (4 MiB of u32).
const BUCKET_BITS: u32 = 20;

impl<V> PrefixIndex<V> {
    /// Builds the index from `(network, length, value)`; host bits are
    /// ignored, and of equal prefixes the last one wins.
    pub fn build(prefixes: Vec<(Ipv4Addr, u8, V)>) -> PrefixIndex<V> {
        let mut items: Vec<(u32, u32, u8, usize)> = Vec::with_capacity(prefixes.len());
        let mut values = Vec::with_capacity(prefixes.len());
        for (i, (net, len, value)) in prefixes.into_iter().enumerate() {
            let len = len.min(32);
            let mask = if len == 0 { 0 } else { u32::MAX << (32 - u32::from(len)) };
            let lo = u32::from(net) & mask;
            items.push((lo, lo | !mask, len, i));
            values.push(value);
        }
        // Sweep boundaries in address order with a stack of open prefixes;
        // the innermost (longest) open prefix owns each stretch.
        items.sort_by_key(|&(lo, _, len, i)| (lo, len, i));
        let mut starts: Vec<u32> = Vec::with_capacity(items.len() * 2 + 1);
        let mut slots: Vec<u32> = Vec::with_capacity(items.len() * 2 + 1);
        let push = |start: u32, slot: u32, starts: &mut Vec<u32>, slots: &mut Vec<u32>| {
            if starts.last() == Some(&start) {
                *slots.last_mut().unwrap_or(&mut 0) = slot;
            } else if slots.last() != Some(&slot) {
                starts.push(start);
                slots.push(slot);
            }
        };
        let mut open: Vec<(u32, u32)> = Vec::new(); // (end, slot)
        push(0, GAP, &mut starts, &mut slots);
        let close_until = |limit: u64, open: &mut Vec<(u32, u32)>, starts: &mut Vec<u32>, slots: &mut Vec<u32>| {
            while let Some(&(end, _)) = open.last() {
                if u64::from(end) >= limit {
                    break;
                }
                open.pop();
                if end < u32::MAX {
                    let slot = open.last().map_or(GAP, |&(_, s)| s);
                    push(end + 1, slot, starts, slots);
                }
            }
        };
        for &(lo, hi, _, i) in &items {
            close_until(u64::from(lo), &mut open, &mut starts, &mut slots);
            push(lo, i as u32, &mut starts, &mut slots);
            open.push((hi, i as u32));
        }
        close_until(u64::MAX, &mut open, &mut starts, &mut slots);
        let ranges: Vec<(u32, u32)> = starts.iter().copied().zip(slots.iter().copied()).collect();
        let mut buckets = vec![0u32; 1 << BUCKET_BITS];
        let mut r = 0usize;
        for (b, bucket) in buckets.iter_mut().enumerate() {
            let first = (b as u32) << (32 - BUCKET_BITS);
            while r + 1 < starts.len() && starts[r + 1] <= first {
                r += 1;
            }
            *bucket = r as u32;
        }
        PrefixIndex { ranges, buckets, values }
    }

    /// The value of the longest prefix covering `ip`.
    #[inline]
    pub fn get(&self, ip: Ipv4Addr) -> Option<&V> {
        let k = u32::from(ip);
        // The bucket's first range starts at or before `k`; the few ranges
        // that begin inside the bucket are stepped over linearly.
        let mut r = self.buckets[(k >> (32 - BUCKET_BITS)) as usize] as usize;
        while r + 1 < self.ranges.len() && self.ranges[r + 1].0 <= k {
            r += 1;
        }
        let slot = self.ranges[r].1;
        (slot != GAP).then(|| &self.values[slot as usize])
    }

    /// Memory of the lookup structures, without the values.
    pub fn index_bytes(&self) -> usize {
        self.ranges.len() * 8 + self.buckets.len() * 4
    }

    pub fn len(&self) -> usize {
        self.values.len()
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> Ipv4Addr {
        s.parse().unwrap()
    }

    /// The obvious implementation, to compare against.
    fn naive(prefixes: &[(Ipv4Addr, u8, u32)], k: Ipv4Addr) -> Option<&u32> {
        prefixes
            .iter()
            .enumerate()
            .filter(|(_, (net, len, _))| {
                let mask = if *len == 0 { 0 } else { u32::MAX << (32 - u32::from(*len)) };
                u32::from(*net) & mask == u32::from(k) & mask
            })
            .max_by_key(|(i, (_, len, _))| (*len, *i))
            .map(|(_, (_, _, v))| v)
    }

    #[test]
    fn longest_prefix_wins_and_gaps_are_empty() {
        let p = vec![(ip("10.0.0.0"), 8, 1), (ip("10.1.0.0"), 16, 2), (ip("10.1.2.0"), 24, 3), (ip("10.1.2.3"), 32, 4)];
        let idx = PrefixIndex::build(p);
        assert_eq!(idx.get(ip("10.9.9.9")), Some(&1));
        assert_eq!(idx.get(ip("10.1.9.9")), Some(&2));
        assert_eq!(idx.get(ip("10.1.2.9")), Some(&3));
        assert_eq!(idx.get(ip("10.1.2.3")), Some(&4));
        assert_eq!(idx.get(ip("10.1.2.4")), Some(&3));
        assert_eq!(idx.get(ip("11.0.0.0")), None);
        assert_eq!(idx.get(ip("9.255.255.255")), None);
        let all = PrefixIndex::build(vec![(ip("0.0.0.0"), 0, 7), (ip("255.255.255.255"), 32, 8)]);
        assert_eq!((all.get(ip("1.2.3.4")), all.get(ip("255.255.255.255"))), (Some(&7), Some(&8)));
    }

    #[test]
    fn agrees_with_a_naive_scan_on_random_nested_prefixes() {
        let mut x: u64 = 42;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let prefixes: Vec<(Ipv4Addr, u8, u32)> = (0..400)
            .map(|i| {
                let base = (next() as u32) & 0x0f0f_ffff; // clustered, so prefixes nest
                (Ipv4Addr::from(base), 8 + (next() % 25) as u8, i)
            })
            .collect();
        let idx = PrefixIndex::build(prefixes.clone());
        for _ in 0..20_000 {
            let k = Ipv4Addr::from((next() as u32) & 0x0f0f_ffff);
            assert_eq!(idx.get(k), naive(&prefixes, k), "{k}");
        }
    }
}
