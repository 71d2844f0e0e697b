//! Attaching a user-assigned identity to compute the principal controls: Managed Identity Operator
//! plus a right to change or create a compute that can carry it.

use super::execute::ways;
use super::{Context, Hit, Plane, RbacGrant, Rule, grant_text, rbac_edge};
use crate::facts::Resource;
use crate::model::{CONFIG_CHANGE_COST, Edge, EdgeKind, Evidence, EvidenceKind, FastMap, FastSet, NodeKind};
use crate::rbac::Grant;
use std::collections::{BTreeMap, BTreeSet};

/// The permission Microsoft documents for attaching a user-assigned identity to a resource (and
/// Managed Identity Operator grants), and the operation name ARM reports when it is missing
/// (`LinkedAuthorizationFailed`). Some built-in roles name one, some the other; a grant of either
/// counts, and a deny of either removes it.
const ASSIGN: &[&str] = &[
    "Microsoft.ManagedIdentity/userAssignedIdentities/*/assign/action",
    "Microsoft.ManagedIdentity/userAssignedIdentities/assign/action",
];

const UAMI: &str = "microsoft.managedidentity/userassignedidentities";

/// Compute that can carry a user-assigned identity and run the attacker's code as it: (resource
/// type, the write that sets its `identity`, can a new one be created with that write alone, in
/// words). Running code there also needs one of `execute::ways` for the type.
const CARRIERS: &[(&str, &str, bool, &str)] = &[
    ("microsoft.compute/virtualmachines", "Microsoft.Compute/virtualMachines/write", false, "virtual machine"),
    (
        "microsoft.compute/virtualmachinescalesets",
        "Microsoft.Compute/virtualMachineScaleSets/write",
        false,
        "scale set",
    ),
    ("microsoft.web/sites", "Microsoft.Web/sites/write", false, "web or function app"),
    ("microsoft.web/sites/slots", "Microsoft.Web/sites/slots/write", false, "deployment slot"),
    ("microsoft.logic/workflows", "Microsoft.Logic/workflows/write", true, "logic app"),
    (
        "microsoft.automation/automationaccounts",
        "Microsoft.Automation/automationAccounts/write",
        true,
        "automation account",
    ),
    ("microsoft.app/containerapps", "Microsoft.App/containerApps/write", false, "container app"),
    (
        "microsoft.containerinstance/containergroups",
        "Microsoft.ContainerInstance/containerGroups/write",
        true,
        "container group",
    ),
];

pub const RULE: Rule = Rule {
    id: "rbac-attach-identity",
    edges: &[EdgeKind::RunCodeAs],
    summary: "Assign rights on a user-assigned identity plus write on a compute: attach the identity there and run code as it.",
    doc: "What it does: a RunCodeAs edge from the principal to each user-assigned identity beneath an \
assignment whose role allows `Microsoft.ManagedIdentity/userAssignedIdentities/*/assign/action` (Managed \
Identity Operator, Contributor, Owner; the operation ARM checks is also spelled \
`userAssignedIdentities/assign/action`), when the principal also holds, by the same or another assignment, \
a right to change a compute that can carry the identity and run its code: write on an existing VM or scale \
set (with run command or extensions), web or function app, deployment slot, logic app, automation account \
(with runbook write and job start), container app or container group; or, at a resource group or above, the \
write that creates a new logic app, automation account or container group. Microsoft documents attaching a \
user-assigned identity as needing write on the resource plus the assign action on the identity. Why it \
matters: the attacker attaches the identity to the compute it controls and gets tokens as it (the \
identity's service principal follows through uami-service-principal). The kind is RunCodeAs, not \
AuthenticatesAs: the principal runs its own code as the identity, as a compute does; AuthenticatesAs means \
being the same identity under another name (an app and its service principal, a trusted workload), and \
azpath treats such chains as aliases of one entry point. It costs ExecuteOn plus RunCodeAs plus a \
configuration change. The evidence names both assignments and the compute. Must not fire: for the assign \
right alone (Managed Identity Operator without a compute right), for a compute right alone, for compute \
that cannot run the attacker's code with that grant (VM write without run command or extensions), when \
the compute right covers neither a compute that can carry the identity nor a resource group (where a \
new one could be created), or when a deny assignment removes either right.",
    derive,
};

/// Where the principal can put the identity: an existing compute, or a new one in a resource group.
struct Place<'c> {
    grant: &'c RbacGrant<'c>,
    how: Grant,
    write: &'static str,
    what: &'static str,
    existing: Option<&'c Resource>,
    /// The compute's id, or the resource group's.
    target: &'c str,
}

