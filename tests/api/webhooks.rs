//! Webhooks: a local HTTP receiver checks the signatures, fails on purpose to see
//! the retries, and counts deliveries per event with two replicas running.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hmac::{Hmac, Mac};
use reqwest::Method;
use serde_json::{Value, json};
use sha2::Sha256;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::on_both_databases;
use crate::support::{Backend, TestApp, Workspace, contact, fresh_database, spawn_app, spawn_app_with, spawn_server};

on_both_databases!(
    webhooks_receive_signed_events_of_their_types,
    failed_deliveries_are_retried_with_back_off_and_visible,
    webhook_management_is_for_admins_and_checks_its_input,
    the_server_stops_promptly_with_deliveries_in_flight,
);

const SECRET: &str = "a-long-shared-secret";

#[derive(Clone, Debug)]
struct Received {
    headers: HashMap<String, String>,
    body: Vec<u8>,
}

/// A tiny HTTP server on 127.0.0.1 that records every request and answers the
/// first `failures` of them with 500.
#[derive(Clone)]
struct Receiver {
    url: String,
    received: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    async fn start(failures: usize) -> Receiver {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let received = Arc::new(Mutex::new(Vec::new()));
        let log = received.clone();
        tokio::spawn(async move {
            let mut served = 0usize;
            while let Ok((mut socket, _)) = listener.accept().await {
                let Some(request) = read_request(&mut socket).await else {
                    continue;
                };
                let status = if served < failures {
                    "500 Internal Server Error"
                } else {
                    "200 OK"
                };
                served += 1;
                log.lock().unwrap().push(request);
                let answer = format!("HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
                let _ = socket.write_all(answer.as_bytes()).await;
            }
        });
        Receiver { url, received }
    }

    fn requests(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    async fn wait_for(&self, count: usize, deadline: Duration) -> Vec<Received> {
        let until = Instant::now() + deadline;
        while self.requests().len() < count && Instant::now() < until {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.requests()
    }
}

async fn read_request(socket: &mut tokio::net::TcpStream) -> Option<Received> {
    let mut data = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        let n = socket.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        data.extend_from_slice(&chunk[..n]);
        if let Some(i) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&data[..head_end]).to_string();
    let headers: HashMap<String, String> = head
        .lines()
        .skip(1)
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_lowercase(), v.trim().to_owned()))
        .collect();
    let length: usize = headers.get("content-length").and_then(|v| v.parse().ok()).unwrap_or(0);
    while data.len() < head_end + length {
        let n = socket.read(&mut chunk).await.ok()?;
        if n == 0 {
            break;
        }
        data.extend_from_slice(&chunk[..n]);
    }
    Some(Received {
        headers,
        body: data[head_end..].to_vec(),
    })
}

