//! `blog seed`: four authors who write about backend topics, comment on each other's articles,
//! favorite and follow each other, so a freshly deployed blog has a front page, tags, a feed
//! and discussions to show. Written through the same parsers and queries as the API, in one
//! transaction, into a database where the blog has nothing yet (`backend_kit::cli::seed`).
//!
//! The content is the constants below: edit them to seed your own.

use std::collections::HashMap;

use backend_kit::auth::{EmailAddress, insert_user, set_username};
use backend_kit::cli::BoxError;
use backend_kit::config::Settings;
use backend_kit::db::{AnyConnection, Database};
use backend_kit::http::FieldErrors;
use diesel::prelude::*;

use crate::db::articles::{self, NewArticle, Outcome};
use crate::db::schema::users;
use crate::db::{comments, profiles};
use crate::domain::{ArticleText, Bio, CommentBody, TagList, Username, markdown};

pub const DEMO_EMAIL: &str = "ada@blog.example.com";

/// Username, e-mail, bio. Every account gets the one demo password.
const AUTHORS: &[(&str, &str, &str)] = &[
    (
        "ada",
        DEMO_EMAIL,
        "Backend engineer. Writes about Rust, SQL and the unglamorous parts that keep a \
         service up at 3 a.m.",
    ),
    (
        "grace",
        "grace@blog.example.com",
        "Builds HTTP APIs for a living and collects war stories about caches.",
    ),
    (
        "alan",
        "alan@blog.example.com",
        "Test first, ship often. A flaky test is a bug report about the code.",
    ),
    (
        "barbara",
        "barbara@blog.example.com",
        "Platform engineer: containers, deploys, and the odd migration at midnight.",
    ),
];

/// Follower, followed.
const FOLLOWS: &[(&str, &str)] = &[
    ("ada", "grace"),
    ("ada", "alan"),
    ("grace", "ada"),
    ("alan", "ada"),
    ("alan", "barbara"),
    ("barbara", "grace"),
    ("barbara", "ada"),
];

/// One article and what its readers did with it; people are named by username.
struct SeedArticle {
    author: &'static str,
    title: &'static str,
    description: &'static str,
    /// Markdown, as a client would post it.
    body: &'static str,
    tags: &'static [&'static str],
    /// Commenter and comment, oldest first.
    comments: &'static [(&'static str, &'static str)],
    favorited_by: &'static [&'static str],
}

