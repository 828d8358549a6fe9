//! The test harness: a real `switchboard` server on port 0 over a fresh database
//! (a SQLite file, or a new PostgreSQL database when `TEST_POSTGRES_URL` is set),
//! a `reqwest` client, and helpers that arrange workspaces, contacts and messages.

use std::sync::atomic::{AtomicU64, Ordering};

use reqwest::{Method, StatusCode};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection};
use serde_json::{Value, json};
use switchboard::domain;
use switchboard::domain::contacts::ContactProfile;
use switchboard::{Application, Settings};
use tokio::sync::oneshot;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Runs a test body against SQLite and, when `TEST_POSTGRES_URL` is set, PostgreSQL.
#[macro_export]
macro_rules! on_both_databases {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$name($crate::support::Backend::Sqlite).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    if $crate::support::postgres_url().is_none() {
                        eprintln!("TEST_POSTGRES_URL is not set; the PostgreSQL variant did not run");
                        return;
                    }
                    super::$name($crate::support::Backend::Postgres).await;
                }
            }
        )*
    };
}

pub fn postgres_url() -> Option<String> {
    std::env::var("TEST_POSTGRES_URL").ok().filter(|u| !u.is_empty())
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

fn unique_name() -> String {
    format!(
        "sb_test_{}_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
        uuid::Uuid::new_v4().simple()
    )
}

/// A fresh, empty database and its URL.
pub async fn fresh_database(backend: Backend) -> String {
    match backend {
        Backend::Sqlite => {
            let dir = std::env::temp_dir().join("switchboard-tests");
            std::fs::create_dir_all(&dir).expect("temp dir");
            format!(
                "sqlite://{}?mode=rwc",
                dir.join(format!("{}.db", unique_name())).display()
            )
        }
        Backend::Postgres => {
            let admin_url = postgres_url().expect("TEST_POSTGRES_URL");
            let name = unique_name();
            let admin = Database::connect(&admin_url)
                .await
                .expect("connect to TEST_POSTGRES_URL");
            admin
                .execute_unprepared(&format!("CREATE DATABASE {name}"))
                .await
                .expect("create database");
            admin.close().await.ok();
            replace_database_name(&admin_url, &name)
        }
    }
}

/// Drops a PostgreSQL test database (SQLite files are left in the temp dir).
pub async fn drop_database(url: &str) {
    if !url.starts_with("postgres") {
        return;
    }
    let admin = Database::connect(postgres_url().expect("url")).await.expect("connect");
    let name = url
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .split('?')
        .next()
        .unwrap_or_default();
    admin
        .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .await
        .ok();
}

fn replace_database_name(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let base = match base[scheme_end..].find('/') {
        Some(slash) => &base[..scheme_end + slash],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub db: DatabaseConnection,
    pub database_url: String,
    stop: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<Result<(), String>>>,
}

/// A workspace made for a test, with its admin's token.
#[derive(Clone, Debug)]
pub struct Workspace {
    pub id: i64,
    pub admin_id: i64,
    pub token: String,
    pub channel_id: i64,
    pub channel_token: String,
}

pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_server(&fresh_database(backend).await).await
}

/// A server over an existing database: a second one over the same PostgreSQL
/// database is another replica.
pub async fn spawn_server(database_url: &str) -> TestApp {
    spawn_with(database_url, |_| {}).await
}

/// Two servers over one fresh PostgreSQL database (two replicas), or `None` with a
/// note when `TEST_POSTGRES_URL` is not set.
pub async fn postgres_replicas(test: &str) -> Option<(TestApp, TestApp)> {
    if postgres_url().is_none() {
        eprintln!("TEST_POSTGRES_URL is not set; {test} did not run");
        return None;
    }
    let url = fresh_database(Backend::Postgres).await;
    let a = spawn_server(&url).await;
    let b = spawn_server(&url).await;
    Some((a, b))
}

/// A server over a fresh database, with some settings changed.
pub async fn spawn_app_with(backend: Backend, change: impl FnOnce(&mut Settings)) -> TestApp {
    spawn_with(&fresh_database(backend).await, change).await
}

async fn spawn_with(database_url: &str, change: impl FnOnce(&mut Settings)) -> TestApp {
    let database_url = database_url.to_owned();
    let mut settings = Settings {
        webhook_retry_base: std::time::Duration::from_millis(200),
        rate_limit_per_minute: 0,
        ..Settings::new("127.0.0.1:0", database_url.clone())
    };
    change(&mut settings);
    let app = Application::build(&settings).await.expect("build the app");
    let address = format!("http://{}", app.address());
    let db = app.database().clone();
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        app.run_until(async move {
            let _ = stopped.await;
        })
        .await
        .map_err(|e| e.to_string())
    });
    TestApp {
        address,
        client: reqwest::Client::new(),
        db,
        database_url,
        stop: Some(stop),
        server: Some(server),
    }
}

