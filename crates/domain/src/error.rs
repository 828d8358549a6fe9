//! The one error type of the domain and the exhaustive table of error codes. Each
//! code has exactly one HTTP status; the API layer only reads this table.

use std::fmt;

macro_rules! error_codes {
    ($( $(#[doc = $doc:literal])* $variant:ident = ($code:literal, $status:literal), )*) => {
        /// Every error code the API can answer, each with its one HTTP status.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum ErrorCode {
            $( $(#[doc = $doc])* $variant, )*
        }

        impl ErrorCode {
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant,)*];

            /// The snake_case code clients match on.
            pub fn as_str(self) -> &'static str {
                match self { $(ErrorCode::$variant => $code,)* }
            }

            /// The HTTP status this code is answered with.
            pub fn status(self) -> u16 {
                match self { $(ErrorCode::$variant => $status,)* }
            }

            /// When the code is answered, for the API's documentation.
            pub fn meaning(self) -> &'static str {
                match self { $(ErrorCode::$variant => concat!($($doc),*).trim_ascii(),)* }
            }
        }
    };
}

error_codes! {
    /// The request body is not valid JSON.
    MalformedJson = ("malformed_json", 400),
    /// The body is JSON but not of the expected shape.
    InvalidBody = ("invalid_body", 400),
    /// A query or header parameter is missing or malformed.
    InvalidParameter = ("invalid_parameter", 400),
    /// A path parameter is not a valid id.
    InvalidPathParameter = ("invalid_path_parameter", 400),
    /// `page` is below 1.
    InvalidPage = ("invalid_page", 400),
    /// `limitation` is outside 1..20.
    InvalidLimitation = ("invalid_limitation", 400),
    /// `state` is neither `open` nor `closed`.
    InvalidState = ("invalid_state", 400),
    /// `selector[name]` is not `none`, `private` or `unread`.
    InvalidSelector = ("invalid_selector", 400),
    /// `selector[name]=private` needs `selector[operatorId]`.
    OperatorIdRequired = ("operator_id_required", 400),
    /// `term` is longer than 256 characters.
    TermTooLong = ("term_too_long", 400),
    /// A message or forward text is empty or only white space.
    TextEmpty = ("text_empty", 400),
    /// A message text is longer than 20,000 characters.
    TextTooLong = ("text_too_long", 400),
    /// A name, e-mail or label is empty or too long.
    InvalidField = ("invalid_field", 400),
    /// An e-mail address is not valid.
    InvalidEmail = ("invalid_email", 400),
    /// The `Idempotency-Key` header is empty or too long.
    InvalidIdempotencyKey = ("invalid_idempotency_key", 400),
    /// `limit` is outside 1..1024 (message windows) or 1..100 (outbox).
    InvalidLimit = ("invalid_limit", 400),
    /// More than 300 chats in one request.
    TooManyChats = ("too_many_chats", 400),
    /// More than 300 messages in one request.
    TooManyMessages = ("too_many_messages", 400),
    /// Give exactly one of `messageId` and `messageIds`.
    InvalidMessageSelection = ("invalid_message_selection", 400),
    /// Parameters that cannot be used together, e.g. `page` with `before`.
    ConflictingParameters = ("conflicting_parameters", 400),
    /// `from` is after `to`.
    InvalidTimeWindow = ("invalid_time_window", 400),
    /// A channel may report only `delivered`, `read` or `failed`.
    InvalidStatus = ("invalid_status", 400),
    /// An event type that does not exist.
    InvalidEventType = ("invalid_event_type", 400),
    /// A webhook URL that is not an absolute http(s) URL.
    InvalidUrl = ("invalid_url", 400),
    /// A webhook secret shorter than 16 or longer than 200 characters.
    InvalidSecret = ("invalid_secret", 400),
    /// No valid bearer token was given.
    Unauthorized = ("unauthorized", 401),
    /// Only the operator who wrote a message may edit or delete it.
    NotMessageAuthor = ("not_message_author", 403),
    /// The token is valid but its role may not do this.
    Forbidden = ("forbidden", 403),
    /// No such chat in the caller's workspace.
    ChatNotFound = ("chat_not_found", 404),
    /// No such operator in the caller's workspace.
    OperatorNotFound = ("operator_not_found", 404),
    /// No such contact in the caller's workspace.
    ContactNotFound = ("contact_not_found", 404),
    /// No such message in the caller's workspace.
    MessageNotFound = ("message_not_found", 404),
    /// No such token in the caller's workspace.
    TokenNotFound = ("token_not_found", 404),
    /// No such channel in the caller's workspace.
    ChannelNotFound = ("channel_not_found", 404),
    /// No such webhook in the caller's workspace.
    WebhookNotFound = ("webhook_not_found", 404),
    /// No route matches the path.
    RouteNotFound = ("route_not_found", 404),
    /// The route exists but not with this method.
    MethodNotAllowed = ("method_not_allowed", 405),
    /// An operator with this e-mail already exists in the workspace.
    EmailTaken = ("email_taken", 409),
    /// The chat cannot be forwarded to an inactive operator.
    OperatorInactive = ("operator_inactive", 409),
    /// The `Idempotency-Key` was used before with a different request.
    IdempotencyKeyReused = ("idempotency_key_reused", 409),
    /// The message was deleted and cannot be edited.
    MessageDeleted = ("message_deleted", 409),
        /// `If-Match` names a version the chat no longer has.
    VersionMismatch = ("version_mismatch", 412),
    /// The body is larger than 1 MiB.
    PayloadTooLarge = ("payload_too_large", 413),
    /// The body is not `application/json`.
    UnsupportedMediaType = ("unsupported_media_type", 415),
        /// Too many requests with this token; see `Retry-After`.
    RateLimited = ("rate_limited", 429),
    /// Something failed inside the server; the log has the cause.
    Internal = ("internal", 500),
        /// The database cannot be reached.
    Unavailable = ("unavailable", 503),
    /// The request took longer than the server allows (30 s).
    Timeout = ("timeout", 503),
}

