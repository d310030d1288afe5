//! The `blog` binary as an operator runs it: `blog jobs`, and a server process killed with
//! mail queued (SIGKILL: no shutdown hook runs) whose mail a restarted process delivers.

use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use backend_kit::db::DbError;
use backend_kit::mail::outbox::mail_outbox;
use diesel::prelude::*;
use serde_json::json;
use test_support::process::{self, Running};
use test_support::smtp::SmtpServer;
use test_support::{TestClient, TestDatabase, free_port, unique_suffix};

use crate::helpers::TestApp;

fn command(database_url: &str, smtp_url: &str, workdir: &std::path::Path) -> Command {
    let mut command = process::command(env!("CARGO_BIN_EXE_blog"));
    command
        .current_dir(workdir)
        .env("DATABASE_URL", database_url)
        .env("SMTP_URL", smtp_url);
    command
}

/// Runs `blog <args>` against the test app's database and SMTP server.
pub fn blog(app: &TestApp, args: &[&str]) -> Output {
    let workdir = tempfile::tempdir().expect("temp dir");
    command(app.database.url(), &app.smtp.url(), workdir.path())
        .args(args)
        .output()
        .expect("run the blog binary")
}

/// A `blog serve` process on a free port, ready to answer.
async fn serve(
    database_url: &str,
    smtp_url: &str,
    workdir: &std::path::Path,
) -> (Running, TestClient) {
    let port = free_port();
    let child = command(database_url, smtp_url, workdir)
        .env("PORT", port.to_string())
        // A failed attempt waits 5–10 s for the next: time to kill the process while its
        // mail is queued (not halfway through a send, which would wait out the lease).
        .env("MAIL_RETRY_BASE_SECS", "10")
        .env("JOBS_HEARTBEAT_SECS", "1")
        .env("AUTH_RATE_LIMIT_PER_MINUTE", "1000")
        .stdout(Stdio::null())
        .stderr(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(workdir.join("server.log"))
                .map(Stdio::from)
                .unwrap_or_else(|_| Stdio::null()),
        )
        .arg("serve")
        .spawn()
        .map(Running)
        .expect("start blog serve");
    process::wait_until_healthy(port).await;
    (child, TestClient::new(port).with_auth_scheme("Token"))
}

#[actix_web::test]
async fn mail_queued_in_a_killed_process_is_delivered_after_a_restart() {
    let database = TestDatabase::new();
    let mut smtp = SmtpServer::start();
    let workdir = tempfile::tempdir().expect("temp dir");
    smtp.stop();

    let (mut first, client) = serve(database.url(), &smtp.url(), workdir.path()).await;
    let username = format!("ann_{}", unique_suffix());
    let email = format!("{username}@example.com");
    client
        .post(
            "/api/users",
            None,
            &json!({"user": {"username": username, "email": email, "password": "password-123"}}),
        )
        .await
        .assert_status(201);

    // Wait until an attempt failed (SMTP is down) and the retry is scheduled, then kill -9:
    // the mail is queued for a retry that this process will never make.
    let db = backend_kit::db::Database::connect(
        &backend_kit::db::DatabaseUrl::parse(database.url()).unwrap(),
        1,
        blog::db::migrations,
    )
    .expect("open the database");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let rows: Vec<(String, i32)> = db
            .run(|conn| {
                mail_outbox::table
                    .select((mail_outbox::status, mail_outbox::attempts))
                    .load(conn)
                    .map_err(DbError::from)
            })
            .await
            .unwrap();
        if rows
            .first()
            .is_some_and(|(status, attempts)| status == "queued" && *attempts == 1)
        {
            break;
        }
        assert!(Instant::now() < deadline, "no attempt made");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The retry's job is pushed just after the row is marked queued; killed in between,
    // the row would wait for the sweeper (minutes). The next attempt is 5–10 s away.
    tokio::time::sleep(Duration::from_secs(1)).await;
    first.kill();

    smtp.restart();
    let (_second, _client) = serve(database.url(), &smtp.url(), workdir.path()).await;
    let mail = smtp
        .wait_for_within(&email, "Verify", Duration::from_secs(60))
        .await
        .unwrap_or_else(|| {
            let log =
                std::fs::read_to_string(workdir.path().join("server.log")).unwrap_or_default();
            panic!("no verification mail after the restart; the servers' log:\n{log}")
        });
    assert!(mail.link("/api/users/verify").is_some());
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(smtp.messages_to(&email).len(), 1, "sent once");
}

