//! `chat connect`: a terminal client. Each line on stdin is sent to the room; each message
//! received is printed as `[room] name: text`, joins and leaves as `* name joined` /
//! `* name left`.
//!
//! In a pipe (`echo hi | chat connect --name bob`) it ends at EOF — after the server has
//! acknowledged every line, so nothing typed is lost — and exits non-zero if the server goes
//! away. In a terminal it reconnects with backoff and resumes from the last `seq` it saw,
//! resending lines that were never acknowledged (same `clientId`: never twice).

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::io::AsyncBufReadExt;
use tokio_tungstenite::tungstenite::Message;

use super::cli_error::CliError;

/// How long EOF waits for the last acknowledgements.
const ACK_WAIT: Duration = Duration::from_secs(10);

/// `chat connect`'s flags.
#[derive(Debug, clap::Args)]
pub struct ConnectArgs {
    #[command(flatten)]
    server: super::Server,
    /// The room to join (made if it does not exist)
    #[arg(long, default_value = "general")]
    room: String,
    /// Join as a guest with this name
    #[arg(long, required_unless_present = "email")]
    name: Option<String>,
    /// Log in with an account (with --password)
    #[arg(long, requires = "password")]
    email: Option<String>,
    /// The account's password
    #[arg(long, requires = "email")]
    password: Option<String>,
}

struct Options {
    authority: String,
    room: String,
    name: Option<String>,
    login: Option<(String, String)>,
}

/// `port`: `--port`, the server's port on this machine (as for `serve`).
pub async fn run(args: ConnectArgs, port: Option<u16>) -> Result<(), backend_kit::cli::BoxError> {
    let options = Options {
        authority: args.server.authority(port)?,
        room: args.room,
        name: args.name,
        login: args.email.zip(args.password),
    };
    let interactive = std::io::stdin().is_terminal();
    let (lines_tx, mut lines) = tokio::sync::mpsc::channel::<Option<String>>(64);
    // stdin is read on its own task: a line typed while reconnecting waits in the channel.
    tokio::spawn(async move {
        let mut stdin = tokio::io::BufReader::new(tokio::io::stdin()).lines();
        while let Ok(Some(line)) = stdin.next_line().await {
            if lines_tx.send(Some(line)).await.is_err() {
                return;
            }
        }
        let _ = lines_tx.send(None).await;
    });

    let mut session = Session::default();
    let mut backoff = Duration::from_millis(500);
    loop {
        match session.run(&options, &mut lines).await {
            Ok(()) => return Ok(()),
            Err(CliError::Fatal(e)) => return Err(e.into()),
            Err(CliError::Lost(e)) => {
                eprintln!("connection lost: {e}");
                if !interactive {
                    return Err("the server went away".into());
                }
                let jitter = Duration::from_millis(rand::random::<u64>() % 500);
                eprintln!("reconnecting in {:.1} s…", (backoff + jitter).as_secs_f32());
                tokio::time::sleep(backoff + jitter).await;
                backoff = (backoff * 2).min(Duration::from_secs(30));
            }
        }
    }
}

/// What survives a reconnect: the last `seq` seen and the lines not yet acknowledged.
#[derive(Default)]
struct Session {
    last_seq: Option<i64>,
    unacked: BTreeMap<String, String>,
    /// The highest `seq` acknowledged to us: at EOF we also wait to see it come back (with
    /// Redis it may arrive after its ack), so our own lines are printed too.
    max_acked: Option<i64>,
    eof: bool,
}

impl Session {
    fn all_done(&self) -> bool {
        self.eof && self.unacked.is_empty() && self.max_acked <= self.last_seq
    }
}

