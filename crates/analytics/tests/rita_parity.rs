//! RITA's published scores on its own fixtures (../shared/samples/zeek/rita),
//! reproduced exactly.

use std::path::{Path, PathBuf};

use dragnet_analytics::beacon::spill::InMemory;
use dragnet_analytics::beacon::{Beacon, Beacons, Config, Kept, analyze, ip_beacons, window};
use dragnet_analytics::filter::Filter;
use dragnet_core::telemetry::{Conn, NamedConn};
use dragnet_ingest::zeek;

fn fixture(name: &str) -> Option<PathBuf> {
    dragnet_testkit::samples(&format!("zeek/rita/{name}"))
}

fn conns(dir: &Path) -> Vec<Conn> {
    load(dir).0
}

/// Every conn row and every server name (ssl, http) under `dir`.
fn load(dir: &Path) -> (Vec<Conn>, Vec<NamedConn>) {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() { stack.push(p) } else { files.push(p) }
        }
    }
    files.sort();
    let (mut conns, mut names) = (Vec::new(), Vec::new());
    for f in files {
        let raw = std::fs::read(&f).unwrap();
        let bytes = zeek::decompress(&raw).unwrap();
        match zeek::log_path(&bytes).as_deref() {
            Some("conn") => conns.extend(zeek::read_conn(&bytes).unwrap().conns),
            Some("ssl" | "http") => names.extend(zeek::read_names(&bytes).unwrap().0),
            _ => {}
        }
    }
    (conns, names)
}

fn find<'a>(beacons: &'a [Beacon], src: &str, dst: &str) -> &'a Beacon {
    beacons
        .iter()
        .find(|b| b.src.to_string() == src && b.dst == dst)
        .unwrap_or_else(|| panic!("no beacon {src} -> {dst} among {}", beacons.len()))
}

#[test]
fn missing_host_beacon_matches_rita() {
    let Some(dir) = fixture("missing_host") else { return };
    let all = conns(&dir);
    let mut filter = Filter::with_internal(&["64.225.56.201/32"]).unwrap();
    filter.keep_external_to_internal = true;
    let (win, beacons) = ip_beacons(&all, &filter, &Config::default());
    let b = find(&beacons, "73.54.23.243", "64.225.56.201");
    println!("{win:?} {b:?}");
    assert_eq!(win.map(|w| (w.min, w.max)), Some((1_713_657_591, 1_713_743_991)));
    assert_eq!(b.count, 331);
    assert_eq!((b.ts_score, b.ds_score, b.dur_score, b.hist_score, b.score), (0.852, 1.0, 1.0, 1.0, 0.963));
}

#[test]
fn proxy_rolling_beacon_matches_rita() {
    let Some(dir) = fixture("proxy_rolling") else { return };
    let all = conns(&dir);
    let (win, beacons) = ip_beacons(&all, &Filter::default(), &Config::default());
    let b = find(&beacons, "10.0.0.238", "75.75.75.75");
    println!("{win:?} {b:?}");
    assert_eq!(win.map(|w| (w.min, w.max)), Some((1_714_417_205, 1_714_424_225)));
    assert_eq!((b.count, b.total_bytes), (1160, 319_107));
    assert_eq!((b.ts_score, b.ds_score, b.dur_score, b.hist_score, b.score), (1.0, 0.831, 0.861, 0.0, 0.673));
}

#[test]
fn proxied_server_name_beacons_match_rita() {
    let Some(dir) = fixture("proxy") else { return };
    let (conns, names) = load(&dir);
    let report = analyze(&conns, &names, &Filter::default(), &Config::default());
    let evil = find(&report.fqdn, "10.136.0.18", "www.honestimnotevil.com");
    println!("{:?}\n{evil:?}", report.window);
    let google = find(&report.fqdn, "10.136.0.18", "www.google.com");
    println!("{google:?}");
    assert_eq!(evil.count, 357);
    assert_eq!((google.count, google.score), (6, 0.586));
    assert_eq!((evil.dur_score, evil.hist_score), (1.0, 1.0));
    // RITA's test names 0.921 / 0.995 → 0.979 for this pair, but checks the
    // subscores only within 0.05 (integration/beacons_test.go). Those figures
    // come from RITA's validation script (integration/get_beacon_info.py),
    // which rounds the timestamp score up and adds a data-size smallness
    // term; RITA v5's own scoring (analysis/beacons.go: round3 of (skew +
    // MADM) / 2, conn.log times and orig_ip_bytes of the CONNECT uids, hours
    // from the start of the window's first hour) gives 0.920 / 1.000 → 0.980,
    // as Dragnet does. That variant would also break www.google.com's 0.586
    // here and proxy_rolling's 0.673, which RITA checks to 0.001.
    assert_eq!((evil.ts_score, evil.ds_score, evil.score), (0.92, 1.0, 0.98));
    for (ours, published) in [(evil.ts_score, 0.921), (evil.ds_score, 0.995), (evil.score, 0.979)] {
        assert!((ours - published).abs() <= 0.05, "within RITA's own tolerance: {ours} vs {published}");
    }
    assert!(!report.ip.iter().any(|b| b.dst == "10.136.0.16"), "connections scored by name are not scored again by IP");
}

#[test]
fn rolling_proxy_server_name_beacon_matches_rita() {
    let Some(dir) = fixture("proxy_rolling") else { return };
    let (conns, names) = load(&dir);
    let report = analyze(&conns, &names, &Filter::default(), &Config::default());
    let b = find(&report.fqdn, "10.0.0.111", "safebrowsing.googleapis.com");
    println!("{b:?}");
    assert_eq!((b.count, b.score), (46, 0.624));
    let ip = find(&report.ip, "10.0.0.238", "75.75.75.75");
    assert_eq!(ip.score, 0.673);
}

/// RITA's fixtures scored with every connection time written out and read
/// back a bucket at a time (as a day too large for memory is) give the
/// report they give held in memory.
#[test]
fn rita_fixtures_score_the_same_when_times_are_spilled() {
    for name in ["proxy_rolling", "missing_host"] {
        let Some(dir) = fixture(name) else { return };
        let (conns, names) = load(&dir);
        let mut filter = Filter::default();
        if name == "missing_host" {
            filter = Filter::with_internal(&["64.225.56.201/32"]).unwrap();
            filter.keep_external_to_internal = true;
        }
        let cfg = Config::default();
        let held = analyze(&conns, &names, &filter, &cfg);
        assert!(!held.ip.is_empty(), "{name}");
        let kept = Kept::new(&names, &filter);
        let win = window(conns.iter().filter(|c| kept.keeps(c)), &cfg).unwrap();
        let mut b = Beacons::new(&names, &filter, &cfg, win).spilling(Box::new(InMemory::default()), 1024, conns.len());
        conns.iter().for_each(|c| b.add(c));
        assert!(b.spilled() > 0, "{name}");
        assert_eq!(b.finish().unwrap(), held, "{name}");
    }
}
