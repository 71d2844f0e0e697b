//! The selector language: which nodes a query starts from, ends at, or avoids.
//!
//! ```text
//! selector := or
//! or       := and (("or" | ",") and)*
//! and      := unary ("and" unary)*
//! unary    := "not" unary | "(" selector ")" | atom
//! atom     := pipeline | crown-jewels | tier0 | all
//!           | kind:KIND            node kind, e.g. kind:StorageAccount
//!           | name:PATTERN         display name, `*` and `?` wildcards, case-insensitive
//!           | id:ID                node id (Azure object or resource id), case-insensitive
//!           | jewel:CATEGORY       crown jewels of a category (training-data, model, secrets, tier0, ...)
//!           | tag:KEY[=VALUE]      an Azure tag, present or with a value
//!           | KEY=VALUE            a node property, e.g. disableLocalAuth=false, platform="GitHub Actions"
//!           | WORD | "QUOTED"      a display name (wildcards allowed) or a node id
//! ```
//!
//! Keywords are case-insensitive; values may be quoted to hold spaces. Parse errors point at the
//! column with a caret and say what was expected.

use crate::glob::name_matches;
use crate::graph::NodeRef;
use crate::model::NodeKind;
use std::fmt;

/// A parsed selector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selector {
    Pipeline,
    CrownJewels,
    Tier0,
    All,
    Kind(NodeKind),
    Name(String),
    Id(String),
    Jewel(String),
    Tag(String, Option<String>),
    Prop(String, String),
    /// A bare word: a display name pattern or an id.
    Word(String),
    Not(Box<Selector>),
    And(Box<Selector>, Box<Selector>),
    Or(Box<Selector>, Box<Selector>),
}

/// A selector that does not parse: where, and what was expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SelectorError {
    pub input: String,
    /// 1-based column of the problem.
    pub column: usize,
    pub message: String,
}

impl fmt::Display for SelectorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "invalid selector at column {}: {}", self.column, self.message)?;
        writeln!(f, "  {}", self.input)?;
        write!(f, "  {}^", " ".repeat(self.column.saturating_sub(1)))
    }
}

impl std::error::Error for SelectorError {}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Word(String),
    Open,
    Close,
    Comma,
}

fn tokenize(input: &str) -> Result<Vec<(Tok, usize)>, SelectorError> {
    let err = |column: usize, message: &str| SelectorError { input: input.into(), column, message: message.into() };
    let chars: Vec<char> = input.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            c if c.is_whitespace() => i += 1,
            '(' => {
                out.push((Tok::Open, i + 1));
                i += 1;
            }
            ')' => {
                out.push((Tok::Close, i + 1));
                i += 1;
            }
            ',' => {
                out.push((Tok::Comma, i + 1));
                i += 1;
            }
            _ => {
                let start = i;
                let mut word = String::new();
                while i < chars.len() && !chars[i].is_whitespace() && !matches!(chars[i], '(' | ')' | ',') {
                    if chars[i] == '"' {
                        let open = i;
                        i += 1;
                        while i < chars.len() && chars[i] != '"' {
                            word.push(chars[i]);
                            i += 1;
                        }
                        if i == chars.len() {
                            return Err(err(open + 1, "unterminated quote: expected a closing `\"`"));
                        }
                        i += 1;
                    } else {
                        word.push(chars[i]);
                        i += 1;
                    }
                }
                out.push((Tok::Word(word), start + 1));
            }
        }
    }
    Ok(out)
}

/// The longest selector accepted, in bytes: far beyond any hand-written one, short enough that no
/// selector can make parsing or matching deep or slow.
pub const MAX_SELECTOR_LEN: usize = 4096;
/// How deeply `(` and `not` may nest: the parser recurses once per level.
pub const MAX_NESTING: usize = 64;

struct Parser<'a> {
    input: &'a str,
    toks: Vec<(Tok, usize)>,
    pos: usize,
    /// Open `(` and `not` around the current token.
    depth: usize,
}

