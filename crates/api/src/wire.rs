//! The JSON shapes of the API (DESIGN §4) and how domain views become them.

use chrono::{DateTime, Utc};
use domain::chats::{AssignmentView, ChatView};
use domain::messages::MessageView;
use domain::paging;
use entity::{channel, contact, operator};
use poem_openapi::{Enum, Object};

/// Characters of a message kept in a chat's `lastMessage.text` preview.
const PREVIEW_CHARS: usize = 200;

/// Where a page stands in its list.
#[derive(Object, Debug, Clone, serde::Serialize)]
#[oai(example)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct Cursor {
    /// This page's number, from 1.
    pub page: u64,
    /// How many pages the list has (from `total`; a lower bound when `totalIsExact` is false).
    pub pages: u64,
    /// Items per page.
    pub limitation: u64,
    /// How many items match: exact up to 10,000; beyond that 10,001, a lower bound.
    pub total: u64,
    /// Whether `total` is exact.
    pub total_is_exact: bool,
}

impl From<paging::Cursor> for Cursor {
    fn from(c: paging::Cursor) -> Self {
        Cursor {
            page: c.page,
            pages: c.pages,
            limitation: c.limitation,
            total: c.total,
            total_is_exact: c.total_is_exact,
        }
    }
}

/// `{"state": true}`: the change is done (or there was nothing to change).
#[derive(Object, Debug, Clone, serde::Serialize)]
#[oai(example)]
pub struct StateResponse {
    pub state: bool,
}

impl StateResponse {
    pub fn done() -> Self {
        StateResponse { state: true }
    }
}

#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[oai(rename_all = "lowercase")]
#[serde(rename_all = "lowercase")]
pub enum ChatState {
    Open,
    Closed,
}

impl From<ChatState> for domain::chats::ChatState {
    fn from(s: ChatState) -> Self {
        match s {
            ChatState::Open => domain::chats::ChatState::Open,
            ChatState::Closed => domain::chats::ChatState::Closed,
        }
    }
}

fn chat_state(s: &str) -> ChatState {
    if s == "closed" {
        ChatState::Closed
    } else {
        ChatState::Open
    }
}

/// Which chats the list shows.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[oai(rename_all = "lowercase")]
#[serde(rename_all = "lowercase")]
pub enum SelectorName {
    /// Every chat.
    None,
    /// Chats assigned to `selector[operatorId]`.
    Private,
    /// Chats with unread incoming messages.
    Unread,
}

impl From<SelectorName> for domain::chats::SelectorName {
    fn from(s: SelectorName) -> Self {
        match s {
            SelectorName::None => domain::chats::SelectorName::None,
            SelectorName::Private => domain::chats::SelectorName::Private,
            SelectorName::Unread => domain::chats::SelectorName::Unread,
        }
    }
}

#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[oai(rename_all = "lowercase")]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// From the contact.
    Incoming,
    /// From an operator.
    Outgoing,
}

fn direction(s: &str) -> Direction {
    if s == "incoming" {
        Direction::Incoming
    } else {
        Direction::Outgoing
    }
}

#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[oai(rename_all = "lowercase")]
#[serde(rename_all = "lowercase")]
pub enum MessageStatus {
    /// Waiting for the channel to deliver it.
    Pending,
    /// Delivered (for incoming messages: received, not yet read by an operator).
    Delivered,
    /// Read by its recipient.
    Read,
    /// The channel could not deliver it.
    Failed,
}

fn message_status(s: &str) -> MessageStatus {
    match s {
        "pending" => MessageStatus::Pending,
        "read" => MessageStatus::Read,
        "failed" => MessageStatus::Failed,
        _ => MessageStatus::Delivered,
    }
}

#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[oai(rename_all = "lowercase")]
#[serde(rename_all = "lowercase")]
pub enum SenderType {
    Contact,
    Operator,
    System,
}

#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[oai(rename_all = "lowercase")]
#[serde(rename_all = "lowercase")]
pub enum ContentType {
    Text,
}

#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[oai(rename_all = "lowercase")]
#[serde(rename_all = "lowercase")]
pub enum OperatorRole {
    Admin,
    Operator,
}

impl From<OperatorRole> for domain::Role {
    fn from(r: OperatorRole) -> Self {
        match r {
            OperatorRole::Admin => domain::Role::Admin,
            OperatorRole::Operator => domain::Role::Operator,
        }
    }
}

/// The channel a contact writes through.
#[derive(Object, Debug, Clone, serde::Serialize)]
#[oai(example)]
pub struct Channel {
    pub id: i64,
    /// `telegram`, `web`, `tracker`, …
    pub kind: String,
    pub name: String,
}

impl From<&channel::Model> for Channel {
    fn from(c: &channel::Model) -> Self {
        Channel {
            id: c.id,
            kind: c.kind.clone(),
            name: c.name.clone(),
        }
    }
}

