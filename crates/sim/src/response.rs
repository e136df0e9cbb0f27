//! How the world answers a takedown operation: for each server, whether its
//! hosting provider answers a notice, what is done and after how long,
//! whether it really goes offline and whether it comes back; and what each
//! country's police did. Decided once, from the seed, and written in
//! `truth.json` so that a run can be checked against it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::rng::Rng;
use crate::world::Server;

/// What happens to one server once its notice is sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Response {
    pub server: String,
    /// Hours from the notice to the provider's answer; none: it never
    /// answers and the request is escalated.
    pub acknowledged_after_hours: Option<u32>,
    /// `offline-claimed`, `seized` or `sinkholed`, or none (nothing done).
    pub action: Option<String>,
    /// Hours from the notice to the action.
    pub actioned_after_hours: Option<u32>,
    /// Whether it really stops answering (a claim can be false).
    pub goes_offline: bool,
    /// Whether it answers again after it was verified offline.
    pub reappears: bool,
}

/// What one country's police reported doing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseAction {
    pub country: String,
    pub kind: String,
    pub count: u32,
    /// Data seized: its size.
    pub bytes: Option<u64>,
}

/// The world's answer to a takedown request for each of `servers`, and
/// the police work per country, deterministic for `seed`.
pub fn respond(seed: u64, servers: &[Server]) -> (Vec<Response>, Vec<CaseAction>) {
    let mut rng = Rng::new(seed ^ 0x7a6b_d0e5_1c3f_9a21);
    let mut responses = Vec::with_capacity(servers.len());
    let mut seized: BTreeMap<&str, u32> = BTreeMap::new();
    for s in servers {
        let roll = rng.below(100);
        let ack = rng.below(46) as u32 + 2;
        let act = ack + rng.below(120) as u32 + 6;
        let (acknowledged, action, goes_offline) = match roll {
            // One in six providers never answers: escalated, nothing done.
            0..=16 => (None, None, false),
            // Some say it is offline and leave it up.
            17..=24 => (Some(ack), Some("offline-claimed"), false),
            25..=74 => (Some(ack), Some("offline-claimed"), true),
            75..=89 => (Some(ack), Some("seized"), true),
            _ => (Some(ack), Some("sinkholed"), true),
        };
        if action == Some("seized") {
            *seized.entry(s.country.as_str()).or_default() += 1;
        }
        responses.push(Response {
            server: s.id.clone(),
            acknowledged_after_hours: acknowledged,
            action: action.map(str::to_string),
            actioned_after_hours: action.map(|_| act),
            goes_offline,
            reappears: goes_offline && rng.below(100) < 4,
        });
    }
    let mut actions = Vec::new();
    for (country, servers) in seized {
        let mut add = |kind: &str, count: u32, bytes: Option<u64>| {
            if count > 0 {
                actions.push(CaseAction { country: country.to_string(), kind: kind.to_string(), count, bytes });
            }
        };
        add("server-seized", servers, None);
        add("house-search", servers / 2 + rng.below(3) as u32, None);
        add("arrest", rng.below(3) as u32, None);
        add("suspect-identified", rng.below(5) as u32, None);
        add("under-investigation", 1, None);
        add("data-seized", 1, Some(u64::from(servers) * (1 + rng.below(40)) * 1_000_000_000));
    }
    (responses, actions)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn most_servers_go_offline_and_the_police_act_where_servers_were_seized() {
        let servers: Vec<Server> = (0..1000)
            .map(|i| Server {
                id: format!("s{i}"),
                ips: vec![],
                domains: vec![],
                country: ["EE", "MN", "HK"][i % 3].into(),
                asn: 64500,
                category: "botnet-c2".into(),
                cert_sha256: String::new(),
                jarm: String::new(),
                ja3s: String::new(),
                cluster: String::new(),
            })
            .collect();
        let (responses, actions) = respond(7, &servers);
        assert_eq!(respond(7, &servers).0, responses, "deterministic");
        let offline = responses.iter().filter(|r| r.goes_offline).count();
        assert!((650..800).contains(&offline), "{offline}");
        assert!(responses.iter().all(|r| r.actioned_after_hours >= r.acknowledged_after_hours));
        assert!(responses.iter().filter(|r| r.reappears).all(|r| r.goes_offline));
        for cc in ["EE", "MN", "HK"] {
            assert!(actions.iter().any(|a| a.country == cc && a.kind == "server-seized"));
        }
    }
}
