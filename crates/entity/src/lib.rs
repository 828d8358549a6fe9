//! Switchboard's tables as sea-orm 2.0 dense entities: columns and relations, nothing else.
//! The schema itself lives in the `migration` crate.

pub mod api_token;
pub mod assignment;
pub mod channel;
pub mod chat;
pub mod contact;
pub mod event;
pub mod message;
pub mod operator;
pub mod webhook;
pub mod webhook_delivery;
pub mod workspace;
