//! Operators and tokens: listing, admin-only management, deactivation and revocation.

use reqwest::Method;
use serde_json::json;

use crate::on_both_databases;
use crate::support::{Backend, spawn_app};

on_both_databases!(
    operators_are_listed_with_a_cursor,
    admins_create_operators_and_issue_tokens_that_work,
    operators_cannot_manage_operators,
    a_taken_email_is_a_conflict,
    deactivating_an_operator_or_revoking_a_token_locks_it_out,
);

async fn operators_are_listed_with_a_cursor(backend: Backend) {
    let app = spawn_app(backend).await;
    let ws = app.workspace("Acme").await;
    app.operator(&ws, "Taras", "operator").await;
    app.operator(&ws, "Maria", "admin").await;
    let page = app.get("/v1/operators?limitation=2", &ws.token).await;
    let body = page.assert_ok();
    assert_eq!(
        body["cursor"],
        json!({"page": 1, "pages": 2, "limitation": 2, "total": 3, "totalIsExact": true})
    );
    assert_eq!(body["collection"][0]["name"], "Acme Admin");
    assert_eq!(body["collection"][0]["role"], "admin");
    assert_eq!(body["collection"][1]["name"], "Taras");
    assert_eq!(body["collection"][1]["role"], "operator");
    assert_eq!(body["collection"][1]["active"], true);
    let second = app.get("/v1/operators?limitation=2&page=2", &ws.token).await;
    assert_eq!(second.body["collection"][0]["name"], "Maria");
    app.stop().await;
}

async fn admins_create_operators_and_issue_tokens_that_work(backend: Backend) {
    let app = spawn_app(backend).await;
    let ws = app.workspace("Acme").await;
    let created = app
        .post(
            "/v1/operators",
            &ws.token,
            json!({"name": "Taras", "email": "Taras@Acme.test", "role": "operator"}),
        )
        .await;
    assert_eq!(created.status.as_u16(), 201);
    assert_eq!(created.body["email"], "taras@acme.test");
    let id = created.body["id"].as_i64().unwrap();
    let token = app
        .post(
            &format!("/v1/operators/{id}/tokens"),
            &ws.token,
            json!({"label": "laptop"}),
        )
        .await;
    assert_eq!(token.status.as_u16(), 201);
    let token = token.body["token"].as_str().unwrap().to_owned();
    assert!(token.starts_with("sbo_"));
    let me = app.get(&format!("/v1/operators/{id}"), &token).await;
    assert_eq!(me.assert_ok()["name"], "Taras");
    app.stop().await;
}

async fn operators_cannot_manage_operators(backend: Backend) {
    let app = spawn_app(backend).await;
    let ws = app.workspace("Acme").await;
    let (taras, token) = app.operator(&ws, "Taras", "operator").await;
    app.post(
        "/v1/operators",
        &token,
        json!({"name": "Eve", "email": "eve@acme.test", "role": "admin"}),
    )
    .await
    .assert_error(403, "forbidden");
    app.post(
        &format!("/v1/operators/{taras}/tokens"),
        &token,
        json!({"label": "more"}),
    )
    .await
    .assert_error(403, "forbidden");
    app.request(
        Method::PATCH,
        &format!("/v1/operators/{}", ws.admin_id),
        Some(&token),
        Some(json!({"active": false})),
    )
    .await
    .assert_error(403, "forbidden");
    let list = app.get("/v1/operators", &ws.token).await;
    assert_eq!(list.body["cursor"]["total"], 2, "nothing was created");
    app.stop().await;
}

async fn a_taken_email_is_a_conflict(backend: Backend) {
    let app = spawn_app(backend).await;
    let ws = app.workspace("Acme").await;
    let body = json!({"name": "Taras", "email": "taras@acme.test", "role": "operator"});
    app.post("/v1/operators", &ws.token, body.clone()).await.assert_ok();
    let again = app
        .post(
            "/v1/operators",
            &ws.token,
            json!({"name": "Other", "email": "TARAS@acme.test", "role": "operator"}),
        )
        .await;
    again.assert_error(409, "email_taken");
    // The same e-mail in another workspace is another person.
    let other = app.workspace("Other").await;
    app.post("/v1/operators", &other.token, body).await.assert_ok();
    app.stop().await;
}

async fn deactivating_an_operator_or_revoking_a_token_locks_it_out(backend: Backend) {
    let app = spawn_app(backend).await;
    let ws = app.workspace("Acme").await;
    let (taras, taras_token) = app.operator(&ws, "Taras", "operator").await;
    app.get("/v1/chats", &taras_token).await.assert_ok();
    let off = app
        .request(
            Method::PATCH,
            &format!("/v1/operators/{taras}"),
            Some(&ws.token),
            Some(json!({"active": false})),
        )
        .await;
    assert_eq!(off.assert_ok()["active"], false);
    app.get("/v1/chats", &taras_token)
        .await
        .assert_error(401, "unauthorized");
    app.request(
        Method::PATCH,
        &format!("/v1/operators/{taras}"),
        Some(&ws.token),
        Some(json!({"active": true})),
    )
    .await
    .assert_ok();
    app.get("/v1/chats", &taras_token).await.assert_ok();

    let issued = app
        .post(
            &format!("/v1/operators/{taras}/tokens"),
            &ws.token,
            json!({"label": "phone"}),
        )
        .await;
    let (token_id, token) = (
        issued.body["id"].as_i64().unwrap(),
        issued.body["token"].as_str().unwrap().to_owned(),
    );
    app.get("/v1/chats", &token).await.assert_ok();
    let revoked = app
        .request(Method::DELETE, &format!("/v1/tokens/{token_id}"), Some(&ws.token), None)
        .await;
    assert_eq!(revoked.assert_ok(), &json!({"state": true}));
    app.get("/v1/chats", &token).await.assert_error(401, "unauthorized");
    app.get("/v1/chats", &taras_token).await.assert_ok();
    // An admin cannot lock themselves out.
    app.request(
        Method::PATCH,
        &format!("/v1/operators/{}", ws.admin_id),
        Some(&ws.token),
        Some(json!({"active": false})),
    )
    .await
    .assert_error(403, "forbidden");
    app.stop().await;
}
