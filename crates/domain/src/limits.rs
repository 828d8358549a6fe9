//! Every limit of the API in one place; the HTTP layer puts them into the spec.

/// Largest `limitation` (page size) of a list.
pub const MAX_LIMITATION: u64 = 20;
/// Largest `page`: keeps every offset far inside what databases accept.
pub const MAX_PAGE: i64 = 1_000_000_000;
/// `limitation` when the caller gives none.
pub const DEFAULT_LIMITATION: u64 = 20;
/// Longest message text, in characters.
pub const MAX_TEXT_CHARS: usize = 20_000;
/// Longest search term, in characters.
pub const MAX_TERM_CHARS: usize = 256;
/// Longest forward text, in characters.
pub const MAX_FORWARD_TEXT_CHARS: usize = 2_000;
/// Up to this many matching chats the list's `total` is exact; beyond it `total` is
/// this cap plus one, a lower bound, and `totalIsExact` is false. Counting stops there
/// so that a list never scans a whole workspace to count it.
pub const TOTAL_CAP: u64 = 10_000;
/// Longest `Idempotency-Key`.
pub const MAX_IDEMPOTENCY_KEY_CHARS: usize = 128;
/// Longest names, labels, e-mails and similar short strings.
pub const MAX_NAME_CHARS: usize = 200;
/// Largest request body, in bytes.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
/// Most chats one broadcast, mark-read or `updated` request may name.
pub const MAX_CHATS_PER_REQUEST: usize = 300;
/// Most message ids one mark-read request may name.
pub const MAX_MESSAGES_PER_REQUEST: usize = 300;
/// Largest `limit` of a message window (keyset or time range).
pub const MAX_WINDOW_LIMIT: u64 = 1024;
/// Largest `limit` of a connector's outbox pull.
pub const MAX_OUTBOX_LIMIT: u64 = 100;
/// `limit` of an outbox pull when the connector gives none.
pub const DEFAULT_OUTBOX_LIMIT: u64 = 50;
/// Longest time one request may take before it is answered 503 `timeout`.
pub const REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);
