//! A probed server's TLS hello, read from the first bytes it sent: what a
//! JA3S fingerprint covers (the version, the cipher it chose and the
//! extensions it answered with, in their order). The bytes come from a
//! server we are trying to take down, so every length is checked against
//! what is there and nothing beyond the hello is read.

use dragnet_core::digest::hex;
use md5::{Digest, Md5};

/// What the server's hello said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerHello {
    /// The legacy version field (771 for TLS 1.2, and for TLS 1.3 too).
    pub version: u16,
    pub cipher: u16,
    /// Extension types in the order the server sent them.
    pub extensions: Vec<u16>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HelloError {
    #[error("the server sent {0} bytes, less than its hello")]
    Truncated(usize),
    #[error("the server answered with a TLS alert")]
    Alert,
    #[error("record type {0} where a handshake was expected")]
    NotHandshake(u8),
    #[error("handshake message type {0} where a server hello was expected")]
    NotServerHello(u8),
    #[error("a record of {0} bytes, longer than TLS allows")]
    RecordTooLong(usize),
    #[error("the hello's lengths do not add up")]
    Malformed,
}

/// TLS record content types and the handshake type of a server hello.
const HANDSHAKE: u8 = 22;
const ALERT: u8 = 21;
const SERVER_HELLO: u8 = 2;
/// The largest record a peer may send (2^14 plus expansion).
const MAX_RECORD: usize = (1 << 14) + 2048;

impl ServerHello {
    /// The text JA3S hashes: `version,cipher,ext-ext-…`, in decimal.
    pub fn ja3s_text(&self) -> String {
        let extensions: Vec<String> = self.extensions.iter().map(u16::to_string).collect();
        format!("{},{},{}", self.version, self.cipher, extensions.join("-"))
    }

    /// The JA3S fingerprint: the MD5 of [`ServerHello::ja3s_text`], in hex.
    pub fn ja3s(&self) -> String {
        hex(&Md5::digest(self.ja3s_text().as_bytes()))
    }
}

/// A cursor over bytes that refuses to read past their end.
struct Bytes<'a>(&'a [u8]);

impl<'a> Bytes<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if n > self.0.len() {
            return None;
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(head)
    }
    fn u8(&mut self) -> Option<u8> {
        self.take(1)?.first().copied()
    }
    fn u16(&mut self) -> Option<u16> {
        let b = self.take(2)?;
        Some(u16::from_be_bytes([*b.first()?, *b.get(1)?]))
    }
    fn u24(&mut self) -> Option<usize> {
        let b = self.take(3)?;
        Some(usize::from(*b.first()?) << 16 | usize::from(*b.get(1)?) << 8 | usize::from(*b.get(2)?))
    }
}

/// The server hello at the start of `sent` (what a server wrote first,
/// records and all); a hello split across records is joined.
pub fn server_hello(sent: &[u8]) -> Result<ServerHello, HelloError> {
    let mut records = Bytes(sent);
    let mut handshake: Vec<u8> = Vec::new();
    // The hello's length once its header is in.
    let mut wanted: Option<usize> = None;
    while wanted.is_none_or(|n| handshake.len() < n) {
        let truncated = HelloError::Truncated(sent.len());
        let kind = records.u8().ok_or(truncated.clone())?;
        records.u16().ok_or(truncated.clone())?;
        let len = usize::from(records.u16().ok_or(truncated.clone())?);
        match kind {
            HANDSHAKE => {}
            ALERT => return Err(HelloError::Alert),
            other => return Err(HelloError::NotHandshake(other)),
        }
        if len > MAX_RECORD {
            return Err(HelloError::RecordTooLong(len));
        }
        handshake.extend_from_slice(records.take(len).ok_or(truncated)?);
        if wanted.is_none() && handshake.len() >= 4 {
            let mut header = Bytes(&handshake);
            let kind = header.u8().ok_or(HelloError::Malformed)?;
            if kind != SERVER_HELLO {
                return Err(HelloError::NotServerHello(kind));
            }
            wanted = Some(4 + header.u24().ok_or(HelloError::Malformed)?);
        }
    }
    let body = handshake.get(4..wanted.unwrap_or(4)).ok_or(HelloError::Malformed)?;
    parse_body(body).ok_or(HelloError::Malformed)
}

