/// A message's text: 1–4 000 characters, not only whitespace, no U+0000 (PostgreSQL cannot
/// store it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageText(String);

pub const MAX_TEXT_CHARS: usize = 4_000;

/// Why a text was refused; `TooLong` has its own error code in the protocol.
#[derive(Debug, PartialEq, Eq)]
pub enum TextError {
    Empty,
    TooLong,
    Nul,
}

impl MessageText {
    pub fn parse(raw: String) -> Result<Self, TextError> {
        if raw.trim().is_empty() {
            Err(TextError::Empty)
        } else if raw.chars().count() > MAX_TEXT_CHARS {
            Err(TextError::TooLong)
        } else if raw.contains('\0') {
            Err(TextError::Nul)
        } else {
            Ok(Self(raw))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// The sender's id for a message (≤ 64 characters): a resend with the same one is the same
/// message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientId(String);

impl ClientId {
    pub const RULE: &'static str = "clientId must be 1 to 64 characters";

    pub fn parse(raw: String) -> Result<Self, &'static str> {
        if (1..=64).contains(&raw.chars().count()) && !raw.contains('\0') {
            Ok(Self(raw))
        } else {
            Err(Self::RULE)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The distinct `@name`s in a text, lower-cased (a name is letters, digits, `_`, `-`, `.`;
/// a trailing `.` is punctuation). At most 10: a message cannot mail the whole server.
pub fn mentions(text: &str) -> Vec<String> {
    let is_name_char = |c: char| c.is_alphanumeric() || matches!(c, '_' | '-' | '.');
    let mut found: Vec<String> = Vec::new();
    let mut previous = ' ';
    for (i, c) in text.char_indices() {
        // `x@y.z` is an address, not a mention: the `@` must start a word.
        if c == '@' && !previous.is_alphanumeric() {
            let after = &text[i + 1..];
            let end = after.find(|c| !is_name_char(c)).unwrap_or(after.len());
            let name = after[..end].trim_end_matches('.').to_lowercase();
            if !name.is_empty() && !found.contains(&name) && found.len() < 10 {
                found.push(name);
            }
        }
        previous = c;
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts() {
        assert!(MessageText::parse("hi".into()).is_ok());
        assert_eq!(MessageText::parse("  ".into()), Err(TextError::Empty));
        assert!(MessageText::parse("é".repeat(4000)).is_ok());
        assert_eq!(
            MessageText::parse("é".repeat(4001)),
            Err(TextError::TooLong)
        );
        assert_eq!(MessageText::parse("a\0".into()), Err(TextError::Nul));
    }

    #[test]
    fn finds_mentions() {
        assert_eq!(mentions("@Ann hi @bob, and @ann."), vec!["ann", "bob"]);
        assert_eq!(mentions("mail me at x@y.z"), Vec::<String>::new());
        assert_eq!(mentions("(@zoë)"), vec!["zoë"]);
        assert!(mentions("@").is_empty());
        let many: String = (0..20).map(|i| format!("@u{i} ")).collect();
        assert_eq!(mentions(&many).len(), 10);
    }
}
