//! # chat — capstone 4: real-time communication
//!
//! A tour, in the order a message travels:
//!
//! - [`ws`] — `GET /ws`: the checks before the upgrade (origin, ticket or guest), then
//!   [`ws::connection`]: one task per socket that reads frames, writes the queue, pings.
//! - [`protocol`] — the frames, as Rust types (and as JSON Schema at `/protocol.json`).
//! - [`db`] — SQL: [`db::messages::append`] numbers a room's messages in the database.
//! - [`fanout`] — the stored message goes to every instance (Redis pub/sub) or straight to…
//! - [`hub`] — …this instance's members: in `seq` order, serialized once, each through a
//!   bounded queue (slow readers are closed, not waited for).
//! - [`mentions`] — `@name` for someone offline becomes an e-mail digest.
//! - [`routes`] — HTTP: tickets, rooms, history, the web client. Accounts are the kit's.
//! - [`client`] — `chat connect` (a terminal client) and `chat load` (the benchmark).
//! - [`seed`] — `chat seed`: accounts, rooms and a conversation for a new database.
//! - [`domain`] — names, texts and ids that can only hold valid values.

pub mod client;
pub mod config;
pub mod db;
pub mod domain;
pub mod error;
pub mod fanout;
pub mod hub;
pub mod mentions;
pub mod openapi;
pub mod protocol;
pub mod routes;
pub mod seed;
pub mod startup;
pub mod ws;

pub use config::Config;
pub use startup::Application;
