//! The event log (written in the same transaction as each change) and webhook
//! subscriptions with their delivery attempts.

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
                    .table(Event::Table)
                    .if_not_exists()
                    .col(big_pk_auto(Event::Id))
                    .col(big_integer(Event::WorkspaceId))
                    .col(string(Event::Type))
                    .col(big_integer_null(Event::ChatId))
                    .col(text(Event::Payload))
                    .col(timestamp_with_time_zone(Event::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Event::Table, Event::WorkspaceId)
                            .to(Workspace::Table, Workspace::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Webhook::Table)
                    .if_not_exists()
                    .col(big_pk_auto(Webhook::Id))
                    .col(big_integer(Webhook::WorkspaceId))
                    .col(string(Webhook::Url))
                    .col(text(Webhook::Types))
                    .col(string(Webhook::Secret))
                    .col(boolean(Webhook::Active))
                    .col(timestamp_with_time_zone(Webhook::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Webhook::Table, Webhook::WorkspaceId)
                            .to(Workspace::Table, Workspace::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(WebhookDelivery::Table)
                    .if_not_exists()
                    .col(big_pk_auto(WebhookDelivery::Id))
                    .col(big_integer(WebhookDelivery::WebhookId))
                    .col(big_integer(WebhookDelivery::EventId))
                    .col(string(WebhookDelivery::Status))
                    .col(integer(WebhookDelivery::Attempts))
                    .col(timestamp_with_time_zone(WebhookDelivery::NextAttemptAt))
                    .col(integer_null(WebhookDelivery::LastStatusCode))
                    .col(text_null(WebhookDelivery::LastError))
                    .col(timestamp_with_time_zone(WebhookDelivery::CreatedAt))
                    .col(timestamp_with_time_zone_null(WebhookDelivery::DeliveredAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(WebhookDelivery::Table, WebhookDelivery::WebhookId)
                            .to(Webhook::Table, Webhook::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(WebhookDelivery::Table, WebhookDelivery::EventId)
                            .to(Event::Table, Event::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        crate::execute_all(
            manager,
            &[
                "CREATE INDEX IF NOT EXISTS event_workspace ON event (workspace_id, id)",
                "CREATE INDEX IF NOT EXISTS webhook_workspace ON webhook (workspace_id, id)",
                "CREATE UNIQUE INDEX IF NOT EXISTS webhook_delivery_once ON webhook_delivery (webhook_id, event_id)",
                "CREATE INDEX IF NOT EXISTS webhook_delivery_due ON webhook_delivery (status, next_attempt_at)",
            ],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            WebhookDelivery::Table.into_iden(),
            Webhook::Table.into_iden(),
            Event::Table.into_iden(),
        ] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Event {
    Table,
    Id,
    WorkspaceId,
    Type,
    ChatId,
    Payload,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Webhook {
    Table,
    Id,
    WorkspaceId,
    Url,
    Types,
    Secret,
    Active,
    CreatedAt,
}

#[derive(DeriveIden)]
enum WebhookDelivery {
    Table,
    Id,
    WebhookId,
    EventId,
    Status,
    Attempts,
    NextAttemptAt,
    LastStatusCode,
    LastError,
    CreatedAt,
    DeliveredAt,
}
