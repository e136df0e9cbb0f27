//! End-to-end tests of the `dragnet` binary on a real SQLite file in a
//! temporary data directory (and PostgreSQL where noted).

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

mod common;
use common::{dragnet, dragnet_with_env};

fn samples() -> Option<PathBuf> {
    dragnet_testkit::samples("")
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn ingest_json(data: &Path, path: &Path, source: &str, extra: &[&str]) -> (i32, Value) {
    let mut args = vec!["ingest", path.to_str().unwrap(), "--source", source, "--json"];
    args.extend_from_slice(extra);
    let run = dragnet(data, &args);
    (run.code, run.json())
}

fn stats(data: &Path) -> Value {
    dragnet(data, &["stats", "--json"]).json()
}

#[test]
fn sample_feeds_ingest_with_their_stated_counts_and_are_found() {
    let Some(samples) = samples() else { return };
    let data = tempfile::tempdir().unwrap();
    let feeds = samples.join("feeds");
    let cases = [
        ("intelmq-feodotracker-ipblocklist.json", "feodo", 4, "51.178.161.32"),
        ("intelmq-spamhaus-drop.txt", "drop", 2, "1.4.0.0/17"),
        ("intelmq-spamhaus-asndrop.txt", "asn-drop", 2, "AS260"),
        ("intelmq-dshield-block.txt", "dshield", 2, "43.229.53.0/24"),
        ("intelmq-blocklistde-imap.txt", "plain", 6, "203.0.113.254"),
    ];
    for (file, format, count, probe) in cases {
        let (code, report) = ingest_json(data.path(), &feeds.join(file), format, &[]);
        assert_eq!(code, 0, "{file}: {report}");
        assert_eq!(report["accepted"], count, "{file}: {report}");
        assert_eq!(report["rejected"], 0, "{file}: {report}");
        assert_eq!(report["new"], count, "{file}: {report}");
        assert_eq!(report["files"][0]["format"], format, "{file} detected as {}", report["files"][0]["format"]);
        let found = dragnet(data.path(), &["lookup", probe, "--json"]).json();
        assert_eq!(found[0]["found"], true, "{probe}: {found}");
        assert_eq!(found[0]["sources"][0], format);
    }
    // An IP inside an ingested CIDR is found, naming the covering CIDR.
    let inside = dragnet(data.path(), &["lookup", "1.4.100.200", "--json"]).json();
    assert_eq!(inside[0]["found"], true);
    assert_eq!(inside[0]["matches"][0]["value"], "1.4.0.0/17");
    assert_eq!(inside[0]["matches"][0]["via"], "covering-cidr");
    let v6 = dragnet(data.path(), &["lookup", "2a06:e481::1", "--json"]).json();
    assert_eq!(v6[0]["matches"][0]["value"], "2a06:e480::/29");
}

#[test]
fn reingesting_changes_nothing() {
    let data = tempfile::tempdir().unwrap();
    let demo = repo().join("demo/feodo-ipblocklist.json");
    let (code, first) = ingest_json(data.path(), &demo, "feodo", &["--grade", "B2", "--tlp", "clear"]);
    assert_eq!((code, first["new"].as_u64()), (0, Some(4)));
    let before = stats(data.path());
    let (code, second) = ingest_json(data.path(), &demo, "feodo", &[]);
    assert_eq!(
        (code, &second["accepted"], &second["new"], &second["new_observables"]),
        (0, &first["accepted"], &0.into(), &0.into())
    );
    assert_eq!(stats(data.path()), before);
    let sources = dragnet(data.path(), &["sources", "--json"]).json();
    assert_eq!(sources[0]["grade"], "B2");
    assert_eq!(sources[0]["tlp"], "clear");
    assert_eq!(sources[0]["rejects"], 1, "the bad record is kept once: {sources}");
}

#[test]
fn lookup_normalises_values_and_reports_fields() {
    let data = tempfile::tempdir().unwrap();
    let list = data.path().join("list.txt");
    std::fs::write(&list, "Evil.Example.\nhttp://Bad.Example:80/x/../payload.exe\n198.51.100.0/24\n").unwrap();
    let (code, _) = ingest_json(data.path(), &list, "analyst", &["--category", "phishing", "--tlp", "amber"]);
    assert_eq!(code, 0);
    let got = dragnet(
        data.path(),
        &[
            "lookup",
            "EVIL.example",
            "hxxp://bad[.]example/payload.exe",
            "198.51.100.9",
            "sub.evil.example",
            "192.0.2.1",
            "--json",
        ],
    )
    .json();
    let a = &got[0];
    assert_eq!(
        (a["value"].as_str(), a["kind"].as_str(), a["found"].as_bool()),
        (Some("evil.example"), Some("domain"), Some(true))
    );
    assert_eq!(a["sources"], serde_json::json!(["analyst"]));
    assert_eq!(a["categories"], serde_json::json!(["phishing"]));
    assert_eq!(a["tlp"], "amber");
    assert!(a["first_seen"].as_str().unwrap().ends_with('Z') && a["last_seen"].is_string());
    assert_eq!(
        (got[1]["value"].as_str(), got[1]["found"].as_bool()),
        (Some("http://bad.example/payload.exe"), Some(true))
    );
    assert_eq!(got[2]["matches"][0]["value"], "198.51.100.0/24");
    assert_eq!(got[3]["matches"][0]["via"], "parent-domain");
    assert_eq!(got[4]["found"], false);
    let bad = dragnet(data.path(), &["lookup", "not a value", "--json"]);
    assert_eq!(bad.code, 2);
    assert!(bad.json()[0]["error"].as_str().unwrap().contains("not a value"));
}

/// A malformed input of every format: a clear error naming the file and
/// location, exit code 1, and a store exactly as it was.
#[test]
fn malformed_inputs_leave_the_store_unchanged() {
    let data = tempfile::tempdir().unwrap();
    let (code, _) = ingest_json(data.path(), &repo().join("demo/spamhaus-drop.txt"), "seed", &[]);
    assert_eq!(code, 0);
    let before = stats(data.path());
    let cases: &[(&str, &str, &str)] = &[
        ("stix", "bundle.json", "{\"type\": \"bundle\",\n \"objects\": [ {\"type\": \"indicator\",, } ]}"),
        ("misp", "event.json", "{\"Event\": {\"Attribute\": [\n {\"type\": \"ip-dst\" \"value\": \"1.2.3.4\"}]}}"),
        ("feodo", "feodo.json", "[\n{\"ip_address\": \"1.2.3.4\"\n"),
        ("threatfox", "tf.json", "{\"1\": [\n{\"ioc_value\": }]}"),
        ("urlhaus", "urlhaus.csv", "\"1\",\"2024-01-01\",\"http://x.example/\"\n"),
        ("drop", "drop.txt", "; DROP\nnot-a-network ; SBL1\n"),
        ("asn-drop", "asndrop.txt", "ASX ; ZZ\n"),
        ("dshield", "block.txt", "garbage line\n"),
        ("plain", "list.bin", "\u{0}\u{1}binary"),
        ("csv", "table.csv", "name,colour\nx,y\n"),
    ];
    for (format, file, content) in cases {
        let path = data.path().join(file);
        std::fs::write(&path, content).unwrap();
        let run = dragnet(data.path(), &["ingest", path.to_str().unwrap(), "--source", "broken", "--format", format]);
        assert_eq!(run.code, 1, "{format}: {}{}", run.stdout, run.stderr);
        assert!(run.stderr.contains(file), "{format}: error must name the file: {}", run.stderr);
        assert!(run.stderr.contains("line") || run.stderr.contains("nothing usable"), "{format}: {}", run.stderr);
        let after = stats(data.path());
        assert_eq!(after["observations"], before["observations"], "{format}");
        assert_eq!(after["rejects"], before["rejects"], "{format}");
        assert_eq!(after["observables"], before["observables"], "{format}");
    }
    let feed = data.path().join("feed");
    std::fs::create_dir(&feed).unwrap();
    std::fs::write(feed.join("manifest.json"), "{\n  \"not-a-uuid\": {}\n}").unwrap();
    let run = dragnet(data.path(), &["ingest", feed.to_str().unwrap(), "--source", "broken"]);
    assert_eq!(run.code, 1, "misp-feed: {}", run.stderr);
    assert!(run.stderr.contains("manifest.json") && run.stderr.contains("not-a-uuid"), "{}", run.stderr);
    assert_eq!(stats(data.path())["observations"], before["observations"]);

    let missing = dragnet(data.path(), &["ingest", "/nonexistent/feed.txt", "--source", "x"]);
    assert_eq!(missing.code, 1);
    assert!(missing.stderr.contains("/nonexistent/feed.txt"));
}

#[test]
fn one_bad_input_never_stops_a_folder() {
    let data = tempfile::tempdir().unwrap();
    let run_dir = data.path().join("run");
    for (dir, body) in [("a", "192.0.2.10\n"), ("c", "192.0.2.30\n")] {
        std::fs::create_dir_all(run_dir.join(dir)).unwrap();
        std::fs::write(run_dir.join(dir).join("feed.txt"), body).unwrap();
    }
    // b: a MISP feed folder whose manifest is damaged, and hostile non-ASCII text.
    std::fs::create_dir_all(run_dir.join("b")).unwrap();
    std::fs::write(run_dir.join("b/manifest.json"), "{\n  \"not-a-uuid\": {}\n}").unwrap();
    std::fs::write(run_dir.join("b.txt"), "hxxp://é.example/x\n+1é1\nAS1é\n€\n").unwrap();
    let (code, report) = ingest_json(data.path(), &run_dir, "partner", &[]);
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["accepted"], 3, "a, b.txt's defanged URL and c: {report}");
    assert!(report["files_failed"].as_u64().unwrap() >= 1, "{report}");
    let failed: Vec<&str> = report["files"].as_array().unwrap().iter().filter_map(|f| f["error"].as_str()).collect();
    assert!(failed.iter().any(|e| e.contains("manifest.json")), "{failed:?}");
    for value in ["192.0.2.10", "192.0.2.30"] {
        let found = dragnet(data.path(), &["lookup", value, "--json"]).json();
        assert_eq!(found[0]["found"], true, "{value} after a bad sibling: {found}");
    }
}

