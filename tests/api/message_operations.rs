//! Message windows, unread counts and the mark-read variants, last activity,
//! broadcast, and editing and deleting one's own messages.

use reqwest::Method;
use serde_json::{Value, json};

use crate::on_both_databases;
use crate::support::{Backend, contact, ids, spawn_app};

on_both_databases!(
    messages_page_by_keyset_and_by_time_window,
    deep_pages_and_empty_windows_answer_with_the_chat,
    message_window_limits_and_conflicts_are_refused,
    unread_counts_and_mark_read_variants_agree_with_the_unread_selector,
    last_activity_answers_known_chats_only,
    broadcast_reaches_open_chats_of_the_workspace_only,
    operators_edit_and_delete_only_their_own_messages,
);

async fn messages_page_by_keyset_and_by_time_window(backend: Backend) {
    let app = spawn_app(backend).await;
    let ws = app.workspace("Acme").await;
    let mut sent = Vec::new();
    let mut chat = 0;
    for i in 0..30 {
        let mut body = json!({
            "contact": {"externalId": "c", "name": "Olha"},
            "externalMessageId": format!("m{i}"),
            "text": format!("message {i}"),
            "sentAt": format!("2026-03-01T10:{i:02}:00Z"),
        });
        if i == 29 {
            body["sentAt"] = json!("2026-03-01T11:00:00Z");
        }
        let posted = app.post("/v1/channel/messages", &ws.channel_token, body).await;
        chat = posted.body["chatId"].as_i64().unwrap();
        sent.push(posted.body["messageId"].as_i64().unwrap());
    }
    let before = app
        .get(
            &format!("/v1/chats/{chat}/messages?before={}&limit=5", sent[10]),
            &ws.token,
        )
        .await;
    assert_eq!(ids(before.assert_ok()), [sent[9], sent[8], sent[7], sent[6], sent[5]]);
    assert_eq!(before.body["cursor"]["total"], 10, "ten messages are older");
    let deep = app
        .get(
            &format!("/v1/chats/{chat}/messages?before={}&limit=1024", sent[3]),
            &ws.token,
        )
        .await;
    assert_eq!(ids(&deep.body), [sent[2], sent[1], sent[0]]);
    let after = app
        .get(&format!("/v1/chats/{chat}/messages?after={}", sent[25]), &ws.token)
        .await;
    assert_eq!(ids(&after.body), sent[26..]);
    let window = app
        .get(
            &format!("/v1/chats/{chat}/messages?from=2026-03-01T10:05:00Z&to=2026-03-01T10:07:00Z&ascending=true"),
            &ws.token,
        )
        .await;
    assert_eq!(ids(window.assert_ok()), sent[5..=7]);
    let newest_first = app
        .get(
            &format!("/v1/chats/{chat}/messages?from=2026-03-01T10:27:00Z&limit=2"),
            &ws.token,
        )
        .await;
    assert_eq!(ids(&newest_first.body), [sent[29], sent[28]]);
    app.stop().await;
}

/// A chat's page is read with the chat itself; pages deeper than the inlined offsets
/// (their offset bound), windows with nothing in them and pages past the end still
/// answer the chat's messages, and nothing of a chat in another workspace.
async fn deep_pages_and_empty_windows_answer_with_the_chat(backend: Backend) {
    let app = spawn_app(backend).await;
    let ws = app.workspace("Acme").await;
    let other = app.workspace("Globex").await;
    let mut sent = Vec::new();
    let mut chat = 0;
    for i in 0..205 {
        let (_, c, m) = app.incoming(&ws, &contact("c", "Olha"), &format!("message {i}")).await;
        chat = c;
        sent.push(m);
    }
    let page = |query: String| {
        let app = &app;
        let token = ws.token.clone();
        async move { app.get(&format!("/v1/chats/{chat}/messages?{query}"), &token).await }
    };
    // Offsets 199 and 204: the first written into the statement, the second bound.
    for n in [200usize, 205] {
        let deep = page(format!("limitation=1&page={n}")).await;
        assert_eq!(ids(deep.assert_ok()), [sent[205 - n]], "page {n}");
        assert_eq!(
            deep.body["cursor"],
            json!({"page": n, "pages": 205, "limitation": 1, "total": 205, "totalIsExact": true})
        );
        assert_eq!(deep.body["collection"][0]["sender"]["name"], "Olha");
    }
    let beyond = page("limitation=1&page=206".into()).await;
    assert_eq!(ids(beyond.assert_ok()), Vec::<i64>::new());
    assert_eq!(beyond.body["cursor"]["total"], 205);
    let deep_beyond = page("limitation=20&page=12".into()).await;
    assert_eq!(ids(deep_beyond.assert_ok()), Vec::<i64>::new());
    assert_eq!(deep_beyond.body["cursor"]["total"], 205);
    // Windows the chat has nothing in: empty, with a total of 0, not "not found".
    for query in [
        format!("before={}&limit=5", sent[0]),
        format!("after={}&limit=5", sent[204]),
        "from=2999-01-01T00:00:00Z&limit=5".to_owned(),
        "to=2000-01-01T00:00:00Z&ascending=true".to_owned(),
    ] {
        let empty = page(query.clone()).await;
        assert_eq!(ids(empty.assert_ok()), Vec::<i64>::new(), "{query}");
        assert_eq!(empty.body["cursor"]["total"], 0, "{query}");
    }
    // Another workspace sees none of it, in any window.
    for query in ["limitation=1&page=205", "limit=5", "before=999999999&limit=5"] {
        let refused = app
            .get(&format!("/v1/chats/{chat}/messages?{query}"), &other.token)
            .await;
        assert_eq!(refused.status.as_u16(), 404, "{query}: {}", refused.body);
        assert_eq!(refused.body["error"]["code"], "chat_not_found");
    }
    app.stop().await;
}

