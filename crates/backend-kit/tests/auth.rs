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
    let settings = Settings::for_tests("backend-kit-test", db.url().to_string());
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

/// A capstone that runs only the accounts set has no profile columns: capstone 1's database
/// is what its lesson needs, nothing from later capstones.
#[actix_web::test]
async fn the_accounts_set_alone_has_no_handles_or_mailed_links() {
    use diesel::prelude::*;

    let db = TestDatabase::new();
    let auth = auth_with(&db, |_| {});
    auth.register(
        "Ann".into(),
        email("ann@example.com"),
        password("password-1"),
    )
    .await
    .expect("registers");
    let url = backend_kit::db::DatabaseUrl::parse(db.url()).expect("url");
    let mut conn = url.connect().expect("connects");
    for query in [
        "SELECT username FROM users",
        "SELECT email_verified_at FROM users",
        "SELECT id FROM account_tokens",
    ] {
        assert!(
            diesel::sql_query(query).execute(&mut conn).is_err(),
            "{query} should fail without the profiles set"
        );
    }
}

/// With the profiles set, a handle is unique regardless of case and becomes the display name.
#[actix_web::test]
async fn handles_are_unique_regardless_of_case() {
    let db = TestDatabase::new();
    let settings = Settings::for_tests("backend-kit-test", db.url().to_string());
    let database = Database::from_settings(&settings, || {
        vec![
            backend_kit::auth::migrations(),
            backend_kit::auth::profile_migrations(),
        ]
    })
    .expect("database opens and migrates");
    let auth = Auth::new(database.clone(), &settings, AuthScheme::BEARER);
    let mut ids = Vec::new();
    for address in ["a@example.com", "b@example.com", "c@example.com"] {
        let (user, _) = auth
            .register("Ann".into(), email(address), password("password-1"))
            .await
            .expect("registers without a handle");
        ids.push(user.id);
    }
    let set = |id: i64, handle: &'static str| {
        database.run(move |conn| backend_kit::auth::set_username(conn, id, handle))
    };
    set(ids[0], "ann").await.expect("a first handle");
    set(ids[1], "bob").await.expect("another handle");
    assert!(matches!(
        set(ids[2], "ANN").await,
        Err(AuthError::UsernameTaken)
    ));
    let bob = auth.find_user(ids[1]).await.unwrap().expect("exists");
    assert_eq!(bob.name, "bob");
}

/// A database made before the migrations were squashed is refused with what to do, not with
/// "table users already exists".
#[actix_web::test]
async fn a_database_from_before_the_squash_is_refused_with_advice() {
    use diesel::prelude::*;

    let db = TestDatabase::new();
    auth_with(&db, |_| {});
    let url = backend_kit::db::DatabaseUrl::parse(db.url()).expect("url");
    let mut conn = url.connect().expect("connects");
    diesel::sql_query("INSERT INTO __diesel_schema_migrations (version) VALUES ('20260101000000')")
        .execute(&mut conn)
        .expect("an old version recorded");
    let refused = backend_kit::db::run_migrations(&mut conn, migrations())
        .expect_err("an old layout is refused");
    assert!(refused.to_string().contains("older checkout"), "{refused}");
}
