//! The outbox's state machine against a real SMTP server (test-support's), on the test
//! database: sent once however often its job runs, transient failures retried later,
//! permanent ones failed at once, lost jobs found by the sweeper, and files without SMTP.
//! `Outbox::deliver` is the job's one step, so these drive it directly instead of sleeping.

use std::time::Duration;

use backend_kit::config::Settings;
use backend_kit::db::{Database, DatabaseUrl, DbError, MigrationSet};
use backend_kit::jobs::{JobQueue, JobSettings};
use backend_kit::mail::outbox::{self, Delivery, mail_outbox as mo};
use backend_kit::mail::{MailSettings, Mailer, Outbox, OutgoingMail};
use diesel::prelude::*;
use test_support::TestDatabase;
use test_support::smtp::SmtpServer;

fn migrations() -> Vec<MigrationSet> {
    vec![
        backend_kit::auth::migrations(),
        backend_kit::mail::migrations(),
    ]
}

struct Setup {
    outbox: Outbox,
    db: Database,
    queue: JobQueue,
    _database: TestDatabase,
}

async fn setup(settings: MailSettings) -> Setup {
    let database = TestDatabase::new();
    let url = DatabaseUrl::parse(database.url()).expect("url");
    let db = Database::connect(&url, 2, migrations).expect("database");
    let app = Settings::for_tests("kit-mail", database.url().to_string());
    let queue = JobQueue::connect(&app, &JobSettings::for_tests())
        .await
        .expect("queue");
    let mailer = Mailer::new(&settings).expect("mailer");
    Setup {
        outbox: Outbox::new(db.clone(), queue.clone(), mailer, settings),
        db,
        queue,
        _database: database,
    }
}

fn email(to: &str) -> OutgoingMail {
    OutgoingMail {
        to: to.into(),
        subject: "Hello".into(),
        text: "A link: http://example.com/x?token=abc".into(),
        html: "<p>hi</p>".into(),
        list_unsubscribe: None,
    }
}

async fn enqueue(db: &Database, mail: OutgoingMail) -> i64 {
    db.run(move |conn| outbox::write(conn, &mail, None).map_err(DbError::from))
        .await
        .expect("enqueue")
        .expect("no dedupe key, always written")
}

async fn row(db: &Database, id: i64) -> (String, i32, Option<String>, String) {
    db.run(move |conn| {
        mo::table
            .find(id)
            .select((mo::status, mo::attempts, mo::last_error, mo::body_text))
            .first(conn)
            .map_err(DbError::from)
    })
    .await
    .expect("row")
}

/// Makes a row due now (its retry was scheduled for later).
async fn make_due(db: &Database, id: i64) {
    db.run(move |conn| {
        diesel::update(mo::table.find(id))
            .set(mo::next_attempt_at.eq(backend_kit::time::now()))
            .execute(conn)
            .map_err(DbError::from)
    })
    .await
    .expect("update");
}

#[actix_web::test]
async fn a_row_is_sent_once_however_often_its_job_runs() {
    let smtp = SmtpServer::start();
    let s = setup(MailSettings::for_tests(Some(smtp.url()), "unused".into())).await;
    let id = enqueue(&s.db, email("ann@example.com")).await;

    assert_eq!(s.outbox.deliver(id).await.unwrap(), Delivery::Sent);
    assert_eq!(s.outbox.deliver(id).await.unwrap(), Delivery::Skipped);
    assert_eq!(s.outbox.deliver(id).await.unwrap(), Delivery::Skipped);
    assert_eq!(smtp.messages_to("ann@example.com").len(), 1);
    let (status, attempts, error, body) = row(&s.db, id).await;
    assert_eq!((status.as_str(), attempts, error), ("sent", 1, None));
    assert_eq!(
        body, "",
        "bodies (and the links in them) are not kept once sent"
    );
    // A dedupe key makes the enqueue itself once-only.
    let keyed = |db: Database| async move {
        db.run(|conn| {
            outbox::write(conn, &email("bob@example.com"), Some("k1")).map_err(DbError::from)
        })
        .await
        .unwrap()
    };
    assert!(keyed(s.db.clone()).await.is_some());
    assert!(keyed(s.db.clone()).await.is_none());
}

