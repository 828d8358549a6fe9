//! Switchboard's HTTP API: poem-openapi operations over the domain's use cases, the
//! bearer-token scheme, the one error body, and the spec and Swagger UI routes.

pub mod auth;
pub mod channels;
pub mod chats;
pub mod error;
pub mod messages;
pub mod operations;
pub mod operators;
pub mod request_id;
pub mod wire;

use poem::{Endpoint, EndpointExt, Route};
use poem_openapi::{OpenApiService, Tags};
use sea_orm::DatabaseConnection;

/// What every operation needs.
#[derive(Clone)]
pub struct AppState {
    pub db: DatabaseConnection,
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
    operations::OperationsApi,
);

pub fn openapi(state: &AppState) -> OpenApiService<Apis, ()> {
    OpenApiService::new(
        (
            chats::ChatsApi { state: state.clone() },
            messages::MessagesApi { state: state.clone() },
            channels::ChannelsApi { state: state.clone() },
            operators::OperatorsApi { state: state.clone() },
            operations::OperationsApi { state: state.clone() },
        ),
        "Switchboard",
        env!("CARGO_PKG_VERSION"),
    )
    .description(DESCRIPTION)
}

/// The whole HTTP app: API, spec, Swagger UI, wrapped in the request edge.
pub fn app(state: AppState) -> impl Endpoint {
    let api = openapi(&state);
    let json = api.spec_endpoint();
    let yaml = api.spec_endpoint_yaml();
    let docs = api.swagger_ui();
    Route::new()
        .nest("/", api)
        .at("/openapi.json", json)
        .at("/openapi.yaml", yaml)
        .nest("/docs", docs)
        .data(state)
        .with(request_id::Edge)
}
