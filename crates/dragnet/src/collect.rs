//! `dragnet collect netflow`: a UDP collector for NetFlow v5/v9 and IPFIX.
//! Templates are cached per exporter address and observation domain; each
//! decoded flow is printed as one JSON line; with `--write` every packet is
//! also kept in a pcap capture that `dragnet telemetry` reads.

use std::net::UdpSocket;
use std::process::ExitCode;

use anyhow::Context;
use std::io::{Read, Write};

use dragnet_ingest::netflow::Decoder;
use dragnet_ingest::pcap;

#[derive(clap::Subcommand)]
pub enum Collect {
    /// Receive NetFlow v5/v9/IPFIX export packets over UDP.
    Netflow(NetflowArgs),
}

#[derive(clap::Args)]
pub struct NetflowArgs {
    /// Address to listen on, e.g. 0.0.0.0:2055.
    #[arg(long)]
    listen: String,
    /// Stop after this many packets (0 = run until stopped).
    #[arg(long, default_value_t = 0)]
    count: u64,
    /// Also append every packet received to this pcap capture (created with
    /// its header if missing), for `dragnet telemetry FILE --source NAME`.
    #[arg(long)]
    write: Option<std::path::PathBuf>,
}

/// Opens a capture for appending, writing the pcap header into a new or
/// empty file and refusing a file that is something else.
fn open_capture(path: &std::path::Path) -> anyhow::Result<std::fs::File> {
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .read(true)
        .open(path)
        .with_context(|| format!("cannot open {}", path.display()))?;
    let mut head = [0u8; 24];
    let existing = file.metadata()?.len();
    if existing == 0 {
        file.write_all(&pcap::file_header())?;
    } else {
        file.read_exact(&mut head).with_context(|| format!("{}: not a pcap capture", path.display()))?;
        anyhow::ensure!(
            head == pcap::file_header()[..],
            "{}: not a capture this collector wrote; refusing to append",
            path.display()
        );
    }
    Ok(file)
}

pub fn run(command: &Collect) -> anyhow::Result<ExitCode> {
    let Collect::Netflow(args) = command;
    let socket = UdpSocket::bind(&args.listen).with_context(|| format!("cannot listen on {}", args.listen))?;
    eprintln!("collecting NetFlow/IPFIX on {}", socket.local_addr()?);
    let mut decoder = Decoder::new();
    let mut buf = vec![0u8; 65_535];
    let mut packets = 0u64;
    let local = socket.local_addr()?;
    let mut capture = match &args.write {
        Some(path) => Some(open_capture(path)?),
        None => None,
    };
    while args.count == 0 || packets < args.count {
        let (n, peer) = socket.recv_from(&mut buf)?;
        packets += 1;
        if let (Some(file), Some(path)) = (capture.as_mut(), &args.write) {
            let now =
                std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64());
            let record = pcap::packet_record(now, (peer.ip(), peer.port()), (local.ip(), local.port()), &buf[..n]);
            // Flushed per packet: a collector stopped at any time leaves a readable capture.
            file.write_all(&record)
                .and_then(|()| file.flush())
                .with_context(|| format!("cannot write {}", path.display()))?;
        }
        match decoder.decode(&peer.ip().to_string(), &buf[..n]) {
            Ok(decoded) => {
                for f in &decoded.flows {
                    let line = serde_json::json!({
                        "exporter": peer.ip(), "version": decoded.version, "src": f.src, "src_port": f.src_port,
                        "dst": f.dst, "dst_port": f.dst_port, "protocol": f.protocol, "packets": f.packets,
                        "bytes": f.bytes, "start": f.start, "end": f.end,
                    });
                    println!("{line}");
                }
                if decoded.without_template > 0 {
                    eprintln!("{peer}: {} data sets wait for their template", decoded.without_template);
                }
                if decoded.templates_refused > 0 {
                    eprintln!("{peer}: {} templates refused, the template cache is full", decoded.templates_refused);
                }
            }
            Err(e) => eprintln!("{peer}: packet {packets} refused: {e}"),
        }
    }
    Ok(ExitCode::SUCCESS)
}
