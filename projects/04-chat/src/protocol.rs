//! The WebSocket protocol: JSON text frames, one object each, told apart by `type`. The same
//! shapes are published as JSON Schema at `/protocol.json` (`static/protocol.json`), which a
//! test checks against these types.

use serde::{Deserialize, Serialize};

use crate::db::messages::StoredMessage;

/// What a client may send.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase", deny_unknown_fields)]
pub enum ClientFrame {
    Join {
        room: String,
        #[serde(rename = "lastSeq")]
        last_seq: Option<i64>,
    },
    Leave {
        room: String,
    },
    Send {
        room: String,
        text: String,
        #[serde(rename = "clientId")]
        client_id: Option<String>,
    },
    Edit {
        room: String,
        seq: i64,
        text: String,
    },
    Delete {
        room: String,
        seq: i64,
    },
    Typing {
        room: String,
    },
    Read {
        room: String,
        seq: i64,
    },
}

/// Only the `clientId` of a frame that did not parse, to echo it in the error.
#[derive(Deserialize)]
pub struct ClientIdOnly {
    #[serde(rename = "clientId")]
    pub client_id: Option<String>,
}

/// A message as frames and history show it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageView<'a> {
    pub room: &'a str,
    pub seq: i64,
    pub from: &'a str,
    pub user_id: &'a str,
    pub text: &'a str,
    pub sent_at: String,
    pub client_id: Option<&'a str>,
    pub edited_at: Option<String>,
    pub deleted: bool,
}

impl<'a> MessageView<'a> {
    pub fn new(room: &'a str, m: &'a StoredMessage) -> Self {
        Self {
            room,
            seq: m.seq,
            from: &m.name,
            user_id: &m.user_key,
            text: &m.text,
            sent_at: backend_kit::time::format(&m.sent_at),
            client_id: m.client_id.as_deref(),
            edited_at: m.edited_at.as_ref().map(backend_kit::time::format),
            deleted: m.deleted_at.is_some(),
        }
    }
}

/// The error codes of `{"type":"error"}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// Not JSON, an unknown `type`, a missing or malformed field. The connection stays open.
    BadFrame,
    /// A frame about a room this connection has not joined.
    NotJoined,
    UnknownRoom,
    /// `text` over 4 000 characters.
    TooLong,
    /// Over 20 sends in 10 s; the message was not stored.
    RateLimited,
    /// Editing or deleting someone else's message.
    Forbidden,
}

/// What the server sends.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum ServerFrame<'a> {
    Joined {
        room: &'a str,
        #[serde(rename = "lastSeq")]
        last_seq: i64,
        online: Vec<String>,
    },
    Gap {
        room: &'a str,
        from: i64,
        to: i64,
    },
    Left {
        room: &'a str,
    },
    Ack {
        #[serde(rename = "clientId")]
        client_id: Option<&'a str>,
        seq: i64,
    },
    Message(MessageView<'a>),
    Edited(MessageView<'a>),
    Deleted {
        room: &'a str,
        seq: i64,
    },
    Typing {
        room: &'a str,
        name: &'a str,
        #[serde(rename = "userId")]
        user_id: &'a str,
    },
    Read {
        room: &'a str,
        name: &'a str,
        #[serde(rename = "userId")]
        user_id: &'a str,
        seq: i64,
    },
    Presence {
        room: &'a str,
        name: &'a str,
        #[serde(rename = "userId")]
        user_id: &'a str,
        status: Status,
    },
    Error {
        code: ErrorCode,
        message: &'a str,
        #[serde(rename = "clientId", skip_serializing_if = "Option::is_none")]
        client_id: Option<&'a str>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Online,
    Offline,
}

impl ServerFrame<'_> {
    /// The frame as the text that goes on the wire: serialized once, then shared by every
    /// member it goes to.
    pub fn encode(&self) -> bytestring::ByteString {
        serde_json::to_string(self)
            .expect("frames always serialize")
            .into()
    }
}

/// The JSON Schema of every frame, served at `/protocol.json`.
pub const SCHEMA: &str = include_str!("../static/protocol.json");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_look_like_the_protocol() {
        let ack = ServerFrame::Ack {
            client_id: Some("c1"),
            seq: 7,
        };
        assert_eq!(ack.encode(), r#"{"type":"ack","clientId":"c1","seq":7}"#);
        let error = ServerFrame::Error {
            code: ErrorCode::BadFrame,
            message: "not JSON",
            client_id: None,
        };
        assert_eq!(
            error.encode(),
            r#"{"type":"error","code":"bad_frame","message":"not JSON"}"#
        );
    }

    #[test]
    fn client_frames_parse() {
        let join: ClientFrame =
            serde_json::from_str(r#"{"type":"join","room":"general","lastSeq":3}"#).unwrap();
        assert!(matches!(
            join,
            ClientFrame::Join {
                last_seq: Some(3),
                ..
            }
        ));
        assert!(serde_json::from_str::<ClientFrame>(r#"{"type":"dance"}"#).is_err());
        assert!(serde_json::from_str::<ClientFrame>(r#"{"type":"leave"}"#).is_err());
    }

    #[test]
    fn the_schema_is_json_and_names_every_type() {
        let schema: serde_json::Value = serde_json::from_str(SCHEMA).unwrap();
        let text = schema.to_string();
        for t in [
            "join", "leave", "send", "edit", "delete", "typing", "read", "joined", "gap", "left",
            "ack", "message", "edited", "deleted", "presence", "error",
        ] {
            assert!(text.contains(&format!("\"const\":\"{t}\"")), "{t}");
        }
    }
}
