//! Workspace isolation: another workspace's token sees 404 for every chat, contact,
//! operator and token route, and its lists never show a foreign row.

use reqwest::Method;
use serde_json::json;

use crate::on_both_databases;
use crate::support::{Backend, contact, spawn_app};

on_both_databases!(another_workspace_sees_not_found_everywhere_and_changes_nothing);

async fn another_workspace_sees_not_found_everywhere_and_changes_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let acme = app.workspace("Acme").await;
    let other = app.workspace("Other").await;
    let (taras, _) = app.operator(&acme, "Taras", "operator").await;
    let (other_op, _) = app.operator(&other, "Mallory", "operator").await;
    let (contact_id, chat, _) = app.incoming(&acme, &contact("p", "Petro"), "secret order 42").await;
    let before = app.get(&format!("/v1/chats/{chat}"), &acme.token).await;

    let t = &other.token;
    let cases: Vec<(Method, String, Option<serde_json::Value>, &str)> = vec![
        (Method::GET, format!("/v1/chats/{chat}"), None, "chat_not_found"),
        (Method::PUT, format!("/v1/chats/{chat}/read"), None, "chat_not_found"),
        (Method::PUT, format!("/v1/chats/{chat}/close"), None, "chat_not_found"),
        (Method::PUT, format!("/v1/chats/{chat}/open"), None, "chat_not_found"),
        (
            Method::POST,
            format!("/v1/chats/{chat}/forward/{other_op}"),
            Some(json!({"text": "mine"})),
            "chat_not_found",
        ),
        (
            Method::GET,
            format!("/v1/chats/{chat}/assignments"),
            None,
            "chat_not_found",
        ),
        (
            Method::GET,
            format!("/v1/chats/{chat}/messages"),
            None,
            "chat_not_found",
        ),
        (
            Method::POST,
            format!("/v1/chats/{chat}/messages"),
            Some(json!({"text": "hi"})),
            "chat_not_found",
        ),
        (
            Method::GET,
            format!("/v1/contacts/{contact_id}"),
            None,
            "contact_not_found",
        ),
        (
            Method::GET,
            format!("/v1/contacts/{contact_id}/chat"),
            None,
            "contact_not_found",
        ),
        (
            Method::POST,
            format!("/v1/contacts/{contact_id}/send"),
            Some(json!({"type": "text", "content": "hi"})),
            "contact_not_found",
        ),
        (
            Method::GET,
            format!("/v1/operators/{taras}"),
            None,
            "operator_not_found",
        ),
        (
            Method::PATCH,
            format!("/v1/operators/{taras}"),
            Some(json!({"active": false})),
            "operator_not_found",
        ),
        (
            Method::POST,
            format!("/v1/operators/{taras}/tokens"),
            Some(json!({"label": "x"})),
            "operator_not_found",
        ),
    ];
    for (method, path, body, code) in cases {
        let answer = app.request(method.clone(), &path, Some(t), body).await;
        assert_eq!(answer.status.as_u16(), 404, "{method} {path}: {}", answer.body);
        assert_eq!(answer.body["error"]["code"], code, "{method} {path}");
    }
    // Forwarding one's own chat to a foreign operator names the operator as missing.
    app.post(
        &format!("/v1/chats/{chat}/forward/{other_op}"),
        &acme.token,
        json!({"text": "x"}),
    )
    .await
    .assert_error(404, "operator_not_found");
    app.get(
        &format!("/v1/chats?selector%5Bname%5D=private&selector%5BoperatorId%5D={taras}"),
        t,
    )
    .await
    .assert_error(404, "operator_not_found");

    let lists = app.get("/v1/chats?term=secret", t).await;
    assert_eq!(lists.assert_ok()["cursor"]["total"], 0);
    let all = app.get("/v1/chats", t).await;
    assert_eq!(all.body["cursor"]["total"], 0);
    let operators = app.get("/v1/operators", t).await;
    let names: Vec<&str> = operators.body["collection"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Other Admin", "Mallory"]);

    let after = app.get(&format!("/v1/chats/{chat}"), &acme.token).await;
    assert_eq!(after.body, before.body, "the foreign calls changed nothing");
    let messages = app.get(&format!("/v1/chats/{chat}/messages"), &acme.token).await;
    assert_eq!(messages.body["cursor"]["total"], 1);
    let acme_ops = app.get("/v1/operators", &acme.token).await;
    assert!(
        acme_ops.body["collection"]
            .as_array()
            .unwrap()
            .iter()
            .all(|o| o["active"] == true)
    );
    app.stop().await;
}
