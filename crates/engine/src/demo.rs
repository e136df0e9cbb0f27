//! The demo: the bundled demo feeds (made for Dragnet, documentation
//! addresses and `.example` names only) ingested as nine partner sources,
//! then a few lookups that show corroboration, CIDR cover and parent domains.

use dragnet_analytics::geo::GeoIndex;
use dragnet_core::policy::{Answer, BatchLabels};
use dragnet_core::store::Source;
use dragnet_core::{Store, Tlp};
use dragnet_ingest::Mapping;
use serde::Serialize;

use crate::access::Scope;
use crate::ingest::{FileReport, Report, submit};
use crate::lookup::{Context, look_up};
use crate::{Error, Result};

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
pub struct DemoReport {
    pub store: String,
    pub ingests: Vec<Report>,
    pub lookups: Vec<Answer>,
}

/// Ingests the demo feeds as their nine sources (telling `on_feed` each
/// feed's outcome and source), then looks the demo values up.
pub fn run(store: &mut dyn Store, location: &str, on_feed: &mut dyn FnMut(&str, &FileReport)) -> Result<DemoReport> {
    let mapping = Mapping::default();
    let mut ingests = Vec::new();
    for (file, source, grade, tlp, bytes) in FEEDS {
        let grade = grade.parse().map_err(|e| Error::invalid(format!("demo feed {file}: {e}")))?;
        let wanted = Source { name: source.to_string(), grade, tlp: *tlp };
        let file_report =
            submit(store, &wanted, BatchLabels::default(), None, &mapping, &format!("demo/{file}"), bytes)?;
        if let Some(e) = &file_report.error {
            return Err(Error::invalid(format!("demo feed {file} failed: {e}")));
        }
        on_feed(&wanted.name, &file_report);
        let mut report = Report { source: wanted.name.clone(), ..Default::default() };
        report.add(FileReport { rejects: Vec::new(), ..file_report });
        ingests.push(report);
    }
    let lists = crate::warninglists::in_force(store)?;
    let ctx = Context { lists: lists.lists, geo: GeoIndex::default(), unusable: lists.unusable };
    let mut lookups = Vec::new();
    for value in LOOKUPS {
        lookups.push(look_up(store, &ctx, &Scope::operator(), value, Some(DEMO_NOW))?.map_err(Error::Invalid)?);
    }
    Ok(DemoReport { store: location.to_string(), ingests, lookups })
}
