//! Hardening: conditional writes, rate limits, metrics, and many clients on one chat.

use std::collections::HashMap;

use reqwest::Method;
use serde_json::{Value, json};

use crate::on_both_databases;
use crate::support::{Backend, contact, spawn_app, spawn_app_with};

on_both_databases!(
    a_stale_if_match_is_refused_with_412_and_changes_nothing,
    a_token_over_its_rate_limit_gets_429_with_retry_after,
    metrics_count_requests_by_route_and_status,
    fifty_clients_on_one_chat_leave_it_consistent,
);

async fn a_stale_if_match_is_refused_with_412_and_changes_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let ws = app.workspace("Acme").await;
    let (_, chat, _) = app.incoming(&ws, &contact("c", "Olha"), "hi").await;
    let first = app.get(&format!("/v1/chats/{chat}"), &ws.token).await;
    let etag = first.headers["etag"].to_str().unwrap().to_owned();
    assert_eq!(etag, format!("\"{}\"", first.body["version"]));

    let with = |method: Method, path: String, tag: &str| {
        app.client
            .request(method, app.url(&path))
            .bearer_auth(&ws.token)
            .header("If-Match", tag.to_owned())
    };
    // Somebody else reads the chat: the version moves on.
    app.put(&format!("/v1/chats/{chat}/read"), &ws.token).await.assert_ok();
    let stale = app
        .raw(with(Method::PUT, format!("/v1/chats/{chat}/close"), &etag))
        .await;
    stale.assert_error(412, "version_mismatch");
    app.raw(with(Method::PUT, format!("/v1/chats/{chat}/close"), "not-a-version"))
        .await
        .assert_error(400, "invalid_parameter");
    let forward =
        with(Method::POST, format!("/v1/chats/{chat}/forward/{}", ws.admin_id), &etag).json(&json!({"text": "x"}));
    app.raw(forward).await.assert_error(412, "version_mismatch");
    let unchanged = app.get(&format!("/v1/chats/{chat}"), &ws.token).await;
    assert_eq!(unchanged.body["state"], "open");
    assert_eq!(unchanged.body["operator"], Value::Null);

    let current = unchanged.headers["etag"].to_str().unwrap().to_owned();
    app.raw(with(Method::PUT, format!("/v1/chats/{chat}/close"), &current))
        .await
        .assert_ok();
    let weak = format!("W/{current}");
    app.raw(with(Method::PUT, format!("/v1/chats/{chat}/open"), &weak))
        .await
        .assert_error(412, "version_mismatch");
    let closed = app.get(&format!("/v1/chats/{chat}"), &ws.token).await;
    assert_eq!(closed.body["state"], "closed");
    app.raw(with(Method::PUT, format!("/v1/chats/{chat}/open"), "*"))
        .await
        .assert_ok();
    app.stop().await;
}

async fn a_token_over_its_rate_limit_gets_429_with_retry_after(backend: Backend) {
    let app = spawn_app_with(backend, |s| s.rate_limit_per_minute = 5).await;
    let ws = app.workspace("Acme").await;
    let (_, other) = app.operator(&ws, "Taras", "operator").await;
    for remaining in (0..3).rev() {
        let ok = app.get("/v1/chats", &ws.token).await;
        ok.assert_ok();
        assert_eq!(
            ok.headers["x-rate-limit-limit"], "5",
            "two of five went to making an operator"
        );
        assert_eq!(ok.headers["x-rate-limit-remaining"], remaining.to_string().as_str());
    }
    let limited = app.get("/v1/chats", &ws.token).await;
    limited.assert_error(429, "rate_limited");
    let retry: u64 = limited.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=12).contains(&retry), "Retry-After {retry}");
    assert_eq!(limited.headers["x-rate-limit-remaining"], "0");
    // Other tokens, connectors and the token-less endpoints are not held back.
    app.get("/v1/chats", &other).await.assert_ok();
    for i in 0..8 {
        app.incoming(&ws, &contact("c", "Olha"), &format!("m{i}")).await;
    }
    app.request(Method::GET, "/health/live", None, None).await.assert_ok();
    app.stop().await;
}

