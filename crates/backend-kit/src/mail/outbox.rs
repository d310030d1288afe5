//! The outbox table and the job that empties it (the state machine is drawn in the
//! migration, `migrations/mail/*/…_mail_outbox/up.sql`).
//!
//! [`write()`] writes a row inside the caller's transaction; after the commit,
//! [`Outbox::queue_send`] pushes a [`SendMail`] job for it. [`Outbox::deliver`] is the job's one
//! step: claim the row, send, record the outcome. [`Outbox::sweep`] (on a cron schedule)
//! queues again rows whose job was lost: a crash between commit and push, or a worker that died
//! holding a row.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use super::{MailSettings, Mailer, OutgoingMail, SendError};
use crate::db::{AnyConnection, Database, DbError};
use crate::jobs::{BoxDynError, Job, JobError, JobQueue, Workers};

diesel::table! {
    mail_outbox (id) {
        id -> BigInt,
        dedupe_key -> Nullable<Text>,
        message_key -> Text,
        recipient -> Text,
        subject -> Text,
        body_text -> Text,
        body_html -> Text,
        list_unsubscribe -> Nullable<Text>,
        status -> Text,
        attempts -> Integer,
        last_error -> Nullable<Text>,
        next_attempt_at -> Timestamp,
        lease_until -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        sent_at -> Nullable<Timestamp>,
    }
}

use mail_outbox as mo;

pub const QUEUED: &str = "queued";
pub const SENDING: &str = "sending";
pub const SENT: &str = "sent";
pub const FAILED: &str = "failed";

/// The job: "send outbox row `outbox_id`". Only the id travels; the row has the rest.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SendMail {
    pub outbox_id: i64,
}

impl Job for SendMail {
    const KIND: &'static str = "mail.send";
}

/// One outbox row, as the `jobs` command lists it.
#[derive(Debug, Clone, Queryable, PartialEq, Eq)]
pub struct OutboxRow {
    pub id: i64,
    pub recipient: String,
    pub subject: String,
    pub status: String,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub next_attempt_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

const ROW_COLUMNS: (
    mo::id,
    mo::recipient,
    mo::subject,
    mo::status,
    mo::attempts,
    mo::last_error,
    mo::next_attempt_at,
    mo::updated_at,
) = (
    mo::id,
    mo::recipient,
    mo::subject,
    mo::status,
    mo::attempts,
    mo::last_error,
    mo::next_attempt_at,
    mo::updated_at,
);

/// Writes `email` to the outbox in the caller's transaction; `queue_send` its id after the commit.
/// With a `dedupe_key` already used, writes nothing and returns `None` (a retried job that
/// queued its mail the first time).
pub fn write(
    conn: &mut AnyConnection,
    email: &OutgoingMail,
    dedupe_key: Option<&str>,
) -> QueryResult<Option<i64>> {
    let now = crate::time::now();
    crate::db::unless_taken(conn, |conn| {
        diesel::insert_into(mo::table)
            .values((
                mo::dedupe_key.eq(dedupe_key),
                mo::message_key.eq(crate::auth::opaque::new_token()),
                mo::recipient.eq(&email.to),
                mo::subject.eq(&email.subject),
                mo::body_text.eq(&email.text),
                mo::body_html.eq(&email.html),
                mo::list_unsubscribe.eq(&email.list_unsubscribe),
                mo::status.eq(QUEUED),
                mo::next_attempt_at.eq(now),
                mo::created_at.eq(now),
                mo::updated_at.eq(now),
            ))
            .returning(mo::id)
            .get_result(conn)
    })
}

/// Whether a mail with `dedupe_key` was queued already (a retried job checks before it does
/// work that must happen once, like issuing the token the mail carries).
pub fn has_key(conn: &mut AnyConnection, dedupe_key: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        mo::table.filter(mo::dedupe_key.eq(dedupe_key)),
    ))
    .get_result(conn)
}

/// The mail queue: push, deliver, sweep, list, retry. Cheap to clone.
#[derive(Clone)]
pub struct Outbox {
    db: Database,
    queue: JobQueue,
    mailer: Arc<Mailer>,
    settings: Arc<MailSettings>,
}

impl std::fmt::Debug for Outbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Outbox({:?})", self.mailer)
    }
}

/// What one [`Outbox::deliver`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    Sent,
    /// A transient failure; another attempt is scheduled.
    Retrying(String),
    Failed(String),
    /// Nothing to do: sent already, failed, not due yet, or held by another worker.
    Skipped,
}

