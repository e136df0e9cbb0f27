//! Property tests (issue 8, "Property tests (proptest)") for the pure parts of
//! `dragnet-core`:
//!
//! 1. normalisation is idempotent: whatever `Observable::guess` or
//!    `Observable::parse` makes of a value, parsing its normal value again
//!    gives the same observable, and neither ever panics;
//! 2. `parse_timestamp` agrees with `jiff`, a well-kept time library, on every
//!    form it claims to read;
//! 3. the score is monotone in corroboration and stays within 0–100.
//!
//! CIDR cover and the prefix index are in `crates/analytics/tests/properties.rs`.

use std::net::{Ipv4Addr, Ipv6Addr};

use dragnet_core::observable::refang;
use dragnet_core::score::{ScoringConfig, explain_observations};
use dragnet_core::store::Observation;
use dragnet_core::{Category, Grade, Kind, Observable, Tlp, parse_timestamp};
use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::TestCaseError;

/// 256 cases a property (a fraction of a second each in debug builds);
/// `PROPTEST_CASES=100000` for a long run.
fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(256);
    ProptestConfig { cases, failure_persistence: None, ..ProptestConfig::default() }
}

// ---------------------------------------------------------------------------
// 1. Normalisation
// ---------------------------------------------------------------------------

/// Kinds `guess` can produce; the others (JA3, JARM, x509, SSH keys) are
/// reached only through `parse` with an explicit kind.
fn guessable(kind: Kind) -> bool {
    matches!(
        kind,
        Kind::Ipv4
            | Kind::Ipv6
            | Kind::Cidr
            | Kind::Domain
            | Kind::Url
            | Kind::Md5
            | Kind::Sha1
            | Kind::Sha256
            | Kind::Email
            | Kind::Asn
    )
}

/// The normal value of `o` is a fixed point: `parse(kind, v)` gives `o`
/// back, and so does `guess(v)` when `o` itself came from `guess`.
fn assert_fixed_point(input: &str, o: &Observable, from_guess: bool) -> Result<(), TestCaseError> {
    let v = o.value();
    let again = Observable::parse(o.kind(), v);
    prop_assert_eq!(
        again.as_ref(),
        Ok(o),
        "input {:?} normalised to {} {:?}, which parses as {} again to {:?}",
        input,
        o.kind(),
        v,
        o.kind(),
        again
    );
    if from_guess {
        prop_assert!(guessable(o.kind()), "guess made a {} of {:?}", o.kind(), input);
        let again = Observable::guess(v);
        prop_assert_eq!(
            again.as_ref(),
            Ok(o),
            "input {:?} guessed as {} {:?}, which is guessed again as {:?}",
            input,
            o.kind(),
            v,
            again
        );
    }
    Ok(())
}

/// Checks `guess(input)` and `parse(kind, input)` for every kind: no panic,
/// and every success is a fixed point.
fn check_all(input: &str) -> Result<(), TestCaseError> {
    if let Ok(o) = Observable::guess(input) {
        assert_fixed_point(input, &o, true)?;
    }
    for kind in Kind::ALL {
        if let Ok(o) = Observable::parse(kind, input) {
            assert_fixed_point(input, &o, false)?;
        }
    }
    Ok(())
}

fn with_random_case(s: String, flips: Vec<bool>) -> String {
    s.chars()
        .zip(flips.into_iter().chain(std::iter::repeat(false)))
        .map(|(c, up)| if up { c.to_ascii_uppercase() } else { c })
        .collect()
}

fn ipv4_text() -> impl Strategy<Value = String> {
    any::<Ipv4Addr>().prop_map(|a| a.to_string())
}

fn ipv6_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<Ipv6Addr>().prop_map(|a| a.to_string()),
        // Fully written out, upper-case: a spelling that must fold.
        any::<Ipv6Addr>()
            .prop_map(|a| { a.segments().iter().map(|s| format!("{s:04X}")).collect::<Vec<_>>().join(":") }),
        // Few non-zero groups, so `::` compression is exercised.
        (any::<u16>(), any::<u16>(), 0..8usize).prop_map(|(a, b, at)| {
            let mut seg = [0u16; 8];
            seg[0] = a;
            seg[at] = b;
            Ipv6Addr::from(seg).to_string()
        }),
        // IPv4-mapped, in both spellings.
        (any::<Ipv4Addr>(), any::<bool>())
            .prop_map(|(a, upper)| { if upper { format!("::FFFF:{a}") } else { a.to_ipv6_mapped().to_string() } }),
    ]
}

