//! Channels: admin management, and the connector API a channel token opens
//! (inbound messages, the outbox of operator messages, delivery reports).

use crate::oai as poem_openapi;
use ::poem_openapi::auth::Bearer;
use ::poem_openapi::param::{Path, Query};
use ::poem_openapi::payload::Json;
use ::poem_openapi::{ApiResponse, Enum, Object, OpenApi, SecurityScheme};
use chrono::{DateTime, Utc};
use domain::channels::{ChannelCaller, DeliveryStatus};
use domain::contacts::ContactProfile;
use domain::messages::IncomingMessage;
use domain::paging::PageRequest;
use domain::text::MessageText;
use poem::Request;

use crate::auth::OperatorAuth;
use crate::error::ApiError;
use crate::operators::{CreateToken, CreatedToken, IssuedToken};
use crate::strict::Str;
use crate::wire::{Channel, Cursor, Message, StateResponse};
use crate::{ApiTags, AppState};

pub struct ChannelsApi {
    pub state: AppState,
}

type Result<T> = std::result::Result<T, ApiError>;

/// A channel (connector) token: `Authorization: Bearer sbc_…`, issued by an admin
/// with `POST /v1/channels/{channelId}/tokens`. It opens only the `/v1/channel/…`
/// operations, for its own channel.
#[derive(SecurityScheme)]
#[oai(ty = "bearer", bearer_format = "opaque", checker = "resolve_channel")]
pub struct ChannelAuth(ChannelCaller);

async fn resolve_channel(req: &Request, bearer: Bearer) -> poem::Result<ChannelCaller> {
    domain::channels::authenticate_channel(&crate::auth::app_state(req)?.db, &bearer.token)
        .await
        .map_err(crate::auth::into_poem_error)
}

#[derive(Object, Debug)]
#[oai(example)]
pub struct CreateChannel {
    /// What kind of connector: `telegram`, `web`, `tracker`, …
    #[oai(validator(min_length = 1, max_length = 200, pattern = r"^[^\x00]*[^ \t\n\x0C\r\x00][^\x00]*$"))]
    pub kind: Str,
    #[oai(validator(min_length = 1, max_length = 200, pattern = r"^[^\x00]*[^ \t\n\x0C\r\x00][^\x00]*$"))]
    pub name: Str,
}

#[derive(Object, Debug)]
#[oai(example)]
pub struct ChannelList {
    pub cursor: Cursor,
    pub collection: Vec<Channel>,
}

#[derive(ApiResponse)]
pub enum CreatedChannel {
    /// The channel was created.
    #[oai(status = 201)]
    Created(Json<Channel>),
}

/// The contact as the channel knows them; `externalId` is their id in the channel.
#[derive(Object, Debug)]
#[oai(example)]
#[oai(rename_all = "camelCase")]
pub struct InboundContact {
    #[oai(validator(min_length = 1, max_length = 200, pattern = r"^[^\x00]*[^ \t\n\x0C\r\x00][^\x00]*$"))]
    pub external_id: Str,
    #[oai(validator(min_length = 1, max_length = 200, pattern = r"^[^\x00]*[^ \t\n\x0C\r\x00][^\x00]*$"))]
    pub name: Str,
    #[oai(validator(max_length = 200))]
    #[oai(nullable)]
    pub username: Option<Str>,
    #[oai(validator(max_length = 200))]
    #[oai(nullable)]
    pub phone: Option<Str>,
    #[oai(validator(max_length = 200))]
    #[oai(nullable)]
    pub email: Option<Str>,
}

/// A message a contact wrote, as the connector received it.
#[derive(Object, Debug)]
#[oai(example)]
#[oai(rename_all = "camelCase")]
pub struct InboundMessage {
    pub contact: InboundContact,
    /// The message's id in the channel; posting it again answers the first result.
    #[oai(validator(min_length = 1, max_length = 200, pattern = r"^[^\x00]*[^ \t\n\x0C\r\x00][^\x00]*$"))]
    pub external_message_id: Str,
    /// 1 to 20,000 characters.
    #[oai(validator(
        min_length = 1,
        max_length = 20000,
        pattern = r"^[^\x00]*[^ \t\n\x0C\r\x00][^\x00]*$"
    ))]
    pub text: Str,
    /// When the contact sent it (default: now; a future time counts as now).
    #[oai(nullable)]
    pub sent_at: Option<DateTime<Utc>>,
}

