//! Turning paths into words (for people) and JSON documents (for scripts). Pure: returns strings and
//! serializable documents; only `main` writes them anywhere. Tenant text in words goes through
//! `escape::terminal` (the JSON documents keep it exact).

pub mod diff;
pub mod fix;

use crate::escape::{Medium, terminal};
use crate::graph::{AttackGraph, NodeRef, Path, Reached};
use crate::model::{Edge, NodeKind};
use serde::Serialize;
use std::fmt::Write;

/// The version of the JSON documents azpath prints; bumped on any incompatible change.
pub const PATHS_SCHEMA: &str = "azpath.paths/1";

/// Terminal styling: ANSI colours only when writing to a terminal and `NO_COLOR` is unset.
#[derive(Debug, Clone, Copy, Default)]
pub struct Style {
    pub color: bool,
}

impl Style {
    fn wrap(&self, code: &str, s: &str) -> String {
        if self.color { format!("\x1b[{code}m{s}\x1b[0m") } else { s.to_string() }
    }
    pub fn bold(&self, s: &str) -> String {
        self.wrap("1", s)
    }
    pub fn dim(&self, s: &str) -> String {
        self.wrap("2", s)
    }
    pub fn red(&self, s: &str) -> String {
        self.wrap("31", s)
    }
    pub fn yellow(&self, s: &str) -> String {
        self.wrap("33", s)
    }
    pub fn cyan(&self, s: &str) -> String {
        self.wrap("36", s)
    }
}

/// The rule book as Markdown (`docs/rules.md`): every rule with the edges it makes, its summary and
/// its documentation (what it does, why it matters, when it must not fire), in the order they run.
pub fn rules_markdown(rules: &[&crate::rules::Rule]) -> String {
    let mut s = String::from(
        "# Rules\n\nGenerated from the rules themselves (`azpath rules`); a test fails when this file is stale \
(regenerate with `AZPATH_UPDATE_DOCS=1 cargo test --test it docs::`). Edge semantics: `docs/ARCHITECTURE.md`.\n\n\
| Rule | Edges | Summary |\n|---|---|---|\n",
    );
    for r in rules {
        let kinds: Vec<&str> = r.edges.iter().map(|k| k.as_str()).collect();
        let _ = writeln!(s, "| [`{}`](#{}) | {} | {} |", r.id, r.id, kinds.join(", "), r.summary.replace('|', "\\|"));
    }
    for r in rules {
        let kinds: Vec<&str> = r.edges.iter().map(|k| k.as_str()).collect();
        let _ = write!(s, "\n## {}\n\nEdges: {}.\n\n{}\n\n", r.id, kinds.join(", "), r.summary);
        // The doc's fixed sections, one paragraph each.
        let mut doc = r.doc.to_string();
        for section in ["Why it matters:", "Must not fire:", "Must not be traversed:"] {
            doc = doc.replace(&format!(" {section}"), &format!("\n\n{section}"));
        }
        let _ = writeln!(s, "{doc}");
    }
    s
}

/// "stmltraining [StorageAccount]"
pub fn label(n: NodeRef<'_>) -> String {
    format!("{} [{}]", n.name, n.kind)
}

/// How bad reaching a crown jewel of this category is; lower is worse. Orders headlines.
pub fn severity_rank(n: NodeRef<'_>) -> u8 {
    match n.crown_jewel() {
        Some("tier0") => 0,
        Some("secrets") => 1,
        Some("model") => 2,
        Some("training-data") => 3,
        Some(_) => 4,
        None => 5,
    }
}

/// What a crown jewel is, in words: "training data: datastore ... of ML workspace mlw-prod".
pub fn jewel_text(n: NodeRef<'_>) -> String {
    let Some(c) = n.crown_jewel() else { return String::new() };
    match n.prop("crown_jewel_reason") {
        Some(r) => format!("{}: {r}", c.replace('-', " ")),
        None => c.replace('-', " "),
    }
}

fn hop_marks(e: &Edge, style: Style) -> String {
    let mut marks = String::new();
    if e.requires_activation {
        marks.push_str(&style.yellow(" [PIM: requires activation]"));
    }
    if e.conditional {
        marks.push_str(&style.yellow(" [conditional]"));
    }
    marks
}

