//! What keeps a page's cost independent of the table: the counts the writes maintain (they
//! must equal a recount, whatever the writes and their interleaving) and keyset paging with
//! `before` (it must list exactly what offsets list).

use std::collections::BTreeMap;

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use serde_json::{Value, json};

use crate::helpers::{TestApp, User, assert_error, slugs, spawn_app};

/// A tiny deterministic generator (xorshift): the same seed replays the same writes.
struct Dice(u64);

impl Dice {
    fn roll(&mut self, sides: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % sides as u64) as usize
    }
}

const TAGS: [&str; 5] = ["red", "green", "blue", "cyan", "plum"];

/// One random write by `users[who]`; `slugs` are the articles written so far (some deleted).
async fn random_write(
    app: &TestApp,
    users: &[User],
    slugs: &[String],
    dice: &mut Dice,
) -> Option<String> {
    let me = &users[dice.roll(users.len())];
    let other = &users[dice.roll(users.len())];
    let slug = slugs.get(dice.roll(slugs.len().max(1))).cloned();
    let tags: Vec<&str> = TAGS.iter().copied().filter(|_| dice.roll(2) == 0).collect();
    match (dice.roll(8), slug) {
        (0 | 1, _) | (_, None) => {
            let title = format!("Article {}", dice.roll(1_000_000));
            let response = app.post_article(me, &title, &tags).await;
            response.assert_status(201);
            return response.json()["article"]["slug"]
                .as_str()
                .map(str::to_string);
        }
        (2, Some(slug)) => {
            // Someone else's article answers 403, a deleted one 404: neither changes a count.
            let status = app
                .client
                .delete(&format!("/api/articles/{slug}"), Some(&me.token))
                .await
                .status
                .as_u16();
            assert!([204, 403, 404].contains(&status), "delete: {status}");
        }
        (3, Some(slug)) => {
            let status = app
                .client
                .put(
                    &format!("/api/articles/{slug}"),
                    Some(&me.token),
                    &json!({"article": {"tagList": tags}}),
                )
                .await
                .status
                .as_u16();
            assert!([200, 403, 404].contains(&status), "tags: {status}");
        }
        (4, _) => {
            let status = app
                .client
                .post(
                    &format!("/api/profiles/{}/follow", other.username),
                    Some(&me.token),
                    &json!({}),
                )
                .await
                .status
                .as_u16();
            // Following yourself is a 422.
            assert!([200, 422].contains(&status), "follow: {status}");
        }
        (5, _) => {
            let status = app
                .client
                .delete(
                    &format!("/api/profiles/{}/follow", other.username),
                    Some(&me.token),
                )
                .await
                .status
                .as_u16();
            assert!([200, 422].contains(&status), "unfollow: {status}");
        }
        (6, Some(slug)) => {
            let status = app
                .client
                .post(
                    &format!("/api/articles/{slug}/favorite"),
                    Some(&me.token),
                    &json!({}),
                )
                .await
                .status
                .as_u16();
            assert!([200, 404].contains(&status), "favorite: {status}");
        }
        (_, Some(slug)) => {
            let status = app
                .client
                .delete(&format!("/api/articles/{slug}/favorite"), Some(&me.token))
                .await
                .status
                .as_u16();
            assert!([200, 404].contains(&status), "unfavorite: {status}");
        }
    }
    None
}

#[derive(QueryableByName)]
struct Check {
    #[diesel(sql_type = Text)]
    what: String,
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = BigInt)]
    kept: i64,
    #[diesel(sql_type = BigInt)]
    counted: i64,
}

/// Every count the writes keep beside a recount from the rows, and the copies of
/// `created_at` beside the article's own (the same SQL on both databases).
const RECOUNT: &str = "
SELECT 'all articles' AS what, CAST(0 AS BIGINT) AS id,
       CAST((SELECT value FROM counters WHERE name = 'articles') AS BIGINT) AS kept,
       CAST((SELECT count(*) FROM articles) AS BIGINT) AS counted
