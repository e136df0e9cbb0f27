//! The serving index: every listed address range, IPv4 and IPv6 apart,
//! flattened into disjoint ranges sorted by start, each with the code of
//! the most specific listing that covers it. A lookup is one binary search.

use dragnet_core::Category;

/// An answer code: the last octet of `127.0.0.x`.
pub type Code = u8;

/// The code a category answers with: 127.0.0.2 for the first, and so on
/// (`docs/protect.md` has the table).
pub fn code(category: Category) -> Code {
    let position = Category::ALL.iter().position(|c| *c == category).unwrap_or(Category::ALL.len() - 1);
    // Nine categories: 2 to 10.
    2 + u8::try_from(position).unwrap_or(0)
}

/// The category an answer code stands for.
pub fn category(code: Code) -> Option<Category> {
    Category::ALL.get(usize::from(code.checked_sub(2)?)).copied()
}

/// Disjoint ranges of one family, sorted, in three parallel vectors (so an
/// IPv4 entry costs 4 + 4 + 1 bytes), and a table by the address's top 16
/// bits of where each bucket's ranges begin: a lookup binary-searches a
/// few entries of one bucket instead of the whole list, so it touches
/// three cache lines rather than twenty.
#[derive(Debug, Clone, Default)]
struct Ranges<T> {
    starts: Vec<T>,
    ends: Vec<T>,
    codes: Vec<Code>,
    /// `buckets[b]`: the first range whose start's top 16 bits are ≥ b
    /// (65,537 entries; empty until built).
    buckets: Vec<u32>,
    /// How far to shift an address (as u128) right for its top 16 bits.
    shift: u32,
}

impl<T: Copy + Ord + Into<u128>> Ranges<T> {
    fn bucket(&self, address: T) -> usize {
        usize::try_from(Into::<u128>::into(address) >> self.shift).unwrap_or(0)
    }

    /// Fills the bucket table once the ranges are in place.
    fn with_buckets(mut self, shift: u32) -> Ranges<T> {
        self.shift = shift;
        let mut buckets = Vec::with_capacity(65_537);
        let mut i = 0;
        for b in 0..=65_536usize {
            while self.starts.get(i).is_some_and(|s| self.bucket(*s) < b) {
                i += 1;
            }
            buckets.push(u32::try_from(i).unwrap_or(u32::MAX));
        }
        self.buckets = buckets;
        self
    }

    fn find(&self, address: T) -> Option<Code> {
        let (first, last) = self.span(address);
        self.covering(self.last_start(first, last, address)?, address)
    }

    /// [`Ranges::find`] for many addresses, one level of the index at a
    /// time across all of them: each level's reads are independent of one
    /// another, so the processor has many cache misses in flight at once
    /// where one lookup after another would wait for each in turn.
    fn find_all(&self, addresses: &[T]) -> Vec<Option<Code>> {
        let spans: Vec<(usize, usize)> = addresses.iter().map(|a| self.span(*a)).collect();
        // Reading each bucket's first and last start brings its lines in.
        let touched = spans.iter().fold(0u128, |sum, &(first, last)| {
            let edge = |i: usize| self.starts.get(i).map_or(0, |s| Into::<u128>::into(*s));
            sum ^ edge(first) ^ edge(last.saturating_sub(1))
        });
        std::hint::black_box(touched);
        let found: Vec<Option<usize>> =
            addresses.iter().zip(&spans).map(|(a, &(first, last))| self.last_start(first, last, *a)).collect();
        addresses.iter().zip(found).map(|(a, i)| self.covering(i?, *a)).collect()
    }

    /// Where the ranges of `address`'s bucket are.
    fn span(&self, address: T) -> (usize, usize) {
        let b = self.bucket(address);
        match (self.buckets.get(b), self.buckets.get(b + 1)) {
            (Some(f), Some(l)) => (*f as usize, *l as usize),
            _ => (0, self.starts.len()),
        }
    }

    /// The last range starting at or before `address`, searched for in
    /// `first..last`; none found in the bucket, the last range starting
    /// before it (which may reach in).
    fn last_start(&self, first: usize, last: usize, address: T) -> Option<usize> {
        let within = self.starts.get(first..last)?.partition_point(|s| *s <= address);
        (first + within).checked_sub(1)
    }

    /// The code of range `i` if it covers `address`.
    fn covering(&self, i: usize, address: T) -> Option<Code> {
        (*self.ends.get(i)? >= address).then(|| self.codes.get(i).copied()).flatten()
    }

