//! Writers: pure functions from entries (already selected and sorted) to
//! the text each defender's tool loads. Domains go only where they are
//! plain DNS names, so no hostile value can break a zone, a hosts file or
//! a firewall script; each writer says how many it skipped.

use std::fmt::Write as _;
use std::str::FromStr;

use dragnet_core::{Category, Kind};

use super::Entry;
use super::cidr::{self, Block};
use crate::{Error, Result};

/// An export format: one name, one writer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Plain,
    Cidr,
    Csv,
    Jsonl,
    Hosts,
    Adblock,
    Nftables,
    Ipset,
    Suricata,
    SuricataCategories,
    Mikrotik,
    Rpz,
}

impl Format {
    pub const NAMES: &'static str =
        "plain, cidr, csv, jsonl, hosts, adblock, nftables, ipset, suricata, suricata-categories, mikrotik or rpz";

    /// The media type an HTTP answer carries.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Csv => "text/csv; charset=utf-8",
            Format::Jsonl => "application/x-ndjson",
            Format::Rpz => "text/dns",
            _ => "text/plain; charset=utf-8",
        }
    }
}

impl Format {
    pub const ALL: [Format; 12] = [
        Format::Plain,
        Format::Cidr,
        Format::Csv,
        Format::Jsonl,
        Format::Hosts,
        Format::Adblock,
        Format::Nftables,
        Format::Ipset,
        Format::Suricata,
        Format::SuricataCategories,
        Format::Mikrotik,
        Format::Rpz,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Format::Plain => "plain",
            Format::Cidr => "cidr",
            Format::Csv => "csv",
            Format::Jsonl => "jsonl",
            Format::Hosts => "hosts",
            Format::Adblock => "adblock",
            Format::Nftables => "nftables",
            Format::Ipset => "ipset",
            Format::Suricata => "suricata",
            Format::SuricataCategories => "suricata-categories",
            Format::Mikrotik => "mikrotik",
            Format::Rpz => "rpz",
        }
    }
}

impl FromStr for Format {
    type Err = Error;
    fn from_str(s: &str) -> Result<Format> {
        Format::ALL
            .into_iter()
            .find(|f| f.name() == s)
            .ok_or_else(|| Error::invalid(format!("--format {s}: expected {}", Format::NAMES)))
    }
}

/// What a writer needs besides the entries.
#[derive(Debug, Clone)]
pub struct Meta {
    /// Names the firewall sets and address lists (`dragnet`).
    pub name: String,
    /// The RPZ zone's name (`rpz.dragnet`).
    pub zone: String,
    /// The RPZ zone's SOA serial.
    pub serial: u32,
}

impl Default for Meta {
    fn default() -> Meta {
        Meta { name: "dragnet".into(), zone: "rpz.dragnet".into(), serial: 1 }
    }
}

/// A written export.
#[derive(Debug, Clone)]
pub struct Written {
    pub text: String,
    /// Lines (entries or blocks) written.
    pub lines: usize,
    /// Values the format cannot hold (not plain DNS names, or of a kind it has no place for).
    pub skipped: usize,
}

/// Writes `entries` in `format`.
pub fn write(format: Format, entries: &[Entry], meta: &Meta) -> Written {
    let mut w = Writer { text: String::new(), lines: 0, skipped: 0 };
    match format {
        Format::Plain => entries.iter().for_each(|e| w.line(&e.value)),
        Format::Cidr => cover(entries, &mut w).iter().for_each(|b| w.line(&b.to_string())),
        Format::Csv => csv(entries, &mut w),
        Format::Jsonl => {
            for e in entries {
                // Plain data serialises; the fallback is never reached.
                w.line(&serde_json::to_string(e).unwrap_or_default());
            }
        }
        Format::Hosts => {
            w.comment("# Dragnet blocklist: hosts file");
            for d in domains(entries, &mut w) {
                w.line(&format!("0.0.0.0 {d}"));
            }
        }
        Format::Adblock => {
            w.comment("! Title: Dragnet blocklist");
            for d in domains(entries, &mut w) {
                w.line(&format!("||{d}^"));
            }
        }
        Format::Nftables => nftables(entries, meta, &mut w),
        Format::Ipset => ipset(entries, meta, &mut w),
        Format::Suricata => suricata(entries, &mut w),
        Format::SuricataCategories => {
            for (n, c) in Category::ALL.iter().enumerate() {
                w.line(&format!("{},{},{}", n + 1, short_name(*c), c.as_str()));
            }
        }
        Format::Mikrotik => mikrotik(entries, meta, &mut w),
        Format::Rpz => rpz(entries, meta, &mut w),
    }
    Written { text: w.text, lines: w.lines, skipped: w.skipped }
}

