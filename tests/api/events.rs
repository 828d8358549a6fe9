//! Live events: every change type lands in the log with its resource, the SSE stream
//! delivers fast and resumes exactly, workspaces never see each other's events, and
//! replicas on one PostgreSQL wake each other.

use std::time::{Duration, Instant};

use futures::StreamExt;
use reqwest::Method;
use serde_json::{Value, json};

use crate::on_both_databases;
use crate::support::{Backend, TestApp, Workspace, contact, spawn_app};

on_both_databases!(
    each_change_writes_its_event_with_the_resource_as_the_api_shows_it,
    an_sse_client_receives_an_inbound_message_within_a_second,
    a_reconnect_with_last_event_id_receives_exactly_the_missed_events,
    a_workspace_never_sees_another_workspaces_events,
    bad_event_requests_are_refused,
    a_reader_between_two_commits_misses_no_event,
);

async fn poll(app: &TestApp, ws: &Workspace, after: i64) -> Vec<Value> {
    let page = app
        .get(&format!("/v1/events/poll?after={after}&limit=1000"), &ws.token)
        .await;
    page.assert_ok()["collection"].as_array().unwrap().clone()
}

fn types(events: &[Value]) -> Vec<&str> {
    events.iter().map(|e| e["type"].as_str().unwrap()).collect()
}

async fn each_change_writes_its_event_with_the_resource_as_the_api_shows_it(backend: Backend) {
    let app = spawn_app(backend).await;
    let ws = app.workspace("Acme").await;
    let (taras, _) = app.operator(&ws, "Taras", "operator").await;

    let (_, chat, incoming) = app.incoming(&ws, &contact("c", "Olha"), "hello").await;
    let events = poll(&app, &ws, 0).await;
    assert_eq!(
        types(&events),
        ["chat.created", "message.created", "chat.unread_changed"]
    );
    assert!(
        events.windows(2).all(|w| w[0]["id"].as_i64() < w[1]["id"].as_i64()),
        "ids increase"
    );
    assert!(events.iter().all(|e| e["chatId"] == chat));
    let message_page = app.get(&format!("/v1/chats/{chat}/messages"), &ws.token).await;
    assert_eq!(
        events[1]["payload"], message_page.body["collection"][0],
        "the message as the API shows it"
    );
    assert_eq!(events[2]["payload"], json!({"chatId": chat, "unreadMessages": 1}));
    let mut seen = events.last().unwrap()["id"].as_i64().unwrap();

    app.put(&format!("/v1/chats/{chat}/read"), &ws.token).await.assert_ok();
    let events = poll(&app, &ws, seen).await;
    assert_eq!(types(&events), ["chat.read", "chat.unread_changed"]);
    let now = app.get(&format!("/v1/chats/{chat}"), &ws.token).await;
    assert_eq!(
        events[0]["payload"], now.body,
        "the chat as GET /v1/chats/{{id}} shows it"
    );
    assert_eq!(events[1]["payload"]["unreadMessages"], 0);
    seen = events.last().unwrap()["id"].as_i64().unwrap();

    for (path, expected) in [("close", "chat.closed"), ("open", "chat.opened")] {
        app.put(&format!("/v1/chats/{chat}/{path}"), &ws.token)
            .await
            .assert_ok();
        let events = poll(&app, &ws, seen).await;
        assert_eq!(types(&events), [expected]);
        assert_eq!(
            events[0]["payload"]["state"],
            if path == "close" { "closed" } else { "open" }
        );
        seen = events[0]["id"].as_i64().unwrap();
    }

    app.post(
        &format!("/v1/chats/{chat}/forward/{taras}"),
        &ws.token,
        json!({"text": "yours"}),
    )
    .await
    .assert_ok();
    let events = poll(&app, &ws, seen).await;
    assert_eq!(types(&events), ["chat.forwarded"]);
    assert_eq!(events[0]["payload"]["operator"], json!({"id": taras, "name": "Taras"}));
    seen = events[0]["id"].as_i64().unwrap();

    let sent = app
        .post(&format!("/v1/chats/{chat}/messages"), &ws.token, json!({"text": "hi!"}))
        .await;
    let id = sent.body["id"].as_i64().unwrap();
    let events = poll(&app, &ws, seen).await;
    assert_eq!(types(&events), ["message.created"]);
    assert_eq!(events[0]["payload"], sent.body);
    seen = events[0]["id"].as_i64().unwrap();

    let edited = app
        .request(
            Method::PATCH,
            &format!("/v1/chats/{chat}/messages/{id}"),
            Some(&ws.token),
            Some(json!({"text": "hi"})),
        )
        .await;
    let events = poll(&app, &ws, seen).await;
    assert_eq!(types(&events), ["message.updated"]);
    assert_eq!(events[0]["payload"], edited.body);
    seen = events[0]["id"].as_i64().unwrap();

    let report = json!({"status": "delivered"});
    app.request(
        Method::PUT,
        &format!("/v1/channel/messages/{id}/status"),
        Some(&ws.channel_token),
        Some(report),
    )
    .await
    .assert_ok();
    let events = poll(&app, &ws, seen).await;
    assert_eq!(types(&events), ["message.status_changed"]);
    assert_eq!(events[0]["payload"]["status"], "delivered");
    seen = events[0]["id"].as_i64().unwrap();

    let deleted = app
        .request(
            Method::DELETE,
            &format!("/v1/chats/{chat}/messages/{id}"),
            Some(&ws.token),
            None,
        )
        .await;
    let events = poll(&app, &ws, seen).await;
    assert_eq!(types(&events), ["message.deleted"]);
    assert_eq!(events[0]["payload"], deleted.body);
    seen = events[0]["id"].as_i64().unwrap();

    app.incoming(&ws, &contact("c", "Olha"), "again").await;
    app.request(
        Method::PUT,
        "/v1/messages/read",
        Some(&ws.token),
        Some(json!({"messageId": incoming})),
    )
    .await
    .assert_ok();
    let events = poll(&app, &ws, seen).await;
    assert_eq!(
        types(&events),
        ["message.created", "chat.unread_changed"],
        "reading an already read message changes nothing"
    );
    seen = events.last().unwrap()["id"].as_i64().unwrap();

    // A refused request writes no event.
    app.post(&format!("/v1/chats/{chat}/messages"), &ws.token, json!({"text": ""}))
        .await
        .assert_error(400, "text_empty");
    assert_eq!(poll(&app, &ws, seen).await, Vec::<Value>::new());
    app.stop().await;
}

