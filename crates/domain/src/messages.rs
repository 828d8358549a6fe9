//! Messages of a chat: the newest-first pages, operator sends and internal notes
//! (idempotent with a key), and the inbound messages a channel brings in. A message
//! and the chat's denormalised columns (unread count, last message, last activity)
//! always change in one transaction.

use chrono::{DateTime, Utc};
use entity::{chat, contact, message, operator};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction,
    EntityTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait, SqlErr,
};
use sha2::{Digest, Sha256};

use crate::auth::Caller;
use crate::chats::{find_chat, operators_by_id};
use crate::db::begin_write;
use crate::error::{Error, ErrorCode, Result};
use crate::limits::MAX_IDEMPOTENCY_KEY_CHARS;
use crate::paging::{Cursor, PageRequest, count_capped};
use crate::text::MessageText;

/// A message with the name of whoever sent it.
#[derive(Clone, Debug)]
pub struct MessageView {
    pub message: message::Model,
    /// The contact's id for incoming messages, the operator's for outgoing ones.
    pub sender_id: Option<i64>,
    pub sender_name: Option<String>,
}

/// What an operator sends into a chat.
#[derive(Clone, Debug)]
pub struct OutgoingMessage {
    pub text: MessageText,
    /// A private note for operators; never sent to the contact.
    pub internal: bool,
    pub idempotency_key: Option<String>,
}

/// Whether a send created its message or found the one a previous try created.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sent {
    Created,
    Replayed,
}

pub fn parse_idempotency_key(key: Option<&str>) -> Result<Option<String>> {
    match key {
        None => Ok(None),
        Some(key) if key.is_empty() || key.chars().count() > MAX_IDEMPOTENCY_KEY_CHARS => Err(Error::new(
            ErrorCode::InvalidIdempotencyKey,
            format!("Idempotency-Key must have 1 to {MAX_IDEMPOTENCY_KEY_CHARS} characters"),
        )),
        Some(key) => Ok(Some(key.to_owned())),
    }
}

#[tracing::instrument(skip(db), fields(workspace = caller.workspace_id))]
pub async fn list(
    db: &DatabaseConnection,
    caller: &Caller,
    chat_id: i64,
    page: PageRequest,
) -> Result<(Cursor, Vec<MessageView>)> {
    let chat = find_chat(db, caller, chat_id).await?;
    let query = message::Entity::find().filter(message::Column::ChatId.eq(chat.id));
    let total = count_capped(db, query.clone().into_query()).await?;
    let rows = query
        .order_by_desc(message::Column::Id)
        .limit(page.limitation)
        .offset(page.offset())
        .all(db)
        .await?;
    Ok((Cursor::new(page, total), views(db, &chat, rows).await?))
}

/// Names the senders of `rows`, all of which belong to `chat`.
pub async fn views<C: ConnectionTrait>(
    db: &C,
    chat: &chat::Model,
    rows: Vec<message::Model>,
) -> Result<Vec<MessageView>> {
    let operators = operators_by_id(db, rows.iter().filter_map(|m| m.sender_operator_id)).await?;
    let contact_name = if rows.iter().any(|m| m.sender_type == "contact") {
        contact::Entity::find_by_id(chat.contact_id)
            .one(db)
            .await?
            .map(|c| c.name)
    } else {
        None
    };
    Ok(rows
        .into_iter()
        .map(|message| {
            let (sender_id, sender_name) = match message.sender_type.as_str() {
                "contact" => (Some(chat.contact_id), contact_name.clone()),
                _ => (
                    message.sender_operator_id,
                    message
                        .sender_operator_id
                        .and_then(|id| operators.get(&id).map(|o| o.name.clone())),
                ),
            };
            MessageView {
                message,
                sender_id,
                sender_name,
            }
        })
        .collect())
}

fn request_hash(caller: &Caller, chat_id: i64, message: &OutgoingMessage) -> String {
    let mut hasher = Sha256::new();
    hasher.update(format!("{}\n{}\n{}\n", caller.operator_id, chat_id, message.internal));
    hasher.update(message.text.as_str().as_bytes());
    hex::encode(hasher.finalize())
}

