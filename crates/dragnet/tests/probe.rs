//! The verification prober against stand-ins it can really reach, all on
//! loopback and started here: Python's http.server for HTTP and `openssl
//! s_server` for TLS. Every probed address is mapped to them with
//! --connect-to and --mapped-only, so nothing else is ever a target.

mod common;

use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::dragnet;
use dragnet_core::digest::{hex, sha256};
use serde_json::Value;

fn run(d: &Path, args: &[&str]) -> common::Run {
    let r = dragnet(d, args);
    assert_eq!(r.code, 0, "dragnet {args:?}: {}{}", r.stdout, r.stderr);
    r
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A stand-in process listening on `port`, killed when dropped.
struct StandIn(Child);

impl StandIn {
    fn start(command: &mut Command, port: u16) -> StandIn {
        let child = command.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(started.elapsed() < Duration::from_secs(20), "{command:?} did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        StandIn(child)
    }
}

impl Drop for StandIn {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn the_prober_verifies_silent_servers_and_catches_one_that_reappears() {
    for program in ["python3", "openssl"] {
        if dragnet_testkit::oracle(program).is_none() {
            return;
        }
    }
    let folder = tempfile::tempdir().unwrap();
    let d = folder.path();
    let (cert, key) = (d.join("cert.pem"), d.join("key.pem"));
    let made = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=c2.example"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .unwrap();
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    let der = Command::new("openssl").args(["x509", "-outform", "DER", "-in"]).arg(&cert).output().unwrap().stdout;
    let fingerprint = hex(&sha256(&der));

    let (http, tls, closed) = (free_port(), free_port(), free_port());
    let _http = StandIn::start(
        Command::new("python3").args(["-m", "http.server", &http.to_string(), "--bind", "127.0.0.1"]).current_dir(d),
        http,
    );
    let _tls = StandIn::start(
        Command::new("openssl")
            .args(["s_server", "-quiet", "-www", "-accept", &format!("127.0.0.1:{tls}"), "-cert"])
            .arg(&cert)
            .arg("-key")
            .arg(&key),
        tls,
    );

    std::fs::write(d.join("c2.txt"), "45.10.1.1\n45.10.1.2\n45.20.1.1\n45.40.1.1\n").unwrap();
    run(d, &["ingest", d.join("c2.txt").to_str().unwrap(), "--source", "partner-a", "--category", "botnet-c2"]);
    let id = |ip: &str| run(d, &["--json", "server", ip]).json()["id"].as_str().unwrap().to_string();
    let (alive, gone, also_gone, mover) = (id("45.10.1.1"), id("45.10.1.2"), id("45.20.1.1"), id("45.40.1.1"));
    for server in [&alive, &gone, &also_gone, &mover] {
        for to in ["validated", "attributed", "assigned", "requested", "acknowledged", "seized"] {
            run(d, &["takedown", "set", server, "--to", to, "--reason", "routine"]);
        }
    }
    // The mover shows the TLS stand-in's certificate at first, then goes dark.
    let map_with = |alive_at: &str, mover_tls: u16| {
        vec![
            format!("45.10.1.1:80=127.0.0.1:{http}"),
            format!("45.10.1.1:443=127.0.0.1:{tls}"),
            format!("45.10.1.2:80={alive_at}"),
            format!("45.10.1.2:443=127.0.0.1:{closed}"),
            format!("45.20.1.1:80=127.0.0.1:{closed}"),
            format!("45.20.1.1:443=127.0.0.1:{closed}"),
            format!("45.40.1.1:80=127.0.0.1:{closed}"),
            format!("45.40.1.1:443=127.0.0.1:{mover_tls}"),
        ]
    };
    let map = |alive_at: &str| map_with(alive_at, tls);
    let probe = |rules: &[String], rounds: &str| {
        let mut args: Vec<String> =
            ["--json", "probe", "run", "--rounds", rounds, "--every", "1s", "--offline-after", "2"]
                .iter()
                .map(|s| s.to_string())
                .collect();
        args.extend(["--timeout", "2", "--mapped-only"].iter().map(|s| s.to_string()));
        for r in rules {
            args.push("--connect-to".into());
            args.push(r.clone());
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let r = run(d, &args);
        serde_json::Deserializer::from_str(&r.stdout).into_iter::<Value>().map(Result::unwrap).collect::<Vec<_>>()
    };

    // An unmapped target is refused before anything is probed.
    let mut partial = map(&format!("127.0.0.1:{closed}"));
    partial.pop();
    let mut args = vec!["probe", "run", "--mapped-only"];
    for r in &partial {
        args.extend(["--connect-to", r.as_str()]);
    }
    let refused = dragnet(d, &args);
    assert!(refused.stderr.contains("45.40.1.1:443 has no --connect-to rule"), "{}", refused.stderr);

    // Two rounds: the silent servers are verified offline, the live one is not.
    let rounds = probe(&map(&format!("127.0.0.1:{closed}")), "2");
    assert_eq!(rounds.len(), 2);
    let mut answered = vec![alive.clone(), mover.clone()];
    answered.sort();
    assert_eq!(rounds[0]["answered"], serde_json::json!(answered));
    assert_eq!(rounds[0]["verified_offline"], serde_json::json!([]));
    let mut offline: Vec<String> = serde_json::from_value(rounds[1]["verified_offline"].clone()).unwrap();
    offline.sort();
    let mut expected = vec![gone.clone(), also_gone.clone()];
    expected.sort();
    assert_eq!(offline, expected);
    let state = |s: &str| run(d, &["--json", "takedown", "show", s]).json();
    assert_eq!(state(&alive)["state"], "seized");
    let verified = state(&gone);
    assert_eq!(verified["state"], "verified-offline");
    let last = verified["history"].as_array().unwrap().last().unwrap().clone();
    assert!(last["evidence"].as_str().unwrap().contains("45.10.1.2:80 silent"), "{last}");
    // What the TLS stand-in showed: its certificate, and an HTTP answer over it.
    let results = run(d, &["--json", "probe", "results", &alive]).json();
    let on_tls = results.as_array().unwrap().iter().find(|r| r["port"] == 443).unwrap();
    assert_eq!(on_tls["certificate"].as_str(), Some(fingerprint.as_str()), "{results}");
    assert_eq!(on_tls["http_status"], 200, "{results}");
    let on_http = results.as_array().unwrap().iter().find(|r| r["port"] == 80).unwrap();
    assert_eq!(on_http["http_status"], 200, "{results}");

    // The gone server answers again: reappeared.
    let rounds = probe(&map(&format!("127.0.0.1:{http}")), "1");
    assert_eq!(rounds[0]["reappeared"], serde_json::json!([gone]));
    assert_eq!(state(&gone)["state"], "reappeared");
    assert_eq!(state(&also_gone)["state"], "verified-offline");

    // The mover goes dark and is verified offline; then its certificate
    // answers at the live server's address: it has moved there.
    let dark = map_with(&format!("127.0.0.1:{closed}"), closed);
    let rounds = probe(&dark, "2");
    assert_eq!(rounds[1]["verified_offline"], serde_json::json!([mover]), "{rounds:?}");
    let rounds = probe(&dark, "1");
    assert_eq!(rounds[0]["moved"][0]["server"], mover.as_str(), "{rounds:?}");
    let evidence = rounds[0]["moved"][0]["evidence"].as_str().unwrap();
    assert!(
        evidence.contains(&fingerprint) && evidence.contains("45.10.1.1:443") && evidence.contains(&alive),
        "{evidence}"
    );
    let moved = state(&mover);
    assert_eq!(moved["state"], "reappeared");
    assert!(
        moved["history"].as_array().unwrap().last().unwrap()["evidence"].as_str().unwrap().contains("45.10.1.1:443")
    );
    assert_eq!(run(d, &["--json", "audit", "verify"]).json()["problems"], serde_json::json!([]));
}
