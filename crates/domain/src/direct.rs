//! The hot reads on SQLite, through read connections of their own on SQLite's C API.
//!
//! The driver serves each SQLite connection from a thread of its own: a statement is
//! sent to that thread, each column of each row is copied into an allocation of its
//! own and sent back, and the copies are freed on the request's thread. For a page of
//! chats that machinery costs several times what SQLite spends on the statement
//! (measured: ~150 µs through the driver against 25–40 µs in SQLite alone). The chat
//! list, a chat and a message page therefore read through a few connections of this
//! module instead: on the request's own thread, with each connection's prepared
//! statements kept, and each column decoded straight into the model's field.
//!
//! Only reads outside a transaction come here. The connections are query-only and
//! the database is in WAL mode, so a read sees every transaction committed before it
//! began, as a read on a pooled connection does. A statement runs to its end on the
//! calling thread: only page-bounded reads are sent here (`fetch_all`'s callers).
//! A database in memory has no file to open again and keeps to the driver.

use std::collections::HashMap;
use std::ffi::{CStr, CString, c_char, c_int};
use std::marker::PhantomData;
use std::sync::{Arc, Mutex, PoisonError};

use chrono::{DateTime, NaiveDateTime, Utc};
use libsqlite3_sys as ffi;
use sea_orm::sqlx;
use sea_orm::sqlx::postgres::{PgRow, PgValueRef, Postgres};
use sea_orm::sqlx::sqlite::SqliteConnectOptions;
use sea_orm::{DatabaseConnection, DbBackend, Statement, Value};

use crate::error::{Error, Result};

/// A row being read: a pooled query's result, or the current row of a statement on a
/// direct connection. The decoders in `rows` read both by position.
pub(crate) trait Row {
    fn get<T: Cell>(&self, at: usize) -> Result<T>;
}

impl Row for sea_orm::QueryResult {
    fn get<T: Cell>(&self, at: usize) -> Result<T> {
        Ok(self.try_get_by_index(at)?)
    }
}

/// A model decoded from a row, by either kind of row.
pub(crate) trait Decode {
    type Out;
    fn decode<R: Row>(row: &R) -> Result<Self::Out>;
    /// The `nth` row of a statement (from 0): a decoder whose rows repeat what the
    /// first one said may read it from the first row only.
    fn decode_nth<R: Row>(row: &R, nth: usize) -> Result<Self::Out> {
        let _ = nth;
        Self::decode(row)
    }
}

/// Every row of a pooled query's result, decoded.
fn decode_all<D: Decode>(rows: &[sea_orm::QueryResult]) -> Result<Vec<D::Out>> {
    rows.iter()
        .enumerate()
        .map(|(nth, row)| D::decode_nth(row, nth))
        .collect()
}

/// The rows of `statement`, decoded: on a direct connection when `db` is a SQLite file
/// or PostgreSQL (there with its page bounds written as numbers, see `plans`), else
/// through the pool.
pub(crate) async fn fetch_all<D: Decode>(db: &DatabaseConnection, statement: Statement) -> Result<Vec<D::Out>> {
    if let Some(readers) = readers_of(db)
        && let Some(rows) = readers.fetch_all::<D>(&statement)
    {
        return rows;
    }
    if let Some(readers) = crate::pgread::readers_of(db) {
        let statement = crate::plans::with_literal_page_bounds(statement);
        return readers.fetch_all::<D>(&statement).await;
    }
    decode_all::<D>(&sea_orm::ConnectionTrait::query_all_raw(db, statement).await?)
}

/// One row of `statement`, as `fetch_all` reads it (the first, if several).
pub(crate) async fn fetch_one<D: Decode>(db: &DatabaseConnection, statement: Statement) -> Result<Option<D::Out>> {
    Ok(fetch_all::<D>(db, statement).await?.into_iter().next())
}

