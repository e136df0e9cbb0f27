//! Zeek logs, TSV (header-driven) and JSON lines, recognised by their
//! content (`#path` or `_path`, else their fields), never their file name.
//! Compressed input is undone first by [`decompress`].

use std::borrow::Cow;
use std::io::Read;
use std::net::IpAddr;

use dragnet_core::telemetry::{CONN_STATES, Conn, DnsQuery, NamedConn, PROTOCOLS, RCODES, Uid, intern};
use dragnet_core::{FileError, Kind, Link, Observable, Reject};
use serde_json::Value;

/// How far [`decompress`] lets a compressed input expand by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The most bytes a compressed input may expand to.
    pub max_output: u64,
    /// The most an input may expand per compressed byte, beyond a floor of
    /// [`Limits::ratio_floor`]: logs compress 5 to 30 times, a
    /// decompression bomb a thousand times or more.
    pub max_ratio: u64,
    /// Output below this size is allowed whatever the ratio, so that a
    /// small file of one repeated line is not taken for a bomb.
    pub ratio_floor: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_output: 4 << 30, max_ratio: 200, ratio_floor: 64 << 20 }
    }
}

impl Limits {
    /// The most `compressed` input bytes may expand to.
    pub fn for_input(&self, compressed: usize) -> u64 {
        let by_ratio = (compressed as u64).saturating_mul(self.max_ratio).max(self.ratio_floor);
        self.max_output.min(by_ratio)
    }
}

/// Which compression `input` uses, by its magic bytes.
fn compression(input: &[u8]) -> Option<&'static str> {
    match input {
        [0x1f, 0x8b, ..] => Some("gzip"),
        [0x28, 0xb5, 0x2f, 0xfd, ..] => Some("zstd"),
        _ => None,
    }
}

/// Undoes gzip and zstd by their magic bytes, within the default
/// [`Limits`]; other input is returned as it is.
pub fn decompress(input: &[u8]) -> Result<Cow<'_, [u8]>, FileError> {
    decompress_within(input, &Limits::default())
}

/// [`decompress`] within `limits`: an input that would expand beyond them
/// is an error naming the limit, found after writing at most one byte more
/// than it, however large the input claims to be.
pub fn decompress_within<'a>(input: &'a [u8], limits: &Limits) -> Result<Cow<'a, [u8]>, FileError> {
    let Some(kind) = compression(input) else { return Ok(Cow::Borrowed(input)) };
    let limit = limits.for_input(input.len());
    let out = expand(input, limit.saturating_add(1), false)?;
    if out.len() as u64 > limit {
        let mib = |n: u64| n as f64 / f64::from(1 << 20);
        return Err(FileError::new(
            0,
            format!(
                "{kind} data expands beyond {:.0} MiB (the limit for {:.1} MiB of compressed input: at most {}x, \
                 and never more than {:.0} MiB); a decompression bomb, or raise the limit",
                mib(limit),
                mib(input.len() as u64),
                limits.max_ratio,
                mib(limits.max_output),
            ),
        ));
    }
    Ok(Cow::Owned(out))
}

/// At most the first `max` bytes `input` expands to (or `input` itself
/// when it is not compressed), for sniffing what a file holds without
/// undoing all of it. Truncated or damaged data gives what could be read.
pub fn decompress_prefix(input: &[u8], max: usize) -> Result<Cow<'_, [u8]>, FileError> {
    if compression(input).is_none() {
        return Ok(Cow::Borrowed(input.get(..max).unwrap_or(input)));
    }
    expand(input, max as u64, true).map(Cow::Owned)
}

/// Streams `input` through its decoder into at most `cap` bytes. With
/// `lenient`, a read error after some output is the end, not a failure.
fn expand(input: &[u8], cap: u64, lenient: bool) -> Result<Vec<u8>, FileError> {
    // Capacity grows with what is actually written, never from a guess
    // that a hostile size could inflate.
    let mut out = Vec::with_capacity(input.len().min(1 << 20));
    let read = |reader: &mut dyn Read, out: &mut Vec<u8>, kind: &str| -> Result<(), FileError> {
        let left = cap.saturating_sub(out.len() as u64);
        match reader.take(left).read_to_end(out) {
            Ok(_) => Ok(()),
            Err(_) if lenient && !out.is_empty() => Ok(()),
            Err(e) => Err(FileError::new(0, format!("{kind} data is damaged or truncated: {e}"))),
        }
    };
    match compression(input) {
        Some("gzip") => read(&mut flate2::read::MultiGzDecoder::new(input), &mut out, "gzip")?,
        Some(_) => {
            let mut rest = input;
            // A file may hold several frames one after another.
            while !rest.is_empty() && (out.len() as u64) < cap {
                let mut frame = match ruzstd::decoding::StreamingDecoder::new(&mut rest) {
                    Ok(frame) => frame,
                    Err(_) if lenient && !out.is_empty() => break,
                    Err(e) => return Err(FileError::new(0, format!("zstd data is damaged or truncated: {e}"))),
                };
                read(&mut frame, &mut out, "zstd")?;
            }
        }
        None => out.extend_from_slice(input.get(..usize::try_from(cap).unwrap_or(usize::MAX)).unwrap_or(input)),
    }
    Ok(out)
}

