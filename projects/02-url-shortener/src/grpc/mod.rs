//! The gRPC API (`shortener.v1.Links`, see `proto/shortener/v1/links.proto`): the same links
//! as HTTP, for services that call the shortener from code. A tour:
//!
//! - [`proto`] — the messages, the server trait and the client, generated from the `.proto`
//!   at build time (`build.rs`, with protox: no `protoc` to install).
//! - [`links`] — the service: each RPC calls the same operation as its HTTP handler
//!   ([`crate::links`]); `WatchVisits` streams the visit writer's batches.
//! - [`status`] — errors as gRPC status codes with details.
//! - [`metrics`] — calls by method and code, and their durations, in `/metrics`.
//! - [`connections`] — the acceptor, and the bounds on connections (how many, how long to
//!   start HTTP/2).
//! - [`client`] — `url-shortener grpc …`, a command-line client for people without grpcurl.
//!
//! [`GrpcServer::start`] serves it on its own port (`GRPC_PORT`, 9082) beside the HTTP
//! server, with the standard health service (`grpc.health.v1.Health`) and server reflection
//! (`grpcurl -plaintext localhost:9082 list`).
//!
//! **Its own threads, one runtime per core.** tonic (hyper, h2) is usually served on tokio's
//! multi-threaded, work-stealing runtime; here it runs as actix runs HTTP: one thread accepts
//! connections and hands them out in turn to one worker per core, each a single-threaded
//! runtime, so a connection and every call on it stay on one thread. Measured on 2 cores
//! (the url-shortener's BENCHMARKS.md), that serves 40 % more `Resolve` calls than the
//! work-stealing runtime did — HTTP/2's per-call tasks no longer wake each other across
//! threads — and even one connection did no worse. The price: one connection uses one core,
//! so a client that needs more opens more connections (a pool of tonic `Channel`s). The two
//! servers share everything else: the database pool, the cache, the visit writer, the rate
//! limits — all made to be used from any thread.

pub mod client;
pub mod connections;
pub mod links;
pub mod metrics;
pub mod status;

/// The code generated from `proto/shortener/v1/links.proto`.
#[allow(clippy::all, missing_docs, rust_2018_idioms)]
pub mod proto {
    tonic::include_proto!("shortener.v1");

    /// The compiled `.proto` files, for server reflection.
    pub const FILE_DESCRIPTOR_SET: &[u8] =
        include_bytes!(concat!(env!("OUT_DIR"), "/shortener_descriptor.bin"));
}

use std::net::TcpListener;
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot, watch};
use tokio_stream::StreamExt;
use tokio_stream::wrappers::UnboundedReceiverStream;
use tonic::service::Routes;
use tonic::transport::Server;
use tonic::transport::server::Router;

use self::connections::{Connection, Handoff};
use self::links::LinksService;
use self::proto::links_server::LinksServer;

/// The largest message a call may send (or be sent): a link is well under 8 KiB; anything
/// bigger is refused before it is decoded (tonic answers `OUT_OF_RANGE`).
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024;
/// Calls in flight on one connection (HTTP/2's `SETTINGS_MAX_CONCURRENT_STREAMS`: the client
/// waits for a slot), so one client's connection cannot take every worker.
const MAX_STREAMS_PER_CONNECTION: u32 = 128;
/// No call may run longer, whatever deadline the client set or did not set (tonic ends it
/// with `CANCELLED`; a shorter `grpc-timeout` is honoured as sent, with `DEADLINE_EXCEEDED`).
/// Streams (`WatchVisits`) are not cut by it: it bounds the time to the first answer.
pub const MAX_CALL_TIME: Duration = Duration::from_secs(30);
/// How long calls in flight get to finish at shutdown (as HTTP's requests get).
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(backend_kit::http::SHUTDOWN_TIMEOUT_SECS);

/// The running gRPC server: [`GrpcServer::stop`] ends it gracefully.
pub struct GrpcServer {
    port: u16,
    stopping: watch::Sender<bool>,
    stopped: oneshot::Receiver<()>,
}

