//! Wildcard patterns: the two kinds azpath reads, matched by one engine, the `wildcard` crate
//! (a linear backtracking matcher, no regex, no allocation while matching).
//!
//! - **Azure RBAC action patterns** ([`ActionPattern`], [`action_matches`]), e.g.
//!   `Microsoft.Storage/*/read`: `*` matches any run of characters, `/` included, and every other
//!   character is literal, `?` and `\` too: Azure has no other wildcard, so a `?` in an action is a
//!   question mark. ASCII case-insensitive: resource provider namespaces, resource types and
//!   operations are ASCII. Matched on UTF-8 bytes, which gives the same answer as matching on
//!   characters (a `*` can only end where the next literal's bytes start, and those bytes start a
//!   character), so a non-ASCII character matches only itself.
//! - **Display-name globs** ([`name_matches`]), e.g. `name:sp-*-prod?`: `*` matches any run of
//!   characters, `?` exactly one character, Unicode case-insensitive. Each character is compared by
//!   its lower case (`char::to_lowercase`) with the Greek final sigma `ς` folded to `σ`, as Unicode
//!   case folding does, so `ΟΔΥΣΣΕΥΣ`, `Οδυσσευς` and `οδυσσευσ` are one name however a pattern
//!   spells its sigmas. A character whose lower case is more than one character (only `İ`, whose
//!   lower case is `i` + U+0307) is kept as it is: it matches itself, and `?` takes it as one
//!   character, as it is displayed.

use std::borrow::Cow;
use std::fmt;
use wildcard::{Wildcard, WildcardBuilder, WildcardSymbol};

/// The one place the crate is configured: `*` always, `?` for names only, no escape character
/// (neither kind of pattern has one, so `\` is literal).
fn compile<S: WildcardSymbol>(pattern: Cow<'_, [S]>, one_char: bool, ascii_case: bool) -> Wildcard<'_, S> {
    let builder = WildcardBuilder::from_cow(pattern).without_escape().case_insensitive(ascii_case);
    let builder = if one_char { builder } else { builder.without_one_metasymbol() };
    // Errors are escape syntax and clashing metasymbols: with no escape and `*` != `?`, none can occur.
    builder.build().expect("a wildcard without escapes always compiles")
}

/// An Azure RBAC action pattern (`actions`, `notActions`, `dataActions`, `notDataActions`),
/// compiled once: role evaluation matches every pattern of a role against every action a rule asks
/// about, so the per-match cost is only the match.
#[derive(Clone, serde::Deserialize)]
#[serde(from = "String")]
pub struct ActionPattern {
    text: String,
    compiled: Wildcard<'static, u8>,
}

impl ActionPattern {
    pub fn new(text: impl Into<String>) -> Self {
        let text = text.into();
        let compiled = compile(Cow::Owned(text.as_bytes().to_vec()), false, true);
        ActionPattern { text, compiled }
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Does this pattern match `action`? Case-insensitive (ASCII); `*` matches any run.
    pub fn matches(&self, action: &str) -> bool {
        self.compiled.is_match(action.as_bytes())
    }
}

impl From<String> for ActionPattern {
    fn from(text: String) -> Self {
        ActionPattern::new(text)
    }
}

impl From<&str> for ActionPattern {
    fn from(text: &str) -> Self {
        ActionPattern::new(text)
    }
}

impl PartialEq for ActionPattern {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl Eq for ActionPattern {}

impl fmt::Debug for ActionPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.text, f)
    }
}

impl fmt::Display for ActionPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// Does the Azure action pattern `pattern` match `action`? The one-off form of
/// [`ActionPattern::matches`]: compiles in place without allocating.
pub fn action_matches(pattern: &str, action: &str) -> bool {
    compile(Cow::Borrowed(pattern.as_bytes()), false, true).is_match(action.as_bytes())
}

/// Does the display-name glob `pattern` match `name`? `*` any run, `?` one character,
/// case-insensitive (see the module docs for Unicode).
pub fn name_matches(pattern: &str, name: &str) -> bool {
    if pattern.is_ascii() && name.is_ascii() {
        // A byte is a character and Unicode lower case is ASCII lower case: the same answer as the
        // folded comparison below, without allocating.
        return compile(Cow::Borrowed(pattern.as_bytes()), true, true).is_match(name.as_bytes());
    }
    let pattern: Vec<char> = pattern.chars().map(fold).collect();
    let name: Vec<char> = name.chars().map(fold).collect();
    compile(Cow::Owned(pattern), true, false).is_match(&name)
}

