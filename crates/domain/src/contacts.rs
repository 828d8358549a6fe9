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
    let txn = crate::db::begin_write(db, &[caller.workspace_id]).await?;
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
        None => Ok(new_row(&new_contact(channel.workspace_id, channel.id, profile, now))
            .insert(db)
            .await?),
        Some(mut found) => {
            if !apply_profile(&mut found, profile, now) {
                return Ok(found);
            }
            Ok(profile_update(found).update(db).await?)
        }
    }
}

/// A contact as a channel first reports it, not yet stored (its id is 0).
pub(crate) fn new_contact(
    workspace_id: i64,
    channel_id: i64,
    profile: &ContactProfile,
    now: DateTime<Utc>,
) -> contact::Model {
    contact::Model {
        id: 0,
        workspace_id,
        channel_id,
        external_id: profile.external_id.clone(),
        name: profile.name.clone(),
        username: profile.username.clone(),
        phone: profile.phone.clone(),
        email: profile.email.clone(),
        created_at: now,
        updated_at: now,
    }
}

/// The row that inserts a new contact (the database gives its id).
pub(crate) fn new_row(contact: &contact::Model) -> contact::ActiveModel {
    contact::ActiveModel {
        workspace_id: Set(contact.workspace_id),
        channel_id: Set(contact.channel_id),
        external_id: Set(contact.external_id.clone()),
        name: Set(contact.name.clone()),
        username: Set(contact.username.clone()),
        phone: Set(contact.phone.clone()),
        email: Set(contact.email.clone()),
        created_at: Set(contact.created_at),
        updated_at: Set(contact.updated_at),
        ..Default::default()
    }
}

/// Applies a channel's profile: the name always, other fields only when given.
/// `true` when something changed (and `updated_at` moved to `now`).
pub(crate) fn apply_profile(contact: &mut contact::Model, profile: &ContactProfile, now: DateTime<Utc>) -> bool {
    let changed = contact.name != profile.name
        || (profile.username.is_some() && contact.username != profile.username)
        || (profile.phone.is_some() && contact.phone != profile.phone)
        || (profile.email.is_some() && contact.email != profile.email);
    if !changed {
        return false;
    }
    contact.name = profile.name.clone();
    if profile.username.is_some() {
        contact.username = profile.username.clone();
    }
    if profile.phone.is_some() {
        contact.phone = profile.phone.clone();
    }
    if profile.email.is_some() {
        contact.email = profile.email.clone();
    }
    contact.updated_at = now;
    true
}

/// The update that writes a contact's profile fields as they are in the model.
pub(crate) fn profile_update(contact: contact::Model) -> contact::ActiveModel {
    let mut active: contact::ActiveModel = contact.clone().into();
    active.name = Set(contact.name);
    active.username = Set(contact.username);
    active.phone = Set(contact.phone);
    active.email = Set(contact.email);
    active.updated_at = Set(contact.updated_at);
    active
}
