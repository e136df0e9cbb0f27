//! Each format's exact output on the same entries.

use dragnet_core::{Category, Kind, Tlp};

use super::*;

fn entry(value: &str, kind: Kind, categories: &[Category], score: u8) -> Entry {
    Entry {
        value: value.into(),
        kind,
        categories: categories.to_vec(),
        score,
        tlp: Tlp::Amber,
        server: if kind == Kind::Cidr { String::new() } else { "srv-1".into() },
        last_seen: 1_700_000_000,
        markings: vec![("feed".into(), Tlp::Amber)],
    }
}

fn sample() -> Vec<Entry> {
    use Category::*;
    let mut entries = vec![
        entry("198.51.100.7", Kind::Ipv4, &[BotnetC2], 90),
        entry("198.51.100.6", Kind::Ipv4, &[Phishing, BotnetC2], 50),
        entry("203.0.113.0/24", Kind::Cidr, &[Spam], 40),
        entry("2001:db8::1", Kind::Ipv6, &[Scanning], 30),
        entry("c2.example", Kind::Domain, &[BotnetC2], 90),
        entry("bad\u{202e}name.example", Kind::Domain, &[Phishing], 80),
        entry("http://c2.example/gate.php?a=1,b=\"2\"", Kind::Url, &[BotnetC2], 70),
    ];
    super::super::sort(&mut entries);
    entries
}

fn written(format: Format) -> Written {
    write(format, &sample(), &Meta::default())
}

#[test]
fn plain_and_cidr() {
    assert_eq!(
        written(Format::Plain).text,
        "198.51.100.6\n198.51.100.7\n203.0.113.0/24\n2001:db8::1\nbad\u{202e}name.example\nc2.example\nhttp://c2.example/gate.php?a=1,b=\"2\"\n"
    );
    let cidr = written(Format::Cidr);
    assert_eq!(cidr.text, "198.51.100.6/31\n203.0.113.0/24\n2001:db8::1/128\n");
    assert_eq!((cidr.lines, cidr.skipped), (3, 3));
}

#[test]
fn csv_quotes_what_needs_it() {
    assert_eq!(
        written(Format::Csv).text,
        "value,kind,categories,score,tlp,server,last_seen\n\
         198.51.100.6,ipv4,phishing;botnet-c2,50,amber,srv-1,2023-11-14T22:13:20Z\n\
         198.51.100.7,ipv4,botnet-c2,90,amber,srv-1,2023-11-14T22:13:20Z\n\
         203.0.113.0/24,cidr,spam,40,amber,,2023-11-14T22:13:20Z\n\
         2001:db8::1,ipv6,scanning,30,amber,srv-1,2023-11-14T22:13:20Z\n\
         bad\u{202e}name.example,domain,phishing,80,amber,srv-1,2023-11-14T22:13:20Z\n\
         c2.example,domain,botnet-c2,90,amber,srv-1,2023-11-14T22:13:20Z\n\
         \"http://c2.example/gate.php?a=1,b=\"\"2\"\"\",url,botnet-c2,70,amber,srv-1,2023-11-14T22:13:20Z\n"
    );
}

#[test]
fn jsonl_is_one_object_a_line() {
    let text = written(Format::Jsonl).text;
    let lines: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 7);
    assert_eq!(
        lines[0],
        serde_json::json!({"value": "198.51.100.6", "kind": "ipv4", "categories": ["phishing", "botnet-c2"],
            "score": 50, "tlp": "amber", "server": "srv-1", "last_seen": 1_700_000_000})
    );
    assert!(lines[2].get("server").is_none(), "a network has no server");
}

#[test]
fn hosts_and_adblock_hold_plain_names_only() {
    let hosts = written(Format::Hosts);
    assert_eq!(hosts.text, "# Dragnet blocklist: hosts file\n0.0.0.0 c2.example\n");
    assert_eq!((hosts.lines, hosts.skipped), (1, 6));
    assert_eq!(written(Format::Adblock).text, "! Title: Dragnet blocklist\n||c2.example^\n");
}

#[test]
fn nftables_swaps_the_sets_in_one_transaction() {
    assert_eq!(
        written(Format::Nftables).text,
        "# Dragnet blocklist: nft -f FILE (sets dragnet_v4 and dragnet_v6 in table inet dragnet)\n\
         add table inet dragnet\n\
         add set inet dragnet dragnet_v4 { type ipv4_addr; flags interval; }\n\
         flush set inet dragnet dragnet_v4\n\
         add element inet dragnet dragnet_v4 { 198.51.100.6/31, 203.0.113.0/24 }\n\
         add set inet dragnet dragnet_v6 { type ipv6_addr; flags interval; }\n\
         flush set inet dragnet dragnet_v6\n\
         add element inet dragnet dragnet_v6 { 2001:db8::1/128 }\n"
    );
    let empty = write(Format::Nftables, &[], &Meta::default()).text;
    assert!(!empty.contains("add element"), "an empty element list is a syntax error: {empty}");
}

