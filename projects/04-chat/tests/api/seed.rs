//! `chat seed`: the demo account can log in and read the seeded rooms' history through the
//! API; a second seed is refused instead of mixing demo data into real data.

use backend_kit::config::Settings;
use chat::seed::{DEMO_EMAIL, seed};
use serde_json::json;

use crate::helpers::{Session, spawn_app};

#[actix_web::test]
async fn seed_fills_an_empty_database_once_with_rooms_and_a_conversation() {
    let app = spawn_app().await;
    // The test server's settings (the bcrypt cost is what `seed` reads).
    let settings = Settings::for_tests("chat", app.database.url().to_string());
    let seeded = seed(&settings, &app.db, None).await.expect("seed");
    assert_eq!((seeded.users, seeded.rooms, seeded.messages), (4, 3, 40));
    assert_eq!(
        seeded.password.len(),
        16,
        "a random password when none is given"
    );

    let login = app
        .client
        .post(
            "/api/login",
            None,
            &json!({ "email": DEMO_EMAIL, "password": seeded.password }),
        )
        .await;
    login.assert_status(200);
    let ada = Session {
        token: login.json()["token"].as_str().expect("token").to_string(),
        email: DEMO_EMAIL.to_string(),
    };
    let rooms = json!([
        {"name": "deploys", "online": 0, "lastSeq": 12},
        {"name": "general", "online": 0, "lastSeq": 14},
        {"name": "rust", "online": 0, "lastSeq": 14}
    ]);
    let listed = app.client.get("/api/rooms", None).await;
    listed.assert_status(200);
    assert_eq!(listed.json(), rooms);

    let general = app.history(&ada, "general", "?limit=100").await;
    assert_eq!(general.len(), 14);
    let seqs: Vec<i64> = general.iter().map(|m| m["seq"].as_i64().unwrap()).collect();
    assert_eq!(seqs, (1..=14).collect::<Vec<_>>(), "oldest first, gapless");
    assert_eq!(general[0]["from"], "Ada");
    assert_eq!(
        general[0]["text"],
        "Morning all! Coffee's on, stand-up in ten."
    );
    let grace = general[1]["userId"].as_str().expect("userId");
    assert!(
        grace.parse::<i64>().is_ok(),
        "an account's id, not a guest: {grace}"
    );

    let again = seed(&settings, &app.db, Some("another-password".into()))
        .await
        .err()
        .expect("a second seed must be refused");
    assert!(
        again.to_string().contains("already has data here"),
        "{again}"
    );
    let listed = app.client.get("/api/rooms", None).await;
    assert_eq!(
        listed.json(),
        rooms,
        "nothing was added by the refused seed"
    );
    assert_eq!(app.history(&ada, "general", "?limit=100").await.len(), 14);
}

/// Guests make no accounts: a chat in use by guests only is still not a place for demo data.
#[actix_web::test]
async fn a_chat_used_by_guests_only_is_not_seeded() {
    let app = spawn_app().await;
    let mut guest = app.guest("realguest").await;
    guest.join("general").await;
    guest
        .send(json!({"type": "send", "room": "general", "text": "hello", "clientId": "c-1"}))
        .await;
    guest.expect("ack").await;
    let settings = Settings::for_tests("chat", app.database.url().to_string());
    let err = seed(&settings, &app.db, None)
        .await
        .err()
        .expect("guests' messages are data");
    assert!(
        err.to_string().contains("already has data here (1 rows)"),
        "{err}"
    );
}
