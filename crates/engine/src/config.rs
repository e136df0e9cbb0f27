//! The optional configuration file (`--config FILE`, or `config.json` in
//! the data directory): scoring and clustering knobs. Unknown keys are
//! errors, so a typo never silently leaves a default in force. Read once per
//! process: every use case of that process scores and clusters alike.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use dragnet_analytics::cluster;
use dragnet_core::score::ScoringConfig;
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub scoring: ScoringConfig,
    pub clustering: cluster::Config,
}

static CONFIG: OnceLock<(Config, Option<PathBuf>)> = OnceLock::new();

/// Reads the configuration once: `explicit` if given (it must exist), else
/// `DATA/config.json` if present, else the defaults.
pub fn init(explicit: Option<&Path>, data: &Path) -> Result<()> {
    let path = match explicit {
        Some(p) => Some(p.to_path_buf()),
        None => Some(data.join("config.json")).filter(|p| p.is_file()),
    };
    let config = match &path {
        Some(p) => {
            let text = std::fs::read_to_string(p).map_err(Error::io("read the config", p))?;
            serde_json::from_str(&text)
                .map_err(|e| Error::invalid(format!("{}:{}:{}: {e}", p.display(), e.line(), e.column())))?
        }
        None => Config::default(),
    };
    let _ = CONFIG.set((config, path));
    Ok(())
}

/// The configuration in force and the file it came from (none: defaults).
pub fn get() -> &'static (Config, Option<PathBuf>) {
    CONFIG.get_or_init(|| (Config::default(), None))
}

pub fn scoring() -> ScoringConfig {
    get().0.scoring.clone()
}

pub fn clustering() -> cluster::Config {
    get().0.clustering.clone()
}
