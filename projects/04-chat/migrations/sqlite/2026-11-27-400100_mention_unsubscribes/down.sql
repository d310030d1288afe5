DROP TABLE mention_unsubscribes;
