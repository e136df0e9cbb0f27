//! Clustering: observables joined into servers by the artifacts they share,
//! servers joined into infrastructure clusters. See `docs/clustering.md`.
//!
//! Servers are the connected components of a graph whose nodes are the
//! member observables (IPs, domains, URLs) plus every artifact a link
//! names (certificates, SSH host keys, addresses a member domain resolved
//! to), and whose edges are the identity-level links (resolves-to,
//! presents-certificate, has-ssh-host-key) and a URL's host. A node with
//! more distinct neighbours than `max_fanout` (a shared-hosting address, a
//! CDN certificate) joins nothing: it would merge unrelated servers.
//! Clusters join servers that share a configuration-level artifact (JARM,
//! JA3S) or a registrable domain, under the same fan-out limit.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use dragnet_core::{Kind, Observable, Relation};
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// A node with more distinct neighbours than this joins nothing.
    pub max_fanout: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config { max_fanout: 64 }
    }
}

/// A relation between two observables, as clustering reads it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Edge {
    pub from: Observable,
    pub to: Observable,
    pub relation: Relation,
}

/// Why two nodes of a server belong together: a link's relation, or
/// `url-host` for a URL and its host.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Evidence {
    pub from: Observable,
    pub to: Observable,
    pub why: &'static str,
}

/// One server: member indices into the input, the artifacts that joined
/// them and the edges that did it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Server {
    pub id: String,
    pub members: Vec<usize>,
    /// Non-member nodes of the server: certificates, keys, fingerprints,
    /// and unreported addresses a member domain resolved to.
    pub artifacts: Vec<Observable>,
    /// The links within the server (and its configuration-level links).
    pub evidence: Vec<Evidence>,
    pub cluster: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Cluster {
    pub id: String,
    /// Indices into [`Clustering::servers`].
    pub servers: Vec<usize>,
    /// What the servers share (JARM, JA3S, registrable domain).
    pub shared: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Clustering {
    pub servers: Vec<Server>,
    pub clusters: Vec<Cluster>,
}

struct UnionFind(Vec<u32>);

impl UnionFind {
    fn find(&mut self, mut x: u32) -> u32 {
        while self.0[x as usize] != x {
            let parent = self.0[self.0[x as usize] as usize];
            self.0[x as usize] = parent;
            x = parent;
        }
        x
    }

    fn union(&mut self, a: u32, b: u32) {
        let (ra, rb) = (self.find(a), self.find(b));
        // The smaller root wins, so the result does not depend on edge order.
        if ra < rb {
            self.0[rb as usize] = ra;
        } else if rb < ra {
            self.0[ra as usize] = rb;
        }
    }
}

/// Interns observables into dense node numbers; members come first.
struct Nodes<'a> {
    index: HashMap<&'a Observable, u32>,
    all: Vec<&'a Observable>,
}

impl<'a> Nodes<'a> {
    fn get(&mut self, o: &'a Observable) -> u32 {
        let next = self.all.len() as u32;
        *self.index.entry(o).or_insert_with(|| {
            self.all.push(o);
            next
        })
    }
}

