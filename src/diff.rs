//! Diff: what changed between two snapshots, at the level of facts and at the level of attack
//! paths, and why. Also "what if": the effect of a planned PIM change on a copy of a snapshot's facts,
//! before making it. Pure, and computing only: putting a diff into words, JSON or a diagram is
//! `report::diff`'s and `export::dot`'s job.

use crate::facts::index::{FactRecord, fact_records};
use crate::facts::{Facts, GroupAccess, Membership, OwnedKind, Ownership};
use crate::graph::{AttackGraph, Path};
use crate::model::{EdgeKind, FactRef};
use crate::query::{self, saved::SavedQuery};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap, HashSet};

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
}

/// Walks two lists sorted by the same key in step: `visit` gets each pair of items with equal keys,
/// and each item the other list lacks alone.
fn merge_sorted<A, B>(
    a: &[A],
    b: &[B],
    cmp: impl Fn(&A, &B) -> std::cmp::Ordering,
    mut visit: impl FnMut(Option<&A>, Option<&B>),
) {
    use std::cmp::Ordering::*;
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        let (x, y) = (a.get(i), b.get(j));
        match (x, y) {
            (Some(p), Some(q)) if cmp(p, q) == Equal => {
                visit(x, y);
                i += 1;
                j += 1;
            }
            (Some(p), Some(q)) if cmp(p, q) == Less => {
                visit(x, None);
                i += 1;
            }
            (Some(_), None) => {
                visit(x, None);
                i += 1;
            }
            _ => {
                visit(None, y);
                j += 1;
            }
        }
    }
}

/// Which facts two digests disagree on: (removed, added, changed) key hashes.
pub fn digest_diff(a: &[(u128, u64)], b: &[(u128, u64)]) -> (Vec<u128>, Vec<u128>, Vec<u128>) {
    let (mut removed, mut added, mut changed) = (Vec::new(), Vec::new(), Vec::new());
    merge_sorted(
        a,
        b,
        |x, y| x.0.cmp(&y.0),
        |x, y| match (x, y) {
            (Some(x), Some(y)) if x.1 != y.1 => changed.push(x.0),
            (Some(x), None) => removed.push(x.0),
            (None, Some(y)) => added.push(y.0),
            _ => {}
        },
    );
    (removed, added, changed)
}

/// The fact changes between two snapshots given their records by key: `before` must hold every
/// removed and changed key, `after` every added and changed key (more is fine).
pub fn fact_changes(before: &HashMap<String, FactRecord>, after: &HashMap<String, FactRecord>) -> Vec<FactChange> {
    let mut out = Vec::new();
    for (k, x) in before {
        match after.get(k) {
            None => out.push(FactChange {
                change: Change::Removed,
                category: x.category,
                key: k.clone(),
                text: x.text.clone(),
                before: Some(x.detail.clone()),
                after: None,
            }),
            Some(y) if y.detail != x.detail => out.push(FactChange {
                change: Change::Changed,
                category: x.category,
                key: k.clone(),
                text: y.text.clone(),
                before: Some(x.detail.clone()),
                after: Some(y.detail.clone()),
            }),
            _ => {}
        }
    }
    for (k, y) in after {
        if !before.contains_key(k) {
            out.push(FactChange {
                change: Change::Added,
                category: y.category,
                key: k.clone(),
                text: y.text.clone(),
                before: None,
                after: Some(y.detail.clone()),
            });
        }
    }
    out.sort_by(|x, y| (x.change, x.category, &x.key).cmp(&(y.change, y.category, &y.key)));
    out
}

/// Facts added, removed and changed from `a` to `b`, matched by stable ids (case-insensitive).
pub fn diff_facts(a: &Facts, b: &Facts) -> Vec<FactChange> {
    fact_changes(&fact_records(a), &fact_records(b))
}

