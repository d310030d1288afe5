//! `GET /todos` query parameters: pagination, filters and sort order.

use super::FieldErrors;

/// What joins title and description in the search column: ASCII's "unit separator". A
/// newline joined them once, and `q=milk%0Aegg` found "buy milk" / "eggs" (and `q=%0A` every
/// todo); `q` may not hold this one character.
pub const SEARCH_SEPARATOR: char = '\u{1f}';

pub const MAX_LIMIT: u32 = 100;
pub const DEFAULT_LIMIT: u32 = 10;

/// What `sort=` accepts; a leading `-` means descending. Ties are broken by id, so pages
/// never overlap or skip rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    CreatedAt,
    UpdatedAt,
    Title,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListQuery {
    pub page: u32,
    pub limit: u32,
    pub completed: Option<bool>,
    /// Case-insensitive substring of the title or the description.
    pub search: Option<String>,
    pub sort: SortKey,
    pub descending: bool,
}

/// The query string as sent: every value still a string, so bad values get our own messages.
#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RawListQuery {
    /// Page number, from 1 (default 1).
    #[param(value_type = Option<u32>, minimum = 1)]
    pub page: Option<String>,
    /// Items per page, 1 to 100 (default 10).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 100)]
    pub limit: Option<String>,
    /// Only completed (`true`) or open (`false`) todos.
    #[param(value_type = Option<bool>)]
    pub completed: Option<String>,
    /// Case-insensitive substring of title or description.
    pub q: Option<String>,
    /// `createdAt` (default), `updatedAt` or `title`; prefix `-` for descending.
    #[param(pattern = "^-?(createdAt|updatedAt|title)$")]
    pub sort: Option<String>,
}

impl ListQuery {
    pub fn parse(raw: RawListQuery) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::default();
        let page = match raw.page.as_deref() {
            None => Some(1),
            Some(v) => errors.check(
                "page",
                v.trim()
                    .parse::<u32>()
                    .ok()
                    .filter(|p| *p >= 1)
                    .ok_or("must be a whole number of at least 1"),
            ),
        };
        let limit = match raw.limit.as_deref() {
            None => Some(DEFAULT_LIMIT),
            Some(v) => errors.check(
                "limit",
                v.trim()
                    .parse::<u32>()
                    .ok()
                    .filter(|l| (1..=MAX_LIMIT).contains(l))
                    .ok_or("must be a whole number from 1 to 100"),
            ),
        };
        let completed = match raw.completed.as_deref() {
            None => Some(None),
            Some("true") => Some(Some(true)),
            Some("false") => Some(Some(false)),
            Some(_) => errors.check("completed", Err("must be true or false")),
        };
        let search = match raw.q {
            Some(q) if q.contains('\0') => {
                errors.check("q", Err("must not contain the NUL character (U+0000)"))
            }
            // The character that joins title and description in the search column.
            Some(q) if q.contains(SEARCH_SEPARATOR) => {
                errors.check("q", Err("must not contain U+001F (the unit separator)"))
            }
            Some(q) if q.chars().count() > 200 => {
                errors.check("q", Err("must be at most 200 characters"))
            }
            q => Some(q.filter(|q| !q.is_empty())),
        };
        let sort = match raw.sort.as_deref() {
            None => Some((SortKey::CreatedAt, false)),
            Some(v) => errors.check("sort", parse_sort(v)),
        };
        match (page, limit, completed, search, sort) {
            (Some(page), Some(limit), Some(completed), Some(search), Some((sort, descending)))
                if errors.is_empty() =>
            {
                Ok(Self {
                    page,
                    limit,
                    completed,
                    search,
                    sort,
                    descending,
                })
            }
            _ => Err(errors),
        }
    }

    pub fn offset(&self) -> i64 {
        i64::from(self.page - 1) * i64::from(self.limit)
    }
}

fn parse_sort(value: &str) -> Result<(SortKey, bool), &'static str> {
    let (descending, key) = match value.strip_prefix('-') {
        Some(key) => (true, key),
        None => (false, value),
    };
    let key = match key {
        "createdAt" => SortKey::CreatedAt,
        "updatedAt" => SortKey::UpdatedAt,
        "title" => SortKey::Title,
        _ => {
            return Err(
                "must be one of createdAt, -createdAt, updatedAt, -updatedAt, title, -title",
            );
        }
    };
    Ok((key, descending))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn raw(pairs: &[(&str, &str)]) -> RawListQuery {
        let mut q = RawListQuery::default();
        for (k, v) in pairs {
            let v = Some(v.to_string());
            match *k {
                "page" => q.page = v,
                "limit" => q.limit = v,
                "completed" => q.completed = v,
                "q" => q.q = v,
                "sort" => q.sort = v,
                _ => unreachable!(),
            }
        }
        q
    }

    #[test]
    fn defaults() {
        let q = ListQuery::parse(RawListQuery::default()).expect("valid");
        assert_eq!(
            (
                q.page,
                q.limit,
                q.completed,
                q.search.clone(),
                q.sort,
                q.descending
            ),
            (1, 10, None, None, SortKey::CreatedAt, false)
        );
        assert_eq!(q.offset(), 0);
    }

    #[test]
    fn bounds_on_page_and_limit() {
        assert!(ListQuery::parse(raw(&[("page", "0")])).is_err());
        assert!(ListQuery::parse(raw(&[("page", "-1")])).is_err());
        assert!(ListQuery::parse(raw(&[("limit", "0")])).is_err());
        assert!(ListQuery::parse(raw(&[("limit", "101")])).is_err());
        let q = ListQuery::parse(raw(&[("page", "3"), ("limit", "100")])).expect("valid");
        assert_eq!(q.offset(), 200);
    }

    #[test]
    fn every_sort_key_and_direction() {
        for (v, key, desc) in [
            ("createdAt", SortKey::CreatedAt, false),
            ("-createdAt", SortKey::CreatedAt, true),
            ("updatedAt", SortKey::UpdatedAt, false),
            ("-updatedAt", SortKey::UpdatedAt, true),
            ("title", SortKey::Title, false),
            ("-title", SortKey::Title, true),
        ] {
            let q = ListQuery::parse(raw(&[("sort", v)])).expect(v);
            assert_eq!((q.sort, q.descending), (key, desc));
        }
        for bad in ["", "-", "id", "created_at", "--title", "Title"] {
            assert!(ListQuery::parse(raw(&[("sort", bad)])).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn all_problems_are_reported_together() {
        let errors = ListQuery::parse(raw(&[
            ("page", "x"),
            ("limit", "x"),
            ("completed", "yes"),
            ("sort", "x"),
        ]))
        .expect_err("invalid");
        let fields: Vec<_> = errors.0.keys().map(|k| k.as_ref()).collect();
        assert_eq!(fields, ["completed", "limit", "page", "sort"]);
    }

    #[test]
    fn empty_search_means_no_filter() {
        assert_eq!(
            ListQuery::parse(raw(&[("q", "")])).expect("valid").search,
            None
        );
    }

    proptest! {
        #[test]
        fn page_and_limit_never_panic(page in any::<String>(), limit in any::<String>()) {
            let _ = ListQuery::parse(raw(&[("page", &page), ("limit", &limit)]));
        }
    }
}