/// Groups `members` into servers and clusters. `previous` holds each
/// observable's server id from the last run, so ids stay stable while
/// members stay; new servers get an id derived from their smallest member.
pub fn cluster(
    members: &[Observable],
    edges: &[Edge],
    previous: &HashMap<Observable, String>,
    cfg: &Config,
) -> Clustering {
    let hosts: Vec<Option<Observable>> =
        members.iter().map(|m| if m.kind() == Kind::Url { m.url_host() } else { None }).collect();
    let mut nodes = Nodes { index: HashMap::with_capacity(members.len() * 2), all: Vec::new() };
    for m in members {
        nodes.get(m);
    }
    let n_members = nodes.all.len();
    let mut server_edges: Vec<(u32, u32, usize)> = Vec::new();
    let mut config_edges: Vec<(u32, u32, usize)> = Vec::new();
    for (i, e) in edges.iter().enumerate() {
        let (a, b) = (nodes.get(&e.from), nodes.get(&e.to));
        if a != b {
            if e.relation.same_server() { &mut server_edges } else { &mut config_edges }.push((a, b, i));
        }
    }
    for (i, host) in hosts.iter().enumerate() {
        if let Some(host) = host {
            let h = nodes.get(host);
            server_edges.push((i as u32, h, URL_HOST));
        }
    }
    let mut uf = UnionFind((0..nodes.all.len() as u32).collect());
    let hub = hubs(&server_edges, nodes.all.len(), cfg.max_fanout);
    for &(a, b, _) in &server_edges {
        if !hub[a as usize] && !hub[b as usize] {
            uf.union(a, b);
        }
    }
    // Components that hold at least one member become servers.
    let mut by_root: BTreeMap<u32, Vec<usize>> = BTreeMap::new();
    for i in 0..n_members {
        by_root.entry(uf.find(i as u32)).or_default().push(i);
    }
    let mut servers: Vec<Server> = Vec::with_capacity(by_root.len());
    let mut server_of_root: HashMap<u32, usize> = HashMap::with_capacity(by_root.len());
    for (root, idx) in by_root {
        server_of_root.insert(root, servers.len());
        servers.push(Server {
            id: String::new(),
            members: idx,
            artifacts: Vec::new(),
            evidence: Vec::new(),
            cluster: String::new(),
        });
    }
    for node in n_members..nodes.all.len() {
        if let Some(&s) = server_of_root.get(&uf.find(node as u32)) {
            servers[s].artifacts.push(nodes.all[node].clone());
        }
    }
    for &(a, b, i) in &server_edges {
        if hub[a as usize] || hub[b as usize] {
            continue;
        }
        if let Some(&s) = server_of_root.get(&uf.find(a)) {
            let why = if i == URL_HOST { "url-host" } else { edges[i].relation.as_str() };
            let (from, to) = (nodes.all[a as usize].clone(), nodes.all[b as usize].clone());
            servers[s].evidence.push(Evidence { from, to, why });
        }
    }
    assign_ids(&mut servers, members, previous);
    let clusters =
        infrastructure(&mut servers, members, &nodes.all, edges, &config_edges, &mut uf, &server_of_root, cfg);
    Clustering { servers, clusters }
}

/// The edge number that marks a URL → host edge.
const URL_HOST: usize = usize::MAX;

/// Nodes with more distinct neighbours than `max_fanout`. A URL is part of
/// its host, not a neighbour: a phishing domain with hundreds of reported
/// URLs is still one server.
fn hubs(edges: &[(u32, u32, usize)], n: usize, max_fanout: usize) -> Vec<bool> {
    let mut pairs: Vec<(u32, u32)> =
        edges.iter().filter(|e| e.2 != URL_HOST).flat_map(|&(a, b, _)| [(a, b), (b, a)]).collect();
    pairs.sort_unstable();
    pairs.dedup();
    let mut degree = vec![0usize; n];
    for (a, _) in pairs {
        degree[a as usize] += 1;
    }
    degree.into_iter().map(|d| d > max_fanout).collect()
}

/// A new server's id: a hash of its smallest member, so the same data gives
/// the same ids in any store.
fn fresh_id(smallest: &Observable, taken: &BTreeSet<String>) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in smallest.kind().as_str().bytes().chain([0]).chain(smallest.value().bytes()) {
        h = (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
    }
    let mut id = format!("srv-{:010x}", h >> 24);
    let mut n = 1;
    while taken.contains(&id) {
        n += 1;
        id = format!("srv-{:010x}-{n}", h >> 24);
    }
    id
}

/// Each server keeps the id most of its members had; when a server split,
/// the larger part keeps it. Others get a fresh id.
fn assign_ids(servers: &mut [Server], members: &[Observable], previous: &HashMap<Observable, String>) {
    let mut order: Vec<usize> = (0..servers.len()).collect();
    order.sort_by_key(|&s| std::cmp::Reverse(servers[s].members.len()));
    let mut taken: BTreeSet<String> = BTreeSet::new();
    let mut needs_fresh = Vec::new();
    for s in order {
        let mut votes: BTreeMap<&str, usize> = BTreeMap::new();
        for &m in &servers[s].members {
            if let Some(id) = previous.get(&members[m]) {
                *votes.entry(id.as_str()).or_default() += 1;
            }
        }
        let mut ranked: Vec<(&str, usize)> = votes.into_iter().collect();
        ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        match ranked.into_iter().find(|(id, _)| !taken.contains(*id)) {
            Some((id, _)) => {
                taken.insert(id.to_string());
                servers[s].id = id.to_string();
            }
            None => needs_fresh.push(s),
        }
    }
    // Ids already held by surviving servers are taken before fresh ones are made.
    taken.extend(previous.values().cloned());
    for s in needs_fresh {
        // Every server has a member, so the minimum exists.
        let Some(smallest) = servers[s].members.iter().map(|&m| &members[m]).min() else { continue };
        let id = fresh_id(smallest, &taken);
        taken.insert(id.clone());
        servers[s].id = id;
    }
}

