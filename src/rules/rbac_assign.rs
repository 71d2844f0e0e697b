//! `AssignRoles`: `Microsoft.Authorization/roleAssignments/write` at a scope is full control of it.

use super::{Context, Hit, Plane, Rule, grant_text, rbac_edge};
use crate::model::{Edge, EdgeKind};

const ACTION: &str = "Microsoft.Authorization/roleAssignments/write";

pub const RULE: Rule = Rule {
    id: "rbac-assign-roles",
    edges: &[EdgeKind::AssignRoles],
    summary: "Whoever can write role assignments at a scope can make itself Owner there.",
    doc: concat!(
        "What it does: an AssignRoles edge from the principal to the scope (management group, \
subscription, resource group or resource) of each role assignment or PIM eligibility whose role allows \
Microsoft.Authorization/roleAssignments/write (Owner, User Access Administrator, Role Based Access \
Control Administrator, custom roles). From the scope, Contains edges reach everything beneath it. A \
condition on the assignment or role (RBAC Administrator's usual constraint) makes the edge conditional. \
A role that may assign only named roles (Key Vault Data Access Administrator, or an RBAC \
Administrator whose condition lists the roles) makes no AssignRoles edge: azpath instead gives the \
principal, conditionally, the edges of each role it could assign itself, and those too need a role \
assignment at the grant's scope first.",
        read_only_lock_doc!(),
        " A role assignment is an extension resource of its scope and inherits the scope's locks; \
Microsoft names the case of a storage account, whose ReadOnly lock prevents role assignments scoped to it. \
Management groups cannot be locked. A lock below the scope (on one resource) does not block assigning at \
the scope, and whoever then holds Owner there can delete it. Why it matters: assigning yourself Owner is \
full control of every resource below. Must not fire: for Contributor (notActions remove \
Microsoft.Authorization/*/Write), Reader, when a deny assignment removes the action, or under a ReadOnly \
lock the principal cannot delete (Role Based Access Control Administrator, whose role has no \
`locks/delete`; an Owner of a resource group under a subscription's lock)."
    ),
    derive,
};

fn derive(ctx: &Context, out: &mut Vec<Edge>) {
    for g in ctx.grants.iter().filter(|g| g.via.is_none() && !g.delegates_only) {
        let Some(how) = g.role.grants_action(ACTION) else { continue };
        let scope = ctx.scope_node(&g.assignment.scope);
        if ctx.node(&scope).is_none() || ctx.denied(&g.assignment.principal_id, &scope, ACTION, false) {
            continue;
        }
        let reason = format!("{} allows {ACTION}: can assign itself any role there", grant_text(ctx, g));
        // A role assignment is written through ARM at the scope: a ReadOnly lock there blocks it.
        let hit = Hit { target: &scope, action: ACTION, how: &how, plane: Plane::Arm(&scope) };
        out.extend(rbac_edge(ctx, &RULE, g, hit, reason, vec![]));
    }
}

#[cfg(test)]
mod tests {
    use crate::model::EdgeKind::AssignRoles;
    use crate::rules::testkit::*;

    #[test]
    fn owner_uaa_and_rbac_admin_can_assign_roles() {
        let mut t = T::new();
        let rg = t.rg("rg");
        let (o, u, r) = (t.user("o"), t.user("u"), t.user("r"));
        t.assign(&o, "Owner", &rg);
        t.assign(&u, "User Access Administrator", SUB);
        t.assign_with(&r, "Role Based Access Control Administrator", &rg, Some("@Request[Microsoft.Authorization/roleAssignments:RoleDefinitionId] ForAnyOfAllValues:GuidNotEquals {8e3af657-a8ff-443c-a75c-2fe8c4bcb635}"));
        let d = t.derive();
        assert!(!edge(&d, &o, &rg, AssignRoles).unwrap().conditional);
        assert!(has(&d, &u, SUB, AssignRoles));
        let e = edge(&d, &r, &rg, AssignRoles).unwrap();
        assert!(e.conditional && e.reason(&d).contains("condition"));
    }

    #[test]
    fn a_role_limited_to_named_roles_gives_those_roles_edges_not_full_control() {
        let mut t = T::new();
        let rg = t.rg("rg");
        let kv = t.resource(
            &rg,
            "Microsoft.KeyVault/vaults",
            "kv",
            serde_json::json!({"properties": {"enableRbacAuthorization": true}}),
        );
        let sa = t.resource(&rg, "Microsoft.Storage/storageAccounts", "sa", serde_json::json!({"properties": {}}));
        let (kvdaa, rbac) = (t.user("kvdaa"), t.user("rbac"));
        t.assign(&kvdaa, "Key Vault Data Access Administrator", &rg);
        t.assign_with(&rbac, "Role Based Access Control Administrator", &rg, Some("@Request[Microsoft.Authorization/roleAssignments:RoleDefinitionId] ForAnyOfAnyValues:GuidEquals {ba92f5b4-2d11-453d-a403-e96b0029c9fe}"));
        let d = t.derive();
        for u in [&kvdaa, &rbac] {
            assert!(!has(&d, u, &rg, AssignRoles), "{u} must not get full control of the group");
        }
        let e = edge(&d, &kvdaa, &kv, crate::model::EdgeKind::ReadSecrets)
            .expect("can assign itself Key Vault Secrets User");
        assert!(
            e.conditional && e.evidence().iter().any(|ev| ev.kind == crate::model::EvidenceKind::AssignableThrough)
        );
        assert!(!has(&d, &kvdaa, &sa, crate::model::EdgeKind::ListKeys));
        assert!(
            has(&d, &rbac, &sa, crate::model::EdgeKind::WriteData),
            "can assign itself Storage Blob Data Contributor"
        );
    }

