//! `edit` and `delete` of one's own message.

use super::*;

impl Conn {
    pub(super) async fn change(
        &mut self,
        raw: &str,
        seq: i64,
        text: Option<String>,
    ) -> Result<(), Stop> {
        if !self.spend_send(None).await? {
            return Ok(());
        }
        let Some(room) = self.joined_room(raw, None).await? else {
            return Ok(());
        };
        let text = match text.map(MessageText::parse).transpose() {
            Ok(text) => text,
            Err(TextError::TooLong) => {
                return self
                    .reply_error(ErrorCode::TooLong, "text is over 4000 characters", None)
                    .await;
            }
            Err(_) => {
                return self
                    .reply_error(
                        ErrorCode::BadFrame,
                        "text is empty or contains U+0000",
                        None,
                    )
                    .await;
            }
        };
        let (key, name) = (self.who.key.clone(), room.clone());
        let deleting = text.is_none();
        let changed = self
            .realtime
            .db
            .run(move |conn| {
                messages::change(conn, &name, seq, &key, text.as_ref()).map_err(DbError::from)
            })
            .await?;
        let message = match changed {
            Change::Done(message) => message,
            Change::NotYours => {
                return self
                    .reply_error(
                        ErrorCode::Forbidden,
                        "you can only change your own messages",
                        None,
                    )
                    .await;
            }
            Change::NoSuchMessage => {
                let message = format!("no message {seq} in {raw} (or it was deleted)");
                return self.reply_error(ErrorCode::BadFrame, &message, None).await;
            }
            Change::UnknownRoom => {
                let message = format!("no room {raw:?}");
                return self
                    .reply_error(ErrorCode::UnknownRoom, &message, None)
                    .await;
            }
        };
        let frame = if deleting {
            ServerFrame::Deleted {
                room: room.as_str(),
                seq,
            }
        } else {
            ServerFrame::Edited(MessageView::new(room.as_str(), &message))
        };
        let event = Event::new(room.as_str(), Order::After(seq), &frame, None);
        self.realtime.fanout.publish(event).await;
        Ok(())
    }
}
