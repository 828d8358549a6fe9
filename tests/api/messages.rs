//! Message pages, operator sends and notes, contact sends, idempotency.

use serde_json::json;

use crate::on_both_databases;
use crate::support::{Backend, contact, spawn_app};

on_both_databases!(
    messages_come_newest_first_page_by_page,
    an_operator_send_is_pending_for_the_channel_and_moves_the_chat,
    an_internal_note_is_marked_internal_and_delivered,
    sending_to_a_contact_writes_into_the_contacts_chat,
    a_retried_send_with_the_same_key_answers_the_first_message,
    concurrent_sends_with_one_key_create_one_message,
);

async fn messages_come_newest_first_page_by_page(backend: Backend) {
    let app = spawn_app(backend).await;
    let ws = app.workspace("Acme").await;
    let person = contact("p", "Petro");
    let mut ids = Vec::new();
    let mut chat = 0;
    for i in 0..7 {
        let (_, c, m) = app.incoming(&ws, &person, &format!("message {i}")).await;
        chat = c;
        ids.push(m);
    }
    ids.reverse();
    let first = app
        .get(&format!("/v1/chats/{chat}/messages?limitation=3"), &ws.token)
        .await;
    let body = first.assert_ok();
    assert_eq!(
        body["cursor"],
        json!({"page": 1, "pages": 3, "limitation": 3, "total": 7, "totalIsExact": true})
    );
    let got: Vec<i64> = body["collection"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_i64().unwrap())
        .collect();
    assert_eq!(got, ids[..3]);
    let m = &body["collection"][0];
    assert_eq!(m["chatId"], chat);
    assert_eq!(m["direction"], "incoming");
    assert_eq!(m["internal"], false);
    assert_eq!(
        m["content"],
        json!({"type": "text", "text": "message 6", "mediaUrl": null})
    );
    assert_eq!(m["sender"]["type"], "contact");
    assert_eq!(m["sender"]["name"], "Petro");
    assert_eq!(m["status"], "delivered");
    let third = app
        .get(&format!("/v1/chats/{chat}/messages?limitation=3&page=3"), &ws.token)
        .await;
    let got: Vec<i64> = third.body["collection"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_i64().unwrap())
        .collect();
    assert_eq!(got, ids[6..]);
    // A short last page tells the total from its own rows; a page past the end and
    // a full page count it.
    let cursor = json!({"page": 3, "pages": 3, "limitation": 3, "total": 7, "totalIsExact": true});
    assert_eq!(third.body["cursor"], cursor);
    let beyond = app
        .get(&format!("/v1/chats/{chat}/messages?limitation=3&page=5"), &ws.token)
        .await;
    assert_eq!(beyond.assert_ok()["collection"], json!([]));
    assert_eq!(beyond.body["cursor"]["total"], 7);
    // Keyset windows count what lies beyond the id: all of it when the window is
    // short, by counting when it is full.
    let short = app
        .get(
            &format!("/v1/chats/{chat}/messages?before={}&limit=5", ids[4]),
            &ws.token,
        )
        .await;
    assert_eq!(short.assert_ok()["collection"].as_array().unwrap().len(), 2);
    assert_eq!(short.body["cursor"]["total"], 2);
    let full = app
        .get(
            &format!("/v1/chats/{chat}/messages?before={}&limit=3", ids[1]),
            &ws.token,
        )
        .await;
    assert_eq!(full.assert_ok()["collection"].as_array().unwrap().len(), 3);
    assert_eq!(full.body["cursor"]["total"], 5);
    app.stop().await;
}

async fn an_operator_send_is_pending_for_the_channel_and_moves_the_chat(backend: Backend) {
    let app = spawn_app(backend).await;
    let ws = app.workspace("Acme").await;
    let (_, chat, _) = app.incoming(&ws, &contact("p", "Petro"), "hi").await;
    let before = app.get(&format!("/v1/chats/{chat}"), &ws.token).await;
    let sent = app
        .post(
            &format!("/v1/chats/{chat}/messages"),
            &ws.token,
            json!({"text": "Hello Petro!"}),
        )
        .await;
    assert_eq!(sent.status.as_u16(), 201);
    let m = &sent.body;
    assert_eq!(m["chatId"], chat);
    assert_eq!(m["direction"], "outgoing");
    assert_eq!(m["internal"], false);
    assert_eq!(m["status"], "pending");
    assert_eq!(m["content"]["text"], "Hello Petro!");
    assert_eq!(
        m["sender"],
        json!({"type": "operator", "id": ws.admin_id, "name": "Acme Admin"})
    );
    assert!(m["deliveredAt"].is_null());

    let after = app.get(&format!("/v1/chats/{chat}"), &ws.token).await;
    assert_eq!(after.body["lastMessage"]["id"], m["id"]);
    assert_eq!(after.body["lastMessage"]["direction"], "outgoing");
    assert_eq!(
        after.body["unreadMessages"], 1,
        "an answer does not read the contact's messages"
    );
    assert!(after.body["version"].as_i64() > before.body["version"].as_i64());
    let page = app.get(&format!("/v1/chats/{chat}/messages"), &ws.token).await;
    assert_eq!(page.body["collection"][0]["id"], m["id"]);
    assert_eq!(page.body["cursor"]["total"], 2);
    app.stop().await;
}

