//! The shared store: PostgreSQL, for several Dragnet processes on one
//! database. Same queries as the embedded store; only the DDL differs.

use dragnet_core::StoreError;
use postgres::types::{ToSql, Type};
use postgres::{Client, NoTls, Statement};
use std::collections::HashMap;

use crate::db::{self, Cell, Connection, Param, SqlStore};
use crate::schema;

pub type PgStore = SqlStore<PgConnection>;

pub struct PgConnection {
    client: Client,
    statements: HashMap<String, Statement>,
}

fn backend(e: postgres::Error) -> StoreError {
    // The driver's Display of a DbError is only "db error"; the detail is in the source.
    let detail = e.as_db_error().map(|d| d.message().to_string());
    StoreError::Backend(detail.unwrap_or_else(|| e.to_string()))
}

impl SqlStore<PgConnection> {
    /// Connects to `url` (a `postgres://` URL; `?options=-c search_path=…`
    /// selects a schema) and migrates it.
    pub fn connect(url: &str) -> Result<PgStore, StoreError> {
        let client = Client::connect(url, NoTls)
            .map_err(|e| StoreError::Open { location: crate::redact(url), message: e.to_string() })?;
        let mut conn = PgConnection { client, statements: HashMap::new() };
        // Two processes migrating at once must not both create the tables.
        conn.batch("SELECT pg_advisory_lock(7431001)")?;
        let migrated = db::migrate(&mut conn, &schema::migrations(schema::Dialect::Postgres));
        conn.batch("SELECT pg_advisory_unlock(7431001)")?;
        migrated?;
        Ok(SqlStore { conn })
    }
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
                let cell = match *col.type_() {
                    Type::INT8 => row.get::<_, Option<i64>>(i).map_or(Cell::Null, Cell::Int),
                    Type::INT4 => row.get::<_, Option<i32>>(i).map_or(Cell::Null, |n| Cell::Int(n.into())),
                    _ => row.get::<_, Option<String>>(i).map_or(Cell::Null, Cell::Text),
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
