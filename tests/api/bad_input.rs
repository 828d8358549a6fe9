//! Every bad input answers a 4xx in our error body with its code, and changes nothing.

use reqwest::Method;
use serde_json::json;

use crate::on_both_databases;
use crate::support::{Backend, contact, spawn_app};

on_both_databases!(
    bad_list_parameters_answer_400_with_their_codes,
    bad_message_texts_answer_400_and_write_nothing,
    bad_bodies_and_content_types_are_refused,
    unknown_ids_paths_and_methods_answer_in_our_error_body,
    missing_or_bad_tokens_are_401,
);

async fn bad_list_parameters_answer_400_with_their_codes(backend: Backend) {
    let app = spawn_app(backend).await;
    let ws = app.workspace("Acme").await;
    let long_term = "a".repeat(257);
    for (query, code) in [
        ("page=0", "invalid_page"),
        ("page=-3", "invalid_page"),
        ("page=abc", "invalid_page"),
        ("page=2758985539981036544", "invalid_page"),
        ("page=1000000001", "invalid_page"),
        ("limitation=0", "invalid_limitation"),
        ("limitation=21", "invalid_limitation"),
        ("state=pending", "invalid_state"),
        ("selector%5Bname%5D=everything", "invalid_selector"),
        ("selector%5Bname%5D=private", "operator_id_required"),
        (
            "selector%5Bname%5D=private&selector%5BoperatorId%5D=x",
            "invalid_parameter",
        ),
        (&format!("term={long_term}") as &str, "term_too_long"),
        ("term=a%00b", "invalid_parameter"),
    ] {
        let answer = app.get(&format!("/v1/chats?{query}"), &ws.token).await;
        assert_eq!(answer.status.as_u16(), 400, "{query}: {}", answer.body);
        assert_eq!(answer.body["error"]["code"], code, "{query}");
    }
    app.get(&format!("/v1/chats?term={}", "a".repeat(256)), &ws.token)
        .await
        .assert_ok();
    app.get("/v1/operators?limitation=21", &ws.token)
        .await
        .assert_error(400, "invalid_limitation");
    app.stop().await;
}

async fn bad_message_texts_answer_400_and_write_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let ws = app.workspace("Acme").await;
    let (contact_id, chat, _) = app.incoming(&ws, &contact("p", "Petro"), "hi").await;
    let before = app.get(&format!("/v1/chats/{chat}"), &ws.token).await;
    let too_long = "я".repeat(20_001);
    for (body, code) in [
        (json!({"text": "nul \u{0} inside"}), "invalid_body"),
        (json!({"text": too_long}), "text_too_long"),
        (json!({"text": ""}), "text_empty"),
        (json!({"text": "  \n\t "}), "text_empty"),
    ] {
        app.post(&format!("/v1/chats/{chat}/messages"), &ws.token, body)
            .await
            .assert_error(400, code);
    }
    for (body, code) in [
        (json!({"type": "text", "content": too_long}), "text_too_long"),
        (json!({"type": "text", "content": ""}), "text_empty"),
        (json!({"type": "video", "content": "hi"}), "invalid_body"),
    ] {
        app.post(&format!("/v1/contacts/{contact_id}/send"), &ws.token, body)
            .await
            .assert_error(400, code);
    }
    app.post(
        &format!("/v1/chats/{chat}/forward/{}", ws.admin_id),
        &ws.token,
        json!({"text": "x".repeat(2001)}),
    )
    .await
    .assert_error(400, "text_too_long");
    let exactly = "я".repeat(20_000);
    let ok = app
        .post(
            &format!("/v1/chats/{chat}/messages"),
            &ws.token,
            json!({"text": exactly}),
        )
        .await;
    assert_eq!(ok.status.as_u16(), 201);
    let after = app.get(&format!("/v1/chats/{chat}/messages"), &ws.token).await;
    assert_eq!(after.body["cursor"]["total"], 2, "only the valid send was written");
    let chat_after = app.get(&format!("/v1/chats/{chat}"), &ws.token).await;
    assert_eq!(
        chat_after.body["operator"], before.body["operator"],
        "the refused forward changed nothing"
    );
    app.stop().await;
}

