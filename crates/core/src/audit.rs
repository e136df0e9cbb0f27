//! The audit log's arithmetic: how an entry is hashed into a leaf, how the
//! leaves chain, the RFC 6962 Merkle tree over them (root, inclusion proof
//! and its check), and the bytes a tree head's signature covers. Pure: the
//! store appends, the engine signs and verifies.

use crate::Timestamp;
use crate::digest::{Hash, sha256, sha256_parts};

/// One change (or one read of AMBER+STRICT or RED data), as logged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// 1, 2, 3, … with no gap.
    pub seq: u64,
    pub at: Timestamp,
    /// An organisation, or `operator` on the command line.
    pub actor: String,
    /// What happened, as `table.verb`: `takedown.move`, …
    pub action: String,
    /// What it happened to: a server id, an organisation, …
    pub subject: String,
    /// The change itself, in the form [`crate::audit`]'s callers agree on
    /// for `action`, so the store's rows can be checked against it.
    pub body: String,
}

impl Entry {
    /// The entry that records `change` (its JSON as the body) done by
    /// `actor` to `subject` at `at`; its `seq` is the log's to give.
    pub fn of<T: serde::Serialize>(action: &str, actor: &str, subject: &str, at: Timestamp, change: &T) -> Entry {
        Entry {
            seq: 0,
            at,
            actor: actor.to_string(),
            action: action.to_string(),
            subject: subject.to_string(),
            // Serialising plain data into a String cannot fail.
            body: serde_json::to_string(change).unwrap_or_default(),
        }
    }
}

/// An entry with the hashes the log keeps beside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Logged {
    pub entry: Entry,
    /// [`leaf_hash`] of the entry.
    pub leaf: Hash,
    /// [`chain`] of the previous entry's chain and this leaf.
    pub chain: Hash,
}

/// A signed statement of the log's size and root at one time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeHead {
    pub size: u64,
    pub root: Hash,
    pub at: Timestamp,
    /// The signer's ed25519 public key.
    pub key: Vec<u8>,
    pub signature: Vec<u8>,
}

/// The chain value before the first entry.
pub const CHAIN_START: Hash = [0; 32];

/// The bytes an entry's leaf hash covers: seq and time as 8-byte
/// big-endian integers, then actor, action, subject and body, each as a
/// 4-byte big-endian length and its UTF-8 bytes. Lengths make the encoding
/// unambiguous whatever the text holds.
pub fn leaf_data(entry: &Entry) -> Vec<u8> {
    let texts = [&entry.actor, &entry.action, &entry.subject, &entry.body];
    let mut out = Vec::with_capacity(16 + texts.iter().map(|t| 4 + t.len()).sum::<usize>());
    out.extend_from_slice(&entry.seq.to_be_bytes());
    out.extend_from_slice(&entry.at.to_be_bytes());
    for text in texts {
        // An entry's texts are bounded far below 4 GiB by whoever logs them.
        let len = u32::try_from(text.len()).unwrap_or(u32::MAX);
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(text.as_bytes());
    }
    out
}

/// RFC 6962 leaf hash: SHA-256(0x00 ‖ data).
pub fn leaf_hash(entry: &Entry) -> Hash {
    sha256_parts(&[&[0], &leaf_data(entry)])
}

/// RFC 6962 interior node: SHA-256(0x01 ‖ left ‖ right).
pub fn node(left: &Hash, right: &Hash) -> Hash {
    sha256_parts(&[&[1], left, right])
}

/// The chain through every leaf so far: SHA-256(previous ‖ leaf).
pub fn chain(previous: &Hash, leaf: &Hash) -> Hash {
    sha256_parts(&[previous, leaf])
}

/// The largest power of two below `n` (n ≥ 2).
fn split(n: usize) -> usize {
    let mut k = 1;
    while k << 1 < n {
        k <<= 1;
    }
    k
}

