//! The hot reads on PostgreSQL, on a few connections of their own.
//!
//! The pool tests every connection it is given back: it sends PostgreSQL a Sync and
//! waits for its answer, in a task of its own. Once the caches are warm a chat list
//! is one statement, so that test was every other round trip of a list to PostgreSQL,
//! with its wake-ups and system calls on both sides. The reads of
//! `direct::fetch_all` (chat list, chat, message page) run here instead, on
//! connections that go back to `idle` only when their statement has been read to its
//! end. A read that is dropped before that (its request cancelled) drops its
//! connection with it, which closes it: no connection is ever left mid-answer, which
//! is what the pool's test guards against.
//!
//! At most `MAX_READERS` are open per database, opened as reads need them; more reads
//! at once wait for one. A read on a connection that sat idle and fails because the
//! connection is gone (PostgreSQL restarted or an administrator ended it) runs once
//! more on a new connection, as reads may.

use std::sync::{Arc, Mutex, PoisonError};

use sea_orm::sqlx::postgres::{PgConnectOptions, PgConnection, PgRow};
use sea_orm::sqlx::{self, ConnectOptions as _};
use sea_orm::{DatabaseConnection, DbBackend, Statement};
use sea_query_sqlx::SqlxValues;

use crate::direct::Decode;
use crate::error::{Error, Result};

/// Connections a database's direct reads may hold open at once (besides the pool's).
/// Eight statements in flight keep a PostgreSQL core busy; replicas sharing one
/// PostgreSQL each open at most this many more.
pub const MAX_READERS: usize = 8;

/// How long a read waits for a connection to come free or to open, as long as the
/// pool waits for one of its own (`db::connect`).
const WAIT_LIMIT: std::time::Duration = std::time::Duration::from_secs(10);

/// The `application_name` of the direct connections, as `pg_stat_activity` shows them.
pub const READ_APPLICATION_NAME: &str = "switchboard-read";

pub(crate) struct Readers {
    options: PgConnectOptions,
    idle: Mutex<Vec<PgConnection>>,
    permits: tokio::sync::Semaphore,
}

static REGISTRY: crate::direct::Registry<PgConnectOptions, Readers> = crate::direct::Registry::new();

fn pool_options(db: &DatabaseConnection) -> Option<Arc<PgConnectOptions>> {
    (db.get_database_backend() == DbBackend::Postgres).then(|| db.get_postgres_connection_pool().connect_options())
}

/// Gives the pool's database direct connections, if it is PostgreSQL.
pub(crate) fn register(db: &DatabaseConnection) {
    if let Some(options) = pool_options(db) {
        let readers = Readers {
            options: options.as_ref().clone().application_name(READ_APPLICATION_NAME),
            idle: Mutex::new(Vec::new()),
            permits: tokio::sync::Semaphore::new(MAX_READERS),
        };
        REGISTRY.add(options, readers);
    }
}

/// Closes the database's idle direct connections, telling PostgreSQL (those in use
/// close when their read ends).
pub(crate) async fn unregister(db: &DatabaseConnection) {
    let Some(readers) = pool_options(db).and_then(|options| REGISTRY.remove(&options)) else {
        return;
    };
    let idle = std::mem::take(&mut *readers.idle.lock().unwrap_or_else(PoisonError::into_inner));
    for connection in idle {
        sqlx::Connection::close(connection).await.ok();
    }
}

pub(crate) fn readers_of(db: &DatabaseConnection) -> Option<Arc<Readers>> {
    REGISTRY.find(&pool_options(db)?)
}

impl Readers {
    /// The rows of `statement`, read outside any transaction and decoded.
    pub(crate) async fn fetch_all<D: Decode>(&self, statement: &Statement) -> Result<Vec<D::Out>> {
        self.rows(statement)
            .await?
            .iter()
            .enumerate()
            .map(|(nth, row)| D::decode_nth(row, nth))
            .collect()
    }

    /// The rows of `statement`, read outside any transaction.
    pub(crate) async fn rows(&self, statement: &Statement) -> Result<Vec<PgRow>> {
        // The semaphore is never closed, so acquiring only waits (as long as the pool
        // waits for a connection at most).
        let _permit = tokio::time::timeout(WAIT_LIMIT, self.permits.acquire())
            .await
            .map_err(|_| Error::internal("no PostgreSQL read connection came free in time"))?
            .map_err(Error::internal)?;
        let idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner).pop();
        let (mut connection, was_idle) = match idle {
            Some(connection) => (connection, true),
            None => (self.connect().await?, false),
        };
        let rows = match run(&mut connection, statement).await {
            Err(err) if was_idle && connection_lost(&err) => {
                tracing::debug!("a direct PostgreSQL read on an idle connection failed, reading again: {err}");
                connection = self.connect().await?;
                run(&mut connection, statement).await
            }
            rows => rows,
        };
        // Only a connection whose statement ran to its end goes back.
        let rows = rows.map_err(Error::internal)?;
        self.idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(connection);
        Ok(rows)
    }

    async fn connect(&self) -> Result<PgConnection> {
        tokio::time::timeout(WAIT_LIMIT, self.options.connect())
            .await
            .map_err(|_| Error::internal("PostgreSQL did not accept a read connection in time"))?
            .map_err(Error::internal)
    }
}

async fn run(connection: &mut PgConnection, statement: &Statement) -> sqlx::Result<Vec<sqlx::postgres::PgRow>> {
    let values = statement.values.clone().unwrap_or(sea_orm::Values(Vec::new()));
    sqlx::query_with(sqlx::AssertSqlSafe(statement.sql.as_str()), SqlxValues(values))
        .fetch_all(connection)
        .await
}

/// Whether the error says the connection is gone rather than that the statement
/// failed: an I/O or protocol error, or PostgreSQL's own notice that it ended the
/// connection (SQLSTATE class 57, operator intervention, or 08, connection exception).
fn connection_lost(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Database(db) => db
            .code()
            .is_some_and(|code| code.starts_with("57") || code.starts_with("08")),
        _ => true,
    }
}