/// Where an inbound message landed.
#[derive(Object, Debug)]
#[oai(example)]
#[oai(rename_all = "camelCase")]
pub struct InboundResult {
    pub message_id: i64,
    pub chat_id: i64,
    pub contact_id: i64,
}

#[derive(ApiResponse)]
pub enum InboundResponse {
    /// The message was written.
    #[oai(status = 201)]
    Created(Json<InboundResult>),
    /// This `externalMessageId` was posted before; nothing was written.
    #[oai(status = 200)]
    Duplicate(Json<InboundResult>),
}

/// An operator message for the connector to deliver.
#[derive(Object, Debug)]
#[oai(example)]
#[oai(rename_all = "camelCase")]
pub struct OutboxMessage {
    #[oai(flatten)]
    pub message: Message,
    /// The recipient's id in the channel.
    pub contact_external_id: String,
}

#[derive(Object, Debug)]
#[oai(example)]
#[oai(rename_all = "camelCase")]
pub struct Outbox {
    /// Pending messages, oldest first.
    pub collection: Vec<OutboxMessage>,
    /// Pass as `after` for the next pull.
    #[oai(nullable)]
    pub next_after: Option<i64>,
}

#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[oai(rename_all = "lowercase")]
pub enum ReportedStatus {
    Delivered,
    Read,
    Failed,
}

/// A delivery report.
#[derive(Object, Debug)]
#[oai(example)]
pub struct StatusReport {
    pub status: ReportedStatus,
    /// When it happened (default: now).
    #[oai(nullable)]
    pub at: Option<DateTime<Utc>>,
}

