//! `dragnet taxii pull`: fetches a remote TAXII 2.1 collection's objects
//! added since the last pull, page by page (`next`), and ingests them as
//! one STIX submission of a source; where it stopped is kept in the store.

use dragnet_core::Store;
use dragnet_core::policy::BatchLabels;
use dragnet_core::store::Source;
use serde::Serialize;
use serde_json::{Value, json};

use crate::ingest::FileReport;
use crate::taxii::MEDIA_TYPE;
use crate::{Error, Result};

/// Most pages one pull reads; the rest waits for the next pull.
const MAX_PAGES: usize = 1000;

/// What to pull and into which source.
pub struct Pull<'a> {
    /// The API root, e.g. `https://taxii.example.org/api1/`.
    pub api_root: &'a str,
    pub collection: &'a str,
    pub source: Source,
    /// A bearer token for the remote server.
    pub token: Option<&'a str>,
    /// Objects a page.
    pub limit: usize,
}

#[derive(Debug, Serialize)]
pub struct Pulled {
    pub pages: usize,
    pub objects: usize,
    /// Where this pull started (the previous pull's last `date_added`).
    pub added_after: Option<String>,
    pub added_last: Option<String>,
    pub report: Option<FileReport>,
}

fn get(url: &str, token: Option<&str>) -> Result<(Value, Option<String>)> {
    let mut request = ureq::get(url).header("Accept", MEDIA_TYPE);
    if let Some(t) = token {
        request = request.header("Authorization", &format!("Bearer {t}"));
    }
    let mut response = request.call().map_err(|e| Error::invalid(format!("{url}: {e}")))?;
    let last = response.headers().get("x-taxii-date-added-last").and_then(|v| v.to_str().ok()).map(str::to_string);
    let body = response
        .body_mut()
        .with_config()
        .limit(64 * 1024 * 1024)
        .read_json::<Value>()
        .map_err(|e| Error::invalid(format!("{url}: not a TAXII envelope: {e}")))?;
    Ok((body, last))
}

/// Pulls what was added since the last pull and ingests it.
pub fn pull(store: &mut dyn Store, p: &Pull<'_>) -> Result<Pulled> {
    let root = p.api_root.trim_end_matches('/');
    let base = format!("{root}/collections/{}/objects/", p.collection);
    let added_after = store.taxii_pull(root, p.collection)?;
    let mut out = Pulled { pages: 0, objects: 0, added_after: added_after.clone(), added_last: None, report: None };
    let mut objects: Vec<Value> = Vec::new();
    let mut next: Option<String> = None;
    while out.pages < MAX_PAGES {
        let mut url = format!("{base}?limit={}", p.limit.max(1));
        if let Some(after) = &added_after {
            url.push_str(&format!("&added_after={}", encode(after)));
        }
        if let Some(n) = &next {
            url.push_str(&format!("&next={}", encode(n)));
        }
        let (envelope, last) = get(&url, p.token)?;
        out.pages += 1;
        if let Some(last) = last {
            out.added_last = Some(out.added_last.take().map_or(last.clone(), |l: String| l.max(last)));
        }
        objects.extend(envelope["objects"].as_array().into_iter().flatten().cloned());
        next = envelope["next"].as_str().map(str::to_string);
        if envelope["more"] != true || next.is_none() {
            break;
        }
    }
    out.objects = objects.len();
    if objects.is_empty() {
        return Ok(out);
    }
    let bundle = json!({"type": "bundle", "id": format!("bundle--{}", uuid::Uuid::new_v4()), "objects": objects});
    let report = crate::ingest::submit(
        store,
        &p.source,
        BatchLabels::default(),
        Some(dragnet_ingest::Format::Stix),
        &dragnet_ingest::Mapping::default(),
        &format!("taxii:{root}/collections/{}/", p.collection),
        bundle.to_string().as_bytes(),
    )?;
    // Only a pull that was written moves the mark: a failed one is retried whole.
    if report.error.is_none()
        && let Some(last) = &out.added_last
    {
        store.put_taxii_pull(root, p.collection, last, crate::now())?;
    }
    out.report = Some(report);
    Ok(out)
}

/// Percent-encodes a query value (timestamps carry `:` and `+`).
fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect()
}
