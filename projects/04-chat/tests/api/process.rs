//! The `chat` binary as people run it: shutdown closes every socket with 1001 and keeps every
//! acknowledged message; `chat connect` in pipes.

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use backend_kit::db::DatabaseUrl;
use diesel::prelude::*;
use test_support::process::{self, Running, wait_until_healthy};
use test_support::{TestDatabase, free_port};

use crate::helpers::{Ws, spawn_app};

pub fn chat() -> Command {
    process::command(env!("CARGO_BIN_EXE_chat"))
}

/// `chat start` (the old name of `serve`, kept as an alias) on a free port and `database_url`, answering; its working directory lives
/// as long as the returned guard.
async fn serve(database_url: &str) -> (Running, u16, tempfile::TempDir) {
    let workdir = tempfile::tempdir().unwrap();
    let port = free_port();
    let server = Running(
        chat()
            .current_dir(workdir.path())
            .env("DATABASE_URL", database_url)
            .args(["start", "--port", &port.to_string()])
            .spawn()
            .expect("start chat"),
    );
    wait_until_healthy(port).await;
    (server, port, workdir)
}

#[actix_web::test]
async fn sigterm_and_ctrl_c_close_every_socket_with_1001_and_keep_acknowledged_messages() {
    stops_cleanly_on("-TERM").await;
    // Ctrl-C: actix on its own would drop every connection at once, without a close frame.
    stops_cleanly_on("-INT").await;
}

async fn stops_cleanly_on(signal: &str) {
    let database = TestDatabase::new();
    let (mut server, port, _workdir) = serve(database.url()).await;
    let url = format!("ws://127.0.0.1:{port}/ws?guest=");
    let mut a = Ws::connect(&format!("{url}amy")).await;
    a.join("general").await;
    let mut b = Ws::connect(&format!("{url}ben")).await;
    b.join("general").await;
    let mut acked = 0;
    for i in 0..10 {
        a.say("general", &format!("m{i}")).await;
        acked += 1;
    }
    let started = Instant::now();
    let status = Command::new("kill")
        .args([signal, &server.0.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    assert_eq!(a.closed().await, 1001);
    assert_eq!(b.closed().await, 1001);
    let exit = loop {
        if let Some(exit) = server.0.try_wait().unwrap() {
            break exit;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the server did not stop"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(exit.success(), "{exit:?}");
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "shutdown waited for open sockets"
    );
    let mut conn = DatabaseUrl::parse(database.url())
        .unwrap()
        .connect()
        .unwrap();
    let stored: i64 = chat::db::schema::messages::table
        .count()
        .get_result(&mut conn)
        .unwrap();
    assert_eq!(stored, acked);
}

#[actix_web::test]
async fn a_second_ctrl_c_stops_at_once_even_with_a_request_in_flight() {
    let database = TestDatabase::new();
    let (mut server, port, _workdir) = serve(database.url()).await;
    // A request whose body never comes: a graceful stop waits for it (up to 10 s).
    let mut held = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    held.write_all(
        b"POST /api/register HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
          Content-Length: 100\r\n\r\n{",
    )
    .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let started = Instant::now();
    let interrupt = || {
        let status = Command::new("kill")
            .args(["-INT", &server.0.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    };
    interrupt();
    tokio::time::sleep(Duration::from_millis(300)).await;
    interrupt();
    loop {
        if server.0.try_wait().unwrap().is_some() {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the server did not stop"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "the second Ctrl-C waited {:?}",
        started.elapsed()
    );
    drop(held);
}

#[actix_web::test]
async fn two_chat_connect_processes_exchange_a_line_through_pipes() {
    let app = spawn_app().await;
    let url = format!("http://127.0.0.1:{}", app.port);
    let mut alice = Running(
        chat()
            .args(["connect", "--url", &url, "--name", "alice"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    // Until alice is in the room.
    let deadline = Instant::now() + Duration::from_secs(20);
    while app.client.get("/api/rooms", None).await.json()[0]["online"] != 1 {
        assert!(Instant::now() < deadline, "alice never joined");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut bob = chat()
        .args(["connect", "--url", &url, "--name", "bob"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    bob.stdin.take().unwrap().write_all(b"hi alice\n").unwrap();
    let bob = actix_web::rt::task::spawn_blocking(move || bob.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    assert!(bob.status.success(), "bob: {:?}", bob);
    assert!(String::from_utf8_lossy(&bob.stdout).contains("[general] bob: hi alice"));

    // alice answers and ends her input: she leaves after her line is acknowledged.
    let mut stdin = alice.0.stdin.take().unwrap();
    stdin.write_all(b"hello bob\n").unwrap();
    drop(stdin);
    let mut child = std::mem::replace(&mut alice.0, Command::new("true").spawn().unwrap());
    let output = actix_web::rt::task::spawn_blocking(move || {
        let mut out = String::new();
        child
            .stdout
            .take()
            .unwrap()
            .read_to_string(&mut out)
            .unwrap();
        (child.wait().unwrap(), out)
    })
    .await
    .unwrap();
    assert!(output.0.success());
    let lines: Vec<&str> = output.1.lines().collect();
    assert_eq!(
        lines,
        [
            "* bob joined",
            "[general] bob: hi alice",
            "* bob left",
            "[general] alice: hello bob"
        ],
        "{}",
        output.1
    );
    let texts: Vec<String> = app
        .history(&app.new_user("Reader").await, "general", "")
        .await
        .iter()
        .map(|m| m["text"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(texts, ["hi alice", "hello bob"]);
}

#[actix_web::test]
async fn chat_connect_signs_in_with_an_account_and_exits_non_zero_when_the_server_goes_away() {
    let app = spawn_app().await;
    let ann = app.new_user("Ann").await;
    let url = format!("http://127.0.0.1:{}", app.port);
    let output = chat()
        .args([
            "connect",
            "--url",
            &url,
            "--email",
            &ann.email,
            "--password",
            "password-123",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut child = output;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"from the terminal\n")
        .unwrap();
    let out = actix_web::rt::task::spawn_blocking(move || child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("[general] Ann: from the terminal"));

    let wrong = chat()
        .args([
            "connect",
            "--url",
            &url,
            "--email",
            &ann.email,
            "--password",
            "wrong-password",
        ])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!wrong.status.success());
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("login failed (401)"));

    let mut listener = Running(
        chat()
            .args(["connect", "--url", &url, "--name", "stay"])
            .stdin(Stdio::piped())
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    while app.client.get("/api/rooms", None).await.json()[0]["online"] != 1 {
        assert!(Instant::now() < deadline, "never joined");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    app.hub.close_all();
    // stdin stays open (a producer that has not finished): the client must still exit, at
    // once, when the server goes away, not wait for an EOF that may never come.
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = listener.0.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "still running with stdin open");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(!status.success());
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut listener.0.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(stderr.contains("1001"), "{stderr}");
}
