//! UTC timestamps as seconds since the Unix epoch, with the few textual forms
//! feeds use. Kept here, without a date crate, because parsing them is on the
//! hot path of every feed.

/// Seconds since 1970-01-01T00:00:00Z.
pub type Timestamp = i64;

/// Parses RFC 3339 (`2016-04-06T20:03:48.000Z`, offsets allowed), the
/// `2021-01-17 07:44:46` form (taken as UTC), a bare date, or epoch seconds.
///
/// Works on bytes: every part of these forms is ASCII, so nothing here can
/// land inside a multi-byte character, whatever the input holds.
pub fn parse_timestamp(s: &str) -> Option<Timestamp> {
    let b = s.trim().trim_matches('"').as_bytes();
    if b.is_empty() {
        return None;
    }
    if (9..=12).contains(&b.len()) && b.iter().all(u8::is_ascii_digit) {
        return number(b);
    }
    let year = number(b.get(0..4)?)?;
    let month = u32::try_from(number(b.get(5..7)?)?).ok()?;
    let day = u32::try_from(number(b.get(8..10)?)?).ok()?;
    if b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') {
        return None;
    }
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    let mut secs = days_from_civil(year, month, day) * 86_400;
    let time = b.get(10..)?;
    let Some((&sep, time)) = time.split_first() else { return Some(secs) };
    if !matches!(sep, b'T' | b't' | b' ') || time.get(2) != Some(&b':') {
        return None;
    }
    let hour = number(time.get(0..2)?)?;
    let minute = number(time.get(3..5)?)?;
    let mut rest = time.get(5..)?;
    let mut second = 0;
    if let Some(r) = rest.strip_prefix(b":") {
        second = number(r.get(0..2)?)?;
        rest = r.get(2..)?;
    }
    if hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    if let Some(r) = rest.strip_prefix(b".") {
        let digits = r.iter().take_while(|c| c.is_ascii_digit()).count();
        if digits == 0 {
            return None;
        }
        rest = r.get(digits..)?;
    }
    secs += hour * 3600 + minute * 60 + second;
    let offset = match rest.trim_ascii() {
        b"" | b"Z" | b"z" | b"UTC" | b"+00" => 0,
        zone => {
            let (sign, hhmm) = match zone.split_first() {
                Some((b'+', r)) => (1, r),
                Some((b'-', r)) => (-1, r),
                _ => return None,
            };
            let digits: Vec<u8> = hhmm.iter().copied().filter(|&c| c != b':').collect();
            if digits.len() != 4 {
                return None;
            }
            let (hours, minutes) = (number(digits.get(0..2)?)?, number(digits.get(2..4)?)?);
            // RFC 3339: offsets are 00–23 hours and 00–59 minutes.
            if hours > 23 || minutes > 59 {
                return None;
            }
            sign * (hours * 3600 + minutes * 60)
        }
    };
    Some(secs - offset)
}

/// A run of ASCII digits as a number: no sign, no spaces, nothing else
/// (which `str::parse` would allow or would need a `str` slice for).
fn number(digits: &[u8]) -> Option<i64> {
    if digits.is_empty() || digits.len() > 18 {
        return None;
    }
    digits.iter().try_fold(0i64, |n, &c| c.is_ascii_digit().then(|| n * 10 + i64::from(c - b'0')))
}

/// Formats as RFC 3339 in UTC with second precision: `2024-05-01T12:00:00Z`.
pub fn format_timestamp(t: Timestamp) -> String {
    let days = t.div_euclid(86_400);
    let rem = t.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

// Howard Hinnant's days-from-civil algorithm, proleptic Gregorian calendar.
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_forms_feeds_use() {
        assert_eq!(parse_timestamp("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_timestamp("2016-04-06T20:03:48.000Z"), Some(1_459_973_028));
        assert_eq!(parse_timestamp("2016-04-06T22:03:48+02:00"), Some(1_459_973_028));
        assert_eq!(parse_timestamp("2021-01-17 07:44:46"), Some(1_610_869_486));
        assert_eq!(parse_timestamp("2022-11-15"), Some(1_668_470_400));
        assert_eq!(parse_timestamp("1465681304"), Some(1_465_681_304));
        for bad in ["", "yesterday", "2021-02-30", "2021-13-01", "2021-01-01T25:00:00Z", "2021-01-01T10:00:00+5"] {
            assert_eq!(parse_timestamp(bad), None, "{bad}");
        }
    }

    #[test]
    fn multi_byte_characters_anywhere_are_refused_not_a_panic() {
        assert_eq!(parse_timestamp("2016-04-06T22:03:48+1é1"), None);
        let samples = [
            "2016-04-06T22:03:48.000+02:00",
            "2021-01-17 07:44:46",
            "2022-11-15",
            "1465681304",
            "2016-04-06T20:03:48Z",
        ];
        for sample in samples {
            for c in ['é', '€', '😀'] {
                for (at, _) in sample.char_indices().chain([(sample.len(), ' ')]) {
                    let (head, tail) = sample.split_at(at);
                    let mutated = format!("{head}{c}{tail}");
                    assert_eq!(parse_timestamp(&mutated), None, "{mutated}");
                    let replaced = format!("{head}{c}{}", tail.get(1..).unwrap_or_default());
                    assert_eq!(parse_timestamp(&replaced), None, "{replaced}");
                }
            }
        }
    }

    #[test]
    fn formats_round_trip() {
        for t in [0, 951_782_400, 1_459_973_028, 4_102_444_800, -86_400] {
            assert_eq!(parse_timestamp(&format_timestamp(t)), Some(t));
        }
        assert_eq!(format_timestamp(951_782_400), "2000-02-29T00:00:00Z");
    }
}
