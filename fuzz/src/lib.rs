//! The bodies of Dragnet's fuzz targets, one function per target. Each takes
//! the raw input, calls the same public functions the binary calls on a
//! file's bytes, and asserts invariants beyond "does not panic".
//!
//! Only the crates' public API, `serde` and `serde_json` are used here, so
//! the main workspace's regression test can `#[path]`-include this file and
//! replay `fuzz/regressions/<target>/*` through [`TARGETS`] with `cargo test`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use dragnet_analytics::{geo, warninglist};
use dragnet_core::score;
use dragnet_core::{Category, Grade, Kind, Observable, Parsed, Relation, format_timestamp, parse_timestamp};
use dragnet_ingest::formats::{abusech, csv_mapped, dshield, misp, plain, spamhaus, stix};
use dragnet_ingest::{Format, Mapping, netflow, pcap, sources_json as sources, suricata, zeek};

/// A target's body: one input, panics on a finding.
pub type Target = fn(&[u8]);

/// Every target: its name (the `fuzz_targets/<name>.rs` binary and the
/// `corpus/`, `regressions/` folder) and its body.
pub const TARGETS: &[(&str, Target)] = &[
    ("detect", detect),
    ("parse_stix", parse_stix),
    ("parse_misp", parse_misp),
    ("parse_abusech", parse_abusech),
    ("parse_spamhaus", parse_spamhaus),
    ("parse_dshield", parse_dshield),
    ("parse_plain", parse_plain),
    ("parse_csv", parse_csv),
    ("stretches", stretches),
    ("observable", observable),
    ("timestamp", timestamp),
    ("stix_pattern", stix_pattern),
    ("zeek", zeek),
    ("zeek_stream", zeek_stream),
    ("suricata", suricata),
    ("netflow", netflow),
    ("pcap", pcap),
    ("warninglist", warninglist),
    ("geo", geo),
    ("config", config),
    ("sources_json", sources_json),
    ("access_text", access_text),
    ("contacts", contacts),
    ("prober", prober),
];

// ---------------------------------------------------------------------------
// Shared invariants

/// An observable is normal: parsing its own value as its own kind gives it back.
fn assert_normal(o: &Observable) {
    let again = Observable::parse(o.kind(), o.value());
    assert_eq!(again.as_ref(), Ok(o), "{} `{}` is not normal", o.kind(), o.value());
}

/// What every feed parser promises about its output.
fn check_parsed(input: &[u8], parsed: &Parsed) {
    // Line numbers point into the input (0 means "unknown").
    let lines = input.iter().filter(|&&b| b == b'\n').count() + 1;
    for r in &parsed.records {
        assert_normal(&r.observable);
        assert!(r.line as usize <= lines, "record line {} of {lines}", r.line);
        if let Some(c) = r.confidence {
            assert!(c <= 100, "confidence {c} > 100");
        }
    }
    for r in &parsed.rejects {
        assert!(r.line as usize <= lines, "reject line {} of {lines}", r.line);
    }
    for l in &parsed.links {
        assert_normal(&l.from);
        assert_normal(&l.to);
        assert!(
            Relation::between(l.from.kind(), l.to.kind()).is_some(),
            "link {} → {} has no relation",
            l.from.kind(),
            l.to.kind()
        );
        assert!(l.line as usize <= lines, "link line {} of {lines}", l.line);
        if let (Some(a), Some(b)) = (l.first_seen, l.last_seen) {
            assert!(a <= b, "link first seen {a} after last seen {b}");
        }
    }
}

fn check(input: &[u8], result: Result<Parsed, dragnet_core::FileError>) {
    if let Ok(parsed) = result {
        check_parsed(input, &parsed);
    }
}

// ---------------------------------------------------------------------------
// Feeds

/// `dragnet ingest` with `--format auto`: detection, then that parser.
/// Detection must be a function of the content only.
pub fn detect(data: &[u8]) {
    let format = dragnet_ingest::detect(data);
    assert_eq!(format, dragnet_ingest::detect(data));
    check(data, dragnet_ingest::parse(format, data, &Mapping::default()));
}

pub fn parse_stix(data: &[u8]) {
    check(data, stix::parse(data));
}

