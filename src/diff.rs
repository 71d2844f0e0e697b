//! Diff: what changed between two snapshots, at the level of facts and at the level of attack
//! paths, and why. Also "what if": the effect of a planned PIM change on a copy of a snapshot's facts,
//! before making it. Pure: computing a diff is separate from printing it (see `report_text`).

use crate::facts::{Facts, GroupAccess, Membership, OwnedKind, Ownership, ResourceDetails};
use crate::graph::{AttackGraph, Path};
use crate::model::EdgeKind;
use crate::query::{self, saved::SavedQuery};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write;

/// One security-relevant fact, keyed by stable Azure ids so two snapshots can be matched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FactRecord {
    pub category: &'static str,
    /// Stable key: category plus normalised Azure ids.
    pub key: String,
    /// In words: "Owner on rg-ml for grp-ds (assignment /subscriptions/...)".
    pub text: String,
    /// What must be equal for the fact to be unchanged.
    pub detail: String,
    /// The ids an edge's evidence names when this fact produced it.
    #[serde(skip)]
    pub ids: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Change {
    Added,
    Removed,
    Changed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FactChange {
    pub change: Change,
    pub category: &'static str,
    pub key: String,
    pub text: String,
    pub before: Option<String>,
    pub after: Option<String>,
    #[serde(skip)]
    pub ids: Vec<String>,
}

fn names(f: &Facts) -> HashMap<&str, &str> {
    let mut m: HashMap<&str, &str> = HashMap::new();
    for u in &f.users {
        m.insert(&u.id, &u.display_name);
    }
    for g in &f.groups {
        m.insert(&g.id, &g.display_name);
    }
    for s in &f.service_principals {
        m.insert(&s.id, &s.display_name);
    }
    for a in &f.applications {
        m.insert(&a.id, &a.display_name);
    }
    for r in &f.resources {
        m.insert(&r.id, &r.name);
    }
    for r in &f.resource_groups {
        m.insert(&r.id, &r.name);
    }
    for s in &f.subscriptions {
        m.insert(&s.id, &s.display_name);
    }
    m
}

/// Every security-relevant fact of a snapshot, by key.
pub fn fact_records(f: &Facts) -> HashMap<String, FactRecord> {
    let n = names(f);
    let name = |id: &str| n.get(id).map(|s| s.to_string()).unwrap_or_else(|| id.to_string());
    let roles = crate::rbac::builtin_roles();
    let role_name = |guid: &str| {
        f.role_definitions
            .iter()
            .find(|r| r.id == guid)
            .map(|r| r.role_name.clone())
            .or_else(|| roles.get(guid).map(|r| r.role_name.clone()))
            .unwrap_or_else(|| guid.to_string())
    };
    let mut out = HashMap::new();
    let mut add = |category: &'static str, key_ids: &[&str], text: String, detail: String, ids: Vec<String>| {
        let key = format!("{category}|{}", key_ids.join("|").to_ascii_lowercase());
        out.insert(key.clone(), FactRecord { category, key, text, detail, ids });
    };
    for a in &f.role_assignments {
        let (category, what) =
            if a.eligible { ("role eligibility", "eligible for") } else { ("role assignment", "holds") };
        let cond = a.condition.as_deref().map(|c| format!(" with condition {c}")).unwrap_or_default();
        add(
            category,
            &[&a.id],
            format!(
                "{} {what} {} on {}{cond} ({} {})",
                name(&a.principal_id),
                role_name(&a.role_definition_id),
                name(&a.scope),
                category,
                a.id
            ),
            format!("{}|{}|{}|{:?}", a.principal_id, a.role_definition_id, a.scope, a.condition),
            vec![a.id.to_ascii_lowercase()],
        );
    }
    for a in &f.directory_role_assignments {
        let role = crate::rbac::builtin_directory_roles()
            .get(&a.role_definition_id)
            .map(|r| r.display_name.clone())
            .unwrap_or_else(|| a.role_definition_id.clone());
        let (category, what) =
            if a.eligible { ("directory role eligibility", "eligible for") } else { ("directory role", "holds") };
        add(
            category,
            &[&a.id],
            format!("{} {what} {role} at {} ({category} {})", name(&a.principal_id), a.directory_scope_id, a.id),
            format!("{}|{}|{}", a.principal_id, a.role_definition_id, a.directory_scope_id),
            vec![a.id.to_ascii_lowercase()],
        );
    }
    for m in &f.memberships {
        add(
            "membership",
            &[&m.group_id, &m.member_id],
            format!("{} is a member of {}", name(&m.member_id), name(&m.group_id)),
            String::new(),
            vec![m.group_id.clone(), m.member_id.clone()],
        );
    }
    for e in &f.group_eligibilities {
        add(
            "group eligibility",
            &[&e.id],
            format!("{} is eligible ({:?}) for group {}", name(&e.principal_id), e.access, name(&e.group_id)),
            format!("{}|{}|{:?}", e.principal_id, e.group_id, e.access),
            vec![e.id.to_ascii_lowercase()],
        );
    }
    for o in &f.ownerships {
        add(
            "ownership",
            &[&o.owned_id, &o.owner_id],
            format!("{} owns {}", name(&o.owner_id), name(&o.owned_id)),
            String::new(),
            vec![o.owner_id.clone(), o.owned_id.clone()],
        );
    }
    for a in &f.app_role_assignments {
        let perm = crate::rbac::graph_app_roles().get(&a.app_role_id).cloned().unwrap_or_else(|| a.app_role_id.clone());
        add(
            "app role assignment",
            &[&a.principal_id, &a.app_role_id, &a.resource_id],
            format!(
                "{} was granted {perm} on {}",
                name(&a.principal_id),
                a.resource_display_name.as_deref().unwrap_or(&a.resource_id)
            ),
            String::new(),
            vec![a.id.to_ascii_lowercase()],
        );
    }
    for c in &f.federated_credentials {
        let parent = crate::rules::federated_parent(&c.parent);
        add(
            "federated credential",
            &[parent, &c.issuer, &c.subject],
            format!("{} trusts {} subject {}", name(parent), c.issuer, c.subject),
            String::new(),
            vec![c.issuer.to_ascii_lowercase(), c.subject.to_ascii_lowercase()],
        );
    }
    for d in &f.deny_assignments {
        add(
            "deny assignment",
            &[&d.id],
            format!("deny assignment {} at {}", d.name, d.scope),
            format!("{:?}", d.permissions),
            vec![d.id.to_ascii_lowercase()],
        );
    }
    for r in &f.resources {
        let settings = match &r.details {
            ResourceDetails::StorageAccount { allow_shared_key_access } => {
                format!("allowSharedKeyAccess={}", allow_shared_key_access.unwrap_or(true))
            }
            ResourceDetails::CognitiveServices { disable_local_auth, .. } => {
                format!("disableLocalAuth={}", disable_local_auth.unwrap_or(false))
            }
            ResourceDetails::Aks { disable_local_accounts, .. } => {
                format!("disableLocalAccounts={}", disable_local_accounts.unwrap_or(false))
            }
            ResourceDetails::KeyVault { enable_rbac_authorization, access_policies } => {
                let mut p: Vec<String> = access_policies
                    .iter()
                    .map(|a| format!("{}:{}", a.object_id, a.secrets.join("/").to_ascii_lowercase()))
                    .collect();
                p.sort();
                format!(
                    "enableRbacAuthorization={} accessPolicies=[{}]",
                    enable_rbac_authorization.unwrap_or(false),
                    p.join(",")
                )
            }
            _ => String::new(),
        };
        let mut identity: Vec<String> = r.identity.system_principal_id.iter().cloned().collect();
        identity.extend(r.identity.user_assigned.iter().map(|(u, _)| u.clone()));
        let detail = format!("{settings} identity=[{}]", identity.join(","));
        add("resource", &[&r.id], format!("{} {}", r.resource_type, r.name), detail, vec![r.id.clone()]);
    }
    for (category, ids) in [
        ("user", f.users.iter().map(|u| u.id.as_str()).collect::<Vec<_>>()),
        ("group", f.groups.iter().map(|g| g.id.as_str()).collect()),
        ("service principal", f.service_principals.iter().map(|s| s.id.as_str()).collect()),
        ("application", f.applications.iter().map(|a| a.id.as_str()).collect()),
    ] {
        for id in ids {
            add(category, &[id], format!("{category} {}", name(id)), String::new(), vec![id.to_string()]);
        }
    }
    out
}

