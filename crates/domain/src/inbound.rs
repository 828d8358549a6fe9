//! Inbound messages written a batch at a time. The group commit's writer hands over
//! every message that arrived while the previous commit was flushing; writing them one
//! by one costs about seven statements each (channel, earlier post, contact, chat,
//! message, chat update, events), and each statement is a round trip to the database
//! (on SQLite, to the connection's own thread). Here the whole batch takes a handful
//! of multi-row statements, whatever its size.
//!
//! The result is the one writing the messages one by one in the batch's order gives:
//! the same rows, ids, chat versions, unread counts and events in the same order. A
//! message posted twice within one batch is a duplicate of its first post, a contact
//! whose profile changes within the batch ends with the last profile, a closed chat is
//! reopened by its first new message. Any failure returns an error and the caller
//! writes the batch again one message at a time (see `ingest`), so that a bad message
//! fails alone.

use std::collections::{BTreeSet, HashMap, HashSet};

use chrono::{DateTime, Utc};
use entity::{chat, contact, message};
use sea_orm::{ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, QuerySelect, Statement, Value};

use crate::channels::{ChannelCaller, InboundMessage, Received};
use crate::chats::{LastMessage, channels_by_id, complete_views};
use crate::contacts::{apply_profile, new_contact, new_row, profile_update};
use crate::error::{Error, ErrorCode, Result};
use crate::events::{self, EventKind};
use crate::messages::{MessageView, incoming_row, new_chat_row};

/// One channel's contact or message, by the id the connector gives it.
type ExternalKey = (i64, String);

/// What becomes of one message of the batch.
enum Plan {
    /// Posted before this batch: answered with where it landed, nothing written.
    Earlier(Received),
    /// Posted earlier in this batch (at that index): a duplicate of that post.
    SameBatch(usize),
    /// Written now.
    New,
}

