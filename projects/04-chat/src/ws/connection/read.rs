//! `read`: how far the client has read a room (for unread counts and mentions).

use super::*;

impl Conn {
    pub(super) async fn read(&mut self, raw: &str, seq: i64) -> Result<(), Stop> {
        let Some(room) = self.joined_room(raw, None).await? else {
            return Ok(());
        };
        let (key, name) = (self.who.key.clone(), room.clone());
        let stored = self
            .realtime
            .db
            .run(move |conn| messages::mark_read(conn, &name, &key, seq).map_err(DbError::from))
            .await?;
        if !stored {
            let message = format!("no message {seq} in {raw}");
            return self.reply_error(ErrorCode::BadFrame, &message, None).await;
        }
        // Stored every time; told to the room at most once a second per user (a receipt per
        // message per member would be members² frames).
        if !self
            .realtime
            .fanout
            .may_announce_read(room.as_str(), &self.who.key)
            .await
        {
            return Ok(());
        }
        let frame = ServerFrame::Read {
            room: room.as_str(),
            name: &self.who.name,
            user_id: self.who.key.as_str(),
            seq,
        };
        let event = Event::new(room.as_str(), Order::Now, &frame, None).ephemeral();
        self.realtime.fanout.publish(event).await;
        Ok(())
    }
}
