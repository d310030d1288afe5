//! The web client in real (headless) Chromium: two browsers in one room exchange messages,
//! see each other's presence, and a reload shows the history. Built with `--features
//! browser-tests` only, and ignored unless run with `--ignored`; `.ci/run` does both.

use std::time::{Duration, Instant};

use test_support::browser::{Browser, Client, Locator};

use crate::helpers::spawn_app;

/// Waits until the element's text contains `needle` (the page works asynchronously).
async fn wait_for_text(page: &Client, css: &str, needle: &str) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let text = match page.find(Locator::Css(css)).await {
            Ok(element) => element.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        };
        if text.contains(needle) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{css} never showed {needle:?}; it shows {text:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn join_as_guest(page: &Client, url: &str, name: &str) {
    page.goto(url).await.expect("open the client");
    page.find(Locator::Id("guest-name"))
        .await
        .expect("name field")
        .send_keys(name)
        .await
        .expect("type");
    page.find(Locator::Css("#guest-form button"))
        .await
        .expect("join button")
        .click()
        .await
        .expect("join");
    wait_for_text(page, "#status", "connected").await;
}

async fn say(page: &Client, text: &str) {
    let input = page.find(Locator::Id("text")).await.expect("message field");
    input.send_keys(text).await.expect("type");
    page.find(Locator::Css("#send-form button"))
        .await
        .expect("send")
        .click()
        .await
        .expect("send");
}

#[actix_web::test]
#[ignore = "needs Chromium: apt-get install chromium chromium-driver"]
async fn two_browsers_chat_see_presence_and_a_reload_shows_the_history() {
    let app = spawn_app().await;
    let url = app.client.url("/");
    let (ann, bob) = (Browser::launch().await, Browser::launch().await);
    join_as_guest(&ann.client, &url, "ann").await;
    join_as_guest(&bob.client, &url, "bob").await;

    wait_for_text(&ann.client, "#online", "bob").await;
    wait_for_text(&bob.client, "#online", "ann").await;
    wait_for_text(&ann.client, "#messages", "bob joined").await;

    say(&bob.client, "<b>hi</b> ann").await;
    wait_for_text(&ann.client, "#messages", "bob<b>hi</b> ann").await;
    say(&ann.client, "hello bob").await;
    wait_for_text(&bob.client, "#messages", "annhello bob").await;
    // Typing shows on the other side.
    ann.client
        .find(Locator::Id("text"))
        .await
        .unwrap()
        .send_keys("…")
        .await
        .unwrap();
    wait_for_text(&bob.client, "#typing", "ann is typing").await;

    // A reload keeps the guest signed in and shows what was said.
    bob.client.refresh().await.expect("reload");
    wait_for_text(&bob.client, "#status", "connected").await;
    wait_for_text(&bob.client, "#messages", "bob<b>hi</b> ann").await;
    wait_for_text(&bob.client, "#messages", "annhello bob").await;

    // Markup in a message stays text.
    let bold = bob
        .client
        .find_all(Locator::Css("#messages b"))
        .await
        .unwrap();
    assert!(bold.is_empty(), "a message's HTML was rendered");
    ann.close().await;
    bob.close().await;
}
