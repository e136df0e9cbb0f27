//! The takedown lifecycle of one server: a closed set of states and the one
//! function that says which moves between them are allowed.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::model::{LabelError, string_enum};

/// Where a server's takedown stands. A server without a record is `Identified`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum State {
    /// Found by Dragnet; nobody has looked at it yet.
    Identified,
    /// Triaged: an analyst confirmed it is malicious.
    Validated,
    /// Triaged: a false positive.
    Rejected,
    /// Its hosting provider and country are known.
    Attributed,
    /// An agency has it.
    Assigned,
    /// A takedown request (notice) was sent.
    Requested,
    /// The provider or agency answered that it will act.
    Acknowledged,
    /// No answer in time, or a refusal: taken higher.
    Escalated,
    /// Actioned: the provider says it is offline.
    OfflineClaimed,
    /// Actioned: police seized it.
    Seized,
    /// Actioned: its traffic goes to a sinkhole.
    Sinkholed,
    /// Probes found it offline, round after round.
    VerifiedOffline,
    /// Offline, and still watched.
    Monitoring,
    /// Done.
    Closed,
    /// It came back (same address, or a known fingerprint elsewhere).
    Reappeared,
}

string_enum!(State, "takedown state", {
    Identified => "identified",
    Validated => "validated",
    Rejected => "rejected",
    Attributed => "attributed",
    Assigned => "assigned",
    Requested => "requested",
    Acknowledged => "acknowledged",
    Escalated => "escalated",
    OfflineClaimed => "offline-claimed",
    Seized => "seized",
    Sinkholed => "sinkholed",
    VerifiedOffline => "verified-offline",
    Monitoring => "monitoring",
    Closed => "closed",
    Reappeared => "reappeared",
});

impl FromStr for State {
    type Err = LabelError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim().to_ascii_lowercase().replace('_', "-");
        State::ALL.iter().copied().find(|k| k.as_str() == wanted).ok_or_else(|| LabelError {
            what: "takedown state",
            value: s.to_string(),
            expected: "identified, validated, rejected, attributed, assigned, requested, acknowledged, escalated, \
                       offline-claimed, seized, sinkholed, verified-offline, monitoring, closed or reappeared",
        })
    }
}

impl State {
    /// The states a takedown may move to from this one.
    pub fn next(self) -> &'static [State] {
        use State::*;
        match self {
            Identified => &[Validated, Rejected],
            // A rejection can be reconsidered, or the case closed.
            Rejected => &[Validated, Closed],
            Validated => &[Attributed, Rejected],
            Attributed => &[Assigned],
            Assigned => &[Requested],
            Requested => &[Acknowledged, Escalated],
            Acknowledged => &[OfflineClaimed, Seized, Sinkholed, Escalated],
            Escalated => &[Acknowledged, OfflineClaimed, Seized, Sinkholed],
            OfflineClaimed | Seized | Sinkholed => &[VerifiedOffline, Reappeared],
            VerifiedOffline => &[Monitoring, Reappeared],
            Monitoring => &[Closed, Reappeared],
            Closed => &[Reappeared],
            // Reopened: back to whoever acts on it.
            Reappeared => &[Attributed, Assigned, Requested],
        }
    }

    /// Whether a takedown has been actioned (offline claimed, seized or sinkholed).
    pub fn is_actioned(self) -> bool {
        matches!(self, State::OfflineClaimed | State::Seized | State::Sinkholed)
    }

    /// Whether the server is, as far as anyone knows, offline for good.
    pub fn is_down(self) -> bool {
        matches!(self, State::VerifiedOffline | State::Monitoring | State::Closed)
    }
}

/// A move the lifecycle does not allow.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a takedown cannot go from {from} to {to}; from {from} it may go to {}", allowed(*from))]
pub struct IllegalTransition {
    pub from: State,
    pub to: State,
}

fn allowed(from: State) -> String {
    let names: Vec<&str> = from.next().iter().map(|s| s.as_str()).collect();
    names.join(", ")
}

/// The one transition function: `to` if the lifecycle allows it from `from`.
pub fn transition(from: State, to: State) -> Result<State, IllegalTransition> {
    if from.next().contains(&to) { Ok(to) } else { Err(IllegalTransition { from, to }) }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every pair of states, allowed or refused, against the table the
    /// product describes (identified → triaged → attributed → assigned →
    /// requested → acknowledged | escalated → actioned → verified offline →
    /// monitoring → closed; reappeared reopens).
    #[test]
    fn every_transition_is_allowed_or_refused_as_described() {
        use State::*;
        let allowed: &[(State, State)] = &[
            (Identified, Validated),
            (Identified, Rejected),
            (Rejected, Validated),
            (Rejected, Closed),
            (Validated, Attributed),
            (Validated, Rejected),
            (Attributed, Assigned),
            (Assigned, Requested),
            (Requested, Acknowledged),
            (Requested, Escalated),
            (Acknowledged, OfflineClaimed),
            (Acknowledged, Seized),
            (Acknowledged, Sinkholed),
            (Acknowledged, Escalated),
            (Escalated, Acknowledged),
            (Escalated, OfflineClaimed),
            (Escalated, Seized),
            (Escalated, Sinkholed),
            (OfflineClaimed, VerifiedOffline),
            (Seized, VerifiedOffline),
            (Sinkholed, VerifiedOffline),
            (OfflineClaimed, Reappeared),
            (Seized, Reappeared),
            (Sinkholed, Reappeared),
            (VerifiedOffline, Monitoring),
            (VerifiedOffline, Reappeared),
            (Monitoring, Closed),
            (Monitoring, Reappeared),
            (Closed, Reappeared),
            (Reappeared, Attributed),
            (Reappeared, Assigned),
            (Reappeared, Requested),
        ];
        let mut refused = 0;
        for &from in State::ALL {
            for &to in State::ALL {
                let expected = allowed.contains(&(from, to));
                match transition(from, to) {
                    Ok(s) => {
                        assert!(expected, "{from} → {to} should be refused");
                        assert_eq!(s, to);
                    }
                    Err(e) => {
                        assert!(!expected, "{from} → {to} should be allowed");
                        refused += 1;
                        let message = e.to_string();
                        assert!(message.contains(from.as_str()) && message.contains(to.as_str()), "{message}");
                        for next in from.next() {
                            assert!(message.contains(next.as_str()), "{message} names {next}");
                        }
                    }
                }
            }
        }
        assert_eq!(refused, 15 * 15 - allowed.len());
    }

    #[test]
    fn states_read_back_from_their_names() {
        for &s in State::ALL {
            assert_eq!(s.as_str().parse::<State>().unwrap(), s);
        }
        assert_eq!("Verified_Offline".parse::<State>().unwrap(), State::VerifiedOffline);
        assert!("gone".parse::<State>().unwrap_err().to_string().contains("offline-claimed"));
    }
}
