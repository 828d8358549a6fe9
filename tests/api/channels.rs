//! The connector API end to end: channels and their tokens, inbound messages
//! (deduplicated), the outbox, and delivery reports that only move forward.

use reqwest::Method;
use serde_json::{Value, json};

use crate::on_both_databases;
use crate::support::{Backend, TestApp, Workspace, contact, spawn_app};

on_both_databases!(
    a_message_goes_from_contact_to_operator_and_back_through_the_connector,
    posting_the_same_external_message_id_again_answers_the_first_result,
    concurrent_posts_of_one_external_message_id_write_one_message,
    inbound_refreshes_the_contact_profile,
    delivery_statuses_only_move_forward,
    channel_and_operator_tokens_open_only_their_own_api,
    connectors_cannot_reach_other_channels_or_workspaces,
    bad_connector_input_is_refused_and_writes_nothing,
    a_burst_of_inbound_messages_ends_as_writing_them_one_by_one_would,
    a_channel_the_statistics_have_not_seen_is_looked_up_by_its_ids,
);

fn inbound(external_id: &str, name: &str, message_id: &str, text: &str) -> Value {
    json!({
        "contact": {"externalId": external_id, "name": name},
        "externalMessageId": message_id,
        "text": text,
    })
}

async fn new_channel(app: &TestApp, ws: &Workspace, name: &str) -> (i64, String) {
    let created = app
        .post("/v1/channels", &ws.token, json!({"kind": "telegram", "name": name}))
        .await;
    assert_eq!(created.status.as_u16(), 201, "{}", created.body);
    assert_eq!(created.body["kind"], "telegram");
    let id = created.body["id"].as_i64().unwrap();
    let token = app
        .post(&format!("/v1/channels/{id}/tokens"), &ws.token, json!({"label": "bot"}))
        .await;
    assert_eq!(token.status.as_u16(), 201);
    let token = token.body["token"].as_str().unwrap().to_owned();
    assert!(token.starts_with("sbc_"));
    (id, token)
}