/// The direct connections of one database file, opened as reads need them. At most
/// one connection per thread reading at once is ever open (a read never waits).
pub(crate) struct Readers {
    path: CString,
    idle: Mutex<Vec<Connection>>,
}

/// The databases that have direct connections (`R`), by the pool they belong to: its
/// connect options (`O`), shared by the pool's clones and by no other pool.
pub(crate) struct Registry<O, R>(Mutex<Vec<(Arc<O>, Arc<R>)>>);

impl<O, R> Registry<O, R> {
    pub(crate) const fn new() -> Self {
        Registry(Mutex::new(Vec::new()))
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, Vec<(Arc<O>, Arc<R>)>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn add(&self, options: Arc<O>, readers: R) {
        self.entries().push((options, Arc::new(readers)));
    }

    /// Takes the pool's entry out, if it has one.
    pub(crate) fn remove(&self, options: &Arc<O>) -> Option<Arc<R>> {
        let mut entries = self.entries();
        let at = entries.iter().position(|(o, _)| Arc::ptr_eq(o, options))?;
        Some(entries.swap_remove(at).1)
    }

    pub(crate) fn find(&self, options: &Arc<O>) -> Option<Arc<R>> {
        self.entries()
            .iter()
            .find(|(o, _)| Arc::ptr_eq(o, options))
            .map(|(_, readers)| readers.clone())
    }
}

static REGISTRY: Registry<SqliteConnectOptions, Readers> = Registry::new();

/// The connect options of `db`'s pool, which name it in the registry (SQLite only).
fn pool_options(db: &DatabaseConnection) -> Option<Arc<SqliteConnectOptions>> {
    (db.get_database_backend() == DbBackend::Sqlite).then(|| db.get_sqlite_connection_pool().connect_options())
}

/// Gives the pool's database direct connections, if it is a SQLite file.
pub(crate) fn register(db: &DatabaseConnection) {
    let Some(options) = pool_options(db) else {
        return;
    };
    let file = options.get_filename();
    if !file.is_file() {
        return;
    }
    let Some(path) = file.to_str().and_then(|p| CString::new(p).ok()) else {
        return;
    };
    let readers = Readers {
        path,
        idle: Mutex::new(Vec::new()),
    };
    REGISTRY.add(options, readers);
}

/// Closes the database's direct connections (those in use close when their read ends).
pub(crate) fn unregister(db: &DatabaseConnection) {
    if let Some(options) = pool_options(db) {
        REGISTRY.remove(&options);
    }
}

fn readers_of(db: &DatabaseConnection) -> Option<Arc<Readers>> {
    REGISTRY.find(&pool_options(db)?)
}

impl Readers {
    /// `None` when the statement binds a kind of value this module does not (the
    /// caller then reads through the pool).
    fn fetch_all<D: Decode>(&self, statement: &Statement) -> Option<Result<Vec<D::Out>>> {
        let values: &[Value] = statement.values.as_ref().map_or(&[], |v| &v.0);
        if !values.iter().all(bindable) {
            return None;
        }
        let mut connection = match self.take() {
            Ok(connection) => connection,
            Err(err) => return Some(Err(err)),
        };
        let rows = connection.fetch_all::<D>(&statement.sql, values);
        self.idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(connection);
        Some(rows)
    }

