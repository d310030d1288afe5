//! `/graphql`: the same articles, users and rules as REST, through GraphQL — errors with
//! `extensions.code`, a statement count that does not grow with the page, and the limits a
//! hostile query meets.

use serde_json::{Value, json};
use test_support::TestResponse;

use crate::helpers::{TestApp, User, spawn_app, spawn_app_with, spawn_quiet_app};

impl TestApp {
    /// Posts `query` (with `variables`) as `user`.
    async fn graphql(&self, user: Option<&User>, query: &str, variables: Value) -> TestResponse {
        self.client
            .post(
                "/graphql",
                user.map(|u| u.token.as_str()),
                &json!({"query": query, "variables": variables}),
            )
            .await
    }

    /// Posts `query` and returns `data`, asserting there were no errors.
    async fn graphql_data(&self, user: Option<&User>, query: &str, variables: Value) -> Value {
        let response = self.graphql(user, query, variables).await;
        response.assert_status(200);
        let body = response.json();
        assert!(body.get("errors").is_none(), "{}", response.text);
        body["data"].clone()
    }
}

/// The codes of a response's errors.
fn codes(response: &TestResponse) -> Vec<String> {
    response.json()["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .map(|e| e["extensions"]["code"].as_str().unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn the_checked_in_schema_is_the_codes_schema() {
    let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("schema.graphql");
    let checked_in = std::fs::read_to_string(&file).expect("schema.graphql");
    assert!(
        checked_in == blog::graphql::sdl(),
        "schema.graphql is out of date: cargo run -p blog -- schema > projects/03-blog/schema.graphql"
    );
}

const PAGE: &str = "query Page($first: Int!) {
  articles(first: $first) {
    articlesCount
    nodes {
      slug title tagList favorited favoritesCount createdAt
      author { username following }
      comments(first: 3) { body author { username } }
    }
    pageInfo { hasNextPage endCursor }
  }
}";

#[actix_web::test]
async fn a_page_with_authors_and_comments_costs_the_same_statements_at_any_length() {
    let app = spawn_quiet_app().await;
    let reader = app.register("reader").await;
    let mut authors = Vec::new();
    for i in 0..3 {
        let author = app.register(&format!("author{i}")).await;
        app.graphql_data(
            Some(&reader),
            "mutation($u: String!) { followUser(username: $u) { following } }",
            json!({"u": author.username}),
        )
        .await;
        for j in 0..8 {
            let slug = app
                .create_article(&author, &format!("Post {i}-{j}"), &["x"])
                .await["slug"]
                .as_str()
                .unwrap()
                .to_string();
            for k in 0..(j % 5) {
                app.client
                    .post(
                        &format!("/api/articles/{slug}/comments"),
                        Some(&reader.token),
                        &json!({"comment": {"body": format!("comment {k}")}}),
                    )
                    .await
                    .assert_status(200);
            }
        }
        authors.push(author);
    }
    app.mail_settled().await;

    let mut counts = Vec::new();
    for first in [2, 20] {
        // Once before counting: the caller's account is then known (checked once a minute).
        app.graphql_data(Some(&reader), PAGE, json!({"first": first}))
            .await;
        let before = app.db.statements_run();
        let data = app
            .graphql_data(Some(&reader), PAGE, json!({"first": first}))
            .await;
        counts.push(app.db.statements_run() - before);
        let nodes = data["articles"]["nodes"].as_array().expect("nodes");
        assert_eq!(nodes.len(), first as usize);
        assert_eq!(data["articles"]["articlesCount"], 24);
        assert_eq!(nodes[0]["author"]["following"], true);
        // Newest first, and at most 3 each.
        let comments = nodes[0]["comments"].as_array().expect("comments");
        assert!(comments.len() <= 3);
        if let Some(comment) = comments.first() {
            assert_eq!(comment["author"]["username"], reader.username.as_str());
        }
    }
    // The page's ids, its articles, the count, the comments of all of them, their authors.
    assert_eq!(counts, [5, 5], "statements for 2 and for 20 articles");

    // `body` on a list: one more statement for every body at once.
    let before = app.db.statements_run();
    let data = app
        .graphql_data(
            Some(&reader),
            "{ articles(first: 20) { nodes { body bodyHtml } } }",
            json!({}),
        )
        .await;
    assert_eq!(app.db.statements_run() - before, 4);
    assert_eq!(data["articles"]["nodes"][0]["body"], "Some *Markdown*.");
    assert_eq!(
        data["articles"]["nodes"][0]["bodyHtml"],
        "<p>Some <em>Markdown</em>.</p>\n"
    );
}

