//! The UDP loop on Linux: up to [`BATCH`] datagrams read with one
//! `recvmmsg` and their answers sent with one `sendmmsg`. Under load the
//! system calls, not the answers, are what a DNSBL spends its time on;
//! batching them is what lets it answer more queries per CPU-second.
//! After a thin batch the thread may pause before its next read, so that
//! queries gather into a full one, while that pays ([`super::pacing`]).
//! Answers of one size to one client go out as one segmented send
//! (`UDP_SEGMENT`): the kernel takes them through its UDP and IP layers
//! once and cuts them into datagrams at the end, where it would otherwise
//! go through them once an answer.

use std::net::UdpSocket;
use std::os::fd::AsRawFd;

use super::pacing::{PAUSE, Pacing};
use super::{Current, Shared};

const BATCH: usize = 256;
/// Largest datagram read; a longer query is cut and answered FORMERR.
const DATAGRAM: usize = 1500;
/// `UDP_SEGMENT` (linux/udp.h, Linux 4.18): the size each datagram of a
/// send is cut to. Not in the libc crate for glibc targets.
const UDP_SEGMENT: libc::c_int = 103;
/// Most datagrams one segmented send may hold (the kernel's limit), and
/// most bytes (a UDP payload's).
const MAX_SEGMENTS: usize = 64;
const MAX_SEGMENTED_BYTES: usize = 65_000;

pub(super) fn udp_loop(socket: &UdpSocket, shared: &Shared) {
    let fd = socket.as_raw_fd();
    let mut current = Current::new(shared);
    let mut buffers = vec![[0u8; DATAGRAM]; BATCH];
    // SAFETY: all-zero bytes are a valid `sockaddr_storage`, `iovec` and
    // `mmsghdr` (null pointers, zero lengths), set before each use below.
    let mut peers: Vec<libc::sockaddr_storage> = vec![unsafe { std::mem::zeroed() }; BATCH];
    let mut iovecs: Vec<libc::iovec> = vec![unsafe { std::mem::zeroed() }; BATCH];
    let mut headers: Vec<libc::mmsghdr> = vec![unsafe { std::mem::zeroed() }; BATCH];
    let mut answers: Vec<Answer> = Vec::with_capacity(BATCH);
    let mut sender = Sender::new();
    let mut pacing = Pacing::default();
    let peer_size = u32::try_from(std::mem::size_of::<libc::sockaddr_storage>()).unwrap_or(128);
    loop {
        // Every slot is set again each time: the pointers are taken afresh
        // from the slices borrowed here, never kept from an earlier borrow.
        let slots = buffers.iter_mut().zip(peers.iter_mut()).zip(iovecs.iter_mut()).zip(headers.iter_mut());
        for (((buffer, peer), iovec), header) in slots {
            *iovec = libc::iovec { iov_base: buffer.as_mut_ptr().cast(), iov_len: DATAGRAM };
            header.msg_hdr.msg_name = std::ptr::from_mut(peer).cast();
            header.msg_hdr.msg_namelen = peer_size;
            header.msg_hdr.msg_iov = std::ptr::from_mut(iovec);
            header.msg_hdr.msg_iovlen = 1;
            header.msg_hdr.msg_control = std::ptr::null_mut();
            header.msg_hdr.msg_controllen = 0;
            header.msg_len = 0;
        }
        // SAFETY: every header points at a live buffer, address and iovec
        // of this function, sized as declared; the kernel writes at most that.
        let received = unsafe {
            libc::recvmmsg(fd, headers.as_mut_ptr(), BATCH as u32, libc::MSG_WAITFORONE, std::ptr::null_mut())
        };
        let Ok(received) = usize::try_from(received) else { continue };
        let received = received.min(BATCH);
        let index = current.get(shared);
        let batch = headers.iter().zip(&buffers).take(received);
        let packets = batch.clone().map(|(header, buffer)| {
            let length = usize::try_from(header.msg_len).unwrap_or(0).min(DATAGRAM);
            buffer.get(..length).unwrap_or_default()
        });
        answers.clear();
        for (from, (response, (header, _))) in shared.answer_all(packets, index).into_iter().zip(batch).enumerate() {
            if let Some(bytes) = response {
                let peer_len = usize::try_from(header.msg_hdr.msg_namelen).unwrap_or(0);
                answers.push(Answer { from, peer_len, bytes });
            }
        }
        sender.send_all(fd, &mut answers, &mut peers);
        if pacing.pause_after(received) {
            std::thread::sleep(PAUSE);
        }
    }
}

/// An answer, and which datagram of the batch (so which peer) it answers.
struct Answer {
    from: usize,
    /// The length of the peer's address as the kernel wrote it.
    peer_len: usize,
    bytes: Vec<u8>,
}

/// What sending a batch needs, kept between batches.
struct Sender {
    /// Segmented sends work here (until the kernel refuses one).
    segmenting: bool,
    iovecs: Vec<libc::iovec>,
    headers: Vec<libc::mmsghdr>,
    /// One control message a header (`UDP_SEGMENT`), aligned for `cmsghdr`.
    controls: Vec<[u64; 4]>,
    /// Each message's answers, as a range of the batch's.
    runs: Vec<(usize, usize)>,
}

/// The peer's address as the kernel wrote it.
fn peer_bytes<'p>(peers: &'p [libc::sockaddr_storage], a: &Answer) -> &'p [u8] {
    match peers.get(a.from) {
        // SAFETY: a `sockaddr_storage` is plain bytes, and the kernel wrote
        // `peer_len` of them (at most its size).
        Some(p) => unsafe {
            std::slice::from_raw_parts(
                std::ptr::from_ref(p).cast::<u8>(),
                a.peer_len.min(std::mem::size_of::<libc::sockaddr_storage>()),
            )
        },
        None => &[],
    }
}

