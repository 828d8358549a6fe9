//! Switchboard's schema. The same migrations create the SQLite and the PostgreSQL
//! schema; where the two differ (search indexes), the migration branches on the backend.

pub use sea_orm_migration::prelude::*;

mod m20261121_000001_create_workspace_tables;
mod m20261121_000002_create_channel_tables;
mod m20261121_000003_create_chat_tables;
mod m20261121_000004_create_event_tables;
mod m20261121_000005_create_search_indexes;
mod m20261121_000006_queue_webhook_deliveries;
mod m20261121_000007_contact_search_index;
mod m20261121_000008_external_id_first;
mod m20261122_000009_short_search_pending_lists;
mod m20261123_000010_joined_message_search;

pub use m20261121_000007_contact_search_index::CONTACT_SEARCH_EXPRESSION;
pub use m20261123_000010_joined_message_search::{joins_words, message_search};

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261121_000001_create_workspace_tables::Migration),
            Box::new(m20261121_000002_create_channel_tables::Migration),
            Box::new(m20261121_000003_create_chat_tables::Migration),
            Box::new(m20261121_000004_create_event_tables::Migration),
            Box::new(m20261121_000005_create_search_indexes::Migration),
            Box::new(m20261121_000006_queue_webhook_deliveries::Migration),
            Box::new(m20261121_000007_contact_search_index::Migration),
            Box::new(m20261121_000008_external_id_first::Migration),
            Box::new(m20261122_000009_short_search_pending_lists::Migration),
            Box::new(m20261123_000010_joined_message_search::Migration),
        ]
    }
}

/// Runs each statement; plain `CREATE INDEX` reads the same on SQLite and PostgreSQL,
/// including partial indexes, which sea-query's index builder does not express.
pub(crate) async fn execute_all(manager: &SchemaManager<'_>, statements: &[&str]) -> Result<(), DbErr> {
    let db = manager.get_connection();
    for sql in statements {
        db.execute_unprepared(sql).await?;
    }
    Ok(())
}

/// Runs the statements written for the connection's backend (SQLite or PostgreSQL).
pub(crate) async fn execute_for_backend(
    manager: &SchemaManager<'_>,
    sqlite: &[&str],
    postgres: &[&str],
) -> Result<(), DbErr> {
    match manager.get_database_backend() {
        sea_orm_migration::sea_orm::DbBackend::Sqlite => execute_all(manager, sqlite).await,
        sea_orm_migration::sea_orm::DbBackend::Postgres => execute_all(manager, postgres).await,
        _ => Ok(()),
    }
}
