//! One probe of one address and port: a TCP connection, then an HTTP GET,
//! over TLS on the TLS ports (recording the certificate's SHA-256 and the
//! server hello's JA3S). Whoever answers is a server we are taking down:
//! what it sends is read with a bound and parsed as hostile.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;

use dragnet_core::Timestamp;
use dragnet_core::store::ProbeResult;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};

use super::Config;

/// Ports on which a TLS handshake is tried (HTTP GET goes over it).
const TLS_PORTS: &[u16] = &[443, 8443, 993, 995, 465];
/// Longest answer read from a probed HTTP server.
const MAX_READ: usize = 4096;
/// The most of a TLS server's first bytes kept to find its hello in.
const MAX_HELLO: usize = 16 * 1024;

pub(super) fn probe(server: &str, address: SocketAddr, config: &Config, now: Timestamp) -> ProbeResult {
    let mut result = ProbeResult {
        server: server.to_string(),
        address: address.ip().to_string(),
        port: address.port(),
        at: now,
        connected: false,
        certificate: None,
        http_status: None,
        error: None,
        ja3s: None,
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
    if TLS_PORTS.contains(&address.port()) {
        let shown = tls_get(stream, &host);
        result.certificate = shown.certificate;
        result.ja3s = shown.ja3s;
        result.http_status = shown.status;
        result.error = shown.error;
    } else {
        match http_get(stream, &host) {
            Ok(status) => result.http_status = status,
            Err(e) => result.error = Some(e),
        }
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

/// What a TLS server showed: its hello even when the handshake then failed.
struct Shown {
    certificate: Option<String>,
    /// None when its hello could not be read.
    ja3s: Option<String>,
    status: Option<u16>,
    error: Option<String>,
}

/// A stream that keeps the first bytes read through it: the server's
/// hello, which rustls does not hand back.
struct Tap<S> {
    inner: S,
    seen: Vec<u8>,
}

impl<S: Read> Read for Tap<S> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let room = MAX_HELLO.saturating_sub(self.seen.len());
        self.seen.extend_from_slice(buf.get(..n.min(room)).unwrap_or_default());
        Ok(n)
    }
}

impl<S: Write> Write for Tap<S> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.inner.write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Shakes hands (accepting any certificate: the prober records, it does
/// not trust), then GETs `/` over the session.
fn tls_get(stream: TcpStream, host: &str) -> Shown {
    let mut shown = Shown { certificate: None, ja3s: None, status: None, error: None };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config =
        match rustls::ClientConfig::builder_with_provider(provider.clone()).with_safe_default_protocol_versions() {
            Ok(builder) => builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(Recorder(provider.signature_verification_algorithms)))
                .with_no_client_auth(),
            Err(e) => return Shown { error: Some(e.to_string()), ..shown },
        };
    let connection = match ServerName::try_from(host.to_string())
        .map_err(|e| e.to_string())
        .and_then(|name| rustls::ClientConnection::new(Arc::new(config), name).map_err(|e| e.to_string()))
    {
        Ok(c) => c,
        Err(e) => return Shown { error: Some(e), ..shown },
    };
    let mut tls = rustls::StreamOwned::new(connection, Tap { inner: stream, seen: Vec::new() });
    match tls.write_all(request(host).as_bytes()) {
        Ok(()) => shown.status = status(&read_some(&mut tls)),
        Err(e) => shown.error = Some(format!("TLS: {e}")),
    }
    shown.ja3s = dragnet_ingest::tls_hello::server_hello(&tls.sock.seen).ok().map(|hello| hello.ja3s());
    shown.certificate = tls
        .conn
        .peer_certificates()
        .and_then(|chain| chain.first())
        .map(|c| dragnet_core::digest::hex(&dragnet_core::digest::sha256(c.as_ref())));
    if shown.certificate.is_none() && shown.error.is_none() {
        shown.error = Some("TLS: no certificate".into());
    }
    shown
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
}
