//! Black-box tests: each starts a real server on port 0 over a fresh database and
//! talks HTTP to it, on SQLite and (with `TEST_POSTGRES_URL`) on PostgreSQL.

mod support;

mod bad_input;
mod channels;
mod chats;
mod durability;
mod events;
mod hardening;
mod isolation;
mod message_operations;
mod messages;
mod operations;
mod operators;
mod process;
mod search;
mod webhooks;
