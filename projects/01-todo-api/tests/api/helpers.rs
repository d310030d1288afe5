//! `spawn_app()` and a `TestApp` with one helper per common step. The database, Redis and
//! HTTP client plumbing comes from the shared `test-support` crate.

use backend_kit::config::Settings;
use serde_json::{Value, json};
use test_support::{TestClient, TestDatabase, TestRedis, TestResponse, unique_suffix};
use todo_api::{Application, Config};

pub struct TestApp {
    pub client: TestClient,
    pub settings: Settings,
    _database: TestDatabase,
}

/// A logged-in user's tokens.
pub struct Session {
    pub token: String,
    pub refresh_token: String,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Like [`spawn_app`], after `customize` has changed the configuration.
pub async fn spawn_app_with(customize: impl FnOnce(&mut Config)) -> TestApp {
    let database = TestDatabase::new();
    let mut settings = Settings::for_tests("todo-api", database.url().to_string());
    if let Some(redis) = TestRedis::new() {
        redis.configure(&mut settings);
    }
    let mut config = Config {
        settings,
        // High enough that ordinary tests never hit it; the rate-limit tests lower it.
        auth_rate_limit_per_minute: 1_000,
    };
    customize(&mut config);
    let settings = config.settings.clone();
    let app = Application::build(config)
        .await
        .expect("the application builds");
    let port = app.port();
    actix_web::rt::spawn(app.run_until_stopped());
    TestApp {
        client: TestClient::new(port),
        settings,
        _database: database,
    }
}

impl TestApp {
    pub async fn register(&self, email: &str, password: &str) -> TestResponse {
        self.client
            .post(
                "/register",
                None,
                &json!({ "name": "Test User", "email": email, "password": password }),
            )
            .await
    }

    /// Registers a new user with a unique e-mail and returns its session.
    pub async fn new_user(&self) -> Session {
        let response = self
            .register(
                &format!("user-{}@example.com", unique_suffix()),
                "password-123",
            )
            .await;
        response.assert_status(201);
        let body = response.json();
        Session {
            token: body["token"].as_str().expect("token").to_string(),
            refresh_token: body["refreshToken"]
                .as_str()
                .expect("refreshToken")
                .to_string(),
        }
    }

    pub async fn create_todo(&self, token: &str, body: Value) -> Value {
        let response = self.client.post("/todos", Some(token), &body).await;
        response.assert_status(201);
        response.json()
    }
}
