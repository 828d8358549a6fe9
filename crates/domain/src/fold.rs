//! `contains_folded(text, term)`: SQLite's case-insensitive substring test for the
//! searches that look at a row's own text instead of asking the trigram index.
//!
//! SQLite's `lower()` and `LIKE` fold ASCII letters only, so `LIKE '%ольга%'` missed
//! "ОЛЬГА" where the FTS5 trigram index (which folds every script) found it: the same
//! term matched differently depending on whether the index or the row was asked. This
//! function folds the text as the term was folded (`SearchTerm` lower-cases it with
//! Rust's Unicode case mapping) and looks for the term in it. The term is matched
//! literally: no character of it is a wildcard.

use std::cell::RefCell;
use std::ffi::{c_int, c_void};

use libsqlite3_sys as ffi;

/// The function's name in SQL.
pub const NAME: &str = "contains_folded";

/// Whether `text`, case-folded, contains `term` (already folded).
pub fn contains(text: &[u8], term: &[u8]) -> bool {
    if term.is_empty() {
        return true;
    }
    thread_local! {
        static FOLDED: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
    }
    if text.is_ascii() {
        // A folded term with a character outside ASCII cannot be in ASCII text (no
        // ASCII letter lower-cases to one).
        if !term.is_ascii() || term.len() > text.len() {
            return false;
        }
        return FOLDED.with_borrow_mut(|folded| {
            folded.clear();
            folded.extend(text.iter().map(u8::to_ascii_lowercase));
            memchr::memmem::find(folded, term).is_some()
        });
    }
    let folded = String::from_utf8_lossy(text).to_lowercase();
    memchr::memmem::find(folded.as_bytes(), term).is_some()
}

/// Adds the function to an open connection; SQLite's result code.
///
/// # Safety
/// `db` must be an open connection that no other thread uses during the call.
pub(crate) unsafe fn register(db: *mut ffi::sqlite3) -> c_int {
    let name = c"contains_folded";
    debug_assert_eq!(name.to_bytes(), NAME.as_bytes());
    let flags = ffi::SQLITE_UTF8 | ffi::SQLITE_DETERMINISTIC | ffi::SQLITE_INNOCUOUS;
    // SAFETY: as the caller promises; the name is NUL-terminated, the function takes
    // two arguments and keeps no user data.
    unsafe {
        ffi::sqlite3_create_function_v2(
            db,
            name.as_ptr(),
            2,
            flags,
            std::ptr::null_mut::<c_void>(),
            Some(call),
            None,
            None,
            None,
        )
    }
}

/// The function's body: NULL when the text is NULL, else 1 or 0.
unsafe extern "C" fn call(ctx: *mut ffi::sqlite3_context, argc: c_int, argv: *mut *mut ffi::sqlite3_value) {
    // SAFETY: SQLite passes `argc` (2, as registered) live values for this call.
    let args = unsafe { std::slice::from_raw_parts(argv, argc as usize) };
    // SAFETY: the values are live for this call; their text stays valid until the
    // values are next converted, which nothing here does.
    let (text, term) = unsafe { (text_of(args[0]), text_of(args[1])) };
    match (text, term) {
        // SAFETY: `ctx` is this call's context.
        (Some(text), Some(term)) => unsafe { ffi::sqlite3_result_int(ctx, c_int::from(contains(text, term))) },
        // SAFETY: as above.
        _ => unsafe { ffi::sqlite3_result_null(ctx) },
    }
}

/// A value's UTF-8 text, or `None` for NULL.
///
/// # Safety
/// `value` must be a live value of the current call; the slice lives as long as it.
unsafe fn text_of<'a>(value: *mut ffi::sqlite3_value) -> Option<&'a [u8]> {
    // SAFETY: as the caller promises. `sqlite3_value_text` before `_bytes`, as
    // SQLite's documentation asks, so that the length is of the UTF-8 form.
    unsafe {
        if ffi::sqlite3_value_type(value) == ffi::SQLITE_NULL {
            return None;
        }
        let text = ffi::sqlite3_value_text(value);
        let len = ffi::sqlite3_value_bytes(value);
        if text.is_null() || len <= 0 {
            return Some(&[]);
        }
        Some(std::slice::from_raw_parts(text, len as usize))
    }
}

#[cfg(test)]
mod tests {
    use super::contains;

    #[test]
    fn any_script_in_any_case() {
        assert!(contains("Доброго дня, ОЛЬГА!".as_bytes(), "ольга".as_bytes()));
        assert!(contains("MÜLLER GmbH".as_bytes(), "müller".as_bytes()));
        assert!(contains(b"Refund for ORDER #A-7731", b"order #a-77"));
        assert!(contains(b"abc", b""));
        assert!(!contains(b"Olga", "ольга".as_bytes()));
        assert!(!contains(b"ab", b"abc"));
        assert!(!contains("ОЛЬГА".as_bytes(), b"olga"));
    }

    #[test]
    fn wildcards_are_literal() {
        assert!(!contains(b"100 percent", b"100%"));
        assert!(contains(b"100% sure", b"100%"));
        assert!(!contains(b"a_b", b"a%b"));
        assert!(contains(b"a_b", b"a_b"));
        assert!(!contains(b"axb", b"a_b"));
    }
}
