DROP TABLE mention_unsubscribes;
DROP TABLE mention_digests;
DROP TABLE pending_mentions;
DROP TABLE read_positions;
DROP TABLE ws_tickets;
DROP TABLE messages;
DROP TABLE rooms;
