//! The report as one self-contained HTML file: its charts are inline SVG,
//! its style inline CSS, nothing is fetched, so it reads offline and can be
//! mailed as is. Every text from the store is escaped.

use std::fmt::Write;

use super::markdown::{SHOWN, bytes, day, highlights, hours};
use super::{CountryRow, Report};

/// Escapes text for HTML content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:2rem auto;max-width:60rem;\
padding:0 1rem;color:#1b1f24;line-height:1.45}h1{margin-bottom:.2rem}.asof{color:#57606a;margin-top:0}\
.cards{display:flex;flex-wrap:wrap;gap:.8rem;margin:1.2rem 0}.card{border:1px solid #d0d7de;border-radius:8px;\
padding:.6rem 1rem;min-width:9rem}.card b{display:block;font-size:1.6rem}.card span{color:#57606a;font-size:.85rem}\
table{border-collapse:collapse;width:100%;margin:.6rem 0 1.6rem}th,td{border-bottom:1px solid #d0d7de;\
padding:.35rem .5rem;text-align:left;vertical-align:top}th{background:#f6f8fa}td.n,th.n{text-align:right;\
font-variant-numeric:tabular-nums}svg text{font-family:inherit;font-size:12px}.legend span{display:inline-block;\
width:.8rem;height:.8rem;margin:0 .3rem 0 1rem;vertical-align:middle}code{font-size:.85em;word-break:break-all}\
@media print{.card{break-inside:avoid}}";

const DOWN: &str = "#1a7f37";
const UP: &str = "#cf222e";

fn card(s: &mut String, value: &str, label: &str) {
    let _ = write!(s, "<div class=\"card\"><b>{}</b><span>{}</span></div>", escape(value), escape(label));
}

/// One horizontal bar per country (up to 25): taken offline in green, the
/// rest of its servers in red.
fn country_chart(rows: &[CountryRow]) -> String {
    let shown: Vec<&CountryRow> = rows.iter().filter(|r| r.servers_identified > 0).take(25).collect();
    let max = shown.iter().map(|r| r.servers_identified).max().unwrap_or(1).max(1) as f64;
    let (label_w, bar_w, row_h) = (60.0, 520.0, 22.0);
    let height = row_h * shown.len() as f64 + 10.0;
    let mut s = format!(
        "<svg role=\"img\" aria-label=\"Servers taken offline per country\" viewBox=\"0 0 {} {height}\" width=\"100%\">",
        label_w + bar_w + 80.0
    );
    for (i, r) in shown.iter().enumerate() {
        let y = i as f64 * row_h + 5.0;
        let down = bar_w * r.servers_taken_offline as f64 / max;
        let all = bar_w * r.servers_identified as f64 / max;
        let _ = write!(
            s,
            "<text x=\"0\" y=\"{}\">{}</text><rect x=\"{label_w}\" y=\"{y}\" width=\"{all:.1}\" height=\"16\" fill=\"{UP}\" \
             opacity=\"0.35\"/><rect x=\"{label_w}\" y=\"{y}\" width=\"{down:.1}\" height=\"16\" fill=\"{DOWN}\"/>\
             <text x=\"{:.1}\" y=\"{}\">{} / {}</text>",
            y + 13.0,
            escape(&r.country),
            label_w + all + 6.0,
            y + 13.0,
            r.servers_taken_offline,
            r.servers_identified
        );
    }
    s.push_str("</svg>");
    s
}

/// The share taken offline as one bar.
fn rate_bar(rate: f64) -> String {
    let w = (600.0 * rate.clamp(0.0, 1.0)).round();
    format!(
        "<svg role=\"img\" aria-label=\"Takedown rate {:.1} %\" viewBox=\"0 0 600 24\" width=\"100%\">\
         <rect width=\"600\" height=\"24\" fill=\"{UP}\" opacity=\"0.35\"/><rect width=\"{w}\" height=\"24\" fill=\"{DOWN}\"/></svg>",
        100.0 * rate
    )
}

pub fn render(r: &Report) -> String {
    let t = &r.totals;
    let mut s = String::new();
    let title = format!("Operation {}", r.operation);
    let _ = write!(
        s,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" \
         content=\"width=device-width,initial-scale=1\"><title>{}</title><style>{STYLE}</style></head><body>",
        escape(&title)
    );
    let _ = write!(
        s,
        "<h1>{}</h1><p class=\"asof\">{} to {} · figures as of {}</p>",
        escape(&title),
        escape(day(&r.from)),
        escape(day(&r.to)),
        escape(&r.as_of)
    );
    s.push_str("<div class=\"cards\">");
    card(&mut s, &format!("{} / {}", t.servers_taken_offline, t.servers_identified), "servers taken offline");
    card(&mut s, &format!("{:.1} %", 100.0 * t.takedown_rate), "takedown rate");
    card(&mut s, &format!("{} / {}", t.ips_taken_offline, t.ips_identified), "IP addresses taken offline");
    card(&mut s, &t.servers_verified_offline.to_string(), "verified offline");
    card(&mut s, &t.servers_still_online.to_string(), "still online");
    card(&mut s, &hours(r.time_to_verified_offline.median_hours), "median time to verified offline");
    card(&mut s, &hours(r.time_to_verified_offline.p90_hours), "90th percentile");
    s.push_str("</div>");
    let _ = write!(s, "{}", rate_bar(t.takedown_rate));
    let said = highlights(&t.actions);
    if !said.is_empty() {
        let _ = write!(s, "<p>Agencies reported {}.</p>", escape(&said.join(", ")));
    }
    let _ = write!(
        s,
        "<h2>Countries</h2><p class=\"legend\"><span style=\"background:{DOWN}\"></span>taken offline\
         <span style=\"background:{UP};opacity:.35\"></span>identified</p>{}",
        country_chart(&r.countries)
    );
    s.push_str(
        "<table><thead><tr><th>country</th><th class=\"n\">servers</th><th class=\"n\">taken offline</th>\
         <th>highlights</th></tr></thead><tbody>",
    );
    for c in &r.countries {
        let _ = write!(
            s,
            "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td>{}</td></tr>",
            escape(&c.country),
            c.servers_identified,
            c.servers_taken_offline,
            escape(&highlights(&c.actions).join(", "))
        );
    }
    s.push_str(
        "</tbody></table><h2>Partners</h2><table><thead><tr><th>source</th><th class=\"n\">servers reported</th>\
         <th class=\"n\">taken offline</th></tr></thead><tbody>",
    );
    for p in &r.partners {
        let _ = write!(
            s,
            "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            escape(&p.source),
            p.servers_reported,
            p.servers_taken_offline
        );
    }
    let _ = write!(
        s,
        "</tbody></table><h2>Still online ({}{})</h2><table><thead><tr><th>server</th><th>state</th>\
         <th class=\"n\">score</th><th>countries</th><th>addresses</th></tr></thead><tbody>",
        r.still_online.len(),
        if r.still_online.len() > SHOWN {
            format!("; the {SHOWN} highest scores shown, the JSON report lists all")
        } else {
            String::new()
        }
    );
    for b in r.still_online.iter().take(SHOWN) {
        let values: Vec<&str> = b.ips.iter().chain(&b.domains).map(String::as_str).take(4).collect();
        let _ = write!(
            s,
            "<tr><td><code>{}</code></td><td>{}</td><td class=\"n\">{}</td><td>{}</td><td><code>{}</code></td></tr>",
            escape(&b.server),
            b.state,
            b.score,
            escape(&b.countries.join(", ")),
            escape(&values.join(" "))
        );
    }
    let data = if t.actions.data_seized_bytes > 0 {
        format!(" Data seized: {}.", bytes(t.actions.data_seized_bytes))
    } else {
        String::new()
    };
    let _ = writeln!(
        s,
        "</tbody></table><p class=\"asof\">Computed by Dragnet from its store as of {}.{}</p></body></html>",
        escape(&r.as_of),
        escape(&data)
    );
    s
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn text_from_partners_cannot_open_markup() {
        assert_eq!(escape("<script>\"a\"&'b'</script>"), "&lt;script&gt;&quot;a&quot;&amp;&#39;b&#39;&lt;/script&gt;");
        assert_eq!(escape("Überprüfung"), "Überprüfung");
    }
}