impl Outbox {
    pub fn new(db: Database, queue: JobQueue, mailer: Arc<Mailer>, settings: MailSettings) -> Self {
        Self {
            db,
            queue,
            mailer,
            settings: Arc::new(settings),
        }
    }

    pub fn mailer(&self) -> &Mailer {
        &self.mailer
    }

    /// Pushes the job for a committed row. A failed push is logged, not returned: the row is
    /// safe in the table and the sweeper queues it within a minute or two.
    pub async fn queue_send(&self, outbox_id: i64) {
        if let Err(e) = self.queue.push(&SendMail { outbox_id }).await {
            tracing::warn!(outbox_id, error = %e, "could not queue a mail; the outbox sweeper will");
        }
    }

    /// Registers the send job and the sweeper on `workers`.
    pub fn register(&self, workers: Workers) -> Result<Workers, JobError> {
        let (outbox, sweeper) = (self.clone(), self.clone());
        let schedule = self.settings.sweep_schedule.clone();
        workers
            .handle::<SendMail, _, _>(move |job, _run| {
                let outbox = outbox.clone();
                async move { outbox.deliver(job.outbox_id).await.map(|_| ()) }
            })
            .every("mail-sweep", &schedule, move || {
                let sweeper = sweeper.clone();
                async move { sweeper.sweep().await.map(|_| ()) }
            })
    }

    /// The job's one step. `Err` only when the outcome could not be recorded (the database
    /// or the queue is down): then the job itself is retried.
    pub async fn deliver(&self, outbox_id: i64) -> Result<Delivery, BoxDynError> {
        let lease = chrono_duration(self.settings.lease);
        let Some(row) = self
            .db
            .run(move |conn| claim(conn, outbox_id, lease))
            .await?
        else {
            return self.not_claimed(outbox_id).await;
        };
        let email = OutgoingMail {
            to: row.recipient,
            subject: row.subject,
            text: row.body_text,
            html: row.body_html,
            list_unsubscribe: row.list_unsubscribe,
        };
        let outcome = match self.mailer.build(&email, &row.message_key) {
            Ok(message) => self.mailer.send(message).await,
            Err(e) => Err(e),
        };
        let attempts = u32::try_from(row.attempts).unwrap_or(u32::MAX);
        let delivery = match outcome {
            Ok(()) => Delivery::Sent,
            Err(SendError::Transient(e)) if attempts < self.settings.max_attempts => {
                Delivery::Retrying(e)
            }
            Err(SendError::Transient(e) | SendError::Permanent(e)) => Delivery::Failed(e),
        };
        let next_at = SystemTime::now() + self.settings.backoff(attempts);
        let record = delivery.clone();
        let claimed = row.attempts;
        let recorded = self
            .db
            .run(move |conn| record_outcome(conn, outbox_id, claimed, &record, next_at))
            .await?;
        if !recorded {
            // Our lease ran out mid-send and another worker claimed the row: its outcome
            // stands (the mail may have gone twice: the at-least-once window).
            tracing::warn!(
                outbox_id,
                "a mail's lease ran out while it was being sent; another worker took it over"
            );
            return Ok(Delivery::Skipped);
        }
        match &delivery {
            Delivery::Sent => tracing::info!(outbox_id, attempt = attempts, "mail sent"),
            Delivery::Retrying(e) => {
                tracing::warn!(outbox_id, attempt = attempts, max_attempts = self.settings.max_attempts, error = %e, "mail not sent; will retry");
                self.queue.push_at(&SendMail { outbox_id }, next_at).await?;
            }
            Delivery::Failed(e) => {
                tracing::error!(outbox_id, attempt = attempts, error = %e, "mail failed; `jobs retry {outbox_id}` sends it again")
            }
            Delivery::Skipped => {}
        }
        Ok(delivery)
    }

    /// A job that found its row not claimable: sent, failed or being sent (nothing to do), or
    /// queued but not due yet (a duplicate, or a job that came early): then it is pushed again
    /// for the due time, so that a queued row never waits for the sweeper because its one
    /// job came too soon.
    async fn not_claimed(&self, outbox_id: i64) -> Result<Delivery, BoxDynError> {
        let due: Option<NaiveDateTime> = self
            .db
            .run(move |conn| {
                mo::table
                    .find(outbox_id)
                    .filter(mo::status.eq(QUEUED))
                    .select(mo::next_attempt_at)
                    .first(conn)
                    .optional()
                    .map_err(DbError::from)
            })
            .await?;
        if let Some(due) = due {
            let at = SystemTime::from(due.and_utc());
            self.queue.push_at(&SendMail { outbox_id }, at).await?;
        }
        Ok(Delivery::Skipped)
    }

