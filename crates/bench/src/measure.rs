//! `dragnet-bench`: generates a Feodo-Tracker-style CSV feed and a STIX 2.1
//! bundle of indicators, then measures single-threaded parse rate and durable
//! ingest rate into a fresh embedded store. Figures go to docs/benchmarks.md;
//! `scripts/bench-ingest` runs this beside IntelMQ on the same files.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use dragnet_core::policy::{BatchLabels, label};
use dragnet_core::store::{Batch, Observation, Source};
use dragnet_core::{Grade, Store, Tlp};
use dragnet_ingest::{Format, Mapping};
use dragnet_store::SqliteStore;
use serde::Serialize;

fn print_json<T: Serialize>(value: &T) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

#[derive(clap::Args)]
pub struct Args {
    /// Lines of the generated CSV feed.
    #[arg(long, default_value_t = 1_000_000)]
    lines: usize,
    /// Indicators in the generated STIX bundle.
    #[arg(long, default_value_t = 100_000)]
    stix: usize,
    /// Also write the generated inputs here (feodo.csv, bundle.json) so other
    /// tools can be measured on the same bytes.
    #[arg(long)]
    write_to: Option<PathBuf>,
    /// Runs of each measurement (parse; durable ingest into a fresh store) to take the best of.
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Measure parsing only.
    #[arg(long)]
    parse_only: bool,
    /// With --write-to: write the generated inputs (and, with --zeek-rows,
    /// conn.log) and measure nothing.
    #[arg(long, requires = "write_to")]
    write_only: bool,
    /// Rows of a generated Zeek conn log (TSV) to parse and score for beacons
    /// (0 = skip); pairs are one tenth of the rows.
    #[arg(long, default_value_t = 0)]
    zeek_rows: usize,
    /// With --write-only: pairs of the written conn log (0 = a tenth of the rows).
    #[arg(long, default_value_t = 0)]
    zeek_pairs: usize,
    /// Flows to encode as NetFlow v5 packets (30 a packet) and decode (0 = skip).
    #[arg(long, default_value_t = 0)]
    netflow_flows: usize,
    /// Random IPv4 prefixes (/8–/32, mostly /24) to index for longest-prefix
    /// lookups (0 = skip); 20 M random addresses are looked up.
    #[arg(long, default_value_t = 0)]
    prefixes: usize,
    /// A list of addresses and networks (one a line, as an rbldnsd ip4set)
    /// to load into the DNSBL's serving index and look up in.
    #[arg(long)]
    dnsbl_list: Option<PathBuf>,
    /// With --dnsbl-list: serve it on this address (UDP and TCP) until
    /// killed, as zone --dnsbl-zone, for dnsperf.
    #[arg(long, requires = "dnsbl_list")]
    dnsbl_serve: Option<std::net::SocketAddr>,
    #[arg(long, default_value = "dnsbl.bench")]
    dnsbl_zone: String,
    /// Threads reading UDP when serving (default 1).
    #[arg(long, default_value_t = 1)]
    dnsbl_threads: usize,
    /// Generated blocklist entries to write in every export format (0 = skip).
    #[arg(long, default_value_t = 0)]
    export_entries: usize,
    /// STIX objects to put in one TAXII collection of a fresh embedded store,
    /// then read 1,000 a page at the first, middle and last page (0 = skip).
    #[arg(long, default_value_t = 0)]
    taxii_objects: usize,
}

