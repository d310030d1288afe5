//! Background jobs: CSV imports through the queue, retries, a crash mid-import, and the cron
//! job (daily roll-up, expired links). The queue lives where the app's database is (SQLite
//! file or PostgreSQL), or in Redis under `TEST_REDIS_URL` for the Redis-queue test.

use serde_json::{Value, json};
use test_support::{TestDatabase, TestRedis};

use crate::helpers::{TestApp, count, execute_sql, is_postgres, spawn_app, start, token};

fn finished(job: &Value) -> bool {
    job["status"] == "succeeded" || job["status"] == "failed"
}

async fn queue_import(app: &TestApp, csv: &str, token: Option<&str>) -> String {
    let response = app.import(csv, token).await;
    response.assert_status(202);
    let id = response.json()["jobId"]
        .as_str()
        .expect("jobId")
        .to_string();
    assert_eq!(
        response.header("location"),
        Some(format!("/jobs/{id}").as_str())
    );
    id
}

#[actix_web::test]
async fn an_import_creates_links_and_reports_the_rows_that_failed() {
    let app = spawn_app().await;
    app.create(json!({"url": "https://example.com/x", "customCode": "taken-code"}))
        .await;
    let csv = "url,customCode\n\
               https://example.com/one,imported-one\n\
               https://example.com/two\n\
               ftp://example.com/nope\n\
               https://example.com/three,taken-code\n\
               \"https://example.com/four?a=1,2\",imported-four\n\
               https://example.com/five,imported-one\n\
               https://example.com/six,a!\n";
    let owner = token(&app).await;
    let id = queue_import(&app, csv, Some(&owner)).await;

    let job = app.wait_for_job(&id, &owner, 20, finished).await;
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(job["kind"], "import");
    assert_eq!(job["total"], 7);
    assert_eq!(job["processed"], 7);
    assert_eq!(job["progress"], 100);
    assert_eq!(job["imported"], 3);
    assert_eq!(job["attempts"], 1);
    assert!(job["finishedAt"].is_string());
    let failed: Vec<(i64, &str)> = job["failedRows"]
        .as_array()
        .expect("failedRows")
        .iter()
        .map(|r| (r["line"].as_i64().unwrap(), r["reason"].as_str().unwrap()))
        .collect();
    assert_eq!(
        failed,
        vec![
            (4, "url must use http or https"),
            (5, "customCode is already taken"),
            (7, "customCode is already taken"),
            (8, "customCode must be 3 to 64 characters"),
        ],
        "{job}"
    );
    assert_eq!(job["failedRows"][1]["url"], "https://example.com/three");
    assert_eq!(job["failedRows"][1]["customCode"], "taken-code");

    let redirect = app.visit("imported-four").await;
    redirect.assert_status(302);
    assert_eq!(
        redirect.header("location"),
        Some("https://example.com/four?a=1,2")
    );
    app.visit("imported-one").await.assert_status(302);
}

/// A quote left open must not glue the rows after it into one link, nor lose them.
#[actix_web::test]
async fn a_quote_left_open_spoils_its_own_line_only() {
    let app = spawn_app().await;
    let owner = token(&app).await;
    let csv = "url\nhttps://example.com/ok\n\"https://example.com/x\nhttps://example.com/y\nhttps://example.com/z\n";
    let id = queue_import(&app, csv, Some(&owner)).await;
    let job = app.wait_for_job(&id, &owner, 20, finished).await;
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(job["total"], 4, "{job}");
    assert_eq!(job["imported"], 3, "{job}");
    assert_eq!(job["failedRows"][0]["line"], 3, "{job}");
    assert_eq!(
        job["failedRows"][0]["reason"], "unreadable CSV: a quote is left open on this line",
        "{job}"
    );
    assert_eq!(
        count(
            &app.database_url,
            "SELECT COUNT(*) AS n FROM links WHERE url LIKE '%xhttps%'"
        ),
        0
    );
}

