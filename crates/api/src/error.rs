//! One error body for every failure, whether a use case refused the request or the
//! framework did (bad JSON, a failed validator, a missing parameter, a wrong content
//! type, an unknown route): `{"error": {"code", "message", "requestId"}}`.

use domain::{Error, ErrorCode};
use poem::http::StatusCode;
use poem::{IntoResponse, Response};
use poem_openapi::payload::Json;
use poem_openapi::registry::{MetaSchema, MetaSchemaRef, Registry};
use poem_openapi::types::{ParseError, ParseFromJSON, ParseResult, ToJSON, Type};
use poem_openapi::{ApiResponse, Object};
use serde_json::Value;
use std::borrow::Cow;

use crate::request_id;

/// The error itself.
#[derive(Object, Debug, Clone)]
#[oai(example)]
#[oai(rename_all = "camelCase")]
pub struct ErrorDetail {
    pub code: Code,
    /// What went wrong, for a person to read.
    pub message: String,
    /// The request's id, also sent as the `X-Request-Id` header; logs carry it too.
    pub request_id: String,
}

/// An error code, shown in the spec as the named enum `ErrorCode` with each code's
/// status and meaning, so that generated clients can match on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Code(pub ErrorCode);

impl Type for Code {
    crate::strict::scalar_type_plumbing!();

    fn name() -> Cow<'static, str> {
        "ErrorCode".into()
    }

    fn schema_ref() -> MetaSchemaRef {
        MetaSchemaRef::Reference("ErrorCode".into())
    }

    fn register(registry: &mut Registry) {
        registry.create_schema::<Self, _>("ErrorCode".into(), |_| {
            let mut description =
                String::from("A stable snake_case code for what went wrong; each code has exactly one HTTP status.\n");
            for code in ErrorCode::ALL {
                description.push_str(&format!(
                    "\n- `{}` ({}): {}",
                    code.as_str(),
                    code.status(),
                    code.meaning()
                ));
            }
            MetaSchema {
                description: Some(Box::leak(description.into_boxed_str())),
                enum_items: ErrorCode::ALL
                    .iter()
                    .map(|c| Value::String(c.as_str().into()))
                    .collect(),
                ..MetaSchema::new("string")
            }
        });
    }
}

impl ParseFromJSON for Code {
    fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
        match value.unwrap_or_default() {
            Value::String(s) => ErrorCode::ALL
                .iter()
                .find(|c| c.as_str() == s)
                .map(|c| Code(*c))
                .ok_or_else(|| ParseError::custom(format!("unknown error code {s}"))),
            other => Err(ParseError::expected_type(other)),
        }
    }
}

impl ToJSON for Code {
    fn to_json(&self) -> Option<Value> {
        Some(Value::String(self.0.as_str().into()))
    }
}

/// The body of every error answer.
#[derive(Object, Debug, Clone)]
#[oai(example)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

impl ErrorBody {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ErrorBody {
            error: ErrorDetail {
                code: Code(code),
                message: message.into(),
                request_id: request_id::current(),
            },
        }
    }
}

/// The error answers an operation can give, one variant per status.
#[derive(ApiResponse, Debug)]
pub enum ApiError {
    /// The request is malformed: bad JSON, a parameter outside its limits, a text
    /// that is empty or too long.
    #[oai(status = 400)]
    BadRequest(Json<ErrorBody>),
    /// No valid bearer token (`unauthorized`).
    #[oai(status = 401)]
    Unauthorized(Json<ErrorBody>),
    /// The token's role may not do this (`forbidden`).
    #[oai(status = 403)]
    Forbidden(Json<ErrorBody>),
    /// The chat, contact, operator, message or token is not in the caller's workspace.
    #[oai(status = 404)]
    NotFound(Json<ErrorBody>),
    /// The request conflicts with the current state (`email_taken`,
    /// `operator_inactive`, `idempotency_key_reused`).
    #[oai(status = 409)]
    Conflict(Json<ErrorBody>),
    /// `If-Match` names a version the chat no longer has (`version_mismatch`).
    #[oai(status = 412)]
    PreconditionFailed(Json<ErrorBody>),
    /// The body is larger than 1 MiB (`payload_too_large`).
    #[oai(status = 413)]
    PayloadTooLarge(Json<ErrorBody>),
    /// The body is not `application/json` (`unsupported_media_type`).
    #[oai(status = 415)]
    UnsupportedMediaType(Json<ErrorBody>),
    /// Too many requests with this token (`rate_limited`); `Retry-After` says when to
    /// try again.
    #[oai(status = 429)]
    TooManyRequests(Json<ErrorBody>),
    /// The server failed (`internal`); the log has the cause under the request id.
    #[oai(status = 500)]
    Internal(Json<ErrorBody>),
    /// The request took longer than 30 s (`timeout`), or the database cannot be
    /// reached (`unavailable`); try again.
    #[oai(status = 503)]
    Unavailable(Json<ErrorBody>),
}

