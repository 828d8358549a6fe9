//! Channels (the connectors customers write through) and the contacts they bring.

use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261121_000001_create_workspace_tables::Workspace;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Channel::Table)
                    .if_not_exists()
                    .col(big_pk_auto(Channel::Id))
                    .col(big_integer(Channel::WorkspaceId))
                    .col(string(Channel::Kind))
                    .col(string(Channel::Name))
                    .col(timestamp_with_time_zone(Channel::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Channel::Table, Channel::WorkspaceId)
                            .to(Workspace::Table, Workspace::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Contact::Table)
                    .if_not_exists()
                    .col(big_pk_auto(Contact::Id))
                    .col(big_integer(Contact::WorkspaceId))
                    .col(big_integer(Contact::ChannelId))
                    .col(string(Contact::ExternalId))
                    .col(string(Contact::Name))
                    .col(string_null(Contact::Username))
                    .col(string_null(Contact::Phone))
                    .col(string_null(Contact::Email))
                    .col(timestamp_with_time_zone(Contact::CreatedAt))
                    .col(timestamp_with_time_zone(Contact::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Contact::Table, Contact::WorkspaceId)
                            .to(Workspace::Table, Workspace::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Contact::Table, Contact::ChannelId)
                            .to(Channel::Table, Channel::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        crate::execute_all(
            manager,
            &[
                "CREATE INDEX IF NOT EXISTS channel_workspace ON channel (workspace_id, id)",
                "CREATE UNIQUE INDEX IF NOT EXISTS contact_channel_external ON contact (channel_id, external_id)",
                "CREATE INDEX IF NOT EXISTS contact_workspace ON contact (workspace_id, id)",
            ],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Contact::Table).to_owned())
            .await?;
        manager.drop_table(Table::drop().table(Channel::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
pub enum Channel {
    Table,
    Id,
    WorkspaceId,
    Kind,
    Name,
    CreatedAt,
}

#[derive(DeriveIden)]
pub enum Contact {
    Table,
    Id,
    WorkspaceId,
    ChannelId,
    ExternalId,
    Name,
    Username,
    Phone,
    Email,
    CreatedAt,
    UpdatedAt,
}
