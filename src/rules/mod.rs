//! Rules: from facts to attack edges.
//!
//! Every rule is one value in [`RULES`]: an id, the edge kind it makes, a one-line summary, a longer
//! doc (what it does, why it matters, when it must not fire) and a pure function from the
//! [`Context`] to edges. Rules do no I/O and know nothing of SQL; they are tested on facts built in
//! code. To add a rule: write `src/rules/<name>.rs` with a `pub const RULE: Rule` and its tests, and
//! add it to [`RULES`] (and `mod` it below). Nothing else changes.

/// The sentence on management locks in the doc of every rule whose abuse is an ARM write or POST
/// (a literal, for `concat!`).
macro_rules! read_only_lock_doc {
    () => {
        " Management locks: the abuse is a write or POST sent to Azure Resource Manager, which a \
ReadOnly lock on the resource or on a scope above it blocks for every user and role (Microsoft Learn, \
\"Lock your resources to protect your infrastructure\", \
https://learn.microsoft.com/azure/azure-resource-manager/management/lock-resources: locks stop POSTs such \
as a storage account's List Keys and role assignments at the locked scope, and apply only to the control \
plane). Under such a lock the edge remains only when the principal can delete the lock \
(`Microsoft.Authorization/locks/delete` at or above it: Owner, User Access Administrator); it then costs \
3 more and names the lock. A CanNotDelete lock changes nothing."
    };
}

mod acr;
mod admin_units;
mod aks_azure_rbac;
mod app_service;
mod app_sp;
mod arm_hierarchy;
mod cosmos_data;
mod directory_roles;
mod dynamic_membership;
mod elevate_access;
mod execute;
mod federated;
mod function_package_storage;
mod graph_app_roles;
mod group_eligibility;
mod key_vault;
mod keys;
mod membership;
mod ml_code_in_storage;
mod ml_connections;
mod ml_datastores;
mod nodes;
mod ownership;
mod rbac_assign;
mod rbac_data;
#[cfg(test)]
mod rbac_reference;
mod run_as;
/// Tenants built in code, in Graph/ARM JSON, for tests (here and in `tests/`): not part of the
/// API.
#[doc(hidden)]
pub mod testkit;
mod uami_attach;
mod uami_federation;

use crate::facts::{AdministrativeUnit, AdministrativeUnitMember, Facts, Lock, LockLevel, Resource, RoleAssignment};
use crate::model::{
    Alternatives, Detail, Edge, EdgeKind, Evidence, EvidenceKind, FastMap, FastSet, NameOf, Node, NodeKind,
};
use crate::rbac::{self, Grant, RoleDefinition};
use std::collections::HashMap;
use std::sync::Arc;

/// A rule: one small, self-describing unit that turns facts into edges of one kind.
pub struct Rule {
    /// Stable id, used in stored edges and `azpath rules ID`.
    pub id: &'static str,
    /// The edge kinds it makes (most rules make one).
    pub edges: &'static [EdgeKind],
    pub summary: &'static str,
    /// What it does, why it matters, and when it must not fire.
    pub doc: &'static str,
    pub derive: fn(&Context, &mut Vec<Edge>),
}

/// All rules, in the order they run (the order does not change the result: output is sorted).
pub static RULES: &[&Rule] = &[
    &membership::RULE,
    &group_eligibility::RULE,
    &ownership::ADD_SECRET,
    &ownership::ADD_MEMBER,
    &app_sp::RULE,
    &federated::RULE,
    &run_as::UAMI_RULE,
    &run_as::RULE,
    &uami_federation::RULE,
    &directory_roles::RULE,
    &admin_units::SCOPED,
    &admin_units::RESTRICTED,
    &graph_app_roles::RULE,
    &dynamic_membership::RULE,
    &elevate_access::RULE,
    &rbac_assign::RULE,
    &arm_hierarchy::RULE,
    &keys::LIST_KEYS,
    &keys::LIST_SAS,
    &ml_datastores::RULE,
    &ml_connections::RULE,
    &keys::RE_ENABLE_KEYS,
    &keys::COSMOS_READ_ONLY_KEYS_RULE,
    &cosmos_data::READ_DATA,
    &cosmos_data::WRITE_DATA,
    &cosmos_data::ASSIGN,
    &key_vault::READ_SECRETS,
    &key_vault::SET_ACCESS_POLICY,
    &rbac_data::READ_DATA,
    &rbac_data::WRITE_DATA,
    &execute::RULE,
    &ml_code_in_storage::RULE,
    &function_package_storage::RULE,
    &aks_azure_rbac::RULE,
    &acr::PULL,
    &acr::PUSH,
    &app_service::MASTER_KEY,
    &app_service::BASIC_AUTH,
    &uami_attach::RULE,
];

/// The result of running every rule over one tenant's facts.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Derived {
    /// Sorted by id.
    pub nodes: Vec<Node>,
    /// Sorted by (source, target, kind, requires_activation) and de-duplicated on that key.
    pub edges: Vec<Edge>,
    /// Where each edge's source and target are in `nodes`, so the graph is built without looking
    /// ids up again.
    pub ends: Vec<(u32, u32)>,
    /// Facts that were read but could not be used (unknown role definitions, ...).
    pub warnings: Vec<String>,
}

impl NameOf for Derived {
    fn name_of(&self, id: &str) -> Option<&str> {
        let at = self.nodes.binary_search_by(|n| n.id.as_str().cmp(id)).ok()?;
        Some(&self.nodes[at].name)
    }
}

impl NameOf for Context<'_> {
    fn name_of(&self, id: &str) -> Option<&str> {
        self.node(id).map(|n| n.name.as_str())
    }
}

/// Runs every rule. Pure: the same facts always give the same nodes and edges, in the same order.
/// Rules only read the context and push their own edges, so they run on every core, each rule's
/// edges kept in `RULES` order; a step that reads other rules' edges runs after them all.
pub fn derive(facts: &Facts) -> Derived {
    derive_with(facts, true)
}

/// [`derive`] for a search only, as `fix` verifies a plan with (is any path left?): the same
/// hops at the same (cheapest) cost, without the other derivations of each hop merged in as its
/// alternatives, which only planning reads.
pub fn derive_for_search(facts: &Facts) -> Derived {
    derive_with(facts, false)
}

/// [`derive`] taking the facts, which it frees before the rules' edges are merged: the context
/// and the facts are then no longer needed, and merging is when the edges are largest (the
/// import's peak memory).
pub fn derive_owned(facts: Facts) -> Derived {
    derive_owned_beside(facts, |_| ()).0
}

/// [`derive_owned`], with `beside` run on another core while the rules' context (the nodes and
/// indexes, one core's work) is built, and done before the rules run on every core. The import
/// builds and compresses its fact index there, in time it would otherwise wait.
pub fn derive_owned_beside<T: Send>(facts: Facts, beside: impl FnOnce(&Facts) -> T + Send) -> (Derived, T) {
    let (made, value) = run_rules_beside(&facts, true, beside);
    drop(facts);
    (finish(made, true), value)
}

