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
    assert_eq!(
        spec["openapi"], "3.1.0",
        "OpenAPI 3.1, which can say \"a reference or null\""
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
            assert!(
                op["description"].as_str().is_some_and(|s| s.len() > 20),
                "{id} has a description"
            );
            // Every request and response body names a schema that carries an example.
            let bodies = op["requestBody"]["content"].as_object().into_iter().chain(
                op["responses"]
                    .as_object()
                    .unwrap()
                    .values()
                    .filter_map(|r| r["content"].as_object()),
            );
            for content in bodies {
                for media in content.values() {
                    let schema = &media["schema"];
                    let name = schema["$ref"]
                        .as_str()
                        .or_else(|| schema["items"]["$ref"].as_str())
                        .and_then(|r| r.strip_prefix("#/components/schemas/"));
                    if let Some(name) = name {
                        assert!(
                            spec["components"]["schemas"][name]["example"].is_object(),
                            "{id}: schema {name} has an example"
                        );
                    }
                }
            }
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
    // Public operations say so; nulls are 3.1 types, not 3.0's `nullable`.
    assert_eq!(paths["/health/live"]["get"]["security"], serde_json::json!([]));
    assert!(
        !spec.to_string().contains("\"nullable\""),
        "no OpenAPI 3.0 `nullable` is left"
    );
    let operator = &spec["components"]["schemas"]["Chat"]["properties"]["operator"];
    assert_eq!(operator["anyOf"][1], serde_json::json!({"type": "null"}), "{operator}");
    // Error codes are a named enum that clients can match on.
    let codes = spec["components"]["schemas"]["ErrorCode"]["enum"]
        .as_array()
        .expect("ErrorCode enum");
    assert!(codes.contains(&Value::from("chat_not_found")) && codes.contains(&Value::from("invalid_limitation")));
    assert_eq!(
        spec["components"]["schemas"]["ErrorDetail"]["properties"]["code"]["$ref"],
        "#/components/schemas/ErrorCode"
    );

    let yaml = app.client.get(app.url("/openapi.yaml")).send().await.unwrap();
    assert!(yaml.status().is_success());
    let yaml = yaml.text().await.unwrap();
    assert!(
        yaml.contains("listChats") && yaml.contains("openapi: 3.1.0"),
        "the YAML is the same document"
    );
    let docs = app.client.get(app.url("/docs")).send().await.unwrap();
    assert!(docs.status().is_success());
    let docs = docs.text().await.unwrap();
    assert!(docs.contains("swagger"));
    assert!(
        docs.contains("\"openapi\": \"3.1.0\""),
        "Swagger UI shows the served document"
    );
    app.stop().await;
}
