//! Limits and close codes: frame size, binary frames, rate limits, pings, slow readers.

use std::time::Duration;

use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

use crate::helpers::{Ws, spawn_app, spawn_app_with};

#[actix_web::test]
async fn a_frame_over_64_kib_closes_with_1009() {
    let app = spawn_app().await;
    let mut ws = app.guest("big").await;
    ws.join("general").await;
    let text =
        json!({"type": "send", "room": "general", "text": "x".repeat(70_000), "clientId": "c"})
            .to_string();
    ws.send_raw(Message::text(text)).await;
    assert_eq!(ws.closed().await, 1009);
    // Just under the limit is only too long for a message, not for a frame.
    let mut ws = app.guest("big2").await;
    ws.join("general").await;
    ws.send(
        json!({"type": "send", "room": "general", "text": "x".repeat(60_000), "clientId": "c"}),
    )
    .await;
    assert_eq!(ws.expect("error").await["code"], "too_long");
}

#[actix_web::test]
async fn a_frame_announcing_more_than_64_kib_is_refused_before_it_arrives() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = spawn_app().await;
    let mut ws = app.guest("hog").await;
    // A masked text frame header announcing 2^62 bytes, then a little payload: the server
    // must not wait for (and buffer) the rest.
    let mut header = vec![0x81u8, 0xff];
    header.extend((1u64 << 62).to_be_bytes());
    header.extend([1, 2, 3, 4]);
    header.extend([0u8; 1024]);
    let stream = ws.inner.get_mut();
    let tokio_tungstenite::MaybeTlsStream::Plain(tcp) = stream else {
        panic!("plain TCP")
    };
    tcp.write_all(&header).await.unwrap();
    // The close frame (1009) arrives without the announced bytes ever being sent.
    let mut reply = [0u8; 64];
    let n = tokio::time::timeout(Duration::from_secs(5), tcp.read(&mut reply))
        .await
        .expect("a reply within 5 s")
        .unwrap();
    assert!(n >= 4, "got {n} bytes");
    assert_eq!(reply[0], 0x88, "a close frame");
    assert_eq!(u16::from_be_bytes([reply[2], reply[3]]), 1009);
}

#[actix_web::test]
async fn binary_frames_close_with_1003() {
    let app = spawn_app().await;
    let mut ws = app.guest("bin").await;
    ws.send_raw(Message::binary(vec![1u8, 2, 3])).await;
    assert_eq!(ws.closed().await, 1003);
}

#[actix_web::test]
async fn over_20_sends_in_10_seconds_are_refused_and_not_stored_then_abuse_closes_1008() {
    let app = spawn_app().await;
    let ann = app.new_user("Ann").await;
    let mut ws = app.guest("fast").await;
    ws.join("general").await;
    for i in 0..20 {
        ws.say("general", &format!("m{i}")).await;
    }
    ws.send(json!({"type": "send", "room": "general", "text": "one too many", "clientId": "over"}))
        .await;
    let refused = ws.expect("error").await;
    assert_eq!(refused["code"], "rate_limited");
    assert_eq!(refused["clientId"], "over");
    let history = app.history(&ann, "general", "?limit=100").await;
    assert_eq!(history.len(), 20);
    // Keep going regardless: the connection is closed for policy.
    for i in 0..40 {
        if futures_util::SinkExt::send(&mut ws.inner, Message::text(json!({"type": "send", "room": "general", "text": "spam", "clientId": format!("s{i}")}).to_string())).await.is_err() {
            break;
        }
    }
    assert_eq!(ws.closed().await, 1008);
}

#[actix_web::test]
async fn a_client_that_does_not_answer_pings_is_closed() {
    let app = spawn_app_with(|c| {
        c.ping_interval = Duration::from_millis(300);
        c.pong_timeout = Duration::from_secs(1);
    })
    .await;
    let mut sleepy = app.guest("sleepy").await;
    sleepy.join("general").await;
    let mut lively = app.guest("lively").await;
    lively.join("general").await;
    // `sleepy` reads nothing for 3 s, so it answers no ping; `lively` reads (and so pongs).
    lively.drain(Duration::from_secs(3)).await;
    let rooms = app.client.get("/api/rooms", None).await.json();
    assert_eq!(rooms[0]["online"], 1, "only lively is still connected");
    // Reading now, sleepy finds the close (4000) — or, having queued pongs for the pings it
    // never read, a broken pipe: the server has hung up either way.
    use futures_util::StreamExt;
    loop {
        match sleepy.inner.next().await {
            Some(Ok(Message::Close(Some(reason)))) => {
                assert_eq!(u16::from(reason.code), 4000);
                break;
            }
            Some(Ok(_)) => continue,
            _ => break,
        }
    }
}

#[actix_web::test]
async fn a_slow_reader_is_closed_with_4008_and_the_room_keeps_flowing() {
    let app = spawn_app_with(|c| c.sends_per_window = 10_000).await;
    let mut slow = app.guest("slow").await;
    slow.join("general").await;
    let mut reader = app.guest("reader").await;
    reader.join("general").await;
    let mut sender = app.guest("sender").await;
    sender.join("general").await;
    // ~12 KB frames (4 000 three-byte characters): enough of them fill the socket buffers
    // and then the slow reader's queue (1 MiB).
    let text = "€".repeat(4000);
    let total = 700;
    let sending = async {
        for _ in 0..total {
            sender.say("general", &text).await;
        }
    };
    let reading = async {
        let mut seen = 0;
        while seen < total {
            let frame = reader.recv().await;
            if frame["type"] == "message" {
                seen += 1;
            }
        }
    };
    let ((), ()) = tokio::join!(sending, reading);
    // Only now does the slow reader read: what was queued, then the close.
    assert_eq!(slow.closed().await, 4008);
    let _ = Ws::connect; // keep the helper import when this test is alone
}

