//! `todo-api seed`: the demo account can log in and sees its todos through the API; a second
//! seed is refused instead of mixing demo data into real data.

use backend_kit::db::Database;
use serde_json::json;
use todo_api::seed::{DEMO_EMAIL, seed};

use crate::helpers::spawn_app;

#[actix_web::test]
async fn seed_fills_an_empty_database_once_with_a_demo_account_that_works() {
    let app = spawn_app().await;
    // An account without todos (as another capstone's, in a shared database) is no obstacle.
    app.new_user().await;
    let db = Database::open(&app.settings, todo_api::db::migrations)
        .await
        .expect("database");
    let seeded = seed(&app.settings, &db, None).await.expect("seed");
    assert_eq!(seeded.todos, 12);
    assert_eq!(
        seeded.password.len(),
        16,
        "a random password when none is given"
    );

    let login = app
        .client
        .post(
            "/login",
            None,
            &json!({ "email": DEMO_EMAIL, "password": seeded.password }),
        )
        .await;
    login.assert_status(200);
    let token = login.json()["token"].as_str().expect("token").to_string();
    let all = app.client.get("/todos?limit=100", Some(&token)).await;
    all.assert_status(200);
    assert_eq!(all.json()["total"], 12);
    let done = app.client.get("/todos?completed=true", Some(&token)).await;
    assert_eq!(done.json()["total"], 5);

    let again = seed(&app.settings, &db, Some("another-password".into()))
        .await
        .err()
        .expect("a second seed must be refused");
    assert!(
        again.to_string().contains("already has data here"),
        "{again}"
    );
    let all = app.client.get("/todos?limit=100", Some(&token)).await;
    assert_eq!(
        all.json()["total"],
        12,
        "nothing was added by the refused seed"
    );
}

#[actix_web::test]
async fn a_given_demo_password_is_checked_like_a_registration() {
    let app = spawn_app().await;
    let db = Database::open(&app.settings, todo_api::db::migrations)
        .await
        .expect("database");
    let err = seed(&app.settings, &db, Some("short".into()))
        .await
        .err()
        .expect("too short");
    assert!(err.to_string().contains("at least 8 bytes"), "{err}");
}

/// The command as an operator runs it: DEMO_PASSWORD from `.env` (read before the command
/// line, as the settings are), counts on stdout, no password printed when one was given, and
/// exit 1 with the reason on a second run.
#[test]
fn the_seed_command_takes_its_password_from_dot_env() {
    use backend_kit::db::{AnyConnection, DatabaseUrl};
    use diesel::prelude::*;

    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join(".env"), "DEMO_PASSWORD=from-the-env-file\n").expect(".env");
    let database = dir.path().join("demo.db");
    let run = || {
        test_support::process::command(env!("CARGO_BIN_EXE_todo-api"))
            .arg("seed")
            .current_dir(dir.path())
            .env("DATABASE_URL", &database)
            .output()
            .expect("todo-api seed")
    };
    let first = run();
    let stdout = String::from_utf8_lossy(&first.stdout);
    assert!(first.status.success(), "{first:?}");
    assert!(
        stdout.contains("seeded 12 todos for demo@todo.example.com"),
        "{stdout}"
    );
    assert!(
        !stdout.contains("password"),
        "a given password is not echoed: {stdout}"
    );

    let url = DatabaseUrl::parse(&database.to_string_lossy()).expect("url");
    let Ok(AnyConnection::Sqlite(mut conn)) = url.connect() else {
        panic!("the seeded SQLite file")
    };
    let hash: String = diesel::sql_query("SELECT password_hash AS hash FROM users")
        .get_result::<Hash>(&mut conn)
        .expect("the demo account")
        .hash;
    let hasher = backend_kit::auth::PasswordHasher::new(4);
    assert!(
        hasher
            .verify_blocking("from-the-env-file", Some(&hash))
            .expect("bcrypt")
    );

    let second = run();
    assert_eq!(second.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(
        stderr.contains("todo-api: this capstone already has data here"),
        "{stderr}"
    );
}

#[derive(diesel::QueryableByName)]
struct Hash {
    #[diesel(sql_type = diesel::sql_types::Text)]
    hash: String,
}