async fn bad_bodies_and_content_types_are_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let ws = app.workspace("Acme").await;
    let (_, chat, _) = app.incoming(&ws, &contact("p", "Petro"), "hi").await;
    let url = app.url(&format!("/v1/chats/{chat}/messages"));
    let post = || app.client.post(&url).bearer_auth(&ws.token);

    app.raw(post().header("content-type", "application/json").body("{\"text\": "))
        .await
        .assert_error(400, "malformed_json");
    app.raw(
        post()
            .header("content-type", "application/json")
            .body("{\"text\": [1]}"),
    )
    .await
    .assert_error(400, "invalid_body");
    app.raw(post().header("content-type", "application/json").body("{\"text\": 42}"))
        .await
        .assert_error(400, "invalid_body");
    app.raw(
        post()
            .header("content-type", "application/json")
            .body("{\"text\": false}"),
    )
    .await
    .assert_error(400, "invalid_body");
    app.raw(post().header("content-type", "application/json").body("[]"))
        .await
        .assert_error(400, "invalid_body");
    app.raw(post().header("content-type", "application/json").body(""))
        .await
        .assert_error(400, "invalid_body");
    app.raw(post().header("content-type", "text/plain").body("hello"))
        .await
        .assert_error(415, "unsupported_media_type");
    app.raw(post().body("{\"text\": \"hi\"}"))
        .await
        .assert_error(415, "unsupported_media_type");
    // A body over 1 MiB is refused from its Content-Length, before it is read; a raw
    // connection shows it without racing the server's early answer.
    let answer = oversized_post(&app.address, chat, &ws.token).await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("\"code\":\"payload_too_large\""), "{answer}");
    app.raw(
        post()
            .header("content-type", "application/json")
            .header("Idempotency-Key", "k".repeat(129))
            .body("{\"text\": \"hi\"}"),
    )
    .await
    .assert_error(400, "invalid_idempotency_key");
    let page = app.get(&format!("/v1/chats/{chat}/messages"), &ws.token).await;
    assert_eq!(page.body["cursor"]["total"], 1, "nothing was written");
    app.stop().await;
}

async fn unknown_ids_paths_and_methods_answer_in_our_error_body(backend: Backend) {
    let app = spawn_app(backend).await;
    let ws = app.workspace("Acme").await;
    app.get("/v1/chats/999999", &ws.token)
        .await
        .assert_error(404, "chat_not_found");
    app.put("/v1/chats/999999/read", &ws.token)
        .await
        .assert_error(404, "chat_not_found");
    app.post("/v1/chats/999999/messages", &ws.token, json!({"text": "hi"}))
        .await
        .assert_error(404, "chat_not_found");
    app.get("/v1/contacts/999999", &ws.token)
        .await
        .assert_error(404, "contact_not_found");
    app.get("/v1/operators/999999", &ws.token)
        .await
        .assert_error(404, "operator_not_found");
    app.request(Method::DELETE, "/v1/tokens/999999", Some(&ws.token), None)
        .await
        .assert_error(404, "token_not_found");
    app.get("/v1/chats/abc", &ws.token)
        .await
        .assert_error(400, "invalid_path_parameter");
    app.get("/v1/nothing-here", &ws.token)
        .await
        .assert_error(404, "route_not_found");
    let not_allowed = app.request(Method::DELETE, "/v1/chats", Some(&ws.token), None).await;
    not_allowed.assert_error(405, "method_not_allowed");
    assert_eq!(not_allowed.headers["allow"], "GET, HEAD");
    let trace = app
        .request(
            Method::TRACE,
            &format!("/v1/chats/{}/messages", 1),
            Some(&ws.token),
            None,
        )
        .await;
    trace.assert_error(405, "method_not_allowed");
    assert_eq!(trace.headers["allow"], "GET, POST, HEAD");
    let (_, chat, _) = app.incoming(&ws, &contact("p", "Petro"), "hi").await;
    app.post(
        &format!("/v1/chats/{chat}/forward/999999"),
        &ws.token,
        json!({"text": "x"}),
    )
    .await
    .assert_error(404, "operator_not_found");
    app.stop().await;
}

async fn missing_or_bad_tokens_are_401(backend: Backend) {
    let app = spawn_app(backend).await;
    let ws = app.workspace("Acme").await;
    let (_, chat, _) = app.incoming(&ws, &contact("p", "Petro"), "hi").await;
    let none = app.request(Method::GET, "/v1/chats", None, None).await;
    none.assert_error(401, "unauthorized");
    assert_eq!(none.headers.get("www-authenticate").unwrap(), "Bearer");
    app.get("/v1/chats", "sbo_not-a-token")
        .await
        .assert_error(401, "unauthorized");
    app.raw(
        app.client
            .get(app.url("/v1/chats"))
            .header("authorization", "Basic dXNlcjpwYXNz"),
    )
    .await
    .assert_error(401, "unauthorized");
    app.request(Method::PUT, &format!("/v1/chats/{chat}/close"), Some("wrong"), None)
        .await
        .assert_error(401, "unauthorized");
    let still = app.get(&format!("/v1/chats/{chat}"), &ws.token).await;
    assert_eq!(still.body["state"], "open", "the unauthorised close changed nothing");
    app.stop().await;
}

async fn oversized_post(address: &str, chat: i64, token: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let host = address.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(host).await.expect("connect");
    let head = format!(
        "POST /v1/chats/{chat}/messages HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{{\"text\": \"",
        2 * 1024 * 1024
    );
    stream.write_all(head.as_bytes()).await.expect("write");
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.expect("read");
    String::from_utf8_lossy(&answer).into_owned()
}
