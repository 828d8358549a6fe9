//! Message and unread operations beyond SmartSender: edit and delete one's own
//! message, mark read by id, unread counts, read everything, last activity, broadcast.

use std::collections::HashMap;

use crate::oai as poem_openapi;
use ::poem_openapi::param::Path;
use ::poem_openapi::payload::Json;
use ::poem_openapi::{Object, OpenApi};
use chrono::{DateTime, Utc};
use domain::text::MessageText;

use crate::auth::OperatorAuth;
use crate::body::Body;
use crate::error::ApiError;
use crate::strict::{Int, Str, ints};
use crate::wire::{Message, StateResponse};
use crate::{ApiTags, AppState};

pub struct MessagesApi {
    pub state: AppState,
}

type Result<T> = std::result::Result<T, ApiError>;

/// The new text of a message.
#[derive(Object, Debug)]
#[oai(example)]
pub struct EditMessage {
    /// 1 to 20,000 characters, not only white space.
    #[oai(validator(
        min_length = 1,
        max_length = 20000,
        pattern = r"^[^\x00]*[^ \t\n\x0C\r\x00][^\x00]*$"
    ))]
    pub text: Str,
}

/// Exactly one of `messageId` and `messageIds`.
#[derive(Object, Debug)]
#[oai(example)]
#[oai(rename_all = "camelCase")]
pub struct MarkMessagesRead {
    /// One message to mark read.
    #[oai(nullable)]
    pub message_id: Option<Int>,
    /// Up to 300 messages to mark read.
    #[oai(validator(max_items = 300))]
    #[oai(nullable)]
    pub message_ids: Option<Vec<Int>>,
}

/// Chats to mark read; without `chatIds`, every chat of the workspace.
#[derive(Object, Debug)]
#[oai(example)]
#[oai(rename_all = "camelCase")]
pub struct MarkChatsRead {
    /// Up to 300 chat ids.
    #[oai(validator(max_items = 300))]
    #[oai(nullable)]
    pub chat_ids: Option<Vec<Int>>,
}

#[derive(Object, Debug)]
#[oai(example)]
#[oai(rename_all = "camelCase")]
pub struct ChatIds {
    /// Up to 300 chat ids.
    #[oai(validator(max_items = 300))]
    pub chat_ids: Vec<Int>,
}

/// Unread incoming messages per chat.
#[derive(Object, Debug)]
#[oai(example)]
pub struct UnreadCounts {
    /// All unread messages of the workspace.
    pub total: i64,
    /// Chat id → its unread messages; chats with none are left out.
    pub value: HashMap<String, i32>,
}

/// Chat id → its last activity.
#[derive(Object, Debug)]
#[oai(example)]
pub struct LastActivity {
    pub value: HashMap<String, DateTime<Utc>>,
}

#[derive(Object, Debug)]
#[oai(example)]
#[oai(rename_all = "camelCase")]
pub struct Broadcast {
    /// Up to 300 chat ids.
    #[oai(validator(max_items = 300))]
    pub chat_ids: Vec<Int>,
    /// 1 to 20,000 characters.
    #[oai(validator(
        min_length = 1,
        max_length = 20000,
        pattern = r"^[^\x00]*[^ \t\n\x0C\r\x00][^\x00]*$"
    ))]
    pub text: Str,
}

/// Where a broadcast went.
#[derive(Object, Debug)]
#[oai(example)]
#[oai(rename_all = "camelCase")]
pub struct BroadcastResult {
    /// Open chats of the workspace that got the message.
    pub sent_to: Vec<i64>,
    /// Closed, unknown or foreign chats that did not.
    pub not_sent_to: Vec<i64>,
}

