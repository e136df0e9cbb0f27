//! Capture files (classic pcap and pcapng) of UDP datagrams, e.g. NetFlow
//! and IPFIX export packets recorded with tcpdump or Wireshark, or written
//! by `dragnet collect netflow --write`. Pure: bytes in, datagrams out.
//! Link types: Ethernet (with 802.1Q tags), raw IP, IPv4, IPv6, Linux
//! cooked (SLL and SLL2) and BSD loopback; IPv4 and IPv6 without
//! fragmentation.

use std::io::Read;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use dragnet_core::FileError;

/// One UDP datagram from a capture.
#[derive(Debug, Clone, PartialEq)]
pub struct Datagram<'a> {
    /// Capture time, Unix seconds.
    pub ts: f64,
    pub src: IpAddr,
    pub src_port: u16,
    pub dst: IpAddr,
    pub dst_port: u16,
    pub payload: &'a [u8],
}

/// What a capture holds: its UDP datagrams, and how many packets were
/// something else (TCP, ARP, fragments, truncated captures).
#[derive(Debug, Default)]
pub struct Capture<'a> {
    pub datagrams: Vec<Datagram<'a>>,
    pub other_packets: usize,
}

const PCAP_MAGICS: [[u8; 4]; 4] =
    [[0xd4, 0xc3, 0xb2, 0xa1], [0xa1, 0xb2, 0xc3, 0xd4], [0x4d, 0x3c, 0xb2, 0xa1], [0xa1, 0xb2, 0x3c, 0x4d]];
const PCAPNG_MAGIC: [u8; 4] = [0x0a, 0x0d, 0x0d, 0x0a];

/// Whether `input` starts like a pcap or pcapng file.
pub fn is_capture(input: &[u8]) -> bool {
    input.get(..4).is_some_and(|magic| PCAP_MAGICS.iter().any(|m| magic == m) || magic == PCAPNG_MAGIC)
}

/// Reads a little- or big-endian integer of the file's byte order.
#[derive(Clone, Copy, Default)]
struct Order(bool);

impl Order {
    /// The integer at `at`; callers check lengths first, so the zero for
    /// bytes past the end is never what a real capture gives.
    fn u16(self, b: &[u8], at: usize) -> u16 {
        let a = bytes_at(b, at);
        if self.0 { u16::from_be_bytes(a) } else { u16::from_le_bytes(a) }
    }
    fn u32(self, b: &[u8], at: usize) -> u32 {
        let a = bytes_at(b, at);
        if self.0 { u32::from_be_bytes(a) } else { u32::from_le_bytes(a) }
    }
}

/// `N` bytes of `b` from `at`, zeros where `b` ends first.
fn bytes_at<const N: usize>(b: &[u8], at: usize) -> [u8; N] {
    b.get(at..at.saturating_add(N)).and_then(|s| s.try_into().ok()).unwrap_or([0; N])
}

fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes(bytes_at(b, at))
}

/// The UDP datagrams of a pcap or pcapng capture.
pub fn read(input: &[u8]) -> Result<Capture<'_>, FileError> {
    let magic: [u8; 4] = bytes_at(input, 0);
    if magic == PCAPNG_MAGIC {
        return read_pcapng(input);
    }
    let (o, link, nanos) = classic_header(input)?;
    let mut capture = Capture::default();
    let mut at = 24;
    let mut n = 0u32;
    while at < input.len() {
        n += 1;
        let head = input.get(at..at + 16).ok_or_else(|| truncated(n, at))?;
        let (ts, caplen) = classic_record(o, nanos, head);
        let data = input.get(at + 16..at + 16 + caplen).ok_or_else(|| truncated(n, at))?;
        push(&mut capture, link, ts, data);
        at += 16 + caplen;
    }
    Ok(capture)
}

/// The largest record a streamed capture holds at once: a pcapng block,
/// or a classic record (snap lengths stop at 256 KiB).
const MAX_RECORD: usize = 16 << 20;

