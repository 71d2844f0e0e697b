//! A `fix` plan in words, Markdown and the `azpath.fix/1` JSON document. Pure.

use crate::escape::{markdown, markdown_code, terminal};
use crate::fix::{ChangeKind, Choke, Plan, Verification};
use crate::graph::{AttackGraph, NodeId, Path};
use crate::model::{Evidence, SnapshotInfo};
use serde::Serialize;
use std::fmt::Write;

pub const FIX_SCHEMA: &str = "azpath.fix/1";

/// What was asked, for captions.
pub struct Asked<'a> {
    pub from: &'a str,
    pub to: &'a str,
}

/// One change of the JSON document.
#[derive(Serialize)]
pub struct ChangeJson<'a> {
    pub kind: ChangeKind,
    pub summary: &'static str,
    pub subject: &'a str,
    pub subject_name: Option<&'a str>,
    pub object: &'a str,
    pub object_name: Option<&'a str>,
    pub cost: u32,
    pub evidence: &'a [Evidence],
    /// For a deletion: every object it deletes (an application with its service principal, an
    /// identity with its service principal).
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    pub deletes: &'a [String],
    /// For a narrowing: every scope the assignment is re-created at.
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    pub scopes: &'a [String],
    pub command: String,
    /// The (source, target) pairs whose easiest path this change cuts.
    pub closes: Vec<(&'a str, &'a str)>,
}

#[derive(Serialize)]
pub struct FixJson<'a> {
    pub schema: &'static str,
    pub snapshot: i64,
    pub from: &'a str,
    pub to: &'a str,
    /// `exact` (proven minimum), `best-found` (with `lower_bound`) or `none` (no plan exists).
    pub status: &'static str,
    pub cost: u32,
    pub lower_bound: u32,
    pub blocked_by_protection: bool,
    pub paths_before: usize,
    pub changes: Vec<ChangeJson<'a>>,
    pub verification: &'a Verification,
}

fn status(plan: &Plan) -> &'static str {
    if plan.impossible {
        "none"
    } else if plan.exact {
        "exact"
    } else {
        "best-found"
    }
}

fn name<'g>(g: &'g AttackGraph, id: &str) -> Option<&'g str> {
    g.node_index(id).map(|n| g.node(n).name)
}

/// Per change, the pairs it closes (see [`crate::fix::pairs_closed`]).
pub fn fix_json<'a>(
    g: &'a AttackGraph,
    snap: &SnapshotInfo,
    asked: &Asked<'a>,
    plan: &'a Plan,
    before: &[Path],
    closed: &[Vec<(NodeId, NodeId)>],
    check: &'a Verification,
) -> FixJson<'a> {
    let changes = plan
        .changes
        .iter()
        .zip(closed)
        .map(|(c, pairs)| ChangeJson {
            kind: c.kind,
            summary: c.summary(),
            subject: &c.subject,
            subject_name: name(g, &c.subject),
            object: &c.object,
            object_name: name(g, &c.object),
            cost: c.cost,
            evidence: &c.evidence,
            deletes: &c.deletes,
            scopes: &c.scopes,
            command: c.command(g),
            closes: pairs.iter().map(|&(s, t)| (g.node(s).id, g.node(t).id)).collect(),
        })
        .collect();
    FixJson {
        schema: FIX_SCHEMA,
        snapshot: snap.id,
        from: asked.from,
        to: asked.to,
        status: status(plan),
        cost: plan.cost,
        lower_bound: plan.lower_bound,
        blocked_by_protection: plan.blocked_by_protection,
        paths_before: before.len(),
        changes,
        verification: check,
    }
}

/// "name (id)" or the id alone.
fn who(g: &AttackGraph, id: &str) -> String {
    match name(g, id) {
        Some(n) if n != id => format!("{n} ({id})"),
        _ => id.to_string(),
    }
}

fn headline(plan: &Plan, paths: usize) -> String {
    if plan.impossible {
        return if plan.blocked_by_protection {
            format!("No plan cuts all {paths} path(s) without changing a protected fact (--keep).")
        } else {
            format!("No plan cuts all {paths} path(s): some path is made only of facts that cannot be changed here.")
        };
    }
    if plan.changes.is_empty() {
        return "Nothing to fix: no path.".to_string();
    }
    let how = if plan.exact {
        "the minimum".to_string()
    } else {
        format!("the best found; no plan costs less than {}", plan.lower_bound)
    };
    format!("{} change(s), total cost {} ({how}), closing {paths} path(s).", plan.changes.len(), plan.cost)
}

fn verdict(check: &Verification) -> String {
    let how = match check.method {
        "re-derived" => "re-derived the facts with the plan applied",
        "edges-removed" => "removed the plan's edges from the graph",
        m => m,
    };
    let rounds = if check.extra_rounds > 0 {
        format!(" after {} extra round(s) of planning for paths only the re-derivation showed", check.extra_rounds)
    } else {
        String::new()
    };
    if check.remaining.is_empty() {
        format!("Verified ({how}{rounds}): no path remains.")
    } else {
        format!("Checked ({how}{rounds}): {} pair(s) still have a path.", check.remaining.len())
    }
}

fn evidence_line(ev: &[Evidence]) -> String {
    ev.iter().map(|e| format!("{}: {}", e.label(), e.value)).collect::<Vec<_>>().join("; ")
}

/// How many new scopes a narrowing names in words before counting the rest.
const SCOPES_SHOWN: usize = 5;

