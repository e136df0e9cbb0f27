//! Suricata EVE JSON (one event per line): `flow` events become connections,
//! `dns` events queries, `tls` SNI and `http` Host names, `alert` events
//! alerts. Other event types are counted and skipped.

use std::net::IpAddr;

use dragnet_core::telemetry::{Alert, CONN_STATES, Conn, DnsQuery, NamedConn, RCODES, intern};
use dragnet_core::{FileError, Kind, Link, Observable, Reject, parse_timestamp};
use serde_json::Value;

use crate::links::LinkSet;

/// What one EVE file holds, for the detectors.
#[derive(Debug, Default)]
pub struct Eve {
    pub conns: Vec<Conn>,
    pub names: Vec<NamedConn>,
    pub dns: Vec<DnsQuery>,
    pub alerts: Vec<Alert>,
    /// SNI → server address, server → JA3S, DNS name → answer addresses.
    pub links: Vec<Link>,
    pub rejects: Vec<Reject>,
    pub skipped: u64,
}

/// True when the first line is a Suricata EVE event.
pub fn is_eve(input: &[u8]) -> bool {
    let head = input.get(..8192).unwrap_or(input);
    let first = head.split(|&b| b == b'\n').find(|l| !l.iter().all(u8::is_ascii_whitespace));
    first.and_then(|l| serde_json::from_slice::<Value>(l).ok()).is_some_and(|v| {
        v.get("event_type").is_some() && v.get("src_ip").is_some() || v.get("event_type").is_some_and(|t| t == "stats")
    })
}

pub fn read_eve(input: &[u8]) -> Result<Eve, FileError> {
    crate::text::ensure_text(input)?;
    if !is_eve(input) {
        return Err(not_eve());
    }
    let mut eve = Eve::default();
    let mut links = LinkSet::default();
    read_lines(input, 0, &mut eve, Some(&mut links));
    eve.links = links.into_links();
    Ok(eve)
}

fn not_eve() -> FileError {
    FileError::new(1, "not Suricata EVE JSON: the first line has no `event_type` and `src_ip`")
}

/// An EVE file of any size (plain, gzip or zstd, decompressed as it is
/// read), a stretch of whole lines at a time: `each` gets each stretch's
/// events, with the file's own line numbers, and never the links, which
/// gather in `links` across the file (a link seen in two stretches is one
/// link; `None`: a pass that wants only the events). Memory holds one stretch.
pub fn read_eve_stream(
    reader: impl std::io::Read,
    stored_len: u64,
    limits: &crate::zeek::Limits,
    mut links: Option<&mut LinkSet>,
    each: &mut dyn FnMut(Eve),
) -> Result<(), FileError> {
    let io_error = |e: std::io::Error| FileError::new(0, e.to_string());
    let text = crate::zeek_stream::decompressing(reader, stored_len, limits).map_err(io_error)?;
    for (i, stretch) in crate::stream::Stretches::new(text, crate::Format::Plain).enumerate() {
        let stretch = stretch.map_err(io_error)?;
        let shift = stretch.first_line.saturating_sub(1);
        crate::text::ensure_text(&stretch.bytes).map_err(|mut e| {
            e.line = e.line.saturating_add(shift);
            e
        })?;
        if i == 0 && !is_eve(&stretch.bytes) {
            return Err(not_eve());
        }
        let mut eve = Eve::default();
        read_lines(&stretch.bytes, shift, &mut eve, links.as_deref_mut());
        each(eve);
    }
    Ok(())
}

/// Every event of `input`, whose first line is the file's line `shift + 1`.
fn read_lines(input: &[u8], shift: u32, eve: &mut Eve, mut links: Option<&mut LinkSet>) {
    for line in crate::text::lines(input) {
        let number = line.number.saturating_add(shift);
        let Ok(raw) = line.text else {
            eve.rejects.push(Reject::new(number, None, "line is not valid UTF-8", ""));
            continue;
        };
        let event: Value = match serde_json::from_str(raw) {
            Ok(v) => v,
            Err(e) => {
                eve.rejects.push(Reject::new(number, None, format!("invalid JSON: {e}"), raw));
                continue;
            }
        };
        if let Err((field, why)) = read_event(&event, eve) {
            eve.rejects.push(Reject::new(number, Some(field), why, raw));
        } else if let Some(links) = links.as_deref_mut() {
            read_links(&event, links);
        }
    }
}

