//! The blog's background work, on the kit's job queue beside the mail outbox's own job:
//!
//! - [`RequestPasswordReset`]: `POST /api/users/password-reset` only queues this and answers
//!   `202`; looking the address up, issuing the token and queueing the mail happen here. The
//!   request does the same work whether or not the address has an account, so neither its
//!   answer nor its timing tells.
//! - [`send_due_digests`] (every second, or every 10 s for windows over a minute): one mail
//!   per author whose oldest waiting comment is `NOTIFY_DIGEST_SECS` old.

use backend_kit::auth::schema::users;
use backend_kit::auth::{EmailAddress, User};
use backend_kit::db::{DbError, write_transaction};
use backend_kit::jobs::{BoxDynError, Job, JobError, Workers};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use crate::db::notifications;
use crate::mail::Mail;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RequestPasswordReset {
    /// As typed; normalised like a login's.
    pub email: String,
    /// Makes the job's mail once-only if the job runs twice.
    pub request_id: String,
}

impl Job for RequestPasswordReset {
    const KIND: &'static str = "blog.password-reset";
}

/// The blog's jobs and schedules, and the outbox's, on `workers`; `digest_schedule` is
/// when to look for due digests (cron, seconds first).
pub fn register(mail: &Mail, workers: Workers, digest_schedule: &str) -> Result<Workers, JobError> {
    let (resets, digests) = (mail.clone(), mail.clone());
    mail.outbox
        .register(workers)?
        .handle::<RequestPasswordReset, _, _>(move |job, _run| {
            let mail = resets.clone();
            async move { request_password_reset(&mail, job).await }
        })
        .every("comment-digests", digest_schedule, move || {
            let mail = digests.clone();
            async move { send_due_digests(&mail).await.map(|_| ()) }
        })
}

pub async fn request_password_reset(
    mail: &Mail,
    job: RequestPasswordReset,
) -> Result<(), BoxDynError> {
    let email = EmailAddress::normalize(&job.email);
    let key = format!("password-reset:{}", job.request_id);
    let composer = mail.clone();
    let queued = mail
        .db
        .run(move |conn| {
            write_transaction(conn, |conn| {
                match backend_kit::auth::find_by_email(conn, &email)? {
                    Some(user) => composer.write_password_reset(conn, &user, &key),
                    // No account: nothing to send, and nothing the requester can tell.
                    None => Ok(None),
                }
            })
            .map_err(DbError::from)
        })
        .await?;
    if let Some(id) = queued {
        mail.outbox.queue_send(id).await;
    }
    Ok(())
}

/// Queues every due digest; returns how many. Safe on several instances at once: taking an
/// author's waiting comments is a DELETE, which only one transaction wins.
pub async fn send_due_digests(mail: &Mail) -> Result<usize, BoxDynError> {
    let window = chrono::Duration::from_std(mail.digest_window())?;
    let due = mail
        .db
        .run(move |conn| {
            notifications::due(conn, backend_kit::time::now() - window, 100).map_err(DbError::from)
        })
        .await?;
    let mut sent = 0;
    for recipient in due {
        let composer = mail.clone();
        let queued = mail
            .db
            .run(move |conn| {
                write_transaction(conn, |conn| {
                    let items = notifications::take(conn, recipient)?;
                    if items.is_empty() || notifications::unsubscribed(conn, recipient)? {
                        return Ok(None);
                    }
                    let user: User = users::table
                        .find(recipient)
                        .select(User::as_select())
                        .first(conn)?;
                    composer.write_digest(conn, &user, &items).map(Some)
                })
                .map_err(DbError::from)
            })
            .await?;
        if let Some(id) = queued {
            mail.outbox.queue_send(id).await;
            sent += 1;
        }
    }
    Ok(sent)
}
