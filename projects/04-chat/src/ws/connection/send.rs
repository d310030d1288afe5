//! `send`: a message to a room, acknowledged once stored, never stored twice for one `clientId`.

use super::*;

impl Conn {
    pub(super) async fn send(
        &mut self,
        raw: &str,
        text: String,
        client_id: Option<String>,
    ) -> Result<(), Stop> {
        let cid = client_id.as_deref();
        if !self.spend_send(cid).await? {
            return Ok(());
        }
        let Some(room) = self.joined_room(raw, cid).await? else {
            return Ok(());
        };
        let client_id = match client_id.clone().map(ClientId::parse).transpose() {
            Ok(id) => id,
            Err(rule) => return self.reply_error(ErrorCode::BadFrame, rule, cid).await,
        };
        let text = match MessageText::parse(text) {
            Ok(text) => text,
            Err(TextError::TooLong) => {
                return self
                    .reply_error(ErrorCode::TooLong, "text is over 4000 characters", cid)
                    .await;
            }
            Err(TextError::Empty) => {
                return self
                    .reply_error(ErrorCode::BadFrame, "text is empty", cid)
                    .await;
            }
            Err(TextError::Nul) => {
                return self
                    .reply_error(ErrorCode::BadFrame, "text contains U+0000", cid)
                    .await;
            }
        };
        let (who, name) = (self.who.clone(), room.clone());
        let appended = self
            .realtime
            .db
            .run(move |conn| {
                let sender = Sender {
                    key: &who.key,
                    name: &who.name,
                };
                messages::append(conn, &name, &sender, &text, client_id.as_ref())
                    .map_err(DbError::from)
            })
            .await?;
        match appended {
            Appended::UnknownRoom => {
                let message = format!("no room {raw:?}");
                self.reply_error(ErrorCode::UnknownRoom, &message, cid)
                    .await
            }
            Appended::Repeat(first) => {
                self.write(&ServerFrame::Ack {
                    client_id: cid,
                    seq: first.seq,
                })
                .await?;
                Ok(())
            }
            Appended::New { room_id, message } => {
                // Published before the ack is written: a sender that vanished now must not
                // leave a stored message nobody was sent.
                let frame = ServerFrame::Message(MessageView::new(room.as_str(), &message));
                let event = Event::new(room.as_str(), Order::Seq(message.seq), &frame, None);
                self.realtime.fanout.publish(event).await;
                self.realtime.mentions.noticed(room_id, &message).await;
                self.write(&ServerFrame::Ack {
                    client_id: cid,
                    seq: message.seq,
                })
                .await
            }
        }
    }

    /// Spends one send (messages, edits and deletions share the budget: each goes to every
    /// member); `false` when refused, after the error is sent.
    pub(super) async fn spend_send(&mut self, client_id: Option<&str>) -> Result<bool, Stop> {
        match self.sends.take() {
            Verdict::Allowed => Ok(true),
            Verdict::Refused => {
                let message = format!(
                    "over {} messages, edits and deletions in 10 seconds: not done",
                    self.realtime.settings.sends_per_window
                );
                self.reply_error(ErrorCode::RateLimited, &message, client_id)
                    .await?;
                Ok(false)
            }
            Verdict::Abuse => Err(Stop::Close(close(CloseCode::Policy, "rate limits ignored"))),
        }
    }
}
