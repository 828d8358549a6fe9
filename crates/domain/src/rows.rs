//! Rows decoded by position. sea-orm selects an entity's columns in the order of its
//! model's fields; reading them back by name would format and look up a name for
//! every column of every row (a third of a chat list's CPU time), so the hot reads
//! build their statements with sea-orm (a message window's by hand, in the same
//! order: `messages::window_statement`) and read the columns in that order.

use entity::{chat, contact, message};

use crate::direct::Row;
use crate::error::Result;

/// Reads the column at `*$at` (a `&mut usize`) and moves past it.
macro_rules! next_column {
    ($row:expr, $at:expr) => {{
        let value = $crate::direct::Row::get($row, *$at)?;
        *$at += 1;
        value
    }};
}

/// An entity's model from the row's columns starting at `*$at` (a `&mut usize`), one
/// per field, in field order, moving past them.
macro_rules! model_at {
    ($row:expr, $at:expr, $entity:ident { $($field:ident),* $(,)? }) => {
        $entity::Model { $($field: next_column!($row, $at),)* }
    };
}

/// A chat from the row's columns at `*at`, moving past them.
pub(crate) fn chat_at<R: Row>(row: &R, at: &mut usize) -> Result<chat::Model> {
    Ok(model_at!(
        row,
        at,
        chat {
            id,
            workspace_id,
            contact_id,
            state,
            operator_id,
            unread_count,
            last_message_id,
            last_activity_at,
            created_at,
            updated_at,
            closed_at,
            version,
        }
    ))
}

/// A contact from the row's columns at `*at`, moving past them.
pub(crate) fn contact_at<R: Row>(row: &R, at: &mut usize) -> Result<contact::Model> {
    Ok(model_at!(
        row,
        at,
        contact {
            id,
            workspace_id,
            channel_id,
            external_id,
            name,
            username,
            phone,
            email,
            created_at,
            updated_at,
        }
    ))
}

/// A message from the row's columns at `*at`, moving past them.
pub(crate) fn message_at<R: Row>(row: &R, at: &mut usize) -> Result<message::Model> {
    Ok(model_at!(
        row,
        at,
        message {
            id,
            workspace_id,
            chat_id,
            channel_id,
            direction,
            internal,
            content_type,
            text,
            media_url,
            sender_type,
            sender_operator_id,
            status,
            idempotency_key,
            request_hash,
            external_id,
            created_at,
            delivered_at,
            seen_at,
            edited_at,
            deleted_at,
        }
    ))
}

#[cfg(test)]
mod tests {
    use sea_orm::Iterable;

    use super::*;

    /// The decoders name every field, so a column added to an entity breaks their
    /// build; this checks the count the position arithmetic relies on.
    #[test]
    fn decoders_read_as_many_columns_as_the_entities_select() {
        assert_eq!(chat::Column::iter().count(), 12);
        assert_eq!(contact::Column::iter().count(), 10);
        assert_eq!(message::Column::iter().count(), 20);
    }
}
