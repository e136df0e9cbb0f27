//! Evidence files: kept by content (their SHA-256 names them) under
//! `DATA/evidence/`, each with its custody chain (who handed it to whom,
//! when), and re-hashed on demand to show that none was altered or lost.

use std::io::Write;
use std::path::{Path, PathBuf};

use dragnet_core::case::{Custody, Evidence};
use dragnet_core::digest::{hex, parse_hash, sha256};
use dragnet_core::{Store, StoreError, Timestamp};
use serde::Serialize;

use crate::access::{Scope, Who};
use crate::{Error, Result, operations};

/// Largest evidence file taken (a disk image belongs elsewhere; its hash here).
pub const MAX_SIZE: u64 = 4 * 1024 * 1024 * 1024;

/// Where a piece of evidence lives: `DATA/evidence/ab/abcdef…`.
pub fn path_of(data: &Path, sha256: &str) -> PathBuf {
    let fan = sha256.get(..2).unwrap_or("00");
    data.join("evidence").join(fan).join(sha256)
}

/// A file handed in.
#[derive(Debug, Clone)]
pub struct NewEvidence {
    /// The file's name as handed in.
    pub name: String,
    pub operation: String,
    pub server: Option<String>,
    pub description: String,
    /// Who holds it first (an organisation).
    pub holder: String,
}

fn actor(scope: &Scope) -> String {
    match &scope.who {
        Who::Org { name, .. } => name.clone(),
        _ => "operator".to_string(),
    }
}

/// Copies the file into the evidence store (written to a temporary name
/// and renamed, so a crash leaves no half file under its hash) and records
/// it with its first holder.
pub fn add(
    store: &mut dyn Store,
    data: &Path,
    scope: &Scope,
    new: &NewEvidence,
    bytes: &[u8],
    now: Timestamp,
) -> Result<Evidence> {
    scope.require(dragnet_core::access::Role::Analyst)?;
    let op = operations::show(store, scope, &new.operation)?;
    if !store.orgs()?.iter().any(|o| o.name == new.holder) {
        return Err(Error::NotFound(format!("no organisation {}", new.holder)));
    }
    let size = bytes.len() as u64;
    if size > MAX_SIZE {
        return Err(Error::invalid(format!("{}: larger than {MAX_SIZE} bytes", new.name)));
    }
    let name = new.name.trim();
    if name.chars().count() > 255 || name.chars().any(char::is_control) {
        return Err(Error::invalid("name: longer than 255 characters, or holds a control character"));
    }
    let digest = hex(&sha256(bytes));
    let target = path_of(data, &digest);
    if !target.exists() {
        let dir = target.parent().unwrap_or(data);
        std::fs::create_dir_all(dir).map_err(Error::io("create", dir))?;
        let temporary = dir.join(format!(".{digest}.partial"));
        let mut file = std::fs::File::create(&temporary).map_err(Error::io("write", &temporary))?;
        file.write_all(bytes).and_then(|()| file.sync_all()).map_err(Error::io("write", &temporary))?;
        std::fs::rename(&temporary, &target).map_err(Error::io("write", &target))?;
    }
    let evidence = Evidence {
        sha256: digest.clone(),
        size,
        name: name.to_string(),
        operation: op.name,
        server: new.server.clone().filter(|s| !s.is_empty()),
        description: new.description.trim().to_string(),
        added_by: actor(scope),
        added_at: now,
    };
    let first = Custody {
        sha256: digest.clone(),
        from: String::new(),
        to: new.holder.clone(),
        at: now,
        note: "handed in".into(),
        by: actor(scope),
    };
    if !store.add_evidence(&evidence, &first)? {
        return Err(Error::invalid(format!("this content is kept already as evidence {digest}")));
    }
    Ok(evidence)
}

/// Records that `from` (the current holder) handed the evidence to `to`.
pub fn transfer(
    store: &mut dyn Store,
    scope: &Scope,
    sha: &str,
    from: &str,
    to: &str,
    note: &str,
    now: Timestamp,
) -> Result<Custody> {
    scope.require(dragnet_core::access::Role::Analyst)?;
    let sha = parse_hash(sha.trim()).map(|h| hex(&h)).ok_or_else(|| Error::invalid("not a SHA-256"))?;
    if !store.orgs()?.iter().any(|o| o.name == to) {
        return Err(Error::NotFound(format!("no organisation {to}")));
    }
    let custody =
        Custody { sha256: sha, from: from.into(), to: to.into(), at: now, note: note.trim().into(), by: actor(scope) };
    store.add_custody(&custody).map_err(|e| match e {
        StoreError::Conflict(m) => Error::invalid(m),
        other => Error::Store(other),
    })?;
    Ok(custody)
}

/// One piece of evidence as re-hashed.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize)]
pub struct Checked {
    pub sha256: String,
    pub name: String,
    /// `ok`, `missing`, or `altered` (the file no longer hashes to its name).
    pub status: &'static str,
    pub holder: String,
}

/// Re-hashes every piece of evidence kept.
pub fn verify(store: &mut dyn Store, data: &Path) -> Result<Vec<Checked>> {
    let custody = store.custody(None)?;
    let mut out = Vec::new();
    for e in store.evidence(None)? {
        let holder = custody.iter().rev().find(|c| c.sha256 == e.sha256).map(|c| c.to.clone()).unwrap_or_default();
        let status = match std::fs::read(path_of(data, &e.sha256)) {
            Err(_) => "missing",
            Ok(bytes) if hex(&sha256(&bytes)) == e.sha256 && bytes.len() as u64 == e.size => "ok",
            Ok(_) => "altered",
        };
        out.push(Checked { sha256: e.sha256, name: e.name, status, holder });
    }
    Ok(out)
}
