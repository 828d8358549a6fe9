use sea_orm::entity::prelude::*;

/// A bearer token. Only its SHA-256 is stored; it belongs to an operator or a channel.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "api_token")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub workspace_id: i64,
    pub operator_id: Option<i64>,
    pub channel_id: Option<i64>,
    #[sea_orm(unique)]
    pub token_hash: String,
    pub label: String,
    pub created_at: DateTimeUtc,
    pub last_used_at: Option<DateTimeUtc>,
    pub revoked_at: Option<DateTimeUtc>,
    #[sea_orm(belongs_to, from = "operator_id", to = "id")]
    pub operator: HasOne<super::operator::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
