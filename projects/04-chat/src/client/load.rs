//! `chat load`: the benchmark. Opens `--connections` guest connections spread over
//! `--rooms` rooms, sends `--rate` messages a second in all (rotating senders, so no one
//! trips the per-connection limit) for `--duration` seconds, and reports fan-out latency
//! (the sender's timestamp in the text → each receiver), deliveries per second, anything
//! lost, errors, and the server's memory (`--pid`: its RSS from /proc).
//!
//! ```text
//! chat load --connections 5000 --rooms 100 --rate 0 --pid $(pgrep -n chat)   # idle memory
//! chat load --connections 1000 --rooms 1 --rate 10 --duration 20            # one big room
//! chat load --connections 5000 --rooms 100 --rate 1000 --duration 20        # many rooms
//! ```

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use tokio::sync::{mpsc, watch};
use tokio_tungstenite::tungstenite::Message;

#[derive(Default)]
struct Counters {
    sent: AtomicU64,
    acked: AtomicU64,
    delivered: AtomicU64,
    errors: AtomicU64,
    closed: AtomicU64,
}

#[derive(Deserialize)]
struct Incoming<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    #[serde(default)]
    text: Option<&'a str>,
}

fn now_micros() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_micros() as u64
}

/// `chat load`'s flags.
#[derive(Debug, clap::Args)]
pub struct LoadArgs {
    #[command(flatten)]
    server: super::Server,
    /// Guest connections to open
    #[arg(long, default_value_t = 100)]
    connections: usize,
    /// Rooms to spread them over
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..))]
    rooms: u32,
    /// Messages a second, in all, up to 100 000 (0: idle, to measure memory)
    #[arg(long, default_value_t = 10.0, value_parser = rate)]
    rate: f64,
    /// Seconds to send for
    #[arg(long, default_value_t = 10)]
    duration: u64,
    /// The server's process id: report its memory (RSS) before and after
    #[arg(long)]
    pid: Option<u32>,
    /// Room and guest names start with this
    #[arg(long, default_value = "load")]
    prefix: String,
}

/// `--rate`: a number of messages a second the sender's timer can keep (0 or 0.001–100 000).
fn rate(raw: &str) -> Result<f64, String> {
    match raw.parse::<f64>() {
        Ok(r) if r == 0.0 || (0.001..=100_000.0).contains(&r) => Ok(r),
        _ => Err("expected 0 (idle) or a rate from 0.001 to 100000".into()),
    }
}

/// Runs the load on a runtime of its own with a thread per core: one thread would itself
/// become the bottleneck (it reads every delivery) and the figures would measure the tool.
/// `port`: `--port`, the server's port on this machine (as for `serve`).
pub async fn run(args: LoadArgs, port: Option<u16>) -> Result<(), backend_kit::cli::BoxError> {
    let (done, result) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let outcome = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())
            .and_then(|runtime| {
                runtime
                    .block_on(measure(args, port))
                    .map_err(|e| e.to_string())
            });
        let _ = done.send(outcome);
    });
    Ok(result.await.map_err(|_| "the load thread panicked")??)
}