/// Which Zeek log this is: `conn`, `dns`, `ssl`, … or `None` when it is not
/// a Zeek log at all.
pub fn log_path(input: &[u8]) -> Option<String> {
    let head = String::from_utf8_lossy(input.get(..8192).unwrap_or(input));
    if let Some(line) = head.lines().find(|l| l.starts_with("#path")) {
        return line.split(['\t', ' ']).nth(1).map(|p| p.trim().to_string());
    }
    let first = head.lines().map(str::trim).find(|l| !l.is_empty())?;
    let obj: Value = serde_json::from_str(first).ok()?;
    if let Some(path) = obj.get("_path").and_then(Value::as_str) {
        return Some(path.to_string());
    }
    let has = |k: &str| obj.get(k).is_some();
    if has("id.orig_h") && (has("conn_state") || has("orig_ip_bytes") || has("duration")) {
        return Some("conn".into());
    }
    if has("query") && (has("qtype_name") || has("rcode_name") || has("trans_id")) {
        return Some("dns".into());
    }
    if has("id.orig_h") && (has("server_name") || has("cipher") || has("ssl_history")) {
        return Some("ssl".into());
    }
    if has("id.orig_h") && has("method") && (has("uri") || has("host")) {
        return Some("http".into());
    }
    None
}

/// Rows of a conn log and the lines that could not be read.
#[derive(Debug, Default)]
pub struct ConnLog {
    pub conns: Vec<Conn>,
    pub rejects: Vec<Reject>,
}

/// Reads a (decompressed) Zeek conn log in either form.
pub fn read_conn(input: &[u8]) -> Result<ConnLog, FileError> {
    let mut log = ConnLog::default();
    // About 120 bytes a row in TSV: one allocation instead of a doubling series.
    log.conns.reserve(input.len() / 120);
    log.rejects = read_rows(input, &["conn"], |row| {
        log.conns.push(conn_from(row)?);
        Ok(())
    })?;
    Ok(log)
}

/// Reads the server names of an ssl or http log; rows without a name are skipped.
pub fn read_names(input: &[u8]) -> Result<(Vec<NamedConn>, Vec<Reject>), FileError> {
    let mut names = Vec::new();
    let rejects = read_rows(input, &["ssl", "http"], |row| {
        let Some(name) = row.text(Col::ServerName).or_else(|| row.text(Col::Host)) else { return Ok(()) };
        let c = conn_from(row)?;
        let host =
            name.rsplit_once(':').filter(|(_, p)| p.bytes().all(|b| b.is_ascii_digit())).map_or(name, |(h, _)| h);
        names.push(NamedConn {
            ts: c.ts,
            uid: c.uid.to_string(),
            src: c.src,
            dst: c.dst,
            dst_port: c.dst_port,
            name: host.trim_end_matches('.').to_ascii_lowercase(),
            proxied: row.text(Col::Method) == Some("CONNECT"),
        });
        Ok(())
    })?;
    Ok((names, rejects))
}

/// Reads the queries of a dns log; rows without a query are skipped.
pub fn read_dns(input: &[u8]) -> Result<(Vec<DnsQuery>, Vec<Reject>), FileError> {
    let mut queries = Vec::new();
    let rejects = read_rows(input, &["dns"], |row| {
        let Some(query) = row.text(Col::Query) else { return Ok(()) };
        let ts_text = row.text(Col::Ts).ok_or(("ts", "missing `ts`".to_string()))?;
        let ts = ts_text.parse::<f64>().map_err(|_| ("ts", format!("`{ts_text}` is not a time")))?;
        let src_text = row.text(Col::OrigH).ok_or(("id.orig_h", "missing `id.orig_h`".to_string()))?;
        let src = src_text.parse().map_err(|_| ("id.orig_h", format!("`{src_text}` is not an IP address")))?;
        queries.push(DnsQuery {
            ts,
            uid: row.text(Col::Uid).unwrap_or_default().to_string(),
            src,
            query: query.trim_end_matches('.').to_ascii_lowercase(),
            rcode: intern(row.text(Col::RcodeName).unwrap_or_default(), RCODES),
        });
        Ok(())
    })?;
    Ok((queries, rejects))
}

