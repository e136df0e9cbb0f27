//! A Zeek conn log of any size, read a stretch at a time as it is
//! decompressed, each row handed on as it is parsed: memory holds one
//! stretch, never the log.

use std::io::{self, BufRead, BufReader, Read};

use dragnet_core::telemetry::Conn;
use dragnet_core::{FileError, Reject};

use crate::Format;
use crate::stream::Stretches;
use crate::zeek::{Limits, conn_from, read_json, read_tsv};

/// Reads the conn log `reader` holds (plain, gzip or zstd; TSV or JSON
/// lines) of `stored_len` bytes as stored, handing each row to `each` and
/// each line that could not be read to `reject`, with the log's own line
/// numbers. A compressed log expanding beyond `limits` is an error.
pub fn read_conn_stream(
    reader: impl Read,
    stored_len: u64,
    limits: &Limits,
    each: &mut dyn FnMut(Conn),
    reject: &mut dyn FnMut(Reject),
) -> Result<(), FileError> {
    let io_error = |e: io::Error| FileError::new(0, e.to_string());
    let text = decompressing(reader, stored_len, limits).map_err(io_error)?;
    let mut preamble: Vec<u8> = Vec::new();
    let mut json = None;
    for stretch in Stretches::new(text, Format::Plain) {
        let stretch = stretch.map_err(io_error)?;
        let before = u32::try_from(preamble.iter().filter(|&&b| b == b'\n').count()).unwrap_or(u32::MAX);
        let is_json = match json {
            Some(is_json) => is_json,
            None => {
                // The first stretch says what the log is; later ones are
                // read the same way, after its `#` header lines.
                let is_json = crate::zeek::is_json_log(&stretch.bytes, &["conn"])?;
                if !is_json {
                    preamble = header_lines(&stretch.bytes).to_vec();
                }
                json = Some(is_json);
                let rejects = read_part(&stretch.bytes, is_json, each)?;
                rejects.into_iter().for_each(&mut *reject);
                continue;
            }
        };
        let mut input = Vec::with_capacity(preamble.len() + stretch.bytes.len());
        input.extend_from_slice(&preamble);
        input.extend_from_slice(&stretch.bytes);
        let shift = stretch.first_line.saturating_sub(1);
        let moved = |line: u32| if line > before { line - before + shift } else { line };
        let rejects = read_part(&input, is_json, each).map_err(|mut e| {
            e.line = moved(e.line);
            e
        })?;
        for mut r in rejects {
            r.line = moved(r.line);
            reject(r);
        }
    }
    Ok(())
}

fn read_part(input: &[u8], json: bool, each: &mut dyn FnMut(Conn)) -> Result<Vec<Reject>, FileError> {
    let row = |row: &dyn crate::zeek::Fields| {
        each(conn_from(row)?);
        Ok(())
    };
    if json { read_json(input, row) } else { read_tsv(input, row) }
}

/// The `#` lines a TSV log starts with (separator, fields, types…), at most
/// 64 KiB of them.
fn header_lines(first: &[u8]) -> &[u8] {
    let mut end = 0;
    for line in first.split_inclusive(|&b| b == b'\n') {
        if !line.starts_with(b"#") || end + line.len() > 64 * 1024 {
            break;
        }
        end += line.len();
    }
    first.get(..end).unwrap_or_default()
}

/// `reader` undone of gzip or zstd (by its magic bytes) as it is read;
/// other input as it is. Output beyond `limits` for `stored_len` bytes is a
/// read error naming the limit.
pub fn decompressing<'r>(reader: impl Read + 'r, stored_len: u64, limits: &Limits) -> io::Result<Box<dyn Read + 'r>> {
    let mut reader = BufReader::with_capacity(64 * 1024, reader);
    let magic = reader.fill_buf()?;
    let decoded: Box<dyn Read + 'r> = match magic {
        [0x1f, 0x8b, ..] => Box::new(flate2::read::MultiGzDecoder::new(reader)),
        [0x28, 0xb5, 0x2f, 0xfd, ..] => Box::new(ZstdFrames::Between(reader)),
        _ => return Ok(Box::new(reader)),
    };
    Ok(Box::new(Bounded { inner: decoded, left: limits.for_input(usize::try_from(stored_len).unwrap_or(usize::MAX)) }))
}

/// Every zstd frame of a stream, one after another.
enum ZstdFrames<R: BufRead> {
    Between(R),
    In(Box<ruzstd::decoding::StreamingDecoder<R, ruzstd::decoding::FrameDecoder>>),
    Done,
}

