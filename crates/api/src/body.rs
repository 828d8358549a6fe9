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
    let mut buffer = [0u8; RFC3339_MAX];
    match write_rfc3339(at, &mut buffer) {
        Some(text) => serializer.serialize_str(text),
        None => serializer.serialize_str(&at.to_rfc3339()),
    }
}

/// The longest timestamp `write_rfc3339` writes: `2026-11-22T05:42:54.123456789+00:00`.
const RFC3339_MAX: usize = 35;

/// `at` as chrono's `to_rfc3339` writes it, digit by digit into `buffer`, for years
/// 0–9999 (`None` for others). A chat page has some 80 timestamps; chrono formats
/// each through `fmt` into a new string, ~5 % of a chat list's CPU time.
fn write_rfc3339<'b>(at: &chrono::DateTime<chrono::Utc>, buffer: &'b mut [u8; RFC3339_MAX]) -> Option<&'b str> {
    use chrono::{Datelike, Timelike};
    let year = u32::try_from(at.year()).ok().filter(|y| *y <= 9999)?;
    let mut put = |at: usize, value: u32, digits: usize| {
        let mut value = value;
        for i in (0..digits).rev() {
            buffer[at + i] = b'0' + (value % 10) as u8;
            value /= 10;
        }
    };
    put(0, year, 4);
    put(5, at.month(), 2);
    put(8, at.day(), 2);
    put(11, at.hour(), 2);
    put(14, at.minute(), 2);
    // A leap second is kept in the nanoseconds (1_000_000_000 and up), as chrono shows it.
    let nanos = at.nanosecond();
    let (second, nanos) = if nanos >= 1_000_000_000 {
        (60, nanos - 1_000_000_000)
    } else {
        (at.second(), nanos)
    };
    put(17, second, 2);
    // As chrono's `SecondsFormat::AutoSi`: no fraction, or 3, 6 or 9 digits.
    let fraction = if nanos == 0 {
        0
    } else if nanos % 1_000_000 == 0 {
        put(20, nanos / 1_000_000, 3);
        4
    } else if nanos % 1_000 == 0 {
        put(20, nanos / 1_000, 6);
        7
    } else {
        put(20, nanos, 9);
        10
    };
    for (i, separator) in [(4, b'-'), (7, b'-'), (10, b'T'), (13, b':'), (16, b':')] {
        buffer[i] = separator;
    }
    if fraction > 0 {
        buffer[19] = b'.';
    }
    let end = 19 + fraction;
    buffer[end..end + 6].copy_from_slice(b"+00:00");
    std::str::from_utf8(&buffer[..end + 6]).ok()
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
    fn timestamps_are_written_as_chrono_writes_them() {
        use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
        let start = NaiveDate::from_ymd_opt(2024, 2, 28)
            .unwrap()
            .and_hms_opt(23, 59, 58)
            .unwrap()
            .and_utc();
        let mut cases: Vec<DateTime<Utc>> = Vec::new();
        // Every kind of fraction (none, milli, micro, nano) across a leap day and a year.
        for step in [1, 999, 1_000, 1_000_000, 123_456_789, 86_399_999_999_999] {
            for i in 0..200 {
                cases.push(start + TimeDelta::nanoseconds(step * i));
            }
        }
        cases.push(DateTime::<Utc>::MIN_UTC);
        cases.push(DateTime::<Utc>::MAX_UTC);
        cases.push(
            NaiveDate::from_ymd_opt(0, 1, 1)
                .unwrap()
                .and_hms_opt(0, 0, 0)
                .unwrap()
                .and_utc(),
        );
        cases.push(
            NaiveDate::from_ymd_opt(9999, 12, 31)
                .unwrap()
                .and_hms_nano_opt(23, 59, 59, 1_500_000_000)
                .unwrap()
                .and_utc(),
        );
        cases.push(
            NaiveDate::from_ymd_opt(10_000, 1, 1)
                .unwrap()
                .and_hms_opt(0, 0, 0)
                .unwrap()
                .and_utc(),
        );
        for at in cases {
            let mut out = Vec::new();
            super::rfc3339(&at, &mut serde_json::Serializer::new(&mut out)).unwrap();
            assert_eq!(
                String::from_utf8(out).unwrap(),
                format!("\"{}\"", at.to_rfc3339()),
                "{at:?}"
            );
        }
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
