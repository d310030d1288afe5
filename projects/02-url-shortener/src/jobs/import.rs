//! CSV import: `url[,customCode]` per line, turned into links by a worker.
//!
//! The file is stored with the job (`import_jobs.csv`); the queue carries only the job id.
//! Rows are written in batches, each batch in one transaction together with the job's
//! progress, so after a crash the next attempt starts at the first unsaved row and no link is
//! created twice. A bad row (invalid URL, taken code) is recorded with its reason and the
//! import goes on; only an error of the database itself fails the attempt, which is retried
//! with backoff and, after the last attempt, leaves the job `failed`.

use std::sync::Arc;

use backend_kit::db::{AnyConnection, Database};
use backend_kit::jobs::{BoxDynError, Job, Run};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use crate::db::imports::{self, ImportFailure, ImportStatus};
use crate::db::links::{self, CodeError, NewLink};
use crate::domain::{CustomCode, TargetPolicy, TargetUrl};
use crate::error::ApiError;
use crate::link_cache::LinkCache;

/// Largest CSV accepted, and most rows in it.
pub const MAX_BYTES: usize = 1024 * 1024;
pub const MAX_ROWS: usize = 10_000;

/// The queued task: which import to run.
#[derive(Debug, Serialize, Deserialize)]
pub struct ImportCsv {
    pub id: String,
}

impl Job for ImportCsv {
    const KIND: &'static str = "import-csv";
}

/// What the worker needs.
pub struct Importer {
    pub db: Database,
    pub cache: LinkCache,
    pub policy: TargetPolicy,
    pub code_length: usize,
    pub batch_size: usize,
}

/// One data row of the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// 1-based line in the file, for the report.
    pub line: i64,
    pub url: String,
    pub custom_code: Option<String>,
    /// Set when the row cannot even be read (too many fields, broken quoting).
    pub problem: Option<String>,
}

/// The file has more data rows than an import takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("has {rows} rows; at most {max} per import")]
pub struct TooManyRows {
    pub rows: usize,
    pub max: usize,
}

/// The problem of a line that opens a quote it does not close.
pub const UNTERMINATED_QUOTE: &str = "unreadable CSV: a quote is left open on this line";

/// Splits the file into rows, one per line. Past `max_rows` nothing more is kept: the rest is
/// only counted, for the [`TooManyRows`] message. A first line whose first field is `url` is a
/// header and skipped; blank lines are ignored. Quoting follows RFC 4180 within a line, so
/// URLs may contain commas — but no URL or code holds a line break, so a quoted field never
/// runs over one: a quote left open spoils its own line only, where a CSV reader would run it
/// on to the next quote or the end of the file, swallowing the rows in between.
///
/// Linear in the file's size: each line is read once, into one reused record.
pub fn parse_rows(csv_text: &str, max_rows: usize) -> Result<Vec<Row>, TooManyRows> {
    let (mut rows, mut counted) = (Vec::new(), 0);
    let mut first = true;
    for (index, text) in csv_text.lines().enumerate() {
        if text.trim().is_empty() {
            continue;
        }
        // Past the limit the rest is only counted, not read.
        if counted >= max_rows && !first {
            counted += 1;
            continue;
        }
        let line = index as i64 + 1;
        let row = match fields_of(text) {
            Ok(fields) => {
                let is_header = first
                    && fields
                        .first()
                        .is_some_and(|f| f.eq_ignore_ascii_case("url"));
                first = false;
                // A line of nothing but separators, or the header.
                if is_header || (fields.len() <= 2 && fields.iter().all(String::is_empty)) {
                    continue;
                }
                let field = |i: usize| fields.get(i).cloned().unwrap_or_default();
                Row {
                    line,
                    url: field(0),
                    custom_code: Some(field(1)).filter(|c| !c.is_empty()),
                    problem: (fields.len() > 2)
                        .then(|| "expected at most 2 fields: url,customCode".to_string()),
                }
            }
            Err(problem) => Row {
                line,
                url: String::new(),
                custom_code: None,
                problem: Some(problem),
            },
        };
        first = false;
        counted += 1;
        if counted <= max_rows {
            rows.push(row);
        }
    }
    if counted > max_rows {
        return Err(TooManyRows {
            rows: counted,
            max: max_rows,
        });
    }
    Ok(rows)
}

