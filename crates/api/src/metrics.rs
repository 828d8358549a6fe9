//! `/metrics` in Prometheus text: requests by route, method and status, latency
//! histograms by route, the database pool, SSE subscribers and the webhook backlog.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use poem::{IntoResponse, Response, handler, web::Data};
use sea_orm::{ConnectionTrait, DbBackend};

use crate::AppState;

const BUCKETS: [f64; 12] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0];
/// Label sets kept before new routes are counted as `other`.
const MAX_SERIES: usize = 500;

#[derive(Default)]
struct Histogram {
    buckets: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

#[derive(Default)]
struct Registry {
    requests: BTreeMap<(String, String, u16), u64>,
    latency: BTreeMap<String, Histogram>,
}

static REGISTRY: Mutex<Option<Registry>> = Mutex::new(None);
static SSE_SUBSCRIBERS: AtomicI64 = AtomicI64::new(0);

/// A path with its ids replaced, so that routes, not resources, make the labels.
pub fn route_label(path: &str) -> String {
    let known = ["/v1/", "/health/", "/metrics", "/openapi", "/docs"];
    if !known.iter().any(|p| path.starts_with(p)) {
        return "other".into();
    }
    if path.starts_with("/docs") {
        return "/docs".into();
    }
    let segments: Vec<&str> = path
        .split('/')
        .map(|s| {
            if !s.is_empty() && s.chars().all(|c| c.is_ascii_digit()) {
                "{id}"
            } else {
                s
            }
        })
        .collect();
    let label = segments.join("/");
    if segments.len() > 7
        || !label
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "/{}_.-".contains(c))
    {
        return "other".into();
    }
    label
}

pub fn record(path: &str, method: &str, status: u16, elapsed: Duration) {
    let route = route_label(path);
    let mut guard = REGISTRY.lock().unwrap_or_else(|p| p.into_inner());
    let registry = guard.get_or_insert_with(Registry::default);
    let route = if registry.latency.len() >= MAX_SERIES && !registry.latency.contains_key(&route) {
        "other".to_owned()
    } else {
        route
    };
    *registry
        .requests
        .entry((route.clone(), method.to_owned(), status))
        .or_insert(0) += 1;
    let histogram = registry.latency.entry(route).or_default();
    let seconds = elapsed.as_secs_f64();
    for (i, bound) in BUCKETS.iter().enumerate() {
        if seconds <= *bound {
            histogram.buckets[i] += 1;
        }
    }
    histogram.count += 1;
    histogram.sum += seconds;
}

/// Counts an open event stream for as long as it lives.
pub struct SubscriberGuard;

impl SubscriberGuard {
    pub fn new() -> Self {
        SSE_SUBSCRIBERS.fetch_add(1, Ordering::SeqCst);
        SubscriberGuard
    }
}

impl Default for SubscriberGuard {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for SubscriberGuard {
    fn drop(&mut self) {
        SSE_SUBSCRIBERS.fetch_sub(1, Ordering::SeqCst);
    }
}

fn pool_figures(state: &AppState) -> Option<(u32, usize)> {
    match state.db.get_database_backend() {
        DbBackend::Sqlite => {
            let pool = state.db.get_sqlite_connection_pool();
            Some((pool.size(), pool.num_idle()))
        }
        DbBackend::Postgres => {
            let pool = state.db.get_postgres_connection_pool();
            Some((pool.size(), pool.num_idle()))
        }
        _ => None,
    }
}

async fn webhook_backlog(state: &AppState) -> Option<i64> {
    let stmt = sea_orm::Statement::from_string(
        state.db.get_database_backend(),
        "SELECT COUNT(*) AS n FROM webhook_delivery WHERE status = 'pending'",
    );
    let row = state.db.query_one_raw(stmt).await.ok()??;
    row.try_get("", "n").ok()
}

#[handler]
pub async fn metrics(state: Data<&AppState>) -> Response {
    let mut out = String::new();
    {
        let guard = REGISTRY.lock().unwrap_or_else(|p| p.into_inner());
        let empty = Registry::default();
        let registry = guard.as_ref().unwrap_or(&empty);
        out.push_str("# HELP http_requests_total HTTP requests answered, by route, method and status.\n");
        out.push_str("# TYPE http_requests_total counter\n");
        for ((route, method, status), n) in &registry.requests {
            let _ = writeln!(
                out,
                "http_requests_total{{route=\"{route}\",method=\"{method}\",status=\"{status}\"}} {n}"
            );
        }
        out.push_str("# HELP http_request_duration_seconds Time to answer, by route.\n");
        out.push_str("# TYPE http_request_duration_seconds histogram\n");
        for (route, h) in &registry.latency {
            for (bound, n) in BUCKETS.iter().zip(h.buckets.iter()) {
                let _ = writeln!(
                    out,
                    "http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{bound}\"}} {n}"
                );
            }
            let _ = writeln!(
                out,
                "http_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {}",
                h.count
            );
            let _ = writeln!(out, "http_request_duration_seconds_sum{{route=\"{route}\"}} {}", h.sum);
            let _ = writeln!(
                out,
                "http_request_duration_seconds_count{{route=\"{route}\"}} {}",
                h.count
            );
        }
    }
    out.push_str("# HELP switchboard_sse_subscribers Open event streams.\n# TYPE switchboard_sse_subscribers gauge\n");
    let _ = writeln!(
        out,
        "switchboard_sse_subscribers {}",
        SSE_SUBSCRIBERS.load(Ordering::SeqCst)
    );
    if let Some((size, idle)) = pool_figures(&state) {
        out.push_str("# HELP switchboard_db_pool_connections Database connections, by state.\n");
        out.push_str("# TYPE switchboard_db_pool_connections gauge\n");
        let _ = writeln!(out, "switchboard_db_pool_connections{{state=\"idle\"}} {idle}");
        let _ = writeln!(
            out,
            "switchboard_db_pool_connections{{state=\"in_use\"}} {}",
            (size as usize).saturating_sub(idle)
        );
    }
    let (together, one_by_one) = domain::ingest::written_counts();
    out.push_str(
        "# HELP switchboard_inbound_messages_written_total Inbound messages written by shared commits: \
         together with their batch, or one at a time after their batch failed.\n",
    );
    out.push_str("# TYPE switchboard_inbound_messages_written_total counter\n");
    let _ = writeln!(
        out,
        "switchboard_inbound_messages_written_total{{batch=\"together\"}} {together}"
    );
    let _ = writeln!(
        out,
        "switchboard_inbound_messages_written_total{{batch=\"one_by_one\"}} {one_by_one}"
    );
    if let Some(backlog) = webhook_backlog(&state).await {
        out.push_str("# HELP switchboard_webhook_backlog Webhook deliveries waiting to be sent.\n");
        out.push_str("# TYPE switchboard_webhook_backlog gauge\n");
        let _ = writeln!(out, "switchboard_webhook_backlog {backlog}");
    }
    out.with_content_type("text/plain; version=0.0.4").into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_in_paths_become_a_placeholder_and_strangers_become_other() {
        assert_eq!(route_label("/v1/chats/42/messages/7"), "/v1/chats/{id}/messages/{id}");
        assert_eq!(route_label("/health/live"), "/health/live");
        assert_eq!(route_label("/wp-admin.php"), "other");
        assert_eq!(route_label("/v1/chats/%27%20OR"), "other");
    }
}
