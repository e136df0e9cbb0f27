//! A folder's `sources.json`: relative path (a file or a folder) → whose it
//! is and what it holds. A pure parse, like the feed formats: the file
//! travels with the data it describes, so it is input like any other.

use std::collections::BTreeMap;
use std::path::{Component, Path};

use dragnet_core::store::Source;
use dragnet_core::{FileError, Grade, Tlp};

/// What a path named in `sources.json` holds.
#[derive(serde::Deserialize, Default, Clone, Copy, PartialEq, Eq, Debug)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Partner feeds (the default).
    #[default]
    Feed,
    /// MISP warninglists, imported before the feeds.
    Warninglists,
    /// IP range files for `geo import`, imported before the feeds.
    Geo,
    /// Sensor logs, run through the detectors after the feeds.
    Telemetry,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Provenance {
    source: Option<String>,
    grade: Option<Grade>,
    tlp: Option<Tlp>,
    #[serde(default)]
    role: Role,
    #[serde(default)]
    internal: Vec<String>,
}

/// One path `sources.json` names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Named {
    /// Relative to the folder holding `sources.json`, never leaving it.
    pub path: String,
    pub source: Option<Source>,
    pub role: Role,
    /// The sensor's internal networks (telemetry).
    pub internal: Vec<String>,
}

pub fn parse(input: &[u8]) -> Result<Vec<Named>, FileError> {
    let input = input.strip_prefix(b"\xef\xbb\xbf").unwrap_or(input);
    let map: BTreeMap<String, Provenance> = serde_json::from_slice(input).map_err(|e| FileError {
        line: u32::try_from(e.line()).unwrap_or(u32::MAX),
        column: Some(u32::try_from(e.column()).unwrap_or(u32::MAX)),
        message: format!("not a map of path to source: {e}"),
    })?;
    map.into_iter()
        .map(|(path, p)| {
            // The folder's own files only: no absolute path, no `..`.
            if path.is_empty() || !Path::new(&path).components().all(|c| matches!(c, Component::Normal(_))) {
                let shown = dragnet_core::record::clip(&path).into_owned();
                return Err(FileError::new(1, format!("`{shown}` is not a path inside the folder")));
            }
            let source = match p.source.as_deref().map(str::trim) {
                Some("") => return Err(FileError::new(1, format!("`{path}` has an empty `source`"))),
                Some(name) => Some(Source {
                    name: name.to_string(),
                    grade: p.grade.unwrap_or(Grade::UNGRADED),
                    tlp: p.tlp.unwrap_or(Tlp::Amber),
                }),
                None => None,
            };
            if source.is_none() && matches!(p.role, Role::Feed | Role::Telemetry) {
                return Err(FileError::new(1, format!("`{path}` needs a `source`")));
            }
            Ok(Named { path, source, role: p.role, internal: p.internal })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_sources_and_roles_of_paths_inside_the_folder() {
        let named = parse(
            br#"{"feeds/a.csv": {"source": "partner-a", "grade": "B2", "tlp": "green"},
                 "lists": {"role": "warninglists"},
                 "sensor": {"source": "isp", "role": "telemetry", "internal": ["10.0.0.0/8"]}}"#,
        )
        .unwrap();
        assert_eq!(named.len(), 3);
        assert_eq!(named[0].source.as_ref().unwrap().tlp, Tlp::Green);
        assert_eq!((named[1].role, named[1].source.as_ref()), (Role::Warninglists, None));
        assert_eq!(named[2].internal, vec!["10.0.0.0/8".to_string()]);
    }

    #[test]
    fn refuses_paths_outside_missing_sources_and_unknown_keys() {
        for bad in [
            r#"{"../etc/passwd": {"source": "x"}}"#,
            r#"{"/etc/passwd": {"source": "x"}}"#,
            r#"{"a/../../b": {"source": "x"}}"#,
            r#"{"": {"source": "x"}}"#,
            r#"{"feed.txt": {}}"#,
            r#"{"feed.txt": {"source": " "}}"#,
            r#"{"feed.txt": {"source": "x", "colour": "red"}}"#,
            r#"{"feed.txt": {"source": "x", "tlp": "purple"}}"#,
            "[1, 2]",
            "{\"é\": ",
        ] {
            let err = parse(bad.as_bytes()).expect_err(bad);
            assert!(!err.message.is_empty());
        }
        let err = parse(b"{\n  \"a\": {\"source\": 3}\n}").unwrap_err();
        assert_eq!(err.line, 2, "{err}");
    }
}
