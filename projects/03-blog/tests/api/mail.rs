//! The mail flows end to end: the real server sends through real SMTP to the test's SMTP
//! server; each test waits for the mail, follows its link and checks the effect.

use std::time::Duration;

use backend_kit::auth::schema::account_tokens;
use backend_kit::db::DbError;
use backend_kit::mail::outbox::mail_outbox;
use diesel::prelude::*;
use serde_json::json;

use crate::helpers::{
    TestApp, User, assert_error, path_of, spawn_app, spawn_app_with, spawn_quiet_app, token_of,
};

/// `(status, attempts, last_error)` of every outbox row, oldest first.
async fn outbox(app: &TestApp) -> Vec<OutboxRow> {
    app.db
        .run(|conn| {
            mail_outbox::table
                .select((
                    mail_outbox::status,
                    mail_outbox::attempts,
                    mail_outbox::last_error,
                ))
                .order(mail_outbox::id)
                .load(conn)
                .map_err(DbError::from)
        })
        .await
        .expect("outbox rows")
}

type OutboxRow = (String, i32, Option<String>);

/// Polls the outbox (at most 20 s) until one of its rows satisfies `wanted`; all the rows then.
async fn outbox_until(
    app: &TestApp,
    what: &str,
    wanted: impl Fn(&OutboxRow) -> bool,
) -> Vec<OutboxRow> {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let rows = outbox(app).await;
        if rows.iter().any(&wanted) {
            return rows;
        }
        assert!(std::time::Instant::now() < deadline, "{what}: {rows:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Every mailed token's expiry, now: as if the time they were valid for had passed.
async fn expire_account_tokens(app: &TestApp) {
    app.db
        .run(|conn| {
            diesel::update(account_tokens::table)
                .set(account_tokens::expires_at.eq(backend_kit::time::now()))
                .execute(conn)
                .map_err(DbError::from)
        })
        .await
        .expect("expire the tokens");
}

async fn verification_link(app: &TestApp, user: &User) -> String {
    let mail = app.smtp.wait_for(&user.email(), "Verify").await;
    mail.link("/api/users/verify").expect("a verification link")
}

#[actix_web::test]
async fn registration_mails_a_link_that_verifies_the_address_once() {
    let app = spawn_app().await;
    let user = app.register("ann").await;
    let me = app.get("/api/user", Some(&user)).await;
    assert_eq!(me.json()["user"]["emailVerified"], false);

    let mail = app.smtp.wait_for(&user.email(), "Verify").await;
    assert!(
        mail.html.contains("/api/users/verify?token="),
        "{}",
        mail.html
    );
    assert!(mail.message_id.is_some() && mail.header("Date").is_some());
    let link = mail.link("/api/users/verify").expect("a link");
    assert!(
        link.starts_with("http://127.0.0.1:8083/api/users/verify?token="),
        "{link}"
    );
    assert_eq!(token_of(&link).len(), 43, "256 random bits, base64url");

    let followed = app.client.get(&path_of(&link), None).await;
    followed.assert_status(200);
    let body = followed.json();
    assert_eq!(body["user"]["emailVerified"], true);
    assert_eq!(body["user"]["username"], user.username.as_str());
    assert!(body["user"].get("token").is_none(), "a link is not a login");
    let me = app.get("/api/user", Some(&user)).await;
    assert_eq!(me.json()["user"]["emailVerified"], true);

    // Single use.
    assert_error(&app.client.get(&path_of(&link), None).await, 422, "token");
    // Stored hashed: the raw token is nowhere in the table.
    let token = token_of(&link);
    let hashes: Vec<String> = app
        .db
        .run(|conn| {
            account_tokens::table
                .select(account_tokens::token_hash)
                .load(conn)
                .map_err(DbError::from)
        })
        .await
        .unwrap();
    assert!(!hashes.is_empty() && hashes.iter().all(|h| *h != token));
}

#[actix_web::test]
async fn bad_verification_links_are_422_and_verify_nothing() {
    let app = spawn_app().await;
    for path in [
        "/api/users/verify",
        "/api/users/verify?token=",
        "/api/users/verify?token=nope",
        &format!("/api/users/verify?token={}", "x".repeat(10_000)),
    ] {
        assert_error(&app.client.get(path, None).await, 422, "token");
    }
    // Other methods do not spend a token (a link scanner's HEAD, say).
    let user = app.register("ann").await;
    let link = verification_link(&app, &user).await;
    for method in [
        reqwest::Method::HEAD,
        reqwest::Method::POST,
        reqwest::Method::PUT,
    ] {
        let response = app
            .client
            .send(app.client.request(method.clone(), &path_of(&link)))
            .await;
        assert_eq!(response.status.as_u16(), 405, "{method}");
    }
    app.client
        .get(&path_of(&link), None)
        .await
        .assert_status(200);
}

#[actix_web::test]
async fn an_expired_verification_link_does_not_work() {
    let app = spawn_app().await;
    let user = app.register("ann").await;
    let link = verification_link(&app, &user).await;
    expire_account_tokens(&app).await;
    assert_error(&app.client.get(&path_of(&link), None).await, 422, "token");
    let me = app.get("/api/user", Some(&user)).await;
    assert_eq!(me.json()["user"]["emailVerified"], false);
}

#[actix_web::test]
async fn resend_sends_another_link_is_rate_limited_and_refused_once_verified() {
    let app = spawn_app().await;
    let user = app.register("ann").await;
    let first = verification_link(&app, &user).await;
    app.client
        .post("/api/users/verify/resend", None, &json!({}))
        .await
        .assert_status(401);

    let resent = app
        .client
        .post("/api/users/verify/resend", Some(&user.token), &json!({}))
        .await;
    resent.assert_status(202);
    assert!(resent.json()["message"].as_str().is_some());
    // Two mails now, with different links; both work until one is used.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while app.smtp.messages_to(&user.email()).len() < 2 {
        assert!(std::time::Instant::now() < deadline, "no second mail");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let second = app.smtp.messages_to(&user.email())[1]
        .link("/api/users/verify")
        .expect("a link");
    assert_ne!(first, second);

    // Tests allow 3 an hour (VERIFY_RESEND_PER_HOUR).
    for _ in 0..2 {
        app.client
            .post("/api/users/verify/resend", Some(&user.token), &json!({}))
            .await
            .assert_status(202);
    }
    let limited = app
        .client
        .post("/api/users/verify/resend", Some(&user.token), &json!({}))
        .await;
    assert_error(&limited, 429, "body");
    assert!(limited.header("retry-after").is_some());

    app.client
        .get(&path_of(&second), None)
        .await
        .assert_status(200);
    // Verifying spends the other links.
    assert_error(&app.client.get(&path_of(&first), None).await, 422, "token");
    let other = app.register("bob").await;
    verification_link(&app, &other).await;
    let bob_link = app.smtp.messages_to(&other.email())[0]
        .link("/api/users/verify")
        .unwrap();
    app.client
        .get(&path_of(&bob_link), None)
        .await
        .assert_status(200);
    assert_error(
        &app.client
            .post("/api/users/verify/resend", Some(&other.token), &json!({}))
            .await,
        422,
        "email",
    );
}

#[actix_web::test]
async fn a_new_address_is_unverified_and_gets_its_own_link() {
    let app = spawn_app().await;
    let user = app.register("ann").await;
    let old_link = verification_link(&app, &user).await;
    app.client
        .get(&path_of(&old_link), None)
        .await
        .assert_status(200);

    // The same address again changes nothing.
    let same = app
        .client
        .put(
            "/api/user",
            Some(&user.token),
            &json!({"user": {"email": user.email()}}),
        )
        .await;
    assert_eq!(same.json()["user"]["emailVerified"], true);

    let new_address = format!("new-{}", user.email());
    let changed = app
        .client
        .put(
            "/api/user",
            Some(&user.token),
            &json!({"user": {"email": new_address}}),
        )
        .await;
    changed.assert_status(200);
    assert_eq!(changed.json()["user"]["emailVerified"], false);
    let mail = app.smtp.wait_for(&new_address, "Verify").await;
    let link = mail.link("/api/users/verify").unwrap();
    let verified = app.client.get(&path_of(&link), None).await;
    verified.assert_status(200);
    assert_eq!(verified.json()["user"]["email"], new_address.as_str());
}

async fn request_reset(app: &TestApp, email: &str) -> test_support::TestResponse {
    app.client
        .post(
            "/api/users/password-reset",
            None,
            &json!({"user": {"email": email}}),
        )
        .await
}

async fn login(app: &TestApp, email: &str, password: &str) -> u16 {
    app.client
        .post(
            "/api/users/login",
            None,
            &json!({"user": {"email": email, "password": password}}),
        )
        .await
        .status
        .as_u16()
}

#[actix_web::test]
async fn password_reset_end_to_end() {
    let app = spawn_app().await;
    let user = app.register("ann").await;
    // A session from before the reset.
    let before = app
        .client
        .post(
            "/api/users/login",
            None,
            &json!({"user": {"email": user.email(), "password": "password-123"}}),
        )
        .await;
    let old_refresh = before.json()["user"]["refreshToken"]
        .as_str()
        .unwrap()
        .to_string();

    request_reset(&app, &user.email().to_uppercase())
        .await
        .assert_status(202);
    let mail = app.smtp.wait_for(&user.email(), "Reset").await;
    let link = mail.link("/reset-password").expect("a reset link");
    let token = token_of(&link);
    assert!(mail.text.contains(&token));

    let confirmed = app
        .client
        .post(
            "/api/users/password-reset/confirm",
            None,
            &json!({"user": {"token": token, "password": "brand-new-pass"}}),
        )
        .await;
    confirmed.assert_status(200);
    let body = confirmed.json();
    assert_eq!(body["user"]["username"], user.username.as_str());
    let fresh = body["user"]["token"].as_str().expect("a fresh token");
    assert!(body["user"]["refreshToken"].as_str().is_some());
    // The mail reached its owner: the address is proved too.
    assert_eq!(body["user"]["emailVerified"], true);
    app.client
        .get("/api/user", Some(fresh))
        .await
        .assert_status(200);

    assert_eq!(login(&app, &user.email(), "password-123").await, 401);
    assert_eq!(login(&app, &user.email(), "brand-new-pass").await, 200);
    // Every refresh token from before is revoked.
    app.client
        .post(
            "/api/users/refresh",
            None,
            &json!({"user": {"refreshToken": old_refresh}}),
        )
        .await
        .assert_status(401);
    // Single use.
    let again = app
        .client
        .post(
            "/api/users/password-reset/confirm",
            None,
            &json!({"user": {"token": token, "password": "another-pass-1"}}),
        )
        .await;
    assert_error(&again, 422, "token");
    assert_eq!(login(&app, &user.email(), "brand-new-pass").await, 200);
}

#[actix_web::test]
async fn password_reset_tokens_expire_and_are_checked() {
    let app = spawn_app().await;
    let user = app.register("ann").await;
    request_reset(&app, &user.email()).await.assert_status(202);
    let mail = app.smtp.wait_for(&user.email(), "Reset").await;
    let token = token_of(&mail.link("/reset-password").unwrap());

    let confirm = |body: serde_json::Value| {
        let client = &app.client;
        async move {
            client
                .post("/api/users/password-reset/confirm", None, &body)
                .await
        }
    };
    assert_error(&confirm(json!({"user": {}})).await, 422, "token");
    assert_error(
        &confirm(json!({"user": {"token": token}})).await,
        422,
        "password",
    );
    assert_error(
        &confirm(json!({"user": {"token": token, "password": "short"}})).await,
        422,
        "password",
    );
    assert_error(
        &confirm(json!({"user": {"token": "forged", "password": "long-enough-1"}})).await,
        422,
        "token",
    );
    // A verification token is not a reset token.
    let verify = app.smtp.wait_for(&user.email(), "Verify").await;
    let verify_token = token_of(&verify.link("/api/users/verify").unwrap());
    assert_error(
        &confirm(json!({"user": {"token": verify_token, "password": "long-enough-1"}})).await,
        422,
        "token",
    );

    // An hour later.
    expire_account_tokens(&app).await;
    assert_error(
        &confirm(json!({"user": {"token": token, "password": "long-enough-1"}})).await,
        422,
        "token",
    );
    assert_eq!(login(&app, &user.email(), "password-123").await, 200);
}

#[actix_web::test]
async fn password_reset_does_not_tell_which_addresses_exist() {
    // No job may run a statement while one is counted.
    let app = spawn_quiet_app().await;
    let user = app.register("ann").await;
    app.mail_settled().await;
    let nobody = "nobody-here@example.com";

    let before = app.db.statements_run();
    let unknown = request_reset(&app, nobody).await;
    let during_unknown = app.db.statements_run() - before;
    // Its job (a lookup that finds nothing) is done before the next count.
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let before = app.db.statements_run();
    let known = request_reset(&app, &user.email()).await;
    let during_known = app.db.statements_run() - before;

    known.assert_status(202);
    unknown.assert_status(202);
    assert_eq!(known.text, unknown.text, "the same body");
    // The same work on the request path: no database statement either way (the lookup is
    // the job's), so the time does not tell either.
    assert_eq!((during_known, during_unknown), (0, 0));

    app.smtp.wait_for(&user.email(), "Reset").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(app.smtp.messages_to(nobody).is_empty());

    // Malformed input is a 422 either way.
    assert_error(&request_reset(&app, "not-an-address").await, 422, "email");
    let missing = app
        .client
        .post("/api/users/password-reset", None, &json!({"user": {}}))
        .await;
    assert_error(&missing, 422, "email");
}

#[actix_web::test]
async fn password_reset_is_rate_limited_per_address_and_per_client() {
    let app = spawn_app_with(|config| config.password_reset_per_client_per_hour = 9).await;
    let user = app.register("ann").await;
    // Tests allow 3 an hour per address, whether it has an account or not.
    for address in [user.email(), "nobody@example.com".to_string()] {
        for _ in 0..3 {
            request_reset(&app, &address).await.assert_status(202);
        }
        let limited = request_reset(&app, &address).await;
        assert_error(&limited, 429, "body");
        assert!(limited.header("retry-after").is_some());
    }
    // …and 9 requests per client: the 8 above and one more.
    request_reset(&app, "third@example.com")
        .await
        .assert_status(202);
    assert_error(
        &request_reset(&app, "fourth@example.com").await,
        429,
        "body",
    );
}

async fn comment(app: &TestApp, who: &User, slug: &str, body: &str) {
    app.client
        .post(
            &format!("/api/articles/{slug}/comments"),
            Some(&who.token),
            &json!({"comment": {"body": body}}),
        )
        .await
        .assert_status(200);
}

#[actix_web::test]
async fn comments_are_batched_into_one_digest_with_a_working_unsubscribe() {
    let app = spawn_app().await;
    let author = app.register("author").await;
    let reader = app.register("reader").await;
    let article = app.create_article(&author, "Digest me", &[]).await;
    let slug = article["slug"].as_str().unwrap();

    comment(&app, &author, slug, "my own note").await;
    comment(&app, &reader, slug, "first <b>thought</b>").await;
    comment(&app, &reader, slug, "second thought").await;

    let digest = app.smtp.wait_for(&author.email(), "new comments").await;
    assert_eq!(digest.subject, "2 new comments on your articles");
    assert!(digest.text.contains("first <b>thought</b>") && digest.text.contains("second thought"));
    assert!(
        !digest.text.contains("my own note"),
        "no mail for your own comment"
    );
    assert!(digest.text.contains(&format!("/articles/{slug}")));
    assert!(
        digest.html.contains("first &#60;b&#62;thought") && !digest.html.contains("<b>"),
        "{}",
        digest.html
    );
    // One digest for both: nothing more comes after another window.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let digests = |app: &TestApp| {
        app.smtp
            .messages_to(&author.email())
            .into_iter()
            .filter(|m| m.subject.contains("comment"))
            .count()
    };
    assert_eq!(digests(&app), 1);
    // The commenter gets nothing about their own comments.
    assert!(
        app.smtp
            .messages_to(&reader.email())
            .iter()
            .all(|m| !m.subject.contains("comment"))
    );

    // List-Unsubscribe is the same link; one-click POST (RFC 8058) and GET both work.
    let header = digest.header("List-Unsubscribe").expect("List-Unsubscribe");
    let link = digest
        .link("/api/users/unsubscribe")
        .expect("an unsubscribe link");
    assert_eq!(header, format!("<{link}>"));
    assert_eq!(
        digest.header("List-Unsubscribe-Post").as_deref(),
        Some("List-Unsubscribe=One-Click")
    );
    let one_click = app
        .client
        .send(
            app.client
                .request(reqwest::Method::POST, &path_of(&link))
                .header("content-type", "application/x-www-form-urlencoded")
                .body("List-Unsubscribe=One-Click"),
        )
        .await;
    one_click.assert_status(200);
    assert_eq!(one_click.json()["unsubscribed"], true);
    app.client
        .get(&path_of(&link), None)
        .await
        .assert_status(200);

    comment(&app, &reader, slug, "anyone there?").await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(digests(&app), 1, "no digest after unsubscribing");

    // A forged or altered token unsubscribes no one.
    let token = token_of(&link);
    let (id, tag) = token.split_once('.').unwrap();
    let other_id: i64 = id.parse::<i64>().unwrap() + 1;
    for forged in [format!("{other_id}.{tag}"), "1.abc".into(), String::new()] {
        assert_error(
            &app.client
                .get(&format!("/api/users/unsubscribe?token={forged}"), None)
                .await,
            422,
            "token",
        );
    }
}

#[actix_web::test]
async fn a_deleted_comment_is_not_in_the_digest() {
    let app = spawn_app().await;
    let author = app.register("author").await;
    let reader = app.register("reader").await;
    let article = app.create_article(&author, "Second thoughts", &[]).await;
    let slug = article["slug"].as_str().unwrap();
    let posted = app
        .client
        .post(
            &format!("/api/articles/{slug}/comments"),
            Some(&reader.token),
            &json!({"comment": {"body": "regrettable"}}),
        )
        .await;
    let id = posted.json()["comment"]["id"].as_i64().unwrap();
    app.client
        .delete(
            &format!("/api/articles/{slug}/comments/{id}"),
            Some(&reader.token),
        )
        .await
        .assert_status(204);
    comment(&app, &reader, slug, "kept").await;
    let digest = app.smtp.wait_for(&author.email(), "comment").await;
    assert_eq!(digest.subject, "1 new comment on your articles");
    assert!(digest.text.contains("kept") && !digest.text.contains("regrettable"));
}

#[actix_web::test]
async fn mail_queued_while_smtp_is_down_is_delivered_when_it_is_back() {
    let mut app = spawn_app().await;
    app.smtp.stop();
    let started = std::time::Instant::now();
    let user = app.register("ann").await;
    // The request did not wait for SMTP.
    assert!(started.elapsed() < Duration::from_secs(5));

    // Attempts fail (connection refused) and are recorded, not lost.
    outbox_until(
        &app,
        "no failed attempt recorded",
        |(status, attempts, error)| status == "queued" && *attempts >= 2 && error.is_some(),
    )
    .await;

    app.smtp.restart();
    verification_link(&app, &user).await;
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert_eq!(app.smtp.messages_to(&user.email()).len(), 1, "sent once");
    let rows = outbox(&app).await;
    assert_eq!(rows[0].0, "sent");
}

#[actix_web::test]
async fn a_permanent_refusal_fails_at_once_and_can_be_retried_from_the_cli() {
    let app = spawn_app().await;
    app.smtp.reply_to_rcpt(Some((550, "no such mailbox here")));
    let user = app.register("ann").await;
    let rows = outbox_until(&app, "not failed", |(status, ..)| status == "failed").await;
    assert_eq!(rows[0].1, 1, "a 5xx is not retried");
    assert!(rows[0].2.as_deref().unwrap_or_default().contains("550"));

    let listed = crate::process::blog(&app, &["jobs"]);
    assert!(listed.status.success(), "{listed:?}");
    let out = String::from_utf8_lossy(&listed.stdout);
    assert!(
        out.contains("failed") && out.contains("550") && out.contains(&user.email()),
        "{out}"
    );

    app.smtp.reply_to_rcpt(None);
    let retried = crate::process::blog(&app, &["jobs", "retry", "1"]);
    assert!(retried.status.success(), "{retried:?}");
    // The server's workers pick the requeued job up.
    verification_link(&app, &user).await;
    let missing = crate::process::blog(&app, &["jobs", "retry", "999"]);
    assert!(!missing.status.success());
    let bad = crate::process::blog(&app, &["jobs", "retry", "x"]);
    assert!(!bad.status.success());
}

#[actix_web::test]
async fn the_reset_link_opens_a_form_that_sets_the_password() {
    let app = spawn_app().await;
    let user = app.register("ann").await;
    request_reset(&app, &user.email()).await.assert_status(202);
    let mail = app.smtp.wait_for(&user.email(), "Reset").await;
    let link = mail.link("/reset-password").unwrap();
    let token = token_of(&link);

    // Looking at the page (twice, as a link scanner and then the owner) spends nothing.
    for _ in 0..2 {
        let page = app.client.get(&path_of(&link), None).await;
        page.assert_status(200);
        assert!(
            page.text
                .contains(&format!("name=\"token\" value=\"{token}\""))
        );
        assert!(
            page.header("content-security-policy")
                .unwrap()
                .contains("form-action 'self'")
        );
    }
    let submit = |password: &'static str| {
        let request = app
            .client
            .request(reqwest::Method::POST, "/reset-password")
            .header("content-type", "application/x-www-form-urlencoded")
            // Both are URL-safe already (a base64url token, a plain password).
            .body(format!("token={token}&password={password}"));
        app.client.send(request)
    };
    let short = submit("short").await;
    short.assert_status(422);
    assert!(short.text.contains("at least 8 bytes") && short.text.contains(&token));
    submit("a-new-password").await.assert_status(200);
    assert_eq!(login(&app, &user.email(), "a-new-password").await, 200);
    let used = submit("yet-another-one").await;
    used.assert_status(422);
    assert!(used.text.contains("used or has expired"));
}

