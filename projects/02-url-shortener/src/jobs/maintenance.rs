//! The cron job: daily visit roll-ups, expired-link marking, and deleting the reports of
//! imports finished longer ago than `IMPORT_RETENTION_DAYS`. Idempotent, so every instance
//! may run it on its own schedule.

use backend_kit::db::Database;
use backend_kit::jobs::BoxDynError;
use chrono::Utc;

use crate::db::{imports, links};
use crate::error::ApiError;
use crate::link_cache::LinkCache;

/// `import_retention`: how long a finished import's report is kept.
pub async fn run(
    db: Database,
    cache: LinkCache,
    import_retention: std::time::Duration,
) -> Result<(), BoxDynError> {
    let now = Utc::now();
    let (rolled, expired, reports) = db
        .run(move |conn| {
            let rolled = links::roll_up_visits(conn, now.date_naive())?;
            let expired = links::mark_expired(conn, backend_kit::time::now())?;
            // A retention too long to subtract keeps everything.
            let cutoff = chrono::Duration::from_std(import_retention)
                .ok()
                .and_then(|d| backend_kit::time::now().checked_sub_signed(d));
            let reports = match cutoff {
                Some(cutoff) => imports::delete_finished_before(conn, cutoff)?,
                None => 0,
            };
            Ok::<_, ApiError>((rolled, expired, reports))
        })
        .await?;
    // The redirect checks expiry itself; evicting frees the entries now rather than at TTL.
    cache.invalidate_all(&expired).await;
    if rolled > 0 || !expired.is_empty() || reports > 0 {
        tracing::info!(
            daily_rows = rolled,
            expired = expired.len(),
            import_reports_deleted = reports,
            "maintenance done"
        );
    }
    Ok(())
}