/// A capture of any size, a record at a time: `each` gets every UDP
/// datagram (borrowing the one record in memory); the packets that were
/// something else are counted in the answer.
pub fn read_stream(reader: impl Read, each: &mut dyn FnMut(Datagram<'_>)) -> Result<usize, FileError> {
    let mut r = Records { reader, at: 0, buf: Vec::new() };
    let mut other = 0;
    let mut emit = |link: u32, ts: f64, frame: &[u8]| match datagram(link, ts, frame) {
        Some(d) => each(d),
        None => other += 1,
    };
    let magic: [u8; 4] = r.next(4, 1)?.and_then(|b| b.try_into().ok()).unwrap_or_default();
    if magic == PCAPNG_MAGIC {
        let mut ng = Pcapng::default();
        let mut n = 0u32;
        // The first block's magic is read already.
        let mut first = Some(magic);
        loop {
            n += 1;
            let at = r.at - if first.is_some() { 4 } else { 0 };
            let mut block = match first.take() {
                Some(magic) => [&magic[..], r.exact(8, n)?].concat(),
                None => match r.next(12, n)? {
                    Some(head) => head.to_vec(),
                    None => break,
                },
            };
            let len = ng.block_length(&block, n, at)?;
            if len > MAX_RECORD {
                return Err(FileError::new(n, format!("block {n} at byte {at}: {len} bytes, over {MAX_RECORD}")));
            }
            block.extend_from_slice(r.exact(len - 12, n)?);
            ng.block(&block, n, at, &mut emit)?;
        }
        return Ok(other);
    }
    let rest = r.exact(20, 1)?;
    let mut header = magic.to_vec();
    header.extend_from_slice(rest);
    let (o, link, nanos) = classic_header(&header)?;
    let mut n = 0u32;
    while let Some(head) = r.next(16, n + 1)? {
        n += 1;
        let (ts, caplen) = classic_record(o, nanos, head);
        if caplen > MAX_RECORD {
            return Err(FileError::new(n, format!("packet {n}: {caplen} bytes captured, over {MAX_RECORD}")));
        }
        emit(link, ts, r.exact(caplen, n)?);
    }
    Ok(other)
}

/// A reader read a record at a time into one buffer.
struct Records<R> {
    reader: R,
    /// Bytes read so far, for messages.
    at: usize,
    buf: Vec<u8>,
}

impl<R: Read> Records<R> {
    /// The next `n` bytes; `None` at a clean end; an error when the input
    /// ends inside them (record `record`).
    fn next(&mut self, n: usize, record: u32) -> Result<Option<&[u8]>, FileError> {
        self.buf.clear();
        let got = (&mut self.reader)
            .take(n as u64)
            .read_to_end(&mut self.buf)
            .map_err(|e| FileError::new(record, e.to_string()))?;
        if got == 0 && n > 0 {
            return Ok(None);
        }
        if got < n {
            return Err(truncated(record, self.at));
        }
        self.at += n;
        Ok(Some(&self.buf))
    }

    fn exact(&mut self, n: usize, record: u32) -> Result<&[u8], FileError> {
        let at = self.at;
        match n {
            0 => Ok(&[]),
            _ => self.next(n, record)?.ok_or_else(|| truncated(record, at)),
        }
    }
}

/// A classic pcap file header: byte order, link type, nanosecond times.
fn classic_header(input: &[u8]) -> Result<(Order, u32, bool), FileError> {
    let magic: [u8; 4] = bytes_at(input, 0);
    let Some(kind) = PCAP_MAGICS.iter().position(|m| *m == magic).filter(|_| input.len() >= 24) else {
        return Err(FileError::new(1, "not a pcap or pcapng capture (unknown magic number)"));
    };
    let o = Order(magic.first() == Some(&0xa1));
    // The last two magics are the nanosecond variants.
    Ok((o, o.u32(input, 20) & 0x0fff_ffff, kind >= 2))
}

/// A classic record header: the packet's time and captured length.
fn classic_record(o: Order, nanos: bool, head: &[u8]) -> (f64, usize) {
    let (secs, frac, caplen) = (o.u32(head, 0), o.u32(head, 4), o.u32(head, 8) as usize);
    (f64::from(secs) + f64::from(frac) / if nanos { 1e9 } else { 1e6 }, caplen)
}

fn truncated(packet: u32, offset: usize) -> FileError {
    FileError::new(packet, format!("packet {packet} at byte {offset} is cut short (truncated capture?)"))
}

fn read_pcapng(input: &[u8]) -> Result<Capture<'_>, FileError> {
    let mut capture = Capture::default();
    let mut ng = Pcapng::default();
    let mut at = 0;
    let mut n = 0u32;
    while at < input.len() {
        n += 1;
        let head = input.get(at..at + 12).ok_or_else(|| truncated(n, at))?;
        let len = ng.block_length(head, n, at)?;
        let block = input.get(at..at + len).ok_or_else(|| truncated(n, at))?;
        ng.block(block, n, at, &mut |link, ts, frame| push(&mut capture, link, ts, frame))?;
        at += len;
    }
    Ok(capture)
}