/// Reads what ssl, x509 and dns logs say about which names, addresses and
/// certificates belong together: SNI on a connection to an address, the
/// server's certificate and JA3S, a certificate's DNS names, and DNS
/// answers. Repeats are merged, widening the times seen.
pub fn read_links(input: &[u8]) -> Result<(Vec<Link>, Vec<Reject>), FileError> {
    let mut links = crate::links::LinkSet::default();
    let mut add = |from, to, ts| links.add(from, to, ts);
    let observable = |kind: Kind, v: &str| Observable::parse(kind, v).ok();
    let rejects = read_rows(input, &["ssl", "x509", "dns"], |row| {
        let ts_text = row.text(Col::Ts).ok_or(("ts", "missing `ts`".to_string()))?;
        let ts = epoch_seconds(ts_text)
            .or_else(|| ts_text.parse::<f64>().ok())
            .filter(|t| t.is_finite() && t.abs() < 1e12)
            .map(|t| t as i64)
            .or_else(|| dragnet_core::parse_timestamp(ts_text))
            .ok_or(("ts", format!("`{ts_text}` is not a time")))?;
        let server = row.text(Col::RespH).and_then(|v| Observable::guess(v).ok());
        let name = |col: Col| row.text(col).and_then(|v| observable(Kind::Domain, v));
        if let Some(query) = name(Col::Query) {
            for answer in row.items(Col::Answers) {
                let ip = Observable::guess(answer).ok().filter(|o| matches!(o.kind(), Kind::Ipv4 | Kind::Ipv6));
                add(Some(query.clone()), ip, ts);
            }
        }
        if let Some(fingerprint) = row.text(Col::Fingerprint).and_then(|v| observable(Kind::X509Sha256, v)) {
            for san in row.items(Col::SanDns) {
                add(observable(Kind::Domain, san.trim_start_matches("*.")), Some(fingerprint.clone()), ts);
            }
        }
        add(name(Col::ServerName), server.clone(), ts);
        if let Some(leaf) = row.items(Col::CertChainFps).first() {
            add(server.clone(), observable(Kind::X509Sha256, leaf), ts);
        }
        add(server, row.text(Col::Ja3s).and_then(|v| observable(Kind::Ja3s, v)), ts);
        Ok(())
    })?;
    Ok((links.into_links(), rejects))
}

pub(crate) type RowError = (&'static str, String);

/// Calls `each` for every row of a Zeek log whose path is one of `paths`;
/// returns the rows that could not be read.
fn read_rows(
    input: &[u8],
    paths: &[&str],
    each: impl FnMut(&dyn Fields) -> Result<(), RowError>,
) -> Result<Vec<Reject>, FileError> {
    if is_json_log(input, paths)? { read_json(input, each) } else { read_tsv(input, each) }
}

/// Refused unless `input` is text and a Zeek log whose path is one of
/// `paths`; whether it is JSON lines (else TSV).
pub(crate) fn is_json_log(input: &[u8], paths: &[&str]) -> Result<bool, FileError> {
    crate::text::ensure_text(input)?;
    match log_path(input) {
        Some(p) if paths.contains(&p.as_str()) => Ok(crate::json::looks_like_json(input)),
        Some(other) => Err(FileError::new(1, format!("this is a Zeek `{other}` log, not {}", paths.join(" or ")))),
        None => Err(FileError::new(1, "not a Zeek log: no `#path` header and no JSON log fields")),
    }
}

/// The columns the readers use, resolved to positions once per header.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Col {
    Ts,
    Uid,
    OrigH,
    OrigP,
    RespH,
    RespP,
    Proto,
    Duration,
    OrigIpBytes,
    RespIpBytes,
    ConnState,
    ServerName,
    Host,
    Method,
    Query,
    RcodeName,
    Answers,
    CertChainFps,
    Ja3s,
    Fingerprint,
    SanDns,
}

