//! The gRPC port's connections, before tonic sees them: one acceptor takes them and hands
//! them to the workers in turn (as actix's does), at most [`MAX_CONNECTIONS`] open at once,
//! each given [`HANDSHAKE_TIMEOUT`] to start speaking HTTP/2.

use std::io::ErrorKind;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, watch};
use tokio::time::Sleep;
use tonic::transport::server::{Connected, TcpConnectInfo};

/// Connections open at once, at most (see [`connection_limit`]). Past it the acceptor waits
/// for one to close, and new ones queue in the kernel's backlog: each holds a file
/// descriptor, and the HTTP server draws on the same process's descriptors — ten thousand
/// idle connections must not take it down.
pub const MAX_CONNECTIONS: usize = 4096;

/// How long a new connection has to send HTTP/2's preface and the head of its first frame
/// (hyper gives the handshake no deadline, and keepalive pings start only after it): one that
/// connects and says nothing, or dribbles, is closed.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" and the 9-byte header of the SETTINGS frame after it.
const HANDSHAKE_BYTES: usize = 24 + 9;

/// A connection on its way to a worker, with its place among [`MAX_CONNECTIONS`].
pub type Handoff = (std::net::TcpStream, OwnedSemaphorePermit);

/// Takes connections until the stop, handing them to the workers in turn: each connection,
/// and every call on it, then stays on one worker's thread. A worker that has stopped (it
/// could only panic) leaves the rotation.
pub async fn accept(
    listener: &tokio::net::TcpListener,
    mut workers: Vec<mpsc::UnboundedSender<Handoff>>,
    stop: &mut watch::Receiver<bool>,
) {
    let limit = connection_limit();
    if limit < MAX_CONNECTIONS {
        tracing::warn!(
            "few open files allowed (ulimit -n): gRPC takes at most {limit} connections at once"
        );
    }
    let slots = Arc::new(Semaphore::new(limit));
    let mut next = 0;
    let mut failing = false;
    loop {
        let accepted = tokio::select! {
            _ = stop.wait_for(|stop| *stop) => return,
            accepted = async {
                let slot = slots.clone().acquire_owned().await.expect("never closed");
                (listener.accept().await, slot)
            } => accepted,
        };
        let (connection, slot) = match accepted {
            (Ok((connection, _)), slot) => (connection, slot),
            // That one connection's trouble (it went before we took it): take the next.
            (Err(e), _)
                if e.kind() == ErrorKind::ConnectionAborted
                    || e.kind() == ErrorKind::ConnectionReset =>
            {
                continue;
            }
            (Err(e), _) => {
                // Out of file descriptors, most likely: trying again at once would spin.
                if !failing {
                    tracing::warn!(error = %e, "accepting gRPC connections fails; retrying every 500 ms");
                }
                failing = true;
                tokio::time::sleep(Duration::from_millis(500)).await;
                continue;
            }
        };
        failing = false;
        let _ = connection.set_nodelay(true);
        let mut handoff = match connection.into_std() {
            Ok(connection) => (connection, slot),
            Err(e) => {
                tracing::warn!(error = %e, "handing a gRPC connection over failed");
                continue;
            }
        };
        loop {
            if workers.is_empty() {
                tracing::error!("every gRPC worker has stopped: no more connections taken");
                return;
            }
            next %= workers.len();
            match workers[next].send(handoff) {
                Ok(()) => {
                    next += 1;
                    break;
                }
                Err(mpsc::error::SendError(back)) => {
                    tracing::error!("a gRPC worker has stopped: the others take its share");
                    workers.remove(next);
                    handoff = back;
                }
            }
        }
    }
}

/// [`MAX_CONNECTIONS`], or half the files this process may open when that is less (a
/// common default is 1 024): the other half stays for HTTP, the database and the logs.
pub fn connection_limit() -> usize {
    let open_files = std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|limits| open_files_limit(&limits));
    match open_files {
        Some(files) => MAX_CONNECTIONS.min(files / 2).max(1),
        None => MAX_CONNECTIONS,
    }
}

/// The soft limit on open files in Linux's `/proc/self/limits` (none when unlimited, or on
/// systems without it).
fn open_files_limit(limits: &str) -> Option<usize> {
    let line = limits
        .lines()
        .find(|line| line.starts_with("Max open files"))?;
    let soft = line["Max open files".len()..].split_whitespace().next()?;
    soft.parse().ok()
}

/// A connection as a worker serves it: registered with the worker's runtime, closed if the
/// handshake has not come in time, and holding its place until it closes.
pub struct Connection {
    stream: TcpStream,
    /// Until [`HANDSHAKE_BYTES`] have been read.
    handshake: Option<(Pin<Box<Sleep>>, usize)>,
    _slot: OwnedSemaphorePermit,
}

impl Connection {
    /// Must run on the worker's runtime (the socket and the timer register with it).
    pub fn new((stream, slot): Handoff) -> std::io::Result<Self> {
        Ok(Self {
            stream: TcpStream::from_std(stream)?,
            handshake: Some((Box::pin(tokio::time::sleep(HANDSHAKE_TIMEOUT)), 0)),
            _slot: slot,
        })
    }
}

impl AsyncRead for Connection {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = &mut *self;
        let Some((deadline, read)) = &mut this.handshake else {
            return Pin::new(&mut this.stream).poll_read(cx, buf);
        };
        if deadline.as_mut().poll(cx).is_ready() {
            return Poll::Ready(Err(std::io::Error::new(
                ErrorKind::TimedOut,
                "no HTTP/2 handshake in time",
            )));
        }
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.stream).poll_read(cx, buf);
        *read += buf.filled().len() - before;
        if *read >= HANDSHAKE_BYTES {
            this.handshake = None;
        }
        polled
    }
}

impl AsyncWrite for Connection {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

/// The caller's address, as tonic gives it to the service (rate limits key on it).
impl Connected for Connection {
    type ConnectInfo = TcpConnectInfo;

    fn connect_info(&self) -> TcpConnectInfo {
        self.stream.connect_info()
    }
}

#[cfg(test)]
mod tests {
    use super::open_files_limit;

    #[test]
    fn the_soft_open_files_limit_is_read() {
        let limits = "Limit                     Soft Limit           Hard Limit           Units     \n\
                      Max processes             95711                95711                processes \n\
                      Max open files            1024                 524288               files     \n";
        assert_eq!(open_files_limit(limits), Some(1024));
        let unlimited =
            "Max open files            unlimited            unlimited            files     \n";
        assert_eq!(open_files_limit(unlimited), None);
        assert_eq!(open_files_limit(""), None);
    }
}
