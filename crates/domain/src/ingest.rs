//! Group commit for inbound messages. Every inbound message must be durable before
//! it is acknowledged (`synchronous=FULL` on SQLite, a synchronous commit on
//! PostgreSQL), and a commit costs a disk flush. One writer task takes the messages
//! that arrive while the previous commit is flushing and writes them in one
//! transaction (each in a savepoint of its own if one of them fails), then
//! acknowledges them all: the throughput grows with concurrency while every
//! acknowledgement still follows a flushed commit.

use std::sync::atomic::{AtomicU64, Ordering};

use sea_orm::{DatabaseConnection, TransactionTrait};
use tokio::sync::{mpsc, oneshot};

use crate::channels::{ChannelCaller, InboundMessage, Received, is_write_conflict, receive_in, receive_inbound};
use crate::db::begin_write;
use crate::error::{Error, Result};
use crate::inbound::receive_many;

/// Inbound messages written by a shared commit in a few multi-row statements.
static WRITTEN_TOGETHER: AtomicU64 = AtomicU64::new(0);
/// Inbound messages written one at a time (each in a savepoint), after their batch
/// failed as a whole.
static WRITTEN_ONE_BY_ONE: AtomicU64 = AtomicU64::new(0);

/// How many inbound messages this process wrote together with their batch, and how
/// many one at a time after their batch failed.
pub fn written_counts() -> (u64, u64) {
    (
        WRITTEN_TOGETHER.load(Ordering::Relaxed),
        WRITTEN_ONE_BY_ONE.load(Ordering::Relaxed),
    )
}

/// Most messages one commit carries.
const MAX_BATCH: usize = 256;
/// Messages that may wait for the writer; senders wait beyond that (back-pressure).
const QUEUE: usize = 4096;

struct Job {
    caller: ChannelCaller,
    inbound: InboundMessage,
    reply: oneshot::Sender<Result<Received>>,
}

/// The handle request handlers submit inbound messages through.
#[derive(Clone)]
pub struct Ingestor {
    jobs: mpsc::Sender<Job>,
}

impl Ingestor {
    /// Starts the writer task on the current runtime.
    pub fn start(db: DatabaseConnection) -> Self {
        let (jobs, queue) = mpsc::channel(QUEUE);
        tokio::spawn(writer(db, queue));
        Ingestor { jobs }
    }

    /// Writes the message and answers once it is committed.
    pub async fn submit(&self, caller: &ChannelCaller, inbound: &InboundMessage) -> Result<Received> {
        let (reply, answer) = oneshot::channel();
        let job = Job {
            caller: caller.clone(),
            inbound: inbound.clone(),
            reply,
        };
        self.jobs
            .send(job)
            .await
            .map_err(|_| Error::internal("the inbound writer has stopped"))?;
        answer
            .await
            .map_err(|_| Error::internal("the inbound writer dropped a message"))?
    }
}

async fn writer(db: DatabaseConnection, mut queue: mpsc::Receiver<Job>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while queue.recv_many(&mut batch, MAX_BATCH).await > 0 {
        // Each batch in a task of its own: should writing it panic, its messages are
        // answered with an error (their reply channels close) and the writer goes on
        // with the next batch instead of stopping inbound for good.
        let db = db.clone();
        let batch = std::mem::take(&mut batch);
        if let Err(err) = tokio::spawn(async move { write_batch(&db, batch).await }).await {
            tracing::error!(error = %err, "writing an inbound batch failed");
        }
    }
}

async fn write_batch(db: &DatabaseConnection, mut batch: Vec<Job>) {
    // Contacts (and their chats) are written in one order, by channel and external
    // id, in every batch of every replica, so two replicas' shared commits that meet
    // the same new contacts wait for each other instead of deadlocking. The sort is
    // stable: one contact's messages keep the order they arrived in.
    batch.sort_by(|a, b| {
        (a.caller.channel_id, &a.inbound.contact.external_id)
            .cmp(&(b.caller.channel_id, &b.inbound.contact.external_id))
    });
    // Most batches have no failing message: they are written without savepoints
    // (a savepoint costs two statements per message and makes SQLite's full-text
    // index flush its pending entries at each). If any message fails, nothing of
    // the attempt is kept and the batch is written again with a savepoint per
    // message, so that one bad message fails alone.
    let batch = match write_plain(db, batch).await {
        Ok(()) => return,
        Err(batch) => batch,
    };
    write_isolated(db, batch).await;
}

/// The workspaces a batch writes in (for `begin_write`'s event-order locks).
fn workspaces_of(batch: &[Job]) -> Vec<i64> {
    batch.iter().map(|job| job.caller.workspace_id).collect()
}

/// Writes the whole batch in one transaction, or hands it back untouched when a
/// message fails or the commit does not happen.
async fn write_plain(db: &DatabaseConnection, batch: Vec<Job>) -> std::result::Result<(), Vec<Job>> {
    let Ok(txn) = begin_write(db, &workspaces_of(&batch)).await else {
        return Err(batch);
    };
    let jobs: Vec<_> = batch.iter().map(|job| (&job.caller, &job.inbound)).collect();
    let received = match receive_many(&txn, &jobs).await {
        Ok(received) => received,
        Err(err) => {
            tracing::debug!(size = batch.len(), error = %err, "inbound batch failed as a whole");
            let _ = txn.rollback().await;
            return Err(batch);
        }
    };
    if txn.commit().await.is_err() {
        return Err(batch);
    }
    tracing::debug!(size = batch.len(), "inbound batch committed");
    WRITTEN_TOGETHER.fetch_add(batch.len() as u64, Ordering::Relaxed);
    for (job, r) in batch.into_iter().zip(received) {
        let _ = job.reply.send(Ok(r));
    }
    Ok(())
}

/// Writes the batch in one transaction with a savepoint per message.
async fn write_isolated(db: &DatabaseConnection, batch: Vec<Job>) {
    let size = batch.len();
    let txn = match begin_write(db, &workspaces_of(&batch)).await {
        Ok(txn) => txn,
        Err(err) => {
            let message = err.to_string();
            for job in batch {
                let _ = job.reply.send(Err(Error::internal(message.clone())));
            }
            return;
        }
    };
    let mut outcomes: Vec<(Job, Result<Received>)> = Vec::with_capacity(size);
    for job in batch {
        let outcome = async {
            let savepoint = txn.begin().await?;
            match receive_in(&savepoint, &job.caller, &job.inbound).await {
                Ok(received) => {
                    savepoint.commit().await?;
                    Ok(received)
                }
                Err(err) => {
                    savepoint.rollback().await?;
                    Err(err)
                }
            }
        }
        .await;
        outcomes.push((job, outcome));
    }
    let committed = txn.commit().await;
    WRITTEN_ONE_BY_ONE.fetch_add(size as u64, Ordering::Relaxed);
    tracing::debug!(size, "inbound batch committed with a savepoint per message");
    for (job, outcome) in outcomes {
        let answer = match (&committed, outcome) {
            (Err(err), _) => Err(Error::internal(err.to_string())),
            // Another replica wrote the same message or contact first, or took the
            // same rows in another order: write it again on its own.
            (Ok(()), Err(err)) if is_write_conflict(&err) => receive_inbound(db, &job.caller, &job.inbound).await,
            (Ok(()), outcome) => outcome,
        };
        let _ = job.reply.send(answer);
    }
}
