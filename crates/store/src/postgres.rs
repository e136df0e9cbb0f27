//! The shared store: PostgreSQL, for several Dragnet processes on one
//! database. Same queries as the embedded store; only the DDL differs.

use dragnet_core::StoreError;
use postgres::types::{ToSql, Type};
use postgres::{Client, NoTls, Statement};
use std::collections::HashMap;

use crate::db::{Cell, Connection, Param, SqlStore};
use crate::schema;
use crate::tls;
use tokio_postgres_rustls::MakeRustlsConnect;

pub type PgStore = SqlStore<PgConnection>;

pub struct PgConnection {
    client: Client,
    statements: HashMap<String, Statement>,
}

fn backend(e: postgres::Error) -> StoreError {
    use postgres::error::SqlState;
    // Two batches upserting the same observables can deadlock; the loser is
    // rolled back whole and may simply run again.
    if matches!(e.code(), Some(c) if *c == SqlState::T_R_DEADLOCK_DETECTED || *c == SqlState::T_R_SERIALIZATION_FAILURE)
    {
        return StoreError::Conflict(e.as_db_error().map_or_else(|| e.to_string(), |d| d.message().to_string()));
    }
    // The driver's Display of a DbError is only "db error"; the detail is in the source.
    let detail = e.as_db_error().map(|d| d.message().to_string());
    StoreError::Backend(detail.unwrap_or_else(|| e.to_string()))
}

impl SqlStore<PgConnection> {
    /// Connects to `url` (a `postgres://` URL; `?options=-c search_path=…`
    /// selects a schema) and migrates it.
    pub fn connect(url: &str) -> Result<PgStore, StoreError> {
        let open_err = |message: String| StoreError::Open { location: crate::redact(url), message };
        let target = tls::split(url).map_err(open_err)?;
        let connected = match target.mode {
            tls::SslMode::Disable => Client::connect(&target.url, NoTls),
            _ => Client::connect(&target.url, MakeRustlsConnect::new(tls::client_config(&target)?)),
        };
        // The driver's messages name the host, never the password.
        let client = connected.map_err(|e| open_err(tls_detail(&e)))?;
        let mut conn = PgConnection { client, statements: HashMap::new() };
        // Two processes migrating at once must not both create the tables.
        conn.batch("SELECT pg_advisory_lock(7431001)")?;
        let migrated = crate::migration::migrate(&mut conn, &schema::migrations(schema::Dialect::Postgres));
        conn.batch("SELECT pg_advisory_unlock(7431001)")?;
        migrated?;
        Ok(SqlStore { conn })
    }
}

/// The driver's Display of a TLS failure is "error performing TLS
/// handshake"; the reason (an unknown issuer, a wrong name) is its source.
fn tls_detail(e: &postgres::Error) -> String {
    let mut message = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        message.push_str(": ");
        message.push_str(&s.to_string());
        source = s.source();
    }
    message
}

const NULL_TEXT: Option<&str> = None;
const NULL_INT: Option<i64> = None;

/// Binds each parameter as the Rust type matching what the server inferred
/// for it, so a NULL goes in as a NULL of the column's type.
fn bind<'a>(stmt: &Statement, params: &'a [Param<'a>]) -> Vec<&'a (dyn ToSql + Sync)> {
    params
        .iter()
        .zip(stmt.params())
        .map(|(p, ty)| match p {
            Param::Text(s) => s as &(dyn ToSql + Sync),
            Param::Int(n) => n as &(dyn ToSql + Sync),
            Param::Null if *ty == Type::TEXT || *ty == Type::VARCHAR => &NULL_TEXT as &(dyn ToSql + Sync),
            Param::Null => &NULL_INT as &(dyn ToSql + Sync),
        })
        .collect()
}

impl PgConnection {
    fn statement(&mut self, sql: &str) -> Result<Statement, StoreError> {
        if let Some(stmt) = self.statements.get(sql) {
            return Ok(stmt.clone());
        }
        let stmt = self.client.prepare(sql).map_err(backend)?;
        self.statements.insert(sql.to_string(), stmt.clone());
        Ok(stmt)
    }
}

impl Connection for PgConnection {
    fn exec(&mut self, sql: &str, params: &[Param<'_>]) -> Result<u64, StoreError> {
        let stmt = self.statement(sql)?;
        self.client.execute(&stmt, &bind(&stmt, params)).map_err(backend)
    }

    fn query(&mut self, sql: &str, params: &[Param<'_>]) -> Result<Vec<Vec<Cell>>, StoreError> {
        let stmt = self.statement(sql)?;
        let rows = self.client.query(&stmt, &bind(&stmt, params)).map_err(backend)?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let mut cells = Vec::with_capacity(row.len());
            for (i, col) in row.columns().iter().enumerate() {
                // try_get: a column of a type the store never asks for is an
                // error naming it, not a panic.
                let unexpected = |e: postgres::Error| StoreError::Corrupt {
                    what: "column",
                    value: format!("{} of type {}: {e}", col.name(), col.type_()),
                };
                let cell = match *col.type_() {
                    Type::INT8 => row.try_get::<_, Option<i64>>(i).map_err(unexpected)?.map_or(Cell::Null, Cell::Int),
                    Type::INT4 => row
                        .try_get::<_, Option<i32>>(i)
                        .map_err(unexpected)?
                        .map_or(Cell::Null, |n| Cell::Int(n.into())),
                    _ => row.try_get::<_, Option<String>>(i).map_err(unexpected)?.map_or(Cell::Null, Cell::Text),
                };
                cells.push(cell);
            }
            out.push(cells);
        }
        Ok(out)
    }

    fn batch(&mut self, sql: &str) -> Result<(), StoreError> {
        self.client.batch_execute(sql).map_err(backend)
    }

    fn begin_statement(&self) -> &'static str {
        "BEGIN"
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A fresh schema in the test database, dropped with the guard.
    pub struct Scratch {
        admin: Client,
        name: String,
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = self.admin.batch_execute(&format!("DROP SCHEMA {} CASCADE", self.name));
        }
    }

    /// A connection into a new schema of `DRAGNET_TEST_PG`; `None` only when
    /// `DRAGNET_SKIP_PG` is set and the server is not there.
    pub fn scratch_schema() -> Option<(PgConnection, Scratch)> {
        let url = dragnet_testkit::postgres_url();
        let mut admin = dragnet_testkit::postgres_admin()?;
        let name = dragnet_testkit::unique_name("unit");
        admin.batch_execute(&format!("CREATE SCHEMA {name}")).unwrap();
        let mut client = Client::connect(&url, NoTls).unwrap();
        client.batch_execute(&format!("SET search_path = {name}")).unwrap();
        Some((PgConnection { client, statements: HashMap::new() }, Scratch { admin, name }))
    }
}
