//! Abuse contacts: reading a contacts file (a pure function from bytes to
//! contacts or line-numbered errors), importing it all or nothing, and
//! finding the desks responsible for a server.

use std::collections::BTreeSet;
use std::net::IpAddr;

use dragnet_core::store::AbuseContact;
use dragnet_core::{Kind, Observable, Store, Timestamp};

use crate::servers::ServerView;
use crate::{Error, Result};

/// Most contacts one file may hold.
const MAX_CONTACTS: usize = 1_000_000;
const MAX_EMAIL: usize = 254;
const MAX_NAME: usize = 200;

/// A line that could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadLine {
    pub line: usize,
    pub field: &'static str,
    pub reason: String,
}

/// Reads `network,email[,name]` lines: `network` is `AS64500` (or
/// `64500`) or a CIDR prefix; `#` starts a comment; a first line naming
/// the columns is skipped. Every bad line is reported, none is kept.
pub fn parse(text: &[u8]) -> std::result::Result<Vec<AbuseContact>, Vec<BadLine>> {
    let mut contacts = Vec::new();
    let mut bad = Vec::new();
    let text = String::from_utf8_lossy(text);
    for (n, line) in text.lines().enumerate() {
        let number = n + 1;
        let line = line.split('#').next().unwrap_or_default().trim();
        if line.is_empty() || (number == 1 && line.to_ascii_lowercase().starts_with("network,")) {
            continue;
        }
        let mut fields = line.splitn(3, ',').map(str::trim);
        let (network, email, name) = (fields.next().unwrap_or_default(), fields.next(), fields.next());
        let mut fail = |field, reason: String| bad.push(BadLine { line: number, field, reason });
        let network = match normal_network(network) {
            Ok(n) => n,
            Err(reason) => {
                fail("network", reason);
                continue;
            }
        };
        let email = match email.map(check_email) {
            Some(Ok(e)) => e,
            Some(Err(reason)) => {
                fail("email", reason);
                continue;
            }
            None => {
                fail("email", "missing".into());
                continue;
            }
        };
        let name = name.unwrap_or_default();
        if name.chars().count() > MAX_NAME || name.chars().any(char::is_control) {
            fail("name", format!("longer than {MAX_NAME} characters, or holds a control character"));
            continue;
        }
        if contacts.len() == MAX_CONTACTS {
            fail("network", format!("more than {MAX_CONTACTS} contacts in one file"));
            break;
        }
        contacts.push(AbuseContact { network, email, name: name.to_string() });
    }
    if bad.is_empty() { Ok(contacts) } else { Err(bad) }
}

/// `AS<n>` for an ASN, the normal form of a prefix.
fn normal_network(text: &str) -> std::result::Result<String, String> {
    let digits = text.strip_prefix("AS").or_else(|| text.strip_prefix("as")).unwrap_or(text);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        return digits.parse::<u32>().map(|n| format!("AS{n}")).map_err(|_| format!("`{text}`: not an ASN"));
    }
    match Observable::parse(Kind::Cidr, text) {
        Ok(o) if o.kind() == Kind::Cidr => Ok(o.value().to_string()),
        // A /32 or /128 folds to an address: keep it as a one-address prefix.
        Ok(o) => Ok(if o.value().contains(':') { format!("{}/128", o.value()) } else { format!("{}/32", o.value()) }),
        Err(e) => Err(format!("`{text}`: not an ASN or a CIDR prefix ({e})")),
    }
}

/// A plain address (`local@domain`), no display name, nothing that could
/// break a mail header.
fn check_email(text: &str) -> std::result::Result<String, String> {
    let ok = text.len() <= MAX_EMAIL
        && text.split('@').count() == 2
        && text.split('@').all(|part| !part.is_empty())
        && text.chars().all(|c| c.is_ascii_graphic() && !"<>()[]\\,;:\"".contains(c))
        && text.rsplit('@').next().is_some_and(|domain| domain.contains('.'));
    if ok { Ok(text.to_ascii_lowercase()) } else { Err(format!("`{text}`: not a plain e-mail address")) }
}

/// Reads and stores a contacts file, all or nothing, as done by `by`.
pub fn import(store: &mut dyn Store, by: &str, path: &std::path::Path, now: Timestamp) -> Result<usize> {
    let bytes = std::fs::read(path).map_err(Error::io("read", path))?;
    import_bytes(store, by, &path.display().to_string(), &bytes, now)
}

/// Reads and stores contacts given as bytes (`name` names them in errors).
pub fn import_bytes(store: &mut dyn Store, by: &str, name: &str, bytes: &[u8], now: Timestamp) -> Result<usize> {
    let contacts = parse(bytes).map_err(|bad| {
        let lines: Vec<String> =
            bad.iter().take(20).map(|b| format!("{name}:{}: {}: {}", b.line, b.field, b.reason)).collect();
        let more = if bad.len() > 20 { format!(" (and {} more)", bad.len() - 20) } else { String::new() };
        Error::invalid(format!("{} bad lines, nothing imported:\n{}{more}", bad.len(), lines.join("\n")))
    })?;
    store.put_contacts(&contacts, by, now)?;
    Ok(contacts.len())
}

/// The abuse desks responsible for a server: for each of its addresses,
/// the contact of the longest prefix covering it, else that of its ASN.
pub fn responsible(contacts: &[AbuseContact], server: &ServerView) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for m in &server.members {
        let Ok(ip) = m.value.parse::<IpAddr>() else { continue };
        let by_prefix = contacts
            .iter()
            .filter(|c| !c.network.starts_with("AS") && crate::packages::covers(&c.network, ip))
            .max_by_key(|c| c.network.rsplit('/').next().and_then(|l| l.parse::<u8>().ok()).unwrap_or(0));
        let by_asn = || m.asn.and_then(|asn| contacts.iter().find(|c| c.network == format!("AS{asn}")));
        if let Some(c) = by_prefix.or_else(by_asn) {
            out.insert(c.email.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contact_files_are_read_or_refused_line_by_line() {
        let good = "network,email,name\nAS64500,Abuse@Host.example,Host Ltd\n45.10.0.0/16, noc@ee.example \n64501,a@b.example # comment\n";
        let got = parse(good.as_bytes()).unwrap();
        let networks: Vec<&str> = got.iter().map(|c| c.network.as_str()).collect();
        assert_eq!(networks, ["AS64500", "45.10.0.0/16", "AS64501"]);
        assert_eq!(got[0].email, "abuse@host.example");
        let bad = "AS64500,abuse@host.example\n45.10.0.1/16,a@b.example\nAS1,not-an-address\nAS2,\"x\"@y.example\nAS3,a@b.example\r\nBcc: x@y.example,z@y.example\n10.0.0.0/8\nAS99999999999,a@b.example\n";
        let errors = parse(bad.as_bytes()).unwrap_err();
        let lines: Vec<(usize, &str)> = errors.iter().map(|e| (e.line, e.field)).collect();
        assert_eq!(lines, [(2, "network"), (3, "email"), (4, "email"), (6, "network"), (7, "email"), (8, "network")]);
        // Non-UTF-8 and non-ASCII text: errors, never a panic.
        assert!(parse(b"\xff\xfe,\xc3\x28@x.example\n").is_err());
        assert!(parse("AS1,abuse@höst.example\n".as_bytes()).is_err());
    }
}