/// The links of one event: a TLS handshake's SNI and JA3S with the server
/// address, and a DNS answer's addresses (EVE v1 one answer an event, v2
/// `answers` or `grouped`).
fn read_links(e: &Value, links: &mut LinkSet) {
    let Some(ts) = time(e, &["timestamp"]).map(|t| t as i64) else { return };
    let domain = |v: &str| Observable::parse(Kind::Domain, v.trim_end_matches('.')).ok();
    let address = |v: &str| Observable::guess(v).ok().filter(|o| matches!(o.kind(), Kind::Ipv4 | Kind::Ipv6));
    match text(e, &["event_type"]) {
        Some("tls") => {
            let server = text(e, &["dest_ip"]).and_then(address);
            links.add(text(e, &["tls", "sni"]).and_then(domain), server.clone(), ts);
            let ja3s = text(e, &["tls", "ja3s", "hash"]).and_then(|h| Observable::parse(Kind::Ja3s, h).ok());
            links.add(server, ja3s, ts);
        }
        Some("dns") => {
            let Some(dns) = e.get("dns") else { return };
            let one = |a: &Value| (text(a, &["rrname"]).and_then(domain), text(a, &["rdata"]).and_then(address));
            if text(dns, &["type"]) == Some("answer") && dns.get("rdata").is_some() {
                let (name, ip) = one(dns);
                links.add(name, ip, ts);
            }
            for a in dns.get("answers").and_then(Value::as_array).into_iter().flatten() {
                let (name, ip) = one(a);
                links.add(name, ip, ts);
            }
            let query = text(dns, &["rrname"]).or_else(|| dns.pointer("/queries/0/rrname").and_then(Value::as_str));
            for kind in ["A", "AAAA"] {
                for ip in dns.get("grouped").and_then(|g| g.get(kind)).and_then(Value::as_array).into_iter().flatten() {
                    links.add(query.and_then(domain), ip.as_str().and_then(address), ts);
                }
            }
        }
        _ => {}
    }
}

type EventError = (&'static str, String);

fn text<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    path.iter().try_fold(v, |v, k| v.get(k))?.as_str()
}

fn number(v: &Value, path: &[&str]) -> Option<f64> {
    path.iter().try_fold(v, |v, k| v.get(k))?.as_f64()
}

fn ip(v: &Value, key: &'static str) -> Result<IpAddr, EventError> {
    let t = text(v, &[key]).ok_or((key, format!("missing `{key}`")))?;
    t.parse().map_err(|_| (key, format!("`{t}` is not an IP address")))
}

fn time(v: &Value, path: &[&str]) -> Option<f64> {
    let t = text(v, path)?;
    let whole = parse_timestamp(t)? as f64;
    // Keep the fraction: beacon timing truncates to seconds later anyway.
    let fraction = t.split_once('.').map_or(0.0, |(_, f)| {
        let digits: String = f.chars().take_while(char::is_ascii_digit).collect();
        format!("0.{digits}").parse().unwrap_or(0.0)
    });
    Some(whole + fraction)
}

