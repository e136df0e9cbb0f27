//! The verification prober against stand-ins it can really reach, all on
//! loopback and started here: Python's http.server for HTTP and `openssl
//! s_server` for TLS. Every probed address is mapped to them with
//! --connect-to and --mapped-only, so nothing else is ever a target.

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
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

/// `dragnet --json probe run` for `rounds` rounds a second apart, two
/// silent rounds to verify, only the targets `rules` map, with `extra`
/// options: each round's JSON.
fn probe_rounds(d: &Path, rounds: &str, extra: &[&str], rules: &[String]) -> Vec<Value> {
    let mut args = vec!["--json", "probe", "run", "--rounds", rounds, "--every", "1s", "--offline-after", "2"];
    args.extend(["--timeout", "2", "--mapped-only"]);
    args.extend_from_slice(extra);
    for r in rules {
        args.extend(["--connect-to", r.as_str()]);
    }
    let r = run(d, &args);
    serde_json::Deserializer::from_str(&r.stdout).into_iter::<Value>().map(Result::unwrap).collect()
}

/// A self-signed certificate and key made by openssl in `d`, and the
/// SHA-256 of the certificate's DER.
fn certificate(d: &Path) -> (PathBuf, PathBuf, String) {
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
    (cert, key, hex(&sha256(&der)))
}

/// `openssl s_server` with `cert` and `key` on `port`, answering GET with a page.
fn tls_stand_in(cert: &Path, key: &Path, port: u16) -> StandIn {
    StandIn::start(
        Command::new("openssl")
            .args(["s_server", "-quiet", "-www", "-accept", &format!("127.0.0.1:{port}"), "-cert"])
            .arg(cert)
            .arg("-key")
            .arg(key),
        port,
    )
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
    let (cert, key, fingerprint) = certificate(d);

    let (http, tls, closed) = (free_port(), free_port(), free_port());
    let _http = StandIn::start(
        Command::new("python3").args(["-m", "http.server", &http.to_string(), "--bind", "127.0.0.1"]).current_dir(d),
        http,
    );
    let _tls = tls_stand_in(&cert, &key, tls);

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
    let probe = |rules: &[String], rounds: &str| probe_rounds(d, rounds, &[], rules);

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

/// A server that answers every connection with one fixed TLS 1.2 server
/// hello (ECDHE-RSA-AES128-GCM-SHA256; renegotiation info, EC point
/// formats, extended master secret) and hangs up: a broken C2 listener.
fn hello_only_server() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let extensions: &[u8] = &[0xff, 0x01, 0, 1, 0, 0x00, 0x0b, 0, 2, 1, 0, 0x00, 0x17, 0, 0];
    let mut body = vec![3, 3];
    body.extend([0x5a; 32]);
    body.extend([0, 0xc0, 0x2f, 0]);
    body.extend((extensions.len() as u16).to_be_bytes());
    body.extend(extensions);
    let mut record = vec![22, 3, 3];
    record.extend((body.len() as u16 + 4).to_be_bytes());
    record.extend([2, 0, (body.len() >> 8) as u8, body.len() as u8]);
    record.extend(body);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut client_hello = [0u8; 2048];
            let _ = stream.read(&mut client_hello);
            let _ = stream.write_all(&record);
        }
    });
    port
}

