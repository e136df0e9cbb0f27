//! Replays the inputs the DNS packet fuzzer kept under
//! `fuzz/regressions/dns_packet/` through the function its target calls,
//! and a handful of hostile packets, so what was once found stays fixed.

use std::path::Path;

#[path = "../../../fuzz/src/dns.rs"]
mod dns;

#[test]
fn dns_fuzz_regressions_stay_fixed() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/regressions/dns_packet");
    let mut inputs: Vec<Vec<u8>> = vec![
        vec![],
        vec![0; 12],
        vec![0xff; 12],
        vec![0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0, 0, 1, 0, 1, 0xc0, 12],
        // A question of 127 one-byte labels: longer than a name may be.
        [&[0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0][..], &[1, b'a'].repeat(127), &[0, 0, 1, 0, 1]].concat(),
        // An OPT record whose length runs past the end.
        [&[0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0, 0, 1, 0, 1][..], &[0, 0, 41, 16, 0, 0, 0, 0, 0, 0xff, 0xff]]
            .concat(),
    ];
    if let Ok(files) = std::fs::read_dir(&dir) {
        for f in files.map(Result::unwrap) {
            if !f.file_name().to_string_lossy().starts_with('.') {
                inputs.push(std::fs::read(f.path()).unwrap());
            }
        }
    }
    for input in &inputs {
        dns::packet(input);
    }
}
