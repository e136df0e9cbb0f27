//! `/blocklist` and `/decisions/stream`: what is still live, as far as the
//! caller may see it, in the format a defender's tool loads or as a stream
//! of decisions added and withdrawn.

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use dragnet_core::access::Role;
use dragnet_engine::blocklist::{self, Filter, Format, Request};
use dragnet_engine::decisions::{self, Stream};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::error::{ApiError, ErrorBody};
use crate::extract::Query;
use crate::state::{Access, App, Credential};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Wanted {
    /// plain, cidr, csv, jsonl, hosts, adblock, nftables, ipset, suricata,
    /// suricata-categories, mikrotik or rpz (required).
    format: Option<String>,
    /// Leave out what is marked stricter than this TLP.
    tlp_max: Option<String>,
    /// Only these categories, comma-separated.
    category: Option<String>,
    /// Only values scoring at least this (0–100).
    #[param(maximum = 100)]
    min_score: Option<u8>,
    /// The firewall set or address list's name (default dragnet).
    name: Option<String>,
    /// rpz: the zone's name (default rpz.dragnet).
    zone: Option<String>,
}

/// A blocklist of what the caller may see that is still live.
#[utoipa::path(get, path = "/blocklist", tag = "protect", params(Wanted),
    responses(
        (status = 200, description = "The list, in the format asked for",
            content((String = "text/plain"), (String = "text/csv"), (String = "application/x-ndjson"), (String = "text/dns"))),
        (status = 400, description = "An unknown format or a bad filter", body = ErrorBody),
        (status = 401, description = "No usable token", body = ErrorBody),
        (status = 429, description = "Too many requests", body = ErrorBody),
    ))]
pub async fn export(
    State(app): State<App>,
    credential: Credential,
    Query(q): Query<Wanted>,
) -> Result<Response, ApiError> {
    // Checked after the token, so a caller without one learns nothing of the parameters.
    let (format, written) = app
        .call(credential, Access::Token(Role::Reader), move |store, ctx, scope| {
            let format: Format = q.format.as_deref().unwrap_or_default().parse()?;
            let categories: Vec<String> = q.category.into_iter().collect();
            let request = Request {
                format,
                filter: Filter::parse(q.tlp_max.as_deref(), &categories, q.min_score)?,
                name: q.name,
                zone: q.zone,
            };
            Ok((format, blocklist::export(store, ctx, scope, dragnet_engine::now(), &request)?))
        })
        .await?;
    Ok(([(header::CONTENT_TYPE, format.content_type())], written.text).into_response())
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Cursor {
    /// Every standing decision (the first call, or to start over).
    startup: Option<bool>,
    /// The cursor the previous answer gave: what was added and withdrawn since.
    since: Option<String>,
}

/// Decisions to ban addresses, networks and domains, CrowdSec LAPI-style:
/// `startup=true` first, then `since=CURSOR`.
#[utoipa::path(get, path = "/decisions/stream", tag = "protect", params(Cursor),
    responses(
        (status = 200, description = "Decisions added and withdrawn, and the cursor to ask from next", body = Stream),
        (status = 400, description = "Neither startup nor a cursor this stream gave", body = ErrorBody),
        (status = 401, description = "No usable token", body = ErrorBody),
        (status = 429, description = "Too many requests", body = ErrorBody),
    ))]
pub async fn stream(
    State(app): State<App>,
    credential: Credential,
    Query(q): Query<Cursor>,
) -> Result<Json<Stream>, ApiError> {
    let startup = q.startup.unwrap_or(false);
    app.call(credential, Access::Token(Role::Reader), move |store, ctx, scope| {
        Ok(decisions::stream(store, ctx, scope, dragnet_engine::now(), startup, q.since.as_deref())?)
    })
    .await
    .map(Json)
}