/// RFC 6962 Merkle tree hash of the leaves (already leaf-hashed).
pub fn root(leaves: &[Hash]) -> Hash {
    match leaves {
        [] => sha256(b""),
        [only] => *only,
        _ => {
            let (left, right) = leaves.split_at(split(leaves.len()));
            node(&root(left), &root(right))
        }
    }
}

/// The right edge of a growing tree: the roots of its perfect subtrees,
/// largest first. Appending is amortised O(1) and the root of the tree so
/// far O(log n), so a verifier gets the root at every signed size in one
/// pass over the leaves.
#[derive(Debug, Clone, Default)]
pub struct Frontier {
    /// (height, root) of each perfect subtree, left to right.
    peaks: Vec<(u32, Hash)>,
    size: u64,
}

impl Frontier {
    pub fn push(&mut self, leaf: Hash) {
        let mut peak = (0, leaf);
        while let Some(&(height, left)) = self.peaks.last() {
            if height != peak.0 {
                break;
            }
            self.peaks.pop();
            peak = (height + 1, node(&left, &peak.1));
        }
        self.peaks.push(peak);
        self.size += 1;
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    /// The Merkle tree hash of the leaves pushed so far: the peaks folded
    /// from the right, as RFC 6962's split at the largest power of two does.
    pub fn root(&self) -> Hash {
        let mut peaks = self.peaks.iter().rev();
        match peaks.next() {
            None => sha256(b""),
            Some(&(_, last)) => peaks.fold(last, |right, (_, left)| node(left, &right)),
        }
    }
}

/// RFC 6962 audit path of leaf `index` in the tree of `leaves`, from the
/// leaf up; `None` when there is no such leaf.
pub fn inclusion_proof(leaves: &[Hash], index: usize) -> Option<Vec<Hash>> {
    if index >= leaves.len() {
        return None;
    }
    let mut path = Vec::new();
    path_into(leaves, index, &mut path);
    Some(path)
}

fn path_into(leaves: &[Hash], index: usize, path: &mut Vec<Hash>) {
    if leaves.len() <= 1 {
        return;
    }
    let k = split(leaves.len());
    let (left, right) = leaves.split_at(k);
    if index < k {
        path_into(left, index, path);
        path.push(root(right));
    } else {
        path_into(right, index - k, path);
        path.push(root(left));
    }
}

/// Whether `proof` shows the leaf at `index` in a tree of `size` leaves
/// with `root` (RFC 9162, 2.1.3.2).
pub fn verify_inclusion(leaf: &Hash, index: u64, size: u64, proof: &[Hash], root: &Hash) -> bool {
    if index >= size {
        return false;
    }
    let (mut f, mut s) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if s == 0 {
            return false;
        }
        if f & 1 == 1 || f == s {
            r = node(p, &r);
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            r = node(&r, p);
        }
        f >>= 1;
        s >>= 1;
    }
    s == 0 && r == *root
}

