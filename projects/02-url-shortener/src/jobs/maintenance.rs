//! The cron job: daily visit roll-ups and expired-link marking. Idempotent, so every instance
//! may run it on its own schedule.

use backend_kit::db::Database;
use backend_kit::jobs::BoxDynError;
use chrono::Utc;

use crate::db::links;
use crate::error::ApiError;
use crate::link_cache::LinkCache;

pub async fn run(db: Database, cache: LinkCache) -> Result<(), BoxDynError> {
    let now = Utc::now();
    let (rolled, expired) = db
        .run(move |conn| {
            let rolled = links::roll_up_visits(conn, now.date_naive())?;
            let expired = links::mark_expired(conn, backend_kit::time::now())?;
            Ok::<_, ApiError>((rolled, expired))
        })
        .await?;
    // The redirect checks expiry itself; evicting frees the entries now rather than at TTL.
    cache.invalidate_all(&expired).await;
    if rolled > 0 || !expired.is_empty() {
        tracing::info!(
            daily_rows = rolled,
            expired = expired.len(),
            "maintenance done"
        );
    }
    Ok(())
}
