//! A diff in words (terminal, Markdown) and as the `azpath.diff/1` JSON document. The diff itself
//! is computed by `crate::diff`; this module only puts it into words.

use super::{Style, path_line_in};
use crate::diff::{Cause, Change, FactChange, PairPath, PathChange, PathDiff, SnapshotDiff, WhatIf};
use crate::escape::Medium;
use crate::graph::AttackGraph;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write;

/// The version of the diff JSON document.
pub const DIFF_SCHEMA: &str = "azpath.diff/1";

/// How a change is shown in a list: "NOW NEEDS PIM".
pub fn change_label(c: PathChange) -> &'static str {
    match c {
        PathChange::Opened => "OPENED",
        PathChange::Closed => "CLOSED",
        PathChange::NowNeedsActivation => "NOW NEEDS PIM",
        PathChange::NoLongerNeedsActivation => "NO LONGER NEEDS PIM",
        PathChange::Easier => "EASIER",
        PathChange::Harder => "HARDER",
    }
}

/// The change after a count of pairs: "12 now need PIM".
pub fn change_counted(c: PathChange) -> &'static str {
    match c {
        PathChange::Opened => "opened",
        PathChange::Closed => "closed",
        PathChange::NowNeedsActivation => "now need PIM",
        PathChange::NoLongerNeedsActivation => "no longer need PIM",
        PathChange::Easier => "easier",
        PathChange::Harder => "harder",
    }
}

/// What changed in a fact's settings, only the parts that differ: "allowSharedKeyAccess=true ->
/// allowSharedKeyAccess=false".
pub fn changed_settings(c: &FactChange) -> String {
    let (before, after) = (c.before.as_deref().unwrap_or(""), c.after.as_deref().unwrap_or(""));
    let b: Vec<&str> = before.split(' ').collect();
    let a: Vec<&str> = after.split(' ').collect();
    let gone: Vec<&str> = b.iter().filter(|t| !a.contains(t)).copied().collect();
    let new: Vec<&str> = a.iter().filter(|t| !b.contains(t)).copied().collect();
    format!("{} -> {}", gone.join(" "), new.join(" "))
}

/// A cause in words: "removed: carol holds Owner on rg-ml (role assignment ...)".
pub fn cause_text(c: &Cause) -> String {
    match c {
        Cause::Fact(f) => match f.change {
            Change::Added => format!("added: {}", f.text),
            Change::Removed => format!("removed: {}", f.text),
            Change::Changed => format!("changed: {} ({})", f.text, changed_settings(f)),
        },
        Cause::Edge { kind, source, target, reason } => format!("{kind} edge {source} -> {target} ({reason})"),
    }
}

/// A path diff's causes in words, sorted, each once.
pub fn causes_text(p: &PathDiff) -> Vec<String> {
    let mut out: Vec<String> = p.causes.iter().map(cause_text).collect();
    out.sort();
    out.dedup();
    out
}

/// The diff in words, for a terminal (`markdown` false) or a ticket. Names, fact texts and causes
/// come from the tenant (and query files): each is escaped for its medium.
pub fn diff_text(d: &SnapshotDiff, markdown: bool) -> String {
    let (facts, paths) = (&d.facts, &d.paths);
    let medium = if markdown { Medium::Markdown } else { Medium::Terminal };
    let esc = |s: &str| medium.text(s).into_owned();
    let mut s = String::new();
    let h = |s: &mut String, t: &str| {
        if markdown {
            let _ = writeln!(s, "\n## {t}\n");
        } else {
            let _ = writeln!(s, "\n{t}");
        }
    };
    let count = |c: PathChange| paths.iter().filter(|p| p.change == c).count();
    let _ = writeln!(
        s,
        "{}{} attack-path changes: {} opened, {} closed, {} now need PIM activation, {} no longer do, {} easier, {} harder. {} fact changes.",
        if markdown { "# azpath diff\n\n" } else { "" },
        paths.len(),
        count(PathChange::Opened),
        count(PathChange::Closed),
        count(PathChange::NowNeedsActivation),
        count(PathChange::NoLongerNeedsActivation),
        count(PathChange::Easier),
        count(PathChange::Harder),
        facts.len()
    );
    let bullet = if markdown { "- " } else { "  " };
    // Per query first: on a large tenant one change can open or close thousands of pairs.
    let mut by_query: BTreeMap<&str, BTreeMap<PathChange, usize>> = BTreeMap::new();
    for p in paths {
        *by_query.entry(&p.query).or_default().entry(p.change).or_default() += 1;
    }
    if by_query.len() > 1 {
        h(&mut s, "By query");
        for (q, counts) in &by_query {
            let parts: Vec<String> = counts.iter().map(|(c, n)| format!("{n} {}", change_counted(*c))).collect();
            let _ = writeln!(s, "{bullet}{}: {}", esc(q), parts.join(", "));
        }
    }
    if !paths.is_empty() {
        h(&mut s, "Attack paths");
    }
    for p in paths {
        let _ = writeln!(
            s,
            "{bullet}[{}] {}: {} -> {}",
            change_label(p.change),
            esc(&p.query),
            esc(&p.source_name),
            esc(&p.target_name)
        );
        for (label, g, side) in [("before", &d.before, &p.before), ("after", &d.after, &p.after)] {
            if let Some(x) = side {
                let pim = if x.requires_activation { ", needs PIM activation" } else { "" };
                let line = path_line_in(medium, g, &x.path, Style::default());
                let _ = writeln!(s, "{bullet}    {label} ({} hops, effort {}{pim}): {line}", x.hops, x.cost);
            }
        }
        for c in causes_text(p) {
            let _ = writeln!(s, "{bullet}    because {}", esc(&c));
        }
    }
    if !facts.is_empty() {
        h(&mut s, "Facts");
    }
    for f in facts {
        let how = if f.change == Change::Changed { format!(" ({})", esc(&changed_settings(f))) } else { String::new() };
        let _ = writeln!(s, "{bullet}{:?} {}: {}{how}", f.change, f.category, esc(&f.text));
    }
    s
}

