//! Reading a sensor's files: every log but the conn logs is read whole
//! (names, DNS queries, alerts and links are few beside connections);
//! Zeek conn logs are left where they are and streamed past the detectors,
//! twice, by [`Connections::each`]. Suricata EVE files are streamed too:
//! once here for everything but their flows, then for the flows with the
//! conn logs.

use std::io::Read;
use std::path::{Path, PathBuf};

use dragnet_core::Link;
use dragnet_core::telemetry::{Alert, Conn, DnsQuery, NamedConn};
use dragnet_ingest::links::LinkSet;
use dragnet_ingest::{netflow, suricata, zeek};

use super::Notes;
use crate::{Error, Result};

/// What the Zeek logs under some paths hold, for the detectors.
pub struct Telemetry {
    pub conns: Connections,
    pub names: Vec<NamedConn>,
    pub dns: Vec<DnsQuery>,
    pub alerts: Vec<Alert>,
    /// Names, addresses and certificates seen together (SNI, DNS answers,
    /// server certificates, JA3S), stored for clustering.
    pub links: Vec<Link>,
    pub rejected_lines: usize,
    pub files: usize,
    /// NetFlow v9/IPFIX data sets that arrived before their template (not
    /// decoded: the exporter had not announced their layout yet).
    pub without_template: usize,
    /// Lines and files that could not be used, for the edge to show.
    pub notes: Notes,
}

/// Reads every conn, ssl and http log under `paths`; other logs are skipped,
/// files that are not Zeek logs are reported and skipped.
pub fn read_telemetry(paths: &[PathBuf], netflow: bool) -> Result<Telemetry> {
    let mut files = Vec::new();
    for p in paths {
        crate::walk::files_under(p, &mut files)?;
    }
    let mut t = Telemetry {
        conns: Connections::default(),
        names: Vec::new(),
        dns: Vec::new(),
        alerts: Vec::new(),
        links: Vec::new(),
        rejected_lines: 0,
        files: 0,
        without_template: 0,
        notes: Notes::default(),
    };
    // Packets are decoded in name order with one template cache, so a
    // template file is read before the data files that need it.
    let mut decoder = netflow::Decoder::new();
    for f in files {
        let sniffed = sniff(&f)?;
        let streamed = match sniffed {
            Sniffed::Capture => true,
            Sniffed::Eve | Sniffed::ZeekConn => !netflow,
            Sniffed::Other => false,
        };
        if streamed {
            let len = std::fs::metadata(&f).map_err(Error::io("read", &f))?.len();
            match sniffed {
                Sniffed::Eve => {
                    read_eve_events(&f, len, &mut t)?;
                    t.conns.eve.push((f, len));
                }
                Sniffed::Capture => {
                    // Decoded here for what it says of itself, then again on each pass for its flows.
                    let counts = decode_capture(&f, &mut decoder, &mut |_| {})?;
                    t.without_template += counts.without_template;
                    if let Some(e) = counts.first_error {
                        t.notes.push(format!(
                            "{}: {} datagrams were not NetFlow/IPFIX, the first: {e}",
                            f.display(),
                            counts.refused
                        ));
                    }
                    t.rejected_lines += counts.refused;
                    t.conns.flows.push((f, FlowFile::Capture));
                }
                _ => t.conns.logs.push((f, len)),
            }
            t.files += 1;
            continue;
        }
        if netflow {
            let raw = std::fs::read(&f).map_err(Error::io("read", &f))?;
            match decode_packet(&f, &raw, &mut decoder, &mut |_| {}) {
                Ok(without_template) => {
                    t.without_template += without_template;
                    t.files += 1;
                }
                Err(e) => {
                    t.notes.push(format!("{}: {e}", f.display()));
                    t.rejected_lines += 1;
                }
            }
            // Replayed on each pass, refused or not, so that the template cache goes as it went here.
            t.conns.flows.push((f, FlowFile::Packet));
            continue;
        }
        let raw = std::fs::read(&f).map_err(Error::io("read", &f))?;
        let bytes = zeek::decompress(&raw).map_err(|e| Error::invalid(format!("{}: {e}", f.display())))?;
        let located = |e: dragnet_core::FileError| Error::invalid(format!("{}:{e}", f.display()));
        if suricata::is_eve(&bytes) {
            let eve = suricata::read_eve(&bytes).map_err(located)?;
            for r in &eve.rejects {
                t.notes.push(format!("{}:{}: {}", f.display(), r.line, r.reason));
            }
            t.rejected_lines += eve.rejects.len();
            t.files += 1;
            t.conns.held.extend(eve.conns);
            t.names.extend(eve.names);
            t.dns.extend(eve.dns);
            t.alerts.extend(eve.alerts);
            t.links.extend(eve.links);
            continue;
        }
        let rejects = match zeek::log_path(&bytes).as_deref() {
            Some("conn") => {
                let log = zeek::read_conn(&bytes).map_err(located)?;
                t.conns.held.extend(log.conns);
                log.rejects
            }
            Some(path @ ("ssl" | "http")) => {
                let (names, rejects) = zeek::read_names(&bytes).map_err(located)?;
                t.names.extend(names);
                if path == "ssl" {
                    t.links.extend(zeek::read_links(&bytes).map_err(located)?.0);
                }
                rejects
            }
            Some("dns") => {
                let (queries, rejects) = zeek::read_dns(&bytes).map_err(located)?;
                t.dns.extend(queries);
                t.links.extend(zeek::read_links(&bytes).map_err(located)?.0);
                rejects
            }
            Some("x509") => {
                let (links, rejects) = zeek::read_links(&bytes).map_err(located)?;
                t.links.extend(links);
                rejects
            }
            Some(_) => continue,
            None => {
                t.notes
                    .push(format!("{}: not Suricata EVE nor a Zeek conn, dns, http or ssl log, skipped", f.display()));
                continue;
            }
        };
        for r in &rejects {
            t.notes.push(format!("{}:{}: {}", f.display(), r.line, r.reason));
        }
        t.rejected_lines += rejects.len();
        t.files += 1;
    }
    if t.without_template > 0 {
        let note = format!(
            "{} NetFlow/IPFIX data sets came before their exporter's template and were not decoded{}",
            t.without_template,
            if decoder.templates_refused() > 0 {
                format!("; {} templates were refused (the template cache is full)", decoder.templates_refused())
            } else {
                String::new()
            }
        );
        t.notes.push(note);
    }
    Ok(t)
}

