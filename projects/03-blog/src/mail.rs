//! The blog's mails — what they say and where their links point — and the handle the routes
//! and jobs share to queue them. Sending is the kit's (`backend_kit::mail`): a mail is a row in
//! its outbox, written in the same transaction as the change that causes it, and delivered
//! by a job with retries. Each mail has a text and an HTML part from the askama templates in
//! `templates/mail/`, checked at compile time.

use std::sync::Arc;
use std::time::Duration;

use askama::Template;
use backend_kit::auth::User;
use backend_kit::db::{AnyConnection, Database};
use backend_kit::jobs::JobQueue;
use backend_kit::mail::{Outbox, OutgoingMail, outbox, unsubscribe};
use backend_kit::secret::Secret;
use diesel::QueryResult;

use crate::db::notifications::DigestItem;

/// A digest lists at most this many comments and counts the rest: a flood of comments makes
/// one readable mail, not a megabyte.
pub const DIGEST_MAX_LISTED: usize = 50;

/// The unsubscribe links' purpose: a digest link cannot unsubscribe from anything else.
const DIGEST: &str = "comment-digest";

/// What routes and jobs need to send mail. Cheap to clone.
#[derive(Clone)]
pub struct Mail {
    pub db: Database,
    pub outbox: Outbox,
    pub queue: JobQueue,
    inner: Arc<Inner>,
}

struct Inner {
    /// `PUBLIC_URL`, without a trailing slash: every link in a mail starts with it.
    public_url: String,
    /// Signs unsubscribe links (the app's `JWT_SECRET`).
    secret: Secret<String>,
    digest_window: Duration,
}

impl Mail {
    pub fn new(
        db: Database,
        outbox: Outbox,
        queue: JobQueue,
        public_url: &str,
        secret: Secret<String>,
        digest_window: Duration,
    ) -> Self {
        Self {
            db,
            outbox,
            queue,
            inner: Arc::new(Inner {
                public_url: public_url.trim_end_matches('/').to_string(),
                secret,
                digest_window,
            }),
        }
    }

