//! `switchboard seed`: a realistic workspace in bulk, for benchmarks and demos.
//! Contacts with varied names, usernames, phones and e-mails; chats in mixed states
//! and assignees, some with unread messages; message texts of common words with a
//! rare word sprinkled in. Rows are written with explicit ids in large transactions,
//! so a million chats take minutes, not hours.

use chrono::{DateTime, Duration, Utc};
use entity::{chat, contact, message};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sea_orm::{ActiveValue::Set, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait};

use crate::auth::Role;
use crate::db::begin_write;
use crate::error::Result;
use crate::operators::NewOperator;
use crate::workspaces::{BootstrapRequest, bootstrap};

/// A word that appears in about one message in 200,000: a "rare term" to search for.
pub const RARE_WORD: &str = "zanzibarite";
/// A word that appears in about one message in five: a "common term".
pub const COMMON_WORD: &str = "delivery";
/// Chats written per transaction.
const CHATS_PER_BATCH: usize = 1000;
/// Rows per INSERT statement (SQLite allows 32,766 bound values).
const ROWS_PER_INSERT: usize = 1000;

const FIRST: &[&str] = &[
    "Olena", "Taras", "Maria", "Andrii", "Iryna", "Dmytro", "Oksana", "Serhii", "Natalia", "Yurii", "Kateryna",
    "Bohdan", "Anna", "Mykola", "Sofiia", "Pavlo", "Daria", "Ivan", "Liudmyla", "Roman", "James", "Emma", "Lucas",
    "Mia", "Noah", "Olivia", "Liam", "Ava", "Jonas", "Lea", "Mateo", "Chloe", "Artem", "Viktoria", "Oleh", "Yana",
];
const LAST: &[&str] = &[
    "Kovalenko",
    "Shevchenko",
    "Bondarenko",
    "Tkachenko",
    "Kravchenko",
    "Oliinyk",
    "Melnyk",
    "Boiko",
    "Moroz",
    "Lysenko",
    "Savchenko",
    "Rudenko",
    "Smith",
    "Müller",
    "Garcia",
    "Novak",
    "Kowalski",
    "Rossi",
    "Dubois",
    "Nielsen",
    "Horvat",
];
const DOMAINS: &[&str] = &[
    "gmail.com",
    "ukr.net",
    "outlook.com",
    "proton.me",
    "i.ua",
    "yahoo.com",
    "company.ua",
];
const WORDS: &[&str] = &[
    "hello",
    "order",
    "please",
    "help",
    "parcel",
    "where",
    "is",
    "my",
    "the",
    "payment",
    "refund",
    "address",
    "change",
    "thanks",
    "today",
    "tomorrow",
    "status",
    "tracking",
    "number",
    "invoice",
    "card",
    "failed",
    "again",
    "courier",
    "warehouse",
    "Kyiv",
    "Lviv",
    "Odesa",
    "size",
    "return",
    "exchange",
    "discount",
    "code",
    "works",
    "not",
    "call",
    "me",
    "back",
    "urgent",
    "question",
    "about",
    "price",
    "available",
    "stock",
    "week",
    "when",
    "arrive",
    "cancel",
];

/// What `seed` made.
#[derive(Clone, Debug)]
pub struct Seeded {
    pub workspace_id: i64,
    pub admin_token: String,
    pub channel_token: Option<String>,
    pub chats: u64,
    pub messages: u64,
}

fn pick<'a>(rng: &mut StdRng, words: &[&'a str]) -> &'a str {
    words[rng.random_range(0..words.len())]
}

fn sentence(rng: &mut StdRng) -> String {
    let length = rng.random_range(4..14);
    let mut words: Vec<&str> = (0..length).map(|_| pick(rng, WORDS)).collect();
    if rng.random_ratio(1, 5) {
        let at = rng.random_range(0..words.len());
        words[at] = COMMON_WORD;
    }
    if rng.random_ratio(1, 200_000) {
        words.push(RARE_WORD);
    }
    let mut text = words.join(" ");
    if let Some(first) = text.get_mut(0..1) {
        first.make_ascii_uppercase();
    }
    text.push(if rng.random_ratio(1, 3) { '?' } else { '.' });
    text
}

