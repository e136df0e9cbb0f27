//! Plain lists: one value per line; `#`, `;` and `//` comments; trailing
//! comments after the value; hosts-file lines (`0.0.0.0 evil.example`).

use dragnet_core::{FileError, Observable, Parsed, Record, Reject};

use crate::text;

pub fn parse(input: &[u8]) -> Result<Parsed, FileError> {
    text::each_line(input, |number, raw, parsed| {
        let t = raw.trim();
        if t.starts_with('#') || t.starts_with(';') || t.starts_with("//") {
            return;
        }
        let mut tokens = t.split_whitespace();
        let first = tokens.next().unwrap_or_default();
        let value = match (first, tokens.next()) {
            ("0.0.0.0" | "127.0.0.1" | "::" | "::1", Some(host)) if !host.starts_with('#') => host,
            _ => first,
        };
        match Observable::guess(value) {
            Ok(obs) => parsed.records.push(Record::new(obs, number, raw)),
            Err(e) => parsed.rejects.push(Reject::new(number, None, e.to_string(), raw)),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use dragnet_core::Kind;

    #[test]
    fn values_comments_and_hosts_lines() {
        let input = b"# list\n192.0.2.4\n198.51.100.0/24 ; net\nevil[.]example # defanged\n0.0.0.0 ads.example\n// c\nnot a value\n10.0.0.1/8\n";
        let p = parse(input).unwrap();
        let got: Vec<(Kind, &str)> = p.records.iter().map(|r| (r.observable.kind(), r.observable.value())).collect();
        assert_eq!(
            got,
            vec![
                (Kind::Ipv4, "192.0.2.4"),
                (Kind::Cidr, "198.51.100.0/24"),
                (Kind::Domain, "evil.example"),
                (Kind::Domain, "ads.example")
            ]
        );
        assert_eq!(p.rejects.iter().map(|r| r.line).collect::<Vec<_>>(), vec![7, 8]);
        assert!(p.rejects[1].reason.contains("host bits"));
    }
}
