//! The STIX parser against the shared sample set: everything parses, and the
//! samples holding indicators or observables give the counts worked out by
//! hand (and independently, with a Python script) from their content.

use std::path::{Path, PathBuf};

use dragnet_core::{Kind, Parsed, Tlp};
use dragnet_ingest::formats::stix;

fn samples() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/samples");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("skipping: {} is missing", dir.display());
        None
    }
}

fn parse(dir: &Path, name: &str) -> Parsed {
    let path = dir.join(name);
    let input = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    stix::parse(&input).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn every_sample_parses() {
    let Some(dir) = samples() else { return };
    let mut n = 0;
    for sub in ["stix", "tlp"] {
        let mut names: Vec<_> = std::fs::read_dir(dir.join(sub)).unwrap().flatten().map(|e| e.path()).collect();
        names.sort();
        for path in names.into_iter().filter(|p| p.extension().is_some_and(|e| e == "json")) {
            let input = std::fs::read(&path).unwrap();
            let p = stix::parse(&input).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            eprintln!(
                "{}: records={} rejects={} skipped={}",
                path.file_name().unwrap().to_string_lossy(),
                p.records.len(),
                p.rejects.len(),
                p.skipped
            );
            for r in &p.rejects {
                eprintln!("    reject line {} {:?}: {}", r.line, r.field, r.reason);
            }
            n += 1;
        }
    }
    assert!(n >= 20, "only {n} samples found");
}

/// (file, records, rejects)
const COUNTS: &[(&str, usize, usize)] = &[
    ("stix/ctidoc-indicator-for-malicious-url.json", 1, 0),
    ("stix/ctidoc-malware-indicator-for-file-hash.json", 1, 0),
    ("stix/ctidoc-sighting-of-an-indicator.json", 1, 0),
    ("stix/ctidoc-sighting-of-observed-data.json", 2, 0),
    ("stix/ctidoc-using-granular-markings.json", 0, 1),
    ("stix/ctidoc-using-marking-definitions.json", 1, 0),
    ("stix/misp-export-stix20-indicators.json", 28, 19),
    ("stix/schemas-ex-indicator-for-c2-ip-address.json", 1, 0),
    ("stix/schemas-ex-indicator-to-campaign-relationship.json", 1, 0),
    ("stix/schemas-ex-indicators-for-C2-with-COA.json", 2, 0),
    ("stix/schemas-ex-infrastructure.json", 2, 0),
    ("stix/schemas-ex-malicious-email-indicator-with-attachment.json", 0, 2),
    ("stix/schemas-ex-poisonivy.json", 64, 3),
    ("tlp/stixcommon-using-tlp2-green-INVALID.json", 0, 1),
];

#[test]
fn sample_counts() {
    let Some(dir) = samples() else { return };
    let mut wrong = Vec::new();
    for &(name, records, rejects) in COUNTS {
        let p = parse(&dir, name);
        if (p.records.len(), p.rejects.len()) != (records, rejects) {
            wrong.push(format!(
                "{name}: got {} records / {} rejects, expected {records} / {rejects}",
                p.records.len(),
                p.rejects.len()
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

fn values(p: &Parsed) -> Vec<(Kind, &str)> {
    p.records.iter().map(|r| (r.observable.kind(), r.observable.value())).collect()
}

#[test]
fn sample_contents() {
    let Some(dir) = samples() else { return };
    let p = parse(&dir, "stix/schemas-ex-indicator-for-c2-ip-address.json");
    assert_eq!(values(&p), vec![(Kind::Ipv4, "10.0.0.0")]);

    let p = parse(&dir, "stix/ctidoc-indicator-for-malicious-url.json");
    assert_eq!(values(&p), vec![(Kind::Url, "http://x4z9arb.cn/4712/")]);
    assert_eq!(p.records[0].tags, vec!["malicious-activity", "Malicious site hosting downloader"]);

    let p = parse(&dir, "stix/ctidoc-malware-indicator-for-file-hash.json");
    assert_eq!(values(&p), vec![(Kind::Sha256, "ef537f25c895bfa782526529a9b63d97aa631564d5d789c2b765448c8635fb6c")]);

    // TLP 1.0 AMBER by its fixed id, next to a statement marking.
    let p = parse(&dir, "stix/ctidoc-using-marking-definitions.json");
    assert_eq!(p.records[0].tlp, Some(Tlp::Amber));

    let p = parse(&dir, "stix/ctidoc-sighting-of-observed-data.json");
    assert_eq!(values(&p).iter().map(|v| v.0).collect::<Vec<_>>(), vec![Kind::Md5, Kind::Sha1]);
    assert!(p.records.iter().all(|r| r.tags == ["sco"]));

    let p = parse(&dir, "stix/schemas-ex-infrastructure.json");
    assert_eq!(values(&p).iter().map(|v| v.0).collect::<Vec<_>>(), vec![Kind::Ipv4, Kind::Domain]);

    let p = parse(&dir, "stix/misp-export-stix20-indicators.json");
    let kinds = |k: Kind| p.records.iter().filter(|r| r.observable.kind() == k).count();
    assert_eq!(kinds(Kind::Asn), 2);
    assert!(values(&p).contains(&(Kind::Ipv4, "12.34.56.78")), "network-traffic:dst_ref.value");

    let p = parse(&dir, "stix/schemas-ex-poisonivy.json");
    assert!(p.rejects.iter().any(|r| r.reason.contains("domain autuo.xicp.net")));

    for name in ["tlp/stixcommon-tlp2-clear.json", "tlp/stixcommon-tlp2-amber+strict.json"] {
        let p = parse(&dir, name);
        assert!(p.rejects.is_empty(), "{name}: {:?}", p.rejects);
        assert_eq!(p.skipped, 1);
    }
    let p = parse(&dir, "tlp/stixcommon-using-tlp2-green-INVALID.json");
    assert_eq!(p.rejects.len(), 1);
}
