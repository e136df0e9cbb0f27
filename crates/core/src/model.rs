//! Categories, TLP 2.0 and Admiralty grades: the labels every observation carries.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Why a label could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{value}` is not a valid {what}; expected {expected}")]
pub struct LabelError {
    pub what: &'static str,
    pub value: String,
    pub expected: &'static str,
}

macro_rules! string_enum {
    ($name:ident, $what:literal, { $($variant:ident => $text:literal),+ $(,)? }) => {
        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
        #[cfg(feature = "openapi")]
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                crate::model::string_schema(Some(&[$($text),+]), None)
            }
        }
        #[cfg(feature = "openapi")]
        impl utoipa::ToSchema for $name {}
    };
}

/// The OpenAPI schema of a value serialised as a string: one of `values`,
/// or matching `pattern`.
#[cfg(feature = "openapi")]
pub(crate) fn string_schema(
    values: Option<&[&str]>,
    pattern: Option<&str>,
) -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .enum_values(values.map(|v| v.to_vec()))
        .pattern(pattern)
        .into()
}
pub(crate) use string_enum;

/// What an observable is used for. Feeds' own words are mapped by [`FromStr`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Category {
    Phishing,
    CredentialTheft,
    BankingMalware,
    Ransomware,
    BotnetC2,
    MalwareDistribution,
    Scanning,
    Spam,
    Other,
}

string_enum!(Category, "category", {
    Phishing => "phishing",
    CredentialTheft => "credential-theft",
    BankingMalware => "banking-malware",
    Ransomware => "ransomware",
    BotnetC2 => "botnet-c2",
    MalwareDistribution => "malware-distribution",
    Scanning => "scanning",
    Spam => "spam",
    Other => "other",
});

impl FromStr for Category {
    type Err = LabelError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let norm = s.trim().to_ascii_lowercase().replace(['_', ' '], "-");
        let cat = match norm.as_str() {
            "phishing" | "phish" => Category::Phishing,
            "credential-theft" | "infostealer" | "stealer" | "credential-harvesting" => Category::CredentialTheft,
            "banking-malware" | "banker" | "banking-trojan" => Category::BankingMalware,
            "ransomware" => Category::Ransomware,
            "botnet-c2" | "c2" | "c&c" | "botnet-cc" | "command-and-control" | "botnet" => Category::BotnetC2,
            "malware-distribution" | "malware-download" | "payload-delivery" | "malware" | "exploit-kit" => {
                Category::MalwareDistribution
            }
            "scanning" | "scanner" | "brute-force" | "bruteforce" | "scanning/brute-force" => Category::Scanning,
            "spam" => Category::Spam,
            "other" | "unknown" => Category::Other,
            _ => {
                return Err(LabelError {
                    what: "category",
                    value: s.to_string(),
                    expected: "phishing, credential-theft, banking-malware, ransomware, botnet-c2, \
                               malware-distribution, scanning, spam or other",
                });
            }
        };
        Ok(cat)
    }
}

/// Traffic Light Protocol 2.0. The order is from least to most restrictive,
/// so `max` of two labels is the stricter one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Tlp {
    Clear,
    Green,
    Amber,
    AmberStrict,
    Red,
}

string_enum!(Tlp, "TLP", {
    Clear => "clear",
    Green => "green",
    Amber => "amber",
    AmberStrict => "amber+strict",
    Red => "red",
});

impl FromStr for Tlp {
    type Err = LabelError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let norm = s.trim().to_ascii_lowercase();
        let norm = norm.strip_prefix("tlp:").or_else(|| norm.strip_prefix("tlp-")).unwrap_or(&norm);
        Ok(match norm.trim() {
            "clear" | "white" => Tlp::Clear,
            "green" => Tlp::Green,
            "amber" => Tlp::Amber,
            "amber+strict" | "amber-strict" | "amber_strict" => Tlp::AmberStrict,
            "red" => Tlp::Red,
            _ => {
                return Err(LabelError {
                    what: "TLP",
                    value: s.to_string(),
                    expected: "clear, green, amber, amber+strict or red (TLP 1.0 white is read as clear)",
                });
            }
        })
    }
}

/// Admiralty source reliability, A (completely reliable) to F (cannot be judged).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Reliability {
    A,
    B,
    C,
    D,
    E,
    F,
}

/// Admiralty information credibility, 1 (confirmed) to 6 (cannot be judged).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Credibility(u8);

impl Credibility {
    pub fn new(n: u8) -> Option<Credibility> {
        (1..=6).contains(&n).then_some(Credibility(n))
    }
    pub fn get(self) -> u8 {
        self.0
    }
}

