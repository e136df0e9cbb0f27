//! Observables: the values partners report, normalised at construction so that
//! two spellings of the same thing are one key in every store and index.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::record::clip;

/// What kind of value an observable is. The string forms are stable: they are
/// stored, exported and accepted on the command line.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    Ipv4,
    Ipv6,
    Cidr,
    Domain,
    Url,
    Md5,
    Sha1,
    Sha256,
    Email,
    Asn,
    #[serde(rename = "x509-sha256")]
    X509Sha256,
    Ja3,
    Ja3s,
    Jarm,
    SshHostKey,
}

impl Kind {
    pub const ALL: [Kind; 15] = [
        Kind::Ipv4,
        Kind::Ipv6,
        Kind::Cidr,
        Kind::Domain,
        Kind::Url,
        Kind::Md5,
        Kind::Sha1,
        Kind::Sha256,
        Kind::Email,
        Kind::Asn,
        Kind::X509Sha256,
        Kind::Ja3,
        Kind::Ja3s,
        Kind::Jarm,
        Kind::SshHostKey,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Ipv4 => "ipv4",
            Kind::Ipv6 => "ipv6",
            Kind::Cidr => "cidr",
            Kind::Domain => "domain",
            Kind::Url => "url",
            Kind::Md5 => "md5",
            Kind::Sha1 => "sha1",
            Kind::Sha256 => "sha256",
            Kind::Email => "email",
            Kind::Asn => "asn",
            Kind::X509Sha256 => "x509-sha256",
            Kind::Ja3 => "ja3",
            Kind::Ja3s => "ja3s",
            Kind::Jarm => "jarm",
            Kind::SshHostKey => "ssh-host-key",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Kind {
    type Err = ObservableError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim().to_ascii_lowercase();
        Kind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .or(match s.as_str() {
                "ip" | "ip-dst" | "ip-src" | "ipv4-addr" => Some(Kind::Ipv4),
                "ipv6-addr" => Some(Kind::Ipv6),
                "hostname" | "fqdn" | "domain-name" => Some(Kind::Domain),
                "link" | "uri" => Some(Kind::Url),
                "email-addr" | "email-src" | "email-dst" => Some(Kind::Email),
                "as" | "autonomous-system" => Some(Kind::Asn),
                "sha-256" => Some(Kind::Sha256),
                "sha-1" => Some(Kind::Sha1),
                _ => None,
            })
            .ok_or_else(|| ObservableError::UnknownKind(clip(&s).into_owned()))
    }
}

/// Why a value could not become an observable. Values are quoted
/// [`clip`]ped: a feed's 100 MB field must not become a 100 MB message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ObservableError {
    #[error("empty value")]
    Empty,
    #[error("unknown observable kind `{0}`")]
    UnknownKind(String),
    #[error("`{value}` is not a valid {kind}")]
    Invalid { kind: Kind, value: String },
    #[error("`{value}` is not a valid {kind}: {why}")]
    InvalidBecause { kind: Kind, value: String, why: &'static str },
    #[error("CIDR `{given}` has host bits set (the network is `{network}`)")]
    HostBitsSet { given: String, network: String },
    #[error("cannot tell what kind of value `{0}` is")]
    Unrecognised(String),
}

/// A normalised observable. Construct it with [`Observable::parse`] or
/// [`Observable::guess`]; the fields are private so every instance is normal.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Observable {
    kind: Kind,
    value: String,
}

impl Observable {
    pub fn kind(&self) -> Kind {
        self.kind
    }

    pub fn value(&self) -> &str {
        &self.value
    }

    pub fn ip(addr: IpAddr) -> Observable {
        match fold_mapped(addr) {
            IpAddr::V4(v4) => Observable { kind: Kind::Ipv4, value: v4.to_string() },
            IpAddr::V6(v6) => Observable { kind: Kind::Ipv6, value: v6.to_string() },
        }
    }

