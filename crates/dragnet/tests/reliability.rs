//! Crash consistency and concurrency of `dragnet ingest`, on the embedded
//! store and on PostgreSQL: SIGKILL at random moments leaves every file
//! wholly present or wholly absent; concurrent ingests end as sequential
//! ones do; readers never wait for a writer; a lock is reported as a lock.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Where a test's store lives.
enum Backend {
    Sqlite(tempfile::TempDir),
    Postgres { url: String, schema: String, admin: Box<postgres::Client> },
}

impl Backend {
    fn sqlite() -> Backend {
        Backend::Sqlite(tempfile::tempdir().unwrap())
    }

    fn postgres() -> Option<Backend> {
        let mut admin = dragnet_testkit::postgres_admin()?;
        let schema = dragnet_testkit::unique_name("reliability");
        admin.batch_execute(&format!("CREATE SCHEMA {schema}")).unwrap();
        let url = format!("{}?options=-c%20search_path%3D{schema}", dragnet_testkit::postgres_url());
        Some(Backend::Postgres { url, schema, admin: Box::new(admin) })
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_dragnet"));
        c.env_remove("DRAGNET_STORE").env_remove("DRAGNET_BUSY_TIMEOUT");
        match self {
            Backend::Sqlite(dir) => c.arg("--data").arg(dir.path()),
            Backend::Postgres { url, .. } => c.args(["--store", url]),
        };
        c.args(args).stdout(Stdio::piped()).stderr(Stdio::piped());
        c
    }

    fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("run dragnet")
    }

    /// Observations per input file, and sources that hold none.
    fn state(&mut self) -> (BTreeMap<String, i64>, i64) {
        const PER_ORIGIN: &str =
            "SELECT g.origin, COUNT(*) FROM observations o JOIN origins g ON g.id = o.origin_id GROUP BY g.origin";
        const EMPTY_SOURCES: &str =
            "SELECT COUNT(*) FROM sources s WHERE NOT EXISTS (SELECT 1 FROM observations o WHERE o.source_id = s.id)";
        // Opening the store (and migrating a new one) must work after any kill.
        let stats = self.run(&["stats", "--json"]);
        assert!(stats.status.success(), "the store does not open: {}", String::from_utf8_lossy(&stats.stderr));
        match self {
            Backend::Sqlite(dir) => {
                let db = rusqlite::Connection::open(dir.path().join("dragnet.sqlite")).unwrap();
                let mut stmt = db.prepare(PER_ORIGIN).unwrap();
                let counts = stmt
                    .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
                    .unwrap()
                    .map(Result::unwrap)
                    .collect();
                (counts, db.query_row(EMPTY_SOURCES, [], |r| r.get(0)).unwrap())
            }
            Backend::Postgres { schema, admin, .. } => {
                admin.batch_execute(&format!("SET search_path = {schema}")).unwrap();
                let counts = admin.query(PER_ORIGIN, &[]).unwrap().iter().map(|r| (r.get(0), r.get(1))).collect();
                let empty = admin.query_one(EMPTY_SOURCES, &[]).unwrap().get(0);
                admin.batch_execute("SET search_path = public").unwrap();
                (counts, empty)
            }
        }
    }
}

impl Drop for Backend {
    fn drop(&mut self) {
        if let Backend::Postgres { schema, admin, .. } = self {
            let _ = admin.batch_execute(&format!("DROP SCHEMA {schema} CASCADE"));
        }
    }
}

/// `files` plain feeds of `lines` distinct IPs each (file `i` holds 10.i.*.*).
fn feeds(dir: &Path, files: usize, lines: usize) -> BTreeMap<String, i64> {
    let mut expected = BTreeMap::new();
    for f in 0..files {
        let path = dir.join(format!("feed-{f:02}.txt"));
        let body: String = (0..lines).map(|i| format!("10.{f}.{}.{}\n", (i >> 8) & 255, i & 255)).collect();
        std::fs::write(&path, body).unwrap();
        expected.insert(path.display().to_string(), lines as i64);
    }
    expected
}

/// SplitMix64: random but repeatable kill moments.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        (z ^ (z >> 31)) % n.max(1)
    }
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Every file wholly present or wholly absent, and no source without data.
fn assert_all_or_nothing(backend: &mut Backend, expected: &BTreeMap<String, i64>, when: &str) -> usize {
    let (counts, empty_sources) = backend.state();
    for (origin, n) in &counts {
        assert_eq!(Some(n), expected.get(origin), "{when}: {origin} is half-written ({n} observations)");
    }
    assert_eq!(empty_sources, 0, "{when}: a source was left without observations");
    counts.len()
}

/// Kills `ingest` at random moments, each time in a fresh store, then
/// finishes that ingest and compares the store with a clean run's.
fn crash_trials(make: impl Fn() -> Option<Backend>, kills: usize, seed: u64) {
    let dir = tempfile::tempdir().unwrap();
    let expected = feeds(dir.path(), 6, 2_000);
    let feed = dir.path().display().to_string();
    let ingest = ["ingest", feed.as_str(), "--source", "partner", "--json"];

    let Some(mut clean) = make() else { return };
    let started = Instant::now();
    let out = clean.run(&ingest);
    let full = started.elapsed();
    assert!(out.status.success(), "{}", stderr(&out));
    let clean_state = clean.state();
    assert_eq!(clean_state.0, expected);

    let mut rng = Rng(seed);
    let (mut partial, mut empty) = (0, 0);
    for kill in 0..kills {
        let Some(mut backend) = make() else { return };
        let mut child: Child = backend.command(&ingest).spawn().unwrap();
        std::thread::sleep(Duration::from_millis(rng.below(full.as_millis() as u64)));
        let _ = child.kill();
        child.wait().unwrap();
        let present = assert_all_or_nothing(&mut backend, &expected, &format!("kill {kill}"));
        partial += usize::from(present > 0 && present < expected.len());
        empty += usize::from(present == 0);
        let out = backend.run(&ingest);
        assert!(out.status.success(), "finishing after kill {kill}: {}", stderr(&out));
        assert_eq!(backend.state(), clean_state, "the store after kill {kill} differs from a clean run");
    }
    eprintln!(
        "{kills} kills: {partial} left some files, {empty} left none; a full ingest takes {:.2} s",
        full.as_secs_f64()
    );
    assert!(partial > 0, "no kill landed between two files: the trials tested nothing");
}

