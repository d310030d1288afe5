//! `url-shortener seed`: a demo account with links that have a month of visits behind them
//! (by day, referrer and browser), so a freshly deployed shortener has stats to show. Written
//! through the same parsers and queries as the API and the visit recorder, in one
//! transaction, into a database where this capstone has nothing yet (`backend_kit::cli::seed`).

use std::collections::BTreeMap;

use backend_kit::auth::{EmailAddress, insert_user};
use backend_kit::cli::BoxError;
use backend_kit::db::Database;
use chrono::Duration;
use diesel::prelude::*;

use crate::Config;
use crate::db::links::{self, NewLink, NewVisit};
use crate::domain::{CustomCode, TargetPolicy, TargetUrl};

/// An address of this capstone's own: the four may share one database (and its accounts).
pub const DEMO_EMAIL: &str = "demo@links.example.com";

/// Custom code, target, how popular (visits on a busy day).
const LINKS: &[(&str, &str, i64)] = &[
    ("roadmap", "https://roadmap.sh/backend", 40),
    ("rust-book", "https://doc.rust-lang.org/book/", 25),
    ("actix", "https://actix.rs/docs/", 12),
    ("diesel", "https://diesel.rs/guides/getting-started", 9),
    (
        "http-status",
        "https://developer.mozilla.org/en-US/docs/Web/HTTP/Status",
        18,
    ),
    ("owasp-top10", "https://owasp.org/www-project-top-ten/", 6),
    (
        "redis-caching",
        "https://redis.io/docs/latest/develop/use/patterns/",
        4,
    ),
    ("twelve-factor", "https://12factor.net/", 3),
];

/// The demo links' codes, for the command to print (there is no "list my links" endpoint).
pub fn codes() -> Vec<&'static str> {
    LINKS.iter().map(|&(code, _, _)| code).collect()
}

/// Where visitors came from (`None`: typed or bookmarked) and with what.
const REFERRERS: &[Option<&str>] = &[
    None,
    Some("news.ycombinator.com"),
    Some("github.com"),
    Some("www.reddit.com"),
    Some("www.linkedin.com"),
];
const BROWSERS: &[&str] = &["Chrome", "Firefox", "Safari", "Edge"];
/// Days of history; older days are rolled up into daily counts by the cron job, as real ones.
const DAYS: i64 = 30;

/// What `seed` made, for the command to print.
pub struct Seeded {
    pub email: &'static str,
    pub password: String,
    pub links: usize,
    pub visits: i64,
}

pub async fn seed(
    config: &Config,
    db: &Database,
    password: Option<String>,
) -> Result<Seeded, BoxError> {
    let policy = TargetPolicy::new(&config.public_url, config.allow_private_targets);
    let code_length = config.code_length;
    let (visits, password) = backend_kit::cli::seed(
        &config.settings,
        db,
        password,
        vec![DEMO_EMAIL],
        |conn| crate::db::schema::links::table.count().get_result(conn),
        move |conn, hash| {
            let email = EmailAddress::parse(DEMO_EMAIL)?;
            let user = insert_user(conn, "Demo", &email, hash)?;
            let mut visits = Vec::new();
            let mut counts = BTreeMap::new();
            for (index, &(code, url, busiest)) in LINKS.iter().enumerate() {
                let new = NewLink {
                    url: TargetUrl::parse(url, &policy)?.into_inner(),
                    user_id: Some(user.id),
                    redirect_type: None,
                    expires_at: None,
                    max_visits: None,
                    password_hash: None,
                    manage_token_hash: None,
                };
                let custom = CustomCode::parse(code)?;
                let link = links::insert_with_code(conn, &new, Some(&custom), code_length, true)?;
                let made = month_of_visits(link.id, index, busiest);
                counts.insert(link.id, made.iter().map(|v| v.hits).sum::<i64>());
                visits.extend(made);
            }
            // The visit recorder's own write: access counts, raw visits and tallies.
            links::record_visits(conn, &visits, &counts)?;
            // The links were made before their first visit, a month and a day ago.
            let made = backend_kit::time::now() - Duration::days(DAYS + 1);
            let demo_links = crate::db::schema::links::user_id.eq(user.id);
            diesel::update(crate::db::schema::links::table.filter(demo_links))
                .set((
                    crate::db::schema::links::created_at.eq(made),
                    crate::db::schema::links::updated_at.eq(made),
                ))
                .execute(conn)?;
            Ok(counts.values().sum::<i64>())
        },
    )
    .await?;
    Ok(Seeded {
        email: DEMO_EMAIL,
        password,
        links: LINKS.len(),
        visits,
    })
}

/// A month of a link's visits: a deterministic wave (weekdays busier, the link's busiest day
/// a week ago), spread over referrers and browsers, one row per hour that saw visits.
fn month_of_visits(link_id: i64, index: usize, busiest: i64) -> Vec<NewVisit> {
    let now = backend_kit::time::now();
    let mut visits = Vec::new();
    for day in 0..DAYS {
        let weekday_boost = if (day + index as i64) % 7 < 5 { 2 } else { 1 };
        let distance = (day - 7).abs().max(1);
        let hits_today = (busiest * weekday_boost / distance).max(1);
        for n in 0..hits_today.min(6) {
            let pick = (day as usize) * 3 + (n as usize) + index;
            visits.push(NewVisit {
                link_id,
                visited_at: now - Duration::days(day) - Duration::hours(n + 1),
                referrer_host: REFERRERS[pick % REFERRERS.len()].map(str::to_string),
                browser: BROWSERS[(pick / 2) % BROWSERS.len()].to_string(),
                is_bot: false,
                // Up to six rows a day carry the day's hits between them.
                hits: hits_today / hits_today.min(6)
                    + i64::from(n < hits_today % hits_today.min(6)),
            });
        }
    }
    visits
}
