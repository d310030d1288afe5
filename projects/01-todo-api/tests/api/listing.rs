use serde_json::{Value, json};

use crate::helpers::{Session, TestApp, spawn_app};

async fn titles(app: &TestApp, user: &Session, query: &str) -> Vec<String> {
    let response = app
        .client
        .get(&format!("/todos{query}"), Some(&user.token))
        .await;
    response.assert_status(200);
    response.json()["data"]
        .as_array()
        .expect("data array")
        .iter()
        .map(|t| t["title"].as_str().expect("title").to_string())
        .collect()
}

async fn create_all(app: &TestApp, user: &Session, titles: &[&str]) -> Vec<Value> {
    let mut created = Vec::new();
    for title in titles {
        created.push(app.create_todo(&user.token, json!({"title": title})).await);
    }
    created
}

#[actix_web::test]
async fn list_has_the_paginated_shape_and_only_the_callers_todos() {
    let app = spawn_app().await;
    let user = app.new_user().await;
    let other = app.new_user().await;
    create_all(&app, &user, &["a", "b", "c"]).await;
    create_all(&app, &other, &["not mine"]).await;

    let response = app.client.get("/todos", Some(&user.token)).await;
    response.assert_status(200);
    let body = response.json();
    let keys: Vec<_> = body.as_object().expect("object").keys().cloned().collect();
    assert_eq!(keys, ["data", "limit", "page", "total"]);
    assert_eq!(
        (
            body["page"].as_i64(),
            body["limit"].as_i64(),
            body["total"].as_i64()
        ),
        (Some(1), Some(10), Some(3))
    );
    assert_eq!(titles(&app, &user, "").await, ["a", "b", "c"]);
}

#[actix_web::test]
async fn pages_split_the_list_without_gaps_or_overlap() {
    let app = spawn_app().await;
    let user = app.new_user().await;
    create_all(&app, &user, &["1", "2", "3", "4", "5"]).await;
    assert_eq!(titles(&app, &user, "?page=1&limit=2").await, ["1", "2"]);
    assert_eq!(titles(&app, &user, "?page=2&limit=2").await, ["3", "4"]);
    assert_eq!(titles(&app, &user, "?page=3&limit=2").await, ["5"]);
    assert!(titles(&app, &user, "?page=4&limit=2").await.is_empty());
    let body = app
        .client
        .get("/todos?page=2&limit=2", Some(&user.token))
        .await
        .json();
    assert_eq!(
        (
            body["page"].as_i64(),
            body["limit"].as_i64(),
            body["total"].as_i64()
        ),
        (Some(2), Some(2), Some(5))
    );
}

#[actix_web::test]
async fn out_of_range_parameters_are_a_400_naming_them() {
    let app = spawn_app().await;
    let user = app.new_user().await;
    for (query, field) in [
        ("?page=0", "page"),
        ("?page=-1", "page"),
        ("?page=abc", "page"),
        ("?limit=0", "limit"),
        ("?limit=101", "limit"),
        ("?completed=maybe", "completed"),
        ("?sort=priority", "sort"),
    ] {
        let response = app
            .client
            .get(&format!("/todos{query}"), Some(&user.token))
            .await;
        response.assert_status(400);
        assert!(
            response.json()["errors"][field].is_array(),
            "{query}: {}",
            response.text
        );
    }
    app.client
        .get("/todos?limit=100", Some(&user.token))
        .await
        .assert_status(200);
}

#[actix_web::test]
async fn filter_by_completed() {
    let app = spawn_app().await;
    let user = app.new_user().await;
    let todos = create_all(&app, &user, &["open", "done"]).await;
    app.client
        .patch(
            &format!("/todos/{}", todos[1]["id"]),
            Some(&user.token),
            &json!({"completed": true}),
        )
        .await
        .assert_status(200);
    assert_eq!(titles(&app, &user, "?completed=true").await, ["done"]);
    assert_eq!(titles(&app, &user, "?completed=false").await, ["open"]);
    let body = app
        .client
        .get("/todos?completed=true", Some(&user.token))
        .await
        .json();
    assert_eq!(body["total"], 1, "total counts the filtered rows");
}