#[actix_web::test]
async fn an_import_refuses_what_it_cannot_read() {
    let app = spawn_app().await;
    let json_body = app
        .client
        .post(
            "/shorten/import",
            None,
            &json!({"url": "https://example.com"}),
        )
        .await;
    json_body.assert_status(415);
    assert_eq!(
        json_body.json(),
        json!({"message": "Content-Type must be text/csv"})
    );

    let owner = token(&app).await;
    let empty = app.import("url,customCode\n\n", Some(&owner)).await;
    empty.assert_status(400);
    assert_eq!(
        empty.json()["errors"]["body"][0],
        "has no rows: one url per line"
    );

    let too_many = "https://example.com/\n".repeat(10_001);
    let response = app.import(&too_many, Some(&owner)).await;
    response.assert_status(400);
    assert_eq!(
        response.json()["errors"]["body"][0],
        "has 10001 rows; at most 10000 per import"
    );

    let too_big = "x".repeat(1024 * 1024 + 1);
    let response = app.import(&too_big, None).await;
    response.assert_status(413);
    assert_eq!(response.json(), json!({"message": "CSV file over 1 MiB"}));

    let missing = app.client.get("/jobs/no-such-job", None).await;
    missing.assert_status(404);
    assert_eq!(missing.json(), json!({"message": "Not Found"}));
}

