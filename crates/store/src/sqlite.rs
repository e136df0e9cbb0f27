//! The embedded store: one SQLite file in the data directory, in WAL mode
//! with full synchronous commits so an acknowledged batch survives a crash.

use std::path::Path;

use dragnet_core::StoreError;
use rusqlite::types::{ToSqlOutput, Value, ValueRef};

use crate::db::{self, Cell, Connection, Param, SqlStore};
use crate::schema;

pub const FILE_NAME: &str = "dragnet.sqlite";

pub type SqliteStore = SqlStore<SqliteConnection>;

pub struct SqliteConnection(rusqlite::Connection);

fn backend(e: rusqlite::Error) -> StoreError {
    StoreError::Backend(e.to_string())
}

impl SqlStore<SqliteConnection> {
    /// Opens `dir/dragnet.sqlite`, creating the directory and the schema.
    pub fn open(dir: &Path) -> Result<SqliteStore, StoreError> {
        let open_err =
            |message: String| StoreError::Open { location: dir.join(FILE_NAME).display().to_string(), message };
        std::fs::create_dir_all(dir).map_err(|e| open_err(e.to_string()))?;
        let conn = rusqlite::Connection::open(dir.join(FILE_NAME)).map_err(|e| open_err(e.to_string()))?;
        Self::init(conn).map_err(|e| match e {
            StoreError::Backend(m) => open_err(m),
            other => other,
        })
    }

    /// A private in-memory store, for tests and benchmarks.
    pub fn in_memory() -> Result<SqliteStore, StoreError> {
        Self::init(rusqlite::Connection::open_in_memory().map_err(backend)?)
    }

    fn init(conn: rusqlite::Connection) -> Result<SqliteStore, StoreError> {
        conn.busy_timeout(std::time::Duration::from_secs(10)).map_err(backend)?;
        conn.execute_batch("PRAGMA page_size = 16384; PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA cache_size = -65536; PRAGMA temp_store = MEMORY;")
            .map_err(backend)?;
        conn.set_prepared_statement_cache_capacity(64);
        let mut conn = SqliteConnection(conn);
        db::migrate(&mut conn, &schema::migrations(schema::Dialect::Sqlite))?;
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