#[actix_web::test]
async fn graphql_and_rest_answer_the_same_article() {
    let app = spawn_app().await;
    let author = app.register("author").await;
    let reader = app.register("reader").await;
    let slug = app.create_article(&author, "Same data", &["b", "a"]).await["slug"]
        .as_str()
        .unwrap()
        .to_string();
    let rest = app
        .get(&format!("/api/articles/{slug}"), Some(&reader))
        .await
        .json()["article"]
        .clone();
    let data = app
        .graphql_data(
            Some(&reader),
            "query($slug: String!) { article(slug: $slug) {
               slug title description body bodyHtml tagList createdAt updatedAt favorited
               favoritesCount author { username bio image following } } }",
            json!({"slug": slug}),
        )
        .await;
    let graphql = &data["article"];
    for field in [
        "slug",
        "title",
        "description",
        "body",
        "bodyHtml",
        "tagList",
        "createdAt",
        "updatedAt",
        "favorited",
        "favoritesCount",
    ] {
        assert_eq!(graphql[field], rest[field], "{field}");
    }
    assert_eq!(graphql["author"]["username"], rest["author"]["username"]);

    // Paging by cursor continues where the page ended, as REST's `before` does.
    for i in 0..3 {
        app.create_article(&author, &format!("More {i}"), &[]).await;
    }
    let first = app
        .graphql_data(
            None,
            "{ articles(first: 2) { edges { cursor node { slug } } pageInfo { hasNextPage endCursor } } }",
            json!({}),
        )
        .await;
    let end = first["articles"]["pageInfo"]["endCursor"].clone();
    assert_eq!(first["articles"]["pageInfo"]["hasNextPage"], true);
    assert_eq!(first["articles"]["edges"][1]["cursor"], end);
    let next = app
        .graphql_data(
            None,
            "query($after: String) { articles(first: 2, after: $after) { nodes { slug } } }",
            json!({"after": end}),
        )
        .await;
    let rest_next = app
        .get(
            &format!("/api/articles?limit=2&before={}", end.as_str().unwrap()),
            None,
        )
        .await
        .json();
    assert_eq!(
        next["articles"]["nodes"][0]["slug"],
        rest_next["articles"][0]["slug"]
    );
}

