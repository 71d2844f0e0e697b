//! The one escaping layer between tenant text and a human: names, tags, descriptions, saved-query
//! names and snapshot labels come from whoever controls the tenant (or the query files) and may
//! hold terminal control sequences, bidi overrides, forged newlines or Markdown/HTML. Every
//! human-facing output passes such text through the function for its medium: [`terminal`] (tables,
//! paths, warnings, errors), [`markdown`] and [`markdown_code`] (report.md, the Markdown diff),
//! [`dot_quoted`] and [`dot_html`] (DOT labels and tooltips), [`comment`] (SVG/XML and DOT
//! comments). JSON needs none of this: serde_json escapes control characters and values stay exact
//! ([`Medium::Exact`]).

use std::borrow::Cow;
use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};

/// Characters that act rather than show, or hide or reorder what follows: C0 and C1 controls and
/// DEL (escape sequences, BEL, CR, backspace, newlines), format characters (bidi overrides and
/// isolates, zero-width marks, soft hyphen, tag characters) and the line and paragraph separators.
/// Ordinary letters in any script (accents, CJK) are not among them.
pub fn is_unsafe(c: char) -> bool {
    if c.is_ascii() {
        // No ASCII character is a format character or a separator: only the controls are unsafe.
        return c.is_ascii_control();
    }
    c.is_control()
        || matches!(
            c.general_category(),
            GeneralCategory::Format | GeneralCategory::LineSeparator | GeneralCategory::ParagraphSeparator
        )
}

/// Which medium a piece of text is written for, for code that writes the same words to several.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Medium {
    /// A terminal or plain-text file: [`terminal`].
    #[default]
    Terminal,
    /// Markdown prose: [`markdown`].
    Markdown,
    /// A value inside a JSON document: unchanged (the JSON encoder escapes it).
    Exact,
}

impl Medium {
    /// `s` escaped for this medium.
    pub fn text(self, s: &str) -> Cow<'_, str> {
        match self {
            Medium::Terminal => terminal(s),
            Medium::Markdown => Cow::Owned(markdown(s)),
            Medium::Exact => Cow::Borrowed(s),
        }
    }
}

fn push_visible(out: &mut String, c: char) {
    match c {
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        c => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
    }
}

fn terminal_keeping(s: &str, keep_newlines: bool) -> Cow<'_, str> {
    // Printable ASCII, nearly every id and name: nothing to look up per character.
    if s.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        return Cow::Borrowed(s);
    }
    if !s.chars().any(|c| is_unsafe(c) && !(keep_newlines && c == '\n')) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if is_unsafe(c) && !(keep_newlines && c == '\n') {
            push_visible(&mut out, c);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Text for a terminal (or a plain-text file), on one line: every unsafe character ([`is_unsafe`],
/// newlines and tabs included) is shown as its escape (`\n`, `\u{1b}`, `\u{202e}`), so nothing can
/// clear the screen, set the title, link, reorder the line or forge another line. Everything else,
/// any script, is left as it is.
pub fn terminal(s: &str) -> Cow<'_, str> {
    terminal_keeping(s, false)
}

/// Like [`terminal`], but newlines are kept: for a whole message whose lines are azpath's own (an
/// error with a caret under a column). Prefer escaping the tenant text in it with [`terminal`].
pub fn terminal_lines(s: &str) -> Cow<'_, str> {
    terminal_keeping(s, true)
}

/// Text on one line for media that escape the rest themselves (DOT): line breaks of any kind
/// become spaces, so a name cannot add a line to a caption or tooltip azpath composes.
pub fn one_line(s: &str) -> Cow<'_, str> {
    let breaks = |c: char| matches!(c, '\n' | '\r' | '\u{0b}' | '\u{0c}' | '\u{85}' | '\u{2028}' | '\u{2029}');
    if s.chars().any(breaks) {
        Cow::Owned(s.chars().map(|c| if breaks(c) { ' ' } else { c }).collect())
    } else {
        Cow::Borrowed(s)
    }
}

