//! HTTP: accounts under /api, tickets, the checks before the upgrade, rooms and history.

use backend_kit::db::DbError;
use diesel::prelude::*;
use serde_json::json;

use crate::helpers::{Ws, spawn_app, spawn_app_with};

#[actix_web::test]
async fn accounts_live_under_api_with_the_todo_api_bodies() {
    let app = spawn_app().await;
    let email = "ann@example.com";
    let registered = app
        .client
        .post(
            "/api/register",
            None,
            &json!({"name": "Ann", "email": email, "password": "password-123"}),
        )
        .await;
    registered.assert_status(201);
    let body = registered.json();
    assert!(
        body["token"].is_string() && body["refreshToken"].is_string(),
        "{body}"
    );
    let login = app
        .client
        .post(
            "/api/login",
            None,
            &json!({"email": email, "password": "password-123"}),
        )
        .await;
    login.assert_status(200);
    let refresh = login.json()["refreshToken"].as_str().unwrap().to_string();
    app.client
        .post("/api/refresh", None, &json!({"refreshToken": refresh}))
        .await
        .assert_status(200);
    app.client
        .post("/register", None, &json!({}))
        .await
        .assert_status(404);
}

#[actix_web::test]
async fn a_ticket_needs_a_token_and_is_short_lived() {
    let app = spawn_app().await;
    let response = app.client.post("/api/ws-ticket", None, &json!({})).await;
    response.assert_status(401);
    assert!(response.json()["message"].is_string());
    let ann = app.new_user("Ann").await;
    let response = app
        .client
        .post("/api/ws-ticket", Some(&ann.token), &json!({}))
        .await;
    response.assert_status(201);
    let body = response.json();
    assert_eq!(body["expiresIn"], 30);
    assert!(body["ticket"].as_str().unwrap().len() >= 40);
    // Only its hash is stored.
    let ticket = body["ticket"].as_str().unwrap().to_string();
    let stored: Vec<String> = app
        .db
        .run(|conn| {
            chat::db::schema::ws_tickets::table
                .select(chat::db::schema::ws_tickets::hash)
                .load(conn)
                .map_err(DbError::from)
        })
        .await
        .unwrap();
    assert_eq!(stored.len(), 1);
    assert_ne!(stored[0], ticket);
}

#[actix_web::test]
async fn the_upgrade_is_refused_with_401_json_without_a_good_ticket() {
    let app = spawn_app().await;
    for query in ["", "ticket=", "ticket=made-up"] {
        let (status, body) = Ws::refused(&app.ws_url(query), None).await;
        assert_eq!(status, 401, "{query}: {body}");
        let body: serde_json::Value = serde_json::from_str(&body).expect("a JSON body");
        assert!(body["message"].is_string());
    }
    let ann = app.new_user("Ann").await;
    let ticket = app.ticket(&ann).await;
    let url = app.ws_url(&format!("ticket={ticket}"));
    let mut ws = Ws::connect(&url).await;
    ws.join("general").await;
    // Single use.
    assert_eq!(Ws::refused(&url, None).await.0, 401);
    // Expired: 30 s old.
    let ticket = app.ticket(&ann).await;
    app.db
        .run(|conn| {
            use chat::db::schema::ws_tickets::dsl::*;
            diesel::update(ws_tickets)
                .set(expires_at.eq(backend_kit::time::now() - std::time::Duration::from_secs(1)))
                .execute(conn)
                .map_err(DbError::from)
        })
        .await
        .unwrap();
    assert_eq!(
        Ws::refused(&app.ws_url(&format!("ticket={ticket}")), None)
            .await
            .0,
        401
    );
}

#[actix_web::test]
async fn a_plain_get_does_not_spend_the_ticket() {
    let app = spawn_app().await;
    let ann = app.new_user("Ann").await;
    let ticket = app.ticket(&ann).await;
    app.client
        .get(&format!("/ws?ticket={ticket}"), None)
        .await
        .assert_status(400);
    Ws::connect(&app.ws_url(&format!("ticket={ticket}"))).await;
}

