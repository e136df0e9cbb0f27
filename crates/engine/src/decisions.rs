//! The decision stream, in the manner of CrowdSec's LAPI: a defender's
//! tool asks once with `startup` for every standing decision (ban this
//! address, network or domain until then, for this reason), then with the
//! cursor it was given for what was added and withdrawn since. A server
//! verified offline, a value warninglisted or expired, turns into
//! withdrawals. Each caller is given only what the policy point lets it see.

use dragnet_core::score::expiry_seconds;
use dragnet_core::store::Decision;
use dragnet_core::{Kind, Store, Timestamp};
use serde::Serialize;

use crate::access::Scope;
use crate::blocklist::{self, Filter, formats::plain_dns_name};
use crate::lookup::Context;
use crate::{Error, Result};

/// Who makes the decisions, as CrowdSec's `origin`.
pub const ORIGIN: &str = "dragnet";
/// A renewed expiry closer than this to the standing one changes nothing,
/// so decaying sightings do not churn the stream.
const SLACK_SECONDS: i64 = 3600;

/// One decision as a bouncer reads it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize)]
pub struct DecisionView {
    pub id: u64,
    pub origin: &'static str,
    /// Always `ban`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// `Ip`, `Range` or `Domain`.
    pub scope: &'static str,
    pub value: String,
    /// Time left, as Go writes durations (`167h59m0s`).
    pub duration: String,
    /// RFC 3339: when it lapses unless renewed.
    pub until: String,
    /// `dragnet/CATEGORY`.
    pub scenario: String,
    pub reason: String,
}

/// What changed for a caller since its cursor.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize)]
pub struct Stream {
    pub new: Vec<DecisionView>,
    pub deleted: Vec<DecisionView>,
    /// Ask with `since=` this next time.
    pub cursor: String,
}

/// A standing set older than this is recomputed even if the store did not
/// change (sightings expire with time; warninglists are not counted in the basis).
const MAX_AGE_SECONDS: i64 = 60;

/// Makes the store's standing decisions those of what is live now, for
/// everyone (each caller is filtered when it reads). Skipped when nothing
/// was written and nothing logged since the last time, under a minute ago.
/// Returns (added, withdrawn).
pub fn refresh(store: &mut dyn Store, ctx: &Context, now: Timestamp) -> Result<(usize, usize)> {
    let basis = format!("{}:{}", store.generation()?, store.audit_size()?);
    if let Some((last, refreshed)) = store.decision_basis()?
        && last == basis
        && (0..MAX_AGE_SECONDS).contains(&(now - refreshed))
    {
        return Ok((0, 0));
    }
    let changed = reconcile(store, ctx, now)?;
    store.set_decision_basis(&basis, now)?;
    Ok(changed)
}

fn reconcile(store: &mut dyn Store, ctx: &Context, now: Timestamp) -> Result<(usize, usize)> {
    let scoring = crate::config::scoring();
    let entries = blocklist::select(store, ctx, &Scope::operator(), now, &Filter::default())?;
    let live: Vec<Decision> = entries
        .into_iter()
        .filter(|e| match e.kind {
            Kind::Ipv4 | Kind::Ipv6 | Kind::Cidr => true,
            Kind::Domain => plain_dns_name(&e.value),
            _ => false,
        })
        .map(|e| {
            let lasts = e.categories.iter().map(|c| expiry_seconds(&scoring, *c)).max().unwrap_or(0);
            let categories: Vec<&str> = e.categories.iter().map(|c| c.as_str()).collect();
            let reason = if e.server.is_empty() {
                categories.join(", ")
            } else {
                format!("{} (server {})", categories.join(", "), e.server)
            };
            Decision {
                id: 0,
                category: e.category(),
                value: e.value,
                kind: e.kind,
                until: e.last_seen.saturating_add(lasts),
                reason,
                markings: e.markings,
                added: now,
                deleted: None,
            }
        })
        .collect();
    Ok(store.reconcile_decisions(&live, SLACK_SECONDS, now)?)
}

/// Go's duration text for whole seconds: `1h2m3s`, `4m0s`, `0s`.
fn duration(seconds: i64) -> String {
    let s = seconds.max(0);
    match (s / 3600, s % 3600 / 60, s % 60) {
        (0, 0, sec) => format!("{sec}s"),
        (0, m, sec) => format!("{m}m{sec}s"),
        (h, m, sec) => format!("{h}h{m}m{sec}s"),
    }
}

fn view(d: Decision, now: Timestamp) -> DecisionView {
    DecisionView {
        id: d.id,
        origin: ORIGIN,
        kind: "ban",
        scope: match d.kind {
            Kind::Cidr => "Range",
            Kind::Domain => "Domain",
            _ => "Ip",
        },
        duration: duration(d.until - now),
        until: dragnet_core::format_timestamp(d.until),
        scenario: format!("{ORIGIN}/{}", d.category.as_str()),
        value: d.value,
        reason: d.reason,
    }
}

/// The caller's decisions: every standing one (`startup`), or those added
/// and withdrawn since `since`. The store's decisions are refreshed first.
pub fn stream(
    store: &mut dyn Store,
    ctx: &Context,
    scope: &Scope,
    now: Timestamp,
    startup: bool,
    since: Option<&str>,
) -> Result<Stream> {
    scope.require(dragnet_core::access::Role::Reader)?;
    let cursor = match (startup, since) {
        (true, _) => 0,
        (false, Some(text)) => text
            .trim()
            .parse::<u64>()
            .map_err(|_| Error::invalid(format!("since: `{text}` is not a cursor this stream gave")))?,
        (false, None) => return Err(Error::invalid("ask with startup=true first, then with since=CURSOR")),
    };
    refresh(store, ctx, now)?;
    let changes = store.decisions_since(cursor)?;
    if cursor > changes.cursor {
        return Err(Error::invalid(format!("since: `{cursor}` is ahead of this stream ({})", changes.cursor)));
    }
    let visible = |d: &Decision| d.markings.iter().any(|(source, tlp)| scope.allows(source, *tlp));
    let pick = |list: Vec<Decision>| -> Vec<DecisionView> {
        list.into_iter().filter(|d| visible(d)).map(|d| view(d, now)).collect()
    };
    Ok(Stream { new: pick(changes.new), deleted: pick(changes.deleted), cursor: changes.cursor.to_string() })
}

#[cfg(test)]
mod tests {
    #[test]
    fn durations_read_as_go_writes_them() {
        assert_eq!(super::duration(0), "0s");
        assert_eq!(super::duration(-5), "0s");
        assert_eq!(super::duration(59), "59s");
        assert_eq!(super::duration(240), "4m0s");
        assert_eq!(super::duration(3723), "1h2m3s");
        assert_eq!(super::duration(604_800), "168h0m0s");
    }
}
