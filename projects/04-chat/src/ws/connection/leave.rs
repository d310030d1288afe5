//! `leave`, and leaving every room when the connection ends.

use super::*;

impl Conn {
    pub(super) async fn leave(&mut self, raw: &str) -> Result<(), Stop> {
        let Some(room) = self.joined_room(raw, None).await? else {
            return Ok(());
        };
        self.rooms.remove(room.as_str());
        self.leave_room(room.as_str()).await;
        self.write(&ServerFrame::Left {
            room: room.as_str(),
        })
        .await?;
        Ok(())
    }

    /// Takes this connection out of `room`; if it was its user's last one here, presence is
    /// told (under the presence lock, like a join).
    pub(super) async fn leave_room(&self, room: &str) {
        let fanout = &self.realtime.fanout;
        let _presence = fanout.presence_lock(room, &self.who.key).await;
        if fanout.hub().leave(room, self.id) == Some(true)
            && fanout.left(room, &self.who.key, &self.who.name).await
        {
            fanout
                .announce(room, &self.who.key, &self.who.name, Status::Offline)
                .await;
        }
    }

    pub(super) async fn leave_all(&mut self) {
        for room in std::mem::take(&mut self.rooms) {
            self.leave_room(&room).await;
        }
        let fanout = self.realtime.fanout.clone();
        // In no room any more: this only forgets the connection.
        fanout.hub().disconnect(self.id);
        let still_here = fanout.hub().is_connected(&self.who.key);
        if !still_here {
            fanout.connection_changed(&self.who.key, false).await;
        }
    }
}