/// An operator's message (or internal note) into a chat.
#[tracing::instrument(skip(db, message), fields(workspace = caller.workspace_id))]
pub async fn send(
    db: &DatabaseConnection,
    caller: &Caller,
    chat_id: i64,
    message: &OutgoingMessage,
) -> Result<(MessageView, Sent)> {
    let txn = begin_write(db).await?;
    let chat = find_chat(&txn, caller, chat_id).await?;
    send_in(db, txn, caller, chat, message).await
}

/// An operator's message to a contact, into the contact's chat (opened if it has none).
#[tracing::instrument(skip(db, message), fields(workspace = caller.workspace_id))]
pub async fn send_to_contact(
    db: &DatabaseConnection,
    caller: &Caller,
    contact_id: i64,
    message: &OutgoingMessage,
) -> Result<(MessageView, Sent)> {
    let txn = begin_write(db).await?;
    let contact = crate::contacts::find_contact(&txn, caller.workspace_id, contact_id).await?;
    let chat = chat_of_contact(&txn, &contact, Utc::now()).await?;
    send_in(db, txn, caller, chat, message).await
}

async fn send_in(
    db: &DatabaseConnection,
    txn: DatabaseTransaction,
    caller: &Caller,
    chat: chat::Model,
    message: &OutgoingMessage,
) -> Result<(MessageView, Sent)> {
    let hash = request_hash(caller, chat.id, message);
    if let Some(key) = &message.idempotency_key
        && let Some(existing) = find_by_key(&txn, caller.workspace_id, key).await?
    {
        txn.rollback().await?;
        return replay(db, existing, &hash).await;
    }
    let now = Utc::now();
    let contact = contact::Entity::find_by_id(chat.contact_id)
        .one(&txn)
        .await?
        .ok_or_else(|| Error::internal(format!("chat {} has no contact", chat.id)))?;
    let inserted = message::ActiveModel {
        workspace_id: Set(caller.workspace_id),
        chat_id: Set(chat.id),
        channel_id: Set(contact.channel_id),
        direction: Set("outgoing".into()),
        internal: Set(message.internal),
        content_type: Set("text".into()),
        text: Set(message.text.as_str().to_owned()),
        media_url: Set(None),
        sender_type: Set("operator".into()),
        sender_operator_id: Set(Some(caller.operator_id)),
        // A note is never sent anywhere, so it is delivered as soon as it is written.
        status: Set(if message.internal { "delivered" } else { "pending" }.into()),
        idempotency_key: Set(message.idempotency_key.clone()),
        request_hash: Set(message.idempotency_key.as_ref().map(|_| hash.clone())),
        external_id: Set(None),
        created_at: Set(now),
        delivered_at: Set(message.internal.then_some(now)),
        seen_at: Set(None),
        edited_at: Set(None),
        deleted_at: Set(None),
        ..Default::default()
    }
    .insert(&txn)
    .await;
    let inserted = match inserted {
        Ok(row) => row,
        // Two tries with one key raced; the other committed first: answer its message.
        Err(err) if matches!(err.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
            txn.rollback().await?;
            let key = message.idempotency_key.as_deref().unwrap_or_default();
            let existing = find_by_key(db, caller.workspace_id, key)
                .await?
                .ok_or_else(|| Error::internal(err))?;
            return replay(db, existing, &hash).await;
        }
        Err(err) => return Err(err.into()),
    };
    record_on_chat(&txn, chat.clone(), &inserted, 0).await?;
    let sender = operator::Entity::find_by_id(caller.operator_id).one(&txn).await?;
    txn.commit().await?;
    Ok((
        MessageView {
            message: inserted,
            sender_id: Some(caller.operator_id),
            sender_name: sender.map(|o| o.name),
        },
        Sent::Created,
    ))
}

async fn find_by_key<C: ConnectionTrait>(db: &C, workspace_id: i64, key: &str) -> Result<Option<message::Model>> {
    Ok(message::Entity::find()
        .filter(message::Column::WorkspaceId.eq(workspace_id))
        .filter(message::Column::IdempotencyKey.eq(key))
        .one(db)
        .await?)
}