    /// Parses `value` as an observable of `kind`, normalising it.
    pub fn parse(kind: Kind, value: &str) -> Result<Observable, ObservableError> {
        let value = value.trim();
        if value.is_empty() {
            return Err(ObservableError::Empty);
        }
        let invalid = || ObservableError::Invalid { kind, value: clip(value).into_owned() };
        match kind {
            Kind::Ipv4 | Kind::Ipv6 => {
                let addr: IpAddr = value.parse().map_err(|_| invalid())?;
                let obs = Observable::ip(addr);
                if obs.kind != kind && !(kind == Kind::Ipv6 && obs.kind == Kind::Ipv4) {
                    return Err(invalid());
                }
                Ok(obs)
            }
            Kind::Cidr => parse_cidr(value),
            Kind::Domain => normalise_domain(value).map(|value| Observable { kind, value }).ok_or_else(invalid),
            Kind::Url => normalise_url(value).map(|value| Observable { kind, value }),
            Kind::Md5 | Kind::Ja3 | Kind::Ja3s => {
                hex_of_len(value, 32).map(|v| Observable { kind, value: v }).ok_or_else(invalid)
            }
            Kind::Sha1 => hex_of_len(value, 40).map(|v| Observable { kind, value: v }).ok_or_else(invalid),
            Kind::Sha256 | Kind::X509Sha256 => {
                let cleaned: String = value.chars().filter(|c| *c != ':').collect();
                hex_of_len(&cleaned, 64).map(|v| Observable { kind, value: v }).ok_or_else(invalid)
            }
            Kind::Jarm => hex_of_len(value, 62).map(|v| Observable { kind, value: v }).ok_or_else(invalid),
            Kind::Email => normalise_email(value).map(|value| Observable { kind, value }).ok_or_else(invalid),
            Kind::Asn => parse_asn(value).map(Observable::asn).ok_or_else(invalid),
            Kind::SshHostKey => {
                let v = value.trim();
                let ok = v.len() >= 16 && v.chars().all(|c| c.is_ascii_alphanumeric() || "+/=:-_ ".contains(c));
                ok.then(|| Observable { kind, value: v.to_string() }).ok_or_else(invalid)
            }
        }
    }

    pub fn asn(number: u32) -> Observable {
        Observable { kind: Kind::Asn, value: format!("AS{number}") }
    }

    /// Works out what kind of value `raw` is (IP, CIDR, URL, hash, e-mail,
    /// ASN, domain) and parses it. Defanged forms (`hxxp`, `[.]`) are accepted.
    pub fn guess(raw: &str) -> Result<Observable, ObservableError> {
        let refanged = refang(raw.trim());
        let v = refanged.as_ref();
        if v.is_empty() {
            return Err(ObservableError::Empty);
        }
        if still_defanged(v) {
            return Err(ObservableError::Unrecognised(format!("{} (defanged twice over)", clip(raw.trim()))));
        }
        if let Ok(addr) = v.parse::<IpAddr>() {
            // std's IPv4 parser accepts only the canonical dotted form, so the
            // text can be kept as it is instead of formatted again.
            if addr.is_ipv4() {
                return Ok(Observable { kind: Kind::Ipv4, value: v.to_string() });
            }
            return Ok(Observable::ip(addr));
        }
        if v.contains('/')
            && !v.contains("://")
            && v.split('/').next().is_some_and(|h| h.parse::<IpAddr>().is_ok())
            && v.rsplit('/').next().is_some_and(|len| len.chars().all(|c| c.is_ascii_digit()))
        {
            return parse_cidr(v);
        }
        if v.contains("://") {
            return Observable::parse(Kind::Url, v);
        }
        if v.chars().all(|c| c.is_ascii_hexdigit()) {
            match v.len() {
                32 => return Observable::parse(Kind::Md5, v),
                40 => return Observable::parse(Kind::Sha1, v),
                64 => return Observable::parse(Kind::Sha256, v),
                _ => {}
            }
        }
        if v.contains('@') {
            return Observable::parse(Kind::Email, v);
        }
        if let Some(digits) = v.strip_prefix("AS").or_else(|| v.strip_prefix("as"))
            && !digits.is_empty()
            && digits.bytes().all(|c| c.is_ascii_digit())
        {
            return Observable::parse(Kind::Asn, v);
        }
        if v.contains('/') {
            // A host with a path but no scheme, as feeds and analysts write URLs.
            return Observable::parse(Kind::Url, &format!("http://{v}"));
        }
        Observable::parse(Kind::Domain, v).map_err(|_| ObservableError::Unrecognised(clip(raw.trim()).into_owned()))
    }

