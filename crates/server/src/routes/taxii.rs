//! TAXII 2.1 (`/taxii2/`): discovery, the API root, collections, objects
//! with `added_after`, `limit`, `next` and `match[…]`, one object, its
//! versions, the manifest, DELETE, POST of an envelope and its status.
//! Media type `application/taxii+json;version=2.1`; errors are TAXII error
//! messages. Paging is by key: `next` names the last object served.

use axum::Router;
use axum::body::Bytes as RawBody;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use dragnet_core::access::Role;
use dragnet_core::store::{TaxiiObject, TaxiiQuery};
use dragnet_engine::taxii::{self, MEDIA_TYPE};
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::extract::{Path, Query};
use crate::state::{Access, App, Credential};

const MAX_PAGE: usize = 1000;

pub fn router() -> Router<App> {
    Router::new()
        .route("/taxii2/", get(discovery))
        .route("/taxii2/api/", get(api_root))
        .route("/taxii2/api/collections/", get(collections))
        .route("/taxii2/api/collections/{id}/", get(collection))
        .route("/taxii2/api/collections/{id}/objects/", get(objects).post(add))
        .route("/taxii2/api/collections/{id}/objects/{object}/", get(object).delete(delete))
        .route("/taxii2/api/collections/{id}/objects/{object}/versions/", get(versions))
        .route("/taxii2/api/collections/{id}/manifest/", get(manifest))
        .route("/taxii2/api/status/{id}/", get(status))
}

/// An error as a TAXII error message.
pub struct TaxiiError(ApiError);

impl<E: Into<ApiError>> From<E> for TaxiiError {
    fn from(e: E) -> TaxiiError {
        TaxiiError(e.into())
    }
}

impl IntoResponse for TaxiiError {
    fn into_response(self) -> Response {
        self.0.respond(|status, code, description| {
            let body = json!({"title": code, "description": description, "http_status": status.as_u16().to_string()});
            (status, taxii_json(&body)).into_response()
        })
    }
}

fn taxii_json(body: &Value) -> Response {
    ([(header::CONTENT_TYPE, MEDIA_TYPE)], body.to_string()).into_response()
}

/// 406 unless the caller accepts TAXII 2.1 (or anything).
fn accepts(headers: &HeaderMap) -> Result<(), TaxiiError> {
    let Some(accept) = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()) else { return Ok(()) };
    let ok = accept.split(',').map(|m| m.trim().replace(' ', "")).any(|m| {
        m.starts_with("application/taxii+json;version=2.1")
            || m == "application/taxii+json"
            || m.starts_with("*/*")
            || m.starts_with("application/*")
    });
    if ok {
        Ok(())
    } else {
        Err(TaxiiError(ApiError::Rejected(
            StatusCode::NOT_ACCEPTABLE,
            format!("cannot answer as {accept}; TAXII speaks {MEDIA_TYPE}"),
        )))
    }
}

async fn discovery(headers: HeaderMap) -> Result<impl IntoResponse, TaxiiError> {
    accepts(&headers)?;
    Ok(taxii_json(&json!({
        "title": "Dragnet TAXII 2.1",
        "description": "Agencies' packages, partners' submissions and TLP:CLEAR data, as far as each caller may see",
        "default": "/taxii2/api/",
        "api_roots": ["/taxii2/api/"],
    })))
}

async fn api_root(
    State(app): State<App>,
    credential: Credential,
    headers: HeaderMap,
) -> Result<impl IntoResponse, TaxiiError> {
    accepts(&headers)?;
    let max = app.config.max_body;
    app.call(credential, Access::Token(Role::Reader), |_, _, _| Ok(())).await?;
    Ok(taxii_json(&json!({
        "title": "Dragnet", "versions": [MEDIA_TYPE], "max_content_length": max,
    })))
}

async fn collections(
    State(app): State<App>,
    credential: Credential,
    headers: HeaderMap,
) -> Result<impl IntoResponse, TaxiiError> {
    accepts(&headers)?;
    let list = app
        .call(credential, Access::Token(Role::Reader), |store, _, scope| Ok(taxii::collections(store, scope)?))
        .await?;
    Ok(taxii_json(&json!({"collections": list})))
}