async fn metrics_count_requests_by_route_and_status(backend: Backend) {
    let app = spawn_app(backend).await;
    let ws = app.workspace("Acme").await;
    let (_, chat, _) = app.incoming(&ws, &contact("c", "Olha"), "hi").await;
    app.get(&format!("/v1/chats/{chat}"), &ws.token).await.assert_ok();
    app.get("/v1/chats/999999", &ws.token)
        .await
        .assert_error(404, "chat_not_found");
    let text = app.metrics().await;
    assert!(
        text.contains(r#"http_requests_total{route="/v1/chats/{id}",method="GET",status="200"}"#),
        "{text}"
    );
    assert!(text.contains(r#"http_requests_total{route="/v1/chats/{id}",method="GET",status="404"} "#));
    assert!(text.contains(r#"http_request_duration_seconds_bucket{route="/v1/channel/messages",le="+Inf"} "#));
    for gauge in [
        "switchboard_sse_subscribers ",
        "switchboard_db_pool_connections{state=\"idle\"} ",
        "switchboard_webhook_backlog 0",
    ] {
        assert!(text.contains(gauge), "{gauge} in {text}");
    }
    app.stop().await;
}

async fn fifty_clients_on_one_chat_leave_it_consistent(backend: Backend) {
    let app = spawn_app(backend).await;
    let ws = app.workspace("Acme").await;
    let mut operators = vec![ws.admin_id];
    for name in ["Taras", "Maria", "Petro"] {
        operators.push(app.operator(&ws, name, "operator").await.0);
    }
    let person = contact("c", "Olha");
    let (_, chat, _) = app.incoming(&ws, &person, "first").await;

    let tasks = (0..50).map(|i| {
        let app = &app;
        let ws = ws.clone();
        let person = person.clone();
        let to = operators[i % operators.len()];
        async move {
            let answer = match i % 6 {
                0 => {
                    app.post(
                        &format!("/v1/chats/{chat}/forward/{to}"),
                        &ws.token,
                        json!({"text": format!("f{i}")}),
                    )
                    .await
                }
                1 => app.put(&format!("/v1/chats/{chat}/close"), &ws.token).await,
                2 => app.put(&format!("/v1/chats/{chat}/open"), &ws.token).await,
                3 => app.put(&format!("/v1/chats/{chat}/read"), &ws.token).await,
                4 => {
                    app.post(
                        &format!("/v1/chats/{chat}/messages"),
                        &ws.token,
                        json!({"text": format!("s{i}")}),
                    )
                    .await
                }
                _ => {
                    app.incoming(&ws, &person, &format!("in{i}")).await;
                    return (i, true);
                }
            };
            (i, answer.status.is_success())
        }
    });
    let results: HashMap<usize, bool> = futures::future::join_all(tasks).await.into_iter().collect();
    assert!(results.values().all(|ok| *ok), "every request succeeded: {results:?}");

    let got = app.get(&format!("/v1/chats/{chat}"), &ws.token).await;
    let body = got.assert_ok();
    let messages = app
        .get(
            &format!("/v1/chats/{chat}/messages?from=2000-01-01T00:00:00Z&limit=1024"),
            &ws.token,
        )
        .await;
    let rows = messages.body["collection"].as_array().unwrap().clone();
    let unread = rows
        .iter()
        .filter(|m| m["direction"] == "incoming" && m["status"] != "read")
        .count();
    assert_eq!(
        body["unreadMessages"], unread,
        "the unread count agrees with the messages"
    );
    let forwards = (0..50).filter(|i| i % 6 == 0).count();
    let sends = (0..50).filter(|i| i % 6 == 4).count();
    let inbound = 1 + (0..50).filter(|i| i % 6 == 5).count();
    assert_eq!(
        rows.len(),
        sends + inbound,
        "every send and inbound message is there once"
    );

    let history = app.get(&format!("/v1/chats/{chat}/assignments"), &ws.token).await;
    assert_eq!(history.body["cursor"]["total"], forwards);
    let mut all = Vec::new();
    for page in 1..=3 {
        let p = app
            .get(&format!("/v1/chats/{chat}/assignments?page={page}"), &ws.token)
            .await;
        all.extend(p.body["collection"].as_array().unwrap().clone());
    }
    assert_eq!(
        body["operator"]["id"],
        all.last().unwrap()["to"]["id"],
        "the assignee is the last forward's"
    );
    for pair in all.windows(2) {
        assert_eq!(
            pair[1]["from"], pair[0]["to"],
            "each forward starts where the previous one ended"
        );
    }

    let events = app.get("/v1/events/poll?limit=1000", &ws.token).await;
    let events = events.body["collection"].as_array().unwrap().clone();
    let count = |kind: &str| events.iter().filter(|e| e["type"] == kind).count();
    assert_eq!(count("chat.forwarded"), forwards);
    assert_eq!(count("message.created"), sends + inbound);
    let last_state = events
        .iter()
        .rev()
        .find(|e| e["type"] == "chat.closed" || e["type"] == "chat.opened")
        .unwrap();
    assert_eq!(
        last_state["payload"]["state"], body["state"],
        "the last state event agrees with the chat"
    );
    let last_chat_event = events
        .iter()
        .rev()
        .find(|e| e["type"].as_str().unwrap().starts_with("chat.") && e["payload"].get("version").is_some())
        .unwrap();
    assert!(last_chat_event["payload"]["version"].as_i64() <= body["version"].as_i64());
    app.stop().await;
}

on_both_databases!(a_connector_cannot_set_state_assignee_or_read_marks);

/// Property-level authorization: a connector's body can carry only a contact and a
/// message; fields that name a chat's state, assignee or unread count are ignored.
async fn a_connector_cannot_set_state_assignee_or_read_marks(backend: Backend) {
    let app = spawn_app(backend).await;
    let ws = app.workspace("Acme").await;
    let (taras, _) = app.operator(&ws, "Taras", "operator").await;
    let (_, chat, _) = app.incoming(&ws, &contact("c", "Olha"), "hi").await;
    let before = app.get(&format!("/v1/chats/{chat}"), &ws.token).await;
    let sneaky = json!({
        "contact": {"externalId": "c", "name": "Olha", "workspaceId": 999, "channelId": 999},
        "externalMessageId": "sneaky-1",
        "text": "let me in",
        "state": "closed",
        "operatorId": taras,
        "unreadMessages": 0,
        "status": "read",
        "internal": true,
        "direction": "outgoing",
    });
    let posted = app.post("/v1/channel/messages", &ws.channel_token, sneaky).await;
    assert_eq!(posted.status.as_u16(), 201);
    let after = app.get(&format!("/v1/chats/{chat}"), &ws.token).await;
    assert_eq!(after.body["state"], "open");
    assert_eq!(after.body["operator"], Value::Null);
    assert_eq!(
        after.body["unreadMessages"],
        before.body["unreadMessages"].as_i64().unwrap() + 1
    );
    assert_eq!(after.body["contact"]["channel"]["id"], ws.channel_id);
    let message = app
        .get(&format!("/v1/chats/{chat}/messages?limitation=1"), &ws.token)
        .await;
    let m = &message.body["collection"][0];
    assert_eq!(
        (m["direction"].as_str(), m["internal"].as_bool(), m["status"].as_str()),
        (Some("incoming"), Some(false), Some("delivered"))
    );
    // A status report is the only other write a connector makes, and only for
    // operator messages of its own channel.
    app.request(
        Method::PUT,
        &format!("/v1/channel/messages/{}/status", m["id"]),
        Some(&ws.channel_token),
        Some(json!({"status": "read"})),
    )
    .await
    .assert_error(404, "message_not_found");
    app.stop().await;
}

/// PostgreSQL drops every connection the server holds (as a restart or an administrator
/// would): once they have sat idle past the pool's ping threshold, the next requests
/// find them dead by the ping and open new ones, so every request succeeds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_carries_on_after_postgresql_drops_its_connections() {
    use sea_orm::ConnectionTrait;
    if crate::support::postgres_url().is_none() {
        eprintln!(
            "TEST_POSTGRES_URL is not set; a_server_carries_on_after_postgresql_drops_its_connections did not run"
        );
        return;
    }
    let app = spawn_app(Backend::Postgres).await;
    let ws = app.workspace("Acme").await;
    let (_, chat, _) = app.incoming(&ws, &contact("c", "Olha"), "hello").await;
    let lists = |n: usize| futures::future::join_all((0..n).map(|_| app.get("/v1/chats?limitation=20", &ws.token)));
    // Several requests at once, so that the pool holds several connections.
    for answer in lists(16).await {
        answer.assert_ok();
    }

    let admin = sea_orm::Database::connect(&app.database_url).await.unwrap();
    let dropped = admin
        .query_all_raw(sea_orm::Statement::from_string(
            sea_orm::DbBackend::Postgres,
            "SELECT pg_terminate_backend(pid) AS gone FROM pg_stat_activity \
             WHERE datname = current_database() AND pid <> pg_backend_pid()",
        ))
        .await
        .unwrap();
    admin.close().await.ok();
    assert!(
        dropped.len() >= 2,
        "the server held connections to drop ({})",
        dropped.len()
    );

    tokio::time::sleep(switchboard::domain::db::POSTGRES_PING_AFTER_IDLE + std::time::Duration::from_millis(300)).await;
    for answer in lists(16).await {
        assert_eq!(answer.body["cursor"]["total"], 1, "{answer:?}");
    }
    let (_, _, message) = app.incoming(&ws, &contact("c", "Olha"), "still there?").await;
    let page = app
        .get(&format!("/v1/chats/{chat}/messages?limitation=20"), &ws.token)
        .await;
    assert_eq!(page.body["collection"][0]["id"], message, "{page:?}");
    app.stop().await;
}

/// On PostgreSQL the chat list, a chat and message pages read on connections of their
/// own (no test round trip after each statement), with their filters and page bounds
/// written into the statement so that PostgreSQL plans it once. A read connection that
/// PostgreSQL dropped is replaced by the next read, which still answers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgresql_hot_reads_have_connections_of_their_own() {
    use sea_orm::ConnectionTrait;
    if crate::support::postgres_url().is_none() {
        eprintln!("TEST_POSTGRES_URL is not set; postgresql_hot_reads_have_connections_of_their_own did not run");
        return;
    }
    let app = spawn_app(Backend::Postgres).await;
    let ws = app.workspace("Acme").await;
    let (_, open, _) = app.incoming(&ws, &contact("a", "Olha"), "hello").await;
    let (_, closed, _) = app.incoming(&ws, &contact("b", "Taras"), "bye").await;
    app.put(&format!("/v1/chats/{closed}/close"), &ws.token)
        .await
        .assert_ok();
    let ids = |answer: &crate::support::Answer| -> Vec<i64> {
        answer.assert_ok()["collection"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_i64().unwrap())
            .collect()
    };
    assert_eq!(
        ids(&app.get("/v1/chats?state=open&limitation=20", &ws.token).await),
        [open]
    );

    let admin = sea_orm::Database::connect(&app.database_url).await.unwrap();
    let read_connections = |action: &str| {
        sea_orm::Statement::from_string(
            sea_orm::DbBackend::Postgres,
            format!(
                "SELECT {action} FROM pg_stat_activity WHERE datname = current_database() AND application_name = '{}'",
                switchboard::domain::pgread::READ_APPLICATION_NAME
            ),
        )
    };
    // What each read connection ran last.
    let read_statements = || async {
        admin
            .query_all_raw(read_connections("query"))
            .await
            .unwrap()
            .iter()
            .map(|row| row.try_get::<String>("", "query").unwrap())
            .collect::<Vec<String>>()
    };
    let statements = read_statements().await;
    assert!(
        statements
            .iter()
            .any(|q| q.contains(r#""chat"."state" = 'open'"#) && q.ends_with("LIMIT 20") && !q.contains("$2")),
        "the open list was read on a read connection, its state and bounds in the statement: {statements:?}"
    );

    // PostgreSQL drops the read connections; the very next reads open new ones.
    let dropped = admin
        .query_all_raw(read_connections("pg_terminate_backend(pid)"))
        .await
        .unwrap();
    assert!(!dropped.is_empty());
    assert_eq!(
        ids(&app.get("/v1/chats?state=closed&limitation=20", &ws.token).await),
        [closed]
    );
    assert_eq!(
        ids(&app.get("/v1/chats?state=open&limitation=20", &ws.token).await),
        [open]
    );
    let page = app
        .get(&format!("/v1/chats/{open}/messages?limitation=20"), &ws.token)
        .await;
    assert_eq!(page.assert_ok()["collection"][0]["content"]["text"], "hello");
    // The page was read with its chat and contact in one statement (PostgreSQL keeps
    // the first 1,024 bytes of a statement's text: its select list and joins).
    let statements = read_statements().await;
    assert!(
        statements
            .iter()
            .any(|q| q.contains(r#""m"."deleted_at" FROM "chat" INNER JOIN "contact""#)
                && q.contains(r#"LEFT JOIN (SELECT "message"."id""#)),
        "the message page and its chat were one statement: {statements:?}"
    );
    admin.close().await.ok();
    app.stop().await;
}