fn derive_with(facts: &Facts, alternatives: bool) -> Derived {
    finish(run_rules(facts, alternatives), alternatives)
}

/// An edge as a rule's edges are kept until [`finish`] merges them: its ends as positions in the
/// context's nodes (its rule is the list it is in), so no id is looked up again, and 32 bytes
/// instead of an [`Edge`]'s 72 (ten million of them at the scale the import targets).
struct RawEdge {
    detail: Arc<Detail>,
    alternatives: Alternatives,
    source: u32,
    target: u32,
    cost: u32,
    kind: EdgeKind,
    requires_activation: bool,
    conditional: bool,
}

const _: () = assert!(std::mem::size_of::<RawEdge>() == 32);

impl RawEdge {
    /// The evidence, rendered with the ends' ids (as [`Edge::evidence`]).
    fn evidence(&self, ids: &[Arc<str>]) -> Vec<Evidence> {
        let (source, target) = (&ids[self.source as usize], &ids[self.target as usize]);
        self.detail.evidence.iter().map(|e| e.render(source, target)).collect()
    }
}

/// What the rules made, with the parts of the context that outlive the facts.
struct Made {
    nodes: Vec<Node>,
    /// Each node's id, by position: the context's shared copy.
    ids: Vec<Arc<str>>,
    warnings: Vec<String>,
    /// Per rule (in `RULES` order), its edges in the order it made them.
    per_rule: Vec<Vec<RawEdge>>,
}

/// Builds the context and runs every rule on every core; each rule's edges become [`RawEdge`]s on
/// the thread that made them (edges naming an unknown node, or from a node to itself, are dropped).
fn run_rules(facts: &Facts, alternatives: bool) -> Made {
    run_rules_beside(facts, alternatives, |_| ()).0
}

/// [`run_rules`], running `beside` on another thread while the context is built.
fn run_rules_beside<T: Send>(facts: &Facts, alternatives: bool, beside: impl FnOnce(&Facts) -> T + Send) -> (Made, T) {
    let (ctx, value) = std::thread::scope(|scope| {
        let value = scope.spawn(|| beside(facts));
        let ctx = Context::new(facts);
        (ctx, value.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
    });
    let next = std::sync::atomic::AtomicUsize::new(0);
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, RULES.len());
    let run_rules = || {
        let mut done = Vec::new();
        loop {
            let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let Some(rule) = RULES.get(i) else { break done };
            let mut edges = Vec::new();
            (rule.derive)(&ctx, &mut edges);
            debug_assert!(edges.iter().all(|e| rule.edges.contains(&e.kind) && &*e.rule == rule.id));
            done.push((i, raw_edges(&ctx.node_index, edges)));
        }
    };
    let mut per_rule: Vec<Vec<RawEdge>> = RULES.iter().map(|_| Vec::new()).collect();
    std::thread::scope(|scope| {
        let helpers: Vec<_> = (1..workers).map(|_| scope.spawn(run_rules)).collect();
        let mut done = run_rules();
        for h in helpers {
            // A rule that panics is a bug; carry its panic on rather than lose its edges.
            done.extend(h.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)));
        }
        for (i, edges) in done {
            per_rule[i] = edges;
        }
    });
    // Nodes by their position in id order share one `Arc` per id: the context's, which the edges
    // of `shared_edge` already hold.
    let mut ids: Vec<Arc<str>> = vec![Arc::from(""); ctx.nodes.len()];
    for (id, &at) in &ctx.node_index {
        ids[at as usize] = id.clone();
    }
    if alternatives {
        keys::add_re_enable_alternatives(&ctx, &ids, &mut per_rule);
    }
    // The rest of the context (its indexes, which borrow the facts) is dropped here.
    let Context { nodes, warnings, .. } = ctx;
    let warnings = warnings.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner);
    (Made { nodes, ids, warnings, per_rule }, value)
}

/// A rule's edges as [`RawEdge`]s; those naming an unknown node or looping are dropped.
fn raw_edges(position: &FastMap<Arc<str>, u32>, edges: Vec<Edge>) -> Vec<RawEdge> {
    // Consecutive edges often share an end (a group's members, a role's targets): compare with the
    // last one found before hashing.
    let mut last: [Option<(Arc<str>, u32)>; 2] = [None, None];
    let mut find = |end: &Arc<str>, which: usize| -> Option<u32> {
        if let Some((id, at)) = &last[which]
            && (Arc::ptr_eq(id, end) || **id == **end)
        {
            return Some(*at);
        }
        let at = *position.get(&**end)?;
        last[which] = Some((end.clone(), at));
        Some(at)
    };
    let mut out = Vec::with_capacity(edges.len());
    for e in edges {
        if let (Some(source), Some(target)) = (find(&e.source, 0), find(&e.target, 1))
            && source != target
        {
            out.push(RawEdge {
                detail: e.detail,
                alternatives: e.alternatives,
                source,
                target,
                cost: e.cost,
                kind: e.kind,
                requires_activation: e.requires_activation,
                conditional: e.conditional,
            });
        }
    }
    out
}

