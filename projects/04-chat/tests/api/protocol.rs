//! The WebSocket protocol, frame by frame.

use std::time::Duration;

use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

use crate::helpers::spawn_app;

#[actix_web::test]
async fn a_message_is_acknowledged_and_reaches_every_member_the_sender_included() {
    let app = spawn_app().await;
    let ann = app.new_user("Ann").await;
    let mut a = app.connect(&ann).await;
    let joined = a.join("general").await;
    assert_eq!(
        joined,
        json!({"type": "joined", "room": "general", "lastSeq": 0, "online": ["Ann"]})
    );
    let mut bob = app.guest("bob").await;
    let joined = bob.join("general").await;
    assert_eq!(joined["online"], json!(["Ann", "bob"]));
    let presence = a.expect("presence").await;
    assert_eq!(
        presence,
        json!({"type": "presence", "room": "general", "name": "bob", "userId": "guest:bob", "status": "online"})
    );

    a.send(json!({"type": "send", "room": "general", "text": "hi @bob", "clientId": "c-1"}))
        .await;
    assert_eq!(
        a.recv().await,
        json!({"type": "ack", "clientId": "c-1", "seq": 1})
    );
    let message = a.expect("message").await;
    assert_eq!(message["seq"], 1);
    assert_eq!(message["from"], "Ann");
    assert_eq!(message["text"], "hi @bob");
    assert_eq!(message["clientId"], "c-1");
    assert!(message["userId"].as_str().unwrap().parse::<i64>().is_ok());
    assert!(message["sentAt"].is_string());
    assert_eq!(bob.expect("message").await, message);

    bob.send(json!({"type": "leave", "room": "general"})).await;
    assert_eq!(
        bob.expect("left").await,
        json!({"type": "left", "room": "general"})
    );
    let gone = a.expect("presence").await;
    assert_eq!(gone["status"], "offline");
    assert_eq!(gone["name"], "bob");
}

#[actix_web::test]
async fn presence_counts_users_not_connections() {
    let app = spawn_app().await;
    let ann = app.new_user("Ann").await;
    let mut watcher = app.guest("watcher").await;
    watcher.join("general").await;
    let mut first = app.connect(&ann).await;
    first.join("general").await;
    assert_eq!(watcher.expect("presence").await["status"], "online");
    let mut second = app.connect(&ann).await;
    assert_eq!(
        second.join("general").await["online"],
        json!(["Ann", "watcher"])
    );
    drop(first);
    watcher.silent(Duration::from_millis(500)).await;
    second
        .send(json!({"type": "leave", "room": "general"}))
        .await;
    second.expect("left").await;
    let offline = watcher.expect("presence").await;
    assert_eq!(offline["status"], "offline");
    assert_eq!(offline["name"], "Ann");
}

#[actix_web::test]
async fn a_resend_with_the_same_client_id_is_acknowledged_again_and_delivered_once() {
    let app = spawn_app().await;
    let mut a = app.guest("amy").await;
    a.join("general").await;
    let mut b = app.guest("ben").await;
    b.join("general").await;
    for _ in 0..3 {
        a.send(json!({"type": "send", "room": "general", "text": "once", "clientId": "same"}))
            .await;
        assert_eq!(a.expect("ack").await["seq"], 1);
    }
    let seq = a.say("general", "next").await;
    assert_eq!(seq, 2);
    assert_eq!(
        b.messages(2).await,
        vec![(1, "once".into()), (2, "next".into())]
    );
    // Another user may use the same clientId: ids are per sender.
    b.send(json!({"type": "send", "room": "general", "text": "mine", "clientId": "same"}))
        .await;
    assert_eq!(b.expect("ack").await["seq"], 3);
}

#[actix_web::test]
async fn a_reconnecting_client_resumes_without_gaps_or_repeats() {
    let app = spawn_app().await;
    let mut sender = app.guest("sender").await;
    sender.join("general").await;
    let mut reader = app.guest("reader").await;
    reader.join("general").await;
    for i in 1..=3 {
        sender.say("general", &format!("m{i}")).await;
    }
    let seen = reader.messages(3).await;
    let last = seen.last().unwrap().0;
    drop(reader);
    for i in 4..=6 {
        sender.say("general", &format!("m{i}")).await;
    }
    let mut reader = app.guest("reader").await;
    let joined = reader.join_from("general", last).await;
    assert_eq!(joined["lastSeq"], 6);
    // Live traffic right after the replay: nothing missed or repeated at the switch.
    sender.say("general", "m7").await;
    let got = reader.messages(4).await;
    assert_eq!(
        got,
        (4..=7).map(|i| (i, format!("m{i}"))).collect::<Vec<_>>()
    );
    reader.silent(Duration::from_millis(300)).await;
}

