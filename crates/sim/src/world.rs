//! The operation itself: servers, partners' reports, sensor traffic, truth.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::net::Ipv4Addr;

use serde::Serialize;
use serde_json::json;

use crate::rng::Rng;

/// ISO 3166 codes the servers are spread over (95, as in the reference operation).
pub const COUNTRIES: [&str; 95] = [
    "US", "DE", "NL", "FR", "GB", "RU", "CN", "UA", "PL", "RO", "BG", "CZ", "SE", "FI", "NO", "DK", "IE", "ES", "PT",
    "IT", "GR", "TR", "IL", "AE", "SA", "IR", "IN", "PK", "BD", "VN", "TH", "MY", "SG", "ID", "PH", "HK", "TW", "KR",
    "JP", "AU", "NZ", "CA", "MX", "BR", "AR", "CL", "CO", "PE", "VE", "ZA", "NG", "KE", "EG", "MA", "DZ", "TN", "GH",
    "CH", "AT", "BE", "LU", "HU", "SK", "SI", "HR", "RS", "BA", "MD", "BY", "LT", "LV", "EE", "KZ", "UZ", "GE", "AM",
    "AZ", "CY", "MT", "IS", "PA", "CR", "EC", "UY", "PY", "BO", "DO", "JM", "SC", "BZ", "VG", "KY", "HN", "GT", "SV",
];

const CATEGORIES: [(&str, u64); 6] = [
    ("botnet-c2", 40),
    ("phishing", 20),
    ("malware-distribution", 15),
    ("credential-theft", 10),
    ("banking-malware", 10),
    ("ransomware", 5),
];

const WORDS: [&str; 24] = [
    "secure", "login", "update", "cdn", "mail", "portal", "account", "verify", "cloud", "files", "bank", "pay", "auth",
    "service", "online", "support", "office", "docs", "billing", "track", "delivery", "wallet", "sync", "panel",
];

const TLDS: [&str; 10] = ["com", "net", "org", "info", "xyz", "top", "ru", "biz", "online", "site"];

/// Public resolvers, CDN edges, sinkholes and top sites that partners
/// wrongly report; every one must be caught before routing or export.
const RESOLVERS: [&str; 6] = ["8.8.8.8", "8.8.4.4", "1.1.1.1", "9.9.9.9", "208.67.222.222", "149.112.112.112"];
pub(crate) const TOP_SITES: [&str; 6] =
    ["google.com", "microsoft.com", "github.com", "wikipedia.org", "amazon.com", "apple.com"];

/// What to generate.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    pub seed: u64,
    /// Malicious IP addresses in all (spread over servers of 1–4 addresses).
    pub ips: usize,
    pub countries: Vec<String>,
    /// Infected hosts in the sensor's network, each beaconing to one C2 server.
    pub beacons: usize,
    /// Ordinary hosts in the sensor's network.
    pub background_hosts: usize,
    /// Start of the sensor's day of traffic (Unix seconds).
    pub start: i64,
}