/// A person who writes in through a channel.
#[derive(Object, Debug, Clone, serde::Serialize)]
#[oai(example)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct Contact {
    pub id: i64,
    /// The contact's id in its channel.
    pub external_id: String,
    pub name: String,
    #[oai(nullable)]
    pub username: Option<String>,
    #[oai(nullable)]
    pub phone: Option<String>,
    #[oai(nullable)]
    pub email: Option<String>,
    pub channel: Channel,
}

impl Contact {
    pub fn new(c: &contact::Model, channel: &channel::Model) -> Self {
        Contact {
            id: c.id,
            external_id: c.external_id.clone(),
            name: c.name.clone(),
            username: c.username.clone(),
            phone: c.phone.clone(),
            email: c.email.clone(),
            channel: channel.into(),
        }
    }
}

/// An operator as other resources name one.
#[derive(Object, Debug, Clone, serde::Serialize)]
#[oai(example)]
pub struct OperatorRef {
    pub id: i64,
    pub name: String,
}

impl From<&operator::Model> for OperatorRef {
    fn from(o: &operator::Model) -> Self {
        OperatorRef {
            id: o.id,
            name: o.name.clone(),
        }
    }
}

/// The newest message of a chat, in short.
#[derive(Object, Debug, Clone, serde::Serialize)]
#[oai(example)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct LastMessage {
    pub id: i64,
    /// The first 200 characters of the text.
    pub text: String,
    pub direction: Direction,
    #[serde(serialize_with = "crate::body::rfc3339")]
    pub created_at: DateTime<Utc>,
}

/// A contact's conversation as operators work it.
#[derive(Object, Debug, Clone, serde::Serialize)]
#[oai(example)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct Chat {
    pub id: i64,
    /// The contact's name.
    pub name: String,
    pub state: ChatState,
    /// Whether `state` is `closed`.
    pub is_closed: bool,
    pub contact: Contact,
    /// The assignee, or null.
    #[oai(nullable)]
    pub operator: Option<OperatorRef>,
    /// Incoming messages no operator has read yet.
    pub unread_messages: i32,
    #[oai(nullable)]
    pub last_message: Option<LastMessage>,
    #[serde(serialize_with = "crate::body::rfc3339")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "crate::body::rfc3339")]
    pub updated_at: DateTime<Utc>,
    #[serde(serialize_with = "crate::body::rfc3339")]
    pub last_activity_at: DateTime<Utc>,
    #[oai(nullable)]
    #[serde(serialize_with = "crate::body::rfc3339_or_null")]
    pub closed_at: Option<DateTime<Utc>>,
    /// Increases with every change of the chat.
    pub version: i32,
}

impl From<ChatView> for Chat {
    fn from(v: ChatView) -> Self {
        let state = chat_state(&v.chat.state);
        Chat {
            id: v.chat.id,
            name: v.contact.name.clone(),
            state,
            is_closed: state == ChatState::Closed,
            contact: Contact::new(&v.contact, &v.channel),
            operator: v.operator.as_ref().map(OperatorRef::from),
            unread_messages: v.chat.unread_count,
            last_message: v.last_message.map(|m| LastMessage {
                id: m.id,
                text: m.text.chars().take(PREVIEW_CHARS).collect(),
                direction: direction(&m.direction),
                created_at: m.created_at,
            }),
            created_at: v.chat.created_at,
            updated_at: v.chat.updated_at,
            last_activity_at: v.chat.last_activity_at,
            closed_at: v.chat.closed_at,
            version: v.chat.version,
        }
    }
}

#[derive(Object, Debug, Clone, serde::Serialize)]
#[oai(example)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct MessageContent {
    #[oai(rename = "type")]
    #[serde(rename = "type")]
    pub kind: ContentType,
    /// Empty once the message is deleted.
    pub text: String,
    #[oai(nullable)]
    pub media_url: Option<String>,
}

/// Who wrote a message.
#[derive(Object, Debug, Clone, serde::Serialize)]
#[oai(example)]
pub struct Sender {
    #[oai(rename = "type")]
    #[serde(rename = "type")]
    pub kind: SenderType,
    /// The operator's id for operators, the contact's id for contacts.
    #[oai(nullable)]
    pub id: Option<i64>,
    #[oai(nullable)]
    pub name: Option<String>,
}

