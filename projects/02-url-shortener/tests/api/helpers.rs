//! `spawn_app()` for the shortener; the plumbing comes from `test-support`.

use std::time::Duration;

use backend_kit::config::Settings;
use backend_kit::secret::Secret;
use serde_json::Value;
use test_support::{TestClient, TestDatabase, TestRedis, TestResponse};
use url_shortener::{Application, Config};

pub struct TestApp {
    pub client: TestClient,
    pub database_url: String,
    /// Owned by the first instance; a second instance on the same database borrows it.
    _database: Option<TestDatabase>,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

pub async fn spawn_app_with(customize: impl FnOnce(&mut Config)) -> TestApp {
    let database = TestDatabase::new();
    let url = database.url().to_string();
    let mut app = start(url, TestRedis::new(), customize).await;
    app._database = Some(database);
    app
}

/// Another instance on the same database (and `redis`, when given): what a load balancer
/// would spread traffic over.
pub async fn start(
    database_url: String,
    redis: Option<TestRedis>,
    customize: impl FnOnce(&mut Config),
) -> TestApp {
    let mut settings = Settings::for_tests("url-shortener", database_url.clone());
    if let Some(redis) = redis {
        settings.redis_url = Some(Secret::new(redis.url));
        settings.redis_prefix = redis.prefix;
    }
    let mut config = Config::for_tests(settings);
    customize(&mut config);
    let app = Application::build(config)
        .await
        .expect("the application builds");
    let port = app.port();
    actix_web::rt::spawn(app.run_until_stopped());
    TestApp {
        client: TestClient::new(port),
        database_url,
        _database: None,
    }
}

impl TestApp {
    pub async fn shorten(&self, body: &Value) -> TestResponse {
        self.client.post("/shorten", None, body).await
    }

    /// Creates a link and returns its code.
    pub async fn create(&self, body: Value) -> String {
        let response = self.shorten(&body).await;
        response.assert_status(201);
        response.json()["shortCode"]
            .as_str()
            .expect("shortCode")
            .to_string()
    }

    /// Follows `/{code}` once (without following the redirect).
    pub async fn visit(&self, code: &str) -> TestResponse {
        self.client.get(&format!("/{code}"), None).await
    }

    /// Polls the stats until `accessCount` reaches `expected` (visits are written in batches
    /// within a second); returns the last stats seen.
    pub async fn wait_for_count(&self, code: &str, expected: i64) -> Value {
        let mut stats = Value::Null;
        for _ in 0..40 {
            stats = self
                .client
                .get(&format!("/shorten/{code}/stats"), None)
                .await
                .json();
            if stats["accessCount"] == expected {
                return stats;
            }
            actix_web::rt::time::sleep(Duration::from_millis(50)).await;
        }
        stats
    }
}
