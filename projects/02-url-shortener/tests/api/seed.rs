//! `url-shortener seed`: the demo account's links redirect and have stats; a second seed is
//! refused instead of mixing demo data into real data.

use backend_kit::config::Settings;
use backend_kit::db::Database;
use serde_json::json;
use url_shortener::Config;
use url_shortener::seed::{DEMO_EMAIL, seed};

use crate::helpers::spawn_app;

#[actix_web::test]
async fn seeded_links_redirect_and_show_a_month_of_visits() {
    let app = spawn_app().await;
    let config = Config::for_tests(Settings::for_tests(
        "url-shortener",
        app.database_url.clone(),
    ));
    let db = Database::open(&config.settings, url_shortener::db::migrations)
        .await
        .expect("database");
    let seeded = seed(&config, &db, Some("demo-password".into()))
        .await
        .expect("seed");
    assert_eq!(seeded.links, 8);

    let login = app
        .client
        .post(
            "/login",
            None,
            &json!({ "email": DEMO_EMAIL, "password": "demo-password" }),
        )
        .await;
    login.assert_status(200);
    let token = login.json()["token"].as_str().expect("token").to_string();

    let redirect = app.client.get("/roadmap", None).await;
    assert_eq!(redirect.status, 302);
    assert_eq!(
        redirect.header("location"),
        Some("https://roadmap.sh/backend")
    );

    let mut total = 0;
    for code in [
        "roadmap",
        "rust-book",
        "actix",
        "diesel",
        "http-status",
        "owasp-top10",
        "redis-caching",
        "twelve-factor",
    ] {
        let stats = app
            .client
            .get(&format!("/shorten/{code}/stats"), Some(&token))
            .await;
        stats.assert_status(200);
        total += stats.json()["accessCount"].as_i64().expect("accessCount");
    }
    // The redirect above may or may not have been written yet: at least the seeded visits.
    assert!(total >= seeded.visits, "{total} < {}", seeded.visits);

    let by_day = app
        .client
        .get("/shorten/roadmap/stats?by=day", Some(&token))
        .await;
    let days = by_day.json()["breakdown"].as_array().expect("days").len();
    assert!(days >= 28, "a month of days, got {days}");
    let by_referrer = app
        .client
        .get("/shorten/roadmap/stats?by=referrer", Some(&token))
        .await
        .json();
    assert!(
        by_referrer["breakdown"]
            .as_array()
            .expect("referrers")
            .iter()
            .any(|bucket| bucket["key"] == "news.ycombinator.com"),
        "{by_referrer}"
    );

    let again = seed(&config, &db, None)
        .await
        .err()
        .expect("a second seed must be refused");
    assert!(
        again.to_string().contains("already has data here"),
        "{again}"
    );
}