/// Oldest first: the front page shows the last one on top.
const ARTICLES: &[SeedArticle] = &[
    SeedArticle {
        author: "ada",
        title: "Parse, don't validate: input types for a web API",
        description: "Turn request bodies into types that can only hold valid data, once.",
        body: r#"A handler that checks its input and then passes the raw strings on has to trust that every function after it checks again. Most of them will not.

## Parse at the edge

Parse the request into types whose constructors refuse bad values, and let the rest of the code take only those types:

- `Username::parse` refuses anything outside `A-Z a-z 0-9 _ -`
- `Title::parse` trims and bounds the length
- the database layer takes a `Title`, never a `String`

```rust
pub struct Username(String);

impl Username {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let name = raw.trim();
        if name.is_empty() || name.len() > 40 {
            return Err("must be 1 to 40 characters".into());
        }
        Ok(Self(name.to_string()))
    }
}
```

The compiler now tells you when a path forgets to parse. Unit tests cover the rules in one place, and property tests can throw random strings at them."#,
        tags: &["http", "rust", "testing"],
        comments: &[
            (
                "alan",
                "The property tests are the best part. Ours found a username made only of a zero-width space.",
            ),
            (
                "grace",
                "Do you parse query parameters the same way? We still pass `limit` around as a string.",
            ),
        ],
        favorited_by: &["grace", "alan"],
    },
    SeedArticle {
        author: "grace",
        title: "HTTP caching headers, explained with curl",
        description: "Cache-Control, ETag and 304 Not Modified, one request at a time.",
        body: r#"Most APIs send no caching headers at all, and every client downloads the same answer again and again. Three headers fix most of it.

## The headers

- `Cache-Control: max-age=60` lets any client reuse the answer for a minute
- `ETag: "v42"` names this version of the resource
- `If-None-Match: "v42"` asks "has it changed?", and `304 Not Modified` answers "no"

```sh
curl -i https://api.example.com/articles/intro
# HTTP/1.1 200 OK
# ETag: "v42"

curl -i -H 'If-None-Match: "v42"' https://api.example.com/articles/intro
# HTTP/1.1 304 Not Modified
```

A 304 has no body, so a large answer costs a few bytes instead of kilobytes. Start with `private, no-cache` plus an ETag for data that belongs to one user."#,
        tags: &["caching", "http"],
        comments: &[
            (
                "ada",
                "Worth adding: a weak ETag (`W/\"v42\"`) is enough when the body is equivalent but not byte-identical.",
            ),
            (
                "barbara",
                "Our CDN ignored all of this until we removed `Set-Cookie` from the responses.",
            ),
        ],
        favorited_by: &["ada", "barbara"],
    },
    SeedArticle {
        author: "alan",
        title: "Integration tests that start the real server",
        description: "Port 0, a fresh database per test, and plain HTTP.",
        body: r#"Tests that call handler functions directly skip the routing, the extractors and the middleware: exactly the parts that break when you upgrade the framework.

## The recipe

1. Build the application with the port set to `0`, so the OS picks a free one.
2. Ask the server which port it got.
3. Give every test its own database, so tests can run in parallel.
4. Talk to it with an ordinary HTTP client.

```rust
#[actix_web::test]
async fn an_unknown_article_is_404() {
    let app = spawn_app().await;
    let response = app.client.get("/api/articles/nope", None).await;
    response.assert_status(404);
}
```

A test like this reads like the API's documentation, and it fails for the reasons a client would notice."#,
        tags: &["http", "rust", "testing"],
        comments: &[
            (
                "barbara",
                "How long does the suite take with a database per test?",
            ),
            (
                "ada",
                "On SQLite a fresh file per test is a few milliseconds. The migrations are the slow part.",
            ),
        ],
        favorited_by: &["ada", "barbara", "grace"],
    },
    SeedArticle {
        author: "barbara",
        title: "A small Docker image for a Rust service",
        description: "Multi-stage builds, cached dependencies and a distroless runtime.",
        body: r#"A naive Dockerfile for a Rust service produces a 2 GB image and rebuilds every dependency on each commit. Two stages and a cache fix both.

## What goes where

- the **builder** stage has the toolchain and compiles the release binary
- the **runtime** stage has only the binary, CA certificates and a non-root user
- cache mounts keep the crates and the compiled dependencies from one build to the next

```dockerfile
FROM rust:1 AS builder
WORKDIR /app
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/app/target \
    cargo build --release --bin blog && cp target/release/blog /blog

FROM gcr.io/distroless/cc-debian12
COPY --from=builder /blog /usr/local/bin/blog
USER nonroot
ENTRYPOINT ["blog"]
```

The result is a few tens of megabytes with no shell to break into, and a rebuild after a one-line change compiles only your own crate."#,
        tags: &["docker", "rust"],
        comments: &[
            (
                "alan",
                "Distroless has no shell, so how do you debug a container that will not start?",
            ),
            (
                "barbara",
                "An ephemeral debug container attached to the same pod. You do not need a shell in production.",
            ),
        ],
        favorited_by: &["alan"],
    },
    SeedArticle {
        author: "ada",
        title: "Avoiding N+1 queries with two SELECTs",
        description: "Load a page of articles and their authors in a constant number of queries.",
        body: r#"The N+1 problem hides in loops: one query for the list, then one more for each row's author. Twenty articles, twenty-one round trips.

## Load in batches

- select the page of articles
- collect their author ids and load those authors with one `IN (...)`
- join the two in memory with a hash map

```sql
SELECT id, title, author_id FROM articles
ORDER BY created_at DESC LIMIT 20;

SELECT id, username, bio FROM users
WHERE id IN (3, 7, 12);
```

Count the statements in a test, not just the results: a regression back to N+1 returns the same JSON, only slower."#,
        tags: &["rust", "sql"],
        comments: &[
            (
                "grace",
                "A join works too, but the batched query is easier to reuse across endpoints.",
            ),
            (
                "alan",
                "Counting statements in tests caught two regressions for us last quarter.",
            ),
        ],
        favorited_by: &["grace", "alan", "barbara"],
    },
    SeedArticle {
        author: "grace",
        title: "Cache invalidation with versioned keys",
        description: "Instead of deleting stale entries, stop asking for them.",
        body: r#"Deleting cache entries when data changes is fragile: miss one code path and readers see stale data for hours.

## Version the key instead

Keep a version number per resource, bump it on every write, and put it in the cache key. Old entries are never read again and simply expire.

- `article:42:v7` is the cached article
- a write bumps the version to 8 in the same transaction
- the next read misses the cache and stores `article:42:v8`

```sql
UPDATE articles
SET body = $1, version = version + 1
WHERE id = $2
RETURNING version;
```

Give every entry a TTL, so the abandoned versions cost memory only for a while."#,
        tags: &["caching", "sql"],
        comments: &[
            (
                "ada",
                "Where do you keep the version for lists? A new article changes every page.",
            ),
            (
                "grace",
                "One counter per list, bumped by any write to it. Lists are cheap to rebuild.",
            ),
        ],
        favorited_by: &["ada"],
    },
    SeedArticle {
        author: "barbara",
        title: "Run migrations before the new version starts",
        description: "A deploy order that never serves requests against the wrong schema.",
        body: r#"If each instance migrates the database when it starts, two instances race to apply the same migration, and old instances run against a schema they do not know.

## The order that works

1. Run `blog migrate` once, as its own step of the deploy.
2. Make every migration backward compatible: add columns, do not rename them.
3. Start the new version, then stop the old one.
4. Remove what the old version needed in a later release.

```sh
docker run --rm --env-file .env blog:1.4 migrate
docker compose up -d blog
```

A migration that fails now stops the deploy before any new code runs, which is when you want to find out."#,
        tags: &["docker", "sql"],
        comments: &[
            (
                "grace",
                "Step 4 is the one everyone forgets. We still have a column called `legacy_name`.",
            ),
            (
                "alan",
                "Do you test the migrations against a copy of production data?",
            ),
        ],
        favorited_by: &["grace"],
    },
    SeedArticle {
        author: "alan",
        title: "One test suite for SQLite and PostgreSQL",
        description: "Fast tests on your laptop, the real database in CI.",
        body: r#"SQLite makes tests fast and needs no server. PostgreSQL is what runs in production. With one set of queries you can have both.

## How we run it

- by default every test gets a fresh SQLite file
- with `TEST_DATABASE_URL` set, every test gets a fresh PostgreSQL database
- CI runs the suite twice, once per database

```sh
cargo test
TEST_DATABASE_URL=postgres://postgres@localhost/postgres cargo test
```

Where the databases really differ, as full-text search does, keep the difference in one function and test both branches. Everything else stays identical."#,
        tags: &["sql", "testing"],
        comments: &[
            (
                "barbara",
                "Do you clean up the PostgreSQL databases afterwards? Ours filled the disk once.",
            ),
            (
                "ada",
                "The locking differs too: SQLite has one writer at a time, so test concurrency on PostgreSQL.",
            ),
        ],
        favorited_by: &["ada", "barbara"],
    },
    SeedArticle {
        author: "ada",
        title: "Rate limiting in Redis, across every instance",
        description: "Limits that hold when you run more than one instance.",
        body: r#"A rate limiter kept in process memory forgets everything on restart, and two instances each allow the full budget. Keep the bucket in Redis.

## A fixed window is often enough

- the key is the client and the current minute, for example `login:203.0.113.7:28712`
- `INCR` counts the request, and `EXPIRE` drops the key once its minute is over
- past the limit, answer `429 Too Many Requests` with `Retry-After`

```sh
MULTI
INCR login:203.0.113.7:28712
EXPIRE login:203.0.113.7:28712 60
EXEC
```

When Redis is down, decide on purpose whether to fail open or closed. For a login form, closed is safer."#,
        tags: &["caching", "http", "rust"],
        comments: &[
            (
                "grace",
                "Remember to take the client address from the proxy header only when a trusted proxy set it.",
            ),
            (
                "barbara",
                "We fail open for reads and closed for logins, exactly as you suggest.",
            ),
        ],
        favorited_by: &["grace", "barbara"],
    },
    SeedArticle {
        author: "grace",
        title: "Pagination: offsets, cursors and their trade-offs",
        description: "Why page 5 000 is slow, and what to give clients instead.",
        body: r#"`LIMIT 20 OFFSET 100000` makes the database read and throw away a hundred thousand rows before it returns twenty.

## Cursors

A cursor says "after this row" instead of "skip this many":

- order by a unique key, such as `(created_at, id)`
- hand the client the last row's key as an opaque string
- the next page asks for rows before that key, served straight from an index

```sql
SELECT id, title FROM articles
WHERE (created_at, id) < ($1, $2)
ORDER BY created_at DESC, id DESC
LIMIT 20;
```

Keep offsets for the first few pages, where they are cheap and clients expect page numbers, and offer a `Link: rel="next"` header for the rest."#,
        tags: &["http", "sql"],
        comments: &[
            (
                "alan",
                "Cursors also stop duplicates when new rows arrive while someone is paging.",
            ),
            (
                "ada",
                "Row comparisons like `(a, b) < (x, y)` work in SQLite as well, since 3.15.",
            ),
        ],
        favorited_by: &["alan"],
    },
];

