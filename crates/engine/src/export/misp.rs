//! MISP events: one `domain-ip` object per server (its addresses and
//! domains), its URLs as `url` attributes, `tlp:` tags on the event and on
//! each server's attributes, ids that stay the same for the same export.

use dragnet_core::Tlp;
use serde_json::{Value, json};

use super::{Shared, values};

fn id(name: &str) -> String {
    super::stable_uuid("misp", name).to_string()
}

fn tag(tlp: Tlp) -> Value {
    json!({"name": format!("tlp:{}", tlp.as_str())})
}

fn attribute(key: &str, server: &str, kind: &str, relation: Option<&str>, value: &str, tlp: Tlp, at: i64) -> Value {
    let mut a = json!({
        "uuid": id(&format!("{key}:{server}:{kind}:{value}")), "type": kind, "category": "Network activity",
        "value": value, "to_ids": true, "distribution": "5", "timestamp": at.to_string(),
        "comment": format!("Dragnet server {server}"), "Tag": [tag(tlp)],
    });
    if let Some(r) = relation {
        a["object_relation"] = json!(r);
    }
    a
}

pub fn event(shared: &Shared<'_>) -> Value {
    let at = shared.created;
    let date = dragnet_core::format_timestamp(at).chars().take(10).collect::<String>();
    let mut strictest = None;
    let (mut objects, mut attributes) = (Vec::new(), Vec::new());
    for (server, why) in &shared.servers {
        let tlp = server["tlp"].as_str().and_then(|t| t.parse::<Tlp>().ok()).unwrap_or(Tlp::Amber);
        strictest = strictest.max(Some(tlp));
        let sid = server["id"].as_str().unwrap_or_default();
        let mut members = Vec::new();
        for ip in values(server, "ips") {
            members.push(attribute(&shared.key, sid, "ip-dst", Some("ip"), ip, tlp, at));
        }
        for domain in values(server, "domains") {
            members.push(attribute(&shared.key, sid, "domain", Some("domain"), domain, tlp, at));
        }
        if !members.is_empty() {
            objects.push(json!({
                "uuid": id(&format!("{}:object:{sid}", shared.key)), "name": "domain-ip", "meta-category": "network",
                "description": "A domain and IP address seen as a tuple", "distribution": "5",
                "timestamp": at.to_string(), "comment": format!("Dragnet server {sid}, score {}; {}", server["score"], why.join("; ")),
                "Attribute": members,
            }));
        }
        for url in values(server, "urls") {
            attributes.push(attribute(&shared.key, sid, "url", None, url, tlp, at));
        }
    }
    json!({"Event": {
        "uuid": id(&shared.key), "info": shared.title, "date": date, "timestamp": at.to_string(),
        "threat_level_id": "2", "analysis": "2", "distribution": "0", "published": false,
        "Tag": strictest.map(tag).into_iter().collect::<Vec<_>>(),
        "Attribute": attributes, "Object": objects,
    }})
}
