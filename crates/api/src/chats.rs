//! The SmartSender-compatible chat operations and what goes beyond them: list, get,
//! read, close, reopen, forward and its history, message pages and sends, contacts.

use crate::oai as poem_openapi;
use ::poem_openapi::param::{Header, Path, Query};
use ::poem_openapi::payload::Json;
use ::poem_openapi::{ApiResponse, Object, OpenApi};
use chrono::{DateTime, Utc};
use domain::chats::{ChatFilter, Selector};
use domain::messages::{MessageWindow, OutgoingMessage, Sent, WindowParams, parse_idempotency_key};
use domain::paging::PageRequest;
use domain::text::{ForwardText, MessageText, SearchTerm};

use crate::auth::OperatorAuth;
use crate::body::Body;
use crate::error::ApiError;
use crate::strict::Str;
use crate::wire::{
    AssignmentList, Chat, ChatList, ChatState, Contact, ContentType, Message, MessageList, SelectorName, StateResponse,
};
use crate::{ApiTags, AppState};

pub struct ChatsApi {
    pub state: AppState,
}

type Result<T> = std::result::Result<T, ApiError>;

/// A forward's text, shown to the operator who takes the chat.
#[derive(Object, Debug)]
#[oai(example)]
pub struct ForwardRequest {
    /// Up to 2,000 characters; may be empty.
    #[oai(default, nullable, validator(max_length = 2000))]
    pub text: Str,
}

/// A message from an operator into a chat.
#[derive(Object, Debug)]
#[oai(example)]
pub struct SendChatMessage {
    /// The message text, 1 to 20,000 characters, not only white space.
    #[oai(validator(
        min_length = 1,
        max_length = 20000,
        pattern = r"^[^\x00]*[^ \t\n\x0C\r\x00][^\x00]*$"
    ))]
    pub text: Str,
    /// `true` writes a private note that the contact never sees.
    #[oai(default, nullable)]
    pub internal: bool,
}

/// A message to a contact, SmartSender style.
#[derive(Object, Debug)]
#[oai(example)]
pub struct SendContactMessage {
    /// The content type; `text` is the one supported.
    #[oai(rename = "type")]
    pub kind: ContentType,
    /// The message text, 1 to 20,000 characters.
    #[oai(validator(
        min_length = 1,
        max_length = 20000,
        pattern = r"^[^\x00]*[^ \t\n\x0C\r\x00][^\x00]*$"
    ))]
    pub content: Str,
}