    pub fn digest_window(&self) -> Duration {
        self.inner.digest_window
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.inner.public_url)
    }

    /// Issues a verification token for `user` and writes the mail carrying it into the outbox, in the
    /// caller's transaction. Returns the outbox row to `queue_send` after the commit.
    pub fn write_verification(&self, conn: &mut AnyConnection, user: &User) -> QueryResult<i64> {
        use backend_kit::auth::{Purpose, account_tokens};
        let token = account_tokens::issue(conn, user.id, &user.email, Purpose::VerifyEmail)?;
        let link = self.url(&format!("/api/users/verify?token={token}"));
        let name = display_name(conn, user)?;
        let (username, email) = (name.as_str(), user.email.as_str());
        let mail = OutgoingMail {
            to: user.email.clone(),
            subject: "Verify your e-mail address for conduit".into(),
            text: render(&VerifyText {
                username,
                email,
                link: &link,
            }),
            html: render(&VerifyHtml {
                username,
                email,
                link: &link,
            }),
            list_unsubscribe: None,
        };
        written(outbox::write(conn, &mail, None)?)
    }

    /// Tells the address the account had that its e-mail or password changed — when, and what —
    /// with a recovery link, in the caller's transaction: a leaked access token is enough to
    /// change both, so the owner must hear of it where the thief cannot read. The link (the
    /// reset page, with a `RecoverAccount` token: 7 days) sets a new password, puts this
    /// address back and ends every session; later changes do not spend it. Returns the
    /// outbox row to `queue_send` after the commit.
    pub fn write_change_notice(
        &self,
        conn: &mut AnyConnection,
        user: &User,
        previous_email: &str,
        email_changed: bool,
        password_changed: bool,
    ) -> QueryResult<i64> {
        use backend_kit::auth::{Purpose, account_tokens};
        let token = account_tokens::issue(conn, user.id, previous_email, Purpose::RecoverAccount)?;
        let link = self.url(&format!("/reset-password?token={token}"));
        let at = backend_kit::time::now()
            .format("%Y-%m-%d %H:%M")
            .to_string();
        let changed = Changed {
            username: &display_name(conn, user)?,
            previous_email,
            new_email: &user.email,
            email_changed,
            password_changed,
            at: &at,
            link: &link,
        };
        let subject = match (email_changed, password_changed) {
            (true, true) => "Your conduit e-mail address and password were changed",
            (true, false) => "Your conduit e-mail address was changed",
            _ => "Your conduit password was changed",
        };
        let mail = OutgoingMail {
            to: previous_email.to_string(),
            subject: subject.into(),
            text: render(&ChangedText { c: &changed }),
            html: render(&ChangedHtml { c: &changed }),
            list_unsubscribe: None,
        };
        written(outbox::write(conn, &mail, None)?)
    }

    /// Issues a reset token and writes its mail into the outbox, once per `dedupe_key` (the request's id:
    /// a retried job does not send a second token).
    pub fn write_password_reset(
        &self,
        conn: &mut AnyConnection,
        user: &User,
        dedupe_key: &str,
    ) -> QueryResult<Option<i64>> {
        use backend_kit::auth::{Purpose, account_tokens};
        if outbox::has_key(conn, dedupe_key)? {
            return Ok(None);
        }
        let token = account_tokens::issue(conn, user.id, &user.email, Purpose::ResetPassword)?;
        let link = self.url(&format!("/reset-password?token={token}"));
        let name = display_name(conn, user)?;
        let (username, email) = (name.as_str(), user.email.as_str());
        let mail = OutgoingMail {
            to: user.email.clone(),
            subject: "Reset your conduit password".into(),
            text: render(&ResetText {
                username,
                email,
                link: &link,
                token: &token,
            }),
            html: render(&ResetHtml {
                username,
                email,
                link: &link,
            }),
            list_unsubscribe: None,
        };
        outbox::write(conn, &mail, Some(dedupe_key))
    }

    /// Writes one digest into the outbox listing `items` for `recipient`.
    pub fn write_digest(
        &self,
        conn: &mut AnyConnection,
        recipient: &User,
        items: &[(DigestItem, String)],
    ) -> QueryResult<i64> {
        let unsubscribe = self.url(&format!(
            "/api/users/unsubscribe?token={}",
            unsubscribe::token(self.inner.secret.expose().as_bytes(), DIGEST, recipient.id)
        ));
        let comments: Vec<DigestLine> = items
            .iter()
            .take(DIGEST_MAX_LISTED)
            .map(|(item, commenter)| DigestLine {
                commenter: commenter.clone(),
                title: item.article_title.clone(),
                link: self.url(&format!("/articles/{}", item.article_slug)),
                body: excerpt(&item.body),
            })
            .collect();
        let name = display_name(conn, recipient)?;
        let username = name.as_str();
        let window = humane(self.inner.digest_window);
        let (total, more) = (items.len(), items.len().saturating_sub(DIGEST_MAX_LISTED));
        let subject = match total {
            1 => "1 new comment on your articles".to_string(),
            n => format!("{n} new comments on your articles"),
        };
        let mail = OutgoingMail {
            to: recipient.email.clone(),
            subject,
            text: render(&DigestText {
                username,
                comments: &comments,
                total,
                more,
                window: &window,
                unsubscribe: &unsubscribe,
            }),
            html: render(&DigestHtml {
                username,
                comments: &comments,
                total,
                more,
                window: &window,
                unsubscribe: &unsubscribe,
            }),
            list_unsubscribe: Some(unsubscribe.clone()),
        };
        written(outbox::write(conn, &mail, None)?)
    }

    /// The user an unsubscribe token was made for, if it is genuine.
    pub fn unsubscriber(&self, token: &str) -> Option<i64> {
        unsubscribe::verify(self.inner.secret.expose().as_bytes(), DIGEST, token)
    }
}

/// A comment in a digest: its first 300 characters (the link has the rest).
fn excerpt(body: &str) -> String {
    const MAX: usize = 300;
    match body.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}…", body[..cut].trim_end()),
        None => body.to_string(),
    }
}

/// [`outbox::write()`] returns `None` only when its dedupe key was used before; without a
/// key the row is always written, so `None` here would be a bug, reported as an error.
fn written(id: Option<i64>) -> QueryResult<i64> {
    id.ok_or(diesel::result::Error::NotFound)
}

/// The name a mail greets: the blog's handle (an account made by another capstone has one
/// from its first visit, `ensure_username`), else the account's display name.
fn display_name(conn: &mut AnyConnection, user: &User) -> QueryResult<String> {
    use crate::db::schema::users;
    use diesel::prelude::*;
    let handle: Option<String> = users::table
        .find(user.id)
        .select(users::username)
        .first(conn)?;
    Ok(handle.unwrap_or_else(|| user.name.clone()))
}