fn cidr_text() -> impl Strategy<Value = String> {
    prop_oneof![
        // IPv4, host bits cleared (or not: then it must be refused).
        (any::<u32>(), 0..=32u32, any::<bool>()).prop_map(|(a, len, clear)| {
            let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
            let a = if clear { a & mask } else { a };
            format!("{}/{len}", Ipv4Addr::from(a))
        }),
        (any::<u128>(), 0..=128u32, any::<bool>()).prop_map(|(a, len, clear)| {
            let mask = if len == 0 { 0 } else { u128::MAX << (128 - len) };
            let a = if clear { a & mask } else { a };
            format!("{}/{len}", Ipv6Addr::from(a))
        }),
        // IPv4-mapped IPv6 networks.
        (any::<u32>(), 96..=128u32).prop_map(|(a, len)| {
            let mask = if len == 96 { 0 } else { u32::MAX << (128 - len) };
            format!("::ffff:{}/{len}", Ipv4Addr::from(a & mask))
        }),
    ]
}

fn ascii_label() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9]([a-zA-Z0-9_-]{0,8}[a-zA-Z0-9])?"
}

fn label() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => ascii_label(),
        1 => select(vec!["bücher", "MÜNCHEN", "例え", "пример", "ÉCOLE", "straße", "ｆｕｌｌｗｉｄｔｈ", "ü", "xn--bcher-kva", "a-b"])
            .prop_map(str::to_string),
    ]
}

/// A domain as feeds write it: mixed case, IDN labels, an optional trailing
/// dot, dots sometimes defanged or written as an ideographic full stop.
fn domain_text() -> impl Strategy<Value = String> {
    let sep = select(vec![".", ".", ".", ".", "[.]", "(.)", "[dot]", "。"]);
    (
        prop::collection::vec((label(), sep), 1..6),
        prop_oneof![ascii_label(), select(vec!["com", "ORG", "example", "xn--p1ai", "рф"]).prop_map(str::to_string)],
        select(vec!["", "", "", "."]),
    )
        .prop_map(|(labels, tld, end)| {
            let mut s = String::new();
            for (l, sep) in labels {
                s.push_str(&l);
                s.push_str(sep);
            }
            s.push_str(&tld);
            s.push_str(end);
            s
        })
}

/// Long names of short IDN labels: short as typed, long once in punycode.
fn long_domain_text() -> impl Strategy<Value = String> {
    (prop::collection::vec(select(vec!["ü", "é", "a", "例"]), 20..90), select(vec!["com", "de"]))
        .prop_map(|(labels, tld)| format!("{}.{tld}", labels.join(".")))
}

fn url_text() -> impl Strategy<Value = String> {
    let scheme = select(vec![
        "http://",
        "HTTP://",
        "https://",
        "hxxp://",
        "hxxps://",
        "HXXPS://",
        "ftp://",
        "fxp://",
        "ws://",
        "wss://",
        "tcp://",
        "udp://",
        "irc://",
        "smb://",
        "file://",
        "gopher://",
        "",
    ]);
    let host = prop_oneof![
        4 => domain_text(),
        1 => ipv4_text(),
        1 => any::<Ipv6Addr>().prop_map(|a| format!("[{a}]")),
    ];
    let port = prop_oneof![3 => Just(String::new()), 1 => (0..70000u32).prop_map(|p| format!(":{p}"))];
    let segment = prop_oneof![
        4 => "[a-zA-Z0-9._~!$&'()*+,;=:@\\[\\]-]{0,8}",
        1 => select(vec![".", "..", "%41", "%2e", "%2E%2E", "é", "a b", "[.]", "(.)", "[dot]", "[", "]", "[[", "]]", "\\", "%"])
            .prop_map(str::to_string),
    ];
    let path = prop::collection::vec(segment, 0..5)
        .prop_map(|s| if s.is_empty() { String::new() } else { format!("/{}", s.join("/")) });
    let query = prop_oneof![2 => Just(String::new()), 1 => "\\?[a-zA-Z0-9=&%\\[\\]. é-]{0,10}"];
    let fragment = prop_oneof![2 => Just(String::new()), 1 => "#[a-z0-9]{0,5}"];
    (scheme, host, port, path, query, fragment).prop_map(|(s, h, p, pa, q, f)| {
        // Without a scheme, a path is what makes it a URL rather than a domain.
        let pa = if s.is_empty() && pa.is_empty() { "/x".to_string() } else { pa };
        format!("{s}{h}{p}{pa}{q}{f}")
    })
}