/// One path, hop by hop with reasons, and with evidence when `explain` is set.
pub fn path_text(g: &AttackGraph, p: &Path, explain: bool, style: Style) -> String {
    let mut s = String::new();
    for (i, &ei) in p.edges.iter().enumerate() {
        let e = g.edge(ei);
        let (from, to) = (g.node(g.edge_source(ei)), g.node(g.edge_target(ei)));
        let _ = writeln!(
            s,
            "    {:>2}. {} --{}--> {}{}",
            i + 1,
            terminal(&label(from)),
            style.cyan(e.kind.as_str()),
            terminal(&label(to)),
            hop_marks(&e, style)
        );
        let _ = writeln!(s, "        {}", style.dim(&terminal(&e.reason(g))));
        if explain {
            for ev in &e.evidence() {
                let _ = writeln!(s, "          {}: {}", ev.label(), terminal(&ev.value));
            }
            let _ = writeln!(s, "          rule: {} (azpath rules {})", e.rule, e.rule);
        }
    }
    s
}

/// A node's name for one-line paths, telling identities apart from the resources they belong to
/// ("func-scoring" the app vs "func-scoring (managed identity)").
pub fn short_name(n: NodeRef<'_>) -> String {
    match n.kind {
        NodeKind::ServicePrincipal if n.prop("sp_type").is_some_and(|t| t.eq_ignore_ascii_case("ManagedIdentity")) => {
            format!("{} (managed identity)", n.name)
        }
        NodeKind::UserAssignedIdentity => format!("{} (user-assigned identity)", n.name),
        NodeKind::Application => format!("{} (app registration)", n.name),
        _ => n.name.to_string(),
    }
}

/// A path on one line for a terminal: "carol -MemberOf-> grp-ds -ExecuteOn-> gpu-cluster".
pub fn path_line(g: &AttackGraph, p: &Path, style: Style) -> String {
    path_line_in(Medium::Terminal, g, p, style)
}

/// A path on one line, its names escaped for `medium`.
pub fn path_line_in(medium: Medium, g: &AttackGraph, p: &Path, style: Style) -> String {
    let mut s = medium.text(&short_name(g.node(p.source))).into_owned();
    for &ei in &p.edges {
        let e = g.edge(ei);
        let to = g.node(g.edge_target(ei));
        let kind = if e.requires_activation { format!("{}(PIM)", e.kind) } else { e.kind.to_string() };
        let _ = write!(s, " -{}-> {}", style.cyan(&kind), medium.text(&short_name(to)));
    }
    s
}

/// A path as one line, then one reason per hop: denser than [`path_text`], for headlines.
pub fn path_brief(g: &AttackGraph, p: &Path, indent: &str, style: Style) -> String {
    let mut s = format!("{indent}{}\n", path_line(g, p, style));
    for (i, &ei) in p.edges.iter().enumerate() {
        let e = g.edge(ei);
        let _ = writeln!(s, "{indent}  {}. {}{}", i + 1, style.dim(&terminal(&e.reason(g))), hop_marks(&e, style));
    }
    s
}

/// Summary words for a path: "4 hops, effort 7, needs PIM activation".
pub fn path_summary(g: &AttackGraph, p: &Path, style: Style) -> String {
    let mut s = format!("{} hop{}, effort {}", p.hops(), if p.hops() == 1 { "" } else { "s" }, p.cost);
    if p.requires_activation(g) {
        s.push_str(&style.yellow(", needs PIM activation"));
    }
    if p.edges.iter().any(|&e| g.edge_kind(e) == crate::model::EdgeKind::ReEnableKeys) {
        s.push_str(&style.yellow(", changes a resource's configuration"));
    }
    s
}