/// Sorts, de-duplicates, and prunes role nodes that grant nothing (holding AI Administrator is a
/// fact, not an attack edge).
fn finish(made: Made, alternatives: bool) -> Derived {
    let Made { nodes, ids, warnings, mut per_rule } = made;
    let kinds: Vec<NodeKind> = nodes.iter().map(|n| n.kind).collect();
    // Each edge's key packed into two integers in the order (source, target, kind, activation,
    // cost, rule), so the sort compares integers (edges sort by node positions in the same order
    // as by ids); then its place in its rule's list. Only ties compare evidence.
    let total: usize = per_rule.iter().map(Vec::len).sum();
    let mut order: Vec<(u64, u64, u32)> = Vec::with_capacity(total);
    for (r, edges) in per_rule.iter().enumerate() {
        for (i, e) in edges.iter().enumerate() {
            let hi = (e.source as u64) << 32 | e.target as u64;
            let lo =
                (e.kind as u8 as u64) << 56 | (e.requires_activation as u64) << 55 | (e.cost as u64) << 16 | r as u64;
            order.push((hi, lo, u32::try_from(i).expect("fewer than 2^32 edges per rule")));
        }
    }
    let rule_of = |k: &(u64, u64, u32)| (k.1 & 0xFFFF) as usize;
    let at = |k: &(u64, u64, u32)| (rule_of(k), k.2 as usize);
    // Cheapest first within a key, then the earlier rule in RULES (the more direct abuse), then the
    // smallest evidence, then the first made, so the kept edge is deterministic.
    order.sort_unstable();
    for tied in order.chunk_by_mut(|a, b| a.0 == b.0 && a.1 == b.1).filter(|run| run.len() > 1) {
        let evidence = |k: &(u64, u64, u32)| {
            let (r, i) = at(k);
            let d = &per_rule[r][i].detail;
            (&d.evidence, &d.reason)
        };
        tied.sort_by(|a, b| evidence(a).cmp(&evidence(b)).then(a.2.cmp(&b.2)));
    }
    // One edge per (source, target, kind, activation); the other derivations of the hop are kept
    // as its alternatives, so `fix` cuts each one.
    let same_edge = |a: &(u64, u64, u32), b: &(u64, u64, u32)| a.0 == b.0 && a.1 >> 55 == b.1 >> 55;
    let mut kept_count = 0;
    for k in 0..order.len() {
        let this = order[k];
        if kept_count > 0 && same_edge(&order[kept_count - 1], &this) {
            if alternatives {
                let (r, i) = at(&this);
                let later = &mut per_rule[r][i];
                let (evidence, more) = (later.evidence(&ids), std::mem::take(&mut later.alternatives));
                let (r, i) = at(&order[kept_count - 1]);
                let kept = &mut per_rule[r][i];
                let kept_evidence = kept.evidence(&ids);
                add_alternative_to(&kept_evidence, &mut kept.alternatives, evidence);
                for derivation in more {
                    add_alternative_to(&kept_evidence, &mut kept.alternatives, derivation);
                }
            }
        } else {
            order[kept_count] = this;
            kept_count += 1;
        }
    }
    order.truncate(kept_count);
    let role_kinds = [NodeKind::DirectoryRole, NodeKind::AppRole];
    let mut granting = vec![false; nodes.len()];
    for k in &order {
        let src = (k.0 >> 32) as usize;
        granting[src] |= role_kinds.contains(&kinds[src]);
    }
    let kept = |n: usize| !role_kinds.contains(&kinds[n]) || granting[n];
    // Positions among the kept nodes (every source is kept: it grants through its edge).
    let mut kept_position = vec![u32::MAX; nodes.len()];
    let mut next = 0;
    for (n, at) in kept_position.iter_mut().enumerate() {
        if kept(n) {
            *at = next;
            next += 1;
        }
    }
    order.retain(|k| kept((k.0 & 0xFFFF_FFFF) as usize));
    // One shared `Arc` per rule id too.
    let rule_ids: Vec<Arc<str>> = RULES.iter().map(|r| rule_id(r)).collect();
    let mut ends = Vec::with_capacity(order.len());
    let mut edges = Vec::with_capacity(order.len());
    for k in &order {
        let (r, i) = at(k);
        let e = &mut per_rule[r][i];
        let (src, dst) = (e.source as usize, e.target as usize);
        ends.push((kept_position[src], kept_position[dst]));
        edges.push(Edge {
            source: ids[src].clone(),
            target: ids[dst].clone(),
            kind: e.kind,
            rule: rule_ids[r].clone(),
            detail: e.detail.clone(),
            alternatives: std::mem::take(&mut e.alternatives),
            requires_activation: e.requires_activation,
            conditional: e.conditional,
            cost: e.cost,
        });
    }
    drop((per_rule, order, ids));
    // The context's nodes are in id order, so the kept nodes are already sorted.
    let nodes: Vec<Node> = nodes.into_iter().enumerate().filter(|(n, _)| kept(*n)).map(|(_, n)| n).collect();
    let mut warnings = warnings;
    warnings.sort();
    warnings.dedup();
    debug_assert!(ends.iter().all(|&(a, b)| (a as usize) < nodes.len() && (b as usize) < nodes.len()));
    Derived { nodes, edges, ends, warnings }
}

/// Keeps another derivation of `edge`'s hop (its evidence) among the edge's alternatives, unless
/// cutting a derivation already kept would cut it too (its facts include all of that one's).
#[cfg(test)]
fn add_alternative(edge: &mut Edge, evidence: Vec<Evidence>) {
    add_alternative_to(&edge.evidence(), &mut edge.alternatives, evidence);
}

/// [`add_alternative`] for the edge whose own evidence is `kept` and alternatives `alternatives`.
fn add_alternative_to(kept: &[Evidence], alternatives: &mut Alternatives, evidence: Vec<Evidence>) {
    let facts = |ev: &[Evidence]| -> Vec<crate::model::FactRef> {
        let mut v: Vec<_> = ev.iter().filter_map(|e| e.fact).collect();
        v.sort_unstable();
        v.dedup();
        v
    };
    let mine = facts(&evidence);
    let falls_with = |kept: &[Evidence]| facts(kept).iter().all(|f| mine.binary_search(f).is_ok());
    if falls_with(kept) || alternatives.iter().any(|a| falls_with(a)) {
        return;
    }
    // Only what names a fact matters to a cut; an empty list is a derivation no change removes.
    let named = evidence.into_iter().filter(|e| e.fact.is_some()).map(|e| Evidence { name: None, ..e }).collect();
    alternatives.push(named);
}

/// An Azure role assignment (active or eligible) with its role definition resolved.
pub struct RbacGrant<'f> {
    pub assignment: &'f RoleAssignment,
    pub role: &'f RoleDefinition,
    /// Set when the principal does not hold `role` but can assign it to itself through this
    /// role-assigning role, whose condition allows only certain roles (Key Vault Data Access
    /// Administrator, a constrained Role Based Access Control Administrator, ...).
    pub via: Option<&'f RoleDefinition>,
    /// True when the role can write role assignments only under a condition that names the roles
    /// it may assign: the grant is expanded into `via` grants instead of an AssignRoles edge.
    pub delegates_only: bool,
}

