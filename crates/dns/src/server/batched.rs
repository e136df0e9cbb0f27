//! The UDP loop on Linux: up to [`BATCH`] datagrams read with one
//! `recvmmsg` and their answers sent with one `sendmmsg`. Under load the
//! system calls, not the answers, are what a DNSBL spends its time on;
//! batching them is what lets it answer more queries per CPU-second.

use std::net::UdpSocket;
use std::os::fd::AsRawFd;

use super::{Current, Shared};

const BATCH: usize = 64;
/// Largest datagram read; a longer query is cut and answered FORMERR.
const DATAGRAM: usize = 1500;

pub(super) fn udp_loop(socket: &UdpSocket, shared: &Shared) {
    let fd = socket.as_raw_fd();
    let mut current = Current::new(shared);
    let mut buffers = vec![[0u8; DATAGRAM]; BATCH];
    // SAFETY: all-zero bytes are a valid `sockaddr_storage`, `iovec` and
    // `mmsghdr` (null pointers, zero lengths), set before each use below.
    let mut peers: Vec<libc::sockaddr_storage> = vec![unsafe { std::mem::zeroed() }; BATCH];
    let mut iovecs: Vec<libc::iovec> = vec![unsafe { std::mem::zeroed() }; BATCH];
    let mut headers: Vec<libc::mmsghdr> = vec![unsafe { std::mem::zeroed() }; BATCH];
    let mut answers: Vec<(usize, Vec<u8>)> = Vec::with_capacity(BATCH);
    let peer_size = u32::try_from(std::mem::size_of::<libc::sockaddr_storage>()).unwrap_or(128);
    loop {
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
        let index = current.get(shared);
        answers.clear();
        for (i, header) in headers.iter().enumerate().take(received.min(BATCH)) {
            let length = usize::try_from(header.msg_len).unwrap_or(0).min(DATAGRAM);
            let Some(packet) = buffers.get(i).and_then(|b| b.get(..length)) else { continue };
            if let Some(answer) = shared.answer(packet, index) {
                answers.push((i, answer));
            }
        }
        send_all(fd, &mut answers, &mut peers, &mut iovecs, &mut headers, peer_size);
    }
}

/// Sends each answer to the peer its query came from, with as few
/// `sendmmsg` calls as the kernel allows; what it refuses is dropped
/// (UDP: the client asks again).
fn send_all(
    fd: i32,
    answers: &mut [(usize, Vec<u8>)],
    peers: &mut [libc::sockaddr_storage],
    iovecs: &mut [libc::iovec],
    headers: &mut [libc::mmsghdr],
    peer_size: u32,
) {
    let count = answers.len().min(headers.len());
    for (slot, (from, answer)) in answers.iter_mut().enumerate().take(count) {
        let (Some(iovec), Some(peer)) = (iovecs.get_mut(slot), peers.get_mut(*from)) else { return };
        *iovec = libc::iovec { iov_base: answer.as_mut_ptr().cast(), iov_len: answer.len() };
        let iovec_pointer = std::ptr::from_mut(iovec);
        let peer_pointer = std::ptr::from_mut(peer);
        let Some(header) = headers.get_mut(slot) else { return };
        header.msg_hdr.msg_name = peer_pointer.cast();
        header.msg_hdr.msg_namelen = peer_size;
        header.msg_hdr.msg_iov = iovec_pointer;
        header.msg_hdr.msg_iovlen = 1;
        header.msg_hdr.msg_control = std::ptr::null_mut();
        header.msg_hdr.msg_controllen = 0;
    }
    let mut sent = 0;
    while sent < count {
        let Some(rest) = headers.get_mut(sent..count) else { return };
        // SAFETY: each header points at an answer, an address and an iovec
        // that live until this function returns.
        let n = unsafe { libc::sendmmsg(fd, rest.as_mut_ptr(), rest.len() as u32, 0) };
        match usize::try_from(n) {
            Ok(n) if n > 0 => sent += n,
            _ => return,
        }
    }
}