/// A MISP event or export, and the same bytes as a MISP feed manifest.
pub fn parse_misp(data: &[u8]) {
    check(data, misp::parse(data));
    if let Ok(files) = misp::feed_event_files(data) {
        for f in files {
            // The binary joins these to the feed folder's path.
            assert!(!f.contains('/') && !f.contains('\\') && !f.starts_with('.'), "manifest gave file `{f}`");
        }
    }
}

/// Feodo Tracker, URLhaus and ThreatFox (all three on every input).
pub fn parse_abusech(data: &[u8]) {
    check(data, abusech::parse_feodo(data));
    check(data, abusech::parse_urlhaus(data));
    check(data, abusech::parse_threatfox(data));
}

/// Spamhaus DROP and ASN-DROP, text and JSON lines.
pub fn parse_spamhaus(data: &[u8]) {
    check(data, spamhaus::parse_drop(data));
    check(data, spamhaus::parse_asn_drop(data));
}

pub fn parse_dshield(data: &[u8]) {
    check(data, dshield::parse(data));
}

pub fn parse_plain(data: &[u8]) {
    check(data, plain::parse(data));
}

/// Delimited files. An input starting with `\x01` carries a `--columns`
/// mapping on its first line (`\x01value=1,kind=2\n…`); otherwise the
/// value column is found by its usual names.
pub fn parse_csv(data: &[u8]) {
    let (mapping, body) = match data.strip_prefix(b"\x01") {
        Some(rest) => {
            let end = rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
            let spec = String::from_utf8_lossy(&rest[..end]);
            let Ok(mapping) = spec.parse::<Mapping>() else { return };
            (mapping, rest.get(end + 1..).unwrap_or_default())
        }
        None => (Mapping::default(), data),
    };
    check(body, csv_mapped::parse(body, &mapping));
    check(body, dragnet_ingest::parse(Format::Csv, body, &mapping));
}

/// A line-based feed read a stretch at a time, as `dragnet ingest` reads
/// large files: the first byte picks the format, the second the stretch
/// size. The stretches are the input, whole and in order; what each yields
/// keeps the parsers' promises about the whole input's lines.
pub fn stretches(data: &[u8]) {
    use dragnet_ingest::stream::{StretchParser, Stretches};
    let [pick, size, body @ ..] = data else { return };
    let formats =
        [Format::Plain, Format::Csv, Format::Feodo, Format::Urlhaus, Format::Threatfox, Format::Drop, Format::Dshield];
    let format = formats[usize::from(*pick) % formats.len()];
    if !dragnet_ingest::stream::streams(format, body) {
        return;
    }
    let target = usize::from(*size % 64) + 1;
    let mapping = Mapping::default();
    let mut parser = StretchParser::new(format, &mapping);
    let mut joined = Vec::new();
    let mut last_line = 0;
    for stretch in Stretches::with_sizes(body, format, target * 2, target) {
        let stretch = stretch.expect("reading a slice cannot fail");
        assert!(stretch.first_line > last_line, "stretches start on later lines");
        last_line = stretch.first_line;
        joined.extend_from_slice(&stretch.bytes);
        check(body, parser.parse(&stretch));
    }
    assert_eq!(joined, body, "the stretches are the input");
}

// ---------------------------------------------------------------------------
// Values

/// `Observable::guess` and `Observable::parse` for every kind, plus the
/// helpers that work on normal values. Every observable built must be normal
/// (parse is idempotent) and keep the kind asked for (IPv6 may fold to IPv4).
pub fn observable(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let text = text.as_ref();
    let _ = text.parse::<Kind>();
    let _ = dragnet_core::observable::refang(text);
    if let Some(d) = dragnet_core::observable::normalise_domain(text) {
        assert_eq!(
            dragnet_core::observable::normalise_domain(&d).as_deref(),
            Some(d.as_str()),
            "normalise_domain is not idempotent"
        );
    }
    let mut built = Vec::new();
    if let Ok(o) = Observable::guess(text) {
        built.push(o);
    }
    for kind in Kind::ALL {
        if let Ok(o) = Observable::parse(kind, text) {
            let folded = match kind {
                Kind::Ipv6 => o.kind() == Kind::Ipv4,
                Kind::Cidr => matches!(o.kind(), Kind::Ipv4 | Kind::Ipv6),
                _ => false,
            };
            assert!(o.kind() == kind || folded, "parse({kind}) gave a {}", o.kind());
            built.push(o);
        }
    }
    for o in &built {
        assert_normal(o);
        if let Some((lo, hi)) = o.ip_range() {
            assert!(lo <= hi, "ip_range of `{}` is reversed", o.value());
        }
        for n in o.covering_networks() {
            let _ = Observable::parse(Kind::Cidr, &n);
        }
        for p in o.parent_domains() {
            let _ = Observable::parse(Kind::Domain, p);
        }
        if let Some(h) = o.url_host() {
            assert_normal(&h);
        }
        let _ = warninglist::hits(&warninglist::built_in(), o);
    }
}

