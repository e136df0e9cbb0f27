//! Takedown notices end to end: abuse contacts imported, X-ARF reports
//! e-mailed over SMTP to a real SMTP server on loopback (aiosmtpd, from
//! PyPI, storing what it receives in a maildir), read back as a mail client
//! would and validated with the xarf package; the takedowns moved to
//! `requested` with the message ids as evidence.

mod common;

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::dragnet;
use serde_json::Value;

fn run(d: &Path, args: &[&str]) -> common::Run {
    let r = dragnet(d, args);
    assert_eq!(r.code, 0, "dragnet {args:?}: {}{}", r.stdout, r.stderr);
    r
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// aiosmtpd on a free loopback port, killed when dropped.
struct Sink {
    child: Child,
    port: u16,
    maildir: PathBuf,
}

impl Sink {
    fn start(dir: &Path) -> Option<Sink> {
        let installed =
            Command::new("python3").args(["-c", "import aiosmtpd, xarf"]).status().is_ok_and(|s| s.success());
        if !installed {
            assert!(
                std::env::var_os("DRAGNET_SKIP_ORACLES").is_some(),
                "aiosmtpd or xarf is missing: run scripts/test, or set DRAGNET_SKIP_ORACLES=1"
            );
            return None;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let maildir = dir.join("maildir");
        let child = Command::new("python3")
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}"), "-c", "aiosmtpd.handlers.Mailbox"])
            .arg(&maildir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(started.elapsed() < Duration::from_secs(20), "aiosmtpd did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        Some(Sink { child, port, maildir })
    }

    fn received(&self) -> Vec<Value> {
        let out =
            Command::new("python3").arg(repo().join("scripts/smtp_sink_read.py")).arg(&self.maildir).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice::<Value>(&out.stdout).unwrap().as_array().unwrap().clone()
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn notices_reach_the_abuse_desks_as_xarf_reports_by_smtp() {
    let folder = tempfile::tempdir().unwrap();
    let d = folder.path();
    let Some(sink) = Sink::start(d) else { return };
    std::fs::write(d.join("asn.csv"), "45.10.0.0,45.10.255.255,64500,Host EE\n45.20.0.0,45.20.255.255,64501,Host MN\n")
        .unwrap();
    run(d, &["geo", "import", d.join("asn.csv").to_str().unwrap()]);
    std::fs::write(d.join("c2.txt"), "45.10.1.1\n45.20.1.1\n45.30.1.1\n").unwrap();
    run(d, &["ingest", d.join("c2.txt").to_str().unwrap(), "--source", "partner-a", "--category", "botnet-c2"]);
    // A prefix contact beats the ASN's; 45.30.1.1 has neither.
    std::fs::write(
        d.join("contacts.csv"),
        "network,email,name\nAS64500,abuse@host-ee.example,Host EE\n45.20.1.0/24,noc@host-mn.example,Host MN\nAS64501,wrong@host-mn.example\n",
    )
    .unwrap();
    let imported = run(d, &["--json", "contacts", "import", d.join("contacts.csv").to_str().unwrap()]).json();
    assert_eq!(imported["imported"], 3);
    std::fs::write(d.join("bad.csv"), "AS1,abuse@x.example\nAS2,Bcc: x@y.example\n").unwrap();
    let bad = dragnet(d, &["contacts", "import", d.join("bad.csv").to_str().unwrap()]);
    assert!(bad.stderr.contains("bad.csv:2: email"), "{}", bad.stderr);
    assert_eq!(run(d, &["--json", "contacts", "list"]).json().as_array().unwrap().len(), 3, "all or nothing");

    let id = |ip: &str| run(d, &["--json", "server", ip]).json()["id"].as_str().unwrap().to_string();
    let (ee, mn, orphan) = (id("45.10.1.1"), id("45.20.1.1"), id("45.30.1.1"));
    for server in [&ee, &mn, &orphan] {
        for to in ["validated", "attributed", "assigned"] {
            run(d, &["takedown", "set", server, "--to", to, "--reason", "routine"]);
        }
    }
    let relay = format!("smtp://127.0.0.1:{}", sink.port);
    let reporter = [
        "--reporter-org",
        "Dragnet CERT",
        "--reporter-contact",
        "abuse@cert.example",
        "--reporter-domain",
        "cert.example",
    ];
    let send = |servers: &[&str]| {
        let mut args = vec!["--json", "notice", "send", "--relay", relay.as_str()];
        args.extend_from_slice(&reporter);
        args.extend_from_slice(servers);
        dragnet(d, &args)
    };
    // A server without a desk stops the whole batch before anything is sent.
    let refused = send(&[&ee, &orphan]);
    assert_ne!(refused.code, 0);
    assert!(refused.stderr.contains(&orphan) && refused.stderr.contains("no abuse contact"), "{}", refused.stderr);
    assert!(sink.received().is_empty());

    let outcome = send(&[&ee, &mn]);
    assert_eq!(outcome.code, 0, "{}{}", outcome.stdout, outcome.stderr);
    let sent = outcome.json()["sent"].as_array().unwrap().clone();
    assert_eq!(sent.len(), 2);
    let mail = sink.received();
    assert_eq!(mail.len(), 2, "{mail:?}");
    for m in &mail {
        assert_eq!(m["xarf_errors"], serde_json::json!([]), "{m}");
        assert_eq!(m["from"], "abuse@cert.example");
        let report = &m["report"];
        assert_eq!((report["category"].as_str(), report["type"].as_str()), (Some("infrastructure"), Some("botnet")));
        let server = if report["source_identifier"] == "45.10.1.1" { &ee } else { &mn };
        let to = if server == &ee { "abuse@host-ee.example" } else { "noc@host-mn.example" };
        assert_eq!(m["to"], serde_json::json!([to]), "{m}");
        assert!(m["text"].as_str().unwrap().contains(m["message_id"].as_str().unwrap()), "{m}");
        // The takedown moved on, the message id its evidence.
        let shown = run(d, &["--json", "takedown", "show", server]).json();
        assert_eq!(shown["state"], "requested");
        let last = shown["history"].as_array().unwrap().last().unwrap().clone();
        assert!(last["evidence"].as_str().unwrap().contains(m["message_id"].as_str().unwrap()), "{last}");
    }
    // A second notice for a requested server is refused by the lifecycle.
    let again = send(&[&ee]);
    assert!(again.stderr.contains("cannot go from requested to requested"), "{}", again.stderr);
    assert_eq!(sink.received().len(), 2);

    // Over the API: a coordinator's admin imports a desk for the third
    // server, and a notice goes out through the relay the server was given.
    run(d, &["org", "add", "coord", "--kind", "coordinator"]);
    let token = run(d, &["token", "create", "--org", "coord", "--role", "admin"]).stdout.trim().to_string();
    let mut args = vec!["--rate", "1000", "--smtp-relay", relay.as_str()];
    args.extend_from_slice(&reporter);
    let server = common::Server::start(d, &[], &args);
    let r = server.request("POST", "/api/v1/contacts", Some(&token), Some(b"45.30.0.0/16,abuse@host-x.example\n"));
    assert_eq!((r.status, r.json()["imported"].as_u64()), (200, Some(1)), "{}", r.body);
    let body = serde_json::json!({"servers": [&orphan]}).to_string();
    let r = server.request("POST", "/api/v1/notices", Some(&token), Some(body.as_bytes()));
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["sent"][0]["to"], serde_json::json!(["abuse@host-x.example"]), "{}", r.body);
    assert_eq!(sink.received().len(), 3);
    // The moves, from the command line and the API, are in the audit log.
    drop(server);
    assert_eq!(run(d, &["--json", "audit", "verify"]).json()["problems"], serde_json::json!([]));
}