struct Writer {
    text: String,
    lines: usize,
    skipped: usize,
}

impl Writer {
    fn line(&mut self, line: &str) {
        self.text.push_str(line);
        self.text.push('\n');
        self.lines += 1;
    }

    /// A line that is not an entry.
    fn comment(&mut self, line: &str) {
        self.text.push_str(line);
        self.text.push('\n');
    }
}

/// The addresses and networks as their smallest exact cover; the rest skipped.
fn cover(entries: &[Entry], w: &mut Writer) -> Vec<Block> {
    let blocks: Vec<Block> = entries.iter().filter_map(|e| cidr::parse(&e.value)).collect();
    w.skipped += entries.len() - blocks.len();
    cidr::cover(blocks)
}

/// A plain DNS name: lower-case letters, digits, `-` and `_`, labels of 1
/// to 63, at most 253 in all. Anything else could break the file it is
/// written into.
pub fn plain_dns_name(name: &str) -> bool {
    name.len() <= 253
        && name.split('.').all(|label| {
            (1..=63).contains(&label.len())
                && label.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
        })
}

/// The domain entries that are plain DNS names; the rest skipped.
fn domains<'a>(entries: &'a [Entry], w: &mut Writer) -> Vec<&'a str> {
    let mut out = Vec::new();
    for e in entries {
        if e.kind == Kind::Domain && plain_dns_name(&e.value) {
            out.push(e.value.as_str());
        } else {
            w.skipped += 1;
        }
    }
    out
}

fn csv(entries: &[Entry], w: &mut Writer) {
    fn field(text: &str) -> String {
        if text.contains([',', '"', '\n', '\r']) { format!("\"{}\"", text.replace('"', "\"\"")) } else { text.into() }
    }
    w.comment("value,kind,categories,score,tlp,server,last_seen");
    for e in entries {
        let categories: Vec<&str> = e.categories.iter().map(|c| c.as_str()).collect();
        w.line(&format!(
            "{},{},{},{},{},{},{}",
            field(&e.value),
            e.kind.as_str(),
            categories.join(";"),
            e.score,
            e.tlp.as_str(),
            e.server,
            dragnet_core::format_timestamp(e.last_seen)
        ));
    }
}

/// Elements a firewall line holds at most, so no line grows without bound.
const CHUNK: usize = 1000;

fn nftables(entries: &[Entry], meta: &Meta, w: &mut Writer) {
    let blocks = cover(entries, w);
    let name = &meta.name;
    // One file, one transaction: `nft -f` swaps the whole set or nothing.
    w.comment(&format!("# Dragnet blocklist: nft -f FILE (sets {name}_v4 and {name}_v6 in table inet {name})"));
    w.comment(&format!("add table inet {name}"));
    for (family, v6) in [("ipv4_addr", false), ("ipv6_addr", true)] {
        let set = format!("{name}_v{}", if v6 { 6 } else { 4 });
        w.comment(&format!("add set inet {name} {set} {{ type {family}; flags interval; }}"));
        w.comment(&format!("flush set inet {name} {set}"));
        let family_blocks: Vec<String> = blocks.iter().filter(|b| b.v6 == v6).map(Block::to_string).collect();
        for chunk in family_blocks.chunks(CHUNK) {
            w.comment(&format!("add element inet {name} {set} {{ {} }}", chunk.join(", ")));
            w.lines += chunk.len();
        }
    }
}

fn ipset(entries: &[Entry], meta: &Meta, w: &mut Writer) {
    let blocks = cover(entries, w);
    let name = &meta.name;
    w.comment(&format!("# Dragnet blocklist: ipset restore < FILE (sets {name}-v4 and {name}-v6)"));
    for (family, v6) in [("inet", false), ("inet6", true)] {
        let set = format!("{name}-v{}", if v6 { 6 } else { 4 });
        let family_blocks: Vec<&Block> = blocks.iter().filter(|b| b.v6 == v6).collect();
        let maxelem = family_blocks.len().next_power_of_two().max(65536);
        // Filled aside and swapped in, so the live set is never half full.
        let create =
            |set: &str| format!("create {set} hash:net family {family} hashsize 1024 maxelem {maxelem} -exist");
        w.comment(&create(&set));
        w.comment(&create(&format!("{set}-next")));
        w.comment(&format!("flush {set}-next"));
        for b in family_blocks {
            w.line(&format!("add {set}-next {b}"));
        }
        w.comment(&format!("swap {set}-next {set}"));
        w.comment(&format!("destroy {set}-next"));
    }
}

/// A category's name in a Suricata reputation category file: `BotnetC2`.
fn short_name(c: Category) -> String {
    c.as_str()
        .split('-')
        .map(|word| {
            let mut chars = word.chars();
            chars.next().map(|f| f.to_ascii_uppercase().to_string() + chars.as_str()).unwrap_or_default()
        })
        .collect()
}

