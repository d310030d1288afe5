//! An SMTP server per test: real SMTP over TCP on a free local port, the protocol spoken by
//! the `mailin` state machine, messages decoded by `mail-parser`. A test points the app's
//! `SMTP_URL` at [`SmtpServer::url`], then waits for a mail and follows its link:
//!
//! ```ignore
//! let smtp = SmtpServer::start();
//! // … spawn the app with smtp.url(), register ann@example.com …
//! let mail = smtp.wait_for("ann@example.com", "Verify").await;
//! let link = mail.link("/api/users/verify").expect("a verification link");
//! ```
//!
//! [`SmtpServer::stop`] and [`SmtpServer::restart`] (same port) make an outage;
//! [`SmtpServer::reply_to_rcpt`] makes it refuse recipients with a chosen code. Plain threads,
//! so it runs beside any async runtime.

use std::io::{self, BufRead, BufReader, Write};
use std::net::{IpAddr, Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use mailin::{Action, Handler, Response, SessionBuilder};

/// A message as it arrived, decoded.
#[derive(Debug, Clone)]
pub struct ReceivedMail {
    /// The envelope sender and recipients (`MAIL FROM`, `RCPT TO`).
    pub from: String,
    pub to: Vec<String>,
    /// The message as sent, headers and encoded body.
    pub raw: String,
    pub subject: String,
    /// The decoded text and HTML parts (empty when absent).
    pub text: String,
    pub html: String,
    pub message_id: Option<String>,
}

impl ReceivedMail {
    fn parse(from: String, to: Vec<String>, raw: Vec<u8>) -> Self {
        let parsed = mail_parser::MessageParser::default().parse(&raw);
        let (subject, text, html, message_id) = match &parsed {
            Some(m) => (
                m.subject().unwrap_or_default().to_string(),
                m.body_text(0).map(|t| t.into_owned()).unwrap_or_default(),
                m.body_html(0).map(|t| t.into_owned()).unwrap_or_default(),
                m.message_id().map(str::to_string),
            ),
            None => Default::default(),
        };
        Self {
            from,
            to,
            raw: String::from_utf8_lossy(&raw).into_owned(),
            subject,
            text,
            html,
            message_id,
        }
    }

    /// A header's raw value (`List-Unsubscribe`), unfolded and trimmed.
    pub fn header(&self, name: &str) -> Option<String> {
        let prefix = format!("{}:", name.to_ascii_lowercase());
        let head = self.raw.split("\r\n\r\n").next().unwrap_or_default();
        let mut lines = head.split("\r\n").peekable();
        while let Some(line) = lines.next() {
            if line.to_ascii_lowercase().starts_with(&prefix) {
                let mut value = line[prefix.len()..].trim().to_string();
                while let Some(next) = lines.peek().filter(|l| l.starts_with([' ', '\t'])) {
                    value.push(' ');
                    value.push_str(next.trim());
                    lines.next();
                }
                return Some(value);
            }
        }
        None
    }

    /// The first URL in the text part containing `needle` (a path such as
    /// `/api/users/verify`).
    pub fn link(&self, needle: &str) -> Option<String> {
        self.text
            .split(|c: char| c.is_whitespace() || matches!(c, '<' | '>' | '"' | '(' | ')'))
            .filter(|word| word.starts_with("http://") || word.starts_with("https://"))
            .find(|word| word.contains(needle))
            .map(|word| word.trim_end_matches(['.', ',', ';']).to_string())
    }
}

/// The path and query of a link from a mail (which starts with `PUBLIC_URL`), to request
/// from the test server.
pub fn path_of(link: &str) -> String {
    let after_scheme = link.split_once("://").map_or(link, |(_, rest)| rest);
    after_scheme
        .find('/')
        .map_or("/".to_string(), |i| after_scheme[i..].to_string())
}

/// The value of `token=` in a link.
pub fn token_of(link: &str) -> String {
    link.split_once("token=")
        .map(|(_, t)| t.split('&').next().unwrap_or_default().to_string())
        .expect("a token in the link")
}

struct Shared {
    inbox: Mutex<Vec<ReceivedMail>>,
    running: AtomicBool,
    /// Every open connection, so that `stop` can drop them as a crashed server would.
    open: Mutex<Vec<TcpStream>>,
    /// When set, `RCPT TO` is answered with this instead of 250.
    rcpt_reply: Mutex<Option<(u16, String)>>,
}

pub struct SmtpServer {
    port: u16,
    shared: Arc<Shared>,
    accept: Option<thread::JoinHandle<()>>,
}

impl SmtpServer {
    /// Listens on a free local port.
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a local port for SMTP");
        let port = listener.local_addr().expect("local address").port();
        let shared = Arc::new(Shared::default());
        let accept = Some(serve(listener, Arc::clone(&shared)));
        Self {
            port,
            shared,
            accept,
        }
    }

    /// `smtp://127.0.0.1:<port>`, plain SMTP as local sinks speak it.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Goes down: open connections are dropped and new ones refused, until [`Self::restart`].
    pub fn stop(&mut self) {
        self.shared.running.store(false, Ordering::Release);
        for stream in lock(&self.shared.open).drain(..) {
            let _ = stream.shutdown(Shutdown::Both);
        }
        // Wake the accept loop so it drops the listener (and the port refuses connections).
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(accept) = self.accept.take() {
            let _ = accept.join();
        }
    }

    /// Comes back on the same port, with the messages received before.
    pub fn restart(&mut self) {
        if self.accept.is_some() {
            return;
        }
        let listener = retry_bind(self.port);
        self.shared.running.store(true, Ordering::Release);
        self.accept = Some(serve(listener, Arc::clone(&self.shared)));
    }

    /// Answers `RCPT TO` with `code` (`550`: no such mailbox, `451`: try later) from now on;
    /// `None` accepts again.
    pub fn reply_to_rcpt(&self, reply: Option<(u16, &str)>) {
        *lock(&self.shared.rcpt_reply) = reply.map(|(code, text)| (code, text.to_string()));
    }

    /// Everything received so far.
    pub fn messages(&self) -> Vec<ReceivedMail> {
        lock(&self.shared.inbox).clone()
    }

    /// Everything received so far for `to`.
    pub fn messages_to(&self, to: &str) -> Vec<ReceivedMail> {
        self.messages()
            .into_iter()
            .filter(|m| m.to.iter().any(|t| t.eq_ignore_ascii_case(to)))
            .collect()
    }

    /// Waits (up to 20 s) for a message to `to` whose subject contains `subject`.
    pub async fn wait_for(&self, to: &str, subject: &str) -> ReceivedMail {
        self.wait_for_within(to, subject, Duration::from_secs(20))
            .await
            .unwrap_or_else(|| {
                panic!(
                    "no mail to {to} with `{subject}` in its subject within 20 s; received: {:?}",
                    self.messages()
                        .iter()
                        .map(|m| (&m.to, &m.subject))
                        .collect::<Vec<_>>()
                )
            })
    }

    /// [`Self::wait_for`] with a chosen limit; `None` when nothing came.
    pub async fn wait_for_within(
        &self,
        to: &str,
        subject: &str,
        limit: Duration,
    ) -> Option<ReceivedMail> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(mail) = self
                .messages_to(to)
                .into_iter()
                .find(|m| m.subject.contains(subject))
            {
                return Some(mail);
            }
            if Instant::now() >= deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        self.stop();
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The port was ours a moment ago; the kernel may take a moment to let it go.
fn retry_bind(port: u16) -> TcpListener {
    let mut last = None;
    for _ in 0..100 {
        match TcpListener::bind(("127.0.0.1", port)) {
            Ok(listener) => return listener,
            Err(e) => last = Some(e),
        }
        thread::sleep(Duration::from_millis(20));
    }
    panic!("cannot bind SMTP port {port} again: {last:?}")
}

fn serve(listener: TcpListener, shared: Arc<Shared>) -> thread::JoinHandle<()> {
    thread::spawn(move || {
        for stream in listener.incoming() {
            if !shared.running.load(Ordering::Acquire) {
                break;
            }
            let Ok(stream) = stream else { continue };
            if let Ok(clone) = stream.try_clone() {
                lock(&shared.open).push(clone);
            }
            let shared = Arc::clone(&shared);
            thread::spawn(move || {
                let _ = session(stream, shared);
            });
        }
    })
}

/// One SMTP conversation: each line through mailin's state machine, its reply written back.
fn session(stream: TcpStream, shared: Arc<Shared>) -> io::Result<()> {
    let peer = stream.peer_addr()?.ip();
    let mut writer = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    let handler = Collector {
        shared: Arc::clone(&shared),
        ..Collector::default()
    };
    let mut session = SessionBuilder::new("test-smtp").build(peer, handler);
    session.greeting().write_to(&mut writer)?;
    let mut line = Vec::new();
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line)? == 0 {
            return Ok(());
        }
        let response = session.process(&line);
        match response.action {
            Action::Reply => response.write_to(&mut writer)?,
            Action::Close => {
                response.write_to(&mut writer)?;
                return writer.flush();
            }
            Action::NoReply | Action::UpgradeTls => {}
        }
    }
}

