//! The verification prober: one round checks every server whose takedown
//! was actioned or verified (TCP connect, a TLS handshake that records the
//! certificate's SHA-256, an HTTP GET), with bounded concurrency and a rate
//! limit per target network. A server silent for `offline_after`
//! consecutive rounds is verified offline; one that answers again after it
//! was verified has reappeared, and so has one whose certificate answers
//! at another server's address.

use std::collections::{BTreeMap, HashMap};
use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use dragnet_core::store::ProbeResult;
use dragnet_core::takedown::State;
use dragnet_core::{Store, Timestamp};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use serde::Serialize;

use crate::access::Scope;
use crate::lookup::Context;
use crate::takedown::{self, Move};
use crate::{Error, Result, operations};

/// Ports on which a TLS handshake is tried (HTTP GET goes over it).
const TLS_PORTS: &[u16] = &[443, 8443, 993, 995, 465];
/// Longest answer read from a probed HTTP server.
const MAX_READ: usize = 4096;

/// How a round probes.
#[derive(Debug, Clone)]
pub struct Config {
    pub ports: Vec<u16>,
    pub timeout: Duration,
    /// Probes at once.
    pub concurrency: usize,
    /// Connection attempts a second to one network (/24 or /48).
    pub per_network_per_second: u32,
    /// Consecutive silent rounds before a server is verified offline.
    pub offline_after: u32,
    /// Where to really connect for an address and port (a lab or demo
    /// stand-in, as curl's --connect-to): results stay under the address.
    pub connect_to: HashMap<SocketAddr, SocketAddr>,
    /// Refuse to probe any address and port without a `connect_to` rule
    /// (labs and demos: nothing outside them is ever touched).
    pub mapped_only: bool,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            ports: vec![80, 443],
            timeout: Duration::from_secs(3),
            concurrency: 32,
            per_network_per_second: 10,
            offline_after: 3,
            connect_to: HashMap::new(),
            mapped_only: false,
        }
    }
}

/// What one round did.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize, Default)]
pub struct Round {
    pub servers: usize,
    pub probes: usize,
    pub answered: Vec<String>,
    pub silent: Vec<String>,
    /// Moved to verified-offline this round.
    pub verified_offline: Vec<String>,
    /// Moved to reappeared this round: they answered again.
    pub reappeared: Vec<String>,
    /// Moved to reappeared this round: their certificate answered elsewhere.
    pub moved: Vec<Moved>,
    pub results: Vec<ProbeResult>,
}

/// A server verified offline whose certificate answered at another address.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize)]
pub struct Moved {
    pub server: String,
    /// Where, and under which server that address is.
    pub evidence: String,
}

/// States whose servers are probed.
fn probed(state: State) -> bool {
    state.is_actioned() || matches!(state, State::VerifiedOffline | State::Monitoring)
}

