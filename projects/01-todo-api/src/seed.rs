//! `todo-api seed`: a demo account with a believable todo list, so a freshly deployed API has
//! something to show. Written through the same queries as the API, in one transaction, into
//! a database where this capstone has nothing yet (`backend_kit::cli::seed`).

use backend_kit::auth::{EmailAddress, insert_user};
use backend_kit::cli::BoxError;
use backend_kit::config::Settings;
use backend_kit::db::Database;
use diesel::prelude::*;

use crate::db::todos::{self, NewTodo, TodoChanges};
use crate::domain::{Description, Title};

/// An address of this capstone's own: the four may share one database (and its accounts).
pub const DEMO_EMAIL: &str = "demo@todo.example.com";

/// Title, description, done.
const TODOS: &[(&str, &str, bool)] = &[
    (
        "Read the HTTP chapter of the roadmap",
        "Methods, status codes, caching headers.",
        true,
    ),
    (
        "Sketch the todos table",
        "id, user_id, title, description, completed, timestamps.",
        true,
    ),
    (
        "Hash passwords with bcrypt",
        "Never store them; cost 12 in production.",
        true,
    ),
    (
        "Write the first integration test",
        "Start the server on a random port, talk HTTP.",
        true,
    ),
    (
        "Add pagination to GET /todos",
        "page and limit, with the total in the response.",
        true,
    ),
    (
        "Return 404 vs 403 correctly",
        "Someone else's todo is 403, a missing one 404.",
        false,
    ),
    (
        "Try the API with curl",
        "Register, log in, create, list, delete.",
        false,
    ),
    (
        "Run it on PostgreSQL",
        "DATABASE_URL=postgres://… and the same tests pass.",
        false,
    ),
    (
        "Put the rate limit behind Redis",
        "REDIS_URL, so two instances share one budget.",
        false,
    ),
    (
        "Build the Docker image",
        "docker build --build-arg PROJECT=todo-api .",
        false,
    ),
    (
        "Deploy it",
        "docs/deploy.md: Fly.io, Render, or one VPS with Caddy.",
        false,
    ),
    (
        "Start capstone 2: the URL shortener",
        "Caching, background jobs, redirects.",
        false,
    ),
];

/// What `seed` made, for the command to print.
pub struct Seeded {
    pub email: &'static str,
    pub password: String,
    pub todos: usize,
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
        vec![DEMO_EMAIL],
        |conn| crate::db::schema::todos::table.count().get_result(conn),
        |conn, hash| {
            let email = EmailAddress::parse(DEMO_EMAIL)?;
            let user = insert_user(conn, "Demo", &email, hash)?;
            for &(title, description, done) in TODOS {
                let todo = todos::insert(
                    conn,
                    NewTodo {
                        user_id: user.id,
                        title: Title::parse(title.into())?.into_inner(),
                        description: Description::parse(description.into())?.into_inner(),
                    },
                )?;
                if done {
                    let changes = TodoChanges {
                        completed: Some(true),
                        ..TodoChanges::default()
                    };
                    todos::update(conn, &todo, changes)?;
                }
            }
            Ok(())
        },
    )
    .await?;
    Ok(Seeded {
        email: DEMO_EMAIL,
        password,
        todos: TODOS.len(),
    })
}
