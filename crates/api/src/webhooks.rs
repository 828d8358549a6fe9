//! Webhook subscriptions (admin): each event of the chosen types is POSTed to the URL
//! with an `X-Switchboard-Signature: sha256=<hex>` HMAC of the body, retried with
//! back-off until it is answered 2xx.

use crate::oai as poem_openapi;
use ::poem_openapi::param::{Path, Query};
use ::poem_openapi::payload::Json;
use ::poem_openapi::{ApiResponse, Enum, Object, OpenApi};
use chrono::{DateTime, Utc};
use domain::paging::PageRequest;
use domain::webhooks::NewWebhook;

use crate::auth::OperatorAuth;
use crate::error::ApiError;
use crate::events::EventType;
use crate::strict::Str;
use crate::wire::{Cursor, StateResponse};
use crate::{ApiTags, AppState};

pub struct WebhooksApi {
    pub state: AppState,
}

type Result<T> = std::result::Result<T, ApiError>;

#[derive(Object, Debug)]
#[oai(example)]
pub struct CreateWebhook {
    /// An absolute http:// or https:// URL.
    #[oai(validator(max_length = 2000, pattern = r"^https?://[^\x00-\x20/][^\x00-\x20]*$"))]
    pub url: Str,
    /// Event types to send (empty: all types).
    #[oai(default, nullable)]
    pub types: Vec<EventType>,
    /// 16 to 200 characters; the key of the body's HMAC-SHA256 signature.
    #[oai(validator(min_length = 16, max_length = 200))]
    pub secret: Str,
}

/// A webhook subscription (its secret is never shown again).
#[derive(Object, Debug)]
#[oai(example)]
#[oai(rename_all = "camelCase")]
pub struct Webhook {
    pub id: i64,
    pub url: String,
    /// Event types sent (empty: all types).
    pub types: Vec<EventType>,
    pub active: bool,
    pub created_at: DateTime<Utc>,
}

impl From<entity::webhook::Model> for Webhook {
    fn from(w: entity::webhook::Model) -> Self {
        Webhook {
            id: w.id,
            types: serde_json::from_str::<Vec<String>>(&w.types)
                .unwrap_or_default()
                .iter()
                .filter_map(|name| EventType::parse(name))
                .collect(),
            url: w.url,
            active: w.active,
            created_at: w.created_at,
        }
    }
}

#[derive(Object, Debug)]
#[oai(example)]
pub struct WebhookList {
    pub collection: Vec<Webhook>,
}

/// Where a delivery stands.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[oai(rename_all = "lowercase")]
pub enum DeliveryStatus {
    /// Not answered 2xx yet; tried again at `nextAttemptAt`.
    Pending,
    /// Answered 2xx.
    Delivered,
    /// Given up after 10 attempts.
    Failed,
}

impl DeliveryStatus {
    fn parse(s: &str) -> DeliveryStatus {
        match s {
            "delivered" => DeliveryStatus::Delivered,
            "failed" => DeliveryStatus::Failed,
            _ => DeliveryStatus::Pending,
        }
    }
}

/// One event's delivery to a webhook.
#[derive(Object, Debug)]
#[oai(example)]
#[oai(rename_all = "camelCase")]
pub struct Delivery {
    pub id: i64,
    pub event_id: i64,
    pub event_type: EventType,
    pub status: DeliveryStatus,
    pub attempts: i32,
    pub next_attempt_at: DateTime<Utc>,
    #[oai(nullable)]
    pub last_status_code: Option<i32>,
    #[oai(nullable)]
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    #[oai(nullable)]
    pub delivered_at: Option<DateTime<Utc>>,
}

#[derive(Object, Debug)]
#[oai(example)]
pub struct DeliveryList {
    pub cursor: Cursor,
    pub collection: Vec<Delivery>,
}

#[derive(ApiResponse)]
pub enum CreatedWebhook {
    /// The webhook was created.
    #[oai(status = 201)]
    Created(Json<Webhook>),
}