/// Writes the batch's messages inside the caller's transaction and answers for each,
/// in order.
pub(crate) async fn receive_many<C: ConnectionTrait>(
    db: &C,
    batch: &[(&ChannelCaller, &InboundMessage)],
) -> Result<Vec<Received>> {
    let now = Utc::now();
    check_channels(db, batch).await?;
    let plans = plan(db, batch).await?;
    let fresh: Vec<usize> = (0..batch.len()).filter(|&i| matches!(plans[i], Plan::New)).collect();

    // Contacts: each job sees the contact as its own profile leaves it.
    let mut contacts = existing_contacts(db, fresh.iter().map(|&i| batch[i])).await?;
    // In order of first appearance, as one-by-one writing would insert them.
    let mut created_contacts: Vec<ExternalKey> = Vec::new();
    // Updated in (channel, external id) order, the order every batch takes contacts in.
    let mut changed_contacts: BTreeSet<ExternalKey> = BTreeSet::new();
    let mut snapshots: HashMap<usize, contact::Model> = HashMap::with_capacity(fresh.len());
    for &i in &fresh {
        let (caller, inbound) = batch[i];
        let key = (caller.channel_id, inbound.contact.external_id.clone());
        let model = match contacts.get_mut(&key) {
            Some(model) => {
                // A contact created in this batch is inserted with its last profile.
                if apply_profile(model, &inbound.contact, now) && model.id != 0 {
                    changed_contacts.insert(key);
                }
                model
            }
            None => {
                created_contacts.push(key.clone());
                contacts
                    .entry(key.clone())
                    .or_insert_with(|| new_contact(caller.workspace_id, caller.channel_id, &inbound.contact, now))
            }
        };
        snapshots.insert(i, model.clone());
    }
    let rows: Vec<_> = created_contacts.iter().map(|key| new_row(&contacts[key])).collect();
    for run in in_runs(rows) {
        for inserted in contact::Entity::insert_many(run).exec_with_returning(db).await? {
            contacts.insert((inserted.channel_id, inserted.external_id.clone()), inserted);
        }
    }
    for key in &changed_contacts {
        sea_orm::ActiveModelTrait::update(profile_update(contacts[key].clone()), db).await?;
    }
    for (&i, snapshot) in snapshots.iter_mut() {
        let (caller, inbound) = batch[i];
        snapshot.id = contacts[&(caller.channel_id, inbound.contact.external_id.clone())].id;
    }

    // Chats: the contacts' chats, locked; a contact without one gets it, created at
    // its first message.
    let created_at: Vec<DateTime<Utc>> = batch
        .iter()
        .map(|(_, inbound)| inbound.message.sent_at.map_or(now, |at| at.min(now)))
        .collect();
    let mut chats: HashMap<i64, chat::Model> = HashMap::new();
    let contact_ids: Vec<i64> = dedup(fresh.iter().map(|&i| snapshots[&i].id));
    for ids in contact_ids.chunks(CHUNK) {
        for found in chat::Entity::find()
            .filter(chat::Column::ContactId.is_in(padded(ids)))
            .lock_exclusive()
            .all(db)
            .await?
        {
            chats.insert(found.contact_id, found);
        }
    }
    let mut new_chats: Vec<chat::ActiveModel> = Vec::new();
    let mut chatless: HashSet<i64> = HashSet::new();
    for &i in &fresh {
        let contact = &snapshots[&i];
        if chats.contains_key(&contact.id) || !chatless.insert(contact.id) {
            continue;
        }
        new_chats.push(new_chat_row(contact, created_at[i]));
    }
    let mut unannounced: HashSet<i64> = HashSet::new();
    for run in in_runs(new_chats) {
        for inserted in chat::Entity::insert_many(run).exec_with_returning(db).await? {
            unannounced.insert(inserted.id);
            chats.insert(inserted.contact_id, inserted);
        }
    }

    // Messages, in the batch's order.
    let rows: Vec<message::ActiveModel> = fresh
        .iter()
        .map(|&i| {
            let (_, inbound) = batch[i];
            let contact = &snapshots[&i];
            let chat = chats
                .get(&contact.id)
                .ok_or_else(|| Error::internal("an inbound message has no chat"))?;
            Ok(incoming_row(contact, chat.id, &inbound.message, created_at[i], now))
        })
        .collect::<Result<_>>()?;
    let mut messages: HashMap<ExternalKey, message::Model> = HashMap::with_capacity(rows.len());
    for run in in_runs(rows) {
        for inserted in message::Entity::insert_many(run).exec_with_returning(db).await? {
            let key = (inserted.channel_id, inserted.external_id.clone().unwrap_or_default());
            messages.insert(key, inserted);
        }
    }

    // Each message moves its chat on, in order; the events follow each step.
    let mut recorded: Vec<(i64, EventKind, i64, Payload)> = Vec::with_capacity(fresh.len() * 2);
    let mut to_present: Vec<(chat::Model, contact::Model, Option<LastMessage>)> = Vec::new();
    let mut answers: Vec<Received> = Vec::with_capacity(batch.len());
    for (i, plan) in plans.iter().enumerate() {
        let answer = match plan {
            Plan::Earlier(received) => *received,
            // The first post comes earlier in the batch, so its answer is in.
            Plan::SameBatch(first) => Received {
                duplicate: true,
                ..answers[*first]
            },
            Plan::New => {
                let (caller, inbound) = batch[i];
                let contact = &snapshots[&i];
                let message = messages
                    .get(&(caller.channel_id, inbound.message.external_message_id.clone()))
                    .ok_or_else(|| Error::internal("an inbound message was not written"))?
                    .clone();
                let chat = chats
                    .get_mut(&contact.id)
                    .ok_or_else(|| Error::internal("an inbound message has no chat"))?;
                let created = unannounced.remove(&chat.id);
                let reopened = chat.state == "closed";
                if reopened {
                    chat.state = "open".into();
                    chat.closed_at = None;
                }
                chat.last_message_id = Some(message.id);
                chat.last_activity_at = message.created_at;
                chat.updated_at = message.created_at;
                chat.unread_count += 1;
                chat.version += 1;
                if created || reopened {
                    let view = to_present.len();
                    to_present.push((chat.clone(), contact.clone(), Some(LastMessage::from(message.clone()))));
                    if created {
                        recorded.push((chat.workspace_id, EventKind::ChatCreated, chat.id, Payload::View(view)));
                    }
                    if reopened {
                        recorded.push((chat.workspace_id, EventKind::ChatOpened, chat.id, Payload::View(view)));
                    }
                }
                let answer = Received {
                    message_id: message.id,
                    chat_id: chat.id,
                    contact_id: contact.id,
                    duplicate: false,
                };
                let view = MessageView {
                    message,
                    sender_id: Some(contact.id),
                    sender_name: Some(contact.name.clone()),
                };
                recorded.push((
                    chat.workspace_id,
                    EventKind::MessageCreated,
                    chat.id,
                    Payload::Ready(events::message_payload(view)),
                ));
                recorded.push((
                    chat.workspace_id,
                    EventKind::ChatUnreadChanged,
                    chat.id,
                    Payload::Ready(events::unread_payload(chat)),
                ));
                answer
            }
        };
        answers.push(answer);
    }

    // Every new message moved its contact's chat.
    let finals: Vec<&chat::Model> = contact_ids.iter().map(|id| &chats[id]).collect();
    for run in in_runs(finals) {
        update_chats(db, &run).await?;
    }
    let views: Vec<serde_json::Value> = if to_present.is_empty() {
        Vec::new()
    } else {
        complete_views(db, to_present)
            .await?
            .into_iter()
            .map(events::present_chat)
            .collect()
    };
    let mut rows = Vec::with_capacity(recorded.len());
    for (workspace_id, kind, chat_id, payload) in recorded {
        let payload = match payload {
            Payload::Ready(value) => value,
            Payload::View(at) => views
                .get(at)
                .cloned()
                .ok_or_else(|| Error::internal("a chat event lost its payload"))?,
        };
        rows.push((workspace_id, kind, Some(chat_id), payload));
    }
    for run in in_runs(rows) {
        events::record_rows(db, run).await?;
    }
    Ok(answers)
}

