//! Takedown notices: one X-ARF v4 report per server, e-mailed through the
//! configured relay to each abuse desk responsible for it, and the server's
//! takedown moved to `requested` with the message id as its evidence.

use std::collections::{BTreeMap, BTreeSet};

use dragnet_core::takedown::{State, transition};
use dragnet_core::{Store, Timestamp, format_timestamp};
use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::{Message, SmtpTransport, Transport};
use serde::Serialize;

use crate::access::Scope;
use crate::contacts::responsible;
use crate::export::Shared;
use crate::export::xarf::{self, Reporter};
use crate::lookup::Context;
use crate::servers::{ServerView, compute};
use crate::takedown::{self, Move};
use crate::{Error, Result};

/// How notices go out.
#[derive(Debug, Clone)]
pub struct Mailer {
    /// `smtp://host:port` (plain, for a relay on the same host),
    /// `smtp://host:port?tls=required` (STARTTLS) or `smtps://host:port`;
    /// credentials as `user:password@` if the relay needs them.
    pub relay: String,
    pub reporter: Reporter,
}

/// One notice sent.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize)]
pub struct Sent {
    pub server: String,
    pub to: Vec<String>,
    pub message_id: String,
    pub report_id: String,
}

/// What `send` did: the notices that went out, and those that could not.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    pub sent: Vec<Sent>,
    pub failed: Vec<Failed>,
}

/// A notice that did not go out, and why.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize)]
pub struct Failed {
    pub server: String,
    pub reason: String,
}

/// Sends a notice for each of `servers` (each must be one the caller may
/// see, whose takedown may move to `requested`, with a known abuse desk),
/// and moves each server whose notice went out. Nothing is sent unless
/// every server qualifies.
pub fn send(
    store: &mut dyn Store,
    ctx: &Context,
    scope: &Scope,
    now: Timestamp,
    servers: &[String],
    mailer: &Mailer,
) -> Result<Outcome> {
    scope.require_coordinator(dragnet_core::access::Role::Analyst)?;
    if servers.is_empty() {
        return Err(Error::invalid("no server to send a notice for"));
    }
    let transport = SmtpTransport::from_url(&mailer.relay)
        .map_err(|e| Error::invalid(format!("relay: {e}")))?
        .timeout(Some(std::time::Duration::from_secs(30)))
        .build();
    let from: Mailbox = mailer
        .reporter
        .contact
        .parse()
        .map_err(|e| Error::invalid(format!("reporter contact `{}`: {e}", mailer.reporter.contact)))?;
    let views: BTreeMap<String, ServerView> =
        compute(store, ctx, scope, now, true)?.views.into_iter().map(|v| (v.id.clone(), v)).collect();
    let states: BTreeMap<String, State> = store.takedowns()?.into_iter().map(|r| (r.server, r.state)).collect();
    let contacts = store.contacts()?;
    let mut planned = Vec::new();
    for id in servers.iter().collect::<BTreeSet<_>>() {
        let view = views.get(id).ok_or_else(|| Error::NotFound(format!("no server {id}")))?;
        let state = states.get(id).copied().unwrap_or(State::Identified);
        transition(state, State::Requested).map_err(|e| Error::invalid(format!("{id}: {e}")))?;
        let to = responsible(&contacts, view);
        if to.is_empty() {
            return Err(Error::invalid(format!(
                "{id}: no abuse contact covers its addresses or ASNs (dragnet contacts import)"
            )));
        }
        planned.push((view, to));
    }
    let mut outcome = Outcome { sent: Vec::new(), failed: Vec::new() };
    let mut moves = Vec::new();
    for (view, to) in planned {
        let json = serde_json::to_value(view).map_err(|e| Error::invalid(e.to_string()))?;
        let why = vec![format!("takedown request of {}", format_timestamp(now))];
        let shared = Shared {
            title: format!("notice {}", view.id),
            key: format!("notice:{now}"),
            created: now,
            servers: vec![(&json, &why)],
        };
        let Some(report) = xarf::reports(&shared, &mailer.reporter).into_iter().next() else {
            outcome
                .failed
                .push(Failed { server: view.id.clone(), reason: "the server has no address to report".into() });
            continue;
        };
        let report_id = report["report_id"].as_str().unwrap_or_default().to_string();
        let message_id = format!("<{report_id}@{}>", mailer.reporter.domain);
        match deliver(&transport, &from, &to, &report, &message_id, view) {
            Ok(()) => {
                let evidence = format!("notice {message_id} to {}", to.iter().cloned().collect::<Vec<_>>().join(", "));
                moves.push(Move {
                    servers: vec![view.id.clone()],
                    to: State::Requested,
                    reason: "takedown notice sent (X-ARF)".into(),
                    evidence,
                });
                outcome.sent.push(Sent {
                    server: view.id.clone(),
                    to: to.into_iter().collect(),
                    message_id,
                    report_id,
                });
            }
            Err(reason) => outcome.failed.push(Failed { server: view.id.clone(), reason }),
        }
    }
    // Each server whose notice went out moves on, with its own message id.
    if !moves.is_empty() {
        takedown::set_many(store, ctx, scope, now, &moves)?;
    }
    Ok(outcome)
}

fn deliver(
    transport: &SmtpTransport,
    from: &Mailbox,
    to: &BTreeSet<String>,
    report: &serde_json::Value,
    message_id: &str,
    view: &ServerView,
) -> std::result::Result<(), String> {
    let identifier = report["source_identifier"].as_str().unwrap_or_default();
    let mut builder = Message::builder()
        .from(from.clone())
        .subject(format!("[X-ARF] abuse report: {identifier}"))
        .message_id(Some(message_id.to_string()));
    for address in to {
        builder = builder.to(address.parse::<Mailbox>().map_err(|e| format!("{address}: {e}"))?);
    }
    let text = format!(
        "Dear abuse team,\n\nthe server below, hosted on your network, is part of malicious infrastructure \
         ({}). Please take it offline and tell us what you did, quoting {message_id}.\n\n\
         Addresses: {}\nDomains: {}\n\nThe machine-readable X-ARF v4 report is attached.\n",
        view.categories.iter().map(|c| c.as_str()).collect::<Vec<_>>().join(", "),
        view.ips.join(", "),
        if view.domains.is_empty() { "-".to_string() } else { view.domains.join(", ") },
    );
    let body = serde_json::to_string_pretty(report).map_err(|e| e.to_string())?;
    let json_type = ContentType::parse("application/json").map_err(|e| e.to_string())?;
    let message = builder
        .multipart(
            MultiPart::mixed()
                .singlepart(SinglePart::plain(text))
                .singlepart(Attachment::new("xarf-report.json".into()).body(body, json_type)),
        )
        .map_err(|e| e.to_string())?;
    transport.send(&message).map(|_| ()).map_err(|e| format!("the relay refused it: {e}"))
}
