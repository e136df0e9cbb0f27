//! What the end-to-end tests share: running the `dragnet` binary, and a
//! `dragnet serve` process with a minimal HTTP/1.1 client for it.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}\n{}", self.stdout, self.stderr))
    }
}

pub fn dragnet(data: &Path, args: &[&str]) -> Run {
    dragnet_with_env(data, args, &[])
}

/// [`dragnet`] with some environment variables set.
pub fn dragnet_with_env(data: &Path, args: &[&str], env: &[(&str, &Path)]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_dragnet"))
        .arg("--data")
        .arg(data)
        .args(args)
        .env_remove("DRAGNET_STORE")
        .envs(env.iter().copied())
        .output()
        .expect("run dragnet");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Walks the takedown of the server holding `value` from identified to
/// verified offline, one move a command.
pub fn take_offline(data: &Path, value: &str) {
    let shown = dragnet(data, &["--json", "server", value]);
    let server = shown.json()["id"].as_str().unwrap_or_else(|| panic!("no server holds {value}")).to_string();
    for to in
        ["validated", "attributed", "assigned", "requested", "acknowledged", "offline-claimed", "verified-offline"]
    {
        let moved = dragnet(data, &["takedown", "set", &server, "--to", to, "--reason", "test"]);
        assert_eq!(moved.code, 0, "{server} to {to}: {}", moved.stderr);
    }
}

/// A running `dragnet serve`, stopped (SIGKILL) when dropped.
pub struct Server {
    pub child: Child,
    pub port: u16,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl Server {
    /// Starts `dragnet --data DATA [GLOBAL…] serve --listen 127.0.0.1:PORT [ARGS…]`
    /// and waits until it answers `/healthz`.
    pub fn start(data: &Path, global: &[&str], args: &[&str]) -> Server {
        Server::start_logging(data, global, args, None)
    }

    /// As [`Server::start`], its log (standard error) written to `log`.
    pub fn start_logging(data: &Path, global: &[&str], args: &[&str], log: Option<&Path>) -> Server {
        let port = free_port();
        let stderr = match log {
            Some(path) => Stdio::from(std::fs::File::create(path).expect("create the log")),
            None => Stdio::null(),
        };
        let listen = format!("127.0.0.1:{port}");
        let child = Command::new(env!("CARGO_BIN_EXE_dragnet"))
            .arg("--data")
            .arg(data)
            .args(global)
            .args(["serve", "--listen", &listen])
            .args(args)
            .env_remove("DRAGNET_STORE")
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .expect("start dragnet serve");
        let server = Server { child, port };
        let started = Instant::now();
        while server.try_get("/healthz").is_none() {
            assert!(started.elapsed() < Duration::from_secs(30), "dragnet serve did not come up on {listen}");
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }

    fn try_get(&self, path: &str) -> Option<Response> {
        self.try_request("GET", path, None, None)
    }

    pub fn get(&self, path: &str, token: Option<&str>) -> Response {
        self.request("GET", path, token, None)
    }

    pub fn request(&self, method: &str, path: &str, token: Option<&str>, body: Option<&[u8]>) -> Response {
        self.try_request(method, path, token, body).unwrap_or_else(|| panic!("{method} {path}: no answer"))
    }

    fn try_request(&self, method: &str, path: &str, token: Option<&str>, body: Option<&[u8]>) -> Option<Response> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).ok()?;
        stream.set_read_timeout(Some(Duration::from_secs(60))).ok()?;
        let mut head = format!("{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n");
        if let Some(t) = token {
            head.push_str(&format!("Authorization: Bearer {t}\r\n"));
        }
        let body = body.unwrap_or_default();
        if !body.is_empty() || method == "POST" {
            head.push_str(&format!("Content-Length: {}\r\nContent-Type: application/json\r\n", body.len()));
        }
        head.push_str("\r\n");
        stream.write_all(head.as_bytes()).ok()?;
        // A server may answer (413) before reading a large body: that is fine.
        let _ = stream.write_all(body);
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).ok()?;
        Response::parse(&raw)
    }

    /// Sends SIGTERM and waits for the exit status.
    pub fn terminate(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status().expect("kill -TERM");
        let status = self.child.wait().expect("wait for dragnet serve");
        std::mem::forget(self);
        status
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Response {
    fn parse(raw: &[u8]) -> Option<Response> {
        let text = String::from_utf8_lossy(raw);
        let (head, body) = text.split_once("\r\n\r\n")?;
        let mut lines = head.lines();
        let status = lines.next()?.split(' ').nth(1)?.parse().ok()?;
        let headers = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
            .collect();
        Some(Response { status, headers, body: body.to_string() })
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}
