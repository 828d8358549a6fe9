//! Opening the database and starting write transactions with the guarantees DESIGN §2
//! asks for: on SQLite WAL, foreign keys, a busy timeout, `synchronous=FULL` and
//! IMMEDIATE write transactions (so two writers queue at BEGIN instead of failing on
//! lock upgrade) and temporary storage in memory; on PostgreSQL the server's
//! defaults (synchronous commit).

use std::ffi::{c_int, c_void};
use std::time::Duration;

use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr,
    SqliteTransactionMode, Statement, TransactionOptions, TransactionTrait,
};

/// The default database: a SQLite file in the working directory.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://switchboard.db?mode=rwc";

pub async fn connect(url: &str) -> Result<DatabaseConnection, DbErr> {
    let mut options = ConnectOptions::new(url.to_owned());
    options.sqlx_logging(false).acquire_timeout(Duration::from_secs(10));
    if url.starts_with("sqlite:") {
        configure_sqlite_library();
        let url = if url.contains('?') || url.contains(":memory:") {
            url.to_owned()
        } else {
            format!("{url}?mode=rwc")
        };
        options = ConnectOptions::new(url);
        options
            .sqlx_logging(false)
            .acquire_timeout(Duration::from_secs(30))
            .max_connections(sqlite_pool_size())
            .min_connections(1)
            // A pooled SQLite connection is a file handle served by a thread of this
            // process: pinging it checks nothing a query would not, and the ping is a
            // round trip to that thread before every statement.
            .test_before_acquire(false)
            .map_sqlx_sqlite_opts(|opts| {
                opts.journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Full)
                    .foreign_keys(true)
                    .busy_timeout(Duration::from_secs(10))
                    // Savepoints (one per message of a group commit) journal the
                    // pages they change in a temporary file unless temporary
                    // storage is in memory: a write() per page of every message.
                    .pragma("temp_store", "memory")
            })
            .map_sqlx_sqlite_pool_opts(|pool| {
                pool.after_connect(|conn, _| Box::pin(async move { set_up_sqlite(conn).await }))
            });
    } else {
        options
            .max_connections(16)
            .min_connections(1)
            // A ping on every checkout is one more round trip to PostgreSQL per
            // statement: ping only connections that have sat idle.
            .test_before_acquire_if_idle_for(POSTGRES_PING_AFTER_IDLE)
            // No JIT compilation (the hot reads' connections take the same options).
            // PostgreSQL compiles a statement whose estimated cost passes
            // `jit_above_cost`, and a plan made for any search term is priced for a
            // pattern that could match 50,000 of 10 million messages, so it passed:
            // a rare-term search that runs in about 1 ms spent 19 ms compiling, at
            // every execution. Every statement here reads or writes a page of rows
            // through indexes, where compiling never pays.
            .map_sqlx_postgres_opts(|opts| opts.options([("jit", "off")]));
    }
    let db = Database::connect(options).await?;
    crate::direct::register(&db);
    crate::pgread::register(&db);
    Ok(db)
}

/// A pooled PostgreSQL connection idle at least this long is pinged before it is used
/// (one that fails the ping is replaced). The pool already pings each connection when
/// it is returned, so one used again sooner was answering a moment ago; under load no
/// statement waits for a ping. If PostgreSQL drops its connections (a restart, an
/// administrator), a request in the next second may fail once per pooled connection.
pub const POSTGRES_PING_AFTER_IDLE: Duration = Duration::from_secs(1);

/// Process-wide SQLite settings, made once before the first connection opens
/// (SQLite takes them only before it initializes).
///
/// Memory statistics off: with them on, every allocation and free SQLite makes takes
/// a global mutex to keep its counters. The driver copies each column of each row it
/// reads into a value of its own (an allocation, freed on the request's thread), so a
/// chat page of 20 rows of ~40 columns took and released that mutex some 1,700 times;
/// it was ~11 % of a chat list's CPU. The counters are only read by
/// `sqlite3_memory_used`, which nothing here calls.
fn configure_sqlite_library() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // SAFETY: SQLITE_CONFIG_MEMSTATUS takes one int. sqlite3_config is only
        // allowed before sqlite3_initialize (it returns SQLITE_MISUSE after, changing
        // nothing), and `Once` keeps two threads from calling it together.
        let rc = unsafe { libsqlite3_sys::sqlite3_config(libsqlite3_sys::SQLITE_CONFIG_MEMSTATUS, 0 as c_int) };
        if rc != libsqlite3_sys::SQLITE_OK {
            tracing::debug!("SQLite was already initialized; its memory statistics stay on ({rc})");
        }
        let methods = libsqlite3_sys::sqlite3_mem_methods {
            xMalloc: Some(sqlite_malloc),
            xFree: Some(sqlite_free),
            xRealloc: Some(sqlite_realloc),
            xSize: Some(sqlite_size),
            xRoundup: Some(sqlite_roundup),
            xInit: Some(sqlite_mem_init),
            xShutdown: Some(sqlite_mem_shutdown),
            pAppData: std::ptr::null_mut(),
        };
        // SAFETY: SQLITE_CONFIG_MALLOC takes a pointer to the methods, which SQLite
        // copies; same pre-initialization rule as above.
        let rc = unsafe { libsqlite3_sys::sqlite3_config(libsqlite3_sys::SQLITE_CONFIG_MALLOC, &methods as *const _) };
        if rc != libsqlite3_sys::SQLITE_OK {
            tracing::debug!("SQLite was already initialized; it keeps its allocator ({rc})");
        }
    });
}

