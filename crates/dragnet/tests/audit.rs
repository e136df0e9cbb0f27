//! The audit log end to end: takedown moves logged and signed, `audit
//! verify` clean on an honest store, an inclusion proof checked by an outside
//! implementation (Python's hashlib and `cryptography`), and the store
//! altered behind Dragnet's back in five ways, each caught with the first
//! altered entry named.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::dragnet;
use dragnet_core::audit;
use dragnet_core::digest::{hex, parse_hash};
use rusqlite::Connection;

fn run(d: &Path, args: &[&str]) -> common::Run {
    let r = dragnet(d, args);
    assert_eq!(r.code, 0, "dragnet {args:?}: {}{}", r.stdout, r.stderr);
    r
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A data folder with three servers and six logged moves (entries 1–6),
/// each command followed by a signed tree head.
fn operation(d: &Path) -> (String, String) {
    std::fs::write(d.join("feed.txt"), "45.10.1.1\n45.20.1.1\n45.30.1.1\n").unwrap();
    let feed = d.join("feed.txt");
    run(d, &["ingest", feed.to_str().unwrap(), "--source", "feed", "--tlp", "amber", "--category", "botnet-c2"]);
    let id = |ip: &str| run(d, &["--json", "server", ip]).json()["id"].as_str().unwrap().to_string();
    let (one, two) = (id("45.10.1.1"), id("45.20.1.1"));
    run(d, &["takedown", "set", &one, &two, "--to", "validated", "--reason", "checked"]); // 1, 2
    for to in ["attributed", "assigned", "requested"] {
        run(d, &["takedown", "set", &one, "--to", to, "--reason", &format!("now {to}"), "--evidence", "Fall 17 — ÄÖÜ"]);
    } // 3, 4, 5
    run(d, &["takedown", "set", &two, "--to", "rejected", "--reason", "a CDN"]); // 6
    (one, two)
}

/// `audit verify` on a copy of `d` altered by `sql`: its exit status and report.
fn verify_altered(d: &Path, name: &str, alter: impl FnOnce(&Connection)) -> (i32, serde_json::Value) {
    let copy = d.with_file_name(format!("{}-{name}", d.file_name().unwrap().to_string_lossy()));
    std::fs::create_dir_all(&copy).unwrap();
    for f in std::fs::read_dir(d).unwrap() {
        let f = f.unwrap();
        if f.file_type().unwrap().is_file() {
            std::fs::copy(f.path(), copy.join(f.file_name())).unwrap();
        }
    }
    let conn = Connection::open(copy.join("dragnet.sqlite")).unwrap();
    alter(&conn);
    drop(conn);
    let r = dragnet(&copy, &["--json", "audit", "verify"]);
    (r.code, r.json())
}

#[test]
fn the_audit_log_catches_every_change_made_behind_its_back() {
    let folder = tempfile::tempdir().unwrap();
    let d = &folder.path().join("data");
    std::fs::create_dir_all(d).unwrap();
    let (one, two) = operation(d);

    let honest = run(d, &["--json", "audit", "verify"]).json();
    assert_eq!(honest["entries"], 6, "{honest}");
    assert_eq!(honest["newest_head"]["size"], 6, "{honest}");
    assert_eq!(honest["problems"], serde_json::json!([]), "{honest}");
    assert!(honest["tree_heads"].as_u64().unwrap() >= 4, "a head per command: {honest}");
    let log = run(d, &["--json", "audit", "log"]).json();
    assert_eq!(log[4]["subject"], one.as_str());
    assert_eq!(log[4]["action"], "takedown.move");
    assert!(log[4]["body"].as_str().unwrap().contains("Fall 17 — ÄÖÜ"), "{log}");
    // The key file is private.
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(d.join("audit.key")).unwrap().permissions().mode() & 0o777, 0o600);

    // 1. A takedown's state changed in place.
    let (code, report) = verify_altered(d, "state", |c| {
        c.execute("UPDATE takedowns SET state = 'closed' WHERE server_id = ?1", [&one]).unwrap();
    });
    assert_eq!((code, report["first_altered"].as_u64()), (1, Some(5)), "{report}");

    // 2. A history row's reason rewritten.
    let (code, report) = verify_altered(d, "reason", |c| {
        c.execute("UPDATE takedown_events SET reason = 'routine' WHERE id = 3", []).unwrap();
    });
    assert_eq!((code, report["first_altered"].as_u64()), (1, Some(3)), "{report}");

    // 3. An entry deleted from the middle of the log, with its history row.
    let (code, report) = verify_altered(d, "deleted", |c| {
        c.execute("DELETE FROM audit_log WHERE seq = 4", []).unwrap();
        c.execute("DELETE FROM takedown_events WHERE id = 4", []).unwrap();
    });
    assert_eq!((code, report["first_altered"].as_u64()), (1, Some(4)), "{report}");

    // 4. The last move undone everywhere: its entry, the tip, the row, the state.
    let (code, report) = verify_altered(d, "undone", |c| {
        c.execute("DELETE FROM audit_log WHERE seq = 6", []).unwrap();
        let chain: String = c.query_row("SELECT chain FROM audit_log WHERE seq = 5", [], |r| r.get(0)).unwrap();
        c.execute("UPDATE audit_tip SET seq = 5, chain = ?1", [chain]).unwrap();
        c.execute("DELETE FROM takedown_events WHERE id = 6", []).unwrap();
        c.execute(
            "UPDATE takedowns SET state = 'validated', updated = (SELECT decided_at FROM takedown_events WHERE id = 2)
             WHERE server_id = ?1",
            [&two],
        )
        .unwrap();
    });
    assert_eq!((code, report["first_altered"].as_u64()), (1, Some(6)), "{report}");

    // 5. An entry and its row rewritten consistently, and every leaf and
    // chain value after it recomputed: only the signed root shows it.
    let (code, report) = verify_altered(d, "rewritten", |c| {
        c.execute("UPDATE takedown_events SET reason = 'never happened' WHERE id = 2", []).unwrap();
        c.execute(
            "UPDATE audit_log SET body = replace(body, '\"reason\":\"checked\"', '\"reason\":\"never happened\"') WHERE seq = 2",
            [],
        )
        .unwrap();
        let mut previous = audit::CHAIN_START;
        let rows: Vec<(i64, i64, String, String, String, String)> = c
            .prepare("SELECT seq, at, actor, action, subject, body FROM audit_log ORDER BY seq")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        for (seq, at, actor, action, subject, body) in rows {
            let entry = audit::Entry { seq: seq as u64, at, actor, action, subject, body };
            let leaf = audit::leaf_hash(&entry);
            previous = audit::chain(&previous, &leaf);
            c.execute("UPDATE audit_log SET leaf = ?1, chain = ?2 WHERE seq = ?3", (hex(&leaf), hex(&previous), seq))
                .unwrap();
        }
        c.execute("UPDATE audit_tip SET chain = ?1", [hex(&previous)]).unwrap();
    });
    assert_eq!(code, 1, "{report}");
    let first = report["first_altered"].as_u64().unwrap();
    assert!(first <= 2, "the first head that no longer matches covers entry 2: {report}");
    assert!(report["problems"].to_string().contains("no longer hash to the root signed"), "{report}");

    // A head re-signed with another key is not trusted.
    let (code, report) = verify_altered(d, "resigned", |c| {
        c.execute("UPDATE audit_heads SET signer = ?1", [hex(&[7u8; 32])]).unwrap();
    });
    assert_eq!(code, 1, "{report}");
    assert!(report["problems"].to_string().contains("bad signature"), "{report}");
}

