use sea_orm::entity::prelude::*;

/// A contact's conversation. `unread_count`, `last_message_id` and `last_activity_at`
/// are kept in the same transaction as the message that moves them.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "chat")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub workspace_id: i64,
    #[sea_orm(unique)]
    pub contact_id: i64,
    /// `open` or `closed`.
    pub state: String,
    /// The assignee.
    pub operator_id: Option<i64>,
    pub unread_count: i32,
    pub last_message_id: Option<i64>,
    pub last_activity_at: DateTimeUtc,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub closed_at: Option<DateTimeUtc>,
    /// Bumped by every change; the chat's `ETag`.
    pub version: i32,
    #[sea_orm(belongs_to, from = "contact_id", to = "id")]
    pub contact: HasOne<super::contact::Entity>,
    #[sea_orm(belongs_to, from = "operator_id", to = "id")]
    pub operator: HasOne<super::operator::Entity>,
    #[sea_orm(has_many)]
    pub messages: HasMany<super::message::Entity>,
    #[sea_orm(has_many)]
    pub assignments: HasMany<super::assignment::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
