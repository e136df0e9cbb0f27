//! What the demo runs on loopback in place of the world: one stand-in per
//! malicious server (an HTTP listener that stops answering when its server
//! is taken down) and an SMTP sink that keeps each notice it receives as a
//! `.eml` file, standing in for the hosting providers' abuse desks.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::JoinHandle;

use crate::{Error, Result};

/// Stand-ins are many: small stacks.
const STACK: usize = 64 * 1024;

/// An HTTP listener on 127.0.0.1 answering `200` to anything.
pub struct StandIn {
    pub address: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl StandIn {
    /// Listens on `port` (0: any free one).
    pub fn start(port: u16) -> Result<StandIn> {
        let listener = TcpListener::bind(("127.0.0.1", port)).map_err(|e| Error::invalid(format!("stand-in: {e}")))?;
        let address = listener.local_addr().map_err(|e| Error::invalid(format!("stand-in: {e}")))?;
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .stack_size(STACK)
            .spawn(move || {
                for stream in listener.incoming() {
                    if flag.load(Ordering::Relaxed) {
                        break;
                    }
                    if let Ok(mut s) = stream {
                        let _ = s.write_all(b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n");
                    }
                }
            })
            .map_err(|e| Error::invalid(format!("stand-in: {e}")))?;
        Ok(StandIn { address, stop, thread: Some(thread) })
    }

    /// Stops answering: the port is closed.
    pub fn stop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // Wake the accept loop so it sees the flag and drops the listener.
        let _ = TcpStream::connect(self.address);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for StandIn {
    fn drop(&mut self) {
        self.stop();
    }
}

/// An SMTP server on 127.0.0.1 that accepts every message and keeps it.
pub struct SmtpSink {
    pub address: SocketAddr,
    received: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl SmtpSink {
    pub fn start(folder: &Path) -> Result<SmtpSink> {
        std::fs::create_dir_all(folder).map_err(Error::io("create", folder))?;
        let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| Error::invalid(format!("SMTP sink: {e}")))?;
        let address = listener.local_addr().map_err(|e| Error::invalid(format!("SMTP sink: {e}")))?;
        let (received, stop) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicBool::new(false)));
        let (count, flag, folder) = (received.clone(), stop.clone(), folder.to_path_buf());
        let thread = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if flag.load(Ordering::Relaxed) {
                    break;
                }
                if let Ok(s) = stream {
                    let _ = session(s, &folder, &count);
                }
            }
        });
        Ok(SmtpSink { address, received, stop, thread: Some(thread) })
    }

    pub fn received(&self) -> usize {
        self.received.load(Ordering::Relaxed)
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = TcpStream::connect(self.address);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// One SMTP session, as RFC 5321 asks of a receiver, no more.
fn session(stream: TcpStream, folder: &Path, count: &AtomicUsize) -> std::io::Result<()> {
    stream.set_read_timeout(Some(std::time::Duration::from_secs(10)))?;
    // Answers are short lines: send each at once (no Nagle delay per reply).
    stream.set_nodelay(true)?;
    let mut out = stream.try_clone()?;
    // A client's last small write (the end of DATA) waits for our ACK
    // (Nagle); acknowledge at once rather than after the delayed-ACK timer.
    let quick = stream.try_clone()?;
    let ack_now = || socket2::SockRef::from(&quick).set_tcp_quickack(true);
    let mut lines = BufReader::new(stream);
    out.write_all(b"220 dragnet-demo-sink ESMTP\r\n")?;
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let verb = line.split_whitespace().next().unwrap_or_default().to_ascii_uppercase();
        match verb.as_str() {
            "EHLO" | "HELO" => out.write_all(b"250-dragnet-demo-sink\r\n250 8BITMIME\r\n")?,
            "MAIL" | "RCPT" | "RSET" | "NOOP" => out.write_all(b"250 OK\r\n")?,
            "DATA" => {
                out.write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n")?;
                let mut message = Vec::new();
                loop {
                    line.clear();
                    ack_now()?;
                    if lines.read_line(&mut line)? == 0 {
                        return Ok(());
                    }
                    if line == ".\r\n" || line == ".\n" {
                        break;
                    }
                    message.extend_from_slice(line.strip_prefix('.').unwrap_or(&line).as_bytes());
                }
                let n = count.fetch_add(1, Ordering::Relaxed) + 1;
                let path: PathBuf = folder.join(format!("notice-{n:05}.eml"));
                std::fs::write(path, &message)?;
                out.write_all(b"250 OK: kept\r\n")?;
            }
            "QUIT" => {
                out.write_all(b"221 Bye\r\n")?;
                return Ok(());
            }
            _ => out.write_all(b"502 Command not implemented\r\n")?,
        }
    }
}