#[OpenApi(prefix_path = "/v1")]
impl MessagesApi {
    /// Edit your message
    ///
    /// Replaces the text of a message you sent; `editedAt` records when. Other
    /// operators' messages and contacts' messages cannot be edited (403).
    #[oai(
        path = "/chats/:chatId/messages/:messageId",
        method = "patch",
        operation_id = "editMessage",
        tag = "ApiTags::Messages"
    )]
    async fn edit_message(
        &self,
        auth: OperatorAuth,
        #[oai(name = "chatId")] chat_id: Path<i64>,
        #[oai(name = "messageId")] message_id: Path<i64>,
        body: Json<EditMessage>,
    ) -> Result<Body<Message>> {
        let text = MessageText::parse(&body.0.text)?;
        let view = domain::messages::edit(&self.state.db, &auth.0, chat_id.0, message_id.0, &text).await?;
        Ok(Body(Message::new(view)))
    }

    /// Delete your message
    ///
    /// Soft-deletes a message you sent: it stays in the history with an empty text
    /// and `deletedAt` set.
    #[oai(
        path = "/chats/:chatId/messages/:messageId",
        method = "delete",
        operation_id = "deleteMessage",
        tag = "ApiTags::Messages"
    )]
    async fn delete_message(
        &self,
        auth: OperatorAuth,
        #[oai(name = "chatId")] chat_id: Path<i64>,
        #[oai(name = "messageId")] message_id: Path<i64>,
    ) -> Result<Body<Message>> {
        let view = domain::messages::delete(&self.state.db, &auth.0, chat_id.0, message_id.0).await?;
        Ok(Body(Message::new(view)))
    }

    /// Mark messages read
    ///
    /// Marks the given incoming messages read and updates their chats' unread
    /// counts. Give exactly one of `messageId` and `messageIds`.
    #[oai(
        path = "/messages/read",
        method = "put",
        operation_id = "markMessagesRead",
        tag = "ApiTags::Messages"
    )]
    async fn mark_messages_read(
        &self,
        auth: OperatorAuth,
        body: Json<MarkMessagesRead>,
    ) -> Result<Body<StateResponse>> {
        let ids = match (body.0.message_id, body.0.message_ids) {
            (Some(id), None) => vec![id.0],
            (None, Some(ids)) if !ids.is_empty() => ints(&ids),
            _ => {
                return Err(domain::Error::new(
                    domain::ErrorCode::InvalidMessageSelection,
                    "give exactly one of messageId and messageIds (not empty)",
                )
                .into());
            }
        };
        domain::messages::mark_read(&self.state.db, &auth.0, &ids).await?;
        Ok(Body(StateResponse::done()))
    }

    /// Unread counts
    ///
    /// For a dashboard's badges: unread incoming messages per chat and in total.
    #[oai(
        path = "/chats/unread",
        method = "get",
        operation_id = "getUnreadCounts",
        tag = "ApiTags::Chats"
    )]
    async fn unread_counts(&self, auth: OperatorAuth) -> Result<Json<UnreadCounts>> {
        let rows = domain::chats::unread_counts(&self.state.db, &auth.0).await?;
        Ok(Json(UnreadCounts {
            total: rows.iter().map(|(_, n)| i64::from(*n)).sum(),
            value: rows.into_iter().map(|(id, n)| (id.to_string(), n)).collect(),
        }))
    }

    /// Mark chats read
    ///
    /// Reads every chat of the workspace, or only `chatIds` (all must exist).
    #[oai(
        path = "/chats/read",
        method = "put",
        operation_id = "markChatsRead",
        tag = "ApiTags::Chats"
    )]
    async fn mark_chats_read(&self, auth: OperatorAuth, body: Json<MarkChatsRead>) -> Result<Body<StateResponse>> {
        let chat_ids = body.0.chat_ids.as_deref().map(ints);
        domain::chats::read_all(&self.state.db, &auth.0, chat_ids.as_deref()).await?;
        Ok(Body(StateResponse::done()))
    }

    /// Last activity of chats
    ///
    /// The last-activity time of up to 300 chats, to refresh a dashboard cheaply;
    /// unknown ids are left out.
    #[oai(
        path = "/chats/updated",
        method = "post",
        operation_id = "getChatsLastActivity",
        tag = "ApiTags::Chats"
    )]
    async fn chats_updated(&self, auth: OperatorAuth, body: Json<ChatIds>) -> Result<Json<LastActivity>> {
        let rows = domain::chats::last_activity(&self.state.db, &auth.0, &ints(&body.0.chat_ids)).await?;
        Ok(Json(LastActivity {
            value: rows.into_iter().map(|(id, at)| (id.to_string(), at)).collect(),
        }))
    }

    /// Broadcast a message
    ///
    /// Sends one text to up to 300 chats at once, in one transaction. Closed,
    /// unknown and foreign chats are skipped and listed in `notSentTo`.
    #[oai(
        path = "/broadcasts",
        method = "post",
        operation_id = "broadcastMessage",
        tag = "ApiTags::Messages"
    )]
    async fn broadcast(&self, auth: OperatorAuth, body: Json<Broadcast>) -> Result<Json<BroadcastResult>> {
        let text = MessageText::parse(&body.0.text)?;
        let (sent_to, not_sent_to) =
            domain::chats::broadcast(&self.state.db, &auth.0, &ints(&body.0.chat_ids), &text).await?;
        Ok(Json(BroadcastResult { sent_to, not_sent_to }))
    }
}
