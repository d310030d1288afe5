//! Outgoing e-mail that is never lost: [lettre](https://docs.rs/lettre) to send, an outbox
//! table to remember, the kit's [`jobs`](crate::jobs) queue to deliver.
//!
//! ```text
//! request handler ──(one transaction)──▶ the change + a mail_outbox row ──▶ answer at once
//!                                                   │ after commit: push SendMail{id}
//!                                                   ▼
//! job worker: claim the row ─▶ SMTP (or a .eml file) ─▶ mark it sent ─▶ acknowledge the job
//! ```
//!
//! - **A request never talks to SMTP.** It writes an [`outbox`] row in its own transaction and
//!   pushes a job; a slow or broken mail server cannot slow or fail it.
//! - **Retries** ([`MailSettings`]): a transient failure (4xx reply, refused connection,
//!   time-out) schedules the next attempt after an exponential backoff with jitter, from
//!   `MAIL_RETRY_BASE_SECS` (5 s) doubling up to 10 minutes, for `MAIL_MAX_ATTEMPTS` (8)
//!   attempts; a permanent one (5xx: no such mailbox) fails at once. Failed rows stay visible
//!   (`<app> jobs`, see [`cli`]) and can be retried.
//! - **At least once, duplicates avoided where possible**: the row is marked sent before the
//!   job is acknowledged, so a job run twice sends once. The one window left is a crash after
//!   the server accepted the message and before the row is marked: then it is sent again,
//!   with the same `Message-ID`. Exactly-once is impossible over SMTP (the protocol has no
//!   idempotency key).
//! - **Without `SMTP_URL`** mail is written as `.eml` files under `MAIL_DIR` (`./var/mail`):
//!   a fresh clone needs no mail server, and every message is one file to open.

pub mod cli;
pub mod outbox;
pub mod unsubscribe;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use diesel_migrations::{EmbeddedMigrations, embed_migrations};
use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::AsyncSmtpTransport;
use lettre::{AsyncFileTransport, AsyncTransport, Message, Tokio1Executor};

use crate::config::{ConfigError, Env};
use crate::db::MigrationSet;
use crate::secret::Secret;

#[cfg(feature = "http")]
pub use outbox::OutboxMetrics;
pub use outbox::{Outbox, OutboxRow, SendMail};

/// The outbox table's migrations (see [`project_migrations!`](crate::project_migrations)).
pub fn migrations() -> MigrationSet {
    const POSTGRES: EmbeddedMigrations = embed_migrations!("migrations/mail/postgres");
    const SQLITE: EmbeddedMigrations = embed_migrations!("migrations/mail/sqlite");
    MigrationSet {
        postgres: POSTGRES,
        sqlite: SQLITE,
    }
}

/// `SMTP_URL`, `MAIL_FROM` and the delivery policy.
#[derive(Debug, Clone)]
pub struct MailSettings {
    /// `SMTP_URL`: `smtp://host:25` (plain, for local sinks), `smtp://user:pass@host:587?tls=required`
    /// (STARTTLS), `smtps://user:pass@host:465` (TLS from the first byte). Unset: files.
    pub smtp_url: Option<Secret<String>>,
    /// `MAIL_FROM` (`<app> <no-reply@localhost>`): the sender, `Name <address>` or `address`.
    pub from: String,
    /// `MAIL_DIR` (`var/mail`): where messages are written without `SMTP_URL`.
    pub dir: PathBuf,
    /// `MAIL_RETRY_BASE_SECS` (5): the wait before the first retry; each next one doubles.
    pub retry_base: Duration,
    /// The longest wait between two attempts (10 minutes).
    pub retry_cap: Duration,
    /// `MAIL_MAX_ATTEMPTS` (8): attempts before a mail is left failed.
    pub max_attempts: u32,
    /// `SMTP_TIMEOUT_SECS` (30): one SMTP command's limit; a silent server is a transient failure.
    pub timeout: Duration,
    /// How long a worker may hold a row it is sending; after that another may take it (the
    /// first one is presumed dead).
    pub lease: Duration,
    /// The outbox sweeper's cron schedule: queues again rows whose job was lost.
    pub sweep_schedule: String,
    /// A queued row overdue by this much is queued again by the sweeper.
    pub sweep_grace: Duration,
}