/// One message of a chat.
#[derive(Object, Debug, Clone, serde::Serialize)]
#[oai(example)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct Message {
    pub id: i64,
    pub chat_id: i64,
    pub direction: Direction,
    /// A private note for operators, never sent to the contact.
    pub internal: bool,
    pub content: MessageContent,
    pub sender: Sender,
    pub status: MessageStatus,
    /// The `Idempotency-Key` the message was sent with, if any.
    #[oai(nullable)]
    pub local_id: Option<String>,
    #[serde(serialize_with = "crate::body::rfc3339")]
    pub created_at: DateTime<Utc>,
    #[oai(nullable)]
    #[serde(serialize_with = "crate::body::rfc3339_or_null")]
    pub delivered_at: Option<DateTime<Utc>>,
    #[oai(nullable)]
    #[serde(serialize_with = "crate::body::rfc3339_or_null")]
    pub seen_at: Option<DateTime<Utc>>,
    #[oai(nullable)]
    #[serde(serialize_with = "crate::body::rfc3339_or_null")]
    pub edited_at: Option<DateTime<Utc>>,
    #[oai(nullable)]
    #[serde(serialize_with = "crate::body::rfc3339_or_null")]
    pub deleted_at: Option<DateTime<Utc>>,
}

impl Message {
    pub fn new(v: MessageView) -> Self {
        let m = v.message;
        let kind = match m.sender_type.as_str() {
            "contact" => SenderType::Contact,
            "operator" => SenderType::Operator,
            _ => SenderType::System,
        };
        Message {
            id: m.id,
            chat_id: m.chat_id,
            direction: direction(&m.direction),
            internal: m.internal,
            content: MessageContent {
                kind: ContentType::Text,
                text: m.text,
                media_url: m.media_url,
            },
            sender: Sender {
                kind,
                id: v.sender_id,
                name: v.sender_name,
            },
            status: message_status(&m.status),
            local_id: m.idempotency_key,
            created_at: m.created_at,
            delivered_at: m.delivered_at,
            seen_at: m.seen_at,
            edited_at: m.edited_at,
            deleted_at: m.deleted_at,
        }
    }
}

/// An operator of the workspace.
#[derive(Object, Debug, Clone, serde::Serialize)]
#[oai(example)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct Operator {
    pub id: i64,
    pub name: String,
    pub email: String,
    pub role: OperatorRole,
    /// A deactivated operator cannot sign in or take chats.
    pub active: bool,
    #[serde(serialize_with = "crate::body::rfc3339")]
    pub created_at: DateTime<Utc>,
}

impl From<operator::Model> for Operator {
    fn from(o: operator::Model) -> Self {
        Operator {
            id: o.id,
            role: if o.role == "admin" {
                OperatorRole::Admin
            } else {
                OperatorRole::Operator
            },
            name: o.name,
            email: o.email,
            active: o.active,
            created_at: o.created_at,
        }
    }
}

/// One forward of a chat.
#[derive(Object, Debug, Clone, serde::Serialize)]
#[oai(example)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct Assignment {
    pub id: i64,
    pub chat_id: i64,
    /// The assignee before the forward, or null.
    #[oai(nullable)]
    pub from: Option<OperatorRef>,
    #[oai(nullable)]
    pub to: Option<OperatorRef>,
    /// Who forwarded the chat.
    #[oai(nullable)]
    pub by: Option<OperatorRef>,
    /// The text that went with the forward.
    pub text: String,
    #[serde(serialize_with = "crate::body::rfc3339")]
    pub created_at: DateTime<Utc>,
}

impl From<AssignmentView> for Assignment {
    fn from(v: AssignmentView) -> Self {
        Assignment {
            id: v.assignment.id,
            chat_id: v.assignment.chat_id,
            from: v.from.as_ref().map(OperatorRef::from),
            to: v.to.as_ref().map(OperatorRef::from),
            by: v.by.as_ref().map(OperatorRef::from),
            text: v.assignment.text,
            created_at: v.assignment.created_at,
        }
    }
}

/// A page of chats.
#[derive(Object, Debug, Clone, serde::Serialize)]
#[oai(example)]
pub struct ChatList {
    pub cursor: Cursor,
    pub collection: Vec<Chat>,
}

/// A page of messages, newest first.
#[derive(Object, Debug, Clone, serde::Serialize)]
#[oai(example)]
pub struct MessageList {
    pub cursor: Cursor,
    pub collection: Vec<Message>,
}

/// A page of operators.
#[derive(Object, Debug, Clone, serde::Serialize)]
#[oai(example)]
pub struct OperatorList {
    pub cursor: Cursor,
    pub collection: Vec<Operator>,
}

/// A page of forwards, oldest first.
#[derive(Object, Debug, Clone, serde::Serialize)]
#[oai(example)]
pub struct AssignmentList {
    pub cursor: Cursor,
    pub collection: Vec<Assignment>,
}

/// Gives events the same JSON the API answers for their resource.
pub struct WirePresenter;

impl domain::events::Presenter for WirePresenter {
    fn chat(&self, view: ChatView) -> serde_json::Value {
        poem_openapi::types::ToJSON::to_json(&Chat::from(view)).unwrap_or_default()
    }

    fn message(&self, view: MessageView) -> serde_json::Value {
        poem_openapi::types::ToJSON::to_json(&Message::new(view)).unwrap_or_default()
    }
}