#[actix_web::test]
async fn other_sites_cannot_open_a_socket() {
    let app = spawn_app_with(|c| c.allowed_origins = vec!["https://chat.example.com".into()]).await;
    let url = app.ws_url("guest=bob");
    let (status, body) = Ws::refused(&url, Some("https://evil.example")).await;
    assert_eq!(status, 403, "{body}");
    assert!(serde_json::from_str::<serde_json::Value>(&body).unwrap()["message"].is_string());
    // The server's own origin, a listed one, and none at all (not a browser) are fine.
    for origin in [
        format!("http://127.0.0.1:{}", app.port),
        "https://chat.example.com".into(),
    ] {
        let mut request =
            tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(
                url.as_str(),
            )
            .unwrap();
        request
            .headers_mut()
            .insert("Origin", origin.parse().unwrap());
        tokio_tungstenite::connect_async(request)
            .await
            .unwrap_or_else(|e| panic!("{origin}: {e}"));
    }
    // A port is part of the origin.
    let other_port = format!("http://127.0.0.1:{}", app.port + 1);
    assert_eq!(Ws::refused(&url, Some(&other_port)).await.0, 403);
}

#[actix_web::test]
async fn guests_cannot_take_an_accounts_name_and_can_be_turned_off() {
    let app = spawn_app().await;
    app.new_user("Ann").await;
    let (status, body) = Ws::refused(&app.ws_url("guest=ANN"), None).await;
    assert_eq!(status, 409, "{body}");
    // Names that read as an account's are its too: digits for letters, trailing dots.
    app.new_user("Dora").await;
    for alike in ["D0ra", "ann.", "d.o.r.a", "D0RA-"] {
        let (status, body) = Ws::refused(&app.ws_url(&format!("guest={alike}")), None).await;
        assert_eq!(status, 409, "{alike}: {body}");
    }
    for bad in ["", "a%20b", "x%00", &"x".repeat(33)] {
        assert_eq!(
            Ws::refused(&app.ws_url(&format!("guest={bad}")), None)
                .await
                .0,
            400,
            "{bad}"
        );
    }
    let mut bob = app.guest("bob").await;
    let joined = bob.join("general").await;
    assert_eq!(joined["online"], json!(["bob"]));

    let closed = spawn_app_with(|c| c.allow_guests = false).await;
    assert_eq!(Ws::refused(&closed.ws_url("guest=bob"), None).await.0, 401);
}

#[actix_web::test]
async fn rooms_are_listed_created_and_checked() {
    let app = spawn_app().await;
    let rooms = app.client.get("/api/rooms", None).await;
    rooms.assert_status(200);
    assert_eq!(
        rooms.json(),
        json!([{"name": "general", "online": 0, "lastSeq": 0}])
    );
    let ann = app.new_user("Ann").await;
    app.client
        .post("/api/rooms", None, &json!({"name": "rust"}))
        .await
        .assert_status(401);
    let created = app
        .client
        .post("/api/rooms", Some(&ann.token), &json!({"name": "rust"}))
        .await;
    created.assert_status(201);
    assert_eq!(created.json()["name"], "rust");
    app.client
        .post("/api/rooms", Some(&ann.token), &json!({"name": "rust"}))
        .await
        .assert_status(409);
    for bad in [
        json!({"name": "Rust"}),
        json!({"name": ""}),
        json!({"name": "a b"}),
        json!({"name": "x".repeat(33)}),
        json!({}),
    ] {
        let response = app.client.post("/api/rooms", Some(&ann.token), &bad).await;
        response.assert_status(400);
        assert!(
            response.json()["errors"]["name"].is_array(),
            "{}",
            response.text
        );
    }
    let mut ws = app.guest("bob").await;
    ws.join("rust").await;
    ws.say("rust", "hello").await;
    let rooms = app.client.get("/api/rooms", None).await.json();
    assert_eq!(
        rooms,
        json!([{"name": "general", "online": 0, "lastSeq": 0}, {"name": "rust", "online": 1, "lastSeq": 1}])
    );
}