/// Escapes text for Markdown prose: characters that start emphasis, links, HTML, code, tables or
/// headings get a backslash (so `<!--`, `<script>` and `# heading` stay text); newlines and tabs
/// become spaces; other unsafe characters U+FFFD. Reads as plain text with a few backslashes.
pub fn markdown(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '#' | '|' | '~' | '!' | '{' | '}' | '&' => {
                out.push('\\');
                out.push(c);
            }
            '\n' | '\r' | '\t' | '\u{2028}' | '\u{2029}' => out.push(' '),
            c if is_unsafe(c) => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

/// A Markdown code span that holds any text: fenced with more backticks than the text contains,
/// unsafe characters as spaces.
pub fn markdown_code(s: &str) -> String {
    let s: String = s.chars().map(|c| if is_unsafe(c) { ' ' } else { c }).collect();
    let longest = s.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest + 1);
    let pad = if s.starts_with('`') || s.ends_with('`') { " " } else { "" };
    format!("{fence}{pad}{s}{pad}{fence}")
}

/// Escapes text for the inside of a DOT quoted string: backslashes and quotes are escaped (so
/// Graphviz's `\N`, `\G`, `\l` escapes cannot be smuggled in either), a newline becomes the DOT
/// line break `\n` (azpath's captions have several lines; flatten tenant text first with
/// [`one_line`]), other unsafe characters U+FFFD. The result never ends a string early.
pub fn dot_quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c if is_unsafe(c) => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

/// Escapes text for a DOT HTML-like label: `& < > " '` become entities, newlines and tabs spaces,
/// other unsafe characters U+FFFD. Unicode letters stay as they are (DOT is UTF-8).
pub fn dot_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\n' | '\r' | '\t' | '\u{2028}' | '\u{2029}' => out.push(' '),
            c if is_unsafe(c) => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