/// Suricata IP reputation: `address,category,score` a line (score 1–127),
/// one line per category; categories numbered as `suricata-categories` writes them.
fn suricata(entries: &[Entry], w: &mut Writer) {
    for e in entries {
        let Some(block) = cidr::parse(&e.value) else {
            w.skipped += 1;
            continue;
        };
        let address = if block.is_host() { block.address().to_string() } else { block.to_string() };
        let score = (u32::from(e.score) * 127 / 100).max(1);
        for c in &e.categories {
            let id = Category::ALL.iter().position(|k| k == c).map_or(0, |n| n + 1);
            w.line(&format!("{address},{id},{score}"));
        }
    }
}

fn mikrotik(entries: &[Entry], meta: &Meta, w: &mut Writer) {
    let blocks = cover(entries, w);
    let name = &meta.name;
    w.comment(&format!("# Dragnet blocklist for RouterOS: /import file-name=FILE (address list \"{name}\")"));
    // Laid out as RouterOS's own `/export` writes: a menu path on a line,
    // then the commands given in it.
    for (path, v6) in [("/ip firewall address-list", false), ("/ipv6 firewall address-list", true)] {
        w.comment(path);
        w.comment(&format!("remove [find where list=\"{name}\"]"));
        for b in blocks.iter().filter(|b| b.v6 == v6) {
            w.line(&format!("add list=\"{name}\" address={b}"));
        }
    }
}

/// An RPZ trigger for a response address or network: the prefix length,
/// then the address reversed (IPv6 by 16-bit groups, the longest run of
/// zero groups as `zz`), under `rpz-ip`.
pub fn rpz_ip_trigger(block: &Block) -> String {
    let mut out = format!("{}", block.len);
    match block.address() {
        std::net::IpAddr::V4(a) => {
            for octet in a.octets().iter().rev() {
                let _ = write!(out, ".{octet}");
            }
        }
        std::net::IpAddr::V6(a) => {
            let groups = a.segments();
            // The longest run of two or more zero groups, first if tied.
            let (mut best, mut run) = ((0, 0), (0, 0));
            for (i, g) in groups.iter().enumerate() {
                if *g == 0 {
                    run = if run.1 == 0 { (i, 1) } else { (run.0, run.1 + 1) };
                    if run.1 > best.1 {
                        best = run;
                    }
                } else {
                    run = (0, 0);
                }
            }
            let zz = if best.1 >= 2 { Some(best.0..best.0 + best.1) } else { None };
            let mut labels: Vec<String> = Vec::new();
            let mut i = 0;
            while i < 8 {
                match &zz {
                    Some(r) if r.start == i => {
                        labels.push("zz".into());
                        i = r.end;
                    }
                    _ => {
                        labels.push(format!("{:x}", groups[i]));
                        i += 1;
                    }
                }
            }
            for label in labels.iter().rev() {
                let _ = write!(out, ".{label}");
            }
        }
    }
    out + ".rpz-ip"
}

/// The owner names (relative to the zone) under which a response policy
/// zone lists `entry`: a plain domain and its subdomains, or an address or
/// network as an `rpz-ip` trigger; none for what a zone cannot hold.
pub fn rpz_triggers(entry: &Entry) -> Vec<String> {
    match entry.kind {
        Kind::Domain if plain_dns_name(&entry.value) => vec![entry.value.clone(), format!("*.{}", entry.value)],
        Kind::Ipv4 | Kind::Ipv6 | Kind::Cidr => {
            cidr::parse(&entry.value).map(|b| rpz_ip_trigger(&b)).into_iter().collect()
        }
        _ => Vec::new(),
    }
}

/// A response policy zone: each domain and its subdomains answer NXDOMAIN
/// (`CNAME .`), and so does any answer holding a listed address.
fn rpz(entries: &[Entry], meta: &Meta, w: &mut Writer) {
    w.comment("$TTL 300");
    w.comment(&format!("@ IN SOA localhost. hostmaster.localhost. ({} 3600 600 604800 60)", meta.serial));
    w.comment("@ IN NS localhost.");
    // Owner names must fit in 255 octets with the zone's name appended.
    let room = 253usize.saturating_sub(meta.zone.len() + 1);
    for e in entries {
        let triggers = rpz_triggers(e);
        if triggers.is_empty() || triggers.iter().any(|t| t.len() > room) {
            w.skipped += 1;
            continue;
        }
        for trigger in triggers {
            w.line(&format!("{trigger} CNAME ."));
        }
    }
}

#[cfg(test)]
mod tests;