#[allow(clippy::too_many_arguments)]
fn infrastructure(
    servers: &mut [Server],
    members: &[Observable],
    nodes: &[&Observable],
    edges: &[Edge],
    config_edges: &[(u32, u32, usize)],
    uf: &mut UnionFind,
    server_of_root: &HashMap<u32, usize>,
    cfg: &Config,
) -> Vec<Cluster> {
    // Each server's configuration artifacts and registrable domains, then
    // servers sharing one (under the fan-out limit) are unioned.
    let mut holders: BTreeMap<String, BTreeSet<usize>> = BTreeMap::new();
    for &(host, artifact, i) in config_edges {
        if let Some(&s) = server_of_root.get(&uf.find(host)) {
            let artifact = nodes[artifact as usize];
            holders.entry(format!("{} {}", artifact.kind().as_str(), artifact.value())).or_default().insert(s);
            if !servers[s].artifacts.contains(artifact) {
                servers[s].artifacts.push(artifact.clone());
            }
            let why = edges[i].relation.as_str();
            servers[s].evidence.push(Evidence { from: nodes[host as usize].clone(), to: artifact.clone(), why });
        }
    }
    for (s, server) in servers.iter().enumerate() {
        for &m in &server.members {
            let host = &members[m];
            let name = if host.kind() == Kind::Domain { Some(host.clone()) } else { host.url_host() };
            if let Some(d) = name
                .as_ref()
                .filter(|h| h.kind() == Kind::Domain)
                .and_then(|h| crate::dns::registrable_domain(h.value()))
            {
                holders.entry(format!("registrable-domain {d}")).or_default().insert(s);
            }
        }
    }
    let mut joins = UnionFind((0..servers.len() as u32).collect());
    let mut shared_by: Vec<(String, Vec<usize>)> = Vec::new();
    for (what, set) in holders {
        if set.len() > 1 && set.len() <= cfg.max_fanout {
            let list: Vec<usize> = set.into_iter().collect();
            for w in list.windows(2) {
                joins.union(w[0] as u32, w[1] as u32);
            }
            shared_by.push((what, list));
        }
    }
    let mut groups: BTreeMap<u32, Vec<usize>> = BTreeMap::new();
    for s in 0..servers.len() {
        groups.entry(joins.find(s as u32)).or_default().push(s);
    }
    let mut clusters = Vec::with_capacity(groups.len());
    let mut cluster_of: HashMap<u32, usize> = HashMap::new();
    for (root, list) in groups {
        let smallest = list.iter().map(|&s| servers[s].id.as_str()).min().unwrap_or_default();
        let id = format!("infra-{}", smallest.trim_start_matches("srv-"));
        for &s in &list {
            servers[s].cluster = id.clone();
        }
        cluster_of.insert(root, clusters.len());
        clusters.push(Cluster { id, servers: list, shared: Vec::new() });
    }
    for (what, list) in shared_by {
        let c = cluster_of[&joins.find(list[0] as u32)];
        clusters[c].shared.push(what);
    }
    clusters
}

#[cfg(test)]
mod tests {
    use super::*;

    fn o(v: &str) -> Observable {
        match v.split_once(':') {
            Some(("cert", h)) => Observable::parse(Kind::X509Sha256, &h.repeat(64 / h.len())).unwrap(),
            Some(("jarm", h)) => Observable::parse(Kind::Jarm, &h.repeat(62 / h.len())).unwrap(),
            _ => Observable::guess(v).unwrap(),
        }
    }

    fn e(from: &str, to: &str) -> Edge {
        let (from, to) = (o(from), o(to));
        let relation = Relation::between(from.kind(), to.kind()).unwrap();
        Edge { from, to, relation }
    }

    fn groups(c: &Clustering, members: &[Observable]) -> Vec<Vec<String>> {
        let mut g: Vec<Vec<String>> =
            c.servers.iter().map(|s| s.members.iter().map(|&m| members[m].value().to_string()).collect()).collect();
        g.sort();
        g
    }