    #[test]
    fn contributor_reader_and_denied_principals_cannot() {
        let mut t = T::new();
        let rg = t.rg("rg");
        let (c, r, denied) = (t.user("c"), t.user("r"), t.sp("denied"));
        t.assign(&c, "Contributor", &rg);
        t.assign(&r, "Reader", SUB);
        t.assign(&denied, "Owner", &rg);
        t.deny(SUB, &denied, &["Microsoft.Authorization/*/write"]);
        let d = t.derive();
        assert!(out(&d, &r).is_empty());
        assert!(!has(&d, &c, &rg, AssignRoles));
        assert!(!has(&d, &denied, &rg, AssignRoles));
    }

    #[test]
    fn the_root_scope_reaches_subscriptions_even_without_management_group_facts() {
        let mut raw = T::new().raw();
        raw.arm.remove("managementGroups");
        raw.arm.insert("roleAssignments".into(), serde_json::json!([{"id": "/providers/Microsoft.Authorization/roleAssignments/ra-root",
            "properties": {"roleDefinitionId": "/providers/Microsoft.Authorization/roleDefinitions/18d7d88d-d35e-4fb5-a5c3-7773c20a72d9",
              "principalId": "user-elevated", "principalType": "User", "scope": "/"}}]));
        let d = crate::rules::derive(&crate::facts::parse(&raw).unwrap());
        let root = format!("/providers/microsoft.management/managementgroups/{TENANT}");
        assert!(has(&d, "user-elevated", &root, AssignRoles));
        assert!(has(&d, &root, SUB, crate::model::EdgeKind::Contains));
    }

    #[test]
    fn the_root_scope_is_the_root_management_group() {
        let mut t = T::new();
        let u = t.user("u");
        t.assign(&u, "Owner", "/");
        let d = t.derive();
        let root = format!("/providers/Microsoft.Management/managementGroups/{TENANT}");
        assert!(has(&d, &u, &root, AssignRoles));
    }

    #[test]
    fn a_read_only_lock_stops_role_assignments_unless_the_assigner_can_delete_it() {
        use crate::model::LOCK_REMOVAL_COST;
        let mut t = T::new();
        let (rg, other) = (t.rg("rg"), t.rg("other"));
        let writer = t.custom_role("Assigner", &["Microsoft.Authorization/roleAssignments/write"], &[]);
        let (o, u, w, a) = (t.user("o"), t.user("u"), t.user("w"), t.user("a"));
        t.assign(&o, "Owner", &rg);
        t.assign(&u, "User Access Administrator", &rg);
        t.assign(&w, &writer, &rg);
        t.assign(&a, &writer, &other);
        t.lock(&rg, "freeze", "ReadOnly");
        t.lock(&format!("{other}/providers/Microsoft.Storage/storageAccounts/sa"), "below", "ReadOnly");
        let d = t.derive();
        assert!(!has(&d, &w, &rg, AssignRoles), "Microsoft: a ReadOnly lock prevents role assignments at its scope");
        for p in [&o, &u] {
            let e = edge(&d, p, &rg, AssignRoles).unwrap();
            assert_eq!(e.cost, AssignRoles.base_cost() + LOCK_REMOVAL_COST, "{p}");
        }
        let e = edge(&d, &a, &other, AssignRoles).expect("a lock below the scope does not cover the scope");
        assert_eq!(e.cost, AssignRoles.base_cost());
    }

    #[test]
    fn an_owner_below_a_subscription_lock_cannot_delete_it() {
        let mut t = T::new();
        let rg = t.rg("rg");
        let (o, top) = (t.user("o"), t.user("top"));
        t.assign(&o, "Owner", &rg);
        t.assign(&top, "Owner", "/");
        t.lock(SUB, "sub-freeze", "ReadOnly");
        let d = t.derive();
        assert!(!has(&d, &o, &rg, AssignRoles), "the lock is on the subscription, above the owner's scope");
        let root = format!("/providers/Microsoft.Management/managementGroups/{TENANT}");
        assert!(has(&d, &top, &root, AssignRoles), "management groups have no locks");
    }
}
