//! `dragnet serve` end to end: a real server process on loopback over a
//! real store. Every route of its own OpenAPI document is walked without a
//! token, with an expired and a revoked token, and with a token of an
//! organisation that may not see the data: none of them ever gets it.

mod common;

use std::path::Path;

use common::{Server, dragnet};
use serde_json::Value;

/// An AMBER+STRICT report by partner-a: only it and the coordinators may see it.
const SECRET: &str = "45.9.9.9";
const SECRET_SOURCE: &str = "partner-a";
/// A TLP:CLEAR report anyone may see.
const OPEN: &str = "45.8.8.8";

fn ok(data: &Path, args: &[&str]) -> String {
    let run = dragnet(data, args);
    assert_eq!(run.code, 0, "dragnet {args:?}: {}{}", run.stdout, run.stderr);
    run.stdout.trim().to_string()
}

struct World {
    data: tempfile::TempDir,
    coordinator: String,
    police: String,
    outsider: String,
    submitter: String,
    expired: String,
    revoked: String,
}

fn world() -> World {
    let data = tempfile::tempdir().unwrap();
    let d = data.path();
    std::fs::write(d.join("secret.txt"), format!("{SECRET}\nc2.secret-marker.net\n")).unwrap();
    std::fs::write(d.join("open.txt"), format!("{OPEN}\n")).unwrap();
    ok(d, &["org", "add", "coord", "--kind", "coordinator"]);
    ok(d, &["org", "add", "police-ee", "--kind", "agency", "--country", "EE", "--prefix", "45.8.0.0/16"]);
    ok(d, &["org", "add", "outsider", "--kind", "partner"]);
    ok(d, &["org", "add", SECRET_SOURCE, "--kind", "partner"]);
    ok(
        d,
        &["op", "create", "Endgame", "--from", "2024-01-01", "--to", "2024-12-31", "--participant", "police-ee=agency"],
    );
    let secret = d.join("secret.txt");
    ok(
        d,
        &[
            "ingest",
            secret.to_str().unwrap(),
            "--source",
            SECRET_SOURCE,
            "--tlp",
            "amber+strict",
            "--category",
            "botnet-c2",
        ],
    );
    ok(d, &["share", SECRET_SOURCE, "--owner", SECRET_SOURCE, "--with", "kind:coordinator"]);
    let open = d.join("open.txt");
    ok(d, &["ingest", open.to_str().unwrap(), "--source", "open-feed", "--tlp", "clear", "--category", "scanning"]);
    let built = dragnet(d, &["--json", "package", "build", "--for", "police-ee"]).json();
    assert_eq!(built["package"]["servers"].as_array().map(Vec::len), Some(1), "{built}");
    let token = |org: &str, role: &str| ok(d, &["token", "create", "--org", org, "--role", role]);
    let soon = dragnet_core::format_timestamp(
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64 + 1,
    );
    let expired = ok(d, &["token", "create", "--org", "coord", "--role", "admin", "--expires", &soon]);
    let revoked = token("coord", "admin");
    let listed = dragnet(d, &["--json", "token", "list"]).json();
    let id = listed.as_array().unwrap().last().unwrap()["id"].to_string();
    ok(d, &["token", "revoke", &id]);
    let world = World {
        coordinator: token("coord", "admin"),
        police: token("police-ee", "reader"),
        outsider: token("outsider", "analyst"),
        submitter: token(SECRET_SOURCE, "submitter"),
        expired,
        revoked,
        data,
    };
    // Let the expired token's second pass.
    std::thread::sleep(std::time::Duration::from_millis(2100));
    world
}

