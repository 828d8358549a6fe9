//! Substring search over contact fields and message texts that does not scan: on
//! SQLite, FTS5 tables with the trigram tokenizer kept in step by triggers; on
//! PostgreSQL, `pg_trgm` GIN indexes on the lower-cased columns.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const SQLITE_UP: &[&str] = &[
    "CREATE VIRTUAL TABLE IF NOT EXISTS message_fts USING fts5(text, content='message', content_rowid='id', tokenize='trigram')",
    "CREATE TRIGGER IF NOT EXISTS message_fts_insert AFTER INSERT ON message BEGIN
        INSERT INTO message_fts(rowid, text) VALUES (new.id, new.text);
     END",
    "CREATE TRIGGER IF NOT EXISTS message_fts_delete AFTER DELETE ON message BEGIN
        INSERT INTO message_fts(message_fts, rowid, text) VALUES ('delete', old.id, old.text);
     END",
    "CREATE TRIGGER IF NOT EXISTS message_fts_update AFTER UPDATE OF text ON message BEGIN
        INSERT INTO message_fts(message_fts, rowid, text) VALUES ('delete', old.id, old.text);
        INSERT INTO message_fts(rowid, text) VALUES (new.id, new.text);
     END",
    "INSERT INTO message_fts(message_fts) VALUES ('rebuild')",
    "CREATE VIRTUAL TABLE IF NOT EXISTS contact_fts USING fts5(name, username, phone, email, content='contact', content_rowid='id', tokenize='trigram')",
    "CREATE TRIGGER IF NOT EXISTS contact_fts_insert AFTER INSERT ON contact BEGIN
        INSERT INTO contact_fts(rowid, name, username, phone, email) VALUES (new.id, new.name, new.username, new.phone, new.email);
     END",
    "CREATE TRIGGER IF NOT EXISTS contact_fts_delete AFTER DELETE ON contact BEGIN
        INSERT INTO contact_fts(contact_fts, rowid, name, username, phone, email) VALUES ('delete', old.id, old.name, old.username, old.phone, old.email);
     END",
    "CREATE TRIGGER IF NOT EXISTS contact_fts_update AFTER UPDATE OF name, username, phone, email ON contact BEGIN
        INSERT INTO contact_fts(contact_fts, rowid, name, username, phone, email) VALUES ('delete', old.id, old.name, old.username, old.phone, old.email);
        INSERT INTO contact_fts(rowid, name, username, phone, email) VALUES (new.id, new.name, new.username, new.phone, new.email);
     END",
    "INSERT INTO contact_fts(contact_fts) VALUES ('rebuild')",
];

const SQLITE_DOWN: &[&str] = &[
    "DROP TRIGGER IF EXISTS message_fts_insert",
    "DROP TRIGGER IF EXISTS message_fts_delete",
    "DROP TRIGGER IF EXISTS message_fts_update",
    "DROP TABLE IF EXISTS message_fts",
    "DROP TRIGGER IF EXISTS contact_fts_insert",
    "DROP TRIGGER IF EXISTS contact_fts_delete",
    "DROP TRIGGER IF EXISTS contact_fts_update",
    "DROP TABLE IF EXISTS contact_fts",
];

const POSTGRES_UP: &[&str] = &[
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX IF NOT EXISTS message_text_trgm ON message USING gin (lower(text) gin_trgm_ops)",
    "CREATE INDEX IF NOT EXISTS contact_name_trgm ON contact USING gin (lower(name) gin_trgm_ops)",
    "CREATE INDEX IF NOT EXISTS contact_username_trgm ON contact USING gin (lower(username) gin_trgm_ops)",
    "CREATE INDEX IF NOT EXISTS contact_phone_trgm ON contact USING gin (lower(phone) gin_trgm_ops)",
    "CREATE INDEX IF NOT EXISTS contact_email_trgm ON contact USING gin (lower(email) gin_trgm_ops)",
];

const POSTGRES_DOWN: &[&str] = &[
    "DROP INDEX IF EXISTS message_text_trgm",
    "DROP INDEX IF EXISTS contact_name_trgm",
    "DROP INDEX IF EXISTS contact_username_trgm",
    "DROP INDEX IF EXISTS contact_phone_trgm",
    "DROP INDEX IF EXISTS contact_email_trgm",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::execute_for_backend(manager, SQLITE_UP, POSTGRES_UP).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::execute_for_backend(manager, SQLITE_DOWN, POSTGRES_DOWN).await
    }
}
