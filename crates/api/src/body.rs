//! `Body<T>`: a JSON response written straight from the wire type.
//!
//! poem-openapi's `Json<T>` builds a `serde_json::Value` tree of the response first
//! (a map per object, a string per timestamp) and then writes that tree; for a page
//! of 20 chats that was ~10 % of the request's CPU. `Body<T>` documents exactly what
//! `Json<T>` documents (same content type and schema) and serialises `T` with its
//! serde derive, which the wire types keep equal to their `ToJSON` form (a unit test
//! compares the two for every example).

use poem::{IntoResponse, Response};
use poem_openapi::ApiResponse;
use poem_openapi::payload::Payload;
use poem_openapi::registry::{MetaMediaType, MetaResponse, MetaResponses, MetaSchemaRef, Registry};
use poem_openapi::types::Type;

/// A JSON response body, serialised without an intermediate `Value`.
#[derive(Debug, Clone)]
pub struct Body<T>(pub T);

/// The content type `Json<T>` answers with.
const CONTENT_TYPE: &str = "application/json; charset=utf-8";

impl<T: Type> Payload for Body<T> {
    const CONTENT_TYPE: &'static str = CONTENT_TYPE;

    fn check_content_type(content_type: &str) -> bool {
        <poem_openapi::payload::Json<T> as Payload>::check_content_type(content_type)
    }

    fn schema_ref() -> MetaSchemaRef {
        T::schema_ref()
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }
}

impl<T: serde::Serialize + Send> IntoResponse for Body<T> {
    fn into_response(self) -> Response {
        match serde_json::to_vec(&self.0) {
            Ok(bytes) => Response::builder().content_type(CONTENT_TYPE).body(bytes),
            Err(err) => {
                tracing::error!("writing a response body failed: {err}");
                poem::http::StatusCode::INTERNAL_SERVER_ERROR.into_response()
            }
        }
    }
}

impl<T: Type + serde::Serialize + Send> ApiResponse for Body<T> {
    fn meta() -> MetaResponses {
        MetaResponses {
            responses: vec![MetaResponse {
                description: "",
                status: Some(200),
                status_range: None,
                content: vec![MetaMediaType {
                    content_type: CONTENT_TYPE,
                    schema: Self::schema_ref(),
                }],
                headers: vec![],
            }],
        }
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }
}

/// RFC 3339 timestamps as `ToJSON` writes them (`+00:00`, nanoseconds kept).
pub(crate) fn rfc3339<S: serde::Serializer>(
    at: &chrono::DateTime<chrono::Utc>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&at.to_rfc3339())
}

/// `rfc3339` for an optional timestamp (`null` when absent).
pub(crate) fn rfc3339_or_null<S: serde::Serializer>(
    at: &Option<chrono::DateTime<chrono::Utc>>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match at {
        Some(at) => rfc3339(at, serializer),
        None => serializer.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    use poem_openapi::types::{Example, ToJSON};

    use crate::wire::*;

    fn same<T: ToJSON + serde::Serialize>(value: &T) {
        let direct = serde_json::to_value(value).unwrap();
        let documented = value.to_json().unwrap();
        assert_eq!(direct, documented);
    }

    #[test]
    fn bodies_are_written_as_their_documented_json() {
        same(&Cursor::example());
        same(&StateResponse::example());
        same(&Contact::example());
        same(&Chat::example());
        same(&ChatList::example());
        same(&Message::example());
        same(&MessageList::example());
        same(&AssignmentList::example());

        // Every optional field absent, and every enum value.
        let mut chat = Chat::example();
        chat.operator = None;
        chat.last_message = None;
        chat.closed_at = None;
        chat.contact.username = None;
        chat.contact.phone = None;
        chat.contact.email = None;
        same(&chat);
        chat.state = ChatState::Closed;
        chat.closed_at = Some(chrono::Utc::now());
        same(&chat);

        let mut message = Message::example();
        for (direction, status, sender) in [
            (Direction::Incoming, MessageStatus::Pending, SenderType::Contact),
            (Direction::Outgoing, MessageStatus::Delivered, SenderType::Operator),
            (Direction::Outgoing, MessageStatus::Read, SenderType::System),
            (Direction::Outgoing, MessageStatus::Failed, SenderType::System),
        ] {
            message.direction = direction;
            message.status = status;
            message.sender.kind = sender;
            same(&message);
        }
        message.local_id = None;
        message.content.media_url = None;
        message.sender.id = None;
        message.sender.name = None;
        message.delivered_at = None;
        message.seen_at = None;
        message.edited_at = None;
        message.deleted_at = None;
        same(&message);
        message.edited_at = Some(chrono::Utc::now());
        message.deleted_at = Some(chrono::DateTime::UNIX_EPOCH);
        same(&message);

        let mut assignment = AssignmentList::example();
        for a in &mut assignment.collection {
            a.from = None;
            a.by = None;
        }
        same(&assignment);
    }
}
