//! Per-token rate limiting, SmartSender style (180 requests a minute by default): a
//! token bucket per bearer token, refilled continuously. Answers 429 with
//! `Retry-After`, and every limited answer carries `X-Rate-Limit-Limit`,
//! `X-Rate-Limit-Remaining` and `X-Rate-Limit-Reset`. Requests without a token
//! (health, spec, docs) are not counted. Each replica keeps its own buckets.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use poem::{Endpoint, IntoResponse, Middleware, Request, Response, Result};

use crate::error::error_response;

pub struct RateLimiter {
    per_minute: u32,
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
}

/// What the limiter decided for one request.
pub struct Decision {
    pub allowed: bool,
    pub limit: u32,
    pub remaining: u32,
    /// Seconds until the bucket is full again.
    pub reset: u64,
    /// Seconds until one more request is allowed.
    pub retry_after: u64,
}

/// Buckets kept before idle ones are dropped.
const MAX_BUCKETS: usize = 100_000;

impl RateLimiter {
    pub fn new(per_minute: u32) -> Self {
        RateLimiter {
            per_minute,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    pub fn check(&self, key: &str) -> Decision {
        let capacity = f64::from(self.per_minute);
        let per_second = capacity / 60.0;
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() >= MAX_BUCKETS && !buckets.contains_key(key) {
            buckets.retain(|_, (tokens, at)| *tokens + at.elapsed().as_secs_f64() * per_second < capacity);
        }
        let (tokens, at) = buckets.entry(key.to_owned()).or_insert((capacity, now));
        *tokens = (*tokens + now.duration_since(*at).as_secs_f64() * per_second).min(capacity);
        *at = now;
        let allowed = *tokens >= 1.0;
        if allowed {
            *tokens -= 1.0;
        }
        Decision {
            allowed,
            limit: self.per_minute,
            remaining: tokens.floor() as u32,
            reset: ((capacity - *tokens) / per_second).ceil() as u64,
            retry_after: if allowed {
                0
            } else {
                ((1.0 - *tokens) / per_second).ceil().max(1.0) as u64
            },
        }
    }
}

pub struct RateLimit(pub Option<Arc<RateLimiter>>);

impl<E: Endpoint> Middleware<E> for RateLimit {
    type Output = RateLimitEndpoint<E>;

    fn transform(&self, inner: E) -> Self::Output {
        RateLimitEndpoint {
            inner,
            limiter: self.0.clone(),
        }
    }
}

pub struct RateLimitEndpoint<E> {
    inner: E,
    limiter: Option<Arc<RateLimiter>>,
}

fn set_headers(response: &mut Response, decision: &Decision) {
    let headers = response.headers_mut();
    for (name, value) in [
        ("x-rate-limit-limit", decision.limit.to_string()),
        ("x-rate-limit-remaining", decision.remaining.to_string()),
        ("x-rate-limit-reset", decision.reset.to_string()),
    ] {
        if let Ok(value) = value.parse() {
            headers.insert(name, value);
        }
    }
}

impl<E: Endpoint> Endpoint for RateLimitEndpoint<E> {
    type Output = Response;

    async fn call(&self, req: Request) -> Result<Self::Output> {
        // Connectors (channel tokens, `sbc_…`) bring customers' messages in and are
        // not held to an operator's pace.
        let token = req
            .headers()
            .get(poem::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .filter(|v| {
                !v.trim_start_matches("Bearer ")
                    .starts_with(domain::workspaces::CHANNEL_TOKEN_PREFIX)
            })
            .map(domain::auth::hash_token);
        let (Some(limiter), Some(key)) = (&self.limiter, token) else {
            return self.inner.call(req).await.map(IntoResponse::into_response);
        };
        let decision = limiter.check(&key);
        if !decision.allowed {
            let mut response = error_response(
                domain::ErrorCode::RateLimited,
                format!(
                    "more than {} requests a minute with this token; retry in {} s",
                    decision.limit, decision.retry_after
                ),
            );
            set_headers(&mut response, &decision);
            if let Ok(value) = decision.retry_after.to_string().parse() {
                response.headers_mut().insert(poem::http::header::RETRY_AFTER, value);
            }
            return Ok(response);
        }
        let mut response = self.inner.call(req).await?.into_response();
        set_headers(&mut response, &decision);
        Ok(response)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_allows_its_limit_then_refuses_with_a_retry_time() {
        let limiter = RateLimiter::new(3);
        for remaining in [2, 1, 0] {
            let d = limiter.check("t");
            assert!(d.allowed);
            assert_eq!(d.remaining, remaining);
        }
        let refused = limiter.check("t");
        assert!(!refused.allowed);
        assert!((1..=20).contains(&refused.retry_after), "{}", refused.retry_after);
        assert!(limiter.check("other").allowed, "buckets are per token");
    }
}
