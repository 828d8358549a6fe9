//! The examples the spec shows for every request and response body: one small,
//! consistent story (Olena writes in on Telegram about an invoice; Taras answers,
//! then forwards the chat to Iryna). Written as typed values, so an example cannot
//! drift from its schema.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use poem_openapi::types::Example;

use crate::channels::{
    ChannelList, CreateChannel, InboundContact, InboundMessage, InboundResult, Outbox, OutboxMessage, ReportedStatus,
    StatusReport,
};
use crate::chats::{ForwardRequest, SendChatMessage, SendContactMessage};
use crate::error::{Code, ErrorBody, ErrorDetail};
use crate::events::{Event, EventPage, EventType};
use crate::messages::{
    Broadcast, BroadcastResult, ChatIds, EditMessage, LastActivity, MarkChatsRead, MarkMessagesRead, UnreadCounts,
};
use crate::operations::Health;
use crate::operators::{CreateOperator, CreateToken, IssuedToken, UpdateOperator};
use crate::strict::{Int, Str};
use crate::webhooks::{CreateWebhook, Delivery, DeliveryList, DeliveryStatus, Webhook, WebhookList};
use crate::wire::*;

fn at(time: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(time)
        .expect("an RFC 3339 example time")
        .with_timezone(&Utc)
}

fn text(s: &str) -> Str {
    Str(s.to_owned())
}

fn cursor(total: u64) -> Cursor {
    Cursor {
        page: 1,
        pages: 1,
        limitation: 20,
        total,
        total_is_exact: true,
    }
}

fn taras() -> OperatorRef {
    OperatorRef {
        id: 2,
        name: "Taras Melnyk".into(),
    }
}

fn iryna() -> OperatorRef {
    OperatorRef {
        id: 4,
        name: "Iryna Shevchenko".into(),
    }
}

impl Example for Cursor {
    fn example() -> Self {
        cursor(1)
    }
}

impl Example for StateResponse {
    fn example() -> Self {
        StateResponse::done()
    }
}

impl Example for Channel {
    fn example() -> Self {
        Channel {
            id: 1,
            kind: "telegram".into(),
            name: "Support bot".into(),
        }
    }
}

impl Example for Contact {
    fn example() -> Self {
        Contact {
            id: 7,
            external_id: "tg-381204477".into(),
            name: "Olena Kovalenko".into(),
            username: Some("olena_k".into()),
            phone: Some("+380501234567".into()),
            email: None,
            channel: Channel::example(),
        }
    }
}

impl Example for OperatorRef {
    fn example() -> Self {
        taras()
    }
}

impl Example for LastMessage {
    fn example() -> Self {
        LastMessage {
            id: 311,
            text: "Hello! I was charged twice for invoice 2291.".into(),
            direction: Direction::Incoming,
            created_at: at("2026-11-20T09:14:05Z"),
        }
    }
}

impl Example for Chat {
    fn example() -> Self {
        Chat {
            id: 42,
            name: "Olena Kovalenko".into(),
            state: ChatState::Open,
            is_closed: false,
            contact: Contact::example(),
            operator: Some(taras()),
            unread_messages: 1,
            last_message: Some(LastMessage::example()),
            created_at: at("2026-11-20T09:14:05Z"),
            updated_at: at("2026-11-20T09:14:05Z"),
            last_activity_at: at("2026-11-20T09:14:05Z"),
            closed_at: None,
            version: 3,
        }
    }
}

impl Example for MessageContent {
    fn example() -> Self {
        MessageContent {
            kind: ContentType::Text,
            text: "Sorry about that! The second charge is refunded today.".into(),
            media_url: None,
        }
    }
}

impl Example for Sender {
    fn example() -> Self {
        Sender {
            kind: SenderType::Operator,
            id: Some(2),
            name: Some("Taras Melnyk".into()),
        }
    }
}

impl Example for Message {
    fn example() -> Self {
        Message {
            id: 312,
            chat_id: 42,
            direction: Direction::Outgoing,
            internal: false,
            content: MessageContent::example(),
            sender: Sender::example(),
            status: MessageStatus::Pending,
            local_id: Some("5b0e6f0c-3f1a-4c55-9a43-1f1c2c8e7d10".into()),
            created_at: at("2026-11-20T09:16:40Z"),
            delivered_at: None,
            seen_at: None,
            edited_at: None,
            deleted_at: None,
        }
    }
}