    fn take(&self) -> Result<Connection> {
        if let Some(connection) = self.idle.lock().unwrap_or_else(PoisonError::into_inner).pop() {
            return Ok(connection);
        }
        Connection::open(&self.path)
    }
}

/// Statements kept prepared per connection, at most (a chat list's statement differs
/// by filter and by the length of its `IN` lists; past this, statements are prepared
/// for one use).
const KEPT_STATEMENTS: usize = 64;

/// How long a read waits for a lock (a checkpoint, WAL recovery) before failing, as
/// the pool's connections do.
const BUSY_TIMEOUT_MS: c_int = 10_000;

struct Connection {
    db: *mut ffi::sqlite3,
    statements: HashMap<String, *mut ffi::sqlite3_stmt>,
}

// SAFETY: a `Connection` is used by one thread at a time (it is taken out of
// `Readers::idle` for each read), and SQLite allows a connection opened with
// SQLITE_OPEN_NOMUTEX to move between threads so used.
unsafe impl Send for Connection {}

impl Connection {
    fn open(path: &CStr) -> Result<Self> {
        let mut db = std::ptr::null_mut();
        let flags = ffi::SQLITE_OPEN_READWRITE | ffi::SQLITE_OPEN_NOMUTEX;
        // SAFETY: `path` is NUL-terminated; `db` receives the handle (set even on
        // failure, when it must still be closed, which `Drop` does).
        let rc = unsafe { ffi::sqlite3_open_v2(path.as_ptr(), &mut db, flags, std::ptr::null()) };
        let connection = Connection {
            db,
            statements: HashMap::new(),
        };
        if rc != ffi::SQLITE_OK {
            return Err(connection.error(rc, "opening a read connection"));
        }
        // SAFETY: `db` is open and used by this thread only.
        if let Err((rc, what)) = unsafe { crate::db::set_up_sqlite_connection(db) } {
            return Err(connection.error(rc, what));
        }
        // SAFETY: `db` is open.
        unsafe { ffi::sqlite3_busy_timeout(db, BUSY_TIMEOUT_MS) };
        // Reads only; sorts and temporary tables in memory, as on the pool.
        let setup = c"PRAGMA query_only = 1; PRAGMA temp_store = memory;";
        // SAFETY: `db` is open, `setup` NUL-terminated, no callback.
        let rc = unsafe { ffi::sqlite3_exec(db, setup.as_ptr(), None, std::ptr::null_mut(), std::ptr::null_mut()) };
        if rc != ffi::SQLITE_OK {
            return Err(connection.error(rc, "setting up a read connection"));
        }
        Ok(connection)
    }

    fn fetch_all<D: Decode>(&mut self, sql: &str, values: &[Value]) -> Result<Vec<D::Out>> {
        let (stmt, kept) = self.prepare(sql)?;
        let rows = self.run::<D>(stmt, values);
        // SAFETY: `stmt` is a live statement of this connection. Resetting ends its
        // read (whatever `run` returned), so no snapshot outlives the call; clearing
        // the bindings drops its pointers into `values`.
        unsafe {
            ffi::sqlite3_reset(stmt);
            ffi::sqlite3_clear_bindings(stmt);
            if !kept {
                ffi::sqlite3_finalize(stmt);
            }
        }
        rows
    }

    /// The statement for `sql`, and whether it is kept for the next use.
    fn prepare(&mut self, sql: &str) -> Result<(*mut ffi::sqlite3_stmt, bool)> {
        if let Some(&stmt) = self.statements.get(sql) {
            return Ok((stmt, true));
        }
        let keep = self.statements.len() < KEPT_STATEMENTS;
        let flags = if keep { ffi::SQLITE_PREPARE_PERSISTENT } else { 0 };
        let len = c_int::try_from(sql.len()).map_err(|_| Error::internal("a statement too long to prepare"))?;
        let mut stmt = std::ptr::null_mut();
        // SAFETY: `sql` is valid for `len` bytes (no NUL needed when a length is given);
        // `stmt` receives the statement or NULL.
        let rc = unsafe {
            ffi::sqlite3_prepare_v3(
                self.db,
                sql.as_ptr() as *const c_char,
                len,
                flags,
                &mut stmt,
                std::ptr::null_mut(),
            )
        };
        if rc != ffi::SQLITE_OK || stmt.is_null() {
            return Err(self.error(rc, "preparing a read"));
        }
        if keep {
            self.statements.insert(sql.to_owned(), stmt);
        }
        Ok((stmt, keep))
    }