/// A narrowing's new scopes, the first few by name, then how many more.
fn scope_names(g: &AttackGraph, scopes: &[String]) -> String {
    let shown: Vec<String> = scopes.iter().take(SCOPES_SHOWN).map(|c| who(g, c)).collect();
    let more = match scopes.len().saturating_sub(SCOPES_SHOWN) {
        0 => String::new(),
        n => format!(", and {n} more"),
    };
    format!("{}{more}", shown.join(", "))
}

fn pair_names(g: &AttackGraph, pairs: &[(NodeId, NodeId)]) -> String {
    let shown: Vec<String> =
        pairs.iter().take(5).map(|&(s, t)| format!("{} -> {}", g.node(s).name, g.node(t).name)).collect();
    let more = if pairs.len() > 5 { format!(", and {} more", pairs.len() - 5) } else { String::new() };
    format!("{} path(s): {}{more}", pairs.len(), shown.join(", "))
}

/// The plan for a terminal (tenant text escaped).
pub fn fix_text(
    g: &AttackGraph,
    asked: &Asked,
    plan: &Plan,
    before: &[Path],
    closed: &[Vec<(NodeId, NodeId)>],
    check: &Verification,
) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "Fix {:?} -> {:?}: {}", terminal(asked.from), terminal(asked.to), headline(plan, before.len()));
    for (i, (c, pairs)) in plan.changes.iter().zip(closed).enumerate() {
        let _ = writeln!(s, "{:>3}. {} [cost {}]", i + 1, c.summary(), c.cost);
        let _ = writeln!(s, "     subject:  {}", terminal(&who(g, &c.subject)));
        if c.object != c.subject {
            let _ = writeln!(s, "     on:       {}", terminal(&who(g, &c.object)));
        }
        let _ = writeln!(s, "     evidence: {}", terminal(&evidence_line(&c.evidence)));
        if !c.scopes.is_empty() {
            let _ = writeln!(s, "     keeps it at: {}", terminal(&scope_names(g, &c.scopes)));
        }
        if c.deletes.len() > 1 {
            let _ = writeln!(
                s,
                "     deletes:  {}",
                terminal(&c.deletes.iter().map(|d| who(g, d)).collect::<Vec<_>>().join(", "))
            );
        }
        if !pairs.is_empty() {
            let _ = writeln!(s, "     closes:   {}", terminal(&pair_names(g, pairs)));
        }
        let _ = writeln!(s, "     run:      {}", terminal(&c.command(g)));
    }
    if !plan.impossible && !plan.changes.is_empty() {
        let _ = writeln!(s, "{}", verdict(check));
    }
    for (src, dst) in check.remaining.iter().take(10) {
        let _ = writeln!(s, "  still open: {} -> {}", terminal(&who(g, src)), terminal(&who(g, dst)));
    }
    s
}

/// The plan as a Markdown section (the report's "Fix first" and `fix --format markdown`).
pub fn fix_markdown(
    g: &AttackGraph,
    asked: &Asked,
    plan: &Plan,
    before: &[Path],
    closed: &[Vec<(NodeId, NodeId)>],
    check: &Verification,
) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "Cutting every path from {} to {}: {}\n",
        markdown_code(asked.from),
        markdown_code(asked.to),
        markdown(&headline(plan, before.len()))
    );
    if plan.changes.is_empty() {
        return s;
    }
    let _ = writeln!(s, "| # | Change | Subject | On | Cost | Closes | Command |\n|---|---|---|---|---|---|---|");
    for (i, (c, pairs)) in plan.changes.iter().zip(closed).enumerate() {
        let summary = if c.scopes.is_empty() {
            c.summary().to_string()
        } else {
            format!("{} (keeps it at {})", c.summary(), markdown(&scope_names(g, &c.scopes)))
        };
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} | {} |",
            i + 1,
            summary,
            markdown(&who(g, &c.subject)),
            markdown(&who(g, &c.object)),
            c.cost,
            pairs.len(),
            markdown_code(&c.command(g))
        );
    }
    let _ = writeln!(s, "\n{}", markdown(&verdict(check)));
    s
}

/// A chokepoint in words: "node NAME (id)" or "fact KIND SUBJECT (on OBJECT)" (not escaped).
pub fn choke_text(g: &AttackGraph, what: &Choke) -> String {
    let name = |id: &str| g.node_index(id).map(|n| g.node(n).name.to_string()).unwrap_or_else(|| id.to_string());
    match what {
        Choke::Node { id } => format!("node  {} ({id})", name(id)),
        Choke::Fact { kind, subject, object } => {
            format!(
                "fact  {} {} (on {})",
                serde_json::to_value(kind).unwrap_or_default().as_str().unwrap_or(""),
                name(subject),
                name(object)
            )
        }
    }
}

/// The chokepoints as a Markdown table (also the report's "Fix first" section).
/// `within`: the pairs' paths counted were those within this cost of the easiest
/// ([`crate::fix::paths_within`]), not only the easiest.
pub fn chokepoints_markdown(
    g: &AttackGraph,
    ranked: &[crate::fix::Chokepoint],
    pairs: usize,
    within: Option<u32>,
) -> String {
    let how = match within {
        None => "how many easiest paths pass each fact or node".to_string(),
        Some(extra) => format!("how many have a path within {extra} of their easiest through each fact or node"),
    };
    let mut s = format!("Of {pairs} (source, target) pairs, {how}:\n\n| Pairs | Chokepoint |\n|---|---|\n");
    for c in ranked {
        s.push_str(&format!("| {} | {} |\n", c.pairs, markdown(&choke_text(g, &c.what))));
    }
    s
}