async fn an_internal_note_is_marked_internal_and_delivered(backend: Backend) {
    let app = spawn_app(backend).await;
    let ws = app.workspace("Acme").await;
    let (_, chat, _) = app.incoming(&ws, &contact("p", "Petro"), "hi").await;
    let note = app
        .post(
            &format!("/v1/chats/{chat}/messages"),
            &ws.token,
            json!({"text": "refund approved", "internal": true}),
        )
        .await;
    assert_eq!(note.status.as_u16(), 201);
    assert_eq!(note.body["internal"], true);
    assert_eq!(note.body["status"], "delivered");
    assert!(note.body["deliveredAt"].is_string());
    app.stop().await;
}

async fn sending_to_a_contact_writes_into_the_contacts_chat(backend: Backend) {
    let app = spawn_app(backend).await;
    let ws = app.workspace("Acme").await;
    let (contact_id, chat, _) = app.incoming(&ws, &contact("p", "Petro"), "hi").await;
    let sent = app
        .post(
            &format!("/v1/contacts/{contact_id}/send"),
            &ws.token,
            json!({"type": "text", "content": "On it!"}),
        )
        .await;
    assert_eq!(sent.status.as_u16(), 201, "{}", sent.body);
    assert_eq!(sent.body["chatId"], chat);
    assert_eq!(sent.body["content"]["text"], "On it!");
    let page = app.get(&format!("/v1/chats/{chat}/messages"), &ws.token).await;
    assert_eq!(page.body["collection"][0]["id"], sent.body["id"]);
    app.stop().await;
}

async fn a_retried_send_with_the_same_key_answers_the_first_message(backend: Backend) {
    let app = spawn_app(backend).await;
    let ws = app.workspace("Acme").await;
    let (_, chat, _) = app.incoming(&ws, &contact("p", "Petro"), "hi").await;
    let send = |text: &'static str| {
        app.client
            .post(app.url(&format!("/v1/chats/{chat}/messages")))
            .bearer_auth(&ws.token)
            .header("Idempotency-Key", "key-1")
            .json(&json!({"text": text}))
    };
    let first = app.raw(send("once")).await;
    assert_eq!(first.status.as_u16(), 201);
    assert_eq!(first.body["localId"], "key-1");
    let retry = app.raw(send("once")).await;
    assert_eq!(retry.status.as_u16(), 200);
    assert_eq!(retry.body["id"], first.body["id"]);
    let other = app.raw(send("something else")).await;
    other.assert_error(409, "idempotency_key_reused");
    let page = app.get(&format!("/v1/chats/{chat}/messages"), &ws.token).await;
    assert_eq!(page.body["cursor"]["total"], 2, "one incoming and one sent message");
    app.stop().await;
}

async fn concurrent_sends_with_one_key_create_one_message(backend: Backend) {
    let app = spawn_app(backend).await;
    let ws = app.workspace("Acme").await;
    let (_, chat, _) = app.incoming(&ws, &contact("p", "Petro"), "hi").await;
    let tries = (0..8).map(|_| {
        app.raw(
            app.client
                .post(app.url(&format!("/v1/chats/{chat}/messages")))
                .bearer_auth(&ws.token)
                .header("Idempotency-Key", "same")
                .json(&json!({"text": "only once"})),
        )
    });
    let answers = futures::future::join_all(tries).await;
    let created = answers.iter().filter(|a| a.status.as_u16() == 201).count();
    assert_eq!(created, 1, "{answers:?}");
    assert!(
        answers
            .iter()
            .all(|a| a.status.is_success() && a.body["id"] == answers[0].body["id"])
    );
    let page = app.get(&format!("/v1/chats/{chat}/messages"), &ws.token).await;
    assert_eq!(page.body["cursor"]["total"], 2);
    app.stop().await;
}
