//! The reading pages as HTML, without a browser: content, escaping, headers.

use serde_json::json;

use crate::helpers::spawn_app;

#[actix_web::test]
async fn pages_escape_user_text_and_show_sanitized_markdown() {
    let app = spawn_app().await;
    let ann = app.register("ann").await;
    let response = app
        .client
        .post(
            "/api/articles",
            Some(&ann.token),
            &json!({"article": {"title": "<script>alert('t')</script> Title", "description": "<img src=x onerror=alert(1)>", "body": "**bold** <script>alert('b')</script> [x](javascript:alert(1))", "tagList": ["<b>tag</b>"]}}),
        )
        .await;
    response.assert_status(201);
    let slug = response.json()["article"]["slug"]
        .as_str()
        .unwrap()
        .to_string();
    let comment = json!({"comment": {"body": "<script>alert('c')</script>"}});
    app.client
        .post(
            &format!("/api/articles/{slug}/comments"),
            Some(&ann.token),
            &comment,
        )
        .await
        .assert_status(200);

    let index = app.get("/", None).await;
    index.assert_status(200);
    assert!(
        index
            .header("content-type")
            .unwrap()
            .starts_with("text/html")
    );
    assert!(
        index
            .header("content-security-policy")
            .unwrap()
            .contains("script-src 'self'")
    );
    let page = app.get(&format!("/articles/{slug}"), None).await;
    page.assert_status(200);
    for html in [&index.text, &page.text] {
        assert!(!html.contains("<script>alert"), "{html}");
        assert!(!html.contains("<img src=x"), "{html}");
        assert!(!html.contains("<b>tag</b>"), "{html}");
        assert!(
            html.contains("&lt;b&gt;tag&lt;/b&gt;") || html.contains("&#60;b&#62;tag"),
            "{html}"
        );
    }
    assert!(index.text.contains(&format!("href=\"/articles/{slug}\"")));
    assert!(page.text.contains("<strong>bold</strong>"), "{}", page.text);
    assert!(!page.text.contains("javascript:"), "{}", page.text);
    assert!(page.text.contains("1 comment"));
    assert!(!page.text.contains("<script>alert('c')"));
    let missing = app.get("/articles/nope", None).await;
    missing.assert_status(404);
    assert!(
        missing
            .header("content-type")
            .unwrap()
            .starts_with("text/html")
    );
    assert!(missing.text.contains("No such article"));
    app.get("/style.css", None).await.assert_status(200);
}
