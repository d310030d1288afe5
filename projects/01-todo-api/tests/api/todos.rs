use proptest::prelude::*;
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app};

fn assert_todo_shape(todo: &Value) {
    let keys: Vec<_> = todo.as_object().expect("object").keys().cloned().collect();
    assert_eq!(
        keys,
        [
            "completed",
            "createdAt",
            "description",
            "id",
            "title",
            "updatedAt"
        ],
        "{todo}"
    );
    assert!(todo["id"].is_i64(), "id is an integer: {todo}");
    for key in ["createdAt", "updatedAt"] {
        let value = todo[key].as_str().expect("timestamp string");
        assert!(
            chrono::DateTime::parse_from_rfc3339(value).is_ok() && value.ends_with('Z'),
            "{value}"
        );
    }
}

#[actix_web::test]
async fn create_returns_the_new_todo() {
    let app = spawn_app().await;
    let user = app.new_user().await;
    let todo = app
        .create_todo(
            &user.token,
            json!({"title": "Buy groceries", "description": "Milk, eggs"}),
        )
        .await;
    assert_todo_shape(&todo);
    assert_eq!(todo["title"], "Buy groceries");
    assert_eq!(todo["description"], "Milk, eggs");
    assert_eq!(todo["completed"], false);
    assert_eq!(todo["createdAt"], todo["updatedAt"]);

    let without_description = app
        .create_todo(&user.token, json!({"title": "Call mum"}))
        .await;
    assert_eq!(without_description["description"], "");
    let empty_description = app
        .create_todo(&user.token, json!({"title": "x", "description": ""}))
        .await;
    assert_eq!(empty_description["description"], "");
}

#[actix_web::test]
async fn create_validates_title_and_description() {
    let app = spawn_app().await;
    let user = app.new_user().await;
    let cases = [
        (json!({}), "title"),
        (json!({"title": ""}), "title"),
        (json!({"title": "   "}), "title"),
        (json!({"title": "t".repeat(201)}), "title"),
        (
            json!({"title": "ok", "description": "d".repeat(10_001)}),
            "description",
        ),
        (json!({"title": "nul \u{0} inside"}), "title"),
    ];
    for (body, field) in cases {
        let response = app.client.post("/todos", Some(&user.token), &body).await;
        response.assert_status(400);
        let json = response.json();
        assert_eq!(json["message"], "Validation failed");
        assert!(json["errors"][field].is_array(), "{field}: {json}");
    }
    // The limits themselves are fine.
    app.create_todo(
        &user.token,
        json!({"title": "t".repeat(200), "description": "d".repeat(10_000)}),
    )
    .await;
}

#[actix_web::test]
async fn get_returns_own_todo_and_refuses_others() {
    let app = spawn_app().await;
    let owner = app.new_user().await;
    let stranger = app.new_user().await;
    let todo = app
        .create_todo(&owner.token, json!({"title": "Mine"}))
        .await;
    let path = format!("/todos/{}", todo["id"]);

    let response = app.client.get(&path, Some(&owner.token)).await;
    response.assert_status(200);
    assert_eq!(response.json(), todo);

    let response = app.client.get(&path, Some(&stranger.token)).await;
    response.assert_status(403);
    assert_eq!(response.json(), json!({"message": "Forbidden"}));

    let response = app.client.get("/todos/999999", Some(&owner.token)).await;
    response.assert_status(404);
    assert_eq!(response.json(), json!({"message": "Not Found"}));
}

#[actix_web::test]
async fn put_replaces_every_field() {
    let app = spawn_app().await;
    let user = app.new_user().await;
    let todo = app
        .create_todo(
            &user.token,
            json!({"title": "Old", "description": "old text"}),
        )
        .await;
    let path = format!("/todos/{}", todo["id"]);

    let response = app
        .client
        .put(
            &path,
            Some(&user.token),
            &json!({"title": "New", "description": "new text", "completed": true}),
        )
        .await;
    response.assert_status(200);
    let updated = response.json();
    assert_todo_shape(&updated);
    assert_eq!(
        (
            updated["title"].as_str(),
            updated["description"].as_str(),
            updated["completed"].as_bool()
        ),
        (Some("New"), Some("new text"), Some(true))
    );
    assert_eq!(updated["id"], todo["id"]);
    assert_eq!(updated["createdAt"], todo["createdAt"]);
    assert_ne!(updated["updatedAt"], todo["updatedAt"]);

    // A full replace: what is left out goes back to its default.
    let response = app
        .client
        .put(&path, Some(&user.token), &json!({"title": "Only title"}))
        .await;
    response.assert_status(200);
    let replaced = response.json();
    assert_eq!(
        (
            replaced["description"].as_str(),
            replaced["completed"].as_bool()
        ),
        (Some(""), Some(false))
    );

    app.client
        .put(
            &path,
            Some(&user.token),
            &json!({"description": "no title"}),
        )
        .await
        .assert_status(400);
    app.client
        .put("/todos/999999", Some(&user.token), &json!({"title": "x"}))
        .await
        .assert_status(404);
}

