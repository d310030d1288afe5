//! The reading pages in a real (headless) Chromium: what a reader sees, and that nothing a
//! writer typed runs. Built with `--features browser-tests` only, and ignored even then
//! unless run with `--ignored` (they need a browser); `.ci/run` installs Chromium and runs them.

use serde_json::{Value, json};
use test_support::browser::{Browser, Locator};

use crate::helpers::spawn_app;

/// Payloads that set `window.pwned` if they ever run.
const TITLE: &str = "<script>window.pwned = 'title'</script> Dragons";
const DESCRIPTION: &str = "<img src=x onerror=\"window.pwned = 'description'\">";
const BODY: &str = "**Bold claim.**\n\n<img src=x onerror=\"window.pwned = 'body'\">\n\n[a link](javascript:window.pwned='link')\n\n```\ncode <b>not bold</b>\n```";

#[actix_web::test]
#[ignore = "needs Chromium: apt-get install chromium chromium-driver"]
async fn a_reader_follows_an_article_from_the_home_page_and_nothing_injected_runs() {
    let app = spawn_app().await;
    let ann = app.register("ann").await;
    let created = app
        .client
        .post(
            "/api/articles",
            Some(&ann.token),
            &json!({"article": {"title": TITLE, "description": DESCRIPTION, "body": BODY, "tagList": ["<i>tag</i>"]}}),
        )
        .await;
    created.assert_status(201);
    let slug = created.json()["article"]["slug"]
        .as_str()
        .unwrap()
        .to_string();
    let comment = json!({"comment": {"body": "<script>window.pwned = 'comment'</script>Nice"}});
    app.client
        .post(
            &format!("/api/articles/{slug}/comments"),
            Some(&ann.token),
            &comment,
        )
        .await
        .assert_status(200);

    let browser = Browser::launch().await;
    let page = &browser.client;
    page.goto(&app.client.url("/")).await.expect("open /");
    let link = page
        .find(Locator::Css(".preview h2 a"))
        .await
        .expect("the article's link");
    // The title shows as the text it is.
    assert_eq!(link.text().await.expect("link text"), TITLE);
    let tag = page
        .find(Locator::Css(".preview .tags li"))
        .await
        .expect("tag");
    assert_eq!(tag.text().await.expect("tag text"), "<i>tag</i>");
    assert_eq!(not_pwned(page).await, Value::Bool(true));

    link.click().await.expect("follow the link");
    let heading = page
        .find(Locator::Css("article.full h1"))
        .await
        .expect("the title");
    assert_eq!(heading.text().await.expect("title text"), TITLE);
    assert_eq!(
        page.current_url().await.expect("url").path(),
        format!("/articles/{slug}")
    );
    // Markdown rendered: bold is bold, code is code (its markup shown as text).
    let strong = page
        .find(Locator::Css(".body strong"))
        .await
        .expect("bold text");
    assert_eq!(strong.text().await.expect("strong"), "Bold claim.");
    let code = page
        .find(Locator::Css(".body pre code"))
        .await
        .expect("code block");
    assert!(code.text().await.expect("code").contains("<b>not bold</b>"));
    // The javascript: link lost its href; the comment is text.
    let hrefs = page
        .execute(
            "return [...document.querySelectorAll('.body a')].map(a => a.getAttribute('href'));",
            vec![],
        )
        .await
        .expect("hrefs");
    assert!(
        hrefs
            .as_array()
            .unwrap()
            .iter()
            .all(|h| !h.to_string().contains("javascript")),
        "{hrefs}"
    );
    let comment = page
        .find(Locator::Css(".comment p"))
        .await
        .expect("the comment");
    assert_eq!(
        comment.text().await.expect("comment"),
        "<script>window.pwned = 'comment'</script>Nice"
    );
    assert_eq!(not_pwned(page).await, Value::Bool(true));
    browser.close().await;
}

async fn not_pwned(page: &test_support::browser::Client) -> Value {
    // Give any injected handler (an image that failed to load) the time to fire.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    page.execute("return window.pwned === undefined;", vec![])
        .await
        .expect("read window.pwned")
}

#[actix_web::test]
#[ignore = "needs Chromium: apt-get install chromium chromium-driver"]
async fn graphiql_runs_a_query_offline_under_the_pages_csp() {
    let app = spawn_app().await;
    let ann = app.register("ann").await;
    app.create_article(&ann, "Seen from GraphiQL", &["graphql"])
        .await;

    let browser = Browser::launch().await;
    let page = &browser.client;
    page.goto(&app.client.url("/graphql"))
        .await
        .expect("open /graphql");
    // The editor comes up (every file from this server: the CSP allows no other origin).
    page.wait()
        .for_element(Locator::Css(".graphiql-execute-button"))
        .await
        .expect("GraphiQL's run button")
        .click()
        .await
        .expect("run the default query");
    // The answer shows in the result pane.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let result = page
            .execute(
                "const r = document.querySelector('.result-window'); return r ? r.innerText : '';",
                vec![],
            )
            .await
            .expect("read the result pane");
        if result
            .as_str()
            .is_some_and(|r| r.contains("Seen from GraphiQL"))
        {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no answer in the result pane: {result}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    browser.close().await;
}