/// Reads Server-Sent Events from a streaming response.
struct SseReader {
    stream: futures::stream::BoxStream<'static, reqwest::Result<bytes::Bytes>>,
    buffer: String,
}

impl SseReader {
    fn new(response: reqwest::Response) -> Self {
        SseReader {
            stream: response.bytes_stream().boxed(),
            buffer: String::new(),
        }
    }

    /// The next `count` events, or fewer if `deadline` passes first.
    async fn next(&mut self, count: usize, deadline: Duration) -> Vec<(i64, String, Value)> {
        let mut events = Vec::new();
        let until = Instant::now() + deadline;
        while events.len() < count {
            while let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let (mut id, mut kind, mut data) = (None, String::new(), String::new());
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("id: ") {
                        id = v.parse().ok();
                    } else if let Some(v) = line.strip_prefix("event: ") {
                        kind = v.to_owned();
                    } else if let Some(v) = line.strip_prefix("data: ") {
                        data.push_str(v);
                    }
                }
                if let Some(id) = id {
                    events.push((id, kind, serde_json::from_str(&data).expect("event data is JSON")));
                }
            }
            if events.len() >= count {
                break;
            }
            let left = until.saturating_duration_since(Instant::now());
            let Ok(Some(Ok(chunk))) = tokio::time::timeout(left, self.stream.next()).await else {
                break;
            };
            self.buffer.push_str(&String::from_utf8_lossy(&chunk));
        }
        events
    }
}

async fn read_sse(response: reqwest::Response, count: usize, deadline: Duration) -> Vec<(i64, String, Value)> {
    SseReader::new(response).next(count, deadline).await
}

