//! A todo's title and description. Text is kept byte-for-byte as sent (no trimming, no
//! escaping): escaping is the job of whoever renders it, and SQL injection is impossible
//! because every query binds its parameters.

use super::reject_nul;

pub const TITLE_MAX_CHARS: usize = 200;
pub const DESCRIPTION_MAX_CHARS: usize = 10_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Title(String);

impl Title {
    pub fn parse(raw: String) -> Result<Self, &'static str> {
        // Invisible characters alone (U+200B, U+FEFF, …) make a title that looks empty.
        if backend_kit::validation::is_blank(&raw) {
            return Err("must not be empty");
        }
        if raw.chars().count() > TITLE_MAX_CHARS {
            return Err("must be at most 200 characters");
        }
        reject_nul(&raw)?;
        Ok(Self(raw))
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// Optional free text; the empty string is allowed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Description(String);

impl Description {
    pub fn parse(raw: String) -> Result<Self, &'static str> {
        if raw.chars().count() > DESCRIPTION_MAX_CHARS {
            return Err("must be at most 10000 characters");
        }
        reject_nul(&raw)?;
        Ok(Self(raw))
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn title_limits_count_characters_not_bytes() {
        assert!(Title::parse("é".repeat(200)).is_ok());
        assert!(Title::parse("é".repeat(201)).is_err());
        assert!(Title::parse("a".into()).is_ok());
    }

    #[test]
    fn blank_titles_are_refused() {
        for blank in ["", " ", "\t\n"] {
            assert_eq!(Title::parse(blank.into()), Err("must not be empty"));
        }
    }

    #[test]
    fn invisible_only_titles_are_empty() {
        for blank in ["\u{200b}", "\u{feff}", " \u{00ad} "] {
            assert_eq!(
                Title::parse(blank.into()),
                Err("must not be empty"),
                "{blank:?}"
            );
        }
    }

    #[test]
    fn nul_is_refused_everywhere() {
        assert!(Title::parse("a\0b".into()).is_err());
        assert!(Description::parse("a\0b".into()).is_err());
    }

    #[test]
    fn description_may_be_empty_up_to_the_limit() {
        assert!(Description::parse(String::new()).is_ok());
        assert!(Description::parse("x".repeat(10_000)).is_ok());
        assert!(Description::parse("x".repeat(10_001)).is_err());
    }

    proptest! {
        #[test]
        fn valid_titles_are_kept_exactly(raw in "[^\u{0}]{1,200}") {
            // Blank as the rule means it: white space and invisible characters (U+FE00…).
            prop_assume!(!backend_kit::validation::is_blank(&raw));
            prop_assert_eq!(Title::parse(raw.clone()).map(Title::into_inner), Ok(raw));
        }

        #[test]
        fn parse_never_panics(raw in any::<String>()) {
            let _ = Title::parse(raw.clone());
            let _ = Description::parse(raw);
        }
    }
}
