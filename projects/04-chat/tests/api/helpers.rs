//! `spawn_app()`, a WebSocket test client, and one helper per common step.

use std::time::Duration;

use backend_kit::config::Settings;
use backend_kit::db::Database;
use chat::{Application, Config};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use test_support::smtp::SmtpServer;
use test_support::{TestClient, TestDatabase, TestRedis, unique_suffix};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

pub struct TestApp {
    pub client: TestClient,
    pub port: u16,
    pub db: Database,
    pub smtp: SmtpServer,
    pub database: TestDatabase,
    pub redis: Option<TestRedis>,
    pub hub: std::sync::Arc<chat::hub::Hub>,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

pub async fn spawn_app_with(change: impl FnOnce(&mut Config)) -> TestApp {
    let database = TestDatabase::new();
    let redis = TestRedis::new();
    let smtp = SmtpServer::start();
    let (port, db, _, hub) = start(database.url(), redis.as_ref(), Some(smtp.url()), change).await;
    TestApp {
        client: TestClient::new(port),
        port,
        db,
        smtp,
        database,
        redis,
        hub,
    }
}

async fn start(
    database_url: &str,
    redis: Option<&TestRedis>,
    smtp_url: Option<String>,
    change: impl FnOnce(&mut Config),
) -> (
    u16,
    Database,
    actix_web::dev::ServerHandle,
    std::sync::Arc<chat::hub::Hub>,
) {
    let mut settings = Settings::for_tests("chat", database_url.to_string());
    if let Some(redis) = redis {
        redis.configure(&mut settings);
    }
    if std::env::var_os("TEST_LOG").is_some() {
        settings.log_filter = "info".into();
        // Kept for the whole test run: its drop would stop the log writer.
        std::mem::forget(backend_kit::http::telemetry::init(&settings));
    }
    let mut config = Config::for_tests(settings, smtp_url, std::env::temp_dir());
    change(&mut config);
    let app = Application::build(config)
        .await
        .expect("the application builds");
    let (port, db, handle, hub) = (app.port(), app.database().clone(), app.handle(), app.hub());
    actix_web::rt::spawn(app.run_until_stopped());
    (port, db, handle, hub)
}

/// A logged-in account.
pub struct Session {
    pub token: String,
    pub email: String,
}

impl TestApp {
    /// A second server on the same database, Redis and mail server (what scaling out is).
    pub async fn second_instance(&self) -> TestApp2 {
        let smtp = Some(self.smtp.url());
        let (port, _, _, _) = start(self.database.url(), self.redis.as_ref(), smtp, |_| {}).await;
        TestApp2 { port }
    }

    /// A second server that reaches Redis at `redis_url` instead (through a proxy a test can
    /// cut or stall).
    pub async fn second_instance_via(&self, redis_url: &str) -> TestApp2 {
        let mut redis = self
            .redis
            .clone()
            .expect("a second instance via Redis needs Redis");
        redis.url = redis_url.to_string();
        let smtp = Some(self.smtp.url());
        let (port, _, _, _) = start(self.database.url(), Some(&redis), smtp, |_| {}).await;
        TestApp2 { port }
    }

    pub async fn new_user(&self, name: &str) -> Session {
        let email = format!(
            "{}-{}@example.com",
            name.to_lowercase().replace(' ', "-"),
            unique_suffix()
        );
        let response = self
            .client
            .post(
                "/api/register",
                None,
                &json!({"name": name, "email": email, "password": "password-123"}),
            )
            .await;
        response.assert_status(201);
        Session {
            token: response.json()["token"]
                .as_str()
                .expect("token")
                .to_string(),
            email,
        }
    }

    pub async fn ticket(&self, session: &Session) -> String {
        let response = self
            .client
            .post("/api/ws-ticket", Some(&session.token), &json!({}))
            .await;
        response.assert_status(201);
        response.json()["ticket"]
            .as_str()
            .expect("ticket")
            .to_string()
    }

    pub fn ws_url(&self, query: &str) -> String {
        format!("ws://127.0.0.1:{}/ws?{query}", self.port)
    }

    pub async fn connect(&self, session: &Session) -> Ws {
        let ticket = self.ticket(session).await;
        Ws::connect(&self.ws_url(&format!("ticket={ticket}"))).await
    }

    pub async fn guest(&self, name: &str) -> Ws {
        Ws::connect(&self.ws_url(&format!("guest={name}"))).await
    }

    pub async fn create_room(&self, session: &Session, name: &str) {
        self.client
            .post("/api/rooms", Some(&session.token), &json!({"name": name}))
            .await
            .assert_status(201);
    }

    pub async fn history(&self, session: &Session, room: &str, query: &str) -> Vec<Value> {
        let response = self
            .client
            .get(
                &format!("/api/rooms/{room}/messages{query}"),
                Some(&session.token),
            )
            .await;
        response.assert_status(200);
        response.json()["messages"]
            .as_array()
            .expect("messages")
            .clone()
    }
}

pub struct TestApp2 {
    pub port: u16,
}

impl TestApp2 {
    pub async fn guest(&self, name: &str) -> Ws {
        Ws::connect(&format!("ws://127.0.0.1:{}/ws?guest={name}", self.port)).await
    }
}

type Stream =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A WebSocket client that speaks JSON frames and fails a test with what it got.
pub struct Ws {
    pub inner: Stream,
}

/// How long a test waits for a frame it expects.
pub const WAIT: Duration = Duration::from_secs(10);

impl Ws {
    pub async fn connect(url: &str) -> Ws {
        let (inner, _) = tokio_tungstenite::connect_async(url)
            .await
            .unwrap_or_else(|e| panic!("connect {url}: {e}"));
        Ws { inner }
    }