    /// For IPs and CIDRs, the inclusive address range covered, as 16-byte
    /// big-endian keys (IPv4 in its IPv4-mapped IPv6 form) so that one
    /// byte-wise comparison orders both families.
    pub fn ip_range(&self) -> Option<([u8; 16], [u8; 16])> {
        match self.kind {
            Kind::Ipv4 | Kind::Ipv6 => {
                let key = ip_key(self.value.parse().ok()?);
                Some((key, key))
            }
            Kind::Cidr => {
                let (addr, len) = self.value.split_once('/')?;
                let addr: IpAddr = addr.parse().ok()?;
                let len: u32 = len.parse().ok()?;
                let (lo, bits) = match addr {
                    IpAddr::V4(_) => (ip_key(addr), 96 + len),
                    IpAddr::V6(_) => (ip_key(addr), len),
                };
                let lo_n = u128::from_be_bytes(lo);
                let host_mask = if bits >= 128 { 0 } else { u128::MAX >> bits };
                Some((lo, (lo_n | host_mask).to_be_bytes()))
            }
            _ => None,
        }
    }

    /// For an IP or CIDR, every strictly larger network that contains it, as
    /// canonical CIDR text, from the closest up to `/0`: exact-match keys for
    /// finding covering CIDRs without a range index.
    pub fn covering_networks(&self) -> Vec<String> {
        self.covering_networks_where(|_, _| true)
    }

    /// [`Observable::covering_networks`] of the prefix lengths `keep(is_v4,
    /// len)` accepts: a reader that knows which lengths it holds asks for no others.
    pub fn covering_networks_where(&self, keep: impl Fn(bool, u32) -> bool) -> Vec<String> {
        let Some((lo, _)) = self.ip_range() else { return Vec::new() };
        let (is_v4, own_len) = match self.kind {
            Kind::Ipv4 => (true, 32),
            Kind::Ipv6 => (false, 128),
            _ => {
                let (addr, len) = self.value.split_once('/').unwrap_or_default();
                (addr.contains('.'), len.parse().unwrap_or(0))
            }
        };
        let n = u128::from_be_bytes(lo);
        (0..own_len)
            .rev()
            .filter(|len| keep(is_v4, *len))
            .map(|len: u32| {
                if is_v4 {
                    let v4 = n as u32;
                    let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
                    format!("{}/{len}", Ipv4Addr::from(v4 & mask))
                } else {
                    let mask = if len == 0 { 0 } else { u128::MAX << (128 - len) };
                    format!("{}/{len}", Ipv6Addr::from(n & mask))
                }
            })
            .collect()
    }

    /// For a domain, the parent domains from the closest up, excluding the
    /// top-level label: `a.b.example.com` gives `b.example.com`, `example.com`.
    pub fn parent_domains(&self) -> Vec<&str> {
        if self.kind != Kind::Domain {
            return Vec::new();
        }
        let mut parents = Vec::new();
        let mut rest = self.value.as_str();
        while let Some((_, tail)) = rest.split_once('.') {
            if !tail.contains('.') {
                break;
            }
            parents.push(tail);
            rest = tail;
        }
        parents
    }

