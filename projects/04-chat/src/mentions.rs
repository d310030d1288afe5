//! `@name` to someone who is not connected: an e-mail digest, at most one per user per
//! `MENTION_DIGEST_SECS` (10 minutes), through the kit's mail outbox and job queue.
//!
//! Sending a message records a row per offline account it mentions (after the message is
//! stored and delivered: it never delays the chat). A scheduled job gathers each user's rows
//! once their window allows, and queues one mail in the same transaction that deletes them
//! — so a crash either sends the digest later or never took the rows.
//!
//! Every digest carries an unsubscribe link (also as `List-Unsubscribe`, one-click by
//! RFC 8058): `/api/mentions/unsubscribe?token=…`, an HMAC of the user's id (the kit's
//! `mail::unsubscribe`), so it needs no table of tokens and cannot be forged.

use std::sync::Arc;
use std::time::Duration;

use backend_kit::db::{Database, DbError, write_transaction};
use backend_kit::jobs::{JobError, Workers};
use backend_kit::mail::{Outbox, OutgoingMail, outbox, unsubscribe};
use backend_kit::secret::Secret;

use crate::db::mentions::{self as store, Mention};
use crate::db::messages::StoredMessage;
use crate::domain::{UserKey, mentions};
use crate::fanout::Fanout;

/// The unsubscribe links' purpose: a link from a mention digest unsubscribes from nothing else.
const PURPOSE: &str = "chat-mentions";

pub struct Mentions {
    db: Database,
    fanout: Arc<Fanout>,
    pub outbox: Outbox,
    public_url: String,
    window: Duration,
    /// Signs unsubscribe links (the app's `JWT_SECRET`).
    secret: Secret<String>,
}

impl Mentions {
    pub fn new(
        db: Database,
        fanout: Arc<Fanout>,
        outbox: Outbox,
        public_url: &str,
        window: Duration,
        secret: Secret<String>,
    ) -> Self {
        Self {
            db,
            fanout,
            outbox,
            public_url: public_url.trim_end_matches('/').to_string(),
            window,
            secret,
        }
    }

    /// The user an unsubscribe token was made for, if it is genuine.
    pub fn unsubscriber(&self, token: &str) -> Option<i64> {
        unsubscribe::verify(self.secret.expose().as_bytes(), PURPOSE, token)
    }

    /// No more digests for `user_id`, and none of what was waiting.
    pub async fn unsubscribe(&self, user_id: i64) -> Result<(), DbError> {
        self.db
            .run(move |conn| match store::unsubscribe(conn, user_id) {
                // The account is gone: there is nothing left to mail.
                Err(e) if backend_kit::db::is_foreign_key_violation(&e) => Ok(()),
                other => other.map_err(DbError::from),
            })
            .await
    }

    /// A message was stored: remember its mentions of users who are not connected.
    pub async fn noticed(&self, room_id: i64, message: &StoredMessage) {
        let names = mentions(&message.text);
        if names.is_empty() {
            return;
        }
        let named = self
            .db
            .run(move |conn| store::accounts_named(conn, &names).map_err(DbError::from))
            .await;
        let named = match named {
            Ok(ids) => ids,
            Err(e) => return tracing::error!("could not look up mentions: {e}"),
        };
        let mut offline = Vec::new();
        for id in named {
            let key = UserKey::account(id);
            if key.as_str() != message.user_key && !self.fanout.is_connected(&key).await {
                offline.push(id);
            }
        }
        if offline.is_empty() {
            return;
        }
        let seq = message.seq;
        let recorded = self
            .db
            .run(move |conn| store::record(conn, room_id, seq, &offline).map_err(DbError::from))
            .await;
        if let Err(e) = recorded {
            tracing::error!("could not record mentions: {e}");
        }
    }

