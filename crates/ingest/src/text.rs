//! Line and field splitting shared by the text formats. Feeds are line-based
//! with no multi-line fields, so this is simpler and faster than a general
//! CSV reader, and it copes with the quirks real feeds have (ThreatFox's
//! `", "` separators, `#`-commented headers, CRLF, a BOM).

use std::borrow::Cow;

use dragnet_core::{FileError, Parsed};

/// A text line with its 1-based number; `text` has no line terminator.
pub struct Line<'a> {
    pub number: u32,
    pub text: Result<&'a str, &'a [u8]>,
}

/// Rejects binary input up front, so it is reported once, not line by line.
pub fn ensure_text(input: &[u8]) -> Result<(), FileError> {
    let head = input.get(..8192).unwrap_or(input);
    if let Some(pos) = head.iter().position(|&b| b == 0) {
        return Err(FileError::new(
            dragnet_core::record::line_at(input, pos),
            "binary data (NUL byte), not a text feed",
        ));
    }
    Ok(())
}

/// Lines of `input`, each as UTF-8 text or, if it is not valid UTF-8, its
/// bytes. Blank lines are skipped; numbers count them.
pub fn lines(input: &[u8]) -> Box<dyn Iterator<Item = Line<'_>> + '_> {
    let input = input.strip_prefix(b"\xef\xbb\xbf").unwrap_or(input);
    // Valid text (the usual case) is checked once and split with memchr;
    // otherwise each line is checked so one bad line does not spoil the rest.
    if let Ok(text) = std::str::from_utf8(input) {
        return Box::new(text.split('\n').enumerate().filter_map(|(i, raw)| {
            let raw = raw.strip_suffix('\r').unwrap_or(raw);
            (!raw.is_empty()).then_some(Line { number: i as u32 + 1, text: Ok(raw) })
        }));
    }
    Box::new(input.split(|&b| b == b'\n').enumerate().filter_map(|(i, raw)| {
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        if raw.is_empty() {
            return None;
        }
        Some(Line { number: i as u32 + 1, text: std::str::from_utf8(raw).map_err(|_| raw) })
    }))
}

/// Runs `each` on every line of a text input that is valid UTF-8 and not
/// blank, with its number; invalid lines become rejects. The common frame of
/// the line-based formats.
pub fn each_line<'a>(input: &'a [u8], mut each: impl FnMut(u32, &'a str, &mut Parsed)) -> Result<Parsed, FileError> {
    ensure_text(input)?;
    let mut parsed = Parsed::default();
    for line in lines(input) {
        match line.text {
            Ok(raw) if raw.trim().is_empty() => {}
            Ok(raw) => each(line.number, raw, &mut parsed),
            Err(bytes) => parsed.rejects.push(dragnet_core::Reject::new(
                line.number,
                None,
                "line is not valid UTF-8",
                String::from_utf8_lossy(bytes),
            )),
        }
    }
    Ok(parsed)
}

/// Splits one line into fields. Fields may be double-quoted (with `""` as an
/// escaped quote) and padded with spaces around the delimiter.
pub fn split_fields(line: &str, delimiter: u8) -> Result<Vec<Cow<'_, str>>, &'static str> {
    let mut fields = Vec::with_capacity(16);
    split_fields_into(line, delimiter, &mut fields)?;
    Ok(fields)
}

/// [`split_fields`] into a vector the caller reuses from line to line.
/// `delimiter` must be ASCII (every delimiter a feed uses is), so that each
/// cut falls on a character boundary.
pub fn split_fields_into<'a>(line: &'a str, delimiter: u8, fields: &mut Vec<Cow<'a, str>>) -> Result<(), &'static str> {
    fields.clear();
    if !delimiter.is_ascii() {
        return Err("the delimiter is not an ASCII character");
    }
    let delimiter = char::from(delimiter);
    let mut rest = line;
    loop {
        if delimiter != ' ' {
            rest = rest.trim_start_matches(' ');
        }
        if let Some(quoted) = rest.strip_prefix('"') {
            // A quoted field: `""` inside it is one quote.
            let mut end = 0;
            let mut escaped = false;
            loop {
                let Some(p) = quoted.get(end..).and_then(|q| q.find('"')) else {
                    return Err("unterminated quoted field");
                };
                end += p;
                if quoted.get(end + 1..).is_some_and(|q| q.starts_with('"')) {
                    escaped = true;
                    end += 2;
                } else {
                    break;
                }
            }
            let (text, after) = quoted.split_at(end);
            fields.push(if escaped { Cow::Owned(text.replace("\"\"", "\"")) } else { Cow::Borrowed(text) });
            let after = after.strip_prefix('"').unwrap_or(after).trim_start_matches(' ');
            if after.is_empty() {
                return Ok(());
            }
            rest = after.strip_prefix(delimiter).ok_or("text after a closing quote")?;
        } else {
            match rest.split_once(delimiter) {
                Some((field, after)) => {
                    fields.push(Cow::Borrowed(field.trim()));
                    rest = after;
                }
                None => {
                    fields.push(Cow::Borrowed(rest.trim()));
                    return Ok(());
                }
            }
        }
    }
}

/// A header row: column names, lower-cased, looked up by any of their aliases.
pub struct Header {
    names: Vec<String>,
}

impl Header {
    pub fn new<S: AsRef<str>>(names: &[S]) -> Header {
        Header { names: names.iter().map(|n| n.as_ref().trim().trim_matches('"').to_ascii_lowercase()).collect() }
    }

    pub fn index(&self, aliases: &[&str]) -> Option<usize> {
        aliases.iter().find_map(|a| self.names.iter().position(|n| n == a))
    }

    /// No names: a file without a header row, whose columns are numbered.
    pub fn positional() -> Header {
        Header { names: Vec::new() }
    }

    /// The column's name, or `column N` (1-based) past the named ones, as a
    /// mapping may name a position the header does not have.
    pub fn name(&self, index: usize) -> String {
        self.names.get(index).cloned().unwrap_or_else(|| format!("column {}", index + 1))
    }

    pub fn len(&self) -> usize {
        self.names.len()
    }
}

/// A field that feeds leave empty or write as `None`/`null`/`-`.
pub fn present<'a>(fields: &'a [Cow<'a, str>], index: Option<usize>) -> Option<&'a str> {
    let v = fields.get(index?)?.as_ref();
    (!matches!(v, "" | "None" | "none" | "null" | "NULL" | "-" | "N/A")).then_some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_quoted_and_spaced_fields() {
        let f = split_fields(r#""a", "b,c", "d""e",f , """#, b',').unwrap();
        assert_eq!(f, vec!["a", "b,c", "d\"e", "f", ""]);
        assert!(split_fields(r#""open"#, b',').is_err());
        assert!(split_fields(r#""a"x,b"#, b',').is_err());
        assert_eq!(split_fields("1\t2\t\t3", b'\t').unwrap(), vec!["1", "2", "", "3"]);
    }

    #[test]
    fn numbers_lines_and_skips_blank_ones() {
        let got: Vec<u32> = lines(b"\xef\xbb\xbfa\r\n\nb\n").map(|l| l.number).collect();
        assert_eq!(got, vec![1, 3]);
        assert!(ensure_text(b"abc\n\0").is_err());
    }
}
