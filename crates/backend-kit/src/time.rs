//! Timestamps are stored as UTC `TIMESTAMP` columns (diesel's `MultiConnection` has no
//! `Timestamptz`), rounded to microseconds so SQLite and PostgreSQL return exactly what was
//! written, and sent to clients as RFC 3339 with microseconds (all the precision stored) and a `Z`.

use chrono::{DateTime, NaiveDateTime, SecondsFormat, SubsecRound, Utc};
use serde::Serializer;

/// The current time, at the precision both databases keep.
pub fn now() -> NaiveDateTime {
    Utc::now().naive_utc().trunc_subsecs(6)
}

/// `#[serde(serialize_with = "backend_kit::time::rfc3339")]` on a `NaiveDateTime` field.
pub fn rfc3339<S: Serializer>(value: &NaiveDateTime, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&format(value))
}

pub fn format(value: &NaiveDateTime) -> String {
    DateTime::<Utc>::from_naive_utc_and_offset(*value, Utc)
        .to_rfc3339_opts(SecondsFormat::Micros, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_with_micros_and_zulu() {
        let t = chrono::NaiveDate::from_ymd_opt(2026, 1, 2)
            .and_then(|d| d.and_hms_micro_opt(3, 4, 5, 600_700))
            .expect("valid date");
        assert_eq!(format(&t), "2026-01-02T03:04:05.600700Z");
    }

    #[test]
    fn now_has_microsecond_precision() {
        assert_eq!(now().and_utc().timestamp_subsec_nanos() % 1_000, 0);
    }
}
