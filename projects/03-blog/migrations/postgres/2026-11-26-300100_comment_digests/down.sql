DROP TABLE digest_unsubscribes;
DROP TABLE comment_notifications;