impl Example for Operator {
    fn example() -> Self {
        Operator {
            id: 4,
            name: "Iryna Shevchenko".into(),
            email: "iryna@example.com".into(),
            role: OperatorRole::Operator,
            active: true,
            created_at: at("2026-11-02T08:00:00Z"),
        }
    }
}

impl Example for Assignment {
    fn example() -> Self {
        Assignment {
            id: 9,
            chat_id: 42,
            from: Some(taras()),
            to: Some(iryna()),
            by: Some(taras()),
            text: "Billing question, please call back".into(),
            created_at: at("2026-11-20T09:20:00Z"),
        }
    }
}

impl Example for ChatList {
    fn example() -> Self {
        ChatList {
            cursor: cursor(1),
            collection: vec![Chat::example()],
        }
    }
}

impl Example for MessageList {
    fn example() -> Self {
        MessageList {
            cursor: cursor(1),
            collection: vec![Message::example()],
        }
    }
}

impl Example for OperatorList {
    fn example() -> Self {
        OperatorList {
            cursor: cursor(1),
            collection: vec![Operator::example()],
        }
    }
}

impl Example for AssignmentList {
    fn example() -> Self {
        AssignmentList {
            cursor: cursor(1),
            collection: vec![Assignment::example()],
        }
    }
}

impl Example for ForwardRequest {
    fn example() -> Self {
        ForwardRequest {
            text: text("Billing question, please call back"),
        }
    }
}

impl Example for SendChatMessage {
    fn example() -> Self {
        SendChatMessage {
            text: text("Sorry about that! The second charge is refunded today."),
            internal: false,
        }
    }
}

impl Example for SendContactMessage {
    fn example() -> Self {
        SendContactMessage {
            kind: ContentType::Text,
            content: text("Anything else I can do?"),
        }
    }
}

impl Example for EditMessage {
    fn example() -> Self {
        EditMessage {
            text: text("Sorry about that! The second charge is refunded today, within 3 days at the latest."),
        }
    }
}

impl Example for MarkMessagesRead {
    fn example() -> Self {
        MarkMessagesRead {
            message_id: Some(Int(311)),
            message_ids: None,
        }
    }
}

impl Example for MarkChatsRead {
    fn example() -> Self {
        MarkChatsRead {
            chat_ids: Some(vec![Int(42), Int(43)]),
        }
    }
}

impl Example for ChatIds {
    fn example() -> Self {
        ChatIds {
            chat_ids: vec![Int(42), Int(43)],
        }
    }
}

impl Example for UnreadCounts {
    fn example() -> Self {
        UnreadCounts {
            total: 3,
            value: HashMap::from([("42".to_owned(), 1), ("43".to_owned(), 2)]),
        }
    }
}

impl Example for LastActivity {
    fn example() -> Self {
        LastActivity {
            value: HashMap::from([
                ("42".to_owned(), at("2026-11-20T09:16:40Z")),
                ("43".to_owned(), at("2026-11-20T08:02:11Z")),
            ]),
        }
    }
}

impl Example for Broadcast {
    fn example() -> Self {
        Broadcast {
            chat_ids: vec![Int(42), Int(43), Int(44)],
            text: text("Our office is closed on Monday; we answer again on Tuesday at 9:00."),
        }
    }
}

impl Example for BroadcastResult {
    fn example() -> Self {
        BroadcastResult {
            sent_to: vec![42, 43],
            not_sent_to: vec![44],
        }
    }
}

impl Example for CreateChannel {
    fn example() -> Self {
        CreateChannel {
            kind: text("telegram"),
            name: text("Support bot"),
        }
    }
}

impl Example for ChannelList {
    fn example() -> Self {
        ChannelList {
            cursor: cursor(1),
            collection: vec![Channel::example()],
        }
    }
}

impl Example for InboundContact {
    fn example() -> Self {
        InboundContact {
            external_id: text("tg-381204477"),
            name: text("Olena Kovalenko"),
            username: Some(text("olena_k")),
            phone: Some(text("+380501234567")),
            email: None,
        }
    }
}

