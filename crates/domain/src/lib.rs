//! Switchboard's use cases: what an operator, an admin and the command line can do
//! with chats, messages, contacts and operators. Every query is scoped to the caller's
//! workspace here, so the HTTP layer cannot forget to. No HTTP types appear in this crate.

pub mod auth;
pub mod cache;
pub mod channels;
pub mod chats;
pub mod contacts;
pub mod db;
pub mod demo;
mod direct;
pub mod error;
pub mod events;
mod fold;
mod inbound;
pub mod ingest;
pub mod limits;
pub mod messages;
pub mod operators;
pub mod paging;
pub mod pgread;
mod plans;
mod rows;
pub mod seed;
pub mod text;
pub mod webhooks;
pub mod workspaces;

pub use auth::{Caller, Role};
pub use error::{Error, ErrorCode, Result};