fn email_text() -> impl Strategy<Value = String> {
    let local_part = prop_oneof![
        3 => "[a-zA-Z0-9._%+()\\[\\]-]{1,10}",
        1 => select(vec!["[.]", "[dot]", "[DOT]", "(.)", "[", "]", "Émile", "ÆØÅ", "İ", "a.b"]).prop_map(str::to_string),
    ];
    (
        select(vec!["", "", "", "mailto:"]),
        prop::collection::vec(local_part, 1..4),
        select(vec!["@", "@", "@", "[@]"]),
        domain_text(),
    )
        .prop_map(|(m, local, at, d)| format!("{m}{}{at}{d}", local.concat()))
}

fn hex_text() -> impl Strategy<Value = String> {
    (select(vec![32usize, 40, 62, 64]), prop::collection::vec(any::<bool>(), 64)).prop_flat_map(|(len, flips)| {
        prop::string::string_regex(&format!("[0-9a-f]{{{len}}}"))
            .unwrap()
            .prop_map(move |s| with_random_case(s, flips.clone()))
    })
}

fn sha256_with_colons() -> impl Strategy<Value = String> {
    prop::collection::vec(any::<u8>(), 32)
        .prop_map(|b| b.iter().map(|x| format!("{x:02X}")).collect::<Vec<_>>().join(":"))
}

fn asn_text() -> impl Strategy<Value = String> {
    (
        select(vec!["AS", "as", "", "As", "aS", " AS"]),
        prop_oneof![any::<u32>().prop_map(u64::from), any::<u64>()],
        any::<bool>(),
    )
        .prop_map(|(p, n, zero)| format!("{p}{}{n}", if zero { "0" } else { "" }))
}

fn ssh_key_text() -> impl Strategy<Value = String> {
    "(ssh-ed25519 |ecdsa-sha2-nistp256 )?[A-Za-z0-9+/]{16,60}={0,2}"
}

/// Whitespace around a value is not part of it.
fn padded(s: impl Strategy<Value = String>) -> impl Strategy<Value = String> {
    (select(vec!["", "", "", " ", "\t"]), s, select(vec!["", "", "", " ", "\n"]))
        .prop_map(|(a, s, b)| format!("{a}{s}{b}"))
}

fn realistic_value() -> impl Strategy<Value = String> {
    padded(prop_oneof![
        ipv4_text(),
        ipv6_text(),
        cidr_text(),
        domain_text(),
        url_text(),
        email_text(),
        hex_text(),
        sha256_with_colons(),
        asn_text(),
        ssh_key_text(),
    ])
}

/// Strings that look a little like indicators: their alphabet, some
/// multi-byte characters, and the defanging brackets.
fn indicator_soup() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9.:/@\\[\\]()%_ -]{0,12}(é|€|😀|ü|\u{0}|\u{200b}|。|[.]|hxxp://|AS|::)?[a-zA-Z0-9.:/@\\[\\]()%_-]{0,12}"
}

proptest! {
    #![proptest_config(config())]

    /// Realistic values of every kind normalise to a fixed point.
    #[test]
    fn normalisation_of_realistic_values_is_idempotent(s in realistic_value()) {
        check_all(&s)?;
    }

    /// E-mail addresses and URLs thick with defanging and brackets: the
    /// normal value holds no defanging that another `guess` would undo.
    #[test]
    fn normalisation_of_defanged_values_is_idempotent(
        parts in prop::collection::vec(select(vec!["a", "B", ".", "[", "]", "(", ")", "[.]", "[dot]", "[DOT]", "(.)", "[@]"]), 1..6),
        host in domain_text(),
        url in any::<bool>(),
    ) {
        let s = if url { format!("hxxp://{host}/{}", parts.concat()) } else { format!("{}@{host}", parts.concat()) };
        check_all(&s)?;
    }

    /// Names short as typed but longer than DNS allows (253 bytes) once in
    /// punycode: whatever is accepted must be accepted again.
    #[test]
    fn normalisation_of_long_idn_domains_is_idempotent(s in padded(long_domain_text())) {
        check_all(&s)?;
        let email = format!("a@{s}");
        check_all(&email)?;
        check_all(&format!("http://{s}/"))?;
    }

    /// Each generator really produces values of its kind, so the property
    /// above is not vacuous: the canonical spellings are all accepted.
    #[test]
    fn realistic_values_are_mostly_accepted(
        v4 in ipv4_text(),
        v6 in ipv6_text(),
        hex in hex_text(),
        n in any::<u32>(),
    ) {
        prop_assert_eq!(Observable::guess(&v4).map(|o| o.kind()), Ok(Kind::Ipv4));
        let six = Observable::guess(&v6).unwrap();
        prop_assert!(matches!(six.kind(), Kind::Ipv4 | Kind::Ipv6), "{:?}", six);
        let expected = match hex.len() { 32 => Some(Kind::Md5), 40 => Some(Kind::Sha1), 64 => Some(Kind::Sha256), _ => None };
        prop_assert_eq!(Observable::guess(&hex).ok().map(|o| o.kind()), expected);
        prop_assert_eq!(Observable::parse(Kind::Asn, &n.to_string()).unwrap().value().to_string(), format!("AS{n}"));
        prop_assert_eq!(Observable::guess(&format!("as{n}")).unwrap().value().to_string(), format!("AS{n}"));
    }

    /// Arbitrary Unicode: no panic, and whatever is accepted is normal.
    #[test]
    fn normalisation_of_arbitrary_strings_never_panics_and_is_idempotent(s in "\\PC{0,40}") {
        let _ = refang(&s);
        check_all(&s)?;
    }

    #[test]
    fn normalisation_of_any_string_never_panics(s in any::<String>()) {
        check_all(&s)?;
    }

    #[test]
    fn normalisation_of_indicator_like_strings_is_idempotent(s in indicator_soup()) {
        check_all(&s)?;
    }
}

