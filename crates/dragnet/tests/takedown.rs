//! `dragnet takedown` end to end: the lifecycle on real servers of a real
//! store, moves refused with the allowed ones named, bulk moves by query,
//! and agencies acting only on their own package.

mod common;

use std::path::Path;

use common::dragnet;
use serde_json::Value;

fn run(d: &Path, args: &[&str]) -> common::Run {
    let r = dragnet(d, args);
    assert_eq!(r.code, 0, "dragnet {args:?}: {}", r.stderr);
    r
}

fn state(d: &Path, server: &str) -> Value {
    run(d, &["--json", "takedown", "show", server]).json()
}

#[test]
fn takedowns_follow_the_lifecycle_on_the_command_line() {
    let folder = tempfile::tempdir().unwrap();
    let d = folder.path();
    std::fs::write(d.join("feed.txt"), "45.10.1.1\n45.20.1.1\n45.30.1.1\n").unwrap();
    let feed = d.join("feed.txt");
    run(d, &["ingest", feed.to_str().unwrap(), "--source", "feed", "--tlp", "green", "--category", "botnet-c2"]);
    let listed = run(d, &["--json", "takedown", "list"]).json();
    let rows = listed.as_array().unwrap();
    assert_eq!(rows.len(), 3, "{listed}");
    assert!(rows.iter().all(|r| r["state"] == "identified" && r["updated"].is_null()), "{listed}");
    let id = |ip: &str| run(d, &["--json", "server", ip]).json()["id"].as_str().unwrap().to_string();
    let (one, two, three) = (id("45.10.1.1"), id("45.20.1.1"), id("45.30.1.1"));

    // A move the lifecycle does not allow: refused, nothing written, the
    // allowed ones named.
    let refused = dragnet(d, &["takedown", "set", &one, "--to", "seized", "--reason", "raid"]);
    assert_ne!(refused.code, 0);
    assert!(refused.stderr.contains("from identified it may go to validated, rejected"), "{}", refused.stderr);
    assert_eq!(state(d, &one)["history"], serde_json::json!([]));
    // All or none: one allowed move and one refused move write nothing.
    let mixed = dragnet(d, &["takedown", "set", &one, &two, "--to", "validated", "--reason", "ok"]);
    assert_eq!(mixed.code, 0, "both may be validated: {}", mixed.stderr);
    let mixed = dragnet(d, &["takedown", "set", &one, &three, "--to", "attributed", "--reason", "hoster known"]);
    assert_ne!(mixed.code, 0, "three is not validated yet");
    assert_eq!(state(d, &one)["state"], "validated", "one did not move either");

    // The whole way down, each move with who, why and evidence.
    for to in ["attributed", "assigned", "requested", "escalated", "seized", "verified-offline", "monitoring", "closed"]
    {
        run(
            d,
            &[
                "takedown",
                "set",
                &one,
                "--to",
                to,
                "--reason",
                &format!("now {to}"),
                "--evidence",
                "case 4711 — Beschlagnahme",
            ],
        );
    }
    let shown = state(d, &one);
    assert_eq!(shown["state"], "closed");
    assert_eq!(shown["next"], serde_json::json!(["reappeared"]));
    let history = shown["history"].as_array().unwrap();
    assert_eq!(history.len(), 9);
    assert_eq!((history[4]["from"].as_str(), history[4]["to"].as_str()), (Some("requested"), Some("escalated")));
    assert!(history.iter().all(|e| e["by"] == "operator" && e["at"].as_i64().is_some()));
    assert_eq!(history[8]["evidence"], "case 4711 — Beschlagnahme");
    // Reappeared reopens it.
    run(d, &["takedown", "set", &one, "--to", "reappeared", "--reason", "answers again on 443"]);
    run(d, &["takedown", "set", &one, "--to", "requested", "--reason", "second notice"]);

    // Bulk by query: every server still identified.
    let moved =
        run(d, &["--json", "takedown", "set", "--state", "identified", "--to", "rejected", "--reason", "sinkhole"])
            .json();
    assert_eq!(moved.as_array().unwrap().len(), 1, "{moved}");
    assert_eq!(moved[0]["server"], three.as_str());
    let none = dragnet(d, &["takedown", "set", "--to", "rejected", "--reason", "everything"]);
    assert_ne!(none.code, 0, "a move names its servers or a query");
    let rejected = run(d, &["--json", "takedown", "list", "--state", "rejected"]).json();
    assert_eq!(rejected.as_array().unwrap().len(), 1);

    // An agency moves only what its latest package holds; a partner nothing.
    run(d, &["org", "add", "police-lv", "--kind", "agency", "--prefix", "45.20.0.0/16"]);
    run(d, &["org", "add", "isp", "--kind", "partner"]);
    run(d, &["package", "build", "--for", "police-lv"]);
    run(d, &["takedown", "set", &two, "--to", "attributed", "--reason", "LV hoster", "--as", "police-lv"]);
    assert_eq!(state(d, &two)["history"][1]["by"], "police-lv");
    let other = dragnet(d, &["takedown", "set", &one, "--to", "acknowledged", "--reason", "x", "--as", "police-lv"]);
    assert_ne!(other.code, 0);
    assert!(other.stderr.contains("not in a package of police-lv"), "{}", other.stderr);
    let partner = dragnet(d, &["takedown", "set", &two, "--to", "assigned", "--reason", "x", "--as", "isp"]);
    assert_ne!(partner.code, 0);
}
