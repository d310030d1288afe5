//! The auth service against a real database: SQLite by default, PostgreSQL when
//! `TEST_DATABASE_URL` is set (see the test-support crate).

use std::time::Duration;

use backend_kit::auth::{Auth, AuthError, AuthScheme, EmailAddress, Password};
use backend_kit::config::Settings;
use backend_kit::db::Database;
use test_support::TestDatabase;

fn migrations() -> Vec<backend_kit::db::MigrationSet> {
    vec![backend_kit::auth::migrations()]
}

fn auth_with(db: &TestDatabase, tweak: impl FnOnce(&mut Settings)) -> Auth {
    let mut settings = Settings::for_tests("backend-kit-test", db.url().to_string());
    tweak(&mut settings);
    let database =
        Database::from_settings(&settings, migrations).expect("database opens and migrates");
    Auth::new(database, &settings, AuthScheme::BEARER)
}

fn email(raw: &str) -> EmailAddress {
    EmailAddress::parse(raw).expect("valid e-mail")
}

fn password(raw: &str) -> Password {
    Password::parse(raw.to_string()).expect("valid password")
}

#[actix_web::test]
async fn register_then_login_with_the_same_password() {
    let db = TestDatabase::new();
    let auth = auth_with(&db, |_| {});
    let (user, pair) = auth
        .register(
            "Ann".into(),
            email("Ann@Example.com"),
            password("correct horse"),
        )
        .await
        .expect("registers");
    assert_eq!(user.email, "ann@example.com");
    assert_eq!(
        auth.verify_access_token(&pair.access_token).expect("valid"),
        user.id
    );

    let (again, _) = auth
        .login("ANN@example.com", "correct horse")
        .await
        .expect("logs in");
    assert_eq!(again.id, user.id);
}

#[actix_web::test]
async fn wrong_password_and_unknown_email_fail_alike() {
    let db = TestDatabase::new();
    let auth = auth_with(&db, |_| {});
    auth.register(
        "Ann".into(),
        email("ann@example.com"),
        password("correct horse"),
    )
    .await
    .expect("registers");
    assert!(matches!(
        auth.login("ann@example.com", "wrong horse").await,
        Err(AuthError::InvalidCredentials)
    ));
    assert!(matches!(
        auth.login("nobody@example.com", "correct horse").await,
        Err(AuthError::InvalidCredentials)
    ));
}

#[actix_web::test]
async fn login_with_a_password_over_72_bytes_is_refused_not_truncated() {
    let db = TestDatabase::new();
    let auth = auth_with(&db, |_| {});
    let base = "p".repeat(72);
    auth.register("Ann".into(), email("ann@example.com"), password(&base))
        .await
        .expect("registers");
    let longer = format!("{base}extra");
    assert!(matches!(
        auth.login("ann@example.com", &longer).await,
        Err(AuthError::PasswordTooLong)
    ));
}

#[actix_web::test]
async fn an_email_can_register_only_once_whatever_its_case() {
    let db = TestDatabase::new();
    let auth = auth_with(&db, |_| {});
    auth.register(
        "Ann".into(),
        email("ann@example.com"),
        password("password-1"),
    )
    .await
    .expect("registers");
    let again = auth
        .register(
            "Other".into(),
            email("ANN@EXAMPLE.COM"),
            password("password-2"),
        )
        .await;
    assert!(matches!(again, Err(AuthError::EmailTaken)));
}

#[actix_web::test]
async fn refresh_rotates_and_reuse_revokes_the_family() {
    let db = TestDatabase::new();
    let auth = auth_with(&db, |_| {});
    let (user, first) = auth
        .register(
            "Ann".into(),
            email("ann@example.com"),
            password("password-1"),
        )
        .await
        .expect("registers");

    let (same_user, second) = auth
        .refresh(&first.refresh_token)
        .await
        .expect("first use rotates");
    assert_eq!(same_user.id, user.id);
    assert_ne!(second.refresh_token, first.refresh_token);
    assert_eq!(
        auth.verify_access_token(&second.access_token)
            .expect("valid"),
        user.id
    );

    // The old token shown again: theft assumed, the whole family dies, including `second`.
    assert!(matches!(
        auth.refresh(&first.refresh_token).await,
        Err(AuthError::InvalidToken)
    ));
    assert!(matches!(
        auth.refresh(&second.refresh_token).await,
        Err(AuthError::InvalidToken)
    ));

    // Another session of the same user is untouched.
    let (_, other_session) = auth
        .login("ann@example.com", "password-1")
        .await
        .expect("logs in");
    auth.refresh(&other_session.refresh_token)
        .await
        .expect("other family still works");
}

#[actix_web::test]
async fn concurrent_uses_of_one_refresh_token_rotate_it_once() {
    let db = TestDatabase::new();
    let auth = auth_with(&db, |_| {});
    let (_, pair) = auth
        .register(
            "Ann".into(),
            email("ann@example.com"),
            password("password-1"),
        )
        .await
        .expect("registers");
    let attempts = (0..4).map(|_| {
        let auth = auth.clone();
        let token = pair.refresh_token.clone();
        async move { auth.refresh(&token).await }
    });
    let results = futures_join_all(attempts).await;
    let successes = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(
        successes, 1,
        "exactly one concurrent use may rotate a refresh token"
    );
    for result in &results {
        assert!(
            matches!(result, Ok(_) | Err(AuthError::InvalidToken)),
            "{result:?}"
        );
    }
}

