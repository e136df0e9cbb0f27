//! Dragnet's TAXII 2.1 server side by side with medallion, the OASIS
//! reference server (from PyPI; `scripts/test` installs it): the same
//! envelope posted to each, then the same requests, the same answers.

mod common;

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{Server, dragnet};

/// medallion, stopped when dropped.
struct Medallion(Child);

impl Drop for Medallion {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn start_medallion(program: &Path, data: &Path, folder: &Path) -> (Medallion, u16) {
    let config = serde_json::json!({
        "backend": {"module": "medallion.backends.memory_backend", "module_class": "MemoryBackend",
                    "filename": data},
        "users": {"admin": "Password0"},
        "taxii": {"max_page_size": 100},
    });
    let path = folder.join("medallion.json");
    std::fs::write(&path, config.to_string()).unwrap();
    let port = free_port();
    let child = Command::new(program)
        .args(["--host", "127.0.0.1", "--port", &port.to_string()])
        .arg(&path)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start medallion");
    let medallion = Medallion(child);
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "medallion did not start on port {port}");
        std::thread::sleep(Duration::from_millis(100));
    }
    (medallion, port)
}

#[test]
fn medallion_and_dragnet_answer_the_same_taxii_requests() {
    let Some(data) = dragnet_testkit::samples("taxii/medallion-default_data.json") else { return };
    let Some(program) = dragnet_testkit::oracle("medallion") else { return };
    let folder = tempfile::tempdir().unwrap();
    let d = folder.path();
    let (_medallion, medallion_port) = start_medallion(&program, &data, d);

    dragnet(d, &["org", "add", "acme", "--kind", "partner"]);
    let token = dragnet(d, &["token", "create", "--org", "acme", "--role", "submitter"]).stdout.trim().to_string();
    let server = Server::start(d, &[], &["--rate", "1000"]);
    let collections = server.get("/taxii2/api/collections/", Some(&token)).json();
    let ours = collections["collections"].as_array().unwrap().iter().find(|c| c["title"] == "Submissions of acme");
    let id = ours.expect("the partner's collection")["id"].as_str().unwrap().to_string();

    // medallion's collection "for testing adding objects" starts empty, as
    // the partner's collection does.
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/taxii_compare.py");
    let out = Command::new("python3")
        .arg(script)
        .arg(&data)
        .arg(format!("http://127.0.0.1:{medallion_port}/trustgroup1/collections/365fed99-08fa-fdcd-a1b3-fb247eb41d01/"))
        .arg("admin:Password0")
        .arg(format!("http://127.0.0.1:{}/taxii2/api/collections/{id}/", server.port))
        .arg(&token)
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{report}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(report.contains("0 of 21 requests answered differently"), "{report}");
}