async fn replay(db: &DatabaseConnection, existing: message::Model, hash: &str) -> Result<(MessageView, Sent)> {
    if existing.request_hash.as_deref() != Some(hash) {
        return Err(Error::new(
            ErrorCode::IdempotencyKeyReused,
            "this Idempotency-Key was already used for a different request",
        ));
    }
    let chat = chat::Entity::find_by_id(existing.chat_id)
        .one(db)
        .await?
        .ok_or_else(|| Error::internal("an idempotent message lost its chat"))?;
    let view = views(db, &chat, vec![existing])
        .await?
        .pop()
        .ok_or_else(|| Error::internal("no view"))?;
    Ok((view, Sent::Replayed))
}

/// Moves the chat's denormalised columns for a new message, in the message's transaction.
pub(crate) async fn record_on_chat(
    txn: &DatabaseTransaction,
    chat: chat::Model,
    message: &message::Model,
    unread_delta: i32,
) -> Result<chat::Model> {
    let version = chat.version;
    let unread = chat.unread_count;
    let mut active: chat::ActiveModel = chat.into();
    active.last_message_id = Set(Some(message.id));
    active.last_activity_at = Set(message.created_at);
    active.updated_at = Set(message.created_at);
    active.unread_count = Set(unread + unread_delta);
    active.version = Set(version + 1);
    Ok(active.update(txn).await?)
}

/// The contact's chat, created (open) if the contact has none yet.
pub(crate) async fn chat_of_contact<C: ConnectionTrait>(
    db: &C,
    contact: &contact::Model,
    now: DateTime<Utc>,
) -> Result<chat::Model> {
    if let Some(chat) = chat::Entity::find()
        .filter(chat::Column::ContactId.eq(contact.id))
        .one(db)
        .await?
    {
        return Ok(chat);
    }
    Ok(chat::ActiveModel {
        workspace_id: Set(contact.workspace_id),
        contact_id: Set(contact.id),
        state: Set("open".into()),
        operator_id: Set(None),
        unread_count: Set(0),
        last_message_id: Set(None),
        last_activity_at: Set(now),
        created_at: Set(now),
        updated_at: Set(now),
        closed_at: Set(None),
        version: Set(1),
        ..Default::default()
    }
    .insert(db)
    .await?)
}

/// A message from a contact, as a channel connector reports it.
#[derive(Clone, Debug)]
pub struct IncomingMessage {
    pub external_message_id: String,
    pub text: MessageText,
    pub sent_at: Option<DateTime<Utc>>,
}

/// Writes an incoming message into the contact's chat: the chat is created if needed,
/// reopened if closed, and its unread count, last message and activity move with it.
pub async fn receive(
    txn: &DatabaseTransaction,
    contact: &contact::Model,
    incoming: &IncomingMessage,
) -> Result<(chat::Model, message::Model)> {
    let now = Utc::now();
    let created_at = incoming.sent_at.map_or(now, |at| at.min(now));
    let mut chat = chat_of_contact(txn, contact, created_at).await?;
    if chat.state == "closed" {
        let mut active: chat::ActiveModel = chat.into();
        active.state = Set("open".into());
        active.closed_at = Set(None);
        chat = active.update(txn).await?;
    }
    let message = message::ActiveModel {
        workspace_id: Set(contact.workspace_id),
        chat_id: Set(chat.id),
        channel_id: Set(contact.channel_id),
        direction: Set("incoming".into()),
        internal: Set(false),
        content_type: Set("text".into()),
        text: Set(incoming.text.as_str().to_owned()),
        media_url: Set(None),
        sender_type: Set("contact".into()),
        sender_operator_id: Set(None),
        status: Set("delivered".into()),
        idempotency_key: Set(None),
        request_hash: Set(None),
        external_id: Set(Some(incoming.external_message_id.clone())),
        created_at: Set(created_at),
        delivered_at: Set(Some(now)),
        seen_at: Set(None),
        edited_at: Set(None),
        deleted_at: Set(None),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    let chat = record_on_chat(txn, chat, &message, 1).await?;
    Ok((chat, message))
}
