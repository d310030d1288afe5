//! Mentions of users who are not connected become one e-mail digest per window.

use std::time::{Duration, Instant};

use crate::helpers::spawn_app_with;

#[actix_web::test]
async fn an_offline_user_mentioned_gets_a_digest_per_window_and_an_online_one_none() {
    let app = spawn_app_with(|c| c.mention_digest = Duration::from_secs(3)).await;
    let ann = app.new_user("Ann Lee").await;
    let bob = app.new_user("Bob").await;
    let mut b = app.connect(&bob).await;
    b.join("general").await;
    let mut guest = app.guest("zed").await;
    guest.join("general").await;
    guest.say("general", "hello @annlee and @Bob").await;

    let first = app.smtp.wait_for(&ann.email, "mentioned").await;
    assert_eq!(first.subject, "You were mentioned in the chat");
    assert!(
        first
            .text
            .contains("[#general] zed: hello @annlee and @Bob"),
        "{}",
        first.text
    );

    // Right after a digest, new mentions wait for the window and come together.
    for i in 1..=3 {
        guest.say("general", &format!("@AnnLee ping {i}")).await;
    }
    let deadline = Instant::now() + Duration::from_secs(15);
    while app.smtp.messages_to(&ann.email).len() < 2 {
        assert!(Instant::now() < deadline, "no second digest");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let mails = app.smtp.messages_to(&ann.email);
    assert_eq!(mails.len(), 2, "one digest per window");
    assert_eq!(mails[1].subject, "You were mentioned 3 times in the chat");
    for i in 1..=3 {
        assert!(
            mails[1].text.contains(&format!("ping {i}")),
            "{}",
            mails[1].text
        );
    }
    assert!(
        app.smtp.messages_to(&bob.email).is_empty(),
        "Bob was connected"
    );
}
