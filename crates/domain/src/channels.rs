//! Channels and their connectors. Admins create channels and issue channel tokens; a
//! connector holding one posts inbound messages (deduplicated by its own message id),
//! pulls the outbox of pending operator messages, and reports their delivery.

use chrono::{DateTime, Utc};
use entity::{api_token, channel, contact, message};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, SqlErr,
};

use crate::auth::{Caller, hash_token};
use crate::contacts::{ContactProfile, upsert};
use crate::db::begin_write;
use crate::error::{Error, ErrorCode, Result};
use crate::limits::{DEFAULT_OUTBOX_LIMIT, MAX_NAME_CHARS, MAX_OUTBOX_LIMIT};
use crate::messages::{IncomingMessage, receive};
use crate::operators::{IssuedToken, insert_token};
use crate::paging::{Cursor, PageRequest, page_of};
use crate::text::parse_name;

/// An authenticated connector: it acts for one channel of one workspace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChannelCaller {
    pub workspace_id: i64,
    pub channel_id: i64,
    pub token_id: i64,
}

/// Resolves a channel token; operator tokens and revoked tokens are "unauthorized".
pub async fn authenticate_channel(db: &DatabaseConnection, token: &str) -> Result<ChannelCaller> {
    let found = api_token::Entity::find()
        .filter(api_token::Column::TokenHash.eq(hash_token(token)))
        .filter(api_token::Column::RevokedAt.is_null())
        .one(db)
        .await?;
    match found {
        Some(row) if row.operator_id.is_none() => match row.channel_id {
            Some(channel_id) => Ok(ChannelCaller {
                workspace_id: row.workspace_id,
                channel_id,
                token_id: row.id,
            }),
            None => Err(unauthorized()),
        },
        _ => Err(unauthorized()),
    }
}

fn unauthorized() -> Error {
    Error::new(ErrorCode::Unauthorized, "a valid channel bearer token is required")
}

pub async fn find_channel<C: ConnectionTrait>(db: &C, workspace_id: i64, channel_id: i64) -> Result<channel::Model> {
    channel::Entity::find_by_id(channel_id)
        .filter(channel::Column::WorkspaceId.eq(workspace_id))
        .one(db)
        .await?
        .ok_or_else(|| {
            Error::new(
                ErrorCode::ChannelNotFound,
                format!("channel {channel_id} was not found"),
            )
        })
}

#[tracing::instrument(skip(db), fields(workspace = caller.workspace_id))]
pub async fn create(db: &DatabaseConnection, caller: &Caller, kind: &str, name: &str) -> Result<channel::Model> {
    caller.require_admin("create channels")?;
    crate::workspaces::create_channel(db, caller.workspace_id, kind, name).await
}

#[tracing::instrument(skip(db), fields(workspace = caller.workspace_id))]
pub async fn list(
    db: &DatabaseConnection,
    caller: &Caller,
    page: PageRequest,
) -> Result<(Cursor, Vec<channel::Model>)> {
    let query = channel::Entity::find().filter(channel::Column::WorkspaceId.eq(caller.workspace_id));
    page_of(db, query, channel::Column::Id, page).await
}

#[tracing::instrument(skip(db), fields(workspace = caller.workspace_id))]
pub async fn issue_token(
    db: &DatabaseConnection,
    caller: &Caller,
    channel_id: i64,
    label: &str,
) -> Result<IssuedToken> {
    caller.require_admin("issue channel tokens")?;
    let channel = find_channel(db, caller.workspace_id, channel_id).await?;
    let label = parse_name("label", label)?;
    insert_token(db, caller.workspace_id, None, Some(channel.id), &label).await
}

/// A message as a connector posts it.
#[derive(Clone, Debug)]
pub struct InboundMessage {
    pub contact: ContactProfile,
    pub message: IncomingMessage,
}

/// Where an inbound message landed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Received {
    pub message_id: i64,
    pub chat_id: i64,
    pub contact_id: i64,
    /// `true` when this `externalMessageId` was posted before: nothing was written.
    pub duplicate: bool,
}

fn optional_field(field: &str, value: &Option<String>) -> Result<Option<String>> {
    match value.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) if v.chars().count() > MAX_NAME_CHARS => Err(Error::new(
            ErrorCode::InvalidField,
            format!("{field} must have at most {MAX_NAME_CHARS} characters"),
        )),
        Some(v) => Ok(Some(v.to_owned())),
    }
}