/// Everything a rule may look at: the facts, the nodes, and indexes over both.
pub struct Context<'f> {
    pub facts: &'f Facts,
    /// Every node, sorted by id, built from the facts before any rule runs.
    nodes: Vec<Node>,
    /// Node ids -> position in `nodes` (rules look nodes up by id for every edge they make); the
    /// key is the one shared copy of the id that the edges of [`shared_edge`] hold.
    node_index: FastMap<Arc<str>, u32>,
    /// ARM hierarchy: parent -> children (scopes and resources), each list sorted. A hash map: every
    /// RBAC match walks it below each assignment's scope, and ARM ids share long prefixes.
    pub children: FastMap<String, Vec<String>>,
    pub resources: FastMap<&'f str, &'f Resource>,
    /// Azure role assignments whose role definition is known.
    pub grants: Vec<RbacGrant<'f>>,
    /// Per grant (in the order of `grants`), the resources at or beneath its scope, in the order
    /// of [`Context::scope_and_descendants`]; grants at one scope share the list.
    grant_resources: Vec<Arc<[&'f Resource]>>,
    /// Direct group memberships: member -> the groups that list it.
    direct_groups: FastMap<&'f str, Vec<&'f str>>,
    /// Transitive group memberships, computed when first asked (see [`Context::member_of`]).
    member_of: std::sync::Mutex<FastMap<&'f str, Arc<FastSet<&'f str>>>>,
    /// Service principals of applications owned by another tenant (see [`mark_if_sp_locked`]).
    foreign_sps: FastSet<&'f str>,
    /// Per deny assignment (same order as the facts), the scopes and resources it covers: its scope,
    /// and everything beneath it in the ARM hierarchy unless `doNotApplyToChildScopes`. From the
    /// hierarchy, not the id's text: a deny at a management group covers its subscriptions.
    deny_covers: Vec<FastSet<String>>,
    /// Administrative units by member id, with the membership fact, sorted by unit id.
    units_of: FastMap<&'f str, Vec<(&'f AdministrativeUnit, &'f AdministrativeUnitMember)>>,
    /// Each service principal's appId by its object id (the first listed with that id): asked once
    /// per app-role assignment, of which a large tenant has hundreds of thousands.
    sp_app_ids: FastMap<&'f str, Option<&'f str>>,
    /// ReadOnly management locks by the scope they are on (see [`Context::lock_gate`]).
    read_only_locks: FastMap<&'f str, Vec<&'f Lock>>,
    /// ARM hierarchy, child -> parent (to tell whether a management group is above a scope).
    parents: FastMap<String, String>,
    /// (principal, lock id) -> the easiest grant (index into `grants`) that deletes the lock.
    lock_deleters: std::sync::Mutex<HashMap<(String, String), LockDeleter>>,
    /// Behind a mutex, like `lock_deleters`: rules run on several threads (see [`derive`]).
    warnings: std::sync::Mutex<Vec<String>>,
}

/// The grant (an index into [`Context::grants`]) by which a principal may delete a lock, and how.
type LockDeleter = Option<(usize, Grant)>;

/// The action that deletes a management lock.
pub const LOCK_DELETE: &str = "Microsoft.Authorization/locks/delete";

