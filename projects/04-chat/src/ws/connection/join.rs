//! `join`: enter a room (made if new), with a replay of what was missed since `lastSeq`.

use super::*;

impl Conn {
    pub(super) async fn join(&mut self, raw: &str, last_seq: Option<i64>) -> Result<(), Stop> {
        let Ok(room) = RoomName::parse(raw) else {
            let message = format!("no room {raw:?}");
            return self
                .reply_error(ErrorCode::UnknownRoom, &message, None)
                .await;
        };
        if self.rooms.contains(raw) {
            let message = format!("already in room {raw:?}");
            return self.reply_error(ErrorCode::BadFrame, &message, None).await;
        }
        if self.rooms.len() >= MAX_ROOMS {
            let message = format!("a connection can be in at most {MAX_ROOMS} rooms");
            return self.reply_error(ErrorCode::BadFrame, &message, None).await;
        }
        if last_seq.is_some_and(|s| s < 0) {
            return self
                .reply_error(ErrorCode::BadFrame, "lastSeq must be 0 or more", None)
                .await;
        }
        match self.joins.take() {
            Verdict::Allowed => {}
            Verdict::Refused => {
                let message = format!("over {JOINS_PER_MINUTE} joins in a minute: not joined");
                return self
                    .reply_error(ErrorCode::RateLimited, &message, None)
                    .await;
            }
            Verdict::Abuse => {
                return Err(Stop::Close(close(CloseCode::Policy, "rate limits ignored")));
            }
        }
        let name = room.clone();
        let replay = self
            .realtime
            .db
            .run(move |conn| messages::replay(conn, &name, last_seq).map_err(DbError::from))
            .await?;
        let Some(replay) = replay else {
            let message = format!("no room {raw:?}");
            return self
                .reply_error(ErrorCode::UnknownRoom, &message, None)
                .await;
        };
        let fanout = self.realtime.fanout.clone();
        let presence = fanout.presence_lock(room.as_str(), &self.who.key).await;
        let joined = fanout
            .hub()
            .join(room.as_str(), self.id, &self.who.name, replay.last_seq);
        self.rooms.insert(room.to_string());
        if joined.first_here
            && fanout
                .joined(room.as_str(), &self.who.key, &self.who.name)
                .await
        {
            fanout
                .announce(room.as_str(), &self.who.key, &self.who.name, Status::Online)
                .await;
        }
        drop(presence);
        let result = self.finish_join(&room, replay, joined).await;
        if let Err(Stop::Failed(_)) = &result {
            // Not in the room after all: the client may simply join again.
            self.rooms.remove(room.as_str());
            self.leave_room(room.as_str()).await;
        }
        result
    }

    /// The rest of a join, once the connection is a member and presence is told: `joined`,
    /// the replay and anything delivered in between, written straight to the socket (live
    /// traffic waits in the queue behind them).
    pub(super) async fn finish_join(
        &mut self,
        room: &RoomName,
        replay: messages::Replay,
        joined: hub::Joined,
    ) -> Result<(), Stop> {
        let hub = self.realtime.fanout.hub().clone();
        // Messages the room delivered before this member was in it, after the replay's read.
        let missed = match joined.missed {
            Some((after, up_to)) => {
                let name = room.to_string();
                self.realtime
                    .db
                    .run(move |conn| {
                        messages::between(conn, &name, after, up_to + 1).map_err(DbError::from)
                    })
                    .await?
            }
            None => Vec::new(),
        };
        let online = self.realtime.fanout.online(room.as_str()).await;
        let last_seq = joined.missed.map_or(replay.last_seq, |(_, up_to)| up_to);
        let room_str = room.as_str();
        self.write(&ServerFrame::Joined {
            room: room_str,
            last_seq,
            online,
        })
        .await?;
        // The newest messages that fit this connection's replay budget; older ones join the gap.
        let frames: Vec<(i64, bytestring::ByteString)> = replay
            .messages
            .iter()
            .chain(&missed)
            .map(|m| {
                (
                    m.seq,
                    ServerFrame::Message(MessageView::new(room_str, m)).encode(),
                )
            })
            .collect();
        let mut available = self.replayed.available();
        let mut first_sent = frames.len();
        while first_sent > 0 && frames[first_sent - 1].1.len() <= available {
            first_sent -= 1;
            available -= frames[first_sent].1.len();
        }
        let gap = match (replay.gap, frames[..first_sent].last()) {
            (gap, None) => gap,
            (Some((from, _)), Some(&(to, _))) => Some((from, to)),
            (None, Some(&(to, _))) => Some((frames[0].0, to)),
        };
        if let Some((from, to)) = gap {
            self.write(&ServerFrame::Gap {
                room: room_str,
                from,
                to,
            })
            .await?;
        }
        for (_, frame) in frames.into_iter().skip(first_sent) {
            self.replayed.spend(frame.len());
            self.write_text(frame).await?;
        }
        if joined.new_room {
            // Messages published between the replay's read and this room's sequencer
            // starting here reached nobody: read them now.
            let (hub, name) = (hub, room.to_string());
            tokio::spawn(async move { hub.fill(name).await });
        }
        Ok(())
    }
}