/// Feed timestamps: whatever parses formats back to the same instant, and
/// any instant formats without panicking.
pub fn timestamp(data: &[u8]) {
    if let Some(bytes) = data.get(..8) {
        let t = i64::from_le_bytes(bytes.try_into().unwrap_or_default());
        let _ = format_timestamp(t);
    }
    let text = String::from_utf8_lossy(data);
    for t in [parse_timestamp(&text), spamhaus::parse_http_date(&text)].into_iter().flatten() {
        let f = format_timestamp(t);
        // Years 0000–9999 print as four digits, the form parse_timestamp reads.
        if f.len() == 20 {
            assert_eq!(parse_timestamp(&f), Some(t), "`{text}` → {t} → `{f}` does not read back");
        }
    }
}

/// STIX patterns. `formats::stix_pattern` is private, so the pattern is
/// wrapped in an indicator and read by the STIX parser, as a feed would.
pub fn stix_pattern(data: &[u8]) {
    let pattern = String::from_utf8_lossy(data);
    let bundle = serde_json::json!({
        "type": "bundle",
        "id": "bundle--5d0092c5-5f74-4287-9642-33f4c354e56d",
        "objects": [{
            "type": "indicator",
            "spec_version": "2.1",
            "id": "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
            "created": "2016-04-06T20:03:48.000Z",
            "modified": "2016-04-06T20:03:48.000Z",
            "pattern": pattern,
            "pattern_type": "stix",
            "valid_from": "2016-01-01T00:00:00Z"
        }]
    });
    let bytes = serde_json::to_vec_pretty(&bundle).unwrap_or_default();
    check(&bytes, stix::parse(&bytes));
}

// ---------------------------------------------------------------------------
// Telemetry

/// Zeek logs as `dragnet telemetry` reads them: decompression, the log's
/// path, then every reader (each must refuse or read any log, not panic).
pub fn zeek(data: &[u8]) {
    let Ok(plain) = zeek::decompress(data) else { return };
    let _ = zeek::log_path(&plain);
    let _ = zeek::read_conn(&plain);
    let _ = zeek::read_names(&plain);
    let _ = zeek::read_dns(&plain);
    if let Ok((links, _)) = zeek::read_links(&plain) {
        for l in &links {
            assert_normal(&l.from);
            assert_normal(&l.to);
        }
    }
}

/// `dragnet telemetry`'s streamed conn log: decompressed as it is read
/// (gzip members, zstd frames), parsed a stretch at a time. Where the log
/// also reads whole, both give the same connections and rejects.
pub fn zeek_stream(data: &[u8]) {
    let (mut conns, mut rejects) = (Vec::new(), Vec::new());
    let limits = zeek::Limits::default();
    let streamed = dragnet_ingest::zeek_stream::read_conn_stream(
        data,
        data.len() as u64,
        &limits,
        &mut |c| conns.push(c),
        &mut |r| rejects.push(r),
    );
    let Ok(plain) = zeek::decompress(data) else { return };
    if let (Ok(()), Ok(whole)) = (streamed, zeek::read_conn(&plain)) {
        assert_eq!(conns, whole.conns, "streamed and whole reads differ");
        assert_eq!(rejects, whole.rejects, "streamed and whole rejects differ");
    }
}