/// What ReadOnly management locks do to one control-plane operation of one principal.
pub enum LockGate<'c, 'f> {
    /// No ReadOnly lock applies.
    Open,
    /// ReadOnly locks apply, and the principal can delete each first: the lock, the grant that
    /// allows `Microsoft.Authorization/locks/delete` on it, and how.
    Removable(Vec<(&'f Lock, &'c RbacGrant<'f>, Grant)>),
    /// A ReadOnly lock applies that the principal cannot delete.
    Blocked,
}

impl<'f> Context<'f> {
    pub fn new(facts: &'f Facts) -> Context<'f> {
        let mut warnings = Vec::new();
        let (nodes, children) = nodes::build(facts, &mut warnings);
        let resources = facts.resources.iter().map(|r| (r.id.as_str(), r)).collect();
        let custom: HashMap<&str, &RoleDefinition> =
            facts.role_definitions.iter().map(|r| (r.id.as_str(), r)).collect();
        let builtin = rbac::builtin_roles();
        let mut grants = Vec::new();
        // Whether a role writes role assignments, by role: many assignments share a few roles.
        let mut writes: FastMap<*const RoleDefinition, bool> = FastMap::default();
        for a in &facts.role_assignments {
            let role =
                custom.get(a.role_definition_id.as_str()).copied().or_else(|| builtin.get(&a.role_definition_id));
            match role {
                Some(role) => {
                    const WRITE: &str = "Microsoft.Authorization/roleAssignments/write";
                    let writes = *writes.entry(std::ptr::from_ref(role)).or_insert_with(|| role.grants_action(WRITE).is_some());
                    let allowed = writes
                        .then(|| a.condition.as_deref().or(role.condition_for_action(WRITE)))
                        .flatten()
                        .and_then(rbac::assignable_roles);
                    grants.push(RbacGrant { assignment: a, role, via: None, delegates_only: allowed.is_some() });
                    for guid in allowed.into_iter().flatten() {
                        match custom.get(guid.as_str()).copied().or_else(|| builtin.get(&guid)) {
                            Some(r) => grants.push(RbacGrant { assignment: a, role: r, via: Some(role), delegates_only: false }),
                            None => warnings.push(format!(
                                "role assignment {} may assign role definition {guid}, which is unknown; it was not evaluated",
                                a.id
                            )),
                        }
                    }
                }
                None => warnings.push(format!(
                    "role assignment {} uses role definition {} which is neither built-in nor in the facts; it was not evaluated",
                    a.id, a.role_definition_id
                )),
            }
        }
        let mut direct_groups: FastMap<&str, Vec<&str>> = FastMap::default();
        for m in &facts.memberships {
            direct_groups.entry(&*m.member_id).or_default().push(&*m.group_id);
        }
        let foreign_sps = facts
            .service_principals
            .iter()
            .filter(|sp| sp.app_owner_organization_id.as_ref().is_some_and(|o| *o != facts.tenant_id))
            .map(|sp| sp.id.as_str())
            .collect();
        let units: HashMap<&str, &AdministrativeUnit> =
            facts.administrative_units.iter().map(|u| (u.id.as_str(), u)).collect();
        let mut units_of: FastMap<&str, Vec<(&AdministrativeUnit, &AdministrativeUnitMember)>> = FastMap::default();
        for m in &facts.administrative_unit_members {
            match units.get(m.unit_id.as_str()) {
                Some(u) => units_of.entry(m.member_id.as_str()).or_default().push((u, m)),
                None => warnings.push(format!(
                    "administrative unit {} has members but is not in the facts; its members were not evaluated",
                    m.unit_id
                )),
            }
        }
        for list in units_of.values_mut() {
            list.sort_by(|a, b| a.0.id.cmp(&b.0.id));
            list.dedup_by(|a, b| a.0.id == b.0.id);
        }
        let mut read_only_locks: FastMap<&str, Vec<&Lock>> = FastMap::default();
        for l in facts.locks.iter().filter(|l| l.level == LockLevel::ReadOnly) {
            read_only_locks.entry(l.scope.as_str()).or_default().push(l);
        }
        let mut sp_app_ids: FastMap<&str, Option<&str>> = FastMap::default();
        for sp in &facts.service_principals {
            sp_app_ids.entry(sp.id.as_str()).or_insert(sp.app_id.as_deref());
        }
        let node_index = nodes.iter().enumerate().map(|(i, n)| (Arc::from(n.id.as_str()), i as u32)).collect();
        let parents = children.iter().flat_map(|(p, kids)| kids.iter().map(move |k| (k.clone(), p.clone()))).collect();
        Context {
            facts,
            nodes,
            node_index,
            children,
            resources,
            grants,
            grant_resources: Vec::new(),
            direct_groups,
            member_of: Default::default(),
            foreign_sps,
            deny_covers: Vec::new(),
            units_of,
            sp_app_ids,
            read_only_locks,
            parents,
            lock_deleters: Default::default(),
            warnings: std::sync::Mutex::new(warnings),
        }
        .with_deny_covers()
        .with_grant_resources()
    }

    /// Finds the resources beneath each grant's scope once, for every [`Self::rbac_matches`] to
    /// walk: a tenant can hold a role assignment per resource, and each rule asks about each.
    fn with_grant_resources(mut self) -> Self {
        let mut by_scope: FastMap<&str, Arc<[&'f Resource]>> = FastMap::default();
        let mut lists = Vec::with_capacity(self.grants.len());
        for g in &self.grants {
            let scope = g.assignment.scope.as_str();
            let list = by_scope.entry(scope).or_insert_with(|| {
                let ids = self.scope_and_descendants(scope);
                ids.into_iter().filter_map(|id| self.resources.get(id).copied()).collect()
            });
            lists.push(list.clone());
        }
        drop(by_scope);
        self.grant_resources = lists;
        self
    }

    fn with_deny_covers(mut self) -> Self {
        self.deny_covers = self
            .facts
            .deny_assignments
            .iter()
            .map(|d| {
                if d.do_not_apply_to_child_scopes {
                    FastSet::from_iter([self.scope_node(&d.scope)])
                } else {
                    self.scope_and_descendants(&d.scope).into_iter().map(str::to_string).collect()
                }
            })
            .collect();
        self
    }

    pub fn warn(&self, message: String) {
        self.warnings.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(message);
    }

    /// The shared copy of a node's id (a new one for an id that is not a node's: such an edge is
    /// dropped by `finish`).
    pub fn id(&self, id: &str) -> Arc<str> {
        self.node_index.get_key_value(id).map_or_else(|| Arc::from(id), |(k, _)| k.clone())
    }

    /// The position of node `id` among the context's nodes (in id order).
    fn position(&self, id: &str) -> Option<u32> {
        self.node_index.get(id).copied()
    }

    pub fn node(&self, id: &str) -> Option<&Node> {
        self.node_index.get(id).map(|&i| &self.nodes[i as usize])
    }

    /// Every group `principal` is in, directly or through nested groups (for deny assignments,
    /// directory roles held through groups). Computed once per principal, when first asked.
    pub fn member_of(&self, principal: &str) -> Option<Arc<FastSet<&'f str>>> {
        let (&start, _) = self.direct_groups.get_key_value(principal)?;
        let cache = || self.member_of.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(known) = cache().get(start) {
            return Some(known.clone());
        }
        let mut seen = FastSet::default();
        let mut stack = vec![start];
        while let Some(cur) = stack.pop() {
            for &g in self.direct_groups.get(cur).into_iter().flatten() {
                if seen.insert(g) {
                    stack.push(g);
                }
            }
        }
        let seen = Arc::new(seen);
        cache().insert(start, seen.clone());
        Some(seen)
    }

    /// The node id an ARM scope maps to: `/` is the tenant root management group.
    pub fn scope_node(&self, scope: &str) -> String {
        if scope == "/" { crate::facts::ids::root_mg_id(&self.facts.tenant_id) } else { scope.to_string() }
    }

    /// The scope itself and every scope and resource beneath it, in sorted order.
    pub fn scope_and_descendants(&self, scope: &str) -> Vec<&str> {
        let root = self.scope_node(scope);
        let Some(root) = self.node(&root) else { return vec![] };
        let mut out = vec![root.id.as_str()];
        let mut i = 0;
        while i < out.len() {
            if let Some(kids) = self.children.get(out[i]) {
                out.extend(kids.iter().map(String::as_str));
            }
            i += 1;
        }
        out
    }

    /// Every (grant, resource, how) where the grant's role allows `action` (a control-plane action,
    /// or a data action when `data` is true) on a resource beneath the grant's scope that `accept`s,
    /// less what a deny assignment removes.
    pub fn rbac_matches(
        &self,
        action: &str,
        data: bool,
        accept: impl Fn(&Resource) -> bool,
    ) -> Vec<(&RbacGrant<'f>, &'f Resource, Grant)> {
        let mut out = Vec::new();
        // Thousands of assignments share a few roles: match each role's patterns once.
        let mut by_role: FastMap<*const RoleDefinition, Option<Grant>> = FastMap::default();
        for (g, beneath) in self.grants.iter().zip(&self.grant_resources) {
            let how = by_role
                .entry(std::ptr::from_ref(g.role))
                .or_insert_with(|| if data { g.role.grants_data_action(action) } else { g.role.grants_action(action) });
            let Some(how) = how else { continue };
            for &r in beneath.iter() {
                if accept(r) && !self.denied(&g.assignment.principal_id, &r.id, action, data) {
                    out.push((g, r, how.clone()));
                }
            }
        }
        out
    }

    /// Does a deny assignment remove `action` for `principal` on `resource`?
    pub fn denied(&self, principal: &str, resource: &str, action: &str, data: bool) -> bool {
        const EVERYONE: &str = "00000000-0000-0000-0000-000000000000";
        if self.facts.deny_assignments.is_empty() {
            return false;
        }
        let groups = self.member_of(principal);
        let groups = groups.as_deref();
        self.facts.deny_assignments.iter().zip(&self.deny_covers).any(|(d, covers)| {
            let applies_here = covers.contains(resource);
            let covers = |p: &String| p == principal || p == EVERYONE || groups.is_some_and(|g| g.contains(p.as_str()));
            let excluded = |p: &String| p == principal || groups.is_some_and(|g| g.contains(p.as_str()));
            let blocks_action = d.permissions.iter().any(|b| {
                let (allow, except) =
                    if data { (&b.data_actions, &b.not_data_actions) } else { (&b.actions, &b.not_actions) };
                allow.iter().any(|p| p.matches(action)) && !except.iter().any(|p| p.matches(action))
            });
            applies_here
                && d.principals.iter().any(covers)
                && !d.exclude_principals.iter().any(excluded)
                && blocks_action
        })
    }

    /// The ReadOnly locks on `id` or on a scope above it (a lock applies to its scope and
    /// everything beneath; locks exist on subscriptions, resource groups and resources, whose ids
    /// nest by prefix), sorted by id.
    pub fn read_only_locks_over(&self, id: &str) -> Vec<&'f Lock> {
        let mut out = Vec::new();
        if self.read_only_locks.is_empty() {
            return out;
        }
        let mut prefix = id.trim_end_matches('/');
        loop {
            out.extend(self.read_only_locks.get(prefix).into_iter().flatten().copied());
            match prefix.rfind('/') {
                Some(i) if i > 0 => prefix = &prefix[..i],
                _ => break,
            }
        }
        out.sort_by(|a, b| a.id.cmp(&b.id));
        out.dedup_by(|a, b| a.id == b.id);
        out
    }

    /// Is `scope` (a role assignment's scope) `id` itself or above it? Prefixes for
    /// subscriptions, resource groups and resources; the hierarchy for management groups and `/`.
    pub fn is_at_or_above(&self, scope: &str, id: &str) -> bool {
        let scope = self.scope_node(scope);
        if id == scope || id.starts_with(&format!("{}/", scope.trim_end_matches('/'))) {
            return true;
        }
        // Start from the nearest node at or above `id` in the hierarchy, then walk up.
        let mut cur = id;
        while !self.parents.contains_key(cur) {
            match cur.rfind('/') {
                Some(i) if i > 0 => cur = &cur[..i],
                _ => return false,
            }
        }
        while let Some(p) = self.parents.get(cur) {
            if *p == scope {
                return true;
            }
            cur = p;
        }
        false
    }

    /// What ReadOnly locks do to `principal` writing or POSTing to ARM on each of `ids`
    /// (Microsoft: "Lock your resources to protect your infrastructure"): a ReadOnly lock at or
    /// above blocks every write and POST for every user and role, unless the principal can delete
    /// the lock (`Microsoft.Authorization/locks/delete` at or above the lock's scope, from a direct
    /// grant of its own or of a group it is in, not denied). The grant chosen for each lock is the
    /// easiest one: active before eligible, unconditional before conditional.
    pub fn lock_gate(&self, principal: &str, ids: &[&str]) -> LockGate<'_, 'f> {
        let mut locks: Vec<&Lock> = ids.iter().flat_map(|id| self.read_only_locks_over(id)).collect();
        if locks.is_empty() {
            return LockGate::Open;
        }
        locks.sort_by(|a, b| a.id.cmp(&b.id));
        locks.dedup_by(|a, b| a.id == b.id);
        let mut removals = Vec::new();
        for lock in locks {
            match self.lock_deleter(principal, lock) {
                Some((i, how)) => removals.push((lock, &self.grants[i], how)),
                None => return LockGate::Blocked,
            }
        }
        LockGate::Removable(removals)
    }

    /// The easiest grant by which `principal` may delete `lock` (see [`Context::lock_gate`]),
    /// remembered per principal and lock: many edges sit under one lock.
    fn lock_deleter(&self, principal: &str, lock: &Lock) -> LockDeleter {
        let key = (principal.to_string(), lock.id.clone());
        let known = self.lock_deleters.lock().unwrap_or_else(std::sync::PoisonError::into_inner).get(&key).cloned();
        if let Some(found) = known {
            return found;
        }
        let found = if self.denied(principal, &lock.scope, LOCK_DELETE, false) {
            None
        } else {
            let groups = self.member_of(principal);
            let groups = groups.as_deref();
            self.grants
                .iter()
                .enumerate()
                .filter(|(_, g)| g.via.is_none())
                .filter(|(_, g)| {
                    let p = &g.assignment.principal_id;
                    p == principal || groups.is_some_and(|gs| gs.contains(p.as_str()))
                })
                .filter_map(|(i, g)| g.role.grants_action(LOCK_DELETE).map(|how| (i, g, how)))
                .filter(|(_, g, _)| self.is_at_or_above(&g.assignment.scope, &lock.scope))
                .min_by_key(|(_, g, how)| {
                    (g.assignment.eligible, how.conditional || g.assignment.condition.is_some(), &g.assignment.id)
                })
                .map(|(i, _, how)| (i, how))
        };
        self.lock_deleters.lock().unwrap_or_else(std::sync::PoisonError::into_inner).insert(key, found.clone());
        found
    }

    /// Is this app-role assignment a Microsoft Graph permission? The resource must be Graph's service
    /// principal; if that resource was not collected, Graph's own display name on the assignment is
    /// trusted.
    pub fn is_graph_permission(&self, a: &crate::facts::AppRoleAssignment) -> bool {
        match self.sp_app_ids.get(a.resource_id.as_str()) {
            Some(app_id) => *app_id == Some(rbac::MICROSOFT_GRAPH_APP_ID),
            None => a.resource_display_name.as_deref() == Some("Microsoft Graph"),
        }
    }

    /// The administrative units an object (user, group) is a direct member of, with the membership
    /// fact, sorted by unit id.
    pub fn units_of(&self, member: &str) -> &[(&'f AdministrativeUnit, &'f AdministrativeUnitMember)] {
        self.units_of.get(member).map(Vec::as_slice).unwrap_or(&[])
    }

    /// The first restricted management administrative unit `member` belongs to (see
    /// `admin_units::restriction`).
    pub fn restricted_unit(&self, member: &str) -> Option<(&'f AdministrativeUnit, &'f AdministrativeUnitMember)> {
        self.units_of(member).iter().find(|(u, _)| u.restricted).copied()
    }

    /// The resources directly beneath a resource (an ML workspace's datastores and computes, ...).
    pub fn child_resources(&self, parent: &str) -> impl Iterator<Item = &'f Resource> + '_ {
        self.children.get(parent).into_iter().flatten().filter_map(|c| self.resources.get(c.as_str()).copied())
    }

    /// The `scope` evidence of an assignment: "name (scope id)", naming the resource fact when the
    /// scope is a resource.
    pub fn scope_evidence(&self, scope: &str) -> Evidence {
        let ev = Evidence::new(EvidenceKind::Scope, format!("{} ({})", self.name(&self.scope_node(scope)), scope));
        if self.resources.contains_key(scope) { ev.of_fact(&crate::facts::index::resource_fact_key(scope)) } else { ev }
    }

    /// Evidence about a resource (a setting, an identity), naming its resource fact.
    pub fn resource_evidence(kind: EvidenceKind, resource: &Resource, value: String) -> Evidence {
        Evidence::new(kind, value).of_fact(&resource.fact_key())
    }

    /// The display name of a node, or its id.
    pub fn name(&self, id: &str) -> std::borrow::Cow<'_, str> {
        self.node(id).map_or_else(|| id.to_string().into(), |n| n.name.as_str().into())
    }
}

/// Where the operation behind an edge is sent, which decides whether management locks apply.
#[derive(Debug, Clone, Copy)]
pub enum Plane<'a> {
    /// A write or POST (an `/action`) sent to Azure Resource Manager on this resource or scope: a
    /// ReadOnly lock on it or above it blocks the operation.
    Arm(&'a str),
    /// The service's own endpoint (blob storage, Key Vault, Azure OpenAI, an app's Kudu site):
    /// locks do not apply.
    Data,
}

/// What a role grant was found to allow: `action` on `target`, by `how`, sent to `plane`.
pub struct Hit<'a> {
    pub target: &'a str,
    pub action: &'a str,
    pub how: &'a Grant,
    pub plane: Plane<'a>,
}