unsafe extern "C" fn sqlite_malloc(n: c_int) -> *mut c_void {
    unsafe { libmimalloc_sys::mi_malloc(n.max(0) as usize) }
}
unsafe extern "C" fn sqlite_free(p: *mut c_void) {
    unsafe { libmimalloc_sys::mi_free(p) }
}
unsafe extern "C" fn sqlite_realloc(p: *mut c_void, n: c_int) -> *mut c_void {
    unsafe { libmimalloc_sys::mi_realloc(p, n.max(0) as usize) }
}
unsafe extern "C" fn sqlite_size(p: *mut c_void) -> c_int {
    unsafe { libmimalloc_sys::mi_usable_size(p) as c_int }
}
unsafe extern "C" fn sqlite_roundup(n: c_int) -> c_int {
    unsafe { libmimalloc_sys::mi_good_size(n.max(0) as usize).min(c_int::MAX as usize) as c_int }
}
unsafe extern "C" fn sqlite_mem_init(_: *mut c_void) -> c_int {
    libsqlite3_sys::SQLITE_OK
}
unsafe extern "C" fn sqlite_mem_shutdown(_: *mut c_void) {}

/// Sets up a pooled SQLite connection: the query planner stability guarantee and the
/// search's `contains_folded` function (see `fold`).
///
/// Without the guarantee, a statement whose plan could depend on a bound value
/// (`LIMIT ?`, a `LIKE ?` pattern, or any indexed comparison once `ANALYZE` has written
/// `sqlite_stat4`) is expired every time a value is bound, so every execution of a
/// cached statement parsed and planned it again: about 15 % of the server's CPU for a
/// chat list and a third of a "get chat". With the guarantee a statement is planned
/// once per connection and its cached plan is reused.
async fn set_up_sqlite(conn: &mut sea_orm::sqlx::SqliteConnection) -> Result<(), sea_orm::sqlx::Error> {
    let mut handle = conn.lock_handle().await?;
    // SAFETY: the handle is live and held locked for this call.
    unsafe { set_up_sqlite_connection(handle.as_raw_handle().as_ptr()) }
        .map_err(|(rc, what)| sea_orm::sqlx::Error::Configuration(format!("{what} failed ({rc})").into()))
}

/// What every SQLite connection of the service gets, pooled or direct (`direct`): the
/// query planner stability guarantee and `contains_folded`. On failure, SQLite's
/// result code and what failed.
///
/// # Safety
/// `db` must be an open connection that no other thread uses during the call.
pub(crate) unsafe fn set_up_sqlite_connection(db: *mut libsqlite3_sys::sqlite3) -> Result<(), (c_int, &'static str)> {
    // SAFETY: as the caller promises.
    let rc = unsafe { enable_stable_plans(db) };
    if rc != libsqlite3_sys::SQLITE_OK {
        return Err((rc, "enabling SQLite's query planner stability guarantee"));
    }
    // SAFETY: as the caller promises.
    let rc = unsafe { crate::fold::register(db) };
    if rc != libsqlite3_sys::SQLITE_OK {
        return Err((rc, "adding the contains_folded function"));
    }
    Ok(())
}

/// Turns on the query planner stability guarantee (see `set_up_sqlite`) for an open
/// connection; SQLite's result code.
///
/// # Safety
/// `db` must be an open connection that no other thread uses during the call.
unsafe fn enable_stable_plans(db: *mut libsqlite3_sys::sqlite3) -> c_int {
    // SAFETY: as the caller promises; SQLITE_DBCONFIG_ENABLE_QPSG takes an int and an
    // optional int* out-parameter.
    unsafe {
        libsqlite3_sys::sqlite3_db_config(
            db,
            libsqlite3_sys::SQLITE_DBCONFIG_ENABLE_QPSG,
            1 as c_int,
            std::ptr::null_mut::<c_int>(),
        )
    }
}

