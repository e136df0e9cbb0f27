//! Replays every input the fuzzers kept under `fuzz/regressions/<target>/`
//! through the very function its fuzz target calls (`fuzz/src/lib.rs`,
//! included below), so a crash, hang or broken invariant once found stays
//! fixed. Lives in dragnet-engine because that crate sees every library the
//! targets use (core, ingest, analytics, and the engine itself).

use std::path::Path;

#[path = "../../../fuzz/src/lib.rs"]
#[allow(dead_code)]
mod fuzz;

#[test]
fn fuzz_regressions_stay_fixed() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/regressions");
    let dirs = std::fs::read_dir(&root).unwrap_or_else(|e| panic!("{}: {e}", root.display()));
    let (mut replayed, mut failed) = (0, Vec::new());
    for dir in dirs.map(Result::unwrap).filter(|d| d.path().is_dir()) {
        let name = dir.file_name().to_string_lossy().into_owned();
        // The DNS edge's target lives in `fuzz/src/dns.rs`; `crates/dns/tests` replays it.
        if name == "dns_packet" {
            continue;
        }
        let (_, run) = fuzz::TARGETS
            .iter()
            .find(|(t, _)| *t == name)
            .unwrap_or_else(|| panic!("fuzz/regressions/{name}: no fuzz target of that name"));
        for file in std::fs::read_dir(dir.path()).unwrap().map(|f| f.unwrap().path()) {
            if file.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.')) {
                continue;
            }
            let data = std::fs::read(&file).unwrap();
            replayed += 1;
            if std::panic::catch_unwind(|| run(&data)).is_err() {
                failed.push(format!("{name}/{}", file.file_name().unwrap().to_string_lossy()));
            }
        }
    }
    assert!(replayed > 0, "fuzz/regressions holds no input: the replay tested nothing");
    assert!(
        failed.is_empty(),
        "{} of {replayed} fuzz regressions fail again:\n  {}",
        failed.len(),
        failed.join("\n  ")
    );
    eprintln!("{replayed} fuzz regressions replayed");
}
