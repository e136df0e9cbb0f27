//! A partner sensor's day of Zeek logs: infected hosts beaconing to C2
//! servers, users visiting some malicious sites, ordinary traffic; conn,
//! ssl (SNI, certificate, JA3S) and dns (answers) logs that agree with each
//! other by uid.

use std::collections::BTreeSet;
use std::net::Ipv4Addr;

use crate::rng::Rng;
use crate::world::{PlantedBeacon, Scenario, Server, TOP_SITES, public_block};

/// The three logs, in Zeek's TSV form.
pub struct Logs {
    pub conn: String,
    pub ssl: String,
    pub dns: String,
}

const RESOLVER: &str = "10.20.0.53";

/// Rows of each log, kept with their time so each log is written in order.
#[derive(Default)]
struct Rows {
    conn: Vec<(i64, String)>,
    ssl: Vec<(i64, String)>,
    dns: Vec<(i64, String)>,
    uid: u64,
}

impl Rows {
    fn conn(&mut self, t_ms: i64, src: &str, dst: &str, dur: f64, ob: u64, rb: u64) -> String {
        self.uid += 1;
        let uid = format!("C{:017x}", self.uid);
        let line = format!(
            "{}\t{uid}\t{src}\t{}\t{dst}\t443\ttcp\tssl\t{dur:.6}\t{}\t{}\tSF\tT\tF\t0\tShADadFf\t6\t{ob}\t5\t{rb}\t-",
            ts(t_ms),
            40_000 + self.uid % 20_000,
            ob.saturating_sub(320),
            rb.saturating_sub(280)
        );
        self.conn.push((t_ms, line));
        uid
    }

    fn ssl(&mut self, t_ms: i64, uid: &str, src: &str, dst: &str, server: &Server) {
        let (name, cert, ja3s) = (server.domains.first().map(String::as_str), &server.cert_sha256, &server.ja3s);
        let line = format!(
            "{}\t{uid}\t{src}\t{}\t{dst}\t443\tTLSv12\tTLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384\t{}\tT\t{cert}\t{ja3s}",
            ts(t_ms + 40),
            40_000 + self.uid % 20_000,
            name.unwrap_or("-"),
        );
        self.ssl.push((t_ms + 40, line));
    }

    fn dns(&mut self, t_ms: i64, src: &str, query: &str, answers: &[String]) {
        self.uid += 1;
        let line = format!(
            "{}\tD{:017x}\t{src}\t{}\t{RESOLVER}\t53\tudp\t{query}\t1\tA\t0\tNOERROR\t{}\t{}",
            ts(t_ms - 30),
            self.uid,
            50_000 + self.uid % 10_000,
            answers.join(","),
            answers.iter().map(|_| "300").collect::<Vec<_>>().join(",")
        );
        self.dns.push((t_ms - 30, line));
    }
}

fn ts(t_ms: i64) -> String {
    format!("{}.{:03}000", t_ms / 1000, t_ms % 1000)
}

fn write(header: &str, mut rows: Vec<(i64, String)>) -> String {
    rows.sort();
    let mut out = String::from("#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n");
    out.push_str(header);
    for (_, line) in rows {
        out.push_str(&line);
        out.push('\n');
    }
    out
}

/// A session with a server: DNS lookup of its name (when it has one), the
/// connection, and the TLS handshake showing its certificate.
fn session(rows: &mut Rows, t_ms: i64, src: &str, server: &Server, ip: &str, bytes: (u64, u64), lookup: bool) {
    let name = server.domains.first().map(String::as_str);
    if let (Some(name), true) = (name, lookup) {
        rows.dns(t_ms, src, name, &server.ips);
    }
    let uid = rows.conn(t_ms, src, ip, 0.2, bytes.0, bytes.1);
    rows.ssl(t_ms, &uid, src, ip, server);
}

