//! Sends queued webhook deliveries: claims due ones (any replica may; a claim is
//! exclusive), POSTs the event JSON signed with the webhook's secret, and records
//! the outcome, retrying failures with exponential back-off.

use std::time::Duration;

use api::events::{Event, EventBus};
use domain::webhooks::{Claimed, Outcome, claim_due, complete};
use hmac::{Hmac, Mac};
use poem_openapi::types::ToJSON;
use sea_orm::DatabaseConnection;
use sha2::Sha256;

/// How often the worker looks for due deliveries when nothing wakes it.
const TICK: Duration = Duration::from_millis(500);
/// How long one attempt may take.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
/// Deliveries claimed per round.
const BATCH: u64 = 32;

/// `sha256=` and the hex HMAC-SHA256 of `body` under `secret`.
pub fn signature(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

pub async fn run(
    db: DatabaseConnection,
    bus: EventBus,
    retry_base: Duration,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let client = match reqwest::Client::builder().timeout(ATTEMPT_TIMEOUT).build() {
        Ok(client) => client,
        Err(err) => {
            tracing::error!("webhook worker cannot start: {err}");
            return;
        }
    };
    let mut wake = bus.subscribe();
    loop {
        // Checked on every round: with a backlog of due deliveries the worker never
        // waits below, and a shutdown must not wait for the backlog to drain.
        if *stop.borrow() {
            return;
        }
        match claim_due(&db, chrono::Utc::now(), BATCH).await {
            Ok(claimed) if !claimed.is_empty() => {
                let sends = claimed.into_iter().map(|c| send(&client, &db, c, retry_base));
                tokio::select! {
                    _ = futures::future::join_all(sends) => continue,
                    // A shutdown abandons attempts in flight: their claims lapse after
                    // the lease and any replica tries them again.
                    _ = stop.changed() => return,
                }
            }
            Ok(_) => {}
            Err(err) => tracing::warn!("claiming webhook deliveries failed: {err}"),
        }
        tokio::select! {
            _ = stop.changed() => return,
            _ = wake.changed() => {},
            _ = tokio::time::sleep(TICK) => {},
        }
        if *stop.borrow() {
            return;
        }
    }
}

async fn send(client: &reqwest::Client, db: &DatabaseConnection, claimed: Claimed, retry_base: Duration) {
    let outcome = attempt(client, &claimed).await;
    if let Outcome::Failed { error, .. } = &outcome {
        tracing::info!(
            delivery = claimed.delivery.id,
            attempts = claimed.delivery.attempts,
            "webhook delivery failed: {error}"
        );
    }
    if let Err(err) = complete(db, &claimed, outcome, retry_base).await {
        tracing::warn!(
            delivery = claimed.delivery.id,
            "recording a webhook attempt failed: {err}"
        );
    }
}

/// POSTs the claimed event to its webhook once.
async fn attempt(client: &reqwest::Client, claimed: &Claimed) -> Outcome {
    let Some(event) = Event::from_row(claimed.event.clone()) else {
        // Written by a newer replica: counted as a failed attempt, so that a replica
        // that knows the type delivers it on a later try.
        return Outcome::Failed {
            status_code: None,
            error: format!("event type {} is unknown to this version", claimed.event.kind),
        };
    };
    let body = event.to_json().map(|v| v.to_string()).unwrap_or_default();
    let answer = client
        .post(&claimed.webhook.url)
        .header("content-type", "application/json")
        .header("user-agent", concat!("switchboard/", env!("CARGO_PKG_VERSION")))
        .header(
            "x-switchboard-signature",
            signature(&claimed.webhook.secret, body.as_bytes()),
        )
        .header("x-switchboard-event", claimed.event.kind.as_str())
        .header("x-switchboard-event-id", claimed.event.id.to_string())
        .header("x-switchboard-delivery-id", claimed.delivery.id.to_string())
        .body(body)
        .send()
        .await;
    match answer {
        Ok(response) if response.status().is_success() => Outcome::Delivered {
            status_code: i32::from(response.status().as_u16()),
        },
        Ok(response) => Outcome::Failed {
            status_code: Some(i32::from(response.status().as_u16())),
            error: format!("answered {}", response.status()),
        },
        Err(err) => Outcome::Failed {
            status_code: None,
            error: err.to_string(),
        },
    }
}

/// On PostgreSQL: wakes this replica's streams and worker whenever any replica
/// announces events. Reconnects after errors; the event table stays the truth, so
/// a notification lost while reconnecting only delays a stream by its idle poll.
pub async fn listen_for_events(database_url: String, bus: EventBus, mut stop: tokio::sync::watch::Receiver<bool>) {
    use sea_orm::sqlx::postgres::PgListener;
    loop {
        let listener = async {
            let mut listener = PgListener::connect(&database_url).await?;
            listener.listen(api::EVENTS_CHANNEL).await?;
            Ok::<_, sea_orm::sqlx::Error>(listener)
        }
        .await;
        match listener {
            Ok(mut listener) => loop {
                tokio::select! {
                    _ = stop.changed() => return,
                    received = listener.recv() => match received {
                        Ok(_) => bus.wake(),
                        Err(err) => {
                            tracing::warn!("event listener lost its connection: {err}");
                            break;
                        }
                    },
                }
            },
            Err(err) => tracing::warn!("event listener cannot connect: {err}"),
        }
        bus.wake();
        tokio::select! {
            _ = stop.changed() => return,
            _ = tokio::time::sleep(Duration::from_secs(1)) => {},
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_is_the_hex_hmac_sha256_of_the_body() {
        // RFC 4231 test case 2.
        assert_eq!(
            signature("Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
