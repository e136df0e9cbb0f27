//! The listeners: UDP on one socket read by several threads, TCP with a
//! bounded number of connections, both answering from the index that is
//! current. A new index is swapped in whole; each thread notices by one
//! atomic load per packet and takes it, so an answer never mixes two.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use crate::answer::{Zone, respond_all, respond_in, transfer};
use crate::index::Index;

/// TCP connections served at once; more are closed at once.
const MAX_TCP: usize = 64;
/// Messages one TCP connection may send.
const MAX_TCP_MESSAGES: usize = 1000;
const TCP_TIMEOUT: Duration = Duration::from_secs(10);

/// The zones and the index every listener answers from.
pub struct Shared {
    pub zones: Vec<Zone>,
    generation: AtomicU64,
    index: Mutex<Arc<Index>>,
    tcp_open: AtomicUsize,
}

impl Shared {
    pub fn new(zones: Vec<Zone>, index: Index) -> Arc<Shared> {
        Arc::new(Shared {
            zones,
            generation: AtomicU64::new(0),
            index: Mutex::new(Arc::new(index)),
            tcp_open: AtomicUsize::new(0),
        })
    }

    /// Puts `index` in service: the next packet each thread reads is answered from it.
    pub fn swap(&self, index: Index) {
        *self.index.lock().unwrap_or_else(PoisonError::into_inner) = Arc::new(index);
        self.generation.fetch_add(1, Ordering::Release);
    }

    pub fn current(&self) -> Arc<Index> {
        Arc::clone(&self.index.lock().unwrap_or_else(PoisonError::into_inner))
    }

    fn answer(&self, packet: &[u8], index: &Index) -> Option<Vec<u8>> {
        respond_in(packet, &self.zones, index)
    }

    #[cfg_attr(not(target_os = "linux"), allow(dead_code))]
    fn answer_all<'p>(&self, packets: impl IntoIterator<Item = &'p [u8]>, index: &Index) -> Vec<Option<Vec<u8>>> {
        respond_all(packets, &self.zones, index)
    }
}

/// A thread's copy of the current index, renewed when the generation moves.
struct Current {
    generation: u64,
    index: Arc<Index>,
}

impl Current {
    fn new(shared: &Shared) -> Current {
        Current { generation: shared.generation.load(Ordering::Acquire), index: shared.current() }
    }

    fn get(&mut self, shared: &Shared) -> &Index {
        let now = shared.generation.load(Ordering::Acquire);
        if now != self.generation {
            *self = Current { generation: now, index: shared.current() };
        }
        &self.index
    }
}

/// Where the listeners ended up (port 0 picks one, the same for both).
#[derive(Debug, Clone, Copy)]
pub struct Listening {
    pub udp: SocketAddr,
    pub tcp: SocketAddr,
}

/// Binds UDP and TCP on `address` and answers on `threads` UDP threads and
/// one TCP acceptor, until the process ends.
pub fn serve(address: SocketAddr, shared: Arc<Shared>, threads: usize) -> std::io::Result<Listening> {
    let udp = UdpSocket::bind(address)?;
    let udp_address = udp.local_addr()?;
    let tcp = TcpListener::bind(udp_address)?;
    let tcp_address = tcp.local_addr()?;
    for n in 0..threads.max(1) {
        let socket = udp.try_clone()?;
        let shared = Arc::clone(&shared);
        std::thread::Builder::new().name(format!("dns-udp-{n}")).spawn(move || udp_loop(&socket, &shared))?;
    }
    std::thread::Builder::new().name("dns-tcp".into()).spawn(move || tcp_loop(&tcp, &shared))?;
    Ok(Listening { udp: udp_address, tcp: tcp_address })
}

#[cfg(target_os = "linux")]
fn udp_loop(socket: &UdpSocket, shared: &Shared) {
    batched::udp_loop(socket, shared);
}

#[cfg(not(target_os = "linux"))]
fn udp_loop(socket: &UdpSocket, shared: &Shared) {
    plain_udp_loop(socket, shared);
}

/// One datagram a system call: where `recvmmsg` is not to be had.
#[cfg_attr(target_os = "linux", allow(dead_code))]
fn plain_udp_loop(socket: &UdpSocket, shared: &Shared) {
    let mut current = Current::new(shared);
    let mut buffer = [0u8; 4096];
    loop {
        let Ok((n, peer)) = socket.recv_from(&mut buffer) else { continue };
        let Some(packet) = buffer.get(..n) else { continue };
        if let Some(response) = shared.answer(packet, current.get(shared)) {
            let _ = socket.send_to(&response, peer);
        }
    }
}

fn tcp_loop(listener: &TcpListener, shared: &Arc<Shared>) {
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        if shared.tcp_open.fetch_add(1, Ordering::AcqRel) >= MAX_TCP {
            shared.tcp_open.fetch_sub(1, Ordering::AcqRel);
            continue;
        }
        let mine = Arc::clone(shared);
        let spawned = std::thread::Builder::new().name("dns-tcp-conn".into()).spawn(move || {
            let _ = tcp_connection(stream, &mine);
            mine.tcp_open.fetch_sub(1, Ordering::AcqRel);
        });
        if spawned.is_err() {
            // The closure, and the release of its slot, never ran.
            shared.tcp_open.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

/// Tells each secondary that `zone` changed (RFC 1996 NOTIFY, over UDP):
/// it asks for the SOA and transfers the zone again.
pub fn notify(zone: &Zone, secondaries: &[SocketAddr]) -> std::io::Result<()> {
    if secondaries.is_empty() {
        return Ok(());
    }
    let id = u16::try_from(std::process::id() & 0xffff).unwrap_or(0) ^ 0x5a5a;
    // Opcode NOTIFY (4), authoritative; one question: the zone's SOA.
    let message = crate::wire::question(id, 0x2400, zone.name_wire(), crate::wire::rtype::SOA);
    for secondary in secondaries {
        let socket = UdpSocket::bind(if secondary.is_ipv4() { "0.0.0.0:0" } else { "[::]:0" })?;
        socket.send_to(&message, secondary)?;
    }
    Ok(())
}

#[cfg(target_os = "linux")]
mod batched;
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
mod pacing;

/// Length-prefixed messages (RFC 1035 §4.2.2), answered in turn.
fn tcp_connection(mut stream: TcpStream, shared: &Shared) -> std::io::Result<()> {
    stream.set_read_timeout(Some(TCP_TIMEOUT))?;
    stream.set_write_timeout(Some(TCP_TIMEOUT))?;
    let mut current = Current::new(shared);
    for _ in 0..MAX_TCP_MESSAGES {
        let mut length = [0u8; 2];
        if stream.read_exact(&mut length).is_err() {
            return Ok(());
        }
        let mut message = vec![0u8; usize::from(u16::from_be_bytes(length))];
        stream.read_exact(&mut message)?;
        let index = current.get(shared);
        let responses = match transfer(&message, &shared.zones, index) {
            Some(messages) => messages,
            None => match shared.answer(&message, index) {
                Some(response) => vec![response],
                None => return Ok(()),
            },
        };
        for response in responses {
            let Ok(length) = u16::try_from(response.len()) else { return Ok(()) };
            let mut framed = length.to_be_bytes().to_vec();
            framed.extend_from_slice(&response);
            stream.write_all(&framed)?;
        }
    }
    Ok(())
}