    /// Dispatches rows whose job is missing: queued and overdue by `sweep_grace`, or held
    /// past their lease by a worker that died. A row queued twice is harmless: the
    /// claim lets one job through. A row queued again is due again from now, so it is
    /// queued at most once per `sweep_grace`. Also deletes sent rows after 30 days. Returns how many
    /// rows it queued.
    pub async fn sweep(&self) -> Result<usize, BoxDynError> {
        let grace = chrono_duration(self.settings.sweep_grace);
        let stuck: Vec<i64> = self
            .db
            .run(move |conn| {
                let now = crate::time::now();
                diesel::delete(
                    mo::table
                        .filter(mo::status.eq(SENT))
                        .filter(mo::sent_at.lt(now - chrono::Duration::days(30))),
                )
                .execute(conn)?;
                let stuck: Vec<i64> = mo::table
                    .filter(
                        mo::status
                            .eq(QUEUED)
                            .and(mo::next_attempt_at.lt(now - grace))
                            .or(mo::status.eq(SENDING).and(mo::lease_until.lt(now))),
                    )
                    .select(mo::id)
                    .order(mo::id)
                    .limit(500)
                    .load(conn)?;
                // Due from now: a row whose job is merely waiting in a long queue is
                // queued again once per `sweep_grace`, not at every sweep.
                diesel::update(
                    mo::table
                        .filter(mo::id.eq_any(&stuck))
                        .filter(mo::status.eq(QUEUED)),
                )
                .set(mo::next_attempt_at.eq(now))
                .execute(conn)?;
                Ok::<_, DbError>(stuck)
            })
            .await?;
        for &id in &stuck {
            tracing::info!(
                outbox_id = id,
                "outbox sweeper: queueing a mail whose job was lost"
            );
            self.queue.push(&SendMail { outbox_id: id }).await?;
        }
        Ok(stuck.len())
    }

    /// Rows that are not sent (queued, sending, failed), oldest first.
    pub async fn pending(&self) -> Result<Vec<OutboxRow>, DbError> {
        self.db
            .run(|conn| {
                mo::table
                    .filter(mo::status.ne(SENT))
                    .select(ROW_COLUMNS)
                    .order(mo::id)
                    .load(conn)
                    .map_err(DbError::from)
            })
            .await
    }

    /// How many rows are in each status.
    pub async fn counts(&self) -> Result<Vec<(String, i64)>, DbError> {
        self.db
            .run(|conn| {
                mo::table
                    .group_by(mo::status)
                    .select((mo::status, diesel::dsl::count_star()))
                    .order(mo::status)
                    .load(conn)
                    .map_err(DbError::from)
            })
            .await
    }

    /// Queues a failed (or waiting) row again with a fresh set of attempts; `false` if there
    /// is no such row or it is sent or being sent.
    pub async fn retry(&self, outbox_id: i64) -> Result<bool, BoxDynError> {
        let requeued = self
            .db
            .run(move |conn| {
                let now = crate::time::now();
                diesel::update(
                    mo::table
                        .find(outbox_id)
                        .filter(mo::status.eq_any([FAILED, QUEUED])),
                )
                .set((
                    mo::status.eq(QUEUED),
                    mo::attempts.eq(0),
                    mo::next_attempt_at.eq(now),
                    mo::updated_at.eq(now),
                ))
                .execute(conn)
                .map_err(DbError::from)
            })
            .await?;
        if requeued == 0 {
            return Ok(false);
        }
        self.queue.push(&SendMail { outbox_id }).await?;
        Ok(true)
    }
}

/// The row as the sender needs it.
#[derive(Queryable)]
struct Claimed {
    recipient: String,
    subject: String,
    body_text: String,
    body_html: String,
    list_unsubscribe: Option<String>,
    message_key: String,
    attempts: i32,
}

