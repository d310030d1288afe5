//! Articles: shapes, lists and filters, the feed, ownership, favorites, limits.

use serde_json::json;

use crate::helpers::{assert_error, slugs, spawn_app};

#[actix_web::test]
async fn a_created_article_has_the_spec_shape_and_bodyhtml() {
    let app = spawn_app().await;
    let ann = app.register("ann").await;
    let response = app
        .client
        .post(
            "/api/articles",
            Some(&ann.token),
            &json!({"article": {"title": "How to train your dragon", "description": "Ever wonder how?", "body": "You have to *believe*", "tagList": ["training", "dragons", "training", " dragons "]}}),
        )
        .await;
    response.assert_status(201);
    let article = &response.json()["article"];
    assert_eq!(article["slug"], "how-to-train-your-dragon");
    assert_eq!(article["title"], "How to train your dragon");
    assert_eq!(article["body"], "You have to *believe*");
    assert_eq!(article["bodyHtml"], "<p>You have to <em>believe</em></p>\n");
    assert_eq!(article["tagList"], json!(["dragons", "training"]));
    assert_eq!(article["favorited"], false);
    assert_eq!(article["favoritesCount"], 0);
    assert_eq!(article["author"]["username"], ann.username.as_str());
    assert_eq!(article["author"]["following"], false);
    for key in ["createdAt", "updatedAt"] {
        let at = article[key].as_str().unwrap();
        // ISO 8601, UTC, with fractional seconds (the Postman suite's pattern).
        assert!(
            at.ends_with('Z') && at.contains('.') && at.len() == 27,
            "{key}: {at}"
        );
    }
    let read = app
        .get("/api/articles/how-to-train-your-dragon", None)
        .await;
    read.assert_status(200);
    assert_eq!(read.json()["article"]["bodyHtml"], article["bodyHtml"]);
}

#[actix_web::test]
async fn equal_titles_get_distinct_slugs_and_unicode_is_transliterated() {
    let app = spawn_app().await;
    let ann = app.register("ann").await;
    let first = app.create_article(&ann, "Привет мир", &[]).await;
    let second = app.create_article(&ann, "Привет мир", &[]).await;
    assert_eq!(first["slug"], "privet-mir");
    let second = second["slug"].as_str().unwrap();
    assert!(
        second.starts_with("privet-mir-") && second.len() == "privet-mir-".len() + 6,
        "{second}"
    );
}