#[actix_web::test]
async fn more_than_300_missed_messages_start_with_a_gap() {
    let app = spawn_app().await;
    let ann = app.new_user("Ann").await;
    app.create_room(&ann, "busy").await;
    app.db
        .run(|conn| {
            use backend_kit::db::DbError;
            let room = chat::domain::RoomName::parse("busy").unwrap();
            let key = chat::domain::UserKey::account(1);
            let sender = chat::db::messages::Sender {
                key: &key,
                name: "Ann",
            };
            for i in 0..310 {
                let text = chat::domain::MessageText::parse(format!("m{i}")).unwrap();
                chat::db::messages::append(conn, &room, &sender, &text, None)
                    .map_err(DbError::from)?;
            }
            Ok::<_, DbError>(())
        })
        .await
        .unwrap();
    let mut reader = app.guest("reader").await;
    reader
        .send(json!({"type": "join", "room": "busy", "lastSeq": 2}))
        .await;
    assert_eq!(reader.recv().await["lastSeq"], 310);
    assert_eq!(
        reader.recv().await,
        json!({"type": "gap", "room": "busy", "from": 3, "to": 10})
    );
    let replayed = reader.messages(300).await;
    assert_eq!(replayed.first().unwrap().0, 11);
    assert_eq!(replayed.last().unwrap().0, 310);
}

#[actix_web::test]
async fn concurrent_senders_get_gapless_seqs_and_everyone_sees_one_order() {
    let app = spawn_app().await;
    let mut readers = Vec::new();
    for i in 0..2 {
        let mut r = app.guest(&format!("reader{i}")).await;
        r.join("general").await;
        readers.push(r);
    }
    let mut senders = Vec::new();
    for i in 0..5 {
        let mut s = app.guest(&format!("sender{i}")).await;
        s.join("general").await;
        senders.push(s);
    }
    let sends = senders
        .into_iter()
        .enumerate()
        .map(|(i, mut s)| async move {
            let mut seqs = Vec::new();
            for k in 0..15 {
                seqs.push(s.say("general", &format!("s{i}-{k}")).await);
            }
            seqs
        });
    let mut all: Vec<i64> = futures_util::future::join_all(sends).await.concat();
    all.sort_unstable();
    assert_eq!(all, (1..=75).collect::<Vec<_>>());
    for reader in &mut readers {
        let seqs: Vec<i64> = reader
            .messages(75)
            .await
            .into_iter()
            .map(|(seq, _)| seq)
            .collect();
        assert_eq!(seqs, (1..=75).collect::<Vec<_>>());
    }
}

#[actix_web::test]
async fn own_messages_can_be_edited_and_deleted_and_history_shows_it() {
    let app = spawn_app().await;
    let ann = app.new_user("Ann").await;
    let mut a = app.connect(&ann).await;
    a.join("general").await;
    let mut bob = app.guest("bob").await;
    bob.join("general").await;
    let seq = a.say("general", "helo").await;
    let other = bob.say("general", "bob's").await;

    a.send(json!({"type": "edit", "room": "general", "seq": seq, "text": "hello"}))
        .await;
    let edited = bob.expect("edited").await;
    assert_eq!(edited["seq"], seq);
    assert_eq!(edited["text"], "hello");
    assert!(edited["editedAt"].is_string());

    a.send(json!({"type": "edit", "room": "general", "seq": other, "text": "mine now"}))
        .await;
    assert_eq!(a.expect("error").await["code"], "forbidden");
    a.send(json!({"type": "delete", "room": "general", "seq": other}))
        .await;
    assert_eq!(a.expect("error").await["code"], "forbidden");

    a.send(json!({"type": "delete", "room": "general", "seq": seq}))
        .await;
    assert_eq!(
        bob.expect("deleted").await,
        json!({"type": "deleted", "room": "general", "seq": seq})
    );
    a.send(json!({"type": "edit", "room": "general", "seq": seq, "text": "back"}))
        .await;
    assert_eq!(a.expect("error").await["code"], "bad_frame");

    let history = app.history(&ann, "general", "").await;
    assert_eq!(history[0]["deleted"], true);
    assert_eq!(history[0]["text"], "");
    assert!(history[0]["editedAt"].is_string());
    assert_eq!(history[1]["text"], "bob's");
}

