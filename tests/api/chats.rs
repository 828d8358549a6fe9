//! The chat list with its filters and cursor, get, read, close, reopen, forward.

use serde_json::{Value, json};

use crate::on_both_databases;
use crate::support::{Backend, contact, ids, spawn_app};

on_both_databases!(
    chats_come_most_recent_activity_first_with_a_cursor_per_page,
    deep_pages_continue_where_the_first_pages_end,
    term_matches_every_contact_field_and_message_text_ignoring_case,
    state_private_and_unread_filters_combine,
    reading_a_chat_clears_its_unread_messages,
    closing_and_reopening_a_chat,
    an_incoming_message_reopens_a_closed_chat,
    forwarding_assigns_the_chat_and_keeps_the_history,
    a_chat_shows_its_contact_operator_and_last_message,
);

async fn chats_come_most_recent_activity_first_with_a_cursor_per_page(backend: Backend) {
    let app = spawn_app(backend).await;
    let ws = app.workspace("Acme").await;
    let mut chat_ids = Vec::new();
    for i in 0..25 {
        let (_, chat_id, _) = app
            .incoming(&ws, &contact(&format!("c{i}"), &format!("Person {i}")), "hello")
            .await;
        chat_ids.push(chat_id);
    }
    // An older chat gets a new message and moves to the top.
    app.incoming(&ws, &contact("c3", "Person 3"), "me again").await;
    let mut expected: Vec<i64> = chat_ids.iter().rev().copied().filter(|id| *id != chat_ids[3]).collect();
    expected.insert(0, chat_ids[3]);

    let first = app.get("/v1/chats?page=1&limitation=10", &ws.token).await;
    let body = first.assert_ok();
    assert_eq!(
        body["cursor"],
        json!({"page": 1, "pages": 3, "limitation": 10, "total": 25, "totalIsExact": true})
    );
    assert_eq!(ids(body), expected[..10]);

    let last = app.get("/v1/chats?page=3&limitation=10", &ws.token).await;
    assert_eq!(last.body["cursor"]["page"], 3);
    assert_eq!(ids(&last.body), expected[20..]);

    let beyond = app.get("/v1/chats?page=4&limitation=10", &ws.token).await;
    assert_eq!(ids(&beyond.body), Vec::<i64>::new());
    assert_eq!(beyond.body["cursor"]["total"], 25);

    let default = app.get("/v1/chats", &ws.token).await;
    assert_eq!(
        default.body["cursor"],
        json!({"page": 1, "pages": 2, "limitation": 20, "total": 25, "totalIsExact": true})
    );
    assert_eq!(ids(&default.body), expected[..20]);
    app.stop().await;
}

/// On PostgreSQL the first pages are read with their bounds written into the statement
/// and deeper ones with them bound (`plans`): one chat per page across the change.
async fn deep_pages_continue_where_the_first_pages_end(backend: Backend) {
    let app = spawn_app(backend).await;
    let ws = app.workspace("Acme").await;
    let mut chat_ids = Vec::new();
    for i in 0..203 {
        let (_, chat_id, _) = app.incoming(&ws, &contact(&format!("c{i}"), "Person"), "hello").await;
        chat_ids.push(chat_id);
    }
    chat_ids.reverse();
    for page in [1, 2, 199, 200, 201, 202, 203] {
        let answer = app.get(&format!("/v1/chats?page={page}&limitation=1"), &ws.token).await;
        assert_eq!(ids(answer.assert_ok()), [chat_ids[page - 1]], "page {page}");
    }
    let (_, chat_id, _) = app.incoming(&ws, &contact("m", "Many"), "message 0").await;
    for i in 1..203 {
        app.incoming(&ws, &contact("m", "Many"), &format!("message {i}")).await;
    }
    for page in [1, 200, 201, 202, 203] {
        let answer = app
            .get(
                &format!("/v1/chats/{chat_id}/messages?page={page}&limitation=1"),
                &ws.token,
            )
            .await;
        let body = answer.assert_ok();
        assert_eq!(
            body["collection"][0]["content"]["text"],
            format!("message {}", 203 - page),
            "page {page}"
        );
    }
    app.stop().await;
}