/// What a diff computed: both graphs (their paths are what the changes index into, and what
/// diagrams draw) and the fact and path changes.
pub struct SnapshotDiff {
    pub before: AttackGraph,
    pub after: AttackGraph,
    pub facts: Vec<FactChange>,
    pub paths: Vec<PathDiff>,
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
    /// Remove the facts with these keys (by hash): role assignments and eligibilities, directory
    /// roles, group memberships and eligibilities, ownerships, app role assignments, federated
    /// credentials, Cosmos DB role assignments. Used by `fix` to apply a plan.
    pub remove_facts: Vec<FactRef>,
    /// Turn key or local-account authentication off on these resources (by ARM id):
    /// `allowSharedKeyAccess=false`, `disableLocalAuth=true`, `disableLocalAccounts=true`.
    pub disable_keys: Vec<String>,
    /// Remove the access policy of an object (second) from a Key Vault (first), by ids.
    pub remove_access_policies: Vec<(String, String)>,
    /// Delete these objects (object ids, or ARM ids for user-assigned identities), and every fact
    /// that names them: their memberships, ownerships (either side), Graph permissions (held or
    /// granted), federated credentials, directory and Azure role assignments, eligibilities,
    /// Cosmos DB role assignments, Key Vault access policies, and their attachment to compute.
    /// Used by `fix` to apply a deletion (an application is named with its service principal).
    pub delete_objects: Vec<String>,
    /// Re-create these Azure role assignments or eligibilities (by id) at these scopes instead of
    /// their own (same principal, role, condition and state), by `fix` narrowing their scope.
    pub narrow_scopes: Vec<(String, Vec<String>)>,
}

impl WhatIf {
    pub fn is_empty(&self) -> bool {
        *self == WhatIf::default()
    }

    /// Applies the plan to a copy of the facts. Every id named must exist.
    pub fn apply(&self, facts: &Facts) -> Result<Facts, String> {
        self.apply_owned(facts.clone())
    }