const COLUMNS: [(Col, &str); 21] = [
    (Col::Ts, "ts"),
    (Col::Uid, "uid"),
    (Col::OrigH, "id.orig_h"),
    (Col::OrigP, "id.orig_p"),
    (Col::RespH, "id.resp_h"),
    (Col::RespP, "id.resp_p"),
    (Col::Proto, "proto"),
    (Col::Duration, "duration"),
    (Col::OrigIpBytes, "orig_ip_bytes"),
    (Col::RespIpBytes, "resp_ip_bytes"),
    (Col::ConnState, "conn_state"),
    (Col::ServerName, "server_name"),
    (Col::Host, "host"),
    (Col::Method, "method"),
    (Col::Query, "query"),
    (Col::RcodeName, "rcode_name"),
    (Col::Answers, "answers"),
    (Col::CertChainFps, "cert_chain_fps"),
    (Col::Ja3s, "ja3s"),
    (Col::Fingerprint, "fingerprint"),
    (Col::SanDns, "san.dns"),
];

impl Col {
    fn name(self) -> &'static str {
        COLUMNS.get(self as usize).map_or("", |(_, name)| name)
    }
}

/// Field values of one row.
pub(crate) trait Fields {
    fn text(&self, col: Col) -> Option<&str>;
    /// The elements of a set or vector field (empty when unset).
    fn items(&self, col: Col) -> Vec<&str>;
}

pub(crate) fn conn_from(f: &dyn Fields) -> Result<Conn, RowError> {
    let ip = |col: Col| -> Result<IpAddr, RowError> {
        let v = f.text(col).ok_or_else(|| (col.name(), format!("missing `{}`", col.name())))?;
        ipv4_dotted(v)
            .map(IpAddr::V4)
            .or_else(|| v.parse().ok())
            .ok_or_else(|| (col.name(), format!("`{v}` is not an IP address")))
    };
    let num = |col: Col| -> Result<f64, RowError> {
        match f.text(col) {
            None => Ok(0.0),
            // Zeek writes intervals as plain decimals: the short path first.
            Some(v) => epoch_seconds(v)
                .or_else(|| v.parse::<f64>().ok())
                .ok_or_else(|| (col.name(), format!("`{v}` is not a number"))),
        }
    };
    let count = |col: Col| -> Result<u64, RowError> {
        match f.text(col) {
            None => Ok(0),
            Some(v) => digits(v).map_or_else(|| num(col).map(|n| n as u64), Ok),
        }
    };
    let ts_text = f.text(Col::Ts).ok_or(("ts", "missing `ts`".to_string()))?;
    let ts = match epoch_seconds(ts_text).or_else(|| ts_text.parse::<f64>().ok()) {
        Some(t) => t,
        None => dragnet_core::parse_timestamp(ts_text).ok_or(("ts", format!("`{ts_text}` is not a time")))? as f64,
    };
    Ok(Conn {
        ts,
        uid: Uid::new(f.text(Col::Uid).unwrap_or_default()),
        src: ip(Col::OrigH)?,
        src_port: count(Col::OrigP)? as u16,
        dst: ip(Col::RespH)?,
        dst_port: count(Col::RespP)? as u16,
        proto: intern(f.text(Col::Proto).unwrap_or_default(), PROTOCOLS),
        duration: num(Col::Duration)?,
        orig_ip_bytes: count(Col::OrigIpBytes)?,
        resp_ip_bytes: count(Col::RespIpBytes)?,
        state: intern(f.text(Col::ConnState).unwrap_or_default(), CONN_STATES),
    })
}

/// A plain run of up to 19 decimal digits as a number, without the general
/// integer parser's sign and overflow handling.
fn digits(s: &str) -> Option<u64> {
    if s.is_empty() || s.len() > 19 {
        return None;
    }
    s.bytes().try_fold(0u64, |n, b| b.is_ascii_digit().then(|| n * 10 + u64::from(b - b'0')))
}

/// A dotted-quad IPv4 address in one pass, or `None` for anything else
/// (IPv6, which the standard parser then reads; leading zeros, which it
/// refuses as well).
fn ipv4_dotted(s: &str) -> Option<std::net::Ipv4Addr> {
    let b = s.as_bytes();
    if b.len() < 7 || b.len() > 15 {
        return None;
    }
    let mut octets = [0u8; 4];
    let (mut part, mut value, mut digits) = (0usize, 0u32, 0u32);
    for &c in b {
        match c {
            b'0'..=b'9' => {
                if digits > 0 && value == 0 {
                    return None;
                }
                value = value * 10 + u32::from(c - b'0');
                digits += 1;
                if value > 255 {
                    return None;
                }
            }
            b'.' if digits > 0 && part < 3 => {
                if let Some(octet) = octets.get_mut(part) {
                    *octet = value as u8;
                }
                (part, value, digits) = (part + 1, 0, 0);
            }
            _ => return None,
        }
    }
    if part != 3 || digits == 0 {
        return None;
    }
    octets[3] = value as u8;
    Some(std::net::Ipv4Addr::from(octets))
}

