//! The bearer-token security scheme: resolves the calling operator once per request.

use domain::Caller;
use poem::Request;
use poem_openapi::SecurityScheme;
use poem_openapi::auth::Bearer;

use crate::AppState;

/// An operator token: `Authorization: Bearer sbo_…`. Tokens are issued by an admin
/// (`POST /v1/operators/{operatorId}/tokens`) or by `switchboard bootstrap`.
#[derive(SecurityScheme)]
#[oai(ty = "bearer", bearer_format = "opaque", checker = "resolve_operator")]
pub struct OperatorAuth(pub Caller);

async fn resolve_operator(req: &Request, bearer: Bearer) -> poem::Result<Caller> {
    domain::auth::authenticate_operator(&app_state(req)?.db, &bearer.token)
        .await
        .map_err(into_poem_error)
}

/// The app's state, which `api::app` attaches to every request.
pub fn app_state(req: &Request) -> poem::Result<&AppState> {
    req.data::<AppState>()
        .ok_or_else(|| poem::Error::from_string("no app state", poem::http::StatusCode::INTERNAL_SERVER_ERROR))
}

/// A domain error as a framework error; the request edge gives it our body.
pub fn into_poem_error(err: domain::Error) -> poem::Error {
    let status =
        poem::http::StatusCode::from_u16(err.code.status()).unwrap_or(poem::http::StatusCode::INTERNAL_SERVER_ERROR);
    poem::Error::new(err, status)
}