impl GrpcServer {
    /// Serves `service` on `listener` with `threads` workers, each a single-threaded runtime
    /// on a thread of its own; one more thread accepts connections and hands them out in
    /// turn. `stopping` is the watch [`LinksService`] was given: it turns `true` at
    /// [`Self::stop`].
    pub fn start(
        listener: TcpListener,
        service: LinksService,
        stopping: watch::Sender<bool>,
        threads: usize,
    ) -> std::io::Result<Self> {
        let port = listener.local_addr()?.port();
        listener.set_nonblocking(true)?;
        let (health, health_service) = tonic_health::server::health_reporter();
        // What `grpcurl list` and `describe` read: our service and health.
        let reflection = || {
            tonic_reflection::server::Builder::configure()
                .register_encoded_file_descriptor_set(proto::FILE_DESCRIPTOR_SET)
                .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        };
        let reflection_alpha = reflection()
            .build_v1alpha()
            .map_err(std::io::Error::other)?;
        let reflection = reflection().build_v1().map_err(std::io::Error::other)?;
        let links = LinksServer::new(service)
            .max_decoding_message_size(MAX_MESSAGE_BYTES)
            .max_encoding_message_size(MAX_MESSAGE_BYTES);
        let routes = Routes::new(health_service)
            .add_service(reflection)
            .add_service(reflection_alpha)
            .add_service(links);
        let server = Server::builder()
            .timeout(MAX_CALL_TIME)
            .max_concurrent_streams(MAX_STREAMS_PER_CONNECTION)
            // Dead peers are noticed and their connections closed.
            .http2_keepalive_interval(Some(Duration::from_secs(30)))
            .http2_keepalive_timeout(Some(Duration::from_secs(10)))
            .trace_fn(|request| tracing::info_span!("grpc", path = %request.uri().path()));
        let mut workers = Vec::new();
        let mut handoffs = Vec::new();
        for index in 0..threads.max(1) {
            let (handoff, thread) = spawn_worker(
                index,
                server.clone().add_routes(routes.clone()),
                stopping.subscribe(),
            )?;
            handoffs.push(handoff);
            workers.push(thread);
        }

        let acceptor = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let mut stop = stopping.subscribe();
        let (stopped_tx, stopped) = oneshot::channel();
        std::thread::Builder::new()
            .name("grpc-accept".into())
            .spawn(move || {
                let accepted = acceptor.block_on(async move {
                    let listener = tokio::net::TcpListener::from_std(listener)?;
                    let mut health = health;
                    health.set_serving::<LinksServer<LinksService>>().await;
                    connections::accept(&listener, handoffs, &mut stop).await;
                    // Stopping (a signal, or every handle dropped): the listener closes, health
                    // says so, and the workers let calls in flight finish.
                    drop(listener);
                    health.set_not_serving::<LinksServer<LinksService>>().await;
                    health
                        .set_service_status("", tonic_health::ServingStatus::NotServing)
                        .await;
                    // Then the statuses go: `Health/Watch` streams end (after delivering
                    // NOT_SERVING) instead of holding the stop for the whole grace.
                    health.clear_service_status("").await;
                    health
                        .clear_service_status(
                            <LinksServer<LinksService> as tonic::server::NamedService>::NAME,
                        )
                        .await;
                    std::io::Result::Ok(())
                });
                if let Err(e) = accepted {
                    tracing::error!(error = %e, "the gRPC listener failed");
                }
                for worker in workers {
                    let _ = worker.join();
                }
                let _ = stopped_tx.send(());
            })?;
        Ok(Self {
            port,
            stopping,
            stopped,
        })
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// A function that starts a graceful stop (for the stop signal's hook).
    pub fn stopper(&self) -> impl FnOnce() + Send + 'static + use<> {
        let stopping = self.stopping.clone();
        move || {
            let _ = stopping.send(true);
        }
    }

    /// Stops taking calls, ends the visit streams and waits (up to [`SHUTDOWN_GRACE`]) for
    /// calls in flight.
    pub async fn stop(self) {
        let _ = self.stopping.send(true);
        if tokio::time::timeout(SHUTDOWN_GRACE + Duration::from_secs(2), self.stopped)
            .await
            .is_err()
        {
            tracing::warn!("the gRPC server did not stop in time");
        }
    }
}

/// One worker: a thread with a single-threaded runtime serving the connections handed to it,
/// until the stop.
fn spawn_worker(
    index: usize,
    router: Router,
    stop: watch::Receiver<bool>,
) -> std::io::Result<(mpsc::UnboundedSender<Handoff>, JoinHandle<()>)> {
    let (handoff, connections) = mpsc::unbounded_channel::<Handoff>();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let thread = std::thread::Builder::new()
        .name(format!("grpc-{index}"))
        .spawn(move || {
            // Connections were accepted on the acceptor's runtime: each is registered with
            // this one's, and all its calls run here.
            let incoming = UnboundedReceiverStream::new(connections).map(Connection::new);
            let mut stopped = stop.clone();
            let shutdown = async move {
                let _ = stopped.wait_for(|stop| *stop).await;
            };
            let serve = router.serve_with_incoming_shutdown(incoming, shutdown);
            // A graceful stop waits for every connection to finish; a client that stops
            // reading could hold it open for ever (and with it the service, which keeps the
            // visit writer from finishing). Past the grace, the server is dropped with its
            // connections.
            let mut stop = stop;
            let grace = async move {
                let _ = stop.wait_for(|stop| *stop).await;
                tokio::time::sleep(SHUTDOWN_GRACE).await;
            };
            let served = runtime.block_on(async move {
                tokio::select! {
                    served = serve => served.map_err(std::io::Error::other),
                    () = grace => {
                        tracing::warn!("gRPC connections still open after the grace period: closed");
                        Ok(())
                    }
                }
            });
            if let Err(e) = served {
                tracing::error!(error = %e, "a gRPC worker failed");
            }
            // The visit streams' tasks ended with the stop; anything else is not waited for.
            runtime.shutdown_timeout(Duration::from_secs(1));
        })?;
    Ok((handoff, thread))
}
