//! A candidate address that shows a taken-down server's certificate joins
//! that server. The prober reports it as any source would: an observation
//! of the address, categorised and marked as the server is, and the links
//! from both addresses to the certificate, which put them on one server the
//! next time servers are computed.

use std::net::IpAddr;

use dragnet_core::policy::{BatchLabels, label};
use dragnet_core::store::{Batch, Source};
use dragnet_core::{Credibility, Grade, Kind, Link, Observable, Record, Reliability, Store, Timestamp, Tlp};

use crate::servers::ServerView;
use crate::{Error, Result};

/// The source the prober reports under.
pub const PROBER: &str = "prober";

/// A candidate address that showed `certificate`, once shown by `server`
/// at `shown_at`.
pub(super) struct Join {
    pub server: String,
    pub address: String,
    pub certificate: String,
    pub shown_at: Vec<String>,
    pub evidence: String,
}

/// Writes what `joins` found as one batch of the prober's.
pub(super) fn record(store: &mut dyn Store, views: &[ServerView], joins: &[Join], now: Timestamp) -> Result<()> {
    let ip = |text: &str| {
        text.parse::<IpAddr>().map(Observable::ip).map_err(|e| Error::invalid(format!("probed address `{text}`: {e}")))
    };
    let mut records = Vec::new();
    let mut links = Vec::new();
    for j in joins {
        let Some(view) = views.iter().find(|v| v.id == j.server) else { continue };
        let certificate = Observable::parse(Kind::X509Sha256, &j.certificate)
            .map_err(|e| Error::invalid(format!("certificate `{}`: {e}", j.certificate)))?;
        let mut report = Record::new(ip(&j.address)?, 0, j.evidence.clone());
        report.category = view.categories.first().copied();
        // As strict as anything the server was known by.
        report.tlp = view.tlp;
        report.tags = vec![format!("joins:{}", j.server)];
        report.first_seen = Some(now);
        records.push(report);
        for address in j.shown_at.iter().chain([&j.address]) {
            links.extend(Link::new(ip(address)?, certificate.clone(), 0));
        }
    }
    if records.is_empty() {
        return Ok(());
    }
    // What the prober saw itself, from a source that reports only that.
    let credibility = Credibility::new(2).unwrap_or(Grade::UNGRADED.credibility);
    let source =
        Source { name: PROBER.into(), grade: Grade { reliability: Reliability::A, credibility }, tlp: Tlp::Amber };
    let observations: Vec<_> = records.into_iter().map(|r| label(r, &source, &BatchLabels::default(), now)).collect();
    let batch = Batch {
        source: &source,
        origin: "prober",
        observations: &observations,
        rejects: &[],
        links: &links,
        ingested_at: now,
    };
    store.write_batch(&batch)?;
    Ok(())
}
