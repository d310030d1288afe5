//! `?q=` full-text search: PostgreSQL's tsvector or SQLite's FTS5, the same answers.

use serde_json::json;

use crate::helpers::{assert_error, slugs, spawn_app};

#[actix_web::test]
async fn search_finds_words_in_title_description_and_body_and_combines_with_filters() {
    let app = spawn_app().await;
    let (ann, bob) = (app.register("ann").await, app.register("bob").await);
    let post = |user,
                title: &'static str,
                description: &'static str,
                body: &'static str,
                tags: &'static [&'static str]| {
        let app = &app;
        async move {
            let response = app
                .client
                .post("/api/articles", Some(user), &json!({"article": {"title": title, "description": description, "body": body, "tagList": tags}}))
                .await;
            response.assert_status(201);
            response.json()["article"]["slug"]
                .as_str()
                .unwrap()
                .to_string()
        }
    };
    let rust = post(
        &ann.token,
        "Learning Rust",
        "ownership explained",
        "Borrowing and lifetimes.",
        &["rust"],
    )
    .await;
    let actix = post(
        &bob.token,
        "Web servers",
        "with actix",
        "Rust makes fast servers; Привет мир",
        &["web"],
    )
    .await;
    let dotted = post(
        &bob.token,
        "Hosting",
        "on example.com",
        "v1.2.3 at a@b.io, /usr/bin",
        &[],
    )
    .await;
    let go = post(
        &ann.token,
        "Learning Go",
        "goroutines",
        "Channels everywhere.",
        &["go"],
    )
    .await;

    let search = |query: &str| {
        let (app, query) = (&app, query.to_string());
        async move {
            let response = app.get(&format!("/api/articles?{query}"), None).await;
            response.assert_status(200);
            response.json()
        }
    };
    assert_eq!(
        slugs(&search("q=rust").await),
        [actix.clone(), rust.clone()]
    );
    assert_eq!(
        slugs(&search("q=RUST").await),
        [actix.clone(), rust.clone()],
        "case-insensitive"
    );
    assert_eq!(
        slugs(&search("q=ownership").await),
        [rust.as_str()],
        "description"
    );
    assert_eq!(slugs(&search("q=lifetimes").await), [rust.as_str()], "body");
    assert_eq!(
        slugs(&search("q=learn").await),
        [go.clone(), rust.clone()],
        "prefixes"
    );
    assert_eq!(
        slugs(&search("q=learning%20rust").await),
        [rust.as_str()],
        "every word"
    );
    assert_eq!(
        slugs(&search("q=%D0%BF%D1%80%D0%B8%D0%B2%D0%B5%D1%82").await),
        [actix.as_str()],
        "Unicode words"
    );
    assert_eq!(slugs(&search("q=rust&tag=web").await), [actix.as_str()]);
    assert_eq!(
        slugs(&search(&format!("q=learning&author={}", ann.username)).await),
        [go.clone(), rust.clone()]
    );
    // Dotted names split the same way on both databases.
    for query in [
        "q=example.com",
        "q=example",
        "q=v1.2.3",
        "q=a%40b.io",
        "q=%2Fusr%2Fbin",
    ] {
        assert_eq!(slugs(&search(query).await), [dotted.as_str()], "{query}");
    }
    let counted = search("q=rust&limit=1").await;
    assert_eq!(counted["articlesCount"], 2);
    assert_eq!(search("q=nothingmatches").await["articlesCount"], 0);

    // Query syntax of either database is just text here: never an error.
    for hostile in [
        "%22",
        "*",
        "rust%20AND%20OR",
        "a%26b%7Cc",
        "NEAR(rust)",
        "rust:*",
        "!!!",
        "'",
        "%5C",
        "-rust",
        "title:rust",
    ] {
        let response = app.get(&format!("/api/articles?q={hostile}"), None).await;
        response.assert_status(200);
    }
    assert_eq!(search("q=!!!").await["articlesCount"], 0);
    assert_error(
        &app.get(&format!("/api/articles?q={}", "x".repeat(201)), None)
            .await,
        422,
        "q",
    );

    // Changed and deleted articles leave the index.
    app.client
        .put(
            &format!("/api/articles/{rust}"),
            Some(&ann.token),
            &json!({"article": {"body": "Nothing about it"}}),
        )
        .await
        .assert_status(200);
    assert_eq!(slugs(&search("q=lifetimes").await), Vec::<String>::new());
    app.client
        .delete(&format!("/api/articles/{actix}"), Some(&bob.token))
        .await
        .assert_status(204);
    assert_eq!(slugs(&search("q=servers").await), Vec::<String>::new());
}

/// Both databases index the same folded words: compatibility forms and accents are folded
/// before words are cut, so `istanbul` finds "İstanbul", `ⓐⓑ` and `½` match alike on SQLite
/// and PostgreSQL, and `?tag=` is read as tags are stored (trimmed, NFC).
#[actix_web::test]
async fn search_and_tags_match_what_is_stored_on_both_databases() {
    let app = spawn_app().await;
    let ann = app.register("ann").await;
    let created = app
        .client
        .post(
            "/api/articles",
            Some(&ann.token),
            &json!({"article": {"title": "İstanbul notes", "description": "Café ⓐⓑ",
                "body": "Half: ½", "tagList": ["cafés"]}}),
        )
        .await;
    created.assert_status(201);
    let slug = created.json()["article"]["slug"]
        .as_str()
        .expect("slug")
        .to_string();
    for q in [
        "istanbul",
        "İSTANBUL",
        "cafe",
        "café",
        "ab",
        "%E2%93%90%E2%93%91",
        "%C2%BD",
        "1",
    ] {
        let found = app.get(&format!("/api/articles?q={q}"), None).await.json();
        assert_eq!(slugs(&found), std::slice::from_ref(&slug), "q={q}");
    }
    for tag in ["cafe%CC%81s", "caf%C3%A9s", "%20caf%C3%A9s%20"] {
        let found = app
            .get(&format!("/api/articles?tag={tag}"), None)
            .await
            .json();
        assert_eq!(slugs(&found), std::slice::from_ref(&slug), "tag={tag}");
    }
}