async fn a_message_goes_from_contact_to_operator_and_back_through_the_connector(backend: Backend) {
    let app = spawn_app(backend).await;
    let ws = app.workspace("Acme").await;
    let (channel_id, bot) = new_channel(&app, &ws, "Support bot").await;
    let channels = app.get("/v1/channels", &ws.token).await;
    assert_eq!(
        channels.assert_ok()["cursor"]["total"],
        2,
        "the bootstrap channel and the new one"
    );

    // The contact writes in.
    let mut body = inbound("tg-42", "Olha", "m-1", "Is my order on its way?");
    body["contact"]["username"] = json!("olha_k");
    body["sentAt"] = json!("2026-01-02T03:04:05Z");
    let posted = app.post("/v1/channel/messages", &bot, body).await;
    assert_eq!(posted.status.as_u16(), 201, "{}", posted.body);
    let chat = posted.body["chatId"].as_i64().unwrap();
    let incoming_id = posted.body["messageId"].as_i64().unwrap();
    let got = app.get(&format!("/v1/chats/{chat}"), &ws.token).await;
    assert_eq!(got.body["unreadMessages"], 1);
    assert_eq!(got.body["contact"]["channel"]["id"], channel_id);
    assert_eq!(got.body["contact"]["username"], "olha_k");
    assert_eq!(got.body["lastMessage"]["id"], incoming_id);
    assert_eq!(got.body["lastActivityAt"], "2026-01-02T03:04:05+00:00");

    // An operator answers; a note stays inside.
    let answer = app
        .post(
            &format!("/v1/chats/{chat}/messages"),
            &ws.token,
            json!({"text": "Yes, tomorrow."}),
        )
        .await;
    let answer_id = answer.body["id"].as_i64().unwrap();
    app.post(
        &format!("/v1/chats/{chat}/messages"),
        &ws.token,
        json!({"text": "note", "internal": true}),
    )
    .await
    .assert_ok();

    // The connector picks the answer up, and only the answer.
    let outbox = app.get("/v1/channel/outbox", &bot).await;
    let body = outbox.assert_ok();
    assert_eq!(body["collection"].as_array().unwrap().len(), 1, "{body}");
    assert_eq!(body["collection"][0]["id"], answer_id);
    assert_eq!(body["collection"][0]["content"]["text"], "Yes, tomorrow.");
    assert_eq!(body["collection"][0]["contactExternalId"], "tg-42");
    assert_eq!(body["nextAfter"], answer_id);
    let other_outbox = app.get("/v1/channel/outbox", &ws.channel_token).await;
    assert_eq!(
        other_outbox.body["collection"],
        json!([]),
        "another channel's outbox is empty"
    );

    let delivered = app
        .request(
            Method::PUT,
            &format!("/v1/channel/messages/{answer_id}/status"),
            Some(&bot),
            Some(json!({"status": "delivered", "at": "2026-01-02T03:05:00Z"})),
        )
        .await;
    assert_eq!(delivered.assert_ok(), &json!({"state": true}));
    let page = app
        .get(&format!("/v1/chats/{chat}/messages?limitation=5"), &ws.token)
        .await;
    let sent = page.body["collection"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == answer_id)
        .unwrap()
        .clone();
    assert_eq!(sent["status"], "delivered");
    assert_eq!(sent["deliveredAt"], "2026-01-02T03:05:00+00:00");
    let empty = app.get(&format!("/v1/channel/outbox?after={answer_id}"), &bot).await;
    assert_eq!(empty.body["collection"], json!([]));
    let drained = app.get("/v1/channel/outbox", &bot).await;
    assert_eq!(
        drained.body["collection"],
        json!([]),
        "a delivered message leaves the outbox"
    );

    app.request(
        Method::PUT,
        &format!("/v1/channel/messages/{answer_id}/status"),
        Some(&bot),
        Some(json!({"status": "read"})),
    )
    .await
    .assert_ok();
    let page = app
        .get(&format!("/v1/chats/{chat}/messages?limitation=5"), &ws.token)
        .await;
    let sent = page.body["collection"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == answer_id)
        .unwrap()
        .clone();
    assert_eq!(sent["status"], "read");
    assert!(sent["seenAt"].is_string());
    app.stop().await;
}

async fn posting_the_same_external_message_id_again_answers_the_first_result(backend: Backend) {
    let app = spawn_app(backend).await;
    let ws = app.workspace("Acme").await;
    let first = app
        .post(
            "/v1/channel/messages",
            &ws.channel_token,
            inbound("c1", "Olha", "m-1", "hello"),
        )
        .await;
    assert_eq!(first.status.as_u16(), 201);
    let again = app
        .post(
            "/v1/channel/messages",
            &ws.channel_token,
            inbound("c1", "Olha", "m-1", "hello"),
        )
        .await;
    assert_eq!(again.status.as_u16(), 200);
    assert_eq!(again.body, first.body);
    let chat = first.body["chatId"].as_i64().unwrap();
    let got = app.get(&format!("/v1/chats/{chat}"), &ws.token).await;
    assert_eq!(got.body["unreadMessages"], 1, "the duplicate changed nothing");
    let messages = app.get(&format!("/v1/chats/{chat}/messages"), &ws.token).await;
    assert_eq!(messages.body["cursor"]["total"], 1);
    app.stop().await;
}

async fn concurrent_posts_of_one_external_message_id_write_one_message(backend: Backend) {
    let app = spawn_app(backend).await;
    let ws = app.workspace("Acme").await;
    let posts = (0..10).map(|_| {
        app.post(
            "/v1/channel/messages",
            &ws.channel_token,
            inbound("new", "Racer", "dup", "once"),
        )
    });
    let answers = futures::future::join_all(posts).await;
    assert_eq!(
        answers.iter().filter(|a| a.status.as_u16() == 201).count(),
        1,
        "{answers:?}"
    );
    assert!(
        answers
            .iter()
            .all(|a| a.status.is_success() && a.body == answers[0].body),
        "{answers:?}"
    );
    let chat = answers[0].body["chatId"].as_i64().unwrap();
    let messages = app.get(&format!("/v1/chats/{chat}/messages"), &ws.token).await;
    assert_eq!(messages.body["cursor"]["total"], 1);
    assert_eq!(app.get("/v1/chats", &ws.token).await.body["cursor"]["total"], 1);
    app.stop().await;
}