/// An answer: its status, headers and JSON body (`Null` when the body is not JSON).
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Answer {
    /// Asserts the answer is our error body with this status and code.
    #[track_caller]
    pub fn assert_error(&self, status: u16, code: &str) {
        assert_eq!(self.status.as_u16(), status, "unexpected status; body: {}", self.body);
        assert_eq!(self.body["error"]["code"], code, "unexpected error body: {}", self.body);
        assert!(
            self.body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()),
            "error without a message: {}",
            self.body
        );
        let request_id = self.body["error"]["requestId"].as_str().expect("requestId");
        assert_eq!(
            self.headers.get("x-request-id").and_then(|v| v.to_str().ok()),
            Some(request_id),
            "the body's requestId is the X-Request-Id header"
        );
    }

    #[track_caller]
    pub fn assert_ok(&self) -> &Value {
        assert!(
            self.status.is_success(),
            "expected success, got {}: {}",
            self.status,
            self.body
        );
        &self.body
    }
}

impl TestApp {
    /// The `/metrics` text.
    pub async fn metrics(&self) -> String {
        self.client
            .get(self.url("/metrics"))
            .send()
            .await
            .expect("metrics")
            .text()
            .await
            .expect("metrics text")
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub async fn request(&self, method: Method, path: &str, token: Option<&str>, body: Option<Value>) -> Answer {
        let mut request = self.client.request(method, self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        into_answer(request.send().await.expect("request")).await
    }

    pub async fn get(&self, path: &str, token: &str) -> Answer {
        self.request(Method::GET, path, Some(token), None).await
    }

    pub async fn put(&self, path: &str, token: &str) -> Answer {
        self.request(Method::PUT, path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> Answer {
        self.request(Method::POST, path, Some(token), Some(body)).await
    }

    /// A raw request, for bodies and headers the typed helpers would not send.
    pub async fn raw(&self, request: reqwest::RequestBuilder) -> Answer {
        into_answer(request.send().await.expect("request")).await
    }

    /// A new workspace with an admin and a channel.
    pub async fn workspace(&self, name: &str) -> Workspace {
        let made = domain::workspaces::bootstrap(
            &self.db,
            &domain::workspaces::BootstrapRequest {
                workspace: name.into(),
                admin_email: format!("admin@{}.test", name.to_lowercase()),
                admin_name: format!("{name} Admin"),
                channel: Some(format!("{name} web")),
            },
        )
        .await
        .expect("bootstrap");
        Workspace {
            id: made.workspace_id,
            admin_id: made.admin_operator_id,
            token: made.admin_token,
            channel_id: made.channel_id.expect("channel"),
            channel_token: made.channel_token.expect("channel token"),
        }
    }

    /// Creates an operator through the API and issues them a token.
    pub async fn operator(&self, ws: &Workspace, name: &str, role: &str) -> (i64, String) {
        let email = format!("{}@{}.test", name.to_lowercase().replace(' ', "."), ws.id);
        let created = self
            .post(
                "/v1/operators",
                &ws.token,
                json!({"name": name, "email": email, "role": role}),
            )
            .await;
        let id = created.assert_ok()["id"].as_i64().expect("operator id");
        let token = self
            .post(
                &format!("/v1/operators/{id}/tokens"),
                &ws.token,
                json!({"label": "test"}),
            )
            .await;
        (id, token.assert_ok()["token"].as_str().expect("token").to_owned())
    }

    /// A message from a contact (created on first use) into the contact's chat,
    /// posted by the workspace's channel connector over HTTP. Answers
    /// `(contact_id, chat_id, message_id)`.
    pub async fn incoming(&self, ws: &Workspace, contact: &ContactProfile, text: &str) -> (i64, i64, i64) {
        let body = json!({
            "contact": {
                "externalId": contact.external_id,
                "name": contact.name,
                "username": contact.username,
                "phone": contact.phone,
                "email": contact.email,
            },
            "externalMessageId": uuid::Uuid::new_v4().to_string(),
            "text": text,
        });
        let answer = self.post("/v1/channel/messages", &ws.channel_token, body).await;
        assert_eq!(answer.status, StatusCode::CREATED, "inbound: {}", answer.body);
        let id = |field: &str| answer.body[field].as_i64().expect(field);
        (id("contactId"), id("chatId"), id("messageId"))
    }

    /// Stops the server and leaves its database for another server to open.
    pub async fn stop_keeping_database(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            server.await.expect("server task").expect("server stopped cleanly");
        }
        self.db.close_by_ref().await.ok();
    }

    /// Stops the server and drops a PostgreSQL test database.
    pub async fn stop(self) {
        let url = self.database_url.clone();
        self.stop_keeping_database().await;
        drop_database(&url).await;
    }
}

async fn into_answer(response: reqwest::Response) -> Answer {
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.bytes().await.expect("body");
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Answer { status, headers, body }
}

/// A contact profile with the given name and derived username, phone and e-mail.
/// The ids of a list answer's `collection`, in order.
pub fn ids(body: &Value) -> Vec<i64> {
    body["collection"]
        .as_array()
        .expect("collection")
        .iter()
        .map(|item| item["id"].as_i64().unwrap())
        .collect()
}

pub fn contact(external_id: &str, name: &str) -> ContactProfile {
    let handle = name.to_lowercase().replace(' ', "_");
    ContactProfile {
        external_id: external_id.into(),
        name: name.into(),
        username: Some(handle.clone()),
        phone: Some(format!(
            "+38067{:07}",
            external_id.bytes().map(u64::from).sum::<u64>() * 1000 % 10_000_000
        )),
        email: Some(format!("{handle}@mail.test")),
    }
}
