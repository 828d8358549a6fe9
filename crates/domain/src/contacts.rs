//! Contacts: the people who write in through a channel, one chat each.

use chrono::{DateTime, Utc};
use entity::{channel, contact};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
};

use crate::auth::Caller;
use crate::chats::{ChatView, view};
use crate::error::{Error, Result};
use crate::messages::chat_of_contact;

/// What a channel knows about a contact; `None` fields leave stored values alone.
#[derive(Clone, Debug, Default)]
pub struct ContactProfile {
    pub external_id: String,
    pub name: String,
    pub username: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
}

pub async fn find_contact<C: ConnectionTrait>(db: &C, workspace_id: i64, contact_id: i64) -> Result<contact::Model> {
    contact::Entity::find_by_id(contact_id)
        .filter(contact::Column::WorkspaceId.eq(workspace_id))
        .one(db)
        .await?
        .ok_or_else(|| Error::contact_not_found(contact_id))
}

#[tracing::instrument(skip(db), fields(workspace = caller.workspace_id))]
pub async fn get(
    db: &DatabaseConnection,
    caller: &Caller,
    contact_id: i64,
) -> Result<(contact::Model, channel::Model)> {
    let contact = find_contact(db, caller.workspace_id, contact_id).await?;
    let channel = channel::Entity::find_by_id(contact.channel_id)
        .one(db)
        .await?
        .ok_or_else(|| Error::internal(format!("contact {contact_id} has no channel")))?;
    Ok((contact, channel))
}

/// The contact's chat; a contact that has none yet gets an open, empty one.
#[tracing::instrument(skip(db), fields(workspace = caller.workspace_id))]
pub async fn chat(db: &DatabaseConnection, caller: &Caller, contact_id: i64) -> Result<ChatView> {
    let contact = find_contact(db, caller.workspace_id, contact_id).await?;
    let txn = crate::db::begin_write(db).await?;
    let (chat, created) = chat_of_contact(&txn, &contact, Utc::now()).await?;
    if created {
        crate::events::record_chat(&txn, crate::events::EventKind::ChatCreated, chat.clone()).await?;
    }
    txn.commit().await?;
    view(db, chat).await
}

/// Finds the channel's contact by external id, creating it or refreshing its profile.
pub async fn upsert<C: ConnectionTrait>(
    db: &C,
    channel: &channel::Model,
    profile: &ContactProfile,
    now: DateTime<Utc>,
) -> Result<contact::Model> {
    let existing = contact::Entity::find()
        .filter(contact::Column::ChannelId.eq(channel.id))
        .filter(contact::Column::ExternalId.eq(&profile.external_id))
        .one(db)
        .await?;
    match existing {
        None => Ok(contact::ActiveModel {
            workspace_id: Set(channel.workspace_id),
            channel_id: Set(channel.id),
            external_id: Set(profile.external_id.clone()),
            name: Set(profile.name.clone()),
            username: Set(profile.username.clone()),
            phone: Set(profile.phone.clone()),
            email: Set(profile.email.clone()),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
        .insert(db)
        .await?),
        Some(found) => {
            let changed = found.name != profile.name
                || (profile.username.is_some() && found.username != profile.username)
                || (profile.phone.is_some() && found.phone != profile.phone)
                || (profile.email.is_some() && found.email != profile.email);
            if !changed {
                return Ok(found);
            }
            let mut active: contact::ActiveModel = found.into();
            active.name = Set(profile.name.clone());
            if profile.username.is_some() {
                active.username = Set(profile.username.clone());
            }
            if profile.phone.is_some() {
                active.phone = Set(profile.phone.clone());
            }
            if profile.email.is_some() {
                active.email = Set(profile.email.clone());
            }
            active.updated_at = Set(now);
            Ok(active.update(db).await?)
        }
    }
}
