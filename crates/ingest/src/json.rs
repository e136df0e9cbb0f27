//! JSON helpers shared by the JSON formats: errors with line and column,
//! deterministic raw text, and finding where a record sits in the input.

use std::borrow::Cow;
use std::collections::HashMap;

use dragnet_core::FileError;
use serde_json::Value;

/// True when the first non-blank byte opens a JSON object or array.
pub fn looks_like_json(input: &[u8]) -> bool {
    let input = input.strip_prefix(b"\xef\xbb\xbf").unwrap_or(input);
    matches!(input.iter().find(|b| !b.is_ascii_whitespace()), Some(b'{' | b'['))
}

/// Parses a whole document, turning serde's error into one with its location.
pub fn parse_value(input: &[u8]) -> Result<Value, FileError> {
    let input = input.strip_prefix(b"\xef\xbb\xbf").unwrap_or(input);
    serde_json::from_slice(input).map_err(|e| FileError {
        line: e.line() as u32,
        column: Some(e.column() as u32),
        message: format!("invalid JSON: {e}"),
    })
}

/// A document that must be a JSON array of objects.
pub fn array_of_objects(input: &[u8], what: &str) -> Result<Vec<Value>, FileError> {
    match parse_value(input)? {
        Value::Array(items) => {
            if let Some(i) = items.iter().position(|v| !v.is_object()) {
                return Err(FileError::new(1, format!("{what}: element {i} of the array is not an object")));
            }
            Ok(items)
        }
        _ => Err(FileError::new(1, format!("{what} must be a JSON array of objects"))),
    }
}

/// The compact, key-sorted serialisation used as a record's raw text, so
/// the same record always hashes the same.
pub fn compact(value: &Value) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

/// Finds the lines of successive records by the value of one of their
/// members (`"id": "…"`, `"ip_address": "…"`), in one pass over the input:
/// the members are indexed up front, with their values unescaped as JSON
/// strings, so a value the file writes with escapes (`\/`, `\u002d`) is
/// found like any other, and a value that is absent costs one hash lookup
/// rather than a scan to the end of the input.
pub struct MemberLines {
    /// For each value, where its members are: (ordinal among all indexed
    /// members, line), in input order, and how many of them are used up.
    at: HashMap<String, (Vec<(u32, u32)>, usize)>,
    /// The ordinal of the last member found: lookups move only forward, so
    /// earlier mentions of a value cannot misplace a later record.
    next: u32,
    line: u32,
}

impl MemberLines {
    /// Indexes every member named one of `keys` whose value is a string.
    pub fn new(input: &[u8], keys: &[&str]) -> MemberLines {
        let mut at: HashMap<String, (Vec<(u32, u32)>, usize)> = HashMap::new();
        let mut ordinal = 0u32;
        for (key, value, line) in string_members(input) {
            if keys.contains(&key.as_ref()) {
                at.entry(value.into_owned()).or_default().0.push((ordinal, line));
                ordinal += 1;
            }
        }
        MemberLines { at, next: 0, line: 1 }
    }

    /// The line of the next member whose value is `value`, after the last
    /// one found; `None` when there is none.
    pub fn line_of(&mut self, value: &str) -> Option<u32> {
        let (places, used) = self.at.get_mut(value)?;
        // Each value's cursor only moves forward, so all lookups together
        // cost no more than the number of members indexed.
        while places.get(*used).is_some_and(|&(ordinal, _)| ordinal < self.next) {
            *used += 1;
        }
        let &(ordinal, line) = places.get(*used)?;
        *used += 1;
        self.next = ordinal + 1;
        self.line = line;
        Some(line)
    }

    /// Like [`MemberLines::line_of`], but the last line found when `value`
    /// is not there: a record without its own line is near the last one.
    pub fn line_of_or_last(&mut self, value: &str) -> u32 {
        self.line_of(value).unwrap_or(self.line)
    }
}

