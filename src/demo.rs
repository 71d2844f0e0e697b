//! The built-in demo tenant ("an ML team's tenant", `src/demo/tenant.json`, described in
//! `src/demo/README.md`) and the headline `azpath demo` prints: which pipeline identities reach which
//! crown jewels, how, and who else can.

use crate::escape::terminal;
use crate::facts::RawFacts;
use crate::graph::{AttackGraph, NodeId, Path};
use crate::model::NodeKind;
use crate::model::SnapshotInfo;
use crate::query::{self, PathOptions};
use crate::report::{self, Style};
use std::fmt::Write;

/// The demo tenant's facts, in Graph/ARM shapes, embedded in the binary.
pub const TENANT_JSON: &str = include_str!("demo/tenant.json");

pub fn raw() -> RawFacts {
    RawFacts::from_json(TENANT_JSON).expect("the embedded demo tenant parses (tested)")
}

/// The answer to "if a pipeline identity is compromised, what can the attacker reach?".
pub struct Headline {
    /// Easiest path from each pipeline identity to each crown jewel it reaches.
    pub pipeline_paths: Vec<Path>,
    /// Pipeline identities that reach no crown jewel.
    pub contained: Vec<NodeId>,
    /// Easiest paths from users (people) to crown jewels.
    pub user_paths: Vec<Path>,
}

pub fn headline(g: &AttackGraph) -> Headline {
    let all = PathOptions::default();
    let sources = query::entry_points(g, &query::select(g, "pipeline").unwrap_or_default());
    let jewels = query::select(g, "crown-jewels").unwrap_or_default();
    let pipeline_paths = query::paths(g, &sources, &jewels, &all).unwrap_or_default();
    let contained = sources.iter().copied().filter(|s| !pipeline_paths.iter().any(|p| p.source == *s)).collect();
    let users: Vec<_> = g.node_ids().filter(|&i| g.node(i).kind == NodeKind::User).collect();
    let mut user_paths = query::paths(g, &users, &jewels, &all).unwrap_or_default();
    user_paths.sort_by(|a, b| {
        (&g.node(a.source).name, &g.node(a.target).name).cmp(&(&g.node(b.source).name, &g.node(b.target).name))
    });
    Headline { pipeline_paths, contained, user_paths }
}

/// The text `azpath demo` prints.
pub fn headline_text(g: &AttackGraph, h: &Headline, snap: &SnapshotInfo, db: &str, style: Style) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{}",
        style.bold(&format!(
            "azpath demo: tenant \"{}\" (built-in demo: an ML team's tenant)",
            terminal(&snap.tenant_name)
        ))
    );
    let _ = writeln!(
        s,
        "Loaded as snapshot #{} in {db}: {} nodes, {} attack edges, collected {}.",
        snap.id, snap.nodes, snap.edges, snap.collected_at
    );
    let _ = writeln!(
        s,
        "\nQuestion: if a CI/CD pipeline identity is compromised, which crown jewels (training data, models,\n\
         their secrets, tenant control) can the attacker reach, and how? Each hop below is one abuse an\n\
         attacker can perform with the rights of the previous node; `effort` adds up how hard each hop is."
    );
    let sources: std::collections::BTreeSet<NodeId> = h.pipeline_paths.iter().map(|p| p.source).collect();
    let jewels: std::collections::BTreeSet<NodeId> = h.pipeline_paths.iter().map(|p| p.target).collect();
    let _ = writeln!(
        s,
        "\n{}",
        style.bold(&format!(
            "Headline: {} of {} pipeline identities reach {} crown jewels.",
            sources.len(),
            sources.len() + h.contained.len(),
            jewels.len()
        ))
    );
    let mut i = 0;
    while i < h.pipeline_paths.len() {
        let source = h.pipeline_paths[i].source;
        let mut mine: Vec<&Path> = h.pipeline_paths[i..].iter().take_while(|p| p.source == source).collect();
        i += mine.len();
        mine.sort_by_key(|p| (report::severity_rank(g.node(p.target)), p.cost, g.node(p.target).name.to_string()));
        let _ = writeln!(
            s,
            "\n{} reaches {} crown jewel{}:",
            style.bold(&terminal(&report::label(g.node(source)))),
            mine.len(),
            if mine.len() == 1 { "" } else { "s" }
        );
        for p in mine {
            let target = g.node(p.target);
            let _ = writeln!(
                s,
                "\n  -> {}  {}\n     {}",
                style.red(&style.bold(&terminal(target.name))),
                style.dim(&format!("({})", terminal(&report::jewel_text(target)))),
                report::path_summary(g, p, style)
            );
            s.push_str(&report::path_brief(g, p, "     ", style));
        }
    }
    if !h.contained.is_empty() {
        let _ = writeln!(s, "\n{}", style.bold("Pipeline identities with no path to a crown jewel:"));
        for &c in &h.contained {
            let _ = writeln!(s, "  {}", terminal(&report::label(g.node(c))));
        }
    }
    if !h.user_paths.is_empty() {
        let _ = writeln!(s, "\n{}", style.bold("People with a path to a crown jewel (the most critical one shown):"));
        let mut i = 0;
        while i < h.user_paths.len() {
            let person = h.user_paths[i].source;
            let mut mine: Vec<&Path> = h.user_paths[i..].iter().take_while(|p| p.source == person).collect();
            i += mine.len();
            mine.sort_by_key(|p| (report::severity_rank(g.node(p.target)), p.cost, g.node(p.target).name.to_string()));
            let names: Vec<_> = mine.iter().map(|p| terminal(g.node(p.target).name)).collect();
            let top = mine[0];
            let _ = writeln!(
                s,
                "  {} reaches {}: {}\n      {}  ({})",
                style.bold(&terminal(g.node(person).name)),
                if names.len() == 1 { "1 crown jewel".to_string() } else { format!("{} crown jewels", names.len()) },
                names.join(", "),
                report::path_line(g, top, style),
                report::path_summary(g, top, style)
            );
        }
    }
    let db_arg = if db == "azpath.db" { String::new() } else { format!(" --db {db}") };
    let _ = writeln!(s, "\n{}", style.bold("Explore further:"));
    for (cmd, what) in [
        (
            format!("azpath{db_arg} paths --from pipeline --to crown-jewels --explain"),
            "every hop's evidence: assignment, role, scope, action",
        ),
        (
            format!("azpath{db_arg} paths --from 'Dave Lindqvist' --to crown-jewels"),
            "one principal's paths (name, id, or kind:KIND)",
        ),
        (format!("azpath{db_arg} paths --from pipeline --to tier0 --format json"), "the same for scripts"),
        ("azpath rules".to_string(), "what each rule means, and when it must not fire"),
        (format!("azpath{db_arg} snapshots -v"), "what is stored, and what could not be collected"),
    ] {
        let _ = writeln!(s, "  {cmd}\n      {}", style.dim(what));
    }
    s
}

pub fn headline_json<'a>(g: &'a AttackGraph, h: &'a Headline, snap: &'a SnapshotInfo) -> report::PathsJson<'a> {
    let mut doc = report::paths_json(g, snap, &h.pipeline_paths);
    doc.contained_pipeline_identities = Some(h.contained.iter().map(|&c| g.node(c).id).collect());
    doc.user_paths = Some(h.user_paths.iter().map(|p| report::path_json(g, p)).collect());
    doc
}