async fn inbound_refreshes_the_contact_profile(backend: Backend) {
    let app = spawn_app(backend).await;
    let ws = app.workspace("Acme").await;
    let first = app
        .post(
            "/v1/channel/messages",
            &ws.channel_token,
            inbound("c1", "Olha", "m-1", "hi"),
        )
        .await;
    let mut second = inbound("c1", "Olha Kovalenko", "m-2", "my phone changed");
    second["contact"]["phone"] = json!("+380501234567");
    let second = app.post("/v1/channel/messages", &ws.channel_token, second).await;
    assert_eq!(second.body["contactId"], first.body["contactId"]);
    assert_eq!(second.body["chatId"], first.body["chatId"]);
    let contact = app
        .get(&format!("/v1/contacts/{}", first.body["contactId"]), &ws.token)
        .await;
    assert_eq!(contact.body["name"], "Olha Kovalenko");
    assert_eq!(contact.body["phone"], "+380501234567");
    let chat = app.get(&format!("/v1/chats/{}", first.body["chatId"]), &ws.token).await;
    assert_eq!(chat.body["unreadMessages"], 2);
    app.stop().await;
}

async fn delivery_statuses_only_move_forward(backend: Backend) {
    let app = spawn_app(backend).await;
    let ws = app.workspace("Acme").await;
    let (_, chat, incoming) = app.incoming(&ws, &contact("c", "Olha"), "hi").await;
    let messages = format!("/v1/chats/{chat}/messages");
    let a = app.post(&messages, &ws.token, json!({"text": "a"})).await.body["id"]
        .as_i64()
        .unwrap();
    let b = app.post(&messages, &ws.token, json!({"text": "b"})).await.body["id"]
        .as_i64()
        .unwrap();
    async fn report_on(app: &TestApp, token: &str, id: i64, status: &str) -> crate::support::Answer {
        let path = format!("/v1/channel/messages/{id}/status");
        app.request(Method::PUT, &path, Some(token), Some(json!({"status": status})))
            .await
    }
    let report = |id: i64, status: &'static str| report_on(&app, &ws.channel_token, id, status);
    let status_of = |id: i64| {
        let app = &app;
        let token = ws.token.clone();
        async move {
            let page = app.get(&format!("/v1/chats/{chat}/messages"), &token).await;
            page.body["collection"]
                .as_array()
                .unwrap()
                .iter()
                .find(|m| m["id"] == id)
                .unwrap()
                .clone()
        }
    };
    report(a, "read").await.assert_ok();
    let read = status_of(a).await;
    assert_eq!(read["status"], "read");
    assert!(read["deliveredAt"].is_string(), "read implies delivered");
    report(a, "delivered").await.assert_ok();
    report(a, "failed").await.assert_ok();
    assert_eq!(status_of(a).await, read, "late reports changed nothing");

    report(b, "failed").await.assert_ok();
    assert_eq!(status_of(b).await["status"], "failed");
    report(b, "delivered").await.assert_ok();
    assert_eq!(status_of(b).await["status"], "delivered", "a retry that got through");
    report(b, "failed").await.assert_ok();
    assert_eq!(status_of(b).await["status"], "delivered");

    report(incoming, "read").await.assert_error(404, "message_not_found");
    report(999_999, "read").await.assert_error(404, "message_not_found");
    app.request(
        Method::PUT,
        &format!("/v1/channel/messages/{b}/status"),
        Some(&ws.channel_token),
        Some(json!({"status": "pending"})),
    )
    .await
    .assert_error(400, "invalid_body");
    app.stop().await;
}