// The diff document. Fields are in alphabetical order, the order the document has always had.

/// The `azpath.diff/1` document.
#[derive(Serialize)]
pub struct DiffJson<'a> {
    /// What the after side is, in words ("snapshot #3", "snapshot #2 with the planned change").
    after: &'a str,
    before: BeforeJson,
    facts: Vec<FactJson<'a>>,
    paths: Vec<PathDiffJson<'a>>,
    schema: &'static str,
    what_if: WhatIfJson<'a>,
}

#[derive(Serialize)]
struct BeforeJson {
    snapshot: i64,
}

#[derive(Serialize)]
struct FactJson<'a> {
    after: Option<&'a str>,
    before: Option<&'a str>,
    category: &'a str,
    change: Change,
    key: &'a str,
    text: &'a str,
}

#[derive(Serialize)]
struct PathDiffJson<'a> {
    after: Option<PairPathJson>,
    before: Option<PairPathJson>,
    causes: Vec<String>,
    change: PathChange,
    query: &'a str,
    source: &'a str,
    source_name: &'a str,
    target: &'a str,
    target_name: &'a str,
}

#[derive(Serialize)]
struct PairPathJson {
    cost: u32,
    hops: usize,
    /// The path on one line: "carol -MemberOf-> grp-ds -ExecuteOn-> gpu-cluster".
    line: String,
    requires_activation: bool,
}

#[derive(Serialize)]
struct WhatIfJson<'a> {
    assume_activated: bool,
    make_eligible: &'a [String],
    remove: &'a [String],
}

fn pair_json(g: &AttackGraph, p: &PairPath) -> PairPathJson {
    PairPathJson {
        cost: p.cost,
        hops: p.hops,
        line: path_line_in(Medium::Exact, g, &p.path, Style::default()),
        requires_activation: p.requires_activation,
    }
}

/// The diff as a JSON document: `before` is snapshot `before`, `after` says what the other side is.
pub fn diff_json<'a>(d: &'a SnapshotDiff, before: i64, after: &'a str, what_if: &'a WhatIf) -> DiffJson<'a> {
    DiffJson {
        after,
        before: BeforeJson { snapshot: before },
        facts: d
            .facts
            .iter()
            .map(|f| FactJson {
                after: f.after.as_deref(),
                before: f.before.as_deref(),
                category: f.category,
                change: f.change,
                key: &f.key,
                text: &f.text,
            })
            .collect(),
        paths: d
            .paths
            .iter()
            .map(|p| PathDiffJson {
                after: p.after.as_ref().map(|x| pair_json(&d.after, x)),
                before: p.before.as_ref().map(|x| pair_json(&d.before, x)),
                causes: causes_text(p),
                change: p.change,
                query: &p.query,
                source: &p.source,
                source_name: &p.source_name,
                target: &p.target,
                target_name: &p.target_name,
            })
            .collect(),
        schema: DIFF_SCHEMA,
        what_if: WhatIfJson {
            assume_activated: what_if.assume_activated,
            make_eligible: &what_if.make_eligible,
            remove: &what_if.remove,
        },
    }
}
