//! `dragnet decisions`: the decision stream a defender's tool polls
//! (`GET /api/v1/decisions/stream`), read here as an organisation would.

use std::path::Path;
use std::process::ExitCode;

use dragnet_core::Store;
use dragnet_engine::decisions;
use dragnet_engine::lookup::Context;

use crate::output::print_json;

#[derive(clap::Args)]
pub struct Args {
    /// What was added and withdrawn since this cursor (default: every standing decision).
    #[arg(long)]
    since: Option<String>,
    /// As this organisation may see them (default: all, as the operator).
    #[arg(long = "for", value_name = "ORG")]
    viewer: Option<String>,
}

pub fn run(store: &mut dyn Store, data: &Path, args: &Args) -> anyhow::Result<ExitCode> {
    let ctx = Context::load(store, data)?;
    let scope = crate::lookup::scope(store, args.viewer.as_deref())?;
    let stream =
        decisions::stream(store, &ctx, &scope, dragnet_engine::now(), args.since.is_none(), args.since.as_deref())?;
    print_json(&stream)?;
    Ok(ExitCode::SUCCESS)
}