/// Zeek's `1717000000.123456` without the general float parser; `None`
/// for anything else.
fn epoch_seconds(s: &str) -> Option<f64> {
    let (whole, fraction) = s.split_once('.').unwrap_or((s, ""));
    if whole.is_empty() || whole.len() > 12 || fraction.len() > 9 {
        return None;
    }
    let digits = |t: &str| t.bytes().try_fold(0u64, |n, b| b.is_ascii_digit().then(|| n * 10 + u64::from(b - b'0')));
    let w = digits(whole)?;
    let f = digits(fraction)?;
    Some(w as f64 + f as f64 / 10f64.powi(fraction.len() as i32))
}

/// Where the wanted fields of one TSV line are: one pass over the bytes
/// with a plain loop (Zeek fields are short, so this beats memchr), noting
/// the span of each field a column is read from. Returns the field count.
fn field_spans(line: &str, sep: &str, slots: &[Option<u8>], spans: &mut [Span; COLUMNS.len()]) -> usize {
    *spans = [ABSENT; COLUMNS.len()];
    let mut note = |field: usize, start: usize, end: usize| {
        if let Some(Some(col)) = slots.get(field)
            && let Some(span) = spans.get_mut(usize::from(*col))
        {
            *span = (start as u32, end as u32);
        }
    };
    let mut field = 0;
    let mut start = 0;
    match sep.as_bytes() {
        [b] if b.is_ascii() => {
            for (i, c) in line.bytes().enumerate() {
                if c == *b {
                    note(field, start, i);
                    field += 1;
                    start = i + 1;
                }
            }
        }
        _ => {
            for (i, _) in line.match_indices(sep) {
                note(field, start, i);
                field += 1;
                start = i + sep.len();
            }
        }
    }
    note(field, start, line.len());
    field + 1
}

/// A field's byte range in its line; [`ABSENT`] when the log has no such column.
type Span = (u32, u32);
const ABSENT: Span = (u32::MAX, u32::MAX);

struct TsvRow<'a, 'b> {
    line: &'a str,
    spans: &'b [Span; COLUMNS.len()],
    unset: &'b str,
    empty: &'b str,
    set_separator: &'b str,
}

impl Fields for TsvRow<'_, '_> {
    fn text(&self, col: Col) -> Option<&str> {
        let &(start, end) = self.spans.get(col as usize)?;
        let v = self.line.get(start as usize..end as usize)?;
        // Most values are long or differ from the markers in length: compare
        // lengths first instead of calling memcmp for every field.
        let marker = |m: &str| v.len() == m.len() && v == m;
        (!v.is_empty() && !marker(self.unset) && !marker(self.empty)).then_some(v)
    }

    fn items(&self, col: Col) -> Vec<&str> {
        self.text(col).map(|v| v.split(self.set_separator).filter(|s| !s.is_empty()).collect()).unwrap_or_default()
    }
}

fn unescape_separator(s: &str) -> String {
    let s = s.trim();
    if let Some(hex) = s.strip_prefix("\\x") {
        return u8::from_str_radix(hex, 16).map(|b| (b as char).to_string()).unwrap_or_else(|_| s.into());
    }
    match s {
        "\\t" | "" => "\t".into(),
        s => s.into(),
    }
}

