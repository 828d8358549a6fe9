//! Messages of a chat: the newest-first pages, operator sends and internal notes
//! (idempotent with a key), and the inbound messages a channel brings in. A message
//! and the chat's denormalised columns (unread count, last message, last activity)
//! always change in one transaction.

use chrono::{DateTime, Utc};
use entity::{chat, contact, message, operator};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction,
    DbBackend, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait, SqlErr, Statement, Value,
};
use sha2::{Digest, Sha256};

use crate::auth::Caller;
use crate::chats::{find_chat, operators_by_id};
use crate::db::begin_write;
use crate::direct::{Decode, Row};
use crate::error::{Error, ErrorCode, Result};
use crate::events::{self, EventKind};
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

/// Names the senders of `rows`, all of which belong to `chat`.
pub async fn views<C: ConnectionTrait>(
    db: &C,
    chat: &chat::Model,
    rows: Vec<message::Model>,
) -> Result<Vec<MessageView>> {
    let contact_name = if rows.iter().any(|m| m.sender_type == "contact") {
        contact::Entity::find_by_id(chat.contact_id)
            .one(db)
            .await?
            .map(|c| c.name)
    } else {
        None
    };
    views_named(db, chat, rows, contact_name).await
}

/// `views`, with the chat's contact's name already in hand.
async fn views_named<C: ConnectionTrait>(
    db: &C,
    chat: &chat::Model,
    rows: Vec<message::Model>,
    contact_name: Option<String>,
) -> Result<Vec<MessageView>> {
    let operators = operators_by_id(db, rows.iter().filter_map(|m| m.sender_operator_id)).await?;
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
    let txn = begin_write(db, &[caller.workspace_id]).await?;
    let chat = crate::chats::lock_chat(&txn, caller, chat_id, None).await?;
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
    let txn = begin_write(db, &[caller.workspace_id]).await?;
    let contact = crate::contacts::find_contact(&txn, caller.workspace_id, contact_id).await?;
    let (chat, created) = chat_of_contact(&txn, &contact, Utc::now()).await?;
    if created {
        events::record_chat(&txn, EventKind::ChatCreated, chat.clone()).await?;
    }
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
    let inserted = insert_outgoing(&txn, caller, &chat, message, Some(&hash)).await;
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
    let chat = record_on_chat(&txn, chat, &inserted, 0).await?;
    events::record_message(&txn, EventKind::MessageCreated, &chat, inserted.clone()).await?;
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

/// Inserts an operator's message into `chat` (without touching the chat's columns).
pub(crate) async fn insert_outgoing(
    txn: &DatabaseTransaction,
    caller: &Caller,
    chat: &chat::Model,
    message: &OutgoingMessage,
    request_hash: Option<&str>,
) -> Result<message::Model, sea_orm::DbErr> {
    let now = Utc::now();
    let contact = contact::Entity::find_by_id(chat.contact_id)
        .one(txn)
        .await?
        .ok_or_else(|| sea_orm::DbErr::RecordNotFound(format!("contact of chat {}", chat.id)))?;
    message::ActiveModel {
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
        request_hash: Set(message.idempotency_key.as_ref().and(request_hash.map(str::to_owned))),
        external_id: Set(None),
        created_at: Set(now),
        delivered_at: Set(message.internal.then_some(now)),
        seen_at: Set(None),
        edited_at: Set(None),
        deleted_at: Set(None),
        ..Default::default()
    }
    .insert(txn)
    .await
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
pub(crate) async fn record_on_chat<C: ConnectionTrait>(
    txn: &C,
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
) -> Result<(chat::Model, bool)> {
    if let Some(chat) = chat::Entity::find()
        .filter(chat::Column::ContactId.eq(contact.id))
        .lock_exclusive()
        .one(db)
        .await?
    {
        return Ok((chat, false));
    }
    let chat = new_chat_row(contact, now).insert(db).await?;
    Ok((chat, true))
}

/// The row of a contact's message in its chat, received `now` and dated `created_at`.
pub(crate) fn incoming_row(
    contact: &contact::Model,
    chat_id: i64,
    incoming: &IncomingMessage,
    created_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> message::ActiveModel {
    message::ActiveModel {
        workspace_id: Set(contact.workspace_id),
        chat_id: Set(chat_id),
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
}

/// The row that opens a contact's first chat, as of its first message's time.
pub(crate) fn new_chat_row(contact: &contact::Model, at: DateTime<Utc>) -> chat::ActiveModel {
    chat::ActiveModel {
        workspace_id: Set(contact.workspace_id),
        contact_id: Set(contact.id),
        state: Set("open".into()),
        operator_id: Set(None),
        unread_count: Set(0),
        last_message_id: Set(None),
        last_activity_at: Set(at),
        created_at: Set(at),
        updated_at: Set(at),
        closed_at: Set(None),
        version: Set(1),
        ..Default::default()
    }
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
pub async fn receive<C: ConnectionTrait>(
    txn: &C,
    contact: &contact::Model,
    incoming: &IncomingMessage,
) -> Result<(chat::Model, message::Model)> {
    let now = Utc::now();
    let created_at = incoming.sent_at.map_or(now, |at| at.min(now));
    let (mut chat, created) = chat_of_contact(txn, contact, created_at).await?;
    let reopened = chat.state == "closed";
    if reopened {
        let mut active: chat::ActiveModel = chat.into();
        active.state = Set("open".into());
        active.closed_at = Set(None);
        chat = active.update(txn).await?;
    }
    let message = incoming_row(contact, chat.id, incoming, created_at, now)
        .insert(txn)
        .await?;
    let chat = record_on_chat(txn, chat, &message, 1).await?;
    // The events of this change go in one statement; the message's view is made
    // from the contact in hand instead of being read back.
    let mut recorded = Vec::with_capacity(4);
    if created || reopened {
        let payload = events::chat_payload(txn, chat.clone()).await?;
        if created {
            recorded.push((EventKind::ChatCreated, Some(chat.id), payload.clone()));
        }
        if reopened {
            recorded.push((EventKind::ChatOpened, Some(chat.id), payload));
        }
    }
    let view = MessageView {
        message: message.clone(),
        sender_id: Some(contact.id),
        sender_name: Some(contact.name.clone()),
    };
    recorded.push((EventKind::MessageCreated, Some(chat.id), events::message_payload(view)));
    recorded.push((
        EventKind::ChatUnreadChanged,
        Some(chat.id),
        events::unread_payload(&chat),
    ));
    events::record_many(txn, chat.workspace_id, recorded).await?;
    Ok((chat, message))
}

/// Which messages of a chat a page shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MessageWindow {
    /// SmartSender's numbered pages, newest first.
    Page(PageRequest),
    /// Messages older than this id, newest first.
    Before { id: i64, limit: u64 },
    /// Messages newer than this id, oldest first.
    After { id: i64, limit: u64 },
    /// Messages written in a time range, oldest or newest first.
    Range {
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
        ascending: bool,
        limit: u64,
    },
}

/// The raw paging parameters of a message list, as the API receives them.
#[derive(Clone, Copy, Debug, Default)]
pub struct WindowParams {
    pub page: Option<i64>,
    pub limitation: Option<i64>,
    pub before: Option<i64>,
    pub after: Option<i64>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub ascending: Option<bool>,
    pub limit: Option<i64>,
}

impl MessageWindow {
    /// One of the three ways to page messages; mixing them is refused.
    pub fn parse(p: WindowParams) -> Result<Self> {
        let paged = p.page.is_some() || p.limitation.is_some();
        let keyset = p.before.is_some() || p.after.is_some();
        let ranged = p.from.is_some() || p.to.is_some() || p.ascending.is_some();
        let conflicting = || {
            Error::new(
                ErrorCode::ConflictingParameters,
                "use either page/limitation, or before/after with limit, or from/to/ascending with limit",
            )
        };
        if [paged, keyset, ranged].iter().filter(|b| **b).count() > 1
            || (p.before.is_some() && p.after.is_some())
            || (paged && p.limit.is_some())
        {
            return Err(conflicting());
        }
        let limit = || -> Result<u64> {
            let limit = p.limit.unwrap_or(crate::limits::DEFAULT_LIMITATION as i64);
            if !(1..=crate::limits::MAX_WINDOW_LIMIT as i64).contains(&limit) {
                return Err(Error::new(
                    ErrorCode::InvalidLimit,
                    format!(
                        "limit must be from 1 to {}, not {limit}",
                        crate::limits::MAX_WINDOW_LIMIT
                    ),
                ));
            }
            Ok(limit as u64)
        };
        if let Some(id) = p.before {
            return Ok(MessageWindow::Before { id, limit: limit()? });
        }
        if let Some(id) = p.after {
            return Ok(MessageWindow::After { id, limit: limit()? });
        }
        if ranged || p.limit.is_some() {
            if let (Some(from), Some(to)) = (p.from, p.to)
                && from > to
            {
                return Err(Error::new(ErrorCode::InvalidTimeWindow, "from must not be after to"));
            }
            return Ok(MessageWindow::Range {
                from: p.from,
                to: p.to,
                ascending: p.ascending.unwrap_or(false),
                limit: limit()?,
            });
        }
        Ok(MessageWindow::Page(PageRequest::parse(p.page, p.limitation)?))
    }
}

/// The chat's messages in a window. Keyset and time windows read only the index
/// range they show, however deep in the history they are.
///
/// The chat, its contact and the window are read in one statement (on PostgreSQL one
/// round trip instead of two, see `window_statement`); only when that finds no row
/// (no such chat in the workspace, or a page past the chat's last message) does a
/// second statement tell the two apart.
#[tracing::instrument(skip(db), fields(workspace = caller.workspace_id))]
pub async fn window(
    db: &DatabaseConnection,
    caller: &Caller,
    chat_id: i64,
    window: MessageWindow,
) -> Result<(Cursor, Vec<MessageView>)> {
    let rows = crate::direct::fetch_all::<WindowRow>(
        db,
        window_statement(db.get_database_backend(), caller, chat_id, &window),
    )
    .await?;
    let mut rows = rows.into_iter();
    let (chat, contact, messages) = match rows.next() {
        Some((Some((chat, contact)), first)) => {
            let messages: Vec<message::Model> = first.into_iter().chain(rows.filter_map(|(_, m)| m)).collect();
            (chat, contact, messages)
        }
        _ => {
            let (chat, contact) = crate::chats::find_chat_with_contact(db, caller, chat_id).await?;
            (chat, contact, Vec::new())
        }
    };
    let page = window.page_request();
    let total = match crate::paging::known_total(&page, messages.len()) {
        Some(total) => total,
        None => count_capped(db, window.counted(chat.id).into_query()).await?,
    };
    let views = views_named(db, &chat, messages, Some(contact.name)).await?;
    Ok((Cursor::new(page, total), views))
}

impl MessageWindow {
    /// The page the window's cursor describes (a keyset or time window is one page of
    /// its limit).
    fn page_request(&self) -> PageRequest {
        match *self {
            MessageWindow::Page(page) => page,
            MessageWindow::Before { limit, .. }
            | MessageWindow::After { limit, .. }
            | MessageWindow::Range { limit, .. } => PageRequest {
                page: 1,
                limitation: limit,
            },
        }
    }

    /// The chat's messages the window pages through, unordered and unbounded (what a
    /// full or past-the-end page's total counts).
    fn counted(&self, chat_id: i64) -> sea_orm::Select<message::Entity> {
        let base = message::Entity::find().filter(message::Column::ChatId.eq(chat_id));
        match *self {
            MessageWindow::Page(_) => base,
            MessageWindow::Before { id, .. } => base.filter(message::Column::Id.lt(id)),
            MessageWindow::After { id, .. } => base.filter(message::Column::Id.gt(id)),
            MessageWindow::Range { from, to, .. } => base
                .apply_if(from, |q, from| q.filter(message::Column::CreatedAt.gte(from)))
                .apply_if(to, |q, to| q.filter(message::Column::CreatedAt.lte(to))),
        }
    }
}

/// One statement for the chat (in the caller's workspace), its contact and the
/// window's messages: the chat joined to its contact and to the window, which is
/// read in a subquery of its own (`LEFT JOIN (...) AS "m" ON TRUE`), so it walks the
/// `(chat_id, id)` or `(chat_id, created_at)` index for its rows alone and the outer
/// sort has at most a window's rows. A chat without messages in the window gives one
/// row whose message columns are NULL; no chat, no row.
///
/// Written here rather than by sea-query, because its page bounds inside a subquery
/// would be bound values: PostgreSQL would then plan it for every request (see
/// `plans`). The bounds are whole numbers written as such (offsets up to
/// `plans::MAX_INLINED_OFFSET`, as there); ids, times and the workspace are bound.
fn window_statement(backend: DbBackend, caller: &Caller, chat_id: i64, window: &MessageWindow) -> Statement {
    let mut sql = Sql::new(backend);
    sql.push("SELECT ")
        .push(&window_columns().0)
        .push(r#" FROM "chat" INNER JOIN "contact" ON "contact"."id" = "chat"."contact_id" LEFT JOIN (SELECT "#)
        .push(&window_columns().1)
        .push(r#" FROM "message" WHERE "message"."chat_id" = "#)
        .bind(chat_id.into());
    let (order, limit, offset): (&[(&str, &str)], u64, u64) = match *window {
        MessageWindow::Page(page) => (&[("id", "DESC")], page.limitation, page.offset()),
        MessageWindow::Before { id, limit } => {
            sql.push(r#" AND "message"."id" < "#).bound(id.into());
            (&[("id", "DESC")], limit, 0)
        }
        MessageWindow::After { id, limit } => {
            sql.push(r#" AND "message"."id" > "#).bound(id.into());
            (&[("id", "ASC")], limit, 0)
        }
        MessageWindow::Range {
            from,
            to,
            ascending,
            limit,
        } => {
            if let Some(from) = from {
                sql.push(r#" AND "message"."created_at" >= "#).bound(from.into());
            }
            if let Some(to) = to {
                sql.push(r#" AND "message"."created_at" <= "#).bound(to.into());
            }
            let order: &[(&str, &str)] = if ascending {
                &[("created_at", "ASC"), ("id", "ASC")]
            } else {
                &[("created_at", "DESC"), ("id", "DESC")]
            };
            (order, limit, 0)
        }
    };
    let order_by = |sql: &mut Sql, table: &str| {
        for (i, (column, direction)) in order.iter().enumerate() {
            sql.push(if i == 0 { " ORDER BY " } else { ", " })
                .push(&format!(r#""{table}"."{column}" {direction}"#));
        }
    };
    order_by(&mut sql, "message");
    sql.push(&format!(" LIMIT {limit}"));
    if offset > crate::plans::MAX_INLINED_OFFSET {
        sql.push(" OFFSET ").bind(offset.into());
    } else if offset > 0 {
        sql.push(&format!(" OFFSET {offset}"));
    }
    sql.push(r#") AS "m" ON TRUE WHERE "chat"."id" = "#)
        .bind(chat_id.into())
        .push(r#" AND "chat"."workspace_id" = "#)
        .bind(caller.workspace_id.into());
    order_by(&mut sql, "m");
    Statement::from_sql_and_values(backend, sql.text, sql.values)
}

/// A statement being written, with its values, in the backend's placeholders.
struct Sql {
    backend: DbBackend,
    text: String,
    values: Vec<Value>,
}

impl Sql {
    fn new(backend: DbBackend) -> Self {
        Sql {
            backend,
            text: String::with_capacity(1536),
            values: Vec::new(),
        }
    }

    fn push(&mut self, text: &str) -> &mut Self {
        self.text.push_str(text);
        self
    }

    /// A placeholder for `value`.
    fn bind(&mut self, value: Value) -> &mut Self {
        self.values.push(value);
        if self.backend == DbBackend::Postgres {
            let n = self.values.len();
            self.push(&format!("${n}"))
        } else {
            self.push("?")
        }
    }

    /// A placeholder for a window's own bound (an id or a time), given to PostgreSQL as
    /// `(SELECT $n)`, which it prices as any value even when planning for this one
    /// (the index still bounds the scan with it). Priced for the value, an early id's
    /// window looked so much cheaper than the plan for any id that PostgreSQL planned
    /// it again for every request: at 1M chats 25 against 59, plus 12.5 for planning,
    /// ~0.3 ms of planning for 0.05 ms of reading.
    fn bound(&mut self, value: Value) -> &mut Self {
        if self.backend == DbBackend::Postgres {
            self.push("(SELECT ").bind(value).push(")")
        } else {
            self.bind(value)
        }
    }
}

/// The outer select list of `window_statement` (the chat's, the contact's and the
/// window's columns, in their models' field order) and the window's own.
fn window_columns() -> &'static (String, String) {
    use sea_orm::{IdenStatic, Iterable};
    static COLUMNS: std::sync::OnceLock<(String, String)> = std::sync::OnceLock::new();
    COLUMNS.get_or_init(|| {
        let list = |table: &str, names: Vec<&str>| {
            names
                .iter()
                .map(|name| format!("\"{table}\".\"{name}\""))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let messages: Vec<&str> = message::Column::iter().map(|c| c.as_str()).collect();
        let outer = [
            list("chat", chat::Column::iter().map(|c| c.as_str()).collect()),
            list("contact", contact::Column::iter().map(|c| c.as_str()).collect()),
            list("m", messages.clone()),
        ]
        .join(", ");
        (outer, list("message", messages))
    })
}

/// One row of `window_statement`: the chat and its contact (read from the first row
/// only; the others repeat them) and a message of the window, if any.
struct WindowRow;

impl Decode for WindowRow {
    type Out = (Option<(chat::Model, contact::Model)>, Option<message::Model>);
    fn decode<R: Row>(row: &R) -> Result<Self::Out> {
        Self::decode_nth(row, 0)
    }
    fn decode_nth<R: Row>(row: &R, nth: usize) -> Result<Self::Out> {
        use sea_orm::Iterable;
        let mut at = 0;
        let chat = if nth == 0 {
            let chat = crate::rows::chat_at(row, &mut at)?;
            Some((chat, crate::rows::contact_at(row, &mut at)?))
        } else {
            at = chat::Column::iter().count() + contact::Column::iter().count();
            None
        };
        let message = match row.get::<Option<i64>>(at)? {
            Some(_) => Some(crate::rows::message_at(row, &mut at)?),
            None => None,
        };
        Ok((chat, message))
    }
}

/// An operator's own outgoing message in the chat, for editing or deleting.
async fn own_message<C: ConnectionTrait>(
    db: &C,
    caller: &Caller,
    chat_id: i64,
    message_id: i64,
) -> Result<(chat::Model, message::Model)> {
    let chat = find_chat(db, caller, chat_id).await?;
    let found = message::Entity::find_by_id(message_id)
        .filter(message::Column::ChatId.eq(chat.id))
        .one(db)
        .await?
        .ok_or_else(|| Error::message_not_found(message_id))?;
    if found.direction != "outgoing" || found.sender_operator_id != Some(caller.operator_id) {
        return Err(Error::new(
            ErrorCode::NotMessageAuthor,
            format!("message {message_id} was not written by you; only its author may change it"),
        ));
    }
    Ok((chat, found))
}

/// Replaces the text of the operator's own message.
#[tracing::instrument(skip(db, text), fields(workspace = caller.workspace_id))]
pub async fn edit(
    db: &DatabaseConnection,
    caller: &Caller,
    chat_id: i64,
    message_id: i64,
    text: &MessageText,
) -> Result<MessageView> {
    let txn = begin_write(db, &[caller.workspace_id]).await?;
    let (chat, found) = own_message(&txn, caller, chat_id, message_id).await?;
    if found.deleted_at.is_some() {
        return Err(Error::new(
            ErrorCode::MessageDeleted,
            format!("message {message_id} was deleted"),
        ));
    }
    let mut active: message::ActiveModel = found.into();
    active.text = Set(text.as_str().to_owned());
    active.edited_at = Set(Some(Utc::now()));
    let updated = active.update(&txn).await?;
    events::record_message(&txn, EventKind::MessageUpdated, &chat, updated.clone()).await?;
    let view = views(&txn, &chat, vec![updated])
        .await?
        .pop()
        .ok_or_else(|| Error::internal("no view"))?;
    txn.commit().await?;
    Ok(view)
}

/// Soft-deletes the operator's own message: the row stays, its text goes, and
/// `deletedAt` says when. Deleting twice is fine.
#[tracing::instrument(skip(db), fields(workspace = caller.workspace_id))]
pub async fn delete(db: &DatabaseConnection, caller: &Caller, chat_id: i64, message_id: i64) -> Result<MessageView> {
    let txn = begin_write(db, &[caller.workspace_id]).await?;
    let (chat, found) = own_message(&txn, caller, chat_id, message_id).await?;
    let row = if found.deleted_at.is_some() {
        found
    } else {
        let mut active: message::ActiveModel = found.into();
        active.text = Set(String::new());
        active.deleted_at = Set(Some(Utc::now()));
        let deleted = active.update(&txn).await?;
        events::record_message(&txn, EventKind::MessageDeleted, &chat, deleted.clone()).await?;
        deleted
    };
    let view = views(&txn, &chat, vec![row])
        .await?
        .pop()
        .ok_or_else(|| Error::internal("no view"))?;
    txn.commit().await?;
    Ok(view)
}

/// Marks incoming messages read by id. Every id must be a message of the caller's
/// workspace (else nothing changes and the first unknown id is named); operators'
/// own messages among them are left as they are. The chats' unread counts are
/// recounted in the same transaction.
#[tracing::instrument(skip(db, ids), fields(workspace = caller.workspace_id, count = ids.len()))]
pub async fn mark_read(db: &DatabaseConnection, caller: &Caller, ids: &[i64]) -> Result<()> {
    if ids.len() > crate::limits::MAX_MESSAGES_PER_REQUEST {
        return Err(Error::new(
            ErrorCode::TooManyMessages,
            format!(
                "at most {} message ids per request",
                crate::limits::MAX_MESSAGES_PER_REQUEST
            ),
        ));
    }
    let txn = begin_write(db, &[caller.workspace_id]).await?;
    let found = message::Entity::find()
        .filter(message::Column::WorkspaceId.eq(caller.workspace_id))
        .filter(message::Column::Id.is_in(ids.to_vec()))
        .all(&txn)
        .await?;
    if let Some(missing) = ids.iter().find(|id| !found.iter().any(|m| m.id == **id)) {
        return Err(Error::message_not_found(*missing));
    }
    let unread: Vec<i64> = found
        .iter()
        .filter(|m| m.direction == "incoming" && m.status != "read")
        .map(|m| m.id)
        .collect();
    if !unread.is_empty() {
        let now = Utc::now();
        let mut chat_ids: Vec<i64> = found.iter().map(|m| m.chat_id).collect();
        chat_ids.sort_unstable();
        chat_ids.dedup();
        // Chats first, then their messages: the order every chat write takes locks in.
        chat::Entity::find()
            .filter(chat::Column::Id.is_in(chat_ids.clone()))
            .order_by_asc(chat::Column::Id)
            .lock_exclusive()
            .all(&txn)
            .await?;
        message::Entity::update_many()
            .col_expr(message::Column::Status, sea_orm::sea_query::Expr::value("read"))
            .col_expr(message::Column::SeenAt, sea_orm::sea_query::Expr::value(now))
            .filter(message::Column::Id.is_in(unread))
            .exec(&txn)
            .await?;
        recount_unread(&txn, &chat_ids, now).await?;
    }
    txn.commit().await?;
    Ok(())
}

/// Sets each chat's unread count to the number of its unread incoming messages.
pub(crate) async fn recount_unread(txn: &DatabaseTransaction, chat_ids: &[i64], now: DateTime<Utc>) -> Result<()> {
    let chats = chat::Entity::find()
        .filter(chat::Column::Id.is_in(chat_ids.to_vec()))
        .order_by_asc(chat::Column::Id)
        .lock_exclusive()
        .all(txn)
        .await?;
    for chat in chats {
        let unread = message::Entity::find()
            .filter(message::Column::ChatId.eq(chat.id))
            .filter(message::Column::Direction.eq("incoming"))
            .filter(message::Column::Status.ne("read"))
            .count(txn)
            .await? as i32;
        if unread != chat.unread_count {
            let version = chat.version;
            let mut active: chat::ActiveModel = chat.into();
            active.unread_count = Set(unread);
            active.version = Set(version + 1);
            active.updated_at = Set(now);
            let chat = active.update(txn).await?;
            events::record_unread(txn, &chat).await?;
        }
    }
    Ok(())
}