async fn measure(args: LoadArgs, port: Option<u16>) -> Result<(), backend_kit::cli::BoxError> {
    let authority = args.server.authority(port)?;
    let LoadArgs {
        connections,
        rate,
        pid,
        prefix,
        ..
    } = args;
    let rooms = args.rooms as usize;
    let duration = Duration::from_secs(args.duration);
    if connections < rooms {
        return Err("need at least one connection per room".into());
    }

    let rss_before = pid.and_then(rss_kib);
    let counters = Arc::new(Counters::default());
    let (stop, stopped) = watch::channel(false);
    let room_name = |r: usize| format!("{prefix}-{r}");
    create_rooms(&authority, &prefix, rooms).await?;

    // Connect in batches: thousands of simultaneous handshakes only measure the accept queue.
    let started = Instant::now();
    let mut senders: Vec<Vec<mpsc::Sender<String>>> = vec![Vec::new(); rooms];
    let mut handles = Vec::with_capacity(connections);
    for batch in (0..connections).collect::<Vec<_>>().chunks(100) {
        let mut pending = Vec::new();
        for &i in batch {
            let url = format!("ws://{authority}/ws?guest={prefix}{i}");
            // No Nagle: a small frame must not wait for the previous one's ACK.
            pending.push(async move {
                (
                    i,
                    tokio_tungstenite::connect_async_with_config(url, None, true).await,
                )
            });
        }
        for (i, result) in futures_util::future::join_all(pending).await {
            let (ws, _) = result.map_err(|e| format!("connection {i}: {e}"))?;
            let room = room_name(i % rooms);
            let (tx, rx) = mpsc::channel::<String>(16);
            senders[i % rooms].push(tx);
            handles.push(tokio::spawn(member(
                ws,
                room,
                rx,
                counters.clone(),
                stopped.clone(),
            )));
        }
    }
    // Let every join land before measuring.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let connect_time = started.elapsed();
    let rss_idle = pid.and_then(rss_kib);
    println!(
        "connected {connections} in {:.1} s over {rooms} rooms",
        connect_time.as_secs_f64()
    );
    if let (Some(before), Some(idle)) = (rss_before, rss_idle) {
        println!(
            "server RSS: {} KiB before, {} KiB with {connections} idle connections: {:.1} KiB per connection",
            before,
            idle,
            (idle.saturating_sub(before)) as f64 / connections as f64
        );
    }

    if rate > 0.0 {
        let interval = Duration::from_secs_f64(1.0 / rate);
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
        let send_start = Instant::now();
        let cpu_start = (pid.and_then(cpu_ticks), machine_ticks());
        let mut k: usize = 0;
        while send_start.elapsed() < duration {
            tick.tick().await;
            let room = k % rooms;
            let members = &senders[room];
            let sender = &members[(k / rooms) % members.len()];
            let text = format!("t{}", now_micros());
            if sender.try_send(text).is_ok() {
                counters.sent.fetch_add(1, Ordering::Relaxed);
            } else {
                counters.errors.fetch_add(1, Ordering::Relaxed);
            }
            k += 1;
        }
        let sending = send_start.elapsed();
        let cpu_end = (pid.and_then(cpu_ticks), machine_ticks());
        // Let the last fan-outs arrive.
        tokio::time::sleep(Duration::from_secs(3)).await;
        let members_per_room = connections as f64 / rooms as f64;
        let sent = counters.sent.load(Ordering::Relaxed);
        let delivered = counters.delivered.load(Ordering::Relaxed);
        let expected = (sent as f64 * members_per_room).round() as u64;
        let _ = stop.send(true);
        let mut lat: Vec<u32> = Vec::with_capacity(delivered as usize);
        for handle in handles.drain(..) {
            lat.extend(handle.await.unwrap_or_default());
        }
        lat.sort_unstable();
        let pct = |p: f64| {
            lat.get(((lat.len() as f64 * p) as usize).min(lat.len().saturating_sub(1)))
                .copied()
                .unwrap_or(0)
        };
        println!(
            "sent {sent} messages in {:.1} s ({:.0}/s), acknowledged {}",
            sending.as_secs_f64(),
            sent as f64 / sending.as_secs_f64(),
            counters.acked.load(Ordering::Relaxed)
        );
        println!(
            "deliveries: {delivered} of {expected} expected ({:.0}/s), not there 3 s after the last send: {}",
            delivered as f64 / sending.as_secs_f64(),
            expected.saturating_sub(delivered)
        );
        println!(
            "fan-out latency: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
            pct(0.50) as f64 / 1000.0,
            pct(0.99) as f64 / 1000.0,
            lat.last().copied().unwrap_or(0) as f64 / 1000.0
        );
        if let Some(rss) = pid.and_then(rss_kib) {
            println!("server RSS after the run: {rss} KiB");
        }
        // What the figures were measured under: a saturated or shared machine queues.
        let ticks = |from: Option<u64>, to: Option<u64>| to?.checked_sub(from?);
        if let Some(server) = ticks(cpu_start.0, cpu_end.0) {
            println!(
                "server CPU while sending: {:.0} % of one core",
                server as f64 / TICKS_PER_SECOND / sending.as_secs_f64() * 100.0
            );
        }
        if let (Some((all0, steal0)), Some((all1, steal1))) = (cpu_start.1, cpu_end.1) {
            println!(
                "CPU stolen by the hypervisor while sending: {:.1} %",
                (steal1 - steal0) as f64 / (all1 - all0).max(1) as f64 * 100.0
            );
        }
    }
    println!(
        "errors: {}, connections closed by the server: {}",
        counters.errors.load(Ordering::Relaxed),
        counters.closed.load(Ordering::Relaxed)
    );
    let _ = stop.send(true);
    drop(senders);
    for handle in handles {
        handle.abort();
    }
    Ok(())
}