    /// Applies the plan to the facts themselves (no copy of a large tenant).
    pub fn apply_owned(&self, facts: Facts) -> Result<Facts, String> {
        let mut f = facts;
        let known = |id: &str| {
            f.role_assignments.iter().any(|a| a.id.eq_ignore_ascii_case(id))
                || f.directory_role_assignments.iter().any(|a| a.id.eq_ignore_ascii_case(id))
        };
        for id in self.remove.iter().chain(&self.make_eligible) {
            if !known(id) {
                return Err(format!("no role assignment or eligibility with id {id:?} in this snapshot"));
            }
        }
        for (id, scopes) in &self.narrow_scopes {
            let Some(i) = f.role_assignments.iter().position(|a| a.id.eq_ignore_ascii_case(id)) else {
                return Err(format!("no role assignment or eligibility with id {id:?} in this snapshot"));
            };
            let a = f.role_assignments.remove(i);
            let name = a.id.rsplit('/').next().unwrap_or_default().to_string();
            let kind = if a.eligible { "roleEligibilitySchedules" } else { "roleAssignments" };
            for (n, scope) in scopes.iter().enumerate() {
                let mut b = a.clone();
                b.id = format!("{scope}/providers/Microsoft.Authorization/{kind}/{name}-narrowed-{n}");
                b.scope = scope.clone();
                f.role_assignments.push(b);
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
        self.apply_fact_edits(&mut f);
        if self.assume_activated {
            for e in std::mem::take(&mut f.group_eligibilities) {
                match e.access {
                    GroupAccess::Member => f.memberships.push(Membership {
                        group_id: e.group_id.into(),
                        member_id: e.principal_id.into(),
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

    /// The fact-level edits (`remove_facts`, `disable_keys`, `remove_access_policies`); facts named
    /// that do not exist are ignored (a plan names only facts it found).
    fn apply_fact_edits(&self, f: &mut Facts) {
        use crate::facts::ResourceDetails as R;
        if !self.delete_objects.is_empty() {
            self.delete(f);
        }
        if !self.remove_facts.is_empty() {
            let gone: HashSet<FactRef> = self.remove_facts.iter().copied().collect();
            let keep = |key: String| !gone.contains(&FactRef::of(&key));
            f.role_assignments.retain(|a| keep(a.fact_key()));
            f.directory_role_assignments.retain(|a| keep(a.fact_key()));
            f.memberships.retain(|m| keep(m.fact_key()));
            f.group_eligibilities.retain(|e| keep(e.fact_key()));
            f.ownerships.retain(|o| keep(o.fact_key()));
            f.app_role_assignments.retain(|a| keep(a.fact_key()));
            f.federated_credentials.retain(|c| keep(c.fact_key()));
            f.cosmos_role_assignments.retain(|a| keep(a.fact_key()));
        }
        for r in &mut f.resources {
            let off = self.disable_keys.iter().any(|id| id.eq_ignore_ascii_case(&r.id));
            match &mut r.details {
                R::StorageAccount { allow_shared_key_access } if off => *allow_shared_key_access = Some(false),
                R::CognitiveServices { disable_local_auth, .. } | R::CosmosDb { disable_local_auth } if off => {
                    *disable_local_auth = Some(true)
                }
                R::Aks { disable_local_accounts, .. } if off => *disable_local_accounts = Some(true),
                R::KeyVault { access_policies, .. } => {
                    let vault = r.id.as_str();
                    access_policies.retain(|p| {
                        !self
                            .remove_access_policies
                            .iter()
                            .any(|(v, o)| v.eq_ignore_ascii_case(vault) && o.eq_ignore_ascii_case(&p.object_id))
                    });
                }
                _ => {}
            }
        }
    }
}

impl WhatIf {
    /// `delete_objects`: the objects and every fact that names them.
    fn delete(&self, f: &mut Facts) {
        use crate::facts::{FederatedParent, ResourceDetails as R};
        let gone: HashSet<String> = self.delete_objects.iter().map(|id| id.to_ascii_lowercase()).collect();
        let g = |id: &str| gone.contains(&id.to_ascii_lowercase());
        f.users.retain(|u| !g(&u.id));
        f.service_principals.retain(|s| !g(&s.id));
        f.applications.retain(|a| !g(&a.id));
        f.memberships.retain(|m| !g(&m.group_id) && !g(&m.member_id));
        f.ownerships.retain(|o| !g(&o.owner_id) && !g(&o.owned_id));
        f.app_role_assignments.retain(|a| !g(&a.principal_id) && !g(&a.resource_id));
        f.federated_credentials.retain(|c| match &c.parent {
            FederatedParent::Application(id) | FederatedParent::UserAssignedIdentity(id) => !g(id),
        });
        f.directory_role_assignments.retain(|a| !g(&a.principal_id));
        f.group_eligibilities.retain(|e| !g(&e.principal_id) && !g(&e.group_id));
        f.administrative_unit_members.retain(|m| !g(&m.member_id));
        f.role_assignments.retain(|a| !g(&a.principal_id));
        f.cosmos_role_assignments.retain(|a| !g(&a.principal_id));
        f.resources.retain(|r| !g(&r.id));
        for r in &mut f.resources {
            r.identity.user_assigned.retain(|(uami, principal)| !g(uami) && !principal.as_deref().is_some_and(g));
            match &mut r.details {
                R::KeyVault { access_policies, .. } => access_policies.retain(|p| !g(&p.object_id)),
                R::Aks { kubelet_identity, .. } if kubelet_identity.as_ref().is_some_and(|(uami, _)| g(uami)) => {
                    *kubelet_identity = None;
                }
                _ => {}
            }
        }
    }
}

/// The easiest path of one (source, target) pair, summarised, with the path itself (edge indices
/// into its side's graph).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PairPath {
    pub cost: u32,
    pub hops: usize,
    pub requires_activation: bool,
    pub path: Path,
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

/// A pair whose easiest path changed, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathDiff {
    pub query: String,
    pub change: PathChange,
    pub source: String,
    pub source_name: String,
    pub target: String,
    pub target_name: String,
    /// The easiest path in the before graph, if any.
    pub before: Option<PairPath>,
    /// The easiest path in the after graph, if any.
    pub after: Option<PairPath>,
    /// What explains the change: the fact changes behind the hops one side lacks.
    pub causes: Vec<Cause>,
}

impl PathDiff {
    /// The edges of the before or after path (indices into that side's graph).
    pub fn edges(&self, after: bool) -> &[usize] {
        let side = if after { &self.after } else { &self.before };
        side.as_ref().map(|p| p.path.edges.as_slice()).unwrap_or_default()
    }
}

/// Why a pair's path changed: a fact change that made or unmade one of its hops, or (when no
/// recorded fact explains it) the hop itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cause {
    Fact(FactChange),
    Edge { kind: EdgeKind, source: String, target: String, reason: String },
}

/// One query's easiest path per (source, target) pair in one graph, sorted by source then target id.
#[derive(Debug, Clone)]
pub struct QueryPairs {
    pub query: String,
    pub paths: Vec<Path>,
}

/// Runs each query for its easiest path per pair: what a path diff compares.
pub fn query_pairs(g: &AttackGraph, queries: &[SavedQuery]) -> Result<Vec<QueryPairs>, query::QueryError> {
    // Queries share selectors ("pipeline", "crown-jewels"): match each against the graph once.
    let mut selected: HashMap<&str, Vec<crate::graph::NodeId>> = HashMap::new();
    for sel in queries.iter().flat_map(|q| [q.from.as_str(), q.to.as_str()]) {
        if !selected.contains_key(sel) {
            selected.insert(sel, query::select(g, sel)?);
        }
    }
    queries
        .iter()
        .map(|q| {
            let (sources, targets) = (&selected[q.from.as_str()], &selected[q.to.as_str()]);
            let opts = query::PathOptions { k: None, all_equal: false, ..q.options.clone() };
            Ok(QueryPairs { query: q.name.clone(), paths: query::paths(g, sources, targets, &opts)? })
        })
        .collect()
}

/// A pair whose easiest path changed, before it is put into words: the paths are indices into
/// the before (`a`) and after (`b`) graphs.
#[derive(Debug, Clone)]
pub struct PairChange {
    pub query: String,
    pub change: PathChange,
    pub before: Option<Path>,
    pub after: Option<Path>,
}

/// How two easiest paths of one pair compare, if they differ in anything a user acts on.
fn classify(a: &AttackGraph, b: &AttackGraph, x: Option<&Path>, y: Option<&Path>) -> Option<PathChange> {
    Some(match (x, y) {
        (None, None) => return None,
        (None, Some(_)) => PathChange::Opened,
        (Some(_), None) => PathChange::Closed,
        (Some(s), Some(t)) => match (s.requires_activation(a), t.requires_activation(b)) {
            (false, true) => PathChange::NowNeedsActivation,
            (true, false) => PathChange::NoLongerNeedsActivation,
            _ if (t.cost, t.hops()) < (s.cost, s.hops()) => PathChange::Easier,
            _ if (t.cost, t.hops()) > (s.cost, s.hops()) => PathChange::Harder,
            _ => return None,
        },
    })
}

/// The pairs whose easiest path opened, closed, or changed in cost, hops or need for PIM, per
/// query. Pairs are matched by node id, so the two graphs may number their nodes differently; both
/// lists are sorted by (source id, target id), so one merge pass pairs them up, and unchanged pairs
/// are never put into words.
pub fn changed_pairs(a: &AttackGraph, b: &AttackGraph, pa: &[QueryPairs], pb: &[QueryPairs]) -> Vec<PairChange> {
    let mut out = Vec::new();
    for (qa, qb) in pa.iter().zip(pb) {
        merge_sorted(
            &qa.paths,
            &qb.paths,
            |x, y| pair_ids(a, x).cmp(&pair_ids(b, y)),
            |x, y| {
                if let Some(change) = classify(a, b, x, y) {
                    out.push(PairChange { query: qa.query.clone(), change, before: x.cloned(), after: y.cloned() });
                }
            },
        );
    }
    out
}

fn pair_ids<'g>(g: &'g AttackGraph, p: &Path) -> (&'g str, &'g str) {
    (g.node(p.source).id, g.node(p.target).id)
}

/// The hops of changed paths that the other graph lacks: (edges of `a` gone from `b`, edges of `b`
/// new since `a`). Their evidence is what [`describe`] traces causes through.
pub fn unmatched_edges(a: &AttackGraph, b: &AttackGraph, changes: &[PairChange]) -> (Vec<usize>, Vec<usize>) {
    let mut seen: HashSet<(bool, usize)> = HashSet::new();
    let (mut gone, mut new) = (Vec::new(), Vec::new());
    for c in changes {
        for (after, g, other, p) in [(false, a, b, &c.before), (true, b, a, &c.after)] {
            for &e in p.iter().flat_map(|p| &p.edges) {
                if seen.insert((after, e)) && !has_edge(g, e, other) {
                    if after { new.push(e) } else { gone.push(e) }
                }
            }
        }
    }
    (gone, new)
}

fn summary(g: &AttackGraph, p: &Path) -> PairPath {
    PairPath { cost: p.cost, hops: p.hops(), requires_activation: p.requires_activation(g), path: p.clone() }
}

/// Whether `other` has edge `e` of `g`: same ends (by id), kind, need for PIM and condition.
fn has_edge(g: &AttackGraph, e: usize, other: &AttackGraph) -> bool {
    let x = g.edge(e);
    let (Some(s), Some(t)) = (other.node_index(&x.source), other.node_index(&x.target)) else { return false };
    other.out_edges(s).any(|f| {
        let y = other.edge(f);
        other.edge_target(f).index() == t.index()
            && y.kind == x.kind
            && y.requires_activation == x.requires_activation
            && y.conditional == x.conditional
    })
}

/// The fact changes behind an edge: those its evidence, or the evidence of another derivation
/// merged into it ([`crate::model::Edge::alternatives`]), names by key, and those of its two ends
/// (a principal or resource that came or went). These are the facts that made or unmade it: a hop
/// derived from two grants closes only when both go, and both are its causes.
fn explain_edge(g: &AttackGraph, e: usize, facts: &[FactChange], wanted: &[Change]) -> Vec<Cause> {
    let edge = g.edge(e);
    let ends = [&edge.source, &edge.target].map(|id| {
        let n = g.node_index(id).map(|ix| g.node(ix));
        n.and_then(|n| crate::facts::index::node_fact_key(n.kind, &n.id.to_ascii_lowercase())).map(|k| FactRef::of(&k))
    });
    let named: HashSet<FactRef> = edge
        .evidence()
        .iter()
        .chain(edge.alternatives.iter().flatten())
        .filter_map(|ev| ev.fact)
        .chain(ends.into_iter().flatten())
        .collect();
    let mut out: Vec<Cause> = facts
        .iter()
        .filter(|c| wanted.contains(&c.change) && named.contains(&FactRef::of(&c.key)))
        .filter(|c| {
            !matches!(c.category, "user" | "group" | "service principal" | "application") || c.change != Change::Changed
        })
        .map(|c| Cause::Fact(c.clone()))
        .collect();
    if out.is_empty() {
        out.push(Cause::Edge {
            kind: edge.kind,
            source: edge.source.to_string(),
            target: edge.target.to_string(),
            reason: edge.reason(g),
        });
    }
    out
}

/// Describes changed pairs, each with the fact changes that caused it: the hops of the old
/// path that the new graph lacks, and of the new path that the old one lacked (`unmatched`, from
/// [`unmatched_edges`]), traced to facts through their evidence, which those hops must carry
/// (`explain_edges`).
pub fn describe(
    a: &AttackGraph,
    b: &AttackGraph,
    changes: Vec<PairChange>,
    unmatched: &(Vec<usize>, Vec<usize>),
    facts: &[FactChange],
) -> Vec<PathDiff> {
    let gone: HashSet<usize> = unmatched.0.iter().copied().collect();
    let new: HashSet<usize> = unmatched.1.iter().copied().collect();
    let mut because: HashMap<(bool, usize), Vec<Cause>> = HashMap::new();
    let mut out: Vec<PathDiff> = changes
        .into_iter()
        .map(|c| {
            let mut causes = Vec::new();
            for (after, g, p, lacking, wanted) in [
                (false, a, &c.before, &gone, [Change::Removed, Change::Changed]),
                (true, b, &c.after, &new, [Change::Added, Change::Changed]),
            ] {
                for &e in p.iter().flat_map(|p| &p.edges).filter(|e| lacking.contains(e)) {
                    let why = because.entry((after, e)).or_insert_with(|| explain_edge(g, e, facts, &wanted));
                    causes.extend(why.iter().cloned());
                }
            }
            // Each cause once, in the order the hops name them (reports sort them by their words).
            let mut unique: Vec<Cause> = Vec::with_capacity(causes.len());
            for c in causes {
                if !unique.contains(&c) {
                    unique.push(c);
                }
            }
            let causes = unique;
            let (g, p) = match (&c.before, &c.after) {
                (Some(p), _) => (a, p),
                (None, Some(p)) => (b, p),
                (None, None) => unreachable!("a change has a path on one side"),
            };
            PathDiff {
                query: c.query,
                change: c.change,
                source: g.node(p.source).id.to_string(),
                source_name: g.node(p.source).name.to_string(),
                target: g.node(p.target).id.to_string(),
                target_name: g.node(p.target).name.to_string(),
                before: c.before.as_ref().map(|p| summary(a, p)),
                after: c.after.as_ref().map(|p| summary(b, p)),
                causes,
            }
        })
        .collect();
    out.sort_by(|x, y| {
        (&x.query, x.change, &x.source_name, &x.target_name, &x.source, &x.target).cmp(&(
            &y.query,
            y.change,
            &y.source_name,
            &y.target_name,
            &y.source,
            &y.target,
        ))
    });
    out
}

/// Path-level diff for the given queries, all in memory: both graphs must carry their edges'
/// evidence (as derived graphs do) for causes to be found.
pub fn diff_paths(
    a: &AttackGraph,
    b: &AttackGraph,
    queries: &[SavedQuery],
    facts: &[FactChange],
) -> Result<Vec<PathDiff>, query::QueryError> {
    let (pa, pb) = (query_pairs(a, queries)?, query_pairs(b, queries)?);
    let changes = changed_pairs(a, b, &pa, &pb);
    let unmatched = unmatched_edges(a, b, &changes);
    Ok(describe(a, b, changes, &unmatched, facts))
}

/// How an edge of a diff diagram changed between the two snapshots.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiffMark {
    Added,
    Removed,
    Unchanged,
}

/// One graph holding every changed path of a diff (before and after), with how each edge changed:
/// what a diff diagram draws.
pub fn diff_view(
    a: &AttackGraph,
    b: &AttackGraph,
    diffs: &[PathDiff],
) -> (AttackGraph, Vec<Path>, HashMap<usize, DiffMark>) {
    let mut nodes: BTreeMap<String, crate::model::Node> = BTreeMap::new();
    let mut edges: Vec<crate::model::Edge> = Vec::new();
    let mut marks: Vec<DiffMark> = Vec::new();
    let mut index: HashMap<(String, String, EdgeKind, bool, bool), usize> = HashMap::new();
    let mut paths_out: Vec<(String, String, Vec<usize>)> = Vec::new();
    for d in diffs {
        for (g, list, other, gone) in
            [(a, d.edges(false), b, DiffMark::Removed), (b, d.edges(true), a, DiffMark::Added)]
        {
            if list.is_empty() {
                continue;
            }
            let mut path = Vec::new();
            for &e in list {
                let edge = g.edge(e);
                for end in [&edge.source, &edge.target] {
                    let n = g.node(g.node_index(end).expect("edge ends are nodes"));
                    nodes.entry(n.id.to_string()).or_insert_with(|| n.to_node());
                }
                let key = (
                    edge.source.to_string(),
                    edge.target.to_string(),
                    edge.kind,
                    edge.requires_activation,
                    edge.conditional,
                );
                let ix = *index.entry(key).or_insert_with(|| {
                    edges.push(edge.into_owned());
                    marks.push(if has_edge(g, e, other) { DiffMark::Unchanged } else { gone });
                    edges.len() - 1
                });
                path.push(ix);
            }
            paths_out.push((
                g.edge(list[0]).source.to_string(),
                g.edge(*list.last().expect("non-empty")).target.to_string(),
                path,
            ));
        }
    }
    let view = AttackGraph::new(nodes.into_values().collect(), edges);
    let paths = paths_out
        .into_iter()
        .map(|(s, t, e)| Path {
            source: view.node_index(&s).expect("path ends are nodes"),
            target: view.node_index(&t).expect("path ends are nodes"),
            cost: e.iter().map(|&i| view.edge_cost(i)).sum(),
            edges: e,
        })
        .collect();
    (view, paths, marks.into_iter().enumerate().collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::ResourceDetails;
    use crate::facts::index::{FACT_CATEGORIES, fact_digest, fact_key_hash};
    use crate::rules::testkit::*;

    fn graph(f: &Facts) -> AttackGraph {
        AttackGraph::from_facts(f)
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
        let sa = t.storage(&rg, "sa", true);
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
        let removed_it = |c: &Cause| matches!(c, Cause::Fact(f) if f.change == Change::Removed && f.text.contains(&id));
        assert!(d.iter().all(|p| p.causes.iter().any(removed_it)), "{d:?}");
    }

    #[test]
    fn a_hop_from_two_grants_closes_when_both_go_and_names_both() {
        // Owner and User Access Administrator on one resource group: one AssignRoles hop, two
        // derivations. Removing one changes nothing; removing both closes it, caused by both.
        let (mut t, rg, _, u) = tenant();
        let owner = t.assign(&u, "Owner", &rg);
        let uaa = t.assign(&u, "User Access Administrator", &rg);
        let a = crate::facts::parse(&t.raw()).unwrap();
        let ga = graph(&a);
        let query = [q("kind:User", "kind:ResourceGroup")];
        for one in [&owner, &uaa] {
            let b = WhatIf { remove: vec![one.clone()], ..Default::default() }.apply(&a).unwrap();
            let d = diff_paths(&ga, &graph(&b), &query, &diff_facts(&a, &b)).unwrap();
            assert!(!d.iter().any(|p| p.change == PathChange::Closed), "{d:?}");
        }
        let b = WhatIf { remove: vec![owner.clone(), uaa.clone()], ..Default::default() }.apply(&a).unwrap();
        let d = diff_paths(&ga, &graph(&b), &query, &diff_facts(&a, &b)).unwrap();
        let closed = d.iter().find(|p| p.change == PathChange::Closed).expect("the hop closes");
        for id in [&owner, &uaa] {
            let removed =
                |c: &Cause| matches!(c, Cause::Fact(f) if f.change == Change::Removed && f.text.contains(id.as_str()));
            assert!(closed.causes.iter().any(removed), "{id} is a cause: {:?}", closed.causes);
        }
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
            d[0].causes.iter().any(|c| matches!(c, Cause::Fact(f) if f.change == Change::Changed
                && f.before.as_deref().is_some_and(|b| b.contains("allowSharedKeyAccess=true"))
                && f.after.as_deref().is_some_and(|a| a.contains("allowSharedKeyAccess=false")))),
            "{:?}",
            d[0].causes
        );
    }

    #[test]
    fn digests_find_exactly_the_added_removed_and_changed_facts() {
        let (mut t, rg, _, u) = tenant();
        let gone = t.assign(&u, "Reader", &rg);
        let stays = t.assign(&u, "Contributor", &rg);
        let a = crate::facts::parse(&t.raw()).unwrap();
        let mut b =
            WhatIf { remove: vec![gone], make_eligible: vec![stays.clone()], ..Default::default() }.apply(&a).unwrap();
        b.users.push(crate::facts::User { id: "new-user".into(), ..b.users[0].clone() });
        for r in &mut b.resources {
            if let ResourceDetails::StorageAccount { allow_shared_key_access } = &mut r.details {
                *allow_shared_key_access = Some(false);
            }
        }
        let (ra, rb) = (fact_records(&a), fact_records(&b));
        let (removed, added, changed) = digest_diff(&fact_digest(ra.values()), &fact_digest(rb.values()));
        // Eligible is another category than active: the Contributor fact moved, the Reader went,
        // a user came, and the storage account's settings changed.
        let key = |r: &FactRecord| fact_key_hash(&r.key);
        let mut want_removed: Vec<u128> =
            ra.iter().filter(|(k, _)| !rb.contains_key(*k)).map(|(_, r)| key(r)).collect();
        let mut want_added: Vec<u128> = rb.iter().filter(|(k, _)| !ra.contains_key(*k)).map(|(_, r)| key(r)).collect();
        want_removed.sort();
        want_added.sort();
        assert_eq!((removed.len(), added.len(), changed.len()), (2, 2, 1));
        assert_eq!((removed, added), (want_removed, want_added));
        assert!(fact_records(&a).values().all(|r| FACT_CATEGORIES.contains(&r.category)));
    }

    #[test]
    fn unknown_ids_in_a_what_if_are_errors() {
        let (t, ..) = tenant();
        let a = crate::facts::parse(&t.raw()).unwrap();
        assert!(WhatIf { remove: vec!["nope".into()], ..Default::default() }.apply(&a).unwrap_err().contains("nope"));
        let narrow = WhatIf { narrow_scopes: vec![("nope".into(), vec![SUB.into()])], ..Default::default() };
        assert!(narrow.apply(&a).unwrap_err().contains("nope"));
    }

    #[test]
    fn narrowing_re_creates_an_eligibility_at_each_scope_and_deleting_removes_what_names_the_object() {
        let mut t = T::new();
        let (app, sp) = t.app("stale");
        let user = t.user("u");
        t.owner("applicationOwners", &app, &user);
        let (rg1, rg2) = (t.rg("one"), t.rg("two"));
        let es = t.eligible(&sp, "Contributor", SUB, "2026-01-01T00:00:00Z", "2027-01-01T00:00:00Z");
        let a = crate::facts::parse(&t.raw()).unwrap();
        let scopes = vec![rg1.to_ascii_lowercase(), rg2.to_ascii_lowercase()];
        let b = WhatIf { narrow_scopes: vec![(es.clone(), scopes.clone())], ..Default::default() }.apply(&a).unwrap();
        let mine: Vec<_> = b.role_assignments.iter().filter(|r| r.principal_id == sp).collect();
        assert_eq!(mine.iter().map(|r| r.scope.clone()).collect::<Vec<_>>(), scopes);
        assert!(mine.iter().all(|r| r.eligible && r.role_definition_id == a.role_assignments[0].role_definition_id));
        assert!(!b.role_assignments.iter().any(|r| r.id.eq_ignore_ascii_case(&es)));
        // Deleting the application and its service principal: their facts and what names them go.
        let c = WhatIf { delete_objects: vec![app.clone(), sp.clone()], ..Default::default() }.apply(&a).unwrap();
        assert!(c.applications.is_empty() && !c.service_principals.iter().any(|s| s.id == sp));
        assert!(c.ownerships.iter().all(|o| o.owned_id != app));
        assert!(c.role_assignments.iter().all(|r| r.principal_id != sp));
        let g = crate::graph::AttackGraph::from_facts(&c);
        assert!(g.node_index(&app).is_none() && g.node_index(&sp).is_none());
    }
}
