//! Writers for what Dragnet shares: STIX 2.1 bundles and MISP events of a
//! set of servers (a package, or the servers a caller may see). Pure
//! functions from servers to JSON; the servers given were already filtered
//! through the policy point.

pub mod misp;
pub mod stix;
pub mod xarf;

use std::str::FromStr;

use serde_json::Value;

use crate::{Error, Result};

/// A UUID that is the same for the same `space` and `name` on every run and
/// every server (a UUIDv5 under Dragnet's namespace for `space`), shaped as
/// a version 4 UUID, which STIX asks of the objects a producer makes.
pub fn stable_uuid(space: &str, name: &str) -> uuid::Uuid {
    let namespace =
        uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_URL, format!("https://github.com/dragnet/{space}").as_bytes());
    uuid::Builder::from_random_bytes(*uuid::Uuid::new_v5(&namespace, name.as_bytes()).as_bytes()).into_uuid()
}

/// What a writer needs: servers as `ServerView` JSON with their members,
/// and why each is there.
pub struct Shared<'a> {
    /// Names the export (a package's agency and version, or a caller).
    pub title: String,
    /// A stable key: the same key and servers give the same ids.
    pub key: String,
    pub created: i64,
    pub servers: Vec<(&'a Value, &'a [String])>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Stix,
    Misp,
    /// XARF v4 reports, one a line (they need a reporter: see [`xarf::Reporter`]).
    Xarf,
}

impl FromStr for Format {
    type Err = Error;
    fn from_str(s: &str) -> Result<Format> {
        match s {
            "stix" => Ok(Format::Stix),
            "misp" => Ok(Format::Misp),
            "xarf" => Ok(Format::Xarf),
            other => Err(Error::invalid(format!("--format {other}: expected stix, misp or xarf"))),
        }
    }
}

/// Writes `shared` in `format`: pretty JSON, or for XARF one report a line.
pub fn write(format: Format, shared: &Shared<'_>, reporter: Option<&xarf::Reporter>) -> Result<String> {
    let json = |v: &serde_json::Value| serde_json::to_string_pretty(v).map_err(|e| Error::invalid(e.to_string()));
    match format {
        Format::Stix => json(&stix::bundle(shared)),
        Format::Misp => json(&misp::event(shared)),
        Format::Xarf => {
            let reporter = reporter.ok_or_else(|| {
                Error::invalid(
                    "XARF reports name their reporter: give --reporter-org, --reporter-contact and --reporter-domain",
                )
            })?;
            let lines: Vec<String> = xarf::reports(shared, reporter).iter().map(|r| r.to_string()).collect();
            Ok(lines.join("\n"))
        }
    }
}

/// A server's values of one kind (`ips`, `domains`, `urls`).
fn values<'a>(server: &'a Value, key: &str) -> impl Iterator<Item = &'a str> {
    server[key].as_array().into_iter().flatten().filter_map(Value::as_str)
}

/// The package's servers, ready for a writer.
pub fn of_package(package: &crate::packages::Package) -> Shared<'_> {
    Shared {
        title: format!("Dragnet package for {} v{}", package.agency, package.version),
        key: format!("package:{}:{}", package.agency, package.version),
        created: dragnet_core::parse_timestamp(&package.created).unwrap_or_default(),
        servers: package.servers.iter().map(|p| (&p.server, p.why.as_slice())).collect(),
    }
}