UNION ALL
SELECT 'articles with tag', t.id, CAST(t.articles_count AS BIGINT),
       CAST((SELECT count(*) FROM article_tags AS x WHERE x.tag_id = t.id) AS BIGINT)
FROM tags AS t
UNION ALL
SELECT 'articles by user', u.id, CAST(COALESCE(c.articles_count, 0) AS BIGINT),
       CAST((SELECT count(*) FROM articles AS a WHERE a.author_id = u.id) AS BIGINT)
FROM users AS u LEFT JOIN user_counters AS c ON c.user_id = u.id
UNION ALL
SELECT 'favorites of user', u.id, CAST(COALESCE(c.favorites_count, 0) AS BIGINT),
       CAST((SELECT count(*) FROM favorites AS f WHERE f.user_id = u.id) AS BIGINT)
FROM users AS u LEFT JOIN user_counters AS c ON c.user_id = u.id
UNION ALL
SELECT 'favorites of article', a.id, CAST(a.favorites_count AS BIGINT),
       CAST((SELECT count(*) FROM favorites AS f WHERE f.article_id = a.id) AS BIGINT)
FROM articles AS a
UNION ALL
SELECT 'tag links with another created_at', CAST(0 AS BIGINT), CAST(0 AS BIGINT),
       CAST((SELECT count(*) FROM article_tags AS x JOIN articles AS a ON a.id = x.article_id
             WHERE x.created_at <> a.created_at) AS BIGINT)
UNION ALL
SELECT 'favorites with another article_created_at', CAST(0 AS BIGINT), CAST(0 AS BIGINT),
       CAST((SELECT count(*) FROM favorites AS f JOIN articles AS a ON a.id = f.article_id
             WHERE f.article_created_at <> a.created_at) AS BIGINT)";

#[actix_web::test]
async fn every_maintained_count_equals_a_recount_after_a_random_mix_of_writes() {
    let app = spawn_app().await;
    let mut users = Vec::new();
    for i in 0..5 {
        users.push(app.register(&format!("writer{i}")).await);
    }
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    println!("seed {seed}");
    // Four clients at once, 60 writes each, so that writes interleave (and lock each other).
    let mut written: Vec<String> = Vec::new();
    for round in 0..6 {
        let batches = (0..4u64).map(|client| {
            let (app, users, written) = (&app, &users, written.clone());
            async move {
                let mut dice = Dice(seed.wrapping_mul(31 + client).wrapping_add(round) | 1);
                let mut mine = Vec::new();
                for _ in 0..10 {
                    let mut known = written.clone();
                    known.extend(mine.iter().cloned());
                    if let Some(slug) = random_write(app, users, &known, &mut dice).await {
                        mine.push(slug);
                    }
                }
                mine
            }
        });
        for mine in futures_util::future::join_all(batches).await {
            written.extend(mine);
        }
    }

    let checks: Vec<Check> = app
        .db
        .run(|conn| {
            diesel::sql_query(RECOUNT)
                .load(conn)
                .map_err(backend_kit::db::DbError::from)
        })
        .await
        .expect("recount");
    let wrong: Vec<String> = checks
        .iter()
        .filter(|c| c.kept != c.counted)
        .map(|c| {
            format!(
                "{} {}: kept {}, counted {}",
                c.what, c.id, c.kept, c.counted
            )
        })
        .collect();
    assert!(
        wrong.is_empty(),
        "seed {seed}: counts that drifted: {wrong:?}"
    );
    let summary: BTreeMap<&str, i64> = checks.iter().fold(BTreeMap::new(), |mut sum, c| {
        *sum.entry(c.what.as_str()).or_default() += c.counted;
        sum
    });
    println!("after the writes: {summary:?}");
    assert!(
        summary["favorites of user"] > 0 && summary["articles with tag"] > 0,
        "seed {seed}: too few writes to test"
    );
    let articles = checks
        .iter()
        .find(|c| c.what == "all articles")
        .unwrap()
        .counted;
    assert!(articles > 0, "seed {seed}: no article survived");

    // And the API says the same, to each user: the counts of their articles, favorites and
    // feed beside what a full list shows them (`favorited`, `author.following`).
    assert!(
        articles <= 100,
        "seed {seed}: {articles} articles do not fit one page"
    );
    let everything = app.get("/api/articles?limit=100", None).await.json();
    assert_eq!(everything["articlesCount"], articles);
    let all: Vec<Value> = everything["articles"].as_array().unwrap().clone();
    for user in &users {
        let seen = app.get("/api/articles?limit=100", Some(user)).await.json();
        let seen = seen["articles"].as_array().unwrap();
        let by = seen
            .iter()
            .filter(|a| a["author"]["username"] == user.username.as_str())
            .count();
        let by_count = count(
            &app,
            &format!("/api/articles?author={}&limit=1", user.username),
            None,
        )
        .await;
        assert_eq!(by_count, by, "seed {seed}: {}'s articles", user.username);
        let favorited = seen.iter().filter(|a| a["favorited"] == true).count();
        let favorited_count = count(
            &app,
            &format!("/api/articles?favorited={}&limit=1", user.username),
            None,
        )
        .await;
        assert_eq!(
            favorited_count, favorited,
            "seed {seed}: {}'s favorites",
            user.username
        );
        let followed = seen
            .iter()
            .filter(|a| a["author"]["following"] == true)
            .count();
        let feed_count = count(&app, "/api/articles/feed?limit=1", Some(user)).await;
        assert_eq!(
            feed_count, followed,
            "seed {seed}: {}'s feed",
            user.username
        );
    }
    for tag in TAGS {
        let with = all
            .iter()
            .filter(|a| a["tagList"].as_array().unwrap().iter().any(|t| t == tag))
            .count();
        let page = app
            .get(&format!("/api/articles?tag={tag}&limit=1"), None)
            .await
            .json();
        assert_eq!(page["articlesCount"], with, "seed {seed}: tag {tag}");
    }
}