async fn message_window_limits_and_conflicts_are_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let ws = app.workspace("Acme").await;
    let (_, chat, id) = app.incoming(&ws, &contact("c", "Olha"), "hi").await;
    for (query, code) in [
        (format!("before={id}&limit=1025"), "invalid_limit"),
        (format!("before={id}&limit=0"), "invalid_limit"),
        (format!("before={id}&page=2"), "conflicting_parameters"),
        (format!("before={id}&after={id}"), "conflicting_parameters"),
        ("page=1&limit=5".to_owned(), "conflicting_parameters"),
        (
            format!("after={id}&from=2026-01-01T00:00:00Z"),
            "conflicting_parameters",
        ),
        (
            "from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z".to_owned(),
            "invalid_time_window",
        ),
        ("from=yesterday".to_owned(), "invalid_parameter"),
    ] {
        let answer = app.get(&format!("/v1/chats/{chat}/messages?{query}"), &ws.token).await;
        assert_eq!(answer.status.as_u16(), 400, "{query}: {}", answer.body);
        assert_eq!(answer.body["error"]["code"], code, "{query}");
    }
    app.stop().await;
}

async fn unread_counts_and_mark_read_variants_agree_with_the_unread_selector(backend: Backend) {
    let app = spawn_app(backend).await;
    let ws = app.workspace("Acme").await;
    let other = app.workspace("Other").await;
    let (_, foreign_chat, foreign_message) = app.incoming(&other, &contact("x", "Stranger"), "psst").await;
    let mut chats = Vec::new();
    let mut messages = Vec::new();
    for (name, count) in [("A", 2), ("B", 3), ("C", 1)] {
        let mut chat_messages = Vec::new();
        let mut chat = 0;
        for i in 0..count {
            let (_, c, m) = app.incoming(&ws, &contact(name, name), &format!("{name}{i}")).await;
            chat = c;
            chat_messages.push(m);
        }
        chats.push(chat);
        messages.push(chat_messages);
    }
    let (a, b, c) = (chats[0], chats[1], chats[2]);
    let check = |expected: Vec<(i64, i64)>| {
        let app = &app;
        let token = ws.token.clone();
        async move {
            let counts = app.get("/v1/chats/unread", &token).await;
            let value = counts.assert_ok()["value"].as_object().unwrap().clone();
            let total: i64 = expected.iter().map(|(_, n)| n).sum();
            assert_eq!(counts.body["total"], total, "{}", counts.body);
            assert_eq!(value.len(), expected.len(), "{}", counts.body);
            for (chat, n) in &expected {
                assert_eq!(value[&chat.to_string()], *n, "chat {chat}: {}", counts.body);
                let got = app.get(&format!("/v1/chats/{chat}"), &token).await;
                assert_eq!(got.body["unreadMessages"], *n);
            }
            let listed = app.get("/v1/chats?selector%5Bname%5D=unread", &token).await;
            let mut listed = ids(&listed.body);
            listed.sort_unstable();
            let mut want: Vec<i64> = expected.iter().map(|(c, _)| *c).collect();
            want.sort_unstable();
            assert_eq!(listed, want, "the unread selector agrees with the counts");
        }
    };
    check(vec![(a, 2), (b, 3), (c, 1)]).await;

    let read = |body: Value| app.request(Method::PUT, "/v1/messages/read", Some(&ws.token), Some(body));
    assert_eq!(
        read(json!({"messageId": messages[0][0]})).await.assert_ok(),
        &json!({"state": true})
    );
    check(vec![(a, 1), (b, 3), (c, 1)]).await;
    read(json!({"messageIds": [messages[1][0], messages[1][2]]}))
        .await
        .assert_ok();
    check(vec![(a, 1), (b, 1), (c, 1)]).await;
    read(json!({"messageIds": [messages[1][0]]})).await.assert_ok();
    check(vec![(a, 1), (b, 1), (c, 1)]).await;

    read(json!({"messageId": messages[0][1], "messageIds": [messages[1][1]]}))
        .await
        .assert_error(400, "invalid_message_selection");
    read(json!({})).await.assert_error(400, "invalid_message_selection");
    read(json!({"messageIds": []}))
        .await
        .assert_error(400, "invalid_message_selection");
    read(json!({"messageIds": [messages[0][1], 999_999]}))
        .await
        .assert_error(404, "message_not_found");
    read(json!({"messageIds": [messages[0][1], foreign_message]}))
        .await
        .assert_error(404, "message_not_found");
    let too_many: Vec<i64> = (1..=301).collect();
    read(json!({"messageIds": too_many}))
        .await
        .assert_error(400, "too_many_messages");
    check(vec![(a, 1), (b, 1), (c, 1)]).await;

    let read_chats = |body: Value| app.request(Method::PUT, "/v1/chats/read", Some(&ws.token), Some(body));
    read_chats(json!({"chatIds": [c]})).await.assert_ok();
    check(vec![(a, 1), (b, 1)]).await;
    read_chats(json!({"chatIds": [a, foreign_chat]}))
        .await
        .assert_error(404, "chat_not_found");
    let too_many: Vec<i64> = (1..=301).collect();
    read_chats(json!({"chatIds": too_many}))
        .await
        .assert_error(400, "too_many_chats");
    check(vec![(a, 1), (b, 1)]).await;
    read_chats(json!({})).await.assert_ok();
    check(vec![]).await;
    let foreign = app.get(&format!("/v1/chats/{foreign_chat}"), &other.token).await;
    assert_eq!(
        foreign.body["unreadMessages"], 1,
        "another workspace's chats stay unread"
    );
    app.stop().await;
}