/// An event's payload, or the chat view (by index) it will carry.
enum Payload {
    Ready(serde_json::Value),
    View(usize),
}

/// Rows per multi-row statement at most: far below SQLite's and PostgreSQL's limits
/// on bound values for every table written here.
const CHUNK: usize = 256;

/// Splits rows into runs whose lengths are powers of two (largest first, at most
/// `CHUNK`), keeping their order. A statement's text depends on its row count and
/// each connection prepares and keeps every text it runs: batches of every size from
/// 1 to 256 would each leave multi-row statements of their own in every connection's
/// cache (measured: +16 MB of resident memory after 20 s of ingest), where powers
/// of two leave at most nine sizes per statement.
fn in_runs<T>(mut rows: Vec<T>) -> Vec<Vec<T>> {
    let mut runs = Vec::new();
    while !rows.is_empty() {
        let size = rows.len().min(CHUNK);
        let size = 1 << (usize::BITS - 1 - size.leading_zeros());
        let rest = rows.split_off(size);
        runs.push(std::mem::replace(&mut rows, rest));
    }
    runs
}

/// An `IN` list padded to a power of two by repeating its last value, which changes
/// no result, for the same reason as `in_runs`.
fn padded<T: Clone>(values: &[T]) -> Vec<T> {
    let mut out = values.to_vec();
    if let Some(last) = values.last() {
        out.resize(values.len().next_power_of_two(), last.clone());
    }
    out
}

fn dedup<T: PartialEq>(items: impl Iterator<Item = T>) -> Vec<T> {
    let mut out: Vec<T> = Vec::new();
    for item in items {
        if !out.contains(&item) {
            out.push(item);
        }
    }
    out
}

/// Every channel of the batch exists in its caller's workspace. Channels are never
/// deleted nor moved, so the directory kept for chat views answers this.
async fn check_channels<C: ConnectionTrait>(db: &C, batch: &[(&ChannelCaller, &InboundMessage)]) -> Result<()> {
    let found = channels_by_id(db, dedup(batch.iter().map(|(caller, _)| caller.channel_id))).await?;
    for (caller, _) in batch {
        if found.get(&caller.channel_id).map(|c| c.workspace_id) != Some(caller.workspace_id) {
            return Err(Error::new(
                ErrorCode::ChannelNotFound,
                format!("channel {} was not found", caller.channel_id),
            ));
        }
    }
    Ok(())
}

/// Which messages were posted before (in an earlier commit or earlier in the batch).
async fn plan<C: ConnectionTrait>(db: &C, batch: &[(&ChannelCaller, &InboundMessage)]) -> Result<Vec<Plan>> {
    let mut earlier: HashMap<ExternalKey, (i64, i64)> = HashMap::new();
    for channel_id in dedup(batch.iter().map(|(caller, _)| caller.channel_id)) {
        let ids = dedup(
            batch
                .iter()
                .filter(|(caller, _)| caller.channel_id == channel_id)
                .map(|(_, inbound)| inbound.message.external_message_id.clone()),
        );
        for ids in ids.chunks(CHUNK) {
            let rows = message::Entity::find()
                .select_only()
                .column(message::Column::Id)
                .column(message::Column::ChatId)
                .column(message::Column::ExternalId)
                .filter(message::Column::ChannelId.eq(channel_id))
                .filter(message::Column::ExternalId.is_in(padded(ids)))
                .into_tuple::<(i64, i64, Option<String>)>()
                .all(db)
                .await?;
            for (id, chat_id, external_id) in rows {
                earlier.insert((channel_id, external_id.unwrap_or_default()), (id, chat_id));
            }
        }
    }
    let contact_of_chat: HashMap<i64, i64> = if earlier.is_empty() {
        HashMap::new()
    } else {
        chat::Entity::find()
            .select_only()
            .column(chat::Column::Id)
            .column(chat::Column::ContactId)
            .filter(chat::Column::Id.is_in(padded(&dedup(earlier.values().map(|(_, chat_id)| *chat_id)))))
            .into_tuple::<(i64, i64)>()
            .all(db)
            .await?
            .into_iter()
            .collect()
    };
    let mut first_post: HashMap<ExternalKey, usize> = HashMap::new();
    let mut plans = Vec::with_capacity(batch.len());
    for (i, (caller, inbound)) in batch.iter().enumerate() {
        let key = (caller.channel_id, inbound.message.external_message_id.clone());
        let plan = if let Some(&(message_id, chat_id)) = earlier.get(&key) {
            let contact_id = *contact_of_chat
                .get(&chat_id)
                .ok_or_else(|| Error::internal("an inbound message lost its chat"))?;
            Plan::Earlier(Received {
                message_id,
                chat_id,
                contact_id,
                duplicate: true,
            })
        } else if let Some(&first) = first_post.get(&key) {
            Plan::SameBatch(first)
        } else {
            first_post.insert(key, i);
            Plan::New
        };
        plans.push(plan);
    }
    Ok(plans)
}