/// The trimmed fields of one line. Without a quote a line is its commas; with quotes, RFC 4180
/// reads it (a URL may hold a comma inside quotes). Quotes come in pairs — `""` inside a
/// quoted field is two — so an odd count is one left open.
fn fields_of(text: &str) -> Result<Vec<String>, String> {
    let quotes = text.bytes().filter(|&b| b == b'"').count();
    if quotes == 0 {
        return Ok(text.split(',').map(|f| f.trim().to_string()).collect());
    }
    if quotes % 2 == 1 {
        return Err(UNTERMINATED_QUOTE.to_string());
    }
    let mut record = csv::StringRecord::new();
    csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes())
        .read_record(&mut record)
        .map_err(|e| format!("unreadable CSV: {e}"))?;
    Ok(record.iter().map(str::to_string).collect())
}

/// The worker's entry point: one attempt at one import.
pub async fn run(importer: Arc<Importer>, job: ImportCsv, run: Run) -> Result<(), BoxDynError> {
    let result = import(&importer, &job.id).await;
    if let Err(e) = &result {
        let (id, message, last) = (job.id.clone(), e.to_string(), run.is_last());
        importer
            .db
            .run(move |conn| {
                if last {
                    imports::finish(conn, &id, ImportStatus::Failed, Some(&message))
                } else {
                    imports::retrying(conn, &id, &message)
                }
                .map_err(ApiError::from)
            })
            .await?;
    }
    result.map_err(Into::into)
}

async fn import(importer: &Importer, id: &str) -> Result<(), ApiError> {
    let owned = id.to_string();
    let Some(job) = importer
        .db
        .run(move |conn| imports::start_attempt(conn, &owned).map_err(ApiError::from))
        .await?
    else {
        return Ok(()); // deleted, or already finished: nothing to do
    };
    // The file was checked against MAX_ROWS when it was queued; parsing up to 1 MiB is
    // linear CPU work, done on a blocking thread like the route's.
    let csv = job.csv;
    let rows = tokio::task::spawn_blocking(move || parse_rows(&csv, MAX_ROWS))
        .await
        .map_err(ApiError::internal)??;
    let done = usize::try_from(job.processed).unwrap_or(usize::MAX);
    let remaining: Vec<Row> = rows.into_iter().skip(done).collect();
    for batch in remaining.chunks(importer.batch_size) {
        let batch = batch.to_vec();
        let (id, policy) = (id.to_string(), importer.policy.clone());
        let (code_length, user_id) = (importer.code_length, job.user_id);
        let codes = importer
            .db
            .run(move |conn| {
                conn.transaction(|conn| {
                    import_batch(conn, &id, &batch, &policy, code_length, user_id)
                })
            })
            .await?;
        // An earlier miss may have cached "no such code" for a custom code.
        importer.cache.invalidate_all(codes).await;
    }
    let id = id.to_string();
    importer
        .db
        .run(move |conn| {
            imports::finish(conn, &id, ImportStatus::Succeeded, None).map_err(ApiError::from)
        })
        .await
}

/// Creates the batch's links and saves its progress; returns the codes created.
fn import_batch(
    conn: &mut AnyConnection,
    job_id: &str,
    batch: &[Row],
    policy: &TargetPolicy,
    code_length: usize,
    user_id: Option<i64>,
) -> Result<Vec<String>, ApiError> {
    let mut created = Vec::new();
    let mut failures = Vec::new();
    for row in batch {
        let fail = |reason: String| ImportFailure {
            job_id: job_id.to_string(),
            line: row.line,
            url: truncated(&row.url),
            custom_code: row.custom_code.as_deref().map(truncated),
            reason,
        };
        match create_link(conn, row, policy, code_length, user_id)? {
            RowOutcome::Created(code) => created.push(code),
            RowOutcome::Failed(reason) => failures.push(fail(reason)),
        }
    }
    imports::save_progress(
        conn,
        job_id,
        batch.len() as i64,
        created.len() as i64,
        &failures,
    )?;
    Ok(created)
}

/// At most [`imports::MAX_REPORTED_CHARS`] characters of `text`.
fn truncated(text: &str) -> String {
    text.chars().take(imports::MAX_REPORTED_CHARS).collect()
}

/// What became of one row.
enum RowOutcome {
    /// A link was created under this code.
    Created(String),
    /// The row was refused, for this reason.
    Failed(String),
}