async fn open_stream(app: &TestApp, token: &str, query: &str, last_event_id: Option<i64>) -> reqwest::Response {
    let mut request = app
        .client
        .get(app.url(&format!("/v1/events{query}")))
        .bearer_auth(token);
    if let Some(id) = last_event_id {
        request = request.header("Last-Event-ID", id.to_string());
    }
    let response = request.send().await.expect("stream");
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    response
}

async fn an_sse_client_receives_an_inbound_message_within_a_second(backend: Backend) {
    let app = spawn_app(backend).await;
    let ws = app.workspace("Acme").await;
    app.incoming(&ws, &contact("old", "Before the stream"), "old news")
        .await;
    let stream = open_stream(&app, &ws.token, "?types=message.created", None).await;
    let started = Instant::now();
    let (_, chat, message) = app.incoming(&ws, &contact("c", "Olha"), "are you there?").await;
    let events = read_sse(stream, 1, Duration::from_secs(5)).await;
    let elapsed = started.elapsed();
    assert_eq!(events.len(), 1, "the new message arrived, and only it");
    let (_, kind, data) = &events[0];
    assert_eq!(kind, "message.created");
    assert_eq!(data["chatId"], chat);
    assert_eq!(data["payload"]["id"], message);
    assert_eq!(data["payload"]["content"]["text"], "are you there?");
    assert!(elapsed < Duration::from_secs(1), "arrived after {elapsed:?}");
    app.stop().await;
}

async fn a_reconnect_with_last_event_id_receives_exactly_the_missed_events(backend: Backend) {
    let app = spawn_app(backend).await;
    let ws = app.workspace("Acme").await;
    let first = open_stream(&app, &ws.token, "", None).await;
    app.incoming(&ws, &contact("c", "Olha"), "one").await;
    let received = read_sse(first, 3, Duration::from_secs(5)).await;
    assert_eq!(received.len(), 3);
    let last_seen = received.last().unwrap().0;

    // Disconnected: more changes happen.
    let (_, chat, _) = app.incoming(&ws, &contact("c", "Olha"), "two").await;
    app.put(&format!("/v1/chats/{chat}/close"), &ws.token).await.assert_ok();
    let missed = poll(&app, &ws, last_seen).await;
    assert_eq!(missed.len(), 3, "{missed:?}");

    let resumed = open_stream(&app, &ws.token, "", Some(last_seen)).await;
    let replayed = read_sse(resumed, 4, Duration::from_secs(2)).await;
    let replayed_ids: Vec<i64> = replayed.iter().map(|e| e.0).collect();
    let missed_ids: Vec<i64> = missed.iter().map(|e| e["id"].as_i64().unwrap()).collect();
    assert_eq!(
        replayed_ids, missed_ids,
        "exactly the missed events, in order, without duplicates"
    );
    let by_query = open_stream(&app, &ws.token, &format!("?after={last_seen}"), None).await;
    assert_eq!(
        read_sse(by_query, 3, Duration::from_secs(5))
            .await
            .iter()
            .map(|e| e.0)
            .collect::<Vec<_>>(),
        missed_ids
    );
    app.stop().await;
}

async fn a_workspace_never_sees_another_workspaces_events(backend: Backend) {
    let app = spawn_app(backend).await;
    let acme = app.workspace("Acme").await;
    let other = app.workspace("Other").await;
    let stream = open_stream(&app, &other.token, "?after=0", None).await;
    app.incoming(&acme, &contact("c", "Olha"), "secret").await;
    app.incoming(&other, &contact("d", "Dmytro"), "mine").await;
    let events = read_sse(stream, 4, Duration::from_secs(3)).await;
    assert_eq!(events.len(), 3, "only Other's three events: {events:?}");
    assert!(events.iter().all(|(_, _, e)| !e.to_string().contains("secret")));
    let polled = poll(&app, &other, 0).await;
    assert_eq!(polled.len(), 3);
    assert!(polled.iter().all(|e| !e.to_string().contains("Olha")));
    app.stop().await;
}

