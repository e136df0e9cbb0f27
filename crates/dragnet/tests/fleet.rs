//! The worker fleet against the real NATS JetStream server (127.0.0.1:4222,
//! started by `.ci/run`) and PostgreSQL: workers end with the store one
//! process makes, a job whose worker is killed mid-job is done once by
//! another, a poisoned job is dead-lettered with its reason and holds up
//! nothing, and a full queue refuses submissions. Each test has its own
//! queue (streams and bucket) and its own schema.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::dragnet;
use serde_json::Value;

/// A PostgreSQL schema of its own and a queue of its own on NATS.
struct Fleet {
    nats: String,
    queue: String,
    store: String,
    schema: String,
    data: tempfile::TempDir,
}

impl Fleet {
    fn new(name: &str) -> Option<Fleet> {
        let nats = dragnet_testkit::nats_url()?;
        let mut admin = dragnet_testkit::postgres_admin()?;
        let schema = dragnet_testkit::unique_name(&format!("fleet_{name}"));
        admin.batch_execute(&format!("CREATE SCHEMA {schema}")).unwrap();
        let store = format!("{}?options=-c%20search_path%3D{schema}", dragnet_testkit::postgres_url());
        let queue = schema.replace('_', "-").chars().rev().take(32).collect::<String>().chars().rev().collect();
        Some(Fleet { nats, queue, store, schema, data: tempfile::tempdir().unwrap() })
    }

    fn run(&self, args: &[&str]) -> common::Run {
        let mut full = vec!["--store", self.store.as_str()];
        full.extend_from_slice(args);
        dragnet(self.data.path(), &full)
    }

    fn submit(&self, source: &str, files: &[&Path], more: &[&str]) -> common::Run {
        let mut args = vec!["submit", "--nats", &self.nats, "--queue", &self.queue, "--source", source];
        args.extend_from_slice(more);
        let names: Vec<&str> = files.iter().map(|f| f.to_str().unwrap()).collect();
        args.extend(names);
        dragnet(self.data.path(), &args)
    }

    fn worker(&self, more: &[&str]) -> Child {
        Command::new(env!("CARGO_BIN_EXE_dragnet"))
            .args(["--data", self.data.path().to_str().unwrap(), "--store", &self.store, "--json", "worker"])
            .args(["--nats", &self.nats, "--queue", &self.queue])
            .args(more)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    }

    fn status(&self) -> Value {
        let r = dragnet(self.data.path(), &["--json", "fleet", "status", "--nats", &self.nats, "--queue", &self.queue]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        r.json()
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        if let Some(mut admin) = dragnet_testkit::postgres_admin() {
            let _ = admin.batch_execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.schema));
        }
    }
}

/// What a worker printed: one JSON document per job.
fn finished(child: Child) -> Vec<Value> {
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "the worker ended with {}", out.status);
    serde_json::Deserializer::from_slice(&out.stdout).into_iter::<Value>().map(Result::unwrap).collect()
}