/// A failed use case: a code from the table, a message for the reader, and for
/// internal errors the cause, which is logged and never answered.
#[derive(Debug)]
pub struct Error {
    pub code: ErrorCode,
    pub message: String,
    pub source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Error {
            code,
            message: message.into(),
            source: None,
        }
    }

    pub fn internal(source: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Error {
            code: ErrorCode::Internal,
            message: "the server failed to answer this request".into(),
            source: Some(source.into()),
        }
    }

    pub fn chat_not_found(id: i64) -> Self {
        Error::new(ErrorCode::ChatNotFound, format!("chat {id} was not found"))
    }

    pub fn operator_not_found(id: i64) -> Self {
        Error::new(ErrorCode::OperatorNotFound, format!("operator {id} was not found"))
    }

    pub fn contact_not_found(id: i64) -> Self {
        Error::new(ErrorCode::ContactNotFound, format!("contact {id} was not found"))
    }

    pub fn message_not_found(id: i64) -> Self {
        Error::new(ErrorCode::MessageNotFound, format!("message {id} was not found"))
    }

    pub fn forbidden(what: &str) -> Self {
        Error::new(ErrorCode::Forbidden, format!("only an admin may {what}"))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.message)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_deref().map(|e| e as &(dyn std::error::Error + 'static))
    }
}

impl From<sea_orm::DbErr> for Error {
    fn from(err: sea_orm::DbErr) -> Self {
        Error::internal(err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn every_code_is_unique_snake_case_with_an_error_status() {
        let mut seen = HashSet::new();
        for code in ErrorCode::ALL {
            let s = code.as_str();
            assert!(seen.insert(s), "{s} appears twice");
            assert!(
                s.chars().all(|c| c.is_ascii_lowercase() || c == '_'),
                "{s} is not snake_case"
            );
            assert!((400..600).contains(&code.status()), "{s} has status {}", code.status());
        }
    }
}