/// The bytes a tree head's ed25519 signature covers, laid out as RFC 6962's
/// `TreeHeadSignature`: version 0, signature type 1 (tree hash), the time in
/// milliseconds and the size as 8-byte big-endian integers, then the root.
pub fn tree_head_message(size: u64, root: &Hash, at: Timestamp) -> Vec<u8> {
    let mut out = Vec::with_capacity(50);
    out.extend_from_slice(&[0, 1]);
    out.extend_from_slice(&at.saturating_mul(1000).to_be_bytes());
    out.extend_from_slice(&size.to_be_bytes());
    out.extend_from_slice(root);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::digest::hex;

    fn leaves(n: usize) -> Vec<Hash> {
        (0..n).map(|i| sha256_parts(&[&[0], &(i as u64).to_be_bytes()])).collect()
    }

    /// The Merkle tree hash as RFC 6962 defines it, over data rather than
    /// leaf hashes, written independently of `root`.
    fn mth(data: &[Vec<u8>]) -> Hash {
        if data.is_empty() {
            return sha256(b"");
        }
        if data.len() == 1 {
            return sha256_parts(&[&[0], &data[0]]);
        }
        let k = (1usize << (usize::BITS - (data.len() - 1).leading_zeros())) / 2;
        node(&mth(&data[..k]), &mth(&data[k..]))
    }

    #[test]
    fn roots_match_the_definition_for_every_size_up_to_70() {
        for n in 0..70 {
            let data: Vec<Vec<u8>> = (0..n).map(|i| format!("entry {i}").into_bytes()).collect();
            let hashed: Vec<Hash> = data.iter().map(|d| sha256_parts(&[&[0], d])).collect();
            assert_eq!(root(&hashed), mth(&data), "n = {n}");
        }
    }

    /// RFC 6962's reference test data (from Certificate Transparency's
    /// test vectors): the root of its eight leaves.
    #[test]
    fn the_certificate_transparency_test_vector_root() {
        let data: [&[u8]; 8] = [
            b"",
            b"\x00",
            b"\x10",
            b"\x20\x21",
            b"\x30\x31",
            b"\x40\x41\x42\x43",
            b"\x50\x51\x52\x53\x54\x55\x56\x57",
            b"\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f",
        ];
        let hashed: Vec<Hash> = data.iter().map(|d| sha256_parts(&[&[0], d])).collect();
        assert_eq!(hex(&root(&hashed)), "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328");
        assert_eq!(hex(&root(&hashed[..1])), "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d");
    }

    #[test]
    fn the_frontier_gives_the_root_at_every_size() {
        let l = leaves(300);
        let mut f = Frontier::default();
        assert_eq!(f.root(), root(&[]));
        for n in 1..=l.len() {
            f.push(l[n - 1]);
            assert_eq!(f.size(), n as u64);
            assert_eq!(f.root(), root(&l[..n]), "n = {n}");
        }
    }

    #[test]
    fn every_proof_checks_and_no_altered_one_does() {
        for n in 1..40 {
            let l = leaves(n);
            let r = root(&l);
            for i in 0..n {
                let proof = inclusion_proof(&l, i).unwrap();
                assert!(verify_inclusion(&l[i], i as u64, n as u64, &proof, &r), "n {n} i {i}");
                // Another leaf, another tree, an altered step: refused.
                assert!(!verify_inclusion(&l[(i + 1) % n], i as u64, n as u64, &proof, &r) || n == 1);
                // Nor against the root of a larger tree (the size itself is
                // bound by the tree head's signature, not by the path).
                let bigger = leaves(n + 1);
                assert!(!verify_inclusion(&l[i], i as u64, n as u64 + 1, &proof, &root(&bigger)));
                if let Some(first) = proof.first() {
                    let mut bad = proof.clone();
                    bad[0] = node(first, first);
                    assert!(!verify_inclusion(&l[i], i as u64, n as u64, &bad, &r));
                }
            }
            assert_eq!(inclusion_proof(&l, n), None);
            assert!(!verify_inclusion(&l[0], n as u64, n as u64, &[], &r));
        }
    }

    #[test]
    fn a_leaf_covers_every_field_unambiguously() {
        let e = Entry {
            seq: 7,
            at: 1_700_000_000,
            actor: "coord".into(),
            action: "takedown.move".into(),
            subject: "srv-1".into(),
            body: "é\n".into(),
        };
        let base = leaf_hash(&e);
        let moved = Entry { actor: "coordt".into(), action: "akedown.move".into(), ..e.clone() };
        assert_ne!(leaf_hash(&moved), base, "text moved from one field to the next changes the leaf");
        assert_ne!(leaf_hash(&Entry { seq: 8, ..e.clone() }), base);
        assert_ne!(leaf_hash(&Entry { at: 1, ..e.clone() }), base);
        assert_eq!(leaf_data(&e).len(), 16 + 4 * 4 + 5 + 13 + 5 + 3);
        assert_ne!(chain(&CHAIN_START, &base), base);
        let message = tree_head_message(3, &base, 2);
        assert_eq!(&message[..10], &[0, 1, 0, 0, 0, 0, 0, 0, 0x07, 0xd0]);
        assert_eq!(message.len(), 50);
    }
}
