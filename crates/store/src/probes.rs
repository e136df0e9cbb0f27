//! The verification prober's results and each server's run of silent rounds.

use dragnet_core::StoreError;
use dragnet_core::store::ProbeResult;

use crate::db::{Connection, Param, at, transaction};
use crate::schema::sql;

pub fn add_round<C: Connection>(
    conn: &mut C,
    results: &[ProbeResult],
    silent_rounds: &[(String, u32)],
) -> Result<(), StoreError> {
    transaction(conn, |conn| {
        for r in results {
            conn.exec(
                sql::INSERT_PROBE_RESULT,
                &[
                    Param::Text(&r.server),
                    Param::Text(&r.address),
                    Param::Int(i64::from(r.port)),
                    Param::Int(r.at),
                    Param::Int(i64::from(r.connected)),
                    r.certificate.as_deref().map_or(Param::Null, Param::Text),
                    r.http_status.map_or(Param::Null, |s| Param::Int(i64::from(s))),
                    r.error.as_deref().map_or(Param::Null, Param::Text),
                    r.ja3s.as_deref().map_or(Param::Null, Param::Text),
                ],
            )?;
        }
        for (server, silent) in silent_rounds {
            conn.exec(sql::PUT_PROBE_STREAK, &[Param::Text(server), Param::Int(i64::from(*silent))])?;
        }
        Ok(())
    })
}

fn small<T: TryFrom<i64>>(n: i64, what: &'static str) -> Result<T, StoreError> {
    T::try_from(n).map_err(|_| StoreError::Corrupt { what, value: n.to_string() })
}

pub fn streaks<C: Connection>(conn: &mut C) -> Result<Vec<(String, u32)>, StoreError> {
    conn.query(sql::PROBE_STREAKS, &[])?
        .iter()
        .map(|r| Ok((at(r, 0)?.text()?.to_string(), small(at(r, 1)?.int()?, "silent rounds")?)))
        .collect()
}

pub fn results<C: Connection>(conn: &mut C, server: &str, limit: u32) -> Result<Vec<ProbeResult>, StoreError> {
    conn.query(sql::PROBE_RESULTS, &[Param::Text(server), Param::Int(i64::from(limit))])?
        .iter()
        .map(|r| {
            Ok(ProbeResult {
                server: at(r, 0)?.text()?.to_string(),
                address: at(r, 1)?.text()?.to_string(),
                port: small(at(r, 2)?.int()?, "port")?,
                at: at(r, 3)?.int()?,
                connected: at(r, 4)?.int()? != 0,
                certificate: at(r, 5)?.opt_text()?,
                http_status: at(r, 6)?.opt_int()?.map(|s| small(s, "HTTP status")).transpose()?,
                error: at(r, 7)?.opt_text()?,
                ja3s: at(r, 8)?.opt_text()?,
            })
        })
        .collect()
}

pub fn certificates<C: Connection>(conn: &mut C, server: &str) -> Result<Vec<(String, String)>, StoreError> {
    conn.query(sql::PROBE_CERTIFICATES, &[Param::Text(server)])?
        .iter()
        .map(|r| Ok((at(r, 0)?.text()?.to_string(), at(r, 1)?.text()?.to_string())))
        .collect()
}
