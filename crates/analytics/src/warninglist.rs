//! MISP warninglists: values that are not malicious whatever a feed says
//! (resolvers, CDNs, sinkholes, top sites, special-use ranges). Matching
//! follows pymispwarninglists' full ("slow") search, plus real regex
//! matching, which pymispwarninglists leaves out. Dragnet also carries
//! built-in lists for the special-use ranges and names.

use std::collections::HashSet;
use std::net::IpAddr;

use dragnet_core::observable::ip_key;
use dragnet_core::record::clip;
use dragnet_core::{Kind, Observable};
use serde::Serialize;
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ListKind {
    Cidr,
    Hostname,
    String,
    Substring,
    Regex,
}

#[derive(Debug, thiserror::Error)]
pub enum ListError {
    #[error("not a MISP warninglist: {0}")]
    NotAList(String),
    #[error("warninglist `{name}`: unknown type `{kind}` (expected cidr, hostname, string, substring or regex)")]
    UnknownType { name: String, kind: String },
    #[error("warninglist `{name}`: entry {index} `{entry}` is not a valid regular expression: {why}")]
    BadRegex { name: String, index: usize, entry: String, why: String },
}

/// A list compiled for matching in time independent of its length (CIDR,
/// hostname, string) or in one pass over the value (substring, regex).
#[derive(Debug, Clone)]
enum Matcher {
    /// Disjoint address ranges sorted by start, so a lookup is one binary search.
    Cidr {
        ranges: Vec<([u8; 16], [u8; 16])>,
        exact: HashSet<String>,
    },
    /// Looked up by the host and each suffix after a dot.
    /// The names, and the length of the longest: no longer suffix of a
    /// value can match, so a huge host costs no more than a short one.
    Hostname(HashSet<String>, usize),
    String(HashSet<String>),
    Substring(aho_corasick::AhoCorasick),
    Regex(Regexes),
}

#[derive(Debug, Clone)]
enum Regexes {
    Set(regex::RegexSet),
    /// Lists too large for one automaton within the regex crate's size limit.
    Each(Vec<regex::Regex>),
}

/// Merges address ranges into disjoint ones sorted by start.
fn merged(mut ranges: Vec<([u8; 16], [u8; 16])>) -> Vec<([u8; 16], [u8; 16])> {
    ranges.sort_unstable();
    let mut out: Vec<([u8; 16], [u8; 16])> = Vec::with_capacity(ranges.len());
    for (lo, hi) in ranges {
        match out.last_mut() {
            // Overlapping or touching (the next range starts right after).
            Some(last) if u128::from_be_bytes(lo) <= u128::from_be_bytes(last.1).saturating_add(1) => {
                last.1 = last.1.max(hi);
            }
            _ => out.push((lo, hi)),
        }
    }
    out
}

/// One warninglist, ready to match.
#[derive(Debug, Clone)]
pub struct WarningList {
    pub name: String,
    pub kind: ListKind,
    pub version: u64,
    pub description: String,
    pub entries: usize,
    /// MISP attribute types the list is meant for (`matching_attributes`);
    /// empty means every type.
    pub matching_attributes: Vec<String>,
    matcher: Matcher,
}