    #[test]
    fn joins_by_certificate_resolution_and_url_host_but_not_through_hubs() {
        let members: Vec<Observable> = [
            "198.51.100.1",
            "198.51.100.2",
            "c2.example",
            "http://c2.example/gate.php",
            "203.0.113.9",
            "a.example",
            "b.example",
        ]
        .iter()
        .map(|v| o(v))
        .collect();
        let mut edges =
            vec![e("198.51.100.1", "cert:ab"), e("198.51.100.2", "cert:ab"), e("c2.example", "198.51.100.2")];
        // a and b share an address that hosts a hundred other names: no join.
        edges.extend((0..100).map(|i| e(&format!("n{i}.example"), "192.0.2.80")));
        edges.extend([e("a.example", "192.0.2.80"), e("b.example", "192.0.2.80")]);
        let c = cluster(&members, &edges, &HashMap::new(), &Config::default());
        assert_eq!(
            groups(&c, &members),
            vec![
                vec!["198.51.100.1", "198.51.100.2", "c2.example", "http://c2.example/gate.php"],
                vec!["203.0.113.9"],
                vec!["a.example"],
                vec!["b.example"],
            ]
        );
        let big = c.servers.iter().find(|s| s.members.len() == 4).unwrap();
        assert_eq!(big.artifacts, vec![o("cert:ab")]);
        assert_eq!(big.evidence.len(), 4, "{:?}", big.evidence);
        // a.example and b.example share a registrable domain? No: `example` is a TLD here, so each is its own.
        assert_eq!(c.clusters.len(), 4);
    }

    #[test]
    fn many_urls_on_one_host_stay_one_server() {
        let mut members: Vec<Observable> = (0..200).map(|i| o(&format!("http://phish.example/p{i}"))).collect();
        members.push(o("phish.example"));
        let c = cluster(&members, &[], &HashMap::new(), &Config::default());
        assert_eq!(c.servers.len(), 1);
    }

    #[test]
    fn jarm_and_registrable_domain_join_servers_into_clusters() {
        let members: Vec<Observable> = ["198.51.100.1", "198.51.100.2", "login.bank-verify.com", "pay.bank-verify.com"]
            .iter()
            .map(|v| o(v))
            .collect();
        let edges = vec![e("198.51.100.1", "jarm:2a"), e("198.51.100.2", "jarm:2a")];
        let c = cluster(&members, &edges, &HashMap::new(), &Config::default());
        assert_eq!(c.servers.len(), 4, "configuration artifacts do not merge servers");
        assert_eq!(c.clusters.len(), 2);
        let shared: Vec<&str> =
            c.clusters.iter().flat_map(|k| k.shared.iter().map(|s| s.split(' ').next().unwrap())).collect();
        assert_eq!(shared.iter().collect::<BTreeSet<_>>(), [&"jarm", &"registrable-domain"].into_iter().collect());
    }

    #[test]
    fn ids_are_stable_while_members_stay_and_the_larger_part_keeps_a_split_servers_id() {
        let members: Vec<Observable> = ["198.51.100.1", "198.51.100.2", "198.51.100.3"].iter().map(|v| o(v)).collect();
        let edges = vec![e("198.51.100.1", "cert:ab"), e("198.51.100.2", "cert:ab"), e("198.51.100.3", "cert:ab")];
        let first = cluster(&members, &edges, &HashMap::new(), &Config::default());
        assert_eq!(first.servers.len(), 1);
        let id = first.servers[0].id.clone();
        assert!(id.starts_with("srv-"), "{id}");
        let previous: HashMap<Observable, String> = members.iter().map(|m| (m.clone(), id.clone())).collect();
        // A new member joins: the id stays.
        let mut grown = members.clone();
        grown.insert(0, o("198.51.100.0"));
        let mut more = edges.clone();
        more.push(e("198.51.100.0", "cert:ab"));
        let again = cluster(&grown, &more, &previous, &Config::default());
        assert_eq!(again.servers[0].id, id);
        // The certificate link of .3 goes away: .1/.2 keep the id, .3 gets a new one.
        let split = cluster(&members, &edges[..2], &previous, &Config::default());
        let by_size: BTreeMap<usize, &str> = split.servers.iter().map(|s| (s.members.len(), s.id.as_str())).collect();
        assert_eq!(by_size[&2], id);
        assert_ne!(by_size[&1], id);
        // Same data in a fresh store: the same ids.
        let fresh = cluster(&members, &edges, &HashMap::new(), &Config::default());
        assert_eq!(fresh.servers[0].id, id);
    }
}
