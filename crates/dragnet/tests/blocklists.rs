//! Blocklists end to end: what is exported (never a warninglisted,
//! expired, verified-offline, rejected or not-permitted value), the same
//! bytes for the same state, and each firewall and resolver format loaded
//! by its real consumer: `named-checkzone` for the RPZ, `nft -c -f` and
//! `ipset restore` in a network namespace this test makes, dnsmasq for the
//! hosts file, adblockparser for the adblock list, Suricata for the IP
//! reputation files and routeros-diff for the RouterOS script.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};

use common::{Server, dragnet, take_offline};

fn run(d: &Path, args: &[&str]) -> common::Run {
    let r = dragnet(d, args);
    assert_eq!(r.code, 0, "dragnet {args:?}: {}{}", r.stdout, r.stderr);
    r
}

const FEED: &str = "value,category,last_seen
45.10.1.7,botnet-c2,
45.10.1.6,phishing,
45.20.7.0/24,spam,
2a01:4f8:10::1,scanning,
c2-panel.top,botnet-c2,
stale-panel.top,botnet-c2,2015-01-01
gone-panel.top,botnet-c2,
cdn-edge.net,botnet-c2,
false-alarm.top,phishing,
http://c2-panel.top/gate.php?id=1,botnet-c2,
";

/// A store with one value of each kind that must or must not be listed.
fn world(d: &Path) {
    std::fs::create_dir_all(d).unwrap();
    let list = d.join("cdn.json");
    std::fs::write(
        &list,
        r#"{"name": "CDN edges", "version": 1, "description": "test", "type": "hostname", "list": ["cdn-edge.net"]}"#,
    )
    .unwrap();
    run(d, &["warninglist", "import", list.to_str().unwrap()]);
    let feed = d.join("feed.csv");
    std::fs::write(&feed, FEED).unwrap();
    let columns = "value=value,category=category,last_seen=last_seen";
    let f = feed.to_str().unwrap();
    run(d, &["ingest", f, "--source", "partner", "--format", "csv", "--columns", columns, "--tlp", "amber"]);
    let secret = d.join("secret.txt");
    std::fs::write(&secret, "45.30.1.1\n").unwrap();
    let s = secret.to_str().unwrap();
    run(d, &["ingest", s, "--source", "secret", "--tlp", "red", "--category", "botnet-c2"]);
    let id = |value: &str| run(d, &["--json", "server", value]).json()["id"].as_str().unwrap().to_string();
    take_offline(d, "gone-panel.top");
    run(d, &["takedown", "set", &id("false-alarm.top"), "--to", "rejected", "--reason", "a parked domain"]);
}

fn export(d: &Path, args: &[&str]) -> String {
    let mut all = vec!["export"];
    all.extend_from_slice(args);
    run(d, &all).stdout
}

