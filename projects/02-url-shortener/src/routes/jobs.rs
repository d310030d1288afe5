//! `POST /shorten/import` (a CSV of links, processed in the background) and `GET /jobs/{id}`
//! (its progress, and the rows that failed and why).

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use backend_kit::auth::MaybeAuthUser;
use chrono::NaiveDateTime;
use futures_util::StreamExt;
use serde::Serialize;
use utoipa::ToSchema;

use super::AppState;
use crate::db::imports::{self, ImportFailure, ImportJob, ImportStatus};
use crate::error::ApiError;
use crate::jobs::import::{self, ImportCsv};
use crate::links::check_owner;
use crate::openapi::{ErrorBody, OwnerOnlyErrors, ValidationErrorBody};

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ImportAccepted {
    /// Poll `GET /jobs/{jobId}` for progress.
    pub job_id: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FailedRow {
    /// 1-based line in the uploaded file.
    pub line: i64,
    pub url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom_code: Option<String>,
    pub reason: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct JobResponse {
    pub id: String,
    /// Always `import` for now.
    pub kind: String,
    /// `queued`, `running`, `retrying` (an attempt failed; another follows), `succeeded` or
    /// `failed` (gave up after the last attempt; see `error`).
    pub status: String,
    /// Data rows in the file.
    pub total: i64,
    /// Rows handled so far (imported or failed).
    pub processed: i64,
    /// Percent of rows handled, 0–100.
    pub progress: i64,
    /// Links created.
    pub imported: i64,
    /// Attempts started (a retry, or a resume after a restart, is a new attempt).
    pub attempts: i32,
    /// Why the last attempt failed, when it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Rows that did not become links, and why.
    pub failed_rows: Vec<FailedRow>,
    #[serde(serialize_with = "backend_kit::time::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: NaiveDateTime,
    #[serde(serialize_with = "backend_kit::time::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: NaiveDateTime,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub finished_at: Option<String>,
}

impl JobResponse {
    fn new(job: ImportJob, failures: Vec<ImportFailure>) -> Self {
        Self {
            progress: if job.total == 0 {
                100
            } else {
                job.processed * 100 / job.total
            },
            id: job.id,
            kind: "import".into(),
            status: job.status,
            total: job.total,
            processed: job.processed,
            imported: job.imported,
            attempts: job.attempts,
            error: job.error,
            failed_rows: failures
                .into_iter()
                .map(|f| FailedRow {
                    line: f.line,
                    url: f.url,
                    custom_code: f.custom_code,
                    reason: f.reason,
                })
                .collect(),
            created_at: job.created_at,
            updated_at: job.updated_at,
            finished_at: job.finished_at.as_ref().map(backend_kit::time::format),
        }
    }
}

/// Import links from a CSV file (`text/csv`, up to 1 MiB and 10 000 rows): one `url` per
/// line, optionally `,customCode`; a header line `url,customCode` is allowed. Needs an account:
/// the links belong to its user, who may have a few imports unfinished at once. Answers at
/// once; a background worker creates the links.
#[utoipa::path(post, path = "/shorten/import", tag = "jobs", security(("bearer" = [])),
    request_body(content = String, content_type = "text/csv", example = "url,customCode\nhttps://example.com/a,my-a\nhttps://example.com/b\n"),
    responses(
        (status = 202, description = "Queued; poll the job", body = ImportAccepted,
            headers(("Location" = String, description = "/jobs/{jobId}"))),
        (status = 400, description = "Not UTF-8, no rows, or too many rows", body = ValidationErrorBody),
        (status = 401, description = "No valid token: importing needs an account", body = ErrorBody),
        (status = 408, description = "The file did not arrive in time", body = ErrorBody),
        (status = 413, description = "File over 1 MiB", body = ErrorBody),
        (status = 415, description = "Not text/csv", body = ErrorBody),
        (status = 429, description = "Too many requests from this IP, or too many unfinished imports", body = ErrorBody),
        (status = 503, description = "The job queue is unavailable", body = ErrorBody),
    ))]