#[actix_web::test]
#[ignore = "needs TEST_REDIS_URL"]
async fn with_jobs_url_on_redis_mail_is_queued_and_retried_there() {
    let redis = test_support::TestRedis::required();
    let mut app = spawn_app_with(|config| config.jobs.url = Some(redis.url.clone())).await;
    app.smtp.stop();
    let user = app.register("ann").await;
    // Failed attempts reschedule through Redis' delayed set.
    outbox_until(&app, "no retry through Redis", |(_, attempts, _)| {
        *attempts >= 2
    })
    .await;
    app.smtp.restart();
    let link = verification_link(&app, &user).await;
    app.client
        .get(&path_of(&link), None)
        .await
        .assert_status(200);
}

#[actix_web::test]
async fn a_flood_of_comments_makes_one_bounded_digest() {
    let app = spawn_app().await;
    let author = app.register("author").await;
    let reader = app.register("reader").await;
    let article = app.create_article(&author, "Popular", &[]).await;
    let slug = article["slug"].as_str().unwrap();
    for i in 0..53 {
        comment(&app, &reader, slug, &format!("comment number {i}")).await;
    }
    let digest = app.smtp.wait_for(&author.email(), "new comments").await;
    assert_eq!(digest.subject, "53 new comments on your articles");
    assert_eq!(digest.text.matches("comment number").count(), 50);
    assert!(digest.text.contains("…and 3 more."), "{}", digest.text);
}

