//! Looking values up: each value normalised, answered from the store,
//! scored, checked against the warninglists and enriched.

use dragnet_analytics::warninglist::{self, WarningList};
use dragnet_core::policy::{Answer, answer};
use dragnet_core::score::{Explanation, explain};
use dragnet_core::store::Hit;
use dragnet_core::{Observable, Store};
use serde::Serialize;

use crate::Result;
use crate::access::Scope;

/// What a lookup consults besides the store.
pub struct Context {
    pub lists: Vec<WarningList>,
    pub geo: dragnet_analytics::geo::GeoIndex,
    /// Stored warninglists that could not be used (reported, never matched).
    pub unusable: Vec<String>,
}

impl Context {
    /// The warninglists in force and the data directory's enrichment data.
    pub fn load(store: &mut dyn Store, data: &std::path::Path) -> Result<Context> {
        let lists = crate::warninglists::in_force(store)?;
        Ok(Context { lists: lists.lists, geo: crate::geo::load(data)?, unusable: lists.unusable })
    }
}

/// The answer for one value, from the observations `scope` may see; `Err`
/// with the reason when the value cannot be understood (not an IP, domain,
/// URL, hash, e-mail address or ASN).
pub fn look_up(
    store: &mut dyn Store,
    ctx: &Context,
    scope: &Scope,
    raw: &str,
    at: Option<i64>,
) -> Result<std::result::Result<Answer, String>> {
    match Observable::guess(raw) {
        Ok(obs) => {
            let hits = if hidden(ctx, scope, &obs) { Vec::new() } else { store.lookup(&obs)? };
            Ok(Ok(answer_from(ctx, scope, &obs, hits, at)))
        }
        Err(e) => Ok(Err(e.to_string())),
    }
}

/// Whether `obs` is warninglisted and so never served to `scope`
/// (the operator sees it all the same).
pub fn hidden(ctx: &Context, scope: &Scope, obs: &Observable) -> bool {
    !scope.sees_warninglisted() && !warninglist::hits(&ctx.lists, obs).is_empty()
}

/// The answer from the stored hits of `obs`: those `scope` may not see
/// left out, scored as of `at` (or now), enriched.
pub fn answer_from(ctx: &Context, scope: &Scope, obs: &Observable, mut hits: Vec<Hit>, at: Option<i64>) -> Answer {
    hits.retain(|h| scope.allows(&h.source, h.observation.tlp));
    let mut a = answer(obs, &hits, &crate::config::scoring(), at.unwrap_or_else(crate::now));
    enrich(&mut a, obs, ctx);
    a
}

/// The stored observations of `obs` that `scope` may see; none of a
/// warninglisted value unless `scope` is the operator's.
pub fn visible_hits(store: &mut dyn Store, ctx: &Context, scope: &Scope, obs: &Observable) -> Result<Vec<Hit>> {
    if hidden(ctx, scope, obs) {
        return Ok(Vec::new());
    }
    let mut hits = store.lookup(obs)?;
    hits.retain(|h| scope.allows(&h.source, h.observation.tlp));
    Ok(hits)
}

/// Fills in what the answer's caller knows besides the store: warninglists,
/// AS and country of an IP, the registrable domain of a host.
pub fn enrich(a: &mut Answer, obs: &Observable, ctx: &Context) {
    a.warninglists = warninglist::hits(&ctx.lists, obs).into_iter().map(str::to_string).collect();
    if let Ok(ip) = obs.value().parse::<std::net::IpAddr>() {
        let e = ctx.geo.enrich(ip);
        (a.asn, a.as_org, a.country) = (e.asn, e.as_org, e.country);
    }
    let host = if obs.kind() == dragnet_core::Kind::Domain { Some(obs.clone()) } else { obs.url_host() };
    a.registrable_domain = host.and_then(|h| dragnet_analytics::dns::registrable_domain(h.value()).map(str::to_string));
}

/// Every observation's part in one value's score.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Serialize)]
pub struct Explained {
    pub value: String,
    pub kind: String,
    pub warninglists: Vec<String>,
    #[serde(flatten)]
    pub explanation: Explanation,
}

pub fn explain_value(
    store: &mut dyn Store,
    ctx: &Context,
    scope: &Scope,
    raw: &str,
    at: Option<i64>,
) -> Result<Explained> {
    let now = at.unwrap_or_else(crate::now);
    let obs = Observable::guess(raw).map_err(|e| crate::Error::invalid(format!("{raw}: {e}")))?;
    let explanation = explain(&crate::config::scoring(), &visible_hits(store, ctx, scope, &obs)?, now);
    let warninglists = warninglist::hits(&ctx.lists, &obs).into_iter().map(str::to_string).collect();
    Ok(Explained { value: obs.value().to_string(), kind: obs.kind().to_string(), warninglists, explanation })
}