/// Known inputs the properties above must keep covering (found by them or
/// written from reading the code), as plain regression tests.
#[test]
fn normal_forms_of_tricky_inputs_are_fixed_points() {
    let cases = [
        // Found by the properties above; each fails until the bug is fixed:
        // a defanging token survives `guess`'s one `refang` pass (nested, or
        // made by lower-casing), and the next `guess` removes it.
        "[DOT]@A.com",
        "a[[.]]b@x.com",
        "http://a.com/[[[.]]]",
        // 32 one-letter IDN labels: 97 bytes as typed, 259 in punycode,
        // past the 253 the length check applies before conversion.
        &format!("{}com", "ü.".repeat(32)),
        "::ffff:10.0.0.0/104",
        "::FFFF:1.2.3.4",
        "0.0.0.0/0",
        "HXXPS://Evil[.]COM:443/a/../b?q=1#frag",
        "bücher.example.",
        "mailto:Bad.Guy@Evil.COM",
        "AS013335",
        "evil.com/payload.exe",
    ];
    let failures: Vec<String> =
        cases.iter().filter_map(|input| check_all(input).err().map(|e| format!("{input}: {e}"))).collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

// ---------------------------------------------------------------------------
// 2. Timestamps
// ---------------------------------------------------------------------------

/// The oracle's reading of an instant as Unix seconds, rounded down (the
/// second that holds the instant), which is what `parse_timestamp` returns.
fn floor_seconds(t: jiff::Timestamp) -> i64 {
    t.as_second() - i64::from(t.subsec_nanosecond() < 0)
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// A timestamp's fields as generated; they may be out of range.
#[derive(Debug, Clone)]
struct Fields {
    year: i64,
    month: i64,
    day: i64,
    hour: i64,
    minute: i64,
    second: i64,
    /// Digits after the decimal point, if any.
    fraction: Option<String>,
    /// Sign (+1/−1), hours and minutes.
    offset: (i64, i64, i64),
}

impl Fields {
    /// Whether RFC 3339 allows these fields (§5.6 and §5.7: second 60 is a
    /// leap second, the offset's hour is 00–23 and its minute 00–59).
    fn in_range(&self) -> bool {
        let (_, oh, om) = self.offset;
        (1..=12).contains(&self.month)
            && (1..=days_in_month(self.year, self.month)).contains(&self.day)
            && (0..=23).contains(&self.hour)
            && (0..=59).contains(&self.minute)
            && (0..=60).contains(&self.second)
            && (0..=23).contains(&oh)
            && (0..=59).contains(&om)
    }

    /// The instant according to jiff, computed from the fields, not from any
    /// text. A leap second `:60` is read by `parse_timestamp` as the second
    /// after `:59` (the next minute's `:00`); jiff has no leap seconds and
    /// clamps `:60` to `:59` when parsing, so this oracle adds the second
    /// explicitly. Both are defensible; ours is documented here.
    fn oracle(&self) -> i64 {
        let (sign, oh, om) = self.offset;
        let offset = jiff::tz::Offset::from_seconds((sign * (oh * 3600 + om * 60)) as i32).unwrap();
        let dt = jiff::civil::date(self.year as i16, self.month as i8, self.day as i8).at(
            self.hour as i8,
            self.minute as i8,
            self.second.min(59) as i8,
            0,
        );
        let ts = dt.to_zoned(jiff::tz::TimeZone::fixed(offset)).unwrap().timestamp();
        floor_seconds(ts) + i64::from(self.second == 60)
    }

    fn date(&self) -> String {
        format!("{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }

    fn frac(&self) -> String {
        self.fraction.as_ref().map(|f| format!(".{f}")).unwrap_or_default()
    }

    /// RFC 3339 proper: `T`, `t` or (as §5.6 allows) a space between date and
    /// time, seconds always, `Z`/`z` or `±hh:mm`.
    fn rfc3339(&self, sep: char, zulu: &str) -> String {
        let (sign, oh, om) = self.offset;
        let zone = if sign == 1 && oh == 0 && om == 0 && !zulu.is_empty() {
            zulu.to_string()
        } else {
            format!("{}{oh:02}:{om:02}", if sign < 0 { '-' } else { '+' })
        };
        format!("{}{sep}{:02}:{:02}:{:02}{}{zone}", self.date(), self.hour, self.minute, self.second, self.frac())
    }
}

fn fields(valid: bool) -> impl Strategy<Value = Fields> {
    let (months, days, hours, minutes, oh, om) = if valid {
        (1..=12i64, 1..=31i64, 0..=23i64, 0..=59i64, 0..=23i64, 0..=59i64)
    } else {
        (0..=13, 0..=32, 0..=25, 0..=61, 0..=25, 0..=61)
    };
    let seconds = if valid { prop_oneof![20 => 0..=59i64, 1 => Just(60i64)].boxed() } else { (0..=62i64).boxed() };
    let fraction = prop_oneof![2 => Just(None), 1 => "[0-9]{1,12}".prop_map(Some)];
    let offset = prop_oneof![1 => Just((1i64, 0i64, 0i64)), 3 => (select(vec![1i64, -1]), oh, om)];
    // Years 1..=9998 keep every instant, whatever its offset, inside jiff's range.
    (1..=9998i64, months, days, hours, minutes, seconds, fraction, offset).prop_map(
        move |(year, month, day, hour, minute, second, fraction, offset)| {
            // When valid, clamp the day into the month rather than filter.
            let day = if valid { day.min(days_in_month(year, month)) } else { day };
            Fields { year, month, day, hour, minute, second, fraction, offset }
        },
    )
}

/// A strict RFC 3339 `date-time` recogniser (§5.6), ranges per §5.7; case
/// of `T` and `Z` ignored (§5.6 note), a space accepted as the separator
/// (§5.6 note). Returns `None` when `s` is not RFC 3339, else `s` with its
/// fraction cut to nine digits: RFC 3339 allows any number, jiff reads at
/// most nine (nanoseconds), and the cut never changes the whole second.
fn strict_rfc3339(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let d = b.get(r)?;
        d.iter().all(u8::is_ascii_digit).then(|| d.iter().fold(0i64, |n, c| n * 10 + i64::from(c - b'0')))
    };
    let year = num(0..4)?;
    let month = num(5..7)?;
    let day = num(8..10)?;
    let hour = num(11..13)?;
    let minute = num(14..16)?;
    let second = num(17..19)?;
    if b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') || b.get(13) != Some(&b':') || b.get(16) != Some(&b':') {
        return None;
    }
    if !matches!(b.get(10), Some(b'T' | b't' | b' ')) {
        return None;
    }
    if !(1..=12).contains(&month)
        || !(1..=days_in_month(year, month)).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let mut rest = b.get(19..)?;
    let mut fraction = 0;
    if let Some(r) = rest.strip_prefix(b".") {
        fraction = r.iter().take_while(|c| c.is_ascii_digit()).count();
        if fraction == 0 {
            return None;
        }
        rest = r.get(fraction..)?;
    }
    let cut = |s: &str| {
        let keep = 20 + fraction.min(9);
        format!("{}{}", s.get(..keep).unwrap_or(s), s.get(20 + fraction..).unwrap_or(""))
    };
    match rest {
        [b'Z' | b'z'] => Some(cut(s)),
        [b'+' | b'-', h1, h2, b':', m1, m2] => {
            if ![h1, h2, m1, m2].iter().all(|c| c.is_ascii_digit()) {
                return None;
            }
            let oh = i64::from(h1 - b'0') * 10 + i64::from(h2 - b'0');
            let om = i64::from(m1 - b'0') * 10 + i64::from(m2 - b'0');
            (oh <= 23 && om <= 59).then(|| cut(s))
        }
        _ => None,
    }
}

/// A valid timestamp's text with one character inserted, removed or
/// replaced, from an alphabet of digits, separators and multi-byte
/// characters: mostly-valid strings, where the disagreements would hide.
fn mutated_timestamp() -> impl Strategy<Value = String> {
    let alphabet =
        select(vec!['0', '1', '2', '5', '9', '-', ':', '.', 'T', 't', ' ', 'Z', 'z', '+', 'é', '€', '😀', '\u{0}']);
    (
        fields(true),
        select(vec!['T', 't', ' ']),
        select(vec!["Z", "z", ""]),
        prop::collection::vec((0..3u8, any::<prop::sample::Index>(), alphabet), 0..3),
    )
        .prop_map(|(f, sep, zulu, edits)| {
            let mut chars: Vec<char> = f.rfc3339(sep, zulu).chars().collect();
            for (op, at, c) in edits {
                let i = at.index(chars.len() + 1);
                match op {
                    0 => chars.insert(i, c),
                    1 if i < chars.len() => {
                        chars.remove(i);
                    }
                    _ if i < chars.len() => chars[i] = c,
                    _ => chars.push(c),
                }
            }
            chars.into_iter().collect()
        })
}

proptest! {
    #![proptest_config(config())]

    /// Every form `parse_timestamp` documents, rendered from valid fields,
    /// reads as the instant jiff computes from the same fields.
    #[test]
    fn timestamps_in_every_documented_form_agree_with_jiff(
        f in fields(true),
        sep in select(vec!['T', 't', ' ']),
        zulu in select(vec!["Z", "z", ""]),
        form in 0..6u8,
        quoted in any::<bool>(),
    ) {
        let (sign, oh, om) = f.offset;
        let s = sign_char(sign);
        let hms = format!("{:02}:{:02}:{:02}{}", f.hour, f.minute, f.second, f.frac());
        let text = match form {
            // RFC 3339.
            0 => f.rfc3339(sep, zulu),
            // Offsets without the colon (ISO 8601 basic), as syslog-ish feeds write.
            1 => format!("{}{sep}{hms}{s}{oh:02}{om:02}", f.date()),
            // A space before the offset, or `UTC` for a zero offset.
            2 if (oh, om) == (0, 0) => format!("{} {hms} UTC", f.date()),
            2 => format!("{} {hms} {s}{oh:02}:{om:02}", f.date()),
            // No seconds: `hh:mm` then the offset.
            3 => format!("{}{sep}{:02}:{:02}{s}{oh:02}:{om:02}", f.date(), f.hour, f.minute),
            // `2021-01-17 07:44:46`: no zone, taken as UTC.
            4 => format!("{} {hms}", f.date()),
            // A bare date: midnight UTC.
            _ => f.date(),
        };
        let expected = match form {
            3 => Fields { second: 0, fraction: None, ..f.clone() }.oracle(),
            4 => Fields { offset: (1, 0, 0), ..f.clone() }.oracle(),
            5 => Fields { hour: 0, minute: 0, second: 0, fraction: None, offset: (1, 0, 0), ..f.clone() }.oracle(),
            _ => f.oracle(),
        };
        let text = if quoted { format!("\"{text}\"") } else { text };
        prop_assert_eq!(parse_timestamp(&text), Some(expected), "{:?} from {:?}", text, f);
    }

    /// RFC 3339 text, read by jiff's own parser: the two agree (jiff reads at
    /// most nine fraction digits, so only those are generated here).
    #[test]
    fn rfc3339_text_agrees_with_jiffs_parser(
        f in fields(true),
        sep in select(vec!['T', 't', ' ']),
        zulu in select(vec!["Z", "z", ""]),
    ) {
        let f = Fields { fraction: f.fraction.map(|d| d.chars().take(9).collect()), ..f };
        let text = f.rfc3339(sep, zulu);
        let theirs: jiff::Timestamp = text.parse().map_err(|e| TestCaseError::fail(format!("jiff refused {text:?}: {e}")))?;
        // jiff clamps a leap second to :59 (see `Fields::oracle`).
        let expected = floor_seconds(theirs) + i64::from(f.second == 60);
        prop_assert_eq!(parse_timestamp(&text), Some(expected), "{:?}", text);
        prop_assert_eq!(f.oracle(), expected);
    }

    /// Epoch seconds, 9 to 12 digits, are read as they are.
    #[test]
    fn epoch_seconds_agree_with_jiff(n in 100_000_000i64..=999_999_999_999) {
        let text = n.to_string();
        prop_assert_eq!(parse_timestamp(&text), Some(n));
        if let Ok(t) = jiff::Timestamp::from_second(n) {
            prop_assert_eq!(
                parse_timestamp(&t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()),
                Some(n),
                "{}", t
            );
        }
    }

    /// RFC 3339-shaped text whose fields may be out of range: accepted
    /// exactly when RFC 3339 allows the fields, and then read as jiff does.
    #[test]
    fn out_of_range_dates_and_times_are_refused(
        f in fields(false),
        sep in select(vec!['T', 't', ' ']),
        zulu in select(vec!["Z", "z", ""]),
    ) {
        // The offset's own range is the next property's.
        let (sign, oh, om) = f.offset;
        let f = Fields { offset: (sign, oh.min(23), om.min(59)), ..f };
        let text = f.rfc3339(sep, zulu);
        let expected = f.in_range().then(|| f.oracle());
        prop_assert_eq!(parse_timestamp(&text), expected, "{:?}", text);
    }

    /// An offset beyond `±23:59` is not RFC 3339 (§5.6: time-hour 00–23,
    /// time-minute 00–59) and names no real zone: `+24:00` or `+05:60` are
    /// refused, not read as a shifted instant.
    #[test]
    fn out_of_range_offsets_are_refused(
        f in fields(true),
        sign in select(vec![1i64, -1]),
        oh in 0..=99i64,
        om in 0..=99i64,
        colon in any::<bool>(),
    ) {
        let f = Fields { offset: (sign, oh, om), ..f };
        let text = if colon {
            f.rfc3339('T', "")
        } else {
            format!("{}T{:02}:{:02}:{:02}{}{oh:02}{om:02}", f.date(), f.hour, f.minute, f.second, sign_char(sign))
        };
        let expected = f.in_range().then(|| f.oracle());
        prop_assert_eq!(parse_timestamp(&text), expected, "{:?}", text);
    }

    /// Nearly-valid strings: no panic; whatever strict RFC 3339 allows is read
    /// as jiff reads it; whatever both read, they read alike.
    #[test]
    fn mutated_timestamps_agree_with_jiff_where_both_read_them(text in mutated_timestamp()) {
        check_against_jiff(&text)?;
    }

    #[test]
    fn arbitrary_strings_never_panic_and_agree_with_jiff(text in prop_oneof!["\\PC{0,40}", any::<String>(), "[0-9:TZ+. -]{0,30}"]) {
        check_against_jiff(&text)?;
    }
}

fn sign_char(sign: i64) -> char {
    if sign < 0 { '-' } else { '+' }
}

fn check_against_jiff(text: &str) -> Result<(), TestCaseError> {
    let ours = parse_timestamp(text);
    // jiff (Temporal's grammar) reads forms ours does not (`+05` offsets,
    // `[zone]` annotations, commas, basic format) and clamps leap seconds,
    // so only strings both read are compared, leap seconds apart.
    let theirs = text.parse::<jiff::Timestamp>().ok().map(floor_seconds);
    let leap = text.get(17..19) == Some("60");
    if let Some(nine_digits) = strict_rfc3339(text) {
        let theirs = nine_digits
            .parse::<jiff::Timestamp>()
            .map(floor_seconds)
            .map_err(|e| TestCaseError::fail(format!("jiff refused RFC 3339 {nine_digits:?}: {e}")))?;
        prop_assert_eq!(ours, Some(theirs + i64::from(leap)), "RFC 3339 {:?}", text);
    } else if let (Some(ours), Some(theirs)) = (ours, theirs)
        && !leap
    {
        prop_assert_eq!(ours, theirs, "{:?}", text);
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// 3. Scoring
// ---------------------------------------------------------------------------

const NOW: i64 = 1_716_422_400; // 2024-05-23, the demo's "now"
const DAY: i64 = 86_400;

#[derive(Debug, Clone)]
struct Report {
    source: String,
    grade: Grade,
    category: Category,
    confidence: Option<u8>,
    last_seen: i64,
}

fn grade() -> impl Strategy<Value = Grade> {
    (select(vec!['A', 'B', 'C', 'D', 'E', 'F']), 1..=6u8).prop_map(|(r, c)| format!("{r}{c}").parse().unwrap())
}

fn category() -> impl Strategy<Value = Category> {
    select(Category::ALL.to_vec())
}

/// Sources of a few partners (`p0`, `p1/feed`, `p2:x`), so some reports
/// share a partner.
fn source() -> impl Strategy<Value = String> {
    (0..4u8, select(vec!["", "/a", "/b", ":x"])).prop_map(|(p, tail)| format!("p{p}{tail}"))
}

fn report(last_seen: impl Strategy<Value = i64>) -> impl Strategy<Value = Report> {
    (source(), grade(), category(), prop_oneof![Just(None), (0..=120u8).prop_map(Some)], last_seen).prop_map(
        |(source, grade, category, confidence, last_seen)| Report { source, grade, category, confidence, last_seen },
    )
}

fn scoring_config() -> impl Strategy<Value = ScoringConfig> {
    prop_oneof![
        2 => Just(ScoringConfig::default()),
        1 => (
            prop::array::uniform6(0.0..=1.0f64),
            prop::array::uniform6(0.0..=1.0f64),
            prop::array::uniform9(0.01..=400.0f64),
            prop::array::uniform9(0.0..=1.0f64),
            0.0..=20.0f64,
        )
            .prop_map(|(reliability, credibility, half_life_days, category_weight, expiry_half_lives)| ScoringConfig {
                reliability,
                credibility,
                half_life_days,
                category_weight,
                expiry_half_lives,
            }),
    ]
}

fn observation(r: &Report) -> Observation {
    Observation {
        observable: Observable::parse(Kind::Domain, "evil.example").unwrap(),
        category: r.category,
        tlp: Tlp::Clear,
        grade: r.grade,
        confidence: r.confidence,
        first_seen: r.last_seen - DAY,
        last_seen: r.last_seen,
        tags: Vec::new(),
        line: 1,
        raw: format!("{r:?}"),
    }
}

fn score(cfg: &ScoringConfig, reports: &[Report]) -> (u8, usize) {
    let observations: Vec<(String, Observation)> = reports.iter().map(|r| (r.source.clone(), observation(r))).collect();
    let e = explain_observations(cfg, observations.iter().map(|(s, o)| (s.as_str(), o)), NOW);
    (e.score, e.independent_partners)
}

proptest! {
    #![proptest_config(config())]

    /// One more report from a source not yet among them, as recent as the
    /// latest or more, never lowers the score nor the count of independent
    /// partners; the score stays within 0–100.
    #[test]
    fn corroboration_never_lowers_a_score(
        cfg in scoring_config(),
        reports in prop::collection::vec(report(NOW - 400 * DAY..=NOW + DAY), 0..8),
        extra in report(0..=400 * DAY),
        new_partner in any::<bool>(),
    ) {
        let latest = reports.iter().map(|r| r.last_seen).max().unwrap_or(NOW - 400 * DAY);
        let mut extra = extra;
        extra.last_seen += latest;
        // A new source: of a new partner, or a new feed of a known one.
        extra.source = if new_partner { "newcomer".to_string() } else { format!("{}/new-feed", extra.source.split(['/', ':']).next().unwrap()) };
        let (before, partners_before) = score(&cfg, &reports);
        let mut more = reports.clone();
        more.push(extra.clone());
        let (after, partners_after) = score(&cfg, &more);
        prop_assert!(before <= 100 && after <= 100);
        prop_assert!(after >= before, "{} -> {} adding {:?} to {:?}", before, after, extra, reports);
        prop_assert!(partners_after >= partners_before && partners_after <= partners_before + 1);
    }

    /// The order reports arrive in does not matter, and a report repeated
    /// from the same source changes nothing.
    #[test]
    fn score_ignores_order_and_repeats(
        cfg in scoring_config(),
        reports in prop::collection::vec(report(NOW - 400 * DAY..=NOW + DAY), 1..8),
        pick in any::<prop::sample::Index>(),
    ) {
        let base = score(&cfg, &reports);
        let mut reversed = reports.clone();
        reversed.reverse();
        prop_assert_eq!(score(&cfg, &reversed), base);
        let mut repeated = reports.clone();
        repeated.push(pick.get(&reports).clone());
        prop_assert_eq!(score(&cfg, &repeated), base);
    }

    /// A single fresh A1 report of a full-weight category with no confidence
    /// given scores 100; any single report scores at most that.
    #[test]
    fn one_report_scores_within_bounds(r in report(NOW - 400 * DAY..=NOW + DAY)) {
        let cfg = ScoringConfig::default();
        let (s, partners) = score(&cfg, std::slice::from_ref(&r));
        prop_assert!(s <= 100);
        prop_assert!(partners <= 1);
        if partners == 0 {
            prop_assert_eq!(s, 0, "no partner counted, yet a score");
        }
        let top = Report { grade: "A1".parse().unwrap(), category: Category::BotnetC2, confidence: None, last_seen: NOW, ..r };
        prop_assert_eq!(score(&cfg, &[top]).0, 100);
    }
}
