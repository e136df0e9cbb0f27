//! Header-driven reading of delimited feeds. The header may be a plain first
//! row or, as abuse.ch writes it, a `#` comment line; columns are found by
//! name, so layouts that gained or lost columns over the years still parse.

use std::borrow::Cow;

use dragnet_core::{FileError, Parsed, Record, Reject};

use crate::text::{self, Header};

/// What a row callback returns: the row's records or a reject `(field, reason)`.
pub type RowResult = Result<Vec<Record>, (Option<String>, String)>;

/// Reads every data row of `input` under the header that contains
/// `key_column` (or, if it is empty, under the first row), calling `row` for each.
pub fn read<F>(input: &[u8], delimiter: u8, key_column: &[&str], row: F) -> Result<Parsed, FileError>
where
    F: FnMut(&Header, &[Cow<'_, str>], u32, &str) -> RowResult,
{
    read_rows(input, delimiter, Some(key_column), row)
}

/// Reads every row of a file without a header row (`#` comment lines
/// aside), as Bambenek's lists are written; columns are known by position,
/// and rows may differ in their number of fields.
pub fn read_headerless<F>(input: &[u8], delimiter: u8, row: F) -> Result<Parsed, FileError>
where
    F: FnMut(&Header, &[Cow<'_, str>], u32, &str) -> RowResult,
{
    read_rows(input, delimiter, None, row)
}

fn read_rows<F>(input: &[u8], delimiter: u8, key_column: Option<&[&str]>, mut row: F) -> Result<Parsed, FileError>
where
    F: FnMut(&Header, &[Cow<'_, str>], u32, &str) -> RowResult,
{
    let positional = key_column.is_none();
    let key_column = key_column.unwrap_or_default();
    text::ensure_text(input)?;
    let mut parsed = Parsed::default();
    let mut header: Option<Header> = positional.then(Header::positional);
    let mut fields = Vec::with_capacity(16);
    for line in text::lines(input) {
        let raw = match line.text {
            Ok(t) => t,
            Err(bytes) => {
                parsed.rejects.push(Reject::new(
                    line.number,
                    None,
                    "line is not valid UTF-8",
                    String::from_utf8_lossy(bytes),
                ));
                continue;
            }
        };
        let trimmed = raw.trim_start();
        if let Some(comment) = trimmed.strip_prefix('#') {
            if header.is_none()
                && let Ok(fields) = text::split_fields(comment.trim(), delimiter)
            {
                let h = Header::new(&fields);
                if !key_column.is_empty() && h.index(key_column).is_some() {
                    header = Some(h);
                }
            }
            continue;
        }
        match text::split_fields_into(raw, delimiter, &mut fields) {
            Ok(()) => {}
            Err(why) => {
                parsed.rejects.push(Reject::new(line.number, None, why, raw));
                continue;
            }
        };
        let Some(h) = &header else {
            let h = Header::new(&fields);
            if !key_column.is_empty() && h.index(key_column).is_none() {
                return Err(FileError::new(
                    line.number,
                    format!(
                        "no header row naming a `{}` column before the first data row",
                        key_column.first().copied().unwrap_or_default()
                    ),
                ));
            }
            header = Some(h);
            continue;
        };
        if !positional && fields.len() != h.len() {
            parsed.rejects.push(Reject::new(
                line.number,
                None,
                format!("{} fields where the header has {}", fields.len(), h.len()),
                raw,
            ));
            continue;
        }
        match row(h, &fields, line.number, raw) {
            Ok(records) => parsed.records.extend(records),
            Err((field, reason)) => parsed.rejects.push(Reject::new(line.number, field.as_deref(), reason, raw)),
        }
    }
    if header.is_none() {
        let want = key_column.first().map_or("header".to_string(), |k| format!("header row naming a `{k}` column"));
        return Err(FileError::new(1, format!("no {want}")));
    }
    Ok(parsed)
}
