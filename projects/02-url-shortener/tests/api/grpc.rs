//! The gRPC API through a real tonic client, against the real server: the same links and
//! rules as HTTP, status codes with details, the stream of visits, health and reflection,
//! and what a hostile client sends.

use std::time::Duration;

use serde_json::json;
use tonic::metadata::MetadataValue;
use tonic::transport::Channel;
use tonic::{Code, Request, Status};
use tonic_types::StatusExt;
use url_shortener::grpc::proto::links_client::LinksClient;
use url_shortener::grpc::proto::{self, Breakdown};

use crate::helpers::{TestApp, spawn_app_with, token};

async fn spawn() -> TestApp {
    spawn_grpc_app(|_| {}).await
}

async fn spawn_grpc_app(customize: impl FnOnce(&mut url_shortener::Config)) -> TestApp {
    spawn_app_with(|config| {
        config.grpc_port = Some(0);
        customize(config);
    })
    .await
}

async fn channel(app: &TestApp) -> Channel {
    let port = app.grpc_port.expect("gRPC is served");
    Channel::from_shared(format!("http://127.0.0.1:{port}"))
        .expect("an address")
        .connect()
        .await
        .expect("the gRPC port accepts connections")
}

async fn client(app: &TestApp) -> LinksClient<Channel> {
    LinksClient::new(channel(app).await)
}

/// `message` with `authorization: Bearer <token>` (or the raw value given).
fn authed<T>(message: T, authorization: &str) -> Request<T> {
    let mut request = Request::new(message);
    let value = if authorization.contains(' ') {
        authorization.to_string()
    } else {
        format!("Bearer {authorization}")
    };
    request.metadata_mut().insert(
        "authorization",
        MetadataValue::try_from(value).expect("ASCII"),
    );
    request
}

/// Makes a link (`request`: a `ShortenRequest`, with a token or not) and returns its code.
async fn make(
    grpc: &mut LinksClient<Channel>,
    request: impl tonic::IntoRequest<proto::ShortenRequest>,
) -> String {
    grpc.shorten(request)
        .await
        .expect("made")
        .into_inner()
        .link
        .expect("link")
        .code
}

/// The owner's stream of the visits to `code`.
async fn watch_as(
    grpc: &mut LinksClient<Channel>,
    code: &str,
    owner: &str,
) -> tonic::Streaming<proto::VisitBatch> {
    grpc.watch_visits(authed(
        proto::WatchVisitsRequest { code: code.into() },
        owner,
    ))
    .await
    .expect("watching")
    .into_inner()
}

/// `message` with the `authorization` given, if any.
fn wrap<T>(message: T, authorization: Option<&str>) -> Request<T> {
    match authorization {
        Some(a) => authed(message, a),
        None => Request::new(message),
    }
}

fn shorten(url: &str) -> proto::ShortenRequest {
    proto::ShortenRequest {
        url: url.into(),
        ..Default::default()
    }
}

fn resolve(code: &str, count_visit: bool) -> proto::ResolveRequest {
    proto::ResolveRequest {
        code: code.into(),
        count_visit,
        user_agent: "Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0".into(),
        ..Default::default()
    }
}

/// The fields a status's `BadRequest` names.
fn violated_fields(status: &Status) -> Vec<String> {
    status
        .get_error_details()
        .bad_request()
        .map(|b| b.field_violations.iter().map(|v| v.field.clone()).collect())
        .unwrap_or_default()
}

fn error_reason(status: &Status) -> Option<String> {
    status
        .get_error_details()
        .error_info()
        .map(|i| i.reason.clone())
}