    fn run<D: Decode>(&self, stmt: *mut ffi::sqlite3_stmt, values: &[Value]) -> Result<Vec<D::Out>> {
        for (i, value) in values.iter().enumerate() {
            let rc = bind(stmt, i as c_int + 1, value);
            if rc != ffi::SQLITE_OK {
                return Err(self.error(rc, "binding a value"));
            }
        }
        let row = DirectRow {
            stmt,
            // SAFETY: `stmt` is live.
            width: unsafe { ffi::sqlite3_column_count(stmt) } as usize,
            _statement: PhantomData,
        };
        let mut out = Vec::new();
        loop {
            // SAFETY: `stmt` is live and bound; stepping reads the next row.
            match unsafe { ffi::sqlite3_step(stmt) } {
                ffi::SQLITE_ROW => out.push(D::decode_nth(&row, out.len())?),
                ffi::SQLITE_DONE => return Ok(out),
                rc => return Err(self.error(rc, "reading")),
            }
        }
    }

    fn error(&self, rc: c_int, doing: &str) -> Error {
        let message = if self.db.is_null() {
            String::new()
        } else {
            // SAFETY: `db` is a handle (open or failed to open); the message is
            // NUL-terminated and valid until the next call on the handle.
            unsafe { CStr::from_ptr(ffi::sqlite3_errmsg(self.db)) }
                .to_string_lossy()
                .into_owned()
        };
        Error::internal(format!("SQLite, {doing}: {message} (code {rc})"))
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        // SAFETY: every kept statement belongs to `db` and is finalized once, before
        // the handle closes; closing a NULL handle is a no-op.
        unsafe {
            for (_, stmt) in self.statements.drain() {
                ffi::sqlite3_finalize(stmt);
            }
            ffi::sqlite3_close(self.db);
        }
    }
}

/// Whether `bind` takes this value: the kinds the hot reads bind (ids, counts,
/// states, terms, times, limits and offsets). Any other makes the read go through
/// the pool.
fn bindable(value: &Value) -> bool {
    match value {
        Value::BigUnsigned(Some(n)) => i64::try_from(*n).is_ok(),
        Value::Bool(_)
        | Value::Int(_)
        | Value::BigInt(_)
        | Value::Unsigned(_)
        | Value::BigUnsigned(None)
        | Value::String(_)
        | Value::ChronoDateTimeUtc(_) => true,
        _ => false,
    }
}

/// Binds `value` to parameter `i` as the driver binds it (booleans as integers, times
/// as RFC 3339 text), so a comparison with stored values means the same here.
fn bind(stmt: *mut ffi::sqlite3_stmt, i: c_int, value: &Value) -> c_int {
    // SAFETY: `stmt` is live; text is bound SQLITE_TRANSIENT (copied by SQLite).
    unsafe {
        match value {
            Value::Bool(Some(b)) => ffi::sqlite3_bind_int64(stmt, i, i64::from(*b)),
            Value::Int(Some(n)) => ffi::sqlite3_bind_int64(stmt, i, i64::from(*n)),
            Value::BigInt(Some(n)) => ffi::sqlite3_bind_int64(stmt, i, *n),
            Value::Unsigned(Some(n)) => ffi::sqlite3_bind_int64(stmt, i, i64::from(*n)),
            // `bindable` let through only those that fit (limits and offsets).
            Value::BigUnsigned(Some(n)) => ffi::sqlite3_bind_int64(stmt, i, *n as i64),
            Value::String(Some(s)) => bind_text(stmt, i, s),
            Value::ChronoDateTimeUtc(Some(t)) => {
                bind_text(stmt, i, &t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, false))
            }
            _ => ffi::sqlite3_bind_null(stmt, i),
        }
    }
}

/// # Safety
/// `stmt` must be a live statement.
unsafe fn bind_text(stmt: *mut ffi::sqlite3_stmt, i: c_int, text: &str) -> c_int {
    // SAFETY: as the caller promises; `text` is valid for its length.
    unsafe {
        ffi::sqlite3_bind_text64(
            stmt,
            i,
            text.as_ptr() as *const c_char,
            text.len() as u64,
            ffi::SQLITE_TRANSIENT(),
            ffi::SQLITE_UTF8 as u8,
        )
    }
}

