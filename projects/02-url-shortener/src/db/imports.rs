//! Queries on `import_jobs` and `import_failures`: a CSV import's file and progress.

use backend_kit::db::AnyConnection;
use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::{import_failures, import_jobs};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = import_jobs)]
pub struct ImportJob {
    pub id: String,
    pub user_id: Option<i64>,
    pub status: String,
    pub csv: String,
    pub total: i64,
    pub processed: i64,
    pub imported: i64,
    pub attempts: i32,
    pub error: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub finished_at: Option<NaiveDateTime>,
}

/// How much of a refused row's URL a report keeps: a report must not cost more disk than
/// the links it was about.
pub const MAX_REPORTED_CHARS: usize = 2048;

/// A CSV row that did not become a link.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = import_failures)]
pub struct ImportFailure {
    pub job_id: String,
    pub line: i64,
    pub url: String,
    pub custom_code: Option<String>,
    pub reason: String,
}

/// Where an import is; stored (and shown) as its lower-case name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportStatus {
    Queued,
    Running,
    /// An attempt failed; another follows after a backoff.
    Retrying,
    Succeeded,
    /// Gave up after the last attempt.
    Failed,
}

impl ImportStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Running => "running",
            Self::Retrying => "retrying",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
        }
    }
}

pub fn insert(
    conn: &mut AnyConnection,
    id: &str,
    user_id: Option<i64>,
    csv: &str,
    total: i64,
) -> QueryResult<ImportJob> {
    let now = backend_kit::time::now();
    diesel::insert_into(import_jobs::table)
        .values((
            import_jobs::id.eq(id),
            import_jobs::user_id.eq(user_id),
            import_jobs::status.eq(ImportStatus::Queued.as_str()),
            import_jobs::csv.eq(csv),
            import_jobs::total.eq(total),
            import_jobs::created_at.eq(now),
            import_jobs::updated_at.eq(now),
        ))
        .returning(import_jobs::all_columns)
        .get_result(conn)
}

pub fn find(conn: &mut AnyConnection, id: &str) -> QueryResult<Option<ImportJob>> {
    import_jobs::table
        .find(id)
        .select(ImportJob::as_select())
        .first(conn)
        .optional()
}

pub fn failures(conn: &mut AnyConnection, id: &str) -> QueryResult<Vec<ImportFailure>> {
    import_failures::table
        .filter(import_failures::job_id.eq(id))
        .order(import_failures::line)
        .select(ImportFailure::as_select())
        .load(conn)
}

/// Starts an attempt: the job, unless it is gone or already finished (a task delivered twice).
/// Counted here rather than taken from the queue, which not every backend bumps on a resume.
pub fn start_attempt(conn: &mut AnyConnection, id: &str) -> QueryResult<Option<ImportJob>> {
    diesel::update(
        import_jobs::table
            .find(id)
            .filter(import_jobs::status.ne_all([
                ImportStatus::Succeeded.as_str(),
                ImportStatus::Failed.as_str(),
            ])),
    )
    .set((
        import_jobs::status.eq(ImportStatus::Running.as_str()),
        import_jobs::attempts.eq(import_jobs::attempts + 1),
        import_jobs::updated_at.eq(backend_kit::time::now()),
    ))
    .returning(import_jobs::all_columns)
    .get_result(conn)
    .optional()
}

/// Saves a batch's outcome; runs inside the transaction that created its links, so progress
/// and links are committed together or not at all.
pub fn save_progress(
    conn: &mut AnyConnection,
    id: &str,
    rows: i64,
    imported: i64,
    failures: &[ImportFailure],
) -> QueryResult<()> {
    for failure in failures {
        diesel::insert_into(import_failures::table)
            .values(failure)
            .execute(conn)?;
    }
    diesel::update(import_jobs::table.find(id))
        .set((
            import_jobs::processed.eq(import_jobs::processed + rows),
            import_jobs::imported.eq(import_jobs::imported + imported),
            import_jobs::updated_at.eq(backend_kit::time::now()),
        ))
        .execute(conn)
        .map(|_| ())
}

/// Ends the job: `succeeded`, or `failed` with the error that made it give up.
pub fn finish(
    conn: &mut AnyConnection,
    id: &str,
    status: ImportStatus,
    error: Option<&str>,
) -> QueryResult<()> {
    let now = backend_kit::time::now();
    diesel::update(import_jobs::table.find(id))
        .set((
            import_jobs::status.eq(status.as_str()),
            import_jobs::error.eq(error),
            // The file is not needed any more: only the report is kept.
            import_jobs::csv.eq(""),
            import_jobs::updated_at.eq(now),
            import_jobs::finished_at.eq(now),
        ))
        .execute(conn)
        .map(|_| ())
}

pub fn delete(conn: &mut AnyConnection, id: &str) -> QueryResult<usize> {
    diesel::delete(import_jobs::table.find(id)).execute(conn)
}

/// Imports of `user_id` not finished yet (queued, running or retrying).
pub fn unfinished_of(conn: &mut AnyConnection, user_id: i64) -> QueryResult<i64> {
    import_jobs::table
        .filter(import_jobs::user_id.eq(user_id))
        .filter(import_jobs::finished_at.is_null())
        .count()
        .get_result(conn)
}

/// Deletes the reports of imports finished before `cutoff` (their failed rows go with them,
/// `ON DELETE CASCADE`); how many.
/// In batches of 100 jobs (each with up to 10 000 failed rows), each its own statement, so a
/// backlog never holds the database in one long delete.
pub fn delete_finished_before(
    conn: &mut AnyConnection,
    cutoff: NaiveDateTime,
) -> QueryResult<usize> {
    let mut deleted = 0;
    loop {
        let ids: Vec<String> = import_jobs::table
            .filter(import_jobs::finished_at.lt(cutoff))
            .select(import_jobs::id)
            .limit(100)
            .load(conn)?;
        if ids.is_empty() {
            return Ok(deleted);
        }
        deleted +=
            diesel::delete(import_jobs::table.filter(import_jobs::id.eq_any(ids))).execute(conn)?;
    }
}

/// An attempt failed and another will follow.
pub fn retrying(conn: &mut AnyConnection, id: &str, error: &str) -> QueryResult<()> {
    diesel::update(import_jobs::table.find(id))
        .set((
            import_jobs::status.eq(ImportStatus::Retrying.as_str()),
            import_jobs::error.eq(error),
            import_jobs::updated_at.eq(backend_kit::time::now()),
        ))
        .execute(conn)
        .map(|_| ())
}
