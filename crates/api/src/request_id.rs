//! The edge of the app: every request gets an id (kept from `X-Request-Id` when the
//! caller sends a sane one), a tracing span carrying it, a body-size cap, and any
//! error that escaped an operation turned into our error body.

use std::sync::Arc;

use poem::{Endpoint, IntoResponse, Middleware, Request, Response, Result};
use tracing::Instrument;

use crate::error::{error_response, framework_error_response};

tokio::task_local! {
    static REQUEST_ID: String;
}

/// The id of the request being answered ("" outside one).
pub fn current() -> String {
    REQUEST_ID.try_with(Clone::clone).unwrap_or_default()
}

/// The documented methods of each path template, to answer 405 with `Allow`.
#[derive(Clone, Default)]
pub struct Routes(Arc<Vec<(Vec<String>, String)>>);

impl Routes {
    /// Reads the path templates and their methods out of the OpenAPI document.
    pub fn from_spec(spec: &str) -> Self {
        let spec: serde_json::Value = serde_json::from_str(spec).unwrap_or_default();
        let mut routes = Vec::new();
        if let Some(paths) = spec["paths"].as_object() {
            for (template, item) in paths {
                let mut methods: Vec<String> = item
                    .as_object()
                    .map(|m| m.keys().map(|k| k.to_uppercase()).collect())
                    .unwrap_or_default();
                if methods.iter().any(|m| m == "GET") {
                    methods.push("HEAD".into());
                }
                let segments = template.split('/').map(str::to_owned).collect();
                routes.push((segments, methods.join(", ")));
            }
        }
        Routes(Arc::new(routes))
    }

    fn allow(&self, path: &str) -> Option<&str> {
        let segments: Vec<&str> = path.split('/').collect();
        self.0.iter().find_map(|(template, allow)| {
            let fits = template.len() == segments.len()
                && template
                    .iter()
                    .zip(&segments)
                    .all(|(t, s)| t == s || (t.starts_with('{') && t.ends_with('}')));
            fits.then_some(allow.as_str())
        })
    }
}

pub struct Edge(pub Routes);

impl<E: Endpoint> Middleware<E> for Edge {
    type Output = EdgeEndpoint<E>;

    fn transform(&self, ep: E) -> Self::Output {
        EdgeEndpoint {
            inner: ep,
            routes: self.0.clone(),
        }
    }
}

pub struct EdgeEndpoint<E> {
    inner: E,
    routes: Routes,
}

fn incoming_id(req: &Request) -> Option<String> {
    let id = req.headers().get("x-request-id")?.to_str().ok()?;
    let sane =
        !id.is_empty() && id.len() <= 64 && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    sane.then(|| id.to_owned())
}

impl<E: Endpoint> Endpoint for EdgeEndpoint<E> {
    type Output = Response;

    async fn call(&self, mut req: Request) -> Result<Self::Output> {
        let id = incoming_id(&req).unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string());
        let span = tracing::info_span!("request", id = %id, method = %req.method(), path = %req.uri().path());
        let (method, path) = (req.method().to_string(), req.uri().path().to_owned());
        let (inner, routes) = (&self.inner, &self.routes);
        let answer = REQUEST_ID.scope(id.clone(), async move {
            let started = std::time::Instant::now();
            let mut response = match cap_body(&mut req).await {
                Err(response) => response,
                Ok(()) => match tokio::time::timeout(domain::limits::REQUEST_TIMEOUT, inner.call(req)).await {
                    Ok(Ok(output)) => output.into_response(),
                    Ok(Err(err)) => framework_error_response(err),
                    // A write cut off here rolls back with its transaction.
                    Err(_) => error_response(
                        domain::ErrorCode::Timeout,
                        format!(
                            "the request took longer than {} s",
                            domain::limits::REQUEST_TIMEOUT.as_secs()
                        ),
                    ),
                },
            };
            let status = response.status().as_u16();
            if status == 405
                && let Some(allow) = routes.allow(&path).and_then(|a| a.parse().ok())
            {
                response.headers_mut().insert(poem::http::header::ALLOW, allow);
            }
            crate::metrics::record(&path, &method, status, started.elapsed());
            if status >= 500 {
                tracing::warn!(status, elapsed_ms = started.elapsed().as_millis() as u64, "answered");
            } else {
                tracing::info!(status, elapsed_ms = started.elapsed().as_millis() as u64, "answered");
            }
            if let Ok(value) = id.parse() {
                response.headers_mut().insert("x-request-id", value);
            }
            response
        });
        Ok(answer.instrument(span).await)
    }
}

/// Reads the body up to the cap; a larger one is refused before any handler runs.
async fn cap_body(req: &mut Request) -> std::result::Result<(), Response> {
    let limit = domain::limits::MAX_BODY_BYTES;
    let declared = req
        .headers()
        .get(poem::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let too_large = || {
        error_response(
            domain::ErrorCode::PayloadTooLarge,
            format!("the body is larger than {limit} bytes"),
        )
    };
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    if declared == Some(0) || matches!(*req.method(), poem::http::Method::GET | poem::http::Method::HEAD) {
        return Ok(());
    }
    match req.take_body().into_bytes_limit(limit).await {
        Ok(bytes) => {
            req.set_body(bytes);
            Ok(())
        }
        Err(poem::error::ReadBodyError::PayloadTooLarge) => Err(too_large()),
        Err(err) => Err(error_response(
            domain::ErrorCode::InvalidBody,
            format!("the body could not be read: {err}"),
        )),
    }
}