#[test]
fn only_what_is_live_and_permitted_is_listed_in_a_stable_order() {
    let folder = tempfile::tempdir().unwrap();
    let d = &folder.path().join("data");
    world(d);
    let plain = export(d, &["--format", "plain"]);
    assert_eq!(
        plain,
        "45.10.1.6\n45.10.1.7\n45.20.7.0/24\n45.30.1.1\n2a01:4f8:10::1\nc2-panel.top\nhttp://c2-panel.top/gate.php?id=1\n"
    );
    assert_eq!(export(d, &["--format", "plain"]), plain, "the same state, the same bytes");
    assert_eq!(
        export(d, &["--format", "plain", "--tlp-max", "amber", "--category", "botnet-c2,phishing"]),
        "45.10.1.6\n45.10.1.7\nc2-panel.top\nhttp://c2-panel.top/gate.php?id=1\n"
    );
    assert_eq!(
        export(d, &["--format", "cidr", "--tlp-max", "amber"]),
        "45.10.1.6/31\n45.20.7.0/24\n2a01:4f8:10::1/128\n"
    );
    assert_eq!(export(d, &["--format", "hosts", "--min-score", "1"]).lines().last(), Some("0.0.0.0 c2-panel.top"));
    let csv = export(d, &["--format", "csv", "--category", "spam"]);
    assert!(csv.starts_with("value,kind,categories,score,tlp,server,last_seen\n45.20.7.0/24,cidr,spam,"), "{csv}");
    let jsonl = export(d, &["--format", "jsonl"]);
    assert_eq!(jsonl.lines().count(), 7);
    // An organisation sees only what was shared with it.
    run(d, &["org", "add", "isp-1", "--kind", "partner"]);
    run(d, &["share", "partner", "--with", "isp-1"]);
    assert_eq!(
        export(d, &["--format", "plain", "--for", "isp-1"]),
        "45.10.1.6\n45.10.1.7\n45.20.7.0/24\n2a01:4f8:10::1\nc2-panel.top\nhttp://c2-panel.top/gate.php?id=1\n",
        "the red source was not shared with isp-1"
    );
    // The same over the API, for the same organisation's token.
    let token = run(d, &["token", "create", "--org", "isp-1", "--role", "reader"]).stdout.trim().to_string();
    let server = Server::start(d, &[], &[]);
    let r = server.get("/api/v1/blocklist?format=plain", Some(&token));
    assert_eq!((r.status, r.header("content-type")), (200, Some("text/plain; charset=utf-8")));
    assert_eq!(r.body, export(d, &["--format", "plain", "--for", "isp-1"]));
    let r = server.get("/api/v1/blocklist?format=cidr&category=spam", Some(&token));
    assert_eq!(r.body, "45.20.7.0/24\n");
    assert_eq!(server.get("/api/v1/blocklist?format=pdf", Some(&token)).status, 400);
    assert_eq!(server.get("/api/v1/blocklist?format=plain", None).status, 401);
    let bad = dragnet(d, &["export", "--format", "rpz", "--zone", "bad zone;"]);
    assert_ne!(bad.code, 0);
    assert!(bad.stderr.contains("--zone"), "{}", bad.stderr);
}

#[test]
fn named_checkzone_loads_the_rpz() {
    let Some(checkzone) = dragnet_testkit::oracle("named-checkzone") else { return };
    let folder = tempfile::tempdir().unwrap();
    let d = &folder.path().join("data");
    world(d);
    let zone = folder.path().join("rpz.zone");
    run(d, &["export", "--format", "rpz", "--zone", "rpz.example.org", "--out", zone.to_str().unwrap()]);
    let text = std::fs::read_to_string(&zone).unwrap();
    assert!(text.contains("\nc2-panel.top CNAME .\n*.c2-panel.top CNAME .\n"), "{text}");
    assert!(text.contains("\n32.7.1.10.45.rpz-ip CNAME .\n"), "{text}");
    assert!(text.contains("\n128.1.zz.10.4f8.2a01.rpz-ip CNAME .\n"), "{text}");
    let out = Command::new(checkzone).args(["-i", "full", "rpz.example.org"]).arg(&zone).output().unwrap();
    let said = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && said.contains("OK"), "{said}\n{text}");
}

/// A network namespace of this test's own, removed when dropped.
struct Namespace(String);

impl Namespace {
    fn new() -> Option<Namespace> {
        let name = format!("dragnet-bl-{}", std::process::id());
        let made = Command::new("ip").args(["netns", "add", &name]).status().ok()?.success();
        made.then_some(Namespace(name))
    }

    fn run(&self, program: &str, args: &[&str], input: &str) -> (bool, String) {
        let mut child = Command::new("ip")
            .args(["netns", "exec", &self.0, program])
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
        let out = child.wait_with_output().unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
        )
    }
}

impl Drop for Namespace {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "delete", &self.0]).status();
    }
}