#[actix_web::test]
async fn links_mailed_to_an_old_address_stop_working_when_it_changes() {
    let app = spawn_app().await;
    let user = app.register("ann").await;
    let verify = verification_link(&app, &user).await;
    request_reset(&app, &user.email()).await.assert_status(202);
    let reset = app.smtp.wait_for(&user.email(), "Reset").await;
    let reset_token = token_of(&reset.link("/reset-password").unwrap());

    let new_address = format!("elsewhere-{}", user.email());
    app.client
        .put(
            "/api/user",
            Some(&user.token),
            &json!({"user": {"email": new_address}}),
        )
        .await
        .assert_status(200);
    // Neither link proves anything about the new address.
    assert_error(&app.client.get(&path_of(&verify), None).await, 422, "token");
    let confirm = app
        .client
        .post(
            "/api/users/password-reset/confirm",
            None,
            &json!({"user": {"token": reset_token, "password": "a-new-password"}}),
        )
        .await;
    assert_error(&confirm, 422, "token");
    let me = app.get("/api/user", Some(&user)).await;
    assert_eq!(me.json()["user"]["emailVerified"], false);
    assert_eq!(login(&app, &new_address, "password-123").await, 200);
}

#[actix_web::test]
async fn switching_addresses_cannot_mail_one_without_limit() {
    let app = spawn_app().await;
    let user = app.register("ann").await;
    let target = format!("target-{}", user.email());
    let other = format!("other-{}", user.email());
    // Tests allow 3 verification mails an hour after the first, per user and per address,
    // and 3 change notices: past those, the change waits (its notice is never skipped).
    let mut statuses = Vec::new();
    for _ in 0..4 {
        for address in [&target, &other] {
            let changed = app
                .client
                .put(
                    "/api/user",
                    Some(&user.token),
                    &json!({"user": {"email": address}}),
                )
                .await;
            if changed.status == 429 {
                assert!(changed.header("retry-after").is_some());
            }
            statuses.push(changed.status.as_u16());
        }
    }
    // The fourth change waits; asking for the address it already has is no change (200).
    assert_eq!(statuses, [200, 200, 200, 429, 200, 429, 200, 429]);
    // Sending the address it already has changes nothing and costs nothing.
    let unchanged = app
        .client
        .put(
            "/api/user",
            Some(&user.token),
            &json!({"user": {"email": target.clone(), "bio": "x"}}),
        )
        .await;
    unchanged.assert_status(200);
    app.mail_settled().await;
    let verify = |address: &str| {
        let mails = app.smtp.messages_to(address);
        let verifications = mails
            .iter()
            .filter(|m| m.subject.contains("Verify"))
            .count();
        (verifications, mails.len() - verifications)
    };
    let (to_target, notices_target) = verify(&target);
    let (to_other, notices_other) = verify(&other);
    let (_, notices_first) = verify(&user.email());
    assert!(to_target + to_other <= 3, "{to_target} + {to_other} mails");
    assert!(to_target >= 1, "the first change is mailed");
    // The old addresses are told of each change, within the same hourly budget.
    let notices = notices_target + notices_other + notices_first;
    assert!((1..=3).contains(&notices), "{notices} change notices");
    assert_eq!(
        notices_first, 1,
        "the owner's address hears of the first change"
    );
}

