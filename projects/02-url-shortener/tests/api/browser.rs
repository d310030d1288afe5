//! The home page in a real (headless) Chromium: what a visitor clicks, end to end.
//! Built with `--features browser-tests` only, and ignored even then unless run with
//! `--ignored` (they need a browser); `.ci/run` installs Chromium and runs them.

use std::time::Duration;

use serde_json::Value;
use test_support::browser::{Browser, Client, Key, Locator};

use crate::helpers::spawn_app;

#[actix_web::test]
#[ignore = "needs Chromium: apt-get install chromium chromium-driver"]
async fn the_home_page_shortens_a_url_and_shows_its_qr_code_copy_button_and_visits() {
    let app = spawn_app().await;
    let browser = Browser::launch().await;
    let page = &browser.client;
    page.goto(&app.client.url("/")).await.expect("open /");

    let target = "https://example.com/from/the/home/page?x=1";
    page.find(Locator::Id("url"))
        .await
        .expect("the URL field")
        .send_keys(target)
        .await
        .expect("type the URL");
    click(page, "#shorten button").await;

    // The short URL appears, and it is a real link of the API's.
    let short = wait_for_text(page, "short", |text| !text.is_empty()).await;
    let prefix = format!("{}/", app.client.base_url);
    let code = short
        .strip_prefix(&prefix)
        .unwrap_or_else(|| panic!("{short:?} is not under {prefix}"));
    let link = app.client.get(&format!("/shorten/{code}"), None).await;
    link.assert_status(200);
    assert_eq!(link.json()["url"], target);

    // The QR code image loaded (a broken image has no natural width).
    let loaded = wait_for_script(
        page,
        "const img = document.getElementById('qr'); return img.complete && img.naturalWidth > 0;",
    )
    .await;
    assert_eq!(loaded, Value::Bool(true), "the QR code did not load");
    let stats = page
        .find(Locator::Id("stats"))
        .await
        .expect("stats link")
        .attr("href")
        .await
        .expect("href");
    assert_eq!(stats.as_deref(), Some(&*format!("/shorten/{code}/stats")));

    // Copy puts the short URL on the clipboard: paste it into a field, as a user would.
    click(page, "#copy").await;
    wait_for_text(page, "copy", |text| text == "Copied").await;
    page.execute(
        "const field = document.createElement('input'); field.id = 'paste';\
         document.body.append(field); field.focus();",
        vec![],
    )
    .await
    .expect("add a field to paste into");
    let paste = page.find(Locator::Id("paste")).await.expect("#paste");
    paste
        .send_keys(&format!("{}v", Key::Control))
        .await
        .expect("press Ctrl+V");
    assert_eq!(
        paste.prop("value").await.expect("pasted value").as_deref(),
        Some(short.as_str())
    );

    // A visit shows up on the page without a reload.
    app.visit(code).await.assert_status(302);
    wait_for_text(page, "visits", |text| text == "1").await;

    browser.close().await;
}

#[actix_web::test]
#[ignore = "needs Chromium: apt-get install chromium chromium-driver"]
async fn the_home_page_shows_why_a_url_is_refused() {
    let app = spawn_app().await;
    let browser = Browser::launch().await;
    let page = &browser.client;
    page.goto(&app.client.url("/")).await.expect("open /");

    page.find(Locator::Id("url"))
        .await
        .expect("the URL field")
        .send_keys("http://localhost/admin")
        .await
        .expect("type the URL");
    click(page, "#shorten button").await;

    let error = wait_for_text(page, "error", |text| !text.is_empty()).await;
    assert!(
        error.starts_with("url "),
        "unexpected error text: {error:?}"
    );
    let result = page.find(Locator::Id("result")).await.expect("#result");
    assert!(!result.is_displayed().await.expect("visibility"));

    browser.close().await;
}

async fn click(page: &Client, css: &str) {
    page.find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .click()
        .await
        .unwrap_or_else(|e| panic!("click {css}: {e}"));
}

/// Polls the text of `#id` until `done` accepts it (10 s at most; the visit counter refreshes
/// every 3 s).
async fn wait_for_text(page: &Client, id: &str, done: impl Fn(&str) -> bool) -> String {
    let element = page
        .find(Locator::Id(id))
        .await
        .unwrap_or_else(|e| panic!("#{id}: {e}"));
    let mut text = String::new();
    for _ in 0..100 {
        text = element.text().await.expect("element text");
        if done(&text) {
            return text;
        }
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("#{id} still reads {text:?} after 10 s");
}

/// Runs `script` until it returns something truthy (5 s at most); returns the last value.
async fn wait_for_script(page: &Client, script: &str) -> Value {
    let mut value = Value::Null;
    for _ in 0..50 {
        value = page.execute(script, vec![]).await.expect(script);
        if value.as_bool() == Some(true) {
            break;
        }
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    }
    value
}