/// The current row of a statement being stepped.
pub(crate) struct DirectRow<'a> {
    stmt: *mut ffi::sqlite3_stmt,
    width: usize,
    _statement: PhantomData<&'a ()>,
}

impl Row for DirectRow<'_> {
    fn get<T: Cell>(&self, at: usize) -> Result<T> {
        if at >= self.width {
            return Err(Error::internal(format!(
                "column {at} read from a row of {} columns",
                self.width
            )));
        }
        T::read(self, at as c_int)
    }
}

impl DirectRow<'_> {
    fn kind(&self, at: c_int) -> c_int {
        // SAFETY: `stmt` is on a row and `at` is within its columns.
        unsafe { ffi::sqlite3_column_type(self.stmt, at) }
    }

    fn integer(&self, at: c_int) -> Result<i64> {
        match self.kind(at) {
            // SAFETY: as in `kind`.
            ffi::SQLITE_INTEGER => Ok(unsafe { ffi::sqlite3_column_int64(self.stmt, at) }),
            kind => Err(mismatch(at, "an integer", kind)),
        }
    }

    fn text(&self, at: c_int) -> Result<&str> {
        if self.kind(at) != ffi::SQLITE_TEXT {
            return Err(mismatch(at, "text", self.kind(at)));
        }
        // SAFETY: as in `kind`; the pointer and length stay valid until the statement
        // steps again or resets, which needs `&mut` of its connection, not held here.
        let bytes = unsafe {
            let ptr = ffi::sqlite3_column_text(self.stmt, at);
            let len = ffi::sqlite3_column_bytes(self.stmt, at) as usize;
            if ptr.is_null() {
                &[][..]
            } else {
                std::slice::from_raw_parts(ptr, len)
            }
        };
        std::str::from_utf8(bytes).map_err(|_| Error::internal(format!("column {at} is not UTF-8")))
    }
}

fn mismatch(at: c_int, wanted: &str, kind: c_int) -> Error {
    let found = match kind {
        ffi::SQLITE_INTEGER => "an integer",
        ffi::SQLITE_FLOAT => "a real",
        ffi::SQLITE_TEXT => "text",
        ffi::SQLITE_BLOB => "a blob",
        _ => "NULL",
    };
    Error::internal(format!("column {at}: {wanted} expected, {found} found"))
}