#[actix_web::test]
async fn lists_leave_out_the_body_count_everything_and_page_most_recent_first() {
    let app = spawn_app().await;
    let ann = app.register("ann").await;
    let mut created = Vec::new();
    for i in 0..5 {
        created.push(
            app.create_article(&ann, &format!("Article {i}"), &["t"])
                .await["slug"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    created.reverse();
    let all = app.get("/api/articles", None).await;
    all.assert_status(200);
    let body = all.json();
    assert_eq!(body["articlesCount"], 5);
    assert_eq!(slugs(&body), created);
    for article in body["articles"].as_array().unwrap() {
        assert!(
            article.get("body").is_none() && article.get("bodyHtml").is_none(),
            "{article}"
        );
        assert_eq!(article["tagList"], json!(["t"]));
    }
    let page1 = app.get("/api/articles?limit=2", None).await.json();
    let page2 = app.get("/api/articles?limit=2&offset=2", None).await.json();
    let page3 = app.get("/api/articles?limit=2&offset=4", None).await.json();
    assert_eq!(page1["articlesCount"], 5, "the total, not the page size");
    let paged: Vec<String> = [slugs(&page1), slugs(&page2), slugs(&page3)].concat();
    assert_eq!(paged, created);
    let beyond = app.get("/api/articles?offset=50", None).await.json();
    assert_eq!(beyond["articles"], json!([]));
    assert_eq!(beyond["articlesCount"], 5);
}

#[actix_web::test]
async fn limit_and_offset_out_of_range_are_422() {
    let app = spawn_app().await;
    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=abc", "limit"),
        ("limit=-1", "limit"),
        ("offset=-1", "offset"),
        ("offset=x", "offset"),
    ] {
        assert_error(
            &app.get(&format!("/api/articles?{query}"), None).await,
            422,
            field,
        );
    }
    app.get("/api/articles?limit=100", None)
        .await
        .assert_status(200);
    app.get("/api/articles?limit=1", None)
        .await
        .assert_status(200);
}

#[actix_web::test]
async fn filters_by_tag_author_and_favorited_combine() {
    let app = spawn_app().await;
    let (ann, bob) = (app.register("ann").await, app.register("bob").await);
    let a1 = app.create_article(&ann, "Ann rust", &["rust"]).await["slug"]
        .as_str()
        .unwrap()
        .to_string();
    let a2 = app.create_article(&ann, "Ann go", &["go"]).await["slug"]
        .as_str()
        .unwrap()
        .to_string();
    let b1 = app.create_article(&bob, "Bob rust", &["rust"]).await["slug"]
        .as_str()
        .unwrap()
        .to_string();
    app.client
        .post(
            &format!("/api/articles/{a1}/favorite"),
            Some(&bob.token),
            &json!({}),
        )
        .await
        .assert_status(200);
    app.client
        .post(
            &format!("/api/articles/{b1}/favorite"),
            Some(&bob.token),
            &json!({}),
        )
        .await
        .assert_status(200);

    let app = &app;
    let list = |query: String| async move {
        app.get(&format!("/api/articles?{query}"), None)
            .await
            .json()
    };
    assert_eq!(
        slugs(&list("tag=rust".into()).await),
        [b1.clone(), a1.clone()]
    );
    assert_eq!(
        slugs(&list(format!("author={}", ann.username)).await),
        [a2.clone(), a1.clone()]
    );
    assert_eq!(
        slugs(&list(format!("favorited={}", bob.username)).await),
        [b1.clone(), a1.clone()]
    );
    assert_eq!(
        slugs(&list(format!("tag=rust&author={}", ann.username)).await),
        [a1.as_str()]
    );
    assert_eq!(
        slugs(
            &list(format!(
                "favorited={}&author={}",
                bob.username, bob.username
            ))
            .await
        ),
        [b1.as_str()]
    );
    let none = list("tag=nothing".into()).await;
    assert_eq!(none["articlesCount"], 0);
    assert_eq!(list("author=nobody".into()).await["articlesCount"], 0);
    // Empty parameters filter nothing.
    assert_eq!(list("tag=&author=".into()).await["articlesCount"], 3);

    // `favorited` and `following` are the viewer's, not hard-coded.
    let seen_by_bob = app.get("/api/articles?tag=rust", Some(&bob)).await.json();
    assert!(
        seen_by_bob["articles"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["favorited"] == true)
    );
    let seen_by_ann = app.get("/api/articles?tag=rust", Some(&ann)).await.json();
    assert!(
        seen_by_ann["articles"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["favorited"] == false)
    );
    app.client
        .post(
            &format!("/api/profiles/{}/follow", bob.username),
            Some(&ann.token),
            &json!({}),
        )
        .await
        .assert_status(200);
    let following = app
        .get(&format!("/api/articles/{b1}"), Some(&ann))
        .await
        .json();
    assert_eq!(following["article"]["author"]["following"], true);
    assert_eq!(following["article"]["favoritesCount"], 1);
}

#[actix_web::test]
async fn the_feed_shows_followed_authors_only_and_needs_a_token() {
    let app = spawn_app().await;
    let (ann, bob, cat) = (
        app.register("ann").await,
        app.register("bob").await,
        app.register("cat").await,
    );
    let b = app.create_article(&bob, "By bob", &[]).await["slug"]
        .as_str()
        .unwrap()
        .to_string();
    app.create_article(&cat, "By cat", &[]).await;
    app.create_article(&ann, "By ann", &[]).await;
    let empty = app.get("/api/articles/feed", Some(&ann)).await;
    empty.assert_status(200);
    assert_eq!(empty.json()["articlesCount"], 0);
    app.client
        .post(
            &format!("/api/profiles/{}/follow", bob.username),
            Some(&ann.token),
            &json!({}),
        )
        .await
        .assert_status(200);
    let feed = app.get("/api/articles/feed", Some(&ann)).await.json();
    assert_eq!(slugs(&feed), [b]);
    assert_eq!(feed["articles"][0]["author"]["following"], true);
    assert!(feed["articles"][0].get("body").is_none());
    assert_error(&app.get("/api/articles/feed", None).await, 401, "body");
    assert_error(
        &app.get("/api/articles/feed?limit=0", Some(&ann)).await,
        422,
        "limit",
    );
}

#[actix_web::test]
async fn only_the_author_changes_or_deletes_and_a_new_title_is_a_new_slug() {
    let app = spawn_app().await;
    let (ann, bob) = (app.register("ann").await, app.register("bob").await);
    let slug = app.create_article(&ann, "Old title", &["a", "b"]).await["slug"]
        .as_str()
        .unwrap()
        .to_string();
    let path = format!("/api/articles/{slug}");
    let change = json!({"article": {"title": "New title"}});
    assert_error(
        &app.client.put(&path, Some(&bob.token), &change).await,
        403,
        "body",
    );
    assert_error(&app.client.put(&path, None, &change).await, 401, "body");
    assert_error(
        &app.client
            .put("/api/articles/nope", Some(&ann.token), &change)
            .await,
        404,
        "body",
    );
    assert_error(
        &app.client.delete(&path, Some(&bob.token)).await,
        403,
        "body",
    );

    let changed = app
        .client
        .put(&path, Some(&ann.token), &json!({"article": {"title": "New title", "body": "With two hands", "tagList": ["b", "c"]}}))
        .await;
    changed.assert_status(200);
    let article = &changed.json()["article"];
    assert_eq!(article["slug"], "new-title");
    assert_eq!(article["body"], "With two hands");
    assert_eq!(article["description"], "about it");
    assert_eq!(article["tagList"], json!(["b", "c"]));
    assert_ne!(article["updatedAt"], article["createdAt"]);
    assert_error(&app.get(&path, None).await, 404, "body");
    assert_eq!(
        app.get("/api/tags", None).await.json()["tags"],
        json!(["b", "c"])
    );

    let invalid = app
        .client
        .put(
            "/api/articles/new-title",
            Some(&ann.token),
            &json!({"article": {"title": " ", "tagList": [""]}}),
        )
        .await;
    assert_error(&invalid, 422, "title");
    assert_error(&invalid, 422, "tagList");

    app.client
        .delete("/api/articles/new-title", Some(&ann.token))
        .await
        .assert_status(204);
    assert_error(&app.get("/api/articles/new-title", None).await, 404, "body");
    assert_error(
        &app.client
            .delete("/api/articles/new-title", Some(&ann.token))
            .await,
        404,
        "body",
    );
    assert_eq!(
        app.get("/api/tags", None).await.json()["tags"],
        json!([]),
        "unused tags are not listed"
    );
}

#[actix_web::test]
async fn invalid_articles_are_422_naming_each_field() {
    let app = spawn_app().await;
    let ann = app.register("ann").await;
    let missing = app
        .client
        .post("/api/articles", Some(&ann.token), &json!({"article": {}}))
        .await;
    for field in ["title", "description", "body"] {
        assert_error(&missing, 422, field);
    }
    let too_long = app
        .client
        .post(
            "/api/articles",
            Some(&ann.token),
            &json!({"article": {"title": "x".repeat(201), "description": "x".repeat(501), "body": "ok", "tagList": (0..11).map(|i| format!("t{i}")).collect::<Vec<_>>()}}),
        )
        .await;
    for field in ["title", "description", "tagList"] {
        assert_error(&too_long, 422, field);
    }
    let long_tag = app.post_article(&ann, "t", &[&"x".repeat(41)]).await;
    assert_error(&long_tag, 422, "tagList");
    let huge = app
        .client
        .post(
            "/api/articles",
            Some(&ann.token),
            &json!({"article": {"title": "t", "description": "d", "body": "x".repeat(70_000)}}),
        )
        .await;
    assert_error(&huge, 413, "body");
    assert_error(
        &app.client
            .post("/api/articles", None, &json!({"article": {}}))
            .await,
        401,
        "body",
    );
    assert_eq!(
        app.get("/api/articles", None).await.json()["articlesCount"],
        0
    );
}

#[actix_web::test]
async fn favorites_are_idempotent_and_counted() {
    let app = spawn_app().await;
    let (ann, bob) = (app.register("ann").await, app.register("bob").await);
    let slug = app.create_article(&ann, "Liked", &[]).await["slug"]
        .as_str()
        .unwrap()
        .to_string();
    let path = format!("/api/articles/{slug}/favorite");
    for _ in 0..3 {
        let response = app.client.post(&path, Some(&bob.token), &json!({})).await;
        response.assert_status(200);
        assert_eq!(response.json()["article"]["favorited"], true);
        assert_eq!(response.json()["article"]["favoritesCount"], 1);
    }
    app.client
        .post(&path, Some(&ann.token), &json!({}))
        .await
        .assert_status(200);
    assert_eq!(
        app.get(&format!("/api/articles/{slug}"), None).await.json()["article"]["favoritesCount"],
        2
    );
    for _ in 0..2 {
        let response = app.client.delete(&path, Some(&bob.token)).await;
        response.assert_status(200);
        assert_eq!(response.json()["article"]["favorited"], false);
        assert_eq!(response.json()["article"]["favoritesCount"], 1);
    }
    assert_error(
        &app.client
            .post("/api/articles/nope/favorite", Some(&bob.token), &json!({}))
            .await,
        404,
        "body",
    );
    assert_error(&app.client.post(&path, None, &json!({})).await, 401, "body");
}

#[actix_web::test]
async fn tags_are_distinct_and_most_used_first() {
    let app = spawn_app().await;
    let ann = app.register("ann").await;
    app.create_article(&ann, "one", &["rare", "common"]).await;
    app.create_article(&ann, "two", &["common", "middle"]).await;
    app.create_article(&ann, "three", &["common", "middle"])
        .await;
    let tags = app.get("/api/tags", None).await;
    tags.assert_status(200);
    assert_eq!(tags.json()["tags"], json!(["common", "middle", "rare"]));
}

#[actix_web::test]
async fn the_same_title_sent_again_keeps_the_slug() {
    let app = spawn_app().await;
    let ann = app.register("ann").await;
    app.create_article(&ann, "Dup", &[]).await;
    let second = app.create_article(&ann, "Dup", &[]).await["slug"]
        .as_str()
        .unwrap()
        .to_string();
    // A front end's editor sends every field back, the title included.
    let edited = app
        .client
        .put(
            &format!("/api/articles/{second}"),
            Some(&ann.token),
            &json!({"article": {"title": "Dup", "body": "fixed a typo"}}),
        )
        .await;
    edited.assert_status(200);
    assert_eq!(edited.json()["article"]["slug"], second.as_str());
    app.get(&format!("/api/articles/{second}"), None)
        .await
        .assert_status(200);
}

#[actix_web::test]
async fn ownership_is_judged_before_the_input() {
    let app = spawn_app().await;
    let (ann, bob) = (app.register("ann").await, app.register("bob").await);
    let slug = app.create_article(&ann, "Mine", &[]).await["slug"]
        .as_str()
        .unwrap()
        .to_string();
    let invalid = json!({"article": {"title": ""}});
    assert_error(
        &app.client
            .put(&format!("/api/articles/{slug}"), Some(&bob.token), &invalid)
            .await,
        403,
        "body",
    );
    assert_error(
        &app.client
            .put("/api/articles/nope", Some(&bob.token), &invalid)
            .await,
        404,
        "body",
    );
    assert_error(
        &app.client
            .put(&format!("/api/articles/{slug}"), Some(&ann.token), &invalid)
            .await,
        422,
        "title",
    );
}

#[actix_web::test]
async fn bodies_nesting_too_deep_are_refused_before_rendering() {
    let app = spawn_app().await;
    let ann = app.register("ann").await;
    for body in [
        ">".repeat(50_000),
        "- ".repeat(20_000),
        "1. ".repeat(10_000),
    ] {
        let response = app
            .client
            .post(
                "/api/articles",
                Some(&ann.token),
                &json!({"article": {"title": "deep", "description": "d", "body": body}}),
            )
            .await;
        assert_error(&response, 422, "body");
    }
    let fine = "> ".repeat(32) + "a quote";
    let response = app
        .client
        .post(
            "/api/articles",
            Some(&ann.token),
            &json!({"article": {"title": "ok", "description": "d", "body": fine}}),
        )
        .await;
    response.assert_status(201);
    assert!(
        response.json()["article"]["bodyHtml"]
            .as_str()
            .unwrap()
            .contains("<blockquote>")
    );
}

#[actix_web::test]
async fn errors_carry_cors_headers_so_browsers_can_read_them() {
    let app = spawn_app().await;
    for (path, status) in [
        ("/api/user", 401),
        ("/api/articles/nope", 404),
        ("/api/articles?limit=0", 422),
    ] {
        let response = app
            .client
            .send(
                app.client
                    .request(reqwest::Method::GET, path)
                    .header("origin", "http://localhost:4100"),
            )
            .await;
        response.assert_status(status);
        assert_eq!(
            response.header("access-control-allow-origin"),
            Some("*"),
            "{path}"
        );
        assert!(response.json()["errors"].is_object(), "{path}");
    }
}

/// A title that is a route's word gets a slug of its own: `/api/articles/feed` is the feed.
#[actix_web::test]
async fn an_article_titled_feed_stays_reachable() {
    let app = spawn_app().await;
    let ann = app.register("ann").await;
    let article = app.create_article(&ann, "Feed", &[]).await;
    let slug = article["slug"].as_str().expect("slug").to_string();
    assert_eq!(slug, "feed-article");
    let path = format!("/api/articles/{slug}");
    app.get(&path, None).await.assert_status(200);
    app.client
        .put(
            &path,
            Some(&ann.token),
            &json!({"article": {"body": "changed"}}),
        )
        .await
        .assert_status(200);
    app.client
        .delete(&path, Some(&ann.token))
        .await
        .assert_status(204);
}

/// Markdown can be tiny and its HTML huge (a table 5 000 columns wide): the HTML is bounded.
#[actix_web::test]
async fn a_body_that_renders_to_too_much_html_is_422() {
    let app = spawn_app().await;
    let ann = app.register("ann").await;
    let table = format!(
        "{}\n{}\n{}",
        "|a".repeat(1_000),
        "|-".repeat(1_000),
        "|x\n".repeat(100)
    );
    let refused = app
        .client
        .post(
            "/api/articles",
            Some(&ann.token),
            &json!({"article": {"title": "Wide", "description": "d", "body": table}}),
        )
        .await;
    assert_error(&refused, 422, "body");
    assert_eq!(
        refused.json()["errors"]["body"][0],
        "renders to more than 256 KiB of HTML (a very wide table?)"
    );
    let article = app.create_article(&ann, "Narrow", &[]).await;
    let slug = article["slug"].as_str().expect("slug");
    let refused = app
        .client
        .put(
            &format!("/api/articles/{slug}"),
            Some(&ann.token),
            &json!({"article": {"body": table}}),
        )
        .await;
    assert_error(&refused, 422, "body");
}

/// Only http, https and mailto links survive, and task lists keep their (disabled) boxes.
#[actix_web::test]
async fn markdown_links_are_web_or_mail_and_task_lists_keep_their_boxes() {
    let app = spawn_app().await;
    let ann = app.register("ann").await;
    let created = app
        .client
        .post(
            "/api/articles",
            Some(&ann.token),
            &json!({"article": {"title": "Links", "description": "d",
                "body": "[s](ssh://h) [t](tel:+1) [i](irc://x/y) [w](https://ok.example)\n\n- [ ] open\n- [x] done\n"}}),
        )
        .await;
    created.assert_status(201);
    let html = created.json()["article"]["bodyHtml"]
        .as_str()
        .expect("bodyHtml")
        .to_string();
    for scheme in ["ssh:", "tel:", "irc:"] {
        assert!(!html.contains(scheme), "{scheme} in {html}");
    }
    assert!(html.contains("https://ok.example"), "{html}");
    assert_eq!(html.matches("type=\"checkbox\"").count(), 2, "{html}");
    assert_eq!(html.matches("checked").count(), 1, "{html}");
}

/// Whose article it is comes before what was sent: someone else's is 403 even for a body that
/// is not JSON at all; the author gets the 422.
#[actix_web::test]
async fn a_malformed_change_to_someone_elses_article_is_403() {
    let app = spawn_app().await;
    let (ann, bob) = (app.register("ann").await, app.register("bob").await);
    let article = app.create_article(&ann, "Ann's", &[]).await;
    let path = format!("/api/articles/{}", article["slug"].as_str().expect("slug"));
    let malformed = |token: String| {
        let request = app
            .client
            .request(reqwest::Method::PUT, &path)
            .header("Authorization", format!("Token {token}"))
            .header("Content-Type", "application/json")
            .body("{not json");
        app.client.send(request)
    };
    malformed(bob.token.clone()).await.assert_status(403);
    malformed(ann.token.clone()).await.assert_status(422);
    let invalid = json!({"article": {"title": ""}});
    app.client
        .put(&path, Some(&bob.token), &invalid)
        .await
        .assert_status(403);
    app.client
        .put("/api/articles/no-such-article", Some(&bob.token), &invalid)
        .await
        .assert_status(404);
}