/// Text for the inside of a comment, safe in an SVG/XML `<!-- -->` and a DOT `/* */` or `//`
/// comment alike: `<`, `>`, `%`, a `-` next to another `-` or at the end, a `*` before `/`, and
/// unsafe characters are percent-encoded, so the text can neither end the comment (`-->`, `*/`,
/// a newline) nor be an invalid XML comment (`--`). Ordinary names (`pipeline-to-tier0.dot`) stay
/// as they are.
pub fn comment(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    for (i, &c) in chars.iter().enumerate() {
        let next = chars.get(i + 1).copied();
        let prev = i.checked_sub(1).map(|p| chars[p]);
        let encode = match c {
            '<' | '>' | '%' => true,
            '-' => next.is_none() || next == Some('-') || prev == Some('-'),
            '*' => next == Some('/'),
            c => is_unsafe(c),
        };
        if encode {
            let mut buf = [0; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("%{b:02X}"));
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The hostile pieces of issue 12: screen clear, title set, OSC-8 link, BEL, CR, backspace,
    /// bidi override, newline.
    const HOSTILE: &str = "a\u{1b}[2Jb\u{1b}]0;title\u{7}c\u{1b}]8;;http://x\u{1b}\\d\re\u{8}f\u{202e}g\nh";

    fn has_unsafe(s: &str) -> bool {
        s.chars().any(is_unsafe)
    }

    #[test]
    fn unsafe_characters_are_controls_formats_and_separators_not_letters() {
        for c in ['\u{0}', '\u{7}', '\u{8}', '\n', '\r', '\t', '\u{1b}', '\u{7f}', '\u{85}', '\u{9b}', '\u{9f}'] {
            assert!(is_unsafe(c), "{c:?} is a control");
        }
        for c in ['\u{200b}', '\u{200e}', '\u{202a}', '\u{202e}', '\u{2066}', '\u{2069}', '\u{feff}', '\u{ad}'] {
            assert!(is_unsafe(c), "{c:?} is a format character");
        }
        assert!(is_unsafe('\u{2028}') && is_unsafe('\u{2029}'));
        for c in ['a', 'é', 'ß', '日', '本', 'Ж', 'ا', ' ', '-', '<', '#', '\\', '😀'] {
            assert!(!is_unsafe(c), "{c:?} is ordinary text");
        }
        // The ASCII shortcut gives the general rule's answer for every ASCII character.
        for c in (0u8..=127).map(char::from) {
            let general = c.is_control()
                || matches!(
                    c.general_category(),
                    GeneralCategory::Format | GeneralCategory::LineSeparator | GeneralCategory::ParagraphSeparator
                );
            assert_eq!(is_unsafe(c), general, "{c:?}");
            assert_eq!(matches!(terminal(&c.to_string()), Cow::Borrowed(_)), !general, "{c:?}");
        }
    }

    #[test]
    fn terminal_shows_every_unsafe_character_as_its_escape() {
        let t = terminal(HOSTILE);
        assert!(!has_unsafe(&t), "{t}");
        assert_eq!(t, "a\\u{1b}[2Jb\\u{1b}]0;title\\u{7}c\\u{1b}]8;;http://x\\u{1b}\\d\\re\\u{8}f\\u{202e}g\\nh");
        assert_eq!(terminal("x\u{2028}y\u{9b}z\u{7f}\t"), "x\\u{2028}y\\u{9b}z\\u{7f}\\t");
        // Ordinary names are untouched, and not copied.
        assert!(matches!(terminal("Zoë 日本 stmltraining [StorageAccount]"), Cow::Borrowed(_)));
    }

    #[test]
    fn terminal_lines_keeps_only_the_newlines() {
        assert_eq!(terminal_lines("one\ntwo\u{1b}[2J\r"), "one\ntwo\\u{1b}[2J\\r");
    }

    #[test]
    fn one_line_flattens_every_line_break() {
        assert_eq!(one_line("a\nb\r\nc\u{2028}d\u{85}e"), "a b  c d e");
        assert!(matches!(one_line("plain"), Cow::Borrowed(_)));
    }

    #[test]
    fn markdown_escapes_syntax_and_neutralises_unsafe_characters() {
        assert_eq!(markdown("a*b_c [x](y) <script> | # !"), "a\\*b\\_c \\[x\\](y) \\<script\\> \\| \\# \\!");
        assert_eq!(markdown("line\nbreak"), "line break");
        assert_eq!(markdown("<!-- hide"), "\\<\\!-- hide");
        let m = markdown(HOSTILE);
        assert!(!has_unsafe(&m), "{m}");
        assert!(!m.contains('\n'));
        assert_eq!(markdown("x\u{202e}y\u{2066}z"), "x\u{fffd}y\u{fffd}z");
        assert_eq!(markdown("Zoë 日本"), "Zoë 日本");
    }

    #[test]
    fn markdown_code_fences_any_text() {
        assert_eq!(markdown_code("a`b"), "``a`b``");
        assert_eq!(markdown_code("`x"), "`` `x ``");
        assert_eq!(markdown_code("a\u{1b}[2J\nb"), "`a [2J b`");
    }

    #[test]
    fn dot_quoted_never_ends_the_string() {
        assert_eq!(dot_quoted(r#"a"b\c"#), r#"a\"b\\c"#);
        assert_eq!(dot_quoted("x\ny\r"), "x\\ny");
        assert_eq!(dot_quoted("\u{202e}evil\u{0}\u{1b}"), "\u{fffd}evil\u{fffd}\u{fffd}");
    }

    #[test]
    fn dot_html_makes_markup_text() {
        assert_eq!(dot_html("<script>&\"'"), "&lt;script&gt;&amp;&quot;&#39;");
        assert_eq!(dot_html("Zoë 日本"), "Zoë 日本");
        assert_eq!(dot_html("a\nb\u{2066}c"), "a b\u{fffd}c");
    }

    #[test]
    fn comment_text_cannot_close_or_break_a_comment() {
        let c = comment("x --> <script> */ y\n// z-");
        for bad in ["--", "<", ">", "*/", "\n"] {
            assert!(!c.contains(bad), "{bad:?} in {c}");
        }
        assert!(!c.ends_with('-'));
        assert_eq!(c, "x %2D%2D%3E %3Cscript%3E %2A/ y%0A// z%2D");
        assert_eq!(comment("pipeline-to-tier0.dot"), "pipeline-to-tier0.dot");
        assert_eq!(comment("a\u{202e}b"), "a%E2%80%AEb");
    }

    #[test]
    fn media_dispatch_to_their_function() {
        assert_eq!(Medium::Terminal.text("a\nb"), "a\\nb");
        assert_eq!(Medium::Markdown.text("# x"), "\\# x");
        assert_eq!(Medium::Exact.text("a\n\u{1b}"), "a\n\u{1b}");
    }
}
