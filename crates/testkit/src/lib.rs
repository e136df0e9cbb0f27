//! What Dragnet's test suites share. A test that needs something outside the
//! repository fails loudly when it is missing, unless told to skip: a clone
//! without it must not pass vacuously.
//!
//! - `../shared/samples` (third-party samples, never copied into the
//!   repository): skip with `DRAGNET_SKIP_SAMPLES=1`.
//! - Third-party oracles on the PATH (schemathesis…, installed by
//!   `scripts/test`): skip with `DRAGNET_SKIP_ORACLES=1`.
//! - PostgreSQL at `DRAGNET_TEST_PG` (default
//!   `postgres://postgres@127.0.0.1:5432/test`, started by `.ci/run`): skip
//!   with `DRAGNET_SKIP_PG=1`.
//! - NATS with JetStream at `DRAGNET_TEST_NATS` (default
//!   `nats://127.0.0.1:4222`, started by `.ci/run`): skip with
//!   `DRAGNET_SKIP_NATS=1`.

use std::path::{Path, PathBuf};

/// `../shared/samples/REL` beside the repository, or `None` (with a note)
/// when it is missing and `DRAGNET_SKIP_SAMPLES` is set.
///
/// # Panics
/// When it is missing and skipping was not asked for.
pub fn samples(rel: &str) -> Option<PathBuf> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/samples").join(rel);
    if path.exists() {
        return Some(path);
    }
    if std::env::var_os("DRAGNET_SKIP_SAMPLES").is_some() {
        eprintln!("skipping: {} is not present (DRAGNET_SKIP_SAMPLES set)", path.display());
        return None;
    }
    panic!(
        "{} is not present: put the shared samples beside the repository, or set DRAGNET_SKIP_SAMPLES=1 to skip",
        path.display()
    )
}

/// The PostgreSQL URL the tests use.
pub fn postgres_url() -> String {
    std::env::var("DRAGNET_TEST_PG").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// A plain connection to the test server, or `None` (with a note) when it
/// is unreachable and `DRAGNET_SKIP_PG` is set.
///
/// # Panics
/// When it is unreachable and skipping was not asked for.
pub fn postgres_admin() -> Option<postgres::Client> {
    let url = postgres_url();
    match postgres::Client::connect(&url, postgres::NoTls) {
        Ok(client) => Some(client),
        Err(e) if std::env::var_os("DRAGNET_SKIP_PG").is_some() => {
            eprintln!("skipping: PostgreSQL is not reachable at {url} (DRAGNET_SKIP_PG set): {e}");
            None
        }
        Err(e) => panic!("PostgreSQL is not reachable at {url}: {e}. Start it (.ci/run does) or set DRAGNET_SKIP_PG=1"),
    }
}

/// The NATS server (with JetStream) the tests use: `DRAGNET_TEST_NATS`,
/// default `nats://127.0.0.1:4222`, or `None` (with a note) when it is
/// unreachable and `DRAGNET_SKIP_NATS` is set.
///
/// # Panics
/// When it is unreachable and skipping was not asked for.
pub fn nats_url() -> Option<String> {
    let url = std::env::var("DRAGNET_TEST_NATS").unwrap_or_else(|_| "nats://127.0.0.1:4222".into());
    let address = url.trim_start_matches("nats://").to_string();
    let reachable = std::net::ToSocketAddrs::to_socket_addrs(&address)
        .ok()
        .and_then(|mut a| a.next())
        .is_some_and(|a| std::net::TcpStream::connect_timeout(&a, std::time::Duration::from_secs(2)).is_ok());
    match reachable {
        true => Some(url),
        false if std::env::var_os("DRAGNET_SKIP_NATS").is_some() => {
            eprintln!("skipping: NATS is not reachable at {url} (DRAGNET_SKIP_NATS set)");
            None
        }
        false => {
            panic!("NATS is not reachable at {url}: start it with JetStream (.ci/run does) or set DRAGNET_SKIP_NATS=1")
        }
    }
}

/// A name no other test process uses at the same time (schemas, folders).
pub fn unique_name(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().subsec_nanos();
    format!("{prefix}_{}_{nanos}", std::process::id())
}

/// The path of a third-party program the tests compare against, or `None`
/// (with a note) when it is missing and `DRAGNET_SKIP_ORACLES` is set.
///
/// # Panics
/// When it is missing and skipping was not asked for.
pub fn oracle(program: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join(program))
        .find(|p| p.is_file());
    match found {
        Some(path) => Some(path),
        None if std::env::var_os("DRAGNET_SKIP_ORACLES").is_some() => {
            eprintln!("skipping: {program} is not on the PATH (DRAGNET_SKIP_ORACLES set)");
            None
        }
        None => {
            panic!("{program} is not on the PATH: run scripts/test (it installs it), or set DRAGNET_SKIP_ORACLES=1")
        }
    }
}
