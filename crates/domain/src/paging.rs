//! Page-numbered lists as SmartSender has them (`page`, `limitation`) and the cursor
//! that describes a page, with a total that is exact up to a cap.

use sea_orm::sea_query::{Alias, Expr, Query, SelectStatement};
use sea_orm::{ConnectionTrait, DbErr};

use crate::error::{Error, ErrorCode, Result};
use crate::limits::{DEFAULT_LIMITATION, MAX_LIMITATION, MAX_PAGE, TOTAL_CAP};

/// A validated page request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PageRequest {
    pub page: u64,
    pub limitation: u64,
}

impl PageRequest {
    pub fn parse(page: Option<i64>, limitation: Option<i64>) -> Result<Self> {
        let page = page.unwrap_or(1);
        if !(1..=MAX_PAGE).contains(&page) {
            return Err(Error::new(
                ErrorCode::InvalidPage,
                format!("page must be from 1 to {MAX_PAGE}, not {page}"),
            ));
        }
        let limitation = limitation.unwrap_or(DEFAULT_LIMITATION as i64);
        if !(1..=MAX_LIMITATION as i64).contains(&limitation) {
            return Err(Error::new(
                ErrorCode::InvalidLimitation,
                format!("limitation must be from 1 to {MAX_LIMITATION}, not {limitation}"),
            ));
        }
        Ok(PageRequest {
            page: page as u64,
            limitation: limitation as u64,
        })
    }

    pub fn offset(&self) -> u64 {
        (self.page - 1).saturating_mul(self.limitation)
    }
}

/// Where a page stands in its list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cursor {
    pub page: u64,
    pub pages: u64,
    pub limitation: u64,
    /// Exact when `total_is_exact`; otherwise a lower bound (`TOTAL_CAP + 1`).
    pub total: u64,
    pub total_is_exact: bool,
}

impl Cursor {
    pub fn new(request: PageRequest, counted: u64) -> Self {
        let total_is_exact = counted <= TOTAL_CAP;
        Cursor {
            page: request.page,
            pages: counted.div_ceil(request.limitation),
            limitation: request.limitation,
            total: counted,
            total_is_exact,
        }
    }
}

/// One page of `query` in `order`, with its cursor: the shape of every plain list.
pub async fn page_of<E, C>(
    db: &C,
    query: sea_orm::Select<E>,
    order: E::Column,
    page: PageRequest,
) -> crate::error::Result<(Cursor, Vec<E::Model>)>
where
    E: sea_orm::EntityTrait,
    C: ConnectionTrait,
{
    use sea_orm::{QueryOrder, QuerySelect, QueryTrait};
    let rows = query
        .clone()
        .order_by_asc(order)
        .limit(page.limitation)
        .offset(page.offset())
        .all(db)
        .await?;
    let total = match known_total(&page, rows.len()) {
        Some(total) => total,
        None => count_capped(db, query.into_query()).await?,
    };
    Ok((Cursor::new(page, total), rows))
}

/// The total of a list when its page already shows it: a page that came back short
/// of its limit holds the list's last rows, so the total is the rows before the page
/// plus these (an empty page past the end says nothing). Lists shorter than a page,
/// the most common kind, then need no count.
pub(crate) fn known_total(page: &PageRequest, rows: usize) -> Option<u64> {
    let before = page.offset();
    (rows < page.limitation as usize && (rows > 0 || before == 0)).then(|| (before + rows as u64).min(TOTAL_CAP + 1))
}

/// Counts the rows `select` yields, stopping at `TOTAL_CAP + 1`: the count reads at
/// most that many index entries however large the workspace is.
pub async fn count_capped<C: ConnectionTrait>(db: &C, mut select: SelectStatement) -> Result<u64, DbErr> {
    select.clear_order_by();
    select.limit(TOTAL_CAP + 1).offset(0);
    let count = Query::select()
        .expr_as(Expr::cust("COUNT(*)"), Alias::new("n"))
        .from_subquery(select, Alias::new("capped"))
        .to_owned();
    let row = db.query_one(&count).await?;
    let n: i64 = match row {
        Some(row) => row.try_get("", "n")?,
        None => 0,
    };
    Ok(n as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_short_page_tells_its_total() {
        let page = |page, limitation| PageRequest { page, limitation };
        assert_eq!(known_total(&page(1, 20), 0), Some(0));
        assert_eq!(known_total(&page(1, 20), 7), Some(7));
        assert_eq!(known_total(&page(3, 20), 5), Some(45));
        // A full page may have more after it; an empty page past the end may have
        // any number before it.
        assert_eq!(known_total(&page(1, 20), 20), None);
        assert_eq!(known_total(&page(4, 20), 0), None);
        // Beyond the cap a total is a lower bound, as a count would say.
        assert_eq!(known_total(&page(600, 20), 3), Some(TOTAL_CAP + 1));
    }

    #[test]
    fn page_and_limitation_default_to_one_and_twenty() {
        assert_eq!(
            PageRequest::parse(None, None).unwrap(),
            PageRequest {
                page: 1,
                limitation: 20
            }
        );
    }

    #[test]
    fn page_zero_and_limitations_outside_one_to_twenty_are_rejected() {
        assert_eq!(
            PageRequest::parse(Some(0), None).unwrap_err().code,
            ErrorCode::InvalidPage
        );
        assert_eq!(
            PageRequest::parse(None, Some(0)).unwrap_err().code,
            ErrorCode::InvalidLimitation
        );
        assert_eq!(
            PageRequest::parse(None, Some(21)).unwrap_err().code,
            ErrorCode::InvalidLimitation
        );
    }

    #[test]
    fn a_count_beyond_the_cap_is_a_lower_bound() {
        let request = PageRequest::parse(Some(2), Some(20)).unwrap();
        let exact = Cursor::new(request, 41);
        assert_eq!((exact.pages, exact.total, exact.total_is_exact), (3, 41, true));
        let capped = Cursor::new(request, TOTAL_CAP + 1);
        assert!(!capped.total_is_exact);
    }
}
