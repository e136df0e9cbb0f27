//! Operations, case actions and the report end to end on the command line:
//! the report's figures are those of the moves and actions the test made,
//! an agency records only its own actions, and every write is in the audit
//! log (a case action altered behind Dragnet's back is caught).

mod common;

use std::path::Path;

use common::dragnet;
use serde_json::{Value, json};

fn run(d: &Path, args: &[&str]) -> common::Run {
    let r = dragnet(d, args);
    assert_eq!(r.code, 0, "dragnet {args:?}: {}{}", r.stdout, r.stderr);
    r
}

fn moves(d: &Path, server: &str, path: &[&str]) {
    for to in path {
        run(d, &["takedown", "set", server, "--to", to, "--reason", &format!("now {to}")]);
    }
}

#[test]
fn an_operations_report_counts_what_was_done() {
    let folder = tempfile::tempdir().unwrap();
    let d = folder.path();
    // Four servers in two countries (range file), one of them spam (out of scope).
    std::fs::write(d.join("countries.csv"), "45.10.0.0,45.10.255.255,EE\n45.20.0.0,45.20.255.255,MN\n").unwrap();
    run(d, &["geo", "import", d.join("countries.csv").to_str().unwrap()]);
    std::fs::write(d.join("c2.txt"), "45.10.1.1\n45.10.1.2\n45.20.1.1\n").unwrap();
    std::fs::write(d.join("spam.txt"), "45.20.9.9\n").unwrap();
    run(d, &["ingest", d.join("c2.txt").to_str().unwrap(), "--source", "partner-a", "--category", "botnet-c2"]);
    run(d, &["ingest", d.join("spam.txt").to_str().unwrap(), "--source", "partner-b", "--category", "spam"]);
    run(d, &["org", "add", "coord", "--kind", "coordinator"]);
    run(d, &["org", "add", "police-ee", "--kind", "agency", "--country", "EE"]);
    run(d, &["org", "add", "police-mn", "--kind", "agency", "--country", "MN"]);
    let id = |ip: &str| run(d, &["--json", "server", ip]).json()["id"].as_str().unwrap().to_string();
    let (ee1, ee2, mn1) = (id("45.10.1.1"), id("45.10.1.2"), id("45.20.1.1"));

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
            "--scope",
            "botnet-c2",
            "--participant",
            "police-ee=agency",
            "--participant",
            "police-mn=agency",
            "--participant",
            "coord=coordinator",
        ],
    );
    let again = dragnet(d, &["op", "create", "Endgame", "--from", "2024-05-01", "--to", "2024-06-30"]);
    assert_ne!(again.code, 0, "one operation of a name");
    let backwards = dragnet(d, &["op", "create", "X", "--from", "2024-06-01", "--to", "2024-05-01"]);
    assert!(backwards.stderr.contains("end before it starts"), "{}", backwards.stderr);

    // ee1 seized and verified offline, ee2 offline claimed, mn1 still requested.
    moves(d, &ee1, &["validated", "attributed", "assigned", "requested", "acknowledged", "seized", "verified-offline"]);
    moves(d, &ee2, &["validated", "attributed", "assigned", "requested", "acknowledged", "offline-claimed"]);
    moves(d, &mn1, &["validated", "attributed", "assigned", "requested"]);

    let action = |args: &[&str]| {
        let mut all = vec!["action", "add", "--op", "Endgame"];
        all.extend_from_slice(args);
        run(d, &all)
    };
    action(&[
        "--kind",
        "house-search",
        "--agency",
        "police-mn",
        "--country",
        "MN",
        "--date",
        "2024-05-28",
        "--count",
        "21",
    ]);
    action(&["--kind", "server-seized", "--agency", "police-mn", "--country", "mn", "--date", "2024-05-29"]);
    action(&["--kind", "arrest", "--agency", "police-ee", "--country", "EE", "--date", "2024-05-28", "--count", "2"]);
    let digest = "ab".repeat(32);
    action(&[
        "--kind",
        "data-seized",
        "--agency",
        "police-ee",
        "--country",
        "EE",
        "--date",
        "2024-05-30",
        "--bytes",
        "80000000000",
        "--sha256",
        &digest,
        "--server",
        &ee1,
        "--note",
        "Serverabbild — vollständig",
    ]);
    // Refused: data seized without its hash; an agency recording another's action.
    let refused = dragnet(
        d,
        &[
            "action",
            "add",
            "--op",
            "Endgame",
            "--kind",
            "data-seized",
            "--agency",
            "police-ee",
            "--country",
            "EE",
            "--date",
            "2024-05-30",
        ],
    );
    assert!(refused.stderr.contains("sha256"), "{}", refused.stderr);
    let foreign = dragnet(
        d,
        &[
            "action",
            "add",
            "--op",
            "Endgame",
            "--kind",
            "arrest",
            "--agency",
            "police-mn",
            "--country",
            "MN",
            "--date",
            "2024-05-30",
            "--as",
            "police-ee",
        ],
    );
    assert_ne!(foreign.code, 0);
    assert!(foreign.stderr.contains("only its own"), "{}", foreign.stderr);
    // The packages sent within it: built for its agencies in its dates.
    run(d, &["package", "build", "--for", "police-ee", "--at", "2024-06-01"]);
    run(d, &["package", "build", "--for", "police-ee"]);
    let shown = run(d, &["--json", "op", "show", "Endgame"]).json();
    let packages = shown["packages"].as_array().unwrap();
    assert_eq!(packages.len(), 1, "the second was built after the operation ended: {shown}");
    assert_eq!((packages[0]["org"].as_str(), packages[0]["version"].as_i64()), (Some("police-ee"), Some(1)));
    // An agency sees its own actions only.
    let seen = run(d, &["--json", "action", "list", "--op", "Endgame", "--as", "police-ee"]).json();
    assert_eq!(seen.as_array().unwrap().len(), 2, "{seen}");
    assert!(seen.as_array().unwrap().iter().all(|a| a["agency"] == "police-ee"));

    let r = run(d, &["report", "Endgame", "--format", "json"]).json();
    let t = &r["totals"];
    assert_eq!(t["servers_identified"], 3, "the spam server is out of scope: {r}");
    assert_eq!(t["servers_taken_offline"], 2, "{r}");
    assert_eq!(t["servers_verified_offline"], 1, "{r}");
    assert_eq!(t["servers_still_online"], 1, "{r}");
    assert!((t["takedown_rate"].as_f64().unwrap() - 2.0 / 3.0).abs() < 1e-9, "{r}");
    assert_eq!((t["house_searches"].as_u64(), t["arrests"].as_u64()), (Some(21), Some(2)), "{r}");
    assert_eq!((t["servers_seized"].as_u64(), t["data_seized_bytes"].as_u64()), (Some(1), Some(80_000_000_000)), "{r}");
    let country = |cc: &str| r["countries"].as_array().unwrap().iter().find(|c| c["country"] == cc).unwrap().clone();
    let (ee, mn) = (country("EE"), country("MN"));
    assert_eq!((ee["servers_identified"].as_u64(), ee["servers_taken_offline"].as_u64()), (Some(2), Some(2)), "{r}");
    assert_eq!((mn["servers_identified"].as_u64(), mn["servers_taken_offline"].as_u64()), (Some(1), Some(0)), "{r}");
    assert_eq!((mn["house_searches"].as_u64(), mn["servers_seized"].as_u64()), (Some(21), Some(1)), "{r}");
    assert_eq!(ee["data_seized_bytes"], 80_000_000_000u64);
    assert_eq!(r["partners"], json!([{"source": "partner-a", "servers_reported": 3, "servers_taken_offline": 2}]));
    let online: Vec<&str> =
        r["still_online"].as_array().unwrap().iter().map(|s| s["server"].as_str().unwrap()).collect();
    assert_eq!(online, [mn1.as_str()]);
    assert_eq!(r["time_to_verified_offline"]["servers"], 1);
    assert!(r["as_of"].as_str().is_some());

    let md = run(d, &["report", "Endgame"]).stdout;
    assert!(md.contains("**2 of 3 identified servers taken offline** (66.7 %"), "{md}");
    assert!(md.contains("| MN | 1 | 0 | 21 house searches, 1 server seized |"), "{md}");
    assert!(md.contains("80.0 GB of data seized"), "{md}");

    // The HTML report: one self-contained file; an operation's name is text,
    // never markup; Chromium (Debian) reads it with its charts.
    run(d, &["op", "create", "Night <i>Fury</i>", "--from", "2024-05-01", "--to", "2024-06-30"]);
    let html_path = d.join("report.html");
    run(d, &["report", "Night <i>Fury</i>", "--format", "html", "--out", html_path.to_str().unwrap()]);
    let html = std::fs::read_to_string(&html_path).unwrap();
    assert!(!html.contains("src=") && !html.contains("href=") && !html.contains("@import"), "nothing is fetched");
    assert!(html.contains("Night &lt;i&gt;Fury&lt;/i&gt;") && !html.contains("<i>"), "escaped");
    if let Some(chromium) = dragnet_testkit::oracle("chromium") {
        let out = std::process::Command::new(chromium)
            .args(["--headless", "--no-sandbox", "--disable-gpu", "--dump-dom"])
            .arg(format!("file://{}", html_path.display()))
            .output()
            .unwrap();
        let dom = String::from_utf8_lossy(&out.stdout);
        assert!(dom.contains("<title>Operation Night &lt;i&gt;Fury&lt;/i&gt;</title>"), "{dom}");
        assert_eq!(dom.matches("<svg").count(), 2, "the rate bar and the country chart: {dom}");
        assert!(dom.contains("<td>EE</td>") && dom.contains("50.0 %"), "all four servers, two taken offline: {dom}");
    }

    // Every write is in the audit log; a case action altered behind
    // Dragnet's back is caught.
    let honest = run(d, &["--json", "audit", "verify"]).json();
    assert_eq!(honest["problems"], json!([]), "{honest}");
    let log = run(d, &["--json", "audit", "log", "--limit", "1000"]).json();
    let actions: Vec<&Value> = log.as_array().unwrap().iter().filter(|e| e["action"] == "case.action").collect();
    assert_eq!(actions.len(), 4);
    assert_eq!(log.as_array().unwrap().iter().filter(|e| e["action"] == "operation.create").count(), 2);
    let conn = rusqlite::Connection::open(d.join("dragnet.sqlite")).unwrap();
    conn.execute("UPDATE case_actions SET count = 210 WHERE kind = 'house-search'", []).unwrap();
    drop(conn);
    let caught = dragnet(d, &["--json", "audit", "verify"]);
    assert_eq!(caught.code, 1);
    let first = actions[0]["seq"].as_u64().unwrap();
    assert_eq!(caught.json()["first_altered"].as_u64(), Some(first), "{}", caught.stdout);
}