#[actix_web::test]
async fn a_flood_of_unreadable_frames_is_limited_too() {
    let app = spawn_app().await;
    let mut ws = app.guest("noisy").await;
    let mut codes = Vec::new();
    for _ in 0..450 {
        if futures_util::SinkExt::send(&mut ws.inner, Message::text("garbage"))
            .await
            .is_err()
        {
            break;
        }
    }
    let close = loop {
        use futures_util::StreamExt;
        match ws.inner.next().await {
            Some(Ok(Message::Text(text))) => {
                let frame: serde_json::Value = serde_json::from_str(&text).unwrap();
                codes.push(frame["code"].as_str().unwrap().to_string());
            }
            Some(Ok(Message::Close(reason))) => break reason.map(|r| u16::from(r.code)),
            Some(Ok(_)) => {}
            other => panic!("ended without a close: {other:?}"),
        }
    };
    assert_eq!(close, Some(1008));
    assert_eq!(codes.iter().filter(|c| *c == "bad_frame").count(), 200);
    assert!(codes.iter().any(|c| c == "rate_limited"));
}

/// Edits and deletions reach every member as messages do: they spend the same budget.
#[actix_web::test]
async fn edits_and_deletes_spend_the_send_budget() {
    let app = spawn_app().await;
    let mut ws = app.guest("editor").await;
    ws.join("general").await;
    let mut seqs = Vec::new();
    for i in 0..10 {
        seqs.push(ws.say("general", &format!("m{i}")).await);
    }
    for seq in &seqs {
        ws.send(json!({"type": "edit", "room": "general", "seq": seq, "text": "x".repeat(4000)}))
            .await;
        ws.expect("edited").await;
    }
    ws.send(json!({"type": "delete", "room": "general", "seq": seqs[0]}))
        .await;
    let refused = ws.expect("error").await;
    assert_eq!(refused["code"], "rate_limited", "{refused}");
    assert_eq!(
        refused["message"],
        "over 20 messages, edits and deletions in 10 seconds: not done"
    );
    let reader = app.new_user("Reader").await;
    let history = app.history(&reader, "general", "?limit=100").await;
    assert!(history.iter().all(|m| m["deleted"] != true), "not deleted");
}

/// A join/leave loop makes presence frames at every member and replays: joins have a budget.
#[actix_web::test]
async fn joins_are_limited_to_60_a_minute() {
    let app = spawn_app().await;
    let mut cycler = app.guest("cycler").await;
    for _ in 0..60 {
        cycler.join("general").await;
        cycler
            .send(json!({"type": "leave", "room": "general"}))
            .await;
        cycler.expect("left").await;
    }
    cycler
        .send(json!({"type": "join", "room": "general"}))
        .await;
    let refused = cycler.expect("error").await;
    assert_eq!(refused["code"], "rate_limited", "{refused}");
    assert_eq!(refused["message"], "over 60 joins in a minute: not joined");
}

/// Replays are bounded per connection: past 2 MiB a minute, a join replays the newest
/// messages that fit and says `gap` for the older ones.
#[actix_web::test]
async fn replayed_bytes_are_capped_per_connection_per_minute() {
    let app = spawn_app_with(|c| c.sends_per_window = 10_000).await;
    let mut writer = app.guest("writer").await;
    writer.join("general").await;
    let text = "w".repeat(4000);
    for _ in 0..300 {
        writer.say("general", &text).await;
    }
    let mut reader = app.guest("replayer").await;
    let mut replayed = 0usize;
    let mut gaps = Vec::new();
    for round in 0..3 {
        reader
            .send(json!({"type": "join", "room": "general", "lastSeq": 0}))
            .await;
        reader.expect("joined").await;
        // Messages until the newest (300): a gap, if any, comes first.
        loop {
            let frame = reader.recv().await;
            match frame["type"].as_str() {
                Some("gap") => {
                    gaps.push((round, frame["from"].as_i64(), frame["to"].as_i64()));
                    if frame["to"] == 300 {
                        break; // nothing left to replay this minute
                    }
                }
                Some("message") => {
                    replayed += frame.to_string().len();
                    if frame["seq"] == 300 {
                        break;
                    }
                }
                _ => {}
            }
        }
        reader
            .send(json!({"type": "leave", "room": "general"}))
            .await;
        reader.expect("left").await;
    }
    assert!(
        replayed <= 2 * 1024 * 1024,
        "{replayed} bytes replayed in a minute"
    );
    // The first replay is whole; the second has the newest that fit; the third none.
    assert_eq!(gaps.len(), 2, "{gaps:?}");
    let (round, from, to) = gaps[0];
    assert_eq!((round, from), (1, Some(1)), "{gaps:?}");
    assert!(to.is_some_and(|to| (1..300).contains(&to)), "{gaps:?}");
    assert_eq!(gaps[1], (2, Some(1), Some(300)));
}