/// Paths grouped by source, each with its target, summary and hops.
pub fn paths_text(g: &AttackGraph, paths: &[Path], explain: bool, style: Style) -> String {
    let mut s = String::new();
    let mut last_source = None;
    for p in paths {
        if last_source != Some(p.source) {
            let src = g.node(p.source);
            let _ = writeln!(s, "\n{}", style.bold(&terminal(&label(src))));
            last_source = Some(p.source);
        }
        let target = g.node(p.target);
        let jewel = jewel_text(target);
        let jewel = if jewel.is_empty() { String::new() } else { format!("  ({})", terminal(&jewel)) };
        let _ = writeln!(s, "  -> {}{}", style.red(&style.bold(&terminal(&label(target)))), jewel);
        let _ = writeln!(s, "     {}", path_summary(g, p, style));
        s.push_str(&path_text(g, p, explain, style));
    }
    s
}

// The JSON documents are typed structs that serialize straight from the graph, so a query with
// hundreds of thousands of paths is written without building a `Value` tree first. Fields are in
// alphabetical order, the order the documents have always had (`docs/json-schema.md`).

#[derive(Serialize)]
pub struct NodeJson<'a> {
    id: &'a str,
    kind: NodeKind,
    name: &'a str,
    props: crate::graph::PropsRef<'a>,
}

fn node_json(n: NodeRef<'_>) -> NodeJson<'_> {
    NodeJson { id: n.id, kind: n.kind, name: n.name, props: n.props }
}

#[derive(Serialize)]
pub struct HopJson<'a> {
    conditional: bool,
    cost: u32,
    evidence: EvidenceJson,
    from: &'a str,
    kind: crate::model::EdgeKind,
    reason: String,
    requires_activation: bool,
    rule: &'a str,
    to: &'a str,
}

/// A hop's evidence in a JSON document: `{label, value}` per piece, as `azpath.paths/1` defines it.
pub struct EvidenceJson(Vec<crate::model::Evidence>);

impl Serialize for EvidenceJson {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct One<'a> {
            label: &'a str,
            value: &'a str,
        }
        s.collect_seq(self.0.iter().map(|e| One { label: e.label(), value: &e.value }))
    }
}

/// A path as JSON: endpoints, totals, and every hop with its reason and evidence.
#[derive(Serialize)]
pub struct PathJson<'a> {
    cost: u32,
    hops: usize,
    path: Vec<HopJson<'a>>,
    requires_activation: bool,
    source: NodeJson<'a>,
    target: NodeJson<'a>,
}

pub fn path_json<'a>(g: &'a AttackGraph, p: &Path) -> PathJson<'a> {
    let path = p
        .edges
        .iter()
        .map(|&ei| {
            let e = g.edge(ei);
            HopJson {
                conditional: e.conditional,
                cost: e.cost,
                evidence: EvidenceJson(e.evidence()),
                from: g.node(g.edge_source(ei)).id,
                kind: e.kind,
                reason: e.reason(g),
                requires_activation: e.requires_activation,
                rule: g.edge_rule(ei),
                to: g.node(g.edge_target(ei)).id,
            }
        })
        .collect();
    PathJson {
        cost: p.cost,
        hops: p.hops(),
        path,
        requires_activation: p.requires_activation(g),
        source: node_json(g.node(p.source)),
        target: node_json(g.node(p.target)),
    }
}

/// Which snapshot a document is about.
#[derive(Serialize)]
pub struct SnapshotJson<'a> {
    collected_at: &'a str,
    completeness: &'a [crate::facts::CompletenessNote],
    id: i64,
    tenant_id: &'a str,
    tenant_name: &'a str,
}

/// The JSON document for a list of paths (`azpath.paths/1`); `query run` adds the query, the demo
/// its extra sections.
#[derive(Serialize)]
pub struct PathsJson<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contained_pipeline_identities: Option<Vec<&'a str>>,
    /// Made as they are written: a large tenant's query has tens of thousands.
    pub paths: PathList<'a>,
    /// The saved query, as a JSON object (keys sorted, as in every azpath document).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query: Option<serde_json::Value>,
    pub schema: &'static str,
    pub snapshot: SnapshotJson<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_paths: Option<Vec<PathJson<'a>>>,
}