/// What `seed` made, for the command to print.
pub struct Seeded {
    pub email: &'static str,
    pub password: String,
    pub authors: usize,
    pub articles: usize,
    pub comments: usize,
}

pub async fn seed(
    settings: &Settings,
    db: &Database,
    password: Option<String>,
) -> Result<Seeded, BoxError> {
    let ((), password) = backend_kit::cli::seed(
        settings,
        db,
        password,
        AUTHORS.iter().map(|&(_, email, _)| email).collect(),
        |conn| {
            // The blog's own: its articles, and accounts with a handle (other capstones'
            // accounts in a shared database have none).
            let articles: i64 = crate::db::schema::articles::table
                .count()
                .get_result(conn)?;
            let handles: i64 = users::table
                .filter(users::username.is_not_null())
                .count()
                .get_result(conn)?;
            Ok(articles + handles)
        },
        |conn, hash| {
            let mut ids = HashMap::new();
            for &(username, email, bio) in AUTHORS {
                ids.insert(username, add_author(conn, username, email, bio, hash)?);
            }
            let id_of = |name: &str| {
                ids.get(name)
                    .copied()
                    .ok_or_else(|| format!("{name:?} is not one of the AUTHORS"))
            };
            for article in ARTICLES {
                let slug = add_article(conn, id_of(article.author)?, article)?;
                for &(commenter, text) in article.comments {
                    let body = CommentBody::parse(text)
                        .map_err(|e| format!("a comment on {:?} {e}", article.title))?;
                    comments::create(conn, &slug, id_of(commenter)?, &body.into_inner())?
                        .ok_or_else(|| format!("no article at {slug}"))?;
                }
                for &fan in article.favorited_by {
                    let fan = id_of(fan)?;
                    if articles::set_favorite(conn, &slug, fan, true)? != Outcome::Done(()) {
                        return Err(format!("no article at {slug}").into());
                    }
                }
            }
            for &(follower, followed) in FOLLOWS {
                profiles::follow(conn, id_of(follower)?, id_of(followed)?)?;
            }
            // The demo authors get no digests: their addresses are made up, and a visitor's
            // comment on their article must not send mail (this also drops the seed's own).
            for &id in ids.values() {
                crate::db::notifications::unsubscribe(conn, id)?;
            }
            backdate(conn)?;
            Ok(())
        },
    )
    .await?;
    Ok(Seeded {
        email: DEMO_EMAIL,
        password,
        authors: AUTHORS.len(),
        articles: ARTICLES.len(),
        comments: ARTICLES.iter().map(|a| a.comments.len()).sum(),
    })
}