async fn next_id<C: ConnectionTrait>(db: &C, table: &str) -> Result<i64> {
    let row = db
        .query_one_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            format!("SELECT COALESCE(MAX(id), 0) AS m FROM {table}"),
        ))
        .await?;
    let max: i64 = match row {
        Some(row) => row.try_get("", "m")?,
        None => 0,
    };
    Ok(max + 1)
}

/// Seeds a new workspace with `chats` chats of `messages_per_chat` messages each;
/// `progress` is told how many chats are written after each batch.
pub async fn seed(
    db: &DatabaseConnection,
    workspace: &str,
    chats: u64,
    messages_per_chat: u64,
    mut progress: impl FnMut(u64),
) -> Result<Seeded> {
    let made = bootstrap(
        db,
        &BootstrapRequest {
            workspace: workspace.to_owned(),
            admin_email: format!("admin@{}.seed", workspace.to_lowercase().replace(' ', "-")),
            admin_name: "Seed Admin".into(),
            channel: Some("Seeded channel".into()),
        },
    )
    .await?;
    let channel_id = made.channel_id.unwrap_or_default();
    let mut operators = vec![made.admin_operator_id];
    {
        let txn = begin_write(db, &[]).await?;
        for (i, first) in FIRST.iter().take(8).enumerate() {
            let new = NewOperator {
                name: format!("{first} Operator"),
                email: format!("operator{i}@{}.seed", made.workspace_id),
                role: Role::Operator,
            };
            operators.push(crate::operators::insert(&txn, made.workspace_id, &new).await?.id);
        }
        txn.commit().await?;
    }
    let mut rng = StdRng::seed_from_u64(made.workspace_id as u64);
    let now = Utc::now();
    let mut written = 0u64;
    let mut messages_written = 0u64;
    while written < chats {
        let batch = (chats - written).min(CHATS_PER_BATCH as u64);
        let txn = begin_write(db, &[]).await?;
        let (mut contact_id, mut chat_id, mut message_id) = (
            next_id(&txn, "contact").await?,
            next_id(&txn, "chat").await?,
            next_id(&txn, "message").await?,
        );
        let mut contacts = Vec::with_capacity(batch as usize);
        let mut chat_rows = Vec::with_capacity(batch as usize);
        let mut message_rows = Vec::with_capacity((batch * messages_per_chat) as usize);
        for n in 0..batch {
            let index = written + n;
            let (first, last) = (pick(&mut rng, FIRST), pick(&mut rng, LAST));
            let started: DateTime<Utc> = now - Duration::minutes(rng.random_range(60..(90 * 24 * 60)));
            contacts.push(contact::ActiveModel {
                id: Set(contact_id),
                workspace_id: Set(made.workspace_id),
                channel_id: Set(channel_id),
                external_id: Set(format!("seed-{index}")),
                name: Set(format!("{first} {last}")),
                username: Set(rng
                    .random_ratio(3, 4)
                    .then(|| format!("{}_{}{}", first.to_lowercase(), last.to_lowercase(), index))),
                phone: Set(rng
                    .random_ratio(2, 3)
                    .then(|| format!("+380{}", rng.random_range(500_000_000u64..999_999_999)))),
                email: Set(rng.random_ratio(1, 2).then(|| {
                    format!(
                        "{}.{}{}@{}",
                        first.to_lowercase(),
                        last.to_lowercase(),
                        index % 1000,
                        pick(&mut rng, DOMAINS)
                    )
                })),
                created_at: Set(started),
                updated_at: Set(started),
            });
            let unread_tail = if rng.random_ratio(3, 10) {
                rng.random_range(1..3u64)
            } else {
                0
            };
            let mut at = started;
            let mut unread = 0;
            for m in 0..messages_per_chat {
                at += Duration::minutes(rng.random_range(1..240));
                let incoming = m % 2 == 0 || m + unread_tail >= messages_per_chat;
                let is_unread = incoming && m + unread_tail >= messages_per_chat;
                unread += i32::from(is_unread);
                message_rows.push(message::ActiveModel {
                    id: Set(message_id),
                    workspace_id: Set(made.workspace_id),
                    chat_id: Set(chat_id),
                    channel_id: Set(channel_id),
                    direction: Set(if incoming { "incoming" } else { "outgoing" }.into()),
                    internal: Set(false),
                    content_type: Set("text".into()),
                    text: Set(sentence(&mut rng)),
                    media_url: Set(None),
                    sender_type: Set(if incoming { "contact" } else { "operator" }.into()),
                    sender_operator_id: Set((!incoming).then(|| operators[rng.random_range(0..operators.len())])),
                    status: Set(if is_unread { "delivered" } else { "read" }.into()),
                    idempotency_key: Set(None),
                    request_hash: Set(None),
                    external_id: Set(incoming.then(|| format!("seed-{index}-{m}"))),
                    created_at: Set(at),
                    delivered_at: Set(Some(at)),
                    seen_at: Set((!is_unread).then_some(at)),
                    edited_at: Set(None),
                    deleted_at: Set(None),
                });
                message_id += 1;
            }
            let closed = rng.random_ratio(1, 5);
            chat_rows.push(chat::ActiveModel {
                id: Set(chat_id),
                workspace_id: Set(made.workspace_id),
                contact_id: Set(contact_id),
                state: Set(if closed { "closed" } else { "open" }.into()),
                operator_id: Set(rng
                    .random_ratio(3, 5)
                    .then(|| operators[rng.random_range(0..operators.len())])),
                unread_count: Set(unread),
                last_message_id: Set((messages_per_chat > 0).then_some(message_id - 1)),
                last_activity_at: Set(at),
                created_at: Set(started),
                updated_at: Set(at),
                closed_at: Set(closed.then_some(at)),
                version: Set(1),
            });
            contact_id += 1;
            chat_id += 1;
        }
        for rows in contacts.chunks(ROWS_PER_INSERT) {
            contact::Entity::insert_many(rows.to_vec()).exec(&txn).await?;
        }
        for rows in chat_rows.chunks(ROWS_PER_INSERT) {
            chat::Entity::insert_many(rows.to_vec()).exec(&txn).await?;
        }
        for rows in message_rows.chunks(ROWS_PER_INSERT) {
            message::Entity::insert_many(rows.to_vec()).exec(&txn).await?;
        }
        txn.commit().await?;
        written += batch;
        messages_written += batch * messages_per_chat;
        progress(written);
    }
    if db.get_database_backend() == DbBackend::Postgres {
        for table in ["contact", "chat", "message"] {
            db.execute_unprepared(&format!(
                "SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT MAX(id) FROM {table}))"
            ))
            .await?;
        }
        // VACUUM as well as ANALYZE, as after any bulk load: rows inserted after a
        // GIN index exists wait in its pending list, which every trigram search then
        // scans in full and which makes the planner price the index above a
        // sequential scan, until a vacuum merges it into the index.
        db.execute_unprepared("VACUUM ANALYZE").await?;
    } else {
        // The bulk load leaves the trigram indexes in many segments (13 for ten
        // million messages), and every search reads each term's list in each of
        // them: merged into one, a rare term's lookup on a million chats took ~42
        // instead of ~166 µs. The counterpart of PostgreSQL's VACUUM above.
        for table in ["message_fts", "contact_fts"] {
            db.execute_unprepared(&format!("INSERT INTO {table}({table}) VALUES ('optimize')"))
                .await?;
        }
        db.execute_unprepared("ANALYZE").await?;
    }
    Ok(Seeded {
        workspace_id: made.workspace_id,
        admin_token: made.admin_token,
        channel_token: made.channel_token,
        chats: written,
        messages: messages_written,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sentences_are_capitalised_words_with_a_stop() {
        let mut rng = StdRng::seed_from_u64(7);
        for _ in 0..100 {
            let s = sentence(&mut rng);
            assert!(s.ends_with('.') || s.ends_with('?'));
            assert!(s.split(' ').count() >= 4);
            assert!(s.chars().next().unwrap().is_uppercase());
        }
    }
}
