//! The embedded store: one SQLite file in the data directory, in WAL mode
//! with full synchronous commits so an acknowledged batch survives a crash.

use std::path::Path;
use std::time::Duration;

use dragnet_core::StoreError;
use rusqlite::types::{ToSqlOutput, Value, ValueRef};

use crate::db::{Cell, Connection, Param, SqlStore};
use crate::schema;

pub const FILE_NAME: &str = "dragnet.sqlite";

pub type SqliteStore = SqlStore<SqliteConnection>;

pub struct SqliteConnection(pub(crate) rusqlite::Connection);

/// How long a writer waits by default for another process's write
/// transaction (an ingest of a large file holds the lock for its whole file)
/// before giving up with [`StoreError::Busy`]. Readers never wait: the store
/// is in WAL mode.
pub const BUSY_WAIT: Duration = Duration::from_secs(300);

fn backend(e: rusqlite::Error) -> StoreError {
    match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked) => {
            StoreError::Busy(e.to_string())
        }
        _ => StoreError::Backend(e.to_string()),
    }
}

/// How much memory the embedded store may use, by what the process does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Memory {
    /// Many reads (a server answering lookups): a 64 MiB page cache and up
    /// to 1 GiB of the file mapped, so hot pages are read without copying.
    #[default]
    Mapped,
    /// One long writer (an ingest of any size): a 16 MiB page cache and
    /// nothing mapped, so its memory stays flat however large the store.
    Lean,
}

impl Memory {
    fn pragmas(self) -> &'static str {
        match self {
            Memory::Mapped => "PRAGMA cache_size = -65536; PRAGMA mmap_size = 1073741824;",
            Memory::Lean => "PRAGMA cache_size = -16384; PRAGMA mmap_size = 0;",
        }
    }
}

impl SqlStore<SqliteConnection> {
    /// Opens `dir/dragnet.sqlite`, creating the directory and the schema.
    pub fn open(dir: &Path) -> Result<SqliteStore, StoreError> {
        Self::open_waiting(dir, BUSY_WAIT)
    }

    /// As [`Self::open`], a writer waiting up to `busy_wait` for another.
    pub fn open_waiting(dir: &Path, busy_wait: Duration) -> Result<SqliteStore, StoreError> {
        Self::open_with(dir, busy_wait, Memory::Mapped)
    }

    /// As [`Self::open_waiting`], within `memory`.
    pub fn open_with(dir: &Path, busy_wait: Duration, memory: Memory) -> Result<SqliteStore, StoreError> {
        // SQLite counts the wait in milliseconds in a C int: a day is plenty.
        let busy_wait = busy_wait.min(Duration::from_secs(86_400));
        let open_err =
            |message: String| StoreError::Open { location: dir.join(FILE_NAME).display().to_string(), message };
        std::fs::create_dir_all(dir).map_err(|e| open_err(e.to_string()))?;
        // Many processes opening a new store at once race to create it and
        // to switch it to WAL; SQLite reports some of those races as busy at
        // once, without waiting, so opening is retried until BUSY_WAIT.
        let started = std::time::Instant::now();
        let mut pause = Duration::from_millis(5);
        loop {
            let conn = rusqlite::Connection::open(dir.join(FILE_NAME)).map_err(|e| open_err(e.to_string()))?;
            match Self::init(conn, busy_wait, memory) {
                Ok(store) => return Ok(store),
                Err(StoreError::Busy(_)) if started.elapsed() < busy_wait => {
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(Duration::from_millis(200));
                }
                Err(StoreError::Backend(m)) => return Err(open_err(m)),
                Err(other) => return Err(other),
            }
        }
    }

    /// A private in-memory store, for tests and benchmarks.
    pub fn in_memory() -> Result<SqliteStore, StoreError> {
        Self::init(rusqlite::Connection::open_in_memory().map_err(backend)?, BUSY_WAIT, Memory::Mapped)
    }

    fn init(conn: rusqlite::Connection, busy_wait: Duration, memory: Memory) -> Result<SqliteStore, StoreError> {
        conn.busy_timeout(busy_wait).map_err(backend)?;
        conn.execute_batch(
            "PRAGMA page_size = 16384; PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA temp_store = MEMORY;",
        )
        .map_err(backend)?;
        conn.execute_batch(memory.pragmas()).map_err(backend)?;
        conn.set_prepared_statement_cache_capacity(64);
        let mut conn = SqliteConnection(conn);
        crate::migration::migrate(&mut conn, &schema::migrations(schema::Dialect::Sqlite))?;
        Ok(SqlStore { conn })
    }
}

impl rusqlite::ToSql for Param<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match *self {
            Param::Null => ToSqlOutput::Owned(Value::Null),
            Param::Int(n) => ToSqlOutput::Owned(Value::Integer(n)),
            Param::Text(s) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
        })
    }
}

impl Connection for SqliteConnection {
    fn exec(&mut self, sql: &str, params: &[Param<'_>]) -> Result<u64, StoreError> {
        let mut stmt = self.0.prepare_cached(sql).map_err(backend)?;
        stmt.execute(rusqlite::params_from_iter(params.iter())).map(|n| n as u64).map_err(backend)
    }

    fn query(&mut self, sql: &str, params: &[Param<'_>]) -> Result<Vec<Vec<Cell>>, StoreError> {
        let mut stmt = self.0.prepare_cached(sql).map_err(backend)?;
        let width = stmt.column_count();
        let mut rows = stmt.query(rusqlite::params_from_iter(params.iter())).map_err(backend)?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(backend)? {
            let mut cells = Vec::with_capacity(width);
            for i in 0..width {
                cells.push(match row.get_ref(i).map_err(backend)? {
                    ValueRef::Null => Cell::Null,
                    ValueRef::Integer(n) => Cell::Int(n),
                    ValueRef::Real(f) => Cell::Int(f as i64),
                    ValueRef::Text(t) | ValueRef::Blob(t) => Cell::Text(String::from_utf8_lossy(t).into_owned()),
                });
            }
            out.push(cells);
        }
        Ok(out)
    }

    fn batch(&mut self, sql: &str) -> Result<(), StoreError> {
        self.0.execute_batch(sql).map_err(backend)
    }

    fn begin_statement(&self) -> &'static str {
        "BEGIN IMMEDIATE"
    }
}