/// Facts added, removed and changed from `a` to `b`, matched by stable ids (case-insensitive).
pub fn diff_facts(a: &Facts, b: &Facts) -> Vec<FactChange> {
    let (ra, rb) = (fact_records(a), fact_records(b));
    let mut out = Vec::new();
    for (k, x) in &ra {
        match rb.get(k) {
            None => out.push(FactChange {
                change: Change::Removed,
                category: x.category,
                key: k.clone(),
                text: x.text.clone(),
                before: Some(x.detail.clone()),
                after: None,
                ids: x.ids.clone(),
            }),
            Some(y) if y.detail != x.detail => out.push(FactChange {
                change: Change::Changed,
                category: x.category,
                key: k.clone(),
                text: y.text.clone(),
                before: Some(x.detail.clone()),
                after: Some(y.detail.clone()),
                ids: x.ids.clone(),
            }),
            _ => {}
        }
    }
    for (k, y) in &rb {
        if !ra.contains_key(k) {
            out.push(FactChange {
                change: Change::Added,
                category: y.category,
                key: k.clone(),
                text: y.text.clone(),
                before: None,
                after: Some(y.detail.clone()),
                ids: y.ids.clone(),
            });
        }
    }
    out.sort_by(|x, y| (x.change, x.category, &x.key).cmp(&(y.change, y.category, &y.key)));
    out
}