fn read_event(e: &Value, eve: &mut Eve) -> Result<(), EventError> {
    let kind = text(e, &["event_type"]).unwrap_or_default();
    if !matches!(kind, "flow" | "dns" | "tls" | "http" | "alert") {
        eve.skipped += 1;
        return Ok(());
    }
    let ts = time(e, &["timestamp"]).ok_or(("timestamp", "missing or unreadable `timestamp`".to_string()))?;
    let src = ip(e, "src_ip")?;
    let dst = ip(e, "dest_ip")?;
    let port = |k: &str| number(e, &[k]).unwrap_or(0.0) as u16;
    let flow_id = e.get("flow_id").map(|v| v.to_string()).unwrap_or_default();
    match kind {
        "flow" => {
            let start = time(e, &["flow", "start"]).unwrap_or(ts);
            let end = time(e, &["flow", "end"]).unwrap_or(start);
            let to_client = number(e, &["flow", "pkts_toclient"]).unwrap_or(0.0);
            // Suricata has no Zeek conn_state; a flow that never heard back
            // is the equivalent of S0, anything else of a completed exchange.
            let state = if to_client == 0.0 { "S0" } else { "SF" };
            eve.conns.push(Conn {
                ts: start,
                uid: flow_id.into(),
                src,
                src_port: port("src_port"),
                dst,
                dst_port: port("dest_port"),
                proto: intern(
                    &text(e, &["proto"]).unwrap_or_default().to_ascii_lowercase(),
                    dragnet_core::telemetry::PROTOCOLS,
                ),
                duration: (end - start).max(0.0),
                orig_ip_bytes: number(e, &["flow", "bytes_toserver"]).unwrap_or(0.0) as u64,
                resp_ip_bytes: number(e, &["flow", "bytes_toclient"]).unwrap_or(0.0) as u64,
                state: intern(state, CONN_STATES),
            });
        }
        "dns" => {
            let Some(name) =
                text(e, &["dns", "rrname"]).or_else(|| e.pointer("/dns/queries/0/rrname").and_then(Value::as_str))
            else {
                eve.skipped += 1;
                return Ok(());
            };
            let rcode = text(e, &["dns", "rcode"]).unwrap_or_default();
            eve.dns.push(DnsQuery {
                ts,
                uid: flow_id,
                src,
                query: name.trim_end_matches('.').to_ascii_lowercase(),
                rcode: intern(rcode, RCODES),
            });
        }
        "tls" | "http" => {
            let name = if kind == "tls" { text(e, &["tls", "sni"]) } else { text(e, &["http", "hostname"]) };
            let Some(name) = name else {
                eve.skipped += 1;
                return Ok(());
            };
            eve.names.push(NamedConn {
                ts,
                uid: flow_id,
                src,
                dst,
                dst_port: port("dest_port"),
                name: name.trim_end_matches('.').to_ascii_lowercase(),
                proxied: text(e, &["http", "http_method"]) == Some("CONNECT"),
            });
        }
        _ => {
            let signature =
                text(e, &["alert", "signature"]).ok_or(("alert.signature", "missing `alert.signature`".to_string()))?;
            eve.alerts.push(Alert {
                ts,
                flow_id,
                src,
                src_port: port("src_port"),
                dst,
                dst_port: port("dest_port"),
                signature: signature.to_string(),
                category: text(e, &["alert", "category"]).unwrap_or_default().to_string(),
                severity: number(e, &["alert", "severity"]).unwrap_or(3.0).clamp(1.0, 4.0) as u8,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const EVE: &str = r#"{"timestamp":"2021-06-06T15:59:46.457984+0200","flow_id":1,"event_type":"flow","src_ip":"192.168.1.129","src_port":51698,"dest_ip":"198.51.100.7","dest_port":443,"proto":"TCP","flow":{"pkts_toserver":3,"pkts_toclient":2,"bytes_toserver":300,"bytes_toclient":900,"start":"2021-06-06T15:59:46.000000+0200","end":"2021-06-06T15:59:48.500000+0200","state":"closed"}}
{"timestamp":"2021-06-06T16:00:00.000000+0200","flow_id":2,"event_type":"dns","src_ip":"192.168.1.129","src_port":1,"dest_ip":"192.168.1.1","dest_port":53,"proto":"UDP","dns":{"type":"answer","rrname":"NX.Example.","rcode":"NXDOMAIN"}}
{"timestamp":"2021-06-06T16:00:01.000000+0200","flow_id":3,"event_type":"tls","src_ip":"192.168.1.129","src_port":2,"dest_ip":"198.51.100.8","dest_port":443,"proto":"TCP","tls":{"sni":"c2.example"}}
{"timestamp":"2021-06-06T16:00:02.000000+0200","flow_id":4,"event_type":"alert","src_ip":"192.168.1.129","src_port":3,"dest_ip":"198.51.100.9","dest_port":80,"proto":"TCP","alert":{"signature":"ET MALWARE Test","category":"A Network Trojan was detected","severity":1}}
{"timestamp":"2021-06-06T16:00:03.000000+0200","event_type":"stats","stats":{}}
{"timestamp":"2021-06-06T16:00:04.000000+0200","event_type":"flow","src_ip":"not-ip","dest_ip":"198.51.100.7"}
{"timestamp": "#;

    /// The sample repeated past several stretches, gzipped: streamed, it
    /// gives what reading it whole gives, with the same line numbers, and
    /// each link once.
    #[test]
    fn a_file_streamed_a_stretch_at_a_time_reads_as_a_whole_one() {
        let body = EVE.strip_suffix("{\"timestamp\": ").unwrap();
        let text = body.repeat(4000) + "{\"timestamp\": ";
        assert!(text.len() > 3 * crate::stream::STRETCH_BYTES);
        let whole = read_eve(text.as_bytes()).unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, text.as_bytes()).unwrap();
        let packed = gz.finish().unwrap();
        let (mut parts, mut links, mut streamed) = (0, LinkSet::default(), Eve::default());
        let limits = crate::zeek::Limits::default();
        read_eve_stream(&packed[..], packed.len() as u64, &limits, Some(&mut links), &mut |eve| {
            parts += 1;
            streamed.conns.extend(eve.conns);
            streamed.names.extend(eve.names);
            streamed.dns.extend(eve.dns);
            streamed.alerts.extend(eve.alerts);
            streamed.rejects.extend(eve.rejects);
            streamed.skipped += eve.skipped;
        })
        .unwrap();
        streamed.links = links.into_links();
        assert!(parts >= 3, "{parts} stretches");
        assert_eq!(streamed.conns, whole.conns);
        assert_eq!((&streamed.names, &streamed.dns, &streamed.alerts), (&whole.names, &whole.dns, &whole.alerts));
        assert_eq!(streamed.links, whole.links);
        assert_eq!(streamed.skipped, whole.skipped);
        let lines = |e: &Eve| e.rejects.iter().map(|r| (r.line, r.reason.clone())).collect::<Vec<_>>();
        assert_eq!(lines(&streamed), lines(&whole));
        assert_eq!(whole.rejects.last().unwrap().line, 6 * 4000 + 1);
        let not_eve = read_eve_stream(&b"a,b\n1,2\n"[..], 8, &limits, None, &mut |_| {});
        assert!(not_eve.unwrap_err().to_string().contains("not Suricata EVE"));
    }

    #[test]
    fn maps_each_event_type_and_reports_bad_lines() {
        let eve = read_eve(EVE.as_bytes()).unwrap();
        assert_eq!(eve.conns.len(), 1);
        let c = &eve.conns[0];
        assert_eq!(
            (c.ts, c.duration, c.orig_ip_bytes, &*c.proto, c.established()),
            (1_622_987_986.0, 2.5, 300, "tcp", true)
        );
        assert_eq!((eve.dns[0].query.as_str(), &*eve.dns[0].rcode), ("nx.example", "NXDOMAIN"));
        assert_eq!(eve.names[0].name, "c2.example");
        assert_eq!((eve.alerts[0].severity, eve.alerts[0].signature.as_str()), (1, "ET MALWARE Test"));
        assert_eq!(eve.skipped, 1);
        assert_eq!(eve.rejects.len(), 2);
        assert_eq!((eve.rejects[0].line, eve.rejects[0].field.as_deref()), (6, Some("src_ip")));
        assert!(read_eve(b"{\"Event\": {}}\n").is_err());
    }

    #[test]
    fn tls_and_dns_answers_become_links() {
        let eve = r#"{"timestamp":"2021-06-06T16:00:01.000000+0000","flow_id":3,"event_type":"tls","src_ip":"192.168.1.129","src_port":2,"dest_ip":"198.51.100.8","dest_port":443,"proto":"TCP","tls":{"sni":"C2.example","ja3s":{"hash":"f4febc55ea12b31ae17cfb7e614afda8","string":"x"}}}
{"timestamp":"2021-06-06T16:00:05.000000+0000","flow_id":5,"event_type":"dns","src_ip":"192.168.1.1","src_port":53,"dest_ip":"192.168.1.129","dest_port":1,"proto":"UDP","dns":{"version":2,"type":"answer","rrname":"c2.example","rcode":"NOERROR","answers":[{"rrname":"c2.example","rrtype":"A","ttl":60,"rdata":"198.51.100.8"},{"rrname":"c2.example","rrtype":"CNAME","rdata":"alias.example"}],"grouped":{"A":["198.51.100.9"]}}}
{"timestamp":"2021-06-06T16:00:06.000000+0000","flow_id":6,"event_type":"dns","src_ip":"192.168.1.1","src_port":53,"dest_ip":"192.168.1.129","dest_port":1,"proto":"UDP","dns":{"type":"answer","rrname":"old.example","rrtype":"AAAA","rdata":"2001:db8::7","rcode":"NOERROR"}}
{"timestamp":"2021-06-06T16:00:07.000000+0000","flow_id":7,"event_type":"dns","src_ip":"192.168.1.1","src_port":53,"dest_ip":"192.168.1.129","dest_port":1,"proto":"UDP","dns":{"version":3,"queries":[{"rrname":"v3.example","rrtype":"A"}],"grouped":{"A":["198.51.100.10"]}}}
"#;
        let got = read_eve(eve.as_bytes()).unwrap();
        let links: Vec<(&str, &str, Option<i64>)> =
            got.links.iter().map(|l| (l.from.value(), l.to.value(), l.last_seen)).collect();
        assert_eq!(
            links,
            vec![
                ("c2.example", "198.51.100.8", Some(1_622_995_205)),
                ("198.51.100.8", "f4febc55ea12b31ae17cfb7e614afda8", Some(1_622_995_201)),
                ("c2.example", "198.51.100.9", Some(1_622_995_205)),
                ("old.example", "2001:db8::7", Some(1_622_995_206)),
                ("v3.example", "198.51.100.10", Some(1_622_995_207)),
            ]
        );
        assert_eq!(got.dns.last().map(|q| q.query.as_str()), Some("v3.example"), "EVE v3 `queries`");
    }
}
