//! SARIF 2.1.0 for GitHub code scanning: one rule per saved query (its description; its severity
//! as the level and GitHub's `security-severity`), one result per path found, the path in words as
//! the message, and a fingerprint per (query, source, target) that stays the same across runs and
//! snapshots, so code scanning tracks a finding until the path is gone.

use crate::escape::Medium;
use crate::graph::{AttackGraph, Path};
use crate::query::saved::{SavedQuery, Severity};
use crate::report::{self, Style};
use serde_json::{Value, json};

/// The schema a SARIF log names (the OASIS 2.1.0 errata 01 schema, shipped as
/// `tests/data/sarif-2.1.0.json`).
pub const SCHEMA_URI: &str =
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";

/// The key of azpath's fingerprint in `partialFingerprints`; bump the version if its input changes.
pub const FINGERPRINT_KEY: &str = "azpathFinding/v1";

/// One rule's findings: a saved query's, or an ad-hoc `paths` question's.
pub struct RuleFindings<'a> {
    /// The rule id: the saved query's name, or `paths`.
    pub id: String,
    pub description: String,
    pub severity: Severity,
    /// The file the rule is defined in, relative to the repository (`queries/NAME.toml` for a
    /// built-in query): each result's location, which code scanning requires. `None` for `paths`.
    pub file: Option<String>,
    pub paths: &'a [Path],
}

impl<'a> RuleFindings<'a> {
    /// A saved query's findings; its file is where it was read from (built-in ones are in `queries/`).
    pub fn of_query(q: &SavedQuery, paths: &'a [Path]) -> RuleFindings<'a> {
        let file = match q.origin.strip_prefix("built-in ") {
            Some(file) => format!("queries/{file}"),
            None if q.origin.is_empty() => format!("queries/{}.toml", q.name),
            None => q.origin.replace('\\', "/"),
        };
        RuleFindings {
            id: q.name.clone(),
            description: q.description.clone(),
            severity: q.severity,
            file: Some(file),
            paths,
        }
    }
}

/// SARIF's level for a severity: critical and high are errors, medium a warning, low a note.
pub fn level(s: Severity) -> &'static str {
    match s {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low => "note",
    }
}

/// GitHub's `security-severity` (a CVSS-like score that it shows as critical/high/medium/low).
fn security_severity(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "9.5",
        Severity::High => "8.0",
        Severity::Medium => "5.5",
        Severity::Low => "3.0",
    }
}

/// The stable fingerprint of a finding: a hash of the rule id and the two ends' Azure ids (never
/// graph positions or snapshot numbers, which change between runs).
pub fn fingerprint(rule: &str, source_id: &str, target_id: &str) -> String {
    let key = format!("{rule}\u{0}{source_id}\u{0}{target_id}");
    format!("{:032x}", xxhash_rust::xxh3::xxh3_128(key.as_bytes()))
}

/// A path in words for the result message, tenant text escaped as for a terminal (no control or
/// bidi characters reach the code-scanning page).
fn message(g: &AttackGraph, p: &Path) -> String {
    let plain = Style { color: false };
    let (source, target) = (g.node(p.source), g.node(p.target));
    let jewel = report::jewel_text(target);
    let jewel = if jewel.is_empty() { String::new() } else { format!(" ({})", Medium::Terminal.text(&jewel)) };
    format!(
        "{} can reach {}{jewel}: {}. Path: {}",
        Medium::Terminal.text(&report::label(source)),
        Medium::Terminal.text(&report::label(target)),
        report::path_summary(g, p, plain),
        report::path_line_in(Medium::Terminal, g, p, plain)
    )
}

fn logical(g: &AttackGraph, n: crate::graph::NodeId) -> Value {
    let node = g.node(n);
    json!({"name": shown(node.name), "fullyQualifiedName": shown(node.id), "kind": node.kind.as_str()})
}

/// SARIF is read by people (GitHub's code scanning pages), so every piece of tenant or query text
/// in it is escaped as for a terminal; only the fingerprint hashes the exact ids.
fn shown(s: &str) -> String {
    Medium::Terminal.text(s).into_owned()
}

/// The SARIF log of one run over `rules` (load the paths' evidence first).
pub fn sarif(g: &AttackGraph, rules: &[RuleFindings]) -> Value {
    let mut results = Vec::new();
    let mut descriptors = Vec::new();
    for (index, rule) in rules.iter().enumerate() {
        descriptors.push(json!({
            "id": rule.id,
            "shortDescription": {"text": shown(&rule.description)},
            "fullDescription": {"text": format!("{} (azpath saved query {}, severity {}).", shown(&rule.description), rule.id, rule.severity)},
            "defaultConfiguration": {"level": level(rule.severity)},
            "help": {"text": "Each result is an attack path: whoever controls its first node can, with its rights alone, take the next one. `azpath explain SOURCE TARGET` shows the evidence of every hop."},
            "properties": {"tags": ["security", "azure", "attack-path"], "security-severity": security_severity(rule.severity)},
        }));
        for p in rule.paths {
            let (source, target) = (g.node(p.source), g.node(p.target));
            let mut result = json!({
                "ruleId": rule.id,
                "ruleIndex": index,
                "level": level(rule.severity),
                "message": {"text": message(g, p)},
                "partialFingerprints": {FINGERPRINT_KEY: fingerprint(&rule.id, source.id, target.id)},
                "properties": {"source": shown(source.id), "target": shown(target.id), "hops": p.hops(), "effort": p.cost},
            });
            let mut location = json!({"logicalLocations": [logical(g, p.source), logical(g, p.target)]});
            if let Some(file) = &rule.file {
                location["physicalLocation"] = json!({"artifactLocation": {"uri": file}, "region": {"startLine": 1}});
            }
            result["locations"] = json!([location]);
            results.push(result);
        }
    }
    json!({
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "azpath",
                "version": env!("CARGO_PKG_VERSION"),
                "semanticVersion": env!("CARGO_PKG_VERSION"),
                "rules": descriptors,
            }},
            "results": results,
        }],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_depends_on_rule_and_ends_only() {
        let a = fingerprint("q", "s", "t");
        assert_eq!(a, fingerprint("q", "s", "t"));
        assert_eq!(a.len(), 32);
        assert_ne!(a, fingerprint("q", "t", "s"));
        assert_ne!(a, fingerprint("q2", "s", "t"));
        // The separator keeps ("ab", "c") apart from ("a", "bc").
        assert_ne!(fingerprint("q", "ab", "c"), fingerprint("q", "a", "bc"));
    }

    #[test]
    fn levels_follow_severity() {
        assert_eq!(level(Severity::Critical), "error");
        assert_eq!(level(Severity::Medium), "warning");
        assert_eq!(level(Severity::Low), "note");
    }
}