/// Spreads the articles over the last weeks, two days apart in the order written, each
/// comment an hour after the one before: everything was just written in the same
/// millisecond, which no real blog looks like. Only the seed's rows exist yet.
fn backdate(conn: &mut AnyConnection) -> Result<(), BoxError> {
    use crate::db::schema::{articles as a, comments as c};
    let now = backend_kit::time::now();
    let ids: Vec<i64> = a::table.order(a::id).select(a::id).load(conn)?;
    let count = ids.len() as i64;
    for (index, id) in ids.into_iter().enumerate() {
        let written = now - chrono::Duration::days(2 * (count - index as i64));
        diesel::update(a::table.find(id))
            .set((a::created_at.eq(written), a::updated_at.eq(written)))
            .execute(conn)?;
        let comments: Vec<i64> = c::table
            .filter(c::article_id.eq(id))
            .order(c::id)
            .select(c::id)
            .load(conn)?;
        for (hours, comment) in (1..).zip(comments) {
            let at = written + chrono::Duration::hours(hours);
            diesel::update(c::table.find(comment))
                .set((c::created_at.eq(at), c::updated_at.eq(at)))
                .execute(conn)?;
        }
    }
    Ok(())
}

/// The account as `POST /api/users` makes it (the handle is also the display name), with its
/// address verified and a bio; its id.
fn add_author(
    conn: &mut AnyConnection,
    username: &str,
    email: &str,
    bio: &str,
    password_hash: &str,
) -> Result<i64, BoxError> {
    let username = Username::parse(username)
        .map_err(|e| format!("username {username:?} {e}"))?
        .into_inner();
    let email = EmailAddress::parse(email).map_err(|e| format!("e-mail {email:?} {e}"))?;
    let bio = Bio::parse(bio)
        .map_err(|e| format!("the bio of {username} {e}"))?
        .into_inner();
    let user = insert_user(conn, &username, &email, password_hash)?;
    set_username(conn, user.id, &username)?;
    // The kit marks an address verified only when its mailed link is followed; nobody reads
    // a seeded example.com inbox, so the seed vouches for it.
    diesel::update(users::table.find(user.id))
        .set(users::email_verified_at.eq(backend_kit::time::now()))
        .execute(conn)?;
    profiles::update(conn, user.id, Some(bio), None)?;
    Ok(user.id)
}

/// The article as `POST /api/articles` writes it: text and tags parsed by the same rules, the
/// body rendered to sanitized HTML; its slug.
fn add_article(
    conn: &mut AnyConnection,
    author: i64,
    article: &SeedArticle,
) -> Result<String, BoxError> {
    let mut errors = FieldErrors::default();
    let text = ArticleText::parse(
        Some(article.title),
        Some(article.description),
        Some(article.body),
        &mut errors,
    );
    let tags: Vec<String> = article.tags.iter().map(|t| t.to_string()).collect();
    let tags = errors.check("tagList", TagList::parse(&tags));
    let (Some(title), Some(description), Some(body), Some(tags)) =
        (text.title, text.description, text.body, tags)
    else {
        return Err(format!("article {:?}: {:?}", article.title, errors.0).into());
    };
    let body_html = markdown::to_safe_html(&body)
        .ok_or_else(|| format!("article {:?} renders to too much HTML", article.title))?;
    let new = NewArticle {
        title: &title,
        description: &description,
        body: &body,
        body_html: &body_html,
        tags: tags.as_slice(),
    };
    Ok(articles::create(conn, author, &new)?)
}
