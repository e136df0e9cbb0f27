//! Dragnet's warninglist matching agrees with pymispwarninglists (the MISP
//! project's own library, full search) on every sample list, probed with
//! each entry, its subdomains, near misses and unrelated values. Regex lists
//! are left out: pymispwarninglists does not evaluate them.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use dragnet_analytics::warninglist::{ListKind, WarningList};

fn probes(kind: ListKind, entries: &[String]) -> Vec<String> {
    let mut out = vec![
        "8.8.8.8".to_string(),
        "example.org".into(),
        "192.168.1.1".into(),
        "d41d8cd98f00b204e9800998ecf8427e".into(),
    ];
    for e in entries.iter().take(60) {
        out.push(e.clone());
        match kind {
            ListKind::Cidr => {
                let net = e.split('/').next().unwrap_or(e);
                if let Ok(std::net::IpAddr::V4(a)) = net.parse::<std::net::IpAddr>() {
                    let n = u32::from(a);
                    for d in [1u32, 255, 65_536] {
                        out.push(std::net::Ipv4Addr::from(n.wrapping_add(d)).to_string());
                    }
                    out.push(std::net::Ipv4Addr::from(n.wrapping_sub(1)).to_string());
                } else {
                    out.push(net.replace("::", "::1:"));
                }
            }
            _ => {
                out.push(format!("sub.{}", e.trim_start_matches('.')));
                out.push(format!("{e}x"));
                out.push(format!("x{e}"));
                out.push(format!("http://www.{}/path", e.trim_start_matches('.')));
            }
        }
    }
    out
}

#[test]
fn sample_lists_agree_with_pymispwarninglists() {
    let Some(dir) = dragnet_testkit::samples("warninglists") else { return };
    let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let oracle = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/warninglist_oracle.py");
    let python = std::env::var("DRAGNET_PYTHON").unwrap_or_else(|_| "python3".into());
    let has_oracle =
        Command::new(&python).args(["-c", "import pymispwarninglists"]).status().is_ok_and(|s| s.success());
    if !has_oracle {
        if std::env::var_os("DRAGNET_SKIP_ORACLES").is_some() {
            eprintln!("skipping: pymispwarninglists is not installed (DRAGNET_SKIP_ORACLES set)");
            return;
        }
        panic!(
            "pymispwarninglists is not installed for {python}: `pip install pymispwarninglists` (scripts/test does), or set DRAGNET_SKIP_ORACLES=1"
        );
    }
    let mut files: Vec<PathBuf> =
        entries.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| !p.ends_with("schema.json")).collect();
    files.sort();
    let mut cases: Vec<(PathBuf, WarningList, String)> = Vec::new();
    for path in &files {
        let text = std::fs::read_to_string(path).unwrap();
        let list = WarningList::parse(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        if list.kind == ListKind::Regex {
            continue;
        }
        let json: serde_json::Value = serde_json::from_str(&text).unwrap();
        let entries: Vec<String> =
            json["list"].as_array().unwrap().iter().filter_map(|e| e.as_str().map(str::to_string)).collect();
        for value in probes(list.kind, &entries) {
            cases.push((path.clone(), list.clone(), value));
        }
    }
    let mut child = Command::new(&python).arg(&oracle).stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap();
    {
        let mut stdin = child.stdin.take().unwrap();
        for (path, _, value) in &cases {
            writeln!(stdin, "{}", serde_json::json!({"list": path, "value": value})).unwrap();
        }
    }
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let answers: Vec<bool> = String::from_utf8_lossy(&out.stdout).lines().map(|l| l == "1").collect();
    assert_eq!(answers.len(), cases.len());
    let disagreements: Vec<String> = cases
        .iter()
        .zip(&answers)
        .filter(|((_, list, value), theirs)| list.matches(value) != **theirs)
        .map(|((path, _, value), theirs)| format!("{}: `{value}` pymispwarninglists={theirs}", path.display()))
        .collect();
    println!("{} probes over {} lists", cases.len(), files.len());
    assert!(disagreements.is_empty(), "{} disagreements: {disagreements:#?}", disagreements.len());
    assert!(answers.iter().filter(|a| **a).count() > 100, "the probes hit the lists");
}
