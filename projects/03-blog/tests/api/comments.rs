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