impl MailSettings {
    pub fn read<L: Fn(&str) -> Option<String>>(
        env: &Env<L>,
        app_name: &str,
    ) -> Result<Self, ConfigError> {
        let from = env
            .get("MAIL_FROM")
            .unwrap_or_else(|| format!("{app_name} <no-reply@localhost>"));
        if from.parse::<Mailbox>().is_err() {
            return Err(ConfigError::Invalid {
                name: "MAIL_FROM",
                value: from,
                reason: "expected `Name <address>` or `address`",
            });
        }
        let smtp_url = env.get("SMTP_URL").filter(|u| !u.trim().is_empty());
        if let Some(url) = &smtp_url {
            // lettre's own parser, so what passes here is what it will connect to.
            if AsyncSmtpTransport::<Tokio1Executor>::from_url(url).is_err() {
                return Err(ConfigError::Invalid {
                    name: "SMTP_URL",
                    value: "[REDACTED]".into(),
                    reason: "expected smtp://host:port, smtp://user:pass@host:587?tls=required or smtps://user:pass@host",
                });
            }
        }
        Ok(Self {
            smtp_url: smtp_url.map(Secret::new),
            from,
            dir: PathBuf::from(env.get("MAIL_DIR").unwrap_or_else(|| "var/mail".into())),
            retry_base: Duration::from_secs(env.number("MAIL_RETRY_BASE_SECS", 5u64)?.max(1)),
            retry_cap: Duration::from_secs(600),
            max_attempts: env.number("MAIL_MAX_ATTEMPTS", 8u32)?.max(1),
            timeout: Duration::from_secs(env.number("SMTP_TIMEOUT_SECS", 30u64)?.max(1)),
            lease: Duration::from_secs(300),
            sweep_schedule: "0 * * * * *".into(),
            sweep_grace: Duration::from_secs(120),
        })
    }

    /// Mail to `smtp_url` (a test's SMTP server), retried fast and often, swept every second.
    pub fn for_tests(smtp_url: Option<String>, dir: PathBuf) -> Self {
        Self {
            smtp_url: smtp_url.map(Secret::new),
            from: "Test <no-reply@test.localhost>".into(),
            dir,
            retry_base: Duration::from_millis(200),
            retry_cap: Duration::from_secs(1),
            max_attempts: 30,
            timeout: Duration::from_secs(5),
            lease: Duration::from_secs(3),
            sweep_schedule: "* * * * * *".into(),
            sweep_grace: Duration::from_secs(2),
        }
    }

    /// The wait before attempt `attempt + 1`, after `attempt` failed ones: `base · 2^(n-1)`
    /// capped, then "equal jitter" (a random point in its upper half), so mails that failed
    /// together in an outage do not all come back in the same second.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let exp = self
            .retry_base
            .saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1).min(20)));
        let delay = exp.min(self.retry_cap);
        let half = delay / 2;
        half + half.mul_f64(rand::random::<f64>())
    }
}

/// A message to send: rendered once when queued, so every attempt sends the same thing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingMail {
    pub to: String,
    pub subject: String,
    /// The plain-text part (what every client can show).
    pub text: String,
    /// The HTML part.
    pub html: String,
    /// An unsubscribe URL, sent as `List-Unsubscribe` (with one-click `List-Unsubscribe-Post`,
    /// RFC 8058) for mail a user can opt out of.
    pub list_unsubscribe: Option<String>,
}

/// Why a send failed, and so whether to try again.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// The server refused for good (5xx), or the message cannot be built: retrying won't help.
    #[error("permanent: {0}")]
    Permanent(String),
    /// A 4xx reply, a refused or dropped connection, a time-out: worth another try later.
    #[error("transient: {0}")]
    Transient(String),
}

#[derive(Clone)]
enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Files(AsyncFileTransport<Tokio1Executor>),
}

/// Sends [`Message`]s through SMTP (lettre's pooled async transport) or into `.eml` files.
#[derive(Clone)]
pub struct Mailer {
    transport: Transport,
    from: Mailbox,
    /// Where mail goes, for logs (no credentials).
    destination: String,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Mailer({})", self.destination)
    }
}