#[actix_web::test]
async fn history_pages_backwards_oldest_first() {
    let app = spawn_app().await;
    let ann = app.new_user("Ann").await;
    let mut ws = app.connect(&ann).await;
    ws.join("general").await;
    for i in 1..=7 {
        ws.say("general", &format!("m{i}")).await;
    }
    let texts = |page: Vec<serde_json::Value>| -> Vec<i64> {
        page.iter().map(|m| m["seq"].as_i64().unwrap()).collect()
    };
    assert_eq!(
        texts(app.history(&ann, "general", "").await),
        vec![1, 2, 3, 4, 5, 6, 7]
    );
    assert_eq!(
        texts(app.history(&ann, "general", "?limit=3").await),
        vec![5, 6, 7]
    );
    assert_eq!(
        texts(app.history(&ann, "general", "?before=5&limit=3").await),
        vec![2, 3, 4]
    );
    assert_eq!(
        texts(app.history(&ann, "general", "?before=2").await),
        vec![1]
    );
    let first = &app.history(&ann, "general", "?limit=1").await[0];
    assert_eq!(first["from"], "Ann");
    assert_eq!(first["room"], "general");
    assert!(first["sentAt"].as_str().unwrap().ends_with('Z'));
    assert_eq!(first["editedAt"], serde_json::Value::Null);
    assert_eq!(first["deleted"], false);

    app.client
        .get("/api/rooms/general/messages", None)
        .await
        .assert_status(401);
    app.client
        .get("/api/rooms/nope/messages", Some(&ann.token))
        .await
        .assert_status(404);
    for bad in [
        "?limit=0",
        "?limit=101",
        "?limit=x",
        "?before=0",
        "?before=-1",
    ] {
        app.client
            .get(
                &format!("/api/rooms/general/messages{bad}"),
                Some(&ann.token),
            )
            .await
            .assert_status(400);
    }
}

#[actix_web::test]
async fn the_client_the_schema_and_the_docs_are_served() {
    let app = spawn_app().await;
    let page = app.client.get("/", None).await;
    page.assert_status(200);
    assert!(
        page.header("content-type")
            .unwrap()
            .starts_with("text/html")
    );
    assert!(page.text.contains("app.js"));
    app.client.get("/app.js", None).await.assert_status(200);
    let schema = app.client.get("/protocol.json", None).await;
    schema.assert_status(200);
    assert_eq!(
        schema.json()["$schema"],
        "https://json-schema.org/draft/2020-12/schema"
    );
    let doc = app.client.get("/openapi.json", None).await.json();
    for path in [
        "/api/register",
        "/api/login",
        "/api/ws-ticket",
        "/api/rooms",
        "/api/rooms/{name}/messages",
        "/ws",
    ] {
        assert!(
            doc["paths"][path].is_object(),
            "{path} missing from the OpenAPI document"
        );
    }
    app.client.get("/health", None).await.assert_status(200);
    app.client.get("/ready", None).await.assert_status(200);
    app.client
        .delete("/api/rooms", None)
        .await
        .assert_status(405);
}