#[derive(Default)]
struct Collector {
    shared: Arc<Shared>,
    from: String,
    to: Vec<String>,
    data: Vec<u8>,
}

impl Default for Shared {
    fn default() -> Self {
        Self {
            inbox: Mutex::new(Vec::new()),
            running: AtomicBool::new(true),
            open: Mutex::new(Vec::new()),
            rcpt_reply: Mutex::new(None),
        }
    }
}

impl Handler for Collector {
    fn mail(&mut self, _ip: IpAddr, _domain: &str, from: &str) -> Response {
        self.from = from.to_string();
        self.to.clear();
        mailin::response::OK
    }

    fn rcpt(&mut self, to: &str) -> Response {
        if let Some((code, text)) = lock(&self.shared.rcpt_reply).clone() {
            return Response::custom(code, text);
        }
        self.to.push(to.to_string());
        mailin::response::OK
    }

    fn data_start(
        &mut self,
        _domain: &str,
        _from: &str,
        _is8bit: bool,
        _to: &[String],
    ) -> Response {
        self.data.clear();
        mailin::response::OK
    }

    fn data(&mut self, buf: &[u8]) -> io::Result<()> {
        self.data.extend_from_slice(buf);
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        let mail = ReceivedMail::parse(
            self.from.clone(),
            self.to.clone(),
            std::mem::take(&mut self.data),
        );
        lock(&self.shared.inbox).push(mail);
        mailin::response::OK
    }
}