async fn create_rooms(authority: &str, prefix: &str, rooms: usize) -> Result<(), String> {
    // Rooms are created by an account; the load uses a throw-away one.
    let email = format!("{prefix}-{}@load.test", super::client_id());
    let register = serde_json::json!({"name": "load", "email": email, "password": "load-password"})
        .to_string();
    let (status, body) = super::post_json(authority, "/api/register", None, &register).await?;
    if status != 201 {
        return Err(format!("register ({status}): {body}"));
    }
    let token: serde_json::Value = serde_json::from_str(&body).map_err(|e| e.to_string())?;
    let token = token["token"].as_str().unwrap_or_default().to_string();
    for r in 0..rooms {
        let body = serde_json::json!({"name": format!("{prefix}-{r}")}).to_string();
        let (status, answer) =
            super::post_json(authority, "/api/rooms", Some(&token), &body).await?;
        if status != 201 && status != 409 {
            return Err(format!("create room ({status}): {answer}"));
        }
    }
    Ok(())
}

/// One connection: joins, sends what it is handed, and records the latency of every
/// message it receives until told to stop; returns those latencies (µs).
async fn member<S>(
    ws: S,
    room: String,
    mut outgoing: mpsc::Receiver<String>,
    counters: Arc<Counters>,
    mut stop: watch::Receiver<bool>,
) -> Vec<u32>
where
    S: futures_util::Sink<Message, Error = tokio_tungstenite::tungstenite::Error>
        + futures_util::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>>
        + Unpin,
{
    let (mut sink, mut stream) = ws.split();
    let join = serde_json::json!({"type": "join", "room": room}).to_string();
    let mut latencies: Vec<u32> = Vec::new();
    if sink.send(Message::text(join)).await.is_err() {
        counters.closed.fetch_add(1, Ordering::Relaxed);
        return latencies;
    }
    loop {
        tokio::select! {
            _ = stop.changed() => break,
            Some(text) = outgoing.recv() => {
                let frame = serde_json::json!({"type": "send", "room": room, "text": text, "clientId": super::client_id()});
                if sink.send(Message::text(frame.to_string())).await.is_err() {
                    counters.closed.fetch_add(1, Ordering::Relaxed);
                    break;
                }
            }
            frame = stream.next() => {
                let text = match frame {
                    Some(Ok(Message::Text(text))) => text,
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => {
                        counters.closed.fetch_add(1, Ordering::Relaxed);
                        break;
                    }
                    Some(Ok(_)) => continue,
                };
                // Messages are most of the traffic: found by their fixed prefix, not parsed
                // (the tool must not be what limits the measurement).
                if text.starts_with(r#"{"type":"message""#) {
                    let sent_at = text.find(r#""text":"t"#).and_then(|at| {
                        let digits = &text[at + 9..];
                        digits[..digits.find('"')?].parse::<u64>().ok()
                    });
                    if let Some(sent_at) = sent_at {
                        counters.delivered.fetch_add(1, Ordering::Relaxed);
                        latencies.push(now_micros().saturating_sub(sent_at).min(u32::MAX as u64) as u32);
                    }
                    continue;
                }
                let Ok(frame) = serde_json::from_str::<Incoming<'_>>(&text) else { continue };
                match frame.kind {
                    "message" => {
                        let sent_at = frame.text.and_then(|t| t.strip_prefix('t')).and_then(|t| t.parse::<u64>().ok());
                        if let Some(sent_at) = sent_at {
                            counters.delivered.fetch_add(1, Ordering::Relaxed);
                            latencies.push(now_micros().saturating_sub(sent_at).min(u32::MAX as u64) as u32);
                        }
                    }
                    "ack" => { counters.acked.fetch_add(1, Ordering::Relaxed); }
                    "error" => { counters.errors.fetch_add(1, Ordering::Relaxed); }
                    _ => {}
                }
            }
        }
    }
    latencies
}

/// Clock ticks per second in /proc (`USER_HZ`: 100 on every Linux this runs on).
const TICKS_PER_SECOND: f64 = 100.0;

/// A process's CPU time (user + system) in clock ticks (Linux).
fn cpu_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may hold spaces) in parentheses: utime is 14th.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
}

/// The machine's CPU time in all and the part stolen by the hypervisor, in ticks (Linux).
fn machine_ticks() -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let times: Vec<u64> = stat
        .lines()
        .next()?
        .split_whitespace()
        .skip(1)
        .filter_map(|t| t.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal; guest time is inside user and nice.
    let all = times.get(..8)?;
    Some((all.iter().sum(), all[7]))
}

/// A process's resident memory in KiB (Linux).
fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}