async fn channel_and_operator_tokens_open_only_their_own_api(backend: Backend) {
    let app = spawn_app(backend).await;
    let ws = app.workspace("Acme").await;
    let (_, operator_token) = app.operator(&ws, "Taras", "operator").await;
    app.get("/v1/chats", &ws.channel_token)
        .await
        .assert_error(401, "unauthorized");
    app.get("/v1/operators", &ws.channel_token)
        .await
        .assert_error(401, "unauthorized");
    app.post("/v1/channel/messages", &ws.token, inbound("c", "X", "m", "hi"))
        .await
        .assert_error(401, "unauthorized");
    app.get("/v1/channel/outbox", &operator_token)
        .await
        .assert_error(401, "unauthorized");
    app.post("/v1/channels", &operator_token, json!({"kind": "web", "name": "Mine"}))
        .await
        .assert_error(403, "forbidden");
    app.post(
        &format!("/v1/channels/{}/tokens", ws.channel_id),
        &operator_token,
        json!({"label": "x"}),
    )
    .await
    .assert_error(403, "forbidden");

    let (channel_id, bot) = new_channel(&app, &ws, "Widget").await;
    assert!(channel_id > 0);
    app.get("/v1/channel/outbox", &bot).await.assert_ok();
    let token_id = {
        let issued = app
            .post(
                &format!("/v1/channels/{channel_id}/tokens"),
                &ws.token,
                json!({"label": "second"}),
            )
            .await;
        let id = issued.body["id"].as_i64().unwrap();
        let token = issued.body["token"].as_str().unwrap().to_owned();
        app.get("/v1/channel/outbox", &token).await.assert_ok();
        app.request(Method::DELETE, &format!("/v1/tokens/{id}"), Some(&ws.token), None)
            .await
            .assert_ok();
        app.get("/v1/channel/outbox", &token)
            .await
            .assert_error(401, "unauthorized");
        id
    };
    assert!(token_id > 0);
    app.get("/v1/channel/outbox", &bot).await.assert_ok();
    app.stop().await;
}

async fn connectors_cannot_reach_other_channels_or_workspaces(backend: Backend) {
    let app = spawn_app(backend).await;
    let acme = app.workspace("Acme").await;
    let other = app.workspace("Other").await;
    let (_, chat, _) = app.incoming(&acme, &contact("c", "Olha"), "hi").await;
    let sent = app
        .post(
            &format!("/v1/chats/{chat}/messages"),
            &acme.token,
            json!({"text": "answer"}),
        )
        .await;
    let id = sent.body["id"].as_i64().unwrap();
    app.request(
        Method::PUT,
        &format!("/v1/channel/messages/{id}/status"),
        Some(&other.channel_token),
        Some(json!({"status": "read"})),
    )
    .await
    .assert_error(404, "message_not_found");
    let (_, acme_second_bot) = new_channel(&app, &acme, "Second").await;
    app.request(
        Method::PUT,
        &format!("/v1/channel/messages/{id}/status"),
        Some(&acme_second_bot),
        Some(json!({"status": "read"})),
    )
    .await
    .assert_error(404, "message_not_found");
    assert_eq!(
        app.get("/v1/channel/outbox", &other.channel_token).await.body["collection"],
        json!([])
    );
    // The same external ids in another workspace make another contact and chat.
    let theirs = app
        .post(
            "/v1/channel/messages",
            &other.channel_token,
            inbound("c", "Olha", "m-1", "hi"),
        )
        .await;
    assert_eq!(theirs.status.as_u16(), 201);
    assert_ne!(theirs.body["chatId"], chat);
    app.get(&format!("/v1/chats/{}", theirs.body["chatId"]), &acme.token)
        .await
        .assert_error(404, "chat_not_found");
    app.post(
        &format!("/v1/channels/{}/tokens", other.channel_id),
        &acme.token,
        json!({"label": "x"}),
    )
    .await
    .assert_error(404, "channel_not_found");
    let page = app.get(&format!("/v1/chats/{chat}/messages"), &acme.token).await;
    assert_eq!(
        page.body["collection"][0]["status"], "pending",
        "foreign reports changed nothing"
    );
    app.stop().await;
}