#[test]
fn an_inclusion_proof_checks_outside_dragnet() {
    let folder = tempfile::tempdir().unwrap();
    let d = &folder.path().join("data");
    std::fs::create_dir_all(d).unwrap();
    operation(d);
    let key = run(d, &["audit", "key"]).stdout.trim().to_string();
    let proof_path = folder.path().join("proof.json");
    for entry in 1..=6 {
        let proof = run(d, &["audit", "proof", &entry.to_string()]);
        let json = proof.json();
        // The same check in Rust, on the proof as printed.
        let path: Vec<_> =
            json["path"].as_array().unwrap().iter().map(|h| parse_hash(h.as_str().unwrap()).unwrap()).collect();
        let leaf = parse_hash(json["leaf_hash"].as_str().unwrap()).unwrap();
        let root = parse_hash(json["tree_head"]["root"].as_str().unwrap()).unwrap();
        assert!(audit::verify_inclusion(&leaf, entry - 1, 6, &path, &root));
        std::fs::write(&proof_path, &proof.stdout).unwrap();
        if dragnet_testkit::oracle("python3").is_none() {
            continue;
        }
        let out = Command::new("python3")
            .arg(repo().join("scripts/audit_proof_check.py"))
            .arg(&proof_path)
            .arg(&key)
            .output()
            .unwrap();
        let said = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success() && said.trim() == "ok", "entry {entry}: {said}");
        // A proof for another entry's text fails the outside check.
        let mut forged = json.clone();
        forged["body"] = serde_json::Value::String("{\"to\":\"closed\"}".into());
        std::fs::write(&proof_path, forged.to_string()).unwrap();
        let out = Command::new("python3")
            .arg(repo().join("scripts/audit_proof_check.py"))
            .arg(&proof_path)
            .arg(&key)
            .output()
            .unwrap();
        assert!(!out.status.success(), "a forged entry passed: {}", String::from_utf8_lossy(&out.stdout));
    }
    let missing = dragnet(d, &["audit", "proof", "7"]);
    assert_ne!(missing.code, 0);
    assert!(missing.stderr.contains("not covered"), "{}", missing.stderr);
}

