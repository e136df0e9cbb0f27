//! Conformance of the MISP parser over the shared real-world samples and a
//! small MISP feed fixture. Expected counts were worked out independently
//! (Python over the JSON, counting attributes of tracked types by hand).

use std::path::{Path, PathBuf};

use dragnet_core::{Category, Kind, Parsed, Tlp, broken_promise, parse_timestamp};
use dragnet_ingest::formats::misp;

fn samples() -> Option<PathBuf> {
    dragnet_testkit::samples("misp")
}

fn parse_sample(dir: &Path, name: &str) -> Parsed {
    let bytes = std::fs::read(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    misp::parse(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn counts(p: &Parsed) -> (usize, usize, u64) {
    (p.records.len(), p.rejects.len(), p.skipped)
}

#[test]
fn every_event_sample_gives_the_expected_counts() {
    let Some(dir) = samples() else { return };
    // (file, records, rejects, skipped)
    let expected: &[(&str, usize, usize, u64)] = &[
        ("intelmq-misp_attribute.json", 1, 0, 0),
        ("intelmq-misp_event.json", 1, 0, 1),
        ("misp-tests-event.json", 27, 0, 11),
        ("pymisp-attribute_del.json", 0, 0, 1),
        ("pymisp-circl-osint-feed-event-57c4445b.json", 3, 0, 6),
        ("pymisp-event_obj_attr_tag.json", 1, 0, 1),
        ("pymisp-existing_event.json", 68, 0, 54),
        ("pymisp-malware_exist.json", 4, 0, 2),
        ("pymisp-misp_custom_obj.json", 0, 0, 2),
        ("pymisp-misp_event.json", 1, 0, 1),
        ("pymisp-proposals.json", 0, 0, 1),
        ("pymisp-shadow.json", 0, 0, 3),
    ];
    for (name, records, rejects, skipped) in expected {
        let p = parse_sample(&dir, name);
        assert_eq!(counts(&p), (*records, *rejects, *skipped), "{name}: rejects {:?}", p.rejects);
    }
    // Every JSON sample is either listed above or one of the non-event files.
    let not_events = [
        "misp-feed-metadata-defaults.json",
        "misp-feed-metadata-schema.json",
        "misp-format-2.4-schema-lax.json",
        "misp-format-2.4-schema.json",
        "pymisp-describeTypes.json",
        "pymisp-galaxy.json",
        "pymisp-sharing_groups.json",
    ];
    for entry in std::fs::read_dir(&dir).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        if name.ends_with(".json") {
            assert!(
                expected.iter().any(|e| e.0 == name) || not_events.contains(&name.as_str()),
                "sample {name} is not covered by this test"
            );
        }
    }
}

#[test]
fn files_that_are_not_events_are_file_errors() {
    let Some(dir) = samples() else { return };
    for name in [
        "misp-feed-metadata-defaults.json",
        "misp-feed-metadata-schema.json",
        "misp-format-2.4-schema-lax.json",
        "misp-format-2.4-schema.json",
        "pymisp-describeTypes.json",
        "pymisp-galaxy.json",
        "pymisp-sharing_groups.json",
        "misp-tests-event.csv",
    ] {
        let bytes = std::fs::read(dir.join(name)).unwrap();
        let err = misp::parse(&bytes).expect_err(name);
        assert!(!err.message.is_empty(), "{name}");
        eprintln!("{name}: {err}");
    }
}

#[test]
fn circl_feed_event_values_and_labels() {
    let Some(dir) = samples() else { return };
    let p = parse_sample(&dir, "pymisp-circl-osint-feed-event-57c4445b.json");
    let got: Vec<(Kind, &str)> = p.records.iter().map(|r| (r.observable.kind(), r.observable.value())).collect();
    assert_eq!(
        got,
        vec![
            (Kind::Md5, "0749bae92ca336a02c83d126e04ec628"),
            (Kind::Sha1, "77b0c41b7d340b8a3d903f21347bbf06aa766b5b"),
            (Kind::Sha256, "b3c4ae251f8094fa15b510051835c657eaef2a6cea46075d3aec964b14a99f68"),
        ]
    );
    let md5 = &p.records[0];
    assert_eq!(md5.tlp, Some(Tlp::Clear), "event tag tlp:white");
    // Tags: circl "malware" (generic) and malware_classification "Ransomware" (specific).
    assert_eq!(md5.category, Some(Category::Ransomware));
    assert_eq!(md5.first_seen, Some(1_472_480_395));
    assert_eq!(md5.last_seen, Some(1_472_480_395));
    assert_eq!(md5.line, 1, "single-line file");
    assert_eq!(md5.tags[0], "Ransomware - Xorist");
    assert!(md5.tags.contains(&"ms-caro-malware:malware-type=\"Ransom\"".to_string()));
    assert!(!md5.tags.iter().any(|t| t.starts_with("tlp:")));
    assert!(!md5.tags.contains(&"to_ids:false".to_string()));
    assert!(md5.raw.contains("57c4448b-454c-4d17-90d1-4d2f950d210f"));
}

#[test]
fn existing_event_values_lines_and_galaxies() {
    let Some(dir) = samples() else { return };
    let p = parse_sample(&dir, "pymisp-existing_event.json");
    let count = |k: Kind| p.records.iter().filter(|r| r.observable.kind() == k).count();
    assert_eq!((count(Kind::Domain), count(Kind::Sha1), count(Kind::Ipv4)), (19, 37, 12));
    let first = &p.records[0];
    assert_eq!(first.observable.value(), "movieultimate.com");
    assert_eq!(first.line, 84);
    assert_eq!(first.tlp, Some(Tlp::Clear));
    assert_eq!(first.first_seen, Some(1_513_893_957));
    assert!(first.tags.contains(&"Sofacy".to_string()), "galaxy cluster value");
    assert!(first.tags.contains(&"misp-galaxy:threat-actor=\"Sofacy\"".to_string()));
    let ip = p.records.iter().find(|r| r.observable.kind() == Kind::Ipv4).unwrap();
    assert_eq!(ip.observable.value(), "87.236.211.182");
    assert_eq!(ip.line, 3326);
    assert_eq!(ip.first_seen, Some(1_513_940_362));
    // The event's "blog-post" attributes are skipped; osint:certainty is on those only.
    assert_eq!(first.confidence, None);
}

#[test]
fn regin_test_event_md5s() {
    let Some(dir) = samples() else { return };
    let p = parse_sample(&dir, "misp-tests-event.json");
    assert!(p.records.iter().all(|r| r.observable.kind() == Kind::Md5));
    let first = &p.records[0];
    assert_eq!(first.observable.value(), "26297dc3cd0b688de3b846983c5385e5");
    assert_eq!(first.line, 299);
    assert_eq!(first.first_seen, Some(1_418_217_432));
    assert_eq!(first.category, None, "category Payload installation maps to nothing");
    assert_eq!(first.tags, vec!["OSINT - F-Secure W32/Regin, Stage #1".to_string(), "Type:OSINT".to_string()]);
    assert_eq!(p.records.last().unwrap().observable.value(), "049436bb90f71cf38549817d9b90e2da");
}

#[test]
fn rest_response_and_bare_shapes() {
    let Some(dir) = samples() else { return };
    // REST search response whose events are not wrapped in {"Event": ...}.
    let p = parse_sample(&dir, "pymisp-malware_exist.json");
    let got: Vec<(Kind, &str)> = p.records.iter().map(|r| (r.observable.kind(), r.observable.value())).collect();
    assert_eq!(
        got,
        vec![
            (Kind::Md5, "7637beddacbeac59d44469b2b120b9e6"),
            (Kind::Md5, "7637beddacbeac59d44469b2b120b9e6"),
            (Kind::Sha1, "023853a4331db8d67e44553004cf338ec1b7440e"),
            (Kind::Sha256, "6ae8b0f1c7d6f3238d1fc14038018c3b4704c8cc23dac1c2bfd2c81b5a278eef"),
        ]
    );
    assert_eq!(p.records[0].line, 56);
    assert_eq!(p.records[0].category, Some(Category::MalwareDistribution), "Payload delivery hash");

    let bare = parse_sample(&dir, "intelmq-misp_event.json");
    let url = &bare.records[0];
    assert_eq!(url.observable.value(), "http://fake.example.com/malware/is/here");
    assert_eq!(url.category, Some(Category::Ransomware), "ecsirt:malicious-code=\"ransomware\"");
    assert!(url.tags.contains(&"to_ids:false".to_string()));
    assert!(url.tags.contains(&"for_intelmq_processing".to_string()));
    assert_eq!(url.line, 16);
    assert_eq!(url.first_seen, Some(1_465_681_304));

    let attr = parse_sample(&dir, "intelmq-misp_attribute.json");
    assert_eq!(attr.records[0].observable.value(), "http://fake.example.com/malware/is/here");
    assert_eq!(attr.records[0].category, Some(Category::MalwareDistribution));

    let objects = parse_sample(&dir, "pymisp-event_obj_attr_tag.json");
    assert_eq!(objects.records[0].observable.value(), "https://www.circl.lu/");
    assert_eq!(objects.records[0].line, 0, "no uuid in the attribute");
}

fn feed_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/misp/feed")
}

#[test]
fn feed_fixture_manifest_lists_its_event_and_the_event_parses() {
    let dir = feed_dir();
    let files = misp::feed_event_files(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(files, vec!["6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b.json".to_string()]);
    let p = misp::parse(&std::fs::read(dir.join(&files[0])).unwrap()).unwrap();
    assert_eq!(counts(&p), (4, 1, 1));
    let got: Vec<(Kind, &str, Option<Tlp>, u32)> =
        p.records.iter().map(|r| (r.observable.kind(), r.observable.value(), r.tlp, r.line)).collect();
    assert_eq!(
        got,
        vec![
            (Kind::Url, "https://login-example.invalid.example.com/owa/", Some(Tlp::Green), 17),
            (Kind::Domain, "login-example.invalid.example.com", Some(Tlp::Amber), 25),
            (Kind::Ipv4, "192.0.2.45", Some(Tlp::Amber), 25),
            (Kind::Email, "it-support@example.org", Some(Tlp::Green), 60),
        ]
    );
    assert!(p.records.iter().all(|r| r.category == Some(Category::Phishing)));
    assert_eq!(p.records[3].tags.last().map(String::as_str), Some("to_ids:false"));
    assert_eq!(p.records[0].first_seen, parse_timestamp("1714557600"));
    let reject = &p.rejects[0];
    assert_eq!((reject.line, reject.field.as_deref()), (42, Some("value")));
    assert_eq!(reject.reason, "`192.0.2.300` is not a valid ipv4");
}

#[test]
fn feed_fixture_event_file_is_not_a_manifest() {
    let dir = feed_dir();
    let event = std::fs::read(dir.join("6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b.json")).unwrap();
    let err = misp::feed_event_files(&event).unwrap_err();
    assert!(err.message.contains("`Event`"), "{}", err.message);
    let manifest = std::fs::read(dir.join("manifest.json")).unwrap();
    let err = misp::parse(&manifest).unwrap_err();
    assert!(err.message.contains("manifest"), "{}", err.message);
}

#[test]
fn truncated_and_mangled_samples_never_panic() {
    let Some(dir) = samples() else { return };
    for entry in std::fs::read_dir(&dir).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        let step = (bytes.len() / 200).max(1);
        for cut in (0..bytes.len()).step_by(step) {
            let head = &bytes[..cut];
            assert_eq!(broken_promise(head, &misp::parse(head)), None, "cut at {cut}");
            if let Err(e) = misp::feed_event_files(head) {
                assert!(!e.message.is_empty());
            }
            let mut mangled = bytes.clone();
            let noise = b"\"{}[],:|\\0\xff";
            mangled[cut] = noise[cut % noise.len()];
            assert_eq!(broken_promise(&mangled, &misp::parse(&mangled)), None, "mangled at {cut}");
        }
    }
}
