//! Evidence end to end: a file kept by its SHA-256, handed from one holder
//! to the next (only by its current holder), re-hashed by `evidence
//! verify` (an altered or lost file is named), and every hand-over in the
//! audit log (a custody row rewritten behind Dragnet's back is caught).

mod common;

use std::path::Path;

use common::dragnet;
use dragnet_core::digest::{hex, sha256};

fn run(d: &Path, args: &[&str]) -> common::Run {
    let r = dragnet(d, args);
    assert_eq!(r.code, 0, "dragnet {args:?}: {}{}", r.stdout, r.stderr);
    r
}

#[test]
fn evidence_keeps_its_content_and_its_custody_chain() {
    let folder = tempfile::tempdir().unwrap();
    let d = folder.path();
    for (name, kind) in [("police-ee", "agency"), ("police-de", "agency"), ("coord", "coordinator")] {
        run(d, &["org", "add", name, "--kind", kind]);
    }
    run(d, &["op", "create", "Endgame", "--from", "2024-05-01", "--to", "2024-06-30"]);
    let image = d.join("server-image — Beschlagnahme.bin");
    let bytes: Vec<u8> = (0..100_000u32).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(&image, &bytes).unwrap();
    let digest = hex(&sha256(&bytes));
    let kept =
        run(d, &["--json", "evidence", "add", image.to_str().unwrap(), "--op", "Endgame", "--holder", "police-ee"])
            .json();
    assert_eq!((kept["sha256"].as_str(), kept["size"].as_u64()), (Some(digest.as_str()), Some(100_000)));
    assert_eq!(kept["name"], "server-image — Beschlagnahme.bin");
    let again = dragnet(d, &["evidence", "add", image.to_str().unwrap(), "--op", "Endgame", "--holder", "police-ee"]);
    assert!(again.stderr.contains("kept already"), "{}", again.stderr);
    // Only the holder hands it on.
    let wrong = dragnet(d, &["evidence", "transfer", &digest, "--from", "police-de", "--to", "coord"]);
    assert!(wrong.stderr.contains("held by police-ee"), "{}", wrong.stderr);
    run(
        d,
        &[
            "evidence",
            "transfer",
            &digest,
            "--from",
            "police-ee",
            "--to",
            "police-de",
            "--note",
            "courier, sealed bag 17",
        ],
    );
    let shown = run(d, &["--json", "evidence", "show", &digest]).json();
    let chain: Vec<(&str, &str)> = shown["custody"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["from"].as_str().unwrap(), c["to"].as_str().unwrap()))
        .collect();
    assert_eq!(chain, [("", "police-ee"), ("police-ee", "police-de")]);

    let checked = run(d, &["--json", "evidence", "verify"]).json();
    assert_eq!((checked[0]["status"].as_str(), checked[0]["holder"].as_str()), (Some("ok"), Some("police-de")));
    // The stored copy altered: named, exit 1.
    let stored = d.join("evidence").join(digest.get(..2).unwrap()).join(&digest);
    let mut altered = bytes.clone();
    altered[500] ^= 1;
    std::fs::write(&stored, &altered).unwrap();
    let r = dragnet(d, &["--json", "evidence", "verify"]);
    assert_eq!((r.code, r.json()[0]["status"].as_str()), (1, Some("altered")));
    std::fs::remove_file(&stored).unwrap();
    assert_eq!(dragnet(d, &["--json", "evidence", "verify"]).json()[0]["status"], "missing");

    // Each hand-over is in the audit log; a custody row rewritten is caught.
    assert_eq!(run(d, &["--json", "audit", "verify"]).json()["problems"], serde_json::json!([]));
    let conn = rusqlite::Connection::open(d.join("dragnet.sqlite")).unwrap();
    conn.execute("UPDATE custody SET to_org = 'coord' WHERE id = 2", []).unwrap();
    drop(conn);
    let caught = dragnet(d, &["--json", "audit", "verify"]);
    assert_eq!(caught.code, 1);
    assert!(caught.json()["problems"].to_string().contains("custody"), "{}", caught.stdout);
}