pub fn paths_json<'a>(
    g: &'a AttackGraph,
    snapshot: &'a crate::model::SnapshotInfo,
    paths: &'a [Path],
) -> PathsJson<'a> {
    PathsJson {
        contained_pipeline_identities: None,
        paths: PathList { g, paths },
        query: None,
        schema: PATHS_SCHEMA,
        snapshot: SnapshotJson {
            collected_at: &snapshot.collected_at,
            completeness: &snapshot.completeness,
            id: snapshot.id,
            tenant_id: &snapshot.tenant_id,
            tenant_name: &snapshot.tenant_name,
        },
        user_paths: None,
    }
}

/// Blast radius (`reach`) or its reverse (`who-can-reach`): the nodes found, grouped by kind, each
/// with hops and effort, and with `paths` (the same results, in the same order) its easiest path;
/// written to `out` a mebibyte at a time (a blast radius of millions is hundreds of megabytes, which
/// as one text were as many fresh pages to fault in).
pub fn reach_text(
    out: &mut (impl std::io::Write + ?Sized),
    g: &AttackGraph,
    found: &[Reached],
    paths: Option<&[Path]>,
    style: Style,
) -> std::io::Result<()> {
    const PIECE: usize = 1 << 20;
    debug_assert!(paths.is_none_or(|p| p.len() == found.len()), "one path per result");
    let mut s: Vec<u8> = Vec::with_capacity(PIECE + 4096);
    // Grouped by kind in one pass (each group in the order found): a blast radius lists millions.
    let mut by_kind: std::collections::BTreeMap<NodeKind, Vec<u32>> = Default::default();
    for (i, r) in found.iter().enumerate() {
        by_kind.entry(g.nodes.kind(r.node.index())).or_default().push(i as u32);
    }
    // A line reads only its node's name, and whether it is a crown jewel from a bit per node made
    // in one pass: reading each node's properties where it comes scatters over millions.
    let jewels = g.nodes.key_code("crown_jewel").map(|code| g.nodes.with_key(code));
    let pim = style.yellow("  [PIM]");
    for (kind, mine) in by_kind {
        s.extend_from_slice(format!("\n{} ({})\n", style.bold(kind.as_str()), mine.len()).as_bytes());
        for i in mine {
            let r = &found[i as usize];
            let n = r.node.index();
            let jewel = match &jewels {
                Some(bits) if bits[n] => jewel_text(g.node(r.node)),
                _ => String::new(),
            };
            let jewel = if jewel.is_empty() { jewel } else { style.red(&format!("  [{}]", terminal(&jewel))) };
            let pim = if r.needs_activation { pim.as_str() } else { "" };
            push_reach_line(&mut s, &terminal(g.nodes.name(n)), r.hops as usize, r.cost, pim, &jewel);
            if let Some(paths) = paths {
                s.extend_from_slice(format!("      {}\n", path_line(g, &paths[i as usize], style)).as_bytes());
            }
            if s.len() >= PIECE {
                out.write_all(&s)?;
                s.clear();
            }
        }
    }
    out.write_all(&s)
}

/// Appends one result line of [`reach_text`], as `writeln!(s, "  {name:<40} {hops:>2} hops, effort
/// {cost:>3}{pim}{jewel}")` would, without the formatting machinery: a blast radius lists millions.
fn push_reach_line(s: &mut Vec<u8>, name: &str, hops: usize, cost: u32, pim: &str, jewel: &str) {
    s.extend_from_slice(b"  ");
    s.extend_from_slice(name.as_bytes());
    let width = if name.is_ascii() { name.len() } else { name.chars().count() };
    push_spaces(s, 40usize.saturating_sub(width));
    s.push(b' ');
    push_right_aligned(s, hops as u64, 2);
    s.extend_from_slice(b" hops, effort ");
    push_right_aligned(s, u64::from(cost), 3);
    s.extend_from_slice(pim.as_bytes());
    s.extend_from_slice(jewel.as_bytes());
    s.push(b'\n');
}

/// Appends `n` spaces as one slice (a character at a time showed in a blast radius's profile).
fn push_spaces(s: &mut Vec<u8>, n: usize) {
    const SPACES: &[u8] = b"                                        ";
    let mut left = n;
    while left > 0 {
        let piece = left.min(SPACES.len());
        s.extend_from_slice(&SPACES[..piece]);
        left -= piece;
    }
}

