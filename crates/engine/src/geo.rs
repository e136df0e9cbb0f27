//! Offline IP → ASN / organisation / country data, kept in the data
//! directory; an import is checked whole, then swapped in atomically
//! (written beside, then renamed).

use std::path::{Path, PathBuf};

use dragnet_analytics::geo::{GeoIndex, is_mmdb, parse_mmdb, parse_ranges};
use serde::Serialize;

use crate::{Error, Result};

const FILE: &str = "geo/ranges.csv";

/// The enrichment index of the data directory; empty when none was imported.
pub fn load(data: &Path) -> Result<GeoIndex> {
    let path = data.join(FILE);
    if !path.is_file() {
        return Ok(GeoIndex::default());
    }
    let text = std::fs::read_to_string(&path).map_err(Error::io("read", &path))?;
    let facts = parse_ranges(&text).map_err(|e| Error::invalid(format!("{}:{e}", path.display())))?;
    Ok(GeoIndex::build(facts))
}

/// What an import put in force.
#[derive(Debug, Clone, Serialize)]
pub struct Imported {
    pub asn_ranges: usize,
    pub country_ranges: usize,
    pub file: PathBuf,
}

/// Builds the index from `paths` and swaps it in.
pub fn import(data: &Path, paths: &[PathBuf]) -> Result<Imported> {
    let mut facts = Vec::new();
    for p in paths {
        let bytes = std::fs::read(p).map_err(Error::io("read", p))?;
        let parsed = if is_mmdb(&bytes) {
            parse_mmdb(&bytes)
                .map_err(|e| Error::invalid(format!("{}: {}; nothing was imported", p.display(), e.why)))?
        } else {
            let text = std::str::from_utf8(&bytes).map_err(|e| {
                Error::invalid(format!(
                    "{}: neither a MaxMind DB nor a text range file ({e}); nothing was imported",
                    p.display()
                ))
            })?;
            parse_ranges(text).map_err(|e| Error::invalid(format!("{}:{e}; nothing was imported", p.display())))?
        };
        facts.extend(parsed);
    }
    let index = GeoIndex::build(facts);
    let target = data.join(FILE);
    let dir = target.parent().unwrap_or(data);
    std::fs::create_dir_all(dir).map_err(Error::io("create", dir))?;
    let staging = dir.join("ranges.csv.new");
    std::fs::write(&staging, index.to_lines()).map_err(Error::io("write", &staging))?;
    std::fs::rename(&staging, &target).map_err(Error::io("replace", &target))?;
    let (asn_ranges, country_ranges) = index.len();
    Ok(Imported { asn_ranges, country_ranges, file: target })
}