#[test]
fn nft_and_ipset_load_the_firewall_sets() {
    let (Some(_), Some(_)) = (dragnet_testkit::oracle("nft"), dragnet_testkit::oracle("ipset")) else { return };
    let folder = tempfile::tempdir().unwrap();
    let d = &folder.path().join("data");
    world(d);
    let Some(ns) = Namespace::new() else {
        assert!(std::env::var_os("DRAGNET_SKIP_ORACLES").is_some(), "no network namespace could be made (root?)");
        return;
    };
    let nft = export(d, &["--format", "nftables"]);
    let (ok, said) = ns.run("nft", &["-c", "-f", "-"], &nft);
    assert!(ok, "nft -c: {said}\n{nft}");
    // Loaded twice: the second load replaces the set, as a refresh would.
    for _ in 0..2 {
        let (ok, said) = ns.run("nft", &["-f", "-"], &nft);
        assert!(ok, "nft -f: {said}\n{nft}");
    }
    let (_, listed) = ns.run("nft", &["list", "set", "inet", "dragnet", "dragnet_v4"], "");
    assert!(listed.contains("45.10.1.6/31") && listed.contains("45.20.7.0/24"), "{listed}");

    let ipset = export(d, &["--format", "ipset"]);
    for _ in 0..2 {
        let (ok, said) = ns.run("ipset", &["restore"], &ipset);
        assert!(ok, "ipset restore: {said}\n{ipset}");
    }
    let (_, listed) = ns.run("ipset", &["list", "dragnet-v4"], "");
    assert!(listed.contains("Number of entries: 3"), "{listed}");
    let (_, listed) = ns.run("ipset", &["list", "dragnet-v6"], "");
    assert!(listed.contains("2a01:4f8:10::1"), "{listed}");
}