/// Suricata EVE: `read_eve` succeeds only on what `is_eve` accepts, and
/// reading it as a stream (as `telemetry` does) gives the same events.
pub fn suricata(data: &[u8]) {
    let is_eve = suricata::is_eve(data);
    let whole = suricata::read_eve(data);
    if let Ok(eve) = &whole {
        assert!(is_eve, "read_eve accepted what is_eve refused");
        for l in &eve.links {
            assert_normal(&l.from);
            assert_normal(&l.to);
        }
    }
    let mut links = dragnet_ingest::links::LinkSet::default();
    let mut parts = Vec::new();
    let limits = zeek::Limits::default();
    let streamed =
        suricata::read_eve_stream(data, data.len() as u64, &limits, Some(&mut links), &mut |e| parts.push(e));
    // A compressed input is expanded by the stream only.
    let compressed = data.starts_with(&[0x1f, 0x8b]) || data.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]);
    if let (Ok(whole), Ok(()), false) = (whole, streamed, compressed) {
        let conns: Vec<_> = parts.iter().flat_map(|p| p.conns.clone()).collect();
        let rejects: Vec<_> = parts.iter().flat_map(|p| p.rejects.clone()).collect();
        assert_eq!(conns, whole.conns, "streamed and whole flows differ");
        assert_eq!(rejects, whole.rejects, "streamed and whole rejects differ");
        assert_eq!(links.into_links(), whole.links, "streamed and whole links differ");
    }
}

/// NetFlow v5/v9 and IPFIX. The input is one packet; if it holds the
/// separator `NFSPLIT`, its pieces are also decoded in order with one
/// template cache (a template packet, then data packets), as `telemetry`
/// and `collect` do.
pub fn netflow(data: &[u8]) {
    const SEP: &[u8] = b"NFSPLIT";
    let decode = |decoder: &mut netflow::Decoder, exporter: &str, packet: &[u8]| {
        if let Ok(d) = decoder.decode(exporter, packet) {
            for (i, flow) in d.flows.iter().enumerate() {
                let _ = flow.to_conn(format!("fuzz#{i}"), d.export_time);
            }
        }
    };
    decode(&mut netflow::Decoder::new(), "one", data);
    let mut decoder = netflow::Decoder::new();
    let mut rest = data;
    let mut n = 0;
    while !rest.is_empty() && n < 64 {
        let (piece, after) = match rest.windows(SEP.len()).position(|w| w == SEP) {
            Some(at) => (&rest[..at], &rest[at + SEP.len()..]),
            None => (rest, &[][..]),
        };
        // Two exporters take turns, so templates must stay apart.
        decode(&mut decoder, if n % 3 == 2 { "other" } else { "first" }, piece);
        rest = after;
        n += 1;
    }
}

