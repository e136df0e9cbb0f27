//! Prometheus metrics: requests by route and status, and a latency
//! histogram, rendered in the text exposition format at `/metrics`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;

use crate::state::App;

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 9] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.1, 0.5, 2.5];

#[derive(Default)]
pub struct Metrics {
    inner: Mutex<Counts>,
}

#[derive(Default)]
struct Counts {
    requests: BTreeMap<(String, String, u16), u64>,
    buckets: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

impl Metrics {
    fn record(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let mut c = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        *c.requests.entry((method.to_string(), route.to_string(), status)).or_default() += 1;
        for (i, bound) in BUCKETS.iter().enumerate() {
            if seconds <= *bound {
                c.buckets[i] += 1;
            }
        }
        c.count += 1;
        c.sum += seconds;
    }

    pub fn render(&self) -> String {
        let c = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let mut out = String::new();
        out.push_str("# HELP dragnet_http_requests_total HTTP requests by method, route and status.\n");
        out.push_str("# TYPE dragnet_http_requests_total counter\n");
        for ((method, route, status), n) in &c.requests {
            let _ = writeln!(
                out,
                "dragnet_http_requests_total{{method=\"{method}\",route=\"{route}\",status=\"{status}\"}} {n}"
            );
        }
        out.push_str("# HELP dragnet_http_request_seconds Time to answer a request.\n");
        out.push_str("# TYPE dragnet_http_request_seconds histogram\n");
        for (bound, n) in BUCKETS.iter().zip(c.buckets) {
            let _ = writeln!(out, "dragnet_http_request_seconds_bucket{{le=\"{bound}\"}} {n}");
        }
        let _ = writeln!(out, "dragnet_http_request_seconds_bucket{{le=\"+Inf\"}} {}", c.count);
        let _ = writeln!(out, "dragnet_http_request_seconds_sum {}", c.sum);
        let _ = writeln!(out, "dragnet_http_request_seconds_count {}", c.count);
        out
    }
}

/// Counts and logs every request by its route template (never its
/// values, and never a header: tokens stay out of logs).
pub async fn observe(State(app): State<App>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().to_string();
    let route = request.extensions().get::<MatchedPath>().map_or("unmatched", |m| m.as_str()).to_string();
    let response = next.run(request).await;
    let seconds = started.elapsed().as_secs_f64();
    let status = response.status().as_u16();
    app.metrics.record(&method, &route, status, seconds);
    tracing::info!(%method, %route, status, ms = seconds * 1000.0, "request");
    response
}