    fn len(&self) -> usize {
        self.starts.len()
    }

    fn bytes(&self) -> usize {
        self.starts.capacity() * 2 * std::mem::size_of::<T>() + self.codes.capacity() + self.buckets.capacity() * 4
    }
}

/// A response policy zone's triggers: owner names relative to the zone,
/// as wire labels without the final root label, sorted; each is
/// `CNAME .` (NXDOMAIN for what it names).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rpz {
    pub names: Vec<Vec<u8>>,
    pub serial: u32,
    /// The last changes, oldest first, for incremental transfers (IXFR).
    pub history: Vec<RpzDiff>,
}

/// What changed in the policy zone from one serial to the next.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RpzDiff {
    pub from: u32,
    pub to: u32,
    pub removed: Vec<Vec<u8>>,
    pub added: Vec<Vec<u8>>,
}

/// Changes kept for IXFR; a requester further behind gets the whole zone.
const HISTORY: usize = 16;

impl Rpz {
    /// Triggers from names written as text (`c2.example`, `*.c2.example`,
    /// `32.7.1.10.45.rpz-ip`); a name that is not plain DNS labels is left out.
    pub fn from_names<'a>(names: impl IntoIterator<Item = &'a str>, serial: u32) -> Rpz {
        let mut wire: Vec<Vec<u8>> = names
            .into_iter()
            .filter_map(|n| {
                let mut encoded = crate::wire::encode_name(n)?;
                encoded.pop();
                (!encoded.is_empty()).then_some(encoded)
            })
            .collect();
        wire.sort_unstable();
        wire.dedup();
        Rpz { names: wire, serial, history: Vec::new() }
    }

    /// Takes `older`'s history and the change from it to this zone (both
    /// sorted: one linear merge), keeping the last [`HISTORY`] changes.
    pub fn follow(&mut self, older: &Rpz) {
        let (mut removed, mut added) = (Vec::new(), Vec::new());
        let (mut old, mut new) = (older.names.iter().peekable(), self.names.iter().peekable());
        loop {
            match (old.peek(), new.peek()) {
                (Some(o), Some(n)) if o == n => {
                    old.next();
                    new.next();
                }
                (Some(o), Some(n)) if o < n => removed.extend(old.next().cloned()),
                (Some(_), Some(_)) | (None, Some(_)) => added.extend(new.next().cloned()),
                (Some(_), None) => removed.extend(old.next().cloned()),
                (None, None) => break,
            }
        }
        let mut history = older.history.clone();
        history.push(RpzDiff { from: older.serial, to: self.serial, removed, added });
        let excess = history.len().saturating_sub(HISTORY);
        history.drain(..excess);
        self.history = history;
    }

    /// The changes from `serial` to now, if they are all kept.
    pub fn since(&self, serial: u32) -> Option<&[RpzDiff]> {
        let start = self.history.iter().position(|d| d.from == serial)?;
        let chain = self.history.get(start..)?;
        let linked = chain.windows(2).all(|w| matches!(w, [a, b] if a.to == b.from));
        (linked && chain.last().is_some_and(|d| d.to == self.serial)).then_some(chain)
    }

    pub fn contains(&self, relative: &[u8]) -> bool {
        self.names.binary_search_by(|n| n.as_slice().cmp(relative)).is_ok()
    }
}

/// What the DNS zones answer from.
#[derive(Debug, Clone, Default)]
pub struct Index {
    v4: Ranges<u32>,
    v6: Ranges<u128>,
    /// The response policy zone's triggers.
    pub rpz: Rpz,
    /// The SOA serial: the time the listing reflects.
    pub serial: u32,
    /// Entries it was built from.
    pub entries: usize,
}

impl Index {
    pub fn find_v4(&self, address: u32) -> Option<Code> {
        self.v4.find(address)
    }

    /// [`Index::find_v4`] for a batch of addresses, faster than one by one.
    pub fn find_all_v4(&self, addresses: &[u32]) -> Vec<Option<Code>> {
        self.v4.find_all(addresses)
    }

    pub fn find_v6(&self, address: u128) -> Option<Code> {
        self.v6.find(address)
    }

    /// Disjoint ranges held.
    pub fn ranges(&self) -> usize {
        self.v4.len() + self.v6.len()
    }