#[OpenApi(prefix_path = "/v1")]
impl WebhooksApi {
    /// Create a webhook (admin)
    ///
    /// Subscribes a URL to events of the listed types (all types when empty). Each
    /// event is POSTed with `X-Switchboard-Signature: sha256=<hex HMAC-SHA256 of the
    /// body under the secret>` and retried with back-off until answered 2xx.
    #[oai(
        path = "/webhooks",
        method = "post",
        operation_id = "createWebhook",
        tag = "ApiTags::Webhooks"
    )]
    async fn create(&self, auth: OperatorAuth, body: Json<CreateWebhook>) -> Result<CreatedWebhook> {
        let new = NewWebhook {
            url: body.0.url.into(),
            types: body.0.types.iter().map(|t| t.as_str().to_owned()).collect(),
            secret: body.0.secret.into(),
        };
        let created = domain::webhooks::create(&self.state.db, &auth.0, &new).await?;
        Ok(CreatedWebhook::Created(Json(created.into())))
    }

    /// List webhooks (admin)
    ///
    /// Every subscription of the workspace; secrets are never shown again.
    #[oai(
        path = "/webhooks",
        method = "get",
        operation_id = "listWebhooks",
        tag = "ApiTags::Webhooks"
    )]
    async fn list(&self, auth: OperatorAuth) -> Result<Json<WebhookList>> {
        let rows = domain::webhooks::list(&self.state.db, &auth.0).await?;
        Ok(Json(WebhookList {
            collection: rows.into_iter().map(Into::into).collect(),
        }))
    }

    /// Delete a webhook (admin)
    ///
    /// Stops deliveries to the URL and forgets their history.
    #[oai(
        path = "/webhooks/:webhookId",
        method = "delete",
        operation_id = "deleteWebhook",
        tag = "ApiTags::Webhooks"
    )]
    async fn delete(
        &self,
        auth: OperatorAuth,
        #[oai(name = "webhookId")] webhook_id: Path<i64>,
    ) -> Result<Json<StateResponse>> {
        domain::webhooks::delete(&self.state.db, &auth.0, webhook_id.0).await?;
        Ok(Json(StateResponse::done()))
    }

    /// Deliveries of a webhook (admin)
    ///
    /// Every attempt's outcome, newest first: status, attempts, last HTTP status and error.
    #[oai(
        path = "/webhooks/:webhookId/deliveries",
        method = "get",
        operation_id = "listWebhookDeliveries",
        tag = "ApiTags::Webhooks"
    )]
    async fn deliveries(
        &self,
        auth: OperatorAuth,
        #[oai(name = "webhookId")] webhook_id: Path<i64>,
        /// Page number, from 1.
        #[oai(validator(minimum(value = "1"), maximum(value = "1000000000")))]
        page: Query<Option<i64>>,
        /// Deliveries per page, 1 to 20 (default 20).
        #[oai(validator(minimum(value = "1"), maximum(value = "20")))]
        limitation: Query<Option<i64>>,
    ) -> Result<Json<DeliveryList>> {
        let page = PageRequest::parse(page.0, limitation.0)?;
        let (cursor, rows) = domain::webhooks::deliveries(&self.state.db, &auth.0, webhook_id.0, page).await?;
        let collection = rows
            .into_iter()
            .filter_map(|(d, event_type)| {
                Some(Delivery {
                    id: d.id,
                    event_id: d.event_id,
                    event_type: EventType::parse(&event_type)?,
                    status: DeliveryStatus::parse(&d.status),
                    attempts: d.attempts,
                    next_attempt_at: d.next_attempt_at,
                    last_status_code: d.last_status_code,
                    last_error: d.last_error,
                    created_at: d.created_at,
                    delivered_at: d.delivered_at,
                })
            })
            .collect();
        Ok(Json(DeliveryList {
            cursor: cursor.into(),
            collection,
        }))
    }
}