#[test]
fn a_certificate_at_a_candidate_address_joins_the_server_it_was_seen_on() {
    for program in ["python3", "openssl"] {
        if dragnet_testkit::oracle(program).is_none() {
            return;
        }
    }
    let folder = tempfile::tempdir().unwrap();
    let d = folder.path();
    let (cert, key, fingerprint) = certificate(d);
    let (tls, closed, hello_only) = (free_port(), free_port(), hello_only_server());
    let _tls = tls_stand_in(&cert, &key, tls);
    std::fs::write(d.join("c2.txt"), "45.50.1.1\n").unwrap();
    run(d, &["ingest", d.join("c2.txt").to_str().unwrap(), "--source", "partner-a", "--category", "botnet-c2"]);
    let server = run(d, &["--json", "server", "45.50.1.1"]).json()["id"].as_str().unwrap().to_string();
    for to in ["validated", "attributed", "assigned", "requested", "acknowledged", "seized"] {
        run(d, &["takedown", "set", &server, "--to", to, "--reason", "routine"]);
    }
    std::fs::write(d.join("candidates.txt"), "# the provider's other block\n45.60.1.0/30\n45.50.1.1\n").unwrap();
    let candidates = d.join("candidates.txt");
    let probe = |rules: &[String], rounds: &str, with_candidates: bool| {
        let mut extra = vec!["--ports", "443"];
        if with_candidates {
            extra.extend(["--candidates", candidates.to_str().unwrap()]);
        }
        probe_rounds(d, rounds, &extra, rules)
    };

    // It shows its certificate, with the JA3S of its hello, then goes dark.
    probe(&[format!("45.50.1.1:443=127.0.0.1:{tls}")], "1", false);
    let seen = run(d, &["--json", "probe", "results", &server]).json();
    assert_eq!(seen[0]["certificate"].as_str(), Some(fingerprint.as_str()), "{seen}");
    let ja3s = seen[0]["ja3s"].as_str().unwrap().to_string();
    assert!(ja3s.len() == 32 && ja3s.bytes().all(|b| b.is_ascii_hexdigit()), "{seen}");
    let dark = vec![format!("45.50.1.1:443=127.0.0.1:{closed}")];
    let rounds = probe(&dark, "2", false);
    assert_eq!(rounds[1]["verified_offline"], serde_json::json!([server]), "{rounds:?}");

    // The provider's other block: its certificate answers at .2, a broken
    // listener at .1; the address already in a server is no candidate.
    let mut rules = dark.clone();
    for (host, to) in [(0, closed), (1, hello_only), (2, tls), (3, closed)] {
        rules.push(format!("45.60.1.{host}:443=127.0.0.1:{to}"));
    }
    let unmapped = dragnet(
        d,
        &[
            "probe",
            "run",
            "--ports",
            "443",
            "--mapped-only",
            "--candidates",
            candidates.to_str().unwrap(),
            "--connect-to",
            &dark[0],
        ],
    );
    assert!(unmapped.stderr.contains("candidate: 45.60.1.0:443 has no --connect-to rule"), "{}", unmapped.stderr);
    // A certificate answering at two new addresses at once is a default
    // (a framework's, shipped with its key), not a trace: nothing joins.
    let mut twice = dark.clone();
    for (host, to) in [(0, closed), (1, hello_only), (2, tls), (3, tls)] {
        twice.push(format!("45.60.1.{host}:443=127.0.0.1:{to}"));
    }
    let round = probe(&twice, "1", true).remove(0);
    assert_eq!(round["moved"], serde_json::json!([]), "{round}");
    assert_eq!(run(d, &["--json", "takedown", "show", &server]).json()["state"], "verified-offline");
    let round = probe(&rules, "1", true).remove(0);
    assert_eq!((round["servers"].as_u64(), round["candidates"].as_u64()), (Some(1), Some(4)), "{round}");
    assert_eq!(round["moved"][0]["server"], server.as_str(), "{round}");
    assert_eq!(round["moved"][0]["joined"], "45.60.1.2", "{round}");
    assert!(round["moved"][0]["evidence"].as_str().unwrap().contains(&fingerprint), "{round}");
    let moved = run(d, &["--json", "takedown", "show", &server]).json();
    assert_eq!(moved["state"], "reappeared", "{moved}");

    // The new address is now one of the server's, reported by the prober.
    let joined = run(d, &["--json", "server", "45.60.1.2"]).json();
    assert_eq!(joined["id"], server.as_str(), "{joined}");
    assert_eq!(joined["ips"], serde_json::json!(["45.50.1.1", "45.60.1.2"]), "{joined}");
    assert!(joined["sources"].as_array().unwrap().iter().any(|s| s == "prober"), "{joined}");
    let unrelated = run(d, &["--json", "lookup", "45.60.1.1"]).json();
    assert_eq!(unrelated[0]["found"], false, "only the address with the certificate joins: {unrelated}");

    // The broken listener never finished a handshake, yet its hello was
    // read: its JA3S is the MD5 (by Python's hashlib) of what it said.
    let candidates_seen = run(d, &["--json", "probe", "results", ""]).json();
    let broken = candidates_seen.as_array().unwrap().iter().find(|r| r["address"] == "45.60.1.1").unwrap();
    let md5 = Command::new("python3")
        .args(["-c", "import hashlib; print(hashlib.md5(b'771,49199,65281-11-23').hexdigest())"])
        .output()
        .unwrap();
    assert_eq!(broken["ja3s"].as_str(), Some(String::from_utf8_lossy(&md5.stdout).trim()), "{broken}");
    assert_eq!(broken["certificate"], Value::Null, "{broken}");
    assert_eq!(run(d, &["--json", "audit", "verify"]).json()["problems"], serde_json::json!([]));
}