#[test]
fn who_may_see_what_is_logged_and_checked_like_the_takedowns() {
    let folder = tempfile::tempdir().unwrap();
    let d = &folder.path().join("data");
    std::fs::create_dir_all(d).unwrap();
    let (one, _) = operation(d);
    run(d, &["org", "add", "police-ee", "--kind", "agency", "--country", "ee"]);
    run(d, &["org", "add", "isp-1", "--kind", "partner"]);
    run(d, &["token", "create", "--org", "police-ee", "--role", "reader"]);
    run(d, &["token", "create", "--org", "isp-1", "--role", "submitter"]);
    run(d, &["token", "revoke", "2"]);
    run(d, &["share", "feed", "--owner", "isp-1", "--with", "police-ee"]);
    run(d, &["route", "add", &one, "--to", "police-ee", "--reason", "hosted in Tallinn"]);
    std::fs::write(d.join("contacts.csv"), "AS64500,abuse@hoster.example,Hoster Oü\n").unwrap();
    run(d, &["contacts", "import", d.join("contacts.csv").to_str().unwrap()]);

    let honest = run(d, &["--json", "audit", "verify"]).json();
    assert_eq!(honest["problems"], serde_json::json!([]), "{honest}");
    let log = run(d, &["--json", "audit", "log", "--after", "6"]).json();
    let actions: Vec<&str> = log.as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(
        actions,
        ["org.add", "org.add", "token.add", "token.add", "token.revoke", "sharing.set", "routing.add", "contact.put"]
    );
    assert!(log.as_array().unwrap().iter().all(|e| e["actor"] == "operator"), "{log}");

    // Each altered row is caught, and names the entry it no longer matches.
    let cases: [(&str, &str, Option<u64>); 7] = [
        ("jurisdiction", "UPDATE orgs SET countries = 'EE,LV' WHERE name = 'police-ee'", Some(7)),
        ("planted-secret", "UPDATE tokens SET digest = 'ab12' WHERE id = 1", Some(9)),
        ("unrevoked", "UPDATE tokens SET revoked = NULL WHERE id = 2", Some(11)),
        ("widened", "UPDATE sources SET recipients = 'kind:public' WHERE name = 'feed'", Some(12)),
        ("unrouted", "DELETE FROM routings", Some(13)),
        ("redirected", "UPDATE abuse_contacts SET email = 'abuse@attacker.example'", Some(14)),
        (
            "extra-token",
            "INSERT INTO tokens (org_id, role, digest, label, created) SELECT id, 'admin', 'cd34', 'dgt_cd', 1 FROM orgs WHERE name = 'isp-1'",
            None,
        ),
    ];
    for (name, sql, first) in cases {
        let (code, report) = verify_altered(d, name, |c| {
            c.execute(sql, []).unwrap();
        });
        assert_eq!(code, 1, "{name}: {report}");
        assert_eq!(report["first_altered"].as_u64(), first, "{name}: {report}");
        if first.is_none() {
            assert!(report["problems"].to_string().contains("is not in the log"), "{name}: {report}");
        }
    }
}