/// A leaked access token is enough to change the address and the password: the address the
/// account had hears of each change, with when and a reset link that works afterwards.
#[actix_web::test]
async fn the_previous_address_is_told_of_a_new_address_or_password() {
    let app = spawn_app().await;
    let user = app.register("ann").await;
    let changed = app
        .client
        .put(
            "/api/user",
            Some(&user.token),
            &json!({"user": {"password": "a-new-password"}}),
        )
        .await;
    changed.assert_status(200);
    let token = changed.json()["user"]["token"]
        .as_str()
        .expect("token")
        .to_string();
    let notice = app
        .smtp
        .wait_for(&user.email(), "password was changed")
        .await;
    assert!(
        notice.text.contains("its password was changed"),
        "{}",
        notice.text
    );
    assert!(notice.link("/reset-password").is_some(), "{}", notice.text);

    let thief = format!("thief-{}", user.email());
    app.client
        .put(
            "/api/user",
            Some(&token),
            &json!({"user": {"email": thief}}),
        )
        .await
        .assert_status(200);
    let notice = app
        .smtp
        .wait_for(&user.email(), "address was changed")
        .await;
    assert!(notice.text.contains(&thief), "{}", notice.text);
    assert!(
        app.smtp
            .messages_to(&thief)
            .iter()
            .all(|m| !m.subject.contains("changed"))
    );
    // The thief changes the password again: that notice goes to the thief's address, and
    // spends nothing of the owner's.
    let thiefs = app
        .client
        .put(
            "/api/user",
            Some(&token),
            &json!({"user": {"password": "thiefs-password"}}),
        )
        .await;
    thiefs.assert_status(200);
    let thiefs_notice = app.smtp.wait_for(&thief, "password was changed").await;
    // The owner takes the account back with the link mailed to the old address: a new
    // password, the old address back (verified), every session over.
    let link = notice.link("/reset-password").expect("a reset link");
    let taken_back = app
        .client
        .post(
            "/api/users/password-reset/confirm",
            None,
            &json!({"user": {"token": token_of(&link), "password": "owners-again-1"}}),
        )
        .await;
    taken_back.assert_status(200);
    assert_eq!(taken_back.json()["user"]["email"], user.email().as_str());
    assert_eq!(taken_back.json()["user"]["emailVerified"], true);
    let thiefs_token = thiefs.json()["user"]["token"]
        .as_str()
        .expect("token")
        .to_string();
    let thiefs_refresh = thiefs.json()["user"]["refreshToken"]
        .as_str()
        .expect("refresh")
        .to_string();
    app.client
        .post(
            "/api/users/refresh",
            None,
            &json!({"user": {"refreshToken": thiefs_refresh}}),
        )
        .await
        .assert_status(401);
    let _ = thiefs_token;
    // The recovery link mailed to the thief's address is spent with the owner's.
    let thiefs_link = thiefs_notice.link("/reset-password").expect("a link");
    let refused = app
        .client
        .post(
            "/api/users/password-reset/confirm",
            None,
            &json!({"user": {"token": token_of(&thiefs_link), "password": "thief-again-1"}}),
        )
        .await;
    assert_error(&refused, 422, "token");
    assert_eq!(login(&app, &user.email(), "owners-again-1").await, 200);
    // Bio or image changes tell nobody.
    let before = app.smtp.messages_to(&thief).len();
    let fresh = taken_back.json()["user"]["token"]
        .as_str()
        .expect("token")
        .to_string();
    app.client
        .put("/api/user", Some(&fresh), &json!({"user": {"bio": "hi"}}))
        .await
        .assert_status(200);
    actix_web::rt::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(app.smtp.messages_to(&thief).len(), before);
}

