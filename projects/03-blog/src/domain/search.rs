//! `?q=` search terms. The words are taken out of the query here, in Rust, and handed to each
//! database in the syntax it wants ([`SearchTerms::fts5_query`], [`SearchTerms::tsquery`]):
//! nothing the user types is ever parsed as query syntax, so `"`, `*`, `&`, `NEAR` or `:`
//! cannot cause an error or change the meaning.

/// At most this many words are used; more are ignored.
pub const MAX_WORDS: usize = 8;
pub const QUERY_MAX: usize = 200;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchTerms(Vec<String>);

/// Which definition of a word the stored `search_text` was made with (`articles.search_version`).
/// Change it with the definition, and reindex older rows (the text is made in Rust, so with a
/// `blog` subcommand that reads and rewrites them in batches).
pub const INDEX_VERSION: i32 = 2;

/// The words of `text`: runs of letters and digits, folded so that both databases' tokenizers
/// see plain words and agree. One definition of a word, used for the text that is indexed and
/// for the query that searches it:
/// 1. compatibility forms become plain ones (NFKC: `ⓐ` → `a`, `½` → `1⁄2`, `ﬁ` → `fi`) —
///    PostgreSQL counted `ⓐⓑ` as a word and SQLite did not, SQLite `½` and PostgreSQL not;
/// 2. lower case, then accents off Latin, Greek and Cyrillic letters (`İ` lower-cases to `i`
///    and U+0307, and `q=istanbul` must find "İstanbul"; `cafe` finds "café"). Marks that are
///    part of other scripts' letters (Devanagari vowel signs, kana voicing) stay: without
///    them, different words read the same;
/// 3. then cut at everything that is not a letter or a digit — nor an enclosed letter left
///    over (`🅰`), which PostgreSQL's parser keeps and SQLite's tokenizer drops.
fn words(text: &str) -> impl Iterator<Item = String> {
    use unicode_normalization::UnicodeNormalization;
    use unicode_normalization::char::is_combining_mark;
    let lowered: String = text.nfkc().flat_map(char::to_lowercase).collect();
    let mut base = ' ';
    let folded: String = lowered
        .nfkd()
        .filter(|&c| {
            if !is_combining_mark(c) {
                base = c;
                return true;
            }
            !accented_script(base)
        })
        .nfc()
        .collect();
    let is_word_char = |c: char| c.is_alphanumeric() && !('\u{1F100}'..='\u{1F1FF}').contains(&c);
    folded
        .split(|c: char| !is_word_char(c))
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect::<Vec<_>>()
        .into_iter()
}

/// Latin (with its extensions), Greek and Cyrillic: scripts whose accents readers leave out
/// when they search.
fn accented_script(c: char) -> bool {
    matches!(c, '\u{0041}'..='\u{024F}' | '\u{0370}'..='\u{052F}' | '\u{1E00}'..='\u{1FFF}')
}

/// What both databases index for an article (`articles.search_text`): its words, separated
/// by single spaces, so each database's own tokenizer finds exactly these words.
pub fn index_text(title: &str, description: &str, body: &str) -> String {
    [title, description, body]
        .into_iter()
        .flat_map(words)
        .collect::<Vec<_>>()
        .join(" ")
}

impl SearchTerms {
    /// Words are runs of letters and digits, lower-cased. `None` when there are none (a
    /// query of punctuation only): such a search matches nothing.
    pub fn parse(raw: &str) -> Result<Option<Self>, String> {
        if raw.chars().count() > QUERY_MAX {
            return Err(format!("is too long (maximum is {QUERY_MAX} characters)"));
        }
        let words: Vec<String> = words(raw).take(MAX_WORDS).collect();
        Ok((!words.is_empty()).then_some(Self(words)))
    }

    /// SQLite FTS5: every word, as a quoted prefix (`"rust"* "acti"*`); words side by side
    /// must all match.
    pub fn fts5_query(&self) -> String {
        self.0
            .iter()
            .map(|w| format!("\"{w}\"*"))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// PostgreSQL `to_tsquery`: the same words as prefixes joined by AND (`rust:* & acti:*`).
    pub fn tsquery(&self) -> String {
        self.0
            .iter()
            .map(|w| format!("{w}:*"))
            .collect::<Vec<_>>()
            .join(" & ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_syntax_is_never_passed_through() {
        let terms = SearchTerms::parse("Rust \"NEAR\" a*b & c:d")
            .unwrap()
            .unwrap();
        assert_eq!(terms.fts5_query(), r#""rust"* "near"* "a"* "b"* "c"* "d"*"#);
        assert_eq!(terms.tsquery(), "rust:* & near:* & a:* & b:* & c:* & d:*");
    }

    #[test]
    fn words_are_folded_the_same_for_both_databases() {
        assert_eq!(
            index_text("İstanbul", "Café", "ⓐⓑ ½ ﬁne ΟΔΟΣ"),
            "istanbul cafe ab 1 2 fine οδοσ"
        );
        let terms = SearchTerms::parse("ISTANBUL cafe").unwrap().unwrap();
        assert_eq!(terms.tsquery(), "istanbul:* & cafe:*");
        assert_eq!(SearchTerms::parse("ⓐⓑ").unwrap().unwrap().tsquery(), "ab:*");
        // Other scripts keep their marks: these are different words.
        assert_eq!(
            index_text("हिन्दी", "がっこう", "かっこう"),
            // The virama is neither letter nor digit: a cut, on both databases, as before.
            "हिन दी がっこう かっこう"
        );
        assert_eq!(index_text("한국어", "", ""), "한국어");
        assert_eq!(index_text("x🅰y", "", ""), "x y");
    }

    #[test]
    fn punctuation_only_is_no_words() {
        assert_eq!(SearchTerms::parse("!!! ***").unwrap(), None);
        assert_eq!(SearchTerms::parse("").unwrap(), None);
        assert!(SearchTerms::parse(&"x".repeat(QUERY_MAX + 1)).is_err());
    }

    #[test]
    fn indexed_text_is_cut_like_queries() {
        assert_eq!(
            index_text(
                "Hosting on example.com",
                "v1.2.3, 3.14",
                "mail a@b.io — /usr/bin"
            ),
            "hosting on example com v1 2 3 3 14 mail a b io usr bin"
        );
        // A query for `example.com` looks for the words `example` and `com`, which are there.
        assert_eq!(
            SearchTerms::parse("example.com")
                .unwrap()
                .unwrap()
                .tsquery(),
            "example:* & com:*"
        );
    }

    #[test]
    fn unicode_words_are_kept() {
        let terms = SearchTerms::parse("Привет, мир").unwrap().unwrap();
        assert_eq!(terms.tsquery(), "привет:* & мир:*");
    }
}
