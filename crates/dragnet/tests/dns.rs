//! The DNSBL end to end: `dragnet serve --dns` answering `dig` (BIND's
//! client, from Debian) over UDP and TCP, a change in the store seen in
//! the answers within a second, and hostile packets answered or dropped
//! while the server keeps answering.

mod common;

use std::net::UdpSocket;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::{Server, dragnet, take_offline};

const ZONE: &str = "dnsbl.test";

fn run(d: &Path, args: &[&str]) -> common::Run {
    let r = dragnet(d, args);
    assert_eq!(r.code, 0, "dragnet {args:?}: {}{}", r.stdout, r.stderr);
    r
}

fn free_udp_port() -> u16 {
    // The TCP side binds the same port: find one free for both.
    loop {
        let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = udp.local_addr().unwrap().port();
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// `dig` at the server: its short answer, and its status line.
fn dig(port: u16, name: &str, rtype: &str, tcp: bool) -> (String, String) {
    let mut args = vec!["@127.0.0.1".to_string(), "-p".into(), port.to_string(), name.into(), rtype.into()];
    args.extend(["+time=2".into(), "+tries=1".into()]);
    if tcp {
        args.push("+tcp".into());
    }
    let full = Command::new("dig").args(&args).output().unwrap();
    let text = String::from_utf8_lossy(&full.stdout).into_owned();
    let status = text.lines().find(|l| l.contains("status:")).unwrap_or_default().to_string();
    args.push("+short".into());
    let short = Command::new("dig").args(&args).output().unwrap();
    (String::from_utf8_lossy(&short.stdout).trim().to_string(), status)
}

fn reversed(ip: &str) -> String {
    let mut octets: Vec<&str> = ip.split('.').collect();
    octets.reverse();
    format!("{}.{ZONE}", octets.join("."))
}

/// Waits (up to 3 s) until `check` holds; how long it took.
fn within(check: impl Fn() -> bool) -> Option<Duration> {
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(3) {
        if check() {
            return Some(started.elapsed());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    None
}

#[test]
fn dig_reads_the_dnsbl_and_changes_show_within_a_second() {
    if dragnet_testkit::oracle("dig").is_none() {
        return;
    }
    let folder = tempfile::tempdir().unwrap();
    let d = &folder.path().join("data");
    std::fs::create_dir_all(d).unwrap();
    let feed = folder.path().join("feed.txt");
    std::fs::write(&feed, "45.10.1.7\n").unwrap();
    run(d, &["ingest", feed.to_str().unwrap(), "--source", "open", "--tlp", "clear", "--category", "botnet-c2"]);
    std::fs::write(&feed, "45.20.0.0/16\n").unwrap();
    run(d, &["ingest", feed.to_str().unwrap(), "--source", "open", "--tlp", "clear", "--category", "spam"]);
    std::fs::write(&feed, "45.30.1.1\n").unwrap();
    run(d, &["ingest", feed.to_str().unwrap(), "--source", "private", "--tlp", "amber", "--category", "botnet-c2"]);
    let port = free_udp_port();
    let address = format!("127.0.0.1:{port}");
    let _server = Server::start(d, &[], &["--dns", &address, "--dnsbl-zone", ZONE, "--dns-ns", "ns1.test"]);

    assert_eq!(dig(port, &reversed("45.10.1.7"), "A", false).0, "127.0.0.6", "botnet-c2");
    assert_eq!(dig(port, &reversed("45.20.9.9"), "A", false).0, "127.0.0.9", "spam, by its network");
    assert_eq!(dig(port, &reversed("45.10.1.7"), "A", true).0, "127.0.0.6", "over TCP");
    let (txt, _) = dig(port, &reversed("45.10.1.7"), "TXT", false);
    assert!(txt.contains("listed by Dragnet: botnet-c2") && txt.contains("/api/v1/public/lookup/45.10.1.7"), "{txt}");
    let (none, status) = dig(port, &reversed("45.10.1.8"), "A", false);
    assert!(none.is_empty() && status.contains("NXDOMAIN"), "{status}");
    let (_, status) = dig(port, &reversed("45.30.1.1"), "A", false);
    assert!(status.contains("NXDOMAIN"), "an AMBER listing is not the public's: {status}");
    assert_eq!(dig(port, &reversed("127.0.0.2"), "A", false).0, "127.0.0.2", "the RFC 5782 test point");
    let (soa, _) = dig(port, ZONE, "SOA", false);
    assert!(soa.starts_with("ns1.test. hostmaster.dnsbl.test."), "{soa}");
    let (_, status) = dig(port, "example.com", "A", false);
    assert!(status.contains("REFUSED"), "{status}");

    // Hostile packets: answered FORMERR or dropped, and the server goes on.
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket.set_read_timeout(Some(Duration::from_millis(300))).unwrap();
    for packet in [&b""[..], &[0xff; 3], &[0x12, 0x34, 1, 0, 0, 2, 0, 0, 0, 0, 0, 0, 3, b'a'], &[0x41; 600]] {
        socket.send_to(packet, &address).unwrap();
    }
    assert_eq!(dig(port, &reversed("45.10.1.7"), "A", false).0, "127.0.0.6", "still answering");

    // A new listing, and a takedown verified offline, show within a second.
    std::fs::write(&feed, "45.40.1.1\n").unwrap();
    run(d, &["ingest", feed.to_str().unwrap(), "--source", "open", "--tlp", "clear", "--category", "phishing"]);
    let seen = within(|| dig(port, &reversed("45.40.1.1"), "A", false).0 == "127.0.0.2");
    assert!(seen.is_some_and(|t| t < Duration::from_millis(1500)), "a new listing took {seen:?}");
    take_offline(d, "45.10.1.7");
    let gone = within(|| dig(port, &reversed("45.10.1.7"), "A", false).1.contains("NXDOMAIN"));
    assert!(gone.is_some_and(|t| t < Duration::from_millis(1500)), "verified offline took {gone:?}");
    eprintln!("store change to changed answer: new listing {seen:?}, verified offline {gone:?}");
}

/// Unbound as a resolver on loopback, with Dragnet's response policy zone
/// loaded by zone transfer: a listed name is refused (NXDOMAIN), an
/// unlisted one resolves, and a new listing reaches it by NOTIFY.
#[test]
fn unbound_loads_the_rpz_by_transfer_and_follows_notify() {
    let (Some(unbound), Some(_)) = (dragnet_testkit::oracle("unbound"), dragnet_testkit::oracle("dig")) else {
        return;
    };
    let folder = tempfile::tempdir().unwrap();
    let d = &folder.path().join("data");
    std::fs::create_dir_all(d).unwrap();
    let feed = folder.path().join("feed.txt");
    std::fs::write(&feed, "c2-panel.lab\n45.10.1.7\n").unwrap();
    run(d, &["ingest", feed.to_str().unwrap(), "--source", "open", "--tlp", "clear", "--category", "botnet-c2"]);
    let (dns_port, resolver_port) = (free_udp_port(), free_udp_port());
    let resolver = format!("127.0.0.1:{resolver_port}");
    let dns = format!("127.0.0.1:{dns_port}");
    let _server = Server::start(d, &[], &["--dns", &dns, "--rpz-zone", "rpz.test", "--notify", &resolver]);
    // Dragnet's zone answers for itself first.
    let (soa, _) = dig(dns_port, "rpz.test", "SOA", false);
    assert!(soa.starts_with("localhost. hostmaster.rpz.test."), "{soa}");
    let axfr = Command::new("dig")
        .args(["@127.0.0.1", "-p", &dns_port.to_string(), "rpz.test", "AXFR", "+time=2", "+tries=1"])
        .output()
        .unwrap();
    let axfr = String::from_utf8_lossy(&axfr.stdout).into_owned();
    assert!(axfr.contains("c2-panel.lab.rpz.test.") && axfr.contains("*.c2-panel.lab.rpz.test."), "{axfr}");
    assert!(axfr.contains("32.7.1.10.45.rpz-ip.rpz.test."), "{axfr}");

    // The names the resolver resolves, as an upstream zone it holds itself
    // (policy zones apply to resolved answers, not to local data).
    let lab = folder.path().join("lab.zone");
    std::fs::write(
        &lab,
        "$ORIGIN lab.\n$TTL 300\n@ IN SOA ns.lab. hostmaster.lab. 1 3600 600 604800 60\n@ IN NS ns.lab.\n\
         ns IN A 127.0.0.1\nok-site IN A 10.0.0.1\nc2-panel IN A 10.0.0.2\nnew-panel IN A 10.0.0.3\n",
    )
    .unwrap();
    let conf = folder.path().join("unbound.conf");
    std::fs::write(
        &conf,
        format!(
            "server:
    interface: 127.0.0.1
    port: {resolver_port}
    do-daemonize: no
    use-syslog: no
    logfile: \"\"
    username: \"\"
    chroot: \"\"
    directory: \"{dir}\"
    pidfile: \"\"
    do-ip6: no
    access-control: 127.0.0.0/8 allow
    module-config: \"respip iterator\"
    verbosity: 4
auth-zone:
    name: \"lab.\"
    zonefile: \"{lab}\"
    for-downstream: no
    for-upstream: yes
rpz:
    name: \"rpz.test.\"
    primary: 127.0.0.1@{dns_port}
    allow-notify: 127.0.0.1
",
            dir = folder.path().display(),
            lab = lab.display()
        ),
    )
    .unwrap();
    let mut resolver_process = Command::new(unbound)
        .arg("-d")
        .arg("-c")
        .arg(&conf)
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(folder.path().join("unbound.log")).unwrap())
        .spawn()
        .unwrap();
    struct Kill<'a>(&'a mut std::process::Child);
    impl Drop for Kill<'_> {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let _guard = Kill(&mut resolver_process);
    let log = || std::fs::read_to_string(folder.path().join("unbound.log")).unwrap_or_default();
    let refused = |name: &str| dig(resolver_port, name, "A", false).1.contains("NXDOMAIN");
    let loaded = (0..100).any(|_| {
        std::thread::sleep(Duration::from_millis(100));
        refused("c2-panel.lab")
    });
    assert!(loaded, "unbound never applied the policy zone:\n{}", log());
    assert!(refused("www.c2-panel.lab"), "subdomains too");
    assert_eq!(dig(resolver_port, "ok-site.lab", "A", false).0, "10.0.0.1", "an unlisted name resolves");
    assert_eq!(dig(resolver_port, "new-panel.lab", "A", false).0, "10.0.0.3", "not listed yet");

    std::fs::write(&feed, "new-panel.lab\n").unwrap();
    run(d, &["ingest", feed.to_str().unwrap(), "--source", "open", "--tlp", "clear", "--category", "phishing"]);
    let started = Instant::now();
    let followed = (0..100).any(|_| {
        std::thread::sleep(Duration::from_millis(100));
        refused("new-panel.lab")
    });
    assert!(followed, "the NOTIFY did not bring the new listing:\n{}", log());
    eprintln!("a new listing reached unbound by NOTIFY and transfer in {:?}", started.elapsed());
    // A takedown verified offline leaves the zone (an incremental transfer
    // that deletes): the name resolves again.
    take_offline(d, "c2-panel.lab");
    let lifted = (0..100).any(|_| {
        std::thread::sleep(Duration::from_millis(100));
        dig(resolver_port, "c2-panel.lab", "A", false).0 == "10.0.0.2"
    });
    assert!(lifted, "the verified-offline server is still refused:\n{}", log());
    assert!(refused("new-panel.lab"), "the rest of the zone stays");
    // The first load was the whole zone; the two changes came incrementally.
    let log = log();
    assert!(log.contains("last AXFR packet"), "{log}");
    assert!(log.matches("last IXFR packet").count() >= 2, "{log}");
}