/// pcap and pcapng captures, their UDP datagrams decoded as NetFlow/IPFIX
/// the way `telemetry` does.
pub fn pcap(data: &[u8]) {
    let is_capture = pcap::is_capture(data);
    // Read a record at a time, as `telemetry` does: the same datagrams, or an error where reading whole fails.
    let mut streamed = Vec::new();
    let other =
        pcap::read_stream(data, &mut |d| streamed.push((d.ts.to_bits(), d.src, d.src_port, d.payload.to_vec())));
    let whole = pcap::read(data);
    match (&whole, other) {
        (Ok(c), Ok(other)) => {
            assert_eq!(other, c.other_packets, "streamed and whole other packets differ");
            let whole: Vec<_> =
                c.datagrams.iter().map(|d| (d.ts.to_bits(), d.src, d.src_port, d.payload.to_vec())).collect();
            assert_eq!(streamed, whole, "streamed and whole datagrams differ");
        }
        (Err(_), Err(_)) => {}
        (w, s) => panic!("reading whole gave {:?}, streamed {:?}", w.as_ref().err(), s.err()),
    }
    let Ok(capture) = whole else { return };
    assert!(is_capture, "pcap::read accepted what is_capture refused");
    let mut decoder = netflow::Decoder::new();
    for d in &capture.datagrams {
        if let Ok(packet) = decoder.decode(&d.src.to_string(), d.payload) {
            for (j, flow) in packet.flows.iter().enumerate() {
                let _ = flow.to_conn(format!("fuzz#{j}"), packet.export_time);
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Reference data and configuration

/// A MISP warninglist (`list.json`): parsing, then matching values built
/// from its own entries. A `string` list holds each of its entries.
pub fn warninglist(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(list) = warninglist::WarningList::parse(text) else { return };
    let entries: Vec<String> = serde_json::from_str::<serde_json::Value>(text)
        .ok()
        .and_then(|v| v.get("list").and_then(|l| l.as_array()).cloned())
        .unwrap_or_default()
        .iter()
        .map(|e| e.as_str().map(str::to_string).unwrap_or_else(|| e.to_string()))
        .take(64)
        .collect();
    for kind in Kind::ALL {
        let _ = list.applies_to(kind);
    }
    let lists = [list];
    for e in &entries {
        if lists[0].kind == warninglist::ListKind::String {
            assert!(lists[0].matches(e), "string list misses its own entry `{e}`");
        } else {
            let _ = lists[0].matches(e);
        }
        if let Ok(o) = Observable::guess(e) {
            let _ = warninglist::hits(&lists, &o);
        }
    }
}

fn address_of(k: u128) -> IpAddr {
    let v6 = Ipv6Addr::from(k);
    v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4)
}

/// Geo data: a MaxMind DB file, and the same bytes as a range file. Every
/// range imported is found again by its first and last address.
pub fn geo(data: &[u8]) {
    let _ = geo::is_mmdb(data);
    let mut facts = Vec::new();
    if let Ok(f) = geo::parse_mmdb(data) {
        facts.extend(f);
    }
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(f) = geo::parse_ranges(text)
    {
        facts.extend(f);
    }
    for (lo, hi, _) in &facts {
        assert!(lo <= hi, "range ends before it starts");
    }
    if facts.is_empty() {
        // An index build is slow (about 50 a second when fuzzing): only build one for something.
        return;
    }
    let index = geo::GeoIndex::build(facts.iter().cloned());
    for (lo, hi, fact) in facts.iter().take(64) {
        for k in [*lo, *hi] {
            let e = index.enrich(address_of(k));
            match fact {
                geo::Fact::Asn { .. } => assert!(e.asn.is_some(), "no ASN for imported {}", address_of(k)),
                geo::Fact::Country(_) => assert!(e.country.is_some(), "no country for imported {}", address_of(k)),
            }
        }
    }
    for ip in [IpAddr::V4(Ipv4Addr::new(1, 2, 3, 4)), IpAddr::V6(Ipv6Addr::LOCALHOST)] {
        let _ = index.enrich(ip);
    }
    let _ = index.to_lines();
}

/// The configuration file (`config.json`, the engine's `Config`): the
/// scores computed with any accepted config stay in 0–100.
pub fn config(data: &[u8]) {
    let Ok(config) = serde_json::from_slice::<dragnet_engine::config::Config>(data) else { return };
    let grades = ["A1", "C3", "F6"].map(|g| g.parse::<Grade>().unwrap_or(Grade::UNGRADED));
    let mut contributions = Vec::new();
    for (i, category) in Category::ALL.iter().copied().enumerate() {
        let grade = grades[i % grades.len()];
        let c = score::contribution(&config.scoring, "p/s", grade, category, Some(50), 0, 86_400 * i as i64);
        assert!(!(c.strength > 1.0 || c.strength < 0.0), "strength {}", c.strength);
        contributions.push(c);
    }
    let e = score::combine(contributions);
    assert!(e.score <= 100);
}

/// A folder's `sources.json`: every path it accepts stays inside the folder,
/// and every feed or sensor it names has a source.
pub fn sources_json(data: &[u8]) {
    let Ok(named) = sources::parse(data) else { return };
    for n in named {
        let path = std::path::Path::new(&n.path);
        assert!(
            !path.is_absolute() && path.components().all(|c| matches!(c, std::path::Component::Normal(_))),
            "`{}` leaves the folder",
            n.path
        );
        if matches!(n.role, sources::Role::Feed | sources::Role::Telemetry) {
            assert!(n.source.is_some_and(|s| !s.name.trim().is_empty()), "`{}` has no source", n.path);
        }
    }
}

/// Text callers send the server and the command line about who may see
/// what: recipients and organisation kinds and roles read back as they
/// print, accepted organisation names hold nothing a stored list would
/// split on, and TAXII timestamps round-trip to the microsecond.
pub fn access_text(data: &[u8]) {
    use dragnet_core::access::{OrgKind, Recipient, Role};
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(r) = text.parse::<Recipient>() {
        assert_eq!(r.to_string().parse::<Recipient>().as_ref(), Ok(&r), "recipient `{text}`");
    }
    if let Ok(k) = text.parse::<OrgKind>() {
        assert_eq!(k.as_str().parse::<OrgKind>(), Ok(k));
    }
    if let Ok(r) = text.parse::<Role>() {
        assert_eq!(r.as_str().parse::<Role>(), Ok(r));
    }
    if let Ok(s) = text.parse::<dragnet_core::takedown::State>() {
        assert_eq!(s.as_str().parse::<dragnet_core::takedown::State>(), Ok(s));
    }
    if let Ok(k) = text.parse::<dragnet_core::case::ActionKind>() {
        assert_eq!(k.as_str().parse::<dragnet_core::case::ActionKind>(), Ok(k));
    }
    if dragnet_engine::access::check_name(text).is_ok() {
        assert!(!text.contains([',', ':', '/', ' ']) && text.len() <= 64, "name `{text}`");
    }
    if let Some(t) = dragnet_engine::taxii::parse_timestamp(text) {
        let printed = dragnet_engine::taxii::timestamp(t);
        assert_eq!(dragnet_engine::taxii::parse_timestamp(&printed), Some(t), "`{text}` printed as `{printed}`");
    }
}

/// Abuse contact files (`network,email[,name]`): every contact accepted
/// reads back as itself, every refusal names a line of the input, and an
/// accepted address can go into a mail header as it is.
pub fn contacts(data: &[u8]) {
    let lines = data.split(|b| *b == b'\n').count();
    match dragnet_engine::contacts::parse(data) {
        Ok(contacts) => {
            let again: String = contacts.iter().map(|c| format!("{},{},{}\n", c.network, c.email, c.name)).collect();
            if contacts.iter().all(|c| !c.name.contains(['#', ','])) {
                assert_eq!(dragnet_engine::contacts::parse(again.as_bytes()).as_ref(), Ok(&contacts), "{again}");
            }
            for c in &contacts {
                assert_eq!(c.email.matches('@').count(), 1, "{}", c.email);
                assert!(c.email.bytes().all(|b| b.is_ascii_graphic()), "{}", c.email);
            }
        }
        Err(bad) => {
            assert!(!bad.is_empty());
            assert!(bad.iter().all(|b| b.line >= 1 && b.line <= lines), "{bad:?}");
        }
    }
}

/// What the prober reads from outside: a probed server's first bytes (its
/// TLS hello, whose every field is re-encoded and read back the same) and
/// a candidate list (never more than its bound, every address once).
pub fn prober(data: &[u8]) {
    use dragnet_ingest::tls_hello::server_hello;
    if let Ok(hello) = server_hello(data) {
        let mut extensions = Vec::new();
        for e in &hello.extensions {
            extensions.extend(e.to_be_bytes());
            extensions.extend([0, 0]);
        }
        let mut body = hello.version.to_be_bytes().to_vec();
        body.extend([0; 33]);
        body.extend(hello.cipher.to_be_bytes());
        body.push(0);
        if extensions.len() <= usize::from(u16::MAX) && body.len() + extensions.len() < 16_000 {
            body.extend((extensions.len() as u16).to_be_bytes());
            body.extend(extensions);
            let mut record = vec![22, 3, 3];
            record.extend(((body.len() + 4) as u16).to_be_bytes());
            record.extend([2, 0, (body.len() >> 8) as u8, body.len() as u8]);
            record.extend(body);
            assert_eq!(server_hello(&record).as_ref(), Ok(&hello));
        }
        assert_eq!(hello.ja3s().len(), 32);
    }
    let text = String::from_utf8_lossy(data);
    if let Ok(ips) = dragnet_engine::probe::parse_candidates("fuzz", &text) {
        assert!(ips.len() <= dragnet_engine::probe::MAX_CANDIDATES);
        let unique: std::collections::HashSet<_> = ips.iter().collect();
        assert_eq!(unique.len(), ips.len());
    }
}