#[actix_web::test]
async fn search_is_a_case_insensitive_substring_of_title_or_description() {
    let app = spawn_app().await;
    let user = app.new_user().await;
    app.create_todo(&user.token, json!({"title": "Buy MILK"}))
        .await;
    app.create_todo(
        &user.token,
        json!({"title": "Groceries", "description": "milk and bread"}),
    )
    .await;
    app.create_todo(&user.token, json!({"title": "Walk the dog"}))
        .await;
    app.create_todo(&user.token, json!({"title": "100% done"}))
        .await;
    app.create_todo(&user.token, json!({"title": "1000 done"}))
        .await;

    assert_eq!(
        titles(&app, &user, "?q=milk").await,
        ["Buy MILK", "Groceries"]
    );
    assert_eq!(
        titles(&app, &user, "?q=MiLk").await,
        ["Buy MILK", "Groceries"]
    );
    assert_eq!(titles(&app, &user, "?q=dog").await, ["Walk the dog"]);
    // `%` and `_` are literal characters, not SQL wildcards.
    assert_eq!(titles(&app, &user, "?q=0%25").await, ["100% done"]);
    assert!(titles(&app, &user, "?q=_").await.is_empty());
    assert!(titles(&app, &user, "?q=nothing").await.is_empty());
}

/// Title and description are searched each on its own: no match spans the boundary.
#[actix_web::test]
async fn search_never_matches_across_title_and_description() {
    let app = spawn_app().await;
    let user = app.new_user().await;
    app.create_todo(
        &user.token,
        json!({"title": "buy milk", "description": "eggs"}),
    )
    .await;
    app.create_todo(
        &user.token,
        json!({"title": "Shopping", "description": "milk\neggs"}),
    )
    .await;
    app.create_todo(&user.token, json!({"title": "plain"}))
        .await;

    assert_eq!(titles(&app, &user, "?q=milk%0Aegg").await, ["Shopping"]);
    assert_eq!(titles(&app, &user, "?q=%0A").await, ["Shopping"]);
    assert_eq!(titles(&app, &user, "?q=k%0Ae").await, ["Shopping"]);
    let refused = app
        .client
        .get("/todos?q=milk%1Feggs", Some(&user.token))
        .await;
    refused.assert_status(400);
    assert_eq!(
        refused.json()["errors"]["q"][0],
        "must not contain U+001F (the unit separator)"
    );
}

#[actix_web::test]
async fn sort_by_each_key_both_ways_with_ties_broken_by_id() {
    let app = spawn_app().await;
    let user = app.new_user().await;
    let todos = create_all(&app, &user, &["banana", "Apple", "cherry", "apple"]).await;
    // Touch "banana" last so updatedAt order differs from createdAt order.
    app.client
        .patch(
            &format!("/todos/{}", todos[0]["id"]),
            Some(&user.token),
            &json!({"completed": true}),
        )
        .await
        .assert_status(200);

    assert_eq!(
        titles(&app, &user, "").await,
        ["banana", "Apple", "cherry", "apple"]
    );
    assert_eq!(
        titles(&app, &user, "?sort=createdAt").await,
        ["banana", "Apple", "cherry", "apple"]
    );
    assert_eq!(
        titles(&app, &user, "?sort=-createdAt").await,
        ["apple", "cherry", "Apple", "banana"]
    );
    assert_eq!(
        titles(&app, &user, "?sort=updatedAt").await,
        ["Apple", "cherry", "apple", "banana"]
    );
    assert_eq!(
        titles(&app, &user, "?sort=-updatedAt").await,
        ["banana", "apple", "cherry", "Apple"]
    );
    // Case-insensitive; equal titles ("Apple", "apple") in id order.
    assert_eq!(
        titles(&app, &user, "?sort=title").await,
        ["Apple", "apple", "banana", "cherry"]
    );
    assert_eq!(
        titles(&app, &user, "?sort=-title").await,
        ["cherry", "banana", "apple", "Apple"]
    );
}