#[actix_web::test]
async fn patch_changes_only_what_is_sent() {
    let app = spawn_app().await;
    let user = app.new_user().await;
    let todo = app
        .create_todo(
            &user.token,
            json!({"title": "Keep", "description": "keep too"}),
        )
        .await;
    let path = format!("/todos/{}", todo["id"]);

    let response = app
        .client
        .patch(&path, Some(&user.token), &json!({"completed": true}))
        .await;
    response.assert_status(200);
    let patched = response.json();
    assert_eq!(patched["completed"], true);
    assert_eq!(patched["title"], "Keep");
    assert_eq!(patched["description"], "keep too");
    assert_ne!(patched["updatedAt"], todo["updatedAt"]);

    let response = app
        .client
        .patch(&path, Some(&user.token), &json!({"title": "Renamed"}))
        .await;
    response.assert_status(200);
    assert_eq!(
        (
            response.json()["title"].as_str(),
            response.json()["completed"].as_bool()
        ),
        (Some("Renamed"), Some(true))
    );

    let response = app
        .client
        .patch(&path, Some(&user.token), &json!({"title": ""}))
        .await;
    response.assert_status(400);
    assert!(response.json()["errors"]["title"].is_array());
    let unchanged = app.client.get(&path, Some(&user.token)).await.json();
    assert_eq!(
        unchanged["title"], "Renamed",
        "a rejected patch changes nothing"
    );
}

#[actix_web::test]
async fn only_the_owner_may_change_or_delete() {
    let app = spawn_app().await;
    let owner = app.new_user().await;
    let stranger = app.new_user().await;
    let todo = app
        .create_todo(&owner.token, json!({"title": "Mine"}))
        .await;
    let path = format!("/todos/{}", todo["id"]);

    for response in [
        app.client
            .put(&path, Some(&stranger.token), &json!({"title": "Hacked"}))
            .await,
        app.client
            .patch(&path, Some(&stranger.token), &json!({"completed": true}))
            .await,
        app.client.delete(&path, Some(&stranger.token)).await,
    ] {
        response.assert_status(403);
        assert_eq!(response.json(), json!({"message": "Forbidden"}));
    }
    assert_eq!(
        app.client.get(&path, Some(&owner.token)).await.json(),
        todo,
        "nothing changed"
    );
}

#[actix_web::test]
async fn delete_removes_the_todo() {
    let app = spawn_app().await;
    let user = app.new_user().await;
    let todo = app
        .create_todo(&user.token, json!({"title": "Temporary"}))
        .await;
    let path = format!("/todos/{}", todo["id"]);

    let response = app.client.delete(&path, Some(&user.token)).await;
    response.assert_status(204);
    assert!(response.text.is_empty());
    app.client
        .get(&path, Some(&user.token))
        .await
        .assert_status(404);
    app.client
        .delete(&path, Some(&user.token))
        .await
        .assert_status(404);
}

#[actix_web::test]
async fn text_is_stored_byte_exact() {
    let app = spawn_app().await;
    let user = app.new_user().await;
    let tricky = [
        r#"She said "hi" \ and left"#,
        "'; DROP TABLE todos; --",
        "Robert'); DELETE FROM users WHERE ('1'='1",
        "<script>alert('xss')</script>",
        "emoji 🎉👩‍💻 and ñ, 日本語, العربية",
        "  leading and trailing spaces  ",
        "line\nbreaks\r\nand\ttabs",
        "100% _literal_ %",
    ];
    for text in tricky {
        let todo = app
            .create_todo(&user.token, json!({"title": text, "description": text}))
            .await;
        let fetched = app
            .client
            .get(&format!("/todos/{}", todo["id"]), Some(&user.token))
            .await
            .json();
        assert_eq!(fetched["title"], text);
        assert_eq!(fetched["description"], text);
    }
}

/// Arbitrary Unicode (bar U+0000, which PostgreSQL cannot store and the API refuses) goes
/// through JSON, the database and back unchanged.
///
/// Found by this test in CI: a generated title of white space ending in an invisible
/// character, which the rule "not only invisible characters" now refuses.
#[test]
fn arbitrary_unicode_round_trips_exactly() {
    let system = actix_web::rt::System::new();
    let (app, token): (TestApp, String) = system.block_on(async {
        let app = spawn_app().await;
        let user = app.new_user().await;
        (app, user.token)
    });
    let title = "[^\u{0}]{0,199}[^\u{0}\\s]";
    let description = "[^\u{0}]{0,300}";
    proptest!(ProptestConfig::with_cases(48), |(title in title, description in description)| {
        // A title of white space and invisible characters only (U+200B, U+FEFF, …) is blank
        // and refused by design; every other one must come back unchanged.
        prop_assume!(!backend_kit::validation::is_blank(&title));
        let fetched = system.block_on(async {
            let todo = app.create_todo(&token, json!({"title": title, "description": description})).await;
            app.client.get(&format!("/todos/{}", todo["id"]), Some(&token)).await.json()
        });
        prop_assert_eq!(fetched["title"].as_str(), Some(title.as_str()));
        prop_assert_eq!(fetched["description"].as_str(), Some(description.as_str()));
    });
}
