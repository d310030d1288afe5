//! Markdown to safe HTML: `pulldown-cmark` renders, `ammonia` sanitizes.
//!
//! Markdown allows raw HTML, so rendered Markdown is untrusted HTML. Sanitizing is an
//! allow-list (ammonia's defaults: ordinary formatting tags and attributes; every `on…`
//! handler, `<script>`, `<iframe>`, `<svg>`, `style` dropped), with links only to `http`,
//! `https` and `mailto` (ammonia's defaults also let `ssh:`, `tel:`, `irc:` and a dozen more
//! through), and task-list checkboxes kept — always `disabled`, nothing else on them — so
//! `- [ ]` and `- [x]` still differ. Applied to the rendered output — never a filter on the
//! Markdown source, which can always be spelled another way. Links get
//! `rel="noopener noreferrer"`.

use std::collections::HashSet;
use std::sync::LazyLock;

use pulldown_cmark::{Options, Parser, html};

/// How deeply quotes and lists may nest. Rendering time grows with the square of the nesting
/// (50 000 `>` took 16 s of CPU), so a body nesting deeper is refused before it is rendered;
/// real writing rarely nests past three.
pub const MAX_NESTING: usize = 32;

/// The deepest run of quote and list markers opening a line (`> > - 1. text` is 4): how
/// deeply that line nests blocks.
pub fn nesting_depth(markdown: &str) -> usize {
    markdown.lines().map(line_depth).max().unwrap_or(0)
}

fn line_depth(line: &str) -> usize {
    let mut depth = 0;
    let mut rest = line.trim_start();
    loop {
        let after = if let Some(after) = rest.strip_prefix('>') {
            after
        } else if let Some(after) = rest
            .strip_prefix(['-', '*', '+'])
            .filter(|a| a.is_empty() || a.starts_with([' ', '\t']))
        {
            after
        } else {
            let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
            match rest[digits..].strip_prefix(['.', ')']) {
                Some(after)
                    if digits > 0 && (after.is_empty() || after.starts_with([' ', '\t'])) =>
                {
                    after
                }
                _ => return depth,
            }
        };
        depth += 1;
        rest = after.trim_start();
    }
}

/// The most HTML a body may render to. Markdown is terse where HTML is not: a 30 KB table of
/// 5 000 columns rendered to 2.4 MB, stored and sent with every read of the article. Real
/// articles render to about 1.5× their Markdown, so this leaves room for 50 000 characters.
pub const MAX_HTML_BYTES: usize = 256 * 1024;

/// The sanitizer, built once: see the module's notes.
static SANITIZER: LazyLock<ammonia::Builder<'static>> = LazyLock::new(|| {
    let mut builder = ammonia::Builder::default();
    builder
        .url_schemes(HashSet::from(["http", "https", "mailto"]))
        .add_tags(["input"])
        .add_tag_attributes("input", ["checked"])
        .set_tag_attribute_value("input", "type", "checkbox")
        .set_tag_attribute_value("input", "disabled", "");
    builder
});