async fn bad_event_requests_are_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let ws = app.workspace("Acme").await;
    app.get("/v1/events?types=chat.exploded", &ws.token)
        .await
        .assert_error(400, "invalid_event_type");
    app.get("/v1/events/poll?types=nope", &ws.token)
        .await
        .assert_error(400, "invalid_event_type");
    app.get("/v1/events/poll?limit=1001", &ws.token)
        .await
        .assert_error(400, "invalid_limit");
    app.get("/v1/events", &ws.channel_token)
        .await
        .assert_error(401, "unauthorized");
    app.raw(
        app.client
            .get(app.url("/v1/events"))
            .bearer_auth(&ws.token)
            .header("Last-Event-ID", "abc"),
    )
    .await
    .assert_error(400, "invalid_parameter");
    app.stop().await;
}

/// Two `switchboard serve` replicas over one PostgreSQL database: a change made
/// through A reaches a stream on B within a second (LISTEN/NOTIFY, not polling).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_on_postgres_wake_each_others_streams() {
    let Some((a, b)) = crate::support::postgres_replicas("replicas_on_postgres_wake_each_others_streams").await else {
        return;
    };
    let ws = a.workspace("Acme").await;
    let mut on_b = SseReader::new(open_stream(&b, &ws.token, "?types=message.created", None).await);
    for i in 0..3 {
        let started = Instant::now();
        let (_, _, message) = a.incoming(&ws, &contact("c", "Olha"), &format!("via A {i}")).await;
        let events = on_b.next(1, Duration::from_secs(5)).await;
        let elapsed = started.elapsed();
        assert_eq!(events.len(), 1, "message {i} reached B");
        assert_eq!(events[0].2["payload"]["id"], message);
        assert!(
            elapsed < Duration::from_secs(1),
            "message {i} reached B after {elapsed:?}"
        );
    }
    b.stop().await;
    a.stop().await;
}

/// Event ids are drawn when a row is written, not when it commits. A reader that
/// resumes after the last id it saw must still get an event whose transaction was
/// open while a later change committed: here a transaction holds an event of its own
/// (as a shared inbound commit would while it flushes) while an operator sends a
/// message, and a reader polls in between.
async fn a_reader_between_two_commits_misses_no_event(backend: Backend) {
    use switchboard::domain;
    let app = spawn_app(backend).await;
    let ws = app.workspace("Acme").await;
    let (_, chat, _) = app.incoming(&ws, &contact("c", "Olha"), "hello").await;
    let start = poll(&app, &ws, 0).await.last().unwrap()["id"].as_i64().unwrap();
    let mut cursor = start;

    let open = domain::db::begin_write(&app.db, &[ws.id]).await.unwrap();
    domain::events::record(
        &open,
        ws.id,
        domain::events::EventKind::ChatRead,
        Some(chat),
        json!({"id": chat}),
    )
    .await
    .unwrap();
    let send = app
        .client
        .post(app.url(&format!("/v1/chats/{chat}/messages")))
        .bearer_auth(&ws.token)
        .json(&json!({"text": "while another commit is open"}))
        .send();
    let send = tokio::spawn(send);
    // Give the send time to commit if nothing holds it back.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut seen: Vec<i64> = Vec::new();
    for event in poll(&app, &ws, cursor).await {
        seen.push(event["id"].as_i64().unwrap());
    }
    cursor = seen.last().copied().unwrap_or(cursor);
    open.commit().await.unwrap();
    let sent = send.await.unwrap().unwrap();
    assert_eq!(sent.status().as_u16(), 201);
    for event in poll(&app, &ws, cursor).await {
        seen.push(event["id"].as_i64().unwrap());
    }
    let all: Vec<Value> = poll(&app, &ws, 0).await;
    let written: Vec<i64> = all
        .iter()
        .map(|e| e["id"].as_i64().unwrap())
        .filter(|id| *id > start)
        .collect();
    let types: Vec<&str> = all
        .iter()
        .filter(|e| seen.contains(&e["id"].as_i64().unwrap()))
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(seen, written, "the reader skipped an event ({types:?})");
    assert!(
        types.contains(&"chat.read") && types.contains(&"message.created"),
        "{types:?}"
    );
    app.stop().await;
}