    /// Heap bytes of the ranges.
    pub fn bytes(&self) -> usize {
        self.v4.bytes() + self.v6.bytes()
    }
}

/// Collects listings, then flattens them into an [`Index`].
#[derive(Debug, Default)]
pub struct IndexBuilder {
    v4: Vec<(u32, u32, Code)>,
    v6: Vec<(u128, u128, Code)>,
    entries: usize,
}

impl IndexBuilder {
    pub fn with_capacity(n: usize) -> IndexBuilder {
        IndexBuilder { v4: Vec::with_capacity(n), ..IndexBuilder::default() }
    }

    /// Lists an IPv4 network (`len` 0–32; host bits are ignored).
    pub fn add_v4(&mut self, start: u32, len: u8, code: Code) {
        let host = 32u32.saturating_sub(u32::from(len.min(32)));
        let mask = if host >= 32 { u32::MAX } else { (1u32 << host) - 1 };
        self.v4.push((start & !mask, start | mask, code));
        self.entries += 1;
    }

    /// Lists an IPv6 network (`len` 0–128; host bits are ignored).
    pub fn add_v6(&mut self, start: u128, len: u8, code: Code) {
        let host = 128u32.saturating_sub(u32::from(len.min(128)));
        let mask = if host >= 128 { u128::MAX } else { (1u128 << host) - 1 };
        self.v6.push((start & !mask, start | mask, code));
        self.entries += 1;
    }

    /// Lists an address or network as the blocklist parsed it.
    pub fn add(&mut self, block: &dragnet_engine::blocklist::cidr::Block, code: Code) {
        if block.v6 {
            self.add_v6(block.start, block.len, code);
        } else {
            self.add_v4(u32::try_from(block.start).unwrap_or(0), block.len, code);
        }
    }

    pub fn build(self, serial: u32) -> Index {
        Index {
            v4: flatten(self.v4).with_buckets(16),
            v6: flatten(self.v6).with_buckets(112),
            rpz: Rpz::default(),
            serial,
            entries: self.entries,
        }
    }
}

/// Nested or equal ranges (CIDR blocks never partly overlap) become
/// disjoint ones, each with the innermost code; neighbours with the same
/// code are joined. Sorting is the only super-linear step.
fn flatten<T: Copy + Ord + Into<u128> + TryFrom<u128>>(mut ranges: Vec<(T, T, Code)>) -> Ranges<T> {
    // By start, the wider (later end) first, so a block's parents come before it.
    ranges.sort_unstable_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
    let empty = Ranges { starts: Vec::new(), ends: Vec::new(), codes: Vec::new(), buckets: Vec::new(), shift: 0 };
    let mut flat = Flat { out: empty, cursor: Some(0) };
    // The ranges that enclose the current start, innermost last: (end, code).
    let mut open: Vec<(u128, Code)> = Vec::new();
    for (start, end, code) in ranges {
        let (start, end): (u128, u128) = (start.into(), end.into());
        while let Some(&(e, c)) = open.last().filter(|(e, _)| *e < start) {
            flat.close(e, c);
            open.pop();
        }
        if let (Some(&(_, parent)), Some(cursor)) = (open.last(), flat.cursor)
            && cursor < start
        {
            flat.push(cursor, start - 1, parent);
        }
        flat.cursor = Some(start);
        open.push((end, code));
    }
    while let Some((e, c)) = open.pop() {
        flat.close(e, c);
    }
    flat.out
}

/// The flattened ranges so far, and the next address not given out yet
/// (`None` once past the top of the space).
struct Flat<T> {
    out: Ranges<T>,
    cursor: Option<u128>,
}

impl<T: Copy + Into<u128> + TryFrom<u128>> Flat<T> {
    /// A range ends: what is left of it from the cursor is its own.
    fn close(&mut self, end: u128, code: Code) {
        if let Some(cursor) = self.cursor {
            if cursor <= end {
                self.push(cursor, end, code);
            }
            self.cursor = end.checked_add(1);
        }
    }