async fn last_activity_answers_known_chats_only(backend: Backend) {
    let app = spawn_app(backend).await;
    let ws = app.workspace("Acme").await;
    let other = app.workspace("Other").await;
    let (_, a, _) = app.incoming(&ws, &contact("a", "A"), "hi").await;
    let (_, foreign, _) = app.incoming(&other, &contact("a", "A"), "hi").await;
    let answer = app
        .post(
            "/v1/chats/updated",
            &ws.token,
            json!({"chatIds": [a, foreign, 999_999]}),
        )
        .await;
    let value = answer.assert_ok()["value"].as_object().unwrap().clone();
    assert_eq!(value.len(), 1, "{}", answer.body);
    let chat = app.get(&format!("/v1/chats/{a}"), &ws.token).await;
    assert_eq!(value[&a.to_string()], chat.body["lastActivityAt"]);
    // As in JSON Schema, an id written with a zero fraction is that integer; any
    // other fraction is refused.
    let answer = app
        .post("/v1/chats/updated", &ws.token, json!({"chatIds": [a as f64]}))
        .await;
    assert!(
        answer.assert_ok()["value"].get(a.to_string()).is_some(),
        "{}",
        answer.body
    );
    app.post("/v1/chats/updated", &ws.token, json!({"chatIds": [a as f64 + 0.5]}))
        .await
        .assert_error(400, "invalid_body");
    let too_many: Vec<i64> = (1..=301).collect();
    app.post("/v1/chats/updated", &ws.token, json!({"chatIds": too_many}))
        .await
        .assert_error(400, "too_many_chats");
    app.stop().await;
}

