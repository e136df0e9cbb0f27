//! JSON helpers shared by the JSON formats: errors with line and column,
//! deterministic raw text, and finding where a record sits in the input.

use dragnet_core::FileError;
use dragnet_core::record::line_at;
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

/// Finds successive records' lines by searching forward for a value each
/// record contains, so lookups cost one pass over the input in total.
pub struct LineFinder<'a> {
    input: &'a [u8],
    pos: usize,
    line: u32,
}

impl<'a> LineFinder<'a> {
    pub fn new(input: &'a [u8]) -> Self {
        LineFinder { input, pos: 0, line: 1 }
    }

    /// The line of the next occurrence of `needle`, or the last known line.
    pub fn next_line_of(&mut self, needle: &str) -> u32 {
        if needle.is_empty() {
            return self.line;
        }
        let hay = &self.input[self.pos..];
        if let Some(off) = hay.windows(needle.len()).position(|w| w == needle.as_bytes()) {
            self.line += line_at(&hay[..off], off) - 1;
            self.pos += off + needle.len();
        }
        self.line
    }
}
