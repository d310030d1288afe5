//! `?before=`: a place in the list of articles, for deep paging that stays cheap and stable.
//!
//! An offset makes the database walk past every article before the page (`offset=90000` reads
//! 90 000 index entries) and shifts when an article is written meanwhile. A cursor names the
//! last article a client saw by the list's sort key, `(createdAt, id)`: the next page starts
//! right after it in the index, whatever its depth, and never repeats nor skips an article
//! that existed when the walk began.

use std::fmt;

use chrono::{DateTime, Datelike, NaiveDateTime};

/// The article a page starts after. Written `2026-01-02T03:04:05.678901Z,42`: a list's
/// `Link: <…>; rel="next"` header carries it, so clients need not build one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub created_at: NaiveDateTime,
    pub id: i64,
}

impl Cursor {
    /// Longer than any cursor this server writes: nothing longer is parsed.
    const MAX_LEN: usize = 64;

    pub fn parse(raw: &str) -> Result<Self, String> {
        let expected = || {
            "must be a createdAt and an article id, as the Link header gives them \
             (2026-01-02T03:04:05.678901Z,42)"
                .to_string()
        };
        if raw.len() > Self::MAX_LEN {
            return Err(expected());
        }
        let (time, id) = raw.split_once(',').ok_or_else(expected)?;
        // Stored times have microseconds and years 1–9999: a finer fraction or an instant
        // beyond those years would compare differently on the two databases (PostgreSQL
        // truncates, SQLite compares the text).
        let fraction = time.split_once('.').map_or(0, |(_, rest)| {
            rest.chars().take_while(char::is_ascii_digit).count()
        });
        let created_at = DateTime::parse_from_rfc3339(time)
            .map_err(|_| expected())?
            .naive_utc();
        if fraction > 6 || !(1..=9999).contains(&created_at.year()) {
            return Err(expected());
        }
        let id = id
            .parse::<i64>()
            .ok()
            .filter(|id| *id > 0)
            .ok_or_else(expected)?;
        Ok(Self { created_at, id })
    }
}

impl fmt::Display for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{},{}",
            backend_kit::time::format(&self.created_at),
            self.id
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_reads_back_what_it_writes() {
        let cursor = Cursor::parse("2026-01-02T03:04:05.678901Z,42").unwrap();
        assert_eq!(cursor.id, 42);
        assert_eq!(cursor.to_string(), "2026-01-02T03:04:05.678901Z,42");
        // Another offset names the same instant.
        let shifted = Cursor::parse("2026-01-02T05:04:05.678901+02:00,42").unwrap();
        assert_eq!(shifted, cursor);
    }

    #[test]
    fn anything_else_is_refused() {
        for raw in [
            "",
            "42",
            "2026-01-02T03:04:05Z",
            "2026-01-02T03:04:05Z,",
            "2026-01-02T03:04:05Z,0",
            "2026-01-02T03:04:05Z,-1",
            "2026-01-02T03:04:05Z,1.5",
            "2026-01-02,42",
            "yesterday,42",
            "2026-01-02T03:04:05Z,99999999999999999999",
            "2026-01-02T03:04:05.1234567Z,42",
            "9999-12-31T23:59:59-23:59,5",
            "0000-01-01T00:00:00Z,5",
            &format!("2026-01-02T03:04:05.{}Z,42", "1".repeat(60)),
        ] {
            assert!(Cursor::parse(raw).is_err(), "{raw:?}");
        }
    }
}