/// `articlesCount` of a list.
async fn count(app: &TestApp, path: &str, user: Option<&User>) -> Value {
    app.get(path, user).await.json()["articlesCount"].clone()
}

/// Every page of `path` by offset, then the same list by following each page's `Link`.
async fn by_offset_and_by_link(
    app: &TestApp,
    path: &str,
    user: Option<&User>,
) -> (Vec<String>, Vec<String>) {
    let join = if path.contains('?') { '&' } else { '?' };
    let mut by_offset = Vec::new();
    for offset in (0..).step_by(3) {
        let page = app
            .get(&format!("{path}{join}limit=3&offset={offset}"), user)
            .await;
        page.assert_status(200);
        let found = slugs(&page.json());
        if found.is_empty() {
            break;
        }
        by_offset.extend(found);
    }
    let mut by_link = Vec::new();
    let mut next = Some(format!("{path}{join}limit=3"));
    let mut pages = 0;
    while let Some(url) = next.take() {
        let page = app.get(&url, user).await;
        page.assert_status(200);
        let found = slugs(&page.json());
        next = page.header("link").map(|link| {
            let url = link
                .strip_prefix('<')
                .and_then(|l| l.split_once(">; rel=\"next\""))
                .expect("a next link")
                .0;
            assert!(!url.contains("offset="), "{url}");
            url.to_string()
        });
        assert!(
            next.is_none() || found.len() == 3,
            "a link after a short page: {url}"
        );
        by_link.extend(found);
        pages += 1;
        assert!(pages < 50, "the links go round in circles");
    }
    (by_offset, by_link)
}