/// SQLite connections: SQLite has one writer at a time and each reader works on its
/// own thread, so connections beyond twice the cores only add thread switches and
/// page caches (measured on one core: 4 connections serve the chat list ~25 % faster
/// than 8, with 20 % less memory); at least 4, so that a slow search does not hold
/// up every other read.
fn sqlite_pool_size() -> u32 {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as u32;
    (cores * 2).clamp(4, 16)
}

/// Begins a transaction that will write: IMMEDIATE on SQLite, plain on PostgreSQL,
/// where it first takes the event-order lock (`lock_event_order`) of each workspace in
/// `workspaces`, which must name every workspace whose events the transaction writes
/// (none when it only creates a workspace).
pub async fn begin_write(db: &DatabaseConnection, workspaces: &[i64]) -> Result<DatabaseTransaction, DbErr> {
    if db.get_database_backend() == DbBackend::Sqlite {
        db.begin_with_options(TransactionOptions {
            sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
            ..Default::default()
        })
        .await
    } else {
        let txn = db.begin().await?;
        lock_event_order(&txn, workspaces).await?;
        Ok(txn)
    }
}

/// Makes a workspace's events commit in the order of their ids (PostgreSQL).
///
/// Readers of the event log (streams, polling, webhooks) resume after the last id they
/// saw. Event ids come from a sequence when a row is inserted, not when it commits, so
/// two concurrent transactions could commit ids 101 and then 100, and a reader between
/// the two commits would move past 100 for good. Every transaction that writes a
/// workspace's events holds this lock from its start (`begin_write`) to its commit, so
/// the next one's ids are drawn after the previous one's are visible. Taken first
/// (before any row lock) and in workspace order, it cannot deadlock with row locks.
/// SQLite needs none: its write transactions already run one at a time.
async fn lock_event_order<C: ConnectionTrait>(db: &C, workspaces: &[i64]) -> Result<(), DbErr> {
    if db.get_database_backend() != DbBackend::Postgres {
        return Ok(());
    }
    let mut ids = workspaces.to_vec();
    ids.sort_unstable();
    ids.dedup();
    for id in ids {
        db.execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT pg_advisory_xact_lock($1, $2)",
            [EVENT_ORDER_LOCKS.into(), (id as i32).into()],
        ))
        .await?;
    }
    Ok(())
}

/// The advisory-lock namespace of `lock_event_order` (its first key; the workspace
/// id is the second).
const EVENT_ORDER_LOCKS: i32 = 0x5357_0001;

/// Which database `db` is, as a number: the same for every connection to one
/// database (its file, or its server and name), so that the chat lists' totals and
/// search probes kept for one database are never answered for another one open in
/// the same process (tests run several servers in one). Channels and operators are
/// cached by their ids alone.
pub fn scope(db: &DatabaseConnection) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    match db.get_database_backend() {
        DbBackend::Sqlite => db
            .get_sqlite_connection_pool()
            .connect_options()
            .get_filename()
            .hash(&mut hasher),
        DbBackend::Postgres => {
            let options = db.get_postgres_connection_pool().connect_options();
            (options.get_host(), options.get_port(), options.get_database()).hash(&mut hasher);
        }
        _ => {}
    }
    hasher.finish()
}

/// Closes the database: its direct read connections (`direct`, `pgread`), then the pool, whose
/// last SQLite connection then checkpoints the write-ahead log into the database file.
pub async fn close(db: DatabaseConnection) {
    crate::direct::unregister(&db);
    crate::pgread::unregister(&db).await;
    db.close().await.ok();
}

/// Whether the database answers a trivial query.
pub async fn ping(db: &DatabaseConnection) -> bool {
    db.ping().await.is_ok()
}

/// A migrated SQLite database in a new file of its own, named after `name` and the
/// process, for tests, with that directory (which the test removes).
#[cfg(test)]
pub(crate) async fn test_sqlite(name: &str) -> (DatabaseConnection, std::path::PathBuf) {
    use migration::MigratorTrait;
    let dir = std::env::temp_dir().join(format!("switchboard-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{name}.db"));
    for suffix in ["", "-wal", "-shm"] {
        std::fs::remove_file(format!("{}{suffix}", path.display())).ok();
    }
    let db = connect(&format!("sqlite://{}", path.display())).await.unwrap();
    migration::Migrator::up(&db, None).await.unwrap();
    (db, dir)
}