async fn broadcast_reaches_open_chats_of_the_workspace_only(backend: Backend) {
    let app = spawn_app(backend).await;
    let ws = app.workspace("Acme").await;
    let other = app.workspace("Other").await;
    let (_, a, _) = app.incoming(&ws, &contact("a", "A"), "hi").await;
    let (_, b, _) = app.incoming(&ws, &contact("b", "B"), "hi").await;
    let (_, closed, _) = app.incoming(&ws, &contact("c", "C"), "hi").await;
    app.put(&format!("/v1/chats/{closed}/close"), &ws.token)
        .await
        .assert_ok();
    let (_, foreign, _) = app.incoming(&other, &contact("d", "D"), "hi").await;

    let too_many: Vec<i64> = (1..=301).collect();
    app.post("/v1/broadcasts", &ws.token, json!({"chatIds": too_many, "text": "x"}))
        .await
        .assert_error(400, "too_many_chats");
    app.post(
        "/v1/broadcasts",
        &ws.token,
        json!({"chatIds": [a], "text": "x".repeat(20_001)}),
    )
    .await
    .assert_error(400, "text_too_long");
    assert_eq!(
        app.get(&format!("/v1/chats/{a}/messages"), &ws.token).await.body["cursor"]["total"],
        1,
        "nothing sent"
    );

    let answer = app
        .post(
            "/v1/broadcasts",
            &ws.token,
            json!({"chatIds": [a, b, closed, foreign, 999_999, a], "text": "We are closed on Monday"}),
        )
        .await;
    let body = answer.assert_ok();
    assert_eq!(body["sentTo"], json!([a, b]));
    assert_eq!(body["notSentTo"], json!([closed, foreign, 999_999]));
    for chat in [a, b] {
        let got = app.get(&format!("/v1/chats/{chat}"), &ws.token).await;
        assert_eq!(got.body["lastMessage"]["text"], "We are closed on Monday");
        assert_eq!(
            app.get(&format!("/v1/chats/{chat}/messages"), &ws.token).await.body["cursor"]["total"],
            2
        );
    }
    assert_eq!(
        app.get(&format!("/v1/chats/{closed}/messages"), &ws.token).await.body["cursor"]["total"],
        1
    );
    assert_eq!(
        app.get(&format!("/v1/chats/{foreign}/messages"), &other.token)
            .await
            .body["cursor"]["total"],
        1
    );
    assert_eq!(
        app.get("/v1/channel/outbox", &ws.channel_token).await.body["collection"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    app.stop().await;
}

async fn operators_edit_and_delete_only_their_own_messages(backend: Backend) {
    let app = spawn_app(backend).await;
    let ws = app.workspace("Acme").await;
    let (_, taras) = app.operator(&ws, "Taras", "operator").await;
    let (_, chat, incoming) = app.incoming(&ws, &contact("a", "A"), "hi").await;
    let (_, other_chat, _) = app.incoming(&ws, &contact("b", "B"), "hi").await;
    let mine = app
        .post(
            &format!("/v1/chats/{chat}/messages"),
            &ws.token,
            json!({"text": "typo"}),
        )
        .await
        .body["id"]
        .as_i64()
        .unwrap();
    let theirs = app
        .post(
            &format!("/v1/chats/{chat}/messages"),
            &taras,
            json!({"text": "Taras here"}),
        )
        .await
        .body["id"]
        .as_i64()
        .unwrap();
    let path = |c: i64, m: i64| format!("/v1/chats/{c}/messages/{m}");

    let edited = app
        .request(
            Method::PATCH,
            &path(chat, mine),
            Some(&ws.token),
            Some(json!({"text": "fixed"})),
        )
        .await;
    assert_eq!(edited.assert_ok()["content"]["text"], "fixed");
    assert!(edited.body["editedAt"].is_string());
    app.request(
        Method::PATCH,
        &path(chat, theirs),
        Some(&ws.token),
        Some(json!({"text": "mine now"})),
    )
    .await
    .assert_error(403, "not_message_author");
    app.request(
        Method::PATCH,
        &path(chat, incoming),
        Some(&ws.token),
        Some(json!({"text": "changed"})),
    )
    .await
    .assert_error(403, "not_message_author");
    app.request(Method::DELETE, &path(chat, theirs), Some(&ws.token), None)
        .await
        .assert_error(403, "not_message_author");
    app.request(
        Method::PATCH,
        &path(other_chat, mine),
        Some(&ws.token),
        Some(json!({"text": "x"})),
    )
    .await
    .assert_error(404, "message_not_found");
    app.request(
        Method::PATCH,
        &path(chat, mine),
        Some(&ws.token),
        Some(json!({"text": "x".repeat(20_001)})),
    )
    .await
    .assert_error(400, "text_too_long");

    let deleted = app
        .request(Method::DELETE, &path(chat, mine), Some(&ws.token), None)
        .await;
    assert_eq!(deleted.assert_ok()["content"]["text"], "");
    assert!(deleted.body["deletedAt"].is_string());
    let again = app
        .request(Method::DELETE, &path(chat, mine), Some(&ws.token), None)
        .await;
    assert_eq!(again.assert_ok()["deletedAt"], deleted.body["deletedAt"]);
    app.request(
        Method::PATCH,
        &path(chat, mine),
        Some(&ws.token),
        Some(json!({"text": "undo"})),
    )
    .await
    .assert_error(409, "message_deleted");

    let page = app.get(&format!("/v1/chats/{chat}/messages"), &ws.token).await;
    let rows = page.body["collection"].as_array().unwrap();
    assert_eq!(rows.len(), 3, "a deleted message keeps its row");
    let row = rows.iter().find(|m| m["id"] == mine).unwrap();
    assert_eq!(row["content"]["text"], "");
    assert!(row["deletedAt"].is_string());
    let untouched = rows.iter().find(|m| m["id"] == theirs).unwrap();
    assert_eq!(untouched["content"]["text"], "Taras here");
    app.stop().await;
}