#[test]
fn the_decision_stream_adds_and_withdraws_as_takedowns_go() {
    let folder = tempfile::tempdir().unwrap();
    let d = &folder.path().join("data");
    world(d);
    run(d, &["org", "add", "isp-1", "--kind", "partner"]);
    run(d, &["share", "partner", "--with", "isp-1"]);
    let token = run(d, &["token", "create", "--org", "isp-1", "--role", "reader"]).stdout.trim().to_string();
    let server = Server::start(d, &[], &[]);
    let values = |list: &serde_json::Value| -> Vec<String> {
        list.as_array().unwrap().iter().map(|d| d["value"].as_str().unwrap().to_string()).collect()
    };
    let first = server.get("/api/v1/decisions/stream?startup=true", Some(&token));
    assert_eq!(first.status, 200, "{}", first.body);
    let first = first.json();
    let mut got = values(&first["new"]);
    got.sort();
    assert_eq!(got, ["2a01:4f8:10::1", "45.10.1.6", "45.10.1.7", "45.20.7.0/24", "c2-panel.top"], "{first}");
    let c2 = first["new"].as_array().unwrap().iter().find(|d| d["value"] == "c2-panel.top").unwrap();
    assert_eq!(
        (c2["type"].as_str(), c2["scope"].as_str(), c2["origin"].as_str()),
        (Some("ban"), Some("Domain"), Some("dragnet"))
    );
    assert_eq!(c2["scenario"], "dragnet/botnet-c2");
    assert!(c2["duration"].as_str().unwrap().ends_with('s'), "{c2}");
    let range = first["new"].as_array().unwrap().iter().find(|d| d["value"] == "45.20.7.0/24").unwrap();
    assert_eq!(range["scope"], "Range");
    assert_eq!(first["deleted"], serde_json::json!([]));
    let cursor = first["cursor"].as_str().unwrap().to_string();

    // Nothing changed: nothing new.
    let same = server.get(&format!("/api/v1/decisions/stream?since={cursor}"), Some(&token)).json();
    assert_eq!((same["new"].clone(), same["deleted"].clone()), (serde_json::json!([]), serde_json::json!([])));

    // The C2 server verified offline: its decisions are withdrawn. A new
    // sighting is added; a RED one is not the partner's to see.
    take_offline(d, "c2-panel.top");
    let more = folder.path().join("more.txt");
    std::fs::write(&more, "45.40.1.1\n").unwrap();
    run(d, &["ingest", more.to_str().unwrap(), "--source", "partner", "--category", "botnet-c2"]);
    std::fs::write(&more, "45.50.1.1\n").unwrap();
    run(d, &["ingest", more.to_str().unwrap(), "--source", "secret", "--category", "botnet-c2"]);
    let next = server.get(&format!("/api/v1/decisions/stream?since={cursor}"), Some(&token)).json();
    assert_eq!(values(&next["new"]), ["45.40.1.1"], "{next}");
    let mut withdrawn = values(&next["deleted"]);
    withdrawn.sort();
    let mut c2_members: Vec<String> = run(d, &["--json", "server", "c2-panel.top"]).json()["domains"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    c2_members.sort();
    assert_eq!(withdrawn, c2_members, "{next}");
    // The operator sees the RED one too.
    let all = run(d, &["decisions", "--since", &cursor]).json();
    let mut added = values(&all["new"]);
    added.sort();
    assert_eq!(added, ["45.40.1.1", "45.50.1.1"]);
    // A cursor the stream never gave, or none at all, is refused.
    assert_eq!(server.get("/api/v1/decisions/stream?since=99999", Some(&token)).status, 400);
    assert_eq!(server.get("/api/v1/decisions/stream", Some(&token)).status, 400);
    assert_eq!(server.get("/api/v1/decisions/stream?startup=true", None).status, 401);
}

/// Python's `ipaddress.collapse_addresses` as the oracle of the smallest
/// exact cover; Python's csv and json readers read the csv and jsonl
/// exports back to the plain list.
#[test]
fn python_agrees_on_the_cidr_cover_and_reads_csv_and_jsonl() {
    let Some(python) = dragnet_testkit::oracle("python3") else { return };
    let folder = tempfile::tempdir().unwrap();
    let d = &folder.path().join("data");
    world(d);
    // More addresses, so the cover has neighbours to join.
    let more = folder.path().join("more.txt");
    let lines: String = (0..64)
        .map(|i| format!("45.60.0.{}\n", i * 2))
        .chain((0..32).map(|i| format!("45.60.0.{}\n", i * 2 + 1)))
        .collect();
    std::fs::write(&more, lines).unwrap();
    run(d, &["ingest", more.to_str().unwrap(), "--source", "partner", "--category", "scanning"]);
    for format in ["plain", "cidr", "csv", "jsonl"] {
        let out = folder.path().join(format);
        run(d, &["export", "--format", format, "--out", out.to_str().unwrap()]);
    }
    let script = r#"
import csv, ipaddress, json, sys
d = sys.argv[1]
plain = [l.strip() for l in open(d + "/plain") if l.strip()]
def network(v):
    try:
        return ipaddress.ip_network(v, strict=False)
    except ValueError:
        return None
nets = [n for n in map(network, plain) if n is not None]
v4 = [str(n) for n in ipaddress.collapse_addresses(n for n in nets if n.version == 4)]
v6 = [str(n) for n in ipaddress.collapse_addresses(n for n in nets if n.version == 6)]
got = [l.strip() for l in open(d + "/cidr") if l.strip()]
assert got == v4 + v6, (got, v4 + v6)
rows = list(csv.DictReader(open(d + "/csv", newline="")))
assert [r["value"] for r in rows] == plain, "csv"
assert [json.loads(l)["value"] for l in open(d + "/jsonl")] == plain, "jsonl"
print("ok", len(got), len(plain))
"#;
    let out = Command::new(python).arg("-c").arg(script).arg(folder.path()).output().unwrap();
    let said = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && said.starts_with("ok"), "{said}");
}

