//! Saved queries: `queries/*.toml`, each a named question with a severity, run by
//! `azpath query run NAME|FILE`. The library in the repository's `queries/` is built into the
//! binary; a directory of your own (`--queries DIR`) adds to it or overrides by name.
//!
//! ```toml
//! name = "pipeline-to-training-data"
//! description = "Pipeline identities that can read or write training data"
//! severity = "high"            # critical | high | medium | low
//! from = "pipeline"            # a selector (see `query::select`)
//! to = "jewel:training-data"
//! [options]                    # any of PathOptions: max_hops, without_eligible, only_eligible,
//! max_hops = 10                # exclude_edges, avoid, last_edge, k, all_equal
//! ```

use super::PathOptions;
use serde::{Deserialize, Serialize};
use std::path::Path;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Critical,
    High,
    Medium,
    Low,
}

impl Severity {
    /// The name used in query files and output ("high").
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Critical => "critical",
            Severity::High => "high",
            Severity::Medium => "medium",
            Severity::Low => "low",
        }
    }
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SavedQuery {
    pub name: String,
    pub description: String,
    pub severity: Severity,
    pub from: String,
    pub to: String,
    #[serde(default)]
    pub options: PathOptions,
    /// Where it was read from (`built-in` or a file path).
    #[serde(skip)]
    pub origin: String,
}

#[derive(Debug, thiserror::Error)]
pub enum SavedQueryError {
    #[error("cannot read {path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("{path} is not a valid saved query: {message}")]
    Invalid { path: String, message: String },
    #[error("no saved query named {0:?}; `azpath query list` shows them")]
    Unknown(String),
}

/// The shipped library, compiled in so `azpath query` works from any directory.
const BUILTIN: &[(&str, &str)] = &[
    ("pipeline-to-training-data.toml", include_str!("../../queries/pipeline-to-training-data.toml")),
    ("pipeline-to-models.toml", include_str!("../../queries/pipeline-to-models.toml")),
    ("pipeline-to-secrets.toml", include_str!("../../queries/pipeline-to-secrets.toml")),
    ("pipeline-to-tier0.toml", include_str!("../../queries/pipeline-to-tier0.toml")),
    ("anyone-to-openai-keys.toml", include_str!("../../queries/anyone-to-openai-keys.toml")),
    ("eligible-only-escalations.toml", include_str!("../../queries/eligible-only-escalations.toml")),
    ("external-identities-to-anything.toml", include_str!("../../queries/external-identities-to-anything.toml")),
    ("users-to-global-admin.toml", include_str!("../../queries/users-to-global-admin.toml")),
];

/// The longest saved-query name.
pub const MAX_NAME_LEN: usize = 64;

/// A saved query's name becomes a file name (`export dot --all` writes `NAME.dot`) and appears in
/// SVG and DOT comments: ASCII letters, digits, `-`, `_` and `.`, not starting with `.`, so it can
/// never be a path (`../x`, `/etc/x`), a hidden file, or break out of a comment (`-->`).
pub fn check_name(name: &str) -> Result<(), String> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
    if name.is_empty() || name.len() > MAX_NAME_LEN || name.starts_with('.') || !name.chars().all(allowed) {
        return Err(format!(
            "`name` {name:?} is not a valid query name: use 1 to {MAX_NAME_LEN} ASCII letters, digits, `-`, `_` or `.`, not starting with `.`"
        ));
    }
    Ok(())
}

pub fn parse(text: &str, origin: &str) -> Result<SavedQuery, SavedQueryError> {
    let mut q: SavedQuery = toml::from_str(text)
        .map_err(|e| SavedQueryError::Invalid { path: origin.into(), message: e.to_string().trim().to_string() })?;
    let invalid = |message: String| SavedQueryError::Invalid { path: origin.into(), message };
    check_name(&q.name).map_err(invalid)?;
    q.options.check().map_err(|e| invalid(format!("`options`: {e}")))?;
    for (what, sel) in [("from", Some(&q.from)), ("to", Some(&q.to)), ("options.avoid", q.options.avoid.as_ref())] {
        if let Some(sel) = sel {
            super::Selector::parse(sel)
                .map_err(|e| SavedQueryError::Invalid { path: origin.into(), message: format!("`{what}`: {e}") })?;
        }
    }
    q.origin = origin.to_string();
    Ok(q)
}