/// Appends `n` in decimal, padded on the left with spaces to `width` characters (`{:>width$}`).
fn push_right_aligned(s: &mut Vec<u8>, n: u64, width: usize) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    let mut rest = n;
    loop {
        at -= 1;
        digits[at] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    push_spaces(s, width.saturating_sub(digits.len() - at));
    s.extend_from_slice(&digits[at..]);
}

/// Paths as a JSON list, each put into words as it is written: `reach` on a large tenant lists
/// millions, which as documents at once would need tens of GiB.
pub struct PathList<'a> {
    g: &'a AttackGraph,
    paths: &'a [Path],
}

impl Serialize for PathList<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.paths.iter().map(|p| path_json(self.g, p)))
    }
}

/// The JSON document for `reach` / `who-can-reach`.
#[derive(Serialize)]
pub struct ReachJson<'a> {
    results: PathList<'a>,
    schema: &'static str,
    snapshot: ReachSnapshotJson<'a>,
}

#[derive(Serialize)]
struct ReachSnapshotJson<'a> {
    collected_at: &'a str,
    id: i64,
    tenant_id: &'a str,
}

pub fn reach_json<'a>(
    g: &'a AttackGraph,
    snapshot: &'a crate::model::SnapshotInfo,
    paths: &'a [Path],
    reverse: bool,
) -> ReachJson<'a> {
    ReachJson {
        results: PathList { g, paths },
        schema: if reverse { "azpath.who-can-reach/1" } else { "azpath.reach/1" },
        snapshot: ReachSnapshotJson {
            collected_at: &snapshot.collected_at,
            id: snapshot.id,
            tenant_id: &snapshot.tenant_id,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reach_tables_mark_crown_jewels_and_activations() {
        use crate::graph::NodeId;
        use crate::model::Node;
        let nodes = vec![
            Node::new("a", NodeKind::User, "ann"),
            Node::new("b", NodeKind::KeyVault, "kv").with_prop("crown_jewel", "sensitive-data"),
            Node::new("c", NodeKind::KeyVault, "kv2")
                .with_prop("crown_jewel", "secrets")
                .with_prop("crown_jewel_reason", "tag \u{1b}[2J"),
            Node::new("d", NodeKind::KeyVault, "odd").with_prop("crown_jewel", ""),
        ];
        let g = AttackGraph::new(nodes, Vec::new());
        let found: Vec<Reached> = [(3, false), (1, true), (0, false), (2, false)]
            .into_iter()
            .map(|(n, needs_activation)| Reached { node: NodeId(n), cost: 3, hops: 1, needs_activation })
            .collect();
        let mut out = Vec::new();
        reach_text(&mut out, &g, &found, None, Style { color: false }).unwrap();
        let line = |name: &str, rest: &str| format!("  {name:<40}  1 hops, effort   3{rest}");
        // Kinds in their declared order; in a kind, the order found. An empty category is no mark.
        let want = [
            String::new(),
            "User (1)".into(),
            line("ann", ""),
            String::new(),
            "KeyVault (3)".into(),
            line("odd", ""),
            line("kv", "  [PIM]  [sensitive data]"),
            line("kv2", "  [secrets: tag \\u{1b}[2J]"),
            String::new(),
        ];
        assert_eq!(String::from_utf8(out).unwrap(), want.join("\n"));
    }

    #[test]
    fn reach_lines_are_written_as_the_format_string_would_write_them() {
        let long = "x".repeat(45);
        for name in ["", "user000001", "Zoë Müller (ü, 日本)", long.as_str(), &"é".repeat(40)] {
            for (hops, cost) in [(0, 0), (1, 7), (12, 123), (100, 4567), (usize::MAX, u32::MAX)] {
                for (pim, jewel) in [("", ""), ("  [PIM]", "  [tier0: x]")] {
                    let mut s = Vec::new();
                    push_reach_line(&mut s, name, hops, cost, pim, jewel);
                    assert_eq!(
                        String::from_utf8(s).unwrap(),
                        format!("  {name:<40} {hops:>2} hops, effort {cost:>3}{pim}{jewel}\n")
                    );
                }
            }
        }
    }
}