/// A field type the decoders read: from a pooled row (`TryGetable`), from a direct
/// SQLite row, where it is read as the driver decodes it, or from a direct PostgreSQL
/// row (`pgread`).
pub(crate) trait Cell: sea_orm::TryGetable + Sized {
    fn read(row: &DirectRow<'_>, at: c_int) -> Result<Self>;
    /// The value as PostgreSQL's driver decodes it.
    fn read_pg(value: PgValueRef<'_>) -> Result<Self>;
}

/// A PostgreSQL row read by position. The driver's own `try_get` checks each value's
/// column type against the field's, comparing and cloning type descriptions, and
/// sea-orm wraps each value read in its own layers: for a page of chats some 10 % of
/// the server's CPU time. Here the value is decoded straight away; the statements are
/// the service's own and their columns' types fixed by the migrations, which debug
/// builds (the tests) check at every value.
impl Row for PgRow {
    fn get<T: Cell>(&self, at: usize) -> Result<T> {
        T::read_pg(sqlx::Row::try_get_raw(self, at).map_err(Error::internal)?)
    }
}

/// `value` decoded as a `T`, the driver's way (either wire format).
fn decode_pg<T>(value: PgValueRef<'_>) -> Result<T>
where
    T: for<'r> sqlx::Decode<'r, Postgres> + sqlx::Type<Postgres>,
{
    debug_assert!(
        <T as sqlx::Type<Postgres>>::compatible(&sqlx::ValueRef::type_info(&value)),
        "a {} column read as {}",
        sqlx::ValueRef::type_info(&value),
        std::any::type_name::<T>()
    );
    if sqlx::ValueRef::is_null(&value) {
        return Err(Error::internal(format!("NULL read as {}", std::any::type_name::<T>())));
    }
    T::decode(value).map_err(Error::internal)
}

impl Cell for i64 {
    fn read(row: &DirectRow<'_>, at: c_int) -> Result<Self> {
        row.integer(at)
    }

    fn read_pg(value: PgValueRef<'_>) -> Result<Self> {
        decode_pg(value)
    }
}

impl Cell for i32 {
    fn read(row: &DirectRow<'_>, at: c_int) -> Result<Self> {
        let n = row.integer(at)?;
        i32::try_from(n).map_err(|_| Error::internal(format!("column {at}: {n} is out of range")))
    }

    fn read_pg(value: PgValueRef<'_>) -> Result<Self> {
        decode_pg(value)
    }
}

impl Cell for bool {
    fn read(row: &DirectRow<'_>, at: c_int) -> Result<Self> {
        Ok(row.integer(at)? != 0)
    }

    fn read_pg(value: PgValueRef<'_>) -> Result<Self> {
        decode_pg(value)
    }
}

impl Cell for String {
    fn read(row: &DirectRow<'_>, at: c_int) -> Result<Self> {
        row.text(at).map(str::to_owned)
    }

    fn read_pg(value: PgValueRef<'_>) -> Result<Self> {
        decode_pg(value)
    }
}

impl Cell for DateTime<Utc> {
    fn read(row: &DirectRow<'_>, at: c_int) -> Result<Self> {
        if row.kind(at) == ffi::SQLITE_INTEGER {
            let seconds = row.integer(at)?;
            return DateTime::from_timestamp(seconds, 0)
                .ok_or_else(|| Error::internal(format!("column {at}: {seconds} is out of range")));
        }
        let text = row.text(at)?;
        parse_time(text).ok_or_else(|| Error::internal(format!("column {at}: {text:?} is not a time")))
    }

    fn read_pg(value: PgValueRef<'_>) -> Result<Self> {
        decode_pg(value)
    }
}

/// A stored time: RFC 3339 as the driver writes it, or SQLite's own
/// `YYYY-MM-DD HH:MM:SS[.fff]` (UTC), as `datetime()` and `CURRENT_TIMESTAMP` write.
fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t.with_timezone(&Utc));
    }
    ["%F %T%.f", "%FT%T%.f"]
        .iter()
        .find_map(|format| NaiveDateTime::parse_from_str(text, format).ok())
        .map(|t| t.and_utc())
}

impl<T: Cell> Cell for Option<T> {
    fn read(row: &DirectRow<'_>, at: c_int) -> Result<Self> {
        if row.kind(at) == ffi::SQLITE_NULL {
            Ok(None)
        } else {
            T::read(row, at).map(Some)
        }
    }

    fn read_pg(value: PgValueRef<'_>) -> Result<Self> {
        if sqlx::ValueRef::is_null(&value) {
            Ok(None)
        } else {
            T::read_pg(value).map(Some)
        }
    }
}

