//! Validation errors shared by every capstone: domain types report *what* is wrong per field,
//! [`FieldErrors`] collects all of it, and the client gets one answer listing every problem
//! (`http::Error::Validation`, rendered in the project's format). No HTTP here, so the auth
//! core and domain types use it without actix.

use std::borrow::Cow;
use std::collections::BTreeMap;

/// Field name → what is wrong with it.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct FieldErrors(pub BTreeMap<Cow<'static, str>, Vec<String>>);

impl FieldErrors {
    pub fn add(&mut self, field: impl Into<Cow<'static, str>>, problem: impl Into<String>) {
        self.0.entry(field.into()).or_default().push(problem.into());
    }

    /// Keeps the value if it parsed, records the problem under `field` if not.
    pub fn check<T, E: ToString>(
        &mut self,
        field: &'static str,
        parsed: Result<T, E>,
    ) -> Option<T> {
        parsed.map_err(|e| self.add(field, e.to_string())).ok()
    }

    /// Records "is required" when the field was not sent.
    pub fn required<T>(&mut self, field: &'static str, value: Option<T>) -> Option<T> {
        if value.is_none() {
            self.add(field, "is required");
        }
        value
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// One problem with one field.
    pub fn single(field: impl Into<Cow<'static, str>>, problem: impl Into<String>) -> Self {
        let mut errors = Self::default();
        errors.add(field, problem);
        errors
    }
}

/// Characters that show nothing: zero-width spaces and joiners, direction marks and
/// overrides (`U+202E` turns `txt.exe` around), the BOM, soft hyphens, invisible operators,
/// variation selectors, Hangul fillers, the blank Braille pattern, tags. A name or title made
/// only of them looks empty, and an e-mail address holding one looks like another address.
pub fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{115F}' | '\u{1160}' | '\u{17B4}' | '\u{17B5}'
        | '\u{180B}'..='\u{180F}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{206F}' | '\u{2800}' | '\u{3164}' | '\u{FE00}'..='\u{FE0F}' | '\u{FEFF}'
        | '\u{FFA0}' | '\u{FFF0}'..='\u{FFF8}' | '\u{1D173}'..='\u{1D17A}'
        | '\u{E0000}'..='\u{E0FFF}')
}

/// The characters that reorder text around them: marks (`U+200E`, `U+200F`, `U+061C`),
/// embeddings and overrides (`U+202A`–`U+202E`), isolates (`U+2066`–`U+2069`). In a name,
/// `U+202E` makes "Ann\u{202E}nimda" show as "Annadmin"; no name needs one.
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Empty once white space and invisible characters are left out: what a person would call
/// blank.
pub fn is_blank(text: &str) -> bool {
    text.chars().all(|c| c.is_whitespace() || is_invisible(c))
}

/// `text` as case-insensitive search compares it: Unicode NFC (one spelling per accented
/// letter), then Unicode lower case — the same in Rust whatever the database's locale — with
/// Greek final sigma folded to σ (lower-casing `ΟΔΟΣ` gives `οδος`, which must match inside
/// `οδοστρωτήρας`). Not a full case fold: `ß` does not match `ss`.
pub fn fold_case(text: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    text.nfc()
        .collect::<String>()
        .to_lowercase()
        .replace('ς', "σ")
}

/// What is wrong with a value holding U+0000.
pub const NUL_PROBLEM: &str = "must not contain the NUL character (U+0000)";

/// PostgreSQL cannot store U+0000 in TEXT; refuse it up front on both databases.
pub fn reject_nul(value: &str) -> Result<(), &'static str> {
    if value.contains('\0') {
        Err(NUL_PROBLEM)
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_is_the_same_for_every_spelling() {
        assert_eq!(fold_case("ÉLAN"), fold_case("e\u{301}lan"));
        assert_eq!(fold_case("ΟΔΟΣ"), "οδοσ");
        assert!(fold_case("Οδοστρωτήρας").contains(&fold_case("ΟΔΟΣ")));
        assert_eq!(fold_case("İstanbul"), fold_case("İSTANBUL"));
    }

    #[test]
    fn invisible_only_text_is_blank() {
        for blank in [
            "",
            "   ",
            "\u{200b}",
            "\u{feff}\u{00ad}",
            " \u{202e} ",
            "\u{3164}",
        ] {
            assert!(is_blank(blank), "{blank:?}");
        }
        for text in ["a", " \u{200b}a", "é", "日本"] {
            assert!(!is_blank(text), "{text:?}");
        }
    }
}