fn parse_body(body: &[u8]) -> Option<ServerHello> {
    let mut b = Bytes(body);
    let version = b.u16()?;
    b.take(32)?; // random
    let session = usize::from(b.u8()?);
    b.take(session)?;
    let cipher = b.u16()?;
    b.u8()?; // compression
    let mut extensions = Vec::new();
    if !b.0.is_empty() {
        let total = usize::from(b.u16()?);
        let mut list = Bytes(b.take(total)?);
        while !list.0.is_empty() {
            extensions.push(list.u16()?);
            let len = usize::from(list.u16()?);
            list.take(len)?;
        }
    }
    Some(ServerHello { version, cipher, extensions })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A TLS 1.2 server hello choosing ECDHE-RSA-AES128-GCM-SHA256 (0xc02f)
    /// with renegotiation info, EC point formats and extended master
    /// secret, as one record.
    fn hello(extensions: &[u8]) -> Vec<u8> {
        let mut body = vec![0x03, 0x03];
        body.extend([0x11; 32]);
        body.push(0);
        body.extend([0xc0, 0x2f, 0x00]);
        body.extend((extensions.len() as u16).to_be_bytes());
        body.extend(extensions);
        let mut message = vec![SERVER_HELLO, 0, (body.len() >> 8) as u8, body.len() as u8];
        message.extend(body);
        let mut record = vec![HANDSHAKE, 3, 3];
        record.extend((message.len() as u16).to_be_bytes());
        record.extend(message);
        record
    }

    const EXTENSIONS: &[u8] = &[0xff, 0x01, 0, 1, 0, 0x00, 0x0b, 0, 2, 1, 0, 0x00, 0x17, 0, 0];

    #[test]
    fn a_hello_gives_its_ja3s() {
        let hello = server_hello(&hello(EXTENSIONS)).unwrap();
        assert_eq!(hello.ja3s_text(), "771,49199,65281-11-23");
        // MD5 of that text, as Python's hashlib gives it.
        assert_eq!(hello.ja3s(), "76c691f46143bf86e2d1bb73c6187767");
    }

    #[test]
    fn a_hello_split_across_records_is_joined() {
        let whole = hello(EXTENSIONS);
        let message = &whole[5..];
        let mut split = Vec::new();
        for part in [&message[..3], &message[3..40], &message[40..]] {
            split.extend([HANDSHAKE, 3, 3]);
            split.extend((part.len() as u16).to_be_bytes());
            split.extend(part);
        }
        split.extend([20, 3, 3, 0, 1, 1]); // what follows is not read
        assert_eq!(server_hello(&split).unwrap(), server_hello(&whole).unwrap());
    }

    #[test]
    fn bad_hellos_are_refused_not_read_past() {
        let whole = hello(EXTENSIONS);
        for cut in 0..whole.len() {
            assert!(server_hello(&whole[..cut]).is_err(), "cut at {cut}");
        }
        assert_eq!(server_hello(&[ALERT, 3, 3, 0, 2, 2, 40]), Err(HelloError::Alert));
        assert_eq!(server_hello(b"HTTP/1.1 400 Bad Request\r\n"), Err(HelloError::NotHandshake(b'H')));
        let mut client_hello = hello(EXTENSIONS);
        client_hello[5] = 1;
        assert_eq!(server_hello(&client_hello), Err(HelloError::NotServerHello(1)));
        // An extension claiming more bytes than the list holds.
        assert_eq!(server_hello(&hello(&[0x00, 0x17, 0, 9])), Err(HelloError::Malformed));
        assert_eq!(server_hello(&[HANDSHAKE, 3, 3, 0xff, 0xff]), Err(HelloError::RecordTooLong(65535)));
    }

    #[test]
    fn a_hello_without_extensions_has_an_empty_list() {
        let mut bare = hello(&[]);
        // Drop the empty extensions block and fix the lengths.
        bare.truncate(bare.len() - 2);
        let message_len = bare.len() - 5;
        bare[3..5].copy_from_slice(&(message_len as u16).to_be_bytes());
        bare[7..9].copy_from_slice(&((message_len - 4) as u16).to_be_bytes());
        assert_eq!(server_hello(&bare).unwrap().ja3s_text(), "771,49199,");
    }
}