#[actix_web::test]
async fn before_pages_through_every_list_exactly_as_offsets_do() {
    let app = spawn_app().await;
    let (ann, bob, cat) = (
        app.register("ann").await,
        app.register("bob").await,
        app.register("cat").await,
    );
    for user in [&bob, &cat] {
        app.client
            .post(
                &format!("/api/profiles/{}/follow", user.username),
                Some(&ann.token),
                &json!({}),
            )
            .await
            .assert_status(200);
    }
    let mut made: BTreeMap<&str, usize> = BTreeMap::new();
    for i in 0..11 {
        for (user, name) in [(&bob, "bob"), (&cat, "cat"), (&ann, "ann")] {
            let tags: &[&str] = if i % 2 == 0 {
                &["even", "all"]
            } else {
                &["all"]
            };
            let slug = app
                .create_article(user, &format!("Walk {name} {i}"), tags)
                .await["slug"]
                .as_str()
                .unwrap()
                .to_string();
            *made.entry(name).or_default() += 1;
            if i % 3 == 0 {
                app.client
                    .post(
                        &format!("/api/articles/{slug}/favorite"),
                        Some(&ann.token),
                        &json!({}),
                    )
                    .await
                    .assert_status(200);
            }
        }
    }
    let lists = [
        ("/api/articles".to_string(), 33),
        ("/api/articles?tag=even".to_string(), 18),
        (format!("/api/articles?author={}", bob.username), 11),
        (format!("/api/articles?favorited={}", ann.username), 12),
        ("/api/articles/feed".to_string(), 22),
        ("/api/articles?q=walk".to_string(), 33),
        (format!("/api/articles?tag=all&author={}", cat.username), 11),
    ];
    for (path, expected) in lists {
        let (by_offset, by_link) = by_offset_and_by_link(&app, &path, Some(&ann)).await;
        assert_eq!(by_offset.len(), expected, "{path}: {by_offset:?}");
        assert_eq!(by_link, by_offset, "{path}");
        let count = app
            .get(
                &format!(
                    "{path}{}limit=1",
                    if path.contains('?') { '&' } else { '?' }
                ),
                Some(&ann),
            )
            .await
            .json();
        assert_eq!(count["articlesCount"], expected, "{path}");
    }
    assert_eq!(made.values().sum::<usize>(), 33);

    // `offset` counts from the cursor; an article written meanwhile does not shift the pages.
    let first = app.get("/api/articles?limit=3", None).await;
    let link = first.header("link").expect("a link").to_string();
    let next = &link[1..link.find('>').unwrap()];
    let before = next.split("before=").nth(1).unwrap();
    app.create_article(&bob, "Written meanwhile", &[]).await;
    let after = app
        .get(&format!("/api/articles?limit=3&before={before}"), None)
        .await
        .json();
    let skipped = app
        .get(
            &format!("/api/articles?limit=2&offset=1&before={before}"),
            None,
        )
        .await
        .json();
    assert_eq!(slugs(&skipped), slugs(&after)[1..].to_vec());
    let by_offset = app.get("/api/articles?limit=3&offset=4", None).await.json();
    assert_eq!(
        slugs(&after),
        slugs(&by_offset),
        "the new article shifted the offsets, not the cursor"
    );
    assert_eq!(after["articlesCount"], 34, "the count is of the whole list");
}

#[actix_web::test]
async fn a_bad_cursor_is_a_422_naming_before() {
    let app = spawn_app().await;
    let user = app.register("reader").await;
    for before in [
        "x",
        "2026-01-02T03:04:05Z",
        "2026-01-02T03:04:05Z,0",
        "2026-01-02T03:04:05Z,abc",
        &"9".repeat(100),
    ] {
        for path in ["/api/articles", "/api/articles/feed"] {
            let response = app
                .get(&format!("{path}?before={before}"), Some(&user))
                .await;
            assert_error(&response, 422, "before");
        }
    }
    // An offset past a million is a 422 that points to `before`.
    let deep = app.get("/api/articles?offset=1000001", None).await;
    assert_error(&deep, 422, "offset");
    assert!(deep.text.contains("before"), "{}", deep.text);
    app.get("/api/articles?offset=1000000", None)
        .await
        .assert_status(200);
    let feed = app
        .get("/api/articles/feed?offset=9223372036854775807", Some(&user))
        .await;
    assert_error(&feed, 422, "offset");
    // A cursor past every article is an empty page, and one before every article the whole list.
    app.create_article(&user, "Only one", &[]).await;
    let early = app
        .get("/api/articles?before=1970-01-01T00:00:00Z,1", None)
        .await
        .json();
    assert_eq!(slugs(&early), Vec::<String>::new());
    let late = app
        .get("/api/articles?before=9999-12-31T23:59:59Z,1", None)
        .await
        .json();
    assert_eq!(slugs(&late).len(), 1);
}