/// The built-in library, sorted by severity then name.
pub fn builtin() -> Vec<SavedQuery> {
    let mut out: Vec<SavedQuery> = BUILTIN
        .iter()
        .map(|(file, text)| parse(text, &format!("built-in {file}")).expect("shipped queries parse (tested)"))
        .collect();
    out.sort_by(|a, b| (a.severity, &a.name).cmp(&(b.severity, &b.name)));
    out
}

pub fn load_file(path: &Path) -> Result<SavedQuery, SavedQueryError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| SavedQueryError::Io { path: shown.clone(), source })?;
    parse(&text, &shown)
}

/// The built-in library plus every `*.toml` in `dir` (same name: the file wins).
pub fn library(dir: Option<&Path>) -> Result<Vec<SavedQuery>, SavedQueryError> {
    let mut out = builtin();
    if let Some(dir) = dir {
        let shown = dir.display().to_string();
        let mut files: Vec<_> = std::fs::read_dir(dir)
            .map_err(|source| SavedQueryError::Io { path: shown, source })?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect();
        files.sort();
        for f in files {
            let q = load_file(&f)?;
            out.retain(|b| b.name != q.name);
            out.push(q);
        }
        out.sort_by(|a, b| (a.severity, &a.name).cmp(&(b.severity, &b.name)));
    }
    Ok(out)
}

impl SavedQuery {
    /// Runs the query on a graph: its paths, as `azpath paths` would find them.
    pub fn run(&self, g: &crate::graph::AttackGraph) -> Result<Vec<crate::graph::Path>, super::QueryError> {
        super::paths(g, &super::select(g, &self.from)?, &super::select(g, &self.to)?, &self.options)
    }
}

/// The queries a command names: the whole library with `all`, else each name (or file) in order.
pub fn choose(names: &[String], all: bool, dir: Option<&Path>) -> Result<Vec<SavedQuery>, SavedQueryError> {
    if all { library(dir) } else { names.iter().map(|n| find(n, dir)).collect() }
}

/// A query by name from the library, or from a file when `name` is a path to one.
pub fn find(name: &str, dir: Option<&Path>) -> Result<SavedQuery, SavedQueryError> {
    let p = Path::new(name);
    if name.ends_with(".toml") || p.is_file() {
        return load_file(p);
    }
    library(dir)?.into_iter().find(|q| q.name == name).ok_or_else(|| SavedQueryError::Unknown(name.into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_library_parses_and_names_are_unique() {
        let lib = builtin();
        assert_eq!(lib.len(), BUILTIN.len());
        let mut names: Vec<&str> = lib.iter().map(|q| q.name.as_str()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), lib.len());
        for (file, _) in BUILTIN {
            assert!(lib.iter().any(|q| format!("{}.toml", q.name) == *file), "{file} must be named after its query");
        }
    }

    #[test]
    fn bad_queries_are_clear_errors() {
        let e = parse(
            "name = \"x\"\ndescription = \"d\"\nseverity = \"high\"\nfrom = \"kind:User and\"\nto = \"all\"\n",
            "x.toml",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("x.toml") && e.contains("`from`") && e.contains("expected a selector"), "{e}");
        let e =
            parse("name = \"x\"\ndescription = \"d\"\nseverity = \"urgent\"\nfrom = \"all\"\nto = \"all\"\n", "x.toml")
                .unwrap_err()
                .to_string();
        assert!(e.contains("urgent"), "{e}");
        for bad in ["../x", "/etc/passwd", "a-->b", ".hidden", "", "a b", "x\\u001b[2J"] {
            let text =
                format!("name = \"{bad}\"\ndescription = \"d\"\nseverity = \"low\"\nfrom = \"all\"\nto = \"all\"\n");
            let e = parse(&text, "q.toml").unwrap_err().to_string();
            assert!(e.contains("is not a valid query name"), "{bad}: {e}");
        }
        let e = parse("name = \"x\"\ndescription = \"d\"\nseverity = \"low\"\nfrom = \"all\"\nto = \"all\"\n[options]\nmax_hops = 100000\n", "x.toml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("the limit is 64 hops"), "{e}");
        let e = parse("name = \"x\"\ndescription = \"d\"\nseverity = \"low\"\nfrom = \"all\"\nto = \"all\"\n[options]\nmax_hop = 3\n", "x.toml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("max_hop"), "{e}");
    }
}
