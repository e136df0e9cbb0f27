//! TLS to PostgreSQL against the local server, with certificates this test
//! makes (openssl): the server is switched to them for the test's duration
//! (`ALTER SYSTEM` and a reload) and back when it ends.
//!
//! Needs the local PostgreSQL as a superuser (`.ci/run` starts it); set
//! `DRAGNET_SKIP_PG=1` to skip on a machine without one.

use std::path::{Path, PathBuf};
use std::process::Command;

use dragnet_core::Store;
use dragnet_store::PgStore;

const APP: &str = "dragnet-tls-test";

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl").args(args).current_dir(dir).output().expect("openssl is installed");
    assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// A CA, and a server certificate it signed for `localhost` only.
fn make_certificates(dir: &Path) {
    for ca in ["ca", "other-ca"] {
        openssl(
            dir,
            &[
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
                "-nodes",
                "-days",
                "2",
                "-keyout",
                &format!("{ca}.key"),
                "-out",
                &format!("{ca}.pem"),
                "-subj",
                &format!("/CN=dragnet {ca}"),
            ],
        );
    }
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=localhost",
        ],
    );
    std::fs::write(dir.join("san.ext"), "subjectAltName=DNS:localhost\n").unwrap();
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-out",
            "server.pem",
            "-extfile",
            "san.ext",
        ],
    );
}

fn id_of(flag: &str) -> u32 {
    let out = Command::new("id").args([flag, "postgres"]).output().expect("id");
    String::from_utf8_lossy(&out.stdout).trim().parse().expect("a postgres user exists")
}

/// The server's certificate replaced by the test's; restored on drop.
struct ServerCertificate {
    admin: postgres::Client,
}

impl ServerCertificate {
    fn install(dir: &Path) -> Option<ServerCertificate> {
        let mut admin = dragnet_testkit::postgres_admin()?;
        // The server runs as `postgres`: it must read the files, and refuses
        // a key others can read.
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::os::unix::fs::chown(dir.join("server.key"), Some(id_of("-u")), Some(id_of("-g"))).unwrap();
        std::fs::set_permissions(dir.join("server.key"), std::fs::Permissions::from_mode(0o600)).unwrap();
        std::fs::set_permissions(dir.join("server.pem"), std::fs::Permissions::from_mode(0o644)).unwrap();
        let path = |f: &str| dir.join(f).display().to_string();
        // ALTER SYSTEM may not share a transaction block: one statement each.
        for statement in [
            "ALTER SYSTEM SET ssl = on".to_string(),
            format!("ALTER SYSTEM SET ssl_cert_file = '{}'", path("server.pem")),
            format!("ALTER SYSTEM SET ssl_key_file = '{}'", path("server.key")),
            "SELECT pg_reload_conf()".to_string(),
        ] {
            admin.batch_execute(&statement).unwrap();
        }
        Some(ServerCertificate { admin })
    }

    /// Whether the test's connection to the server is encrypted.
    fn encrypted(&mut self) -> bool {
        let row = self
            .admin
            .query_one(
                "SELECT bool_and(s.ssl) FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) WHERE a.application_name = $1",
                &[&APP],
            )
            .unwrap();
        row.get::<_, Option<bool>>(0).expect("the test's connection is listed")
    }
}

impl Drop for ServerCertificate {
    fn drop(&mut self) {
        for statement in [
            "ALTER SYSTEM RESET ssl_cert_file",
            "ALTER SYSTEM RESET ssl_key_file",
            "ALTER SYSTEM RESET ssl",
            "SELECT pg_reload_conf()",
        ] {
            let _ = self.admin.batch_execute(statement);
        }
    }
}

fn url(host: &str, mode: &str, root: Option<&PathBuf>) -> String {
    let mut url = format!("postgres://postgres@{host}:5432/test?application_name={APP}&sslmode={mode}");
    if let Some(root) = root {
        url.push_str(&format!("&sslrootcert={}", root.display()));
    }
    url
}

/// A reload is asynchronous: the first verify-full connection may still
/// meet the old certificate.
fn connect_when_reloaded(url: &str) -> PgStore {
    let mut last = None;
    for _ in 0..100 {
        match PgStore::connect(url) {
            Ok(store) => return store,
            Err(e) => last = Some(e),
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("verify-full never connected: {}", last.map(|e| e.to_string()).unwrap_or_default());
}

#[test]
fn postgres_over_tls_checks_the_servers_certificate() {
    let dir = tempfile::tempdir().unwrap();
    make_certificates(dir.path());
    let Some(mut server) = ServerCertificate::install(dir.path()) else { return };
    let ca = dir.path().join("ca.pem");
    let other = dir.path().join("other-ca.pem");

    let mut store = connect_when_reloaded(&url("localhost", "verify-full", Some(&ca)));
    store.stats().unwrap();
    assert!(server.encrypted(), "verify-full must encrypt");
    drop(store);

    // The certificate names localhost, not 127.0.0.1: verify-full refuses,
    // verify-ca (chain only) accepts.
    let wrong_name = PgStore::connect(&url("127.0.0.1", "verify-full", Some(&ca))).err().expect("wrong name refused");
    assert!(wrong_name.to_string().to_lowercase().contains("certificate"), "{wrong_name}");
    let store = PgStore::connect(&url("127.0.0.1", "verify-ca", Some(&ca))).unwrap();
    assert!(server.encrypted());
    drop(store);

    let unknown = PgStore::connect(&url("localhost", "verify-full", Some(&other))).err().expect("unknown CA refused");
    assert!(unknown.to_string().to_lowercase().contains("issuer"), "{unknown}");

    let store = PgStore::connect(&url("127.0.0.1", "require", None)).unwrap();
    assert!(server.encrypted(), "require must encrypt");
    drop(store);
    let store = PgStore::connect(&url("127.0.0.1", "disable", None)).unwrap();
    assert!(!server.encrypted(), "disable is plain");
    drop(store);
    assert!(PgStore::connect(&url("localhost", "verify-full", None)).is_err(), "verify-full needs sslrootcert");
}
