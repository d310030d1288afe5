//! URL slugs from titles. The `slug` crate transliterates Unicode (`Привет мир` →
//! `privet-mir`, `Ünïcödé` → `unicode`), lower-cases and joins words with `-`.
//!
//! Uniqueness is not checked here: the insert tries [`base`], and when the unique index
//! refuses it (an equal title, maybe posted at the same instant), retries with
//! [`with_suffix`]. A check-then-insert would let two equal titles race to the same slug.

use rand::Rng;

/// Long titles make long URLs; the slug keeps the first words.
const MAX_LEN: usize = 80;

/// Words a slug may not be, because `/api/articles/{word}` is (or may one day be) a route of
/// its own: an article titled "Feed" got the slug `feed`, and `GET /api/articles/feed` is the
/// feed. Such a title's slug gets `-article` added.
pub const RESERVED: &[&str] = &[
    "feed",
    "new",
    "edit",
    "drafts",
    "search",
    "popular",
    "trending",
    "tags",
    "comments",
    "favorites",
    "favorited",
    "following",
    "me",
    "latest",
    "top",
    "rss",
    "atom",
];

pub fn base(title: &str) -> String {
    let mut slug = slug::slugify(title);
    if slug.len() > MAX_LEN {
        let cut = slug[..MAX_LEN].rfind('-').unwrap_or(MAX_LEN);
        slug.truncate(cut);
    }
    if slug.is_empty() {
        // A title of punctuation only.
        slug.push_str("article");
    }
    if RESERVED.contains(&slug.as_str()) {
        slug.push_str("-article");
    }
    slug
}

/// `base` plus `-` and six random base-36 characters (2 billion possibilities).
pub fn with_suffix(base: &str) -> String {
    const ALPHABET: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut rng = rand::rng();
    let suffix: String = (0..6)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect();
    format!("{base}-{suffix}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_become_ascii_slugs() {
        assert_eq!(base("How to train your dragon"), "how-to-train-your-dragon");
        assert_eq!(base("Привет мир"), "privet-mir");
        assert_eq!(base("  Hello, World!! "), "hello-world");
        assert_eq!(base("🦀 rocks"), "crab-rocks");
        assert_eq!(base("!!! ???"), "article");
        assert_eq!(base("<script>alert(1)</script>"), "script-alert-1-script");
    }

    #[test]
    fn route_words_are_never_slugs() {
        assert_eq!(base("Feed"), "feed-article");
        assert_eq!(base("  FEED! "), "feed-article");
        assert_eq!(base("Feed me"), "feed-me");
        for word in RESERVED {
            assert_ne!(base(word), *word);
        }
    }

    #[test]
    fn long_titles_are_cut_at_a_word() {
        let slug = base(&"word ".repeat(100));
        assert!(slug.len() <= MAX_LEN && !slug.ends_with('-'), "{slug}");
    }

    #[test]
    fn suffixes_differ() {
        let (a, b) = (with_suffix("x"), with_suffix("x"));
        assert_ne!(a, b);
        assert!(a.starts_with("x-") && a.len() == 8);
    }
}