impl Default for Scenario {
    fn default() -> Self {
        Scenario {
            seed: 1,
            ips: 30_000,
            countries: COUNTRIES.iter().map(|c| c.to_string()).collect(),
            beacons: 20,
            background_hosts: 200,
            start: 1_717_200_000,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Server {
    pub id: String,
    pub ips: Vec<String>,
    pub domains: Vec<String>,
    pub country: String,
    pub asn: u32,
    pub category: String,
    pub cert_sha256: String,
    /// The TLS stack's fingerprints, shared by every server of one operator.
    pub jarm: String,
    pub ja3s: String,
    /// The infrastructure cluster (operator) the server belongs to.
    pub cluster: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlantedBeacon {
    pub src: String,
    pub dst: String,
    pub server: String,
    pub interval_seconds: i64,
    pub connections: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FalsePositive {
    pub value: String,
    pub kind: String,
    pub reported_by: String,
}

/// What the generated operation really holds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Truth {
    pub seed: u64,
    /// The end of the sensor's day: the time the operation is assessed at.
    pub as_of: String,
    pub servers: Vec<Server>,
    pub beacons: Vec<PlantedBeacon>,
    pub false_positives: Vec<FalsePositive>,
    /// Partner name → the file it delivered.
    pub partners: Vec<(String, String)>,
    pub sensor_internal_network: String,
    /// How providers and police answer the takedown of each server.
    pub responses: Vec<crate::response::Response>,
    pub case_actions: Vec<crate::response::CaseAction>,
}

fn special(ip: u32) -> bool {
    let [a, b, c, _] = ip.to_be_bytes();
    matches!(a, 0 | 10 | 127 | 224..=255)
        || (a == 100 && (64..128).contains(&b))
        || (a == 169 && b == 254)
        || (a == 172 && (16..32).contains(&b))
        || (a == 192 && b == 168)
        || (a == 192 && b == 0 && (c == 0 || c == 2))
        || (a == 198 && (b == 18 || b == 19))
        || (a == 198 && b == 51 && c == 100)
        || (a == 203 && b == 0 && c == 113)
        || (a == 104 && (16..28).contains(&b))
        || (a == 151 && b == 101)
        || (a == 8 && b == 8)
        || (a == 1 && b == 1)
        || (a == 87 && b == 106)
}

/// A public /24 nobody else in this world uses.
pub(crate) fn public_block(rng: &mut Rng, used: &mut BTreeSet<u32>) -> u32 {
    loop {
        let block = (rng.next_u64() as u32) & 0xffff_ff00;
        if !special(block) && used.insert(block) {
            return block;
        }
    }
}

fn domain(rng: &mut Rng, used: &mut BTreeSet<String>) -> String {
    loop {
        let d = format!("{}-{}{}.{}", rng.pick(&WORDS), rng.pick(&WORDS), rng.below(1000), rng.pick(&TLDS));
        if used.insert(d.clone()) {
            return d;
        }
    }
}

fn servers(s: &Scenario, rng: &mut Rng, blocks: &mut BTreeSet<u32>) -> Vec<Server> {
    let mut out = Vec::new();
    let mut domains = BTreeSet::new();
    let mut left = s.ips;
    while left > 0 {
        let n = (1 + rng.below(4) as usize).min(left);
        let block = public_block(rng, blocks);
        let ips = (0..n).map(|i| Ipv4Addr::from(block + 10 + i as u32 * 7).to_string()).collect();
        let ndomains = rng.below(3) as usize;
        let roll = rng.below(100);
        let mut acc = 0;
        let category = CATEGORIES.iter().find(|(_, w)| {
            acc += w;
            roll < acc
        });
        out.push(Server {
            id: format!("srv-{:05}", out.len() + 1),
            ips,
            domains: (0..ndomains).map(|_| domain(rng, &mut domains)).collect(),
            country: rng.pick(&s.countries).clone(),
            asn: 64_512 + rng.below(1_000) as u32,
            category: category.map_or("other", |c| c.0).to_string(),
            cert_sha256: rng.hex64(),
            jarm: String::new(),
            ja3s: String::new(),
            cluster: String::new(),
        });
        left -= n;
    }
    // Operators run 1–6 servers each, all set up with one TLS stack.
    let mut i = 0;
    let mut operator = 0;
    while i < out.len() {
        operator += 1;
        let size = (1 + rng.below(6) as usize).min(out.len() - i);
        let jarm = rng.hex64()[..62].to_string();
        let ja3s = rng.hex64()[..32].to_string();
        for srv in &mut out[i..i + size] {
            srv.cluster = format!("op-{operator:05}");
            srv.jarm = jarm.clone();
            srv.ja3s = ja3s.clone();
        }
        i += size;
    }
    out
}

/// Whether `partner` reports `server`: each partner sees its own share, so
/// reports overlap without being copies of each other.
fn reports(partner: u64, share: u64, server: &Server, seed: u64) -> bool {
    let mut r = Rng::new(
        seed ^ partner.wrapping_mul(0x1000_0000_01b3) ^ server.id.bytes().fold(0, |h, b| h * 31 + u64::from(b)),
    );
    r.below(100) < share
}

fn stix_bundle(s: &Scenario, servers: &[Server], fps: &mut Vec<FalsePositive>) -> String {
    let ts = "2024-05-20T08:00:00.000Z";
    let mut objects = Vec::new();
    let mut n = 0;
    let mut indicator = |pattern: String, label: &str, objects: &mut Vec<serde_json::Value>| {
        n += 1;
        objects.push(json!({
            "type": "indicator", "spec_version": "2.1", "id": format!("indicator--00000000-0000-4000-8000-{n:012x}"),
            "created": ts, "modified": ts, "valid_from": ts, "pattern": pattern, "pattern_type": "stix",
            "indicator_types": ["malicious-activity"], "labels": [label], "confidence": 80,
            "object_marking_refs": ["marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421"],
        }));
    };
    let mut r = Rng::new(s.seed ^ 0xa0a0);
    let mut sco = 0;
    for srv in servers.iter().filter(|srv| reports(1, 50, srv, s.seed)) {
        for ip in &srv.ips {
            indicator(format!("[ipv4-addr:value = '{ip}']"), &srv.category, &mut objects);
        }
        for d in &srv.domains {
            indicator(format!("[domain-name:value = '{d}']"), &srv.category, &mut objects);
        }
        // For some names they also share the resolutions their passive DNS saw.
        if let Some(d) = srv.domains.first().filter(|_| r.chance(0.6)) {
            let mut refs = Vec::new();
            for ip in &srv.ips {
                sco += 1;
                let id = format!("ipv4-addr--00000000-0000-4000-9000-{sco:012x}");
                objects.push(json!({"type": "ipv4-addr", "spec_version": "2.1", "id": id, "value": ip}));
                refs.push(id);
            }
            sco += 1;
            objects.push(json!({
                "type": "domain-name", "spec_version": "2.1", "id": format!("domain-name--00000000-0000-4000-9000-{sco:012x}"),
                "value": d, "resolves_to_refs": refs,
            }));
        }
    }
    for edge in ["104.16.85.20", "104.18.32.7", "151.101.1.69"] {
        indicator(format!("[ipv4-addr:value = '{edge}']"), "botnet-c2", &mut objects);
        fps.push(FalsePositive { value: edge.into(), kind: "cdn".into(), reported_by: "partner-a".into() });
    }
    serde_json::to_string_pretty(
        &json!({"type": "bundle", "id": "bundle--00000000-0000-4000-8000-000000000000", "objects": objects}),
    )
    .unwrap_or_default()
}

/// Partner B shares a MISP feed: one event per batch of servers, each
/// server a `domain-ip` object with the addresses they saw, its name, its
/// certificate and JARM.
fn misp_feed(s: &Scenario, servers: &[Server], fps: &mut Vec<FalsePositive>) -> Vec<(String, Vec<u8>)> {
    let mut r = Rng::new(s.seed ^ 0xb0b0);
    let mut n = 0;
    let mut attribute = |kind: &str, value: &str, category: &str| {
        n += 1;
        json!({
            "uuid": format!("5f000000-0000-4000-8000-{n:012x}"), "type": kind, "category": "Network activity",
            "to_ids": true, "value": value, "timestamp": (s.start - 86_400).to_string(),
            "Tag": [{"name": format!("dragnet:category=\"{category}\"")}],
        })
    };
    let mut objects = Vec::new();
    for srv in servers.iter().filter(|srv| reports(2, 40, srv, s.seed)) {
        let mut attrs = Vec::new();
        // Their scanner saw most, not always all, of a server's addresses.
        let seen: Vec<&String> = srv.ips.iter().filter(|_| r.chance(0.75)).collect();
        for ip in if seen.is_empty() { vec![&srv.ips[0]] } else { seen } {
            attrs.push(attribute("ip-dst", ip, &srv.category));
        }
        if let Some(d) = srv.domains.first() {
            attrs.push(attribute("domain", d, &srv.category));
        }
        attrs.push(attribute("x509-fingerprint-sha256", &srv.cert_sha256, &srv.category));
        attrs.push(attribute("jarm-fingerprint", &srv.jarm, &srv.category));
        objects.push(json!({"name": "domain-ip", "meta-category": "network", "uuid": format!("0b000000-0000-4000-8000-{:012x}", objects.len() + 1), "Attribute": attrs}));
    }
    let mut fp_attrs = Vec::new();
    for site in TOP_SITES.iter().take(3) {
        fp_attrs.push(attribute("domain", site, "phishing"));
        fps.push(FalsePositive { value: site.to_string(), kind: "top-site".into(), reported_by: "partner-b".into() });
    }
    let mut files = Vec::new();
    let mut manifest = serde_json::Map::new();
    let chunks: Vec<&[serde_json::Value]> = objects.chunks(500).collect();
    for (e, chunk) in chunks.iter().enumerate() {
        let uuid = format!("6a000000-0000-4000-8000-{:012x}", e + 1);
        let attrs = if e == 0 { fp_attrs.clone() } else { Vec::new() };
        let event = json!({"Event": {
            "uuid": uuid, "info": format!("Partner B infrastructure sightings, batch {} (synthetic)", e + 1),
            "date": "2024-05-31", "timestamp": (s.start - 86_400).to_string(), "Tag": [{"name": "tlp:green"}],
            "Attribute": attrs, "Object": chunk,
        }});
        manifest.insert(uuid.clone(), json!({"info": event["Event"]["info"], "date": "2024-05-31", "timestamp": (s.start - 86_400).to_string(), "Tag": [{"name": "tlp:green"}]}));
        files
            .push((format!("feeds/partner-b-misp/{uuid}.json"), serde_json::to_vec_pretty(&event).unwrap_or_default()));
    }
    files.push((
        "feeds/partner-b-misp/manifest.json".to_string(),
        serde_json::to_vec_pretty(&manifest).unwrap_or_default(),
    ));
    files
}

/// IP → ASN/organisation and IP → country ranges for every server block,
/// in the range-file form `dragnet geo import` reads.
fn geo_ranges(servers: &[Server]) -> String {
    let mut out = String::from("# synthetic ranges of the simulated operation\n");
    for srv in servers {
        let Ok(first) = srv.ips[0].parse::<Ipv4Addr>() else { continue };
        let block = u32::from(first) & 0xffff_ff00;
        let (lo, hi) = (Ipv4Addr::from(block), Ipv4Addr::from(block | 0xff));
        let _ = writeln!(out, "{lo},{hi},{},AS{}-HOSTING", srv.asn, srv.asn);
        let _ = writeln!(out, "{lo},{hi},{}", srv.country);
    }
    out
}

/// MISP warninglists of the values partners wrongly report: what a
/// coordinator imports from MISP's own lists.
fn warninglists() -> Vec<(String, Vec<u8>)> {
    let list = |name: &str, kind: &str, attributes: &[&str], entries: Vec<String>| {
        json!({"name": name, "version": 1, "description": format!("{name} (simulated operation)"),
            "matching_attributes": attributes, "type": kind, "list": entries})
    };
    let ip_attrs = ["ip-src", "ip-dst", "domain|ip"];
    [
        (
            "public-dns-resolvers",
            list(
                "List of known public DNS resolvers",
                "cidr",
                &ip_attrs,
                RESOLVERS.iter().map(|r| r.to_string()).collect(),
            ),
        ),
        (
            "cdn-edges",
            list(
                "CDN edge ranges",
                "cidr",
                &ip_attrs,
                vec!["104.16.0.0/13".into(), "104.24.0.0/14".into(), "151.101.0.0/16".into()],
            ),
        ),
        (
            "sinkholes",
            list("Known sinkholes", "cidr", &ip_attrs, vec!["87.106.18.141/32".into(), "87.106.24.200/32".into()]),
        ),
        (
            "top-sites",
            list(
                "Top sites",
                "hostname",
                &["hostname", "domain", "url"],
                TOP_SITES.iter().map(|t| t.to_string()).collect(),
            ),
        ),
    ]
    .into_iter()
    .map(|(file, body)| (format!("warninglists/{file}.json"), serde_json::to_vec_pretty(&body).unwrap_or_default()))
    .collect()
}

fn partner_csv(s: &Scenario, servers: &[Server], fps: &mut Vec<FalsePositive>) -> String {
    let mut out = String::from("indicator,type,threat,first_seen,last_seen\n");
    let mut r = Rng::new(s.seed ^ 0xc5c5);
    for srv in servers.iter().filter(|srv| reports(3, 35, srv, s.seed)) {
        // Partners disagree: one report in ten calls it something else.
        let category = if r.chance(0.1) { "other" } else { srv.category.as_str() };
        for ip in &srv.ips {
            let _ = writeln!(out, "{ip},ipv4,{category},2024-05-{:02}T00:00:00Z,2024-06-01T00:00:00Z", 1 + r.below(28));
        }
    }
    for ip in RESOLVERS {
        let _ = writeln!(out, "{ip},ipv4,botnet-c2,2024-05-01T00:00:00Z,2024-06-01T00:00:00Z");
        fps.push(FalsePositive { value: ip.into(), kind: "public-resolver".into(), reported_by: "partner-c".into() });
    }
    out
}

fn feodo(s: &Scenario, servers: &[Server], fps: &mut Vec<FalsePositive>) -> String {
    let mut items = Vec::new();
    for srv in servers.iter().filter(|srv| srv.category == "botnet-c2" && reports(4, 60, srv, s.seed)) {
        for ip in &srv.ips {
            items.push(json!({
                "ip_address": ip, "port": 443, "status": "online", "hostname": srv.domains.first(),
                "as_number": srv.asn, "as_name": format!("AS{}-HOSTING", srv.asn), "country": srv.country,
                "first_seen": "2024-05-10 12:00:00", "last_online": "2024-06-01", "malware": "QakBot",
            }));
        }
    }
    for sinkhole in ["87.106.18.141", "87.106.24.200"] {
        items.push(json!({"ip_address": sinkhole, "port": 80, "status": "online", "first_seen": "2024-05-10 12:00:00",
            "last_online": "2024-06-01", "malware": "Emotet"}));
        fps.push(FalsePositive {
            value: sinkhole.into(),
            kind: "sinkhole".into(),
            reported_by: "abusech-feodo".into(),
        });
    }
    serde_json::to_string_pretty(&items).unwrap_or_default()
}

/// The files of the operation (relative paths and contents) and its truth.
pub fn generate(s: &Scenario) -> (Vec<(String, Vec<u8>)>, Truth) {
    let mut rng = Rng::new(s.seed);
    let mut blocks = BTreeSet::new();
    let servers = servers(s, &mut rng, &mut blocks);
    let mut fps = Vec::new();
    let mut files = vec![
        ("feeds/partner-a-stix.json".to_string(), stix_bundle(s, &servers, &mut fps).into_bytes()),
        ("feeds/partner-c-indicators.csv".to_string(), partner_csv(s, &servers, &mut fps).into_bytes()),
        ("feeds/abusech-feodo.json".to_string(), feodo(s, &servers, &mut fps).into_bytes()),
    ];
    files.extend(misp_feed(s, &servers, &mut fps));
    let (logs, beacons) = crate::sensor::logs(s, &servers, &mut rng, &mut blocks);
    files.push(("telemetry/sensor-1/conn.log".to_string(), logs.conn.into_bytes()));
    files.push(("telemetry/sensor-1/ssl.log".to_string(), logs.ssl.into_bytes()));
    files.push(("telemetry/sensor-1/dns.log".to_string(), logs.dns.into_bytes()));
    files.push(("geo/ranges.csv".to_string(), geo_ranges(&servers).into_bytes()));
    files.extend(warninglists());
    let (responses, case_actions) = crate::response::respond(s.seed, &servers);
    let truth = Truth {
        seed: s.seed,
        responses,
        case_actions,
        as_of: dragnet_core::format_timestamp(s.start + 86_400),
        partners: vec![
            ("partner-a".to_string(), "feeds/partner-a-stix.json".to_string()),
            ("partner-b".to_string(), "feeds/partner-b-misp".to_string()),
            ("partner-c".to_string(), "feeds/partner-c-indicators.csv".to_string()),
            ("abusech-feodo".to_string(), "feeds/abusech-feodo.json".to_string()),
        ],
        servers,
        beacons,
        false_positives: fps,
        sensor_internal_network: "10.20.0.0/16".into(),
    };
    files.push(("truth.json".to_string(), serde_json::to_vec_pretty(&truth).unwrap_or_default()));
    // Whose each file is, with the grade and TLP the coordinator gives them,
    // so `dragnet ingest DIR` needs no --source.
    let sources = json!({
        "feeds/partner-a-stix.json": {"source": "partner-a", "grade": "B2", "tlp": "amber"},
        "feeds/partner-b-misp": {"source": "partner-b", "grade": "B3", "tlp": "green"},
        "feeds/partner-c-indicators.csv": {"source": "partner-c", "grade": "C3", "tlp": "amber"},
        "feeds/abusech-feodo.json": {"source": "abusech-feodo", "grade": "A2", "tlp": "clear"},
        "telemetry/sensor-1": {"source": "sensor-1", "grade": "B2", "tlp": "amber", "role": "telemetry", "internal": ["10.20.0.0/16"]},
        "warninglists": {"role": "warninglists"},
        "geo": {"role": "geo"},
    });
    files.push(("sources.json".to_string(), serde_json::to_vec_pretty(&sources).unwrap_or_default()));
    (files, truth)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small(seed: u64) -> Scenario {
        Scenario { seed, ips: 600, beacons: 5, background_hosts: 20, ..Scenario::default() }
    }

    #[test]
    fn a_seed_gives_byte_identical_output() {
        let (a, _) = generate(&small(3));
        let (b, _) = generate(&small(3));
        assert_eq!(a, b);
        let (c, _) = generate(&small(4));
        assert_ne!(a, c);
    }

    #[test]
    fn the_world_has_what_the_truth_says() {
        let (files, truth) = generate(&small(5));
        let ips: usize = truth.servers.iter().map(|s| s.ips.len()).sum();
        assert_eq!(ips, 600);
        let countries: BTreeSet<&str> = truth.servers.iter().map(|s| s.country.as_str()).collect();
        assert!(countries.len() > 50, "{}", countries.len());
        assert!(
            truth.servers.iter().all(|s| s.ips.iter().all(|ip| !special(u32::from(ip.parse::<Ipv4Addr>().unwrap()))))
        );
        assert_eq!(truth.beacons.len(), 5);
        assert!(truth.false_positives.iter().any(|f| f.kind == "public-resolver"));
        let conn = &files.iter().find(|(p, _)| p.ends_with("conn.log")).unwrap().1;
        let text = String::from_utf8_lossy(conn);
        for b in &truth.beacons {
            assert_eq!(text.matches(&format!("\t{}\t", b.src)).count(), b.connections, "{b:?}");
        }
    }
}