/// What a pcapng file has said so far: its byte order, and per interface
/// of the current section the link type and seconds per tick.
#[derive(Default)]
struct Pcapng {
    order: Order,
    interfaces: Vec<(u32, f64)>,
}

impl Pcapng {
    /// The length of the block whose first 12 bytes are `head` (a section
    /// header sets the byte order of what follows).
    fn block_length(&mut self, head: &[u8], n: u32, at: usize) -> Result<usize, FileError> {
        if bytes_at::<4>(head, 0) == PCAPNG_MAGIC {
            self.order = match bytes_at(head, 8) {
                [0x1a, 0x2b, 0x3c, 0x4d] => Order(true),
                [0x4d, 0x3c, 0x2b, 0x1a] => Order(false),
                _ => return Err(FileError::new(n, format!("block {n}: bad pcapng byte-order magic"))),
            };
            self.interfaces.clear();
        }
        let len = self.order.u32(head, 4) as usize;
        if len < 12 || !len.is_multiple_of(4) {
            return Err(FileError::new(n, format!("block {n} at byte {at}: bad length {len}")));
        }
        Ok(len)
    }

    /// One whole block: an interface noted, or a packet handed to `emit`.
    fn block<'b>(
        &mut self,
        block: &'b [u8],
        n: u32,
        at: usize,
        emit: &mut dyn FnMut(u32, f64, &'b [u8]),
    ) -> Result<(), FileError> {
        let o = self.order;
        let body = block.get(8..block.len().saturating_sub(4)).unwrap_or_default();
        match o.u32(block, 0) {
            // Interface description: link type, and if_tsresol among its options.
            1 if body.len() >= 8 => {
                self.interfaces.push((u32::from(o.u16(body, 0)), tick(o, body.get(8..).unwrap_or_default())))
            }
            // Enhanced packet.
            6 if body.len() >= 20 => {
                let iface = o.u32(body, 0) as usize;
                let (link, per_tick) = *self
                    .interfaces
                    .get(iface)
                    .ok_or_else(|| FileError::new(n, format!("block {n}: packet on undeclared interface {iface}")))?;
                let ticks = (u64::from(o.u32(body, 4)) << 32) | u64::from(o.u32(body, 8));
                let caplen = o.u32(body, 12) as usize;
                let data = body.get(20..20usize.saturating_add(caplen)).ok_or_else(|| truncated(n, at))?;
                emit(link, ticks as f64 * per_tick, data);
            }
            // Simple packet: no timestamp, interface 0.
            3 if body.len() >= 4 => {
                let link = self.interfaces.first().map_or(1, |i| i.0);
                let caplen = o.u32(body, 0) as usize;
                let data = body.get(4..).unwrap_or_default();
                emit(link, 0.0, data.get(..caplen).unwrap_or(data));
            }
            _ => {}
        }
        Ok(())
    }
}

/// Seconds per timestamp tick from an interface's `if_tsresol` option
/// (default microseconds).
fn tick(o: Order, mut options: &[u8]) -> f64 {
    while options.len() >= 4 {
        let (code, len) = (o.u16(options, 0), usize::from(o.u16(options, 2)));
        if code == 0 {
            break;
        }
        if code == 9
            && len >= 1
            && let Some(&r) = options.get(4)
        {
            return if r & 0x80 == 0 { 10f64.powi(-i32::from(r)) } else { 2f64.powi(-i32::from(r & 0x7f)) };
        }
        options = options.get(4 + len.div_ceil(4) * 4..).unwrap_or_default();
    }
    1e-6
}