impl From<Error> for ApiError {
    fn from(err: Error) -> Self {
        log(&err);
        let body = Json(ErrorBody::new(err.code, err.message));
        match err.code.status() {
            400 => ApiError::BadRequest(body),
            401 => ApiError::Unauthorized(body),
            403 => ApiError::Forbidden(body),
            404 => ApiError::NotFound(body),
            409 => ApiError::Conflict(body),
            412 => ApiError::PreconditionFailed(body),
            413 => ApiError::PayloadTooLarge(body),
            415 => ApiError::UnsupportedMediaType(body),
            429 => ApiError::TooManyRequests(body),
            503 => ApiError::Unavailable(body),
            _ => ApiError::Internal(body),
        }
    }
}

/// Internal errors are logged with their cause chain; refusals at debug level.
fn log(err: &Error) {
    if err.code.status() >= 500 {
        let mut chain = String::new();
        let mut source = std::error::Error::source(err);
        while let Some(cause) = source {
            chain.push_str(": ");
            chain.push_str(&cause.to_string());
            source = cause.source();
        }
        tracing::error!(code = err.code.as_str(), "{}{}", err.message, chain);
    } else {
        tracing::debug!(code = err.code.as_str(), "{}", err.message);
    }
}

/// A response in our error body with the code's status.
pub fn error_response(code: ErrorCode, message: impl Into<String>) -> Response {
    let body = ErrorBody::new(code, message);
    let status = StatusCode::from_u16(code.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    Json(body).with_status(status).into_response()
}

/// Turns any error that reached the edge of the app into our error body.
pub fn framework_error_response(err: poem::Error) -> Response {
    // An operation's own error answer (`ApiError`) travels as an error made from a
    // response; it already has our body.
    if err.is_from_response() {
        return err.into_response();
    }
    let (code, message) = classify(&err);
    if code == ErrorCode::Internal {
        tracing::error!(status = %err.status(), "unhandled error: {err}");
        return error_response(code, "the server failed to answer this request");
    }
    tracing::debug!(code = code.as_str(), "{message}");
    let mut response = error_response(code, message);
    if code == ErrorCode::Unauthorized {
        response
            .headers_mut()
            .insert("WWW-Authenticate", "Bearer".parse().expect("static header"));
    }
    response
}

fn classify(err: &poem::Error) -> (ErrorCode, String) {
    use poem_openapi::error::{
        AuthorizationError, ContentTypeError, ParseParamError, ParsePathError, ParseRequestPayloadError,
    };
    if let Some(e) = err.downcast_ref::<Error>() {
        log(e);
        return (e.code, e.message.clone());
    }
    if let Some(e) = err.downcast_ref::<ParseParamError>() {
        return (
            param_code(e.name, &e.reason),
            format!("parameter `{}`: {}", e.name, e.reason),
        );
    }
    if let Some(e) = err.downcast_ref::<ParsePathError>() {
        return (
            ErrorCode::InvalidPathParameter,
            format!("path parameter `{}`: {}", e.name, e.reason),
        );
    }
    if let Some(e) = err.downcast_ref::<ParseRequestPayloadError>() {
        return (payload_code(&e.reason), format!("request body: {}", e.reason));
    }
    if let Some(e) = err.downcast_ref::<ContentTypeError>() {
        return (ErrorCode::UnsupportedMediaType, format!("{e}; send application/json"));
    }
    if err.is::<AuthorizationError>() {
        return (
            ErrorCode::Unauthorized,
            "a valid operator bearer token is required".into(),
        );
    }
    match err.status() {
        StatusCode::NOT_FOUND => (ErrorCode::RouteNotFound, "no route matches this path".into()),
        StatusCode::METHOD_NOT_ALLOWED => (
            ErrorCode::MethodNotAllowed,
            "this path does not take this method".into(),
        ),
        StatusCode::PAYLOAD_TOO_LARGE => (
            ErrorCode::PayloadTooLarge,
            format!("the body is larger than {} bytes", domain::limits::MAX_BODY_BYTES),
        ),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => (ErrorCode::UnsupportedMediaType, err.to_string()),
        StatusCode::BAD_REQUEST => (ErrorCode::InvalidParameter, err.to_string()),
        _ => (ErrorCode::Internal, err.to_string()),
    }
}

/// Query parameters whose failures have codes of their own.
fn param_code(name: &str, reason: &str) -> ErrorCode {
    match name {
        "page" => ErrorCode::InvalidPage,
        "limitation" => ErrorCode::InvalidLimitation,
        "state" => ErrorCode::InvalidState,
        "selector[name]" => ErrorCode::InvalidSelector,
        "term" if reason.contains("maxLength") => ErrorCode::TermTooLong,
        "Idempotency-Key" => ErrorCode::InvalidIdempotencyKey,
        "limit" => ErrorCode::InvalidLimit,
        "types" => ErrorCode::InvalidEventType,
        _ => ErrorCode::InvalidParameter,
    }
}

/// Body fields whose validator failures have codes of their own; the framework
/// reports them as "field `NAME` verification failed. VALIDATOR(…)".
const FIELD_CODES: &[(&str, &str, ErrorCode)] = &[
    ("text", "maxLength", ErrorCode::TextTooLong),
    ("text", "minLength", ErrorCode::TextEmpty),
    ("text", "pattern", ErrorCode::TextEmpty),
    ("content", "maxLength", ErrorCode::TextTooLong),
    ("content", "minLength", ErrorCode::TextEmpty),
    ("content", "pattern", ErrorCode::TextEmpty),
    ("email", "maxLength", ErrorCode::InvalidEmail),
    ("email", "pattern", ErrorCode::InvalidEmail),
    ("name", "", ErrorCode::InvalidField),
    ("kind", "", ErrorCode::InvalidField),
    ("label", "", ErrorCode::InvalidField),
    ("externalId", "", ErrorCode::InvalidField),
    ("externalMessageId", "", ErrorCode::InvalidField),
    ("username", "", ErrorCode::InvalidField),
    ("phone", "", ErrorCode::InvalidField),
    ("url", "", ErrorCode::InvalidUrl),
    ("secret", "", ErrorCode::InvalidSecret),
    ("chatIds", "maxItems", ErrorCode::TooManyChats),
    ("messageIds", "maxItems", ErrorCode::TooManyMessages),
];

fn payload_code(reason: &str) -> ErrorCode {
    if reason.contains("\"EventType\"") {
        return ErrorCode::InvalidEventType;
    }
    if let Some(rest) = reason.split("field `").nth(1)
        && let Some((field, after)) = rest.split_once("` verification failed. ")
    {
        return FIELD_CODES
            .iter()
            .find(|(f, validator, _)| *f == field && after.starts_with(validator))
            .map_or(ErrorCode::InvalidBody, |(_, _, code)| *code);
    }
    // serde_json's syntax errors name a line and column; shape errors come from the schema.
    if reason.contains(" at line ") && reason.contains(" column ") {
        ErrorCode::MalformedJson
    } else {
        ErrorCode::InvalidBody
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validator_failures_map_to_their_field_codes() {
        assert_eq!(
            payload_code(r#"failed to parse "SendMessage": field `text` verification failed. maxLength(20000)"#),
            ErrorCode::TextTooLong
        );
        assert_eq!(
            payload_code(r#"failed to parse "X": field `other` verification failed. maxLength(3)"#),
            ErrorCode::InvalidBody
        );
    }

    #[test]
    fn json_syntax_errors_are_malformed_json() {
        let syntax = serde_json::from_str::<serde_json::Value>("{").unwrap_err().to_string();
        assert_eq!(payload_code(&syntax), ErrorCode::MalformedJson);
    }
}
