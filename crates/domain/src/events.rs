//! The event log: every change writes an `event` row in the same transaction as the
//! change, with the changed resource as the API returns it; a trigger on `event`
//! queues a delivery for each webhook that wants the event's type. Readers (SSE, polling, webhooks) only
//! ever read this table, so nothing is missed across reconnects, restarts or replicas.

use std::sync::OnceLock;

use chrono::Utc;
use entity::event;
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde_json::{Value, json};

use crate::chats::{ChatView, view};
use crate::error::{Error, ErrorCode, Result};
use crate::messages::MessageView;

/// Every event type; a webhook or a stream may ask for a subset.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventKind {
    ChatCreated,
    ChatRead,
    ChatClosed,
    ChatOpened,
    ChatForwarded,
    ChatUnreadChanged,
    MessageCreated,
    MessageUpdated,
    MessageDeleted,
    MessageStatusChanged,
}

impl EventKind {
    pub const ALL: [EventKind; 10] = [
        EventKind::ChatCreated,
        EventKind::ChatRead,
        EventKind::ChatClosed,
        EventKind::ChatOpened,
        EventKind::ChatForwarded,
        EventKind::ChatUnreadChanged,
        EventKind::MessageCreated,
        EventKind::MessageUpdated,
        EventKind::MessageDeleted,
        EventKind::MessageStatusChanged,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::ChatCreated => "chat.created",
            EventKind::ChatRead => "chat.read",
            EventKind::ChatClosed => "chat.closed",
            EventKind::ChatOpened => "chat.opened",
            EventKind::ChatForwarded => "chat.forwarded",
            EventKind::ChatUnreadChanged => "chat.unread_changed",
            EventKind::MessageCreated => "message.created",
            EventKind::MessageUpdated => "message.updated",
            EventKind::MessageDeleted => "message.deleted",
            EventKind::MessageStatusChanged => "message.status_changed",
        }
    }

    pub fn parse(s: &str) -> Option<EventKind> {
        EventKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// Parses a list of event type names; unknown names are refused.
pub fn parse_types(names: &[String]) -> Result<Vec<String>> {
    names
        .iter()
        .map(|n| n.trim())
        .filter(|n| !n.is_empty())
        .map(|n| {
            EventKind::parse(n)
                .map(|k| k.as_str().to_owned())
                .ok_or_else(|| Error::new(ErrorCode::InvalidEventType, format!("{n:?} is not an event type")))
        })
        .collect()
}

/// How resources look on the wire; the API installs its own at start-up so that an
/// event's payload is exactly what the API answers for that resource.
pub trait Presenter: Send + Sync {
    fn chat(&self, view: ChatView) -> Value;
    fn message(&self, view: MessageView) -> Value;
}

static PRESENTER: OnceLock<Box<dyn Presenter>> = OnceLock::new();

pub fn install_presenter(presenter: Box<dyn Presenter>) {
    let _ = PRESENTER.set(presenter);
}

pub(crate) fn present_chat(view: ChatView) -> Value {
    match PRESENTER.get() {
        Some(p) => p.chat(view),
        None => json!({"id": view.chat.id, "state": view.chat.state, "version": view.chat.version}),
    }
}

fn present_message(view: MessageView) -> Value {
    match PRESENTER.get() {
        Some(p) => p.message(view),
        None => json!({"id": view.message.id, "chatId": view.message.chat_id, "status": view.message.status}),
    }
}

/// Writes one event and queues its webhook deliveries (see `record_many`).
pub async fn record<C: ConnectionTrait>(
    db: &C,
    workspace_id: i64,
    kind: EventKind,
    chat_id: Option<i64>,
    payload: Value,
) -> Result<()> {
    record_many(db, workspace_id, vec![(kind, chat_id, payload)]).await
}

/// Writes the events of one change, in order, in one statement. The database queues
/// their webhook deliveries (a trigger on `event`: one pending delivery per active
/// webhook of the workspace that wants the event's type), so a write pays no round
/// trip per event or per webhook.
pub async fn record_many<C: ConnectionTrait>(
    db: &C,
    workspace_id: i64,
    events: Vec<(EventKind, Option<i64>, Value)>,
) -> Result<()> {
    let rows = events
        .into_iter()
        .map(|(kind, chat_id, payload)| (workspace_id, kind, chat_id, payload))
        .collect();
    record_rows(db, rows).await
}

/// Writes events of any workspaces, in order, in one statement (see `record_many`).
pub(crate) async fn record_rows<C: ConnectionTrait>(
    db: &C,
    events: Vec<(i64, EventKind, Option<i64>, Value)>,
) -> Result<()> {
    if events.is_empty() {
        return Ok(());
    }
    let now = Utc::now();
    let rows = events
        .into_iter()
        .map(|(workspace_id, kind, chat_id, payload)| event::ActiveModel {
            workspace_id: Set(workspace_id),
            kind: Set(kind.as_str().to_owned()),
            chat_id: Set(chat_id),
            payload: Set(payload.to_string()),
            created_at: Set(now),
            ..Default::default()
        });
    event::Entity::insert_many(rows).exec(db).await?;
    crate::cache::bump();
    Ok(())
}

/// Records a chat event with the chat as the API shows it now.
pub async fn record_chat<C: ConnectionTrait>(db: &C, kind: EventKind, chat: entity::chat::Model) -> Result<()> {
    let (workspace_id, chat_id) = (chat.workspace_id, chat.id);
    let payload = chat_payload(db, chat).await?;
    record(db, workspace_id, kind, Some(chat_id), payload).await?;
    Ok(())
}

/// Records the chat's new unread count.
pub async fn record_unread<C: ConnectionTrait>(db: &C, chat: &entity::chat::Model) -> Result<()> {
    let payload = unread_payload(chat);
    record(
        db,
        chat.workspace_id,
        EventKind::ChatUnreadChanged,
        Some(chat.id),
        payload,
    )
    .await?;
    Ok(())
}

/// Records a message event with the message as the API shows it now.
pub async fn record_message<C: ConnectionTrait>(
    db: &C,
    kind: EventKind,
    chat: &entity::chat::Model,
    message: entity::message::Model,
) -> Result<()> {
    let (workspace_id, chat_id) = (chat.workspace_id, chat.id);
    let view = crate::messages::views(db, chat, vec![message])
        .await?
        .pop()
        .ok_or_else(|| Error::internal("no message view"))?;
    record(db, workspace_id, kind, Some(chat_id), present_message(view)).await?;
    Ok(())
}

/// A chat as an event carries it: as the API shows it now.
pub async fn chat_payload<C: ConnectionTrait>(db: &C, chat: entity::chat::Model) -> Result<Value> {
    Ok(present_chat(view(db, chat).await?))
}

/// A message as an event carries it.
pub fn message_payload(view: MessageView) -> Value {
    present_message(view)
}

/// The payload of `chat.unread_changed`.
pub fn unread_payload(chat: &entity::chat::Model) -> Value {
    json!({"chatId": chat.id, "unreadMessages": chat.unread_count})
}

/// The workspace's events after `after`, oldest first, optionally of some types only.
pub async fn after<C: ConnectionTrait>(
    db: &C,
    workspace_id: i64,
    after: i64,
    limit: u64,
    types: &[String],
) -> Result<Vec<event::Model>> {
    let mut query = event::Entity::find()
        .filter(event::Column::WorkspaceId.eq(workspace_id))
        .filter(event::Column::Id.gt(after));
    if !types.is_empty() {
        query = query.filter(event::Column::Kind.is_in(types.to_vec()));
    }
    Ok(query.order_by_asc(event::Column::Id).limit(limit).all(db).await?)
}

/// The newest event id of the workspace (0 when it has none).
pub async fn latest_id<C: ConnectionTrait>(db: &C, workspace_id: i64) -> Result<i64> {
    let last = event::Entity::find()
        .filter(event::Column::WorkspaceId.eq(workspace_id))
        .order_by_desc(event::Column::Id)
        .one(db)
        .await?;
    Ok(last.map_or(0, |e| e.id))
}