impl WarningList {
    /// Parses a MISP warninglist (`list.json`).
    pub fn parse(json: &str) -> Result<WarningList, ListError> {
        let v: Value = serde_json::from_str(json).map_err(|e| ListError::NotAList(format!("invalid JSON: {e}")))?;
        let name = v.get("name").and_then(Value::as_str).ok_or_else(|| ListError::NotAList("no `name`".into()))?;
        let list: Vec<String> = v
            .get("list")
            .and_then(Value::as_array)
            .ok_or_else(|| ListError::NotAList(format!("`{name}` has no `list` array")))?
            .iter()
            .map(|e| e.as_str().map(str::to_string).unwrap_or_else(|| e.to_string()))
            .collect();
        let kind_text = v.get("type").and_then(Value::as_str).unwrap_or("string");
        let kind = match kind_text {
            "cidr" => ListKind::Cidr,
            "hostname" => ListKind::Hostname,
            "string" => ListKind::String,
            "substring" => ListKind::Substring,
            "regex" => ListKind::Regex,
            other => return Err(ListError::UnknownType { name: name.into(), kind: other.into() }),
        };
        let mut list = WarningList::new(
            name,
            kind,
            &list,
            v.get("version").and_then(Value::as_u64).unwrap_or(0),
            v.get("description").and_then(Value::as_str).unwrap_or_default(),
        )?;
        list.matching_attributes = v
            .get("matching_attributes")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
            .unwrap_or_default();
        Ok(list)
    }

    /// Whether the list is meant for observables of `kind`.
    pub fn applies_to(&self, kind: Kind) -> bool {
        if self.matching_attributes.is_empty() {
            return true;
        }
        let types: &[&str] = match kind {
            Kind::Ipv4 | Kind::Ipv6 | Kind::Cidr => &["ip-src", "ip-dst", "domain|ip", "ip-src|port", "ip-dst|port"],
            Kind::Domain => &["domain", "hostname", "domain|ip"],
            Kind::Url => &["url", "uri", "link"],
            Kind::Md5 => &["md5", "filename|md5"],
            Kind::Sha1 => &["sha1", "filename|sha1"],
            Kind::Sha256 => &["sha256", "filename|sha256"],
            Kind::Email => &["email", "email-src", "email-dst", "target-email", "whois-registrant-email"],
            Kind::Asn => &["AS"],
            Kind::X509Sha256 => &["x509-fingerprint-sha256"],
            Kind::Ja3 | Kind::Ja3s => &["ja3-fingerprint-md5"],
            Kind::Jarm => &["jarm-fingerprint"],
            Kind::SshHostKey => &["ssh-fingerprint"],
        };
        self.matching_attributes.iter().any(|a| types.contains(&a.as_str()))
    }

    pub fn new(
        name: &str,
        kind: ListKind,
        list: &[String],
        version: u64,
        description: &str,
    ) -> Result<WarningList, ListError> {
        let matcher = match kind {
            ListKind::Cidr => {
                let ranges = list
                    .iter()
                    .filter_map(|e| {
                        let parsed =
                            if e.contains('/') { Observable::parse(Kind::Cidr, e) } else { Observable::guess(e) };
                        parsed.ok().and_then(|o| o.ip_range())
                    })
                    .collect();
                // A value that is not an address is looked up as text, as
                // pymispwarninglists does (a CIDR asked for as itself matches).
                Matcher::Cidr { ranges: merged(ranges), exact: list.iter().cloned().collect() }
            }
            ListKind::Hostname => {
                let hosts: HashSet<String> = list.iter().map(|e| e.trim_start_matches('.').to_string()).collect();
                let longest = hosts.iter().map(String::len).max().unwrap_or(0);
                Matcher::Hostname(hosts, longest)
            }
            ListKind::String => Matcher::String(list.iter().cloned().collect()),
            ListKind::Substring => Matcher::Substring(
                aho_corasick::AhoCorasick::new(list)
                    .map_err(|e| ListError::NotAList(format!("`{name}`: substrings too many to match: {e}")))?,
            ),
            ListKind::Regex => {
                // MISP writes regexes PCRE-style between slashes.
                let bodies: Vec<&str> = list
                    .iter()
                    .map(|e| e.strip_prefix('/').and_then(|r| r.rsplit_once('/')).map_or(e.as_str(), |(b, _)| b))
                    .collect();
                let each = || -> Result<Vec<regex::Regex>, ListError> {
                    bodies
                        .iter()
                        .zip(list)
                        .enumerate()
                        .map(|(index, (body, e))| {
                            regex::Regex::new(body).map_err(|err| ListError::BadRegex {
                                name: name.into(),
                                index,
                                entry: clip(e).into_owned(),
                                why: err.to_string(),
                            })
                        })
                        .collect()
                };
                match regex::RegexSet::new(&bodies) {
                    Ok(set) => Matcher::Regex(Regexes::Set(set)),
                    // Compiled one by one to name the bad entry, or, when
                    // each is fine and only the set is too big, to match.
                    Err(_) => Matcher::Regex(Regexes::Each(each()?)),
                }
            }
        };
        Ok(WarningList {
            name: name.to_string(),
            kind,
            version,
            description: description.to_string(),
            entries: list.len(),
            matching_attributes: Vec::new(),
            matcher,
        })
    }