/// A planned change to evaluate without a second collection.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WhatIf {
    /// Treat every PIM eligibility as active.
    pub assume_activated: bool,
    /// Remove these role assignments or eligibilities (Azure or directory), by id.
    pub remove: Vec<String>,
    /// Turn these active assignments (Azure or directory) into eligibilities.
    pub make_eligible: Vec<String>,
}

impl WhatIf {
    pub fn is_empty(&self) -> bool {
        *self == WhatIf::default()
    }

    /// Applies the plan to a copy of the facts. Every id named must exist.
    pub fn apply(&self, facts: &Facts) -> Result<Facts, String> {
        let mut f = facts.clone();
        let known = |id: &str| {
            f.role_assignments.iter().any(|a| a.id.eq_ignore_ascii_case(id))
                || f.directory_role_assignments.iter().any(|a| a.id.eq_ignore_ascii_case(id))
        };
        for id in self.remove.iter().chain(&self.make_eligible) {
            if !known(id) {
                return Err(format!("no role assignment or eligibility with id {id:?} in this snapshot"));
            }
        }
        f.role_assignments.retain(|a| !self.remove.iter().any(|r| r.eq_ignore_ascii_case(&a.id)));
        f.directory_role_assignments.retain(|a| !self.remove.iter().any(|r| r.eq_ignore_ascii_case(&a.id)));
        for a in &mut f.role_assignments {
            if self.make_eligible.iter().any(|r| r.eq_ignore_ascii_case(&a.id)) {
                a.eligible = true;
            } else if self.assume_activated {
                a.eligible = false;
            }
        }
        for a in &mut f.directory_role_assignments {
            if self.make_eligible.iter().any(|r| r.eq_ignore_ascii_case(&a.id)) {
                a.eligible = true;
            } else if self.assume_activated {
                a.eligible = false;
            }
        }
        if self.assume_activated {
            for e in std::mem::take(&mut f.group_eligibilities) {
                match e.access {
                    GroupAccess::Member => f.memberships.push(Membership {
                        group_id: e.group_id,
                        member_id: e.principal_id,
                        member_type: crate::facts::DirectoryObjectType::Other,
                        member_name: None,
                    }),
                    GroupAccess::Owner => f.ownerships.push(Ownership {
                        owner_id: e.principal_id,
                        owner_type: crate::facts::DirectoryObjectType::User,
                        owner_name: None,
                        owned_id: e.group_id,
                        owned_kind: OwnedKind::Group,
                    }),
                }
            }
        }
        Ok(f)
    }
}

/// The easiest path of one (source, target) pair, summarised.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PairPath {
    pub cost: u32,
    pub hops: usize,
    pub requires_activation: bool,
    /// The path in words: "carol -MemberOf-> grp-ds -ExecuteOn-> gpu-cluster ...".
    pub line: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PathChange {
    Opened,
    Closed,
    NowNeedsActivation,
    NoLongerNeedsActivation,
    Easier,
    Harder,
}

