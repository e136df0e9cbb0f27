//! Jurisdiction routing and packages: each server goes to the agencies
//! whose countries, ASNs or prefixes cover one of its members (or that a
//! coordinator routed it to by hand), and an agency's package is what it
//! must act on — as far as it may see it, marked with the strictest TLP it
//! holds, and compared with the package before it.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use dragnet_core::access::{Org, OrgKind};
use dragnet_core::store::{PackageRecord, Routing};
use dragnet_core::{Store, Tlp};
use serde::{Deserialize, Serialize};

use crate::access::Scope;
use crate::lookup::Context;
use crate::servers::{ServerView, compute};
use crate::{Error, Result};

/// Whether `ip` lies in the CIDR `prefix` (a prefix that does not parse covers nothing).
pub(crate) fn covers(prefix: &str, ip: IpAddr) -> bool {
    let Some((net, len)) = prefix.split_once('/') else { return false };
    let (Ok(net), Ok(len)) = (net.parse::<IpAddr>(), len.parse::<u32>()) else { return false };
    let (net, ip, bits) = match (net, ip) {
        (IpAddr::V4(n), IpAddr::V4(i)) => (u128::from(u32::from(n)), u128::from(u32::from(i)), 32),
        (IpAddr::V6(n), IpAddr::V6(i)) => (u128::from(n), u128::from(i), 128),
        _ => return false,
    };
    if len > bits {
        return false;
    }
    let shift = bits - len;
    shift >= 128 || net.checked_shr(shift) == ip.checked_shr(shift)
}

/// Why a server goes to an agency: the members its jurisdiction covers,
/// or a coordinator's decision.
pub fn reasons(server: &ServerView, agency: &Org) -> Vec<String> {
    let mut why = BTreeSet::new();
    for m in &server.members {
        if let Some(cc) = m.country.as_ref().filter(|cc| agency.countries.contains(cc)) {
            why.insert(format!("{} is in {cc}", m.value));
        }
        if let Some(asn) = m.asn.filter(|asn| agency.asns.contains(asn)) {
            why.insert(format!("{} is in AS{asn}", m.value));
        }
        if let Ok(ip) = m.value.parse::<IpAddr>() {
            for p in agency.prefixes.iter().filter(|p| covers(p, ip)) {
                why.insert(format!("{} is in {p}", m.value));
            }
        }
    }
    why.into_iter().collect()
}

/// The routings by hand in force: the latest per (server, agency).
fn by_hand(routings: Vec<Routing>) -> BTreeMap<(String, String), Routing> {
    routings.into_iter().map(|r| ((r.server.clone(), r.org.clone()), r)).collect()
}

/// A server in a package, with why it is there.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Packaged {
    pub why: Vec<String>,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub server: serde_json::Value,
}

/// What changed since the agency's previous package.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Changes {
    pub previous_version: Option<i64>,
    pub added: Vec<String>,
    pub removed: Vec<String>,
    /// Servers in both whose members or score changed.
    pub changed: Vec<String>,
}

/// A package's body, as stored and served.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Package {
    pub agency: String,
    pub version: i64,
    pub created: String,
    pub tlp: Option<Tlp>,
    pub servers: Vec<Packaged>,
    pub changes: Changes,
}

fn members_and_score(server: &serde_json::Value) -> (Vec<String>, u64) {
    let mut members: Vec<String> = ["ips", "domains", "urls"]
        .iter()
        .flat_map(|k| server[*k].as_array().into_iter().flatten().filter_map(|v| v.as_str().map(str::to_string)))
        .collect();
    members.sort();
    (members, server["score"].as_u64().unwrap_or_default())
}

fn changes(previous: Option<(i64, Package)>, now: &[Packaged]) -> Changes {
    let Some((version, previous)) = previous else {
        return Changes {
            added: now.iter().filter_map(|p| p.server["id"].as_str().map(str::to_string)).collect(),
            ..Changes::default()
        };
    };
    let index = |servers: &[Packaged]| -> BTreeMap<String, (Vec<String>, u64)> {
        servers
            .iter()
            .filter_map(|p| Some((p.server["id"].as_str()?.to_string(), members_and_score(&p.server))))
            .collect()
    };
    let (before, after) = (index(&previous.servers), index(now));
    Changes {
        previous_version: Some(version),
        added: after.keys().filter(|id| !before.contains_key(*id)).cloned().collect(),
        removed: before.keys().filter(|id| !after.contains_key(*id)).cloned().collect(),
        changed: after
            .iter()
            .filter(|(id, a)| before.get(*id).is_some_and(|b| b != *a))
            .map(|(id, _)| id.clone())
            .collect(),
    }
}