#[actix_web::test]
async fn an_import_with_a_token_belongs_to_its_user() {
    let app = spawn_app().await;
    let owner = token(&app).await;
    let stranger = token(&app).await;
    let id = queue_import(
        &app,
        "https://example.com/mine,owned-import\n",
        Some(&owner),
    )
    .await;

    let anonymous = app.client.get(&format!("/jobs/{id}"), None).await;
    anonymous.assert_status(401);
    app.client
        .get(&format!("/jobs/{id}"), Some(&stranger))
        .await
        .assert_status(403);
    let mut job = Value::Null;
    for _ in 0..400 {
        job = app
            .client
            .get(&format!("/jobs/{id}"), Some(&owner))
            .await
            .json();
        if finished(&job) {
            break;
        }
        actix_web::rt::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(job["status"], "succeeded", "{job}");
    // The link is the owner's too.
    app.client
        .delete("/shorten/owned-import", Some(&stranger))
        .await
        .assert_status(403);
    app.client
        .delete("/shorten/owned-import", Some(&owner))
        .await
        .assert_status(204);
}

/// Makes every INSERT into `links` fail, as a broken database would.
fn break_link_inserts(database_url: &str) {
    if is_postgres(database_url) {
        execute_sql(
            database_url,
            "CREATE FUNCTION refuse_links() RETURNS trigger AS $$ \
             BEGIN RAISE EXCEPTION 'links are read-only'; END $$ LANGUAGE plpgsql",
        );
        execute_sql(
            database_url,
            "CREATE TRIGGER refuse_links BEFORE INSERT ON links \
             FOR EACH ROW EXECUTE FUNCTION refuse_links()",
        );
    } else {
        execute_sql(
            database_url,
            "CREATE TRIGGER refuse_links BEFORE INSERT ON links \
             BEGIN SELECT RAISE(ABORT, 'links are read-only'); END",
        );
    }
}

#[actix_web::test]
async fn a_job_that_keeps_failing_is_retried_then_left_failed() {
    let app = spawn_app().await; // 3 attempts, 50–200 ms backoff (JobSettings::for_tests)
    break_link_inserts(&app.database_url);
    let owner = token(&app).await;
    let id = queue_import(&app, "https://example.com/doomed\n", Some(&owner)).await;

    let job = app.wait_for_job(&id, &owner, 20, finished).await;
    assert_eq!(job["status"], "failed", "{job}");
    assert_eq!(job["attempts"], 3, "{job}");
    assert_eq!(job["processed"], 0);
    assert_eq!(job["imported"], 0);
    let error = job["error"].as_str().expect("error");
    assert!(error.contains("links are read-only"), "{error}");
    assert!(job["finishedAt"].is_string());
}

/// The import is interrupted mid-way by a crash; a new instance on the same database (and
/// queue) picks the job up once the dead worker's heartbeats stop, and finishes it without
/// creating any link twice.
async fn an_import_survives_a_crash(
    database: TestDatabase,
    jobs_url: Option<String>,
    redis: Option<TestRedis>,
) {
    const ROWS: usize = 1500;
    let url = database.url().to_string();
    let configure = |config: &mut url_shortener::Config| {
        config.import_batch_size = 1; // one transaction per row: slow enough to interrupt
        config.jobs.url = jobs_url.clone();
    };
    let mut first = start(url.clone(), redis.clone(), configure).await;
    let csv: String = (0..ROWS)
        .map(|i| format!("https://example.com/{i}\n"))
        .collect();
    let owner = token(&first).await;
    let id = queue_import(&first, &csv, Some(&owner)).await;
    let job = first
        .wait_for_job(&id, &owner, 20, |job| job["processed"].as_i64() > Some(0))
        .await;
    assert_eq!(job["status"], "running", "{job}");
    first.crash().await;

    let second = start(url.clone(), redis, configure).await;
    let job = second.wait_for_job(&id, &owner, 30, finished).await;
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(job["processed"], ROWS as i64);
    assert_eq!(job["imported"], ROWS as i64);
    assert!(job["attempts"].as_i64() >= Some(2), "{job}");
    assert_eq!(job["failedRows"], json!([]));
    // Exactly one link per row: nothing was imported twice.
    assert_eq!(count(&url, "SELECT COUNT(*) AS n FROM links"), ROWS as i64);
    drop(database);
}

#[actix_web::test]
async fn an_import_in_flight_when_the_process_dies_runs_after_restart() {
    an_import_survives_a_crash(TestDatabase::new(), None, None).await;
}

#[actix_web::test]
#[ignore = "needs TEST_REDIS_URL"]
async fn an_import_in_flight_survives_a_crash_with_the_queue_in_redis() {
    let redis = TestRedis::required();
    let jobs_url = Some(redis.url.clone());
    an_import_survives_a_crash(TestDatabase::new(), jobs_url, Some(redis)).await;
}

#[actix_web::test]
async fn the_cron_job_rolls_visits_up_per_day_and_marks_expired_links() {
    let app = spawn_app().await;
    let code = app
        .create(json!({"url": "https://example.com/daily"}))
        .await;
    for _ in 0..3 {
        app.visit(&code).await.assert_status(302);
    }
    app.wait_for_count(&code, 3).await;
    let yesterday = (chrono::Utc::now() - chrono::Duration::days(1))
        .date_naive()
        .to_string();
    // Move the visits to yesterday, a complete day the next roll-up will take.
    execute_sql(
        &app.database_url,
        if is_postgres(&app.database_url) {
            "UPDATE visits SET visited_at = visited_at - INTERVAL '1 day'"
        } else {
            "UPDATE visits SET visited_at = datetime(visited_at, '-1 day')"
        },
    );
    let limited = app
        .create(json!({"url": "https://example.com/once", "maxVisits": 1}))
        .await;
    app.visit(&limited).await.assert_status(302);
    app.wait_for_count(&limited, 1).await;

    // One run of the step; then delete the raw rows: the daily count must now come from
    // `daily_visits` alone.
    app.run_maintenance(std::time::Duration::from_secs(3600))
        .await;
    let marked = app
        .client
        .get(&format!("/shorten/{limited}"), None)
        .await
        .json();
    assert!(marked["expiredAt"].is_string(), "{marked}");
    execute_sql(&app.database_url, "DELETE FROM visits");
    let stats = app
        .client
        .get(&format!("/shorten/{code}/stats?by=day"), None)
        .await
        .json();
    assert_eq!(
        stats["breakdown"],
        json!([{"key": yesterday, "visits": 3}]),
        "{stats}"
    );
    assert_eq!(stats["accessCount"], 3);

    // Updating the link revives it; the next run would mark it again if still expired.
    let updated = app
        .client
        .put(
            &format!("/shorten/{limited}"),
            None,
            &json!({"url": "https://example.com/again", "maxVisits": 5}),
        )
        .await;
    updated.assert_status(200);
    assert!(updated.json().get("expiredAt").is_none());
}

/// A 1 MiB upload of half a million short lines (as a new user measured: 99.7 s to refuse,
/// with `/health` frozen meanwhile) is refused within a second, and the server keeps
/// answering other requests while it reads and counts the rows.
#[actix_web::test]
async fn a_huge_import_is_refused_at_once_and_stalls_nothing() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::{Duration, Instant};

    let app = spawn_app().await;
    let owner = token(&app).await;
    let csv = "x\n".repeat(524_000);
    assert!(csv.len() <= 1024 * 1024);

    let uploading = Arc::new(AtomicBool::new(true));
    let poller = {
        let (client, uploading) = (app.client.clone(), uploading.clone());
        actix_web::rt::spawn(async move {
            let mut latencies = Vec::new();
            while uploading.load(Ordering::Relaxed) {
                let started = Instant::now();
                client.get("/health", None).await.assert_status(200);
                latencies.push(started.elapsed());
            }
            latencies
        })
    };
    let started = Instant::now();
    let response = app.import(&csv, Some(&owner)).await;
    let took = started.elapsed();
    uploading.store(false, Ordering::Relaxed);
    let mut latencies = poller.await.expect("poller");

    response.assert_status(400);
    assert_eq!(
        response.json()["errors"]["body"][0],
        "has 524000 rows; at most 10000 per import"
    );
    assert!(took < Duration::from_secs(1), "refused after {took:?}");
    latencies.sort();
    let p99 = latencies[(latencies.len() * 99 / 100).min(latencies.len() - 1)];
    assert!(
        p99 < Duration::from_millis(50),
        "/health p99 {p99:?} over {} requests during the upload",
        latencies.len()
    );
}