#[OpenApi(prefix_path = "/v1")]
impl ChannelsApi {
    /// Create a channel (admin)
    ///
    /// A channel is one connector's way in: a Telegram bot, a web widget, a tracker.
    /// Issue it a token next.
    #[oai(
        path = "/channels",
        method = "post",
        operation_id = "createChannel",
        tag = "ApiTags::Channels"
    )]
    async fn create_channel(&self, auth: OperatorAuth, body: Json<CreateChannel>) -> Result<CreatedChannel> {
        let created = domain::channels::create(&self.state.db, &auth.0, &body.0.kind, &body.0.name).await?;
        Ok(CreatedChannel::Created(Json((&created).into())))
    }

    /// List channels
    ///
    /// The workspace's channels, oldest first: where contacts write in from.
    #[oai(
        path = "/channels",
        method = "get",
        operation_id = "listChannels",
        tag = "ApiTags::Channels"
    )]
    async fn list_channels(
        &self,
        auth: OperatorAuth,
        /// Page number, from 1.
        #[oai(validator(minimum(value = "1"), maximum(value = "1000000000")))]
        page: Query<Option<i64>>,
        /// Channels per page, 1 to 20 (default 20).
        #[oai(validator(minimum(value = "1"), maximum(value = "20")))]
        limitation: Query<Option<i64>>,
    ) -> Result<Json<ChannelList>> {
        let page = PageRequest::parse(page.0, limitation.0)?;
        let (cursor, rows) = domain::channels::list(&self.state.db, &auth.0, page).await?;
        Ok(Json(ChannelList {
            cursor: cursor.into(),
            collection: rows.iter().map(Channel::from).collect(),
        }))
    }

    /// Issue a channel token (admin)
    ///
    /// The connector's credential. Shown only in this answer; revoke it with
    /// `DELETE /v1/tokens/{tokenId}`.
    #[oai(
        path = "/channels/:channelId/tokens",
        method = "post",
        operation_id = "createChannelToken",
        tag = "ApiTags::Channels"
    )]
    async fn create_channel_token(
        &self,
        auth: OperatorAuth,
        #[oai(name = "channelId")] channel_id: Path<i64>,
        body: Json<CreateToken>,
    ) -> Result<CreatedToken> {
        let issued = domain::channels::issue_token(&self.state.db, &auth.0, channel_id.0, &body.0.label).await?;
        Ok(CreatedToken::Created(Json(IssuedToken {
            id: issued.id,
            token: issued.token,
        })))
    }

    /// Post an inbound message (connector)
    ///
    /// A contact wrote in. The contact is found by `externalId` (and its name,
    /// username, phone, e-mail refreshed) or created; their chat is found or
    /// created, reopened if closed, and its unread count moves. Posting the same
    /// `externalMessageId` again answers the first result with 200.
    #[oai(
        path = "/channel/messages",
        method = "post",
        operation_id = "postInboundMessage",
        tag = "ApiTags::Connector"
    )]
    async fn post_inbound(&self, auth: ChannelAuth, body: Json<InboundMessage>) -> Result<InboundResponse> {
        let body = body.0;
        let inbound = domain::channels::parse_inbound(
            ContactProfile {
                external_id: body.contact.external_id.into(),
                name: body.contact.name.into(),
                username: body.contact.username.map(String::from),
                phone: body.contact.phone.map(String::from),
                email: body.contact.email.map(String::from),
            },
            IncomingMessage {
                external_message_id: body.external_message_id.into(),
                text: MessageText::parse(&body.text)?,
                sent_at: body.sent_at,
            },
        )?;
        let received = self.state.ingest.submit(&auth.0, &inbound).await?;
        let result = Json(InboundResult {
            message_id: received.message_id,
            chat_id: received.chat_id,
            contact_id: received.contact_id,
        });
        Ok(if received.duplicate {
            InboundResponse::Duplicate(result)
        } else {
            InboundResponse::Created(result)
        })
    }

    /// Pull the outbox (connector)
    ///
    /// Operator messages waiting for this channel to deliver, oldest first, after
    /// the message id `after`. Deliver each, then report it with
    /// `PUT /v1/channel/messages/{messageId}/status`; pass `nextAfter` next time.
    #[oai(
        path = "/channel/outbox",
        method = "get",
        operation_id = "pullOutbox",
        tag = "ApiTags::Connector"
    )]
    async fn outbox(
        &self,
        auth: ChannelAuth,
        /// Only messages with a larger id.
        after: Query<Option<i64>>,
        /// How many, 1 to 100 (default 50).
        #[oai(validator(minimum(value = "1"), maximum(value = "100")))]
        limit: Query<Option<i64>>,
    ) -> Result<Json<Outbox>> {
        let (rows, next_after) = domain::channels::outbox(&self.state.db, &auth.0, after.0, limit.0).await?;
        let collection = rows
            .into_iter()
            .map(|domain::channels::OutboxItem { message, contact }| OutboxMessage {
                message: Message::new(domain::messages::MessageView {
                    sender_id: message.sender_operator_id,
                    sender_name: None,
                    message,
                }),
                contact_external_id: contact.external_id,
            })
            .collect();
        Ok(Json(Outbox { collection, next_after }))
    }

    /// Report delivery (connector)
    ///
    /// `delivered`, `read` or `failed`, with when. Statuses only move forward
    /// (pending → failed → delivered → read): a late `delivered` after `read`
    /// changes nothing.
    #[oai(
        path = "/channel/messages/:messageId/status",
        method = "put",
        operation_id = "reportDelivery",
        tag = "ApiTags::Connector"
    )]
    async fn report_status(
        &self,
        auth: ChannelAuth,
        #[oai(name = "messageId")] message_id: Path<i64>,
        body: Json<StatusReport>,
    ) -> Result<Json<StateResponse>> {
        let status = match body.0.status {
            ReportedStatus::Delivered => DeliveryStatus::Delivered,
            ReportedStatus::Read => DeliveryStatus::Read,
            ReportedStatus::Failed => DeliveryStatus::Failed,
        };
        domain::channels::report_status(&self.state.db, &auth.0, message_id.0, status, body.0.at).await?;
        Ok(Json(StateResponse::done()))
    }
}