/// Search past the window the newest articles are tested in (`db/search.rs`): 1 500 articles,
/// inserted straight into the table (through the API it would take a minute), every one with
/// the word `common`, one in 97 with `rare` too, and runs of equal timestamps. Every page, by
/// offset and by cursor, is the matches in the list's order, and the counts stop at 1 000.
#[actix_web::test]
async fn search_finds_the_same_pages_beyond_the_newest_articles() {
    use blog::db::schema::{articles, users};
    use blog::domain::search;

    let app = spawn_app().await;
    let author = app.register("many").await;
    let name = author.username.clone();
    let start = chrono::NaiveDate::from_ymd_opt(2026, 1, 1)
        .unwrap()
        .and_hms_opt(0, 0, 0)
        .unwrap();
    app.db
        .run(move |conn| {
            let author_id: i64 = users::table
                .filter(users::username.eq(&name))
                .select(users::id)
                .first(conn)?;
            for chunk in (0..1500).collect::<Vec<i64>>().chunks(250) {
                let rows: Vec<_> = chunk
                    .iter()
                    .map(|&n| {
                        let title = if n % 97 == 0 {
                            format!("Common rare {n}")
                        } else {
                            format!("Common {n}")
                        };
                        // Three articles a second: runs of equal timestamps, ids ascending.
                        let at = start + chrono::Duration::seconds(n / 3);
                        (
                            articles::slug.eq(format!("bulk-{n}")),
                            articles::title.eq(title.clone()),
                            articles::description.eq("d"),
                            articles::body.eq("b"),
                            articles::body_html.eq("<p>b</p>"),
                            articles::search_text.eq(search::index_text(&title, "d", "b")),
                            articles::search_version.eq(search::INDEX_VERSION),
                            articles::author_id.eq(author_id),
                            articles::created_at.eq(at),
                            articles::updated_at.eq(at),
                        )
                    })
                    .collect();
                // A multi-row INSERT is built per driver (MultiConnection cannot).
                let insert = diesel::insert_into(articles::table).values(rows);
                match conn {
                    backend_kit::db::AnyConnection::Postgresql(pg) => insert.execute(pg)?,
                    backend_kit::db::AnyConnection::Sqlite(sqlite) => insert.execute(sqlite)?,
                };
            }
            Ok::<_, backend_kit::db::DbError>(())
        })
        .await
        .expect("insert the articles");
    // Newest first: the larger n, and among equal timestamps the larger id (= n).
    let expected = |word: &str| -> Vec<String> {
        (0..1500)
            .rev()
            .filter(|n| word == "common" || n % 97 == 0)
            .map(|n| format!("bulk-{n}"))
            .collect()
    };
    for (q, word, count) in [
        ("common", "common", 1000),
        ("rare", "rare", 16),
        ("common+ra", "rare", 16),
    ] {
        let all = expected(word);
        for (limit, offset) in [(20, 0), (20, 40), (100, 900), (7, 1400), (20, 1490)] {
            let page = app
                .get(
                    &format!("/api/articles?q={q}&limit={limit}&offset={offset}"),
                    None,
                )
                .await
                .json();
            let want: Vec<String> = all.iter().skip(offset).take(limit).cloned().collect();
            assert_eq!(slugs(&page), want, "q={q} limit={limit} offset={offset}");
            assert_eq!(page["articlesCount"], count, "q={q}");
        }
        // By cursor, 50 at a time, the whole list.
        let mut walked = Vec::new();
        let mut next = Some(format!("/api/articles?q={q}&limit=50"));
        while let Some(url) = next.take() {
            let page = app.get(&url, None).await;
            walked.extend(slugs(&page.json()));
            next = page
                .header("link")
                .map(|link| link[1..link.find('>').unwrap()].to_string());
        }
        assert_eq!(walked, all, "q={q} by cursor");
    }
}