#[test]
fn killed_ingests_leave_whole_files_on_sqlite() {
    crash_trials(|| Some(Backend::sqlite()), 20, 1);
}

#[test]
fn killed_ingests_leave_whole_files_on_postgres() {
    crash_trials(Backend::postgres, 20, 2);
}

/// Four ingests at once end as the same four in sequence, with no lock errors.
fn concurrent_ingests(make: impl Fn() -> Option<Backend>) {
    let dir = tempfile::tempdir().unwrap();
    let expected = feeds(dir.path(), 4, 10_000);
    let paths: Vec<&String> = expected.keys().collect();
    let Some(mut sequential) = make() else { return };
    for (i, path) in paths.iter().enumerate() {
        let out = sequential.run(&["ingest", path, "--source", &format!("partner-{i}")]);
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let Some(mut concurrent) = make() else { return };
    let children: Vec<Child> = paths
        .iter()
        .enumerate()
        .map(|(i, path)| concurrent.command(&["ingest", path, "--source", &format!("partner-{i}")]).spawn().unwrap())
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        let err = stderr(&out);
        assert!(out.status.success(), "a concurrent ingest failed: {err}");
        assert!(!err.contains("locked") && !err.contains("busy"), "{err}");
    }
    assert_eq!(concurrent.state(), sequential.state());
}

#[test]
fn concurrent_ingests_end_as_sequential_ones_on_sqlite() {
    concurrent_ingests(|| Some(Backend::sqlite()));
}

#[test]
fn concurrent_ingests_end_as_sequential_ones_on_postgres() {
    concurrent_ingests(Backend::postgres);
}

/// Waits for `child` up to `limit`; a child still running then is killed
/// and reported, so a reader stuck behind a writer fails the test instead
/// of hanging it.
fn finish_within(mut child: Child, limit: Duration, what: &str) -> Output {
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > limit {
            let _ = child.kill();
            panic!("{what} was still waiting after {} s", limit.as_secs());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

#[test]
fn readers_never_wait_for_a_writer_and_a_lock_is_reported_as_such() {
    let dir = tempfile::tempdir().unwrap();
    let expected = feeds(dir.path(), 1, 100);
    let feed = expected.keys().next().unwrap().clone();
    let backend = Backend::sqlite();
    let out = backend.run(&["ingest", &feed, "--source", "partner"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let Backend::Sqlite(data) = &backend else { unreachable!() };

    // Another process's write transaction, held open.
    let writer = rusqlite::Connection::open(data.path().join("dragnet.sqlite")).unwrap();
    writer.execute_batch("BEGIN IMMEDIATE; INSERT INTO origins (origin) VALUES ('held');").unwrap();
    for args in [&["lookup", "10.0.0.1", "--json"][..], &["stats", "--json"], &["sources"]] {
        let out = finish_within(backend.command(args).spawn().unwrap(), Duration::from_secs(60), args[0]);
        assert!(out.status.success(), "{}: {}", args[0], stderr(&out));
    }
    let lookup = finish_within(
        backend.command(&["lookup", "10.0.0.1", "--json"]).spawn().unwrap(),
        Duration::from_secs(60),
        "lookup",
    );
    assert!(String::from_utf8_lossy(&lookup.stdout).contains("\"found\": true"), "the reader sees committed data");

    // A writer that gives up says the store is busy, not that the input was empty.
    let mut impatient = backend.command(&["ingest", &feed, "--source", "other"]);
    impatient.env("DRAGNET_BUSY_TIMEOUT", "1");
    let out = finish_within(impatient.spawn().unwrap(), Duration::from_secs(60), "ingest");
    let err = stderr(&out);
    assert!(!out.status.success());
    assert!(err.contains("busy") && !err.contains("nothing usable"), "{err}");

    // A patient writer waits and then succeeds.
    let patient = backend.command(&["ingest", &feed, "--source", "other"]).spawn().unwrap();
    std::thread::sleep(Duration::from_millis(500));
    writer.execute_batch("ROLLBACK").unwrap();
    let out = finish_within(patient, Duration::from_secs(120), "ingest");
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn many_processes_opening_a_new_store_at_once_all_succeed() {
    let dir = tempfile::tempdir().unwrap();
    let feed: PathBuf = dir.path().join("one.txt");
    std::fs::write(&feed, "192.0.2.1\n").unwrap();
    let backend = Backend::sqlite();
    let feed = feed.display().to_string();
    let children: Vec<(Child, &str)> = (0..24)
        .map(|i| {
            let args: &[&str] = match i % 3 {
                0 => &["stats", "--json"],
                1 => &["lookup", "192.0.2.1"],
                _ => &["ingest", &feed, "--source", "partner"],
            };
            (backend.command(args).spawn().unwrap(), args[0])
        })
        .collect();
    for (child, what) in children {
        let out = finish_within(child, Duration::from_secs(120), what);
        assert!(out.status.success(), "{what}: {}", stderr(&out));
    }
}