#[test]
fn ipset_fills_aside_and_swaps() {
    assert_eq!(
        written(Format::Ipset).text,
        "# Dragnet blocklist: ipset restore < FILE (sets dragnet-v4 and dragnet-v6)\n\
         create dragnet-v4 hash:net family inet hashsize 1024 maxelem 65536 -exist\n\
         create dragnet-v4-next hash:net family inet hashsize 1024 maxelem 65536 -exist\n\
         flush dragnet-v4-next\n\
         add dragnet-v4-next 198.51.100.6/31\n\
         add dragnet-v4-next 203.0.113.0/24\n\
         swap dragnet-v4-next dragnet-v4\n\
         destroy dragnet-v4-next\n\
         create dragnet-v6 hash:net family inet6 hashsize 1024 maxelem 65536 -exist\n\
         create dragnet-v6-next hash:net family inet6 hashsize 1024 maxelem 65536 -exist\n\
         flush dragnet-v6-next\n\
         add dragnet-v6-next 2001:db8::1/128\n\
         swap dragnet-v6-next dragnet-v6\n\
         destroy dragnet-v6-next\n"
    );
}

#[test]
fn suricata_reputation_and_its_categories() {
    assert_eq!(
        written(Format::Suricata).text,
        "198.51.100.6,1,63\n198.51.100.6,5,63\n198.51.100.7,5,114\n203.0.113.0/24,8,50\n2001:db8::1,7,38\n"
    );
    assert_eq!(
        written(Format::SuricataCategories).text,
        "1,Phishing,phishing\n2,CredentialTheft,credential-theft\n3,BankingMalware,banking-malware\n\
         4,Ransomware,ransomware\n5,BotnetC2,botnet-c2\n6,MalwareDistribution,malware-distribution\n\
         7,Scanning,scanning\n8,Spam,spam\n9,Other,other\n"
    );
}

#[test]
fn mikrotik_replaces_its_address_lists() {
    assert_eq!(
        written(Format::Mikrotik).text,
        "# Dragnet blocklist for RouterOS: /import file-name=FILE (address list \"dragnet\")\n\
         /ip firewall address-list\n\
         remove [find where list=\"dragnet\"]\n\
         add list=\"dragnet\" address=198.51.100.6/31\n\
         add list=\"dragnet\" address=203.0.113.0/24\n\
         /ipv6 firewall address-list\n\
         remove [find where list=\"dragnet\"]\n\
         add list=\"dragnet\" address=2001:db8::1/128\n"
    );
}

#[test]
fn rpz_blocks_names_subdomains_and_answer_addresses() {
    let meta = Meta { serial: 42, ..Meta::default() };
    let rpz = write(Format::Rpz, &sample(), &meta);
    assert_eq!(
        rpz.text,
        "$TTL 300\n@ IN SOA localhost. hostmaster.localhost. (42 3600 600 604800 60)\n@ IN NS localhost.\n\
         32.6.100.51.198.rpz-ip CNAME .\n32.7.100.51.198.rpz-ip CNAME .\n24.0.113.0.203.rpz-ip CNAME .\n\
         128.1.zz.db8.2001.rpz-ip CNAME .\nc2.example CNAME .\n*.c2.example CNAME .\n"
    );
    assert_eq!(rpz.skipped, 2, "the name with a control character and the URL");
}

#[test]
fn rpz_ipv6_triggers_shorten_the_longest_zero_run() {
    let trigger = |v: &str| rpz_ip_trigger(&cidr::parse(v).unwrap());
    assert_eq!(trigger("2001:db8:0:0:1:0:0:1"), "128.1.0.0.1.zz.db8.2001.rpz-ip");
    assert_eq!(trigger("2001:db8::/32"), "32.zz.db8.2001.rpz-ip");
    assert_eq!(trigger("2001:db8:1:2:3:4:5:6"), "128.6.5.4.3.2.1.db8.2001.rpz-ip");
    assert_eq!(trigger("::/0"), "0.zz.rpz-ip");
    assert_eq!(trigger("10.0.0.0/8"), "8.0.0.0.10.rpz-ip");
}

#[test]
fn the_same_entries_give_the_same_bytes() {
    for format in Format::ALL {
        assert_eq!(format.name().parse::<Format>().unwrap(), format);
        assert_eq!(written(format).text, written(format).text, "{}", format.name());
    }
    assert!("pdf".parse::<Format>().is_err());
}
