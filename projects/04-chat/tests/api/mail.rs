//! Mentions of users who are not connected become one e-mail digest per window.

use std::time::{Duration, Instant};

use test_support::smtp::{path_of, token_of};

use crate::helpers::{spawn_app, spawn_app_with};

#[actix_web::test]
async fn an_offline_user_mentioned_gets_a_digest_per_window_and_an_online_one_none() {
    let app = spawn_app_with(|c| c.mention_digest = Duration::from_secs(3)).await;
    let ann = app.new_user("Ann Lee").await;
    let bob = app.new_user("Bob").await;
    let mut b = app.connect(&bob).await;
    b.join("general").await;
    let mut guest = app.guest("zed").await;
    guest.join("general").await;
    guest.say("general", "hello @annlee and @Bob").await;

    let first = app.smtp.wait_for(&ann.email, "mentioned").await;
    assert_eq!(first.subject, "You were mentioned in the chat");
    assert!(
        first
            .text
            .contains("[#general] zed: hello @annlee and @Bob"),
        "{}",
        first.text
    );

    // Right after a digest, new mentions wait for the window and come together.
    for i in 1..=3 {
        guest.say("general", &format!("@AnnLee ping {i}")).await;
    }
    let deadline = Instant::now() + Duration::from_secs(15);
    while app.smtp.messages_to(&ann.email).len() < 2 {
        assert!(Instant::now() < deadline, "no second digest");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let mails = app.smtp.messages_to(&ann.email);
    assert_eq!(mails.len(), 2, "one digest per window");
    assert_eq!(mails[1].subject, "You were mentioned 3 times in the chat");
    for i in 1..=3 {
        assert!(
            mails[1].text.contains(&format!("ping {i}")),
            "{}",
            mails[1].text
        );
    }
    assert!(
        app.smtp.messages_to(&bob.email).is_empty(),
        "Bob was connected"
    );
}

#[actix_web::test]
async fn a_digest_carries_an_unsubscribe_link_that_stops_the_next_ones() {
    let app = spawn_app_with(|c| c.mention_digest = Duration::from_secs(1)).await;
    let ann = app.new_user("Ann").await;
    let mut guest = app.guest("zed").await;
    guest.join("general").await;
    guest.say("general", "@ann first").await;
    let digest = app.smtp.wait_for(&ann.email, "mentioned").await;

    // The link in the text is the List-Unsubscribe header; one-click POST is offered.
    let link = digest
        .link("/api/mentions/unsubscribe")
        .expect("an unsubscribe link");
    assert_eq!(digest.header("List-Unsubscribe"), Some(format!("<{link}>")));
    assert_eq!(
        digest.header("List-Unsubscribe-Post").as_deref(),
        Some("List-Unsubscribe=One-Click")
    );
    assert!(digest.html.contains("No more of these e-mails"));

    // Following the link (or a mail scanner fetching it) only shows a button that POSTs it.
    let page = app.client.get(&path_of(&link), None).await;
    page.assert_status(200);
    assert!(
        page.header("content-type")
            .unwrap()
            .starts_with("text/html")
    );
    // No `action`: the button posts to the page's own URL, token included.
    assert!(
        page.text.contains("<form method=\"post\">"),
        "{}",
        page.text
    );
    app.client
        .send(app.client.request(reqwest::Method::HEAD, &path_of(&link)))
        .await
        .assert_status(200);
    guest.say("general", "@ann still subscribed?").await;
    let deadline = Instant::now() + Duration::from_secs(15);
    while app.smtp.messages_to(&ann.email).len() < 2 {
        assert!(Instant::now() < deadline, "GET or HEAD unsubscribed");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // A forged or altered token unsubscribes no one, whatever the method.
    let token = token_of(&link);
    let (id, tag) = token.split_once('.').unwrap();
    let other = format!("{}.{tag}", id.parse::<i64>().unwrap() + 1);
    for forged in [other.as_str(), "1.abc", ""] {
        let path = format!("/api/mentions/unsubscribe?token={forged}");
        for refused in [
            app.client.get(&path, None).await,
            app.client.post(&path, None, &serde_json::json!({})).await,
        ] {
            refused.assert_status(400);
            assert!(refused.json()["errors"]["token"].is_array(), "{forged}");
        }
    }

    let one_click = app
        .client
        .send(
            app.client
                .request(reqwest::Method::POST, &path_of(&link))
                .header("content-type", "application/x-www-form-urlencoded")
                .body("List-Unsubscribe=One-Click"),
        )
        .await;
    one_click.assert_status(200);
    assert_eq!(one_click.json()["unsubscribed"], true);
    // Twice is once; the page's button (a browser) gets a page back.
    let again = app
        .client
        .send(
            app.client
                .request(reqwest::Method::POST, &path_of(&link))
                .header("accept", "text/html"),
        )
        .await;
    again.assert_status(200);
    assert!(again.text.contains("Unsubscribed"), "{}", again.text);

    guest.say("general", "@ann are you there?").await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        app.smtp.messages_to(&ann.email).len(),
        2,
        "no digest after unsubscribing"
    );
}

#[actix_web::test]
async fn two_instances_send_one_digest() {
    // Every instance runs the digest job (every second in tests): one of them mails.
    let one = spawn_app().await;
    let _two = one.second_instance().await;
    let ann = one.new_user("Ann").await;
    let mut guest = one.guest("zed").await;
    guest.join("general").await;
    for round in 1..=3 {
        guest.say("general", &format!("@ann ping {round}")).await;
        let deadline = Instant::now() + Duration::from_secs(15);
        while one.smtp.messages_to(&ann.email).len() < round {
            assert!(Instant::now() < deadline, "no digest in round {round}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    let mails = one.smtp.messages_to(&ann.email);
    assert_eq!(
        mails.len(),
        3,
        "one digest per mention here, not one per instance"
    );
    assert!(
        mails
            .iter()
            .all(|m| m.subject == "You were mentioned in the chat")
    );
}

#[actix_web::test]
async fn a_mention_in_a_deleted_message_is_not_mailed() {
    let app = spawn_app().await;
    let ann = app.new_user("Ann").await;
    let mut guest = app.guest("zed").await;
    guest.join("general").await;
    // Deleted right behind the send (the room's first message is seq 1), so that the digest
    // job, every second, has almost no chance to run in between.
    guest
        .send(serde_json::json!({"type": "send", "room": "general", "text": "@ann you will not see this", "clientId": "c1"}))
        .await;
    guest
        .send(serde_json::json!({"type": "delete", "room": "general", "seq": 1}))
        .await;
    guest.expect("deleted").await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(
        app.smtp.messages_to(&ann.email).is_empty(),
        "a digest of nothing: {:?}",
        app.smtp.messages_to(&ann.email)
    );
    // The window was not spent on it: the next mention is mailed at once.
    guest.say("general", "@ann this one stays").await;
    let digest = app.smtp.wait_for(&ann.email, "mentioned").await;
    assert!(digest.text.contains("this one stays"), "{}", digest.text);
    assert!(!digest.text.contains("will not see"), "{}", digest.text);
}