    /// The host of a URL, as a domain or IP observable.
    pub fn url_host(&self) -> Option<Observable> {
        if self.kind != Kind::Url {
            return None;
        }
        let url = url::Url::parse(&self.value).ok()?;
        match url.host()? {
            url::Host::Domain(d) => Observable::parse(Kind::Domain, d).ok(),
            url::Host::Ipv4(a) => Some(Observable::ip(IpAddr::V4(a))),
            url::Host::Ipv6(a) => Some(Observable::ip(IpAddr::V6(a))),
        }
    }
}

impl fmt::Display for Observable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.value)
    }
}

/// The 16-byte ordering key of an address (IPv4 mapped into IPv6 space).
pub fn ip_key(addr: IpAddr) -> [u8; 16] {
    match fold_mapped(addr) {
        IpAddr::V4(v4) => v4.to_ipv6_mapped().octets(),
        IpAddr::V6(v6) => v6.octets(),
    }
}

fn fold_mapped(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(v6),
        },
        v4 => v4,
    }
}

/// Undoes the usual defanging of indicators in reports and e-mails.
pub fn refang(s: &str) -> std::borrow::Cow<'_, str> {
    let starts_defanged = matches!(s.as_bytes(), [b'h' | b'H' | b'f', b'x' | b'X', _, _, ..]);
    if !starts_defanged && !s.contains(['[', '(']) {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = replace_tokens(s);
    for (from, to) in [("hxxps://", "https://"), ("hxxp://", "http://"), ("fxp://", "ftp://")] {
        if let Some(rest) = strip_prefix_ignore_ascii_case(&out, from) {
            out = format!("{to}{rest}");
        }
    }
    std::borrow::Cow::Owned(out)
}

/// Defanging tokens and what they stand for, matched without regard to ASCII case.
const DEFANG_TOKENS: [(&str, char); 5] = [("[.]", '.'), ("(.)", '.'), ("[dot]", '.'), ("[:]", ':'), ("[@]", '@')];

/// One left-to-right pass replacing every defanging token: linear, and a
/// token that replacing makes (`a[[.]]b` → `a[.]b`) is left for
/// [`still_defanged`] to catch, never replaced again.
fn replace_tokens(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(c) = rest.chars().next() {
        let token = DEFANG_TOKENS.iter().find(|(t, _)| strip_prefix_ignore_ascii_case(rest, t).is_some());
        match token {
            Some((t, to)) => {
                out.push(*to);
                rest = rest.get(t.len()..).unwrap_or_default();
            }
            None => {
                out.push(c);
                rest = rest.get(c.len_utf8()..).unwrap_or_default();
            }
        }
    }
    out
}

/// Whether refanged text still holds a defanging token: nested defanging
/// (`a[[.]]b`) has no single reading, and keeping it would make a normal
/// value that refangs into another.
pub fn still_defanged(s: &str) -> bool {
    s.contains(['[', '('])
        && s.char_indices().any(|(i, _)| {
            let rest = s.get(i..).unwrap_or_default();
            DEFANG_TOKENS.iter().any(|(t, _)| strip_prefix_ignore_ascii_case(rest, t).is_some())
        })
}

/// `s` without `prefix` (an ASCII word), compared without regard to ASCII
/// case. Comparing bytes first means the cut always falls on a character
/// boundary: a multi-byte character never equals an ASCII byte.
pub fn strip_prefix_ignore_ascii_case<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let n = prefix.len();
    if s.as_bytes().get(..n)?.eq_ignore_ascii_case(prefix.as_bytes()) { s.get(n..) } else { None }
}