pub fn logs(s: &Scenario, servers: &[Server], rng: &mut Rng, blocks: &mut BTreeSet<u32>) -> (Logs, Vec<PlantedBeacon>) {
    let mut rows = Rows::default();
    let day_ms = 86_400_000;
    let c2: Vec<&Server> = servers.iter().filter(|s| s.category == "botnet-c2").collect();
    let mut planted = Vec::new();
    for b in 0..s.beacons.min(c2.len()) {
        let server = c2[(rng.below(c2.len() as u64)) as usize];
        let dst = server.ips[0].clone();
        let src = format!("10.20.5.{}", 10 + b);
        let interval = *rng.pick(&[60i64, 300, 600, 900, 1800, 3600]);
        let bytes = 400 + rng.below(600);
        let mut t = s.start * 1000 + rng.below(interval as u64 * 1000) as i64;
        let mut count = 0;
        while t < s.start * 1000 + day_ms {
            // The implant resolves its C2 name about once an hour (the TTL).
            let lookup = count % (3600 / interval).max(1) as usize == 0;
            session(&mut rows, t, &src, server, &dst, (bytes + rng.below(8), 900 + rng.below(30)), lookup);
            count += 1;
            // Jitter of ±2 % around the interval, as real implants do.
            let jitter = interval * 20 - rng.below(interval as u64 * 40) as i64;
            t += interval * 1000 + jitter;
        }
        planted.push(PlantedBeacon {
            src,
            dst,
            server: server.id.clone(),
            interval_seconds: interval,
            connections: count,
        });
    }
    // Users click through to some malicious sites once or twice; each visit
    // reveals the server's name, addresses and certificate.
    let visited = (servers.len() / 40).max(1);
    for _ in 0..visited {
        let server = &servers[rng.below(servers.len() as u64) as usize];
        let src = format!("10.20.{}.{}", 1 + rng.below(2), 1 + rng.below(250));
        for _ in 0..1 + rng.below(2) {
            let ip = rng.pick(&server.ips).clone();
            let t = s.start * 1000 + rng.below(day_ms as u64) as i64;
            session(&mut rows, t, &src, server, &ip, (600 + rng.below(2000), 5000 + rng.below(90_000)), true);
        }
    }
    let benign: Vec<String> = (0..500).map(|_| Ipv4Addr::from(public_block(rng, blocks) + 80).to_string()).collect();
    for h in 0..s.background_hosts {
        let src = format!("10.20.{}.{}", 1 + h / 250, 1 + h % 250);
        for _ in 0..100 {
            let t = s.start * 1000 + rng.below(day_ms as u64) as i64;
            let dst = rng.pick(&benign).clone();
            let dur = rng.below(30_000) as f64 / 1000.0;
            rows.conn(t, &src, &dst, dur, 200 + rng.below(20_000), 500 + rng.below(2_000_000));
        }
        // Top sites answered from CDN edges (which warninglists cover).
        let t = s.start * 1000 + rng.below(day_ms as u64) as i64;
        let site = *rng.pick(&TOP_SITES);
        rows.dns(t, &src, site, &["104.16.85.20".to_string(), "151.101.1.69".to_string()]);
    }
    let logs = Logs {
        conn: write(
            "#path\tconn\n#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tduration\torig_bytes\tresp_bytes\tconn_state\tlocal_orig\tlocal_resp\tmissed_bytes\thistory\torig_pkts\torig_ip_bytes\tresp_pkts\tresp_ip_bytes\ttunnel_parents\n\
             #types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\tinterval\tcount\tcount\tstring\tbool\tbool\tcount\tstring\tcount\tcount\tcount\tcount\tset[string]\n",
            rows.conn,
        ),
        ssl: write(
            "#path\tssl\n#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tversion\tcipher\tserver_name\testablished\tcert_chain_fps\tja3s\n\
             #types\ttime\tstring\taddr\tport\taddr\tport\tstring\tstring\tstring\tbool\tvector[string]\tstring\n",
            rows.ssl,
        ),
        dns: write(
            "#path\tdns\n#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tquery\tqclass\tqtype_name\trcode\trcode_name\tanswers\tTTLs\n\
             #types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\tcount\tstring\tcount\tstring\tvector[string]\tvector[interval]\n",
            rows.dns,
        ),
    };
    (logs, planted)
}