/// The room list is paged by name (keyset), at most 100 a page, with online counts.
#[actix_web::test]
async fn rooms_are_listed_a_page_at_a_time() {
    let app = spawn_app().await;
    app.db
        .run(|conn| {
            let values: Vec<String> = (0..120)
                .map(|i| format!("('room-{i:03}', CURRENT_TIMESTAMP)"))
                .collect();
            diesel::sql_query(format!(
                "INSERT INTO rooms (name, created_at) VALUES {}",
                values.join(", ")
            ))
            .execute(conn)
            .map_err(DbError::from)
        })
        .await
        .expect("rooms");
    let mut guest = app.guest("counted").await;
    guest.join("room-050").await;

    let first = app.client.get("/api/rooms", None).await;
    first.assert_status(200);
    let page = first.json();
    let page = page.as_array().expect("array");
    assert_eq!(page.len(), 100);
    assert_eq!(page[0]["name"], "general");
    assert_eq!(page[99]["name"], "room-098");
    assert_eq!(page[51]["name"], "room-050");
    assert_eq!(page[51]["online"], 1);
    assert_eq!(
        first.header("link"),
        Some("</api/rooms?after=room-098&limit=100>; rel=\"next\"")
    );
    let last = app
        .client
        .get("/api/rooms?after=room-098&limit=100", None)
        .await;
    last.assert_status(200);
    let names: Vec<String> = last
        .json()
        .as_array()
        .expect("array")
        .iter()
        .map(|r| r["name"].as_str().expect("name").to_string())
        .collect();
    assert_eq!(
        names,
        [
            "room-099", "room-100", "room-101", "room-102", "room-103", "room-104", "room-105",
            "room-106", "room-107", "room-108", "room-109", "room-110", "room-111", "room-112",
            "room-113", "room-114", "room-115", "room-116", "room-117", "room-118", "room-119"
        ]
    );
    assert_eq!(last.header("link"), None, "no page after the last");
    let two = app.client.get("/api/rooms?limit=2", None).await.json();
    assert_eq!(two.as_array().map(Vec::len), Some(2));
    for bad in ["0", "101", "x", "-1"] {
        let refused = app
            .client
            .get(&format!("/api/rooms?limit={bad}"), None)
            .await;
        refused.assert_status(400);
        assert!(refused.json()["errors"]["limit"].is_array(), "{bad}");
    }
}

/// A route missing from `openapi.rs` fails here: the route table actix built from
/// `routes::configure` against the served document.
#[actix_web::test]
async fn every_route_is_in_the_openapi_document() {
    let settings = backend_kit::config::Settings::for_tests("chat", String::new());
    use backend_kit::rate_limit::RateLimiter;
    let limiter = RateLimiter::per_minute("auth", 10, None, &settings);
    let routes = test_support::routes::of(|cfg| chat::routes::configure(cfg, &limiter)).await;
    assert!(routes.iter().any(|r| r == "/api/rooms"), "{routes:?}");
    let openapi = serde_json::to_value(chat::openapi::document()).unwrap();
    // The browser client's page and files, and the WebSocket protocol's own JSON Schema.
    let not_api = ["/", "/app.js", "/style.css", "/protocol.json"];
    let missing = test_support::routes::undocumented(&routes, &openapi, &not_api);
    assert!(
        missing.is_empty(),
        "routes not in the OpenAPI document: {missing:?}"
    );
}

/// `/metrics` counts this instance's WebSockets and the frames the hub wrote to them.
#[actix_web::test]
async fn metrics_count_connections_and_frames_sent() {
    let app = spawn_app().await;
    let scrape = || async { app.client.get("/metrics", None).await.text };
    assert!(scrape().await.contains("chat_connections 0\n"));
    let mut ann = app.guest("ann").await;
    ann.join("general").await;
    let mut bob = app.guest("bob").await;
    bob.join("general").await;
    ann.expect("presence").await;
    let text = scrape().await;
    assert!(text.contains("chat_connections 2\n"), "{text}");
    let frames: u64 = text
        .lines()
        .find_map(|line| line.strip_prefix("chat_frames_sent_total "))
        .expect("chat_frames_sent_total")
        .parse()
        .expect("a number");
    // What the hub delivered (replies such as `joined` go straight to their socket): at least
    // bob's presence, to ann.
    assert!(frames >= 1, "{text}");
    for line in [
        "mail_outbox_messages{state=\"queued\"} 0\n",
        "db_pool_busy 0\n",
    ] {
        assert!(text.contains(line), "missing {line:?} in:\n{text}");
    }
}