/// A chat with its version as an entity tag.
#[derive(ApiResponse)]
pub enum ChatResponse {
    /// The chat. `ETag` is its version; send it back as `If-Match` to write only if
    /// nobody changed the chat in between.
    #[oai(status = 200)]
    Ok(Body<Chat>, #[oai(header = "ETag")] String),
}

/// The entity tag of a chat version.
fn etag(version: i32) -> String {
    format!("\"{version}\"")
}

/// The version an `If-Match` header names: `"7"`, `W/"7"` or `7`; `*` (or no header)
/// names none. Anything else can match no version.
fn expected_version(if_match: &Option<String>) -> std::result::Result<Option<i32>, domain::Error> {
    let Some(value) = if_match.as_deref().map(str::trim) else {
        return Ok(None);
    };
    if value == "*" {
        return Ok(None);
    }
    let bare = value.trim_start_matches("W/").trim_matches('"');
    bare.parse::<i32>().map(Some).map_err(|_| {
        domain::Error::new(
            domain::ErrorCode::VersionMismatch,
            format!("If-Match {value:?} matches no version of this chat"),
        )
    })
}

#[derive(ApiResponse)]
pub enum SendResponse {
    /// The message was written.
    #[oai(status = 201)]
    Created(Body<Message>),
    /// A send with this `Idempotency-Key` was already made; this is its message.
    #[oai(status = 200)]
    Replayed(Body<Message>),
}

fn send_response(view: domain::messages::MessageView, sent: Sent) -> SendResponse {
    let message = Body(Message::new(view));
    match sent {
        Sent::Created => SendResponse::Created(message),
        Sent::Replayed => SendResponse::Replayed(message),
    }
}

impl ChatsApi {
    /// Close or reopen, after checking `If-Match`.
    async fn set_state(
        &self,
        auth: &OperatorAuth,
        chat_id: i64,
        state: domain::chats::ChatState,
        if_match: &Option<String>,
    ) -> Result<Body<StateResponse>> {
        let expected = expected_version(if_match)?;
        domain::chats::set_state(&self.state.db, &auth.0, chat_id, state, expected).await?;
        Ok(Body(StateResponse::done()))
    }
}

#[OpenApi(prefix_path = "/v1")]
impl ChatsApi {
    /// List chats
    ///
    /// The workspace's chats, most recent activity first, page by page. Combine
    /// `state`, `selector[name]` and `term` to build a dashboard's inbox views:
    /// `selector[name]=unread` for chats waiting for an answer, `private` with
    /// `selector[operatorId]` for one operator's chats. `term` matches the contact's
    /// name, username, phone and e-mail and the chat's message texts, ignoring case.
    #[oai(path = "/chats", method = "get", operation_id = "listChats", tag = "ApiTags::Chats")]
    #[allow(clippy::too_many_arguments)]
    async fn list_chats(
        &self,
        auth: OperatorAuth,
        /// Page number, from 1.
        #[oai(validator(minimum(value = "1"), maximum(value = "1000000000")))]
        page: Query<Option<i64>>,
        /// Chats per page, 1 to 20 (default 20).
        #[oai(validator(minimum(value = "1"), maximum(value = "20")))]
        limitation: Query<Option<i64>>,
        /// Case-insensitive substring of a contact field or a message text; at most 256
        /// characters. Three or more characters search message texts too (through a
        /// trigram index); shorter terms match contact fields only.
        #[oai(validator(max_length = 256, pattern = r"^[^\x00]*$"))]
        term: Query<Option<String>>,
        /// Only chats in this state.
        state: Query<Option<ChatState>>,
        /// `none` (default), `private` (needs `selector[operatorId]`) or `unread`.
        #[oai(name = "selector[name]")]
        selector_name: Query<Option<SelectorName>>,
        /// The operator whose chats `selector[name]=private` shows.
        #[oai(name = "selector[operatorId]")]
        selector_operator_id: Query<Option<i64>>,
    ) -> Result<Body<ChatList>> {
        let page = PageRequest::parse(page.0, limitation.0)?;
        let filter = ChatFilter {
            term: SearchTerm::parse(term.0.as_deref().unwrap_or(""))?,
            state: state.0.map(Into::into),
            selector: Selector::parse(selector_name.0.map(Into::into), selector_operator_id.0)?,
        };
        let (cursor, chats) = domain::chats::list(&self.state.db, &auth.0, &filter, page).await?;
        Ok(Body(ChatList {
            cursor: cursor.into(),
            collection: chats.into_iter().map(Chat::from).collect(),
        }))
    }