#[actix_web::test]
async fn typing_goes_to_the_others_at_most_once_a_second_and_reads_are_stored() {
    let app = spawn_app().await;
    let mut a = app.guest("amy").await;
    a.join("general").await;
    let mut b = app.guest("ben").await;
    b.join("general").await;
    for _ in 0..5 {
        a.send(json!({"type": "typing", "room": "general"})).await;
    }
    let typing = b.recv().await;
    assert_eq!(
        typing,
        json!({"type": "typing", "room": "general", "name": "amy", "userId": "guest:amy"})
    );
    let seq = a.say("general", "x").await;
    // One typing notice, then the message: the other four were dropped; amy got none.
    assert_eq!(b.recv().await["type"], "message");
    assert_eq!(a.expect("message").await["seq"], seq);

    b.send(json!({"type": "read", "room": "general", "seq": seq}))
        .await;
    let read = a.expect("read").await;
    assert_eq!(
        read,
        json!({"type": "read", "room": "general", "name": "ben", "userId": "guest:ben", "seq": seq})
    );
    b.send(json!({"type": "read", "room": "general", "seq": 99}))
        .await;
    assert_eq!(b.expect("error").await["code"], "bad_frame");
    let stored: i64 = app
        .db
        .run(|conn| {
            use chat::db::schema::read_positions::dsl::*;
            use diesel::prelude::*;
            read_positions
                .filter(user_key.eq("guest:ben"))
                .select(seq)
                .first(conn)
                .map_err(backend_kit::db::DbError::from)
        })
        .await
        .unwrap();
    assert_eq!(stored, seq);
}

#[actix_web::test]
async fn bad_frames_get_error_codes_and_the_connection_stays_open() {
    let app = spawn_app().await;
    let mut ws = app.guest("eve").await;
    ws.send_raw(Message::text("not json")).await;
    assert_eq!(ws.recv().await["code"], "bad_frame");
    ws.send(json!({"type": "dance"})).await;
    assert_eq!(ws.recv().await["code"], "bad_frame");
    ws.send(json!({"type": "send", "room": "general", "clientId": "x"}))
        .await;
    let error = ws.recv().await;
    assert_eq!(error["code"], "bad_frame");
    assert_eq!(error["clientId"], "x");
    ws.send(json!({"type": "send", "room": "general", "text": "hi", "clientId": "c"}))
        .await;
    let error = ws.recv().await;
    assert_eq!(
        error,
        json!({"type": "error", "code": "not_joined", "message": error["message"], "clientId": "c"})
    );
    ws.send(json!({"type": "join", "room": "nowhere"})).await;
    assert_eq!(ws.recv().await["code"], "unknown_room");
    ws.send(json!({"type": "join", "room": "Bad Name!"})).await;
    assert_eq!(ws.recv().await["code"], "unknown_room");
    ws.join("general").await;
    ws.send(
        json!({"type": "send", "room": "general", "text": "x".repeat(4001), "clientId": "long"}),
    )
    .await;
    let error = ws.recv().await;
    assert_eq!(error["code"], "too_long");
    assert_eq!(error["clientId"], "long");
    ws.send(json!({"type": "send", "room": "general", "text": "   ", "clientId": "blank"}))
        .await;
    assert_eq!(ws.recv().await["code"], "bad_frame");
    ws.send(json!({"type": "send", "room": "general", "text": "ok", "clientId": "x".repeat(65)}))
        .await;
    assert_eq!(ws.recv().await["code"], "bad_frame");
    ws.send(json!({"type": "typing", "room": "other"})).await;
    assert_eq!(ws.recv().await["code"], "not_joined");
    // Still open: 4 000 characters of anything is a message.
    assert_eq!(ws.say("general", &"é".repeat(4000)).await, 1);
}