/// stdout and stderr a pipe nobody reads any more (`blog 2>&1 | head -1`, a log shipper that
/// died): the server keeps serving, and SIGTERM still stops it cleanly. Writing the failure of
/// a log write to a closed stderr used to panic: the server died at its second log line.
#[actix_web::test]
async fn a_closed_log_pipe_neither_kills_the_server_nor_hides_sigterm() {
    let database = TestDatabase::new();
    let workdir = tempfile::tempdir().expect("temp dir");
    let port = free_port();
    let mut child = command(database.url(), "", workdir.path())
        .env("PORT", port.to_string())
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .arg("serve")
        .spawn()
        .expect("start blog");
    // The reader goes away at once: every log line from now on meets a broken pipe.
    drop(child.stdout.take());
    drop(child.stderr.take());
    let mut server = Running(child);
    process::wait_until_healthy(port).await;
    let client = TestClient::new(port);
    for _ in 0..20 {
        client.get("/api/articles", None).await.assert_status(200);
    }
    let status = Command::new("kill")
        .args(["-TERM", &server.0.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let started = Instant::now();
    let exit = loop {
        if let Some(exit) = server.0.try_wait().unwrap() {
            break exit;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "SIGTERM did not stop the server"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(exit.success(), "{exit:?}");
}

/// The command line's contract: help and version need no configuration and write nothing;
/// a usage mistake exits 2 and starts nothing; `serve --port` wins over `PORT`, and what is
/// derived from the port (the links in mail, through the default `PUBLIC_URL`) follows it.
#[actix_web::test]
async fn the_command_line_keeps_its_contract() {
    let workdir = tempfile::tempdir().expect("temp dir");
    let run = |args: &[&str]| {
        process::command(env!("CARGO_BIN_EXE_blog"))
            .current_dir(workdir.path())
            .env("PORT", "not-a-port")
            .args(args)
            .output()
            .expect("run the blog binary")
    };
    for args in [&["--help"][..], &["--version"], &["jobs", "--help"]] {
        let out = run(args);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {out:?}");
        assert!(!out.stdout.is_empty(), "{args:?}");
    }
    for args in [
        &["--bogus"][..],
        &["serve", "--port"],
        &["serve", "--port", "99999"],
        &["jobs", "retry", "abc"],
        &["nope"],
    ] {
        let out = run(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {out:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("--help"),
            "{args:?}: {out:?}"
        );
    }
    assert_eq!(
        std::fs::read_dir(workdir.path()).unwrap().count(),
        0,
        "help and usage mistakes wrote nothing (no database, no secret)"
    );
    // A configuration mistake is printed once and exits 1.
    let out = run(&[]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.matches("PORT").count(), 1, "{stderr}");

    // `serve --port` over `PORT`: the server listens there, and its mail links say so.
    let database = TestDatabase::new();
    let smtp = SmtpServer::start();
    let port = free_port();
    let _server = Running(
        command(database.url(), &smtp.url(), workdir.path())
            .env("PORT", "1")
            .env("AUTH_RATE_LIMIT_PER_MINUTE", "1000")
            .args(["serve", "--port", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start blog serve"),
    );
    process::wait_until_healthy(port).await;
    let client = TestClient::new(port).with_auth_scheme("Token");
    let username = format!("ann_{}", unique_suffix());
    let email = format!("{username}@example.com");
    let body = json!({"user": {"username": username, "email": email, "password": "password-123"}});
    client
        .post("/api/users", None, &body)
        .await
        .assert_status(201);
    let mail = smtp.wait_for(&email, "Verify").await;
    assert!(
        mail.text
            .contains(&format!("http://127.0.0.1:{port}/api/users/verify?token=")),
        "{}",
        mail.text
    );
}

/// The access log: one INFO line per request with its method, path, status and time, inside
/// the request's span (its id); never the query string, where mailed links carry their token;
/// the load balancer's `/health` only at DEBUG.
#[actix_web::test]
async fn every_request_has_one_access_log_line_without_its_query_string() {
    let database = TestDatabase::new();
    let workdir = tempfile::tempdir().expect("temp dir");
    let port = free_port();
    let log = workdir.path().join("server.log");
    let mut server = Running(
        command(database.url(), "", workdir.path())
            .env("PORT", port.to_string())
            .env("RUST_LOG", "info")
            .stdout(
                std::fs::File::create(&log)
                    .map(Stdio::from)
                    .expect("log file"),
            )
            .stderr(Stdio::null())
            .arg("serve")
            .spawn()
            .expect("start blog serve"),
    );
    process::wait_until_healthy(port).await;
    let client = TestClient::new(port);
    client
        .get("/api/users/verify?token=do-not-log-me", None)
        .await
        .assert_status(422);
    client.get("/api/tags", None).await.assert_status(200);
    client.get("/health", None).await.assert_status(200);
    // The line is written when the response is ready; give the writer a moment.
    tokio::time::sleep(Duration::from_millis(200)).await;
    server.kill();

    let text = std::fs::read_to_string(&log).expect("read the log");
    let served: Vec<&str> = text.lines().filter(|l| l.contains("served")).collect();
    assert_eq!(
        served.len(),
        2,
        "one line per request, /health not at INFO:\n{text}"
    );
    assert!(
        served[0].contains("method=GET path=/api/users/verify request_id=")
            && served[0].contains("status=422 ms="),
        "{}",
        served[0]
    );
    assert!(served[1].contains("path=/api/tags") && served[1].contains("status=200"));
    assert!(
        !text.contains("do-not-log-me"),
        "a secret reached the log:\n{text}"
    );
}
