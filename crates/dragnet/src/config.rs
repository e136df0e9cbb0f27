//! `dragnet config`: the configuration in force and where it came from.

use std::process::ExitCode;

pub fn show() -> anyhow::Result<ExitCode> {
    let (config, path) = dragnet_engine::config::get();
    eprintln!(
        "# {}",
        path.as_ref().map_or("built-in defaults (no config file)".to_string(), |p| p.display().to_string())
    );
    crate::output::print_json(config)?;
    Ok(ExitCode::SUCCESS)
}