impl Sender {
    fn new() -> Sender {
        // SAFETY: all-zero bytes are a valid `iovec` and `mmsghdr` (null
        // pointers, zero lengths), set before each use.
        Sender {
            segmenting: true,
            iovecs: vec![unsafe { std::mem::zeroed() }; BATCH],
            headers: vec![unsafe { std::mem::zeroed() }; BATCH],
            controls: vec![[0; 4]; BATCH],
            runs: Vec::with_capacity(BATCH),
        }
    }

    /// Sends each answer to the peer its query came from, with as few
    /// sends as the kernel allows; what it refuses is dropped (UDP: the
    /// client asks again). A refused segmented send turns segmenting off
    /// and the rest goes one datagram a message.
    fn send_all(&mut self, fd: i32, answers: &mut [Answer], peers: &mut [libc::sockaddr_storage]) {
        if self.segmenting {
            answers.sort_by(|a, b| (peer_bytes(peers, a), a.bytes.len()).cmp(&(peer_bytes(peers, b), b.bytes.len())));
        }
        let mut done = 0;
        while let Some(rest) = answers.get_mut(done..).filter(|r| !r.is_empty()) {
            match self.send_some(fd, rest, peers) {
                (sent, true) => {
                    self.segmenting = false;
                    done += sent;
                }
                (0, false) => return,
                (sent, false) => done += sent,
            }
        }
    }

    /// Sends `answers` in runs (one peer, one size, in a row); how many
    /// answers went out, and whether a segmented send was refused.
    fn send_some(&mut self, fd: i32, answers: &mut [Answer], peers: &mut [libc::sockaddr_storage]) -> (usize, bool) {
        self.runs.clear();
        let mut start = 0;
        while let Some(a) = answers.get(start) {
            let mut end = start + 1;
            while let (true, Some(b)) = (self.segmenting, answers.get(end)) {
                let fits = end - start < MAX_SEGMENTS && (end - start + 1) * a.bytes.len() <= MAX_SEGMENTED_BYTES;
                if !fits || b.bytes.len() != a.bytes.len() || peer_bytes(peers, b) != peer_bytes(peers, a) {
                    break;
                }
                end += 1;
            }
            self.runs.push((start, end));
            start = end;
        }
        for (iovec, a) in self.iovecs.iter_mut().zip(answers.iter_mut()) {
            *iovec = libc::iovec { iov_base: a.bytes.as_mut_ptr().cast(), iov_len: a.bytes.len() };
        }
        for (r, &(start, end)) in self.runs.iter().enumerate() {
            let (Some(a), Some(header), Some(control)) =
                (answers.get(start), self.headers.get_mut(r), self.controls.get_mut(r))
            else {
                continue;
            };
            let (Some(peer), Some(iovec)) = (peers.get_mut(a.from), self.iovecs.get_mut(start)) else { continue };
            let h = &mut header.msg_hdr;
            h.msg_name = std::ptr::from_mut(peer).cast();
            h.msg_namelen = u32::try_from(a.peer_len).unwrap_or(0);
            h.msg_iov = std::ptr::from_mut(iovec);
            h.msg_iovlen = end - start;
            h.msg_control = std::ptr::null_mut();
            h.msg_controllen = 0;
            header.msg_len = 0;
            if end - start > 1 {
                let segment = u16::try_from(a.bytes.len()).unwrap_or(u16::MAX);
                h.msg_control = control.as_mut_ptr().cast();
                h.msg_controllen = std::mem::size_of_val(control);
                // SAFETY: `control` has room for one `cmsghdr` and a u16
                // (CMSG_SPACE(2) is at most 24 bytes, it has 32) and is aligned
                // for it; CMSG_FIRSTHDR finds it there.
                unsafe {
                    h.msg_controllen = libc::CMSG_SPACE(2) as usize;
                    let cmsg = libc::CMSG_FIRSTHDR(h);
                    (*cmsg).cmsg_level = libc::SOL_UDP;
                    (*cmsg).cmsg_type = UDP_SEGMENT;
                    (*cmsg).cmsg_len = libc::CMSG_LEN(2) as usize;
                    std::ptr::write_unaligned(libc::CMSG_DATA(cmsg).cast::<u16>(), segment);
                }
            }
        }
        let mut sent_runs = 0;
        while sent_runs < self.runs.len() {
            let Some(rest) = self.headers.get_mut(sent_runs..self.runs.len()) else { break };
            // SAFETY: each header points at answers, an address, iovecs and a
            // control message that live until this function returns.
            let n = unsafe { libc::sendmmsg(fd, rest.as_mut_ptr(), rest.len() as u32, 0) };
            match usize::try_from(n) {
                Ok(n) if n > 0 => sent_runs += n,
                _ => {
                    let (sent, segmented) = self.runs.get(sent_runs).map_or((0, false), |&(s, e)| (s, e - s > 1));
                    // Only a kernel or device without segmentation turns it off;
                    // a full buffer drops the rest, as it would unsegmented.
                    let unsupported = matches!(
                        std::io::Error::last_os_error().raw_os_error(),
                        Some(libc::EIO | libc::EINVAL | libc::ENOPROTOOPT | libc::EOPNOTSUPP)
                    );
                    return (sent, segmented && unsupported);
                }
            }
        }
        (answers.len(), false)
    }
}
