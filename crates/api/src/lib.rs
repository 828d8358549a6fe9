//! Switchboard's HTTP API: poem-openapi operations over the domain's use cases, the
//! bearer-token scheme, the one error body, and the spec and Swagger UI routes.

pub mod auth;
pub mod body;
pub mod channels;
pub mod chats;
pub mod error;
pub mod events;
mod examples;
pub mod messages;
pub mod metrics;
mod oai;
pub mod operations;
pub mod operators;
pub mod rate_limit;
pub mod request_id;
pub mod spec;
pub mod strict;
pub mod webhooks;
pub mod wire;

use poem::http::Method;
use poem::{Endpoint, EndpointExt, Route};
use poem_openapi::{OpenApiService, Tags};
use sea_orm::DatabaseConnection;

/// What every operation needs.
#[derive(Clone)]
pub struct AppState {
    pub db: DatabaseConnection,
    pub bus: events::EventBus,
    /// Writes inbound messages with group commit.
    pub ingest: domain::ingest::Ingestor,
    /// Per-token request limit; `None` turns it off.
    pub rate_limiter: Option<std::sync::Arc<rate_limit::RateLimiter>>,
}

/// The PostgreSQL channel replicas `NOTIFY` when they have written events.
pub const EVENTS_CHANNEL: &str = "switchboard_events";

impl AppState {
    /// Tells this process's event streams, and on PostgreSQL every replica's, that
    /// events were written.
    pub async fn announce_events(&self) {
        domain::cache::bump();
        self.bus.wake();
        if self.db.get_database_backend() == sea_orm::DbBackend::Postgres {
            use sea_orm::ConnectionTrait;
            if let Err(err) = self.db.execute_unprepared(&format!("NOTIFY {EVENTS_CHANNEL}")).await {
                tracing::warn!("NOTIFY failed: {err}");
            }
        }
    }
}

#[derive(Tags)]
pub enum ApiTags {
    /// Conversations with contacts: list, read, close, reopen, forward.
    Chats,
    /// Messages of a chat: pages, sends and internal notes.
    Messages,
    /// The people who write in.
    Contacts,
    /// The workspace's operators and their tokens.
    Operators,
    /// Channels and their connector tokens (admin).
    Channels,
    /// What a channel connector calls with its channel token.
    Connector,
    /// Live events: a Server-Sent Events stream and a polling fallback.
    Events,
    /// Signed HTTP callbacks for events (admin).
    Webhooks,
    /// Health of the service.
    Operations,
}

const DESCRIPTION: &str = "Switchboard is an operator helpdesk API. Its chat operations follow \
SmartSender's Chats API (`/v1/chats`, `page`/`limitation` paging, `selector[name]`), and it \
adds reopening, forward history, idempotent sends and internal notes.\n\n\
Authenticate with `Authorization: Bearer <token>`. Every error answers \
`{\"error\": {\"code\", \"message\", \"requestId\"}}` with a stable snake_case `code`.";

type Apis = (
    chats::ChatsApi,
    messages::MessagesApi,
    channels::ChannelsApi,
    operators::OperatorsApi,
    events::EventsApi,
    webhooks::WebhooksApi,
    operations::OperationsApi,
);

pub fn openapi(state: &AppState) -> OpenApiService<Apis, ()> {
    OpenApiService::new(
        (
            chats::ChatsApi { state: state.clone() },
            messages::MessagesApi { state: state.clone() },
            channels::ChannelsApi { state: state.clone() },
            operators::OperatorsApi { state: state.clone() },
            events::EventsApi { state: state.clone() },
            webhooks::WebhooksApi { state: state.clone() },
            operations::OperationsApi { state: state.clone() },
        ),
        "Switchboard",
        env!("CARGO_PKG_VERSION"),
    )
    .description(DESCRIPTION)
    .license(poem_openapi::LicenseObject::new("MIT").url("https://opensource.org/licenses/MIT"))
    .contact(poem_openapi::ContactObject::new().name("Switchboard maintainers"))
    // Relative, so that Swagger UI and generated clients call the server that served the spec.
    .server("/")
}

/// A panic in a handler is a bug: it is logged and answered 500 in our error body,
/// and the server goes on.
fn answer_panic(_: Box<dyn std::any::Any + Send + 'static>) -> poem::Response {
    tracing::error!("a request handler panicked");
    error::error_response(domain::ErrorCode::Internal, "the server failed to answer this request")
}

/// Serves a fixed document.
fn document(body: String, content_type: &'static str) -> impl Endpoint {
    poem::endpoint::make_sync(move |_| poem::Response::builder().content_type(content_type).body(body.clone()))
}

/// The whole HTTP app: API, spec, Swagger UI, wrapped in the request edge.
pub fn app(state: AppState) -> impl Endpoint {
    domain::events::install_presenter(Box::new(wire::WirePresenter));
    let api = openapi(&state);
    let generated = api.spec();
    let documents = spec::Documents::new(&generated);
    // Swagger UI shows the served document, not the generator's.
    let docs_html = api.swagger_ui_html().replacen(&generated, &documents.json, 1);
    let routes = request_id::Routes::from_spec(&generated);
    let json = document(documents.json, "application/json; charset=utf-8");
    let yaml = document(documents.yaml, "application/yaml; charset=utf-8");
    let docs = poem::endpoint::make_sync(move |_| poem::web::Html(docs_html.clone()));
    Route::new()
        .nest("/", api)
        .at("/openapi.json", poem::get(json))
        .at("/openapi.yaml", poem::get(yaml))
        .at("/docs", poem::get(docs))
        .at("/metrics", poem::get(metrics::metrics))
        .data(state.clone())
        .with(rate_limit::RateLimit(state.rate_limiter.clone()))
        .with(poem::middleware::CatchPanic::new().with_handler(answer_panic))
        .with(request_id::Edge(routes))
        .around(move |ep, req| {
            let state = state.clone();
            async move {
                let writes = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
                let response = ep.call(req).await?;
                if writes && response.status().is_success() {
                    state.announce_events().await;
                }
                Ok(response)
            }
        })
}
