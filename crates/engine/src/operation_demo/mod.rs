//! `dragnet demo`: a whole operation, end to end, on this machine. The
//! simulator writes partners' feeds and telemetry and decides how the
//! world will answer (`truth.json`); Dragnet ingests, detects, fuses and
//! clusters; routes each country's servers to its agency; e-mails notices
//! to a local SMTP sink; applies the providers' and agencies' answers at
//! the simulated times they give; probes loopback stand-ins that stop
//! answering when their server goes down; records the police's case
//! actions; and writes the operation's report. Time is simulated (each
//! move is stamped with its simulated time); only the probes are real.

mod standin;

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use dragnet_core::access::{Org, OrgKind};
use dragnet_core::case::ActionKind;
use dragnet_core::policy::BatchLabels;
use dragnet_core::store::AbuseContact;
use dragnet_core::takedown::State;
use dragnet_core::{Store, Timestamp, parse_timestamp};
use dragnet_ingest::Mapping;
use dragnet_sim::{Scenario, generate};
use serde::Serialize;

use crate::access::Scope;
use crate::export::xarf::Reporter;
use crate::lookup::Context;
use crate::notices::{self, Mailer};
use crate::operations::{self, NewAction, NewOperation};
use crate::report::{self, Report};
use crate::takedown::{self, Move};
use crate::{Error, Result, probe};
use standin::{SmtpSink, StandIn};

/// The demo operation's name.
pub const OPERATION: &str = "Demo";
const HOUR: i64 = 3600;

/// How big a world to simulate.
#[derive(Debug, Clone)]
pub struct Options {
    pub seed: u64,
    pub ips: usize,
    /// The first N of the simulator's 95 countries; none: all.
    pub countries: Option<usize>,
}

/// What the demo did, and where it left things.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    /// The simulated operation's folder (feeds, telemetry, truth.json).
    pub world: PathBuf,
    pub servers: usize,
    pub agencies: usize,
    pub notices_sent: usize,
    pub notices_received: usize,
    pub probe_rounds: usize,
    pub probes: usize,
    pub report_files: Vec<PathBuf>,
    pub report: Report,
}

