//! With the `otel` feature and `OTEL_EXPORTER_OTLP_ENDPOINT`, spans reach an OpenTelemetry
//! collector over OTLP/HTTP — here a stand-in that records what it is sent. Run by `.ci/run`:
//! `cargo test -p backend-kit --all-features --test otel`.
#![cfg(feature = "otel")]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::mpsc;
use std::time::Duration;

use backend_kit::config::Settings;

/// One request as the collector saw it: path, content type, body.
type Received = (String, String, Vec<u8>);

/// A collector on a free port that answers `200` to every request and hands it over.
fn fake_collector() -> (String, mpsc::Receiver<Received>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let (sender, received) = mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().expect("clone"));
            let mut line = String::new();
            reader.read_line(&mut line).expect("request line");
            let path = line
                .split_whitespace()
                .nth(1)
                .unwrap_or_default()
                .to_string();
            let (mut length, mut content_type) = (0, String::new());
            loop {
                let mut header = String::new();
                reader.read_line(&mut header).expect("header");
                let header = header.trim_end();
                if header.is_empty() {
                    break;
                }
                let (name, value) = header.split_once(':').unwrap_or((header, ""));
                match name.to_ascii_lowercase().as_str() {
                    "content-length" => length = value.trim().parse().unwrap_or(0),
                    "content-type" => content_type = value.trim().to_string(),
                    _ => {}
                }
            }
            let mut body = vec![0; length];
            reader.read_exact(&mut body).expect("body");
            let _ = stream.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n");
            let _ = sender.send((path, content_type, body));
        }
    });
    (url, received)
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

#[test]
fn spans_reach_the_collector_when_the_telemetry_is_dropped() {
    let (endpoint, received) = fake_collector();
    let mut settings = Settings::for_tests("otel-demo", "sqlite::memory:".into());
    settings.log_filter = "info".into();
    settings.otlp_endpoint = Some(endpoint);
    let telemetry = backend_kit::http::telemetry::init(&settings);
    tracing::info_span!("checkout", order = 7).in_scope(|| {
        tracing::info!("paid");
    });
    // The batch goes out at shutdown at the latest: what `main` does at its end.
    drop(telemetry);

    let (path, content_type, body) = received
        .recv_timeout(Duration::from_secs(10))
        .expect("the collector was sent the spans");
    assert_eq!(path, "/v1/traces");
    assert_eq!(content_type, "application/x-protobuf");
    // Protobuf keeps strings as they are: the span's name and the service's.
    assert!(contains(&body, b"checkout"), "{body:?}");
    assert!(contains(&body, b"otel-demo"), "{body:?}");
}
