//! Page bounds written into PostgreSQL statements, so that PostgreSQL can keep a plan.
//!
//! The driver prepares each statement once per connection and PostgreSQL plans a
//! prepared statement anew for each execution (a "custom" plan) until a plan for any
//! values (a "generic" one) is estimated to cost no more. With `LIMIT $n` and
//! `OFFSET $m` bound, the generic plan is priced for an unknown limit, taken as a tenth
//! of the rows, so the pages of a chat list or of a chat's messages were never
//! cheaper as generic plans and were planned again for every request: measured on a
//! 10k workspace, 0.19–0.30 ms of planning for 0.1–0.2 ms of execution. Written as
//! numbers, the bounds are the same in both estimates and after five executions
//! PostgreSQL reuses one plan (0.004 ms to "plan"). Statements whose plan does depend
//! on their values (a search's pattern) are still planned for each execution, as
//! PostgreSQL decides statement by statement.
//!
//! A limit here is at most a window's 1,024 rows; an offset is inlined up to
//! `MAX_INLINED_OFFSET`, beyond which both stay bound: each inlined offset is a
//! statement of its own for the driver's per-connection cache, and the first pages are
//! the ones read again and again.

use sea_orm::{Statement, Value};

/// The largest offset written into a statement (ten pages of 20).
pub(crate) const MAX_INLINED_OFFSET: u64 = 200;

/// `statement` with a trailing `LIMIT $n [OFFSET $m]` (its last bound values) written
/// as numbers; any other statement unchanged.
pub(crate) fn with_literal_page_bounds(mut statement: Statement) -> Statement {
    let Some(values) = statement.values.as_mut() else {
        return statement;
    };
    let count = values.0.len();
    let Some(start) = statement.sql.rfind(" LIMIT $") else {
        return statement;
    };
    let mut words = statement.sql[start..].split_whitespace();
    let limit_at = match (words.next(), words.next().and_then(placeholder)) {
        (Some("LIMIT"), Some(at)) => at,
        _ => return statement,
    };
    let offset_at = match (words.next(), words.next().and_then(placeholder), words.next()) {
        (None, _, _) => None,
        (Some("OFFSET"), Some(at), None) => Some(at),
        _ => return statement,
    };
    // The bounds must be the last values, so that no other placeholder is renumbered.
    let expected = match offset_at {
        Some(offset_at) => limit_at + 1 == count && offset_at == count,
        None => limit_at == count,
    };
    if !expected {
        return statement;
    }
    let Some(limit) = whole_number(&values.0[limit_at - 1]) else {
        return statement;
    };
    let offset = match offset_at {
        Some(at) => match whole_number(&values.0[at - 1]) {
            Some(offset) if offset <= MAX_INLINED_OFFSET => offset,
            _ => return statement,
        },
        None => 0,
    };
    values.0.truncate(limit_at - 1);
    statement.sql.truncate(start);
    statement.sql.push_str(&format!(" LIMIT {limit}"));
    if offset > 0 {
        statement.sql.push_str(&format!(" OFFSET {offset}"));
    }
    statement
}

/// `$n` as n.
fn placeholder(word: &str) -> Option<usize> {
    word.strip_prefix('$')?.parse().ok().filter(|n| *n > 0)
}

fn whole_number(value: &Value) -> Option<u64> {
    match value {
        Value::BigUnsigned(Some(n)) => Some(*n),
        Value::Unsigned(Some(n)) => Some(u64::from(*n)),
        Value::BigInt(Some(n)) => u64::try_from(*n).ok(),
        Value::Int(Some(n)) => u64::try_from(*n).ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use sea_orm::{DbBackend, Values};

    use super::*;

    fn statement(sql: &str, values: Vec<Value>) -> Statement {
        Statement::from_sql_and_values(DbBackend::Postgres, sql, values)
    }

    #[test]
    fn trailing_bounds_become_numbers_and_leave_the_other_values() {
        let out = with_literal_page_bounds(statement(
            "SELECT a FROM t WHERE w = $1 AND s = $2 ORDER BY a DESC LIMIT $3 OFFSET $4",
            vec![1i64.into(), "open".into(), 20u64.into(), 40u64.into()],
        ));
        assert_eq!(
            out.sql,
            "SELECT a FROM t WHERE w = $1 AND s = $2 ORDER BY a DESC LIMIT 20 OFFSET 40"
        );
        assert_eq!(out.values, Some(Values(vec![1i64.into(), "open".into()])));

        let first = with_literal_page_bounds(statement(
            "SELECT a FROM t WHERE w = $1 LIMIT $2 OFFSET $3",
            vec![1i64.into(), 20u64.into(), 0u64.into()],
        ));
        assert_eq!(first.sql, "SELECT a FROM t WHERE w = $1 LIMIT 20");
        assert_eq!(first.values, Some(Values(vec![1i64.into()])));

        let keyset = with_literal_page_bounds(statement(
            "SELECT a FROM t WHERE c = $1 AND id < $2 ORDER BY id DESC LIMIT $3",
            vec![7i64.into(), 99i64.into(), 20u64.into()],
        ));
        assert_eq!(
            keyset.sql,
            "SELECT a FROM t WHERE c = $1 AND id < $2 ORDER BY id DESC LIMIT 20"
        );
        assert_eq!(keyset.values, Some(Values(vec![7i64.into(), 99i64.into()])));
    }

    #[test]
    fn anything_else_is_left_as_it_was() {
        let unchanged = |sql: &str, values: Vec<Value>| {
            let before = statement(sql, values);
            assert_eq!(with_literal_page_bounds(before.clone()), before, "{sql}");
        };
        // A deep offset stays bound.
        unchanged(
            "SELECT a FROM t WHERE w = $1 LIMIT $2 OFFSET $3",
            vec![1i64.into(), 20u64.into(), 201u64.into()],
        );
        // Bounds inside a subquery, or not the last values.
        unchanged(
            "SELECT COUNT(*) FROM (SELECT a FROM t WHERE w = $1 LIMIT $2 OFFSET $3) AS capped",
            vec![1i64.into(), 10_001u64.into(), 0u64.into()],
        );
        unchanged(
            "SELECT a FROM t WHERE w = $3 LIMIT $1 OFFSET $2",
            vec![20u64.into(), 0u64.into(), 1i64.into()],
        );
        // Not a whole number, a NULL, or no bounds at all.
        unchanged("SELECT a FROM t LIMIT $1", vec!["20".into()]);
        unchanged("SELECT a FROM t LIMIT $1", vec![Value::BigUnsigned(None)]);
        unchanged("SELECT a FROM t WHERE w = $1", vec![1i64.into()]);
        unchanged(
            "SELECT a FROM t WHERE w = $1 LIMIT $2 OFFSET $3 FOR UPDATE",
            vec![1i64.into(), 20u64.into(), 0u64.into()],
        );
        unchanged("SELECT a FROM t", vec![]);
    }
}