#[actix_web::test]
async fn a_link_made_over_grpc_is_the_link_http_serves() {
    let app = spawn().await;
    let owner = token(&app).await;
    let mut grpc = client(&app).await;

    let created = grpc
        .shorten(authed(shorten("https://example.com/grpc"), &owner))
        .await
        .expect("shortened")
        .into_inner();
    let link = created.link.expect("the link");
    assert_eq!(link.url.as_deref(), Some("https://example.com/grpc"));
    assert_eq!(link.redirect_type, 302);
    assert_eq!(link.short_url, format!("http://short.test/{}", link.code));
    assert!(created.manage_token.is_none(), "an owned link needs none");

    // HTTP sees the same link, and redirects to it.
    let http = app
        .client
        .get(&format!("/shorten/{}", link.code), Some(&owner))
        .await;
    http.assert_status(200);
    assert_eq!(http.json()["url"], "https://example.com/grpc");
    app.visit(&link.code).await.assert_status(302);

    // Resolve counts a visit only when asked.
    for count in [true, true, false, false] {
        let resolved = grpc
            .resolve(resolve(&link.code, count))
            .await
            .expect("resolved")
            .into_inner();
        assert_eq!(resolved.url, "https://example.com/grpc");
        assert_eq!(resolved.redirect_type, 302);
    }
    // Visits are written within a second: one HTTP visit, two counted resolves.
    let mut stats = proto::StatsResponse::default();
    for _ in 0..40 {
        stats = grpc
            .stats(authed(
                proto::StatsRequest {
                    code: link.code.clone(),
                    by: Breakdown::Browser.into(),
                },
                &owner,
            ))
            .await
            .expect("stats")
            .into_inner();
        if stats.access_count == 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(stats.access_count, 3);
    let firefox = stats.breakdown.iter().find(|b| b.key == "Firefox");
    assert_eq!(firefox.map(|b| b.visits), Some(2));

    // `/metrics` counts the calls by method and code, named as gRPC's Prometheus middlewares
    // name them.
    let missing = grpc
        .resolve(resolve("Nope123", true))
        .await
        .expect_err("no such link");
    assert_eq!(missing.code(), Code::NotFound);
    let metrics = app.client.get("/metrics", None).await.text;
    let labels = r#"grpc_service="shortener.v1.Links",grpc_method="Resolve",grpc_type="unary""#;
    for line in [
        format!(r#"grpc_server_handled_total{{{labels},grpc_code="OK"}} 4"#),
        format!(r#"grpc_server_handled_total{{{labels},grpc_code="NotFound"}} 1"#),
        format!("grpc_server_handling_seconds_count{{{labels}}} 5"),
    ] {
        assert!(metrics.lines().any(|l| l == line), "{line} in:\n{metrics}");
    }
}

#[actix_web::test]
async fn bad_input_is_invalid_argument_naming_each_field() {
    let app = spawn().await;
    let mut grpc = client(&app).await;

    let status = grpc
        .shorten(proto::ShortenRequest {
            url: "ftp://example.com/file".into(),
            max_visits: Some(0),
            redirect_type: Some(303),
            password: Some("short".into()),
            custom_code: Some("no spaces".into()),
            ..Default::default()
        })
        .await
        .expect_err("refused");
    assert_eq!(status.code(), Code::InvalidArgument);
    let mut fields = violated_fields(&status);
    fields.sort();
    assert_eq!(
        fields,
        [
            "custom_code",
            "max_visits",
            "password",
            "redirect_type",
            "url"
        ]
    );

    // The SSRF rules: no private addresses, no loops back to the shortener itself.
    for target in [
        "http://127.0.0.1/admin",
        "http://10.0.0.1/",
        "http://short.test/x",
    ] {
        let status = grpc.shorten(shorten(target)).await.expect_err(target);
        assert_eq!(status.code(), Code::InvalidArgument, "{target}");
        assert_eq!(violated_fields(&status), ["url"], "{target}");
    }

    // Timestamps that are no time at all, or in the past.
    for expires_at in [
        prost_types::Timestamp {
            seconds: 0,
            nanos: -1,
        },
        prost_types::Timestamp {
            seconds: i64::MAX,
            nanos: 0,
        },
        prost_types::Timestamp {
            seconds: 1_000_000,
            nanos: 0,
        },
    ] {
        let status = grpc
            .shorten(proto::ShortenRequest {
                url: "https://example.com/".into(),
                expires_at: Some(expires_at),
                ..Default::default()
            })
            .await
            .expect_err("a bad expiry");
        assert_eq!(status.code(), Code::InvalidArgument);
        assert_eq!(violated_fields(&status), ["expires_at"]);
    }

    // A taken custom code.
    let mut mine = shorten("https://example.com/");
    mine.custom_code = Some("taken-code".into());
    grpc.shorten(mine.clone()).await.expect("first");
    let status = grpc.shorten(mine).await.expect_err("taken");
    assert_eq!(status.code(), Code::AlreadyExists);
    assert_eq!(violated_fields(&status), ["custom_code"]);

    // Update: unknown or no fields in the mask, a bad value under `changes.`.
    let update = |mask: &[&str], changes: proto::LinkChanges| proto::UpdateRequest {
        code: "taken-code".into(),
        changes: Some(changes),
        update_mask: Some(prost_types::FieldMask {
            paths: mask.iter().map(|s| s.to_string()).collect(),
        }),
    };
    for mask in [&["code"][..], &[]] {
        let status = grpc
            .update(update(mask, proto::LinkChanges::default()))
            .await
            .expect_err("a bad mask");
        assert_eq!(status.code(), Code::InvalidArgument);
        assert_eq!(violated_fields(&status), ["update_mask"]);
    }
    let status = grpc
        .update(update(
            &["max_visits", "url"],
            proto::LinkChanges {
                max_visits: Some(-5),
                ..Default::default()
            },
        ))
        .await
        .expect_err("bad changes");
    let mut fields = violated_fields(&status);
    fields.sort();
    assert_eq!(fields, ["changes.max_visits", "changes.url"]);
}

#[actix_web::test]
async fn an_owned_link_is_its_owners_alone() {
    let app = spawn().await;
    let owner = token(&app).await;
    let stranger = token(&app).await;
    let mut grpc = client(&app).await;
    let code = make(
        &mut grpc,
        authed(shorten("https://example.com/mine"), &owner),
    )
    .await;

    let get = || proto::GetRequest { code: code.clone() };
    let stats = || proto::StatsRequest {
        code: code.clone(),
        by: 0,
    };
    let update = || proto::UpdateRequest {
        code: code.clone(),
        changes: Some(proto::LinkChanges {
            url: Some("https://example.com/stolen".into()),
            ..Default::default()
        }),
        update_mask: Some(prost_types::FieldMask {
            paths: vec!["url".into()],
        }),
    };
    let delete = || proto::DeleteRequest { code: code.clone() };
    let watch = || proto::WatchVisitsRequest { code: code.clone() };

    // No token: UNAUTHENTICATED; another user's: PERMISSION_DENIED; a forged token or another
    // scheme: UNAUTHENTICATED.
    let forged = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.bad";
    for (authorization, expected) in [
        (None, Code::Unauthenticated),
        (Some(stranger.as_str()), Code::PermissionDenied),
        (Some(forged), Code::Unauthenticated),
        (Some(&*format!("Token {owner}")), Code::Unauthenticated),
    ] {
        let codes = [
            grpc.get(wrap(get(), authorization)).await.map(|_| ()),
            grpc.stats(wrap(stats(), authorization)).await.map(|_| ()),
            grpc.update(wrap(update(), authorization)).await.map(|_| ()),
            grpc.delete(wrap(delete(), authorization)).await.map(|_| ()),
            grpc.watch_visits(wrap(watch(), authorization))
                .await
                .map(|_| ()),
        ]
        .map(|r| r.expect_err("refused").code());
        assert_eq!(codes, [expected; 5], "{authorization:?}");
    }
    // Following it stays public.
    grpc.resolve(resolve(&code, false)).await.expect("public");
    let link = grpc
        .get(authed(get(), &owner))
        .await
        .expect("the owner's")
        .into_inner();
    assert_eq!(link.url.as_deref(), Some("https://example.com/mine"));
}

#[actix_web::test]
async fn passwords_and_visit_limits_hold_as_on_http() {
    let app = spawn().await;
    let mut grpc = client(&app).await;
    let mut protected = shorten("https://example.com/secret");
    protected.password = Some("open-sesame".into());
    protected.max_visits = Some(2);
    let created = grpc.shorten(protected).await.expect("made").into_inner();
    let link = created.link.expect("link");
    assert!(link.password_protected);
    // Its maker sees the target it sent; anyone reading it later does not.
    assert_eq!(link.url.as_deref(), Some("https://example.com/secret"));
    assert!(created.manage_token.is_some());
    let read = grpc
        .get(proto::GetRequest {
            code: link.code.clone(),
        })
        .await
        .expect("an anonymous link is readable")
        .into_inner();
    assert_eq!(read.url, None, "a protected link hides its target");

    let with_password = |password: Option<&str>| proto::ResolveRequest {
        password: password.map(str::to_string),
        ..resolve(&link.code, true)
    };
    let status = grpc
        .resolve(with_password(None))
        .await
        .expect_err("needs it");
    assert_eq!(status.code(), Code::PermissionDenied);
    assert_eq!(error_reason(&status).as_deref(), Some("PASSWORD_REQUIRED"));
    let status = grpc
        .resolve(with_password(Some("wrong-password")))
        .await
        .expect_err("wrong");
    assert_eq!(status.code(), Code::PermissionDenied);
    assert_eq!(error_reason(&status).as_deref(), Some("WRONG_PASSWORD"));

    for _ in 0..2 {
        let resolved = grpc
            .resolve(with_password(Some("open-sesame")))
            .await
            .expect("right password")
            .into_inner();
        assert_eq!(resolved.url, "https://example.com/secret");
    }
    // Used up: FAILED_PRECONDITION (HTTP's 410), counted or not, password or not.
    for request in [with_password(Some("open-sesame")), with_password(None)] {
        let status = grpc.resolve(request).await.expect_err("used up");
        assert_eq!(status.code(), Code::FailedPrecondition);
    }
    app.visit(&link.code).await.assert_status(410);

    let status = grpc
        .resolve(resolve("no-such-code", true))
        .await
        .expect_err("unknown");
    assert_eq!(status.code(), Code::NotFound);
}

#[actix_web::test]
async fn writes_share_the_http_budget_per_client() {
    let app = spawn_grpc_app(|config| {
        config.shorten_rate_limit_per_minute = 2;
        config.link_password_attempts_per_minute = 1;
    })
    .await;
    let mut grpc = client(&app).await;
    app.shorten(&json!({"url": "https://example.com/1"}))
        .await
        .assert_status(201);
    grpc.shorten(shorten("https://example.com/2"))
        .await
        .expect("within the budget");
    let status = grpc
        .shorten(shorten("https://example.com/3"))
        .await
        .expect_err("past it");
    assert_eq!(status.code(), Code::ResourceExhausted);
    let retry = status.get_error_details().retry_info().cloned();
    assert!(retry.and_then(|r| r.retry_delay).is_some(), "says when");
    app.shorten(&json!({"url": "https://example.com/4"}))
        .await
        .assert_status(429);

    // Password guesses have their own budget.
    let guess = || proto::ResolveRequest {
        password: Some("a-guess-1".into()),
        ..resolve("anything", false)
    };
    assert_eq!(
        grpc.resolve(guess())
            .await
            .expect_err("no such link")
            .code(),
        Code::NotFound
    );
    assert_eq!(
        grpc.resolve(guess()).await.expect_err("limited").code(),
        Code::ResourceExhausted
    );
}

#[actix_web::test]
async fn update_applies_the_masked_fields_and_the_cache_follows() {
    let app = spawn().await;
    let owner = token(&app).await;
    let mut grpc = client(&app).await;
    let mut request = shorten("https://example.com/before");
    request.max_visits = Some(5);
    request.redirect_type = Some(301);
    let code = make(&mut grpc, authed(request, &owner)).await;
    // Cached by a follow.
    app.visit(&code).await.assert_status(301);

    let link = grpc
        .update(authed(
            proto::UpdateRequest {
                code: code.clone(),
                changes: Some(proto::LinkChanges {
                    url: Some("https://example.com/after".into()),
                    // Ignored: not in the mask.
                    redirect_type: Some(308),
                    ..Default::default()
                }),
                // Named and unset: removed.
                update_mask: Some(prost_types::FieldMask {
                    paths: vec!["url".into(), "max_visits".into()],
                }),
            },
            &owner,
        ))
        .await
        .expect("updated")
        .into_inner();
    assert_eq!(link.url.as_deref(), Some("https://example.com/after"));
    assert_eq!(link.max_visits, None);
    assert_eq!(link.redirect_type, 301);
    let followed = app.visit(&code).await;
    followed.assert_status(301);
    assert_eq!(
        followed.header("location"),
        Some("https://example.com/after")
    );
}

#[actix_web::test]
async fn anonymous_links_need_their_manage_token_when_configured() {
    let app = spawn_grpc_app(|config| {
        config.anonymous_edits = url_shortener::config::AnonymousEdits::Token;
    })
    .await;
    let mut grpc = client(&app).await;
    let created = grpc
        .shorten(shorten("https://example.com/anon"))
        .await
        .expect("made")
        .into_inner();
    let code = created.link.expect("link").code;
    let manage_token = created.manage_token.expect("shown once");

    let delete = |token: Option<&str>| {
        let mut request = Request::new(proto::DeleteRequest { code: code.clone() });
        if let Some(token) = token {
            request.metadata_mut().insert(
                "x-manage-token",
                MetadataValue::try_from(token).expect("ASCII"),
            );
        }
        request
    };
    assert_eq!(
        grpc.delete(delete(None))
            .await
            .expect_err("no token")
            .code(),
        Code::Unauthenticated
    );
    assert_eq!(
        grpc.delete(delete(Some("wrong")))
            .await
            .expect_err("wrong")
            .code(),
        Code::PermissionDenied
    );
    grpc.delete(delete(Some(&manage_token)))
        .await
        .expect("deleted");
    assert_eq!(
        grpc.resolve(resolve(&code, false))
            .await
            .expect_err("gone")
            .code(),
        Code::NotFound
    );
    app.visit(&code).await.assert_status(404);
}

#[actix_web::test]
async fn watch_visits_streams_what_is_written_and_ends_at_shutdown() {
    let mut app = spawn().await;
    let owner = token(&app).await;
    let mut grpc = client(&app).await;
    let code = make(
        &mut grpc,
        authed(shorten("https://example.com/watched"), &owner),
    )
    .await;
    let other = make(
        &mut grpc,
        authed(shorten("https://example.com/other"), &owner),
    )
    .await;
    let mut stream = watch_as(&mut grpc, &code, &owner).await;

    // Three visits to the watched link (one over HTTP, one by a bot), one to another.
    app.visit(&code).await.assert_status(302);
    grpc.resolve(resolve(&code, true)).await.expect("counted");
    grpc.resolve(proto::ResolveRequest {
        user_agent: "Googlebot/2.1".into(),
        ..resolve(&code, true)
    })
    .await
    .expect("a bot");
    grpc.resolve(resolve(&other, true)).await.expect("counted");

    let mut seen = Vec::new();
    while seen.iter().map(|v: &proto::Visit| v.hits).sum::<i64>() < 3 {
        let batch = tokio::time::timeout(Duration::from_secs(5), stream.message())
            .await
            .expect("visits arrive within a second or so")
            .expect("no error")
            .expect("the stream is open");
        assert_eq!(batch.missed, 0);
        seen.extend(batch.visits);
    }
    assert_eq!(
        seen.iter().map(|v| v.hits).sum::<i64>(),
        3,
        "not the other link's"
    );
    assert_eq!(seen.iter().filter(|v| v.bot).count(), 1);
    assert!(seen.iter().any(|v| v.browser == "Firefox"));

    // The server stops: the stream ends cleanly (OK, no more messages).
    app.crash().await;
    let end = tokio::time::timeout(Duration::from_secs(15), stream.message())
        .await
        .expect("the stream ends at shutdown");
    assert!(matches!(end, Ok(None)), "{end:?}");
}

#[actix_web::test]
async fn health_reflection_deadlines_and_limits() {
    let app = spawn().await;
    let channel = channel(&app).await;

    let mut health = tonic_health::pb::health_client::HealthClient::new(channel.clone());
    let serving = health
        .check(tonic_health::pb::HealthCheckRequest {
            service: "shortener.v1.Links".into(),
        })
        .await
        .expect("health answers")
        .into_inner();
    assert_eq!(
        serving.status(),
        tonic_health::pb::health_check_response::ServingStatus::Serving
    );

    // Reflection lists the services (what `grpcurl list` asks).
    use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;
    let mut reflection = ServerReflectionClient::new(channel.clone());
    let request = tonic_reflection::pb::v1::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut answers = reflection
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .expect("reflection answers")
        .into_inner();
    let answer = answers.message().await.expect("ok").expect("an answer");
    let Some(MessageResponse::ListServicesResponse(list)) = answer.message_response else {
        panic!("a list of services: {answer:?}");
    };
    let names: Vec<_> = list.service.into_iter().map(|s| s.name).collect();
    for expected in ["shortener.v1.Links", "grpc.health.v1.Health"] {
        assert!(names.iter().any(|n| n == expected), "{names:?}");
    }

    // A deadline the call cannot meet (the links table is locked by someone else): the
    // client hears DEADLINE_EXCEEDED when its deadline passes, not a late answer.
    let mut grpc = LinksClient::new(channel.clone());
    let mut locker = backend_kit::db::DatabaseUrl::parse(&app.database_url)
        .expect("url")
        .connect()
        .expect("connect");
    let lock = if crate::helpers::is_postgres(&app.database_url) {
        "BEGIN; LOCK TABLE links IN EXCLUSIVE MODE"
    } else {
        "BEGIN IMMEDIATE"
    };
    for statement in lock.split("; ") {
        diesel::RunQueryDsl::execute(diesel::sql_query(statement), &mut locker).expect(statement);
    }
    let mut late = Request::new(shorten("https://example.com/late"));
    late.set_timeout(Duration::from_secs(1));
    let started = std::time::Instant::now();
    let status = grpc.shorten(late).await.expect_err("too late");
    assert_eq!(status.code(), Code::DeadlineExceeded, "{status:?}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    // A client that gives up and drops its call (no deadline sent) is counted as `Canceled`.
    let gave_up = tokio::time::timeout(
        Duration::from_millis(300),
        grpc.shorten(shorten("https://example.com/gave-up")),
    )
    .await;
    assert!(gave_up.is_err(), "the call waits on the lock: {gave_up:?}");
    diesel::RunQueryDsl::execute(diesel::sql_query("ROLLBACK"), &mut locker).expect("rollback");
    let labels = r#"grpc_service="shortener.v1.Links",grpc_method="Shorten",grpc_type="unary""#;
    let counted = [
        format!(r#"grpc_server_handled_total{{{labels},grpc_code="DeadlineExceeded"}} 1"#),
        format!(r#"grpc_server_handled_total{{{labels},grpc_code="Canceled"}} 1"#),
    ];
    let mut metrics = String::new();
    for _ in 0..40 {
        metrics = app.client.get("/metrics", None).await.text;
        if counted
            .iter()
            .all(|line| metrics.lines().any(|l| l == line))
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for line in &counted {
        assert!(metrics.lines().any(|l| l == line), "{line} in:\n{metrics}");
    }

    // A message over the size limit is refused before it is decoded.
    let huge = format!("https://example.com/{}", "a".repeat(100 * 1024));
    let status = grpc.shorten(shorten(&huge)).await.expect_err("too big");
    assert_eq!(status.code(), Code::OutOfRange);
    // A long URL under the limit is the usual field error.
    let long = format!("https://example.com/{}", "a".repeat(4096));
    let status = grpc.shorten(shorten(&long)).await.expect_err("too long");
    assert_eq!(violated_fields(&status), ["url"]);

    // A long code is no link, quickly.
    let status = grpc
        .resolve(resolve(&"x".repeat(20_000), true))
        .await
        .expect_err("unknown");
    assert_eq!(status.code(), Code::NotFound);
}

#[actix_web::test]
async fn garbage_on_the_grpc_port_harms_no_one_else() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let app = spawn().await;
    let port = app.grpc_port.expect("gRPC");
    // HTTP/1.1, and bytes that are no protocol at all.
    for junk in [
        &b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"[..],
        &[0xffu8; 4096][..],
        b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x04\x08\x00\x00\x00\x00\x00",
    ] {
        let mut socket = tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .expect("connects");
        let _ = socket.write_all(junk).await;
        let mut buffer = [0u8; 1024];
        let _ = tokio::time::timeout(Duration::from_secs(2), socket.read(&mut buffer)).await;
    }
    // A message that is not a ShortenRequest (field 2 a number where a string belongs):
    // refused as a call (INTERNAL, as gRPC servers answer a body they cannot decode).
    let mut raw = tonic::client::Grpc::new(channel(&app).await);
    raw.ready().await.expect("ready");
    let status = raw
        .unary(
            Request::new(proto::Bucket {
                key: "x".into(),
                visits: 7,
            }),
            tonic::codegen::http::uri::PathAndQuery::from_static("/shortener.v1.Links/Shorten"),
            tonic_prost::ProstCodec::<proto::Bucket, proto::Link>::default(),
        )
        .await
        .expect_err("not a ShortenRequest");
    assert_eq!(status.code(), Code::Internal);
    let mut grpc = client(&app).await;
    grpc.shorten(shorten("https://example.com/still-fine"))
        .await
        .expect("the server still serves");
}

#[actix_web::test]
async fn a_connection_that_never_starts_http2_is_closed() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use url_shortener::grpc::connections::HANDSHAKE_TIMEOUT;

    let app = spawn().await;
    let port = app.grpc_port.expect("gRPC");
    let connect = || tokio::net::TcpStream::connect(("127.0.0.1", port));
    // One says nothing; one sends the preface a byte at a time, too slowly to finish it.
    let mut silent = connect().await.expect("connects");
    let mut dribbling = connect().await.expect("connects");
    let dribble = tokio::spawn(async move {
        for byte in b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" {
            if dribbling.write_all(&[*byte]).await.is_err() {
                return true;
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        false
    });
    let started = std::time::Instant::now();
    // Meanwhile other clients are served.
    let mut grpc = client(&app).await;
    grpc.shorten(shorten("https://example.com/while-silent"))
        .await
        .expect("served");
    // The server's SETTINGS come first; then, past the deadline, the end of the connection.
    let mut buffer = [0u8; 1024];
    let closed = tokio::time::timeout(HANDSHAKE_TIMEOUT + Duration::from_secs(5), async {
        while silent.read(&mut buffer).await.is_ok_and(|n| n > 0) {}
    })
    .await;
    assert!(closed.is_ok(), "the silent connection is still open");
    assert!(
        started.elapsed() >= HANDSHAKE_TIMEOUT - Duration::from_secs(1),
        "closed before its deadline: {:?}",
        started.elapsed()
    );
    assert!(
        dribble.await.expect("dribbled"),
        "a preface 1 byte per second was still accepted after 24 s"
    );
}

#[actix_web::test]
async fn a_forwarded_for_header_buys_no_fresh_budget() {
    // No proxy is trusted on the gRPC port by default: the caller is its TCP address,
    // whatever `x-forwarded-for` it sends.
    let app = spawn_grpc_app(|config| config.shorten_rate_limit_per_minute = 2).await;
    let mut grpc = client(&app).await;
    let mut codes = Vec::new();
    for i in 0..4 {
        let mut request = Request::new(shorten("https://example.com/spoof"));
        request.metadata_mut().insert(
            "x-forwarded-for",
            MetadataValue::try_from(format!("203.0.113.{i}")).expect("ASCII"),
        );
        codes.push(
            grpc.shorten(request)
                .await
                .map_or_else(|s| s.code(), |_| Code::Ok),
        );
    }
    assert_eq!(
        codes,
        [
            Code::Ok,
            Code::Ok,
            Code::ResourceExhausted,
            Code::ResourceExhausted
        ]
    );
}

#[actix_web::test]
async fn one_client_cannot_take_every_visit_stream() {
    let app = spawn().await;
    let mut grpc = client(&app).await;
    let code = make(&mut grpc, shorten("https://example.com/popular")).await;
    let watch = || proto::WatchVisitsRequest { code: code.clone() };
    let mut open = Vec::new();
    for _ in 0..url_shortener::grpc::links::MAX_WATCHERS_PER_CLIENT {
        open.push(grpc.watch_visits(watch()).await.expect("a stream"));
    }
    let status = grpc.watch_visits(watch()).await.expect_err("one too many");
    assert_eq!(status.code(), Code::ResourceExhausted);
    // A stream that ends gives its place back.
    drop(open.pop());
    let mut freed = None;
    for _ in 0..50 {
        if let Ok(stream) = grpc.watch_visits(watch()).await {
            freed = Some(stream);
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(freed.is_some(), "the slot was given back");
}

#[actix_web::test]
async fn a_large_batch_of_visits_arrives_in_several_messages() {
    let app = spawn().await;
    let mut grpc = client(&app).await;
    let code = make(&mut grpc, shorten("https://example.com/busy")).await;
    let mut stream = grpc
        .watch_visits(proto::WatchVisitsRequest { code: code.clone() })
        .await
        .expect("watching")
        .into_inner();
    // 250 visits from 250 long referrer hosts, as fast as they go: one or two batches of
    // rows that would not fit one 64 KiB message.
    let mut calls = Vec::new();
    for i in 0..250 {
        let mut grpc = grpc.clone();
        let request = proto::ResolveRequest {
            referrer: format!("https://{}-{i}.example.com/", "r".repeat(200)),
            ..resolve(&code, true)
        };
        calls.push(tokio::spawn(async move { grpc.resolve(request).await }));
    }
    for call in calls {
        call.await.expect("joined").expect("counted");
    }
    let (mut hits, mut largest) = (0, 0);
    while hits < 250 {
        let batch = tokio::time::timeout(Duration::from_secs(5), stream.message())
            .await
            .expect("visits arrive")
            .expect("the stream stays open")
            .expect("a message");
        largest = largest.max(batch.visits.len());
        hits += batch.visits.iter().map(|v| v.hits).sum::<i64>();
    }
    assert_eq!(hits, 250);
    assert!(largest <= 100, "messages of at most 100 visits: {largest}");
}

#[actix_web::test]
#[ignore = "needs TEST_REDIS_URL"]
async fn a_stream_on_one_instance_hears_the_visits_another_records() {
    // Two instances on one database and one Redis, as behind a load balancer: the stream is
    // on the first, the visits reach the second.
    let redis = test_support::TestRedis::required();
    let first = spawn_grpc_app(|c| {
        c.settings.redis_url = Some(backend_kit::secret::Secret::new(redis.url.clone()));
        c.settings.redis_prefix = redis.prefix.clone();
    })
    .await;
    let second =
        crate::helpers::start(first.database_url.clone(), Some(redis.clone()), |_| {}).await;
    let owner = token(&first).await;
    let mut grpc = client(&first).await;
    let code = make(
        &mut grpc,
        authed(shorten("https://example.com/everywhere"), &owner),
    )
    .await;
    let mut stream = watch_as(&mut grpc, &code, &owner).await;
    // The subscription to the other instances' batches may take a moment after start: visit
    // the second instance until one of its visits arrives here.
    let mut heard = false;
    for _ in 0..40 {
        second.visit(&code).await.assert_status(302);
        if let Ok(Ok(Some(_))) =
            tokio::time::timeout(Duration::from_millis(250), stream.message()).await
        {
            heard = true;
            break;
        }
    }
    assert!(
        heard,
        "a visit recorded by the other instance reached the stream"
    );
    // Let what is still on its way arrive, then count exactly: five visits there, two here,
    // each streamed once (this instance's own come straight from its writer, not back from
    // Redis as well).
    while let Ok(Ok(Some(_))) =
        tokio::time::timeout(Duration::from_millis(800), stream.message()).await
    {}
    for _ in 0..5 {
        second.visit(&code).await.assert_status(302);
    }
    for _ in 0..2 {
        first.visit(&code).await.assert_status(302);
    }
    let mut streamed = 0;
    while let Ok(Ok(Some(batch))) =
        tokio::time::timeout(Duration::from_millis(1500), stream.message()).await
    {
        streamed += batch.visits.iter().map(|v| v.hits).sum::<i64>();
    }
    assert_eq!(streamed, 7);
}

#[actix_web::test]
async fn a_stream_hears_its_own_instance_while_redis_is_unreachable() {
    // Nothing listens on port 1: publishing fails, the local stream still hears.
    let app = spawn_grpc_app(|c| {
        c.settings.redis_url = Some(backend_kit::secret::Secret::new(
            "redis://127.0.0.1:1".into(),
        ));
    })
    .await;
    let mut grpc = client(&app).await;
    let code = make(&mut grpc, shorten("https://example.com/offline")).await;
    let mut stream = grpc
        .watch_visits(proto::WatchVisitsRequest { code: code.clone() })
        .await
        .expect("watching")
        .into_inner();
    for _ in 0..3 {
        app.visit(&code).await.assert_status(302);
    }
    let mut streamed = 0;
    while streamed < 3 {
        let batch = tokio::time::timeout(Duration::from_secs(5), stream.message())
            .await
            .expect("visits arrive without Redis")
            .expect("no error")
            .expect("a message");
        streamed += batch.visits.iter().map(|v| v.hits).sum::<i64>();
    }
    assert_eq!(streamed, 3);
}

#[actix_web::test]
async fn health_watchers_hear_not_serving_and_do_not_hold_the_stop() {
    use tonic_health::pb::health_check_response::ServingStatus;
    let mut app = spawn().await;
    let mut health = tonic_health::pb::health_client::HealthClient::new(channel(&app).await);
    let mut watch = health
        .watch(tonic_health::pb::HealthCheckRequest {
            service: String::new(),
        })
        .await
        .expect("watching health")
        .into_inner();
    let first = watch.message().await.expect("ok").expect("a status");
    assert_eq!(first.status(), ServingStatus::Serving);

    let stopping = std::time::Instant::now();
    app.crash().await;
    let mut heard = Vec::new();
    while let Ok(Ok(Some(status))) =
        tokio::time::timeout(Duration::from_secs(5), watch.message()).await
    {
        heard.push(status.status());
    }
    assert_eq!(heard, [ServingStatus::NotServing]);
    assert!(
        stopping.elapsed() < Duration::from_secs(5),
        "the watch ended with the stop: {:?}",
        stopping.elapsed()
    );
}
