//! The demo workspace `serve --demo` brings up: a few operators, a channel, contacts
//! and a few dozen chats with messages in mixed states, so that Swagger UI has
//! something to show on a fresh machine.

use chrono::{Duration, Utc};
use entity::{chat, operator, workspace};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
};

use crate::auth::Role;
use crate::contacts::{ContactProfile, upsert};
use crate::db::begin_write;
use crate::error::Result;
use crate::messages::{IncomingMessage, receive};
use crate::operators::{NewOperator, insert, insert_token};
use crate::text::MessageText;
use crate::workspaces::create_channel;

pub const DEMO_WORKSPACE: &str = "Demo";

const OPERATORS: [(&str, &str, Role); 3] = [
    ("Olena Admin", "olena@demo.switchboard", Role::Admin),
    ("Taras Operator", "taras@demo.switchboard", Role::Operator),
    ("Maria Operator", "maria@demo.switchboard", Role::Operator),
];

const FIRST: [&str; 12] = [
    "Anna", "Bohdan", "Chris", "Daria", "Emil", "Fedir", "Galyna", "Ivan", "Julia", "Kyrylo", "Lesia", "Marko",
];
const LAST: [&str; 3] = ["Kovalenko", "Shevchenko", "Melnyk"];
const TEXTS: [&str; 8] = [
    "Hello, my order #{n} has not arrived yet",
    "Can I change the delivery address?",
    "The tracker shows the parcel stuck in Lviv",
    "Thank you, that solved it!",
    "Is there a discount for a second purchase?",
    "My payment failed twice, what should I do?",
    "Please call me back at your convenience",
    "Where can I download the invoice?",
];

/// The demo workspace and a fresh admin token for it, creating the workspace on first use.
pub async fn ensure(db: &DatabaseConnection) -> Result<(i64, String)> {
    let existing = workspace::Entity::find()
        .filter(workspace::Column::Name.eq(DEMO_WORKSPACE))
        .order_by_asc(workspace::Column::Id)
        .one(db)
        .await?;
    let workspace_id = match existing {
        Some(ws) => ws.id,
        None => create(db).await?,
    };
    let admin = operator::Entity::find()
        .filter(operator::Column::WorkspaceId.eq(workspace_id))
        .filter(operator::Column::Role.eq("admin"))
        .order_by_asc(operator::Column::Id)
        .one(db)
        .await?
        .ok_or_else(|| crate::Error::internal("the demo workspace has no admin"))?;
    let token = insert_token(db, workspace_id, Some(admin.id), None, "demo").await?;
    Ok((workspace_id, token.token))
}

async fn create(db: &DatabaseConnection) -> Result<i64> {
    let txn = begin_write(db, &[]).await?;
    let now = Utc::now();
    let ws = workspace::ActiveModel {
        name: Set(DEMO_WORKSPACE.into()),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    let mut operators = Vec::new();
    for (name, email, role) in OPERATORS {
        operators.push(
            insert(
                &txn,
                ws.id,
                &NewOperator {
                    name: name.into(),
                    email: email.into(),
                    role,
                },
            )
            .await?,
        );
    }
    let channel = create_channel(&txn, ws.id, "telegram", "Telegram support bot").await?;
    for i in 0..36usize {
        let first = FIRST[i % FIRST.len()];
        let last = LAST[i % LAST.len()];
        let profile = ContactProfile {
            external_id: format!("tg-{}", 100_000 + i),
            name: format!("{first} {last}"),
            username: Some(format!("{}_{}", first.to_lowercase(), i)),
            phone: Some(format!("+38050{:07}", 1_000_000 + i * 7919)),
            email: (i % 3 == 0).then(|| format!("{}.{}@example.com", first.to_lowercase(), last.to_lowercase())),
        };
        let started = now - Duration::minutes((36 - i as i64) * 45);
        let contact = upsert(&txn, &channel, &profile, started).await?;
        let mut chat_row = None;
        for m in 0..(1 + i % 4) {
            let text = TEXTS[(i + m) % TEXTS.len()].replace("{n}", &(4000 + i).to_string());
            let incoming = IncomingMessage {
                external_message_id: format!("{}-{m}", profile.external_id),
                text: MessageText::parse(&text)?,
                sent_at: Some(started + Duration::minutes(m as i64 * 3)),
            };
            chat_row = Some(receive(&txn, &contact, &incoming).await?.0);
        }
        let Some(chat_row) = chat_row else { continue };
        // Mixed states: every third chat assigned, every fifth closed, every fourth read.
        let mut active: chat::ActiveModel = chat_row.into();
        if i % 3 == 0 {
            active.operator_id = Set(Some(operators[1 + i % 2].id));
        }
        if i % 5 == 0 {
            active.state = Set("closed".into());
            active.closed_at = Set(Some(now));
        }
        if i % 4 == 0 {
            active.unread_count = Set(0);
            let chat_id = active.id.clone().unwrap();
            entity::message::Entity::update_many()
                .col_expr(entity::message::Column::Status, sea_orm::sea_query::Expr::value("read"))
                .filter(entity::message::Column::ChatId.eq(chat_id))
                .exec(&txn)
                .await?;
        }
        active.update(&txn).await?;
    }
    txn.commit().await?;
    Ok(ws.id)
}
