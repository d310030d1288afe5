//! `spawn_app()` for the shortener; the plumbing comes from `test-support`.

use std::time::Duration;

use backend_kit::config::Settings;
use diesel::RunQueryDsl;
use serde_json::Value;
use serde_json::json;
use test_support::{TestClient, TestDatabase, TestRedis, TestResponse, unique_suffix};
use url_shortener::{Application, Config, CrashHandle};

pub struct TestApp {
    pub client: TestClient,
    /// The gRPC port, when the test asked for gRPC (`config.grpc_port = Some(0)`).
    pub grpc_port: Option<u16>,
    pub database_url: String,
    crash: Option<CrashHandle>,
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
        redis.configure(&mut settings);
    }
    let mut config = Config::for_tests(settings);
    customize(&mut config);
    let app = Application::build(config)
        .await
        .expect("the application builds");
    let port = app.port();
    let grpc_port = app.grpc_port();
    let crash = app.crash_handle();
    actix_web::rt::spawn(app.run_until_stopped());
    TestApp {
        client: TestClient::new(port),
        grpc_port,
        database_url,
        crash: Some(crash),
        _database: None,
    }
}

/// Runs SQL straight on a test database, behind the service's back.
pub fn execute_sql(database_url: &str, sql: &str) {
    let db = backend_kit::db::DatabaseUrl::parse(database_url).expect("url");
    let mut conn = db.connect().expect("connect");
    diesel::sql_query(sql).execute(&mut conn).expect(sql);
}

/// Runs a `SELECT COUNT(*) AS n …` straight on a test database.
pub fn count(database_url: &str, sql: &str) -> i64 {
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let db = backend_kit::db::DatabaseUrl::parse(database_url).expect("url");
    let mut conn = db.connect().expect("connect");
    diesel::sql_query(sql)
        .get_result::<Count>(&mut conn)
        .expect(sql)
        .n
}

pub fn is_postgres(database_url: &str) -> bool {
    database_url.starts_with("postgres")
}

/// Registers a fresh user and returns its access token.
pub async fn token(app: &TestApp) -> String {
    let email = format!("u{}@example.com", unique_suffix());
    let response = app
        .client
        .post(
            "/register",
            None,
            &json!({"name": "Owner", "email": email, "password": "password-123"}),
        )
        .await;
    response.assert_status(201);
    response.json()["token"]
        .as_str()
        .expect("token")
        .to_string()
}

impl TestApp {
    /// One run of the maintenance job (roll-up, expiry marking, report retention), now,
    /// instead of waiting for its schedule. Reports older than `import_retention` go.
    pub async fn run_maintenance(&self, import_retention: Duration) {
        let settings = Settings::for_tests("url-shortener", self.database_url.clone());
        let db = backend_kit::db::Database::open(&settings, url_shortener::db::migrations)
            .await
            .expect("database");
        // The server's own cache is not this one: tests read what the step wrote through the
        // database-backed endpoints.
        let cache = url_shortener::link_cache::LinkCache::new(
            url_shortener::cache::Cache::local(10),
            Duration::ZERO,
            Duration::ZERO,
        );
        url_shortener::jobs::maintenance::run(db, cache, import_retention)
            .await
            .expect("maintenance runs");
    }

    /// Stops the server and its job workers at once, as `kill -9` would. The database (and
    /// the job queue in it) stays for the next instance.
    pub async fn crash(&mut self) {
        self.crash.take().expect("not crashed yet").crash().await;
    }

    /// Uploads a CSV to `POST /shorten/import`.
    pub async fn import(&self, csv: &str, token: Option<&str>) -> TestResponse {
        let mut request = self
            .client
            .request(reqwest::Method::POST, "/shorten/import")
            .header("content-type", "text/csv")
            .body(csv.to_string());
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        self.client.send(request).await
    }

    /// Polls `GET /jobs/{id}` as `token`'s user until `done` says so (at most `secs`
    /// seconds); returns the job.
    pub async fn wait_for_job(
        &self,
        id: &str,
        token: &str,
        secs: u64,
        done: impl Fn(&Value) -> bool,
    ) -> Value {
        let deadline = std::time::Instant::now() + Duration::from_secs(secs);
        loop {
            let job = self
                .client
                .get(&format!("/jobs/{id}"), Some(token))
                .await
                .json();
            if done(&job) || std::time::Instant::now() > deadline {
                return job;
            }
            actix_web::rt::time::sleep(Duration::from_millis(20)).await;
        }
    }

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

    /// Creates a link as `token`'s user (it owns it) and returns its code.
    pub async fn create_as(&self, token: &str, body: Value) -> String {
        let response = self.client.post("/shorten", Some(token), &body).await;
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
