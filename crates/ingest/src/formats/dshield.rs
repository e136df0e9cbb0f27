//! DShield's recommended block list: tab-separated `start end netblock
//! attacks name country email` rows after `#` comments.

use dragnet_core::{Category, FileError, Observable, Parsed, Record, Reject};

use crate::text;

pub fn parse(input: &[u8]) -> Result<Parsed, FileError> {
    text::each_line(input, |number, raw, parsed| {
        let t = raw.trim();
        if t.starts_with('#') || t.starts_with("Start") {
            return;
        }
        let fields: Vec<&str> = raw.split('\t').map(str::trim).collect();
        let (Some(start), Some(netblock)) = (fields.first(), fields.get(2)) else {
            parsed.rejects.push(Reject::new(number, None, "expected tab-separated start, end and netblock", raw));
            return;
        };
        let cidr = format!("{start}/{netblock}");
        match Observable::guess(&cidr) {
            Ok(obs) if obs.ip_range().is_some() => {
                let mut r = Record::new(obs, number, raw);
                r.category = Some(Category::Scanning);
                if let Some(attacks) = fields.get(3).filter(|a| !a.is_empty()) {
                    r.tags.push(format!("attacks:{attacks}"));
                }
                r.tags.extend(fields.get(4..6).into_iter().flatten().filter(|s| !s.is_empty()).map(|s| s.to_string()));
                parsed.records.push(r);
            }
            Ok(_) | Err(_) => {
                parsed.rejects.push(Reject::new(number, Some("netblock"), format!("`{cidr}` is not a network"), raw))
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_rows_and_rejects_bad_ones() {
        let input = b"#   DShield.org Recommended Block List\nStart\tEnd\tNetblock\tAttacks\tName\tCountry\temail\n\
            61.240.144.0\t61.240.144.255\t24\t9483\tCHINANET\tCN\tabuse@example.net\n194.63.140.0\t194.63.140.255\t24\t585\t\t\t\n\
            1.2.3.4\t1.2.3.255\t24\t1\n garbage\n# END\n";
        let p = parse(input).unwrap();
        assert_eq!(p.records.len(), 2);
        assert_eq!(p.records[0].observable.value(), "61.240.144.0/24");
        assert_eq!(p.records[0].tags, vec!["attacks:9483", "CHINANET", "CN"]);
        assert_eq!(p.rejects.iter().map(|r| r.line).collect::<Vec<_>>(), vec![5, 6]);
    }
}
