//! Live events: a Server-Sent Events stream of the caller's workspace, resumable
//! with `Last-Event-ID`, and a JSON polling fallback. Both read the event table, so
//! a reconnect (to any replica) replays exactly what was missed. The in-process bus
//! only says "something was written"; it never carries events itself.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::oai as poem_openapi;
use ::poem_openapi::param::{Header, Query};
use ::poem_openapi::payload::{EventStream, Json};
use ::poem_openapi::types::ToJSON;
use ::poem_openapi::{Enum, Object, OpenApi};
use chrono::{DateTime, Utc};
use domain::events::parse_types;
use futures::stream::BoxStream;
use sea_orm::DatabaseConnection;
use tokio::sync::watch;

use crate::auth::OperatorAuth;
use crate::error::ApiError;
use crate::{ApiTags, AppState};

/// Events read from the table per query; a slow subscriber holds at most this many.
const BATCH: u64 = 100;
/// How often an idle stream checks the table even without a wake-up.
const IDLE_POLL: Duration = Duration::from_secs(2);
/// How often an idle stream sends a heartbeat comment.
const HEARTBEAT: Duration = Duration::from_secs(15);

/// Wakes the streams of this process when events were written (by this process, or
/// by another replica as PostgreSQL `NOTIFY` reports).
#[derive(Clone)]
pub struct EventBus {
    tx: watch::Sender<u64>,
    closing: Arc<AtomicBool>,
}

impl Default for EventBus {
    fn default() -> Self {
        EventBus {
            tx: watch::channel(0).0,
            closing: Arc::new(AtomicBool::new(false)),
        }
    }
}

impl EventBus {
    pub fn wake(&self) {
        self.tx.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// Ends every stream, so that a shutdown does not wait on open connections.
    pub fn close(&self) {
        self.closing.store(true, Ordering::SeqCst);
        self.wake();
    }

    fn is_closing(&self) -> bool {
        self.closing.load(Ordering::SeqCst)
    }

    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.tx.subscribe()
    }
}

/// The kinds of change an event reports.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    #[oai(rename = "chat.created")]
    ChatCreated,
    #[oai(rename = "chat.read")]
    ChatRead,
    #[oai(rename = "chat.closed")]
    ChatClosed,
    #[oai(rename = "chat.opened")]
    ChatOpened,
    #[oai(rename = "chat.forwarded")]
    ChatForwarded,
    #[oai(rename = "chat.unread_changed")]
    ChatUnreadChanged,
    #[oai(rename = "message.created")]
    MessageCreated,
    #[oai(rename = "message.updated")]
    MessageUpdated,
    #[oai(rename = "message.deleted")]
    MessageDeleted,
    #[oai(rename = "message.status_changed")]
    MessageStatusChanged,
}

impl EventType {
    pub const ALL: [EventType; 10] = [
        EventType::ChatCreated,
        EventType::ChatRead,
        EventType::ChatClosed,
        EventType::ChatOpened,
        EventType::ChatForwarded,
        EventType::ChatUnreadChanged,
        EventType::MessageCreated,
        EventType::MessageUpdated,
        EventType::MessageDeleted,
        EventType::MessageStatusChanged,
    ];

    fn kind(self) -> domain::events::EventKind {
        use domain::events::EventKind as K;
        match self {
            EventType::ChatCreated => K::ChatCreated,
            EventType::ChatRead => K::ChatRead,
            EventType::ChatClosed => K::ChatClosed,
            EventType::ChatOpened => K::ChatOpened,
            EventType::ChatForwarded => K::ChatForwarded,
            EventType::ChatUnreadChanged => K::ChatUnreadChanged,
            EventType::MessageCreated => K::MessageCreated,
            EventType::MessageUpdated => K::MessageUpdated,
            EventType::MessageDeleted => K::MessageDeleted,
            EventType::MessageStatusChanged => K::MessageStatusChanged,
        }
    }

    pub fn as_str(self) -> &'static str {
        self.kind().as_str()
    }

    /// The type with this stored name (`chat.created`, …).
    pub fn parse(name: &str) -> Option<EventType> {
        EventType::ALL.into_iter().find(|t| t.as_str() == name)
    }
}

/// One change in the workspace.
#[derive(Object, Debug, Clone)]
#[oai(example)]
#[oai(rename_all = "camelCase")]
pub struct Event {
    /// Increases with every event; resume after it with `Last-Event-ID` or `after`.
    pub id: i64,
    /// What changed.
    #[oai(rename = "type")]
    pub kind: EventType,
    #[oai(nullable)]
    pub chat_id: Option<i64>,
    /// The changed resource as the API returns it: a Chat for `chat.*`, a Message for
    /// `message.*`, `{chatId, unreadMessages}` for `chat.unread_changed`.
    pub payload: serde_json::Value,
    pub created_at: DateTime<Utc>,
}

impl Event {
    /// The event as the API shows it; `None` for a kind this version does not know
    /// (written by a newer replica during a rolling upgrade), which is skipped.
    pub fn from_row(e: entity::event::Model) -> Option<Self> {
        let Some(kind) = EventType::parse(&e.kind) else {
            tracing::warn!(event_id = e.id, kind = %e.kind, "skipping an event of an unknown type");
            return None;
        };
        Some(Event {
            id: e.id,
            kind,
            chat_id: e.chat_id,
            payload: serde_json::from_str(&e.payload).unwrap_or(serde_json::Value::Null),
            created_at: e.created_at,
        })
    }
}