/// `lines` addresses from `45.(first).x.y` on, one per line.
fn addresses(dir: &Path, name: &str, first: u32, lines: u32) -> PathBuf {
    let text: String =
        (0..lines).map(|i| format!("45.{}.{}.{}\n", first + i / 65_536, i / 256 % 256, i % 256)).collect();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// The store as `stats` sees it, without what differs by backend.
fn stats(run: impl Fn(&[&str]) -> common::Run) -> Value {
    let r = run(&["--json", "stats"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    r.json()
}

/// Runs workers until the queue is empty and they have been idle a while;
/// their outcomes.
fn drain(fleet: &Fleet, workers: usize) -> Vec<Value> {
    let started: Vec<Child> = (0..workers).map(|_| fleet.worker(&["--idle-exit", "3s"])).collect();
    started.into_iter().flat_map(finished).collect()
}

#[test]
fn three_workers_end_a_simulated_operation_with_the_store_one_process_makes() {
    let Some(fleet) = Fleet::new("three") else { return };
    let sim = tempfile::tempdir().unwrap();
    let out = sim.path().to_str().unwrap();
    assert_eq!(dragnet(fleet.data.path(), &["simulate", "--out", out, "--seed", "3", "--ips", "300"]).code, 0);
    let event = std::fs::read_dir(sim.path().join("feeds/partner-b-misp"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| !p.ends_with("manifest.json"))
        .unwrap();
    let feeds: Vec<(PathBuf, &str, &str, &str, &str)> = vec![
        (sim.path().join("feeds/abusech-feodo.json"), "abusech-feodo", "A2", "clear", "auto"),
        (sim.path().join("feeds/partner-a-stix.json"), "partner-a", "B2", "amber", "auto"),
        (event, "partner-b", "B3", "green", "misp"),
        (sim.path().join("feeds/partner-c-indicators.csv"), "partner-c", "C3", "amber", "auto"),
    ];
    let sensor = sim.path().join("telemetry/sensor-1");
    let logs: Vec<PathBuf> = ["conn.log", "dns.log", "ssl.log"].iter().map(|f| sensor.join(f)).collect();
    let internal = "10.20.0.0/16";

    // One process, the embedded store: the feeds, then the sensor's logs.
    let alone = tempfile::tempdir().unwrap();
    for (path, source, grade, tlp, format) in &feeds {
        let args =
            ["ingest", path.to_str().unwrap(), "--source", source, "--grade", grade, "--tlp", tlp, "--format", format];
        let r = dragnet(alone.path(), &args);
        assert_eq!(r.code, 0, "{}", r.stderr);
    }
    let args = ["--json", "telemetry", sensor.to_str().unwrap(), "--source", "sensor-1", "--internal", internal];
    let r = dragnet(alone.path(), &[&args[..], &["--grade", "B2", "--tlp", "amber"]].concat());
    assert_eq!(r.code, 0, "{}", r.stderr);
    let in_process = r.json();
    assert!(in_process["beacons"].as_u64().unwrap() > 0, "the simulation plants beacons: {in_process}");

    // Three workers on PostgreSQL: the feeds, then the logs in three shares.
    for (path, source, grade, tlp, format) in &feeds {
        let r = fleet.submit(source, &[path.as_path()], &["--grade", grade, "--tlp", tlp, "--format", format]);
        assert_eq!(r.code, 0, "{}", r.stderr);
    }
    let done = drain(&fleet, 3);
    assert_eq!(done.len(), 4, "{done:?}");
    let logs: Vec<&Path> = logs.iter().map(PathBuf::as_path).collect();
    let shares = ["--telemetry", "--partitions", "3", "--internal", internal, "--grade", "B2", "--tlp", "amber"];
    let r = fleet.submit("sensor-1", &logs, &shares);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let done = drain(&fleet, 3);
    assert_eq!(done.len(), 3, "{done:?}");
    assert!(done.iter().all(|w| w["outcome"] == "done"), "{done:?}");
    // Each share scored its own pairs; together, every beacon once.
    let beacons: u64 = done.iter().map(|w| w["report"]["beacons"].as_u64().unwrap()).sum();
    assert_eq!(beacons, in_process["beacons"].as_u64().unwrap(), "{done:?}");
    let scans: u64 = done.iter().map(|w| w["report"]["scans"].as_u64().unwrap()).sum();
    assert_eq!(scans, in_process["scans"].as_u64().unwrap(), "{done:?}");
    assert_eq!(fleet.status()["queued"], 0);

    assert_eq!(stats(|a| fleet.run(a)), stats(|a| dragnet(alone.path(), a)));
}

#[test]
fn a_worker_killed_mid_job_has_its_job_done_once_by_another() {
    let Some(fleet) = Fleet::new("killed") else { return };
    let dir = tempfile::tempdir().unwrap();
    let big = addresses(dir.path(), "big.txt", 20, 300_000);
    assert_eq!(fleet.submit("partner", &[&big], &["--category", "botnet-c2"]).code, 0);
    let mut first = fleet.worker(&["--ack-wait", "2s"]);
    // Killed once it has taken the job and before it could finish it.
    let started = Instant::now();
    while fleet.status()["in_progress"] != 1 {
        assert!(started.elapsed() < Duration::from_secs(30), "the worker never took the job");
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_millis(300));
    first.kill().unwrap();
    let _ = first.wait();
    let after_kill = stats(|a| fleet.run(a));
    assert!(after_kill["observations"] == 0, "nothing half-written: {after_kill}");

    let second = finished(fleet.worker(&["--ack-wait", "2s", "--idle-exit", "5s"]));
    assert_eq!(second.len(), 1, "{second:?}");
    assert_eq!((second[0]["outcome"].as_str(), second[0]["tries"].as_i64()), (Some("done"), Some(2)), "{second:?}");
    let alone = tempfile::tempdir().unwrap();
    let r = dragnet(alone.path(), &["ingest", big.to_str().unwrap(), "--source", "partner", "--category", "botnet-c2"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(stats(|a| fleet.run(a)), stats(|a| dragnet(alone.path(), a)), "nothing lost or doubled");
}

#[test]
fn a_poisoned_job_is_dead_lettered_with_its_reason_and_blocks_nothing() {
    let Some(fleet) = Fleet::new("poison") else { return };
    let dir = tempfile::tempdir().unwrap();
    let poison = dir.path().join("poison.json");
    std::fs::write(&poison, "{\"not\": \"a feodo list\", \"ünïcødé\": [1, 2").unwrap();
    let good = addresses(dir.path(), "good.txt", 30, 500);
    assert_eq!(fleet.submit("partner", &[&poison], &["--format", "feodo"]).code, 0);
    assert_eq!(fleet.submit("partner", &[&good], &["--category", "spam"]).code, 0);
    let worked = finished(fleet.worker(&["--max-tries", "3", "--retry-after", "200ms", "--idle-exit", "3s"]));
    let outcomes: Vec<&str> = worked.iter().map(|w| w["outcome"].as_str().unwrap()).collect();
    assert_eq!(outcomes.iter().filter(|o| **o == "done").count(), 1, "{worked:?}");
    assert_eq!(outcomes.iter().filter(|o| **o == "retry").count(), 2, "{worked:?}");
    assert_eq!(outcomes.last(), Some(&"dead"), "{worked:?}");
    // The good file was not held up behind the retries.
    assert!(outcomes.iter().position(|o| *o == "done") < outcomes.iter().position(|o| *o == "dead"), "{worked:?}");
    let status = fleet.status();
    assert_eq!((status["queued"].as_u64(), status["dead"].as_u64()), (Some(0), Some(1)), "{status}");
    let letter = &status["dead_letters"][0];
    assert_eq!(letter["tries"], 3, "{status}");
    assert!(letter["job"]["origin"].as_str().unwrap().ends_with("poison.json"), "{status}");
    assert!(letter["reason"].as_str().unwrap().contains("poison.json"), "{status}");
    assert_eq!(stats(|a| fleet.run(a))["observations"], 500);
}

/// A job a worker finished: its report.
fn done<'a>(worked: &'a [Value], origin: &str) -> &'a Value {
    let found = worked.iter().find(|w| w["job"]["origin"] == origin);
    let w = found.unwrap_or_else(|| panic!("no job {origin} among {worked:?}"));
    assert_eq!(w["outcome"], "done", "{w}");
    &w["report"]
}

/// A prober round, a package and a blocklist export are jobs too: the
/// worker's round verifies a silent server offline, its package is the
/// agency's next version, and its export is byte for byte what `dragnet
/// export` writes from the same store, fetched with `fleet result`.
#[test]
fn prober_rounds_packages_and_exports_are_fleet_jobs() {
    let Some(fleet) = Fleet::new("tasks") else { return };
    let ok = |args: &[&str]| {
        let r = fleet.run(args);
        assert_eq!(r.code, 0, "{args:?}: {}{}", r.stdout, r.stderr);
        r
    };
    let dir = tempfile::tempdir().unwrap();
    let c2 = addresses(dir.path(), "c2.txt", 50, 3);
    ok(&["ingest", c2.to_str().unwrap(), "--source", "partner-a", "--category", "botnet-c2", "--tlp", "green"]);
    let server = |ip: &str| ok(&["--json", "server", ip]).json()["id"].as_str().unwrap().to_string();
    let (seized, routed) = (server("45.50.0.0"), server("45.50.0.1"));
    for to in ["validated", "attributed", "assigned", "requested", "acknowledged", "seized"] {
        ok(&["takedown", "set", &seized, "--to", to, "--reason", "routine"]);
    }
    ok(&["org", "add", "police-ee", "--kind", "agency", "--country", "ee"]);
    ok(&["route", "add", &routed, "--to", "police-ee", "--reason", "hosted in Tallinn"]);

    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let nats = ["--nats", fleet.nats.as_str(), "--queue", fleet.queue.as_str()];
    let queue = |args: &[&str]| {
        let r = dragnet(fleet.data.path(), &[&["--json", "fleet"], args, &nats].concat());
        assert_eq!(r.code, 0, "{args:?}: {}", r.stderr);
        r.json()[0]["job"].as_str().unwrap().to_string()
    };
    let (to80, to443) = (format!("45.50.0.0:80=127.0.0.1:{closed}"), format!("45.50.0.0:443=127.0.0.1:{closed}"));
    let round = ["probe", "--offline-after", "1", "--timeout", "1", "--mapped-only", "--connect-to", &to80];
    queue(&[&round[..], &["--connect-to", &to443]].concat());
    queue(&["package", "--for", "police-ee"]);
    let export = queue(&["export", "--format", "rpz", "--zone", "rpz.example"]);
    let worked = drain(&fleet, 1);

    let probed = done(&worked, "probe round");
    assert_eq!((probed["servers"].as_u64(), probed["probes"].as_u64()), (Some(1), Some(2)), "{probed}");
    assert_eq!(probed["verified_offline"], serde_json::json!([seized]), "{probed}");
    assert_eq!(ok(&["--json", "takedown", "show", &seized]).json()["state"], "verified-offline");
    let packaged = done(&worked, "package for police-ee");
    assert_eq!((packaged["version"].as_u64(), packaged["servers"].as_u64()), (Some(1), Some(1)), "{packaged}");
    let listed = ok(&["--json", "package", "list", "--for", "police-ee"]).json();
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
    let exported = done(&worked, "rpz export for the operator");
    assert_eq!(exported["result"], format!("result-{export}"));

    let here = dir.path().join("rpz.zone");
    ok(&["export", "--format", "rpz", "--zone", "rpz.example", "--out", here.to_str().unwrap()]);
    let fetched = dir.path().join("fetched.zone");
    let result = ["fleet", "result", &export, "--out", fetched.to_str().unwrap()];
    assert_eq!(dragnet(fleet.data.path(), &[&result[..], &nats].concat()).code, 0);
    let (local, remote) = (std::fs::read_to_string(&here).unwrap(), std::fs::read_to_string(&fetched).unwrap());
    assert_eq!(remote, local, "the worker's export is the one the command line writes");
    assert_eq!(exported["bytes"].as_u64(), Some(local.len() as u64));
    // The verified-offline server is out of the export: two of the three addresses are left.
    assert_eq!(local.matches("rpz-ip").count(), 2, "{local}");
    // What a worker would refuse is refused before it is queued.
    let stix = dragnet(fleet.data.path(), &[&["fleet", "export", "--format", "stix"][..], &nats].concat());
    assert_eq!(stix.code, 1);
    assert!(stix.stderr.contains("--format stix: expected plain"), "{}", stix.stderr);
    let rule = ["fleet", "probe", "--connect-to", "45.50.0.0=127.0.0.1"];
    let bad_rule = dragnet(fleet.data.path(), &[&rule[..], &nats].concat());
    assert_eq!(bad_rule.code, 1, "{}", bad_rule.stderr);
    assert_eq!(fleet.status()["queued"], 0);
    let unknown =
        dragnet(fleet.data.path(), &[&["fleet", "result", "00000000-0000-4000-8000-000000000000"][..], &nats].concat());
    assert_eq!(unknown.code, 1);
    assert!(unknown.stderr.contains("has left no result"), "{}", unknown.stderr);
    // The worker signed a tree head over everything logged, its round's move included.
    let verified = ok(&["--json", "audit", "verify"]).json();
    assert_eq!(verified["problems"], serde_json::json!([]), "{verified}");
    assert_eq!(verified["newest_head"]["size"], verified["entries"], "{verified}");
}

#[test]
fn a_full_queue_refuses_submissions_until_workers_catch_up() {
    let Some(fleet) = Fleet::new("full") else { return };
    let dir = tempfile::tempdir().unwrap();
    let files: Vec<PathBuf> = (0..3).map(|i| addresses(dir.path(), &format!("f{i}.txt"), 40 + i, 10)).collect();
    let bound = ["--max-queued", "2", "--category", "spam"];
    for f in &files[..2] {
        assert_eq!(fleet.submit("partner", &[f], &bound).code, 0);
    }
    let refused = fleet.submit("partner", &[&files[2]], &bound);
    assert_eq!(refused.code, 75, "{}{}", refused.stdout, refused.stderr);
    assert!(refused.stderr.contains("queue is full (2 jobs waiting"), "{}", refused.stderr);
    assert_eq!(finished(fleet.worker(&["--idle-exit", "2s"])).len(), 2);
    assert_eq!(fleet.submit("partner", &[&files[2]], &bound).code, 0, "room again once the workers caught up");
}

#[test]
fn the_api_queues_submissions_for_the_fleet_and_answers_429_when_it_is_full() {
    let Some(fleet) = Fleet::new("api") else { return };
    assert_eq!(fleet.run(&["org", "add", "isp-1", "--kind", "partner"]).code, 0);
    let token =
        |role: &str| fleet.run(&["token", "create", "--org", "isp-1", "--role", role]).stdout.trim().to_string();
    let (submitter, reader) = (token("submitter"), token("reader"));
    let server = common::Server::start(
        fleet.data.path(),
        &["--store", &fleet.store],
        &["--nats", &fleet.nats, "--queue", &fleet.queue, "--max-queued", "1"],
    );
    let post = |token: &str, body: &[u8]| {
        server.request("POST", "/api/v1/submissions?source=isp-feed&category=spam", Some(token), Some(body))
    };
    // A reader may not submit: refused before anything is queued.
    assert_eq!(post(&reader, b"45.70.1.9\n").status, 403);
    let queued = post(&submitter, b"45.70.1.1\n45.70.1.2\n");
    assert_eq!(queued.status, 202, "{}", queued.body);
    assert_eq!(queued.json()["size"], 20, "{}", queued.body);
    let full = post(&submitter, b"45.70.1.3\n");
    assert_eq!((full.status, full.header("retry-after")), (429, Some("5")), "{}", full.body);
    assert_eq!(full.json()["code"], "queue_full", "{}", full.body);

    let worked = finished(fleet.worker(&["--idle-exit", "2s"]));
    assert_eq!(worked.len(), 1, "{worked:?}");
    assert_eq!(worked[0]["report"]["accepted"], 2, "{worked:?}");
    // The partner sees what it sent, through the server, once the workers wrote it.
    let started = Instant::now();
    while server.get("/api/v1/lookup/45.70.1.1", Some(&reader)).json()["found"] != true {
        assert!(started.elapsed() < Duration::from_secs(10), "the worker's write never reached the server");
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(post(&submitter, b"45.70.1.3\n").status, 202, "room again once the workers caught up");
    server.terminate();
}
