//! The optional configuration file (`--config FILE`, or `config.json` in
//! the data directory): scoring and clustering knobs. Unknown keys are
//! errors, so a typo never silently leaves a default in force.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::OnceLock;

use anyhow::Context;
use dragnet_analytics::cluster;
use dragnet_core::score::ScoringConfig;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub scoring: ScoringConfig,
    pub clustering: cluster::Config,
}

static CONFIG: OnceLock<(Config, Option<PathBuf>)> = OnceLock::new();

/// Reads the configuration once: `explicit` if given (it must exist), else
/// `DATA/config.json` if present, else the defaults.
pub fn init(explicit: Option<&Path>, data: &Path) -> anyhow::Result<()> {
    let path = match explicit {
        Some(p) => Some(p.to_path_buf()),
        None => Some(data.join("config.json")).filter(|p| p.is_file()),
    };
    let config = match &path {
        Some(p) => {
            let text = std::fs::read_to_string(p).with_context(|| format!("cannot read the config {}", p.display()))?;
            serde_json::from_str(&text)
                .map_err(|e| anyhow::anyhow!("{}:{}:{}: {e}", p.display(), e.line(), e.column()))?
        }
        None => Config::default(),
    };
    let _ = CONFIG.set((config, path));
    Ok(())
}

fn get() -> &'static (Config, Option<PathBuf>) {
    CONFIG.get_or_init(|| (Config::default(), None))
}

pub fn scoring() -> ScoringConfig {
    get().0.scoring.clone()
}

pub fn clustering() -> cluster::Config {
    get().0.clustering.clone()
}

/// `dragnet config`: the configuration in force and where it came from.
pub fn show() -> anyhow::Result<ExitCode> {
    let (config, path) = get();
    eprintln!(
        "# {}",
        path.as_ref().map_or("built-in defaults (no config file)".to_string(), |p| p.display().to_string())
    );
    crate::output::print_json(config)?;
    Ok(ExitCode::SUCCESS)
}
