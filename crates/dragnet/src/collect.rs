//! `dragnet collect netflow`: a UDP collector for NetFlow v5/v9 and IPFIX.
//! Templates are cached per exporter address and observation domain; each
//! decoded flow is printed as one JSON line.

use std::net::UdpSocket;
use std::process::ExitCode;

use anyhow::Context;
use dragnet_ingest::netflow::Decoder;

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
}

pub fn run(command: &Collect) -> anyhow::Result<ExitCode> {
    let Collect::Netflow(args) = command;
    let socket = UdpSocket::bind(&args.listen).with_context(|| format!("cannot listen on {}", args.listen))?;
    eprintln!("collecting NetFlow/IPFIX on {}", socket.local_addr()?);
    let mut decoder = Decoder::new();
    let mut buf = vec![0u8; 65_535];
    let mut packets = 0u64;
    while args.count == 0 || packets < args.count {
        let (n, peer) = socket.recv_from(&mut buf)?;
        packets += 1;
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
            }
            Err(e) => eprintln!("{peer}: packet {packets} refused: {e}"),
        }
    }
    Ok(ExitCode::SUCCESS)
}