pub(crate) fn read_tsv(
    input: &[u8],
    mut each: impl FnMut(&dyn Fields) -> Result<(), RowError>,
) -> Result<Vec<Reject>, FileError> {
    let mut rejects = Vec::new();
    let (mut sep, mut unset, mut empty) = ("\t".to_string(), "-".to_string(), "(empty)".to_string());
    let mut set_separator = ",".to_string();
    let mut names: Vec<String> = Vec::new();
    // For each field of a line, the column read from it.
    let mut slots: Vec<Option<u8>> = Vec::new();
    let mut spans = [ABSENT; COLUMNS.len()];
    for line in crate::text::lines(input) {
        let Ok(raw) = line.text else {
            rejects.push(Reject::new(line.number, None, "line is not valid UTF-8", ""));
            continue;
        };
        // Some writers indent the header (a leading tab before `#separator`).
        if let Some(rest) = raw.trim_start().strip_prefix('#') {
            let (key, value) = rest.split_once(['\t', ' ']).unwrap_or((rest, ""));
            match key {
                "separator" => sep = unescape_separator(value),
                "unset_field" => unset = value.split(sep.as_str()).next().unwrap_or("-").to_string(),
                "set_separator" => set_separator = unescape_separator(value),
                "empty_field" => empty = value.split(sep.as_str()).next().unwrap_or("(empty)").to_string(),
                "fields" => {
                    names = value.split(sep.as_str()).map(str::to_string).collect();
                    slots =
                        names.iter().map(|n| COLUMNS.iter().position(|(_, name)| name == n).map(|c| c as u8)).collect();
                }
                _ => {}
            }
            continue;
        }
        if names.is_empty() {
            return Err(FileError::new(line.number, "data before the `#fields` header"));
        }
        let fields = field_spans(raw, &sep, &slots, &mut spans);
        if fields != names.len() {
            let why = format!("{fields} fields where `#fields` names {} (truncated line?)", names.len());
            rejects.push(Reject::new(line.number, None, why, raw));
            continue;
        }
        let row = TsvRow { line: raw, spans: &spans, unset: &unset, empty: &empty, set_separator: &set_separator };
        if let Err((field, why)) = each(&row) {
            rejects.push(Reject::new(line.number, Some(field), why, raw));
        }
    }
    Ok(rejects)
}

/// A JSON row whose numbers were turned into strings ([`stringify_numbers`]).
struct JsonRow(serde_json::Map<String, Value>);

impl JsonRow {
    fn value(&self, col: Col) -> Option<&Value> {
        let name = col.name();
        match self.0.get(name) {
            Some(v) => Some(v),
            // Nested form: {"id": {"orig_h": …}}.
            None => {
                let (outer, inner) = name.split_once('.')?;
                self.0.get(outer)?.get(inner)
            }
        }
    }
}

impl Fields for JsonRow {
    fn text(&self, col: Col) -> Option<&str> {
        self.value(col)?.as_str().filter(|s| !s.is_empty())
    }

    fn items(&self, col: Col) -> Vec<&str> {
        match self.value(col) {
            Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect(),
            Some(Value::String(s)) if !s.is_empty() => vec![s.as_str()],
            _ => Vec::new(),
        }
    }
}

pub(crate) fn read_json(
    input: &[u8],
    mut each: impl FnMut(&dyn Fields) -> Result<(), RowError>,
) -> Result<Vec<Reject>, FileError> {
    let mut rejects = Vec::new();
    for line in crate::text::lines(input) {
        let Ok(raw) = line.text else {
            rejects.push(Reject::new(line.number, None, "line is not valid UTF-8", ""));
            continue;
        };
        let map = match serde_json::from_str::<Value>(raw) {
            Ok(Value::Object(map)) => map,
            Ok(_) => {
                rejects.push(Reject::new(line.number, None, "not a JSON object", raw));
                continue;
            }
            Err(e) => {
                rejects.push(Reject::new(line.number, None, format!("invalid JSON: {e}"), raw));
                continue;
            }
        };
        let row = JsonRow(stringify_numbers(map));
        if let Err((field, why)) = each(&row) {
            rejects.push(Reject::new(line.number, Some(field), why, raw));
        }
    }
    Ok(rejects)
}