pub async fn import_csv(
    state: web::Data<AppState>,
    user: MaybeAuthUser,
    request: HttpRequest,
    mut payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    // The body is read (or drained) before any refusal: a response sent over an unread body
    // makes the server close the connection, and a client reusing it gets a broken pipe.
    let mut body = web::BytesMut::new();
    let mut received = 0;
    while let Some(chunk) = payload.next().await {
        let chunk = chunk?;
        received += chunk.len();
        // Past the limit, read on (up to a bound) without keeping anything, so the client
        // gets its 413 instead of a connection reset in the middle of its upload.
        if received > import::MAX_BYTES * 8 {
            break;
        }
        // Nothing is kept for a caller without an account: it gets its 401 once drained.
        if received <= import::MAX_BYTES && user.0.is_some() {
            body.extend_from_slice(&chunk);
        }
    }
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let essence = content_type.split(';').next().unwrap_or_default().trim();
    if !["text/csv", "text/plain"]
        .iter()
        .any(|t| essence.eq_ignore_ascii_case(t))
    {
        return Err(ApiError::UnsupportedMediaType(
            "Content-Type must be text/csv".into(),
        ));
    }
    if received > import::MAX_BYTES {
        return Err(ApiError::PayloadTooLarge("CSV file over 1 MiB".into()));
    }
    // An account, because an import stores a file and a report: anonymous uploads were a
    // way to fill the disk. Checked after draining the body, for the reason above.
    let Some(user) = user.0 else {
        return Err(ApiError::Unauthorized);
    };
    // Checking and counting the rows is linear work on up to 1 MiB: a blocking thread does
    // it, so the workers keep answering other requests meanwhile.
    let (csv, total) = web::block(move || check_upload(body.freeze())).await??;

    let id = new_job_id();
    let owned = id.clone();
    let max_unfinished = state.import_max_unfinished;
    state
        .db
        .run(move |conn| {
            // Insert, then count: under any isolation level and on both databases, an import
            // admitted saw itself and every import before it. Two racing uploads may both be
            // refused; more than the cap are never admitted.
            imports::insert(conn, &owned, Some(user.id), &csv, total as i64)
                .map_err(ApiError::from_caller_insert)?;
            if imports::unfinished_of(conn, user.id)? > max_unfinished {
                imports::delete(conn, &owned)?;
                return Err(ApiError::TooManyRequests {
                    retry_after_secs: 10,
                });
            }
            Ok(())
        })
        .await?;
    if let Err(e) = state.jobs.push(&ImportCsv { id: id.clone() }).await {
        tracing::error!(error = %e, "could not queue an import");
        let owned = id.clone();
        let message = "the job queue was unavailable".to_string();
        state
            .db
            .run(move |conn| {
                imports::finish(conn, &owned, ImportStatus::Failed, Some(&message))
                    .map_err(ApiError::from)
            })
            .await?;
        return Err(ApiError::Unavailable(
            "The job queue is unavailable; try again later".into(),
        ));
    }
    Ok(HttpResponse::Accepted()
        .insert_header((header::LOCATION, format!("/jobs/{id}")))
        .json(ImportAccepted { job_id: id }))
}

/// A job's progress and the rows that failed. Jobs started with a token are visible only
/// to that user.
#[utoipa::path(get, path = "/jobs/{id}", tag = "jobs", security((), ("bearer" = [])), params(("id" = String, Path)),
    responses(
        (status = 200, description = "The job", body = JobResponse),
        OwnerOnlyErrors,
    ))]
pub async fn get_job(
    state: web::Data<AppState>,
    user: MaybeAuthUser,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let (job, failures) = state
        .db
        .run(move |conn| {
            let job = imports::find(conn, &id)?.ok_or(ApiError::NotFound)?;
            check_owner(job.user_id, user.0)?;
            let failures = imports::failures(conn, &id)?;
            Ok::<_, ApiError>((job, failures))
        })
        .await?;
    Ok(HttpResponse::Ok().json(JobResponse::new(job, failures)))
}

/// The upload as text, with its number of data rows; every reason to refuse it, as a 400.
fn check_upload(body: web::Bytes) -> Result<(String, usize), ApiError> {
    let csv = String::from_utf8(body.into())
        .map_err(|_| ApiError::invalid("body", "must be UTF-8 text"))?;
    if csv.contains('\0') {
        return Err(ApiError::invalid("body", "must not contain NUL characters"));
    }
    let total = import::parse_rows(&csv, import::MAX_ROWS)?.len();
    if total == 0 {
        return Err(ApiError::invalid("body", "has no rows: one url per line"));
    }
    Ok((csv, total))
}

/// 128 random bits, base62: unguessable, since anonymous jobs are open to whoever has the id.
fn new_job_id() -> String {
    crate::domain::ShortCode::generate(22).into_inner()
}