/// Builds an edge from an Azure role grant, with the standard evidence: the assignment, the role,
/// the scope and the matched action. `None` when a ReadOnly management lock blocks the operation
/// (an ARM write or POST, see [`Plane`], or the role assignment a `via` grant must create first)
/// and the principal cannot delete the lock; when it can, the edge names the lock and the grant
/// that deletes it and costs [`LOCK_REMOVAL_COST`](crate::model::LOCK_REMOVAL_COST) more.
pub fn rbac_edge(
    ctx: &Context,
    rule: &Rule,
    grant: &RbacGrant,
    hit: Hit,
    reason: String,
    mut extra: Vec<Evidence>,
) -> Option<Edge> {
    let Hit { target, action, how, plane } = hit;
    let a = grant.assignment;
    // A `via` grant first assigns the role to itself at the grant's scope: a role assignment is an
    // ARM write there, which a ReadOnly lock on that scope blocks like any other.
    let via_scope = grant.via.map(|_| ctx.scope_node(&a.scope));
    let mut locked: Vec<&str> = via_scope.as_deref().into_iter().collect();
    if let Plane::Arm(id) = plane {
        locked.push(id);
    }
    let gate = ctx.lock_gate(&a.principal_id, &locked);
    if let LockGate::Blocked = gate {
        return None;
    }
    let mut conditional = how.conditional || a.condition.is_some() || grant.via.is_some();
    let mut requires_activation = a.eligible;
    let mut evidence = vec![
        Evidence::new(
            if a.eligible { EvidenceKind::RoleEligibility } else { EvidenceKind::RoleAssignment },
            a.id.clone(),
        )
        .of_fact(&a.fact_key()),
        Evidence::named(EvidenceKind::Role, &grant.role.role_name, &grant.role.id),
        ctx.scope_evidence(&a.scope),
        Evidence::new(EvidenceKind::MatchedAction, format!("{action} (granted by `{}`)", how.pattern)),
    ];
    if let Some(via) = grant.via {
        evidence.insert(
            1,
            Evidence::new(
                EvidenceKind::AssignableThrough,
                format!(
                    "{} ({}), whose condition lets it assign only certain roles, including this one",
                    via.role_name, via.id
                ),
            ),
        );
    }
    if let Some(c) = &a.condition {
        evidence.push(Evidence::new(EvidenceKind::AssignmentCondition, c.clone()));
    }
    if how.conditional && a.condition.is_none() {
        evidence.push(Evidence::new(EvidenceKind::RoleDefinitionCondition, "present; not evaluated, may not apply"));
    }
    evidence.append(&mut extra);
    let mut reason = reason;
    if let LockGate::Removable(removals) = &gate {
        let mut names = Vec::new();
        for (lock, by, by_how) in removals {
            evidence.push(
                Evidence::new(
                    EvidenceKind::ReadOnlyLock,
                    format!("{} ({}) on {}", lock.name, lock.id, ctx.name(&lock.scope)),
                )
                .of_fact(&lock.fact_key()),
            );
            evidence.push(
                Evidence::new(
                    EvidenceKind::LockDeletableThrough,
                    format!(
                        "{} ({}{} on {}): {LOCK_DELETE} (granted by `{}`)",
                        by.assignment.id,
                        if by.assignment.eligible { "PIM-eligible " } else { "" },
                        by.role.role_name,
                        ctx.name(&ctx.scope_node(&by.assignment.scope)),
                        by_how.pattern
                    ),
                )
                .of_fact(&by.assignment.fact_key()),
            );
            requires_activation |= by.assignment.eligible;
            conditional |= by_how.conditional || by.assignment.condition.is_some();
            names.push(format!("{} on {}", lock.name, ctx.name(&lock.scope)));
        }
        reason
            .push_str(&format!(" (the ReadOnly lock {} blocks this; it can delete the lock first)", names.join(", ")));
    }
    if requires_activation {
        reason.push_str(" (PIM-eligible: requires activation)");
    }
    if conditional {
        reason.push_str(" (subject to a condition azpath does not evaluate)");
    }
    let mut e = Edge {
        source: a.principal_id.as_str().into(),
        target: target.into(),
        kind: rule.edges[0],
        rule: rule.id.into(),
        detail: Arc::new(Detail::new(reason, evidence)),
        alternatives: Default::default(),
        requires_activation,
        conditional,
        cost: 0,
    };
    e.recost();
    Some(e)
}

