//! `dragnet demo` on a fresh data folder: a whole operation, whose report's
//! every figure must equal what the simulator's truth (`truth.json`: how
//! providers and police answer) and the recorded actions say, computed
//! here independently from the truth and the store's servers.

mod common;

use std::collections::{BTreeMap, HashMap};

use common::dragnet;
use serde_json::Value;

#[test]
fn the_demo_runs_a_whole_operation_and_its_report_matches_the_truth() {
    let folder = tempfile::tempdir().unwrap();
    let d = folder.path();
    let run = dragnet(d, &["--json", "demo", "--ips", "400", "--countries", "8", "--seed", "3"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let outcome = run.json();
    let truth: Value = serde_json::from_slice(&std::fs::read(d.join("operation/truth.json")).unwrap()).unwrap();
    let servers = dragnet(d, &["--json", "servers"]).json();
    let servers = servers.as_array().unwrap();

    // Which simulated server each of Dragnet's servers is: most of its values.
    let mut owner: HashMap<&str, usize> = HashMap::new();
    for (i, s) in truth["servers"].as_array().unwrap().iter().enumerate() {
        for v in s["ips"].as_array().unwrap().iter().chain(s["domains"].as_array().unwrap()) {
            owner.insert(v.as_str().unwrap(), i);
        }
    }
    let responses = truth["responses"].as_array().unwrap();
    let (mut taken, mut verified, mut online, mut notices, mut rejected) = (0, 0, 0, 0, 0);
    let mut per_country: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for s in servers {
        let values: Vec<&str> = s["ips"]
            .as_array()
            .unwrap()
            .iter()
            .chain(s["domains"].as_array().unwrap())
            .map(|v| v.as_str().unwrap())
            .collect();
        let mut votes: HashMap<usize, usize> = HashMap::new();
        for v in &values {
            if let Some(i) = owner.get(v) {
                *votes.entry(*i).or_default() += 1;
            }
        }
        let Some(real) = votes.into_iter().max_by_key(|(i, n)| (*n, usize::MAX - i)).map(|(i, _)| i) else {
            // Not one of the world's servers: triage rejects it.
            rejected += 1;
            let state = dragnet(d, &["--json", "takedown", "show", s["id"].as_str().unwrap()]).json()["state"].clone();
            assert_eq!(state, "rejected", "{}", s["id"]);
            for cc in s["countries"].as_array().unwrap() {
                per_country.entry(cc.as_str().unwrap().to_string()).or_default().0 += 1;
            }
            continue;
        };
        let r = &responses[real];
        // A notice goes to servers with an address (the desks are by ASN).
        let noticed = !s["ips"].as_array().unwrap().is_empty();
        notices += usize::from(noticed);
        let actioned = noticed && !r["action"].is_null();
        let down = actioned && r["goes_offline"] == true && r["reappears"] == false;
        let back = actioned && r["goes_offline"] == true && r["reappears"] == true;
        let offline = actioned && !back;
        taken += usize::from(offline);
        verified += usize::from(down);
        online += usize::from(!offline);
        for cc in s["countries"].as_array().unwrap() {
            let row = per_country.entry(cc.as_str().unwrap().to_string()).or_default();
            row.0 += 1;
            row.1 += u64::from(offline);
        }
        // The lifecycle went where the truth says.
        let state = dragnet(d, &["--json", "takedown", "show", s["id"].as_str().unwrap()]).json()["state"].clone();
        let expected = match (noticed, r["acknowledged_after_hours"].is_null(), r["action"].as_str()) {
            (false, _, _) => "assigned",
            (true, true, _) => "escalated",
            (true, false, None) => "acknowledged",
            (true, false, Some(_)) if back => "reappeared",
            (true, false, Some(_)) if down => "monitoring",
            (true, false, Some(a)) => a,
        };
        assert_eq!(state, expected, "{} ({:?}): {r}", s["id"], values);
    }
    assert_eq!(outcome["notices_sent"], notices);
    assert_eq!(outcome["notices_received"], notices, "the SMTP sink kept every notice");
    assert_eq!(std::fs::read_dir(d.join("mail")).unwrap().count(), notices);

    let report: Value = serde_json::from_slice(&std::fs::read(d.join("report.json")).unwrap()).unwrap();
    assert_eq!(report, outcome["report"]);
    let t = &report["totals"];
    assert_eq!(t["servers_identified"], servers.len());
    assert_eq!(t["servers_taken_offline"], taken, "{t}");
    assert_eq!(t["servers_verified_offline"], verified, "{t}");
    assert_eq!(t["servers_still_online"], online, "{t}");
    assert!(taken > 0 && verified > 0 && online > 0, "a run with something in each: {t}");
    assert_eq!(t["servers_rejected"], rejected, "{t}");
    let rate = taken as f64 / (servers.len() - rejected) as f64;
    assert!((t["takedown_rate"].as_f64().unwrap() - rate).abs() < 1e-9, "{t}");
    // The police's work, as the truth has it, per country and in all.
    let mut expected: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
    for a in truth["case_actions"].as_array().unwrap() {
        let (key, n) = match a["kind"].as_str().unwrap() {
            "data-seized" => ("data_seized_bytes".to_string(), a["bytes"].as_u64().unwrap()),
            "house-search" => ("house_searches".to_string(), a["count"].as_u64().unwrap()),
            "arrest" => ("arrests".to_string(), a["count"].as_u64().unwrap()),
            "suspect-identified" => ("suspects_identified".to_string(), a["count"].as_u64().unwrap()),
            "server-seized" => ("servers_seized".to_string(), a["count"].as_u64().unwrap()),
            "device-seized" => ("devices_seized".to_string(), a["count"].as_u64().unwrap()),
            "sinkholed" => ("sinkholed".to_string(), a["count"].as_u64().unwrap()),
            _ => ("under_investigation".to_string(), a["count"].as_u64().unwrap()),
        };
        for scope in [a["country"].as_str().unwrap().to_string(), "all".to_string()] {
            *expected.entry(scope).or_default().entry(key.clone()).or_default() += n;
        }
    }
    assert!(!expected.is_empty(), "the truth holds police work");
    for (key, n) in &expected["all"] {
        assert_eq!(t[key].as_u64(), Some(*n), "{key}: {t}");
    }
    for row in report["countries"].as_array().unwrap() {
        let cc = row["country"].as_str().unwrap();
        let (identified, offline) = per_country.get(cc).copied().unwrap_or_default();
        assert_eq!(
            (row["servers_identified"].as_u64(), row["servers_taken_offline"].as_u64()),
            (Some(identified), Some(offline)),
            "{cc}"
        );
        for (key, n) in expected.get(cc).into_iter().flatten() {
            assert_eq!(row[key].as_u64(), Some(*n), "{cc} {key}: {row}");
        }
    }
    // The store the demo leaves is whole: every change in the audit log.
    let audit = dragnet(d, &["--json", "audit", "verify"]).json();
    assert_eq!(audit["problems"], serde_json::json!([]), "{audit}");
    assert!(d.join("report.html").exists() && d.join("report.md").exists());
    // A second run on the same store is refused.
    let again = dragnet(d, &["demo", "--ips", "400"]);
    assert!(again.stderr.contains("empty store"), "{}", again.stderr);
}
