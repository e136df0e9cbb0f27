//! Input chosen by an adversary: a multi-byte character at every position
//! of a sample of each format never panics any reader (each position once
//! inserted, once replacing what was there), headerless lists with a
//! comment banner are read, and messages quote bounded parts of huge values.
//! The samples are in `tests/fixtures/feeds/`, written for these tests.

use std::path::Path;

use dragnet_ingest::{Format, Mapping, detect, parse, suricata, zeek};

fn fixture(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/feeds").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `sample` with `c` inserted at, and put in place of, each character.
fn mutations(sample: &str, c: char) -> impl Iterator<Item = String> + '_ {
    sample.char_indices().map(|(at, _)| at).chain([sample.len()]).flat_map(move |at| {
        let (head, tail) = sample.split_at(at);
        let mut rest = tail.chars();
        rest.next();
        [format!("{head}{c}{tail}"), format!("{head}{c}{}", rest.as_str())]
    })
}

#[test]
fn a_multi_byte_character_anywhere_never_panics_a_parser() {
    let feeds = [
        "sweep-stix.json",
        "sweep-misp.json",
        "sweep-feodo.csv",
        "sweep-threatfox.json",
        "sweep-drop.txt",
        "sweep-dshield.txt",
        "sweep-plain.txt",
        "sweep-csv.csv",
        "c2-masterlist.txt",
    ];
    let positional: Mapping = "value=1,first_seen=3".parse().unwrap();
    let mut inputs = 0;
    for name in feeds {
        let sample = fixture(name);
        for c in ['é', '€', '😀'] {
            for input in mutations(&sample, c) {
                let bytes = input.as_bytes();
                let _ = detect(bytes);
                for format in Format::ALL {
                    let _ = parse(format, bytes, &Mapping::default());
                }
                let _ = parse(Format::Csv, bytes, &positional);
                inputs += 1;
            }
        }
    }
    assert!(inputs > 3000, "{inputs} inputs");
}

#[test]
fn a_multi_byte_character_anywhere_never_panics_a_telemetry_reader() {
    for name in ["sweep-conn.log", "sweep-eve.json"] {
        let sample = fixture(name);
        for c in ['é', '€', '😀'] {
            for input in mutations(&sample, c) {
                let bytes = input.as_bytes();
                let _ = dragnet_ingest::is_telemetry(bytes);
                let _ = zeek::read_conn(bytes);
                let _ = zeek::read_names(bytes);
                let _ = zeek::read_dns(bytes);
                let _ = zeek::read_links(bytes);
                let _ = suricata::read_eve(bytes);
            }
        }
    }
}

#[test]
fn the_first_data_row_with_a_multi_byte_character_at_offset_one_is_detected() {
    // This once sliced `"1é…"[..2]` while looking for ASN-DROP rows.
    for input in ["1é.example\n", "aé\n", "Aé;x\n"] {
        assert_eq!(detect(input.as_bytes()), Format::Plain, "{input}");
    }
}

#[test]
fn a_headerless_list_behind_a_comment_banner_is_read_as_csv() {
    let list = fixture("c2-masterlist.txt");
    assert_eq!(detect(list.as_bytes()), Format::Csv);
    let p = parse(Format::Csv, list.as_bytes(), &Mapping::default()).unwrap();
    let values: Vec<&str> = p.records.iter().map(|r| r.observable.value()).collect();
    assert_eq!(values, ["192.0.2.10", "198.51.100.23", "c2.evil.example", "203.0.113.99"]);
    assert_eq!(p.records.iter().map(|r| r.line).collect::<Vec<_>>(), [11, 12, 13, 15]);
    assert_eq!(p.records[0].first_seen, dragnet_core::parse_timestamp("2024-05-01 10:00"), "the date column");
    assert_eq!((p.rejects.len(), p.rejects[0].line), (1, 14));
    // Every line is a record: the first row is not taken for a header.
    let positional: Mapping = "value=1".parse().unwrap();
    let p = parse(Format::Csv, list.as_bytes(), &positional).unwrap();
    assert_eq!((p.records.len(), p.rejects.len()), (4, 1));
    assert!(p.records.iter().all(|r| r.first_seen.is_none()), "only the columns asked for");
    let with_date: Mapping = "value=1,last_seen=3".parse().unwrap();
    let p = parse(Format::Csv, list.as_bytes(), &with_date).unwrap();
    assert_eq!(p.records[1].last_seen, dragnet_core::parse_timestamp("2024-05-01 09:30"));
    // A position for the value and a name for another column contradict.
    let mixed: Mapping = "value=1,first_seen=date".parse().unwrap();
    assert!(parse(Format::Csv, list.as_bytes(), &mixed).unwrap_err().message.contains("no header row"));
}

#[test]
fn hosts_files_and_plain_lists_stay_plain() {
    for input in ["0.0.0.0\tads.example\n0.0.0.0\ttrack.example\n", "192.0.2.1\nevil.example\n", "address,note\nx,y\n"]
    {
        assert_eq!(detect(input.as_bytes()), Format::Plain, "{input:?}");
    }
}

#[test]
fn a_huge_value_is_quoted_in_part() {
    let huge = format!("{}.example", "a".repeat(10_000_000));
    let input = format!("{huge}\n");
    let p = parse(Format::Plain, input.as_bytes(), &Mapping::default()).unwrap();
    let r = &p.rejects[0];
    assert!(r.reason.len() < 1_000, "{} bytes of reason", r.reason.len());
    assert!(r.reason.contains(&format!("({} bytes)", huge.len())), "{}", r.reason);
    assert!(r.raw.len() < 70 * 1024, "{} bytes of raw text kept", r.raw.len());
}

#[test]
fn decompression_is_capped_and_sniffing_reads_a_prefix() {
    use std::io::Write;
    let plain = fixture("sweep-conn.log").repeat(2_000);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(plain.as_bytes()).unwrap();
    let gz = gz.finish().unwrap();
    assert_eq!(zeek::decompress(&gz).unwrap().as_ref(), plain.as_bytes());
    let tight = zeek::Limits { max_output: 100_000, max_ratio: 200, ratio_floor: 0 };
    let err = zeek::decompress_within(&gz, &tight).unwrap_err();
    assert!(err.message.contains("expands beyond"), "{err}");
    let head = zeek::decompress_prefix(&gz, 1000).unwrap();
    assert_eq!(head.as_ref(), &plain.as_bytes()[..1000]);
    assert!(dragnet_ingest::is_telemetry(&gz));
    // A bomb: a gigabyte of zeros in about a megabyte, refused by ratio
    // before it is all expanded.
    let mut bomb = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..1024 {
        bomb.write_all(&zeros).unwrap();
    }
    let bomb = bomb.finish().unwrap();
    let err = zeek::decompress(&bomb).unwrap_err();
    assert!(err.message.contains("decompression bomb"), "{err}");
    assert!(!dragnet_ingest::is_telemetry(&bomb));
}