fn parse_cidr(value: &str) -> Result<Observable, ObservableError> {
    let invalid = || ObservableError::Invalid { kind: Kind::Cidr, value: clip(value).into_owned() };
    let (addr, len) = value.split_once('/').ok_or_else(invalid)?;
    let addr: IpAddr = addr.trim().parse().map_err(|_| invalid())?;
    let len: u32 = len.trim().parse().map_err(|_| invalid())?;
    let (addr, len) = match (addr, fold_mapped(addr)) {
        (IpAddr::V6(_), IpAddr::V4(v4)) if len >= 96 => (IpAddr::V4(v4), len - 96),
        _ => (addr, len),
    };
    let (network, max) = match addr {
        IpAddr::V4(v4) => {
            if len > 32 {
                return Err(invalid());
            }
            let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
            (IpAddr::V4(Ipv4Addr::from(u32::from(v4) & mask)), 32)
        }
        IpAddr::V6(v6) => {
            if len > 128 {
                return Err(invalid());
            }
            let mask = if len == 0 { 0 } else { u128::MAX << (128 - len) };
            (IpAddr::V6(Ipv6Addr::from(u128::from(v6) & mask)), 128)
        }
    };
    if network != addr {
        return Err(ObservableError::HostBitsSet {
            given: clip(value).into_owned(),
            network: format!("{network}/{len}"),
        });
    }
    if len == max {
        return Ok(Observable::ip(addr));
    }
    Ok(Observable { kind: Kind::Cidr, value: format!("{network}/{len}") })
}

fn hex_of_len(value: &str, len: usize) -> Option<String> {
    (value.len() == len && value.bytes().all(|b| b.is_ascii_hexdigit())).then(|| value.to_ascii_lowercase())
}

fn parse_asn(value: &str) -> Option<u32> {
    let v = value.trim();
    let digits = strip_prefix_ignore_ascii_case(v, "as").filter(|d| !d.is_empty()).unwrap_or(v);
    // Digits only: `str::parse` would also take a leading `+`.
    if digits.bytes().all(|c| c.is_ascii_digit()) { digits.parse().ok() } else { None }
}

/// Lower-case, IDNA (punycode) form without the trailing dot; `None` when the
/// result is not a plausible registrable-or-deeper name.
pub fn normalise_domain(value: &str) -> Option<String> {
    let v = value.trim().trim_end_matches('.');
    if v.is_empty() || v.len() > 253 {
        return None;
    }
    let ascii = if v.is_ascii() { v.to_ascii_lowercase() } else { idna::domain_to_ascii(v).ok()? };
    // Punycode can make a short Unicode name too long.
    if ascii.len() > 253 {
        return None;
    }
    let labels: Vec<&str> = ascii.split('.').collect();
    if labels.len() < 2 {
        return None;
    }
    for label in &labels {
        let ok = !label.is_empty()
            && label.len() <= 63
            && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            && !label.starts_with('-')
            && !label.ends_with('-');
        if !ok {
            return None;
        }
    }
    if labels.last().is_some_and(|tld| tld.bytes().all(|b| b.is_ascii_digit())) {
        return None;
    }
    Some(ascii)
}

fn normalise_url(value: &str) -> Result<String, ObservableError> {
    let refanged = refang(value);
    let because = |why| ObservableError::InvalidBecause { kind: Kind::Url, value: clip(value).into_owned(), why };
    if still_defanged(&refanged) {
        return Err(because("defanged twice over"));
    }
    let mut url = url::Url::parse(&refanged).map_err(|_| because("not a URL"))?;
    if !matches!(
        url.scheme(),
        "http" | "https" | "ftp" | "ftps" | "ws" | "wss" | "tcp" | "udp" | "irc" | "smb" | "file"
    ) {
        return Err(because("unsupported scheme"));
    }
    match url.host() {
        Some(url::Host::Domain(d)) => {
            let d = d.trim_end_matches('.').to_string();
            let n = normalise_domain(&d).ok_or_else(|| because("bad host name"))?;
            url.set_host(Some(&n)).map_err(|_| because("bad host name"))?;
        }
        Some(_) => {}
        None => return Err(because("no host")),
    }
    url.set_fragment(None);
    let normal = url.to_string();
    // WHATWG quirks (a `file:` path that starts like a drive letter drops
    // its host) can make a serialised URL read back as another: only a
    // form that reads back as itself is normal.
    // The URL parser drops tabs and line breaks, which can join a token
    // (`[.\r]`) that refanging could not see: the normal form must hold none.
    if still_defanged(&normal) {
        return Err(because("defanged twice over"));
    }
    match url::Url::parse(&normal) {
        Ok(again) if again.as_str() == normal && again.host() == url.host() => Ok(normal),
        _ => Err(because("no stable form")),
    }
}