/// Adds the packet's UDP datagram, or counts it as something else.
fn push<'a>(capture: &mut Capture<'a>, link: u32, ts: f64, frame: &'a [u8]) {
    match datagram(link, ts, frame) {
        Some(d) => capture.datagrams.push(d),
        None => capture.other_packets += 1,
    }
}

/// The packet's UDP datagram, if it is one.
fn datagram(link: u32, ts: f64, frame: &[u8]) -> Option<Datagram<'_>> {
    let (src, src_port, dst, dst_port, payload) = ip_packet(link, frame).and_then(udp)?;
    Some(Datagram { ts, src, src_port, dst, dst_port, payload })
}

/// The IP packet inside a link-layer frame.
fn ip_packet(link: u32, frame: &[u8]) -> Option<&[u8]> {
    match link {
        // Ethernet, skipping 802.1Q / QinQ tags.
        1 => {
            let mut at = 12;
            loop {
                let ethertype = u16::from_be_bytes([*frame.get(at)?, *frame.get(at + 1)?]);
                match ethertype {
                    0x8100 | 0x88a8 => at += 4,
                    0x0800 | 0x86dd => return frame.get(at + 2..),
                    _ => return None,
                }
            }
        }
        // Raw IP, IPv4, IPv6.
        101 | 228 | 229 => Some(frame),
        // BSD loopback: a 4-byte address family.
        0 => frame.get(4..),
        // Linux cooked capture v1 (16-byte header) and v2 (20-byte header).
        113 => frame.get(16..),
        276 => frame.get(20..),
        _ => None,
    }
}

type Udp<'a> = (IpAddr, u16, IpAddr, u16, &'a [u8]);

fn udp(packet: &[u8]) -> Option<Udp<'_>> {
    let (src, dst, rest) = match packet.first()? >> 4 {
        4 => {
            let h = packet.get(..20)?;
            let [version_ihl, ..] = bytes_at::<1>(h, 0);
            let ihl = usize::from(version_ihl & 0x0f) * 4;
            let total = usize::from(be16(h, 2));
            let fragmented = be16(h, 6) & 0x3fff != 0;
            if h.get(9) != Some(&17) || fragmented || ihl < 20 {
                return None;
            }
            let src = Ipv4Addr::from(bytes_at::<4>(h, 12));
            let dst = Ipv4Addr::from(bytes_at::<4>(h, 16));
            (IpAddr::V4(src), IpAddr::V4(dst), packet.get(ihl..total.max(ihl).min(packet.len()))?)
        }
        6 => {
            if packet.get(6)? != &17 {
                return None;
            }
            let src: [u8; 16] = packet.get(8..24)?.try_into().ok()?;
            let dst: [u8; 16] = packet.get(24..40)?.try_into().ok()?;
            (IpAddr::V6(Ipv6Addr::from(src)), IpAddr::V6(Ipv6Addr::from(dst)), packet.get(40..)?)
        }
        _ => return None,
    };
    let h = rest.get(..8)?;
    let len = usize::from(be16(h, 4));
    let payload = rest.get(8..len.max(8).min(rest.len()))?;
    Some((src, be16(h, 0), dst, be16(h, 2), payload))
}

/// A classic pcap file header for raw-IP packets (what `write_packet` appends to).
pub fn file_header() -> Vec<u8> {
    let mut h = Vec::with_capacity(24);
    h.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    h.extend_from_slice(&2u16.to_le_bytes());
    h.extend_from_slice(&4u16.to_le_bytes());
    h.extend_from_slice(&[0; 8]);
    h.extend_from_slice(&65_535u32.to_le_bytes());
    h.extend_from_slice(&101u32.to_le_bytes());
    h
}

