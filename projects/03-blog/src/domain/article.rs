//! An article's text, its tags, and a comment's body.

use backend_kit::validation::{FieldErrors, is_invisible};
use unicode_normalization::UnicodeNormalization;

use super::{markdown, text};

pub const TITLE_MAX: usize = 200;
pub const DESCRIPTION_MAX: usize = 500;
/// The JSON body of a request is capped at 64 KiB before this applies.
pub const BODY_MAX: usize = 50_000;
pub const COMMENT_MAX: usize = 5_000;
pub const TAGS_MAX: usize = 10;
pub const TAG_MAX: usize = 40;

/// Title, description and body of a new article, or the parts of one being changed.
#[derive(Debug, Default)]
pub struct ArticleText {
    pub title: Option<String>,
    pub description: Option<String>,
    pub body: Option<String>,
}

impl ArticleText {
    /// Parses whichever parts were sent, recording every problem under its field. The body is
    /// kept verbatim (Markdown is white-space sensitive); only its emptiness is judged trimmed.
    pub fn parse(
        title: Option<&str>,
        description: Option<&str>,
        body: Option<&str>,
        errors: &mut FieldErrors,
    ) -> Self {
        Self {
            title: title.and_then(|t| errors.check("title", text(t, TITLE_MAX))),
            description: description
                .and_then(|d| errors.check("description", text(d, DESCRIPTION_MAX))),
            body: body.and_then(|b| errors.check("body", parse_body(b))),
        }
    }
}

/// A body: not blank, at most [`BODY_MAX`] characters, nesting at most
/// [`markdown::MAX_NESTING`] deep; kept verbatim.
fn parse_body(body: &str) -> Result<String, String> {
    text(body, BODY_MAX)?;
    if markdown::nesting_depth(body) > markdown::MAX_NESTING {
        return Err(format!(
            "nests quotes or lists more than {} deep",
            markdown::MAX_NESTING
        ));
    }
    Ok(body.to_string())
}

/// Tags: trimmed, without duplicates, sorted (the order every answer shows them in).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TagList(Vec<String>);

impl TagList {
    pub fn parse(raw: &[String]) -> Result<Self, String> {
        let mut tags = Vec::with_capacity(raw.len());
        for tag in raw {
            // NFC: `é` typed as one character or as `e` + accent is one tag.
            let tag: String = text(tag, TAG_MAX)
                .map_err(|e| format!("each tag {e}"))?
                .nfc()
                .collect();
            if tag.contains(',') {
                return Err("a tag may not contain ','".into());
            }
            // Tags are shown in lists and URLs: nothing invisible or direction-changing.
            // U+2028/U+2029 break lines where a tag is shown whole.
            let line_break = |c: char| matches!(c, '\u{2028}' | '\u{2029}');
            if tag
                .chars()
                .any(|c| is_invisible(c) || c.is_control() || line_break(c))
            {
                return Err("a tag may not contain invisible or control characters".into());
            }
            tags.push(tag);
        }
        tags.sort();
        tags.dedup();
        if tags.len() > TAGS_MAX {
            return Err(format!("may hold at most {TAGS_MAX} tags"));
        }
        Ok(Self(tags))
    }

    pub fn as_slice(&self) -> &[String] {
        &self.0
    }
}

/// A comment: 1–5 000 characters, kept verbatim.
#[derive(Debug, Clone)]
pub struct CommentBody(String);

impl CommentBody {
    pub fn parse(raw: &str) -> Result<Self, String> {
        text(raw, COMMENT_MAX)?;
        Ok(Self(raw.to_string()))
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_hold_nothing_invisible_or_line_breaking() {
        for bad in [
            "a\u{2028}b",
            "a\u{2029}b",
            "\u{2800}",
            "x\u{2800}y",
            "\u{200b}z",
        ] {
            assert!(TagList::parse(&[bad.to_string()]).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn tags_are_trimmed_sorted_and_unique() {
        let raw = ["  rust", "actix", "rust", "actix "].map(String::from);
        assert_eq!(TagList::parse(&raw).unwrap().as_slice(), ["actix", "rust"]);
        assert!(TagList::parse(&[" ".to_string()]).is_err());
        assert!(TagList::parse(&["x".repeat(TAG_MAX + 1)]).is_err());
        let many: Vec<String> = (0..=TAGS_MAX).map(|i| format!("t{i}")).collect();
        assert!(TagList::parse(&many).is_err());
        for hidden in ["a\u{202e}b", "a\u{200d}b", "a\tb"] {
            assert!(TagList::parse(&[hidden.to_string()]).is_err(), "{hidden:?}");
        }
        let composed = TagList::parse(&["caf\u{e9}".into(), "cafe\u{301}".into()]).unwrap();
        assert_eq!(composed.as_slice(), ["caf\u{e9}"]);
    }

    #[test]
    fn deeply_nested_bodies_are_refused_before_rendering() {
        let mut errors = FieldErrors::default();
        ArticleText::parse(None, None, Some(&">".repeat(50_000)), &mut errors);
        assert!(errors.0.contains_key("body"));
        let mut errors = FieldErrors::default();
        let ok = "> ".repeat(markdown::MAX_NESTING) + "fine";
        ArticleText::parse(None, None, Some(&ok), &mut errors);
        assert!(errors.is_empty());
    }

    #[test]
    fn article_text_names_each_bad_field() {
        let mut errors = FieldErrors::default();
        let long = "x".repeat(TITLE_MAX + 1);
        ArticleText::parse(Some(&long), Some(" "), Some("fine"), &mut errors);
        assert!(errors.0.contains_key("title"));
        assert!(errors.0.contains_key("description"));
        assert!(!errors.0.contains_key("body"));
    }

    #[test]
    fn bodies_are_kept_verbatim() {
        let mut errors = FieldErrors::default();
        let text = ArticleText::parse(None, None, Some("  code\n\n    indented\n"), &mut errors);
        assert_eq!(text.body.as_deref(), Some("  code\n\n    indented\n"));
    }
}
