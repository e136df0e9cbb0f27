//! The report as Markdown, for reading and pasting into a briefing.

use std::fmt::Write;

use super::{Actions, Report};

/// Servers still online listed by the text reports (JSON lists all).
pub const SHOWN: usize = 100;

/// Bytes in the largest unit that keeps a number ≥ 1 (decimal units).
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit + 1 < UNITS.len() {
        value /= 1000.0;
        unit += 1;
    }
    let name = UNITS.get(unit).copied().unwrap_or("B");
    if unit == 0 { format!("{n} B") } else { format!("{value:.1} {name}") }
}

/// The day of an RFC 3339 time.
pub fn day(time: &str) -> &str {
    time.split('T').next().unwrap_or(time)
}

pub fn hours(h: Option<f64>) -> String {
    match h {
        None => "–".to_string(),
        Some(h) if h < 1.0 => format!("{:.0} min", h * 60.0),
        Some(h) if h < 48.0 => format!("{h:.1} h"),
        Some(h) => format!("{:.1} days", h / 24.0),
    }
}

/// The highlights of one country or the whole, in words, largest first.
pub fn highlights(a: &Actions) -> Vec<String> {
    let mut out = Vec::new();
    let mut say = |n: u64, one: &str, many: &str| {
        if n > 0 {
            out.push(format!("{n} {}", if n == 1 { one } else { many }));
        }
    };
    say(a.house_searches, "house search", "house searches");
    say(a.arrests, "arrest", "arrests");
    say(a.suspects_identified, "suspect identified", "suspects identified");
    say(a.under_investigation, "under investigation", "under investigation");
    say(a.servers_seized, "server seized", "servers seized");
    say(a.devices_seized, "device seized", "devices seized");
    say(a.sinkholed, "sinkholed", "sinkholed");
    if a.data_seized_bytes > 0 {
        out.push(format!("{} of data seized", bytes(a.data_seized_bytes)));
    }
    out
}

pub fn render(r: &Report) -> String {
    let t = &r.totals;
    let mut s = String::new();
    let _ = writeln!(s, "# Operation {}\n", r.operation);
    let _ = writeln!(s, "{} to {}. Figures as of {}.\n", day(&r.from), day(&r.to), r.as_of);
    let _ = writeln!(
        s,
        "**{} of {} identified servers taken offline** ({:.1} %; {} of {} IPs); {} verified offline, {} rejected as \
         false positives, {} still online.\n",
        t.servers_taken_offline,
        t.servers_identified,
        100.0 * t.takedown_rate,
        t.ips_taken_offline,
        t.ips_identified,
        t.servers_verified_offline,
        t.servers_rejected,
        t.servers_still_online
    );
    let said = highlights(&t.actions);
    if !said.is_empty() {
        let _ = writeln!(s, "Agencies reported {}.\n", said.join(", "));
    }
    let d = &r.time_to_verified_offline;
    let _ = writeln!(
        s,
        "From triage to verified offline: median {}, 90th percentile {} ({} servers).\n",
        hours(d.median_hours),
        hours(d.p90_hours),
        d.servers
    );
    let _ = writeln!(s, "## Countries\n");
    let _ = writeln!(s, "| country | servers | taken offline | highlights |\n| --- | ---: | ---: | --- |");
    for c in &r.countries {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} |",
            c.country,
            c.servers_identified,
            c.servers_taken_offline,
            highlights(&c.actions).join(", ")
        );
    }
    let _ = writeln!(s, "\n## Partners\n");
    let _ = writeln!(s, "| source | servers reported | taken offline |\n| --- | ---: | ---: |");
    for p in &r.partners {
        let _ = writeln!(s, "| {} | {} | {} |", p.source, p.servers_reported, p.servers_taken_offline);
    }
    let _ = writeln!(s, "\n## Still online ({})\n", r.still_online.len());
    if r.still_online.len() > SHOWN {
        let _ = writeln!(s, "The {SHOWN} highest scores (`--format json` lists all).\n");
    }
    let _ = writeln!(s, "| server | state | score | countries | addresses |\n| --- | --- | ---: | --- | --- |");
    for b in r.still_online.iter().take(SHOWN) {
        let values: Vec<&str> = b.ips.iter().chain(&b.domains).map(String::as_str).take(4).collect();
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} |",
            b.server,
            b.state,
            b.score,
            b.countries.join(", "),
            values.join(" ").replace('|', "\\|")
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_read_as_people_write_them() {
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(80_000_000_000), "80.0 GB");
        assert_eq!(bytes(1_500), "1.5 kB");
    }
}
