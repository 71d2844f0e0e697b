//! Rules: from facts to attack edges.
//!
//! Every rule is one value in [`RULES`]: an id, the edge kind it makes, a one-line summary, a longer
//! doc (what it does, why it matters, when it must not fire) and a pure function from the
//! [`Context`] to edges. Rules do no I/O and know nothing of SQL; they are tested on facts built in
//! code. To add a rule: write `src/rules/<name>.rs` with a `pub const RULE: Rule` and its tests, and
//! add it to [`RULES`] (and `mod` it below). Nothing else changes.

mod app_service;
mod app_sp;
mod arm_hierarchy;
mod directory_roles;
mod elevate_access;
mod execute;
mod federated;
mod graph_app_roles;
mod group_eligibility;
mod key_vault;
mod keys;
mod membership;
mod ml_datastores;
mod nodes;
mod ownership;
mod rbac_assign;
mod rbac_data;
mod run_as;
#[cfg(test)]
pub(crate) mod testkit;
mod uami_attach;
mod uami_federation;

use crate::facts::{Facts, Resource, RoleAssignment};
use crate::model::{Edge, EdgeKind, Evidence, EvidenceKind, Node, NodeKind};
use crate::rbac::{self, Grant, RoleDefinition};
use std::collections::{BTreeMap, HashMap, HashSet};

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
    &graph_app_roles::RULE,
    &elevate_access::RULE,
    &rbac_assign::RULE,
    &arm_hierarchy::RULE,
    &keys::LIST_KEYS,
    &keys::LIST_SAS,
    &ml_datastores::RULE,
    &keys::RE_ENABLE_KEYS,
    &key_vault::READ_SECRETS,
    &key_vault::SET_ACCESS_POLICY,
    &rbac_data::READ_DATA,
    &rbac_data::WRITE_DATA,
    &execute::RULE,
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
    /// Facts that were read but could not be used (unknown role definitions, ...).
    pub warnings: Vec<String>,
}

/// Runs every rule. Pure: the same facts always give the same nodes and edges, in the same order.
pub fn derive(facts: &Facts) -> Derived {
    let ctx = Context::new(facts);
    let mut edges = Vec::new();
    for rule in RULES {
        let before = edges.len();
        (rule.derive)(&ctx, &mut edges);
        debug_assert!(edges[before..].iter().all(|e| rule.edges.contains(&e.kind) && &*e.rule == rule.id));
    }
    finish(ctx, edges)
}

