//! `url-shortener grpc …`: calls the gRPC API with the client generated from the `.proto` —
//! for people without grpcurl, and as an example of a tonic client (a channel, metadata, a
//! deadline, a server stream).

use std::time::Duration;

use clap::{Args, Subcommand};
use tonic::metadata::MetadataValue;
use tonic::transport::Channel;
use tonic::{Request, Status};
use tonic_types::StatusExt;

use super::proto::{self, links_client::LinksClient};

/// Call the gRPC API of a running server.
#[derive(Args)]
pub struct GrpcArgs {
    /// The server's gRPC address
    #[arg(long, default_value = "http://127.0.0.1:9082", env = "GRPC_ADDR")]
    addr: String,
    /// An access token (`POST /login`), sent as `authorization: Bearer …`
    #[arg(long, env = "SHORTENER_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// The deadline of each call, in seconds
    #[arg(long, default_value_t = 10)]
    timeout: u64,
    #[command(subcommand)]
    call: Call,
}

#[derive(Subcommand)]
enum Call {
    /// Make a short link
    Shorten {
        url: String,
        /// Your own code instead of a random one
        #[arg(long)]
        code: Option<String>,
        /// Visits it gives before it stops working
        #[arg(long)]
        max_visits: Option<i64>,
        /// Visitors must give this password
        #[arg(long)]
        password: Option<String>,
    },
    /// Show a link
    Get { code: String },
    /// Show where a link goes (counting a visit only with --count)
    Resolve {
        code: String,
        #[arg(long)]
        count: bool,
        #[arg(long)]
        password: Option<String>,
    },
    /// Show a link's visit count, and a breakdown with --by day|referrer|browser
    Stats {
        code: String,
        #[arg(long)]
        by: Option<String>,
    },
    /// Delete a link
    Delete {
        code: String,
        /// An anonymous link's manage token
        #[arg(long)]
        manage_token: Option<String>,
    },
    /// Print a link's visits as they happen, until Ctrl-C
    Watch { code: String },
    /// Ask the standard health service whether the links service is serving
    Health,
    /// A load test: Resolve one code as fast as the server answers, then print req/s and
    /// the latencies (scripts/bench.sh uses h2load, which costs less per call)
    Load {
        code: String,
        /// Count each call as a visit, as a redirect does
        #[arg(long)]
        count: bool,
        /// TCP connections (HTTP/2 carries many calls at once on each)
        #[arg(long, default_value_t = 2)]
        connections: usize,
        /// Calls in flight at any moment, over all connections
        #[arg(long, default_value_t = 64)]
        concurrency: usize,
        /// How long to run, in seconds
        #[arg(long, default_value_t = 15)]
        seconds: u64,
    },
}

/// Runs one call and prints its answer; a failed call is an error naming its status.
pub async fn run(args: GrpcArgs) -> Result<(), Box<dyn std::error::Error>> {
    let channel = Channel::from_shared(args.addr.clone())?
        .connect_timeout(Duration::from_secs(5))
        .connect()
        .await
        .map_err(|e| format!("cannot reach {}: {e}", args.addr))?;
    let calls = Calls {
        timeout: Duration::from_secs(args.timeout),
        token: args.token.clone(),
    };
    if let Call::Load {
        code,
        count,
        connections,
        concurrency,
        seconds,
    } = args.call
    {
        let mut channels = vec![channel];
        for _ in 1..connections.max(1) {
            channels.push(Channel::from_shared(args.addr.clone())?.connect().await?);
        }
        let request = proto::ResolveRequest {
            code,
            count_visit: count,
            user_agent: "Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0".into(),
            ..Default::default()
        };
        return load(channels, request, concurrency, Duration::from_secs(seconds)).await;
    }
    let mut client = LinksClient::new(channel.clone());
    let result = match args.call {
        Call::Shorten {
            url,
            code,
            max_visits,
            password,
        } => client
            .shorten(calls.request(proto::ShortenRequest {
                url,
                custom_code: code,
                max_visits,
                password,
                ..Default::default()
            }))
            .await
            .map(|response| {
                let created = response.into_inner();
                if let Some(link) = &created.link {
                    print_link(link);
                }
                if let Some(token) = created.manage_token {
                    println!("manage token (shown once): {token}");
                }
            }),
        Call::Get { code } => client
            .get(calls.request(proto::GetRequest { code }))
            .await
            .map(|r| print_link(r.get_ref())),
        Call::Resolve {
            code,
            count,
            password,
        } => client
            .resolve(calls.request(proto::ResolveRequest {
                code,
                count_visit: count,
                password,
                ..Default::default()
            }))
            .await
            .map(|r| println!("{} {}", r.get_ref().redirect_type, r.get_ref().url)),
        Call::Stats { code, by } => {
            let by = match by.as_deref() {
                None => proto::Breakdown::Unspecified,
                Some("day") => proto::Breakdown::Day,
                Some("referrer") => proto::Breakdown::Referrer,
                Some("browser") => proto::Breakdown::Browser,
                Some(other) => return Err(format!("unknown breakdown `{other}`").into()),
            };
            client
                .stats(calls.request(proto::StatsRequest {
                    code,
                    by: by.into(),
                }))
                .await
                .map(|r| {
                    let stats = r.into_inner();
                    if let Some(link) = &stats.link {
                        print_link(link);
                    }
                    println!("visits: {}", stats.access_count);
                    for bucket in stats.breakdown {
                        println!("  {:<24} {}", bucket.key, bucket.visits);
                    }
                })
        }
        Call::Delete { code, manage_token } => {
            let mut call = calls.request(proto::DeleteRequest { code });
            if let Some(value) = manage_token.and_then(|t| MetadataValue::try_from(t).ok()) {
                call.metadata_mut().insert("x-manage-token", value);
            }
            client.delete(call).await.map(|_| println!("deleted"))
        }
        Call::Watch { code } => {
            // A stream has no deadline: it runs until Ctrl-C or the server stops.
            let mut call = calls.request(proto::WatchVisitsRequest { code });
            call.metadata_mut().remove("grpc-timeout");
            let mut stream = client
                .watch_visits(call)
                .await
                .map_err(|status| describe(&status))?
                .into_inner();
            eprintln!("watching; Ctrl-C to stop");
            while let Some(batch) = stream.message().await.map_err(|status| describe(&status))? {
                if batch.missed > 0 {
                    println!("({} visits missed)", batch.missed);
                }
                for visit in batch.visits {
                    let at = visit.visited_at.map(|t| t.to_string()).unwrap_or_default();
                    let from = if visit.referrer_host.is_empty() {
                        "(direct)"
                    } else {
                        &visit.referrer_host
                    };
                    let bot = if visit.bot { " (bot)" } else { "" };
                    println!("{at}  {} × {}{bot} from {from}", visit.hits, visit.browser);
                }
            }
            println!("the server ended the stream");
            Ok(())
        }
        Call::Health => {
            let mut health = tonic_health::pb::health_client::HealthClient::new(channel);
            health
                .check(calls.request(tonic_health::pb::HealthCheckRequest {
                    service: "shortener.v1.Links".into(),
                }))
                .await
                .map(|r| println!("{:?}", r.get_ref().status()))
        }
        Call::Load { .. } => unreachable!("handled above"),
    };
    result.map_err(|status| describe(&status).into())
}