impl Parser<'_> {
    fn err(&self, column: usize, message: impl Into<String>) -> SelectorError {
        SelectorError { input: self.input.into(), column, message: message.into() }
    }

    fn end_column(&self) -> usize {
        self.input.chars().count() + 1
    }

    fn peek_keyword(&self, kw: &str) -> bool {
        matches!(self.toks.get(self.pos), Some((Tok::Word(w), _)) if w.eq_ignore_ascii_case(kw))
    }

    fn or(&mut self) -> Result<Selector, SelectorError> {
        let mut left = self.and()?;
        while self.peek_keyword("or") || matches!(self.toks.get(self.pos), Some((Tok::Comma, _))) {
            self.pos += 1;
            let right = self.and()?;
            left = Selector::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Selector, SelectorError> {
        let mut left = self.unary()?;
        while self.peek_keyword("and") {
            self.pos += 1;
            let right = self.unary()?;
            left = Selector::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Selector, SelectorError> {
        let Some((tok, col)) = self.toks.get(self.pos).cloned() else {
            let what = if self.pos == 0 { "a selector" } else { "a selector after the operator" };
            return Err(self.err(self.end_column(), format!("expected {what}, found the end")));
        };
        let nests = matches!(&tok, Tok::Open) || matches!(&tok, Tok::Word(w) if w.eq_ignore_ascii_case("not"));
        if nests && self.depth >= MAX_NESTING {
            return Err(self.err(col, format!("nested too deeply: the limit is {MAX_NESTING} levels of `(` and `not`")));
        }
        match tok {
            Tok::Word(w) if w.eq_ignore_ascii_case("not") => {
                self.pos += 1;
                self.depth += 1;
                let inner = self.unary()?;
                self.depth -= 1;
                Ok(Selector::Not(Box::new(inner)))
            }
            Tok::Word(w) if w.eq_ignore_ascii_case("and") || w.eq_ignore_ascii_case("or") => {
                Err(self.err(col, format!("expected a selector, found the operator `{w}`")))
            }
            Tok::Open => {
                self.pos += 1;
                self.depth += 1;
                let inner = self.or()?;
                self.depth -= 1;
                match self.toks.get(self.pos) {
                    Some((Tok::Close, _)) => {
                        self.pos += 1;
                        Ok(inner)
                    }
                    Some((_, c)) => Err(self.err(*c, "expected `)` or an operator (and, or, not)")),
                    None => Err(self.err(self.end_column(), format!("expected `)` to close the `(` at column {col}"))),
                }
            }
            Tok::Close => Err(self.err(col, "expected a selector, found `)`")),
            Tok::Comma => Err(self.err(col, "expected a selector, found `,`")),
            Tok::Word(w) => {
                self.pos += 1;
                let mut sel = atom(&w).map_err(|m| self.err(col, m))?;
                // A name with spaces may be written unquoted: `Dave Lindqvist`.
                while let Selector::Word(name) = &sel {
                    let Some((Tok::Word(next), _)) = self.toks.get(self.pos) else { break };
                    if ["and", "or", "not"].iter().any(|k| next.eq_ignore_ascii_case(k)) {
                        break;
                    }
                    let Ok(Selector::Word(more)) = atom(next) else { break };
                    sel = Selector::Word(format!("{name} {more}"));
                    self.pos += 1;
                }
                Ok(sel)
            }
        }
    }
}

fn atom(w: &str) -> Result<Selector, String> {
    let lower = w.to_ascii_lowercase();
    match lower.as_str() {
        "pipeline" | "pipelines" => return Ok(Selector::Pipeline),
        "crown-jewels" | "crown-jewel" | "crownjewels" => return Ok(Selector::CrownJewels),
        "tier0" | "tier-0" => return Ok(Selector::Tier0),
        "all" | "*" => return Ok(Selector::All),
        _ => {}
    }
    let nonempty = |v: &str, what: &str| {
        if v.is_empty() {
            Err(format!("expected {what} after `{}`", &w[..w.len() - v.len()]))
        } else {
            Ok(v.to_string())
        }
    };
    if let Some((prefix, value)) = w.split_once(':') {
        match prefix.to_ascii_lowercase().as_str() {
            "kind" => {
                let v = nonempty(value, "a node kind")?;
                return NodeKind::parse(&v).map(Selector::Kind).ok_or_else(|| {
                    let kinds: Vec<&str> = NodeKind::ALL.iter().map(|k| k.as_str()).collect();
                    format!("unknown node kind `{v}`; expected one of {}", kinds.join(", "))
                });
            }
            "name" => return Ok(Selector::Name(nonempty(value, "a name pattern")?)),
            "id" => return Ok(Selector::Id(nonempty(value, "an id")?.to_ascii_lowercase())),
            "jewel" => return Ok(Selector::Jewel(nonempty(value, "a crown-jewel category")?.to_ascii_lowercase())),
            "tag" => {
                let v = nonempty(value, "a tag name")?;
                return Ok(match v.split_once('=') {
                    Some((k, val)) => Selector::Tag(k.to_string(), Some(val.to_string())),
                    None => Selector::Tag(v, None),
                });
            }
            // An ARM id such as /subscriptions/... has no prefix; anything else with a colon is a
            // name or id (GitHub subjects contain colons).
            _ => {}
        }
    }
    if let Some((k, v)) = w.split_once('=')
        && !k.is_empty()
        && !k.contains(':')
    {
        return Ok(Selector::Prop(k.to_string(), v.to_string()));
    }
    Ok(Selector::Word(w.to_string()))
}

impl Selector {
    pub fn parse(input: &str) -> Result<Selector, SelectorError> {
        if input.len() > MAX_SELECTOR_LEN {
            return Err(SelectorError {
                input: input.chars().take(60).collect::<String>() + "…",
                column: 1,
                message: format!("the selector is {} bytes long; the limit is {MAX_SELECTOR_LEN}", input.len()),
            });
        }
        let toks = tokenize(input)?;
        let mut p = Parser { input, toks, pos: 0, depth: 0 };
        let sel = p.or()?;
        if let Some((tok, col)) = p.toks.get(p.pos) {
            let found = match tok {
                Tok::Close => "`)` without a matching `(`".to_string(),
                Tok::Word(w) => format!("`{w}`"),
                _ => "more input".to_string(),
            };
            return Err(p.err(*col, format!("expected an operator (and, or) or the end, found {found}")));
        }
        Ok(sel)
    }

    /// Whether node `n` (of a graph, or a plain [`crate::model::Node`]) is selected.
    pub fn matches<'a>(&self, n: impl Into<NodeRef<'a>>) -> bool {
        let n = n.into();
        match self {
            Selector::Pipeline => n.is_pipeline(),
            Selector::CrownJewels => n.crown_jewel().is_some(),
            Selector::Tier0 => n.crown_jewel() == Some("tier0"),
            Selector::All => true,
            Selector::Kind(k) => n.kind == *k,
            Selector::Name(p) => name_matches(p, n.name),
            Selector::Id(id) => n.id == *id,
            Selector::Jewel(c) => n.crown_jewel() == Some(c.as_str()),
            Selector::Tag(k, v) => {
                let key = format!("tag:{k}");
                let found = n.props.iter().find(|(pk, _)| pk.eq_ignore_ascii_case(&key));
                match (found, v) {
                    (None, _) => false,
                    (Some(_), None) => true,
                    (Some((_, val)), Some(want)) => val.eq_ignore_ascii_case(want),
                }
            }
            Selector::Prop(k, v) => {
                n.props.iter().any(|(pk, pv)| pk.eq_ignore_ascii_case(k) && pv.eq_ignore_ascii_case(v))
            }
            Selector::Word(w) => n.id.eq_ignore_ascii_case(w) || name_matches(w, n.name),
            Selector::Not(s) => !s.matches(n),
            Selector::And(a, b) => a.matches(n) && b.matches(n),
            Selector::Or(a, b) => a.matches(n) || b.matches(n),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Selector::*;
    use super::*;

    fn node(kind: NodeKind, name: &str) -> crate::model::Node {
        crate::model::Node::new(format!("id-{name}"), kind, name)
    }

    #[test]
    fn precedence_is_not_then_and_then_or() {
        let s = Selector::parse("kind:User or kind:Group and not name:admin*").unwrap();
        assert_eq!(
            s,
            Or(
                Box::new(Kind(NodeKind::User)),
                Box::new(And(Box::new(Kind(NodeKind::Group)), Box::new(Not(Box::new(Name("admin*".into()))))))
            )
        );
        let s = Selector::parse("(kind:User or kind:Group) and name:a*").unwrap();
        assert!(matches!(s, And(..)));
        assert!(s.matches(&node(NodeKind::Group, "alpha")));
        assert!(!s.matches(&node(NodeKind::Group, "beta")));
    }

    #[test]
    fn atoms() {
        let sa = node(NodeKind::StorageAccount, "stmltraining")
            .with_prop("tag:data-classification", "Confidential")
            .with_prop("allowSharedKeyAccess", "false")
            .with_prop("crown_jewel", "training-data");
        for (sel, want) in [
            ("kind:storageaccount", true),
            ("name:STML*", true),
            ("name:st?ltraining", true),
            ("stmltraining", true),
            ("id:ID-stmltraining", true),
            ("tag:data-classification=confidential", true),
            ("tag:data-classification", true),
            ("tag:owner", false),
            ("allowSharedKeyAccess=false", true),
            ("allowSharedKeyAccess=true", false),
            ("jewel:training-data", true),
            ("crown-jewels", true),
            ("tier0", false),
            ("pipeline", false),
            ("all", true),
        ] {
            assert_eq!(Selector::parse(sel).unwrap().matches(&sa), want, "{sel}");
        }
        let ext = node(NodeKind::ExternalIdentity, "GitHub Actions: repo:o/r:ref:refs/heads/main")
            .with_prop("platform", "GitHub Actions");
        assert!(Selector::parse("platform=\"GitHub Actions\"").unwrap().matches(&ext));
        assert!(Selector::parse("\"GitHub Actions: repo:o/r:*\"").unwrap().matches(&ext));
        assert!(Selector::parse("name:\"GitHub Actions: *\"").unwrap().matches(&ext));
    }

    #[test]
    fn unquoted_names_may_have_spaces() {
        assert_eq!(Selector::parse("Dave Lindqvist").unwrap(), Word("Dave Lindqvist".into()));
        let s = Selector::parse("Dave Lindqvist or kind:Group").unwrap();
        assert!(matches!(s, Or(..)));
        assert!(s.matches(&node(NodeKind::User, "dave lindqvist")));
    }

    #[test]
    fn commas_are_or() {
        let s = Selector::parse("alice, bob").unwrap();
        assert!(s.matches(&node(NodeKind::User, "Bob")));
    }

    fn error(input: &str) -> SelectorError {
        Selector::parse(input).unwrap_err()
    }

    #[test]
    fn errors_point_at_the_column_and_say_what_was_expected() {
        let e = error("kind:User and");
        assert_eq!(e.column, 14);
        assert!(e.message.contains("expected a selector"), "{}", e.message);
        assert!(e.to_string().ends_with(&format!("  {}^", " ".repeat(13))), "{e}");

        let e = error("kind:Usr");
        assert_eq!(e.column, 1);
        assert!(e.message.contains("unknown node kind `Usr`") && e.message.contains("User"), "{}", e.message);

        let e = error("(kind:User or kind:Group");
        assert_eq!(e.column, 25);
        assert!(e.message.contains("expected `)`"), "{}", e.message);

        let e = error("kind:User kind:Group");
        assert_eq!(e.column, 11);
        assert!(e.message.contains("expected an operator"), "{}", e.message);

        let e = error("name:\"open");
        assert_eq!(e.column, 6);
        assert!(e.message.contains("unterminated quote"));

        let e = error("and kind:User");
        assert_eq!(e.column, 1);
        assert!(e.message.contains("found the operator `and`"));

        let e = error("");
        assert!(e.message.contains("expected a selector, found the end"));

        let e = error("kind:User)");
        assert_eq!(e.column, 10);
        assert!(e.message.contains("without a matching"));

        let e = error("name:");
        assert!(e.message.contains("expected a name pattern"), "{}", e.message);
    }

    #[test]
    fn deep_nesting_and_huge_selectors_are_errors_naming_the_limit_not_stack_overflows() {
        // 64 levels parse; 65 do not, whether `(` or `not`.
        let nested = |n: usize| format!("{}kind:User{}", "(".repeat(n), ")".repeat(n));
        assert!(Selector::parse(&nested(MAX_NESTING)).is_ok());
        let e = error(&nested(MAX_NESTING + 1));
        assert!(e.message.contains("nested too deeply") && e.message.contains("64"), "{}", e.message);
        assert_eq!(e.column, MAX_NESTING + 1);
        let e = error(&format!("{}kind:User", "not ".repeat(MAX_NESTING + 1)));
        assert!(e.message.contains("nested too deeply"), "{}", e.message);
        // What crashed before: ~10k parentheses, 20k `not`s.
        assert!(error(&nested(10_000)).message.contains("the selector is"));
        assert!(error(&"not ".repeat(20_000)).message.contains("limit is 4096"));
        // The longest accepted selector is a flat one and matches without deep recursion.
        let flat = vec!["kind:User"; MAX_SELECTOR_LEN / 10].join(",");
        assert!(flat.len() <= MAX_SELECTOR_LEN);
        assert!(Selector::parse(&flat).unwrap().matches(&node(NodeKind::User, "x")));
    }

    #[test]
    fn names_match_by_glob_in_any_case() {
        let sel = |s: &str| Selector::parse(s).unwrap();
        let n = node(NodeKind::User, "Équipe-Données-7");
        assert!(sel("name:équipe-*-?").matches(&n));
        assert!(sel("ÉQUIPE*").matches(&n));
        assert!(!sel("name:équipe-?").matches(&n));
        let n = node(NodeKind::User, "build?agent");
        assert!(sel(r#"name:"build?agent""#).matches(&n));
        assert!(sel("name:BUILD*").matches(&n));
    }
}