#[test]
fn the_operators_reads_of_restricted_data_are_logged_too() {
    let folder = tempfile::tempdir().unwrap();
    let d = &folder.path().join("data");
    std::fs::create_dir_all(d).unwrap();
    std::fs::write(d.join("red.txt"), "45.66.1.1\n45.66.1.2\n").unwrap();
    std::fs::write(d.join("green.txt"), "45.77.1.1\n").unwrap();
    for (file, tlp) in [("red.txt", "red"), ("green.txt", "green")] {
        let path = d.join(file);
        run(d, &["ingest", path.to_str().unwrap(), "--source", file, "--tlp", tlp, "--category", "botnet-c2"]);
    }
    run(d, &["org", "add", "police-ee", "--kind", "agency", "--country", "ee"]);
    let entries = || run(d, &["--json", "audit", "log"]).json().as_array().unwrap().clone();
    let reads =
        || -> Vec<serde_json::Value> { entries().into_iter().filter(|e| e["action"] == "read.restricted").collect() };
    // A GREEN value read on the command line leaves nothing.
    run(d, &["lookup", "45.77.1.1"]);
    assert_eq!(reads(), Vec::<serde_json::Value>::new());
    // The RED ones do: one entry per source and marking, with the count.
    run(d, &["lookup", "45.66.1.1", "45.66.1.2"]);
    let logged = reads();
    assert_eq!(logged.len(), 1, "{logged:?}");
    assert_eq!((logged[0]["actor"].as_str(), logged[0]["subject"].as_str()), (Some("operator"), Some("red.txt")));
    let body: serde_json::Value = serde_json::from_str(logged[0]["body"].as_str().unwrap()).unwrap();
    assert_eq!(body, serde_json::json!({"tlp": "red", "items": 2}));
    // The servers list shows them too; an organisation's view that may not
    // see them reads nothing restricted.
    run(d, &["servers"]);
    assert_eq!(reads().len(), 2);
    run(d, &["lookup", "45.66.1.1", "--as", "police-ee"]);
    assert_eq!(reads().len(), 2, "police-ee may not see RED data it was not named for");
    // Once it is named, the operator reading its view is logged as the
    // operator, with the view it read.
    run(d, &["org", "add", "isp-1", "--kind", "partner"]);
    run(d, &["share", "red.txt", "--owner", "isp-1", "--with", "police-ee"]);
    run(d, &["lookup", "45.66.1.1", "--as", "police-ee"]);
    let logged = reads();
    assert_eq!(logged.len(), 3, "{logged:?}");
    assert_eq!(logged[2]["actor"], "operator");
    let body: serde_json::Value = serde_json::from_str(logged[2]["body"].as_str().unwrap()).unwrap();
    assert_eq!(body, serde_json::json!({"tlp": "red", "items": 1, "as": "police-ee"}));
    // Each read is under a signed tree head, and the log still verifies.
    let honest = run(d, &["--json", "audit", "verify"]).json();
    assert_eq!(honest["problems"], serde_json::json!([]), "{honest}");
    assert_eq!(honest["newest_head"]["size"].as_u64(), Some(entries().len() as u64), "{honest}");
}