/// Imports store a file and a report, so they need an account (anonymous uploads filled the
/// disk: twenty 1 MiB files grew the database by ~42 MB); a refused row's report keeps at
/// most 2 048 characters of it, and the file itself is dropped once processed.
#[actix_web::test]
async fn an_import_needs_an_account_and_keeps_only_a_small_report() {
    let app = spawn_app().await;
    let anonymous = app.import("https://example.com/\n", None).await;
    anonymous.assert_status(401);
    assert_eq!(anonymous.json(), json!({"message": "Unauthorized"}));

    let owner = token(&app).await;
    let huge_url = format!("https://example.com/{}", "a".repeat(100_000));
    let id = queue_import(
        &app,
        &format!("{huge_url}\nhttps://example.com/ok\n"),
        Some(&owner),
    )
    .await;
    let job = app.wait_for_job(&id, &owner, 20, finished).await;
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(job["imported"], 1);
    let reported = job["failedRows"][0]["url"].as_str().expect("url");
    assert_eq!(reported.chars().count(), 2048);
    assert!(huge_url.starts_with(reported));
    assert_eq!(
        count(
            &app.database_url,
            &format!("SELECT COUNT(*) AS n FROM import_jobs WHERE id = '{id}' AND csv = ''")
        ),
        1,
        "the file is dropped once processed"
    );
}

/// A user may have a few imports unfinished at once (`IMPORT_MAX_UNFINISHED`); more wait.
#[actix_web::test]
async fn unfinished_imports_are_capped_per_user() {
    let app = crate::helpers::spawn_app_with(|c| c.import_max_unfinished = 1).await;
    let owner = token(&app).await;
    let user_id = count(&app.database_url, "SELECT MAX(id) AS n FROM users");
    // One import of theirs that is still queued.
    execute_sql(
        &app.database_url,
        &format!(
            "INSERT INTO import_jobs (id, user_id, status, csv, total, processed, imported, \
             attempts, created_at, updated_at) VALUES ('pending-one', {user_id}, 'queued', \
             'https://example.com/', 1, 0, 0, 0, '2026-01-01 00:00:00', '2026-01-01 00:00:00')"
        ),
    );
    let refused = app.import("https://example.com/two\n", Some(&owner)).await;
    refused.assert_status(429);
    assert!(refused.header("retry-after").is_some());
    // Someone else is not held up by it.
    let other = token(&app).await;
    app.import("https://example.com/three\n", Some(&other))
        .await
        .assert_status(202);
}

/// Finished imports' reports are deleted by the maintenance job after
/// `IMPORT_RETENTION_DAYS`; younger ones stay.
#[actix_web::test]
async fn finished_import_reports_are_deleted_after_the_retention() {
    let app = spawn_app().await;
    let owner = token(&app).await;
    let id = queue_import(&app, "https://example.com/kept\n", Some(&owner)).await;
    let job = app.wait_for_job(&id, &owner, 20, finished).await;
    assert_eq!(job["status"], "succeeded", "{job}");
    let path = format!("/jobs/{id}");

    app.run_maintenance(std::time::Duration::from_secs(3600))
        .await;
    app.client.get(&path, Some(&owner)).await.assert_status(200);
    app.run_maintenance(std::time::Duration::ZERO).await;
    app.client.get(&path, Some(&owner)).await.assert_status(404);
    // The links it made stay.
    assert_eq!(
        count(&app.database_url, "SELECT COUNT(*) AS n FROM links"),
        1
    );
}
