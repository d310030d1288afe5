//! `chat seed`: four accounts, three rooms and a conversation in them, so a freshly deployed
//! chat has something to show. Written through the same functions as the API
//! (`insert_user`, [`rooms::create`], [`messages::append`]), in one transaction (`append`'s
//! own becomes a savepoint in it), into a database where the chat has nothing yet
//! (`backend_kit::cli::seed`).

use backend_kit::auth::{EmailAddress, Name, insert_user};
use backend_kit::cli::BoxError;
use backend_kit::config::Settings;
use backend_kit::db::{AnyConnection, Database};
use diesel::prelude::*;

use crate::db::messages::{self, Appended, Sender};
use crate::db::rooms;
use crate::domain::{MessageText, RoomName, UserKey};

pub const DEMO_EMAIL: &str = "ada@chat.example.com";

/// Name and e-mail address; all get the one demo password. `@name` in a message is the name
/// lower-cased.
const USERS: &[(&str, &str)] = &[
    ("Ada", DEMO_EMAIL),
    ("Grace", "grace@chat.example.com"),
    ("Linus", "linus@chat.example.com"),
    ("Margaret", "margaret@chat.example.com"),
];

/// Room, who created it, and its conversation. `general` comes with the migration, so it is
/// there already. (Rooms have no members list: whoever joins is in; the members are who
/// speaks.)
const ROOMS: &[(&str, &str, &str)] = &[
    ("general", "Ada", GENERAL),
    ("rust", "Linus", RUST),
    ("deploys", "Margaret", DEPLOYS),
];

// One message a line, `Name: text`, oldest first; the name is one of `USERS`. They all get
// the time of the seed: `append` takes the clock, as it does for a live message.

const GENERAL: &str = "\
Ada: Morning all! Coffee's on, stand-up in ten.
Grace: Morning. I'm still chasing that flaky test from yesterday.
Linus: The one in the billing suite? It fails when two tests share a database.
Grace: That's it. Each test gets its own database now, and it passed 200 runs in a row.
Margaret: Nice. Can we make that a rule in the README, so nobody shares one again?
Grace: Writing it up now.
Ada: @linus are you free after lunch to review the pagination PR?
Linus: Sure, 2pm. Keyset or offset?
Ada: Keyset: the rooms list got slow past page 50 with OFFSET.
Linus: Good. Put the next page in a Link header and clients never build URLs.
Margaret: Reminder: the release freeze starts Thursday, so merge by Wednesday evening.
Grace: @margaret does that include docs-only changes?
Margaret: Docs can go in any time.
Ada: Lunch? The ramen place is open again.
";

const RUST: &str = "\
Linus: Anyone else hit \"borrowed value does not live long enough\" with spawn_blocking?
Ada: Every time. The closure must be 'static: move owned values in, clone first what you need after.
Linus: Cloning the String did it. Is that a smell?
Grace: Not for one request's worth of data. Clone first, measure later.
Ada: And diesel blocks, so every query goes through spawn_blocking or the executor stalls.
Linus: That explains the latency spikes under load last week.
Grace: Has anyone moved to thiserror 2 yet?
Ada: We did. A version bump and nothing else, the error enums compiled as they were.
Linus: Clippy wants a let-else instead of my match. Worth it?
Grace: Yes: let-else reads better when the other arm only returns.
Ada: @grace how do you test the WebSocket code, real sockets or mocks?
Grace: A real server on port 0, a tungstenite client, and a timeout on every receive.
Linus: So a missing frame fails the test instead of hanging it. Stealing that.
Ada: proptest found two bugs in the room-name parser today. Worth every minute.
";

const DEPLOYS: &str = "\
Margaret: Deploying v1.4.0 to staging now.
Margaret: Migrations ran in 3 s; the new index on messages is in.
Linus: Health check is green. Production next?
Margaret: After the smoke tests. @grace can you run the load test against staging first?
Grace: On it: 2000 connections, 50 messages a second.
Grace: p99 fan-out latency 38 ms, no dropped connections. Looks good.
Margaret: Production rollout started, one instance at a time.
Ada: Error rate is flat, and Redis pub/sub reconnected cleanly on each instance.
Linus: My WebSocket dropped during a restart, and the client resumed from its last seq.
Margaret: That's the replay doing its job. v1.4.0 is live everywhere.
Ada: Thanks @margaret! Writing the release notes.
Grace: I'll keep an eye on the dashboards until the evening.
";

