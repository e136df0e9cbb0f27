//! `dragnet demo`: the bundled demo feeds (made for Dragnet, documentation
//! addresses and `.example` names only) ingested as nine partner sources,
//! then a few lookups that show corroboration, CIDR cover and parent domains.

use std::process::ExitCode;

use dragnet_core::policy::BatchLabels;
use dragnet_core::store::Source;
use dragnet_core::{Store, Tlp};
use dragnet_ingest::Mapping;
use serde::Serialize;

use crate::ingest::{Job, Report};
use crate::lookup::{look_up, print_answer};
use crate::output::print_json;

/// (file name, source, grade, TLP, contents).
const FEEDS: &[(&str, &str, &str, Tlp, &[u8])] = &[
    (
        "feodo-ipblocklist.json",
        "abusech-feodo",
        "B2",
        Tlp::Clear,
        include_bytes!("../../../demo/feodo-ipblocklist.json"),
    ),
    ("urlhaus-recent.csv", "abusech-urlhaus", "B2", Tlp::Clear, include_bytes!("../../../demo/urlhaus-recent.csv")),
    (
        "threatfox-recent.csv",
        "abusech-threatfox",
        "B3",
        Tlp::Clear,
        include_bytes!("../../../demo/threatfox-recent.csv"),
    ),
    ("partner-a-stix.json", "partner-a", "A2", Tlp::Amber, include_bytes!("../../../demo/partner-a-stix.json")),
    ("partner-b-misp.json", "partner-b", "B2", Tlp::Green, include_bytes!("../../../demo/partner-b-misp.json")),
    (
        "partner-c-indicators.csv",
        "partner-c",
        "C3",
        Tlp::Amber,
        include_bytes!("../../../demo/partner-c-indicators.csv"),
    ),
    ("spamhaus-drop.txt", "spamhaus-drop", "A1", Tlp::Clear, include_bytes!("../../../demo/spamhaus-drop.txt")),
    ("dshield-block.txt", "dshield", "C3", Tlp::Clear, include_bytes!("../../../demo/dshield-block.txt")),
    ("blocklist.txt", "partner-d", "D4", Tlp::Green, include_bytes!("../../../demo/blocklist.txt")),
];

/// The demo feeds describe late May 2024; scores are shown as of then.
const DEMO_NOW: i64 = 1_716_465_600; // 2024-05-23T12:00:00Z

/// Values the demo looks up, each showing one thing the store can answer.
const LOOKUPS: &[&str] = &[
    "198.51.100.23",
    "198.51.100.200",
    "www.bank-verify.example",
    "hxxp://files.cdn-update[.]example/dl/invoice.exe",
    "2001:DB8:4F:0::81",
    "4F1C3D5B8F0E6A2B9C7D1E3F5A7B9C0D1E2F3A4B5C6D7E8F9A0B1C2D3E4F5A6B",
    "192.0.2.200",
    "8.8.8.8",
];

#[derive(Serialize)]
struct DemoReport {
    store: String,
    ingests: Vec<Report>,
    lookups: Vec<dragnet_core::policy::Answer>,
}

pub fn run(store: &mut dyn Store, location: &str, json: bool) -> anyhow::Result<ExitCode> {
    let mapping = Mapping::default();
    let mut ingests = Vec::new();
    if !json {
        println!("Ingesting the bundled demo feeds into {location}\n");
    }
    for (file, source, grade, tlp, bytes) in FEEDS {
        let wanted = Source { name: source.to_string(), grade: grade.parse()?, tlp: *tlp };
        let source = crate::ingest::stored_or(store, &wanted)?;
        let job = Job { source, labels: BatchLabels::default(), format: None, mapping: &mapping, keep_rejects: false };
        let file_report = job.ingest_bytes(store, &format!("demo/{file}"), bytes, None);
        if let Some(e) = &file_report.error {
            anyhow::bail!("demo feed {file} failed: {e}");
        }
        if !json {
            println!(
                "  {:<26} {:<10} → {:<18} {:>2} accepted, {:>2} new, {} rejected, {} skipped",
                file,
                file_report.format.as_deref().unwrap_or("?"),
                wanted.name,
                file_report.accepted,
                file_report.new,
                file_report.rejected,
                file_report.skipped
            );
        }
        let mut report = Report { source: wanted.name.clone(), ..Default::default() };
        report.add(file_report);
        ingests.push(report);
    }
    let ctx = crate::lookup::Context {
        lists: crate::warninglists::in_force(store)?,
        geo: dragnet_analytics::geo::GeoIndex::default(),
    };
    let mut lookups = Vec::new();
    if !json {
        println!("\nLooking values up:\n");
    }
    for value in LOOKUPS {
        let answer = look_up(store, &ctx, value, Some(DEMO_NOW))?.map_err(anyhow::Error::msg)?;
        if !json {
            print_answer(&answer);
        }
        lookups.push(answer);
    }
    if json {
        print_json(&DemoReport { store: location.to_string(), ingests, lookups })?;
    } else {
        println!("\nNext: `dragnet stats`, `dragnet sources`, `dragnet rejects`, `dragnet lookup VALUE`.");
    }
    Ok(ExitCode::SUCCESS)
}