/// Every `"key": "value"` member of a JSON document, unescaped, with the
/// line its value starts on. One pass; text that is not JSON gives fewer
/// members, never a panic.
fn string_members(input: &[u8]) -> impl Iterator<Item = (Cow<'_, str>, Cow<'_, str>, u32)> {
    let mut pos = 0usize;
    let mut line = 1u32;
    // The last string seen and whether a `:` has followed it since.
    let mut key: Option<Cow<'_, str>> = None;
    let mut after_colon = false;
    std::iter::from_fn(move || {
        while let Some(&b) = input.get(pos) {
            match b {
                b'"' => {
                    let start_line = line;
                    let (text, end, newlines) = string_at(input, pos);
                    pos = end;
                    line += newlines;
                    if after_colon && let (Some(k), Some(v)) = (key.take(), text.clone()) {
                        after_colon = false;
                        return Some((k, v, start_line));
                    }
                    after_colon = false;
                    key = text;
                }
                b':' if key.is_some() => {
                    after_colon = true;
                    pos += 1;
                }
                b'\n' => {
                    line += 1;
                    pos += 1;
                }
                b' ' | b'\t' | b'\r' => pos += 1,
                _ => {
                    key = None;
                    after_colon = false;
                    pos += 1;
                }
            }
        }
        None
    })
}

/// The JSON string starting at `input[start]` (a `"`): its unescaped text
/// (`None` if it is not valid), the offset just past it, and the newlines
/// it holds (none in valid JSON, but a malformed file is still counted right).
fn string_at(input: &[u8], start: usize) -> (Option<Cow<'_, str>>, usize, u32) {
    let body_start = start + 1;
    let mut i = body_start;
    let mut escaped = false;
    let mut newlines = 0;
    while let Some(&b) = input.get(i) {
        match b {
            b'"' => {
                let body = input.get(body_start..i).unwrap_or_default();
                let text = if escaped {
                    let quoted = input.get(start..=i).unwrap_or_default();
                    serde_json::from_slice::<String>(quoted).ok().map(Cow::Owned)
                } else {
                    std::str::from_utf8(body).ok().map(Cow::Borrowed)
                };
                return (text, i + 1, newlines);
            }
            b'\\' => {
                escaped = true;
                i += 2;
            }
            b'\n' => {
                newlines += 1;
                i += 1;
            }
            _ => i += 1,
        }
    }
    (None, input.len(), newlines)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_are_found_by_their_unescaped_value_in_order() {
        let input = b"[\n{\"id\": \"a\\u002d1\", \"ref\": \"b\"},\n{\"id\":\"b\"},\n{\"id\" : \"a-1\"}\n]";
        let mut lines = MemberLines::new(input, &["id"]);
        assert_eq!(lines.line_of("a-1"), Some(2));
        assert_eq!(lines.line_of("b"), Some(3), "the `ref` member is not an `id`");
        assert_eq!(lines.line_of("a-1"), Some(4), "the second object with that id");
        assert_eq!(lines.line_of("a-1"), None);
        assert_eq!(lines.line_of_or_last("missing"), 4);
    }

    #[test]
    fn lookups_never_move_backwards() {
        let input = b"{\"id\": \"x\"}\n{\"id\": \"y\"}\n{\"id\": \"x\"}\n";
        let mut lines = MemberLines::new(input, &["id"]);
        assert_eq!(lines.line_of("y"), Some(2));
        assert_eq!(lines.line_of("x"), Some(3), "the `x` before `y` is behind us");
    }

    #[test]
    fn garbage_and_truncation_give_fewer_members_not_a_panic() {
        for input in
            [&b"\"id\": \"unterminated"[..], b"\"id\":", b"\\", b"\"", b"::\"\":\"\\u12", b"{\"id\": \"\xff\"}"]
        {
            let mut lines = MemberLines::new(input, &["id"]);
            assert_eq!(lines.line_of("unterminated"), None);
        }
    }
}