    /// Whether `value` (a normalised observable's text) is on the list.
    pub fn matches(&self, value: &str) -> bool {
        match &self.matcher {
            Matcher::String(set) => set.contains(value),
            Matcher::Substring(parts) => parts.is_match(value),
            Matcher::Hostname(hosts, longest) => {
                // The host itself or any domain it is under: `a.b.c`, `b.c`,
                // `c` (and the empty name after a trailing dot, as an empty
                // entry matched that way before), shortest first and only
                // as long as the longest entry.
                let host = url_host(value).unwrap_or(value);
                let suffixes = host
                    .rmatch_indices('.')
                    .map(|(i, _)| host.get(i + 1..).unwrap_or_default())
                    .chain([host])
                    .take_while(|s| s.len() <= *longest);
                suffixes.into_iter().any(|s| hosts.contains(s))
            }
            Matcher::Cidr { ranges, exact } => match value.parse::<IpAddr>() {
                Ok(ip) => {
                    let k = ip_key(ip);
                    // The last range starting at or before `k` is the only one that can hold it.
                    let after = ranges.partition_point(|(lo, _)| *lo <= k);
                    after.checked_sub(1).and_then(|i| ranges.get(i)).is_some_and(|(_, hi)| k <= *hi)
                }
                Err(_) => exact.contains(value),
            },
            Matcher::Regex(Regexes::Set(set)) => set.is_match(value),
            Matcher::Regex(Regexes::Each(res)) => res.iter().any(|r| r.is_match(value)),
        }
    }
}

/// The host of `scheme://host…`, as Python's `urlparse(value).hostname`.
fn url_host(value: &str) -> Option<&str> {
    let (_, rest) = value.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next()?;
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = if let Some(v6) = host.strip_prefix('[') { v6.split(']').next()? } else { host.split(':').next()? };
    (!host.is_empty()).then_some(host)
}

/// Dragnet's own lists of special-use ranges and names (RFC 1918, 5735,
/// 6598, 3849, 4291, 5771, 6761 and friends): never malicious infrastructure.
pub fn built_in() -> Vec<WarningList> {
    let lists: [(&str, ListKind, &[&str]); 7] = [
        (
            "dragnet: private networks (RFC 1918, RFC 4193)",
            ListKind::Cidr,
            &["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"],
        ),
        ("dragnet: loopback and unspecified", ListKind::Cidr, &["127.0.0.0/8", "0.0.0.0/8", "::1/128", "::/128"]),
        ("dragnet: link-local", ListKind::Cidr, &["169.254.0.0/16", "fe80::/10"]),
        ("dragnet: multicast and broadcast", ListKind::Cidr, &["224.0.0.0/4", "ff00::/8", "255.255.255.255/32"]),
        (
            "dragnet: documentation and benchmarking",
            ListKind::Cidr,
            &["192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32", "198.18.0.0/15"],
        ),
        (
            "dragnet: shared address space and reserved (RFC 6598, RFC 1112)",
            ListKind::Cidr,
            &["100.64.0.0/10", "240.0.0.0/4", "192.0.0.0/24"],
        ),
        (
            "dragnet: special-use domain names (RFC 6761, RFC 6762, RFC 2606)",
            ListKind::Hostname,
            &[
                "localhost",
                "local",
                "invalid",
                "test",
                "example",
                "example.com",
                "example.net",
                "example.org",
                "home.arpa",
                "onion",
            ],
        ),
    ];
    lists
        .iter()
        .map(|(name, kind, entries)| {
            let entries: Vec<String> = entries.iter().map(|e| e.to_string()).collect();
            WarningList::new(name, *kind, &entries, 1, "built into Dragnet").expect("built-in lists are valid")
        })
        .collect()
}