/// dnsmasq (Debian) loads the hosts export as extra hosts: a listed
/// domain answers 0.0.0.0.
#[test]
fn dnsmasq_loads_the_hosts_file() {
    let (Some(dnsmasq), Some(_)) = (dragnet_testkit::oracle("dnsmasq"), dragnet_testkit::oracle("dig")) else { return };
    let folder = tempfile::tempdir().unwrap();
    let d = &folder.path().join("data");
    world(d);
    let hosts = folder.path().join("hosts");
    run(d, &["export", "--format", "hosts", "--out", hosts.to_str().unwrap()]);
    let port = {
        let s = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        s.local_addr().unwrap().port()
    };
    let mut child = Command::new(dnsmasq)
        .args(["--keep-in-foreground", "--no-resolv", "--no-hosts", "--listen-address=127.0.0.1", "--bind-interfaces"])
        .arg(format!("--port={port}"))
        .arg(format!("--addn-hosts={}", hosts.display()))
        .arg("--user=root")
        .arg(format!("--pid-file={}", folder.path().join("dnsmasq.pid").display()))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let ask = |name: &str| {
        let out = Command::new("dig")
            .args(["@127.0.0.1", "-p", &port.to_string(), name, "A", "+short", "+time=1", "+tries=1"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    let answered = (0..50).any(|_| {
        std::thread::sleep(std::time::Duration::from_millis(100));
        ask("c2-panel.top") == "0.0.0.0"
    });
    let _ = child.kill();
    let _ = child.wait();
    assert!(answered, "dnsmasq did not answer c2-panel.top from the hosts export");
}

/// adblockparser (PyPI), which reads Adblock Plus filter syntax as
/// browsers' blockers do, blocks the listed domains, their subdomains and
/// URLs on them, and nothing else.
#[test]
fn adblockparser_blocks_what_the_adblock_list_lists() {
    let Some(python) = dragnet_testkit::oracle("python3") else { return };
    let folder = tempfile::tempdir().unwrap();
    let d = &folder.path().join("data");
    world(d);
    let list = folder.path().join("adblock.txt");
    run(d, &["export", "--format", "adblock", "--out", list.to_str().unwrap()]);
    let script = r#"
import sys
from adblockparser import AdblockRules
lines = open(sys.argv[1]).read().splitlines()
rules = AdblockRules(lines)
blocked = ["http://c2-panel.top/", "https://c2-panel.top/gate.php?id=1", "http://api.c2-panel.top/x"]
passed = ["http://cdn-edge.net/", "http://gone-panel.top/", "http://stale-panel.top/",
          "http://false-alarm.top/", "http://example.org/c2-panel.top", "http://notc2-panel.top/"]
wrong = [u for u in blocked if not rules.should_block(u)] + [u for u in passed if rules.should_block(u)]
assert not wrong, wrong
print("ok", len([l for l in lines if l.startswith("||")]))
"#;
    let out = Command::new(python).arg("-c").arg(script).arg(&list).output().unwrap();
    let said = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && said.starts_with("ok"), "{said}");
}

/// RouterOS itself is not packaged anywhere these tests can reach, so the
/// RouterOS script is read by routeros-diff (PyPI), a parser of RouterOS
/// configuration written for network automation: it must find the two
/// address-list menus, each emptying the list by name and then adding
/// exactly the CIDR export's networks to it.
#[test]
fn routeros_diff_reads_the_mikrotik_script_as_the_cidr_cover() {
    let Some(python) = dragnet_testkit::oracle("python3") else { return };
    let folder = tempfile::tempdir().unwrap();
    let d = &folder.path().join("data");
    world(d);
    for (format, file) in [("mikrotik", "list.rsc"), ("cidr", "cidr.txt")] {
        let out = folder.path().join(file);
        run(d, &["export", "--format", format, "--name", "dragnet-c2", "--out", out.to_str().unwrap()]);
    }
    let script = r#"
import sys
from routeros_diff.parser import RouterOSConfig
d = sys.argv[1]
config = RouterOSConfig.parse(open(d + "/list.rsc").read())
cover = [l.strip() for l in open(d + "/cidr.txt") if l.strip()]
assert config.keys() == ["/ip firewall address-list", "/ipv6 firewall address-list"], config.keys()
added = []
for section in config.sections:
    first, *adds = section.expressions
    assert first.command == "remove", str(first)
    find = {a.key: a.value and str(a.value.value) for a in first.find_expression.args}
    assert first.find_expression.command == "find" and find == {"where": None, "list": "dragnet-c2"}, str(first)
    for add in adds:
        args = {a.key: str(a.value.value) for a in add.args}
        assert add.command == "add" and args.keys() == {"list", "address"}, str(add)
        assert args["list"] == "dragnet-c2", str(add)
        added.append(args["address"])
assert added == cover, (added, cover)
print("ok", len(added))
"#;
    let out = Command::new(python).arg("-c").arg(script).arg(folder.path()).output().unwrap();
    let said = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && said.starts_with("ok"), "{said}");
}

/// Suricata (Debian, bookworm-backports) loads the reputation export with
/// its category file and raises an `iprep` alert on a capture's packet to
/// a listed address, and none on one to an unlisted address.
#[test]
fn suricata_alerts_on_traffic_to_what_the_reputation_list_lists() {
    let (Some(suricata), Some(python)) = (dragnet_testkit::oracle("suricata"), dragnet_testkit::oracle("python3"))
    else {
        return;
    };
    let folder = tempfile::tempdir().unwrap();
    let (d, f) = (&folder.path().join("data"), folder.path());
    world(d);
    run(d, &["export", "--format", "suricata", "--out", f.join("reputation.list").to_str().unwrap()]);
    run(d, &["export", "--format", "suricata-categories", "--out", f.join("categories.txt").to_str().unwrap()]);
    std::fs::write(
        f.join("dragnet.rules"),
        "alert ip any any -> any any (msg:\"dragnet botnet-c2\"; iprep:dst,BotnetC2,>,0; sid:1000001; rev:1;)\n",
    )
    .unwrap();
    let logs = f.join("logs");
    std::fs::create_dir_all(&logs).unwrap();
    std::fs::write(
        f.join("suricata.yaml"),
        format!(
            "%YAML 1.1\n---\nvars:\n  address-groups:\n    HOME_NET: \"[10.0.0.0/8]\"\n    EXTERNAL_NET: \"!$HOME_NET\"\n\
             default-log-dir: {logs}\nreputation-categories-file: {dir}/categories.txt\n\
             default-reputation-path: {dir}\nreputation-files:\n  - reputation.list\n\
             default-rule-path: {dir}\nrule-files:\n  - dragnet.rules\n\
             outputs:\n  - fast:\n      enabled: yes\n      filename: fast.log\n",
            logs = logs.display(),
            dir = f.display()
        ),
    )
    .unwrap();
    // One SYN to a listed C2 address, one to an address nobody listed.
    let capture = f.join("traffic.pcap");
    let script = "import sys\nfrom scapy.all import Ether, IP, TCP, wrpcap\n\
                  wrpcap(sys.argv[1], [Ether()/IP(src='10.0.0.5', dst=d)/TCP(sport=40000, dport=443, flags='S')\n\
                  for d in ('45.10.1.7', '45.99.1.1')])\n";
    let made = Command::new(python).arg("-c").arg(script).arg(&capture).output().unwrap();
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    let config = f.join("suricata.yaml");
    let checked = Command::new(&suricata).arg("-T").arg("-c").arg(&config).output().unwrap();
    let said = String::from_utf8_lossy(&checked.stdout).into_owned() + &String::from_utf8_lossy(&checked.stderr);
    assert!(checked.status.success(), "suricata -T refused the configuration: {said}");
    let out = Command::new(&suricata)
        .arg("-c")
        .arg(&config)
        .arg("-r")
        .arg(&capture)
        .args(["-k", "none", "-l"])
        .arg(&logs)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{said}");
    let alerts = std::fs::read_to_string(logs.join("fast.log")).unwrap_or_default();
    assert!(alerts.contains("dragnet botnet-c2") && alerts.contains("45.10.1.7:443"), "{alerts}\n{said}");
    assert!(!alerts.contains("45.99.1.1"), "{alerts}");
}