/// A character's case-insensitive form: its lower case when that is one character, with `ς` as `σ`.
fn fold(c: char) -> char {
    let mut lower = c.to_lowercase();
    match (lower.next(), lower.next()) {
        (Some('ς'), None) => 'σ',
        (Some(l), None) => l,
        _ => c,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn action_patterns_match_case_insensitively_with_star_only() {
        assert!(action_matches("*", "Microsoft.Storage/storageAccounts/listkeys/action"));
        assert!(action_matches("*", ""));
        assert!(action_matches("Microsoft.Storage/*", "microsoft.storage/storageaccounts/LISTKEYS/action"));
        assert!(action_matches("*/read", "Microsoft.Storage/storageAccounts/read"));
        assert!(!action_matches("*/read", "Microsoft.Storage/storageAccounts/listkeys/action"));
        assert!(action_matches("Microsoft.KeyVault/vaults/*/read", "Microsoft.KeyVault/vaults/secrets/x/read"));
        assert!(!action_matches("Microsoft.KeyVault/vaults/*/read", "Microsoft.KeyVault/vaults/write"));
        assert!(action_matches("Microsoft.Web/**", "Microsoft.Web/sites/write"));
        assert!(!action_matches("Microsoft.Web/sites/write", "Microsoft.Web/sites/write/x"));
        assert!(!action_matches("", "Microsoft.Web/sites/write"));
    }

    #[test]
    fn question_mark_and_backslash_are_literal_in_action_patterns() {
        assert!(!action_matches("Microsoft.Web/sites/writ?", "Microsoft.Web/sites/write"));
        assert!(action_matches("Microsoft.Web/sites/writ?", "Microsoft.Web/sites/writ?"));
        assert!(action_matches("a/?/*", "A/?/b"));
        assert!(!action_matches("a/?/*", "a/b/c"));
        assert!(action_matches(r"a\*", r"a\bc"));
        assert!(!action_matches(r"a\*", "a*"));
        assert!(action_matches(r"a\", r"A\"));
    }

    #[test]
    fn action_patterns_fold_ascii_case_only() {
        // Azure actions are ASCII; anything else must be written exactly.
        assert!(action_matches("Microsoft.Élan/*", "microsoft.Élan/x"));
        assert!(!action_matches("Microsoft.Élan/*", "microsoft.élan/x"));
        // The Kelvin sign lower-cases to `k` in Unicode, not in ASCII.
        assert!(!action_matches("\u{212A}", "k"));
        assert!(action_matches("*é*", "aéb"));
    }

    #[test]
    fn a_compiled_action_pattern_matches_as_the_one_off_form() {
        let p = ActionPattern::from("Microsoft.Storage/*/listKeys/action");
        assert!(p.matches("microsoft.storage/storageAccounts/listkeys/ACTION"));
        assert!(!p.matches("microsoft.storage/storageAccounts/read"));
        assert_eq!(p.as_str(), "Microsoft.Storage/*/listKeys/action");
        assert_eq!(format!("{p:?}"), "\"Microsoft.Storage/*/listKeys/action\"");
        assert_eq!(p, ActionPattern::new("Microsoft.Storage/*/listKeys/action".to_string()));
        let parsed: Vec<ActionPattern> = serde_json::from_str(r#"["*/read", "a?"]"#).unwrap();
        assert!(parsed[0].matches("x/READ"));
        assert!(!parsed[1].matches("ab"));
    }

    #[test]
    fn name_globs() {
        assert!(name_matches("*", ""));
        assert!(name_matches("a*c", "abbbc"));
        assert!(!name_matches("a*c", "abbbd"));
        assert!(name_matches("A?C", "abc"));
        assert!(!name_matches("A?C", "ac"));
        assert!(name_matches("*ml*", "stmltraining"));
        assert!(name_matches("sp-*-prod?", "SP-training-PROD1"));
        assert!(name_matches(r"a\*", r"A\xyz"));
        assert!(!name_matches("", "a"));
    }

    #[test]
    fn name_globs_fold_unicode_case() {
        assert!(name_matches("ÉCOLE*", "école Azure"));
        assert!(name_matches("équipe données ?", "Équipe DONNÉES 7"));
        assert!(name_matches("*данные*", "Обучающие ДАННЫЕ"));
        assert!(name_matches("?", "é"));
        assert!(name_matches("k", "\u{212A}"));
        assert!(!name_matches("ss", "ß"));
        // Sigmas: every spelling matches every other, wherever it stands in the word.
        assert!(name_matches("ΟΔΥΣ*", "ΟΔΥΣΣΕΥΣ"));
        assert!(name_matches("οδυσσευς", "ΟΔΥΣΣΕΥΣ"));
        assert!(name_matches("οδυσσευσ", "Οδυσσευς"));
        assert!(name_matches("*ΣΣ*", "Οδυσσευς"));
        // `İ` lower-cases to two characters: it matches itself and counts as one character.
        assert!(name_matches("?stanbul", "İstanbul"));
        assert!(name_matches("İSTANBUL", "İstanbul"));
        assert!(!name_matches("istanbul", "İstanbul"));
    }
}