#[actix_web::test]
async fn transient_failures_are_retried_later_and_permanent_ones_fail_at_once() {
    let mut smtp = SmtpServer::start();
    let mut settings = MailSettings::for_tests(Some(smtp.url()), "unused".into());
    settings.retry_base = Duration::from_secs(60);
    settings.retry_cap = Duration::from_secs(600);
    settings.max_attempts = 3;
    let s = setup(settings).await;

    // Connection refused: transient.
    smtp.stop();
    let id = enqueue(&s.db, email("ann@example.com")).await;
    assert!(matches!(
        s.outbox.deliver(id).await.unwrap(),
        Delivery::Retrying(_)
    ));
    let (status, attempts, error, _) = row(&s.db, id).await;
    assert_eq!((status.as_str(), attempts), ("queued", 1));
    assert!(error.is_some());
    // Not due for 30–60 s: an early job does nothing.
    assert_eq!(s.outbox.deliver(id).await.unwrap(), Delivery::Skipped);

    // A 4xx reply: transient too.
    smtp.restart();
    smtp.reply_to_rcpt(Some((451, "try again later")));
    make_due(&s.db, id).await;
    assert!(
        matches!(s.outbox.deliver(id).await.unwrap(), Delivery::Retrying(e) if e.contains("451"))
    );
    // The last attempt's failure is final.
    make_due(&s.db, id).await;
    assert!(matches!(
        s.outbox.deliver(id).await.unwrap(),
        Delivery::Failed(_)
    ));
    assert_eq!(row(&s.db, id).await.0, "failed");

    // A 5xx reply fails at the first attempt.
    smtp.reply_to_rcpt(Some((550, "no such user")));
    let refused = enqueue(&s.db, email("nobody@example.com")).await;
    assert!(
        matches!(s.outbox.deliver(refused).await.unwrap(), Delivery::Failed(e) if e.contains("550"))
    );
    let (status, attempts, ..) = row(&s.db, refused).await;
    assert_eq!((status.as_str(), attempts), ("failed", 1));

    // `jobs retry` queues a failed one with fresh attempts.
    smtp.reply_to_rcpt(None);
    assert!(s.outbox.retry(refused).await.unwrap());
    assert_eq!(s.outbox.deliver(refused).await.unwrap(), Delivery::Sent);
    assert!(
        !s.outbox.retry(refused).await.unwrap(),
        "a sent mail is not retried"
    );
    let listed = backend_kit::mail::cli::run(&s.outbox, None).await.unwrap();
    assert!(
        listed.contains("failed") && listed.contains("ann@example.com"),
        "{listed}"
    );
    assert!(
        !listed.contains("nobody@example.com"),
        "sent rows are not listed: {listed}"
    );
}

#[actix_web::test]
async fn the_sweeper_dispatches_rows_whose_job_was_lost() {
    let smtp = SmtpServer::start();
    let s = setup(MailSettings::for_tests(Some(smtp.url()), "unused".into())).await;
    // Written, but the process died before pushing its job.
    let lost = enqueue(&s.db, email("ann@example.com")).await;
    // Claimed by a worker that died mid-send: its lease ran out.
    let held = enqueue(&s.db, email("bob@example.com")).await;
    s.db.run(move |conn| {
        let past = backend_kit::time::now() - chrono::Duration::seconds(10);
        diesel::update(mo::table.find(lost))
            .set(mo::next_attempt_at.eq(past))
            .execute(conn)?;
        diesel::update(mo::table.find(held))
            .set((mo::status.eq("sending"), mo::lease_until.eq(past)))
            .execute(conn)
            .map_err(DbError::from)
    })
    .await
    .unwrap();
    // A fresh queued row is not the sweeper's (its job is on the way).
    enqueue(&s.db, email("carol@example.com")).await;

    assert_eq!(s.outbox.sweep().await.unwrap(), 2);
    let runner = s.outbox.register(s.queue.workers()).unwrap().start();
    smtp.wait_for("ann@example.com", "Hello").await;
    smtp.wait_for("bob@example.com", "Hello").await;
    runner.shutdown(Duration::from_secs(1)).await;
}

#[actix_web::test]
async fn without_smtp_mail_is_written_as_eml_files() {
    let dir = tempfile::tempdir().unwrap();
    let s = setup(MailSettings::for_tests(None, dir.path().to_path_buf())).await;
    assert!(s.outbox.mailer().destination().starts_with("files in "));
    let id = enqueue(&s.db, email("ann@example.com")).await;
    assert_eq!(s.outbox.deliver(id).await.unwrap(), Delivery::Sent);
    let files: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1);
    assert_eq!(files[0].extension().and_then(|e| e.to_str()), Some("eml"));
    let raw = std::fs::read_to_string(&files[0]).unwrap();
    assert!(raw.contains("To: ann@example.com") && raw.contains("Subject: Hello"));
}