fn normalise_email(value: &str) -> Option<String> {
    let (local, domain) = value.trim().rsplit_once('@')?;
    let local = local.trim_start_matches("mailto:");
    if local.is_empty() || local.len() > 64 || local.contains(char::is_whitespace) || still_defanged(local) {
        return None;
    }
    Some(format!("{}@{}", local.to_lowercase(), normalise_domain(domain)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g(s: &str) -> Observable {
        Observable::guess(s).unwrap()
    }

    #[test]
    fn normalises_domains() {
        assert_eq!(g("WWW.Example.COM.").value(), "www.example.com");
        assert_eq!(g("bücher.example").value(), "xn--bcher-kva.example");
        assert_eq!(g("evil[.]com").value(), "evil.com");
        assert!(Observable::parse(Kind::Domain, "localhost").is_err());
        assert!(Observable::parse(Kind::Domain, "a..b").is_err());
        assert!(Observable::parse(Kind::Domain, "-a.com").is_err());
    }

    #[test]
    fn normalises_urls() {
        assert_eq!(g("HTTP://Evil.COM:80/a/../b#frag").value(), "http://evil.com/b");
        assert_eq!(g("hxxps://evil[.]com/x?y=1").value(), "https://evil.com/x?y=1");
        assert_eq!(g("evil.com/payload.exe").value(), "http://evil.com/payload.exe");
        assert!(Observable::parse(Kind::Url, "javascript:alert(1)").is_err());
        assert_eq!(g("http://1.2.3.4:8080/x").url_host().unwrap().value(), "1.2.3.4");
        // Found by fuzzing: this `file:` URL serialised into one that reads
        // back without its host.
        assert!(Observable::parse(Kind::Url, "file://evil[.]sha256amp//e://epxxp://\u{fffd}").is_err());
        // Also found by fuzzing: line breaks the URL parser drops joined a defanging token.
        assert!(Observable::guess("https:il.e49hxxp://evil[.\r\r]e//evilxa").is_err());
    }

    #[test]
    fn folds_and_masks_ips() {
        assert_eq!(g("::ffff:1.2.3.4"), g("1.2.3.4"));
        assert_eq!(g("2001:DB8::1").value(), "2001:db8::1");
        assert_eq!(g("10.0.0.0/8").kind(), Kind::Cidr);
        assert_eq!(g("10.1.2.3/32").kind(), Kind::Ipv4);
        assert!(matches!(Observable::guess("10.0.0.1/8"), Err(ObservableError::HostBitsSet { .. })));
        assert!(Observable::guess("10.0.0.0/33").is_err());
        assert_eq!(g("::ffff:10.0.0.0/104").value(), "10.0.0.0/8");
    }

    #[test]
    fn ranges_cover_their_members() {
        let (lo, hi) = g("10.0.0.0/8").ip_range().unwrap();
        let k = ip_key("10.200.3.4".parse().unwrap());
        assert!(lo <= k && k <= hi);
        assert!(ip_key("11.0.0.0".parse().unwrap()) > hi);
        let (lo6, hi6) = g("2a06:e480::/29").ip_range().unwrap();
        let k6 = ip_key("2a06:e487:ffff::1".parse().unwrap());
        assert!(lo6 <= k6 && k6 <= hi6);
    }

    #[test]
    fn hashes_asns_emails() {
        assert_eq!(g("D41D8CD98F00B204E9800998ECF8427E").kind(), Kind::Md5);
        assert_eq!(g("da39a3ee5e6b4b0d3255bfef95601890afd80709").kind(), Kind::Sha1);
        assert_eq!(g("AS13335").value(), "AS13335");
        assert_eq!(Observable::parse(Kind::Asn, "13335").unwrap().value(), "AS13335");
        assert_eq!(g("Bad.Guy@Evil.COM").value(), "bad.guy@evil.com");
        assert!(Observable::guess("not a thing at all").is_err());
    }

    #[test]
    fn covering_networks_are_canonical_cidrs() {
        let nets = g("10.1.2.3").covering_networks();
        assert_eq!(nets.len(), 32);
        assert_eq!(nets[0], "10.1.2.2/31");
        assert!(nets.contains(&"10.0.0.0/8".to_string()));
        assert_eq!(nets[31], "0.0.0.0/0");
        for n in &nets[..31] {
            assert_eq!(Observable::parse(Kind::Cidr, n).unwrap().value(), n);
        }
        assert_eq!(g("10.0.0.0/8").covering_networks()[0], "10.0.0.0/7");
        assert!(g("2a06:e480::1").covering_networks().contains(&"2a06:e480::/29".to_string()));
        assert!(g("evil.example").covering_networks().is_empty());
    }

    #[test]
    fn multi_byte_characters_anywhere_never_panic() {
        assert!(Observable::parse(Kind::Asn, "1é").is_err());
        assert!(Observable::parse(Kind::Asn, "Aé1").is_err());
        assert_eq!(refang("hxxp://é.example/x"), "http://é.example/x");
        assert_eq!(g("hxxp://é.example/x").value(), "http://xn--9ca.example/x");
        let samples = [
            "hxxps://evil[.]com/x?y=1",
            "AS13335",
            "as1",
            "10.0.0.0/8",
            "2001:db8::1",
            "bad.guy@evil.com",
            "d41d8cd98f00b204e9800998ecf8427e",
            "evil.example/payload.exe",
            "fxp://a.example",
        ];
        for sample in samples {
            for c in ['é', '€', '😀'] {
                for (at, _) in sample.char_indices().chain([(sample.len(), ' ')]) {
                    let (head, tail) = sample.split_at(at);
                    let mutated = format!("{head}{c}{tail}");
                    // Many of these are valid (an IDN host, an e-mail
                    // address); whatever is accepted must be in normal form.
                    let normal = |o: &Observable| Observable::parse(o.kind(), o.value()).as_ref() == Ok(o);
                    assert!(refang(&mutated).chars().count() <= mutated.chars().count() + 2, "{mutated}");
                    if let Ok(o) = Observable::guess(&mutated) {
                        assert!(normal(&o), "guess({mutated}) = {o:?} is not normal");
                    }
                    for kind in Kind::ALL {
                        if let Ok(o) = Observable::parse(kind, &mutated) {
                            assert!(normal(&o), "parse({kind:?}, {mutated}) = {o:?} is not normal");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn messages_quote_a_bounded_part_of_huge_values() {
        let huge = "é".repeat(1_000_000);
        let message = Observable::guess(&huge).unwrap_err().to_string();
        assert!(message.len() < 1000, "{} bytes", message.len());
        assert!(message.contains("(2000000 bytes)"), "{message}");
        let e = Observable::parse(Kind::Ipv4, &format!("1.2.3.4{}", "x".repeat(500))).unwrap_err().to_string();
        assert!(e.contains("1.2.3.4x") && e.contains("(507 bytes)"), "{e}");
    }

    #[test]
    fn parent_domains_stop_before_the_tld() {
        assert_eq!(g("a.b.example.com").parent_domains(), vec!["b.example.com", "example.com"]);
        assert!(g("example.com").parent_domains().is_empty());
    }
}