impl Example for InboundMessage {
    fn example() -> Self {
        InboundMessage {
            contact: InboundContact::example(),
            external_message_id: text("tg-msg-99120"),
            text: text("Hello! I was charged twice for invoice 2291."),
            sent_at: Some(at("2026-11-20T09:14:03Z")),
        }
    }
}

impl Example for InboundResult {
    fn example() -> Self {
        InboundResult {
            message_id: 311,
            chat_id: 42,
            contact_id: 7,
        }
    }
}

impl Example for OutboxMessage {
    fn example() -> Self {
        OutboxMessage {
            message: Message::example(),
            contact_external_id: "tg-381204477".into(),
        }
    }
}

impl Example for Outbox {
    fn example() -> Self {
        Outbox {
            collection: vec![OutboxMessage::example()],
            next_after: Some(312),
        }
    }
}

impl Example for StatusReport {
    fn example() -> Self {
        StatusReport {
            status: ReportedStatus::Delivered,
            at: Some(at("2026-11-20T09:16:42Z")),
        }
    }
}

impl Example for ErrorDetail {
    fn example() -> Self {
        ErrorDetail {
            code: Code(domain::ErrorCode::ChatNotFound),
            message: "chat 42 not found".into(),
            request_id: "9f1c2a7e4b8d4e0f8a6b3c2d1e0f9a8b".into(),
        }
    }
}

impl Example for ErrorBody {
    fn example() -> Self {
        ErrorBody {
            error: ErrorDetail::example(),
        }
    }
}

impl Example for Event {
    fn example() -> Self {
        Event {
            id: 1207,
            kind: EventType::MessageCreated,
            chat_id: Some(42),
            payload: poem_openapi::types::ToJSON::to_json(&Message::example()).unwrap_or_default(),
            created_at: at("2026-11-20T09:16:40Z"),
        }
    }
}

impl Example for EventPage {
    fn example() -> Self {
        EventPage {
            collection: vec![Event::example()],
            next_after: 1207,
        }
    }
}

impl Example for Health {
    fn example() -> Self {
        Health { status: "ok".into() }
    }
}

impl Example for CreateOperator {
    fn example() -> Self {
        CreateOperator {
            name: text("Iryna Shevchenko"),
            email: text("iryna@example.com"),
            role: OperatorRole::Operator,
        }
    }
}

impl Example for UpdateOperator {
    fn example() -> Self {
        UpdateOperator { active: false }
    }
}

impl Example for CreateToken {
    fn example() -> Self {
        CreateToken {
            label: text("Iryna's laptop"),
        }
    }
}

impl Example for IssuedToken {
    fn example() -> Self {
        IssuedToken {
            id: 12,
            token: "sbo_3b9d2c51e0a84f7c9d6e1a2b3c4d5e6f".into(),
        }
    }
}

impl Example for CreateWebhook {
    fn example() -> Self {
        CreateWebhook {
            url: text("https://crm.example.com/hooks/switchboard"),
            types: vec![EventType::MessageCreated, EventType::ChatForwarded],
            secret: text("a-long-random-shared-secret"),
        }
    }
}

impl Example for Webhook {
    fn example() -> Self {
        Webhook {
            id: 3,
            url: "https://crm.example.com/hooks/switchboard".into(),
            types: vec![EventType::MessageCreated, EventType::ChatForwarded],
            active: true,
            created_at: at("2026-11-10T12:00:00Z"),
        }
    }
}

impl Example for WebhookList {
    fn example() -> Self {
        WebhookList {
            collection: vec![Webhook::example()],
        }
    }
}

impl Example for Delivery {
    fn example() -> Self {
        Delivery {
            id: 88,
            event_id: 1207,
            event_type: EventType::MessageCreated,
            status: DeliveryStatus::Delivered,
            attempts: 1,
            next_attempt_at: at("2026-11-20T09:16:40Z"),
            last_status_code: Some(204),
            last_error: None,
            created_at: at("2026-11-20T09:16:40Z"),
            delivered_at: Some(at("2026-11-20T09:16:41Z")),
        }
    }
}

impl Example for DeliveryList {
    fn example() -> Self {
        DeliveryList {
            cursor: cursor(1),
            collection: vec![Delivery::example()],
        }
    }
}