impl PathChange {
    pub fn label(self) -> &'static str {
        match self {
            PathChange::Opened => "OPENED",
            PathChange::Closed => "CLOSED",
            PathChange::NowNeedsActivation => "NOW NEEDS PIM",
            PathChange::NoLongerNeedsActivation => "NO LONGER NEEDS PIM",
            PathChange::Easier => "EASIER",
            PathChange::Harder => "HARDER",
        }
    }
}

/// New attack paths: pairs that became reachable, in queries that ask about reachability (an
/// eligible-only query "opens" a pair when a standing assignment becomes eligible, which is the
/// opposite of a new path).
pub fn new_paths(paths: &[PathDiff], queries: &[SavedQuery]) -> usize {
    paths
        .iter()
        .filter(|p| p.change == PathChange::Opened)
        .filter(|p| queries.iter().any(|q| q.name == p.query && !q.options.only_eligible))
        .count()
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PathDiff {
    pub query: String,
    pub change: PathChange,
    pub source: String,
    pub source_name: String,
    pub target: String,
    pub target_name: String,
    pub before: Option<PairPath>,
    pub after: Option<PairPath>,
    /// The fact changes that explain it, in words.
    pub causes: Vec<String>,
    /// The easiest paths' edges (indices into the before and after graphs), for diagrams.
    #[serde(skip)]
    pub before_edges: Vec<usize>,
    #[serde(skip)]
    pub after_edges: Vec<usize>,
}

fn pairs(g: &AttackGraph, q: &SavedQuery) -> Result<BTreeMap<(String, String), Path>, query::QueryError> {
    let sources = query::select(g, &q.from)?;
    let targets = query::select(g, &q.to)?;
    let mut opts = q.options.clone();
    opts.k = None;
    opts.all_equal = false;
    Ok(query::paths(g, &sources, &targets, &opts)?
        .into_iter()
        .map(|p| ((g.nodes[p.source].id.clone(), g.nodes[p.target].id.clone()), p))
        .collect())
}

fn summary(g: &AttackGraph, p: &Path) -> PairPath {
    PairPath {
        cost: p.cost,
        hops: p.hops(),
        requires_activation: p.requires_activation(g),
        line: crate::report::path_line(g, p, crate::report::Style::default()),
    }
}

/// Edge identity across snapshots: (source id, target id, kind, needs activation).
type EdgeKey<'g> = (&'g str, &'g str, EdgeKind, bool);

fn edge_key(g: &AttackGraph, e: usize) -> EdgeKey<'_> {
    let x = &g.edges[e];
    (&x.source, &x.target, x.kind, x.requires_activation)
}

/// The edges of `p` (in `g`) that the other graph does not have.
fn missing_edges(g: &AttackGraph, p: &Path, other: &HashSet<EdgeKey>) -> Vec<usize> {
    p.edges.iter().copied().filter(|&e| !other.contains(&edge_key(g, e))).collect()
}

