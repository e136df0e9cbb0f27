//! Durable stores behind [`dragnet_core::Store`]: embedded SQLite (the
//! default, a file in the data directory) and PostgreSQL (shared by several
//! Dragnet processes). Both use the same SQL text and pass the same
//! conformance suite.

mod access;
mod audit;
mod cases;
mod codec;
mod db;
mod decisions;
mod migration;
mod postgres;
mod probes;
mod schema;
mod sqlite;
mod takedowns;
mod taxii;
mod tls;

use std::path::{Path, PathBuf};

use dragnet_core::{Store, StoreError};

pub use postgres::PgStore;
pub use sqlite::{Memory, SqliteStore};

/// Where the store lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// A data directory holding `dragnet.sqlite`.
    Embedded(PathBuf),
    /// A `postgres://` or `postgresql://` connection string.
    Postgres(String),
}

impl Location {
    /// A `--store` value wins over the data directory.
    pub fn choose(store: Option<&str>, data_dir: &Path) -> Result<Location, StoreError> {
        match store {
            None | Some("") => Ok(Location::Embedded(data_dir.to_path_buf())),
            Some(s) if s.starts_with("postgres://") || s.starts_with("postgresql://") => {
                Ok(Location::Postgres(s.to_string()))
            }
            Some(s) if s.starts_with("sqlite:") => Ok(Location::Embedded(PathBuf::from(&s["sqlite:".len()..]))),
            Some(s) => Err(StoreError::Open {
                // A mistyped scheme may still carry a password.
                location: redact(s),
                message: "expected a postgres:// URL or sqlite:DIR".into(),
            }),
        }
    }

    /// How to show this location without leaking a password.
    pub fn display(&self) -> String {
        match self {
            Location::Embedded(dir) => dir.join(sqlite::FILE_NAME).display().to_string(),
            Location::Postgres(url) => redact(url),
        }
    }
}

/// Opens (and migrates) the store.
pub fn open(location: &Location) -> Result<Box<dyn Store + Send>, StoreError> {
    open_waiting(location, sqlite::BUSY_WAIT)
}

/// As [`open`]; on the embedded store a writer waits up to `busy_wait` for
/// another process's write transaction (PostgreSQL locks rows, not the store).
pub fn open_waiting(location: &Location, busy_wait: std::time::Duration) -> Result<Box<dyn Store + Send>, StoreError> {
    open_with(location, busy_wait, Memory::Mapped)
}

/// As [`open_waiting`]; the embedded store within `memory`.
pub fn open_with(
    location: &Location,
    busy_wait: std::time::Duration,
    memory: Memory,
) -> Result<Box<dyn Store + Send>, StoreError> {
    Ok(match location {
        Location::Embedded(dir) => Box::new(SqliteStore::open_with(dir, busy_wait, memory)?),
        Location::Postgres(url) => Box::new(PgStore::connect(url)?),
    })
}

/// `postgres://user:secret@host/db?password=x` → `postgres://user:***@host/db?password=***`.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_string() };
    let (before_query, query) = match rest.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (rest, None),
    };
    let mut out = match before_query.rsplit_once('@') {
        Some((creds, host)) if creds.contains(':') => {
            let user = creds.split(':').next().unwrap_or_default();
            format!("{scheme}://{user}:***@{host}")
        }
        _ => format!("{scheme}://{before_query}"),
    };
    if let Some(query) = query {
        let params: Vec<String> = query
            .split('&')
            .map(|p| match p.split_once('=') {
                Some((k, _)) if k.eq_ignore_ascii_case("password") || k.eq_ignore_ascii_case("sslpassword") => {
                    format!("{k}=***")
                }
                _ => p.to_string(),
            })
            .collect();
        out.push('?');
        out.push_str(&params.join("&"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_shown() {
        assert_eq!(redact("postgres://u:pw@h:5432/db"), "postgres://u:***@h:5432/db");
        assert_eq!(redact("postgres://u@h/db"), "postgres://u@h/db");
        let loc = Location::choose(Some("postgres://u:pw@h/db"), Path::new("x")).unwrap();
        assert!(!loc.display().contains("pw"));
        assert!(Location::choose(Some("mysql://x"), Path::new("x")).is_err());
        assert_eq!(
            redact("postgres://h/db?user=u&password=pw&sslmode=require"),
            "postgres://h/db?user=u&password=***&sslmode=require"
        );
        assert_eq!(redact("postgres://u:p@ss@h/db"), "postgres://u:***@h/db");
        let typo = Location::choose(Some("postgress://u:pw@h/db"), Path::new("x")).unwrap_err();
        assert!(!typo.to_string().contains("pw"), "{typo}");
    }
}