#[actix_web::test]
async fn logout_revokes_the_session() {
    let db = TestDatabase::new();
    let auth = auth_with(&db, |_| {});
    let (_, pair) = auth
        .register(
            "Ann".into(),
            email("ann@example.com"),
            password("password-1"),
        )
        .await
        .expect("registers");
    auth.logout(&pair.refresh_token).await.expect("logs out");
    assert!(matches!(
        auth.refresh(&pair.refresh_token).await,
        Err(AuthError::InvalidToken)
    ));
    auth.logout("never-issued")
        .await
        .expect("unknown tokens are ignored");
}

#[actix_web::test]
async fn an_expired_refresh_token_is_refused() {
    let db = TestDatabase::new();
    let auth = auth_with(&db, |s| s.refresh_token_ttl = Duration::ZERO);
    let (_, pair) = auth
        .register(
            "Ann".into(),
            email("ann@example.com"),
            password("password-1"),
        )
        .await
        .expect("registers");
    assert!(matches!(
        auth.refresh(&pair.refresh_token).await,
        Err(AuthError::InvalidToken)
    ));
}

#[actix_web::test]
async fn refresh_tokens_are_stored_only_as_hashes() {
    let db = TestDatabase::new();
    let mut settings = Settings::for_tests("backend-kit-test", db.url().to_string());
    settings.bcrypt_cost = 4;
    let database = Database::from_settings(&settings, migrations).expect("opens");
    let auth = Auth::new(database.clone(), &settings, AuthScheme::BEARER);
    let (_, pair) = auth
        .register(
            "Ann".into(),
            email("ann@example.com"),
            password("password-1"),
        )
        .await
        .expect("registers");
    use backend_kit::auth::schema::{refresh_tokens, users};
    use diesel::prelude::*;
    let (stored_hashes, password_hash) = database
        .run(|conn| {
            let tokens = refresh_tokens::table
                .select(refresh_tokens::token_hash)
                .load::<String>(conn)?;
            let hash = users::table
                .select(users::password_hash)
                .first::<String>(conn)?;
            Ok::<_, backend_kit::db::DbError>((tokens, hash))
        })
        .await
        .expect("query");
    assert_eq!(
        stored_hashes,
        vec![backend_kit::auth::opaque::hash_token(&pair.refresh_token)]
    );
    assert!(!stored_hashes.contains(&pair.refresh_token));
    assert!(password_hash.starts_with("$2b$04$"), "{password_hash}");
}

/// Runs the futures as concurrent tasks and collects their results in order.
async fn futures_join_all<F>(futures: impl Iterator<Item = F>) -> Vec<F::Output>
where
    F: std::future::Future + 'static,
    F::Output: 'static,
{
    let handles: Vec<_> = futures.map(actix_web::rt::spawn).collect();
    let mut out = Vec::new();
    for handle in handles {
        out.push(handle.await.expect("task finished"));
    }
    out
}

#[test]
#[ignore = "needs TEST_DATABASE_URL"]
fn instances_starting_together_all_migrate_the_same_fresh_database() {
    // A scaled-out service starts its instances at once; each runs the migrations on start-up.
    // Scaling out is on PostgreSQL; four processes opening one fresh SQLite file at once can
    // still meet "database is locked" while it switches to WAL (seen once in CI).
    assert_eq!(
        test_support::database_backend(),
        "postgres",
        "this test needs PostgreSQL: set TEST_DATABASE_URL (`.ci/run` does)"
    );
    let db = TestDatabase::new();
    let settings = Settings::for_tests("backend-kit-test", db.url().to_string());
    let barrier = std::sync::Barrier::new(4);
    std::thread::scope(|scope| {
        let starts: Vec<_> = (0..4)
            .map(|_| {
                scope.spawn(|| {
                    barrier.wait();
                    Database::from_settings(&settings, migrations).map(|_| ())
                })
            })
            .collect();
        for start in starts {
            start
                .join()
                .expect("no panic")
                .expect("every instance starts");
        }
    });
}

/// `users.username` is optional (capstones 1 and 2 never set it) and unique where set (the
/// blog's and the chat's public handles).
#[actix_web::test]
async fn usernames_are_optional_and_unique_where_set() {
    use diesel::prelude::*;
    use diesel::result::{DatabaseErrorKind, Error};

    let db = TestDatabase::new();
    let auth = auth_with(&db, |_| {});
    let mut ids = Vec::new();
    for address in ["a@example.com", "b@example.com", "c@example.com"] {
        let (user, _) = auth
            .register("Ann".into(), email(address), password("password-1"))
            .await
            .expect("registers without a username");
        assert_eq!(user.username, None);
        ids.push(user.id);
    }
    let url = backend_kit::db::DatabaseUrl::parse(db.url()).expect("url");
    let mut conn = url.connect().expect("connects");
    let set = |conn: &mut backend_kit::db::AnyConnection, id: i64, name: &str| {
        diesel::sql_query(format!(
            "UPDATE users SET username = '{name}' WHERE id = {id}"
        ))
        .execute(conn)
    };
    set(&mut conn, ids[0], "ann").expect("a first handle");
    set(&mut conn, ids[1], "bob").expect("another handle");
    assert!(matches!(
        set(&mut conn, ids[2], "ann"),
        Err(Error::DatabaseError(DatabaseErrorKind::UniqueViolation, _))
    ));
}