/// Takes the row for one attempt, if it is due and nobody holds it: the conditional UPDATE is
/// the lock (of two workers, one changes the row). A due time up to a second ahead counts,
/// because the queue schedules to the second.
fn claim(
    conn: &mut AnyConnection,
    id: i64,
    lease: chrono::Duration,
) -> Result<Option<Claimed>, DbError> {
    let now = crate::time::now();
    diesel::update(
        mo::table.find(id).filter(
            mo::status
                .eq(QUEUED)
                .and(mo::next_attempt_at.le(now + chrono::Duration::seconds(1)))
                .or(mo::status.eq(SENDING).and(mo::lease_until.lt(now))),
        ),
    )
    .set((
        mo::status.eq(SENDING),
        mo::attempts.eq(mo::attempts + 1),
        mo::lease_until.eq(now + lease),
        mo::updated_at.eq(now),
    ))
    .returning((
        mo::recipient,
        mo::subject,
        mo::body_text,
        mo::body_html,
        mo::list_unsubscribe,
        mo::message_key,
        mo::attempts,
    ))
    .get_result(conn)
    .optional()
    .map_err(DbError::from)
}

/// Writes what an attempt came to; `false` if the row is no longer this attempt's (its
/// lease ran out and another worker claimed it: `attempts` moved on).
fn record_outcome(
    conn: &mut AnyConnection,
    id: i64,
    attempt: i32,
    delivery: &Delivery,
    next_at: SystemTime,
) -> Result<bool, DbError> {
    let now = crate::time::now();
    let row = mo::table
        .find(id)
        .filter(mo::status.eq(SENDING))
        .filter(mo::attempts.eq(attempt));
    let written = match delivery {
        // The bodies may hold single-use links: nothing needs them once sent.
        Delivery::Sent => diesel::update(row)
            .set((
                mo::status.eq(SENT),
                mo::sent_at.eq(now),
                mo::last_error.eq(None::<String>),
                mo::lease_until.eq(None::<NaiveDateTime>),
                mo::body_text.eq(""),
                mo::body_html.eq(""),
                mo::updated_at.eq(now),
            ))
            .execute(conn),
        Delivery::Retrying(e) => diesel::update(row)
            .set((
                mo::status.eq(QUEUED),
                mo::last_error.eq(truncate(e)),
                mo::lease_until.eq(None::<NaiveDateTime>),
                mo::next_attempt_at.eq(to_naive(next_at)),
                mo::updated_at.eq(now),
            ))
            .execute(conn),
        Delivery::Failed(e) => diesel::update(row)
            .set((
                mo::status.eq(FAILED),
                mo::last_error.eq(truncate(e)),
                mo::lease_until.eq(None::<NaiveDateTime>),
                mo::updated_at.eq(now),
            ))
            .execute(conn),
        Delivery::Skipped => Ok(0),
    };
    written.map(|n| n == 1).map_err(DbError::from)
}

/// An SMTP reply can be long; the table keeps enough to read.
fn truncate(e: &str) -> String {
    e.chars().take(500).collect()
}

/// At the microsecond precision both databases keep (see [`crate::time`]).
fn to_naive(at: SystemTime) -> NaiveDateTime {
    use chrono::SubsecRound;
    chrono::DateTime::<chrono::Utc>::from(at)
        .naive_utc()
        .trunc_subsecs(6)
}

fn chrono_duration(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::minutes(5))
}

/// `mail_outbox_messages{status}`: mails queued, being sent, sent and failed, read from the
/// outbox table before each scrape of `/metrics`. A growing `queued` or any `failed` is what
/// to alert on.
#[cfg(feature = "http")]
pub struct OutboxMetrics {
    outbox: Outbox,
    messages: crate::http::metrics::StateGauges,
}

#[cfg(feature = "http")]
impl OutboxMetrics {
    pub fn register(outbox: &Outbox, registry: &mut crate::http::metrics::Registry) -> Self {
        Self {
            outbox: outbox.clone(),
            messages: crate::http::metrics::StateGauges::register(
                registry,
                "mail_outbox_messages",
                "Mails in the outbox, by status",
            ),
        }
    }
}

#[cfg(feature = "http")]
impl crate::http::metrics::Refresh for OutboxMetrics {
    fn costly(&self) -> bool {
        true
    }

    fn refresh(&self) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + '_>> {
        Box::pin(async move {
            match self.outbox.counts().await {
                Ok(counts) => {
                    // Every status, so one that emptied shows 0 instead of its last count.
                    for status in [QUEUED, SENDING, SENT, FAILED] {
                        let count = counts
                            .iter()
                            .find(|(s, _)| s == status)
                            .map_or(0, |(_, n)| *n);
                        self.messages.set(status, count);
                    }
                }
                Err(e) => tracing::warn!(error = %e, "could not read the outbox for /metrics"),
            }
        })
    }
}