/// The stored contacts of the batch's new messages, by channel and external id.
async fn existing_contacts<'a, C: ConnectionTrait>(
    db: &C,
    jobs: impl Iterator<Item = (&'a ChannelCaller, &'a InboundMessage)>,
) -> Result<HashMap<ExternalKey, contact::Model>> {
    let mut wanted: HashMap<i64, Vec<String>> = HashMap::new();
    for (caller, inbound) in jobs {
        let ids = wanted.entry(caller.channel_id).or_default();
        if !ids.contains(&inbound.contact.external_id) {
            ids.push(inbound.contact.external_id.clone());
        }
    }
    let mut found = HashMap::new();
    for (channel_id, ids) in wanted {
        for ids in ids.chunks(CHUNK) {
            for contact in contact::Entity::find()
                .filter(contact::Column::ChannelId.eq(channel_id))
                .filter(contact::Column::ExternalId.is_in(padded(ids)))
                .all(db)
                .await?
            {
                found.insert((contact.channel_id, contact.external_id.clone()), contact);
            }
        }
    }
    Ok(found)
}

/// Writes the chats' new state in one statement.
async fn update_chats<C: ConnectionTrait>(db: &C, chats: &[&chat::Model]) -> Result<()> {
    if chats.is_empty() {
        return Ok(());
    }
    let backend = db.get_database_backend();
    let mut values: Vec<Value> = Vec::with_capacity(chats.len() * 5);
    let mut rows = Vec::with_capacity(chats.len());
    for chat in chats {
        let first = values.len();
        values.push(chat.id.into());
        values.push(chat.last_message_id.into());
        values.push(chat.last_activity_at.into());
        values.push(chat.unread_count.into());
        values.push(chat.version.into());
        let marks: Vec<String> = (first + 1..=first + 5)
            .map(|n| match backend {
                DbBackend::Postgres => format!("${n}"),
                _ => "?".to_owned(),
            })
            .collect();
        rows.push(format!("({})", marks.join(", ")));
    }
    let sql = format!(
        "WITH v(id, last_message_id, last_activity_at, unread_count, version) AS (VALUES {}) \
         UPDATE chat SET last_message_id = v.last_message_id, last_activity_at = v.last_activity_at, \
         updated_at = v.last_activity_at, unread_count = v.unread_count, version = v.version, \
         state = 'open', closed_at = NULL FROM v WHERE chat.id = v.id",
        rows.join(", ")
    );
    let done = db
        .execute_raw(Statement::from_sql_and_values(backend, sql, values))
        .await?;
    if done.rows_affected() != chats.len() as u64 {
        return Err(Error::internal("a chat of an inbound batch was not updated"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_are_powers_of_two_in_order() {
        let runs = in_runs((0..45).collect::<Vec<_>>());
        assert_eq!(runs.iter().map(Vec::len).collect::<Vec<_>>(), [32, 8, 4, 1]);
        assert_eq!(runs.concat(), (0..45).collect::<Vec<_>>());
        let runs = in_runs((0..600).collect::<Vec<_>>());
        assert_eq!(runs.iter().map(Vec::len).collect::<Vec<_>>(), [256, 256, 64, 16, 8]);
        assert!(in_runs(Vec::<i32>::new()).is_empty());
    }

    #[test]
    fn padding_repeats_the_last_value_up_to_a_power_of_two() {
        assert_eq!(padded(&[1, 2, 3]), [1, 2, 3, 3]);
        assert_eq!(padded(&[1, 2, 3, 4]), [1, 2, 3, 4]);
        assert_eq!(padded(&[7]), [7]);
        assert!(padded::<i32>(&[]).is_empty());
    }
}
