//! Beacon scoring's spilled connection times, in temporary files: one
//! unnamed file a bucket under `TMPDIR` (nothing is left behind, even when
//! the process is killed), opened on the bucket's first record, appended
//! through a small buffer, and read back whole, one bucket at a time.

use std::fs::File;
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};

use dragnet_analytics::beacon::spill::{Spill, Spilled};

/// Memory the held connection times of beacon scoring may take by default
/// before they are written out.
pub const DEFAULT_BUDGET: usize = 64 << 20;

/// Bytes buffered a bucket before they are written (256 buckets at most).
const BUFFER: usize = 16 << 10;

#[derive(Default)]
pub struct TempSpill {
    writers: Vec<Option<BufWriter<File>>>,
}

impl Spill for TempSpill {
    fn append(&mut self, bucket: usize, records: &[Spilled]) -> io::Result<()> {
        if self.writers.len() <= bucket {
            self.writers.resize_with(bucket + 1, || None);
        }
        let slot = self.writers.get_mut(bucket).ok_or_else(|| io::Error::other("no such bucket"))?;
        let writer = match slot {
            Some(w) => w,
            None => slot.insert(BufWriter::with_capacity(BUFFER, tempfile::tempfile()?)),
        };
        for r in records {
            writer.write_all(&r.encode())?;
        }
        Ok(())
    }

    fn take(&mut self, bucket: usize) -> io::Result<Vec<Spilled>> {
        let Some(writer) = self.writers.get_mut(bucket).and_then(Option::take) else { return Ok(Vec::new()) };
        let mut file = writer.into_inner().map_err(io::IntoInnerError::into_error)?;
        let len = usize::try_from(file.seek(SeekFrom::End(0))?).map_err(io::Error::other)?;
        file.seek(SeekFrom::Start(0))?;
        // Read a slice at a time so that the bucket is in memory once, as records.
        let mut records = Vec::with_capacity(len / Spilled::SIZE);
        let mut reader = io::BufReader::with_capacity(1 << 20, file);
        let mut chunk = vec![0; (64 << 10) * Spilled::SIZE];
        loop {
            let n = read_full(&mut reader, &mut chunk)?;
            records.extend(Spilled::decode_all(chunk.get(..n).unwrap_or_default())?);
            if n < chunk.len() {
                break;
            }
        }
        Ok(records)
    }
}

/// Fills `buf` unless the reader ends first; how much was read.
fn read_full(reader: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match reader.read(buf.get_mut(n..).unwrap_or_default()) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_come_back_as_written_once() {
        let mut s = TempSpill::default();
        let a = [Spilled { pair: 1, offset: 2, bytes: 3 }, Spilled { pair: 4, offset: 5, bytes: 6 }];
        s.append(3, &a).unwrap();
        s.append(3, &a[..1]).unwrap();
        s.append(0, &a[1..]).unwrap();
        assert_eq!(s.take(3).unwrap(), [a[0], a[1], a[0]]);
        assert_eq!(s.take(3).unwrap(), []);
        assert_eq!(s.take(1).unwrap(), []);
        assert_eq!(s.take(0).unwrap(), [a[1]]);
        // More than one read's worth.
        let many: Vec<Spilled> = (0..200_000).map(|i| Spilled { pair: i, offset: i * 2, bytes: i * 3 }).collect();
        s.append(7, &many).unwrap();
        assert_eq!(s.take(7).unwrap(), many);
    }
}
