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
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/samples/netflow/logstash-codec-netflow");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        eprintln!("skipping: {} is not present", dir.display());
        return;
    };
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