    fn push(&mut self, start: u128, end: u128, code: Code) {
        let (Ok(s), Ok(e)) = (T::try_from(start), T::try_from(end)) else { return };
        let out = &mut self.out;
        if let (Some(last_end), Some(last_code)) = (out.ends.last_mut(), out.codes.last())
            && *last_code == code
            && Into::<u128>::into(*last_end).checked_add(1) == Some(start)
        {
            *last_end = e;
            return;
        }
        out.starts.push(s);
        out.ends.push(e);
        out.codes.push(code);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v4(a: [u8; 4]) -> u32 {
        u32::from_be_bytes(a)
    }

    #[test]
    fn the_innermost_listing_answers() {
        let mut b = IndexBuilder::default();
        b.add_v4(v4([45, 20, 0, 0]), 16, 9);
        b.add_v4(v4([45, 20, 7, 7]), 32, 6);
        b.add_v4(v4([45, 20, 7, 7]), 32, 6);
        b.add_v4(v4([45, 10, 1, 7]), 32, 2);
        b.add_v4(v4([45, 10, 1, 8]), 32, 2);
        let index = b.build(1);
        assert_eq!(index.find_v4(v4([45, 20, 7, 7])), Some(6));
        assert_eq!(index.find_v4(v4([45, 20, 7, 6])), Some(9));
        assert_eq!(index.find_v4(v4([45, 20, 7, 8])), Some(9));
        assert_eq!(index.find_v4(v4([45, 20, 255, 255])), Some(9));
        assert_eq!(index.find_v4(v4([45, 21, 0, 0])), None);
        assert_eq!(index.find_v4(v4([45, 10, 1, 8])), Some(2));
        assert_eq!(index.find_v4(v4([45, 10, 1, 9])), None);
        assert_eq!(index.find_v4(0), None);
        // 45.10.1.7–8 joined; the /16 split around its /32.
        assert_eq!(index.ranges(), 4);
    }

    #[test]
    fn the_edges_of_the_address_space() {
        let mut b = IndexBuilder::default();
        b.add_v4(0, 0, 10);
        b.add_v4(u32::MAX, 32, 3);
        b.add_v6(u128::MAX, 128, 4);
        b.add_v6(0, 1, 5);
        let index = b.build(1);
        assert_eq!(index.find_v4(0), Some(10));
        assert_eq!(index.find_v4(u32::MAX - 1), Some(10));
        assert_eq!(index.find_v4(u32::MAX), Some(3));
        assert_eq!(index.find_v6(u128::MAX), Some(4));
        assert_eq!(index.find_v6(u128::MAX - 1), None);
        assert_eq!(index.find_v6(1 << 126), Some(5));
    }

    /// Against a plain model: the most specific listing of each address,
    /// over a small space.
    #[test]
    fn lookups_match_a_model_on_random_listings() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for _ in 0..200 {
            let mut b = IndexBuilder::default();
            let mut listings = Vec::new();
            for _ in 0..(next() % 10) {
                let len = 14 + (next() % 19) as u8;
                let start = 0x0a00_0000u32 | (next() % 0x4_0000) as u32;
                let code = 2 + (next() % 3) as u8;
                b.add_v4(start, len, code);
                let host = 32 - u32::from(len);
                let mask = if host == 32 { u32::MAX } else { (1 << host) - 1 };
                listings.push((start & !mask, start | mask, len, code));
            }
            let index = b.build(1);
            let asked: Vec<u32> = (0x0a00_0000u32..=0x0a04_0000)
                .step_by(61)
                .chain(listings.iter().flat_map(|l| [l.0, l.1, l.1.wrapping_add(1)]))
                .chain([0, u32::MAX])
                .collect();
            let one_by_one: Vec<Option<Code>> = asked.iter().map(|a| index.find_v4(*a)).collect();
            assert_eq!(index.find_all_v4(&asked), one_by_one, "a batch finds what single lookups find");
            for a in asked {
                // The longest prefix wins; among equals, the last given.
                let want = listings
                    .iter()
                    .enumerate()
                    .filter(|(_, l)| l.0 <= a && a <= l.1)
                    .max_by_key(|(i, l)| (l.2, *i))
                    .map(|(_, l)| l.3);
                let got = index.find_v4(a);
                if let (Some(_), Some(got)) = (want, got) {
                    // Equal blocks with different codes: one of them answers.
                    let candidates: Vec<u8> = listings
                        .iter()
                        .filter(|l| {
                            l.0 <= a
                                && a <= l.1
                                && Some(l.2) == listings.iter().filter(|m| m.0 <= a && a <= m.1).map(|m| m.2).max()
                        })
                        .map(|l| l.3)
                        .collect();
                    assert!(candidates.contains(&got), "{a:x}: {got:?} not in {candidates:?}");
                } else {
                    assert_eq!(got, want, "{a:x} in {listings:x?}");
                }
            }
        }
    }
}
