//! Comments: anyone reads, users write, only the author deletes.

use serde_json::json;

use crate::helpers::{assert_error, spawn_app};

#[actix_web::test]
async fn comments_are_added_listed_newest_first_and_deleted_by_their_author() {
    let app = spawn_app().await;
    let (ann, bob) = (app.register("ann").await, app.register("bob").await);
    let slug = app.create_article(&ann, "Discussed", &[]).await["slug"]
        .as_str()
        .unwrap()
        .to_string();
    let path = format!("/api/articles/{slug}/comments");
    let first = app
        .client
        .post(
            &path,
            Some(&bob.token),
            &json!({"comment": {"body": "Thank you so much!"}}),
        )
        .await;
    first.assert_status(200);
    let comment = &first.json()["comment"];
    assert_eq!(comment["body"], "Thank you so much!");
    assert_eq!(comment["author"]["username"], bob.username.as_str());
    assert!(comment["id"].is_i64());
    assert!(comment["createdAt"].as_str().unwrap().ends_with('Z'));
    let first_id = comment["id"].as_i64().unwrap();
    let second = app
        .client
        .post(
            &path,
            Some(&ann.token),
            &json!({"comment": {"body": "You're welcome"}}),
        )
        .await
        .json();
    let second_id = second["comment"]["id"].as_i64().unwrap();

    let list = app.get(&path, None).await;
    list.assert_status(200);
    let ids: Vec<i64> = list.json()["comments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [second_id, first_id]);

    assert_error(
        &app.client
            .delete(&format!("{path}/{first_id}"), Some(&ann.token))
            .await,
        403,
        "body",
    );
    assert_error(
        &app.client.delete(&format!("{path}/{first_id}"), None).await,
        401,
        "body",
    );
    app.client
        .delete(&format!("{path}/{first_id}"), Some(&bob.token))
        .await
        .assert_status(204);
    assert_error(
        &app.client
            .delete(&format!("{path}/{first_id}"), Some(&bob.token))
            .await,
        404,
        "body",
    );
    assert_eq!(
        app.get(&path, None).await.json()["comments"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[actix_web::test]
async fn comment_errors() {
    let app = spawn_app().await;
    let ann = app.register("ann").await;
    let slug = app.create_article(&ann, "Discussed", &[]).await["slug"]
        .as_str()
        .unwrap()
        .to_string();
    let other = app.create_article(&ann, "Other", &[]).await["slug"]
        .as_str()
        .unwrap()
        .to_string();
    let path = format!("/api/articles/{slug}/comments");
    assert_error(
        &app.get("/api/articles/nope/comments", None).await,
        404,
        "body",
    );
    assert_error(
        &app.client
            .post(
                "/api/articles/nope/comments",
                Some(&ann.token),
                &json!({"comment": {"body": "x"}}),
            )
            .await,
        404,
        "body",
    );
    assert_error(
        &app.client
            .post(&path, None, &json!({"comment": {"body": "x"}}))
            .await,
        401,
        "body",
    );
    assert_error(
        &app.client
            .post(&path, Some(&ann.token), &json!({"comment": {"body": "  "}}))
            .await,
        422,
        "body",
    );
    assert_error(
        &app.client
            .post(&path, Some(&ann.token), &json!({"comment": {}}))
            .await,
        422,
        "body",
    );
    assert_error(
        &app.client
            .post(
                &path,
                Some(&ann.token),
                &json!({"comment": {"body": "x".repeat(5001)}}),
            )
            .await,
        422,
        "body",
    );
    let id = app
        .client
        .post(
            &path,
            Some(&ann.token),
            &json!({"comment": {"body": "mine"}}),
        )
        .await
        .json()["comment"]["id"]
        .as_i64()
        .unwrap();
    // A comment is found only under its own article.
    assert_error(
        &app.client
            .delete(
                &format!("/api/articles/{other}/comments/{id}"),
                Some(&ann.token),
            )
            .await,
        404,
        "body",
    );
    assert_error(
        &app.client
            .delete(&format!("{path}/not-a-number"), Some(&ann.token))
            .await,
        404,
        "body",
    );
    assert_error(
        &app.client
            .delete(&format!("{path}/999999"), Some(&ann.token))
            .await,
        404,
        "body",
    );
    // Deleting the article deletes its comments.
    app.client
        .delete(&format!("/api/articles/{slug}"), Some(&ann.token))
        .await
        .assert_status(204);
    assert_error(&app.get(&path, None).await, 404, "body");
}

/// A thread is read a page at a time (100 by default, as RealWorld clients that ask for no
/// page expect), and one user cannot post without limit.
#[actix_web::test]
async fn comments_are_paged_and_posting_is_budgeted() {
    let app = crate::helpers::spawn_app_with(|c| c.comments_per_minute = 120).await;
    let ann = app.register("ann").await;
    let article = app.create_article(&ann, "Busy", &[]).await;
    let path = format!(
        "/api/articles/{}/comments",
        article["slug"].as_str().expect("slug")
    );
    for i in 0..120 {
        app.client
            .post(
                &path,
                Some(&ann.token),
                &serde_json::json!({"comment": {"body": format!("c{i}")}}),
            )
            .await
            .assert_status(200);
    }
    let refused = app
        .client
        .post(
            &path,
            Some(&ann.token),
            &serde_json::json!({"comment": {"body": "one more"}}),
        )
        .await;
    refused.assert_status(429);
    assert!(refused.header("retry-after").is_some());
    assert!(
        refused.json()["errors"]["body"].is_array(),
        "{}",
        refused.text
    );

    let bodies = |page: &serde_json::Value| -> Vec<String> {
        page["comments"]
            .as_array()
            .expect("comments")
            .iter()
            .map(|c| c["body"].as_str().expect("body").to_string())
            .collect()
    };
    let first = app.get(&path, None).await;
    assert_eq!(
        first.header("link"),
        Some(format!("<{path}?limit=100&offset=100>; rel=\"next\"").as_str()),
        "a full page says where the next one is"
    );
    let first = bodies(&first.json());
    assert_eq!(first.len(), 100);
    assert_eq!(first[0], "c119", "newest first");
    let rest = app.get(&format!("{path}?offset=100"), None).await;
    assert_eq!(rest.header("link"), None, "the last page");
    let rest = rest.json();
    assert_eq!(
        bodies(&rest),
        (0..20).rev().map(|i| format!("c{i}")).collect::<Vec<_>>()
    );
    let two = app
        .get(&format!("{path}?limit=2&offset=1"), None)
        .await
        .json();
    assert_eq!(bodies(&two), ["c118", "c117"]);
    for bad in ["limit=0", "limit=101", "offset=-1", "limit=x"] {
        let response = app.get(&format!("{path}?{bad}"), None).await;
        response.assert_status(422);
    }
}