    /// Get a chat
    ///
    /// One chat with its contact, assignee, unread count and last message.
    #[oai(
        path = "/chats/:chatId",
        method = "get",
        operation_id = "getChat",
        tag = "ApiTags::Chats"
    )]
    async fn get_chat(&self, auth: OperatorAuth, #[oai(name = "chatId")] chat_id: Path<i64>) -> Result<ChatResponse> {
        let chat: Chat = domain::chats::get(&self.state.db, &auth.0, chat_id.0).await?.into();
        let etag = etag(chat.version);
        Ok(ChatResponse::Ok(Body(chat), etag))
    }

    /// Read a chat
    ///
    /// Marks every incoming message of the chat read and sets its unread count to 0.
    /// Call it when an operator opens the chat.
    #[oai(
        path = "/chats/:chatId/read",
        method = "put",
        operation_id = "readChat",
        tag = "ApiTags::Chats"
    )]
    async fn read_chat(
        &self,
        auth: OperatorAuth,
        #[oai(name = "chatId")] chat_id: Path<i64>,
        /// The chat's `ETag` as last read: the write happens only if the chat has not
        /// changed since (else 412).
        #[oai(name = "If-Match", validator(pattern = r#"^\s*(\*|(W/)?"?[0-9]{1,9}"?)\s*$"#))]
        if_match: Header<Option<String>>,
    ) -> Result<Body<StateResponse>> {
        domain::chats::read(&self.state.db, &auth.0, chat_id.0, expected_version(&if_match.0)?).await?;
        Ok(Body(StateResponse::done()))
    }

    /// Close a chat
    ///
    /// Marks the conversation done. A new incoming message reopens it.
    #[oai(
        path = "/chats/:chatId/close",
        method = "put",
        operation_id = "closeChat",
        tag = "ApiTags::Chats"
    )]
    async fn close_chat(
        &self,
        auth: OperatorAuth,
        #[oai(name = "chatId")] chat_id: Path<i64>,
        /// The chat's `ETag` as last read: the write happens only if the chat has not
        /// changed since (else 412).
        #[oai(name = "If-Match", validator(pattern = r#"^\s*(\*|(W/)?"?[0-9]{1,9}"?)\s*$"#))]
        if_match: Header<Option<String>>,
    ) -> Result<Body<StateResponse>> {
        self.set_state(&auth, chat_id.0, domain::chats::ChatState::Closed, &if_match.0)
            .await
    }

    /// Reopen a chat
    ///
    /// Puts a closed chat back into the open inbox.
    #[oai(
        path = "/chats/:chatId/open",
        method = "put",
        operation_id = "openChat",
        tag = "ApiTags::Chats"
    )]
    async fn open_chat(
        &self,
        auth: OperatorAuth,
        #[oai(name = "chatId")] chat_id: Path<i64>,
        /// The chat's `ETag` as last read: the write happens only if the chat has not
        /// changed since (else 412).
        #[oai(name = "If-Match", validator(pattern = r#"^\s*(\*|(W/)?"?[0-9]{1,9}"?)\s*$"#))]
        if_match: Header<Option<String>>,
    ) -> Result<Body<StateResponse>> {
        self.set_state(&auth, chat_id.0, domain::chats::ChatState::Open, &if_match.0)
            .await
    }

    /// Forward a chat to an operator
    ///
    /// Assigns the chat to the operator, with a text for them; the forward is kept in
    /// the chat's assignment history.
    #[oai(
        path = "/chats/:chatId/forward/:operatorId",
        method = "post",
        operation_id = "forwardChat",
        tag = "ApiTags::Chats"
    )]
    async fn forward_chat(
        &self,
        auth: OperatorAuth,
        #[oai(name = "chatId")] chat_id: Path<i64>,
        #[oai(name = "operatorId")] operator_id: Path<i64>,
        /// The chat's `ETag` as last read: the write happens only if the chat has not
        /// changed since (else 412).
        #[oai(name = "If-Match", validator(pattern = r#"^\s*(\*|(W/)?"?[0-9]{1,9}"?)\s*$"#))]
        if_match: Header<Option<String>>,
        body: Json<ForwardRequest>,
    ) -> Result<Body<StateResponse>> {
        let text = ForwardText::parse(&body.0.text)?;
        let expected = expected_version(&if_match.0)?;
        domain::chats::forward(&self.state.db, &auth.0, chat_id.0, operator_id.0, &text, expected).await?;
        Ok(Body(StateResponse::done()))
    }

    /// Forward history of a chat
    ///
    /// Every forward of the chat, oldest first, with who forwarded it to whom and the text.
    #[oai(
        path = "/chats/:chatId/assignments",
        method = "get",
        operation_id = "listChatAssignments",
        tag = "ApiTags::Chats"
    )]
    async fn list_assignments(
        &self,
        auth: OperatorAuth,
        #[oai(name = "chatId")] chat_id: Path<i64>,
        /// Page number, from 1.
        #[oai(validator(minimum(value = "1"), maximum(value = "1000000000")))]
        page: Query<Option<i64>>,
        /// Items per page, 1 to 20 (default 20).
        #[oai(validator(minimum(value = "1"), maximum(value = "20")))]
        limitation: Query<Option<i64>>,
    ) -> Result<Body<AssignmentList>> {
        let page = PageRequest::parse(page.0, limitation.0)?;
        let (cursor, rows) = domain::chats::assignments(&self.state.db, &auth.0, chat_id.0, page).await?;
        Ok(Body(AssignmentList {
            cursor: cursor.into(),
            collection: rows.into_iter().map(Into::into).collect(),
        }))
    }

    /// Messages of a chat
    ///
    /// The chat's messages in one of three windows. By page (`page`, `limitation`
    /// up to 20), newest first, as SmartSender has it. By keyset: `before` a message
    /// id (newest first) or `after` one (oldest first, to catch up), with `limit` up
    /// to 1,024; deep history costs the same as the first page. By time: `from`
    /// and/or `to` (RFC 3339), `ascending`, `limit` up to 1,024.
    #[oai(
        path = "/chats/:chatId/messages",
        method = "get",
        operation_id = "listChatMessages",
        tag = "ApiTags::Messages"
    )]
    #[allow(clippy::too_many_arguments)]
    async fn list_messages(
        &self,
        auth: OperatorAuth,
        #[oai(name = "chatId")] chat_id: Path<i64>,
        /// Page number, from 1.
        #[oai(validator(minimum(value = "1"), maximum(value = "1000000000")))]
        page: Query<Option<i64>>,
        /// Messages per page, 1 to 20 (default 20).
        #[oai(validator(minimum(value = "1"), maximum(value = "20")))]
        limitation: Query<Option<i64>>,
        /// Only messages older than this message id, newest first.
        before: Query<Option<i64>>,
        /// Only messages newer than this message id, oldest first.
        after: Query<Option<i64>>,
        /// Only messages written at or after this time.
        from: Query<Option<DateTime<Utc>>>,
        /// Only messages written at or before this time.
        to: Query<Option<DateTime<Utc>>>,
        /// With `from`/`to`: oldest first when true (default false).
        ascending: Query<Option<bool>>,
        /// With `before`, `after` or `from`/`to`: how many messages, 1 to 1,024 (default 20).
        #[oai(validator(minimum(value = "1"), maximum(value = "1024")))]
        limit: Query<Option<i64>>,
    ) -> Result<Body<MessageList>> {
        let window = MessageWindow::parse(WindowParams {
            page: page.0,
            limitation: limitation.0,
            before: before.0,
            after: after.0,
            from: from.0,
            to: to.0,
            ascending: ascending.0,
            limit: limit.0,
        })?;
        let (cursor, rows) = domain::messages::window(&self.state.db, &auth.0, chat_id.0, window).await?;
        Ok(Body(MessageList {
            cursor: cursor.into(),
            collection: rows.into_iter().map(Message::new).collect(),
        }))
    }

    /// Send a message or write a note
    ///
    /// Sends the operator's text to the contact through the chat's channel, or with
    /// `internal: true` writes a private note only operators see. Send an
    /// `Idempotency-Key` to make retries safe: a retry with the same key and body
    /// answers the first message (200); the same key with another body is a 409.
    #[oai(
        path = "/chats/:chatId/messages",
        method = "post",
        operation_id = "sendChatMessage",
        tag = "ApiTags::Messages"
    )]
    async fn send_message(
        &self,
        auth: OperatorAuth,
        #[oai(name = "chatId")] chat_id: Path<i64>,
        /// Any unique string up to 128 characters, e.g. a UUID made by the client.
        #[oai(name = "Idempotency-Key", validator(min_length = 1, max_length = 128))]
        idempotency_key: Header<Option<String>>,
        body: Json<SendChatMessage>,
    ) -> Result<SendResponse> {
        let message = OutgoingMessage {
            text: MessageText::parse(&body.0.text)?,
            internal: body.0.internal,
            idempotency_key: parse_idempotency_key(idempotency_key.0.as_deref())?,
        };
        let (view, sent) = domain::messages::send(&self.state.db, &auth.0, chat_id.0, &message).await?;
        Ok(send_response(view, sent))
    }

    /// Send a message to a contact
    ///
    /// SmartSender's way to answer a contact: the text goes into the contact's chat
    /// (opened if the contact has none yet). Takes an `Idempotency-Key` like chat sends.
    #[oai(
        path = "/contacts/:contactId/send",
        method = "post",
        operation_id = "sendContactMessage",
        tag = "ApiTags::Contacts"
    )]
    async fn send_to_contact(
        &self,
        auth: OperatorAuth,
        #[oai(name = "contactId")] contact_id: Path<i64>,
        /// Any unique string up to 128 characters, e.g. a UUID made by the client.
        #[oai(name = "Idempotency-Key", validator(min_length = 1, max_length = 128))]
        idempotency_key: Header<Option<String>>,
        body: Json<SendContactMessage>,
    ) -> Result<SendResponse> {
        let message = OutgoingMessage {
            text: MessageText::parse(&body.0.content)?,
            internal: false,
            idempotency_key: parse_idempotency_key(idempotency_key.0.as_deref())?,
        };
        let (view, sent) = domain::messages::send_to_contact(&self.state.db, &auth.0, contact_id.0, &message).await?;
        Ok(send_response(view, sent))
    }

    /// Get a contact
    ///
    /// The contact's profile and channel.
    #[oai(
        path = "/contacts/:contactId",
        method = "get",
        operation_id = "getContact",
        tag = "ApiTags::Contacts"
    )]
    async fn get_contact(
        &self,
        auth: OperatorAuth,
        #[oai(name = "contactId")] contact_id: Path<i64>,
    ) -> Result<Body<Contact>> {
        let (contact, channel) = domain::contacts::get(&self.state.db, &auth.0, contact_id.0).await?;
        Ok(Body(Contact::new(&contact, &channel)))
    }

    /// The chat of a contact
    ///
    /// The contact's one chat; a contact without one gets an open, empty chat.
    #[oai(
        path = "/contacts/:contactId/chat",
        method = "get",
        operation_id = "getContactChat",
        tag = "ApiTags::Contacts"
    )]
    async fn get_contact_chat(
        &self,
        auth: OperatorAuth,
        #[oai(name = "contactId")] contact_id: Path<i64>,
    ) -> Result<Body<Chat>> {
        Ok(Body(
            domain::contacts::chat(&self.state.db, &auth.0, contact_id.0)
                .await?
                .into(),
        ))
    }
}