/// What `seed` made, for the command to print.
pub struct Seeded {
    pub email: &'static str,
    pub password: String,
    pub users: usize,
    pub rooms: usize,
    pub messages: usize,
}

pub async fn seed(
    settings: &Settings,
    db: &Database,
    password: Option<String>,
) -> Result<Seeded, BoxError> {
    // Parsed through the domain types, as the API parses requests and frames; a typo in the
    // arrays above fails here, before anything is written.
    let accounts = USERS
        .iter()
        .map(|&(name, email)| -> Result<_, BoxError> {
            Ok((Name::parse(name)?.into_inner(), EmailAddress::parse(email)?))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let new_rooms = ROOMS
        .iter()
        .map(|&(room, creator, _)| -> Result<_, BoxError> {
            Ok((RoomName::parse(room)?, user_index(creator)?))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut history = Vec::new();
    for (&(_, _, conversation), (room, _)) in ROOMS.iter().zip(&new_rooms) {
        for line in conversation.lines() {
            let (from, text) = line
                .split_once(": ")
                .ok_or_else(|| format!("the seed line {line:?} is not `Name: text`"))?;
            let text = MessageText::parse(text.to_string())
                .map_err(|e| format!("the seed line {line:?} is refused: {e:?}"))?;
            history.push((room.clone(), user_index(from)?, text));
        }
    }
    let message_count = history.len();
    let ((), password) = backend_kit::cli::seed(
        settings,
        db,
        password,
        USERS.iter().map(|&(_, email)| email).collect(),
        // Messages, guests' too (rooms alone say nothing: `general` comes with the schema).
        |conn| crate::db::schema::messages::table.count().get_result(conn),
        move |conn, hash| {
            let mut users = Vec::with_capacity(accounts.len());
            for (name, email) in &accounts {
                let user = insert_user(conn, name, email, hash)?;
                users.push((user.name, user.id));
            }
            for (room, creator) in &new_rooms {
                // `false`: there already (`general`), which is as good.
                rooms::create(conn, room, users[*creator].1)?;
            }
            // Stored, not published: nobody is connected to a new database. Mentions are not
            // queued for the e-mail digest either (the live path's `Mentions::noticed`): a seed
            // must not mail anyone.
            for (room, from, text) in &history {
                let (name, id) = &users[*from];
                let key = UserKey::account(*id);
                let sender = Sender {
                    key: &key,
                    name: name.as_str(),
                };
                let appended = messages::append(conn, room, &sender, text, None)?;
                if matches!(appended, Appended::UnknownRoom) {
                    return Err(format!("the room {room} is gone").into());
                }
            }
            // The demo accounts get no mention digests: their addresses are made up, and a
            // visitor's `@ada` must not send mail.
            for (_, id) in &users {
                crate::db::mentions::unsubscribe(conn, *id)?;
            }
            backdate(conn)?;
            Ok(())
        },
    )
    .await?;
    Ok(Seeded {
        email: DEMO_EMAIL,
        password,
        users: USERS.len(),
        rooms: ROOMS.len(),
        messages: message_count,
    })
}

/// The conversation took the last hours, a message every few minutes, instead of the same
/// millisecond. Only the seed's messages exist yet.
fn backdate(conn: &mut AnyConnection) -> Result<(), BoxError> {
    use crate::db::schema::messages as m;
    let now = backend_kit::time::now();
    let keys: Vec<(i64, i64)> = m::table
        .order((m::room_id, m::seq))
        .select((m::room_id, m::seq))
        .load(conn)?;
    let count = keys.len() as i64;
    for (index, (room, seq)) in keys.into_iter().enumerate() {
        let sent = now - chrono::Duration::minutes(4 * (count - index as i64));
        diesel::update(m::table.find((room, seq)))
            .set(m::sent_at.eq(sent))
            .execute(conn)?;
    }
    Ok(())
}

/// Where `name` is in `USERS` (and so in the accounts made from it).
fn user_index(name: &str) -> Result<usize, BoxError> {
    USERS
        .iter()
        .position(|&(user, _)| user == name)
        .ok_or_else(|| BoxError::from(format!("the seed names {name}, who is not in USERS")))
}