/// One row: a bad row is a [`RowOutcome::Failed`]; `Err` is a database failure that fails the
/// attempt.
fn create_link(
    conn: &mut AnyConnection,
    row: &Row,
    policy: &TargetPolicy,
    code_length: usize,
    user_id: Option<i64>,
) -> Result<RowOutcome, ApiError> {
    if let Some(problem) = &row.problem {
        return Ok(RowOutcome::Failed(problem.clone()));
    }
    let url = match TargetUrl::parse(&row.url, policy) {
        Ok(url) => url,
        Err(e) => return Ok(RowOutcome::Failed(format!("url {e}"))),
    };
    let custom = match row
        .custom_code
        .as_deref()
        .map(CustomCode::parse)
        .transpose()
    {
        Ok(custom) => custom,
        Err(e) => return Ok(RowOutcome::Failed(format!("customCode {e}"))),
    };
    let new = NewLink {
        url: url.as_str().to_string(),
        user_id,
        redirect_type: None,
        expires_at: None,
        max_visits: None,
        password_hash: None,
        // Imported links are their importer's: no manage token.
        manage_token_hash: None,
    };
    // The batch is one transaction: each attempt in a savepoint.
    match links::insert_with_code(conn, &new, custom.as_ref(), code_length, true) {
        Ok(link) => Ok(RowOutcome::Created(link.code)),
        Err(CodeError::Db(e)) => Err(e.into()),
        Err(refused) => Ok(RowOutcome::Failed(refused.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_blank_lines_quotes_and_extra_fields() {
        let rows = parse_rows(
            "url,customCode\nhttps://a.example/x, mine\n\n\"https://b.example/?a=1,2\"\nhttps://c.example,x,y\n",
            10,
        )
        .unwrap();
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0].line, 2);
        assert_eq!(rows[0].url, "https://a.example/x");
        assert_eq!(rows[0].custom_code.as_deref(), Some("mine"));
        assert_eq!(rows[1].url, "https://b.example/?a=1,2");
        assert_eq!(rows[1].custom_code, None);
        assert_eq!(rows[1].line, 4);
        assert!(rows[2].problem.is_some());
        assert_eq!(rows[2].line, 5);
    }

    #[test]
    fn a_quote_left_open_spoils_its_own_line_only() {
        let rows = parse_rows(
            "\"https://example.com/x\nhttps://example.com/y\nhttps://example.com/z\n",
            10,
        )
        .unwrap();
        assert_eq!(rows.len(), 3, "{rows:?}");
        assert_eq!(rows[0].line, 1);
        assert_eq!(rows[0].url, "");
        assert_eq!(rows[0].problem.as_deref(), Some(UNTERMINATED_QUOTE));
        assert_eq!(rows[1].url, "https://example.com/y");
        assert_eq!((rows[2].line, rows[2].problem.as_deref()), (3, None));
        // Closed on a later line: both lines are refused, the rows between them are read.
        let rows = parse_rows("\"https://a.example/\nhttps://m.example/\nb\",c\n", 10).unwrap();
        assert_eq!(rows[0].problem.as_deref(), Some(UNTERMINATED_QUOTE));
        assert_eq!(rows[1].url, "https://m.example/");
        assert_eq!(rows[2].problem.as_deref(), Some(UNTERMINATED_QUOTE));
        // Doubled quotes inside a quoted field are fine.
        let rows = parse_rows("\"https://q.example/?a=\"\"b\"\"\",code\n", 10).unwrap();
        assert_eq!(rows[0].url, "https://q.example/?a=\"b\"");
        assert_eq!(rows[0].problem, None);
    }

    #[test]
    fn no_header_keeps_the_first_row() {
        let rows = parse_rows("https://a.example/\r\nhttps://b.example/", 10).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[1].line, 2);
    }

    #[test]
    fn rows_are_counted_as_they_are_read() {
        let csv = "url\nhttps://a.example/\n\nhttps://b.example/\n";
        assert_eq!(parse_rows(csv, 2).map(|rows| rows.len()), Ok(2));
        assert_eq!(parse_rows(csv, 1), Err(TooManyRows { rows: 2, max: 1 }));
        // Half a million short lines: refused at the limit, and line numbers stay right.
        let long = "x\n".repeat(500_000);
        assert_eq!(
            parse_rows(&long, 10),
            Err(TooManyRows {
                rows: 500_000,
                max: 10
            })
        );
        let rows = parse_rows(&long, usize::MAX).unwrap();
        assert_eq!(rows.len(), 500_000);
        assert_eq!(rows[499_999].line, 500_000);
    }
}