/// Sorts, de-duplicates, drops edges whose ends are unknown, and prunes role nodes that grant
/// nothing (holding AI Administrator is a fact, not an attack edge).
fn finish(ctx: Context, mut edges: Vec<Edge>) -> Derived {
    edges.retain(|e| ctx.nodes.contains_key(&*e.source) && ctx.nodes.contains_key(&*e.target) && e.source != e.target);
    // Cheapest first within a key, then the earlier rule in RULES (the more direct abuse), then the
    // smallest evidence, so the kept edge is deterministic.
    let rank = |rule: &str| RULES.iter().position(|r| r.id == rule).unwrap_or(usize::MAX);
    edges.sort_by(|a, b| {
        (&a.source, &a.target, a.kind, a.requires_activation, a.cost, rank(&a.rule), &a.evidence, &a.reason).cmp(&(
            &b.source,
            &b.target,
            b.kind,
            b.requires_activation,
            b.cost,
            rank(&b.rule),
            &b.evidence,
            &b.reason,
        ))
    });
    edges.dedup_by(|later, first| {
        later.source == first.source
            && later.target == first.target
            && later.kind == first.kind
            && later.requires_activation == first.requires_activation
    });
    let role_kinds = [NodeKind::DirectoryRole, NodeKind::AppRole];
    let granting: HashSet<&str> =
        edges.iter().filter(|e| role_kinds.contains(&ctx.nodes[&*e.source].kind)).map(|e| &*e.source).collect();
    let granting: HashSet<String> = granting.into_iter().map(str::to_string).collect();
    edges.retain(|e| !role_kinds.contains(&ctx.nodes[&*e.target].kind) || granting.contains(&*e.target));
    let mut nodes: Vec<Node> =
        ctx.nodes.into_values().filter(|n| !role_kinds.contains(&n.kind) || granting.contains(&n.id)).collect();
    nodes.sort_by(|a, b| a.id.cmp(&b.id));
    let mut warnings = ctx.warnings.into_inner();
    warnings.sort();
    warnings.dedup();
    Derived { nodes, edges, warnings }
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
    /// Every node, by id, built from the facts before any rule runs.
    pub nodes: BTreeMap<String, Node>,
    /// ARM hierarchy: parent -> children (scopes and resources), sorted.
    pub children: BTreeMap<String, Vec<String>>,
    pub resources: HashMap<&'f str, &'f Resource>,
    /// Azure role assignments whose role definition is known.
    pub grants: Vec<RbacGrant<'f>>,
    /// Transitive group memberships: principal -> every group it is in (for deny assignments).
    member_of: HashMap<String, HashSet<String>>,
    /// Service principals of applications owned by another tenant (see [`mark_if_sp_locked`]).
    foreign_sps: HashSet<&'f str>,
    warnings: std::cell::RefCell<Vec<String>>,
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
        for a in &facts.role_assignments {
            let role =
                custom.get(a.role_definition_id.as_str()).copied().or_else(|| builtin.get(&a.role_definition_id));
            match role {
                Some(role) => {
                    const WRITE: &str = "Microsoft.Authorization/roleAssignments/write";
                    let allowed = role
                        .grants_action(WRITE)
                        .and_then(|_| a.condition.as_deref().or(role.condition_for_action(WRITE)))
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
        let mut direct: HashMap<&str, Vec<&str>> = HashMap::new();
        for m in &facts.memberships {
            direct.entry(m.member_id.as_str()).or_default().push(m.group_id.as_str());
        }
        let mut member_of = HashMap::new();
        for &start in direct.keys() {
            let mut seen = HashSet::new();
            let mut stack = vec![start];
            while let Some(cur) = stack.pop() {
                for &g in direct.get(cur).into_iter().flatten() {
                    if seen.insert(g.to_string()) {
                        stack.push(g);
                    }
                }
            }
            member_of.insert(start.to_string(), seen);
        }
        let foreign_sps = facts
            .service_principals
            .iter()
            .filter(|sp| sp.app_owner_organization_id.as_ref().is_some_and(|o| *o != facts.tenant_id))
            .map(|sp| sp.id.as_str())
            .collect();
        Context {
            facts,
            nodes,
            children,
            resources,
            grants,
            member_of,
            foreign_sps,
            warnings: std::cell::RefCell::new(warnings),
        }
    }

    pub fn warn(&self, message: String) {
        self.warnings.borrow_mut().push(message);
    }

    pub fn node(&self, id: &str) -> Option<&Node> {
        self.nodes.get(id)
    }

    /// The node id an ARM scope maps to: `/` is the tenant root management group.
    pub fn scope_node(&self, scope: &str) -> String {
        if scope == "/" { crate::facts::ids::root_mg_id(&self.facts.tenant_id) } else { scope.to_string() }
    }

    /// The scope itself and every scope and resource beneath it, in sorted order.
    pub fn scope_and_descendants(&self, scope: &str) -> Vec<&str> {
        let root = self.scope_node(scope);
        let Some((root, _)) = self.nodes.get_key_value(&root) else { return vec![] };
        let mut out = vec![root.as_str()];
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
        for g in &self.grants {
            let how = if data { g.role.grants_data_action(action) } else { g.role.grants_action(action) };
            let Some(how) = how else { continue };
            for id in self.scope_and_descendants(&g.assignment.scope) {
                let Some(&r) = self.resources.get(id) else { continue };
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
        let groups = self.member_of.get(principal);
        self.facts.deny_assignments.iter().any(|d| {
            let applies_here = if d.do_not_apply_to_child_scopes {
                d.scope == resource
            } else {
                resource == d.scope || resource.starts_with(&format!("{}/", d.scope.trim_end_matches('/')))
            };
            let covers = |p: &String| p == principal || p == EVERYONE || groups.is_some_and(|g| g.contains(p));
            let excluded = |p: &String| p == principal || groups.is_some_and(|g| g.contains(p));
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

    /// Is this app-role assignment a Microsoft Graph permission? The resource must be Graph's service
    /// principal; if that resource was not collected, Graph's own display name on the assignment is
    /// trusted.
    pub fn is_graph_permission(&self, a: &crate::facts::AppRoleAssignment) -> bool {
        match self.facts.service_principals.iter().find(|s| s.id == a.resource_id) {
            Some(sp) => sp.app_id.as_deref() == Some(rbac::MICROSOFT_GRAPH_APP_ID),
            None => a.resource_display_name.as_deref() == Some("Microsoft Graph"),
        }
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
    pub fn name(&self, id: &str) -> String {
        self.nodes.get(id).map(|n| n.name.clone()).unwrap_or_else(|| id.to_string())
    }
}

/// What a role grant was found to allow: `action` on `target`, by `how`.
pub struct Hit<'a> {
    pub target: &'a str,
    pub action: &'a str,
    pub how: &'a Grant,
}

/// Builds an edge from an Azure role grant, with the standard evidence: the assignment, the role,
/// the scope and the matched action.
pub fn rbac_edge(
    ctx: &Context,
    rule: &Rule,
    grant: &RbacGrant,
    hit: Hit,
    reason: String,
    mut extra: Vec<Evidence>,
) -> Edge {
    let Hit { target, action, how } = hit;
    let a = grant.assignment;
    let conditional = how.conditional || a.condition.is_some() || grant.via.is_some();
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
    if a.eligible {
        reason.push_str(" (PIM-eligible: requires activation)");
    }
    if conditional {
        reason.push_str(" (subject to a condition azpath does not evaluate)");
    }
    Edge {
        source: a.principal_id.as_str().into(),
        target: target.into(),
        kind: rule.edges[0],
        rule: rule.id.into(),
        reason,
        evidence,
        requires_activation: a.eligible,
        conditional,
        cost: Edge::compute_cost(rule.edges[0], a.eligible, conditional),
    }
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
        self.cost = Edge::compute_cost(kind, requires_activation, self.conditional);
        self
    }
}

/// Credential changes on a service principal of another tenant's application (multi-tenant apps,
/// Microsoft's first-party apps) may be blocked by the app instance property lock, which is on by
/// default for new multi-tenant apps. Such AddSecret edges are marked conditional.
pub fn mark_if_sp_locked(ctx: &Context, mut e: Edge) -> Edge {
    if ctx.foreign_sps.contains(&*e.target) {
        e.conditional = true;
        e.cost = Edge::compute_cost(e.kind, e.requires_activation, true);
        e.reason.push_str(" (the app belongs to another tenant: its instance property lock may block this)");
        e.evidence.push(Evidence::new(EvidenceKind::AppOwnerOrganization, "another tenant"));
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

    #[test]
    fn rule_ids_are_unique_and_documented() {
        let mut seen = HashSet::new();
        for r in RULES {
            assert!(seen.insert(r.id), "duplicate rule id {}", r.id);
            assert!(!r.summary.is_empty() && r.doc.len() > 40, "{} needs a summary and a doc", r.id);
            assert!(r.id.chars().all(|c| c.is_ascii_lowercase() || c == '-'), "{} is not kebab-case", r.id);
        }
    }
}