impl Place<'_> {
    fn conditional(&self) -> bool {
        self.how.conditional || self.grant.assignment.condition.is_some() || self.grant.via.is_some()
    }

    /// Easiest first: active before eligible, unconditional before conditional, an existing compute
    /// before a new one, then by id.
    fn rank(&self) -> (bool, bool, bool, &str) {
        (self.grant.assignment.eligible, self.conditional(), self.existing.is_none(), self.target)
    }
}

/// Does the grant also allow running code on this type of compute at `at`?
fn runs_code(ctx: &Context, g: &RbacGrant, ty: &str, at: &str) -> bool {
    ways(ty).iter().any(|way| {
        way.iter().all(|a| g.role.grants_action(a).is_some() && !ctx.denied(&g.assignment.principal_id, at, a, false))
    })
}

/// Every place a grant of one of `principals` lets it attach an identity and run code, handed to
/// `found` one at a time: a tenant has a place for nearly every compute assignment (five per VM in
/// an AzureHound collection), and only the best per principal is kept.
fn places<'c>(ctx: &'c Context, principals: &FastSet<&str>, mut found: impl FnMut(Place<'c>)) {
    let ours = |g: &RbacGrant| principals.contains(g.assignment.principal_id.as_str());
    for &(ty, write, creatable, what) in CARRIERS {
        for (g, r, how) in ctx.rbac_matches(write, false, |r| r.resource_type == ty) {
            if ours(g) && runs_code(ctx, g, ty, &r.id) {
                found(Place { grant: g, how, write, what, existing: Some(r), target: &r.id });
            }
        }
        if !creatable {
            continue;
        }
        // Many assignments share a few roles: match each role's patterns once.
        let mut by_role: FastMap<*const crate::rbac::RoleDefinition, Option<crate::rbac::Grant>> = Default::default();
        for g in ctx.grants.iter().filter(|g| ours(g)) {
            let how = by_role.entry(std::ptr::from_ref(g.role)).or_insert_with(|| g.role.grants_action(write));
            let Some(how) = how.clone() else { continue };
            let rg = first_resource_group(ctx, &g.assignment.scope, |rg| {
                !ctx.denied(&g.assignment.principal_id, rg, write, false) && runs_code(ctx, g, ty, rg)
            });
            if let Some(rg) = rg {
                found(Place { grant: g, how, write, what, existing: None, target: rg });
            }
        }
    }
}

/// The first resource group at or beneath `scope` (breadth first, in sorted order) that `ok`
/// accepts: where a new compute could be created. Walks management groups and subscriptions only.
fn first_resource_group<'c>(ctx: &'c Context, scope: &str, ok: impl Fn(&str) -> bool) -> Option<&'c str> {
    let root = ctx.scope_node(scope);
    let root = &ctx.node(&root)?.id;
    let mut queue = std::collections::VecDeque::from([root.as_str()]);
    while let Some(id) = queue.pop_front() {
        match ctx.node(id).map(|n| n.kind) {
            Some(NodeKind::ResourceGroup) if ok(id) => return Some(id),
            Some(NodeKind::ManagementGroup | NodeKind::Subscription) => {
                queue.extend(ctx.children.get(id).into_iter().flatten().map(String::as_str));
            }
            _ => {}
        }
    }
    None
}

fn derive(ctx: &Context, out: &mut Vec<Edge>) {
    // Each (grant, identity) once, whichever spelling of the assign action matched.
    let mut seen = BTreeSet::new();
    let mut assigns = Vec::new();
    for &action in ASSIGN {
        for (g, uami, how) in ctx.rbac_matches(action, false, |r| r.resource_type == UAMI) {
            let principal = g.assignment.principal_id.as_str();
            if ASSIGN.iter().any(|a| ctx.denied(principal, &uami.id, a, false))
                || !seen.insert((g.assignment.id.as_str(), g.role.id.as_str(), uami.id.as_str()))
            {
                continue;
            }
            assigns.push((g, uami, action, how));
        }
    }
    // Where each principal that can assign an identity can put it: the compute rights of
    // everyone else are never looked at.
    let principals: FastSet<&str> = assigns.iter().map(|(g, ..)| g.assignment.principal_id.as_str()).collect();
    let mut best: BTreeMap<&str, Place> = BTreeMap::new();
    if !principals.is_empty() {
        places(ctx, &principals, |p| {
            let principal = p.grant.assignment.principal_id.as_str();
            if best.get(principal).is_none_or(|b| p.rank() < b.rank()) {
                best.insert(principal, p);
            }
        });
    }
    for (g, uami, action, how) in assigns {
        if let Some(place) = best.get(g.assignment.principal_id.as_str()) {
            out.extend(edge(ctx, g, uami, action, &how, place));
        }
    }
}