/// Runs one round over the servers `scope` may see (those of `operation`'s
/// categories, if given), records it, and moves the servers it settles.
pub fn round(
    store: &mut dyn Store,
    ctx: &Context,
    scope: &Scope,
    now: Timestamp,
    operation: Option<&str>,
    config: &Config,
) -> Result<Round> {
    scope.require_coordinator(dragnet_core::access::Role::Analyst)?;
    let categories = match operation {
        Some(name) => operations::show(store, scope, name)?.scope,
        None => Vec::new(),
    };
    let views = crate::servers::compute(store, ctx, scope, now, false)?.views;
    let rows = takedown::rows(store, &views)?;
    let mut targets: BTreeMap<String, (State, Vec<IpAddr>)> = BTreeMap::new();
    for (row, view) in rows.iter().zip(&views).filter(|(r, _)| probed(r.state)) {
        if !categories.is_empty() && !view.categories.iter().any(|c| categories.contains(c)) {
            continue;
        }
        let ips = row.ips.iter().filter_map(|ip| ip.parse().ok()).collect();
        targets.insert(row.server.clone(), (row.state, ips));
    }
    let jobs: Vec<(String, SocketAddr)> = targets
        .iter()
        .flat_map(|(server, (_, ips))| {
            ips.iter().flat_map(move |ip| config.ports.iter().map(move |p| (server.clone(), SocketAddr::new(*ip, *p))))
        })
        .collect();
    if config.mapped_only
        && let Some((server, address)) = jobs.iter().find(|(_, a)| !config.connect_to.contains_key(a))
    {
        return Err(Error::invalid(format!(
            "{server}: {address} has no --connect-to rule, and only mapped targets may be probed"
        )));
    }
    let results = run(jobs, config, now);
    let mut streaks: HashMap<String, u32> = store.probe_streaks()?.into_iter().collect();
    let mut out = Round { servers: targets.len(), probes: results.len(), ..Round::default() };
    let mut updates = Vec::new();
    for (server, (state, _)) in &targets {
        let answered = results.iter().any(|r| &r.server == server && r.connected);
        let silent = if answered { 0 } else { streaks.remove(server).unwrap_or(0) + 1 };
        updates.push((server.clone(), silent));
        if answered {
            out.answered.push(server.clone());
            if matches!(state, State::VerifiedOffline | State::Monitoring) {
                out.reappeared.push(server.clone());
            }
        } else {
            out.silent.push(server.clone());
            if state.is_actioned() && silent >= config.offline_after {
                out.verified_offline.push(server.clone());
            }
        }
    }
    // A certificate once shown by a server now verified offline (or
    // closed), answering on another server's address: it moved there.
    let mut known: HashMap<String, String> = HashMap::new();
    for row in rows.iter().filter(|r| r.state.is_down()) {
        for seen in store.probe_results(&row.server, 100)? {
            if let Some(c) = seen.certificate {
                known.entry(c).or_insert_with(|| row.server.clone());
            }
        }
    }
    let mut moved: BTreeMap<String, String> = BTreeMap::new();
    for r in results.iter().filter(|r| r.connected) {
        let Some(old) = r.certificate.as_ref().and_then(|c| known.get(c)) else { continue };
        if old != &r.server && !out.reappeared.contains(old) {
            moved.entry(old.clone()).or_insert_with(|| {
                format!(
                    "its certificate {} answers on {}:{} (server {})",
                    r.certificate.as_deref().unwrap_or_default(),
                    r.address,
                    r.port,
                    r.server
                )
            });
        }
    }
    store.add_probe_round(&results, &updates)?;
    let evidence = |server: &str| {
        let found: Vec<String> = results
            .iter()
            .filter(|r| r.server == server)
            .map(|r| match (&r.certificate, r.http_status, r.connected) {
                (_, _, false) => format!("{}:{} silent", r.address, r.port),
                (Some(c), _, true) => format!("{}:{} answers, certificate {c}", r.address, r.port),
                (None, Some(s), true) => format!("{}:{} answers HTTP {s}", r.address, r.port),
                (None, None, true) => format!("{}:{} accepts connections", r.address, r.port),
            })
            .collect();
        found.join("; ")
    };
    let mut moves = Vec::new();
    for (servers, to, reason) in [
        (
            &out.verified_offline,
            State::VerifiedOffline,
            format!("prober: silent {} rounds in a row", config.offline_after),
        ),
        (&out.reappeared, State::Reappeared, "prober: it answers again".to_string()),
    ] {
        for server in servers {
            moves.push(Move { servers: vec![server.clone()], to, reason: reason.clone(), evidence: evidence(server) });
        }
    }
    for (server, why) in &moved {
        moves.push(Move {
            servers: vec![server.clone()],
            to: State::Reappeared,
            reason: "prober: it answers at another address".into(),
            evidence: why.clone(),
        });
        out.moved.push(Moved { server: server.clone(), evidence: why.clone() });
    }
    if !moves.is_empty() {
        takedown::set_many(store, ctx, scope, now, &moves)?;
    }
    out.results = results;
    Ok(out)
}

/// The network a target belongs to, for the rate limit: /24 or /48.
fn network(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => IpAddr::V4((u32::from(v4) & 0xffff_ff00).into()),
        IpAddr::V6(v6) => IpAddr::V6((u128::from(v6) & !((1u128 << 80) - 1)).into()),
    }
}

/// Probes every job on `config.concurrency` threads, at most
/// `per_network_per_second` new connections a second to each network.
fn run(jobs: Vec<(String, SocketAddr)>, config: &Config, now: Timestamp) -> Vec<ProbeResult> {
    let (job_tx, job_rx) = mpsc::channel::<(String, SocketAddr)>();
    let job_rx = Arc::new(Mutex::new(job_rx));
    let (result_tx, result_rx) = mpsc::channel();
    let next_slot: Arc<Mutex<HashMap<IpAddr, Instant>>> = Arc::default();
    let spacing = Duration::from_secs(1) / config.per_network_per_second.max(1);
    let workers = config.concurrency.clamp(1, 256).min(jobs.len().max(1));
    for job in jobs {
        let _ = job_tx.send(job);
    }
    drop(job_tx);
    std::thread::scope(|threads| {
        for _ in 0..workers {
            let (job_rx, result_tx, next_slot) = (job_rx.clone(), result_tx.clone(), next_slot.clone());
            threads.spawn(move || {
                loop {
                    let job = job_rx.lock().unwrap_or_else(|p| p.into_inner()).recv();
                    let Ok((server, address)) = job else { break };
                    let wait = {
                        let mut slots = next_slot.lock().unwrap_or_else(|p| p.into_inner());
                        let slot = slots.entry(network(address.ip())).or_insert_with(Instant::now);
                        let at = (*slot).max(Instant::now());
                        *slot = at + spacing;
                        at.saturating_duration_since(Instant::now())
                    };
                    std::thread::sleep(wait);
                    let _ = result_tx.send(probe(&server, address, config, now));
                }
            });
        }
    });
    drop(result_tx);
    let mut results: Vec<ProbeResult> = result_rx.into_iter().collect();
    results.sort_by(|a, b| (&a.server, &a.address, a.port).cmp(&(&b.server, &b.address, b.port)));
    results
}

