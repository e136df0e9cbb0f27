//! Every NetFlow/IPFIX packet of logstash-codec-netflow's fixtures decodes
//! without a panic; the invalid ones are errors; netflow5.dat holds the two
//! records its tests state.

use std::net::IpAddr;
use std::path::Path;

use dragnet_ingest::netflow::Decoder;

/// The exporter a fixture comes from: its name without the `_tpl…`/`_data…` part.
fn exporter(name: &str) -> String {
    let cut = ["_tpl", "_data", "_opttpl", "_tplopt"].iter().filter_map(|m| name.find(m)).min();
    name[..cut.unwrap_or(name.len())].to_string()
}

#[test]
fn every_fixture_decodes_or_fails_cleanly() {
    let Some(dir) = dragnet_testkit::samples("netflow/logstash-codec-netflow") else { return };
    let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let mut names: Vec<String> = entries.filter_map(|e| e.ok()?.file_name().into_string().ok()).collect();
    // Templates first, as an exporter sends them before the data.
    names.sort_by_key(|n| (!n.contains("tpl"), n.clone()));
    let mut decoder = Decoder::new();
    let (mut flows, mut errors) = (0, Vec::new());
    for name in &names {
        let packet = std::fs::read(dir.join(name)).unwrap();
        match decoder.decode(&exporter(name), &packet) {
            Ok(d) => {
                flows += d.flows.len();
                assert!(!name.contains("invalid"), "{name} must be refused");
            }
            Err(e) => errors.push(format!("{name}: {e}")),
        }
    }
    println!("{} files, {flows} flows, errors: {errors:#?}", names.len());
    assert!(errors.iter().all(|e| e.contains("invalid")), "only the invalid fixtures fail: {errors:#?}");
    assert_eq!(errors.len(), names.iter().filter(|n| n.contains("invalid")).count());
    assert!(flows > 100, "{flows}");

    let v5 = Decoder::new().decode("v5", &std::fs::read(dir.join("netflow5.dat")).unwrap()).unwrap();
    assert_eq!(v5.flows.len(), 2);
    let f = &v5.flows[0];
    assert_eq!(
        (f.src, f.src_port, f.dst, f.dst_port),
        ("10.0.2.2".parse::<IpAddr>().unwrap(), 54435, "10.0.2.15".parse().unwrap(), 22)
    );
    assert_eq!((f.protocol, f.packets, f.bytes), (6, 5, 230));
}

/// The fixtures as export packets in captures written by scapy (pcap with
/// 802.1Q-tagged Ethernet, nanosecond pcap with Linux cooked headers,
/// pcapng): each capture gives the datagrams, exporters and times scapy was
/// told, and decoding them gives exactly the flows the raw files give.
#[test]
fn captures_written_by_scapy_give_the_same_flows() {
    let Some(dir) = dragnet_testkit::samples("netflow/logstash-codec-netflow") else { return };
    let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let python = std::env::var("DRAGNET_PYTHON").unwrap_or_else(|_| "python3".into());
    let has_scapy =
        std::process::Command::new(&python).args(["-c", "import scapy"]).status().is_ok_and(|s| s.success());
    if !has_scapy {
        if std::env::var_os("DRAGNET_SKIP_ORACLES").is_some() {
            eprintln!("skipping: scapy is not installed (DRAGNET_SKIP_ORACLES set)");
            return;
        }
        panic!(
            "scapy is not installed for {python}: `pip install scapy` (scripts/test does), or set DRAGNET_SKIP_ORACLES=1"
        );
    }
    let mut names: Vec<String> = entries.filter_map(|e| e.ok()?.file_name().into_string().ok()).collect();
    names.retain(|n| !n.contains("invalid"));
    names.sort_by_key(|n| (!n.contains("tpl"), n.clone()));
    let out = tempfile::tempdir().unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/pcap_oracle.py");
    let run = std::process::Command::new(&python)
        .arg(&script)
        .arg(out.path())
        .args(names.iter().map(|n| dir.join(n)))
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let told: Vec<serde_json::Value> =
        String::from_utf8_lossy(&run.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(told.len(), names.len());

    // The flows each raw file gives, decoded per exporter group.
    let mut direct = Decoder::new();
    let expected: Vec<usize> = names
        .iter()
        .map(|n| direct.decode(&exporter(n), &std::fs::read(dir.join(n)).unwrap()).map_or(0, |d| d.flows.len()))
        .collect();
    assert!(expected.iter().sum::<usize>() > 100);

    for capture in ["exports.pcap", "exports-ns.pcap", "exports.pcapng"] {
        let bytes = std::fs::read(out.path().join(capture)).unwrap();
        assert!(dragnet_ingest::pcap::is_capture(&bytes), "{capture}");
        let c = dragnet_ingest::pcap::read(&bytes).unwrap_or_else(|e| panic!("{capture}: {e}"));
        assert_eq!((c.datagrams.len(), c.other_packets), (names.len(), 0), "{capture}");
        // Read a record at a time, as `telemetry` reads captures: the same datagrams.
        let mut streamed = Vec::new();
        let other = dragnet_ingest::pcap::read_stream(&bytes[..], &mut |d| streamed.push((d.ts, d.payload.to_vec())))
            .unwrap_or_else(|e| panic!("{capture}: {e}"));
        assert_eq!(other, 0);
        let whole: Vec<(f64, Vec<u8>)> = c.datagrams.iter().map(|d| (d.ts, d.payload.to_vec())).collect();
        assert_eq!(streamed, whole, "{capture}");
        let mut decoder = Decoder::new();
        for ((d, want), (flows, name)) in c.datagrams.iter().zip(&told).zip(expected.iter().zip(&names)) {
            assert_eq!(d.src.to_string(), want["exporter"].as_str().unwrap(), "{capture} {name}");
            assert!((d.ts - want["ts"].as_f64().unwrap()).abs() < 1e-6, "{capture} {name}: {}", d.ts);
            assert_eq!(d.dst_port, 2055);
            let got = decoder.decode(&d.src.to_string(), d.payload).map_or(0, |p| p.flows.len());
            assert_eq!(got, *flows, "{capture} {name}");
        }
    }
}