async fn collection(
    State(app): State<App>,
    credential: Credential,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, TaxiiError> {
    accepts(&headers)?;
    let c = app
        .call(credential, Access::Token(Role::Reader), move |store, _, scope| Ok(taxii::collection(store, scope, &id)?))
        .await?;
    Ok(taxii_json(&serde_json::to_value(c).unwrap_or_default()))
}

/// The query parameters TAXII defines, parsed.
struct Filters {
    added_after: Option<i64>,
    after: Option<(i64, i64)>,
    ids: Vec<String>,
    kinds: Vec<String>,
    spec_versions: Vec<String>,
    versions: Vec<String>,
    latest: Option<bool>,
    limit: usize,
}

fn invalid(message: String) -> TaxiiError {
    TaxiiError(ApiError::Engine(dragnet_engine::Error::invalid(message)))
}

fn filters(params: &[(String, String)], default_version: Option<bool>) -> Result<Filters, TaxiiError> {
    let list = |key: &str| -> Vec<String> {
        params.iter().filter(|(k, _)| k == key).flat_map(|(_, v)| v.split(',').map(|s| s.trim().to_string())).collect()
    };
    let one = |key: &str| params.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str());
    let added_after = one("added_after")
        .map(|t| taxii::parse_timestamp(t).ok_or_else(|| invalid(format!("added_after: `{t}` is not a timestamp"))))
        .transpose()?;
    let after = one("next")
        .map(|n| {
            n.split_once('.')
                .and_then(|(a, s)| Some((a.parse().ok()?, s.parse().ok()?)))
                .ok_or_else(|| invalid(format!("next: `{n}` is not one this server gave")))
        })
        .transpose()?;
    let limit = one("limit")
        .map(|l| l.parse::<usize>().map_err(|_| invalid(format!("limit: `{l}` is not a number"))))
        .transpose()?
        .unwrap_or(100)
        .clamp(1, MAX_PAGE);
    let mut versions = list("match[version]");
    let latest = match versions.as_slice() {
        [] => default_version,
        [v] if v == "last" => Some(true),
        [v] if v == "first" => Some(false),
        [v] if v == "all" => None,
        _ => None,
    };
    versions.retain(|v| !["last", "first", "all"].contains(&v.as_str()));
    Ok(Filters {
        added_after,
        after,
        ids: list("match[id]"),
        kinds: list("match[type]"),
        spec_versions: list("match[spec_version]"),
        versions,
        latest,
        limit,
    })
}

/// One page of a collection's objects: the page, whether there is more,
/// and the `next` key.
async fn page(
    app: &App,
    credential: Credential,
    id: String,
    f: Filters,
) -> Result<(Vec<TaxiiObject>, bool, Option<String>), TaxiiError> {
    let limit = f.limit;
    let objects = app
        .call(credential, Access::Token(Role::Reader), move |store, _, scope| {
            let c = taxii::collection(store, scope, &id)?;
            if !c.can_read {
                return Err(ApiError::Engine(dragnet_engine::Error::Forbidden(format!(
                    "collection {id} is write-only"
                ))));
            }
            let q = TaxiiQuery {
                collection: &c.id,
                added_after: f.added_after,
                after: f.after,
                ids: &f.ids,
                kinds: &f.kinds,
                spec_versions: &f.spec_versions,
                latest: f.latest,
                versions: &f.versions,
                limit: f.limit + 1,
            };
            Ok(store.taxii_objects(&q)?)
        })
        .await?;
    let more = objects.len() > limit;
    let objects: Vec<TaxiiObject> = objects.into_iter().take(limit).collect();
    let next = if more { objects.last().map(|o| format!("{}.{}", o.date_added, o.seq)) } else { None };
    Ok((objects, more, next))
}

fn with_dates(objects: &[TaxiiObject], body: String) -> Response {
    let mut response = ([(header::CONTENT_TYPE, MEDIA_TYPE)], body).into_response();
    if let (Some(first), Some(last)) = (objects.first(), objects.last()) {
        for (name, t) in [("x-taxii-date-added-first", first.date_added), ("x-taxii-date-added-last", last.date_added)]
        {
            if let Ok(v) = HeaderValue::from_str(&taxii::timestamp(t)) {
                response.headers_mut().insert(name, v);
            }
        }
    }
    response
}

/// The envelope, with the stored objects spliced in as they are (stored
/// JSON is never parsed again to be served).
fn envelope(objects: &[TaxiiObject], more: bool, next: Option<String>) -> String {
    let mut head = json!({"more": more});
    if let Some(n) = next {
        head["next"] = json!(n);
    }
    let head = head.to_string();
    if objects.is_empty() {
        return head;
    }
    let size = objects.iter().map(|o| o.body.len() + 1).sum::<usize>();
    let mut body = String::with_capacity(head.len() + size + 16);
    body.push_str(head.strip_suffix('}').unwrap_or(&head));
    body.push_str(",\"objects\":[");
    for (i, o) in objects.iter().enumerate() {
        if i > 0 {
            body.push(',');
        }
        body.push_str(&o.body);
    }
    body.push_str("]}");
    body
}

async fn objects(
    State(app): State<App>,
    credential: Credential,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(params): Query<Vec<(String, String)>>,
) -> Result<Response, TaxiiError> {
    accepts(&headers)?;
    let (objects, more, next) = page(&app, credential, id, filters(&params, Some(true))?).await?;
    Ok(with_dates(&objects, envelope(&objects, more, next)))
}