/// Fact changes whose ids all appear in an edge's evidence: the facts that made or unmade it.
fn explain_edge(g: &AttackGraph, e: usize, facts: &[FactChange], wanted: &[Change]) -> Vec<String> {
    let edge = &g.edges[e];
    let text = edge.evidence.iter().map(|ev| ev.value.to_ascii_lowercase()).collect::<Vec<_>>().join(" ")
        + " "
        + &edge.source.to_ascii_lowercase()
        + " "
        + &edge.target.to_ascii_lowercase();
    let mut out: Vec<String> = facts
        .iter()
        .filter(|c| {
            wanted.contains(&c.change) && !c.ids.is_empty() && c.ids.iter().all(|id| text.contains(id.as_str()))
        })
        .filter(|c| {
            !matches!(c.category, "user" | "group" | "service principal" | "application") || c.change != Change::Changed
        })
        .map(|c| match c.change {
            Change::Added => format!("added: {}", c.text),
            Change::Removed => format!("removed: {}", c.text),
            Change::Changed => format!("changed: {} ({})", c.text, changed_settings(c)),
        })
        .collect();
    if out.is_empty() {
        out.push(format!("{} edge {} -> {} ({})", edge.kind, edge.source, edge.target, edge.reason));
    }
    out
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

/// Path-level diff for the given queries. Edges on changed paths must carry their evidence (load
/// them with `explain_paths` first) for causes to be found.
pub fn diff_paths(
    a: &AttackGraph,
    b: &AttackGraph,
    queries: &[SavedQuery],
    facts: &[FactChange],
) -> Result<Vec<PathDiff>, query::QueryError> {
    let ka: HashSet<EdgeKey> = (0..a.edges.len()).map(|e| edge_key(a, e)).collect();
    let kb: HashSet<EdgeKey> = (0..b.edges.len()).map(|e| edge_key(b, e)).collect();
    let mut out = Vec::new();
    for q in queries {
        let (pa, pb) = (pairs(a, q)?, pairs(b, q)?);
        let all: std::collections::BTreeSet<&(String, String)> = pa.keys().chain(pb.keys()).collect();
        for pair in all {
            let (x, y) = (pa.get(pair), pb.get(pair));
            let sx = x.map(|p| summary(a, p));
            let sy = y.map(|p| summary(b, p));
            let change = match (&sx, &sy) {
                (None, Some(_)) => PathChange::Opened,
                (Some(_), None) => PathChange::Closed,
                (Some(s), Some(t)) if !s.requires_activation && t.requires_activation => PathChange::NowNeedsActivation,
                (Some(s), Some(t)) if s.requires_activation && !t.requires_activation => {
                    PathChange::NoLongerNeedsActivation
                }
                (Some(s), Some(t)) if (t.cost, t.hops) < (s.cost, s.hops) => PathChange::Easier,
                (Some(s), Some(t)) if (t.cost, t.hops) > (s.cost, s.hops) => PathChange::Harder,
                _ => continue,
            };
            let mut causes = Vec::new();
            if let Some(p) = x {
                for e in missing_edges(a, p, &kb) {
                    causes.extend(explain_edge(a, e, facts, &[Change::Removed, Change::Changed]));
                }
            }
            if let Some(p) = y {
                for e in missing_edges(b, p, &ka) {
                    causes.extend(explain_edge(b, e, facts, &[Change::Added, Change::Changed]));
                }
            }
            causes.sort();
            causes.dedup();
            let (src, tgt) = (x.or(y).expect("one side has the pair"), pair);
            let g = if x.is_some() { a } else { b };
            out.push(PathDiff {
                query: q.name.clone(),
                change,
                source: tgt.0.clone(),
                source_name: g.nodes[src.source].name.clone(),
                target: tgt.1.clone(),
                target_name: g.nodes[src.target].name.clone(),
                before: sx,
                after: sy,
                causes,
                before_edges: x.map(|p| p.edges.clone()).unwrap_or_default(),
                after_edges: y.map(|p| p.edges.clone()).unwrap_or_default(),
            });
        }
    }
    out.sort_by(|x, y| {
        (&x.query, x.change, &x.source_name, &x.target_name).cmp(&(&y.query, y.change, &y.source_name, &y.target_name))
    });
    Ok(out)
}

/// One graph holding every changed path of a diff (before and after), with how each edge changed:
/// what a diff diagram draws.
pub fn diff_view(
    a: &AttackGraph,
    b: &AttackGraph,
    diffs: &[PathDiff],
) -> (AttackGraph, Vec<Path>, HashMap<usize, crate::export::dot::DiffMark>) {
    use crate::export::dot::DiffMark;
    let (ka, kb): (HashSet<EdgeKey>, HashSet<EdgeKey>) =
        ((0..a.edges.len()).map(|e| edge_key(a, e)).collect(), (0..b.edges.len()).map(|e| edge_key(b, e)).collect());
    let mut nodes: BTreeMap<String, crate::model::Node> = BTreeMap::new();
    let mut edges: Vec<crate::model::Edge> = Vec::new();
    let mut marks: Vec<DiffMark> = Vec::new();
    let mut index: HashMap<(String, String, EdgeKind, bool), usize> = HashMap::new();
    let mut paths_out: Vec<(String, String, Vec<usize>)> = Vec::new();
    for d in diffs {
        for (g, list, other, gone) in
            [(a, &d.before_edges, &kb, DiffMark::Removed), (b, &d.after_edges, &ka, DiffMark::Added)]
        {
            if list.is_empty() {
                continue;
            }
            let mut path = Vec::new();
            for &e in list {
                let edge = &g.edges[e];
                for end in [&edge.source, &edge.target] {
                    let n = &g.nodes[g.node_index(end).expect("edge ends are nodes").index()];
                    nodes.entry(n.id.clone()).or_insert_with(|| n.clone());
                }
                let key = edge_key(g, e);
                let owned = (key.0.to_string(), key.1.to_string(), key.2, key.3);
                let ix = *index.entry(owned).or_insert_with(|| {
                    edges.push(edge.clone());
                    marks.push(if other.contains(&key) { DiffMark::Unchanged } else { gone });
                    edges.len() - 1
                });
                path.push(ix);
            }
            paths_out.push((
                g.edges[list[0]].source.clone(),
                g.edges[*list.last().expect("non-empty")].target.clone(),
                path,
            ));
        }
    }
    let view = AttackGraph::new(nodes.into_values().collect(), edges);
    let paths = paths_out
        .into_iter()
        .map(|(s, t, e)| Path {
            source: view.node_index(&s).expect("path ends are nodes").index(),
            target: view.node_index(&t).expect("path ends are nodes").index(),
            cost: e.iter().map(|&i| view.edges[i].cost).sum(),
            edges: e,
        })
        .collect();
    (view, paths, marks.into_iter().enumerate().collect())
}

/// The paths whose edges need evidence for [`diff_paths`] to explain them: every path of the
/// queries in one graph. Callers load their details with `explain_paths` before diffing.
pub fn paths_to_explain(g: &AttackGraph, queries: &[SavedQuery]) -> Result<Vec<Path>, query::QueryError> {
    let mut out = Vec::new();
    for q in queries {
        out.extend(pairs(g, q)?.into_values());
    }
    Ok(out)
}

/// The diff in words, for a terminal or a ticket.
pub fn report_text(facts: &[FactChange], paths: &[PathDiff], markdown: bool) -> String {
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
    if !paths.is_empty() {
        h(&mut s, "Attack paths");
    }
    let bullet = if markdown { "- " } else { "  " };
    for p in paths {
        let _ = writeln!(s, "{bullet}[{}] {}: {} -> {}", p.change.label(), p.query, p.source_name, p.target_name);
        for (label, side) in [("before", &p.before), ("after", &p.after)] {
            if let Some(x) = side {
                let pim = if x.requires_activation { ", needs PIM activation" } else { "" };
                let _ = writeln!(s, "{bullet}    {label} ({} hops, effort {}{pim}): {}", x.hops, x.cost, x.line);
            }
        }
        for c in &p.causes {
            let _ = writeln!(s, "{bullet}    because {c}");
        }
    }
    if !facts.is_empty() {
        h(&mut s, "Facts");
    }
    for f in facts {
        let how = if f.change == Change::Changed { format!(" ({})", changed_settings(f)) } else { String::new() };
        let _ = writeln!(s, "{bullet}{:?} {}: {}{how}", f.change, f.category, f.text);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::testkit::*;
    use serde_json::json;

    fn graph(f: &Facts) -> AttackGraph {
        let d = crate::rules::derive(f);
        AttackGraph::new(d.nodes, d.edges)
    }

    fn q(from: &str, to: &str) -> SavedQuery {
        crate::query::saved::parse(
            &format!("name = \"q\"\ndescription = \"d\"\nseverity = \"high\"\nfrom = \"{from}\"\nto = \"{to}\"\n"),
            "test",
        )
        .unwrap()
    }

    fn tenant() -> (T, String, String, String) {
        let mut t = T::new();
        let rg = t.rg("rg");
        let sa = t.resource(
            &rg,
            "Microsoft.Storage/storageAccounts",
            "sa",
            json!({"properties": {"allowSharedKeyAccess": true}}),
        );
        let u = t.user("u");
        (t, rg, sa, u)
    }

    #[test]
    fn an_unchanged_tenant_gives_an_empty_diff_even_when_id_case_differs() {
        let (mut t, rg, _, u) = tenant();
        t.assign(&u, "Contributor", &rg);
        let a = crate::facts::parse(&t.raw()).unwrap();
        let text = serde_json::to_string(&t.raw()).unwrap().replace("/resourceGroups/", "/RESOURCEGROUPS/");
        let b = crate::facts::parse(&crate::facts::RawFacts::from_json(&text).unwrap()).unwrap();
        assert!(diff_facts(&a, &b).is_empty());
        let (ga, gb) = (graph(&a), graph(&b));
        let d = diff_paths(&ga, &gb, &[q("kind:User", "all")], &[]).unwrap();
        assert!(d.is_empty(), "{d:?}");
    }

    #[test]
    fn removing_an_eligibility_closes_exactly_its_paths() {
        let (mut t, rg, sa, u) = tenant();
        let other = t.user("other");
        t.assign(&other, "Contributor", &rg);
        let id = t.eligible(&u, "Owner", &rg, "2026-01-01T00:00:00Z", "2027-01-01T00:00:00Z");
        let a = crate::facts::parse(&t.raw()).unwrap();
        let b = WhatIf { remove: vec![id.clone()], ..Default::default() }.apply(&a).unwrap();
        let changes = diff_facts(&a, &b);
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].change, Change::Removed);
        let (ga, gb) = (graph(&a), graph(&b));
        let d = diff_paths(&ga, &gb, &[q("kind:User", "all")], &changes).unwrap();
        assert!(d.iter().all(|p| p.change == PathChange::Closed && p.source_name == "u"), "{d:?}");
        assert!(d.iter().any(|p| p.target == crate::facts::ids::norm(&sa)));
        assert!(d.iter().all(|p| p.causes.iter().any(|c| c.starts_with("removed:") && c.contains(&id))), "{d:?}");
    }

    #[test]
    fn making_an_assignment_eligible_changes_activation_and_cost_not_reachability() {
        let (mut t, rg, _, u) = tenant();
        let id = t.assign(&u, "Contributor", &rg);
        let a = crate::facts::parse(&t.raw()).unwrap();
        let b = WhatIf { make_eligible: vec![id], ..Default::default() }.apply(&a).unwrap();
        let (ga, gb) = (graph(&a), graph(&b));
        let d = diff_paths(&ga, &gb, &[q("kind:User", "crown-jewels or kind:StorageAccount")], &[]).unwrap();
        assert!(!d.is_empty());
        for p in &d {
            assert_eq!(p.change, PathChange::NowNeedsActivation, "{p:?}");
            assert!(p.after.as_ref().unwrap().cost > p.before.as_ref().unwrap().cost);
        }
        // And back: assuming activation restores the original paths exactly.
        let c = WhatIf { assume_activated: true, ..Default::default() }.apply(&b).unwrap();
        let gc = graph(&c);
        let back = diff_paths(&ga, &gc, &[q("kind:User", "all")], &[]).unwrap();
        assert!(back.is_empty(), "{back:?}");
    }

    #[test]
    fn disabling_shared_key_access_removes_the_list_keys_paths() {
        let (mut t, rg, sa, u) = tenant();
        let reader = t.custom_role("keys only", &["Microsoft.Storage/storageAccounts/listkeys/action"], &[]);
        t.assign(&u, &reader, &rg);
        let a = crate::facts::parse(&t.raw()).unwrap();
        let text = serde_json::to_string(&t.raw())
            .unwrap()
            .replace("\"allowSharedKeyAccess\":true", "\"allowSharedKeyAccess\":false");
        let b = crate::facts::parse(&crate::facts::RawFacts::from_json(&text).unwrap()).unwrap();
        let changes = diff_facts(&a, &b);
        assert_eq!(changes.len(), 1, "{changes:?}");
        assert_eq!(changes[0].change, Change::Changed);
        let (ga, gb) = (graph(&a), graph(&b));
        let d = diff_paths(&ga, &gb, &[q("kind:User", "kind:StorageAccount")], &changes).unwrap();
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].change, PathChange::Closed);
        assert_eq!(d[0].target, crate::facts::ids::norm(&sa));
        assert!(
            d[0].causes.iter().any(|c| c.contains("allowSharedKeyAccess=true -> allowSharedKeyAccess=false")),
            "{:?}",
            d[0].causes
        );
    }

    #[test]
    fn unknown_ids_in_a_what_if_are_errors() {
        let (t, ..) = tenant();
        let a = crate::facts::parse(&t.raw()).unwrap();
        assert!(WhatIf { remove: vec!["nope".into()], ..Default::default() }.apply(&a).unwrap_err().contains("nope"));
    }
}