/// An edge sharing `detail` (a reason and evidence naming the edge's ends) with the other edges its
/// rule makes the same way: one detail for a million memberships instead of one each.
pub fn shared_edge(ctx: &Context, rule: &Rule, source: &str, target: &str, detail: &Arc<Detail>) -> Edge {
    Edge::with_detail(ctx.id(source), ctx.id(target), rule.edges[0], rule_id(rule), detail.clone())
}

/// One shared copy of each rule's id, for the edges of [`shared_edge`].
fn rule_id(rule: &Rule) -> Arc<str> {
    static IDS: std::sync::LazyLock<FastMap<&'static str, Arc<str>>> =
        std::sync::LazyLock::new(|| RULES.iter().map(|r| (r.id, Arc::from(r.id))).collect());
    IDS.get(rule.id).cloned().unwrap_or_else(|| Arc::from(rule.id))
}

/// Builds an edge that comes from directory facts alone (no activation, no condition).
pub fn plain_edge(rule: &Rule, source: &str, target: &str, reason: String, evidence: Vec<Evidence>) -> Edge {
    Edge::new(source, target, rule.edges[0], rule.id, reason).with_evidence(evidence)
}

impl Edge {
    /// The same edge with another kind and activation flag, its cost recomputed.
    pub fn as_kind(mut self, kind: EdgeKind, requires_activation: bool) -> Edge {
        self.kind = kind;
        self.requires_activation = requires_activation;
        self.recost();
        self
    }
}

/// Credential changes on a service principal of another tenant's application (multi-tenant apps,
/// Microsoft's first-party apps) may be blocked by the app instance property lock, which is on by
/// default for new multi-tenant apps. Such AddSecret edges are marked conditional.
pub fn mark_if_sp_locked(ctx: &Context, mut e: Edge) -> Edge {
    if ctx.foreign_sps.contains(&*e.target) {
        e.conditional = true;
        e.recost();
        e.push_reason(" (the app belongs to another tenant: its instance property lock may block this)");
        e.push_evidence(Evidence::new(EvidenceKind::AppOwnerOrganization, "another tenant"));
    }
    e
}