fn expected_signature(body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

async fn subscribe(app: &TestApp, ws: &Workspace, url: &str, types: Value) -> i64 {
    let created = app
        .post(
            "/v1/webhooks",
            &ws.token,
            json!({"url": url, "types": types, "secret": SECRET}),
        )
        .await;
    assert_eq!(created.status.as_u16(), 201, "{}", created.body);
    assert!(created.body.get("secret").is_none(), "the secret is never shown back");
    created.body["id"].as_i64().unwrap()
}

async fn webhooks_receive_signed_events_of_their_types(backend: Backend) {
    let app = spawn_app(backend).await;
    let ws = app.workspace("Acme").await;
    let receiver = Receiver::start(0).await;
    let hook = subscribe(&app, &ws, &receiver.url, json!(["message.created"])).await;
    let (_, chat, message) = app.incoming(&ws, &contact("c", "Olha"), "hello hook").await;
    app.put(&format!("/v1/chats/{chat}/close"), &ws.token).await.assert_ok();
    let got = receiver.wait_for(1, Duration::from_secs(5)).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let got_after = receiver.requests();
    assert_eq!(got.len(), 1);
    assert_eq!(got_after.len(), 1, "only message.created is subscribed");
    let request = &got[0];
    assert_eq!(
        request.headers["x-switchboard-signature"],
        expected_signature(&request.body)
    );
    assert_eq!(request.headers["content-type"], "application/json");
    let body: Value = serde_json::from_slice(&request.body).unwrap();
    assert_eq!(body["type"], "message.created");
    assert_eq!(body["payload"]["id"], message);
    assert_eq!(request.headers["x-switchboard-event-id"], body["id"].to_string());
    let polled = app.get("/v1/events/poll?types=message.created", &ws.token).await;
    assert_eq!(
        body, polled.body["collection"][0],
        "the webhook carries the event as the API shows it"
    );

    let deliveries = app.get(&format!("/v1/webhooks/{hook}/deliveries"), &ws.token).await;
    let row = &deliveries.assert_ok()["collection"][0];
    assert_eq!(row["status"], "delivered");
    assert_eq!(row["attempts"], 1);
    assert_eq!(row["lastStatusCode"], 200);
    assert_eq!(row["eventType"], "message.created");
    let listed = app.get("/v1/webhooks", &ws.token).await;
    assert_eq!(listed.body["collection"][0]["types"], json!(["message.created"]));
    app.request(Method::DELETE, &format!("/v1/webhooks/{hook}"), Some(&ws.token), None)
        .await
        .assert_ok();
    app.incoming(&ws, &contact("c", "Olha"), "after the delete").await;
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(receiver.requests().len(), 1, "a deleted webhook receives nothing");
    app.stop().await;
}

async fn failed_deliveries_are_retried_with_back_off_and_visible(backend: Backend) {
    // Retries after 1 s, then 2 s: time enough to look at the failed attempt.
    let app = spawn_app_with(backend, |s| s.webhook_retry_base = Duration::from_secs(1)).await;
    let ws = app.workspace("Acme").await;
    let receiver = Receiver::start(2).await;
    let hook = subscribe(&app, &ws, &receiver.url, json!(["chat.created"])).await;
    app.incoming(&ws, &contact("c", "Olha"), "hello").await;

    let first_failure = receiver.wait_for(1, Duration::from_secs(5)).await;
    assert_eq!(first_failure.len(), 1);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let deliveries = app.get(&format!("/v1/webhooks/{hook}/deliveries"), &ws.token).await;
    let row = deliveries.body["collection"][0].clone();
    assert_eq!(row["status"], "pending", "{row}");
    assert_eq!(row["lastStatusCode"], 500);
    assert!(row["lastError"].as_str().unwrap().contains("500"));

    let all = receiver.wait_for(3, Duration::from_secs(10)).await;
    assert_eq!(all.len(), 3, "two failures, then a success");
    let bodies: Vec<&Vec<u8>> = all.iter().map(|r| &r.body).collect();
    assert!(
        bodies.iter().all(|b| *b == bodies[0]),
        "every retry sends the same event"
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    let deliveries = app.get(&format!("/v1/webhooks/{hook}/deliveries"), &ws.token).await;
    let row = &deliveries.body["collection"][0];
    assert_eq!(row["status"], "delivered", "{row}");
    assert_eq!(row["attempts"], 3);
    assert!(row["deliveredAt"].is_string());
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(receiver.requests().len(), 3, "nothing is sent after success");
    app.stop().await;
}

async fn the_server_stops_promptly_with_deliveries_in_flight(backend: Backend) {
    // A receiver that accepts connections and never answers: each attempt waits for
    // the 10 s attempt timeout, and retries are due at once. A shutdown must not wait
    // for them.
    let app = spawn_app_with(backend, |s| s.webhook_retry_base = Duration::from_millis(1)).await;
    let ws = app.workspace("Acme").await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let (accepted_tx, mut accepted) = tokio::sync::mpsc::unbounded_channel();
    let black_hole = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
            let _ = accepted_tx.send(());
        }
    });
    subscribe(&app, &ws, &url, json!([])).await;
    for i in 0..5 {
        app.incoming(&ws, &contact(&format!("c{i}"), "Olha"), "hello").await;
    }
    tokio::time::timeout(Duration::from_secs(10), accepted.recv())
        .await
        .expect("a delivery is in flight");
    let started = std::time::Instant::now();
    tokio::time::timeout(Duration::from_secs(5), app.stop())
        .await
        .expect("the server stops without waiting for deliveries in flight");
    assert!(started.elapsed() < Duration::from_secs(5));
    black_hole.abort();
}