/// What decoding a capture found besides its flows.
#[derive(Default)]
struct CaptureCounts {
    without_template: usize,
    refused: usize,
    first_error: Option<String>,
}

/// A capture file of export packets, read a record at a time: each UDP
/// datagram is decoded with the templates of its exporter (source
/// address) and its flows handed to `each`; datagrams that are not
/// NetFlow/IPFIX are counted.
fn decode_capture(path: &Path, decoder: &mut netflow::Decoder, each: &mut dyn FnMut(&Conn)) -> Result<CaptureCounts> {
    let file = std::fs::File::open(path).map_err(Error::io("read", path))?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let mut counts = CaptureCounts::default();
    let mut i = 0;
    let reader = std::io::BufReader::with_capacity(1 << 20, file);
    dragnet_ingest::pcap::read_stream(reader, &mut |d| {
        i += 1;
        match decoder.decode(&d.src.to_string(), d.payload) {
            Ok(packet) => {
                counts.without_template += packet.without_template;
                for (j, flow) in packet.flows.iter().enumerate() {
                    each(&flow.to_conn(format!("{name}#{}.{j}", i - 1), packet.export_time));
                }
            }
            Err(e) => {
                counts.refused += 1;
                counts.first_error.get_or_insert_with(|| format!("datagram {i} from {}: {e}", d.src));
            }
        }
    })
    .map_err(|e| Error::invalid(format!("{}: {e}", path.display())))?;
    Ok(counts)
}

/// One NetFlow/IPFIX export packet (a file): its flows handed to `each`;
/// how many of its data sets came before their template.
fn decode_packet(
    path: &Path,
    raw: &[u8],
    decoder: &mut netflow::Decoder,
    each: &mut dyn FnMut(&Conn),
) -> std::result::Result<usize, String> {
    let packet = decoder.decode("files", raw).map_err(|e| e.to_string())?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    for (i, flow) in packet.flows.iter().enumerate() {
        each(&flow.to_conn(format!("{name}#{i}"), packet.export_time));
    }
    Ok(packet.without_template)
}

/// What a file is, for reading it: a log streamed past the detectors, or
/// anything else (read whole).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sniffed {
    ZeekConn,
    Eve,
    /// A pcap or pcapng capture (of NetFlow export packets).
    Capture,
    Other,
}