#[derive(Object, Debug)]
#[oai(example)]
#[oai(rename_all = "camelCase")]
pub struct EventPage {
    /// Events after `after`, oldest first.
    pub collection: Vec<Event>,
    /// Pass as `after` next time.
    pub next_after: i64,
}

pub struct EventsApi {
    pub state: AppState,
}

type Result<T> = std::result::Result<T, ApiError>;

fn split_types(types: Option<String>) -> domain::Result<Vec<String>> {
    let names: Vec<String> = types.unwrap_or_default().split(',').map(str::to_owned).collect();
    parse_types(&names)
}

struct Subscription {
    db: DatabaseConnection,
    workspace_id: i64,
    cursor: i64,
    types: Vec<String>,
    wake: watch::Receiver<u64>,
    bus: EventBus,
    buffer: VecDeque<Event>,
}

impl Subscription {
    async fn next(mut self) -> Option<(Event, Self)> {
        loop {
            if self.bus.is_closing() {
                return None;
            }
            if let Some(event) = self.buffer.pop_front() {
                return Some((event, self));
            }
            // Mark the wake-up seen before reading, so a write racing the read still wakes us.
            self.wake.borrow_and_update();
            match domain::events::after(&self.db, self.workspace_id, self.cursor, BATCH, &self.types).await {
                Ok(rows) if !rows.is_empty() => {
                    self.cursor = rows.last().map_or(self.cursor, |e| e.id);
                    self.buffer.extend(rows.into_iter().filter_map(Event::from_row));
                }
                Ok(_) => {
                    let _ = tokio::time::timeout(IDLE_POLL, self.wake.changed()).await;
                }
                Err(err) => {
                    tracing::warn!("event stream read failed: {err}");
                    tokio::time::sleep(IDLE_POLL).await;
                }
            }
        }
    }
}

#[OpenApi(prefix_path = "/v1")]
impl EventsApi {
    /// Stream events (SSE)
    ///
    /// A Server-Sent Events stream of every change in the workspace: `id:` is the
    /// event id, `event:` its type, `data:` the Event JSON. Reconnect with the
    /// `Last-Event-ID` header (browsers' EventSource does it for you) or `after` to
    /// receive exactly what you missed, in order. Heartbeat comments keep idle
    /// connections open. Try it with `curl -N -H "Authorization: Bearer …"`.
    #[oai(
        path = "/events",
        method = "get",
        operation_id = "streamEvents",
        tag = "ApiTags::Events"
    )]
    async fn stream(
        &self,
        auth: OperatorAuth,
        /// Resume after this event id.
        #[oai(name = "Last-Event-ID")]
        last_event_id: Header<Option<i64>>,
        /// Resume after this event id (for clients that cannot set headers); without
        /// either, the stream starts with the next new event.
        after: Query<Option<i64>>,
        /// Comma-separated event types to receive (default: all).
        #[oai(validator(
            pattern = r"^((chat\.(created|read|closed|opened|forwarded|unread_changed)|message\.(created|updated|deleted|status_changed))(,|$))*$"
        ))]
        types: Query<Option<String>>,
    ) -> Result<EventStream<BoxStream<'static, Event>>> {
        let types = split_types(types.0)?;
        let workspace_id = auth.0.workspace_id;
        let cursor = match last_event_id.0.or(after.0) {
            Some(id) => id,
            None => domain::events::latest_id(&self.state.db, workspace_id).await?,
        };
        let subscription = Subscription {
            db: self.state.db.clone(),
            workspace_id,
            cursor,
            types,
            wake: self.state.bus.subscribe(),
            bus: self.state.bus.clone(),
            buffer: VecDeque::new(),
        };
        let guard = crate::metrics::SubscriberGuard::new();
        let stream = futures::stream::unfold((subscription, guard), |(sub, guard)| async move {
            sub.next().await.map(|(event, sub)| (event, (sub, guard)))
        });
        Ok(EventStream::new(Box::pin(stream) as BoxStream<'static, Event>)
            .keep_alive(HEARTBEAT)
            .to_event(|event| {
                let data = event.to_json().map(|v| v.to_string()).unwrap_or_default();
                poem::web::sse::Event::message(data)
                    .id(event.id.to_string())
                    .event_type(event.kind.as_str())
            }))
    }

    /// Poll events
    ///
    /// The same events as the stream, as JSON pages, for clients without SSE:
    /// call again with `after` = `nextAfter`.
    #[oai(
        path = "/events/poll",
        method = "get",
        operation_id = "pollEvents",
        tag = "ApiTags::Events"
    )]
    async fn poll(
        &self,
        auth: OperatorAuth,
        /// Events after this id (default 0: from the start).
        after: Query<Option<i64>>,
        /// How many, 1 to 1,000 (default 100).
        #[oai(validator(minimum(value = "1"), maximum(value = "1000")))]
        limit: Query<Option<i64>>,
        /// Comma-separated event types to receive (default: all).
        #[oai(validator(
            pattern = r"^((chat\.(created|read|closed|opened|forwarded|unread_changed)|message\.(created|updated|deleted|status_changed))(,|$))*$"
        ))]
        types: Query<Option<String>>,
    ) -> Result<Json<EventPage>> {
        let types = split_types(types.0)?;
        let after = after.0.unwrap_or(0);
        let limit = limit.0.unwrap_or(100).clamp(1, 1000) as u64;
        let rows = domain::events::after(&self.state.db, auth.0.workspace_id, after, limit, &types).await?;
        let next_after = rows.last().map_or(after, |e| e.id);
        Ok(Json(EventPage {
            collection: rows.into_iter().filter_map(Event::from_row).collect(),
            next_after,
        }))
    }
}