/// The names of the lists meant for `observable`'s kind that hold it; a URL
/// is also checked by its host, against the lists for hosts.
pub fn hits<'a>(lists: &'a [WarningList], observable: &Observable) -> Vec<&'a str> {
    let mut values = vec![observable.clone()];
    values.extend(observable.url_host());
    lists
        .iter()
        .filter(|l| values.iter().any(|v| l.applies_to(v.kind()) && l.matches(v.value())))
        .map(|l| l.name.as_str())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(kind: &str, entries: &[&str]) -> WarningList {
        let json = serde_json::json!({"name": "t", "type": kind, "version": 1, "description": "", "list": entries});
        WarningList::parse(&json.to_string()).unwrap()
    }

    #[test]
    fn a_huge_host_is_matched_by_its_short_suffixes_only() {
        let hosts = list("hostname", &[".cdn.example", "exact.example"]);
        // A megabyte of labels: only suffixes as long as the longest entry are looked up.
        let huge = format!("{}cdn.example", "a.".repeat(500_000));
        assert!(hosts.matches(&huge));
        assert!(hosts.matches(&format!("http://{huge}/x")));
        assert!(!hosts.matches(&format!("{}other.example", "a.".repeat(500_000))));
        assert!(hosts.matches("exact.example") && !hosts.matches("xexact.example"));
    }

    #[test]
    fn each_kind_matches_like_pymispwarninglists() {
        let cidr = list("cidr", &["10.0.0.0/8", "2001:db8::/32", "8.8.8.8", "not-an-ip"]);
        assert!(cidr.matches("10.2.3.4") && cidr.matches("2001:db8::1") && cidr.matches("8.8.8.8"));
        assert!(!cidr.matches("11.0.0.1") && cidr.matches("not-an-ip"));
        let host = list("hostname", &["google.com", ".blah.de"]);
        assert!(host.matches("google.com") && host.matches("mail.google.com") && host.matches("http://x.blah.de/path"));
        assert!(!host.matches("notgoogle.com") && !host.matches("google.com.evil.example"));
        let string = list("string", &["exact.example"]);
        assert!(string.matches("exact.example") && !string.matches("a.exact.example"));
        let sub = list("substring", &[".de"]);
        assert!(sub.matches("blah.de") && !sub.matches("blah.fr"));
        let re = list("regex", &["/^info@/i", "^admin@"]);
        assert!(re.matches("admin@x.example") && !re.matches("bob@x.example"));
    }

    /// The matching every list did before it was indexed: entry by entry.
    fn naive(kind: ListKind, entries: &[String], value: &str) -> bool {
        match kind {
            ListKind::Hostname => {
                let host = url_host(value).unwrap_or(value);
                entries
                    .iter()
                    .map(|e| e.trim_start_matches('.'))
                    .any(|h| host == h || host.strip_suffix(h).is_some_and(|before| before.ends_with('.')))
            }
            ListKind::Cidr => match value.parse::<IpAddr>() {
                Ok(ip) => entries.iter().any(|e| {
                    let o = if e.contains('/') { Observable::parse(Kind::Cidr, e) } else { Observable::guess(e) };
                    o.ok().and_then(|o| o.ip_range()).is_some_and(|(lo, hi)| lo <= ip_key(ip) && ip_key(ip) <= hi)
                }),
                Err(_) => entries.iter().any(|e| e == value),
            },
            ListKind::Substring => entries.iter().any(|e| value.contains(e.as_str())),
            ListKind::String => entries.iter().any(|e| e == value),
            ListKind::Regex => unreachable!(),
        }
    }

    #[test]
    fn indexed_lists_agree_with_entry_by_entry_matching() {
        // Overlapping, nested and touching networks; hosts that are suffixes
        // of each other; an empty entry.
        let cidrs: Vec<String> = [
            "10.0.0.0/8",
            "10.1.0.0/16",
            "11.0.0.0/8",
            "12.0.0.0/9",
            "12.128.0.0/9",
            "192.0.2.7",
            "2001:db8::/32",
            "2001:db8:1::/48",
            "not-an-ip",
        ]
        .map(String::from)
        .to_vec();
        let hosts: Vec<String> =
            ["example.com", "a.example.com", ".blah.de", "de.", "x", ""].map(String::from).to_vec();
        let subs: Vec<String> = ["evil", "vil.", ".de", "é"].map(String::from).to_vec();
        let values = [
            "10.0.0.0",
            "9.255.255.255",
            "10.255.255.255",
            "11.0.0.0",
            "12.127.255.255",
            "12.128.0.0",
            "13.0.0.0",
            "192.0.2.7",
            "192.0.2.8",
            "2001:db8::1",
            "2001:db9::",
            "not-an-ip",
            "example.com",
            "b.a.example.com",
            "xexample.com",
            "http://u:p@q.blah.de:80/x",
            "blah.de",
            "x",
            "a.x",
            "de.",
            "a.de.",
            "evil.example",
            "thé.example",
            "",
            ".",
            "..",
        ];
        for (kind, entries) in [
            (ListKind::Cidr, &cidrs),
            (ListKind::Hostname, &hosts),
            (ListKind::Substring, &subs),
            (ListKind::String, &hosts),
        ] {
            let list = WarningList::new("t", kind, entries, 1, "").unwrap();
            for v in values {
                assert_eq!(list.matches(v), naive(kind, entries, v), "{kind:?} {v:?}");
            }
        }
    }

    #[test]
    fn bad_lists_are_refused_with_a_reason() {
        assert!(WarningList::parse("{").is_err());
        assert!(WarningList::parse(r#"{"name": "x", "type": "cidr"}"#).is_err());
        assert!(matches!(
            WarningList::parse(r#"{"name": "x", "type": "bloom", "list": []}"#),
            Err(ListError::UnknownType { .. })
        ));
        assert!(matches!(
            WarningList::parse(r#"{"name": "x", "type": "regex", "list": ["("]}"#),
            Err(ListError::BadRegex { .. })
        ));
    }

    #[test]
    fn built_in_lists_cover_special_use_values() {
        let lists = built_in();
        for v in
            ["10.1.1.1", "127.0.0.1", "169.254.1.1", "239.1.1.1", "192.0.2.7", "100.64.1.1", "fe80::1", "2001:db8::5"]
        {
            assert!(!hits(&lists, &Observable::guess(v).unwrap()).is_empty(), "{v}");
        }
        assert!(!hits(&lists, &Observable::guess("http://evil.example/x").unwrap()).is_empty());
        assert!(hits(&lists, &Observable::guess("198.51.99.1").unwrap()).is_empty());
        assert!(hits(&lists, &Observable::guess("evil.com").unwrap()).is_empty());
    }

    #[test]
    fn lists_apply_only_to_their_attribute_types() {
        let json = serde_json::json!({"name": "phones", "type": "regex", "list": ["^[0-9.+]+$"], "matching_attributes": ["phone-number"]});
        let phones = WarningList::parse(&json.to_string()).unwrap();
        assert!(phones.matches("104.16.1.1"), "the regex alone would match an address");
        assert!(hits(std::slice::from_ref(&phones), &Observable::guess("104.16.1.1").unwrap()).is_empty());
    }
}