/// What every call carries: the deadline (`grpc-timeout`) and, if given, the token.
struct Calls {
    timeout: Duration,
    token: Option<String>,
}

impl Calls {
    fn request<T>(&self, message: T) -> Request<T> {
        let mut request = Request::new(message);
        request.set_timeout(self.timeout);
        if let Some(value) = (self.token.as_ref())
            .and_then(|token| MetadataValue::try_from(format!("Bearer {token}")).ok())
        {
            request.metadata_mut().insert("authorization", value);
        }
        request
    }
}

/// `concurrency` callers Resolve in a loop over `channels` for `duration`; prints one line:
/// req/s, p50, p99, errors (wrk's figures, for scripts/bench.sh).
async fn load(
    channels: Vec<Channel>,
    request: proto::ResolveRequest,
    concurrency: usize,
    duration: Duration,
) -> Result<(), Box<dyn std::error::Error>> {
    let started = std::time::Instant::now();
    let end = started + duration;
    let callers = (0..concurrency.max(1)).map(|i| {
        let mut client = LinksClient::new(channels[i % channels.len()].clone());
        let request = request.clone();
        tokio::spawn(async move {
            let (mut latencies, mut errors) = (Vec::new(), 0u64);
            while std::time::Instant::now() < end {
                let call = std::time::Instant::now();
                match client.resolve(request.clone()).await {
                    Ok(_) => latencies.push(call.elapsed()),
                    Err(_) => errors += 1,
                }
            }
            (latencies, errors)
        })
    });
    let (mut latencies, mut errors) = (Vec::new(), 0);
    for caller in callers.collect::<Vec<_>>() {
        let (l, e) = caller.await?;
        latencies.extend(l);
        errors += e;
    }
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort();
    let at = |q: f64| {
        latencies
            .get(((latencies.len() as f64 * q) as usize).min(latencies.len().saturating_sub(1)))
            .map_or("?".into(), |d| format!("{:.2}ms", d.as_secs_f64() * 1000.0))
    };
    println!(
        "{:<28} {:>10.0} req/s   p50 {:>8}   p99 {:>8}   errors {errors}",
        "gRPC Resolve",
        latencies.len() as f64 / elapsed,
        at(0.50),
        at(0.99),
    );
    Ok(())
}

fn print_link(link: &proto::Link) {
    println!("{}", link.short_url);
    match &link.url {
        Some(url) => println!("  → {url}"),
        None => println!("  → (hidden: password-protected)"),
    }
    println!(
        "  code {}, id {}, redirect {}",
        link.code, link.id, link.redirect_type
    );
    if let Some(max) = link.max_visits {
        println!("  at most {max} visits");
    }
    if let Some(t) = &link.expires_at {
        println!("  expires {t}");
    }
}

/// A failed call as a line a person can act on: the code, the message, and each field the
/// server found wrong.
fn describe(status: &Status) -> String {
    let mut out = format!("{:?}: {}", status.code(), status.message());
    let details = status.get_error_details();
    if let Some(bad) = details.bad_request() {
        for v in &bad.field_violations {
            out.push_str(&format!("\n  {}: {}", v.field, v.description));
        }
    }
    if let Some(delay) = details.retry_info().and_then(|r| r.retry_delay) {
        out.push_str(&format!("\n  retry in {} s", delay.as_secs()));
    }
    out
}