#[actix_web::test]
async fn every_write_keeps_the_rest_rules_and_errors() {
    let app = spawn_app().await;
    let session = app
        .graphql_data(
            None,
            "mutation { register(input: {username: \"gql_writer\", email: \"gql@example.com\", password: \"password-123\"}) { token refreshToken username emailVerified } }",
            json!({}),
        )
        .await;
    let writer = User {
        username: "gql_writer".into(),
        token: session["register"]["token"].as_str().unwrap().to_string(),
    };
    assert!(session["register"]["refreshToken"].is_string());
    let other = app.register("other").await;

    // The same name again: REST's 422, as BAD_USER_INPUT naming the field.
    let taken = app
        .graphql(
            None,
            "mutation { register(input: {username: \"gql_writer\", email: \"x@example.com\", password: \"password-123\"}) { token } }",
            json!({}),
        )
        .await;
    assert_eq!(codes(&taken), ["BAD_USER_INPUT"]);
    assert_eq!(taken.json()["errors"][0]["extensions"]["field"], "username");
    let wrong = app
        .graphql(
            None,
            "mutation { login(input: {email: \"gql@example.com\", password: \"wrong-password\"}) { token } }",
            json!({}),
        )
        .await;
    assert_eq!(codes(&wrong), ["UNAUTHENTICATED"]);

    let create = "mutation($input: CreateArticleInput!) { createArticle(input: $input) { slug title tagList author { username } } }";
    let input = json!({"input": {"title": "From GraphQL", "description": "d", "body": "b", "tagList": ["z", "a", "z"]}});
    assert_eq!(
        codes(&app.graphql(None, create, input.clone()).await),
        ["UNAUTHENTICATED"]
    );
    let created = app.graphql_data(Some(&writer), create, input).await;
    let slug = created["createArticle"]["slug"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(created["createArticle"]["tagList"], json!(["a", "z"]));
    // REST sees it.
    app.get(&format!("/api/articles/{slug}"), None)
        .await
        .assert_status(200);

    let blank = app
        .graphql(
            Some(&writer),
            create,
            json!({"input": {"title": " ", "description": "d", "body": "b"}}),
        )
        .await;
    assert_eq!(codes(&blank), ["BAD_USER_INPUT"]);
    let extensions = &blank.json()["errors"][0]["extensions"];
    assert_eq!(extensions["field"], "title");
    assert!(extensions["errors"]["title"][0].is_string());

    let update = "mutation($slug: String!, $title: String) { updateArticle(slug: $slug, input: {title: $title}) { slug title } }";
    let denied = app
        .graphql(
            Some(&other),
            update,
            json!({"slug": slug, "title": "Mine now"}),
        )
        .await;
    assert_eq!(codes(&denied), ["FORBIDDEN"]);
    let missing = app
        .graphql(
            Some(&writer),
            update,
            json!({"slug": "no-such", "title": "x"}),
        )
        .await;
    assert_eq!(codes(&missing), ["NOT_FOUND"]);
    let renamed = app
        .graphql_data(
            Some(&writer),
            update,
            json!({"slug": slug, "title": "Renamed"}),
        )
        .await;
    let slug = renamed["updateArticle"]["slug"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(slug.starts_with("renamed"));

    let favorited = app
        .graphql_data(
            Some(&other),
            "mutation($slug: String!) { favoriteArticle(slug: $slug) { favorited favoritesCount } }",
            json!({"slug": slug}),
        )
        .await;
    assert_eq!(favorited["favoriteArticle"]["favoritesCount"], 1);
    let followed = app
        .graphql(
            Some(&writer),
            "mutation { followUser(username: \"gql_writer\") { following } }",
            json!({}),
        )
        .await;
    assert_eq!(codes(&followed), ["BAD_USER_INPUT"], "not yourself");

    let comment = app
        .graphql_data(
            Some(&other),
            "mutation($slug: String!) { addComment(slug: $slug, body: \"Nice\") { id body author { username } } }",
            json!({"slug": slug}),
        )
        .await;
    let id = comment["addComment"]["id"].as_str().unwrap().to_string();
    let delete_comment =
        "mutation($slug: String!, $id: ID!) { deleteComment(slug: $slug, id: $id) }";
    assert_eq!(
        codes(
            &app.graphql(
                Some(&writer),
                delete_comment,
                json!({"slug": slug, "id": id})
            )
            .await
        ),
        ["FORBIDDEN"]
    );
    assert_eq!(
        codes(
            &app.graphql(
                Some(&other),
                delete_comment,
                json!({"slug": slug, "id": "abc"})
            )
            .await
        ),
        ["NOT_FOUND"]
    );
    app.graphql_data(
        Some(&other),
        delete_comment,
        json!({"slug": slug, "id": id}),
    )
    .await;

    let me = app
        .graphql_data(
            Some(&writer),
            "mutation { updateUser(input: {bio: \"Hello\"}) { bio username } }",
            json!({}),
        )
        .await;
    assert_eq!(me["updateUser"]["bio"], "Hello");
    assert_eq!(
        codes(&app.graphql(None, "{ me { username } }", json!({})).await),
        ["UNAUTHENTICATED"]
    );

    app.graphql_data(
        Some(&writer),
        "mutation($slug: String!) { deleteArticle(slug: $slug) }",
        json!({"slug": slug}),
    )
    .await;
    let gone = app
        .graphql(
            None,
            "query($slug: String!) { article(slug: $slug) { title } }",
            json!({"slug": slug}),
        )
        .await;
    assert_eq!(codes(&gone), ["NOT_FOUND"]);
    assert_eq!(gone.json()["data"], Value::Null);
}

#[actix_web::test]
async fn writes_spend_the_same_budgets_as_rest() {
    let app = spawn_app_with(|config| config.comments_per_minute = 1).await;
    let author = app.register("author").await;
    let slug = app.create_article(&author, "Budget", &[]).await["slug"]
        .as_str()
        .unwrap()
        .to_string();
    app.client
        .post(
            &format!("/api/articles/{slug}/comments"),
            Some(&author.token),
            &json!({"comment": {"body": "over REST"}}),
        )
        .await
        .assert_status(200);
    let limited = app
        .graphql(
            Some(&author),
            "mutation($slug: String!) { addComment(slug: $slug, body: \"again\") { id } }",
            json!({"slug": slug}),
        )
        .await;
    assert_eq!(codes(&limited), ["RATE_LIMITED"]);
    assert!(limited.json()["errors"][0]["extensions"]["retryAfter"].as_u64() > Some(0));
}

#[actix_web::test]
async fn hostile_queries_are_refused_quickly() {
    let app = spawn_app().await;
    let started = std::time::Instant::now();

    // Too much work: 100 articles × 100 comments × their authors.
    let heavy = app
        .graphql(
            None,
            "{ articles(first: 100) { nodes { comments(first: 100) { author { username } } } } }",
            json!({}),
        )
        .await;
    assert_eq!(codes(&heavy), ["GRAPHQL_VALIDATION_FAILED"]);
    assert!(heavy.text.contains("complex"), "{}", heavy.text);

    // The same field under sixty aliases: sixty statements, over the budget of fifty.
    let aliases: String = (0..60).map(|i| format!("a{i}:tags ")).collect();
    let aliased = app
        .graphql(None, &format!("{{ {aliases} }}"), json!({}))
        .await;
    assert_eq!(codes(&aliased), ["GRAPHQL_VALIDATION_FAILED"]);

    // Nested past the depth limit (introspection's types nest without end).
    let deep = format!(
        "{{ __schema {{ types {{ {}name{} }} }} }}",
        "fields { type { ofType { ".repeat(5),
        " } } }".repeat(5)
    );
    let deep = app.graphql(None, &deep, json!({})).await;
    assert_eq!(codes(&deep), ["GRAPHQL_VALIDATION_FAILED"]);
    assert!(deep.text.contains("nested too deep"), "{}", deep.text);

    // Fragments that spread each other.
    let cycle = app
        .graphql(
            None,
            "{ articles { nodes { ...A } } } fragment A on Article { author { username } ...B } fragment B on Article { ...A }",
            json!({}),
        )
        .await;
    assert_eq!(codes(&cycle), ["GRAPHQL_VALIDATION_FAILED"]);

    // Not GraphQL at all, wrong types, out-of-range pages, unknown fields.
    let broken = app.graphql(None, "{ articles { ", json!({})).await;
    assert_eq!(codes(&broken), ["GRAPHQL_PARSE_FAILED"], "{}", broken.text);
    let typed = app
        .graphql(
            None,
            "{ articles(first: \"ten\") { articlesCount } }",
            json!({}),
        )
        .await;
    assert!(
        codes(&typed).iter().all(|c| c == "BAD_USER_INPUT"),
        "{}",
        typed.text
    );
    let zero = app
        .graphql(None, "{ articles(first: 0) { articlesCount } }", json!({}))
        .await;
    assert_eq!(codes(&zero), ["BAD_USER_INPUT"]);
    assert_eq!(zero.json()["errors"][0]["extensions"]["field"], "first");
    let cursor = app
        .graphql(
            None,
            "{ articles(after: \"yesterday\") { articlesCount } }",
            json!({}),
        )
        .await;
    assert_eq!(cursor.json()["errors"][0]["extensions"]["field"], "after");
    let unknown = app.graphql(None, "{ secrets }", json!({})).await;
    assert_eq!(codes(&unknown), ["GRAPHQL_VALIDATION_FAILED"]);

    // Eleven writes in one operation (REST: eleven requests).
    let writes: String = (0..11)
        .map(|i| format!("w{i}: followUser(username: \"x\") {{ following }} "))
        .collect();
    let writes = app
        .graphql(None, &format!("mutation {{ {writes} }}"), json!({}))
        .await;
    assert_eq!(codes(&writes), ["GRAPHQL_VALIDATION_FAILED"]);

    // Bounded before the engine sees it: the document, the batch, the body, its type.
    let huge = format!("{{ tags }} # {}", "x".repeat(20_000));
    let huge = app.graphql(None, &huge, json!({})).await;
    huge.assert_status(400);
    assert_eq!(codes(&huge), ["DOCUMENT_TOO_LARGE"]);
    let batch: Vec<Value> = (0..11).map(|_| json!({"query": "{ tags }"})).collect();
    let batch = app.client.post("/graphql", None, &json!(batch)).await;
    batch.assert_status(400);
    assert_eq!(codes(&batch), ["BATCH_TOO_LARGE"]);
    let two = app
        .client
        .post(
            "/graphql",
            None,
            &json!([{"query": "{ tags }"}, {"query": "{ me { username } }"}]),
        )
        .await;
    two.assert_status(200);
    assert_eq!(two.json()[0]["data"]["tags"], json!([]));
    // A batch of one is still a batch: an array back.
    let one = app
        .client
        .post("/graphql", None, &json!([{"query": "{ tags }"}]))
        .await;
    assert_eq!(one.json(), json!([{"data": {"tags": []}}]));
    assert_eq!(
        two.json()[1]["errors"][0]["extensions"]["code"],
        "UNAUTHENTICATED"
    );
    let not_json = app
        .client
        .send(
            app.client
                .request(reqwest::Method::POST, "/graphql")
                .header("content-type", "application/json")
                .body("{\"query\": "),
        )
        .await;
    not_json.assert_status(400);
    assert_eq!(codes(&not_json), ["BAD_REQUEST"]);
    let form = app
        .client
        .send(
            app.client
                .request(reqwest::Method::POST, "/graphql")
                .header("content-type", "text/plain")
                .body("{\"query\": \"{ tags }\"}"),
        )
        .await;
    form.assert_status(415);

    // A forged token: refused before anything runs.
    let forged = User {
        username: "nobody".into(),
        token: "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.forged".into(),
    };
    let refused = app.graphql(Some(&forged), "{ tags }", json!({})).await;
    refused.assert_status(401);
    assert_eq!(codes(&refused), ["UNAUTHENTICATED"]);

    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "refusals are quick: {:?}",
        started.elapsed()
    );
}

#[actix_web::test]
async fn introspection_can_be_switched_off() {
    let open = spawn_app().await;
    let types = open
        .graphql_data(None, "{ __schema { queryType { name } } }", json!({}))
        .await;
    assert_eq!(types["__schema"]["queryType"]["name"], "Query");

    let closed = spawn_app_with(|config| config.graphql_introspection = false).await;
    let refused = closed
        .graphql(None, "{ __schema { queryType { name } } }", json!({}))
        .await;
    refused.assert_status(400);
    assert_eq!(codes(&refused), ["GRAPHQL_VALIDATION_FAILED"]);
    // Nor through a fragment; but `__typename`, or the words in a string, are no introspection.
    let fragment = closed
        .graphql(
            None,
            "{ ...F } fragment F on Query { __type(name: \"Article\") { name } }",
            json!({}),
        )
        .await;
    assert_eq!(codes(&fragment), ["GRAPHQL_VALIDATION_FAILED"]);
    closed
        .graphql_data(
            None,
            "{ __typename tags articles(q: \"__type __schema\") { articlesCount } } # __schema?",
            json!({}),
        )
        .await;
    // Nor sent as a persisted query: refused, and not kept under its hash.
    let schema_query = "{ __schema { queryType { name } } }";
    let persisted =
        json!({"persistedQuery": {"version": 1, "sha256Hash": sha256_hex(schema_query)}});
    let sent = json!({"query": schema_query, "extensions": persisted});
    post_graphql(&closed, sent).await.assert_status(400);
    let by_hash = post_graphql(&closed, json!({"extensions": persisted})).await;
    assert_eq!(codes(&by_hash), ["PERSISTED_QUERY_NOT_FOUND"]);
    // Ordinary queries still run.
    closed.graphql_data(None, "{ tags }", json!({})).await;
}

/// A document's SHA-256, as persisted queries name it.
fn sha256_hex(text: &str) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Posts a raw body to `/graphql`, without a token.
async fn post_graphql(app: &TestApp, body: Value) -> TestResponse {
    app.client.post("/graphql", None, &body).await
}

/// Automatic persisted queries (Apollo's protocol): a hash alone is answered from the document
/// kept under it, or with `PERSISTED_QUERY_NOT_FOUND`; a document sent with its hash is
/// checked against it, then kept.
#[actix_web::test]
async fn persisted_queries_run_the_document_kept_under_their_hash() {
    let app = spawn_app().await;
    let query = "{ tags }";
    let hash = sha256_hex(query);
    let persisted = |hash: &str| json!({"persistedQuery": {"version": 1, "sha256Hash": hash}});

    // Not kept yet: the client is told to send the document.
    let unknown = post_graphql(&app, json!({"extensions": persisted(&hash)})).await;
    unknown.assert_status(200);
    assert_eq!(codes(&unknown), ["PERSISTED_QUERY_NOT_FOUND"]);
    assert_eq!(
        unknown.json()["errors"][0]["message"],
        "PersistedQueryNotFound"
    );

    // A document that is not the one hashed is refused, and not kept under that hash.
    let forged = json!({"query": "{ me { email } }", "extensions": persisted(&hash)});
    assert_eq!(codes(&post_graphql(&app, forged).await), ["BAD_REQUEST"]);
    let still = post_graphql(&app, json!({"extensions": persisted(&hash)})).await;
    assert_eq!(codes(&still), ["PERSISTED_QUERY_NOT_FOUND"]);

    // Sent with its hash it runs and is kept; then the hash alone (in either case) runs it.
    let sent = json!({"query": query, "extensions": persisted(&hash)});
    let first = post_graphql(&app, sent).await.json();
    assert!(first["data"]["tags"].is_array(), "{first}");
    for hash in [hash.clone(), hash.to_uppercase()] {
        let again = post_graphql(&app, json!({"extensions": persisted(&hash)})).await;
        assert_eq!(again.json()["data"], first["data"], "{}", again.text);
    }

    // Only a document that parsed, validated and ran is kept.
    for broken in ["{ nosuchfield }", "{ tags"] {
        let hash = sha256_hex(broken);
        let sent = json!({"query": broken, "extensions": persisted(&hash)});
        let refused = post_graphql(&app, sent).await;
        assert!(
            codes(&refused)[0].starts_with("GRAPHQL_"),
            "{}",
            refused.text
        );
        let later = post_graphql(&app, json!({"extensions": persisted(&hash)})).await;
        assert_eq!(codes(&later), ["PERSISTED_QUERY_NOT_FOUND"], "{broken}");
    }

    // In a batch each operation is answered on its own.
    let unknown = "b".repeat(64);
    let batch = json!([{"extensions": persisted(&hash)}, {"extensions": persisted(&unknown)}]);
    let answers = post_graphql(&app, batch).await.json();
    assert_eq!(answers[0]["data"], first["data"], "{answers}");
    assert_eq!(
        answers[1]["errors"][0]["extensions"]["code"],
        "PERSISTED_QUERY_NOT_FOUND"
    );

    // Anything else under `persistedQuery` is named, not run.
    for (extension, code) in [
        (json!("yes"), "BAD_REQUEST"),
        (json!({"version": 1, "sha256Hash": "abc"}), "BAD_REQUEST"),
        (json!({"version": 1}), "BAD_REQUEST"),
        (json!({"sha256Hash": hash}), "BAD_REQUEST"),
        (
            json!({"version": 2, "sha256Hash": hash}),
            "PERSISTED_QUERY_NOT_SUPPORTED",
        ),
    ] {
        let body = json!({"query": query, "extensions": {"persistedQuery": extension}});
        let refused = post_graphql(&app, body).await;
        refused.assert_status(200);
        assert_eq!(codes(&refused), [code], "{}", refused.text);
        assert!(
            refused.json().get("data").is_none_or(Value::is_null),
            "{}",
            refused.text
        );
    }
}

#[actix_web::test]
async fn graphiql_is_served_from_the_binary() {
    let app = spawn_app().await;
    let page = app.get("/graphql", None).await;
    page.assert_status(200);
    assert!(page.text.contains("graphiql.min.js"));
    let policy = page.header("content-security-policy").expect("a CSP");
    assert!(policy.contains("script-src 'self'"));
    for file in [
        "graphiql.min.js",
        "graphiql.min.css",
        "react.production.min.js",
        "react-dom.production.min.js",
    ] {
        let request = app
            .client
            .request(reqwest::Method::GET, &format!("/graphql/assets/{file}"));
        let asset = app.client.send(request).await;
        asset.assert_status(200);
        assert_eq!(asset.header("content-encoding"), Some("gzip"), "{file}");
    }
    let init = app.get("/graphql/assets/graphiql-init.js", None).await;
    init.assert_status(200);
    assert!(init.text.contains("createFetcher"));
    app.get("/graphql/assets/../../Cargo.toml", None)
        .await
        .assert_status(404);
    app.get("/graphql/assets/nothing.js", None)
        .await
        .assert_status(404);
    app.client
        .send(app.client.request(reqwest::Method::PUT, "/graphql"))
        .await
        .assert_status(405);
}
