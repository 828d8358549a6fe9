//! Tenants, the operators who work in them, and the API tokens that identify callers.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Workspace::Table)
                    .if_not_exists()
                    .col(big_pk_auto(Workspace::Id))
                    .col(string(Workspace::Name))
                    .col(timestamp_with_time_zone(Workspace::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Operator::Table)
                    .if_not_exists()
                    .col(big_pk_auto(Operator::Id))
                    .col(big_integer(Operator::WorkspaceId))
                    .col(string(Operator::Name))
                    .col(string(Operator::Email))
                    .col(string(Operator::Role))
                    .col(boolean(Operator::Active))
                    .col(timestamp_with_time_zone(Operator::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Operator::Table, Operator::WorkspaceId)
                            .to(Workspace::Table, Workspace::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ApiToken::Table)
                    .if_not_exists()
                    .col(big_pk_auto(ApiToken::Id))
                    .col(big_integer(ApiToken::WorkspaceId))
                    .col(big_integer_null(ApiToken::OperatorId))
                    .col(big_integer_null(ApiToken::ChannelId))
                    .col(string(ApiToken::TokenHash))
                    .col(string(ApiToken::Label))
                    .col(timestamp_with_time_zone(ApiToken::CreatedAt))
                    .col(timestamp_with_time_zone_null(ApiToken::LastUsedAt))
                    .col(timestamp_with_time_zone_null(ApiToken::RevokedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(ApiToken::Table, ApiToken::WorkspaceId)
                            .to(Workspace::Table, Workspace::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(ApiToken::Table, ApiToken::OperatorId)
                            .to(Operator::Table, Operator::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        crate::execute_all(
            manager,
            &[
                "CREATE UNIQUE INDEX IF NOT EXISTS operator_workspace_email ON operator (workspace_id, email)",
                "CREATE UNIQUE INDEX IF NOT EXISTS api_token_hash ON api_token (token_hash)",
                "CREATE INDEX IF NOT EXISTS api_token_operator ON api_token (operator_id)",
            ],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            ApiToken::Table.into_iden(),
            Operator::Table.into_iden(),
            Workspace::Table.into_iden(),
        ] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
pub enum Workspace {
    Table,
    Id,
    Name,
    CreatedAt,
}

#[derive(DeriveIden)]
pub enum Operator {
    Table,
    Id,
    WorkspaceId,
    Name,
    Email,
    Role,
    Active,
    CreatedAt,
}

#[derive(DeriveIden)]
enum ApiToken {
    Table,
    Id,
    WorkspaceId,
    OperatorId,
    ChannelId,
    TokenHash,
    Label,
    CreatedAt,
    LastUsedAt,
    RevokedAt,
}