/// Runs the whole operation into `store` (fresh, or it is refused), with
/// its files under `data`; `step` hears what happens as it happens.
pub fn run(store: &mut dyn Store, data: &Path, options: &Options, step: &mut dyn FnMut(&str)) -> Result<Outcome> {
    if !store.operations()?.is_empty() || store.stats()?.observations > 0 {
        return Err(Error::invalid("the demo runs on an empty store: give it a new --data folder"));
    }
    let scope = Scope::operator();
    let mut scenario = Scenario { seed: options.seed, ips: options.ips, ..Scenario::default() };
    if let Some(n) = options.countries {
        scenario.countries.truncate(n.clamp(1, 95));
    }
    let (files, truth) = generate(&scenario);
    let world = data.join("operation");
    for (rel, bytes) in &files {
        let path = world.join(rel);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(Error::io("create", dir))?;
        }
        std::fs::write(&path, bytes).map_err(Error::io("write", &path))?;
    }
    step(&format!(
        "simulated {} servers ({} IPs) in {} countries, {} partners and a sensor → {}",
        truth.servers.len(),
        options.ips,
        scenario.countries.len(),
        truth.partners.len(),
        world.display()
    ));

    let paths = [world.clone()];
    let request = crate::ingest::Request {
        paths: &paths,
        source: None,
        labels: BatchLabels::default(),
        format: None,
        mapping: &Mapping::default(),
        keep_rejects: false,
    };
    let ingested = crate::ingest::ingest_paths(store, data, &request, &mut ())?;
    step(&format!(
        "ingested feeds and telemetry: {} observations ({} new), {} rejects kept",
        ingested.accepted, ingested.new, ingested.rejected
    ));
    let ctx = Context::load(store, data)?;
    let start = parse_timestamp(&truth.as_of).unwrap_or_else(crate::now);

    // The community: a coordinator, the partners, one agency per country.
    let mut add = |name: &str, kind: OrgKind, countries: Vec<String>| {
        let org =
            Org { name: name.into(), kind, countries, asns: Vec::new(), prefixes: Vec::new(), clients: Vec::new() };
        crate::access::add_org(store, org, crate::access::OPERATOR)
    };
    add("coordination", OrgKind::Coordinator, vec![])?;
    let mut participants = vec![("coordination".to_string(), "coordinator".to_string())];
    for (partner, _) in &truth.partners {
        add(partner, OrgKind::Partner, vec![])?;
        participants.push((partner.clone(), "partner".into()));
    }
    let countries: std::collections::BTreeSet<&str> = truth.servers.iter().map(|s| s.country.as_str()).collect();
    for cc in &countries {
        add(&agency(cc), OrgKind::Agency, vec![cc.to_string()])?;
        participants.push((agency(cc), "agency".into()));
    }
    let new = NewOperation {
        name: OPERATION.into(),
        starts: start - 30 * 24 * HOUR,
        ends: start + 30 * 24 * HOUR,
        scope: Vec::new(),
        participants,
    };
    operations::create(store, &scope, &new, start)?;

    // Which simulated server each of Dragnet's servers stands for.
    let views = crate::servers::compute(store, &ctx, &scope, start, false)?.views;
    let by_value: HashMap<&str, usize> = truth
        .servers
        .iter()
        .enumerate()
        .flat_map(|(i, s)| s.ips.iter().chain(&s.domains).map(move |v| (v.as_str(), i)))
        .collect();
    let mut real: BTreeMap<String, usize> = BTreeMap::new();
    for v in &views {
        let mut votes: HashMap<usize, usize> = HashMap::new();
        for value in v.ips.iter().chain(&v.domains) {
            if let Some(i) = by_value.get(value.as_str()) {
                *votes.entry(*i).or_default() += 1;
            }
        }
        if let Some((i, _)) = votes.into_iter().max_by_key(|(i, n)| (*n, usize::MAX - i)) {
            real.insert(v.id.clone(), i);
        }
    }
    let rejected: Vec<String> = views.iter().filter(|v| !real.contains_key(&v.id)).map(|v| v.id.clone()).collect();
    let confirmed: Vec<String> = real.keys().cloned().collect();
    step(&format!(
        "clustered into {} servers: {} confirmed by triage, {} rejected as false positives",
        views.len(),
        confirmed.len(),
        rejected.len()
    ));
    let at = start + HOUR;
    let mut moves = Moves { store, ctx: &ctx, scope: &scope };
    moves.to(&rejected, State::Rejected, at, "triage: a false positive (resolver, sinkhole, CDN)")?;
    for (to, why) in [
        (State::Validated, "triage: confirmed malicious"),
        (State::Attributed, "hosting provider and country from enrichment"),
        (State::Assigned, "routed to the agency of its country"),
    ] {
        moves.to(&confirmed, to, at, why)?;
    }
    for cc in &countries {
        crate::packages::build(moves.store, &ctx, &agency(cc), at)?;
    }
    step(&format!("packages built for {} agencies", countries.len()));

    // Notices to the abuse desks, through a local SMTP sink.
    let contacts: Vec<AbuseContact> = truth
        .servers
        .iter()
        .map(|s| (s.asn, s.country.clone()))
        .collect::<BTreeMap<_, _>>()
        .into_iter()
        .map(|(asn, cc)| AbuseContact {
            network: format!("AS{asn}"),
            email: format!("abuse@as{asn}.example"),
            name: format!("AS{asn} hosting ({cc})"),
        })
        .collect();
    moves.store.put_contacts(&contacts, crate::access::OPERATOR, at)?;
    let sink = SmtpSink::start(&data.join("mail"))?;
    let mailer = Mailer {
        relay: format!("smtp://{}", sink.address),
        reporter: Reporter {
            org: "Dragnet demo coordination".into(),
            contact: "abuse@coordination.example".into(),
            domain: "coordination.example".into(),
        },
    };
    let with_desk: Vec<String> = {
        let detailed = crate::servers::compute(moves.store, &ctx, &scope, at, true)?.views;
        detailed
            .iter()
            .filter(|v| real.contains_key(&v.id) && !crate::contacts::responsible(&contacts, v).is_empty())
            .map(|v| v.id.clone())
            .collect()
    };
    let notice_at = start + 2 * HOUR;
    let sent = notices::send(moves.store, &ctx, &scope, notice_at, &with_desk, &mailer)?;
    step(&format!(
        "{} takedown notices (X-ARF) e-mailed to {} abuse desks; the local SMTP sink kept {} in {}",
        sent.sent.len(),
        contacts.len(),
        sink.received(),
        data.join("mail").display()
    ));

    // The world answers, at the simulated times the truth gives.
    let mut timeline: BTreeMap<(Timestamp, u8, State), Vec<String>> = BTreeMap::new();
    let mut last = notice_at;
    for s in &sent.sent {
        let Some(r) = real.get(&s.server).and_then(|i| truth.responses.get(*i)) else { continue };
        let (ack, act) = (r.acknowledged_after_hours, r.actioned_after_hours);
        let when = |hours: u32| bucket(notice_at + i64::from(hours) * HOUR);
        match ack {
            Some(h) => timeline.entry((when(h), 0, State::Acknowledged)).or_default().push(s.server.clone()),
            None => timeline.entry((when(72), 0, State::Escalated)).or_default().push(s.server.clone()),
        }
        if let (Some(h), Some(action)) = (act, r.action.as_deref()) {
            let state = match action {
                "seized" => State::Seized,
                "sinkholed" => State::Sinkholed,
                _ => State::OfflineClaimed,
            };
            timeline.entry((when(h), 1, state)).or_default().push(s.server.clone());
        }
    }
    for ((when, _, state), servers) in &timeline {
        let why = match state {
            State::Acknowledged => "the provider answered the notice",
            State::Escalated => "no answer in 72 hours: escalated to the agency",
            State::Seized => "the agency seized the server",
            State::Sinkholed => "the domain and address sinkholed",
            _ => "the provider says it is offline",
        };
        moves.to(servers, *state, *when, why)?;
        last = last.max(*when);
    }
    step(&format!("providers and agencies answered over {} simulated days", (last - notice_at) / (24 * HOUR) + 1));

    // Stand-ins on loopback; a server that really went offline has none.
    let actioned: Vec<&String> = timeline.iter().filter(|((_, o, _), _)| *o == 1).flat_map(|(_, s)| s).collect();
    let detailed: HashMap<String, Vec<String>> = crate::servers::compute(moves.store, &ctx, &scope, last, false)?
        .views
        .into_iter()
        .map(|v| (v.id, v.ips))
        .collect();
    let mut stand_ins: BTreeMap<String, StandIn> = BTreeMap::new();
    let mut config = probe::Config {
        ports: vec![80],
        timeout: std::time::Duration::from_secs(1),
        concurrency: 64,
        per_network_per_second: 1000,
        offline_after: 2,
        connect_to: HashMap::new(),
        mapped_only: true,
        candidates: Vec::new(),
    };
    let mut reserved: BTreeMap<String, SocketAddr> = BTreeMap::new();
    // Every stand-in is bound before any goes dark, so no two share a port.
    for server in &actioned {
        let stand_in = StandIn::start(0)?;
        for ip in detailed.get(*server).into_iter().flatten() {
            if let Ok(ip) = ip.parse() {
                config.connect_to.insert(SocketAddr::new(ip, 80), stand_in.address);
            }
        }
        reserved.insert((*server).clone(), stand_in.address);
        stand_ins.insert((*server).clone(), stand_in);
    }
    let dark = |server: &String| real.get(server).and_then(|i| truth.responses.get(*i)).is_some_and(|r| r.goes_offline);
    stand_ins.retain(|server, _| !dark(server));
    step(&format!(
        "{} stand-ins on loopback: {} still answer (providers that only claimed it), the rest went dark",
        actioned.len(),
        stand_ins.len()
    ));
    let mut rounds = 0;
    let mut probes = 0;
    let mut probe_round = |store: &mut dyn Store, when: Timestamp, step: &mut dyn FnMut(&str)| -> Result<()> {
        let round = probe::round(store, &ctx, &scope, when, Some(OPERATION), &config)?;
        rounds += 1;
        probes += round.probes;
        step(&format!(
            "probe round {rounds}: {} servers, {} answered, {} silent; {} verified offline, {} reappeared",
            round.servers,
            round.answered.len(),
            round.silent.len(),
            round.verified_offline.len(),
            round.reappeared.len()
        ));
        Ok(())
    };
    probe_round(moves.store, last + 24 * HOUR, step)?;
    probe_round(moves.store, last + 48 * HOUR, step)?;
    let verified: Vec<String> = takedown::list(
        moves.store,
        &ctx,
        &scope,
        last + 48 * HOUR,
        &takedown::Selection { state: Some(State::VerifiedOffline), ..Default::default() },
    )?
    .into_iter()
    .map(|r| r.server)
    .collect();
    moves.to(&verified, State::Monitoring, last + 49 * HOUR, "verified: watched for a month")?;
    // Some come back: their stand-ins answer again.
    for server in &verified {
        let back = real.get(server).and_then(|i| truth.responses.get(*i)).is_some_and(|r| r.reappears);
        if let (true, Some(address)) = (back, reserved.get(server)) {
            stand_ins.insert(server.clone(), StandIn::start(address.port())?);
        }
    }
    probe_round(moves.store, last + 96 * HOUR, step)?;
    drop(stand_ins);

    // The police report what they did.
    let mut recorded = 0;
    for a in &truth.case_actions {
        let kind: ActionKind = a.kind.parse().map_err(|e| Error::invalid(format!("truth.json: {e}")))?;
        let new = NewAction {
            operation: OPERATION.into(),
            kind,
            agency: agency(&a.country),
            country: a.country.clone(),
            happened: last,
            server: None,
            count: a.count,
            bytes: a.bytes,
            sha256: a.bytes.map(|b| {
                dragnet_core::digest::hex(&dragnet_core::digest::sha256(format!("{}:{b}", a.country).as_bytes()))
            }),
            note: String::new(),
        };
        operations::record(moves.store, &scope, &new, last + 100 * HOUR)?;
        recorded += 1;
    }
    step(&format!("{recorded} case actions recorded by the agencies"));

    let as_of = last + 100 * HOUR;
    let built = report::build(moves.store, &ctx, &scope, OPERATION, as_of)?;
    let mut report_files = Vec::new();
    for (name, text) in [
        ("report.html", report::html::render(&built)),
        ("report.md", report::markdown::render(&built)),
        ("report.json", serde_json::to_string_pretty(&built).map_err(|e| Error::invalid(e.to_string()))?),
    ] {
        let path = data.join(name);
        std::fs::write(&path, text).map_err(Error::io("write", &path))?;
        report_files.push(path);
    }
    Ok(Outcome {
        world,
        servers: views.len(),
        agencies: countries.len(),
        notices_sent: sent.sent.len(),
        notices_received: sink.received(),
        probe_rounds: rounds,
        probes,
        report_files,
        report: built,
    })
}

/// The agency of a country.
pub fn agency(country: &str) -> String {
    format!("police-{}", country.to_ascii_lowercase())
}

/// Moves happen in six-hour steps: servers that move in one step move together.
fn bucket(at: Timestamp) -> Timestamp {
    at.div_euclid(6 * HOUR) * 6 * HOUR + 6 * HOUR
}

/// Bulk moves as the operator, each set all or none.
struct Moves<'a> {
    store: &'a mut dyn Store,
    ctx: &'a Context,
    scope: &'a Scope,
}

impl Moves<'_> {
    fn to(&mut self, servers: &[String], to: State, at: Timestamp, why: &str) -> Result<()> {
        if servers.is_empty() {
            return Ok(());
        }
        let request = Move { servers: servers.to_vec(), to, reason: why.into(), evidence: String::new() };
        takedown::set(self.store, self.ctx, self.scope, at, &request)?;
        Ok(())
    }
}
