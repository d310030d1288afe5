//! `spawn_app()` for the blog and one typed helper per common step; the plumbing comes from
//! `test-support`.

use backend_kit::config::Settings;
use backend_kit::db::Database;
use blog::{Application, Config};
use serde_json::{Value, json};
use test_support::smtp::SmtpServer;
use test_support::{TestClient, TestDatabase, TestRedis, TestResponse, unique_suffix};

pub struct TestApp {
    pub client: TestClient,
    /// The server's own database handle: `statements_run()` counts its queries.
    pub db: Database,
    /// The SMTP server the app sends to (real SMTP over TCP).
    pub smtp: SmtpServer,
    pub database: TestDatabase,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// [`spawn_app`] with the test's own changes to the configuration.
pub async fn spawn_app_with(change: impl FnOnce(&mut Config)) -> TestApp {
    let database = TestDatabase::new();
    let smtp = SmtpServer::start();
    let mut settings = Settings::for_tests("blog", database.url().to_string());
    if let Some(redis) = TestRedis::new() {
        redis.configure(&mut settings);
    }
    if std::env::var_os("TEST_LOG").is_some() {
        // Kept for the whole test run: its drop would stop the log writer.
        std::mem::forget(backend_kit::http::telemetry::init(&settings));
    }
    let mut config = Config::for_tests(settings, Some(smtp.url()), std::env::temp_dir());
    change(&mut config);
    let app = Application::build(config)
        .await
        .expect("the application builds");
    let port = app.port();
    let db = app.database().clone();
    actix_web::rt::spawn(app.run_until_stopped());
    TestApp {
        client: TestClient::new(port).with_auth_scheme("Token"),
        db,
        smtp,
        database,
    }
}

/// [`spawn_app`] for tests that count statements: the mail and digest schedules never fire,
/// and [`TestApp::mail_settled`] waits out the mail jobs, so that only requests use the
/// database while a test counts.
pub async fn spawn_quiet_app() -> TestApp {
    spawn_app_with(|config| {
        config.digest_schedule = NEVER.into();
        config.mail.sweep_schedule = NEVER.into();
    })
    .await
}

/// A cron schedule that does not fire in a test's lifetime (midnight on 1 January).
const NEVER: &str = "0 0 0 1 1 *";

impl TestApp {
    /// Waits until every mail queued so far is sent (at most 20 s).
    pub async fn mail_settled(&self) {
        use backend_kit::mail::outbox::mail_outbox;
        use diesel::prelude::*;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        loop {
            let unsent: i64 = self
                .db
                .run(|conn| {
                    mail_outbox::table
                        .filter(mail_outbox::status.ne("sent"))
                        .count()
                        .get_result(conn)
                        .map_err(backend_kit::db::DbError::from)
                })
                .await
                .expect("count the outbox");
            if unsent == 0 {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{unsent} mails unsent"
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }
}

pub use test_support::smtp::{path_of, token_of};

/// A registered user: its handle and access token.
pub struct User {
    pub username: String,
    pub token: String,
}

impl User {
    /// The address `register` gave it.
    pub fn email(&self) -> String {
        format!("{}@example.com", self.username)
    }
}

impl TestApp {
    pub async fn register(&self, prefix: &str) -> User {
        let username = format!("{prefix}_{}", unique_suffix());
        let response = self
            .client
            .post(
                "/api/users",
                None,
                &json!({"user": {"username": username, "email": format!("{username}@example.com"), "password": "password-123"}}),
            )
            .await;
        response.assert_status(201);
        let token = response.json()["user"]["token"]
            .as_str()
            .expect("token")
            .to_string();
        User { username, token }
    }

    pub async fn create_article(&self, author: &User, title: &str, tags: &[&str]) -> Value {
        let response = self.post_article(author, title, tags).await;
        response.assert_status(201);
        response.json()["article"].clone()
    }

    pub async fn post_article(&self, author: &User, title: &str, tags: &[&str]) -> TestResponse {
        self.client
            .post(
                "/api/articles",
                Some(&author.token),
                &json!({"article": {"title": title, "description": "about it", "body": "Some *Markdown*.", "tagList": tags}}),
            )
            .await
    }

    pub async fn get(&self, path: &str, user: Option<&User>) -> TestResponse {
        self.client.get(path, user.map(|u| u.token.as_str())).await
    }
}

/// Asserts a RealWorld error: the status, and `{"errors": {field: [..]}}` naming `field`.
pub fn assert_error(response: &TestResponse, status: u16, field: &str) {
    response.assert_status(status);
    let errors = &response.json()["errors"];
    assert!(
        errors[field].as_array().is_some_and(|a| !a.is_empty()),
        "expected errors.{field} in {}",
        response.text
    );
}

/// The slugs of a list answer, in order.
pub fn slugs(list: &Value) -> Vec<String> {
    list["articles"]
        .as_array()
        .expect("articles")
        .iter()
        .map(|a| a["slug"].as_str().expect("slug").to_string())
        .collect()
}