/// The agency named `name`, or why it cannot receive packages.
fn agency(store: &mut dyn Store, name: &str) -> Result<Org> {
    let org = store
        .orgs()?
        .into_iter()
        .find(|o| o.name == name)
        .ok_or_else(|| Error::NotFound(format!("no organisation `{name}`")))?;
    if org.kind != OrgKind::Agency {
        return Err(Error::invalid(format!("`{name}` is a {}, not an agency: packages go to agencies", org.kind)));
    }
    Ok(org)
}

/// The servers routed to `agency`, as it may see them, with the reasons.
pub fn routed(store: &mut dyn Store, ctx: &Context, agency_name: &str, now: i64) -> Result<Vec<Packaged>> {
    let agency = agency(store, agency_name)?;
    let scope = Scope::of_org(store, agency_name)?;
    let servers = compute(store, ctx, &scope, now, true)?;
    let hand = by_hand(store.routings()?);
    let mut out = Vec::new();
    for s in &servers.views {
        let mut why = reasons(s, &agency);
        match hand.get(&(s.id.clone(), agency.name.clone())) {
            Some(r) if !r.add => continue,
            Some(r) => why.push(format!("routed by {}: {}", r.by, r.reason)),
            None if why.is_empty() => continue,
            None => {}
        }
        let server = serde_json::to_value(s).map_err(|e| Error::invalid(format!("server {}: {e}", s.id)))?;
        out.push(Packaged { why, server });
    }
    Ok(out)
}

/// Builds the agency's next package and stores it.
pub fn build(store: &mut dyn Store, ctx: &Context, agency_name: &str, now: i64) -> Result<(PackageRecord, Package)> {
    let servers = routed(store, ctx, agency_name, now)?;
    let latest = store.packages(Some(agency_name))?.into_iter().next();
    let next = latest.as_ref().map_or(1, |p| p.version + 1);
    let previous = match &latest {
        Some(p) => store.package(p.id)?.map(|p| read(&p).map(|body| (p.version, body))).transpose()?,
        None => None,
    };
    let tlp = servers.iter().filter_map(|p| p.server["tlp"].as_str()?.parse::<Tlp>().ok()).max();
    let mut package = Package {
        agency: agency_name.to_string(),
        version: next,
        created: dragnet_core::format_timestamp(now),
        tlp,
        changes: changes(previous, &servers),
        servers,
    };
    let mut record = PackageRecord {
        id: 0,
        org: agency_name.to_string(),
        version: 0,
        created: now,
        tlp,
        servers: package.servers.len() as u64,
        body: String::new(),
    };
    record.body = serde_json::to_string(&package).map_err(|e| Error::invalid(e.to_string()))?;
    // The version is the store's to give (two builds at once get two); the
    // record's is the one in force, also when the package is read back.
    let (id, version) = store.add_package(&record)?;
    (record.id, record.version, package.version) = (id, version, version);
    // The package's STIX objects join the agency's TAXII collection.
    let bundle = crate::export::stix::bundle(&crate::export::of_package(&package));
    crate::taxii::publish(store, agency_name, &bundle, crate::now_micros())?;
    Ok((record, package))
}

/// A stored package's body, with the version the store gave it.
pub fn read(record: &PackageRecord) -> Result<Package> {
    let mut package: Package = serde_json::from_str(&record.body)
        .map_err(|e| Error::Store(dragnet_core::StoreError::Corrupt { what: "package", value: e.to_string() }))?;
    package.version = record.version;
    Ok(package)
}

/// Records a coordinator's routing of `server` to (or away from) `agency`.
pub fn route_by_hand(
    store: &mut dyn Store,
    server: &str,
    agency_name: &str,
    add: bool,
    reason: &str,
    by: &str,
) -> Result<Routing> {
    agency(store, agency_name)?;
    if reason.trim().is_empty() {
        return Err(Error::invalid("a routing by hand needs its reason"));
    }
    let routing = Routing {
        server: server.to_string(),
        org: agency_name.to_string(),
        add,
        reason: reason.trim().to_string(),
        by: by.to_string(),
        at: crate::now(),
    };
    store.add_routing(&routing)?;
    Ok(routing)
}

#[cfg(test)]
mod tests {
    use super::covers;

    #[test]
    fn prefixes_cover_their_addresses_only() {
        let ip = |s: &str| s.parse().unwrap();
        assert!(covers("45.8.0.0/16", ip("45.8.9.9")) && !covers("45.8.0.0/16", ip("45.9.0.1")));
        assert!(covers("0.0.0.0/0", ip("1.2.3.4")) && covers("1.2.3.4/32", ip("1.2.3.4")));
        assert!(covers("2001:db8::/32", ip("2001:db8::1")) && !covers("2001:db8::/32", ip("45.8.0.1")));
        assert!(!covers("45.8.0.0/33", ip("45.8.0.1")) && !covers("junk", ip("45.8.0.1")));
    }
}
