//! Where pairs' connection times go when they outgrow their memory: exact
//! scoring needs every time and byte count of a pair at once, but not every
//! pair's at once. Past a budget the times held are written out, each pair's
//! to one of a few buckets, and scored at the end a bucket at a time, so a
//! day of any size costs the pairs and one bucket.
//!
//! This module keeps no files: the caller hands a [`Spill`] (temporary files
//! in the engine, vectors in tests).

use std::io;

/// One connection of a pair, as written out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Spilled {
    /// The pair's number, in the order pairs were first seen.
    pub pair: u32,
    /// Seconds from the start of the window's first hour.
    pub offset: u32,
    /// Originator bytes (saturating at 4 GiB).
    pub bytes: u32,
}

impl Spilled {
    /// Bytes a record takes written out.
    pub const SIZE: usize = 12;

    pub fn encode(&self) -> [u8; Self::SIZE] {
        let mut out = [0; Self::SIZE];
        for (chunk, v) in out.chunks_exact_mut(4).zip([self.pair, self.offset, self.bytes]) {
            chunk.copy_from_slice(&v.to_le_bytes());
        }
        out
    }

    /// Records from what [`Spilled::encode`] wrote; a torn tail is an error.
    pub fn decode_all(bytes: &[u8]) -> io::Result<Vec<Spilled>> {
        let records = bytes.chunks_exact(Self::SIZE);
        if !records.remainder().is_empty() {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "a spilled record was cut short"));
        }
        Ok(records
            .map(|r| {
                let word = |i: usize| {
                    let mut w = [0; 4];
                    w.copy_from_slice(&r[i * 4..i * 4 + 4]);
                    u32::from_le_bytes(w)
                };
                Spilled { pair: word(0), offset: word(1), bytes: word(2) }
            })
            .collect())
    }
}

/// Numbered buckets records are appended to and taken back from, each once.
pub trait Spill {
    fn append(&mut self, bucket: usize, records: &[Spilled]) -> io::Result<()>;
    /// Every record appended to `bucket`, in any order; the bucket is then empty.
    fn take(&mut self, bucket: usize) -> io::Result<Vec<Spilled>>;
}

/// Buckets in memory: for tests, and for callers that only want the
/// bucketed scoring.
#[derive(Debug, Default)]
pub struct InMemory {
    buckets: Vec<Vec<Spilled>>,
}

impl Spill for InMemory {
    fn append(&mut self, bucket: usize, records: &[Spilled]) -> io::Result<()> {
        if self.buckets.len() <= bucket {
            self.buckets.resize_with(bucket + 1, Vec::new);
        }
        if let Some(b) = self.buckets.get_mut(bucket) {
            b.extend_from_slice(records);
        }
        Ok(())
    }

    fn take(&mut self, bucket: usize) -> io::Result<Vec<Spilled>> {
        Ok(self.buckets.get_mut(bucket).map(std::mem::take).unwrap_or_default())
    }
}

/// Buckets at most: each is a file open while the connections go by.
pub const MAX_BUCKETS: usize = 256;

/// How many buckets keep one bucket's records within `budget` bytes, for
/// `connections` connections (at most [`MAX_BUCKETS`]: past 256 budgets'
/// worth of connections a bucket outgrows the budget).
pub fn buckets_for(connections: usize, budget: usize) -> usize {
    (connections.saturating_mul(Spilled::SIZE) / budget.max(1)).saturating_add(1).clamp(1, MAX_BUCKETS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_survive_encoding_and_a_torn_tail_is_refused() {
        let r = [Spilled { pair: 7, offset: 86_399, bytes: u32::MAX }, Spilled { pair: 0, offset: 0, bytes: 1 }];
        let bytes: Vec<u8> = r.iter().flat_map(|s| s.encode()).collect();
        assert_eq!(Spilled::decode_all(&bytes).unwrap(), r);
        assert!(Spilled::decode_all(&bytes[..bytes.len() - 1]).is_err());
    }

    #[test]
    fn buckets_grow_with_the_connections_past_the_budget() {
        assert_eq!(buckets_for(0, 1 << 20), 1);
        assert_eq!(buckets_for(1000, 1 << 20), 1);
        assert_eq!(buckets_for(1_000_000, 1 << 20), 12);
        assert_eq!(buckets_for(usize::MAX, 1), MAX_BUCKETS);
    }
}
