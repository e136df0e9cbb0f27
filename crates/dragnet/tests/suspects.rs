//! Suspects end to end: minimal records seen by their agency only, the
//! audit log holding a digest and never the data, erasure at the retention
//! date, and a record changed or dropped behind Dragnet's back caught.

mod common;

use std::path::Path;

use common::dragnet;

fn run(d: &Path, args: &[&str]) -> common::Run {
    let r = dragnet(d, args);
    assert_eq!(r.code, 0, "dragnet {args:?}: {}{}", r.stdout, r.stderr);
    r
}

#[test]
fn suspects_are_seen_by_their_agency_only_and_erased_on_time() {
    let folder = tempfile::tempdir().unwrap();
    let d = folder.path();
    for (name, kind) in [("police-ee", "agency"), ("police-de", "agency"), ("coord", "coordinator")] {
        run(d, &["org", "add", name, "--kind", kind]);
    }
    run(
        d,
        &[
            "op",
            "create",
            "Endgame",
            "--from",
            "2024-05-01",
            "--to",
            "2024-06-30",
            "--participant",
            "police-ee=agency",
            "--participant",
            "police-de=agency",
        ],
    );
    let add = |alias: &str, until: &str, actor: &str| {
        dragnet(
            d,
            &[
                "--json",
                "suspect",
                "add",
                "--op",
                "Endgame",
                "--agency",
                "police-ee",
                "--alias",
                alias,
                "--nationality",
                "ee",
                "--role",
                "operator of the panel",
                "--retain-until",
                until,
                "--as",
                actor,
            ],
        )
    };
    let first = add("Kalle Ärm", "2030-01-01", "police-ee");
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert_eq!(first.json()["nationality"], "EE");
    assert_eq!(add("Mari", "2040-01-01", "police-ee").code, 0);
    let foreign = add("Someone", "2040-01-01", "police-de");
    assert!(foreign.stderr.contains("only its own"), "{}", foreign.stderr);
    assert!(add("Past", "2001-01-01", "police-ee").stderr.contains("future"));

    assert_eq!(run(d, &["--json", "suspect", "list", "--as", "police-ee"]).json().as_array().unwrap().len(), 2);
    assert_eq!(run(d, &["--json", "suspect", "list", "--as", "police-de"]).json().as_array().unwrap().len(), 0);
    let coordinator = dragnet(d, &["suspect", "list", "--as", "coord"]);
    assert!(coordinator.stderr.contains("their agency only"), "{}", coordinator.stderr);
    // The log holds digests, never names.
    let log = run(d, &["--json", "audit", "log"]).stdout;
    assert!(log.contains("record_sha256") && !log.contains("Kalle") && !log.contains("Mari"), "{log}");

    let erased = run(d, &["--json", "retention", "apply", "--now", "2031-01-01"]).json();
    assert_eq!(erased["erased"], serde_json::json!([1]));
    let left = run(d, &["--json", "suspect", "list"]).json();
    assert_eq!(left.as_array().unwrap().iter().map(|s| s["alias"].as_str().unwrap()).collect::<Vec<_>>(), ["Mari"]);
    assert_eq!(run(d, &["--json", "audit", "verify"]).json()["problems"], serde_json::json!([]));

    // Changed or dropped behind Dragnet's back: caught.
    let conn = rusqlite::Connection::open(d.join("dragnet.sqlite")).unwrap();
    conn.execute("UPDATE suspects SET alias = 'Someone else'", []).unwrap();
    drop(conn);
    let caught = dragnet(d, &["--json", "audit", "verify"]);
    assert_eq!(caught.code, 1, "{}", caught.stdout);
    let conn = rusqlite::Connection::open(d.join("dragnet.sqlite")).unwrap();
    conn.execute("DELETE FROM suspects", []).unwrap();
    drop(conn);
    let caught = dragnet(d, &["--json", "audit", "verify"]);
    assert!(caught.json()["problems"].to_string().contains("gone from the store"), "{}", caught.stdout);
}