/// Templates that compiled cannot fail to render, short of a formatting error in a value.
fn render(template: &impl Template) -> String {
    template.render().unwrap_or_else(|e| {
        tracing::error!(error = %e, "a mail template failed to render");
        String::new()
    })
}

/// `600 s` → `10 minutes`, for the digest's footer.
fn humane(d: Duration) -> String {
    match d.as_secs() {
        s if s % 3600 == 0 && s >= 3600 => plural(s / 3600, "hour"),
        s if s % 60 == 0 && s >= 60 => plural(s / 60, "minute"),
        s => plural(s, "second"),
    }
}

fn plural(n: u64, unit: &str) -> String {
    if n == 1 {
        unit.to_string()
    } else {
        format!("{n} {unit}s")
    }
}

pub struct DigestLine {
    pub commenter: String,
    pub title: String,
    pub link: String,
    pub body: String,
}

/// What the change notice says.
struct Changed<'a> {
    username: &'a str,
    previous_email: &'a str,
    new_email: &'a str,
    email_changed: bool,
    password_changed: bool,
    at: &'a str,
    link: &'a str,
}

#[derive(Template)]
#[template(path = "mail/changed.txt")]
struct ChangedText<'a> {
    c: &'a Changed<'a>,
}

#[derive(Template)]
#[template(path = "mail/changed.html")]
struct ChangedHtml<'a> {
    c: &'a Changed<'a>,
}

#[derive(Template)]
#[template(path = "mail/verify.txt")]
struct VerifyText<'a> {
    username: &'a str,
    email: &'a str,
    link: &'a str,
}

#[derive(Template)]
#[template(path = "mail/verify.html")]
struct VerifyHtml<'a> {
    username: &'a str,
    email: &'a str,
    link: &'a str,
}

#[derive(Template)]
#[template(path = "mail/reset.txt")]
struct ResetText<'a> {
    username: &'a str,
    email: &'a str,
    link: &'a str,
    token: &'a str,
}

#[derive(Template)]
#[template(path = "mail/reset.html")]
struct ResetHtml<'a> {
    username: &'a str,
    email: &'a str,
    link: &'a str,
}

#[derive(Template)]
#[template(path = "mail/digest.txt")]
struct DigestText<'a> {
    username: &'a str,
    comments: &'a [DigestLine],
    total: usize,
    more: usize,
    window: &'a str,
    unsubscribe: &'a str,
}

#[derive(Template)]
#[template(path = "mail/digest.html")]
struct DigestHtml<'a> {
    username: &'a str,
    comments: &'a [DigestLine],
    total: usize,
    more: usize,
    window: &'a str,
    unsubscribe: &'a str,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_quote_the_start_of_long_comments() {
        assert_eq!(excerpt("short"), "short");
        let long = "é".repeat(400);
        assert_eq!(excerpt(&long).chars().count(), 301);
        assert!(excerpt(&long).ends_with('…'));
    }

    #[test]
    fn windows_read_as_people_say_them() {
        assert_eq!(humane(Duration::from_secs(600)), "10 minutes");
        assert_eq!(humane(Duration::from_secs(60)), "minute");
        assert_eq!(humane(Duration::from_secs(7200)), "2 hours");
        assert_eq!(humane(Duration::from_secs(90)), "90 seconds");
    }

    #[test]
    fn html_parts_escape_what_users_wrote() {
        let comments = [DigestLine {
            commenter: "<b>eve</b>".into(),
            title: "\"quoted\" & <i>".into(),
            link: "http://x/articles/a".into(),
            body: "<script>alert(1)</script>".into(),
        }];
        let html = render(&DigestHtml {
            username: "ann",
            comments: &comments,
            total: 1,
            more: 0,
            window: "minute",
            unsubscribe: "http://x/u",
        });
        assert!(
            !html.contains("<script>") && !html.contains("<b>eve"),
            "{html}"
        );
        let text = render(&DigestText {
            username: "ann",
            comments: &comments,
            total: 1,
            more: 0,
            window: "minute",
            unsubscribe: "http://x/u",
        });
        assert!(text.contains("> <script>alert(1)</script>"), "{text}");
    }
}