/// Renders and sanitizes; `None` when the HTML would be over [`MAX_HTML_BYTES`]. Bodies are
/// checked against [`MAX_NESTING`] before they get here.
pub fn to_safe_html(markdown: &str) -> Option<String> {
    let options =
        Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TASKLISTS;
    let mut rendered = String::with_capacity(markdown.len() * 3 / 2);
    html::push_html(&mut rendered, Parser::new_ext(markdown, options));
    // Before sanitizing too: the sanitizer's work grows with what it is given.
    if rendered.len() > MAX_HTML_BYTES {
        return None;
    }
    let clean = SANITIZER.clean(&rendered).to_string();
    (clean.len() <= MAX_HTML_BYTES).then_some(clean)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Attacks seen against Markdown renderers and HTML sanitizers. Nothing executable may
    /// come out: no script element, no event handler, no `javascript:`/`data:`/`vbscript:`
    /// URL, no frame, no SVG, no inline style.
    const XSS: &[&str] = &[
        "<script>alert(1)</script>",
        "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
        "<img src=x onerror=alert(1)>",
        "<img src=\"x\" ONERROR=\"alert(1)\">",
        "<body onload=alert(1)>",
        "<a href=\"javascript:alert(1)\">click</a>",
        "<a href=\"JaVaScRiPt:alert(1)\">click</a>",
        "<a href=\"jav&#x09;ascript:alert(1)\">click</a>",
        "<a href=\"&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;alert(1)\">x</a>",
        "[click](javascript:alert(1))",
        "[click](JAVASCRIPT:alert(1))",
        "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
        "[click](vbscript:msgbox(1))",
        "![x](javascript:alert(1))",
        "![x](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)",
        "<iframe src=\"https://evil.example\"></iframe>",
        "<iframe srcdoc=\"<script>alert(1)</script>\"></iframe>",
        "<svg onload=alert(1)>",
        "<svg><script>alert(1)</script></svg>",
        "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
        "<object data=\"javascript:alert(1)\"></object>",
        "<embed src=\"javascript:alert(1)\">",
        "<form action=\"javascript:alert(1)\"><button>x</button></form>",
        "<input autofocus onfocus=alert(1)>",
        "<details open ontoggle=alert(1)>",
        "<div style=\"background:url(javascript:alert(1))\">x</div>",
        "<meta http-equiv=\"refresh\" content=\"0;url=javascript:alert(1)\">",
        "<link rel=stylesheet href=\"https://evil.example/x.css\">",
        "<base href=\"https://evil.example/\">",
        "<scr<script>ipt>alert(1)</scr</script>ipt>",
        "<img src=x onerror=alert(1)//",
        "<<script>script>alert(1)<</script>/script>",
        "<a href=\"https://ok.example\" onclick=\"alert(1)\">x</a>",
        "<noscript><p title=\"</noscript><img src=x onerror=alert(1)>\">",
        "<template><script>alert(1)</script></template>",
        "```\n</code></pre><script>alert(1)</script>\n```",
        "<!--><script>alert(1)</script>-->",
        "<![CDATA[<script>alert(1)</script>]]>",
    ];

    /// The markup of `html`: its tags without the text between them. Sanitized text is
    /// escaped (`&lt;script&gt;` is harmless), so only markup can carry an attack.
    fn markup(html: &str) -> String {
        html.split('<')
            .skip(1)
            .map(|s| s.split('>').next().unwrap_or(""))
            .collect::<Vec<_>>()
            .join("\n")
            .to_ascii_lowercase()
    }

    /// `<input type="checkbox" disabled="" checked="">`, in any order, and nothing else: a
    /// task list's box, the one `input` the sanitizer keeps.
    fn is_task_checkbox(tag: &str) -> bool {
        let mut parts = tag.trim_end_matches('/').split_whitespace();
        parts.next() == Some("input")
            && parts.all(|a| matches!(a, "type=\"checkbox\"" | "disabled=\"\"" | "checked=\"\""))
    }

    fn assert_inert(html: &str, input: &str) {
        let tags: String = markup(html)
            .lines()
            .filter(|tag| !is_task_checkbox(tag))
            .collect::<Vec<_>>()
            .join("\n");
        for needle in [
            "script",
            "javascript:",
            "vbscript:",
            "data:",
            "iframe",
            "svg",
            "math",
            "object",
            "embed",
            "form",
            "input",
            "meta",
            "link",
            "base",
            "style",
            "srcdoc",
            "template",
            "noscript",
        ] {
            assert!(
                !tags.contains(needle),
                "{needle:?} survived in {html:?} (from {input:?})"
            );
        }
        let handler = tags
            .split(|c: char| c.is_whitespace() || c == '/')
            .find(|attr| attr.starts_with("on") && attr.contains('='));
        assert!(
            handler.is_none(),
            "event handler {handler:?} in {html:?} (from {input:?})"
        );
    }

    #[test]
    fn no_xss_payload_survives() {
        for input in XSS {
            let html = to_safe_html(input).expect("small");
            assert_inert(&html, input);
            // The same payload inside ordinary Markdown.
            let wrapped = to_safe_html(&format!(
                "# Title\n\nSome *text* {input} more\n\n- {input}\n\n- [ ] {input}\n"
            ))
            .expect("small");
            assert_inert(&wrapped, input);
        }
    }

    #[test]
    fn ordinary_markdown_survives() {
        let html = to_safe_html(
            "# Heading\n\nSome *emphasis*, **strong**, `code` and a [link](https://example.com).\n\n\
             - one\n- two\n\n1. first\n\n```rust\nfn main() {}\n```\n\n> quoted\n\n\
             ![alt](https://example.com/a.png)\n\n| a | b |\n|---|---|\n| 1 | 2 |\n",
        )
        .expect("small");
        for expected in [
            "<h1>Heading</h1>",
            "<em>emphasis</em>",
            "<strong>strong</strong>",
            "<code>code</code>",
            "<a href=\"https://example.com\" rel=\"noopener noreferrer\">link</a>",
            "<li>one</li>",
            "<ol>",
            "<pre><code",
            "fn main() {}",
            "<blockquote>",
            "<img src=\"https://example.com/a.png\" alt=\"alt\">",
            "<table>",
        ] {
            assert!(html.contains(expected), "{expected:?} missing from {html}");
        }
    }

    #[test]
    fn links_are_http_https_or_mailto_only() {
        let html = to_safe_html(
            "[a](https://a.example) [b](mailto:b@example.com) [c](ssh://host) [d](tel:+123) \
             [e](irc://irc.example/x) [f](ftp://f.example)",
        )
        .expect("small");
        assert!(html.contains("href=\"https://a.example\""), "{html}");
        assert!(html.contains("href=\"mailto:b@example.com\""), "{html}");
        for scheme in ["ssh:", "tel:", "irc:", "ftp:"] {
            assert!(!html.contains(scheme), "{scheme} survived: {html}");
        }
    }

    #[test]
    fn task_lists_keep_their_boxes_disabled() {
        let html = to_safe_html("- [ ] to do\n- [x] done\n").expect("small");
        let boxes: Vec<&str> = html.matches("<input").collect();
        assert_eq!(boxes.len(), 2, "{html}");
        assert_eq!(html.matches("checked").count(), 1, "{html}");
        assert_eq!(html.matches("disabled").count(), 2, "{html}");
        // A box written by hand is forced to the same harmless shape.
        let forced =
            to_safe_html("<input type=\"text\" name=\"x\" value=\"y\" autofocus onfocus=alert(1)>")
                .expect("small");
        assert!(
            forced.is_empty()
                || forced.contains("<input type=\"checkbox\" disabled=\"\">")
                || forced.contains("<input disabled=\"\" type=\"checkbox\">"),
            "{forced}"
        );
        assert!(
            !forced.contains("onfocus") && !forced.contains("text"),
            "{forced}"
        );
    }

    #[test]
    fn bodies_that_render_to_too_much_html_are_refused() {
        // 1 000 columns, and every short row is padded to all of them: 4 KB of Markdown,
        // about a megabyte of HTML.
        let table = format!(
            "{}\n{}\n{}",
            "|a".repeat(1_000),
            "|-".repeat(1_000),
            "|x\n".repeat(100)
        );
        assert!(table.len() < 5_000);
        assert_eq!(to_safe_html(&table), None);
        assert!(to_safe_html(&"word ".repeat(10_000)).is_some());
    }

    #[test]
    fn nesting_is_measured_per_line() {
        assert_eq!(nesting_depth("plain\n\n> quote\n> > - 1. deep"), 4);
        assert_eq!(nesting_depth("-not a list\n*emphasis*\n2024.\n"), 1);
        assert_eq!(nesting_depth(&">".repeat(50_000)), 50_000);
        assert_eq!(nesting_depth(&"- ".repeat(1_000)), 1_000);
        assert_eq!(nesting_depth("    code > not a quote"), 0);
    }

    #[test]
    fn text_that_looks_like_markup_is_shown_not_run() {
        let html = to_safe_html("Use `<script>` tags with care: 1 < 2 & 3 > 2").expect("small");
        assert!(html.contains("<code>&lt;script&gt;</code>"), "{html}");
        assert!(html.contains("1 &lt; 2 &amp; 3 &gt; 2"), "{html}");
    }
}
