use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "message")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub workspace_id: i64,
    pub chat_id: i64,
    /// The channel the message travels through (the contact's), for the connector's outbox.
    pub channel_id: i64,
    /// `incoming` (from the contact) or `outgoing` (from an operator).
    pub direction: String,
    /// A private note: never sent to the contact.
    pub internal: bool,
    pub content_type: String,
    #[sea_orm(column_type = "Text")]
    pub text: String,
    pub media_url: Option<String>,
    /// `contact`, `operator` or `system`.
    pub sender_type: String,
    pub sender_operator_id: Option<i64>,
    /// `pending`, `delivered`, `read` or `failed`.
    pub status: String,
    pub idempotency_key: Option<String>,
    /// SHA-256 of the request that first used `idempotency_key`.
    pub request_hash: Option<String>,
    pub external_id: Option<String>,
    pub created_at: DateTimeUtc,
    pub delivered_at: Option<DateTimeUtc>,
    pub seen_at: Option<DateTimeUtc>,
    pub edited_at: Option<DateTimeUtc>,
    pub deleted_at: Option<DateTimeUtc>,
    #[sea_orm(belongs_to, from = "chat_id", to = "id")]
    pub chat: HasOne<super::chat::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
