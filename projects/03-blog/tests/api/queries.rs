//! No N+1: a page costs the same number of SQL statements whatever its length. The server's
//! database handle counts every statement (diesel's instrumentation); a test sends one
//! request at a time and reads the difference.

use serde_json::json;

use crate::helpers::{TestApp, User, spawn_quiet_app};

async fn statements_for(app: &TestApp, path: &str, user: Option<&User>) -> u64 {
    // The verification mails' jobs use the same database: let them finish first.
    app.mail_settled().await;
    let before = app.db.statements_run();
    app.get(path, user).await.assert_status(200);
    app.db.statements_run() - before
}

#[actix_web::test]
async fn a_page_of_articles_costs_a_constant_number_of_queries() {
    let app = spawn_quiet_app().await;
    let mut authors = Vec::new();
    for i in 0..6 {
        authors.push(app.register(&format!("author{i}")).await);
    }
    let reader = app.register("reader").await;
    for (i, author) in authors.iter().enumerate() {
        app.client
            .post(
                &format!("/api/profiles/{}/follow", author.username),
                Some(&reader.token),
                &json!({}),
            )
            .await
            .assert_status(200);
        for j in 0..10 {
            let slug = app
                .create_article(
                    author,
                    &format!("Article {i}-{j}"),
                    &["x", &format!("t{j}"), &format!("a{i}")],
                )
                .await["slug"]
                .as_str()
                .unwrap()
                .to_string();
            if j % 2 == 0 {
                app.client
                    .post(
                        &format!("/api/articles/{slug}/favorite"),
                        Some(&reader.token),
                        &json!({}),
                    )
                    .await
                    .assert_status(200);
            }
        }
    }
    // Every list: the page's ids, the articles, the count (each list has more than 50).
    let tag = "/api/articles?tag=x".to_string();
    let author = format!("/api/articles?author={}", authors[0].username);
    let favorited = format!("/api/articles?favorited={}", reader.username);
    let combined = format!("/api/articles?tag=x&favorited={}", reader.username);
    for (path, user, total) in [
        ("/api/articles", Some(&reader), 60),
        ("/api/articles", None, 60),
        ("/api/articles/feed", Some(&reader), 60),
        (tag.as_str(), Some(&reader), 60),
        (author.as_str(), None, 10),
        (favorited.as_str(), None, 30),
        (combined.as_str(), None, 30),
        ("/api/articles?q=article", None, 60),
    ] {
        let join = if path.contains('?') { '&' } else { '?' };
        let one = statements_for(&app, &format!("{path}{join}limit=1"), user).await;
        let full = statements_for(&app, &format!("{path}{join}limit={}", total - 1), user).await;
        println!(
            "{path} (signed in: {}): {one} statements for 1 article, {full} for {}",
            user.is_some(),
            total - 1
        );
        assert_eq!(one, full, "{path}: the query count grows with the page");
        // A search first asks whether it has more than SEARCH_COUNT_MAX matches.
        let expected = if path.contains("q=") { 4 } else { 3 };
        assert_eq!(full, expected, "{path}: the ids, the articles, the count");
        assert_eq!(
            app.get(path, user).await.json()["articlesCount"],
            total,
            "{path}"
        );
    }
    // One article: one statement.
    let newest = app.get("/api/articles?limit=1", None).await.json();
    let slug = newest["articles"][0]["slug"].as_str().unwrap().to_string();
    let one = statements_for(&app, &format!("/api/articles/{slug}"), Some(&reader)).await;
    assert_eq!(one, 1, "GET /api/articles/{{slug}}");

    // The answer is complete: 50 articles with authors, tags, favorites.
    let page = app
        .get("/api/articles?limit=50", Some(&reader))
        .await
        .json();
    assert_eq!(page["articlesCount"], 60);
    let articles = page["articles"].as_array().unwrap();
    assert_eq!(articles.len(), 50);
    assert!(
        articles.iter().all(
            |a| a["author"]["following"] == true && a["tagList"].as_array().unwrap().len() == 3
        )
    );
    assert_eq!(
        articles.iter().filter(|a| a["favorited"] == true).count(),
        25
    );

    // Comments: three statements (the article, its comments, their authors) whatever their number.
    let slug = articles[0]["slug"].as_str().unwrap();
    let path = format!("/api/articles/{slug}/comments");
    app.client
        .post(
            &path,
            Some(&authors[0].token),
            &json!({"comment": {"body": "a"}}),
        )
        .await
        .assert_status(200);
    let one = statements_for(&app, &path, Some(&reader)).await;
    for author in &authors {
        app.client
            .post(
                &path,
                Some(&author.token),
                &json!({"comment": {"body": "more"}}),
            )
            .await
            .assert_status(200);
    }
    let seven = statements_for(&app, &path, Some(&reader)).await;
    println!("comments: {one} statements for 1 comment, {seven} for 7");
    assert_eq!(one, seven);
}
