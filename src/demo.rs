//! The built-in demo tenant ("an ML team's tenant", `src/demo/tenant.json`, described in
//! `src/demo/README.md`) and the headline `azpath demo` prints: which pipeline identities reach which
//! crown jewels, how, and who else can.

use crate::facts::RawFacts;
use crate::graph::{AttackGraph, Path};
use crate::model::NodeKind;
use crate::query;
use crate::report::{self, Style};
use crate::store::SnapshotInfo;
use serde_json::{Value, json};
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
    pub contained: Vec<usize>,
    /// Easiest paths from users (people) to crown jewels.
    pub user_paths: Vec<Path>,
}

pub fn headline(g: &AttackGraph) -> Headline {
    let sources = query::select(g, "pipeline").unwrap_or_default();
    let jewels = query::select(g, "crown-jewels").unwrap_or_default();
    let pipeline_paths = query::paths(g, &sources, &jewels);
    let contained =
        sources.iter().map(|&s| g.graph[s]).filter(|s| !pipeline_paths.iter().any(|p| p.source == *s)).collect();
    let users: Vec<_> = g.graph.node_indices().filter(|&i| g.node(i).kind == NodeKind::User).collect();
    let mut user_paths = query::paths(g, &users, &jewels);
    user_paths.sort_by(|a, b| {
        (&g.nodes[a.source].name, &g.nodes[a.target].name).cmp(&(&g.nodes[b.source].name, &g.nodes[b.target].name))
    });
    Headline { pipeline_paths, contained, user_paths }
}

/// The text `azpath demo` prints.
pub fn headline_text(g: &AttackGraph, h: &Headline, snap: &SnapshotInfo, db: &str, style: Style) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{}",
        style.bold(&format!("azpath demo: tenant \"{}\" (built-in demo: an ML team's tenant)", snap.tenant_name))
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
    let sources: std::collections::BTreeSet<usize> = h.pipeline_paths.iter().map(|p| p.source).collect();
    let jewels: std::collections::BTreeSet<usize> = h.pipeline_paths.iter().map(|p| p.target).collect();
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
    s.push_str(&report::paths_text(g, &h.pipeline_paths, false, style));
    if !h.contained.is_empty() {
        let _ = writeln!(s, "\n{}", style.bold("Pipeline identities with no path to a crown jewel:"));
        for &c in &h.contained {
            let _ = writeln!(s, "  {}", report::label(&g.nodes[c]));
        }
    }
    if !h.user_paths.is_empty() {
        let _ = writeln!(s, "\n{}", style.bold("People with a path to a crown jewel (easiest path each):"));
        for p in &h.user_paths {
            let _ = writeln!(
                s,
                "  {} -> {}  ({})\n      {}",
                g.nodes[p.source].name,
                style.bold(&g.nodes[p.target].name),
                report::path_summary(g, p, style),
                report::path_line(g, p, style)
            );
        }
    }
    let db_arg = if db == "azpath.db" { String::new() } else { format!(" --db {db}") };
    let _ = writeln!(s, "\n{}", style.bold("Explore further:"));
    let _ = writeln!(
        s,
        "  azpath{db_arg} paths --from pipeline --to crown-jewels --explain   every hop with its role assignment, role, scope and action"
    );
    let _ = writeln!(
        s,
        "  azpath{db_arg} paths --from dave --to crown-jewels                  one principal's paths (names, ids or kind:KIND)"
    );
    let _ =
        writeln!(s, "  azpath{db_arg} paths --from pipeline --to crown-jewels --format json   the same for scripts");
    let _ = writeln!(
        s,
        "  azpath rules                                          what each rule means and when it must not fire"
    );
    let _ = writeln!(
        s,
        "  azpath{db_arg} snapshots                                     what is stored, and what could not be collected"
    );
    s
}

pub fn headline_json(g: &AttackGraph, h: &Headline, snap: &SnapshotInfo) -> Value {
    let mut doc = report::paths_json(g, snap, &h.pipeline_paths);
    doc["contained_pipeline_identities"] = json!(h.contained.iter().map(|&c| &g.nodes[c].id).collect::<Vec<_>>());
    doc["user_paths"] = json!(h.user_paths.iter().map(|p| report::path_json(g, p)).collect::<Vec<_>>());
    doc
}