/// What `path` holds (plain, gzip or zstd), by what its first bytes expand to.
fn sniff(path: &Path) -> Result<Sniffed> {
    let mut head = Vec::new();
    let file = std::fs::File::open(path).map_err(Error::io("read", path))?;
    file.take(dragnet_ingest::SNIFF_BYTES as u64).read_to_end(&mut head).map_err(Error::io("read", path))?;
    if dragnet_ingest::pcap::is_capture(&head) {
        return Ok(Sniffed::Capture);
    }
    let Ok(text) = zeek::decompress_prefix(&head, dragnet_ingest::SNIFF_BYTES) else { return Ok(Sniffed::Other) };
    Ok(if suricata::is_eve(&text) {
        Sniffed::Eve
    } else if zeek::log_path(&text).as_deref() == Some("conn") {
        Sniffed::ZeekConn
    } else {
        Sniffed::Other
    })
}

/// The first pass over an EVE file: its names, DNS queries, alerts, links
/// and bad lines; its flows are left for [`Connections::each`].
fn read_eve_events(path: &Path, len: u64, t: &mut Telemetry) -> Result<()> {
    let file = std::fs::File::open(path).map_err(Error::io("read", path))?;
    let mut links = LinkSet::default();
    let notes = &mut t.notes;
    let mut rejected = 0;
    let (names, dns, alerts) = (&mut t.names, &mut t.dns, &mut t.alerts);
    suricata::read_eve_stream(file, len, &zeek::Limits::default(), Some(&mut links), &mut |eve| {
        for r in &eve.rejects {
            notes.push(format!("{}:{}: {}", path.display(), r.line, r.reason));
        }
        rejected += eve.rejects.len();
        names.extend(eve.names);
        dns.extend(eve.dns);
        alerts.extend(eve.alerts);
    })
    .map_err(|e| Error::invalid(format!("{}:{e}", path.display())))?;
    t.rejected_lines += rejected;
    t.links.extend(links.into_links());
    Ok(())
}

/// Every connection the sensor's files hold: the Zeek conn logs', EVE
/// files', captures' and NetFlow packets' flows, read again each time they
/// are needed (only tests hand connections in held).
#[derive(Default)]
pub struct Connections {
    pub held: Vec<Conn>,
    /// Conn logs and their sizes as stored.
    pub logs: Vec<(PathBuf, u64)>,
    /// EVE files and their sizes as stored (their bad lines were noted
    /// when the rest of their events were read).
    pub eve: Vec<(PathBuf, u64)>,
    /// NetFlow/IPFIX export packets and captures of them, decoded again on
    /// each pass in the order they were read, with one template cache a
    /// pass (what they said of themselves was noted when they were read).
    pub flows: Vec<(PathBuf, FlowFile)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlowFile {
    /// One export packet a file.
    Packet,
    Capture,
}

impl Connections {
    /// Hands every connection to `each`, the held ones first. Lines of the
    /// conn logs that could not be read are noted and counted in `noted`
    /// when it is given (on one of several passes).
    pub fn each(&self, mut noted: Option<(&mut Notes, &mut usize)>, each: &mut dyn FnMut(&Conn)) -> Result<()> {
        self.held.iter().for_each(&mut *each);
        for (path, len) in &self.logs {
            let file = std::fs::File::open(path).map_err(Error::io("read", path))?;
            let mut reject = |r: dragnet_core::Reject| {
                if let Some((notes, rejected)) = noted.as_mut() {
                    **rejected += 1;
                    notes.push(format!("{}:{}: {}", path.display(), r.line, r.reason));
                }
            };
            let limits = zeek::Limits::default();
            dragnet_ingest::zeek_stream::read_conn_stream(file, *len, &limits, &mut |c| each(&c), &mut reject)
                .map_err(|e| Error::invalid(format!("{}:{e}", path.display())))?;
        }
        for (path, len) in &self.eve {
            let file = std::fs::File::open(path).map_err(Error::io("read", path))?;
            // The links were gathered on the first read; a pass wants only the flows.
            let flows = &mut |eve: suricata::Eve| eve.conns.iter().for_each(&mut *each);
            suricata::read_eve_stream(file, *len, &zeek::Limits::default(), None, flows)
                .map_err(|e| Error::invalid(format!("{}:{e}", path.display())))?;
        }
        let mut decoder = netflow::Decoder::new();
        for (path, kind) in &self.flows {
            match kind {
                FlowFile::Capture => {
                    decode_capture(path, &mut decoder, &mut *each)?;
                }
                FlowFile::Packet => {
                    let raw = std::fs::read(path).map_err(Error::io("read", path))?;
                    let _ = decode_packet(path, &raw, &mut decoder, &mut *each);
                }
            }
        }
        Ok(())
    }
}