/// JSON numbers become strings so one text-based conversion serves both forms.
fn stringify_numbers(map: serde_json::Map<String, Value>) -> serde_json::Map<String, Value> {
    map.into_iter()
        .map(|(k, v)| match v {
            Value::Number(n) => (k, Value::String(n.to_string())),
            Value::Object(inner) => (k, Value::Object(stringify_numbers(inner))),
            other => (k, other),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use dragnet_core::Relation;

    const TSV: &str = "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tconn\n\
        #fields\t_node_name\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tduration\torig_ip_bytes\tresp_ip_bytes\textra\n\
        w1\t1713571129.542769\tC1\t10.0.0.5\t51000\t198.51.100.7\t443\ttcp\t1.5\t300\t600\tx\n\
        w1\t1713571130.1\tC2\t10.0.0.5\t51001\t198.51.100.7\t443\ttcp\t-\t-\t-\tx\n\
        w1\t1713571131.1\tC3\tnot-an-ip\t1\t198.51.100.7\t443\ttcp\t-\t-\t-\tx\n\
        w1\t1713571132.1\tC4\n";

    #[test]
    fn reads_tsv_by_header_with_unset_fields_and_extra_columns() {
        let log = read_conn(TSV.as_bytes()).unwrap();
        assert_eq!(log.conns.len(), 2);
        let c = &log.conns[0];
        assert_eq!(
            (c.uid.as_str(), c.src.to_string(), c.dst_port, c.orig_ip_bytes, c.duration),
            ("C1", "10.0.0.5".into(), 443, 300, 1.5)
        );
        assert_eq!((log.conns[1].orig_ip_bytes, log.conns[1].duration), (0, 0.0));
        assert_eq!((log.rejects[0].line, log.rejects[0].field.as_deref()), (9, Some("id.orig_h")));
        assert!(log.rejects[1].reason.contains("truncated"));
        let literal_tab = TSV.replace("#separator \\x09", "#separator \\t");
        assert_eq!(read_conn(literal_tab.as_bytes()).unwrap().conns.len(), 2);
        let indented = format!("\t{TSV}");
        assert_eq!(read_conn(indented.as_bytes()).unwrap().conns.len(), 2);
    }

    #[test]
    fn reads_json_dotted_and_nested_and_refuses_other_logs() {
        let json = "{\"_path\":\"conn\",\"ts\":1713571129.5,\"uid\":\"C1\",\"id.orig_h\":\"10.0.0.5\",\"id.orig_p\":1,\"id.resp_h\":\"198.51.100.7\",\"id.resp_p\":443,\"proto\":\"tcp\",\"orig_ip_bytes\":40}\n\
            {\"_path\":\"conn\",\"ts\":\"2024-04-20T00:00:01Z\",\"id\":{\"orig_h\":\"10.0.0.6\",\"orig_p\":2,\"resp_h\":\"198.51.100.8\",\"resp_p\":80}}\n{\"ts\":";
        let log = read_conn(json.as_bytes()).unwrap();
        assert_eq!(log.conns.len(), 2);
        assert_eq!((log.conns[0].orig_ip_bytes, log.conns[1].ts), (40, 1_713_571_201.0));
        assert_eq!(log.rejects.len(), 1);
        assert!(read_conn(b"#path\tdns\n#fields\tts\n").unwrap_err().message.contains("`dns`"));
        assert!(read_conn(b"hello, I am a text file\n").is_err());
        assert!(decompress(&[0x1f, 0x8b, 8, 0, 0]).is_err());
    }

    #[test]
    fn reads_zstd_and_gzip_written_by_the_real_tools() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/zeek");
        let plain = std::fs::read(dir.join("conn.log")).unwrap();
        for name in ["conn.log.zst", "conn.log.gz"] {
            let packed = std::fs::read(dir.join(name)).unwrap();
            assert_eq!(decompress(&packed).unwrap().as_ref(), plain.as_slice(), "{name}");
        }
        assert_eq!(read_conn(&plain).unwrap().conns.len(), 3);
        let zst = std::fs::read(dir.join("conn.log.zst")).unwrap();
        assert!(decompress(&zst[..zst.len() / 2]).is_err(), "a truncated frame is an error, not a panic");
    }

    #[test]
    fn digit_runs_match_the_standard_parser() {
        for s in ["0", "443", "18446744073709551615", "9999999999999999999", "", "-1", "+1", "1.5", "12a", "00042"] {
            let expected = s.parse::<u64>().ok().filter(|_| s.len() <= 19 && s.bytes().all(|b| b.is_ascii_digit()));
            assert_eq!(digits(s), expected, "{s:?}");
        }
    }

    #[test]
    fn dotted_quads_match_the_standard_parser() {
        for s in [
            "10.0.0.5",
            "255.255.255.255",
            "0.0.0.0",
            "1.2.3.4",
            "01.2.3.4",
            "1.2.3",
            "1.2.3.4.5",
            "256.1.1.1",
            "1..2.3",
            ".1.2.3",
            "1.2.3.",
            "a.b.c.d",
            "1.2.3.04",
            "::1",
            "1.2.3.4 ",
            "100.200.300.1",
            "",
        ] {
            assert_eq!(ipv4_dotted(s), s.parse().ok(), "{s:?}");
        }
    }

    #[test]
    fn epoch_seconds_match_the_float_parser() {
        for t in ["1713571129.542769", "1713571129", "0.5", "1713571129.1"] {
            assert_eq!(epoch_seconds(t), t.parse::<f64>().ok(), "{t}");
        }
        for bad in ["", ".5", "1e9", "-1.5", "12.3.4", "1713571129.1234567890"] {
            assert_eq!(epoch_seconds(bad), None, "{bad}");
        }
    }

    #[test]
    fn reads_names_and_dns_from_json_without_path() {
        let ssl = br#"{"ts":95.0,"uid":"C1","id.orig_h":"10.0.2.15","id.orig_p":1,"id.resp_h":"204.79.197.200","id.resp_p":443,"cipher":"X","server_name":"Ie.Example.COM."}"#;
        assert_eq!(log_path(ssl).as_deref(), Some("ssl"));
        let (names, _) = read_names(ssl).unwrap();
        assert_eq!((names[0].name.as_str(), names[0].proxied), ("ie.example.com", false));
        let connect = br#"{"ts":1.0,"uid":"C2","id.orig_h":"10.0.0.1","id.orig_p":1,"id.resp_h":"10.0.0.2","id.resp_p":3128,"method":"CONNECT","host":"evil.example:443","uri":"evil.example:443"}"#;
        let (names, _) = read_names(connect).unwrap();
        assert_eq!((names[0].name.as_str(), names[0].proxied), ("evil.example", true));
        let dns = b"{\"ts\":1.5,\"uid\":\"C3\",\"id.orig_h\":\"10.0.0.1\",\"query\":\"A.Example.\",\"trans_id\":1,\"rcode_name\":\"NXDOMAIN\"}";
        let (queries, rejects) = read_dns(dns).unwrap();
        assert!(rejects.is_empty());
        assert_eq!((queries[0].query.as_str(), &*queries[0].rcode), ("a.example", "NXDOMAIN"));
    }

    #[test]
    fn reads_links_from_ssl_x509_and_dns_logs() {
        let fp = "3f7a2b9c1d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8";
        let ssl = format!(
            "#separator \\x09\n#set_separator\t,\n#path\tssl\n#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tserver_name\tcert_chain_fps\tja3s\n\
             1700000000.5\tC1\t10.0.0.5\t5000\t198.51.100.7\t443\tC2.Example\t{fp},aaaa\tf4febc55ea12b31ae17cfb7e614afda8\n\
             1700000100.5\tC2\t10.0.0.5\t5001\t198.51.100.7\t443\tc2.example\t{fp}\t-\n"
        );
        let (links, rejects) = read_links(ssl.as_bytes()).unwrap();
        assert!(rejects.is_empty(), "{rejects:?}");
        type Seen<'a> = (Relation, &'a str, &'a str, Option<i64>, Option<i64>);
        let got: Vec<Seen<'_>> =
            links.iter().map(|l| (l.relation(), l.from.value(), l.to.value(), l.first_seen, l.last_seen)).collect();
        assert_eq!(
            got,
            vec![
                (Relation::ResolvesTo, "c2.example", "198.51.100.7", Some(1_700_000_000), Some(1_700_000_100)),
                (Relation::PresentsCertificate, "198.51.100.7", fp, Some(1_700_000_000), Some(1_700_000_100)),
                (
                    Relation::HasJa3s,
                    "198.51.100.7",
                    "f4febc55ea12b31ae17cfb7e614afda8",
                    Some(1_700_000_000),
                    Some(1_700_000_000)
                ),
            ]
        );
        let dns = br#"{"_path":"dns","ts":1700000000,"uid":"C3","id.orig_h":"10.0.0.5","id.resp_h":"10.0.0.1","query":"c2.example","answers":["198.51.100.7","2001:db8::7","alias.example"]}"#;
        let (links, _) = read_links(dns).unwrap();
        let to: Vec<&str> = links.iter().map(|l| l.to.value()).collect();
        assert_eq!(to, vec!["198.51.100.7", "2001:db8::7"], "answers that are addresses, not the resolver");
        let x509 =
            format!("#path\tx509\n#fields\tts\tfingerprint\tsan.dns\n1700000000\t{fp}\tc2.example,*.c2.example\n");
        let (links, _) = read_links(x509.as_bytes()).unwrap();
        assert_eq!(links.len(), 1, "a wildcard name is its base domain: {links:?}");
        assert_eq!((links[0].from.value(), links[0].relation()), ("c2.example", Relation::PresentsCertificate));
        assert!(read_links(b"#path\tconn\n#fields\tts\n1\n").is_err());
    }
}
