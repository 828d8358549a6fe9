//! Endpoints for those who run Switchboard: liveness and readiness.

use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};

use crate::{ApiTags, AppState};

pub struct OperationsApi {
    pub state: AppState,
}

#[derive(Object, Debug)]
#[oai(example)]
pub struct Health {
    /// `ok`, or `unavailable` when the database does not answer.
    pub status: String,
}

#[derive(ApiResponse)]
pub enum ReadyResponse {
    /// The database answers.
    #[oai(status = 200)]
    Ready(Json<Health>),
    /// The database does not answer.
    #[oai(status = 503)]
    NotReady(Json<Health>),
}

#[OpenApi]
impl OperationsApi {
    /// Liveness
    ///
    /// Answers as long as the process serves HTTP; touches nothing else.
    #[oai(
        path = "/health/live",
        method = "get",
        operation_id = "live",
        tag = "ApiTags::Operations"
    )]
    async fn live(&self) -> Json<Health> {
        Json(Health { status: "ok".into() })
    }

    /// Readiness
    ///
    /// Answers 200 when the database answers, 503 otherwise.
    #[oai(
        path = "/health/ready",
        method = "get",
        operation_id = "ready",
        tag = "ApiTags::Operations"
    )]
    async fn ready(&self) -> ReadyResponse {
        if domain::db::ping(&self.state.db).await {
            ReadyResponse::Ready(Json(Health { status: "ok".into() }))
        } else {
            ReadyResponse::NotReady(Json(Health {
                status: "unavailable".into(),
            }))
        }
    }
}