/// An Admiralty grade such as `B2`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Grade {
    pub reliability: Reliability,
    pub credibility: Credibility,
}

impl Grade {
    /// The grade given to a source nobody has graded: reliability and
    /// credibility that cannot be judged.
    pub const UNGRADED: Grade = Grade { reliability: Reliability::F, credibility: Credibility(6) };
}

impl Grade {
    /// The two-character code, e.g. `B2`, without allocating.
    pub fn as_str(self) -> &'static str {
        const CODES: [[&str; 6]; 6] = [
            ["A1", "A2", "A3", "A4", "A5", "A6"],
            ["B1", "B2", "B3", "B4", "B5", "B6"],
            ["C1", "C2", "C3", "C4", "C5", "C6"],
            ["D1", "D2", "D3", "D4", "D5", "D6"],
            ["E1", "E2", "E3", "E4", "E5", "E6"],
            ["F1", "F2", "F3", "F4", "F5", "F6"],
        ];
        let row = CODES.get(self.reliability as usize);
        row.and_then(|r| r.get(usize::from(self.credibility.0).wrapping_sub(1))).copied().unwrap_or("F6")
    }
}

impl Grade {
    /// A compact number for storage: ten times the reliability's position
    /// (A = 1) plus the credibility, so `B2` is 22 and `F6` is 66.
    pub fn code(self) -> u8 {
        10 * (self.reliability as u8 + 1) + self.credibility.0
    }

    pub fn from_code(code: u8) -> Option<Grade> {
        const RELIABILITY: [Reliability; 6] =
            [Reliability::A, Reliability::B, Reliability::C, Reliability::D, Reliability::E, Reliability::F];
        let reliability = *RELIABILITY.get(usize::from(code / 10).checked_sub(1)?)?;
        Some(Grade { reliability, credibility: Credibility::new(code % 10)? })
    }
}

impl fmt::Display for Grade {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Grade {
    type Err = LabelError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || LabelError {
            what: "Admiralty grade",
            value: s.to_string(),
            expected: "a reliability letter A-F followed by a credibility digit 1-6, such as B2",
        };
        let t = s.trim().to_ascii_uppercase();
        let mut chars = t.chars();
        let reliability = match chars.next() {
            Some('A') => Reliability::A,
            Some('B') => Reliability::B,
            Some('C') => Reliability::C,
            Some('D') => Reliability::D,
            Some('E') => Reliability::E,
            Some('F') => Reliability::F,
            _ => return Err(err()),
        };
        let digit = chars.next().and_then(|c| c.to_digit(10)).ok_or_else(err)?;
        if chars.next().is_some() {
            return Err(err());
        }
        let credibility = Credibility::new(digit as u8).ok_or_else(err)?;
        Ok(Grade { reliability, credibility })
    }
}

impl Serialize for Grade {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for Grade {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        string_schema(None, Some("^[A-F][1-6]$"))
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for Grade {}

impl<'de> Deserialize<'de> for Grade {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tlp_orders_by_restriction_and_reads_tlp1() {
        assert!(Tlp::Red > Tlp::AmberStrict && Tlp::AmberStrict > Tlp::Amber && Tlp::Green > Tlp::Clear);
        assert_eq!("TLP:WHITE".parse::<Tlp>().unwrap(), Tlp::Clear);
        assert_eq!("tlp:amber+strict".parse::<Tlp>().unwrap(), Tlp::AmberStrict);
        assert!("purple".parse::<Tlp>().is_err());
    }

    #[test]
    fn grades_round_trip_and_reject_nonsense() {
        let g: Grade = "b2".parse().unwrap();
        assert_eq!(g.to_string(), "B2");
        for r in "ABCDEF".chars() {
            for c in 1..=6 {
                let code = format!("{r}{c}");
                let grade = code.parse::<Grade>().unwrap();
                assert_eq!(grade.as_str(), code);
                assert_eq!(Grade::from_code(grade.code()), Some(grade));
            }
        }
        assert_eq!(Grade::from_code(70), None);
        assert_eq!(Grade::from_code(7), None);
        for bad in ["", "G1", "A7", "A0", "A12", "2B"] {
            assert!(bad.parse::<Grade>().is_err(), "{bad}");
        }
    }

    #[test]
    fn categories_map_feed_words() {
        assert_eq!("botnet_cc".parse::<Category>().unwrap(), Category::BotnetC2);
        assert_eq!("malware_download".parse::<Category>().unwrap(), Category::MalwareDistribution);
        assert_eq!("Infostealer".parse::<Category>().unwrap(), Category::CredentialTheft);
        for c in Category::ALL {
            assert_eq!(c.as_str().parse::<Category>().unwrap(), *c);
        }
    }
}
