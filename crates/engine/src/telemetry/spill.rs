//! Beacon scoring's spilled connection times, in temporary files: one file
//! a bucket, appended through a small buffer each, read back whole and
//! removed, one bucket at a time. The directory goes when this does, even
//! on an error.

use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::PathBuf;

use dragnet_analytics::beacon::spill::{Spill, Spilled};

/// Memory the held connection times of beacon scoring may take by default
/// before they are written out.
pub const DEFAULT_BUDGET: usize = 64 << 20;

pub struct TempSpill {
    dir: tempfile::TempDir,
    /// Opened on a bucket's first record.
    writers: Vec<Option<BufWriter<File>>>,
    /// Bytes written in all, for the report.
    pub written: u64,
}

impl TempSpill {
    /// A fresh directory under `parent` (the system's temporary directory
    /// when not given).
    pub fn new(parent: Option<&std::path::Path>) -> io::Result<TempSpill> {
        let dir = match parent {
            Some(p) => tempfile::Builder::new().prefix("dragnet-spill-").tempdir_in(p)?,
            None => tempfile::Builder::new().prefix("dragnet-spill-").tempdir()?,
        };
        Ok(TempSpill { dir, writers: Vec::new(), written: 0 })
    }

    fn path(&self, bucket: usize) -> PathBuf {
        self.dir.path().join(format!("bucket-{bucket}"))
    }
}

impl Spill for TempSpill {
    fn append(&mut self, bucket: usize, records: &[Spilled]) -> io::Result<()> {
        if self.writers.len() <= bucket {
            self.writers.resize_with(bucket + 1, || None);
        }
        let path = self.path(bucket);
        let slot = self.writers.get_mut(bucket).ok_or_else(|| io::Error::other("no such bucket"))?;
        if slot.is_none() {
            *slot = Some(BufWriter::with_capacity(64 << 10, File::create(path)?));
        }
        if let Some(w) = slot.as_mut() {
            for r in records {
                w.write_all(&r.encode())?;
            }
        }
        self.written += (records.len() * Spilled::SIZE) as u64;
        Ok(())
    }

    fn take(&mut self, bucket: usize) -> io::Result<Vec<Spilled>> {
        let Some(writer) = self.writers.get_mut(bucket).and_then(Option::take) else { return Ok(Vec::new()) };
        writer.into_inner().map_err(io::IntoInnerError::into_error)?;
        let path = self.path(bucket);
        let file = File::open(&path)?;
        let len = usize::try_from(file.metadata()?.len()).map_err(io::Error::other)?;
        // Read a slice at a time so that the bucket is in memory once, as records.
        let mut records = Vec::with_capacity(len / Spilled::SIZE);
        let mut reader = std::io::BufReader::with_capacity(1 << 20, file);
        let mut chunk = vec![0; (64 << 10) * Spilled::SIZE];
        loop {
            let n = read_full(&mut reader, &mut chunk)?;
            records.extend(Spilled::decode_all(chunk.get(..n).unwrap_or_default())?);
            if n < chunk.len() {
                break;
            }
        }
        std::fs::remove_file(&path)?;
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
    fn buckets_come_back_as_written_and_leave_nothing_behind() {
        let mut s = TempSpill::new(None).unwrap();
        let dir = s.dir.path().to_path_buf();
        let a = [Spilled { pair: 1, offset: 2, bytes: 3 }, Spilled { pair: 4, offset: 5, bytes: 6 }];
        s.append(3, &a).unwrap();
        s.append(3, &a[..1]).unwrap();
        s.append(0, &a[1..]).unwrap();
        assert_eq!(s.take(3).unwrap(), [a[0], a[1], a[0]]);
        assert_eq!(s.take(3).unwrap(), []);
        assert_eq!(s.take(1).unwrap(), []);
        assert_eq!(s.take(0).unwrap(), [a[1]]);
        assert_eq!(s.written, 48);
        drop(s);
        assert!(!dir.exists());
    }
}