async fn bad_connector_input_is_refused_and_writes_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let ws = app.workspace("Acme").await;
    let bot = &ws.channel_token;
    for (body, code) in [
        (inbound("c", "Olha", "m", &"x".repeat(20_001)), "text_too_long"),
        (inbound("c", "Olha", "m", " "), "text_empty"),
        (inbound("", "Olha", "m", "hi"), "invalid_field"),
        (inbound("c", "", "m", "hi"), "invalid_field"),
        (inbound("c", "Olha", "", "hi"), "invalid_field"),
        (json!({"externalMessageId": "m", "text": "hi"}), "invalid_body"),
        (
            json!({"contact": {"externalId": "c", "name": "Olha"}, "externalMessageId": "m", "text": "hi", "sentAt": "yesterday"}),
            "invalid_body",
        ),
    ] {
        let answer = app.post("/v1/channel/messages", bot, body.clone()).await;
        assert_eq!(answer.status.as_u16(), 400, "{body}: {}", answer.body);
        assert_eq!(answer.body["error"]["code"], code, "{body}");
    }
    app.get("/v1/channel/outbox?limit=101", bot)
        .await
        .assert_error(400, "invalid_limit");
    app.get("/v1/channel/outbox?limit=0", bot)
        .await
        .assert_error(400, "invalid_limit");
    assert_eq!(
        app.get("/v1/chats", &ws.token).await.body["cursor"]["total"],
        0,
        "nothing was written"
    );
    app.stop().await;
}

