//! A TCP forwarder that a test can cut and restore: a network partition between the service
//! and one of its dependencies (Redis, say), without stopping the dependency for everyone. It
//! can also *stall*: connections stay open but nothing gets through, as when the dependency is
//! frozen (`kill -STOP`) or a network drops packets without a reset — no error ever comes.
//! Plain threads, so it runs beside any async runtime.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

pub struct TcpProxy {
    port: u16,
    shared: Arc<Shared>,
}

struct Shared {
    up: AtomicBool,
    /// Bytes are held, in both directions, until [`TcpProxy::resume`].
    stalled: AtomicBool,
    /// Both ends of every forwarded connection, so that `cut` can close them.
    open: Mutex<Vec<TcpStream>>,
}

impl TcpProxy {
    /// Listens on a free local port and forwards each connection to `target` (`host:port`).
    pub fn start(target: &str) -> io::Result<Self> {
        let target = target
            .to_socket_addrs()?
            .next()
            .ok_or_else(|| io::Error::other("target does not resolve"))?;
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let port = listener.local_addr()?.port();
        let shared = Arc::new(Shared {
            up: AtomicBool::new(true),
            stalled: AtomicBool::new(false),
            open: Mutex::new(Vec::new()),
        });
        let state = Arc::clone(&shared);
        thread::spawn(move || {
            for client in listener.incoming().flatten() {
                // While cut, a connection is accepted and closed at once, as by a dead peer.
                if !state.up.load(Ordering::Acquire) {
                    continue;
                }
                let Ok(server) = TcpStream::connect(target) else {
                    continue;
                };
                let mut open = state.open.lock().unwrap_or_else(|p| p.into_inner());
                for stream in [&client, &server] {
                    if let Ok(clone) = stream.try_clone() {
                        open.push(clone);
                    }
                }
                drop(open);
                pipe(&client, &server, &state);
                pipe(&server, &client, &state);
            }
        });
        Ok(Self { port, shared })
    }

    /// `host:port` to give the service instead of the target's.
    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Closes every forwarded connection and refuses new ones until [`TcpProxy::restore`].
    pub fn cut(&self) {
        self.shared.up.store(false, Ordering::Release);
        let mut open = self.shared.open.lock().unwrap_or_else(|p| p.into_inner());
        for stream in open.drain(..) {
            let _ = stream.shutdown(Shutdown::Both);
        }
    }

    pub fn restore(&self) {
        self.shared.up.store(true, Ordering::Release);
    }

    /// Holds every byte in flight, on open and new connections, until [`TcpProxy::resume`]:
    /// nothing is closed, nothing answers.
    pub fn stall(&self) {
        self.shared.stalled.store(true, Ordering::Release);
    }

    /// Lets the bytes held by [`TcpProxy::stall`] through, and everything after them.
    pub fn resume(&self) {
        self.shared.stalled.store(false, Ordering::Release);
    }
}

/// Copies `from` → `to` on a thread of its own until either side closes, holding what it
/// reads while the proxy is stalled.
fn pipe(from: &TcpStream, to: &TcpStream, shared: &Arc<Shared>) {
    let (Ok(mut from), Ok(mut to)) = (from.try_clone(), to.try_clone()) else {
        return;
    };
    let shared = Arc::clone(shared);
    thread::spawn(move || {
        let mut buffer = [0u8; 16 * 1024];
        loop {
            let n = match from.read(&mut buffer) {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            while shared.stalled.load(Ordering::Acquire) && shared.up.load(Ordering::Acquire) {
                thread::sleep(Duration::from_millis(5));
            }
            if to.write_all(&buffer[..n]).is_err() {
                break;
            }
        }
        let _ = to.shutdown(Shutdown::Both);
        let _ = from.shutdown(Shutdown::Both);
    });
}
