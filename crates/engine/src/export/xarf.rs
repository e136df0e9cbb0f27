//! XARF v4 abuse reports (the xarf.org 4.2 schemas): one per server, for
//! its hosting provider's abuse desk. A command-and-control server is an
//! `infrastructure`/`botnet` report, a phishing or malware URL a
//! `content` report, anything else a `reputation`/`blocklist` entry. The
//! score is in the description, not `confidence`: the xarf library's typed
//! models take that as an integer, against the schema's 0–1 number.

use serde_json::{Value, json};

use super::{Shared, values};

/// Who reports (and sends): the coordinator's abuse desk.
#[derive(Debug, Clone)]
pub struct Reporter {
    pub org: String,
    pub contact: String,
    pub domain: String,
}

fn report_id(key: &str, server: &str) -> String {
    super::stable_uuid("xarf", &format!("{key}/{server}")).to_string()
}

/// A tag in XARF's `namespace:predicate` form (lower-case, `[a-z0-9_+-]`).
fn tag(namespace: &str, predicate: &str) -> Option<String> {
    let clean: String = predicate
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || "_+-".contains(c) { c } else { '-' })
        .collect();
    let clean = clean.trim_start_matches(['-', '_', '+']).to_string();
    (!clean.is_empty()).then(|| format!("{namespace}:{clean}"))
}

/// One report per server of `shared`.
pub fn reports(shared: &Shared<'_>, reporter: &Reporter) -> Vec<Value> {
    let contact = json!({"org": reporter.org, "contact": reporter.contact, "domain": reporter.domain});
    let timestamp = dragnet_core::format_timestamp(shared.created);
    let mut out = Vec::new();
    for (server, why) in &shared.servers {
        let id = server["id"].as_str().unwrap_or_default();
        let categories: Vec<&str> =
            server["categories"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
        let sources: Vec<&str> = server["sources"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
        let first_url = values(server, "urls").next();
        let Some(identifier) = values(server, "ips").chain(values(server, "domains")).next().or(first_url) else {
            continue;
        };
        let has = |c: &[&str]| categories.iter().any(|x| c.contains(x));
        let mut tags: Vec<String> = categories.iter().filter_map(|c| tag("category", c)).collect();
        tags.extend(tag("dragnet", id));
        let mut report = json!({
            "xarf_version": "4.2.0",
            "report_id": report_id(&shared.key, id),
            "timestamp": timestamp,
            "reporter": contact,
            "sender": contact,
            "source_identifier": identifier,
            "evidence_source": "threat_intelligence",
            "description": format!(
                "Dragnet server {id} (score {}), seen {} to {}: {} reported by {}; {}",
                server["score"],
                server["first_seen"].as_str().unwrap_or("-"),
                server["last_seen"].as_str().unwrap_or("-"),
                values(server, "ips").chain(values(server, "domains")).chain(values(server, "urls")).collect::<Vec<_>>().join(", "),
                sources.join(", "),
                why.join("; ")
            ),
            "tags": tags,
        });
        let fields = match (has(&["botnet-c2"]), first_url) {
            (true, _) => json!({
                "category": "infrastructure", "type": "botnet", "c2_server": identifier,
                "compromise_evidence": format!("command-and-control reported by {} source(s): {}", sources.len(), sources.join(", ")),
            }),
            (false, Some(url)) if has(&["phishing", "credential-theft"]) => {
                json!({"category": "content", "type": "phishing", "url": url})
            }
            (false, Some(url)) if has(&["malware-distribution", "banking-malware", "ransomware"]) => {
                json!({"category": "content", "type": "malware", "url": url})
            }
            _ => {
                json!({"category": "reputation", "type": "blocklist", "threat_type": categories.first().copied().unwrap_or("other")})
            }
        };
        if let (Some(report), Some(fields)) = (report.as_object_mut(), fields.as_object()) {
            report.extend(fields.clone());
        }
        out.push(report);
    }
    out
}