/// Checks a connector's contact and message ids and fields.
pub fn parse_inbound(contact: ContactProfile, message: IncomingMessage) -> Result<InboundMessage> {
    let contact = ContactProfile {
        external_id: parse_name("contact.externalId", &contact.external_id)?,
        name: parse_name("contact.name", &contact.name)?,
        username: optional_field("contact.username", &contact.username)?,
        phone: optional_field("contact.phone", &contact.phone)?,
        email: optional_field("contact.email", &contact.email)?,
    };
    let external_message_id = parse_name("externalMessageId", &message.external_message_id)?;
    Ok(InboundMessage {
        contact,
        message: IncomingMessage {
            external_message_id,
            ..message
        },
    })
}

/// Writes an inbound message, or answers where the first post of the same
/// `externalMessageId` landed. Two connectors racing on one id or one new contact
/// meet at a unique index; the loser reads the winner's rows.
#[tracing::instrument(skip(db, inbound), fields(workspace = caller.workspace_id, channel = caller.channel_id))]
pub async fn receive_inbound(
    db: &DatabaseConnection,
    caller: &ChannelCaller,
    inbound: &InboundMessage,
) -> Result<Received> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let txn = begin_write(db, &[caller.workspace_id]).await?;
        match receive_in(&txn, caller, inbound).await {
            Ok(received) => {
                txn.commit().await?;
                return Ok(received);
            }
            Err(err) if attempt < 3 && is_write_conflict(&err) => {
                txn.rollback().await?;
                continue;
            }
            Err(err) => return Err(err),
        }
    }
}

/// The inbound write itself, inside the caller's transaction (or savepoint).
pub async fn receive_in<C: ConnectionTrait>(
    db: &C,
    caller: &ChannelCaller,
    inbound: &InboundMessage,
) -> Result<Received> {
    let channel = find_channel(db, caller.workspace_id, caller.channel_id).await?;
    if let Some(first) = find_inbound(db, channel.id, &inbound.message.external_message_id).await? {
        return Ok(first);
    }
    let contact = upsert(db, &channel, &inbound.contact, Utc::now()).await?;
    let (chat, message) = receive(db, &contact, &inbound.message).await?;
    Ok(Received {
        message_id: message.id,
        chat_id: chat.id,
        contact_id: contact.id,
        duplicate: false,
    })
}

/// Whether the write lost a race with another writer and would succeed if done
/// again: a unique violation (another replica inserted the same contact or message
/// first), or on PostgreSQL a deadlock or serialization failure (two replicas'
/// shared commits taking the same rows in different orders).
pub(crate) fn is_write_conflict(err: &Error) -> bool {
    let Some(source) = &err.source else { return false };
    let Some(db) = source.downcast_ref::<sea_orm::DbErr>() else {
        return false;
    };
    if matches!(db.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) {
        return true;
    }
    let (sea_orm::DbErr::Exec(sea_orm::RuntimeErr::SqlxError(e))
    | sea_orm::DbErr::Query(sea_orm::RuntimeErr::SqlxError(e))) = db
    else {
        return false;
    };
    match e.as_ref() {
        sea_orm::sqlx::Error::Database(e) => matches!(e.code().as_deref(), Some("40P01" | "40001")),
        _ => false,
    }
}

async fn find_inbound<C: ConnectionTrait>(db: &C, channel_id: i64, external_id: &str) -> Result<Option<Received>> {
    let Some(found) = message::Entity::find()
        .filter(message::Column::ChannelId.eq(channel_id))
        .filter(message::Column::ExternalId.eq(external_id))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let chat = entity::chat::Entity::find_by_id(found.chat_id)
        .one(db)
        .await?
        .ok_or_else(|| Error::internal("an inbound message lost its chat"))?;
    Ok(Some(Received {
        message_id: found.id,
        chat_id: chat.id,
        contact_id: chat.contact_id,
        duplicate: true,
    }))
}

/// A pending message with the contact it is for.
#[derive(Clone, Debug)]
pub struct OutboxItem {
    pub message: message::Model,
    pub contact: contact::Model,
}