async fn object(
    State(app): State<App>,
    credential: Credential,
    headers: HeaderMap,
    Path((id, object)): Path<(String, String)>,
    Query(params): Query<Vec<(String, String)>>,
) -> Result<Response, TaxiiError> {
    accepts(&headers)?;
    let (objects, more, next) = one_object(&app, credential, id, object, &params, Some(true)).await?;
    Ok(with_dates(&objects, envelope(&objects, more, next)))
}

/// The versions of one object that the filters select; 404 when none.
async fn one_object(
    app: &App,
    credential: Credential,
    id: String,
    object: String,
    params: &[(String, String)],
    default_version: Option<bool>,
) -> Result<(Vec<TaxiiObject>, bool, Option<String>), TaxiiError> {
    let mut f = filters(params, default_version)?;
    f.ids = vec![object.clone()];
    let found = page(app, credential, id, f).await?;
    if found.0.is_empty() {
        return Err(TaxiiError(ApiError::Engine(dragnet_engine::Error::NotFound(format!("no object {object}")))));
    }
    Ok(found)
}

async fn versions(
    State(app): State<App>,
    credential: Credential,
    headers: HeaderMap,
    Path((id, object)): Path<(String, String)>,
    Query(params): Query<Vec<(String, String)>>,
) -> Result<Response, TaxiiError> {
    accepts(&headers)?;
    let (objects, more, next) = one_object(&app, credential, id, object, &params, None).await?;
    let mut body = json!({"more": more, "versions": objects.iter().map(|o| o.version.clone()).collect::<Vec<_>>()});
    if let Some(n) = next {
        body["next"] = json!(n);
    }
    Ok(with_dates(&objects, body.to_string()))
}

async fn manifest(
    State(app): State<App>,
    credential: Credential,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(params): Query<Vec<(String, String)>>,
) -> Result<Response, TaxiiError> {
    accepts(&headers)?;
    let (objects, more, next) = page(&app, credential, id, filters(&params, Some(true))?).await?;
    let mut body = json!({"more": more});
    if let Some(n) = next {
        body["next"] = json!(n);
    }
    if !objects.is_empty() {
        body["objects"] = Value::Array(
            objects
                .iter()
                .map(|o| {
                    json!({"id": o.id, "date_added": taxii::timestamp(o.date_added), "version": o.version,
                           "media_type": taxii::STIX_MEDIA_TYPE})
                })
                .collect(),
        );
    }
    Ok(with_dates(&objects, body.to_string()))
}

async fn add(
    State(app): State<App>,
    credential: Credential,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: RawBody,
) -> Result<Response, TaxiiError> {
    accepts(&headers)?;
    let envelope: Value = serde_json::from_slice(&body).map_err(|e| invalid(format!("not a TAXII envelope: {e}")))?;
    let status = app
        .call(credential, Access::Token(Role::Submitter), move |store, _, scope| {
            let c = taxii::collection(store, scope, &id)?;
            Ok(taxii::post(store, scope, &c, &envelope, dragnet_engine::now_micros())?)
        })
        .await?;
    app.written().await?;
    Ok((StatusCode::ACCEPTED, taxii_json(&status)).into_response())
}

async fn delete(
    State(app): State<App>,
    credential: Credential,
    headers: HeaderMap,
    Path((id, object)): Path<(String, String)>,
    Query(params): Query<Vec<(String, String)>>,
) -> Result<Response, TaxiiError> {
    accepts(&headers)?;
    let f = filters(&params, None)?;
    let deleted = app
        .call(credential, Access::Token(Role::Submitter), move |store, _, scope| {
            let c = taxii::collection(store, scope, &id)?;
            if !c.can_write {
                return Err(ApiError::Engine(dragnet_engine::Error::Forbidden(format!(
                    "the caller may not delete from {id}"
                ))));
            }
            Ok(store.taxii_delete(&c.id, &object, &f.versions)?)
        })
        .await?;
    if deleted == 0 {
        return Err(TaxiiError(ApiError::Engine(dragnet_engine::Error::NotFound("no such object".into()))));
    }
    Ok(StatusCode::OK.into_response())
}

async fn status(
    State(app): State<App>,
    credential: Credential,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, TaxiiError> {
    accepts(&headers)?;
    let body = app
        .call(credential, Access::Token(Role::Reader), move |store, _, scope| {
            let found = store.taxii_status(&id)?;
            match found {
                Some((collection, body)) if taxii::collection(store, scope, &collection).is_ok() => Ok(body),
                _ => Err(ApiError::Engine(dragnet_engine::Error::NotFound(format!("no status {id}")))),
            }
        })
        .await?;
    let value: Value = serde_json::from_str(&body).unwrap_or_default();
    Ok(taxii_json(&value).into_response())
}
