//! Input parsed once into types that can only hold valid values (parse, don't validate).
//! Every limit is a `const` here, so the README and the OpenAPI document quote one number.

pub mod article;
pub mod cursor;
pub mod markdown;
pub mod profile;
pub mod search;
pub mod slug;

pub use article::{ArticleText, CommentBody, TagList};
pub use cursor::Cursor;
pub use profile::{Bio, ImageUrl, Username};
pub use search::SearchTerms;

use backend_kit::validation::is_blank;

/// A required line of text: trimmed, not blank, at most `max` characters.
pub(crate) fn text(raw: &str, max: usize) -> Result<String, String> {
    let text = raw.trim();
    if text.is_empty() || is_blank(text) {
        return Err("can't be blank".into());
    }
    if text.chars().count() > max {
        return Err(format!("is too long (maximum is {max} characters)"));
    }
    Ok(text.to_string())
}
