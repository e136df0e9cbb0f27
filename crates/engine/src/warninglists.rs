//! Warninglists: MISP's lists of values never to serve, route or export
//! (public resolvers, CDNs, cloud ranges), imported into the store and used
//! with Dragnet's built-in ones.

use std::path::PathBuf;

use dragnet_analytics::warninglist::{WarningList, built_in};
use dragnet_core::Store;
use serde::Serialize;

use crate::{Error, Result};

/// The lists in force, and the stored ones that could not be used.
pub struct InForce {
    pub lists: Vec<WarningList>,
    /// `name: why` of each stored list that does not parse: reported and
    /// left out, never silently matched.
    pub unusable: Vec<String>,
}

/// Built-in lists and every stored one that parses.
pub fn in_force(store: &mut dyn Store) -> Result<InForce> {
    let mut lists = built_in();
    let mut unusable = Vec::new();
    for (name, body) in store.warninglists()? {
        match WarningList::parse(&body) {
            Ok(l) => lists.push(l),
            Err(e) => unusable.push(format!("stored warninglist `{name}` is unusable: {e}")),
        }
    }
    Ok(InForce { lists, unusable })
}

/// What to tell the user when no warninglist of MISP's is loaded: only the
/// built-in special-use ranges hold values back then, so public resolvers,
/// CDNs and cloud ranges can become findings.
pub fn none_loaded(store: &mut dyn Store) -> Result<Option<&'static str>> {
    Ok(store.warninglists()?.is_empty().then_some(
        "no warninglists are loaded: only special-use ranges are held back, so public resolvers, CDNs and \
         cloud ranges can be reported as malicious; run scripts/fetch-warninglists or `dragnet warninglist import DIR`",
    ))
}

#[derive(Debug, Clone, Serialize)]
pub struct ImportedList {
    pub name: String,
    pub entries: usize,
    pub file: String,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize)]
pub struct FailedFile {
    pub file: String,
    pub error: String,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Imported {
    pub imported: Vec<ImportedList>,
    pub failed: Vec<FailedFile>,
}

/// Imports every list file under `paths`.
pub fn import(store: &mut dyn Store, paths: &[PathBuf]) -> Result<Imported> {
    let mut files = Vec::new();
    for p in paths {
        crate::walk::files_under(p, &mut files)?;
    }
    let mut out = Imported::default();
    for f in files {
        let text = std::fs::read_to_string(&f).map_err(Error::io("read", &f))?;
        let file = f.display().to_string();
        match WarningList::parse(&text) {
            Ok(list) => {
                store.put_warninglist(&list.name, &text, crate::now())?;
                out.imported.push(ImportedList { name: list.name, entries: list.entries, file });
            }
            Err(e) => out.failed.push(FailedFile { file, error: e.to_string() }),
        }
    }
    Ok(out)
}

/// One list in force, for listings.
#[derive(Debug, Clone, Serialize)]
pub struct Listed {
    pub name: String,
    pub kind: String,
    pub entries: usize,
    pub version: u64,
    pub origin: &'static str,
}

pub fn list(store: &mut dyn Store) -> Result<(Vec<Listed>, Vec<String>)> {
    let stored: Vec<String> = store.warninglists()?.into_iter().map(|(n, _)| n).collect();
    let InForce { lists, unusable } = in_force(store)?;
    let listed = lists
        .into_iter()
        .map(|l| Listed {
            origin: if stored.contains(&l.name) { "imported" } else { "built-in" },
            kind: format!("{:?}", l.kind).to_lowercase(),
            name: l.name,
            entries: l.entries,
            version: l.version,
        })
        .collect();
    Ok((listed, unusable))
}