/// The attach edge; `None` when a ReadOnly lock blocks the write to the compute (the ARM operation
/// that attaches the identity) and the principal cannot delete it.
fn edge(ctx: &Context, g: &RbacGrant, uami: &Resource, action: &str, how: &Grant, place: &Place) -> Option<Edge> {
    let compute_grant = place.grant;
    let where_text = match place.existing {
        Some(r) => format!("attach it to {} {}", place.what, r.name),
        None => format!("create a {} with it in resource group {}", place.what, ctx.name(place.target)),
    };
    let by = if compute_grant.assignment.id == g.assignment.id {
        String::new()
    } else {
        format!(" (with {})", grant_text(ctx, compute_grant))
    };
    let reason = format!(
        "{} allows {action} on user-assigned identity {}: can {where_text}{by} and run code there as the identity (configuration change)",
        grant_text(ctx, g),
        uami.name
    );
    let carrier_text = format!("{} ({} granted by `{}`)", place.target, place.write, place.how.pattern);
    let mut extra = vec![match place.existing {
        Some(r) => Context::resource_evidence(EvidenceKind::Carrier, r, carrier_text),
        None => Evidence::new(EvidenceKind::Carrier, format!("a new {} in {carrier_text}", place.what)),
    }];
    if compute_grant.assignment.id != g.assignment.id {
        extra.push(
            Evidence::new(
                EvidenceKind::ComputeGrantedBy,
                format!("{} ({})", compute_grant.assignment.id, compute_grant.role.role_name),
            )
            .of_fact(&compute_grant.assignment.fact_key()),
        );
    }
    // Attaching the identity is a write to the compute (or its resource group) through ARM.
    let hit = Hit { target: &uami.id, action, how, plane: Plane::Arm(place.target) };
    let mut e = rbac_edge(ctx, &RULE, g, hit, reason, extra)?;
    if compute_grant.assignment.eligible && !e.requires_activation {
        e = e.as_kind(EdgeKind::RunCodeAs, true);
        e.push_reason(" (the compute right is PIM-eligible: requires activation)");
    }
    if place.conditional() && !e.conditional {
        let activation = e.requires_activation;
        e = e.with_flags(activation, true);
        e.push_reason(" (the compute right is subject to a condition azpath does not evaluate)");
    }
    e.cost += EdgeKind::ExecuteOn.base_cost() + CONFIG_CHANGE_COST;
    Some(e)
}

#[cfg(test)]
mod tests {
    use crate::model::EdgeKind::{AuthenticatesAs, ExecuteOn, RunCodeAs};
    use crate::model::EvidenceKind;
    use crate::rules::testkit::*;
    use serde_json::json;

    fn uami(t: &mut T, rg: &str, name: &str) -> String {
        t.resource(
            rg,
            "Microsoft.ManagedIdentity/userAssignedIdentities",
            name,
            json!({"properties": {"principalId": format!("sp-{name}")}}),
        )
    }

    #[test]
    fn operator_on_the_identity_and_write_on_a_vm_elsewhere_run_code_as_it() {
        let mut t = T::new();
        let (ids, compute) = (t.rg("identities"), t.rg("compute"));
        let u = uami(&mut t, &ids, "u-deploy");
        let vm = t.resource(&compute, "Microsoft.Compute/virtualMachines", "vm", json!({}));
        let h = t.user("henry");
        let operator = t.assign(&h, "Managed Identity Operator", &u);
        let vmc = t.assign(&h, "Virtual Machine Contributor", &vm);
        let d = t.derive();
        let e = edge(&d, &h, &u, RunCodeAs).expect("attach the identity to the VM");
        assert_eq!(&*e.rule, "rbac-attach-identity");
        let ev = |k: EvidenceKind| {
            e.evidence().iter().filter(|ev| ev.kind == k).map(|ev| ev.value.clone()).collect::<Vec<_>>()
        };
        assert_eq!(ev(EvidenceKind::RoleAssignment), [operator], "the assign right");
        assert!(ev(EvidenceKind::ComputeGrantedBy)[0].starts_with(&vmc), "the compute right: {:?}", e.evidence());
        assert!(ev(EvidenceKind::Carrier)[0].contains("virtualMachines/write"), "{:?}", e.evidence());
        assert!(ev(EvidenceKind::MatchedAction)[0].contains("assign/action"));
        assert!(e.cost > ExecuteOn.base_cost() + RunCodeAs.base_cost(), "a configuration change: {}", e.cost);
        assert!(has(&d, &u, "sp-u-deploy", AuthenticatesAs));
        assert!(!has(&d, &h, &vm, ExecuteOn), "the VM has no identity of its own yet");
    }