async fn term_matches_every_contact_field_and_message_text_ignoring_case(backend: Backend) {
    let app = spawn_app(backend).await;
    let ws = app.workspace("Acme").await;
    let mut olga = contact("o1", "Olga Petrenko");
    olga.username = Some("olga_p".into());
    olga.phone = Some("+380671112233".into());
    olga.email = Some("olga@shop.test".into());
    let (_, olga_chat, _) = app.incoming(&ws, &olga, "Where is my parcel?").await;
    let (_, ivan_chat, _) = app
        .incoming(&ws, &contact("i1", "Ivan Franko"), "The INVOICE is wrong")
        .await;
    app.incoming(&ws, &contact("x1", "Somebody Else"), "nothing to see")
        .await;

    for (term, expected) in [
        ("petrenko", vec![olga_chat]),
        ("OLGA_P", vec![olga_chat]),
        ("1112233", vec![olga_chat]),
        ("shop.test", vec![olga_chat]),
        ("parcel", vec![olga_chat]),
        ("invoice", vec![ivan_chat]),
        ("franko", vec![ivan_chat]),
        ("no such words", vec![]),
        ("100%", vec![]),
    ] {
        let answer = app.get(&format!("/v1/chats?term={}", urlencode(term)), &ws.token).await;
        assert_eq!(ids(answer.assert_ok()), expected, "term {term:?}");
        assert_eq!(answer.body["cursor"]["total"], expected.len(), "term {term:?}");
    }
    app.stop().await;
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

async fn state_private_and_unread_filters_combine(backend: Backend) {
    let app = spawn_app(backend).await;
    let ws = app.workspace("Acme").await;
    let (taras, _) = app.operator(&ws, "Taras", "operator").await;
    let (_, a, _) = app.incoming(&ws, &contact("a", "Alpha"), "a").await;
    let (_, b, _) = app.incoming(&ws, &contact("b", "Bravo"), "b").await;
    let (_, c, _) = app.incoming(&ws, &contact("c", "Charlie"), "c").await;
    let (_, d, _) = app.incoming(&ws, &contact("d", "Delta"), "d").await;
    // a: open, Taras, unread. b: closed, Taras, read. c: open, unassigned, read. d: closed, unread.
    app.post(
        &format!("/v1/chats/{a}/forward/{taras}"),
        &ws.token,
        json!({"text": "yours"}),
    )
    .await
    .assert_ok();
    app.post(
        &format!("/v1/chats/{b}/forward/{taras}"),
        &ws.token,
        json!({"text": "yours"}),
    )
    .await
    .assert_ok();
    app.put(&format!("/v1/chats/{b}/read"), &ws.token).await.assert_ok();
    app.put(&format!("/v1/chats/{b}/close"), &ws.token).await.assert_ok();
    app.put(&format!("/v1/chats/{c}/read"), &ws.token).await.assert_ok();
    app.put(&format!("/v1/chats/{d}/close"), &ws.token).await.assert_ok();

    let sorted = |mut v: Vec<i64>| {
        v.sort_unstable_by(|x, y| y.cmp(x));
        v
    };
    for (query, expected) in [
        ("state=open", sorted(vec![a, c])),
        ("state=closed", sorted(vec![b, d])),
        (
            &format!("selector[name]=private&selector[operatorId]={taras}") as &str,
            sorted(vec![a, b]),
        ),
        ("selector[name]=unread", sorted(vec![a, d])),
        ("selector[name]=none", sorted(vec![a, b, c, d])),
        ("state=open&selector[name]=unread", vec![a]),
        ("state=closed&selector[name]=unread", vec![d]),
        (
            &format!("state=closed&selector[name]=private&selector[operatorId]={taras}"),
            vec![b],
        ),
        (
            &format!("term=alpha&selector[name]=private&selector[operatorId]={taras}"),
            vec![a],
        ),
        ("term=charlie&selector[name]=unread", vec![]),
    ] {
        let query = query.replace('[', "%5B").replace(']', "%5D");
        let answer = app.get(&format!("/v1/chats?{query}"), &ws.token).await;
        let mut got = ids(answer.assert_ok());
        got.sort_unstable_by(|x, y| y.cmp(x));
        assert_eq!(got, expected, "query {query}");
        assert_eq!(answer.body["cursor"]["total"], expected.len(), "query {query}");
    }
    app.stop().await;
}

async fn reading_a_chat_clears_its_unread_messages(backend: Backend) {
    let app = spawn_app(backend).await;
    let ws = app.workspace("Acme").await;
    let person = contact("p", "Petro");
    app.incoming(&ws, &person, "one").await;
    let (_, chat, _) = app.incoming(&ws, &person, "two").await;
    let before = app.get(&format!("/v1/chats/{chat}"), &ws.token).await;
    assert_eq!(before.body["unreadMessages"], 2);
    let messages = app.get(&format!("/v1/chats/{chat}/messages"), &ws.token).await;
    assert!(
        messages.body["collection"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["status"] == "delivered")
    );

    let read = app.put(&format!("/v1/chats/{chat}/read"), &ws.token).await;
    assert_eq!(read.assert_ok(), &json!({"state": true}));

    let after = app.get(&format!("/v1/chats/{chat}"), &ws.token).await;
    assert_eq!(after.body["unreadMessages"], 0);
    assert!(after.body["version"].as_i64() > before.body["version"].as_i64());
    let messages = app.get(&format!("/v1/chats/{chat}/messages"), &ws.token).await;
    for m in messages.body["collection"].as_array().unwrap() {
        assert_eq!(m["status"], "read");
        assert!(m["seenAt"].is_string(), "seenAt is set: {m}");
    }
    let unread = app.get("/v1/chats?selector%5Bname%5D=unread", &ws.token).await;
    assert_eq!(unread.body["cursor"]["total"], 0);
    // Reading again is fine and changes nothing.
    app.put(&format!("/v1/chats/{chat}/read"), &ws.token).await.assert_ok();
    let again = app.get(&format!("/v1/chats/{chat}"), &ws.token).await;
    assert_eq!(again.body["version"], after.body["version"]);
    app.stop().await;
}

async fn closing_and_reopening_a_chat(backend: Backend) {
    let app = spawn_app(backend).await;
    let ws = app.workspace("Acme").await;
    let (_, chat, _) = app.incoming(&ws, &contact("p", "Petro"), "hi").await;
    assert_eq!(
        app.put(&format!("/v1/chats/{chat}/close"), &ws.token).await.assert_ok(),
        &json!({"state": true})
    );
    let closed = app.get(&format!("/v1/chats/{chat}"), &ws.token).await;
    assert_eq!(closed.body["state"], "closed");
    assert_eq!(closed.body["isClosed"], true);
    assert!(closed.body["closedAt"].is_string());

    assert_eq!(
        app.put(&format!("/v1/chats/{chat}/open"), &ws.token).await.assert_ok(),
        &json!({"state": true})
    );
    let open = app.get(&format!("/v1/chats/{chat}"), &ws.token).await;
    assert_eq!(open.body["state"], "open");
    assert_eq!(open.body["isClosed"], false);
    assert!(open.body["closedAt"].is_null());
    app.stop().await;
}

async fn an_incoming_message_reopens_a_closed_chat(backend: Backend) {
    let app = spawn_app(backend).await;
    let ws = app.workspace("Acme").await;
    let person = contact("p", "Petro");
    let (_, chat, _) = app.incoming(&ws, &person, "hi").await;
    app.put(&format!("/v1/chats/{chat}/close"), &ws.token).await.assert_ok();
    let (_, same_chat, message) = app.incoming(&ws, &person, "one more thing").await;
    assert_eq!(same_chat, chat);
    let reopened = app.get(&format!("/v1/chats/{chat}"), &ws.token).await;
    assert_eq!(reopened.body["state"], "open");
    assert_eq!(reopened.body["lastMessage"]["id"], message);
    app.stop().await;
}

async fn forwarding_assigns_the_chat_and_keeps_the_history(backend: Backend) {
    let app = spawn_app(backend).await;
    let ws = app.workspace("Acme").await;
    let (taras, _) = app.operator(&ws, "Taras", "operator").await;
    let (maria, maria_token) = app.operator(&ws, "Maria", "operator").await;
    let (_, chat, _) = app.incoming(&ws, &contact("p", "Petro"), "hi").await;

    let forward = app
        .post(
            &format!("/v1/chats/{chat}/forward/{taras}"),
            &ws.token,
            json!({"text": "VIP, be nice"}),
        )
        .await;
    assert_eq!(forward.assert_ok(), &json!({"state": true}));
    let assigned = app.get(&format!("/v1/chats/{chat}"), &ws.token).await;
    assert_eq!(assigned.body["operator"], json!({"id": taras, "name": "Taras"}));

    // Maria passes it on to herself, without a text.
    app.post(&format!("/v1/chats/{chat}/forward/{maria}"), &maria_token, json!({}))
        .await
        .assert_ok();
    let history = app.get(&format!("/v1/chats/{chat}/assignments"), &ws.token).await;
    let rows = history.assert_ok()["collection"].as_array().unwrap().clone();
    assert_eq!(history.body["cursor"]["total"], 2);
    assert_eq!(rows[0]["from"], Value::Null);
    assert_eq!(rows[0]["to"], json!({"id": taras, "name": "Taras"}));
    assert_eq!(rows[0]["by"], json!({"id": ws.admin_id, "name": "Acme Admin"}));
    assert_eq!(rows[0]["text"], "VIP, be nice");
    assert_eq!(rows[1]["from"], json!({"id": taras, "name": "Taras"}));
    assert_eq!(rows[1]["to"], json!({"id": maria, "name": "Maria"}));
    assert_eq!(rows[1]["by"], json!({"id": maria, "name": "Maria"}));
    assert_eq!(rows[1]["text"], "");
    let mine = app
        .get(
            &format!("/v1/chats?selector%5Bname%5D=private&selector%5BoperatorId%5D={maria}"),
            &ws.token,
        )
        .await;
    assert_eq!(ids(&mine.body), vec![chat]);

    // A deactivated operator cannot take chats.
    app.request(
        reqwest::Method::PATCH,
        &format!("/v1/operators/{taras}"),
        Some(&ws.token),
        Some(json!({"active": false})),
    )
    .await
    .assert_ok();
    app.post(
        &format!("/v1/chats/{chat}/forward/{taras}"),
        &ws.token,
        json!({"text": "back"}),
    )
    .await
    .assert_error(409, "operator_inactive");
    let unchanged = app.get(&format!("/v1/chats/{chat}/assignments"), &ws.token).await;
    assert_eq!(unchanged.body["cursor"]["total"], 2);
    app.stop().await;
}

async fn a_chat_shows_its_contact_operator_and_last_message(backend: Backend) {
    let app = spawn_app(backend).await;
    let ws = app.workspace("Acme").await;
    let person = contact("ext-7", "Petro Mostovyi");
    let (contact_id, chat, message) = app.incoming(&ws, &person, &"x".repeat(300)).await;
    let answer = app.get(&format!("/v1/chats/{chat}"), &ws.token).await;
    let body = answer.assert_ok();
    assert_eq!(body["id"], chat);
    assert_eq!(body["name"], "Petro Mostovyi");
    assert_eq!(body["state"], "open");
    assert_eq!(body["contact"]["id"], contact_id);
    assert_eq!(body["contact"]["externalId"], "ext-7");
    assert_eq!(body["contact"]["username"], "petro_mostovyi");
    assert_eq!(body["contact"]["email"], "petro_mostovyi@mail.test");
    assert_eq!(body["contact"]["channel"]["id"], ws.channel_id);
    assert_eq!(body["operator"], Value::Null);
    assert_eq!(body["unreadMessages"], 1);
    assert_eq!(body["lastMessage"]["id"], message);
    assert_eq!(body["lastMessage"]["direction"], "incoming");
    assert_eq!(
        body["lastMessage"]["text"].as_str().unwrap().len(),
        200,
        "the preview is cut to 200 characters"
    );
    for field in ["createdAt", "updatedAt", "lastActivityAt"] {
        let at = body[field].as_str().unwrap_or_default();
        assert!(
            chrono::DateTime::parse_from_rfc3339(at).is_ok(),
            "{field} is RFC 3339: {at}"
        );
    }
    assert!(body["version"].as_i64().unwrap() >= 1);

    let contact_answer = app.get(&format!("/v1/contacts/{contact_id}"), &ws.token).await;
    assert_eq!(contact_answer.assert_ok()["name"], "Petro Mostovyi");
    let contact_chat = app.get(&format!("/v1/contacts/{contact_id}/chat"), &ws.token).await;
    assert_eq!(contact_chat.assert_ok()["id"], chat);
    app.stop().await;
}