/// One UDP datagram as a pcap record of a raw IPv4 or IPv6 packet (the
/// checksum is left zero, which UDP over IPv4 allows).
pub fn packet_record(ts: f64, src: (IpAddr, u16), dst: (IpAddr, u16), payload: &[u8]) -> Vec<u8> {
    let udp_len = (8 + payload.len()) as u16;
    let mut ip = Vec::with_capacity(48 + payload.len());
    match (src.0, dst.0) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            ip.extend_from_slice(&[0x45, 0]);
            ip.extend_from_slice(&(20 + udp_len).to_be_bytes());
            ip.extend_from_slice(&[0, 0, 0x40, 0, 64, 17, 0, 0]);
            ip.extend_from_slice(&s.octets());
            ip.extend_from_slice(&d.octets());
        }
        (s, d) => {
            let v6 = |a: IpAddr| match a {
                IpAddr::V4(v) => v.to_ipv6_mapped(),
                IpAddr::V6(v) => v,
            };
            ip.extend_from_slice(&[0x60, 0, 0, 0]);
            ip.extend_from_slice(&udp_len.to_be_bytes());
            ip.extend_from_slice(&[17, 64]);
            ip.extend_from_slice(&v6(s).octets());
            ip.extend_from_slice(&v6(d).octets());
        }
    }
    ip.extend_from_slice(&src.1.to_be_bytes());
    ip.extend_from_slice(&dst.1.to_be_bytes());
    ip.extend_from_slice(&udp_len.to_be_bytes());
    ip.extend_from_slice(&[0, 0]);
    ip.extend_from_slice(payload);
    let mut record = Vec::with_capacity(16 + ip.len());
    record.extend_from_slice(&(ts.trunc() as u32).to_le_bytes());
    record.extend_from_slice(&((ts.fract() * 1e6) as u32).to_le_bytes());
    record.extend_from_slice(&(ip.len() as u32).to_le_bytes());
    record.extend_from_slice(&(ip.len() as u32).to_le_bytes());
    record.extend_from_slice(&ip);
    record
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    type Owned = (f64, IpAddr, u16, IpAddr, u16, Vec<u8>);

    fn owned(d: &Datagram<'_>) -> Owned {
        (d.ts, d.src, d.src_port, d.dst, d.dst_port, d.payload.to_vec())
    }

    /// A capture read a record at a time gives what reading it whole gives,
    /// and fails where that fails.
    fn streams_as_whole(file: &[u8]) {
        let mut streamed = Vec::new();
        let got = read_stream(file, &mut |d| streamed.push(owned(&d)));
        match read(file) {
            Ok(c) => {
                assert_eq!(got.unwrap(), c.other_packets);
                assert_eq!(streamed, c.datagrams.iter().map(owned).collect::<Vec<_>>());
            }
            Err(_) => assert!(got.is_err()),
        }
    }

    #[test]
    fn what_we_write_reads_back_for_both_families() {
        let mut file = file_header();
        file.extend(packet_record(
            1_700_000_000.25,
            (addr("192.0.2.1"), 4000),
            (addr("192.0.2.9"), 2055),
            b"v4 payload",
        ));
        file.extend(packet_record(1_700_000_001.5, (addr("2001:db8::1"), 4001), (addr("2001:db8::9"), 4739), b"v6"));
        assert!(is_capture(&file));
        let c = read(&file).unwrap();
        assert_eq!(c.other_packets, 0);
        let got: Vec<(f64, IpAddr, u16, &[u8])> =
            c.datagrams.iter().map(|d| (d.ts, d.src, d.dst_port, d.payload)).collect();
        assert_eq!(
            got,
            vec![
                (1_700_000_000.25, addr("192.0.2.1"), 2055, &b"v4 payload"[..]),
                (1_700_000_001.5, addr("2001:db8::1"), 4739, &b"v6"[..])
            ]
        );
        streams_as_whole(&file);
        // Cut anywhere inside the last record: a clear error, never a panic.
        for cut in 0..file.len() {
            let _ = read(&file[..cut]);
            if cut >= 24 {
                streams_as_whole(&file[..cut]);
            }
        }
        assert!(read(&file[..file.len() - 1]).unwrap_err().message.contains("cut short"));
        // Records whose own length is short of an IP or UDP header: counted, never a panic.
        let ip = &packet_record(0.0, (addr("192.0.2.1"), 1), (addr("192.0.2.9"), 2), b"x")[16..];
        let ip6 = packet_record(0.0, (addr("2001:db8::1"), 1), (addr("2001:db8::9"), 2), b"")[16..].to_vec();
        for cut in (0..ip.len()).map(|n| &ip[..n]).chain((0..ip6.len()).map(|n| &ip6[..n])) {
            let mut short = file_header();
            short.extend_from_slice(&[0; 8]);
            short.extend_from_slice(&(cut.len() as u32).to_le_bytes());
            short.extend_from_slice(&(cut.len() as u32).to_le_bytes());
            short.extend_from_slice(cut);
            let c = read(&short).unwrap();
            assert_eq!(c.datagrams.len() + c.other_packets, 1);
        }
        // An IPv4 total length that ends inside the UDP header.
        let mut odd = ip.to_vec();
        odd[2..4].copy_from_slice(&26u16.to_be_bytes());
        let mut short = file_header();
        short.extend_from_slice(&[0; 8]);
        short.extend_from_slice(&(odd.len() as u32).to_le_bytes());
        short.extend_from_slice(&(odd.len() as u32).to_le_bytes());
        short.extend_from_slice(&odd);
        assert_eq!(read(&short).unwrap().other_packets, 1);
        assert!(read(b"\x00\x01\x02\x03 not a capture at all").is_err());
    }

    #[test]
    fn ethernet_vlan_frames_in_pcapng() {
        // An IPv4/UDP packet in an Ethernet frame with one 802.1Q tag.
        let record = packet_record(0.0, (addr("198.51.100.7"), 9995), (addr("198.51.100.1"), 2055), b"nf");
        let ip = &record[16..];
        let mut frame = vec![0u8; 12];
        frame.extend_from_slice(&[0x81, 0x00, 0x00, 0x64, 0x08, 0x00]);
        frame.extend_from_slice(ip);
        let block = |kind: u32, body: &[u8]| {
            let len = 12 + body.len().div_ceil(4) * 4;
            let mut b = Vec::new();
            b.extend_from_slice(&kind.to_le_bytes());
            b.extend_from_slice(&(len as u32).to_le_bytes());
            b.extend_from_slice(body);
            b.resize(len - 4, 0);
            b.extend_from_slice(&(len as u32).to_le_bytes());
            b
        };
        let mut shb = vec![0x4d, 0x3c, 0x2b, 0x1a, 1, 0, 0, 0];
        shb.extend_from_slice(&u64::MAX.to_le_bytes());
        let mut file = block(0x0a0d_0d0a, &shb);
        // Interface: Ethernet, if_tsresol = 10^-9.
        let mut idb = vec![1, 0, 0, 0, 0, 0, 0, 0];
        idb.extend_from_slice(&[9, 0, 1, 0, 9, 0, 0, 0, 0, 0, 0, 0]);
        file.extend(block(1, &idb));
        let ns: u64 = 1_700_000_000_500_000_000;
        let mut epb = vec![0, 0, 0, 0];
        epb.extend_from_slice(&((ns >> 32) as u32).to_le_bytes());
        epb.extend_from_slice(&(ns as u32).to_le_bytes());
        epb.extend_from_slice(&(frame.len() as u32).to_le_bytes());
        epb.extend_from_slice(&(frame.len() as u32).to_le_bytes());
        epb.extend_from_slice(&frame);
        file.extend(block(6, &epb));
        for cut in 0..=file.len() {
            streams_as_whole(&file[..cut]);
        }
        let c = read(&file).unwrap();
        assert_eq!(c.datagrams.len(), 1, "{c:?}");
        let d = &c.datagrams[0];
        assert_eq!((d.src, d.src_port, d.dst_port, d.payload), (addr("198.51.100.7"), 9995, 2055, &b"nf"[..]));
        assert!((d.ts - 1_700_000_000.5).abs() < 1e-6, "{}", d.ts);
    }
}