fn probe(server: &str, address: SocketAddr, config: &Config, now: Timestamp) -> ProbeResult {
    let mut result = ProbeResult {
        server: server.to_string(),
        address: address.ip().to_string(),
        port: address.port(),
        at: now,
        connected: false,
        certificate: None,
        http_status: None,
        error: None,
    };
    let real = config.connect_to.get(&address).copied().unwrap_or(address);
    let stream = match TcpStream::connect_timeout(&real, config.timeout) {
        Ok(s) => s,
        Err(e) => {
            result.error = Some(e.to_string());
            return result;
        }
    };
    result.connected = true;
    let _ = stream.set_read_timeout(Some(config.timeout));
    let _ = stream.set_write_timeout(Some(config.timeout));
    let host = address.ip().to_string();
    let answer = if TLS_PORTS.contains(&address.port()) {
        tls_get(stream, &host).map(|(cert, status)| {
            result.certificate = Some(cert);
            status
        })
    } else {
        http_get(stream, &host)
    };
    match answer {
        Ok(status) => result.http_status = status,
        Err(e) => result.error = Some(e),
    }
    result
}

fn request(host: &str) -> String {
    format!("GET / HTTP/1.0\r\nHost: {host}\r\nUser-Agent: dragnet-prober\r\nConnection: close\r\n\r\n")
}

/// The status code of an HTTP answer's first line, if it is one.
fn status(answer: &[u8]) -> Option<u16> {
    let line = answer.split(|b| *b == b'\n').next()?;
    let text = std::str::from_utf8(line).ok()?;
    let mut words = text.split_whitespace();
    words.next().filter(|w| w.starts_with("HTTP/"))?;
    words.next()?.parse().ok()
}

fn read_some(stream: &mut impl Read) -> Vec<u8> {
    let mut buf = vec![0u8; MAX_READ];
    let mut filled = 0;
    while filled < MAX_READ {
        match stream.read(buf.get_mut(filled..).unwrap_or_default()) {
            Ok(0) | Err(_) => break,
            Ok(n) => filled += n,
        }
        if buf.get(..filled).is_some_and(|b| b.contains(&b'\n')) {
            break;
        }
    }
    buf.truncate(filled);
    buf
}

fn http_get(mut stream: TcpStream, host: &str) -> std::result::Result<Option<u16>, String> {
    stream.write_all(request(host).as_bytes()).map_err(|e| e.to_string())?;
    Ok(status(&read_some(&mut stream)))
}

/// Shakes hands (accepting any certificate: the prober records, it does
/// not trust), then GETs `/` over the session.
fn tls_get(stream: TcpStream, host: &str) -> std::result::Result<(String, Option<u16>), String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(Recorder(provider.signature_verification_algorithms)))
        .with_no_client_auth();
    let name = ServerName::try_from(host.to_string()).map_err(|e| e.to_string())?;
    let connection = rustls::ClientConnection::new(Arc::new(config), name).map_err(|e| e.to_string())?;
    let mut tls = rustls::StreamOwned::new(connection, stream);
    tls.write_all(request(host).as_bytes()).map_err(|e| format!("TLS: {e}"))?;
    let answer = read_some(&mut tls);
    let certificate = tls
        .conn
        .peer_certificates()
        .and_then(|chain| chain.first())
        .map(|c| dragnet_core::digest::hex(&dragnet_core::digest::sha256(c.as_ref())))
        .ok_or_else(|| "TLS: no certificate".to_string())?;
    Ok((certificate, status(&answer)))
}

/// Accepts any certificate (its signatures on the handshake are still
/// checked): what it is, not who vouches for it, is the evidence.
#[derive(Debug)]
struct Recorder(rustls::crypto::WebPkiSupportedAlgorithms);

impl ServerCertVerifier for Recorder {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0)
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0)
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_schemes()
    }
}

/// Parses `ADDRESS:PORT=HOST:PORT` (a connect-to rule).
pub fn parse_connect_to(text: &str) -> Result<(SocketAddr, SocketAddr)> {
    let (from, to) =
        text.split_once('=').ok_or_else(|| Error::invalid(format!("`{text}`: give ADDR:PORT=ADDR:PORT")))?;
    let parse = |s: &str| s.trim().parse::<SocketAddr>().map_err(|e| Error::invalid(format!("`{s}`: {e}")));
    Ok((parse(from)?, parse(to)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_lines_are_read_or_left_alone() {
        assert_eq!(status(b"HTTP/1.1 404 Not Found\r\n"), Some(404));
        assert_eq!(status(b"SSH-2.0-OpenSSH\r\n"), None);
        assert_eq!(status(b"HTTP/1.1 \xff\xfe\r\n"), None);
        assert_eq!(status(b""), None);
    }

    #[test]
    fn networks_group_by_24_and_48() {
        assert_eq!(network("45.10.1.77".parse().unwrap()), "45.10.1.0".parse::<IpAddr>().unwrap());
        assert_eq!(network("2001:db8:1:2::9".parse().unwrap()), "2001:db8:1::".parse::<IpAddr>().unwrap());
    }
}