impl Mailer {
    pub fn new(settings: &MailSettings) -> Result<Arc<Self>, ConfigError> {
        let from = settings
            .from
            .parse::<Mailbox>()
            .map_err(|_| ConfigError::Invalid {
                name: "MAIL_FROM",
                value: settings.from.clone(),
                reason: "expected `Name <address>` or `address`",
            })?;
        let (transport, destination) = match &settings.smtp_url {
            Some(url) => {
                let invalid = |_| ConfigError::Invalid {
                    name: "SMTP_URL",
                    value: "[REDACTED]".into(),
                    reason: "not a valid SMTP URL",
                };
                let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url.expose())
                    .map_err(invalid)?
                    .timeout(Some(settings.timeout))
                    .build();
                (Transport::Smtp(transport), redact(url.expose()))
            }
            None => {
                std::fs::create_dir_all(&settings.dir).map_err(|e| ConfigError::Invalid {
                    name: "MAIL_DIR",
                    value: settings.dir.display().to_string(),
                    reason: if e.kind() == std::io::ErrorKind::PermissionDenied {
                        "cannot create the directory: permission denied"
                    } else {
                        "cannot create the directory"
                    },
                })?;
                let destination = format!("files in {}", settings.dir.display());
                (
                    Transport::Files(AsyncFileTransport::new(&settings.dir)),
                    destination,
                )
            }
        };
        Ok(Arc::new(Self {
            transport,
            from,
            destination,
        }))
    }

    /// `smtp://host:port` (credentials removed) or `files in var/mail`.
    pub fn destination(&self) -> &str {
        &self.destination
    }

    /// Builds the message: `From`, `To`, `Subject`, `Date`, a `Message-ID` made from
    /// `message_key` (the same on every attempt), a text and an HTML part.
    pub fn build(&self, email: &OutgoingMail, message_key: &str) -> Result<Message, SendError> {
        let to = email
            .to
            .parse::<Mailbox>()
            .map_err(|e| SendError::Permanent(format!("bad recipient: {e}")))?;
        let domain = self.from.email.domain();
        let mut builder = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(&email.subject)
            .date_now()
            .message_id(Some(format!("<{message_key}@{domain}>")));
        if let Some(url) = &email.list_unsubscribe {
            builder = builder
                .raw_header(HeaderValue::new(
                    HeaderName::new_from_ascii_str("List-Unsubscribe"),
                    format!("<{url}>"),
                ))
                .raw_header(HeaderValue::new(
                    HeaderName::new_from_ascii_str("List-Unsubscribe-Post"),
                    "List-Unsubscribe=One-Click".into(),
                ));
        }
        builder
            .multipart(
                MultiPart::alternative()
                    .singlepart(
                        SinglePart::builder()
                            .header(ContentType::TEXT_PLAIN)
                            .body(email.text.clone()),
                    )
                    .singlepart(
                        SinglePart::builder()
                            .header(ContentType::TEXT_HTML)
                            .body(email.html.clone()),
                    ),
            )
            .map_err(|e| SendError::Permanent(format!("cannot build the message: {e}")))
    }

    pub async fn send(&self, message: Message) -> Result<(), SendError> {
        match &self.transport {
            Transport::Smtp(smtp) => smtp.send(message).await.map(|_| ()).map_err(|e| {
                // Only a 5xx reply is final; anything else (4xx, network, time-out, TLS
                // hiccup) may well work on the next try.
                if e.is_permanent() {
                    SendError::Permanent(e.to_string())
                } else {
                    SendError::Transient(e.to_string())
                }
            }),
            Transport::Files(files) => files
                .send(message)
                .await
                .map(|_| ())
                .map_err(|e| SendError::Transient(e.to_string())),
        }
    }
}

/// `smtp://user:pass@host:587?tls=required` → `smtp://host:587?tls=required`.
fn redact(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let rest = rest.rsplit_once('@').map_or(rest, |(_, host)| host);
            format!("{scheme}://{rest}")
        }
        None => "smtp".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> MailSettings {
        MailSettings::read(&Env::new(|_| None), "blog").expect("defaults parse")
    }

    #[test]
    fn backoff_doubles_with_jitter_up_to_the_cap() {
        let s = settings();
        for (attempt, full) in [(1, 5), (2, 10), (3, 20), (4, 40), (8, 600), (30, 600)] {
            for _ in 0..50 {
                let d = s.backoff(attempt);
                let full = Duration::from_secs(full);
                assert!(d >= full / 2 && d <= full, "attempt {attempt}: {d:?}");
            }
        }
    }

    #[test]
    fn settings_are_checked() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            Env::new(move |k: &str| {
                pairs
                    .iter()
                    .find(|(name, _)| *name == k)
                    .map(|(_, v)| v.to_string())
            })
        };
        assert!(MailSettings::read(&env(&[("MAIL_FROM", "not an address")]), "a").is_err());
        assert!(MailSettings::read(&env(&[("SMTP_URL", "http://x")]), "a").is_err());
        let ok = MailSettings::read(
            &env(&[
                ("SMTP_URL", "smtp://u:p@mail.example.com:587?tls=required"),
                ("MAIL_FROM", "Blog <blog@example.com>"),
                ("MAIL_MAX_ATTEMPTS", "3"),
            ]),
            "a",
        )
        .expect("valid");
        assert_eq!(ok.max_attempts, 3);
        assert_eq!(settings().from, "blog <no-reply@localhost>");
    }

    #[test]
    fn redacts_credentials() {
        assert_eq!(
            redact("smtp://user:secret@mail.example.com:587?tls=required"),
            "smtp://mail.example.com:587?tls=required"
        );
        assert_eq!(redact("smtp://127.0.0.1:2525"), "smtp://127.0.0.1:2525");
    }

    #[test]
    fn messages_carry_both_parts_and_the_headers() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut s = settings();
        s.dir = dir.path().to_path_buf();
        let mailer = Mailer::new(&s).expect("file mailer");
        let email = OutgoingMail {
            to: "ann@example.com".into(),
            subject: "Hello".into(),
            text: "plain".into(),
            html: "<p>html</p>".into(),
            list_unsubscribe: Some("http://x/unsubscribe?token=t".into()),
        };
        let raw = String::from_utf8(mailer.build(&email, "abc").expect("builds").formatted())
            .expect("ascii");
        for needle in [
            "Message-ID: <abc@localhost>",
            "List-Unsubscribe: <http://x/unsubscribe?token=t>",
            "List-Unsubscribe-Post: List-Unsubscribe=One-Click",
            "Content-Type: text/plain",
            "Content-Type: text/html",
            "Date: ",
        ] {
            assert!(raw.contains(needle), "{needle} missing in\n{raw}");
        }
        let bad = OutgoingMail {
            to: "not an address".into(),
            ..email
        };
        assert!(matches!(
            mailer.build(&bad, "x"),
            Err(SendError::Permanent(_))
        ));
    }
}
