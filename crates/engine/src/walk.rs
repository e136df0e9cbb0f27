//! Listing the files under given paths, the same way for every use case.

use std::path::{Path, PathBuf};

use crate::{Error, Result};

/// `path` itself if it is a file; every file below it, recursively and in
/// name order, if it is a folder (hidden entries skipped). A path that
/// cannot be read is an error naming it.
pub fn files_under(path: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let meta = std::fs::metadata(path).map_err(Error::io("read", path))?;
    if !meta.is_dir() {
        out.push(path.to_path_buf());
        return Ok(());
    }
    for e in entries(path)? {
        files_under(&e, out)?;
    }
    Ok(())
}

/// A folder's entries in name order, hidden ones skipped.
pub fn entries(folder: &Path) -> Result<Vec<PathBuf>> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(folder)
        .map_err(Error::io("list", folder))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| !p.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.')))
        .collect();
    entries.sort();
    Ok(entries)
}