/// An account made by another capstone on a shared database has a display name but no handle
/// until its first visit to the blog gives it one; from then on its mail greets the handle,
/// the name every page of the blog shows.
#[actix_web::test]
async fn mail_greets_an_account_from_another_capstone_by_its_blog_handle() {
    let app = spawn_app().await;
    let email = format!("lee{}@example.com", test_support::unique_suffix());
    let address = backend_kit::auth::EmailAddress::parse(&email).unwrap();
    let password = backend_kit::auth::Password::parse("password-123".into()).unwrap();
    let hash = backend_kit::auth::PasswordHasher::new(4)
        .hash_blocking(&password)
        .unwrap();
    app.db
        .run(move |conn| backend_kit::auth::insert_user(conn, "Ann Lee", &address, &hash))
        .await
        .expect("an account as capstone 1 makes it");
    assert_eq!(login(&app, &email, "password-123").await, 200);
    request_reset(&app, &email).await.assert_status(202);
    let mail = app.smtp.wait_for(&email, "password").await;
    assert!(mail.text.starts_with("Hello Ann-Lee,"), "{}", mail.text);
}

/// `/metrics` reads the outbox and the job queue at each scrape: a mail sent shows as sent.
#[actix_web::test]
async fn metrics_show_the_outbox_and_the_job_queue() {
    let app = spawn_app().await;
    let user = app.register("metered").await;
    app.smtp.wait_for(&user.email(), "Verify").await;
    outbox_until(&app, "the verification mail is sent", |row| row.0 == "sent").await;
    let text = app.client.get("/metrics", None).await.text;
    for line in [
        "mail_outbox_messages{state=\"sent\"} 1\n",
        "mail_outbox_messages{state=\"failed\"} 0\n",
        "job_queue_jobs{state=\"failed\"} 0\n",
        "db_pool_max_connections ",
    ] {
        assert!(text.contains(line), "missing {line:?} in:\n{text}");
    }
}
