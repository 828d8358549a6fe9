//! Health, the request id, and the OpenAPI document with Swagger UI.

use serde_json::Value;

use crate::on_both_databases;
use crate::support::{Backend, spawn_app};

on_both_databases!(health_endpoints_answer, the_spec_documents_every_operation_and_status);

/// The committed `openapi.json` (what client generators and linters read) is what
/// the server serves. `UPDATE_OPENAPI=1 cargo test -p switchboard-tests committed_spec`
/// rewrites it after an intended change.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_committed_spec_is_the_served_spec() {
    let app = spawn_app(Backend::Sqlite).await;
    let served = app.request(reqwest::Method::GET, "/openapi.json", None, None).await;
    let served = served.assert_ok().clone();
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("openapi.json");
    if std::env::var("UPDATE_OPENAPI").is_ok() {
        std::fs::write(&path, serde_json::to_string_pretty(&served).unwrap() + "\n").unwrap();
    }
    let committed: Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("openapi.json at the repo root"))
            .expect("openapi.json is JSON");
    assert!(
        committed == served,
        "openapi.json differs from the served spec: run UPDATE_OPENAPI=1 cargo test -p switchboard-tests committed_spec"
    );
    app.stop().await;
}

async fn health_endpoints_answer(backend: Backend) {
    let app = spawn_app(backend).await;
    let live = app.request(reqwest::Method::GET, "/health/live", None, None).await;
    assert_eq!(live.assert_ok()["status"], "ok");
    let ready = app.request(reqwest::Method::GET, "/health/ready", None, None).await;
    assert_eq!(ready.assert_ok()["status"], "ok");
    // The caller's request id is kept and echoed.
    let answer = app
        .raw(
            app.client
                .get(app.url("/health/live"))
                .header("x-request-id", "trace-abc-123"),
        )
        .await;
    assert_eq!(answer.headers.get("x-request-id").unwrap(), "trace-abc-123");
    app.stop().await;
}

async fn the_spec_documents_every_operation_and_status(backend: Backend) {
    let app = spawn_app(backend).await;
    let spec = app.request(reqwest::Method::GET, "/openapi.json", None, None).await;
    let spec = spec.assert_ok();
    assert!(
        spec["openapi"].as_str().unwrap().starts_with("3."),
        "OpenAPI 3: {}",
        spec["openapi"]
    );
    let paths = spec["paths"].as_object().expect("paths");
    for path in [
        "/v1/chats",
        "/v1/chats/{chatId}",
        "/v1/chats/{chatId}/read",
        "/v1/chats/{chatId}/close",
        "/v1/chats/{chatId}/open",
        "/v1/chats/{chatId}/forward/{operatorId}",
        "/v1/chats/{chatId}/assignments",
        "/v1/chats/{chatId}/messages",
        "/v1/contacts/{contactId}/send",
        "/v1/operators",
    ] {
        assert!(paths.contains_key(path), "{path} is documented");
    }
    let mut operation_ids = std::collections::HashSet::new();
    for (path, item) in paths {
        for (method, op) in item.as_object().unwrap() {
            let id = op["operationId"]
                .as_str()
                .unwrap_or_else(|| panic!("{method} {path} has an operationId"));
            assert!(operation_ids.insert(id.to_owned()), "operationId {id} is unique");
            assert!(
                op["summary"].as_str().is_some_and(|s| !s.is_empty()),
                "{id} has a summary"
            );
            assert!(op["tags"].as_array().is_some_and(|t| !t.is_empty()), "{id} has a tag");
            if path.starts_with("/v1/") {
                let responses = op["responses"].as_object().unwrap();
                for status in ["400", "401", "404", "500"] {
                    assert!(responses.contains_key(status), "{id} documents {status}");
                }
                assert!(
                    op["security"].as_array().is_some_and(|s| !s.is_empty()),
                    "{id} needs a token"
                );
            }
        }
    }
    let list = &paths["/v1/chats"]["get"];
    let params: Vec<&str> = list["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    for name in [
        "page",
        "limitation",
        "term",
        "state",
        "selector[name]",
        "selector[operatorId]",
    ] {
        assert!(params.contains(&name), "listChats takes {name}");
    }
    let limitation = list["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "limitation")
        .unwrap();
    assert_eq!(limitation["schema"]["maximum"], Value::from(20.0));
    let schemes = &spec["components"]["securitySchemes"];
    assert_eq!(schemes["OperatorAuth"]["scheme"], "bearer");

    let yaml = app.client.get(app.url("/openapi.yaml")).send().await.unwrap();
    assert!(yaml.status().is_success());
    assert!(yaml.text().await.unwrap().contains("listChats"));
    let docs = app.client.get(app.url("/docs")).send().await.unwrap();
    assert!(docs.status().is_success());
    assert!(docs.text().await.unwrap().contains("swagger"));
    app.stop().await;
}