/// Milliseconds to read one 1,000-object TAXII page, the best of `runs`,
/// at the first, middle and last page of a collection of `n` objects.
fn measure_taxii(n: usize, runs: usize) -> anyhow::Result<serde_json::Value> {
    use dragnet_core::store::{TaxiiObject, TaxiiQuery};
    let dir = std::env::temp_dir().join(format!("dragnet-bench-taxii-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut store = SqliteStore::open(&dir)?;
    let started = Instant::now();
    for chunk in (0..n).collect::<Vec<_>>().chunks(10_000) {
        let objects: Vec<TaxiiObject> = chunk
            .iter()
            .map(|&i| TaxiiObject {
                collection: "bench".into(),
                id: format!("indicator--{:08x}-0000-4000-8000-{:012x}", i, i),
                version: "2024-01-01T00:00:00.000Z".into(),
                date_added: 1_700_000_000_000_000 + i as i64,
                seq: 0,
                kind: "indicator".into(),
                spec_version: "2.1".into(),
                body: format!(
                    r#"{{"type":"indicator","spec_version":"2.1","id":"indicator--{i:08x}","pattern":"[ipv4-addr:value = '{}']","pattern_type":"stix"}}"#,
                    ip(i)
                ),
            })
            .collect();
        store.taxii_add(&objects)?;
    }
    let load_seconds = started.elapsed().as_secs_f64();
    let mut pages = serde_json::Map::new();
    for (name, start) in [("first", None), ("middle", Some(n / 2)), ("last", Some(n.saturating_sub(1000)))] {
        // The key of the object just before the page, as `next` would carry it.
        let after = match start {
            None | Some(0) => None,
            Some(k) => {
                let q = TaxiiQuery {
                    collection: "bench",
                    added_after: Some(1_700_000_000_000_000 + k as i64 - 2),
                    limit: 1,
                    ..Default::default()
                };
                store.taxii_objects(&q)?.first().map(|o| (o.date_added, o.seq))
            }
        };
        let (seconds, page) = best_of(runs, || {
            let q = TaxiiQuery { collection: "bench", after, latest: Some(true), limit: 1001, ..Default::default() };
            Ok(store.taxii_objects(&q)?)
        })?;
        pages.insert(name.into(), serde_json::json!({"ms": seconds * 1000.0, "objects": page.len().min(1000)}));
    }
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(serde_json::json!({"objects": n, "load_seconds": load_seconds, "pages": pages}))
}

/// Runs `work` `runs` times (at least once): the fastest time and the last result.
fn best_of<T>(runs: usize, mut work: impl FnMut() -> anyhow::Result<T>) -> anyhow::Result<(f64, T)> {
    let mut best = f64::MAX;
    let mut last = None;
    for _ in 0..runs.max(1) {
        let t = Instant::now();
        let value = work()?;
        best = best.min(t.elapsed().as_secs_f64());
        last = Some(value);
    }
    Ok((best, last.expect("at least one run")))
}

fn measure_prefixes(n: usize, runs: usize) -> anyhow::Result<serde_json::Value> {
    let mut rng: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let prefixes: Vec<(std::net::IpAddr, u8, u32)> = (0..n)
        .map(|i| {
            let r = next();
            let len = match r % 100 {
                0..=59 => 24,
                60..=79 => 16 + (r >> 8) as u8 % 8,
                80..=94 => 25 + (r >> 8) as u8 % 8,
                _ => 8 + (r >> 8) as u8 % 8,
            };
            (std::net::IpAddr::V4(std::net::Ipv4Addr::from((r >> 32) as u32)), len, i as u32)
        })
        .collect();
    let t = Instant::now();
    let index = dragnet_analytics::prefix::PrefixIndex::build(prefixes);
    let build = t.elapsed().as_secs_f64();
    let probes: Vec<std::net::Ipv4Addr> = (0..20_000_000).map(|_| std::net::Ipv4Addr::from(next() as u32)).collect();
    let (best, hits) = best_of(runs, || Ok(probes.iter().filter(|ip| index.get_v4(**ip).is_some()).count()))?;
    let (best_batched, _) = best_of(runs, || {
        let mut hits = 0usize;
        index.get_many_v4(&probes, |v| hits += usize::from(v.is_some()));
        Ok(hits)
    })?;
    // IPv6: as many prefixes, /32–/64 inside 2000::/4, looked up by binary search.
    let v6 = |x: u64, y: u64| std::net::Ipv6Addr::from((0x2u128 << 124) | (u128::from(x) << 60) | u128::from(y >> 4));
    let prefixes6: Vec<(std::net::IpAddr, u8, u32)> =
        (0..n).map(|i| (std::net::IpAddr::V6(v6(next() >> 4, next())), 32 + (next() % 33) as u8, i as u32)).collect();
    let t = Instant::now();
    let index6 = dragnet_analytics::prefix::PrefixIndex::build(prefixes6);
    let build6 = t.elapsed().as_secs_f64();
    let probes6: Vec<std::net::Ipv6Addr> = (0..5_000_000).map(|_| v6(next() >> 4, next())).collect();
    let (best6, hits6) = best_of(runs, || Ok(probes6.iter().filter(|ip| index6.get_v6(**ip).is_some()).count()))?;
    Ok(serde_json::json!({
        "prefixes": n, "build_seconds": build, "lookups": probes.len(), "hits": hits,
        "lookup_seconds": best, "lookups_per_second": probes.len() as f64 / best,
        "batched_lookups_per_second": probes.len() as f64 / best_batched,
        "index_bytes": index.index_bytes(), "bytes_per_prefix": index.index_bytes() as f64 / n as f64,
        "ipv6": {
            "prefixes": n, "build_seconds": build6, "lookups": probes6.len(), "hits": hits6,
            "lookups_per_second": probes6.len() as f64 / best6,
            "bytes_per_prefix": index6.index_bytes() as f64 / n as f64,
        },
    }))
}

/// NetFlow v5 export packets holding `flows` records, 30 a packet.
pub fn netflow_v5_packets(flows: usize) -> Vec<Vec<u8>> {
    let mut packets = Vec::new();
    let mut left = flows;
    let mut seq = 0u32;
    while left > 0 {
        let n = left.min(30);
        let mut p = Vec::with_capacity(24 + n * 48);
        p.extend_from_slice(&5u16.to_be_bytes());
        p.extend_from_slice(&(n as u16).to_be_bytes());
        p.extend_from_slice(&3_600_000u32.to_be_bytes());
        p.extend_from_slice(&1_717_000_000u32.to_be_bytes());
        p.extend_from_slice(&0u32.to_be_bytes());
        p.extend_from_slice(&seq.to_be_bytes());
        p.extend_from_slice(&[0, 0, 0, 0]);
        for i in 0..n {
            let k = seq as usize + i;
            let src: std::net::Ipv4Addr = ip(k).parse().unwrap_or(std::net::Ipv4Addr::LOCALHOST);
            p.extend_from_slice(&src.octets());
            p.extend_from_slice(&[10, 0, (k >> 8) as u8, k as u8]);
            p.extend_from_slice(&[0; 8]);
            p.extend_from_slice(&((k % 50) as u32 + 1).to_be_bytes());
            p.extend_from_slice(&((k % 5000) as u32 + 40).to_be_bytes());
            p.extend_from_slice(&3_500_000u32.to_be_bytes());
            p.extend_from_slice(&3_590_000u32.to_be_bytes());
            p.extend_from_slice(&443u16.to_be_bytes());
            p.extend_from_slice(&((40_000 + k % 20_000) as u16).to_be_bytes());
            p.extend_from_slice(&[0, 0x1b, 6, 0, 0, 0, 0, 0, 24, 24, 0, 0]);
        }
        packets.push(p);
        seq += n as u32;
        left -= n;
    }
    packets
}

/// IPFIX export packets: one template set (IPv4 addresses, ports,
/// protocol, packet and byte counts, start and end in milliseconds: 45 bytes
/// a record), then data sets of 20 records each.
pub fn ipfix_packets(flows: usize) -> Vec<Vec<u8>> {
    const FIELDS: [(u16, u16); 9] = [(8, 4), (12, 4), (7, 2), (11, 2), (4, 1), (2, 8), (1, 8), (152, 8), (153, 8)];
    let header = |len: usize, seq: u32| {
        let mut p = Vec::with_capacity(len);
        p.extend_from_slice(&10u16.to_be_bytes());
        p.extend_from_slice(&(len as u16).to_be_bytes());
        p.extend_from_slice(&1_717_000_000u32.to_be_bytes());
        p.extend_from_slice(&seq.to_be_bytes());
        p.extend_from_slice(&7u32.to_be_bytes());
        p
    };
    let template_len = 16 + 4 + 4 + FIELDS.len() * 4;
    let mut template = header(template_len, 0);
    template.extend_from_slice(&2u16.to_be_bytes());
    template.extend_from_slice(&((template_len - 16) as u16).to_be_bytes());
    template.extend_from_slice(&256u16.to_be_bytes());
    template.extend_from_slice(&(FIELDS.len() as u16).to_be_bytes());
    for (id, len) in FIELDS {
        template.extend_from_slice(&id.to_be_bytes());
        template.extend_from_slice(&len.to_be_bytes());
    }
    let mut packets = vec![template];
    let mut done = 0usize;
    while done < flows {
        let n = (flows - done).min(20);
        let len = 16 + 4 + n * 45;
        let mut p = header(len, done as u32);
        p.extend_from_slice(&256u16.to_be_bytes());
        p.extend_from_slice(&((len - 16) as u16).to_be_bytes());
        for i in 0..n {
            let k = (done + i) as u32;
            p.extend_from_slice(&[10, 1, (k >> 8) as u8, k as u8]);
            p.extend_from_slice(&(0xc633_6400u32 | (k & 0xff)).to_be_bytes());
            p.extend_from_slice(&((40_000 + k % 20_000) as u16).to_be_bytes());
            p.extend_from_slice(&443u16.to_be_bytes());
            p.push(6);
            p.extend_from_slice(&u64::from(k % 50 + 1).to_be_bytes());
            p.extend_from_slice(&u64::from(k % 5000 + 40).to_be_bytes());
            p.extend_from_slice(&(1_716_999_990_000u64 + u64::from(k % 1000)).to_be_bytes());
            p.extend_from_slice(&(1_716_999_999_000u64).to_be_bytes());
        }
        packets.push(p);
        done += n;
    }
    packets
}

fn measure_netflow(flows: usize, runs: usize) -> anyhow::Result<((usize, f64), (usize, f64))> {
    let v5 = decode_all(&netflow_v5_packets(flows), flows, runs)?;
    let ipfix = decode_all(&ipfix_packets(flows), flows, runs)?;
    Ok((v5, ipfix))
}

fn decode_all(packets: &[Vec<u8>], flows: usize, runs: usize) -> anyhow::Result<(usize, f64)> {
    let (best, decoded) = best_of(runs, || {
        let mut decoder = dragnet_ingest::netflow::Decoder::new();
        let mut decoded = 0;
        for p in packets {
            decoded += decoder.decode("bench", p).map_err(|e| anyhow::anyhow!("{e}"))?.flows.len();
        }
        Ok(decoded)
    })?;
    anyhow::ensure!(decoded == flows, "decoded {decoded} of {flows}");
    Ok((flows, best))
}

/// A conn log of `rows` rows over `rows / 10` (internal, external) pairs, one
/// row a minute per pair on average, in time order.
pub fn zeek_conn_tsv(rows: usize) -> String {
    let mut out = Vec::with_capacity(rows * 170);
    write_zeek_conn(&mut out, rows, rows / 10).expect("writing to memory cannot fail");
    String::from_utf8(out).expect("the generated log is ASCII")
}

/// A Zeek conn log of `rows` rows over `pairs` internal → external pairs
/// (at least one) in one day, written as it is generated.
pub fn write_zeek_conn(out: &mut impl std::io::Write, rows: usize, pairs: usize) -> std::io::Result<()> {
    out.write_all(b"#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tconn\n")?;
    out.write_all(b"#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tduration\torig_bytes\tresp_bytes\tconn_state\tlocal_orig\tlocal_resp\tmissed_bytes\thistory\torig_pkts\torig_ip_bytes\tresp_pkts\tresp_ip_bytes\ttunnel_parents\n")?;
    let pairs = pairs.max(1);
    let start = 1_717_000_000.0;
    for i in 0..rows {
        let pair = (i * 7919) % pairs;
        let ts = start + (i as f64) * 86_400.0 / rows as f64;
        writeln!(
            out,
            "{ts:.6}\tC{i:x}\t10.{}.{}.{}\t{}\t{}\t443\ttcp\tssl\t{:.6}\t{}\t{}\tSF\tT\tF\t0\tShADadFf\t7\t{}\t6\t{}\t-",
            (pair >> 16) & 0xff,
            (pair >> 8) & 0xff,
            pair & 0xff,
            40_000 + i % 20_000,
            ip(pair + 1),
            0.05 + (i % 7) as f64 * 0.01,
            300 + i % 50,
            4_000 + i % 300,
            640 + i % 50,
            4_400 + i % 300
        )?;
    }
    Ok(())
}

#[derive(Serialize)]
struct ZeekFigure {
    rows: usize,
    bytes: usize,
    baseline_seconds: f64,
    baseline_rows_per_second: f64,
    parse_seconds: f64,
    parse_rows_per_second: f64,
    ratio_to_baseline: f64,
    beacon_seconds: f64,
    pairs: usize,
    beacons_scored: usize,
    /// Memory of the parsed connection records.
    bytes_per_connection: f64,
    /// Heap the beacon analysis needs beyond its input, at its peak.
    analysis_peak_bytes: usize,
    analysis_bytes_per_pair: f64,
}

fn measure_zeek(rows: usize, runs: usize) -> anyhow::Result<ZeekFigure> {
    let text = zeek_conn_tsv(rows);
    let bytes = text.as_bytes();
    // The physical floor: find every line and every field, nothing more.
    let (baseline, fields) = best_of(runs, || {
        Ok(bytes
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty() && l[0] != b'#')
            .map(|l| l.split(|&b| b == b'\t').count())
            .sum::<usize>())
    })?;
    anyhow::ensure!(fields == rows * 21, "baseline saw {fields} fields");
    let (parse, log) = best_of(runs, || dragnet_ingest::zeek::read_conn(bytes).map_err(|e| anyhow::anyhow!("{e}")))?;
    anyhow::ensure!(log.conns.len() == rows && log.rejects.is_empty(), "parsed {} of {rows}", log.conns.len());
    let conns = log.conns;
    let conn_bytes = conns.len() * std::mem::size_of::<dragnet_core::telemetry::Conn>();
    crate::alloc::reset_peak();
    let before = crate::alloc::live();
    let t = Instant::now();
    let report = dragnet_analytics::beacon::analyze(
        &conns,
        &[],
        &dragnet_analytics::filter::Filter::default(),
        &dragnet_analytics::beacon::Config::default(),
    );
    let beacon_seconds = t.elapsed().as_secs_f64();
    let analysis_peak = crate::alloc::peak().saturating_sub(before);
    let pairs = (rows / 10).max(1);
    Ok(ZeekFigure {
        rows,
        bytes: bytes.len(),
        baseline_seconds: baseline,
        baseline_rows_per_second: rows as f64 / baseline,
        parse_seconds: parse,
        parse_rows_per_second: rows as f64 / parse,
        ratio_to_baseline: parse / baseline,
        beacon_seconds,
        pairs,
        beacons_scored: report.ip.len(),
        bytes_per_connection: conn_bytes as f64 / rows as f64,
        analysis_peak_bytes: analysis_peak,
        analysis_bytes_per_pair: analysis_peak as f64 / pairs as f64,
    })
}

#[derive(Serialize)]
struct Figure {
    input: &'static str,
    items: usize,
    bytes: usize,
    parse_seconds: f64,
    parse_per_second: f64,
    ingest_seconds: f64,
    ingest_per_second: f64,
    store_bytes: u64,
}

/// A different, spread-out IPv4 address for each index.
fn ip(i: usize) -> String {
    let n = (i as u32).wrapping_mul(2_654_435_761).rotate_left(7) | 0x0100_0000;
    std::net::Ipv4Addr::from(n).to_string()
}

pub fn feodo_csv(lines: usize) -> String {
    let mut s = String::with_capacity(lines * 90);
    s.push_str("################################################################\n");
    s.push_str("# abuse.ch Feodo Tracker Botnet C2 IP Blocklist (CSV), generated by dragnet bench\n");
    s.push_str("# \"first_seen_utc\",\"dst_ip\",\"dst_port\",\"c2_status\",\"last_online\",\"malware\"\n");
    const MALWARE: [&str; 5] = ["QakBot", "Emotet", "Dridex", "Pikabot", "BumbleBee"];
    for i in 0..lines {
        let _ = writeln!(
            s,
            "\"2024-{:02}-{:02} {:02}:{:02}:{:02}\",\"{}\",\"{}\",\"online\",\"2024-06-{:02}\",\"{}\"",
            1 + i % 12,
            1 + i % 28,
            i % 24,
            i % 60,
            (i / 60) % 60,
            ip(i),
            [443, 8080, 4443, 995][i % 4],
            1 + i % 30,
            MALWARE[i % 5]
        );
    }
    s
}

pub fn stix_bundle(indicators: usize) -> String {
    let mut s = String::with_capacity(indicators * 400);
    s.push_str("{\"type\": \"bundle\", \"id\": \"bundle--00000000-0000-4000-8000-000000000000\", \"objects\": [\n");
    for i in 0..indicators {
        let pattern = match i % 3 {
            0 => format!("[ipv4-addr:value = '{}']", ip(i)),
            1 => format!("[domain-name:value = 'host{i}.bench.example']"),
            _ => format!("[url:value = 'http://host{i}.bench.example/payload.bin']"),
        };
        let _ = write!(
            s,
            "{}{{\"type\": \"indicator\", \"spec_version\": \"2.1\", \"id\": \"indicator--{:08x}-0000-4000-8000-{:012x}\", \
             \"created\": \"2024-05-01T00:00:00.000Z\", \"modified\": \"2024-05-02T00:00:00.000Z\", \
             \"pattern\": \"{pattern}\", \"pattern_type\": \"stix\", \"valid_from\": \"2024-05-01T00:00:00Z\", \
             \"confidence\": {}, \"labels\": [\"c2\"], \
             \"object_marking_refs\": [\"marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421\"]}}",
            if i == 0 { "" } else { ",\n" },
            i,
            i,
            50 + i % 50
        );
    }
    s.push_str("\n]}\n");
    s
}

fn measure(input: &'static str, format: Format, bytes: &[u8], items: usize, args: &Args) -> anyhow::Result<Figure> {
    let runs = args.runs;
    let mapping = Mapping::default();
    let (best, parsed) =
        best_of(runs, || dragnet_ingest::parse(format, bytes, &mapping).map_err(|e| anyhow::anyhow!("{input}: {e}")))?;
    anyhow::ensure!(parsed.records.len() == items, "{input}: parsed {} of {items}", parsed.records.len());
    if args.parse_only {
        return Ok(Figure {
            input,
            items,
            bytes: bytes.len(),
            parse_seconds: best,
            parse_per_second: items as f64 / best,
            ingest_seconds: 0.0,
            ingest_per_second: 0.0,
            store_bytes: 0,
        });
    }

    let source = Source { name: "bench".into(), grade: Grade::UNGRADED, tlp: Tlp::Green };
    let observations: Vec<_> =
        parsed.records.into_iter().map(|r| label(r, &source, &BatchLabels::default(), 1_717_000_000)).collect();
    let mut ingest = f64::MAX;
    let mut store_bytes = 0;
    for _ in 0..runs.max(1) {
        let (seconds, bytes) = durable_ingest(input, &source, &observations)?;
        ingest = ingest.min(seconds);
        store_bytes = bytes;
    }
    Ok(Figure {
        input,
        items,
        bytes: bytes.len(),
        parse_seconds: best,
        parse_per_second: items as f64 / best,
        ingest_seconds: ingest,
        ingest_per_second: items as f64 / ingest,
        store_bytes,
    })
}

/// Writes `observations` as one batch into a fresh embedded store in a
/// temporary directory; returns the seconds taken and the store's size.
fn durable_ingest(input: &str, source: &Source, observations: &[Observation]) -> anyhow::Result<(f64, u64)> {
    let dir = std::env::temp_dir().join(format!("dragnet-bench-{}-{input}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut store = SqliteStore::open(&dir)?;
    let t = Instant::now();
    let out = store.write_batch(&Batch {
        links: &[],
        source,
        origin: input,
        observations,
        rejects: &[],
        ingested_at: 1_717_000_000,
    })?;
    let seconds = t.elapsed().as_secs_f64();
    anyhow::ensure!(
        out.new_observations as usize == observations.len(),
        "{input}: stored {} of {}",
        out.new_observations,
        observations.len()
    );
    drop(store);
    let bytes = std::fs::read_dir(&dir)?.filter_map(|e| e.ok()?.metadata().ok()).map(|m| m.len()).sum();
    let _ = std::fs::remove_dir_all(&dir);
    Ok((seconds, bytes))
}

pub fn run(args: &Args, json: bool) -> anyhow::Result<ExitCode> {
    if let (Some(list), Some(address)) = (&args.dnsbl_list, args.dnsbl_serve) {
        crate::dnsbl::serve(list, address, &args.dnsbl_zone, args.dnsbl_threads)?;
    }
    if args.dnsbl_list.is_some() || args.export_entries > 0 {
        let dnsbl = args.dnsbl_list.as_deref().map(crate::dnsbl::measure).transpose()?;
        let exports = (args.export_entries > 0).then(|| crate::dnsbl::exports(args.export_entries));
        print_json(&serde_json::json!({"dnsbl": dnsbl, "exports": exports}))?;
        return Ok(ExitCode::SUCCESS);
    }
    let csv = feodo_csv(args.lines);
    let bundle = stix_bundle(args.stix);
    if let Some(dir) = &args.write_to {
        std::fs::create_dir_all(dir)?;
        std::fs::write(dir.join("feodo.csv"), &csv)?;
        std::fs::write(dir.join("bundle.json"), &bundle)?;
        if args.write_only {
            if args.zeek_rows > 0 {
                let pairs = if args.zeek_pairs > 0 { args.zeek_pairs } else { args.zeek_rows / 10 };
                let mut out = std::io::BufWriter::new(std::fs::File::create(dir.join("conn.log"))?);
                write_zeek_conn(&mut out, args.zeek_rows, pairs)?;
                std::io::Write::flush(&mut out)?;
            }
            return Ok(ExitCode::SUCCESS);
        }
    }
    let mut figures = Vec::new();
    if args.lines > 0 {
        figures.push(measure("feodo-csv", Format::Feodo, csv.as_bytes(), args.lines, args)?);
    }
    if args.stix > 0 {
        figures.push(measure("stix-bundle", Format::Stix, bundle.as_bytes(), args.stix, args)?);
    }
    let zeek = if args.zeek_rows > 0 { Some(measure_zeek(args.zeek_rows, args.runs)?) } else { None };
    let netflow = if args.netflow_flows > 0 { Some(measure_netflow(args.netflow_flows, args.runs)?) } else { None };
    let prefix = if args.prefixes > 0 { Some(measure_prefixes(args.prefixes, args.runs)?) } else { None };
    let taxii = if args.taxii_objects > 0 { Some(measure_taxii(args.taxii_objects, args.runs)?) } else { None };
    if json {
        let rate =
            |(n, s): (usize, f64)| serde_json::json!({"flows": n, "seconds": s, "flows_per_second": n as f64 / s});
        let netflow = netflow.map(|(v5, ipfix)| serde_json::json!({"v5": rate(v5), "ipfix": rate(ipfix)}));
        print_json(
            &serde_json::json!({"feeds": figures, "zeek": zeek, "netflow": netflow, "prefix_index": prefix, "taxii": taxii}),
        )?;
    } else {
        if let Some(t) = &taxii {
            println!(
                "taxii        {:>9} objects | load {:.1} s | 1,000-object page: first {:.2} ms, middle {:.2} ms, last {:.2} ms",
                t["objects"],
                t["load_seconds"].as_f64().unwrap_or_default(),
                t["pages"]["first"]["ms"].as_f64().unwrap_or_default(),
                t["pages"]["middle"]["ms"].as_f64().unwrap_or_default(),
                t["pages"]["last"]["ms"].as_f64().unwrap_or_default()
            );
        }
        if let Some(p) = &prefix {
            println!(
                "prefix-index {:>9} prefixes | build {:.3} s | {} lookups {:.3} s = {:.1} M/s ({} hits) | {:.1} bytes/prefix",
                p["prefixes"],
                p["build_seconds"].as_f64().unwrap_or_default(),
                p["lookups"],
                p["lookup_seconds"].as_f64().unwrap_or_default(),
                p["lookups_per_second"].as_f64().unwrap_or_default() / 1e6,
                p["hits"],
                p["bytes_per_prefix"].as_f64().unwrap_or_default()
            );
            println!(
                "prefix-index grouped lookups {:.1} M/s | IPv6 {} prefixes: {:.2} M lookups/s, {:.1} bytes/prefix",
                p["batched_lookups_per_second"].as_f64().unwrap_or_default() / 1e6,
                p["ipv6"]["prefixes"],
                p["ipv6"]["lookups_per_second"].as_f64().unwrap_or_default() / 1e6,
                p["ipv6"]["bytes_per_prefix"].as_f64().unwrap_or_default()
            );
        }
        if let Some(((n, secs), (m, ipfix_secs))) = netflow {
            println!("netflow-v5   {n:>9} flows | decode {secs:.3} s = {:.0} flows/s", n as f64 / secs);
            println!(
                "ipfix        {m:>9} flows | decode {ipfix_secs:.3} s = {:.0} flows/s (template-driven)",
                m as f64 / ipfix_secs
            );
        }
        if let Some(z) = &zeek {
            println!(
                "zeek-conn    {:>9} rows {:>6.1} MB | split baseline {:.3} s = {:.0} rows/s | parse {:.3} s = {:.0} rows/s ({:.1}x baseline) | beacons over {} pairs {:.3} s",
                z.rows,
                z.bytes as f64 / 1e6,
                z.baseline_seconds,
                z.baseline_rows_per_second,
                z.parse_seconds,
                z.parse_rows_per_second,
                z.ratio_to_baseline,
                z.pairs,
                z.beacon_seconds
            );
            println!(
                "zeek-conn    {:.0} bytes per connection record | beacon analysis peak {:.1} MB = {:.0} bytes per pair",
                z.bytes_per_connection,
                z.analysis_peak_bytes as f64 / 1e6,
                z.analysis_bytes_per_pair
            );
        }
        for f in &figures {
            println!(
                "{:<12} {:>9} items {:>6.1} MB | parse {:>7.3} s = {:>10.0}/s | durable ingest {:>7.3} s = {:>9.0}/s | store {:.1} MB",
                f.input,
                f.items,
                f.bytes as f64 / 1e6,
                f.parse_seconds,
                f.parse_per_second,
                f.ingest_seconds,
                f.ingest_per_second,
                f.store_bytes as f64 / 1e6
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