async fn webhook_management_is_for_admins_and_checks_its_input(backend: Backend) {
    let app = spawn_app(backend).await;
    let ws = app.workspace("Acme").await;
    let other = app.workspace("Other").await;
    let (_, operator) = app.operator(&ws, "Taras", "operator").await;
    let body = json!({"url": "http://127.0.0.1:9/hook", "types": [], "secret": SECRET});
    app.post("/v1/webhooks", &operator, body.clone())
        .await
        .assert_error(403, "forbidden");
    app.get("/v1/webhooks", &operator).await.assert_error(403, "forbidden");
    for (bad, code) in [
        (json!({"url": "ftp://x", "types": [], "secret": SECRET}), "invalid_url"),
        (
            json!({"url": "http://127.0.0.1:9/hook", "types": ["nope"], "secret": SECRET}),
            "invalid_event_type",
        ),
        (
            json!({"url": "http://127.0.0.1:9/hook", "types": [], "secret": "short"}),
            "invalid_secret",
        ),
    ] {
        app.post("/v1/webhooks", &ws.token, bad).await.assert_error(400, code);
    }
    assert_eq!(app.get("/v1/webhooks", &ws.token).await.body["collection"], json!([]));
    let hook = subscribe(&app, &ws, "http://127.0.0.1:9/hook", json!([])).await;
    app.request(
        Method::DELETE,
        &format!("/v1/webhooks/{hook}"),
        Some(&other.token),
        None,
    )
    .await
    .assert_error(404, "webhook_not_found");
    app.get(&format!("/v1/webhooks/{hook}/deliveries"), &other.token)
        .await
        .assert_error(404, "webhook_not_found");
    app.stop().await;
}

/// Two replicas over one PostgreSQL database deliver each event to a webhook once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_deliver_each_event_once_per_webhook() {
    let Some((a, b)) = crate::support::postgres_replicas("two_replicas_deliver_each_event_once_per_webhook").await
    else {
        return;
    };
    let ws = a.workspace("Acme").await;
    let first = Receiver::start(0).await;
    let second = Receiver::start(0).await;
    subscribe(&a, &ws, &first.url, json!(["message.created"])).await;
    subscribe(&b, &ws, &second.url, json!(["message.created"])).await;
    for i in 0..20 {
        let via = if i % 2 == 0 { &a } else { &b };
        via.incoming(&ws, &contact(&format!("c{}", i % 4), "Olha"), &format!("message {i}"))
            .await;
    }
    for receiver in [&first, &second] {
        receiver.wait_for(20, Duration::from_secs(15)).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    for receiver in [&first, &second] {
        let mut ids: Vec<String> = receiver
            .requests()
            .iter()
            .map(|r| r.headers["x-switchboard-event-id"].clone())
            .collect();
        assert_eq!(ids.len(), 20, "every event arrived");
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), 20, "and none twice");
    }
    b.stop().await;
    a.stop().await;
}

on_both_databases!(a_pending_delivery_survives_a_restart);

/// Deliveries live in the database: one that failed before a restart is sent by the
/// next server over the same database.
async fn a_pending_delivery_survives_a_restart(backend: Backend) {
    let url = fresh_database(backend).await;
    let first = spawn_server(&url).await;
    let ws = first.workspace("Acme").await;
    let receiver = Receiver::start(1).await;
    subscribe(&first, &ws, &receiver.url, json!(["chat.created"])).await;
    first.incoming(&ws, &contact("c", "Olha"), "hello").await;
    assert_eq!(
        receiver.wait_for(1, Duration::from_secs(5)).await.len(),
        1,
        "the first attempt failed"
    );
    first.stop_keeping_database().await;

    let second = spawn_server(&url).await;
    let all = receiver.wait_for(2, Duration::from_secs(10)).await;
    assert_eq!(all.len(), 2, "the restarted server retried the delivery");
    assert_eq!(all[0].body, all[1].body);
    second.stop().await;
}