    #[test]
    fn the_assign_right_alone_or_the_compute_right_alone_is_no_edge() {
        let mut t = T::new();
        let rg = t.rg("rg");
        let u = uami(&mut t, &rg, "u");
        let vm = t.resource(&rg, "Microsoft.Compute/virtualMachines", "vm", json!({}));
        let (op, vmc, write_only) = (t.user("op"), t.user("vmc"), t.user("w"));
        t.assign(&op, "Managed Identity Operator", &rg);
        t.assign(&vmc, "Virtual Machine Contributor", &rg);
        let vm_write = t.custom_role("VM writer", &["Microsoft.Compute/virtualMachines/write"], &[]);
        t.assign(&write_only, "Managed Identity Operator", &u);
        t.assign(&write_only, &vm_write, &vm);
        let d = t.derive();
        for p in [&op, &vmc] {
            assert!(!has(&d, p, &u, RunCodeAs), "{p}");
        }
        assert!(!has(&d, &write_only, &u, RunCodeAs), "VM write without run command or extensions runs no code");
    }

    #[test]
    fn a_logic_app_write_at_a_resource_group_creates_a_new_carrier() {
        let mut t = T::new();
        let (ids, empty) = (t.rg("identities"), t.rg("empty"));
        let u = uami(&mut t, &ids, "u");
        let sa = t.storage(&empty, "sa", false);
        let (n, r) = (t.user("nora"), t.user("resource-scoped"));
        t.assign(&n, "Managed Identity Operator", &u);
        t.assign(&n, "Logic App Contributor", &empty);
        t.assign(&r, "Managed Identity Operator", &u);
        t.assign(&r, "Logic App Contributor", &sa);
        let d = t.derive();
        let e = edge(&d, &n, &u, RunCodeAs).expect("create a logic app with the identity");
        assert!(e.reason(&d).contains("create a logic app"), "{}", e.reason(&d));
        assert!(!has(&d, &r, &u, RunCodeAs), "a storage account scope can hold no new logic app");
    }

    #[test]
    fn contributor_on_a_resource_group_attaches_its_identities_and_eligibility_carries_over() {
        let mut t = T::new();
        let rg = t.rg("rg");
        let u = uami(&mut t, &rg, "u");
        let (c, dave) = (t.sp("ci"), t.user("dave"));
        t.assign(&c, "Contributor", &rg);
        t.eligible(&dave, "Owner", &rg, "2026-06-01T00:00:00Z", "2027-06-01T00:00:00Z");
        let d = t.derive();
        let e = edge(&d, &c, &u, RunCodeAs).unwrap();
        assert!(!e.evidence().iter().any(|ev| ev.kind == EvidenceKind::ComputeGrantedBy), "one assignment grants both");
        let e = edge(&d, &dave, &u, RunCodeAs).unwrap();
        assert!(e.requires_activation);
    }

    #[test]
    fn a_deny_of_either_spelling_of_the_assign_action_removes_the_edge() {
        let mut t = T::new();
        let rg = t.rg("rg");
        let u = uami(&mut t, &rg, "u");
        let (c, d1, d2) = (t.sp("ci"), t.sp("denied-op"), t.sp("denied-doc"));
        for p in [&c, &d1, &d2] {
            t.assign(p, "Contributor", &rg);
        }
        t.deny(&rg, &d1, &["Microsoft.ManagedIdentity/userAssignedIdentities/assign/action"]);
        t.deny(&rg, &d2, &["Microsoft.ManagedIdentity/*/assign/action"]);
        let d = t.derive();
        assert!(has(&d, &c, &u, RunCodeAs));
        assert!(!has(&d, &d1, &u, RunCodeAs) && !has(&d, &d2, &u, RunCodeAs));
    }
}