#[test]
fn show_rejects_lists_file_line_and_reason() {
    let data = tempfile::tempdir().unwrap();
    let demo = repo().join("demo/threatfox-recent.csv");
    let run = dragnet(data.path(), &["ingest", demo.to_str().unwrap(), "--source", "tf", "--show-rejects"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("threatfox-recent.csv:9 [ioc_value]"), "{}", run.stdout);
    let stored = dragnet(data.path(), &["rejects", "--json"]).json();
    assert_eq!(stored[0]["line"], 9);
    assert!(stored[0]["raw"].as_str().unwrap().contains("not-a-host:99999"));
}

/// A file of several stretches (line-based files are read about 1 MiB at a
/// time): the counts, the rejects' lines and the columns (from the header
/// in the first stretch) are those of the whole file; a file with nothing
/// usable in any stretch writes nothing.
#[test]
fn a_file_larger_than_a_stretch_reads_as_one() {
    let data = tempfile::tempdir().unwrap();
    let mut text = String::from("# comment\nindicator,type,note\n");
    let rows = 90_000;
    for i in 0..rows {
        match i {
            20_000 => text.push_str("\"198.51.100.1\",ip,\"a note, with a comma\"\n"),
            75_000 => text.push_str("999.1.2.3,ip,bad\n"),
            _ => text.push_str(&format!(
                "10{}.{}.{}.{},ip,\"row {i}\"\n",
                i % 3,
                i / 65_536 % 256,
                i / 256 % 256,
                i % 256
            )),
        }
    }
    assert!(text.len() > 2 << 20, "{} bytes: more than two stretches", text.len());
    let path = data.path().join("big.csv");
    std::fs::write(&path, &text).unwrap();
    let (code, report) = ingest_json(data.path(), &path, "big", &["--show-rejects"]);
    assert_eq!(code, 0, "{report}");
    assert_eq!((report["accepted"].as_u64(), report["rejected"].as_u64()), (Some(rows - 1), Some(1)), "{report}");
    // Line 1 is the comment, 2 the header, row i on line i + 3.
    let rejects = &report["files"][0]["rejects"];
    assert_eq!(rejects[0]["line"], 75_000 + 3, "{rejects}");
    assert_eq!(rejects[0]["field"], "indicator", "{rejects}");
    assert_eq!(dragnet(data.path(), &["rejects", "--json"]).json()[0]["line"], 75_000 + 3);
    let found = dragnet(data.path(), &["lookup", "198.51.100.1", "--json"]).json();
    assert_eq!(found[0]["found"], true, "{found}");
    assert_eq!(stats(data.path())["observations"], rows - 1);
    // Nothing usable anywhere: nothing written, not even the source.
    let useless: String = (0..200_000).map(|i| format!("not a value {i}\n")).collect();
    let path = data.path().join("useless.txt");
    std::fs::write(&path, &useless).unwrap();
    let (code, report) = ingest_json(data.path(), &path, "useless", &["--format", "plain"]);
    assert_ne!(code, 0, "{report}");
    assert!(report["files"][0]["error"].as_str().unwrap().contains("nothing usable"), "{report}");
    let sources = dragnet(data.path(), &["sources", "--json"]).json();
    assert!(sources.as_array().unwrap().iter().all(|s| s["name"] != "useless"), "{sources}");
}

#[test]
fn csv_with_a_column_mapping() {
    let data = tempfile::tempdir().unwrap();
    let path = data.path().join("partner.csv");
    std::fs::write(&path, "when;what;kind\n2024-05-01;c2.example;domain\n2024-05-02;198.51.100.5;ipv4\n").unwrap();
    let (code, report) = ingest_json(
        data.path(),
        &path,
        "p",
        &["--format", "csv", "--columns", "value=what,kind=kind,first_seen=when", "--category", "botnet-c2"],
    );
    assert_eq!((code, report["accepted"].as_u64()), (0, Some(2)), "{report}");
    let got = dragnet(data.path(), &["lookup", "c2.example", "--json"]).json();
    assert_eq!(got[0]["first_seen"], "2024-05-01T00:00:00Z");
    assert_eq!(got[0]["categories"][0], "botnet-c2");
    let bad = dragnet(
        data.path(),
        &["ingest", path.to_str().unwrap(), "--source", "p", "--format", "csv", "--columns", "colour=x"],
    );
    assert_eq!(bad.code, 1);
    assert!(bad.stderr.contains("--columns"), "{}", bad.stderr);
}

#[test]
fn demo_runs_on_the_embedded_default() {
    let data = tempfile::tempdir().unwrap();
    let run = dragnet(data.path(), &["demo", "--feeds", "--json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report = run.json();
    let accepted: u64 = report["ingests"].as_array().unwrap().iter().map(|r| r["accepted"].as_u64().unwrap()).sum();
    assert!(accepted >= 30, "{accepted}");
    let lookups = report["lookups"].as_array().unwrap();
    let corroborated = &lookups[0];
    assert!(corroborated["sources"].as_array().unwrap().len() >= 3, "{corroborated}");
    assert_eq!(lookups.last().unwrap()["found"], false);
    assert!(data.path().join("dragnet.sqlite").is_file());
}

#[test]
fn postgres_store_via_the_cli() {
    let url = dragnet_testkit::postgres_url();
    let Some(mut admin) = dragnet_testkit::postgres_admin() else { return };
    let schema = format!("cli_{}", std::process::id());
    admin.batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}")).unwrap();
    let store = format!("{url}?options=-c%20search_path%3D{schema}");
    let data = tempfile::tempdir().unwrap();
    let demo = repo().join("demo/feodo-ipblocklist.json");
    let run = |args: &[&str]| {
        let mut full = vec!["--store", store.as_str()];
        full.extend_from_slice(args);
        dragnet(data.path(), &full)
    };
    let first = run(&["ingest", demo.to_str().unwrap(), "--source", "feodo", "--json"]);
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert_eq!(first.json()["new"], 4);
    assert_eq!(run(&["ingest", demo.to_str().unwrap(), "--source", "feodo", "--json"]).json()["new"], 0);
    let found = run(&["lookup", "198.51.100.47", "--json"]).json();
    assert_eq!(found[0]["found"], true);
    assert!(!data.path().join("dragnet.sqlite").exists(), "--store must not touch the embedded store");
    admin.batch_execute(&format!("DROP SCHEMA {schema} CASCADE")).unwrap();
}

#[test]
fn a_misp_feed_folder_is_read_through_its_manifest() {
    let data = tempfile::tempdir().unwrap();
    let feed = repo().join("crates/ingest/tests/fixtures/misp/feed");
    let (code, report) = ingest_json(data.path(), &feed, "misp-feed", &[]);
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["files"].as_array().unwrap().len(), 1, "manifest.json itself is not ingested: {report}");
    assert_eq!(report["files"][0]["format"], "misp");
    assert_eq!((report["accepted"].as_u64(), report["rejected"].as_u64()), (Some(4), Some(1)), "{report}");
    let got = dragnet(data.path(), &["lookup", "192.0.2.45", "login-example.invalid.example.com", "--json"]).json();
    assert_eq!((got[0]["found"].as_bool(), got[1]["found"].as_bool()), (Some(true), Some(true)), "{got}");
}

#[test]
fn sample_misp_and_stix_folders_ingest_and_are_found() {
    let Some(samples) = samples() else { return };
    let data = tempfile::tempdir().unwrap();
    for (folder, probes) in [
        ("misp", vec!["movieultimate.com", "fastdataexchange.org"]),
        (
            "stix",
            vec![
                "http://x4z9arb.cn/4712/",
                "ef537f25c895bfa782526529a9b63d97aa631564d5d789c2b765448c8635fb6c",
                "www.circl.lu",
            ],
        ),
    ] {
        let (code, report) = ingest_json(data.path(), &samples.join(folder), folder, &[]);
        assert_eq!(code, 0, "{folder}: {report}");
        assert!(report["accepted"].as_u64().unwrap() > 0, "{folder}: {report}");
        for file in report["files"].as_array().unwrap() {
            let detected = file["format"].as_str().unwrap_or_default();
            // MISP's CSV export is read by its header as a mapped CSV.
            let csv = file["path"].as_str().unwrap().ends_with(".csv");
            if file["error"].is_null() {
                assert_eq!(detected, if csv { "csv" } else { folder }, "{file}");
            }
        }
        for probe in probes {
            let got = dragnet(data.path(), &["lookup", probe, "--json"]).json();
            assert_eq!(got[0]["found"], true, "{folder}: {probe}");
        }
    }
}

#[test]
fn beacons_reproduce_rita_and_survive_broken_logs() {
    let Some(samples) = samples() else { return };
    let data = tempfile::tempdir().unwrap();
    let rita = samples.join("zeek/rita");
    let run = dragnet(data.path(), &["beacons", rita.join("proxy_rolling").to_str().unwrap(), "--json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let top = &run.json()["beacons"][0];
    assert_eq!((top["src"].as_str(), top["dst"].as_str()), (Some("10.0.0.238"), Some("75.75.75.75")));
    assert_eq!((top["count"].as_u64(), top["score"].as_f64()), (Some(1160), Some(0.673)));
    for key in ["ts_score", "ds_score", "dur_score", "hist_score"] {
        assert!(top[key].is_f64(), "{key}");
    }
    let edge = dragnet(data.path(), &["beacons", rita.join("edge_cases").to_str().unwrap(), "--json"]);
    assert_eq!(edge.code, 0, "{}", edge.stderr);
    assert!(edge.stderr.contains("truncated"), "truncated lines are reported: {}", edge.stderr);
    assert!(
        edge.stderr.contains("text_file/conn.log: not Suricata EVE nor a Zeek conn, dns, http or ssl log"),
        "{}",
        edge.stderr
    );
    assert!(edge.json()["rejected_lines"].as_u64().unwrap() >= 2);
}

#[test]
fn telemetry_findings_become_observations_once() {
    let Some(samples) = samples() else { return };
    let data = tempfile::tempdir().unwrap();
    let scans = samples.join("zeek/slips/port-scans");
    let args = ["telemetry", scans.to_str().unwrap(), "--source", "sensor", "--grade", "B2", "--json"];
    let first = dragnet(data.path(), &args);
    assert_eq!(first.code, 0, "{}", first.stderr);
    let report = first.json();
    assert_eq!((report["scans"].as_u64(), report["new"].as_u64()), (Some(2), Some(2)), "{report}");
    assert_eq!(dragnet(data.path(), &args).json()["new"], 0, "running again stores nothing new");
    let got = dragnet(data.path(), &["lookup", "192.168.1.9", "10.0.2.112", "--json"]).json();
    for answer in got.as_array().unwrap() {
        assert_eq!(answer["categories"], serde_json::json!(["scanning"]), "{answer}");
        assert_eq!(answer["sources"], serde_json::json!(["sensor"]));
    }
    let beacons = samples.join("zeek/rita/proxy_rolling");
    let run = dragnet(
        data.path(),
        &["telemetry", beacons.to_str().unwrap(), "--source", "sensor-2", "--beacon-threshold", "0.6", "--json"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let found = dragnet(data.path(), &["lookup", "75.75.75.75", "safebrowsing.googleapis.com", "--json"]).json();
    assert_eq!((found[0]["found"].as_bool(), found[1]["found"].as_bool()), (Some(true), Some(true)), "{found}");
    assert_eq!(found[0]["categories"], serde_json::json!(["botnet-c2"]));
    let other = dragnet(data.path(), &["telemetry", beacons.to_str().unwrap(), "--source", "s", "--format", "pcap"]);
    assert_eq!(other.code, 1);
    assert!(other.stderr.contains("expected auto, zeek, suricata or netflow"), "{}", other.stderr);
}

/// A day of `pairs` internal → external pairs, `per_pair` connections each:
/// every third pair at random times, the others every few minutes with a
/// second of jitter, written in time order as a sensor would.
fn conn_log(pairs: u32, per_pair: u32) -> String {
    let mut rows = Vec::new();
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    for pair in 0..pairs {
        for i in 0..per_pair {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let at = if pair % 3 == 0 { seed % 86_000 } else { u64::from(i) * 1_700 + seed % 2 };
            rows.push((1_700_000_000 + at, pair, i, 300 + seed % 5));
        }
    }
    rows.sort_unstable();
    let mut log = String::from(
        "#separator \\x09\n#path\tconn\n#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tduration\torig_ip_bytes\tresp_ip_bytes\tconn_state\n",
    );
    for (ts, pair, i, bytes) in rows {
        let (src, dst) =
            (format!("10.1.{}.{}", pair / 250, pair % 250 + 1), format!("203.0.{}.{}", pair / 250, pair % 250 + 1));
        log.push_str(&format!("{ts}.5\tC{pair}x{i}\t{src}\t40000\t{dst}\t443\ttcp\t1.5\t{bytes}\t900\tSF\n"));
    }
    log
}

/// Past `--beacon-memory` the connection times go to temporary files and
/// the pairs are scored a bucket at a time: the same beacons and the same
/// stored findings as scoring in memory, and nothing left in TMPDIR.
#[test]
fn beacon_scoring_past_its_memory_finds_what_it_finds_in_memory() {
    let data = tempfile::tempdir().unwrap();
    let tmp = data.path().join("tmp");
    std::fs::create_dir(&tmp).unwrap();
    let log = data.path().join("conn.log");
    std::fs::write(&log, conn_log(3_000, 50)).unwrap();
    let log = log.to_str().unwrap();
    let env = [("TMPDIR", tmp.as_path())];
    let run = |store: &str, args: &[&str]| {
        let out = dragnet_with_env(&data.path().join(store), args, &env);
        assert_eq!(out.code, 0, "{}", out.stderr);
        assert_eq!(std::fs::read_dir(&tmp).unwrap().count(), 0, "temporary files left behind");
        (out.json(), out.stderr)
    };
    let (held, _) = run("a", &["beacons", log, "--internal", "10.1.0.0/16", "--limit", "0", "--json"]);
    let small = ["beacons", log, "--internal", "10.1.0.0/16", "--limit", "0", "--beacon-memory", "1", "--json"];
    let (spilled, said) = run("a", &small);
    assert_eq!(held["connections"], 150_000);
    assert_eq!(held["spilled_connections"], 0);
    // Spilled each time the held times pass 1 MiB: most of them, not the last stretch.
    let written = spilled["spilled_connections"].as_u64().unwrap();
    assert!((50_000..150_000).contains(&written), "{written}");
    assert!(said.is_empty(), "JSON carries the count: {said}");
    let human = dragnet_with_env(&data.path().join("a"), &small[..small.len() - 1], &env);
    assert!(human.stderr.contains("wrote") && human.stderr.contains("temporary files"), "{}", human.stderr);
    let found = held["beacons"].as_array().unwrap().len();
    assert!(found >= 1_000, "{found}");
    assert_eq!(held["beacons"], spilled["beacons"]);

    let telemetry = |store: &str, memory: &str| {
        let args = ["telemetry", log, "--source", "sensor", "--internal", "10.1.0.0/16", "--beacon-memory", memory];
        run(store, &[&args[..], &["--json"]].concat()).0
    };
    let (mut in_memory, mut on_disk) = (telemetry("b", "64"), telemetry("c", "1"));
    assert!(on_disk["spilled_connections"].as_u64().unwrap() > 0);
    assert!(in_memory["beacons"].as_u64().unwrap() >= 1_000, "{}", in_memory["beacons"]);
    for report in [&mut in_memory, &mut on_disk] {
        report.as_object_mut().unwrap().remove("spilled_connections");
    }
    assert_eq!(in_memory, on_disk);
    let too_little = dragnet(data.path(), &["beacons", log, "--beacon-memory", "0"]);
    assert_eq!(too_little.code, 1);
    assert!(too_little.stderr.contains("--beacon-memory must be at least 1"), "{}", too_little.stderr);
}

/// NetFlow export packets, one a file, are decoded again on each pass
/// with a template cache of its own, so a data set after its template
/// gives its flows every time and memory never holds them.
#[test]
fn netflow_packet_files_are_decoded_again_on_each_pass() {
    let Some(samples) = samples() else { return };
    let dir = samples.join("netflow/logstash-codec-netflow");
    let data = tempfile::tempdir().unwrap();
    let logs = data.path().join("exports");
    std::fs::create_dir(&logs).unwrap();
    // Name order is reading order: the template first.
    let tpl = std::fs::read(dir.join("ipfix_test_barracuda_tpl.dat")).unwrap();
    let set = std::fs::read(dir.join("ipfix_test_barracuda_data256.dat")).unwrap();
    std::fs::write(logs.join("1-template.dat"), &tpl).unwrap();
    std::fs::write(logs.join("2-data.dat"), &set).unwrap();
    std::fs::write(logs.join("3-data.dat"), &set).unwrap();
    std::fs::write(logs.join("4-other.dat"), "not an export packet").unwrap();
    let mut decoder = dragnet_ingest::netflow::Decoder::new();
    decoder.decode("files", &tpl).unwrap();
    let flows = decoder.decode("files", &set).unwrap().flows.len();
    assert!(flows > 0);
    let args = ["telemetry", logs.to_str().unwrap(), "--format", "netflow", "--source", "exporter", "--json"];
    let run = dragnet(data.path(), &args);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report = run.json();
    assert_eq!(report["connections"], 2 * flows, "{report}");
    assert_eq!((report["files"].as_u64(), report["rejected_lines"].as_u64()), (Some(3), Some(1)), "{report}");
    assert!(run.stderr.contains("4-other.dat"), "{}", run.stderr);
}

#[test]
fn dns_tunnels_are_found_and_stored() {
    let data = tempfile::tempdir().unwrap();
    let mut log = String::from(
        "#separator \\x09\n#path\tdns\n#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tquery\trcode_name\n",
    );
    for i in 0..150 {
        log.push_str(&format!(
            "{}.5\tC{i}\t10.0.0.5\t5353\t10.0.0.1\t53\t{i:012x}.t.tunnel.example\tNOERROR\n",
            1_700_000_000 + i
        ));
    }
    let path = data.path().join("dns.log");
    std::fs::write(&path, log).unwrap();
    let run = dragnet(data.path(), &["telemetry", path.to_str().unwrap(), "--source", "sensor", "--json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.json()["dns_tunnels"], 1);
    let got = dragnet(data.path(), &["lookup", "x.tunnel.example", "--json"]).json();
    assert_eq!(got[0]["matches"][0]["value"], "tunnel.example");
    assert_eq!(got[0]["categories"], serde_json::json!(["botnet-c2"]));
    let stricter = ["telemetry", path.to_str().unwrap(), "--source", "sensor", "--dns-tunnel-names", "200", "--json"];
    assert_eq!(dragnet(data.path(), &stricter).json()["dns_tunnels"], 0, "the threshold is configurable");
}

#[test]
fn suricata_eve_alerts_and_flows_become_findings() {
    let Some(samples) = samples() else { return };
    let data = tempfile::tempdir().unwrap();
    let eve = samples.join("suricata/test6-malicious.suricata.json");
    let run = dragnet(data.path(), &["telemetry", eve.to_str().unwrap(), "--source", "ids", "--json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report = run.json();
    assert_eq!((report["connections"].as_u64(), report["alerts"].as_u64()), (Some(3512), Some(745)), "{report}");
    let got = dragnet(data.path(), &["lookup", "78.36.196.213", "--json"]).json();
    assert_eq!(got[0]["found"], true, "the external side of an alert is the suspect: {got}");
    assert!(got[0]["tags"].as_array().unwrap().iter().any(|t| t == "ids-alert"));
    let again = dragnet(data.path(), &["telemetry", eve.to_str().unwrap(), "--source", "ids", "--json"]);
    assert_eq!(again.json()["new"], 0);
}

#[test]
fn telemetry_sightings_corroborate_known_values() {
    let Some(samples) = samples() else { return };
    let data = tempfile::tempdir().unwrap();
    let known = data.path().join("known.txt");
    std::fs::write(&known, "75.75.75.0/24\nhonestimnotevil.com\n198.51.100.99\n").unwrap();
    assert_eq!(dragnet(data.path(), &["ingest", known.to_str().unwrap(), "--source", "feed"]).code, 0);
    let logs = samples.join("zeek/rita/proxy");
    let run = dragnet(data.path(), &["telemetry", logs.to_str().unwrap(), "--source", "sensor", "--json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.json()["sightings"], 1, "only honestimnotevil.com is in these logs");
    let got = dragnet(data.path(), &["lookup", "www.honestimnotevil.com", "198.51.100.99", "--json"]).json();
    assert_eq!(got[0]["sources"], serde_json::json!(["feed", "sensor"]), "{got}");
    assert_eq!(got[1]["sources"], serde_json::json!(["feed"]));
}

#[test]
fn netflow_collector_decodes_packets_over_udp() {
    let Some(samples) = samples() else { return };
    let packet = std::fs::read(samples.join("netflow/logstash-codec-netflow/netflow5.dat")).unwrap();
    let port = {
        let probe = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().port()
    };
    let data = tempfile::tempdir().unwrap();
    let capture = data.path().join("exports.pcap");
    let mut child = Command::new(env!("CARGO_BIN_EXE_dragnet"))
        .args(["collect", "netflow", "--listen", &format!("127.0.0.1:{port}"), "--count", "2"])
        .args(["--write", capture.to_str().unwrap()])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let sender = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    // Keep sending until the collector is listening and has taken two packets.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let status = loop {
        sender.send_to(&packet, ("127.0.0.1", port)).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(100));
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(std::time::Instant::now() < deadline, "collector did not finish");
    };
    let out = child.wait_with_output().unwrap();
    assert!(status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let lines: Vec<Value> =
        String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 4, "two packets of two flows");
    let f = &lines[0];
    assert_eq!(
        (f["src"].as_str(), f["src_port"].as_u64(), f["dst"].as_str(), f["dst_port"].as_u64()),
        (Some("10.0.2.2"), Some(54435), Some("10.0.2.15"), Some(22))
    );
    assert_eq!((f["protocol"].as_u64(), f["packets"].as_u64(), f["bytes"].as_u64()), (Some(6), Some(5), Some(230)));

    // The capture it kept is read back by the detectors: the same four flows.
    let run = dragnet(data.path(), &["telemetry", capture.to_str().unwrap(), "--source", "exporter", "--json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!((run.json()["connections"].as_u64(), run.json()["files"].as_u64()), (Some(4), Some(1)));
    // Appending to something that is not its capture is refused.
    let other = data.path().join("other.bin");
    std::fs::write(&other, b"something else entirely, longer than a header").unwrap();
    let refused =
        dragnet(data.path(), &["collect", "netflow", "--listen", "127.0.0.1:0", "--write", other.to_str().unwrap()]);
    assert_eq!(refused.code, 1);
    assert!(refused.stderr.contains("refusing to append"), "{}", refused.stderr);
}

#[test]
fn simulated_operation_ingests_and_its_planted_beacons_are_found() {
    let data = tempfile::tempdir().unwrap();
    let sim = data.path().join("sim");
    let args = ["simulate", "--out", sim.to_str().unwrap(), "--seed", "7", "--ips", "800", "--beacons", "6", "--json"];
    let run = dragnet(data.path(), &args);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.json()["ips"], 800);
    let first = std::fs::read(sim.join("feeds/partner-a-stix.json")).unwrap();
    assert_eq!(dragnet(data.path(), &args).code, 0);
    assert_eq!(std::fs::read(sim.join("feeds/partner-a-stix.json")).unwrap(), first, "same seed, same bytes");

    let ingest = dragnet(data.path(), &["ingest", sim.to_str().unwrap(), "--json"]);
    assert_eq!(ingest.code, 0, "{}", ingest.stderr);
    let report = ingest.json();
    assert_eq!(report["source"], "abusech-feodo, partner-a, partner-b, partner-c, sensor-1", "{report}");
    let steps: Vec<&str> = report["steps"].as_array().unwrap().iter().map(|s| s["step"].as_str().unwrap()).collect();
    assert_eq!(steps, ["warninglists", "geo", "telemetry"], "sources.json roles run in order: {report}");
    assert_eq!(report["rejected"], 0);
    let sources = dragnet(data.path(), &["sources", "--json"]).json();
    assert_eq!(sources.as_array().unwrap().iter().find(|s| s["name"] == "partner-a").unwrap()["grade"], "B2");

    let truth: Value = serde_json::from_slice(&std::fs::read(sim.join("truth.json")).unwrap()).unwrap();
    let sensor = sim.join("telemetry/sensor-1");
    let beacons = dragnet(
        data.path(),
        &["beacons", sensor.to_str().unwrap(), "--internal", "10.20.0.0/16", "--limit", "0", "--json"],
    )
    .json();
    let found: Vec<(String, String, f64)> = beacons["beacons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            (
                b["src"].as_str().unwrap().to_string(),
                b["dst"].as_str().unwrap().to_string(),
                b["score"].as_f64().unwrap(),
            )
        })
        .collect();
    for planted in truth["beacons"].as_array().unwrap() {
        let (src, dst) = (planted["src"].as_str().unwrap(), planted["dst"].as_str().unwrap());
        // With an SNI in ssl.log the pair is scored by name, as RITA does.
        let server = truth["servers"].as_array().unwrap().iter().find(|s| s["id"] == planted["server"]).unwrap();
        let name = server["domains"][0].as_str().unwrap_or(dst);
        let hit = found.iter().find(|(s, d, _)| s == src && (d == dst || d == name));
        assert!(hit.is_some_and(|(_, _, score)| *score >= 0.7), "planted {src} -> {dst} not found: {hit:?}");
    }
    let best_background =
        found.iter().filter(|(s, _, _)| !s.starts_with("10.20.5.")).map(|(_, _, score)| *score).fold(0.0, f64::max);
    assert!(best_background < 0.7, "ordinary traffic scores {best_background}");

    // The scoring knobs are flags: with all weight on timing, the score is the timestamp subscore.
    let s = sensor.to_str().unwrap();
    let timing = dragnet(data.path(), &["beacons", s, "--internal", "10.20.0.0/16", "--weights", "1,0,0,0", "--json"]);
    let scored = timing.json()["beacons"].as_array().unwrap().clone();
    assert!(!scored.is_empty());
    for b in &scored {
        assert_eq!(b["score"], b["ts_score"], "{b}");
    }
    let bad = dragnet(data.path(), &["beacons", s, "--weights", "0.5,0.5,0.5,0.5"]);
    assert_eq!(bad.code, 1);
    assert!(bad.stderr.contains("sum to 1"), "{}", bad.stderr);
}

/// The floors: on the simulated operation no planted false positive may be
/// flagged and no two servers' values may be merged (precision ≥ 0.99);
/// recall is bounded by what the partners report and link, so the floors
/// sit below the figures measured at default scale (docs/benchmarks.md):
/// values 0.96, server pairs 0.49.
#[test]
fn simulated_operation_clusters_into_servers_that_match_the_truth() {
    let data = tempfile::tempdir().unwrap();
    let sim = data.path().join("sim");
    let out = sim.to_str().unwrap();
    assert_eq!(dragnet(data.path(), &["simulate", "--out", out, "--seed", "3", "--ips", "3000"]).code, 0);
    assert_eq!(dragnet(data.path(), &["ingest", out]).code, 0);
    let truth = sim.join("truth.json");
    let e = dragnet(data.path(), &["evaluate", truth.to_str().unwrap(), "--json"]).json();
    let f = |path: &str| e.pointer(path).and_then(Value::as_f64).unwrap_or_else(|| panic!("{path} in {e}"));
    assert_eq!(e["planted_false_positives_caught"], e["planted_false_positives"], "{e}");
    assert_eq!(f("/with_warninglists/false_positives"), 0.0, "{e}");
    assert!(f("/scoring_only/false_positives") > 0.0, "without warninglists the planted ones get through: {e}");
    assert!(f("/with_warninglists/recall") >= 0.85, "{e}");
    assert!(f("/servers/precision") >= 0.99, "{e}");
    assert!(f("/servers/recall") >= 0.3, "{e}");
    assert!(f("/clusters/precision") >= 0.95, "{e}");

    let at = ["--at", "2024-06-02"];
    let servers = dragnet(data.path(), &["servers", "--json", at[0], at[1]]).json();
    let list = servers.as_array().unwrap();
    assert_eq!(list.len() as f64, f("/servers_found"));
    let top = &list[0];
    for key in ["id", "ips", "domains", "countries", "asns", "categories", "score", "sources", "cluster"] {
        assert!(!top[key].is_null(), "{key} missing in {top}");
    }
    assert!(top["countries"].as_array().unwrap().len() == 1 && top["asns"][0].as_str().unwrap().starts_with("AS"));
    assert!(list.iter().all(|s| s["ips"].as_array().unwrap().iter().all(|ip| ip != "8.8.8.8")), "warninglisted");
    // A server joined by a certificate shows it as evidence.
    let joined = list.iter().find(|s| s["ips"].as_array().unwrap().len() > 1).expect("a multi-address server");
    let id = joined["id"].as_str().unwrap();
    let shown = dragnet(data.path(), &["server", id, "--json"]).json();
    let relations: Vec<&str> =
        shown["evidence"].as_array().unwrap().iter().map(|e| e["relation"].as_str().unwrap()).collect();
    assert!(relations.iter().any(|r| *r == "presents-certificate" || *r == "resolves-to"), "{shown}");
    let by_ip = dragnet(data.path(), &["server", joined["ips"][0].as_str().unwrap(), "--json"]).json();
    assert_eq!(by_ip["id"], id, "a server is found by any of its addresses");
    assert_eq!(dragnet(data.path(), &["server", "srv-nope"]).code, 2);

    // Ids are stable: again in the same store, and in a fresh store from the same data.
    let ids = |d: &Path| -> Vec<String> {
        let mut v: Vec<String> = dragnet(d, &["servers", "--json"])
            .json()
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["id"].as_str().unwrap().to_string())
            .collect();
        v.sort();
        v
    };
    let first = ids(data.path());
    assert_eq!(ids(data.path()), first);
    let fresh = tempfile::tempdir().unwrap();
    assert_eq!(dragnet(fresh.path(), &["ingest", out]).code, 0);
    assert_eq!(ids(fresh.path()), first);
}

#[test]
fn warninglists_flag_values_without_hiding_them() {
    let Some(samples) = samples() else { return };
    let data = tempfile::tempdir().unwrap();
    let list = data.path().join("resolvers.txt");
    std::fs::write(&list, "8.8.8.8\n104.16.1.1\n198.51.99.7\n").unwrap();
    let unprotected = dragnet(data.path(), &["ingest", list.to_str().unwrap(), "--source", "p"]);
    assert!(unprotected.stderr.contains("no warninglists are loaded"), "a fresh store says so: {}", unprotected.stderr);
    let run =
        dragnet(data.path(), &["warninglist", "import", samples.join("warninglists").to_str().unwrap(), "--json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report = run.json();
    assert_eq!(report["imported"].as_array().unwrap().len(), 22);
    assert!(report["failed"][0]["error"].as_str().unwrap().contains("not a MISP warninglist"), "schema.json: {report}");
    let again = dragnet(data.path(), &["ingest", list.to_str().unwrap(), "--source", "p"]);
    assert_eq!(again.code, 0);
    assert!(!again.stderr.contains("no warninglists"), "{}", again.stderr);
    let got = dragnet(data.path(), &["lookup", "104.16.1.1", "198.51.99.7", "10.1.2.3", "--json"]).json();
    assert_eq!(got[0]["found"], true, "a warninglisted value is kept");
    assert_eq!(got[0]["warninglists"], serde_json::json!(["List of known Cloudflare IP ranges"]));
    assert_eq!(got[1]["warninglists"], serde_json::json!([]));
    assert_eq!(got[2]["warninglists"][0], "dragnet: private networks (RFC 1918, RFC 4193)");
    let explained = dragnet(data.path(), &["explain", "104.16.1.1", "--json"]).json();
    assert_eq!(explained[0]["warninglists"][0], "List of known Cloudflare IP ranges");
    let bad = data.path().join("bad.json");
    std::fs::write(&bad, "{\"name\": \"x\", \"type\": \"regex\", \"list\": [\"(\"]}").unwrap();
    let refused = dragnet(data.path(), &["warninglist", "import", bad.to_str().unwrap()]);
    assert_eq!(refused.code, 1);
    assert!(refused.stderr.contains("not a valid regular expression"), "{}", refused.stderr);
}

#[test]
fn geo_import_enriches_lookups_and_is_all_or_nothing() {
    let data = tempfile::tempdir().unwrap();
    let asn = data.path().join("asn.csv");
    let country = data.path().join("geoip");
    std::fs::write(&asn, "198.51.100.0,198.51.100.255,64500,\"Example Hosting, Ltd\"\n").unwrap();
    std::fs::write(&country, "# tor-geoipdb style\n3325256704,3325256959,NL\n").unwrap();
    let run = dragnet(data.path(), &["geo", "import", asn.to_str().unwrap(), country.to_str().unwrap(), "--json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!((run.json()["asn_ranges"].as_u64(), run.json()["country_ranges"].as_u64()), (Some(1), Some(1)));
    let got =
        dragnet(data.path(), &["lookup", "198.51.100.7", "203.0.113.9", "www.shop.example.co.uk", "--json"]).json();
    assert_eq!(
        (got[0]["asn"].as_u64(), got[0]["as_org"].as_str(), got[0]["country"].as_str()),
        (Some(64500), Some("Example Hosting, Ltd"), Some("NL"))
    );
    assert!(got[1]["asn"].is_null() && got[1]["country"].is_null(), "unknown stays unknown");
    assert_eq!(got[2]["registrable_domain"], "example.co.uk");
    let broken = data.path().join("broken.csv");
    std::fs::write(&broken, "198.51.100.0,198.51.100.255,64500,ok\nnot,an,entry,here\n").unwrap();
    let refused = dragnet(data.path(), &["geo", "import", broken.to_str().unwrap()]);
    assert_eq!(refused.code, 1);
    assert!(refused.stderr.contains("broken.csv:line 2"), "{}", refused.stderr);
    let still = dragnet(data.path(), &["lookup", "198.51.100.7", "--json"]).json();
    assert_eq!(still[0]["country"], "NL", "a failed import keeps the data in force");

    // MaxMind DB files (fixtures made by scripts/make-mmdb-fixtures.py), recognised by content.
    let fixtures = repo().join("crates/analytics/tests/fixtures");
    let (asn, country) = (fixtures.join("asn.mmdb"), fixtures.join("country.mmdb"));
    let run = dragnet(data.path(), &["geo", "import", asn.to_str().unwrap(), country.to_str().unwrap(), "--json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let got = dragnet(data.path(), &["lookup", "192.0.2.77", "2001:db8:40::1", "--json"]).json();
    assert_eq!((got[0]["asn"].as_u64(), got[0]["country"].as_str()), (Some(64500), Some("NL")));
    assert_eq!((got[1]["asn"].as_u64(), got[1]["country"].as_str()), (Some(64502), Some("SE")));
    let cut = data.path().join("cut.mmdb");
    let bytes = std::fs::read(&asn).unwrap();
    std::fs::write(&cut, &bytes[bytes.len() - 300..]).unwrap();
    let refused = dragnet(data.path(), &["geo", "import", cut.to_str().unwrap()]);
    assert_eq!(refused.code, 1, "{}", refused.stderr);
    assert!(refused.stderr.contains("cut.mmdb"), "{}", refused.stderr);
}

#[test]
fn packages_follow_jurisdiction_and_routing_by_hand_and_show_changes() {
    let data = tempfile::tempdir().unwrap();
    let d = data.path();
    let run = |args: &[&str]| {
        let r = dragnet(d, args);
        assert_eq!(r.code, 0, "{args:?}: {}{}", r.stdout, r.stderr);
        r
    };
    std::fs::write(d.join("ranges.csv"), "45.10.0.0,45.10.255.255,EE\n45.20.0.0,45.20.255.255,LV\n").unwrap();
    run(&["geo", "import", d.join("ranges.csv").to_str().unwrap()]);
    std::fs::write(d.join("feed.txt"), "45.10.1.1\n45.20.1.1\n45.30.1.1\n").unwrap();
    run(&[
        "ingest",
        d.join("feed.txt").to_str().unwrap(),
        "--source",
        "feed",
        "--tlp",
        "green",
        "--category",
        "botnet-c2",
    ]);
    run(&["org", "add", "police-ee", "--kind", "agency", "--country", "ee"]);
    run(&["org", "add", "police-xx", "--kind", "agency", "--prefix", "45.30.0.0/16"]);
    let v1 = run(&["--json", "package", "build", "--for", "police-ee"]).json();
    let ips = |p: &Value| -> Vec<String> {
        p["package"]["servers"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|s| s["server"]["ips"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_string()))
            .collect()
    };
    assert_eq!(ips(&v1), vec!["45.10.1.1"], "by country: {v1}");
    assert_eq!(v1["package"]["servers"][0]["why"][0], "45.10.1.1 is in EE");
    assert_eq!(v1["package"]["tlp"], "green");
    let xx = run(&["--json", "package", "build", "--for", "police-xx"]).json();
    assert_eq!(ips(&xx), vec!["45.30.1.1"], "by prefix: {xx}");
    // By hand: the LV server added, the EE one kept out, each with its reason.
    let lv = run(&["--json", "server", "45.20.1.1"]).json()["id"].as_str().unwrap().to_string();
    let ee = run(&["--json", "server", "45.10.1.1"]).json()["id"].as_str().unwrap().to_string();
    run(&["route", "add", &lv, "--to", "police-ee", "--reason", "hosting company based in Tallinn"]);
    run(&["route", "remove", &ee, "--to", "police-ee", "--reason", "a sinkhole"]);
    assert_ne!(
        dragnet(d, &["route", "add", &lv, "--to", "police-ee", "--reason", " "]).code,
        0,
        "a reason is required"
    );
    assert_ne!(dragnet(d, &["package", "build", "--for", "feed-org"]).code, 0, "no such agency");
    let v2 = run(&["--json", "package", "build", "--for", "police-ee"]).json();
    assert_eq!(ips(&v2), vec!["45.20.1.1"], "{v2}");
    let changes = &v2["package"]["changes"];
    assert_eq!(
        (changes["previous_version"].clone(), changes["added"].clone(), changes["removed"].clone()),
        (Value::from(1), serde_json::json!([lv]), serde_json::json!([ee]))
    );
    let listed = run(&["--json", "package", "list", "--for", "police-ee"]).json();
    assert_eq!(
        listed.as_array().unwrap().iter().map(|p| p["version"].as_i64().unwrap()).collect::<Vec<_>>(),
        vec![2, 1]
    );
    let shown = run(&["--json", "package", "show", &v1["id"].to_string()]).json();
    assert_eq!(shown["version"], 1);
}

#[test]
fn exports_pass_stix2_validator_and_load_in_pymisp() {
    let Some(validator) = dragnet_testkit::oracle("stix2_validator") else { return };
    let pymisp = Command::new("python3").args(["-c", "import pymisp"]).status().is_ok_and(|s| s.success());
    if !pymisp {
        assert!(
            std::env::var_os("DRAGNET_SKIP_ORACLES").is_some(),
            "PyMISP is missing: run scripts/test, or set DRAGNET_SKIP_ORACLES=1"
        );
        return;
    }
    let data = tempfile::tempdir().unwrap();
    let d = data.path();
    let op = d.join("op");
    let run = |args: &[&str]| {
        let r = dragnet(d, args);
        assert_eq!(r.code, 0, "{args:?}: {}{}", r.stdout, r.stderr);
        r
    };
    run(&["simulate", "--out", op.to_str().unwrap(), "--ips", "300", "--countries", "5", "--seed", "3"]);
    run(&["ingest", op.to_str().unwrap()]);
    std::fs::write(d.join("phish.txt"), "http://login-verify.bank-secure-check.com/signin\n").unwrap();
    std::fs::write(d.join("malware.txt"), "http://dl.cheap-invoices.net/invoice.exe\n").unwrap();
    run(&["ingest", d.join("phish.txt").to_str().unwrap(), "--source", "phish-feed", "--category", "phishing"]);
    run(&[
        "ingest",
        d.join("malware.txt").to_str().unwrap(),
        "--source",
        "malware-feed",
        "--category",
        "malware-distribution",
    ]);
    // An agency for the country with the most servers.
    let servers = run(&["--json", "servers"]).json();
    let mut by_country: std::collections::BTreeMap<String, usize> = Default::default();
    for s in servers.as_array().unwrap() {
        for c in s["countries"].as_array().unwrap() {
            *by_country.entry(c.as_str().unwrap().to_string()).or_default() += 1;
        }
    }
    let (country, _) = by_country.iter().max_by_key(|(_, n)| **n).expect("servers with countries");
    run(&["org", "add", "police", "--kind", "agency", "--country", country]);
    let built = run(&["--json", "package", "build", "--for", "police"]).json();
    let packaged = built["package"]["servers"].as_array().unwrap();
    assert!(!packaged.is_empty(), "{built}");
    let members: usize = packaged
        .iter()
        .map(|p| ["ips", "domains", "urls"].iter().map(|k| p["server"][*k].as_array().unwrap().len()).sum::<usize>())
        .sum();
    let id = built["id"].to_string();
    for (args, name) in [(vec!["--package", id.as_str()], "package"), (vec![], "all")] {
        let stix = d.join(format!("{name}.stix.json"));
        let mut full = vec!["export", "--format", "stix", "--out", stix.to_str().unwrap()];
        full.extend(&args);
        run(&full);
        let out = Command::new(&validator).arg("--strict").arg(&stix).output().unwrap();
        let report = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success() && report.contains("STIX JSON: Valid"), "{name}: {report}");
        let misp = d.join(format!("{name}.misp.json"));
        let mut full = vec!["export", "--format", "misp", "--out", misp.to_str().unwrap()];
        full.extend(&args);
        run(&full);
        let out = Command::new("python3").arg(repo().join("scripts/misp_oracle.py")).arg(&misp).output().unwrap();
        assert!(out.status.success(), "PyMISP refused {name}: {}", String::from_utf8_lossy(&out.stderr));
        let read: Value = serde_json::from_slice(&out.stdout).unwrap();
        let count = read["attributes"].as_u64().unwrap() + read["object_attributes"].as_u64().unwrap();
        assert_eq!(read["round_trip_values"].as_u64(), Some(count), "{read}");
        if name == "package" {
            assert_eq!(count as usize, members, "every member of the package is an attribute: {read}");
            let bundle: Value = serde_json::from_str(&std::fs::read_to_string(&stix).unwrap()).unwrap();
            let indicators = bundle["objects"].as_array().unwrap().iter().filter(|o| o["type"] == "indicator").count();
            assert_eq!(indicators, members);
            // XARF needs its reporter, then gives one valid report per server.
            assert_ne!(dragnet(d, &["export", "--format", "xarf", "--package", &id]).code, 0);
            let xarf = d.join("package.xarf.jsonl");
            let reporter = [
                "--reporter-org",
                "Operation desk",
                "--reporter-contact",
                "abuse@desk.example.org",
                "--reporter-domain",
                "desk.example.org",
            ];
            let mut full = vec!["export", "--format", "xarf", "--package", &id, "--out", xarf.to_str().unwrap()];
            full.extend(reporter);
            run(&full);
            let out = Command::new("python3").arg(repo().join("scripts/xarf_oracle.py")).arg(&xarf).output().unwrap();
            assert!(out.status.success(), "xarf refused: {}", String::from_utf8_lossy(&out.stderr));
            let read: Value = serde_json::from_slice(&out.stdout).unwrap();
            assert_eq!(read["reports"].as_u64(), Some(packaged.len() as u64), "{read}");
            let all = d.join("all.xarf.jsonl");
            let mut full = vec!["export", "--format", "xarf", "--out", all.to_str().unwrap()];
            full.extend(reporter);
            run(&full);
            let out = Command::new("python3").arg(repo().join("scripts/xarf_oracle.py")).arg(&all).output().unwrap();
            assert!(out.status.success(), "xarf refused: {}", String::from_utf8_lossy(&out.stderr));
            let kinds: Value = serde_json::from_slice(&out.stdout).unwrap();
            for kind in ["infrastructure/botnet", "content/phishing", "content/malware"] {
                assert!(kinds["kinds"].as_array().unwrap().iter().any(|k| k == kind), "{kind} missing: {kinds}");
            }
            // The same package exports byte for byte the same.
            let again = run(&["export", "--format", "stix", "--package", &id]).stdout;
            assert_eq!(again.trim(), std::fs::read_to_string(&stix).unwrap().trim());
        }
    }
}
