//! Evidence files: kept by content (their SHA-256 names them) under
//! `DATA/evidence/`, each with its custody chain (who handed it to whom,
//! when), and re-hashed on demand to show that none was altered or lost.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use dragnet_core::case::{Custody, Evidence};
use dragnet_core::digest::{Hasher, hex, parse_hash};
use dragnet_core::{Store, StoreError, Timestamp};
use serde::Serialize;

use crate::access::Scope;
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

/// Copies the content into the evidence store in chunks, hashing as it
/// goes (memory stays bounded whatever the size), to a temporary name that
/// is renamed to the hash, so a crash leaves no half file under a hash;
/// then records it with its first holder.
pub fn add(
    store: &mut dyn Store,
    data: &Path,
    scope: &Scope,
    new: &NewEvidence,
    content: &mut dyn Read,
    now: Timestamp,
) -> Result<Evidence> {
    scope.require(dragnet_core::access::Role::Analyst)?;
    let op = operations::show(store, scope, &new.operation)?;
    if !store.orgs()?.iter().any(|o| o.name == new.holder) {
        return Err(Error::NotFound(format!("no organisation {}", new.holder)));
    }
    let name = new.name.trim();
    if name.chars().count() > 255 || name.chars().any(char::is_control) {
        return Err(Error::invalid("name: longer than 255 characters, or holds a control character"));
    }
    let incoming = data.join("evidence");
    std::fs::create_dir_all(&incoming).map_err(Error::io("create", &incoming))?;
    let temporary = incoming.join(format!(".incoming-{}-{}.partial", std::process::id(), crate::now_micros()));
    let copied = copy_hashing(content, &temporary, &new.name);
    let (digest, size) = match copied {
        Ok(done) => done,
        Err(e) => {
            let _ = std::fs::remove_file(&temporary);
            return Err(e);
        }
    };
    let target = path_of(data, &digest);
    if target.exists() {
        let _ = std::fs::remove_file(&temporary);
    } else {
        let dir = target.parent().unwrap_or(data);
        std::fs::create_dir_all(dir).map_err(Error::io("create", dir))?;
        std::fs::rename(&temporary, &target).map_err(Error::io("write", &target))?;
    }
    let evidence = Evidence {
        sha256: digest.clone(),
        size,
        name: name.to_string(),
        operation: op.name,
        server: new.server.clone().filter(|s| !s.is_empty()),
        description: new.description.trim().to_string(),
        added_by: scope.actor()?,
        added_at: now,
    };
    let first = Custody {
        sha256: digest.clone(),
        from: String::new(),
        to: new.holder.clone(),
        at: now,
        note: "handed in".into(),
        by: scope.actor()?,
    };
    if !store.add_evidence(&evidence, &first)? {
        return Err(Error::invalid(format!("this content is kept already as evidence {digest}")));
    }
    Ok(evidence)
}

/// Copies `content` to `path`, at most `MAX_SIZE` bytes, synced; its
/// SHA-256 (hex) and size.
fn copy_hashing(content: &mut dyn Read, path: &Path, name: &str) -> Result<(String, u64)> {
    let mut file = std::fs::File::create(path).map_err(Error::io("write", path))?;
    let copied = hash_into(content, &mut file, MAX_SIZE).map_err(|e| Error::invalid(format!("{name}: {e}")))?;
    file.sync_all().map_err(Error::io("write", path))?;
    Ok(copied)
}

/// Reads `content` in chunks into `out`, hashing it: its SHA-256 (hex) and
/// size; an error past `limit` bytes.
fn hash_into(content: &mut dyn Read, out: &mut dyn Write, limit: u64) -> std::io::Result<(String, u64)> {
    let mut hasher = Hasher::default();
    let mut buffer = vec![0u8; 1 << 16];
    let mut size = 0u64;
    loop {
        let n = content.read(&mut buffer)?;
        let Some(chunk) = buffer.get(..n).filter(|c| !c.is_empty()) else { break };
        size += n as u64;
        if size > limit {
            return Err(std::io::Error::other(format!("larger than {limit} bytes")));
        }
        hasher.update(chunk);
        out.write_all(chunk)?;
    }
    Ok((hex(&hasher.finish()), size))
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
    let custody = Custody {
        sha256: sha,
        from: from.into(),
        to: to.into(),
        at: now,
        note: note.trim().into(),
        by: scope.actor()?,
    };
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
        let hashed = std::fs::File::open(path_of(data, &e.sha256))
            .and_then(|mut file| hash_into(&mut file, &mut std::io::sink(), u64::MAX));
        let status = match hashed {
            Err(_) => "missing",
            Ok((digest, size)) if digest == e.sha256 && size == e.size => "ok",
            Ok(_) => "altered",
        };
        out.push(Checked { sha256: e.sha256, name: e.name, status, holder });
    }
    Ok(out)
}