/// Short role/scope text for reasons: "Contributor on rg-ml", or for a delegated grant "Key Vault
/// Secrets Officer (which Key Vault Data Access Administrator on kv can assign) on kv".
pub fn grant_text(ctx: &Context, grant: &RbacGrant) -> String {
    let scope = ctx.name(&ctx.scope_node(&grant.assignment.scope));
    match grant.via {
        None => format!("{} on {scope}", grant.role.role_name),
        Some(via) => format!("{} (which its {} can assign to itself) on {scope}", grant.role.role_name, via.role_name),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    mod locks {
        use crate::model::EdgeKind::ListKeys;
        use crate::model::{ACTIVATION_COST, EvidenceKind, LOCK_REMOVAL_COST};
        use crate::rules::testkit::*;

        fn locked_account(t: &mut T) -> (String, String) {
            let rg = t.rg("rg");
            let sa = t.storage(&rg, "sa", true);
            t.lock(&rg, "freeze", "ReadOnly");
            (rg, sa)
        }

        #[test]
        fn an_eligible_lock_deleter_keeps_the_edge_behind_an_activation() {
            let mut t = T::new();
            let (rg, sa) = locked_account(&mut t);
            let c = t.sp("c");
            t.assign(&c, "Contributor", &rg);
            t.eligible(&c, "User Access Administrator", &rg, "2026-01-01T00:00:00Z", "2027-01-01T00:00:00Z");
            let d = t.derive();
            let e = edge(&d, &c, &sa, ListKeys).unwrap();
            assert!(e.requires_activation && e.removes_lock());
            assert_eq!(e.cost, ListKeys.base_cost() + ACTIVATION_COST + LOCK_REMOVAL_COST);
            assert!(
                e.evidence()
                    .iter()
                    .any(|ev| ev.kind == EvidenceKind::LockDeletableThrough && ev.value.contains("PIM-eligible"))
            );
        }

        #[test]
        fn lock_rights_held_through_a_group_or_a_management_group_count() {
            let mut t = T::new();
            let (rg, sa) = locked_account(&mut t);
            let (c, admins, m) = (t.sp("c"), t.group("lock-admins"), t.sp("m"));
            t.assign(&c, "Contributor", &rg);
            t.member(&admins, &c);
            t.assign(&admins, "User Access Administrator", &rg);
            t.assign(&m, "Contributor", &rg);
            t.assign(
                &m,
                "User Access Administrator",
                &format!("/providers/Microsoft.Management/managementGroups/{TENANT}"),
            );
            let d = t.derive();
            assert!(edge(&d, &c, &sa, ListKeys).unwrap().removes_lock());
            assert!(edge(&d, &m, &sa, ListKeys).unwrap().removes_lock(), "the root management group is above the lock");
        }

        #[test]
        fn every_lock_must_be_deletable_and_a_deny_assignment_can_forbid_it() {
            let mut t = T::new();
            let (rg, sa) = locked_account(&mut t);
            t.lock(SUB, "sub-freeze", "ReadOnly");
            let (rg_owner, uaa, denied) = (t.sp("rg-owner"), t.sp("sub-owner"), t.sp("denied"));
            t.assign(&rg_owner, "Owner", &rg);
            t.assign(&uaa, "Owner", SUB);
            t.assign(&denied, "Owner", SUB);
            t.deny(SUB, &denied, &["Microsoft.Authorization/locks/delete"]);
            let d = t.derive();
            assert!(!has(&d, &rg_owner, &sa, ListKeys), "it cannot delete the subscription's lock");
            assert!(!has(&d, &denied, &sa, ListKeys));
            let e = edge(&d, &uaa, &sa, ListKeys).unwrap();
            assert_eq!(e.evidence().iter().filter(|ev| ev.kind == EvidenceKind::ReadOnlyLock).count(), 2);
            assert_eq!(e.cost, ListKeys.base_cost() + LOCK_REMOVAL_COST, "one lock removal step, however many locks");
        }

        #[test]
        fn facts_without_locks_derive_as_before() {
            let mut t = T::new();
            let rg = t.rg("rg");
            t.storage(&rg, "sa", true);
            let c = t.sp("c");
            t.assign(&c, "Contributor", &rg);
            let without = t.raw();
            assert!(!without.arm.contains_key("locks"));
            let mut with = without.clone();
            with.arm.insert("locks".into(), serde_json::json!([]));
            let (a, b) = (crate::facts::parse(&without).unwrap(), crate::facts::parse(&with).unwrap());
            assert_eq!(crate::rules::derive(&a), crate::rules::derive(&b));
            assert!(a.completeness.iter().any(|n| n.what == "arm.locks"), "the gap is recorded");
            assert!(!b.completeness.iter().any(|n| n.what == "arm.locks"), "an empty list is a complete answer");
        }
    }

    #[test]
    fn a_hop_derived_twice_keeps_the_other_derivation_for_fix() {
        use crate::model::EdgeKind::AssignRoles;
        use crate::rules::testkit::*;
        let mut t = T::new();
        let rg = t.rg("rg");
        let (c, solo) = (t.sp("c"), t.sp("solo"));
        // Two grants of the same hop: Owner and User Access Administrator on the resource group.
        let uaa = t.assign(&c, "User Access Administrator", &rg);
        let rg_owner = t.assign(&c, "Owner", &rg);
        t.assign(&solo, "Owner", &rg);
        let d = t.derive();
        let e = edge(&d, &c, &rg, AssignRoles).unwrap();
        let named = |ev: &[Evidence]| ev.iter().any(|x| x.value == uaa) || ev.iter().any(|x| x.value == rg_owner);
        assert!(named(&e.evidence()));
        assert_eq!(e.alternatives.len(), 1, "{:?}", e.alternatives);
        assert!(named(&e.alternatives[0]) && e.alternatives[0].iter().all(|x| x.fact.is_some()));
        let (a, b) = (&e.evidence(), &e.alternatives[0]);
        assert!(a.iter().any(|x| x.value == uaa) != b.iter().any(|x| x.value == uaa), "one grant each");
        // One grant: nothing merged.
        assert!(edge(&d, &solo, &rg, AssignRoles).unwrap().alternatives.is_empty());
    }

    #[test]
    fn an_alternative_that_falls_with_a_kept_derivation_is_not_kept() {
        let ev = |v: &str| Evidence::new(EvidenceKind::RoleAssignment, v).of_fact(&format!("ra|{v}"));
        let mut e = Edge::new("a", "b", EdgeKind::AssignRoles, "test", String::new()).with_evidence(vec![ev("1")]);
        add_alternative(&mut e, vec![ev("1"), ev("2")]); // cutting 1 cuts it too
        assert!(e.alternatives.is_empty());
        add_alternative(&mut e, vec![ev("2")]);
        add_alternative(&mut e, vec![ev("2"), ev("3")]);
        assert_eq!(e.alternatives, vec![vec![ev("2")]]);
        // A derivation that names no fact can be cut by nothing: kept, as an empty list.
        add_alternative(&mut e, vec![Evidence::new(EvidenceKind::ArmHierarchy, "x")]);
        assert_eq!(e.alternatives.len(), 2);
        assert!(e.alternatives[1].is_empty());
    }

    #[test]
    fn rule_ids_are_unique_and_documented() {
        let mut seen = FastSet::default();
        for r in RULES {
            assert!(seen.insert(r.id), "duplicate rule id {}", r.id);
            assert!(!r.summary.is_empty() && r.doc.len() > 40, "{} needs a summary and a doc", r.id);
            assert!(r.id.chars().all(|c| c.is_ascii_lowercase() || c == '-'), "{} is not kebab-case", r.id);
        }
    }
}