/// Pending operator messages of the connector's channel after `after`, oldest
/// first, each with its contact; and the id to pass as `after` next time.
#[tracing::instrument(skip(db), fields(workspace = caller.workspace_id, channel = caller.channel_id))]
pub async fn outbox(
    db: &DatabaseConnection,
    caller: &ChannelCaller,
    after: Option<i64>,
    limit: Option<i64>,
) -> Result<(Vec<OutboxItem>, Option<i64>)> {
    let limit = limit.unwrap_or(DEFAULT_OUTBOX_LIMIT as i64);
    if !(1..=MAX_OUTBOX_LIMIT as i64).contains(&limit) {
        return Err(Error::new(
            ErrorCode::InvalidLimit,
            format!("limit must be from 1 to {MAX_OUTBOX_LIMIT}"),
        ));
    }
    let rows = message::Entity::find()
        .filter(message::Column::ChannelId.eq(caller.channel_id))
        .filter(message::Column::Status.eq("pending"))
        .filter(message::Column::Direction.eq("outgoing"))
        .filter(message::Column::Internal.eq(false))
        .filter(message::Column::Id.gt(after.unwrap_or(0)))
        .order_by_asc(message::Column::Id)
        .limit(limit as u64)
        .all(db)
        .await?;
    let chats = entity::chat::Entity::find()
        .filter(entity::chat::Column::Id.is_in(rows.iter().map(|m| m.chat_id).collect::<Vec<_>>()))
        .all(db)
        .await?;
    let contacts = contact::Entity::find()
        .filter(contact::Column::Id.is_in(chats.iter().map(|c| c.contact_id).collect::<Vec<_>>()))
        .all(db)
        .await?;
    let next_after = rows.last().map(|m| m.id).or(after);
    let out = rows
        .into_iter()
        .filter_map(|m| {
            let chat = chats.iter().find(|c| c.id == m.chat_id)?;
            let contact = contacts.iter().find(|c| c.id == chat.contact_id)?.clone();
            Some(OutboxItem { message: m, contact })
        })
        .collect();
    Ok((out, next_after))
}

/// What a connector reports about an outgoing message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeliveryStatus {
    Delivered,
    Read,
    Failed,
}

/// Order of statuses: a report only ever moves a message forward in it. `failed`
/// sits before `delivered` so that a retry that got through can still be reported.
fn rank(status: &str) -> u8 {
    match status {
        "pending" => 0,
        "failed" => 1,
        "delivered" => 2,
        _ => 3,
    }
}

/// Records a delivery report; a report that would move the message backwards (a
/// late `delivered` after `read`) changes nothing.
#[tracing::instrument(skip(db), fields(workspace = caller.workspace_id, channel = caller.channel_id))]
pub async fn report_status(
    db: &DatabaseConnection,
    caller: &ChannelCaller,
    message_id: i64,
    status: DeliveryStatus,
    at: Option<DateTime<Utc>>,
) -> Result<message::Model> {
    let txn = begin_write(db, &[caller.workspace_id]).await?;
    let found = message::Entity::find_by_id(message_id)
        .filter(message::Column::ChannelId.eq(caller.channel_id))
        .filter(message::Column::WorkspaceId.eq(caller.workspace_id))
        .filter(message::Column::Direction.eq("outgoing"))
        .filter(message::Column::Internal.eq(false))
        .one(&txn)
        .await?
        .ok_or_else(|| Error::message_not_found(message_id))?;
    let now = Utc::now();
    let at = at.map_or(now, |at| at.min(now));
    let (new_status, forward) = match status {
        DeliveryStatus::Delivered => ("delivered", rank(&found.status) < rank("delivered")),
        DeliveryStatus::Read => ("read", rank(&found.status) < rank("read")),
        DeliveryStatus::Failed => ("failed", found.status == "pending"),
    };
    if !forward {
        txn.rollback().await?;
        return Ok(found);
    }
    let delivered_at = found.delivered_at;
    let mut active: message::ActiveModel = found.into();
    active.status = Set(new_status.to_owned());
    match status {
        DeliveryStatus::Delivered => active.delivered_at = Set(Some(at)),
        DeliveryStatus::Read => {
            active.seen_at = Set(Some(at));
            active.delivered_at = Set(Some(delivered_at.unwrap_or(at)));
        }
        DeliveryStatus::Failed => {}
    }
    let updated = active.update(&txn).await?;
    let chat = entity::chat::Entity::find_by_id(updated.chat_id)
        .one(&txn)
        .await?
        .ok_or_else(|| Error::internal("a message lost its chat"))?;
    crate::events::record_message(
        &txn,
        crate::events::EventKind::MessageStatusChanged,
        &chat,
        updated.clone(),
    )
    .await?;
    txn.commit().await?;
    Ok(updated)
}
