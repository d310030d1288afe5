//! `typing`: a hint to the room's other members, never stored.

use super::*;

impl Conn {
    pub(super) async fn typing(&mut self, raw: &str) -> Result<(), Stop> {
        let Some(room) = self.joined_room(raw, None).await? else {
            return Ok(());
        };
        if !self
            .realtime
            .fanout
            .may_type(room.as_str(), &self.who.key)
            .await
        {
            return Ok(());
        }
        let frame = ServerFrame::Typing {
            room: room.as_str(),
            name: &self.who.name,
            user_id: self.who.key.as_str(),
        };
        let event = Event::new(room.as_str(), Order::Now, &frame, Some(&self.who.key)).ephemeral();
        self.realtime.fanout.publish(event).await;
        Ok(())
    }
}