    /// Queues a digest for every user whose window allows one; returns how many.
    pub async fn send_due(&self) -> Result<usize, DbError> {
        let cutoff = backend_kit::time::now() - self.window;
        let due = self
            .db
            .run(move |conn| store::due(conn, cutoff).map_err(DbError::from))
            .await?;
        let mut sent = 0;
        for user_id in due {
            let public_url = self.public_url.clone();
            let unsubscribe = format!(
                "{public_url}/api/mentions/unsubscribe?token={}",
                unsubscribe::token(self.secret.expose().as_bytes(), PURPOSE, user_id)
            );
            let queued = self
                .db
                .run(move |conn| {
                    let now = backend_kit::time::now();
                    let outcome = write_transaction(conn, |conn| {
                        // Mentioned while unsubscribing, or every message that named them
                        // was deleted since: nothing goes out, and the window stays open.
                        if store::unsubscribed(conn, user_id)? || !store::has_live(conn, user_id)? {
                            store::drop_pending(conn, user_id)?;
                            return Ok(None);
                        }
                        // Another instance's job mails this user now, or did since `cutoff`.
                        if !store::claim(conn, user_id, cutoff, now)? {
                            return Ok(None);
                        }
                        let Some((email, name)) = store::recipient(conn, user_id)? else {
                            return Ok(None);
                        };
                        let (listed, total) = store::take(conn, user_id)?;
                        if listed.is_empty() {
                            // Deleted since the check: the claim is undone, and the next run
                            // drops the rows.
                            return Err(diesel::result::Error::RollbackTransaction);
                        }
                        let mail = digest(&email, &name, &listed, total, &public_url, &unsubscribe);
                        outbox::write(conn, &mail, None)
                    });
                    match outcome {
                        Err(diesel::result::Error::RollbackTransaction) => Ok(None),
                        other => other.map_err(DbError::from),
                    }
                })
                .await?;
            if let Some(id) = queued {
                self.outbox.queue_send(id).await;
                sent += 1;
            }
        }
        Ok(sent)
    }

    /// The digest job, on `schedule`, plus the outbox's own workers.
    pub fn register(
        self: &Arc<Self>,
        workers: Workers,
        schedule: &str,
    ) -> Result<Workers, JobError> {
        let workers = self.outbox.register(workers)?;
        let mentions = Arc::clone(self);
        workers.every("mention-digests", schedule, move || {
            let mentions = Arc::clone(&mentions);
            async move {
                mentions.send_due().await?;
                Ok(())
            }
        })
    }
}

fn digest(
    to: &str,
    name: &str,
    listed: &[Mention],
    total: usize,
    public_url: &str,
    unsubscribe: &str,
) -> OutgoingMail {
    let subject = match total {
        1 => "You were mentioned in the chat".to_string(),
        n => format!("You were mentioned {n} times in the chat"),
    };
    let excerpt = |text: &str| -> String {
        let mut short: String = text.chars().take(300).collect();
        if short.len() < text.len() {
            short.push('…');
        }
        short
    };
    let more = total.saturating_sub(listed.len());
    let mut text = format!("Hi {name},\n\nWhile you were away:\n\n");
    let mut html = format!("<p>Hi {},</p><p>While you were away:</p><ul>", escape(name));
    for m in listed.iter().rev() {
        text.push_str(&format!("[#{}] {}: {}\n", m.room, m.from, excerpt(&m.text)));
        html.push_str(&format!(
            "<li><a href=\"{public_url}/#{room}\">#{room}</a> <b>{}</b>: {}</li>",
            escape(&m.from),
            escape(&excerpt(&m.text)),
            room = m.room,
        ));
    }
    if more > 0 {
        text.push_str(&format!("…and {more} more.\n"));
        html.push_str(&format!("<li>…and {more} more.</li>"));
    }
    text.push_str(&format!(
        "\nOpen the chat: {public_url}/\n\nNo more of these e-mails: {unsubscribe}\n"
    ));
    html.push_str(&format!(
        "</ul><p><a href=\"{public_url}/\">Open the chat</a></p>\
         <p><small><a href=\"{}\">No more of these e-mails</a></small></p>",
        escape(unsubscribe)
    ));
    OutgoingMail {
        to: to.to_string(),
        subject,
        text,
        html,
        list_unsubscribe: Some(unsubscribe.to_string()),
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}