    /// The HTTP status a refused upgrade got, and its body.
    pub async fn refused(url: &str, origin: Option<&str>) -> (u16, String) {
        let mut request = url.into_client_request().expect("a valid URL");
        if let Some(origin) = origin {
            request
                .headers_mut()
                .insert("Origin", origin.parse().expect("header"));
        }
        match tokio_tungstenite::connect_async(request).await {
            Ok(_) => panic!("{url} was accepted"),
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => (
                response.status().as_u16(),
                response
                    .body()
                    .as_ref()
                    .map(|b| String::from_utf8_lossy(b).into_owned())
                    .unwrap_or_default(),
            ),
            Err(e) => panic!("{url}: {e}"),
        }
    }

    pub async fn send(&mut self, frame: Value) {
        self.inner
            .send(Message::text(frame.to_string()))
            .await
            .expect("send a frame");
    }

    pub async fn send_raw(&mut self, message: Message) {
        self.inner.send(message).await.expect("send a frame");
    }

    /// The next JSON frame (pings are answered by the library).
    pub async fn recv(&mut self) -> Value {
        loop {
            let next = tokio::time::timeout(WAIT, self.inner.next())
                .await
                .expect("a frame within 10 s");
            match next {
                Some(Ok(Message::Text(text))) => {
                    return serde_json::from_str(&text).expect("a JSON frame");
                }
                Some(Ok(Message::Close(reason))) => panic!("closed: {reason:?}"),
                Some(Ok(_)) => continue,
                other => panic!("connection ended: {other:?}"),
            }
        }
    }

    /// The next frame of type `kind`, skipping frames of other types (but not errors).
    pub async fn expect(&mut self, kind: &str) -> Value {
        loop {
            let frame = self.recv().await;
            if frame["type"] == kind {
                return frame;
            }
            assert!(
                frame["type"] != "error",
                "expected a {kind} frame, got {frame}"
            );
        }
    }

    /// No frame arrives within `within` but typing notices and users coming online.
    pub async fn silent(&mut self, within: Duration) {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            match tokio::time::timeout_at(deadline, self.inner.next()).await {
                Err(_) => return,
                Ok(Some(Ok(Message::Text(text)))) => {
                    let frame: Value = serde_json::from_str(&text).expect("JSON");
                    let online = frame["type"] == "presence" && frame["status"] == "online";
                    assert!(online || frame["type"] == "typing", "unexpected {frame}");
                }
                Ok(Some(Ok(_))) => {}
                Ok(other) => panic!("connection ended: {other:?}"),
            }
        }
    }

    /// Reads (and so answers pings) for `within`, ignoring what arrives.
    pub async fn drain(&mut self, within: Duration) {
        let deadline = tokio::time::Instant::now() + within;
        while let Ok(Some(Ok(_))) = tokio::time::timeout_at(deadline, self.inner.next()).await {}
    }

    /// Waits for the server's close frame; its code. Frames before it are skipped.
    pub async fn closed(&mut self) -> u16 {
        loop {
            let next = tokio::time::timeout(Duration::from_secs(30), self.inner.next())
                .await
                .expect("closed within 30 s");
            match next {
                Some(Ok(Message::Close(Some(reason)))) => return reason.code.into(),
                Some(Ok(Message::Close(None))) => return 1005,
                Some(Ok(_)) => continue,
                other => panic!("ended without a close frame: {other:?}"),
            }
        }
    }

    pub async fn join(&mut self, room: &str) -> Value {
        self.send(json!({"type": "join", "room": room})).await;
        self.expect("joined").await
    }

    pub async fn join_from(&mut self, room: &str, last_seq: i64) -> Value {
        self.send(json!({"type": "join", "room": room, "lastSeq": last_seq}))
            .await;
        self.expect("joined").await
    }

    /// Sends a message and waits for its ack; its `seq`.
    pub async fn say(&mut self, room: &str, text: &str) -> i64 {
        let client_id = unique_suffix();
        self.send(json!({"type": "send", "room": room, "text": text, "clientId": client_id}))
            .await;
        loop {
            let frame = self.recv().await;
            if frame["type"] == "ack" && frame["clientId"] == client_id.as_str() {
                return frame["seq"].as_i64().expect("seq");
            }
            assert!(frame["type"] != "error", "send failed: {frame}");
        }
    }

    /// The texts of the next `n` message frames, with their seqs.
    pub async fn messages(&mut self, n: usize) -> Vec<(i64, String)> {
        let mut found = Vec::new();
        while found.len() < n {
            let frame = self.recv().await;
            if frame["type"] == "message" {
                found.push((
                    frame["seq"].as_i64().expect("seq"),
                    frame["text"].as_str().expect("text").to_string(),
                ));
            }
        }
        found
    }
}