/// Each documented route as (method, concrete path, body).
fn routes(spec: &Value, server_id: &str) -> Vec<(String, String, Option<Vec<u8>>)> {
    let mut out = Vec::new();
    for (path, methods) in spec["paths"].as_object().unwrap() {
        for method in methods.as_object().unwrap().keys() {
            let id = if path.starts_with("/api/v1/packages") { "1" } else { server_id };
            let concrete = path
                .replace("{value}", SECRET)
                .replace("{id}", id)
                .replace("{server}", server_id)
                .replace("{name}", "Endgame")
                .replace("{entry}", "1")
                .replace("{sha256}", &"ab".repeat(32));
            let (concrete, body) = match (method.as_str(), path.as_str()) {
                ("post", "/api/v1/lookup") => (concrete, Some(format!(r#"{{"values": ["{SECRET}"]}}"#).into_bytes())),
                ("post", "/api/v1/packages") => (format!("{concrete}?for=police-ee"), None),
                ("post", "/api/v1/takedowns") => {
                    let body = serde_json::json!({"servers": [server_id], "to": "validated", "reason": "walk"});
                    (concrete, Some(body.to_string().into_bytes()))
                }
                ("post", "/api/v1/evidence/{sha256}/custody") => {
                    (concrete, Some(br#"{"from": "police-ee", "to": "coord"}"#.to_vec()))
                }
                ("post", "/api/v1/operations/{name}/evidence") => {
                    (format!("{concrete}?name=image.bin&holder=police-ee"), Some(b"walk".to_vec()))
                }
                ("post", "/api/v1/operations/{name}/suspects") => {
                    let body = r#"{"agency": "police-ee", "alias": "walker", "retain_until": "2099-01-01"}"#;
                    (concrete, Some(body.as_bytes().to_vec()))
                }
                ("post", "/api/v1/notices") => {
                    (concrete, Some(serde_json::json!({"servers": [server_id]}).to_string().into_bytes()))
                }
                ("post", "/api/v1/contacts") => (concrete, Some(b"AS64500,abuse@walk.example\n".to_vec())),
                ("post", "/api/v1/operations") => {
                    (concrete, Some(br#"{"name": "walk", "from": "2024-01-01", "to": "2024-02-01"}"#.to_vec()))
                }
                ("post", "/api/v1/operations/{name}/actions") => {
                    let body = r#"{"kind": "arrest", "agency": "police-ee", "country": "EE", "date": "2024-05-01"}"#;
                    (concrete, Some(body.as_bytes().to_vec()))
                }
                ("get", "/api/v1/packages/{id}/export") => (format!("{concrete}?format=stix"), None),
                ("get", "/api/v1/blocklist") => (format!("{concrete}?format=plain"), None),
                ("get", "/api/v1/decisions/stream") => (format!("{concrete}?startup=true"), None),
                ("post", "/api/v1/submissions") => {
                    (format!("{concrete}?source={SECRET_SOURCE}"), Some(b"45.7.7.7\n".to_vec()))
                }
                _ => (concrete, None),
            };
            out.push((method.to_uppercase(), concrete, body));
        }
    }
    out
}

#[test]
fn no_route_serves_data_to_a_caller_who_may_not_see_it() {
    let w = world();
    let log = w.data.path().join("serve.log");
    let server = Server::start_logging(w.data.path(), &[], &["--rate", "1000"], Some(&log));
    let spec = server.get("/api/v1/openapi.json", None).json();
    assert_eq!(spec["openapi"], "3.1.0");
    let seen = server.get(&format!("/api/v1/servers/{SECRET}"), Some(&w.coordinator));
    assert_eq!(seen.status, 200, "{}", seen.body);
    let server_id = seen.json()["id"].as_str().unwrap().to_string();
    let routes = routes(&spec, &server_id);
    assert!(routes.len() >= 10, "{routes:?}");
    for (method, path, body) in &routes {
        let public = path.starts_with("/api/v1/public/");
        for (who, token) in [("no token", None), ("expired", Some(&w.expired)), ("revoked", Some(&w.revoked))] {
            let r = server.request(method, path, token.map(String::as_str), body.as_deref());
            if public {
                assert_eq!(r.status, 200, "{who} {method} {path}: {}", r.body);
                assert_eq!(r.json()["found"], false, "{who} {method} {path}: {}", r.body);
            } else {
                assert_eq!(r.status, 401, "{who} {method} {path}: {}", r.body);
                assert_eq!(r.json()["code"], "unauthenticated");
                assert_eq!(r.header("www-authenticate"), Some("Bearer"));
            }
            assert!(!r.body.contains(SECRET_SOURCE), "{who} {method} {path} leaked: {}", r.body);
        }
        // An organisation the data was not shared with: refused, not found,
        // or answered without it.
        let r = server.request(method, path, Some(&w.outsider), body.as_deref());
        assert!([200, 403, 404].contains(&r.status), "outsider {method} {path}: {} {}", r.status, r.body);
        assert!(!r.body.contains("secret-marker"), "outsider {method} {path} leaked: {}", r.body);
        // A refusal may echo what was asked; an answer must hold nothing of it.
        if r.status == 200 {
            assert!(!r.body.contains(SECRET_SOURCE), "outsider {method} {path} leaked: {}", r.body);
        }
    }
    // The control: the coordinator does see it, so the walk above could fail.
    let r = server.get(&format!("/api/v1/lookup/{SECRET}"), Some(&w.coordinator));
    assert_eq!(
        (r.status, r.json()["found"].clone(), r.json()["sources"][0].clone()),
        (200, Value::Bool(true), Value::from(SECRET_SOURCE))
    );
    let r = server.get(&format!("/api/v1/lookup/{SECRET}"), Some(&w.police));
    assert_eq!(r.json()["found"], false, "AMBER+STRICT not shared with the agency: {}", r.body);
    // Blocklists and decisions hold the secret value for the coordinator only.
    for path in ["/api/v1/blocklist?format=plain", "/api/v1/decisions/stream?startup=true"] {
        let seen = server.get(path, Some(&w.coordinator));
        assert!(seen.status == 200 && seen.body.contains(SECRET), "{path}: {}", seen.body);
        for token in [&w.outsider, &w.police] {
            let r = server.get(path, Some(token));
            assert!(r.status == 200 && !r.body.contains(SECRET), "{path} leaked: {}", r.body);
        }
    }
    // CLEAR is for everyone, also on the public path.
    let r = server.get(&format!("/api/v1/public/lookup/{OPEN}"), None);
    assert_eq!((r.status, r.json()["found"].clone()), (200, Value::Bool(true)));
    let r = server.get(&format!("/api/v1/lookup/{OPEN}"), Some(&w.outsider));
    assert_eq!(r.json()["sources"], serde_json::json!(["open-feed"]));
    assert_eq!(server.get("/api/v1/stats", Some(&w.outsider)).status, 403);
    // The agency reads its own package; nobody else but a coordinator does.
    let r = server.get("/api/v1/packages/1", Some(&w.police));
    assert_eq!((r.status, r.json()["agency"].clone()), (200, Value::from("police-ee")), "{}", r.body);
    assert!(r.body.contains(OPEN) && !r.body.contains(SECRET_SOURCE), "{}", r.body);
    assert_eq!(server.get("/api/v1/packages/1", Some(&w.outsider)).status, 404);
    assert_eq!(server.request("POST", "/api/v1/packages?for=police-ee", Some(&w.police), None).status, 403);
    let r = server.request("POST", "/api/v1/packages?for=police-ee", Some(&w.coordinator), None);
    assert_eq!((r.status, r.json()["package"]["version"].clone()), (200, Value::from(2)), "{}", r.body);
    // A token revoked while the server runs stops working within a second.
    assert_eq!(server.get("/api/v1/sources", Some(&w.police)).status, 200);
    let listed = dragnet(w.data.path(), &["--json", "token", "list"]).json();
    let police = listed.as_array().unwrap().iter().find(|t| t["org"] == "police-ee").unwrap()["id"].to_string();
    ok(w.data.path(), &["token", "revoke", &police]);
    std::thread::sleep(std::time::Duration::from_millis(1100));
    assert_eq!(server.get("/api/v1/sources", Some(&w.police)).status, 401);
    assert_eq!(server.terminate().code(), Some(0), "SIGTERM ends the server cleanly");
    // The log names requests, never a token.
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(logged.contains("/api/v1/lookup/{value}"), "{logged}");
    for secret in [&w.coordinator, &w.police, &w.outsider, &w.submitter, &w.expired, &w.revoked] {
        assert!(!logged.contains(secret.as_str()), "a token is in the log");
    }
}

#[test]
fn submissions_write_only_to_the_callers_own_sources() {
    let w = world();
    let server = Server::start(w.data.path(), &[], &["--rate", "1000", "--max-body", "100000"]);
    let post = |path: &str, token: &str, body: &[u8]| server.request("POST", path, Some(token), Some(body));
    let r = post(&format!("/api/v1/submissions?source={SECRET_SOURCE}"), &w.submitter, b"45.7.7.7\nnot a value\n");
    assert_eq!(r.status, 200, "{}", r.body);
    let report = r.json();
    assert_eq!((report["accepted"].as_u64(), report["rejected"].as_u64()), (Some(1), Some(1)), "{report}");
    assert_eq!(report["files"][0]["rejects"][0]["line"], 2);
    // Another organisation's source, or an unowned one, is refused.
    assert_eq!(post("/api/v1/submissions?source=open-feed", &w.submitter, b"45.6.6.6\n").status, 403);
    assert_eq!(post(&format!("/api/v1/submissions?source={SECRET_SOURCE}"), &w.outsider, b"45.6.6.6\n").status, 403);
    // A reader may not write at all.
    assert_eq!(post("/api/v1/submissions?source=police-feed", &w.police, b"45.6.6.6\n").status, 403);
    // A new source becomes the submitter's own, shared with coordinators only.
    let r = post("/api/v1/submissions?source=partner-a-extra", &w.submitter, b"45.5.5.5\n");
    assert_eq!(r.status, 200, "{}", r.body);
    let sharing = dragnet(w.data.path(), &["--json", "share", "partner-a-extra", "--owner", SECRET_SOURCE]).json();
    assert_eq!(sharing["sharing"]["owner"], SECRET_SOURCE);
    // Nothing usable: 422 and nothing written; too large: 413.
    let r = post(&format!("/api/v1/submissions?source={SECRET_SOURCE}"), &w.submitter, b"no values here\n");
    assert_eq!(r.status, 422, "{}", r.body);
    let big = vec![b'#'; 200_000];
    assert_eq!(post(&format!("/api/v1/submissions?source={SECRET_SOURCE}"), &w.submitter, &big).status, 413);
    // What was submitted is found like an ingested file.
    let r = server.get("/api/v1/lookup/45.7.7.7", Some(&w.coordinator));
    assert_eq!(r.json()["sources"], serde_json::json!([SECRET_SOURCE]));
    let r = server.request(
        "POST",
        "/api/v1/lookup",
        Some(&w.coordinator),
        Some(br#"{"values": ["45.7.7.7", "nonsense value"]}"#),
    );
    let lines = r.json();
    assert_eq!((lines[0]["found"].clone(), lines[1]["error"].is_string()), (Value::Bool(true), true), "{lines}");
}

#[test]
fn each_token_is_rate_limited_with_retry_after() {
    let w = world();
    let server = Server::start(w.data.path(), &[], &["--rate", "5"]);
    let statuses: Vec<_> = (0..30).map(|_| server.get("/api/v1/sources", Some(&w.police))).collect();
    let refused = statuses.iter().find(|r| r.status == 429).expect("a burst beyond twice the rate is refused");
    assert_eq!(refused.json()["code"], "rate_limited");
    assert!(refused.header("retry-after").is_some_and(|s| s.parse::<u64>().is_ok_and(|n| n >= 1)));
    // Another token has its own bucket.
    assert_eq!(server.get("/api/v1/sources", Some(&w.coordinator)).status, 200);
}

#[test]
fn two_servers_share_one_postgresql_store() {
    let url = dragnet_testkit::postgres_url();
    let Some(mut admin) = dragnet_testkit::postgres_admin() else { return };
    let schema = dragnet_testkit::unique_name("serve");
    admin.batch_execute(&format!("CREATE SCHEMA {schema}")).unwrap();
    let store = format!("{url}?options=-c%20search_path%3D{schema}");
    let data = tempfile::tempdir().unwrap();
    let d = data.path();
    let with_store = |args: &[&str]| {
        let mut full = vec!["--store", store.as_str()];
        full.extend_from_slice(args);
        ok(d, &full)
    };
    with_store(&["org", "add", "coord", "--kind", "coordinator"]);
    with_store(&["org", "add", "isp", "--kind", "partner"]);
    let coordinator = with_store(&["token", "create", "--org", "coord", "--role", "admin"]);
    let submitter = with_store(&["token", "create", "--org", "isp", "--role", "submitter"]);
    let one = Server::start(d, &["--store", &store], &[]);
    let two = Server::start(d, &["--store", &store], &[]);
    let values: Vec<String> = (1..=40).map(|i| format!("45.3.{}.{}", i / 10, i)).collect();
    // Both write concurrently, then each reads what the other wrote.
    std::thread::scope(|s| {
        for (n, server) in [&one, &two].into_iter().enumerate() {
            let (values, submitter) = (&values, &submitter);
            s.spawn(move || {
                for chunk in values.chunks(4).skip(n).step_by(2) {
                    let body = chunk.join("\n");
                    let r = server.request(
                        "POST",
                        "/api/v1/submissions?source=isp-feed",
                        Some(submitter),
                        Some(body.as_bytes()),
                    );
                    assert_eq!(r.status, 200, "{}", r.body);
                }
            });
        }
    });
    // A server answers lookups from its snapshot, which follows the other
    // server's writes within about a second (the time to notice the store's
    // new generation and read it again).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    for (i, v) in values.iter().enumerate() {
        let server = if i % 2 == 0 { &one } else { &two };
        loop {
            let r = server.get(&format!("/api/v1/lookup/{v}"), Some(&coordinator));
            if r.json()["found"] == true {
                break;
            }
            assert!(std::time::Instant::now() < deadline, "{v} via server {}: {}", i % 2 + 1, r.body);
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }
    // Each server sees its own writes at once.
    for chunk in values.chunks(4) {
        let body = chunk.join("\n");
        let r = one.request("POST", "/api/v1/submissions?source=isp-feed2", Some(&submitter), Some(body.as_bytes()));
        assert_eq!(r.status, 200, "{}", r.body);
        let r = one.get(&format!("/api/v1/lookup/{}", chunk[0]), Some(&coordinator));
        assert!(r.json()["sources"].as_array().unwrap().iter().any(|s| s == "isp-feed2"), "{}", r.body);
    }
    drop((one, two));
    admin.batch_execute(&format!("DROP SCHEMA {schema} CASCADE")).unwrap();
}

/// schemathesis (from PyPI; `scripts/test` installs it) generates requests
/// from the OpenAPI document: no answer may be a 5xx, an undocumented
/// status or content type, or a body that breaks its own schema.
#[test]
fn schemathesis_finds_no_server_error_and_no_schema_break() {
    let Some(schemathesis) = dragnet_testkit::oracle("schemathesis") else { return };
    let w = world();
    ok(w.data.path(), &["demo", "--feeds"]);
    let server = Server::start(w.data.path(), &[], &["--rate", "100000"]);
    let url = format!("http://127.0.0.1:{}/api/v1/openapi.json", server.port);
    let seed = std::env::var("DRAGNET_SCHEMATHESIS_SEED").unwrap_or_else(|_| "1".into());
    let out = std::process::Command::new(schemathesis)
        // Its cache goes to the working folder: a temporary one, not the repository.
        .current_dir(w.data.path())
        .args(["run", &url, "--header", &format!("Authorization: Bearer {}", w.coordinator)])
        .args([
            "--checks",
            "not_a_server_error,response_schema_conformance,content_type_conformance,status_code_conformance",
        ])
        .args(["--max-examples", "50", "--seed", &seed])
        .output()
        .expect("run schemathesis");
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "schemathesis found failures:\n{report}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(report.contains("passed"), "{report}");
}

/// taxii2-client (OASIS, from PyPI) reads the collections page by page and
/// posts an envelope whose status it polls; the objects posted become the
/// partner's observations.
#[test]
fn taxii2_client_pages_collections_and_posts() {
    let python =
        std::process::Command::new("python3").args(["-c", "import taxii2client"]).status().is_ok_and(|s| s.success());
    if !python {
        assert!(
            std::env::var_os("DRAGNET_SKIP_ORACLES").is_some(),
            "taxii2-client is missing: run scripts/test, or set DRAGNET_SKIP_ORACLES=1"
        );
        return;
    }
    let w = world();
    let server = Server::start(w.data.path(), &[], &["--rate", "1000"]);
    let base = format!("http://127.0.0.1:{}", server.port);
    let oracle = |token: &str, page: &str| {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/taxii_oracle.py");
        let out = std::process::Command::new("python3").arg(script).args([&base, token, page]).output().unwrap();
        assert!(out.status.success(), "taxii2-client: {}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice::<Value>(&out.stdout).unwrap()
    };
    let exported = dragnet(w.data.path(), &["export", "--format", "stix", "--package", "1"]).stdout;
    let objects = serde_json::from_str::<Value>(&exported).unwrap()["objects"].as_array().unwrap().len() as u64;
    let seen = oracle(&w.coordinator, "2");
    let police = &seen["collections"]["Packages for police-ee"];
    assert_eq!(police["objects"].as_u64(), Some(objects), "{seen}");
    assert_eq!(police["pages"].as_u64(), Some(objects.div_ceil(2)), "two a page: {seen}");
    assert_eq!(police["manifest"].as_u64(), Some(objects.min(100)));
    // The outsider is not shown the agency's collection, and may not read it.
    let outsider = oracle(&w.outsider, "50");
    assert!(outsider["collections"].get("Packages for police-ee").is_none(), "{outsider}");
    let collections = server.get("/taxii2/api/collections/", Some(&w.coordinator)).json();
    let id =
        collections["collections"].as_array().unwrap().iter().find(|c| c["title"] == "Packages for police-ee").unwrap()
            ["id"]
            .as_str()
            .unwrap()
            .to_string();
    let r = server.get(&format!("/taxii2/api/collections/{id}/objects/"), Some(&w.outsider));
    assert_eq!((r.status, r.header("content-type")), (404, Some("application/taxii+json;version=2.1")), "{}", r.body);
    assert_eq!(server.get("/taxii2/api/collections/", None).status, 401);
    // One object, its versions, and one that is not there.
    let first = server
        .get(&format!("/taxii2/api/collections/{id}/objects/?limit=1&match[type]=indicator"), Some(&w.coordinator));
    assert!(first.header("x-taxii-date-added-first").is_some(), "{:?}", first.headers);
    let oid = first.json()["objects"][0]["id"].as_str().unwrap().to_string();
    let one = server.get(&format!("/taxii2/api/collections/{id}/objects/{oid}/"), Some(&w.coordinator)).json();
    assert_eq!((one["objects"].as_array().map(Vec::len), one["more"].clone()), (Some(1), Value::Bool(false)), "{one}");
    let versions =
        server.get(&format!("/taxii2/api/collections/{id}/objects/{oid}/versions/"), Some(&w.coordinator)).json();
    assert_eq!(versions["versions"].as_array().map(Vec::len), Some(1), "{versions}");
    let missing = server.get(
        &format!("/taxii2/api/collections/{id}/objects/indicator--00000000-0000-4000-8000-000000000000/"),
        Some(&w.coordinator),
    );
    assert_eq!((missing.status, missing.json()["http_status"].clone()), (404, Value::from("404")));
    let bad = server.get(&format!("/taxii2/api/collections/{id}/objects/?next=junk"), Some(&w.coordinator));
    assert_eq!(bad.status, 400, "{}", bad.body);
    assert_eq!(server.get("/taxii2/", None).status, 200, "discovery is public");
    // `dragnet taxii pull` from another store: everything once, then only what is new.
    let other = tempfile::tempdir().unwrap();
    let pull = |token: &str| {
        let root = format!("{base}/taxii2/api/");
        dragnet(
            other.path(),
            &[
                "--json",
                "taxii",
                "pull",
                &root,
                "--collection",
                &id,
                "--source",
                "remote",
                "--limit",
                "3",
                "--token",
                token,
            ],
        )
        .json()
    };
    let first = pull(&w.coordinator);
    assert_eq!(
        (first["objects"].as_u64(), first["pages"].as_u64()),
        (Some(objects), Some(objects.div_ceil(3))),
        "{first}"
    );
    assert!(first["report"]["accepted"].as_u64().unwrap_or_default() >= 1, "{first}");
    let found = dragnet(other.path(), &["--json", "lookup", OPEN]).json();
    assert_eq!(found[0]["sources"], serde_json::json!(["remote"]), "{found}");
    let second = pull(&w.coordinator);
    assert_eq!(second["objects"], 0, "nothing new: {second}");
    assert_eq!(
        dragnet(
            other.path(),
            &[
                "taxii",
                "pull",
                &format!("{base}/taxii2/api/"),
                "--collection",
                &id,
                "--source",
                "remote",
                "--token",
                &w.outsider
            ]
        )
        .code,
        1,
        "not the outsider's"
    );
    // The partner posts; its status is complete and the value is found.
    let posted = oracle(&w.submitter, "50");
    assert_eq!(posted["posted"]["status"], "complete", "{posted}");
    assert_eq!(posted["posted"]["collection"], format!("Submissions of {SECRET_SOURCE}"));
    // (The outsider, an analyst of a partner, posted to its own collection above.)
    let r = server.get("/api/v1/lookup/45.66.77.88", Some(&w.coordinator));
    let sources = r.json()["sources"].clone();
    assert_eq!(sources, serde_json::json!(["outsider-taxii", format!("{SECRET_SOURCE}-taxii")]), "{}", r.body);
}

/// A package as X-ARF reports over the API: the same reports as
/// `dragnet export --format xarf`, accepted by the xarf library (PyPI).
#[test]
fn packages_export_as_xarf_reports_over_the_api() {
    let w = world();
    let d = w.data.path();
    let server = Server::start(d, &[], &["--rate", "1000"]);
    let reporter = "reporter_org=Coord&reporter_contact=abuse%40coord.example&reporter_domain=coord.example";
    let r = server.get(&format!("/api/v1/packages/1/export?format=xarf&{reporter}"), Some(&w.police));
    assert_eq!(r.status, 200, "{}", r.body);
    let reports = r.json().as_array().cloned().unwrap();
    assert_eq!(reports.len(), 1, "one server in the package: {}", r.body);
    let cli = dragnet(
        d,
        &[
            "export",
            "--format",
            "xarf",
            "--package",
            "1",
            "--reporter-org",
            "Coord",
            "--reporter-contact",
            "abuse@coord.example",
            "--reporter-domain",
            "coord.example",
        ],
    )
    .stdout;
    let from_cli: Vec<Value> = cli.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(reports, from_cli);
    // Without its reporter, or to a caller who may not see the package: no reports.
    let r = server.get("/api/v1/packages/1/export?format=xarf", Some(&w.police));
    assert_eq!((r.status, r.json()["code"].as_str()), (400, Some("invalid")), "{}", r.body);
    let r = server.get(&format!("/api/v1/packages/1/export?format=xarf&{reporter}"), Some(&w.outsider));
    assert_eq!(r.status, 404, "{}", r.body);
    if dragnet_testkit::oracle("python3").is_some() {
        let lines = d.join("api.xarf.jsonl");
        std::fs::write(&lines, reports.iter().map(|r| format!("{r}\n")).collect::<String>()).unwrap();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/xarf_oracle.py");
        let out = std::process::Command::new("python3").arg(script).arg(&lines).output().unwrap();
        assert!(out.status.success(), "xarf refused: {}", String::from_utf8_lossy(&out.stderr));
    }
}

/// Takedowns over the API: moves the lifecycle allows, refusals that name
/// what it would allow, agencies acting only on their own package.
#[test]
fn takedowns_move_through_the_lifecycle_over_the_api() {
    let w = world();
    let d = w.data.path();
    let police_analyst = ok(d, &["token", "create", "--org", "police-ee", "--role", "analyst"]);
    let server = Server::start(d, &[], &["--rate", "1000"]);
    let package = server.get("/api/v1/packages/1", Some(&w.police)).json();
    let id = package["servers"][0]["server"]["id"].as_str().unwrap().to_string();
    let post = |token: &str, body: Value| {
        server.request("POST", "/api/v1/takedowns", Some(token), Some(body.to_string().as_bytes()))
    };
    let r = post(&w.coordinator, serde_json::json!({"servers": [&id], "to": "requested", "reason": "too early"}));
    assert_eq!((r.status, r.json()["code"].as_str()), (400, Some("invalid")), "{}", r.body);
    assert!(r.body.contains("validated, rejected"), "the refusal names the allowed moves: {}", r.body);
    let r = post(&w.coordinator, serde_json::json!({"servers": [&id], "to": "validated", "reason": "  "}));
    assert_eq!(r.status, 400, "a move needs a reason: {}", r.body);
    for (to, who) in [("validated", &w.coordinator), ("attributed", &w.coordinator), ("assigned", &w.coordinator)] {
        let r = post(
            who,
            serde_json::json!({"servers": [&id], "to": to, "reason": format!("to {to}"), "evidence": "ticket 7"}),
        );
        assert_eq!(r.status, 200, "{to}: {}", r.body);
        assert_eq!(r.json()[0]["to"], to);
    }
    // The agency's reader may look but not move; its analyst moves its own server.
    let body = serde_json::json!({"servers": [&id], "to": "requested", "reason": "notice sent"});
    assert_eq!(post(&w.police, body.clone()).status, 403);
    let r = post(&police_analyst, body);
    assert_eq!((r.status, r.json()[0]["by"].as_str()), (200, Some("police-ee")), "{}", r.body);
    // A partner's analyst does not move takedowns at all.
    let r = post(&w.outsider, serde_json::json!({"servers": [&id], "to": "acknowledged", "reason": "x"}));
    assert!([403, 404].contains(&r.status), "{}", r.body);
    let shown = server.get(&format!("/api/v1/takedowns/{id}"), Some(&police_analyst)).json();
    assert_eq!(shown["state"], "requested");
    assert_eq!(shown["next"], serde_json::json!(["acknowledged", "escalated"]));
    let history: Vec<&str> = shown["history"].as_array().unwrap().iter().map(|e| e["to"].as_str().unwrap()).collect();
    assert_eq!(history, ["validated", "attributed", "assigned", "requested"]);
    // By query: every server of the coordinator's view still identified.
    let listed = server.get("/api/v1/takedowns?state=identified", Some(&w.coordinator)).json();
    let waiting = listed.as_array().unwrap().len();
    assert!(waiting >= 1, "{listed}");
    let r = post(&w.coordinator, serde_json::json!({"state": "identified", "to": "rejected", "reason": "triage"}));
    assert_eq!((r.status, r.json().as_array().map(Vec::len)), (200, Some(waiting)), "{}", r.body);
    let left = server.get("/api/v1/takedowns?state=identified", Some(&w.coordinator)).json();
    assert_eq!(left, serde_json::json!([]));
    let r = server.get("/api/v1/takedowns?state=gone", Some(&w.coordinator));
    assert_eq!(r.status, 400);
}

#[test]
fn operations_actions_reports_and_the_audit_log_over_the_api() {
    let w = world();
    let d = w.data.path();
    let police_analyst = ok(d, &["token", "create", "--org", "police-ee", "--role", "analyst"]);
    let server = Server::start(d, &[], &["--rate", "1000"]);
    let post = |path: &str, token: &str, body: Value| {
        server.request("POST", path, Some(token), Some(body.to_string().as_bytes()))
    };
    let op = serde_json::json!({"name": "Morpheus", "from": "2024-05-01", "to": "2024-06-30",
        "scope": ["botnet-c2"], "participants": [{"org": "police-ee", "role": "agency"}]});
    assert_eq!(post("/api/v1/operations", &police_analyst, op.clone()).status, 403, "coordinators open operations");
    let r = post("/api/v1/operations", &w.coordinator, op.clone());
    assert_eq!((r.status, r.json()["participants"][0]["org"].as_str()), (200, Some("police-ee")), "{}", r.body);
    assert_eq!(post("/api/v1/operations", &w.coordinator, op).status, 400, "the name is taken");
    // The agency records its own actions; not another's; data seized needs its hash.
    let action = serde_json::json!({"kind": "house-search", "agency": "police-ee", "country": "EE",
        "date": "2024-05-20", "count": 3});
    let r = post("/api/v1/operations/Morpheus/actions", &police_analyst, action);
    assert_eq!((r.status, r.json()["by"].as_str()), (200, Some("police-ee")), "{}", r.body);
    let seized =
        serde_json::json!({"kind": "data-seized", "agency": "police-ee", "country": "EE", "date": "2024-05-21"});
    assert_eq!(post("/api/v1/operations/Morpheus/actions", &police_analyst, seized).status, 400);
    let r = post(
        "/api/v1/operations/Morpheus/actions",
        &w.outsider,
        serde_json::json!({"kind": "arrest", "agency": "police-ee", "country": "EE", "date": "2024-05-20"}),
    );
    assert_eq!(r.status, 404, "not a participant: {}", r.body);
    // The report, as JSON and as Markdown.
    let r = server.get("/api/v1/operations/Morpheus/report", Some(&w.police));
    assert_eq!((r.status, r.json()["totals"]["house_searches"].as_u64()), (200, Some(3)), "{}", r.body);
    let r = server.get("/api/v1/operations/Morpheus/report?format=md", Some(&w.coordinator));
    assert_eq!(r.header("content-type"), Some("text/markdown; charset=utf-8"));
    assert!(r.body.starts_with("# Operation Morpheus") && r.body.contains("3 house searches"), "{}", r.body);
    assert_eq!(server.get("/api/v1/operations/Morpheus", Some(&w.outsider)).status, 404);
    // Each write is logged and signed (entry 1 is the world's operation,
    // then the new one and the action); the report's reads of the secret
    // AMBER+STRICT source are logged as restricted reads by who made them.
    let r = server.get("/api/v1/audit/verify", Some(&w.coordinator));
    assert_eq!((r.status, r.json()["problems"].clone()), (200, serde_json::json!([])), "{}", r.body);
    assert_eq!(server.get("/api/v1/audit/entries", Some(&w.police)).status, 403);
    let entries = server.get("/api/v1/audit/entries?limit=1000", Some(&w.coordinator)).json();
    // The world's set-up (organisations, tokens, sharing) comes first.
    let changes: Vec<(u64, &str)> = entries
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["seq"].as_u64().unwrap(), e["action"].as_str().unwrap()))
        .filter(|(_, a)| a.starts_with("operation.") || a.starts_with("case."))
        .collect();
    let actions: Vec<&str> = changes.iter().map(|(_, a)| *a).collect();
    assert_eq!(actions[..3], ["operation.create", "operation.create", "case.action"], "{entries}");
    let action_entry = changes[2].0;
    let r = server.get(&format!("/api/v1/audit/proof/{action_entry}"), Some(&w.coordinator));
    assert_eq!((r.status, r.json()["action"].as_str()), (200, Some("case.action")), "{}", r.body);
    assert!(r.json()["tree_size"].as_u64().unwrap() >= action_entry, "{}", r.body);
    let read = |who: &str| {
        let entries = server.get("/api/v1/audit/entries?limit=1000", Some(&w.coordinator)).json();
        entries
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "read.restricted" && e["actor"] == who && e["subject"] == SECRET_SOURCE)
    };
    assert!(read("coord"), "the coordinator's report read the AMBER+STRICT source: {entries}");
    assert!(!read("police-ee"), "the agency was never shown it: {entries}");
    // A lookup answered from the snapshot is logged too, within half a second.
    let seen = server.get(&format!("/api/v1/lookup/{SECRET}"), Some(&w.coordinator));
    assert_eq!(seen.json()["found"], true);
    let before = server.get("/api/v1/audit/entries?limit=1000", Some(&w.coordinator)).json().as_array().unwrap().len();
    let _ = server.get(&format!("/api/v1/lookup/{SECRET}"), Some(&w.coordinator));
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let after = server.get("/api/v1/audit/entries?limit=1000", Some(&w.coordinator)).json().as_array().unwrap().len();
    assert!(after > before, "{before} → {after}");
    // Evidence handed in by the agency, its custody chain read back.
    let image = b"seized server image \x00\x01\x02";
    let r = server.request(
        "POST",
        "/api/v1/operations/Morpheus/evidence?name=image.bin&holder=police-ee",
        Some(&police_analyst),
        Some(image),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let sha = dragnet_core::digest::hex(&dragnet_core::digest::sha256(image));
    assert_eq!(r.json()["sha256"].as_str(), Some(sha.as_str()));
    let r = server.get(&format!("/api/v1/evidence/{sha}"), Some(&w.police));
    assert_eq!((r.status, r.json()["custody"][0]["to"].as_str()), (200, Some("police-ee")), "{}", r.body);
    assert_eq!(server.get(&format!("/api/v1/evidence/{sha}"), Some(&w.outsider)).status, 404);
    let r = server.get("/api/v1/evidence/verify", Some(&w.coordinator));
    assert_eq!(r.json()[0]["status"], "ok", "{}", r.body);
}