/// Inbound messages written together by the group commit so far, from `/metrics`.
async fn written_together(app: &TestApp) -> u64 {
    let text = app.metrics().await;
    let line = text
        .lines()
        .find(|l| l.starts_with(r#"switchboard_inbound_messages_written_total{batch="together"}"#))
        .unwrap_or_else(|| panic!("no inbound counter in {text}"));
    line.rsplit(' ').next().unwrap().parse().unwrap()
}

/// Messages that arrive while a commit is flushing are written together, by a few
/// multi-row statements for the whole batch. Whatever the batches turn out to be,
/// the result must be the one writing the messages one at a time gives: new chats
/// announced once before their first message, a closed chat reopened once, unread
/// counts rising one by one in the events, a profile change kept, a message posted
/// twice stored once, and events in the order of the messages.
async fn a_burst_of_inbound_messages_ends_as_writing_them_one_by_one_would(backend: Backend) {
    let app = spawn_app(backend).await;
    let ws = app.workspace("Acme").await;
    let post = |body: Value| app.post("/v1/channel/messages", &ws.channel_token, body);
    let earlier = post(inbound("closed", "Closed", "old-1", "earlier")).await;
    assert_eq!(earlier.status.as_u16(), 201);
    let closed_chat = earlier.body["chatId"].as_i64().unwrap();
    app.put(&format!("/v1/chats/{closed_chat}/close"), &ws.token)
        .await
        .assert_ok();
    let seen = app.get("/v1/events/poll?limit=1000", &ws.token).await.assert_ok()["collection"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let together_before = written_together(&app).await;

    const NEW: usize = 12;
    let mut burst = Vec::new();
    for i in 0..NEW {
        for k in 0..2 {
            burst.push(inbound(
                &format!("new-{i}"),
                "Newcomer",
                &format!("new-{i}-{k}"),
                "hello",
            ));
        }
    }
    for k in 0..3 {
        burst.push(inbound("closed", "Closed", &format!("closed-{k}"), "back again"));
    }
    // No other message names a phone, so whatever the order, the contact keeps it.
    let mut with_phone = inbound("new-0", "Newcomer", "new-0-phone", "my new phone");
    with_phone["contact"]["phone"] = json!("+380501112233");
    burst.push(with_phone);
    burst.push(inbound("new-1", "Newcomer", "twice", "sent twice"));
    burst.push(inbound("new-1", "Newcomer", "twice", "sent twice"));
    burst.push(inbound("closed", "Closed", "old-1", "earlier"));
    let answers = futures::future::join_all(burst.iter().cloned().map(post)).await;

    assert!(answers.iter().all(|a| a.status.is_success()), "{answers:?}");
    let repeated = answers.last().unwrap();
    assert_eq!(repeated.status.as_u16(), 200);
    assert_eq!(repeated.body, earlier.body, "a message posted before the burst");
    let twice: Vec<_> = answers
        .iter()
        .zip(&burst)
        .filter(|(_, b)| b["externalMessageId"] == "twice")
        .map(|(a, _)| a)
        .collect();
    assert_eq!(
        twice
            .iter()
            .map(|a| a.status.as_u16())
            .collect::<std::collections::BTreeSet<_>>(),
        [200, 201].into(),
        "one post of the same id writes, the other is its duplicate"
    );
    assert_eq!(twice[0].body["messageId"], twice[1].body["messageId"]);
    let written: std::collections::BTreeSet<i64> = answers
        .iter()
        .filter(|a| a.status.as_u16() == 201)
        .map(|a| a.body["messageId"].as_i64().unwrap())
        .collect();
    assert_eq!(written.len(), 2 * NEW + 3 + 1 + 1, "every new message once");
    assert!(
        written_together(&app).await >= together_before + burst.len() as u64,
        "the burst went through shared commits written as a whole"
    );

    let events = app
        .get(&format!("/v1/events/poll?after={seen}&limit=1000"), &ws.token)
        .await
        .assert_ok()["collection"]
        .as_array()
        .unwrap()
        .clone();
    let created: Vec<i64> = events
        .iter()
        .filter(|e| e["type"] == "message.created")
        .map(|e| e["payload"]["id"].as_i64().unwrap())
        .collect();
    assert!(
        created.windows(2).all(|w| w[0] < w[1]),
        "events follow the messages' order"
    );
    assert_eq!(
        created.iter().copied().collect::<std::collections::BTreeSet<_>>(),
        written
    );
    let chats: std::collections::BTreeSet<i64> = events.iter().map(|e| e["chatId"].as_i64().unwrap()).collect();
    assert_eq!(chats.len(), NEW + 1);
    for chat in chats {
        let of_chat: Vec<&Value> = events.iter().filter(|e| e["chatId"] == chat).collect();
        let kinds: Vec<&str> = of_chat.iter().map(|e| e["type"].as_str().unwrap()).collect();
        let messages = kinds.iter().filter(|k| **k == "message.created").count();
        let (opening, unread_from) = if chat == closed_chat {
            ("chat.opened", 1)
        } else {
            ("chat.created", 0)
        };
        assert_eq!(kinds[0], opening, "chat {chat}: {kinds:?}");
        assert_eq!(kinds.iter().filter(|k| **k == opening).count(), 1, "{kinds:?}");
        assert!(!kinds.contains(&"chat.created") || chat != closed_chat);
        assert!(!kinds.contains(&"chat.opened") || chat == closed_chat);
        assert_eq!(of_chat[0]["payload"]["state"], "open");
        assert_eq!(of_chat[0]["payload"]["unreadMessages"], unread_from + 1);
        assert_eq!(
            of_chat[0]["payload"]["lastMessage"]["id"], of_chat[1]["payload"]["id"],
            "chat {chat} is shown as its first message left it"
        );
        let unread: Vec<i64> = of_chat
            .iter()
            .filter(|e| e["type"] == "chat.unread_changed")
            .map(|e| e["payload"]["unreadMessages"].as_i64().unwrap())
            .collect();
        assert_eq!(
            unread,
            ((unread_from + 1)..=(unread_from + messages as i64)).collect::<Vec<_>>()
        );
        let now = app.get(&format!("/v1/chats/{chat}"), &ws.token).await;
        let now = now.assert_ok();
        assert_eq!(now["state"], "open");
        assert_eq!(now["unreadMessages"], unread_from + messages as i64);
        let last = of_chat.iter().rev().find(|e| e["type"] == "message.created").unwrap();
        assert_eq!(now["lastMessage"]["id"], last["payload"]["id"]);
        let page = app.get(&format!("/v1/chats/{chat}/messages"), &ws.token).await;
        assert_eq!(page.assert_ok()["cursor"]["total"], unread_from + messages as i64);
    }
    let newcomer = answers
        .iter()
        .zip(&burst)
        .find(|(_, b)| b["contact"]["externalId"] == "new-0")
        .unwrap()
        .0
        .body["contactId"]
        .clone();
    let contact = app.get(&format!("/v1/contacts/{newcomer}"), &ws.token).await;
    assert_eq!(contact.assert_ok()["phone"], "+380501112233");
    assert_eq!(
        app.get("/v1/chats", &ws.token).await.body["cursor"]["total"],
        NEW as u64 + 1
    );
    app.stop().await;
}

/// Two replicas over one PostgreSQL database take messages for the same new contacts
/// at once. Each replica writes its inbound messages in shared commits; when a
/// commit's batch meets a contact the other replica inserted first, the batch is
/// written again message by message and the message that met it is answered on its
/// own, so every message is acknowledged once, stored once, and no contact or chat
/// is doubled.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_racing_for_new_contacts_lose_no_message() {
    let Some((a, b)) = crate::support::postgres_replicas("replicas_racing_for_new_contacts_lose_no_message").await
    else {
        return;
    };
    let ws = a.workspace("Acme").await;
    const CONTACTS: usize = 40;
    // Each contact's two messages go to different replicas; the replicas see the
    // contacts in opposite orders, so their batches overlap in both directions.
    let posts = (0..CONTACTS).flat_map(|i| {
        let j = CONTACTS - 1 - i;
        [
            a.post(
                "/v1/channel/messages",
                &ws.channel_token,
                inbound(&format!("c{i}"), "Racer", &format!("a-{i}"), "via a"),
            ),
            b.post(
                "/v1/channel/messages",
                &ws.channel_token,
                inbound(&format!("c{j}"), "Racer", &format!("b-{j}"), "via b"),
            ),
        ]
    });
    let answers = futures::future::join_all(posts).await;
    let refused: Vec<_> = answers.iter().filter(|a| a.status.as_u16() != 201).collect();
    assert!(refused.is_empty(), "every message is acknowledged as new: {refused:?}");
    let mut message_ids: Vec<i64> = answers.iter().map(|a| a.body["messageId"].as_i64().unwrap()).collect();
    message_ids.sort();
    message_ids.dedup();
    assert_eq!(message_ids.len(), 2 * CONTACTS, "two distinct messages per contact");
    let mut chats = Vec::new();
    for page in [1, 2, 3] {
        let listed = a.get(&format!("/v1/chats?limitation=20&page={page}"), &ws.token).await;
        let body = listed.assert_ok();
        assert_eq!(body["cursor"]["total"], CONTACTS as u64, "one chat per contact: {body}");
        chats.extend(
            body["collection"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["id"].as_i64().unwrap()),
        );
    }
    assert_eq!(chats.len(), CONTACTS);
    for id in chats {
        let page = a.get(&format!("/v1/chats/{id}/messages"), &ws.token).await;
        let messages = page.assert_ok();
        let mut texts: Vec<&str> = messages["collection"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["content"]["text"].as_str().unwrap())
            .collect();
        texts.sort();
        assert_eq!(texts, ["via a", "via b"], "chat {id}");
    }
    b.stop().await;
    a.stop().await;
}

/// The inbound writer finds a batch's earlier posts with `channel_id = ? AND
/// external_id IN (...)`. A channel whose messages arrived after the database last
/// gathered statistics must still be probed id by id, not read whole: on PostgreSQL
/// the planner, expecting one row for such a channel, used to read all of the
/// channel's messages for every batch.
async fn a_channel_the_statistics_have_not_seen_is_looked_up_by_its_ids(backend: Backend) {
    use sea_orm::ConnectionTrait;
    let app = spawn_app(backend).await;
    let ws = app.workspace("Acme").await;
    let (_, chat, _) = app.incoming(&ws, &contact("c1", "Olena"), "first").await;
    let postgres = backend == Backend::Postgres;
    if postgres {
        app.db
            .execute_unprepared("ALTER TABLE message SET (autovacuum_enabled = false)")
            .await
            .unwrap();
    }
    // Statistics gathered before the channel's messages arrive. (Only PostgreSQL
    // gathers them by itself; on SQLite only the seed runs ANALYZE, after its bulk
    // load, and a SQLite database analyzed while small would plan a scan here.)
    if postgres {
        app.db.execute_unprepared("ANALYZE").await.unwrap();
    }
    // 20,000 messages the statistics do not know of.
    let series = if postgres {
        "generate_series(1, 20000) AS s(n)"
    } else {
        "(WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < 20000) SELECT n FROM s) AS s"
    };
    let now = if postgres {
        "now()"
    } else {
        "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')"
    };
    app.db
        .execute_unprepared(&format!(
            "INSERT INTO message (workspace_id, chat_id, channel_id, direction, internal, content_type, text, \
             sender_type, status, external_id, created_at) \
             SELECT {}, {chat}, {}, 'incoming', false, 'text', 'bulk ' || n, 'contact', 'delivered', 'bulk-' || n, {now} \
             FROM {series}",
            ws.id, ws.channel_id
        ))
        .await
        .unwrap();
    let lookup = format!(
        "SELECT id, chat_id, external_id FROM message WHERE channel_id = {} \
         AND external_id IN ('bulk-7', 'bulk-19999', 'new-1', 'new-2')",
        ws.channel_id
    );
    let backend_of = app.db.get_database_backend();
    if postgres {
        let plan = app
            .db
            .query_one_raw(sea_orm::Statement::from_string(
                backend_of,
                format!("EXPLAIN (ANALYZE, FORMAT JSON) {lookup}"),
            ))
            .await
            .unwrap()
            .unwrap();
        let plan: Value = plan.try_get_by_index(0).unwrap();
        let text = plan.to_string();
        let removed: Vec<i64> = text
            .match_indices("\"Rows Removed by Filter\":")
            .map(|(at, key)| {
                text[at + key.len()..]
                    .trim_start()
                    .split(|c: char| !c.is_ascii_digit())
                    .next()
                    .unwrap()
                    .parse()
                    .unwrap()
            })
            .collect();
        assert!(
            text.contains("external_id") && removed.iter().all(|n| *n < 100),
            "the lookup read the channel instead of probing its ids: {plan}"
        );
    } else {
        let rows = app
            .db
            .query_all_raw(sea_orm::Statement::from_string(
                backend_of,
                format!("EXPLAIN QUERY PLAN {lookup}"),
            ))
            .await
            .unwrap();
        let details: Vec<String> = rows.iter().map(|r| r.try_get("", "detail").unwrap()).collect();
        assert!(
            details.iter().any(|d| d.contains("external_id=?")),
            "the lookup does not probe the ids: {details:?}"
        );
    }
    // End to end: an id written before is a duplicate, a new one is written.
    let again = app
        .post(
            "/v1/channel/messages",
            &ws.channel_token,
            inbound("c1", "Olena", "bulk-19999", "again"),
        )
        .await;
    assert_eq!(again.status.as_u16(), 200, "{}", again.body);
    assert_eq!(again.body["chatId"], chat);
    let fresh = app
        .post(
            "/v1/channel/messages",
            &ws.channel_token,
            inbound("c1", "Olena", "new-1", "new"),
        )
        .await;
    assert_eq!(fresh.status.as_u16(), 201, "{}", fresh.body);
    app.stop().await;
}