impl<R: BufRead> Read for ZstdFrames<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            match std::mem::replace(self, ZstdFrames::Done) {
                ZstdFrames::Done => return Ok(0),
                ZstdFrames::In(mut frame) => {
                    let n = frame.read(buf)?;
                    if n > 0 || buf.is_empty() {
                        *self = ZstdFrames::In(frame);
                        return Ok(n);
                    }
                    *self = ZstdFrames::Between((*frame).into_inner());
                }
                ZstdFrames::Between(mut reader) => {
                    if reader.fill_buf()?.is_empty() {
                        return Ok(0);
                    }
                    let frame = ruzstd::decoding::StreamingDecoder::new(reader).map_err(|e| {
                        io::Error::new(io::ErrorKind::InvalidData, format!("zstd data is damaged: {e}"))
                    })?;
                    *self = ZstdFrames::In(Box::new(frame));
                }
            }
        }
    }
}

/// A decoder that fails once it has given more than it may: a
/// decompression bomb costs its limit in time, never memory.
struct Bounded<R> {
    inner: R,
    left: u64,
}

impl<R: Read> Read for Bounded<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.left = self.left.checked_sub(n as u64).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                "compressed data expands beyond its limit (a decompression bomb, or raise the limit)",
            )
        })?;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn tsv(rows: usize) -> String {
        let mut text = String::from(
            "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tconn\n\
             #fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tduration\torig_ip_bytes\tresp_ip_bytes\tconn_state\n\
             #types\ttime\tstring\taddr\tport\taddr\tport\tenum\tinterval\tcount\tcount\tstring\n",
        );
        for i in 0..rows {
            if i == rows / 2 {
                text.push_str("not a row at all\n");
            }
            text.push_str(&format!(
                "{}.5\tC{i}\t10.0.{}.{}\t40000\t203.0.113.{}\t443\ttcp\t1.5\t{}\t90\tSF\n",
                1_700_000_000 + i,
                i / 256 % 256,
                i % 256,
                i % 200,
                100 + i
            ));
        }
        text
    }

    fn streamed(bytes: &[u8]) -> (Vec<Conn>, Vec<Reject>) {
        let (mut conns, mut rejects) = (Vec::new(), Vec::new());
        read_conn_stream(bytes, bytes.len() as u64, &Limits::default(), &mut |c| conns.push(c), &mut |r| {
            rejects.push(r)
        })
        .unwrap();
        (conns, rejects)
    }

    #[test]
    fn a_log_of_many_stretches_reads_as_the_whole_log() {
        let text = tsv(60_000);
        assert!(text.len() > 3 << 20);
        let whole = crate::zeek::read_conn(text.as_bytes()).unwrap();
        let (conns, rejects) = streamed(text.as_bytes());
        assert_eq!(conns, whole.conns);
        assert_eq!(rejects, whole.rejects);
        assert_eq!(rejects.len(), 1);
        assert_eq!(rejects[0].line, 7 + 30_000 + 1);
        // Compressed, in one gzip member or in two zstd frames, it is the same.
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(text.as_bytes()).unwrap();
        let gz = gz.finish().unwrap();
        assert_eq!(streamed(&gz).0, whole.conns);
        let (first, second) = text.as_bytes().split_at(text.len() / 2);
        let mut zst = ruzstd::encoding::compress_to_vec(first, ruzstd::encoding::CompressionLevel::Fastest);
        zst.extend(ruzstd::encoding::compress_to_vec(second, ruzstd::encoding::CompressionLevel::Fastest));
        assert_eq!(streamed(&zst).0, whole.conns);
    }

    #[test]
    fn a_bomb_stops_at_its_limit_and_another_log_is_refused() {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        gz.write_all(tsv(0).as_bytes()).unwrap();
        gz.write_all(&vec![b'\n'; 64 << 20]).unwrap();
        let gz = gz.finish().unwrap();
        let limits = Limits { max_output: 1 << 20, max_ratio: 10, ratio_floor: 1 << 20 };
        let err = read_conn_stream(&gz[..], gz.len() as u64, &limits, &mut |_| {}, &mut |_| {}).unwrap_err();
        assert!(err.message.contains("beyond its limit"), "{}", err.message);
        let dns = b"#path\tdns\n#fields\tts\tquery\n1\ta.example\n";
        let err = read_conn_stream(&dns[..], dns.len() as u64, &Limits::default(), &mut |_| {}, &mut |_| {});
        assert!(err.unwrap_err().message.contains("`dns` log"));
    }
}
