//! The DNSBL side by side with rbldnsd: the same list of addresses loaded
//! into Dragnet's serving index (load time, bytes per entry, in-process
//! lookups a second) and, with `--dnsbl-serve`, served on an address for
//! `dnsperf` (`scripts/bench-dnsbl` runs both servers on the same list).
//! Also the blocklist writers' rates on generated entries.

use std::path::Path;
use std::time::Instant;

use dragnet_core::{Category, Kind, Tlp};
use dragnet_dns::index::{Index, IndexBuilder, code};
use dragnet_engine::blocklist::{self, Entry, Format, cidr};

use crate::alloc;

/// Reads a list (one address or network a line, `#` comments) into an
/// index: the load rbldnsd does of its `ip4set` file.
pub fn load(path: &Path) -> anyhow::Result<(Index, f64, usize)> {
    let started = Instant::now();
    let text = std::fs::read_to_string(path)?;
    let before = alloc::live();
    let mut builder = IndexBuilder::with_capacity(text.len() / 12);
    for line in text.lines() {
        let value = line.split('#').next().unwrap_or_default().trim();
        if let Some(block) = cidr::parse(value) {
            builder.add(&block, code(Category::BotnetC2));
        }
    }
    let index = builder.build(1);
    let seconds = started.elapsed().as_secs_f64();
    let kept = alloc::live().saturating_sub(before);
    Ok((index, seconds, kept))
}

/// Load figures and the in-process lookup rates (20 M random addresses,
/// one by one and in batches of 64, each the better of two runs).
pub fn measure(path: &Path) -> anyhow::Result<serde_json::Value> {
    let (index, seconds, kept) = load(path)?;
    let mut rng: u64 = 0x2545_f491_4f6c_dd1d;
    let probes: Vec<u32> = (0..20_000_000)
        .map(|_| {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            (rng >> 32) as u32
        })
        .collect();
    let one_by_one = || probes.iter().filter(|a| index.find_v4(**a).is_some()).count();
    // As the UDP loop makes them: a batch's lookups together.
    let batched = || probes.chunks(64).map(|b| index.find_all_v4(b).iter().filter(|c| c.is_some()).count()).sum();
    // Each way twice, taking turns, the best of each: neither always runs on a warm cache.
    let (mut lookup, mut batch, mut hits) = (f64::MAX, f64::MAX, 0);
    for _ in 0..2 {
        let (found, seconds) = timed(one_by_one);
        (hits, lookup) = (found, lookup.min(seconds));
        let (found, seconds) = timed(batched);
        anyhow::ensure!(found == hits, "batched lookups found {found}, one by one {hits}");
        batch = batch.min(seconds);
    }
    Ok(serde_json::json!({
        "entries": index.entries, "ranges": index.ranges(), "load_seconds": seconds,
        "index_bytes": index.bytes(), "index_bytes_per_entry": index.bytes() as f64 / index.entries.max(1) as f64,
        "heap_bytes_kept": kept,
        "lookups": probes.len(), "hits": hits, "lookups_per_second": probes.len() as f64 / lookup,
        "batched_lookups_per_second": probes.len() as f64 / batch,
    }))
}

fn timed(f: impl Fn() -> usize) -> (usize, f64) {
    let started = Instant::now();
    let found = f();
    (found, started.elapsed().as_secs_f64())
}

/// Serves the list's index as `zone` on `address` until killed.
pub fn serve(path: &Path, address: std::net::SocketAddr, zone: &str, threads: usize) -> anyhow::Result<()> {
    let (index, seconds, _) = load(path)?;
    let zone = dragnet_dns::Zone::new(zone, "localhost", "https://dragnet.example/{}")
        .ok_or_else(|| anyhow::anyhow!("{zone}: not a DNS name"))?;
    let listening = dragnet_dns::serve(address, dragnet_dns::Shared::new(vec![zone], index), threads)?;
    eprintln!("serving {} on {} (loaded in {seconds:.3} s)", path.display(), listening.udp);
    loop {
        std::thread::park();
    }
}

/// Entries a second each blocklist format writes, on `n` generated
/// entries (addresses, networks and domains).
pub fn exports(n: usize) -> serde_json::Value {
    let entries: Vec<Entry> = (0..n)
        .map(|i| {
            let i = u32::try_from(i).unwrap_or(u32::MAX);
            let (value, kind) = match i % 10 {
                0..=6 => (std::net::Ipv4Addr::from(0x2d00_0000 + i * 7).to_string(), Kind::Ipv4),
                7 => (format!("{}/24", std::net::Ipv4Addr::from(0x5000_0000 + (i << 8))), Kind::Cidr),
                _ => (format!("c2-{i}.example-panel.top"), Kind::Domain),
            };
            Entry {
                value,
                kind,
                categories: vec![Category::BotnetC2],
                score: 80,
                tlp: Tlp::Clear,
                server: format!("srv-{i:010x}"),
                last_seen: 1_700_000_000,
                markings: Vec::new(),
            }
        })
        .collect();
    let mut entries = entries;
    blocklist::sort(&mut entries);
    let mut rates = serde_json::Map::new();
    for format in Format::ALL {
        let name = format.name();
        let started = Instant::now();
        let written = blocklist::write(format, &entries, &blocklist::Meta::default());
        let seconds = started.elapsed().as_secs_f64();
        rates.insert(
            name.to_string(),
            serde_json::json!({"seconds": seconds, "entries_per_second": n as f64 / seconds, "bytes": written.text.len()}),
        );
    }
    serde_json::Value::Object(rates)
}
