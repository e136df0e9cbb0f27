//! The engine's one error type. Each variant says whose fault it is, so the
//! command line can choose an exit status and the server a response code.

use std::path::{Path, PathBuf};

use dragnet_core::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The store refused or failed: worth retrying when it is busy.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// What the caller asked for or gave is wrong (a bad argument, a file
    /// that is not what it claims).
    #[error("{0}")]
    Invalid(String),
    /// The named thing does not exist, or the caller may not know it does.
    #[error("{0}")]
    NotFound(String),
    /// The caller could not be identified (no token, or an unusable one).
    #[error("{0}")]
    Unauthenticated(String),
    /// The caller is known but may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// A file or folder could not be read or written.
    #[error("cannot {action} {}: {source}", path.display())]
    Io { action: &'static str, path: PathBuf, source: std::io::Error },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn invalid(message: impl Into<String>) -> Error {
        Error::Invalid(message.into())
    }

    /// For `map_err`: an I/O failure doing `action` on `path`.
    pub fn io(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> Error {
        let path = path.to_path_buf();
        move |source| Error::Io { action, path, source }
    }
}