impl Session {
    async fn run(
        &mut self,
        options: &Options,
        lines: &mut tokio::sync::mpsc::Receiver<Option<String>>,
    ) -> Result<(), CliError> {
        let url = match (&options.login, &options.name) {
            (Some((email, password)), _) => {
                let ticket = super::ticket(&options.authority, email, password)
                    .await
                    .map_err(CliError::Fatal)?;
                format!("ws://{}/ws?ticket={ticket}", options.authority)
            }
            (None, Some(name)) => {
                let name: String = url::form_urlencoded::byte_serialize(name.as_bytes()).collect();
                format!("ws://{}/ws?guest={name}", options.authority)
            }
            (None, None) => unreachable!("checked in run"),
        };
        let (mut ws, _) = tokio_tungstenite::connect_async(url.as_str())
            .await
            .map_err(|e| match e {
                tokio_tungstenite::tungstenite::Error::Http(response) => {
                    let body = response
                        .body()
                        .as_ref()
                        .map(|b| String::from_utf8_lossy(b).into_owned());
                    CliError::Fatal(format!(
                        "refused ({}): {}",
                        response.status(),
                        body.unwrap_or_default()
                    ))
                }
                tokio_tungstenite::tungstenite::Error::Io(e) if self.last_seq.is_none() => {
                    CliError::Fatal(format!("cannot connect to {}: {e}", options.authority))
                }
                other => CliError::Lost(other.to_string()),
            })?;
        let join = match self.last_seq {
            Some(seq) => json!({"type": "join", "room": options.room, "lastSeq": seq}),
            None => json!({"type": "join", "room": options.room}),
        };
        send(&mut ws, &join).await?;
        // Lines sent before the connection was lost and never acknowledged go again.
        for (client_id, text) in &self.unacked {
            send(
                &mut ws,
                &json!({"type": "send", "room": options.room, "text": text, "clientId": client_id}),
            )
            .await?;
        }
        let mut eof_deadline = None;
        loop {
            if self.all_done() {
                return self.leave(&mut ws, &options.room).await;
            }
            let deadline = async {
                match eof_deadline {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                line = lines.recv(), if !self.eof => match line.flatten() {
                    Some(text) => {
                        let text = text.trim_end_matches('\r').to_string();
                        if text.trim().is_empty() {
                            continue;
                        }
                        let client_id = super::client_id();
                        send(&mut ws, &json!({"type": "send", "room": options.room, "text": text, "clientId": client_id})).await?;
                        self.unacked.insert(client_id, text);
                    }
                    None => {
                        self.eof = true;
                        eof_deadline = Some(tokio::time::Instant::now() + ACK_WAIT);
                    }
                },
                frame = ws.next() => match frame {
                    Some(Ok(Message::Text(text))) => self.print(&text),
                    Some(Ok(Message::Close(reason))) => {
                        let why = reason.map(|r| format!("{} {}", u16::from(r.code), r.reason)).unwrap_or_default();
                        return Err(CliError::Lost(format!("the server closed the connection {why}")));
                    }
                    Some(Ok(_)) => {}
                    Some(Err(e)) => return Err(CliError::Lost(e.to_string())),
                    None => return Err(CliError::Lost("the connection ended".into())),
                },
                () = deadline => {
                    return Err(CliError::Fatal(format!(
                        "{} line(s) were never acknowledged (or never came back)",
                        self.unacked.len()
                    )));
                }
            }
        }
    }

    fn print(&mut self, text: &str) {
        let Ok(frame) = serde_json::from_str::<Value>(text) else {
            return;
        };
        let s = |key: &str| frame[key].as_str().unwrap_or_default();
        match s("type") {
            "message" => {
                if let Some(seq) = frame["seq"].as_i64() {
                    self.last_seq = Some(self.last_seq.map_or(seq, |last| last.max(seq)));
                }
                println!("[{}] {}: {}", s("room"), s("from"), s("text"));
            }
            "joined" if self.last_seq.is_none() => self.last_seq = frame["lastSeq"].as_i64(),
            "ack" => {
                self.unacked.remove(s("clientId"));
                self.max_acked = self.max_acked.max(frame["seq"].as_i64());
            }
            "presence" if s("status") == "online" => println!("* {} joined", s("name")),
            "presence" => println!("* {} left", s("name")),
            "gap" => eprintln!(
                "(messages {} to {} were missed; see GET /api/rooms/{}/messages)",
                frame["from"],
                frame["to"],
                s("room")
            ),
            "error" => eprintln!("error: {} ({})", s("message"), s("code")),
            _ => {}
        }
    }

    /// Leaves the room, waits for `left`, closes.
    async fn leave<S>(&mut self, ws: &mut S, room: &str) -> Result<(), CliError>
    where
        S: futures_util::Sink<Message, Error = tokio_tungstenite::tungstenite::Error>
            + futures_util::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>>
            + Unpin,
    {
        send(ws, &json!({"type": "leave", "room": room})).await?;
        let wait = async {
            while let Some(Ok(frame)) = ws.next().await {
                if let Message::Text(text) = &frame {
                    if text.contains("\"type\":\"left\"") {
                        return;
                    }
                    self.print(text);
                }
            }
        };
        let _ = tokio::time::timeout(Duration::from_secs(5), wait).await;
        let _ = ws.close().await;
        Ok(())
    }
}

async fn send<S>(ws: &mut S, frame: &Value) -> Result<(), CliError>
where
    S: futures_util::Sink<Message, Error = tokio_tungstenite::tungstenite::Error> + Unpin,
{
    ws.send(Message::text(frame.to_string()))
        .await
        .map_err(|e| CliError::Lost(e.to_string()))
}