#[cfg(test)]
mod tests {
    use entity::{chat, contact, message};
    use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait};

    use super::*;
    use crate::chats::ChatWithContact;

    /// Messages, one per row.
    struct MessageRow;

    impl Decode for MessageRow {
        type Out = message::Model;
        fn decode<R: Row>(row: &R) -> Result<message::Model> {
            crate::rows::message_at(row, &mut 0)
        }
    }

    /// The rows of `statement` read directly and through the pool.
    async fn both<D: Decode>(db: &DatabaseConnection, statement: Statement) -> (Vec<D::Out>, Vec<D::Out>) {
        let readers = readers_of(db).expect("a SQLite file has direct connections");
        let direct = readers
            .fetch_all::<D>(&statement)
            .expect("the statement's values are bindable")
            .unwrap();
        let pooled = db.query_all_raw(statement).await.unwrap();
        let pooled = pooled.iter().map(D::decode).collect::<Result<Vec<_>>>().unwrap();
        (direct, pooled)
    }

    #[tokio::test]
    async fn direct_reads_return_what_the_pool_returns_and_see_its_writes_at_once() {
        let (db, dir) = crate::db::test_sqlite("direct").await;
        let seeded = crate::seed::seed(&db, "Direct", 40, 3, |_| {}).await.unwrap();
        let backend = db.get_database_backend();

        // Chats with their contacts: NULLs (assignee, closing time, contact fields),
        // times, a time bound, a string, a limit and an offset.
        let chats = chat::Entity::find()
            .filter(chat::Column::WorkspaceId.eq(seeded.workspace_id))
            .find_also_related(contact::Entity);
        let (direct, pooled) = both::<ChatWithContact>(&db, chats.clone().build(backend)).await;
        assert_eq!(direct.len(), 40);
        assert_eq!(direct, pooled);
        assert!(direct.iter().any(|(c, _)| c.closed_at.is_none()) && direct.iter().any(|(c, _)| c.closed_at.is_some()));
        let middle = {
            let mut times: Vec<_> = direct.iter().map(|(c, _)| c.last_activity_at).collect();
            times.sort();
            times[20]
        };
        let bounded = chats
            .filter(chat::Column::LastActivityAt.lt(middle))
            .filter(chat::Column::State.eq("open"))
            .order_by_desc(chat::Column::LastActivityAt)
            .limit(7)
            .offset(2);
        let (direct, pooled) = both::<ChatWithContact>(&db, bounded.build(backend)).await;
        assert!(!direct.is_empty());
        assert_eq!(direct, pooled);
        assert!(
            direct
                .iter()
                .all(|(c, _)| c.last_activity_at < middle && c.state == "open")
        );

        // Messages: booleans, optional text and times.
        let messages = message::Entity::find()
            .filter(message::Column::WorkspaceId.eq(seeded.workspace_id))
            .order_by_asc(message::Column::Id)
            .build(backend);
        let (direct, pooled) = both::<MessageRow>(&db, messages).await;
        assert_eq!(direct.len(), 120);
        assert_eq!(direct, pooled);

        // A write committed through the pool is seen by the next direct read, on a
        // connection that has read before (its kept statement, a new snapshot).
        let first = direct[0].id;
        db.execute_raw(Statement::from_sql_and_values(
            backend,
            "UPDATE message SET text = ?, edited_at = ? WHERE id = ?",
            ["Ünïcode ✓ edited".into(), Utc::now().into(), first.into()],
        ))
        .await
        .unwrap();
        let one = message::Entity::find_by_id(first).build(backend);
        let (direct, pooled) = both::<MessageRow>(&db, one).await;
        assert_eq!(direct[0].text, "Ünïcode ✓ edited");
        assert!(direct[0].edited_at.is_some());
        assert_eq!(direct, pooled);

        // A database in memory has no file for direct connections: it keeps to the pool.
        let memory = crate::db::connect("sqlite::memory:").await.unwrap();
        assert!(readers_of(&memory).is_none());
        let reopened = db.clone();
        crate::db::close(db).await;
        assert!(readers_of(&reopened).is_none(), "closing closes the direct connections");
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn times_parse_as_written_by_the_driver_and_by_sqlite() {
        let t = DateTime::parse_from_rfc3339("2026-11-21T10:20:30.123456+00:00")
            .unwrap()
            .with_timezone(&Utc);
        let written = t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, false);
        assert_eq!(parse_time(&written), Some(t));
        assert_eq!(parse_time("2026-11-21 10:20:30.123456"), Some(t));
        assert_eq!(
            parse_time("2026-11-21T12:20:30.123456+02:00"),
            Some(t),
            "an offset is kept"
        );
        assert_eq!(parse_time("yesterday"), None);
    }
}
