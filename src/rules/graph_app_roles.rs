//! Microsoft Graph application permissions that take over the tenant or its apps.

use super::directory_roles::{Targets, target_ids};
use super::{Context, Rule, mark_if_sp_locked, plain_edge};
use crate::facts::ids::app_role_node_id;
use crate::model::{Edge, EdgeKind, Evidence, EvidenceKind};
use crate::rbac::{MICROSOFT_GRAPH_APP_ID, graph_app_roles};

pub const RULE: Rule = Rule {
    id: "graph-app-role",
    edges: &[EdgeKind::HasRole, EdgeKind::GrantAnyRole, EdgeKind::AddSecret],
    summary: "Service principals with dangerous Microsoft Graph permissions can take over apps or the tenant.",
    doc: "What it does: HasRole from a service principal to a Microsoft Graph application permission it \
was granted (appRoleAssignment on the Microsoft Graph service principal), then from the permission: \
GrantAnyRole to the tenant for RoleManagement.ReadWrite.Directory, AppRoleAssignment.ReadWrite.All \
(can grant itself the former), RoleEligibilitySchedule.ReadWrite.Directory and \
RoleAssignmentSchedule.ReadWrite.Directory; AddSecret to every application and service principal for \
Application.ReadWrite.All. Why it matters: these are app-only, MFA-free paths to Global Administrator. \
Must not fire: for other Graph permissions (read permissions, User.Read.All, ...), or for an app role of \
another API that happens to share a name.",
    derive,
};

const POWERS: &[(&str, EdgeKind, Targets)] = &[
    ("9e3f62cf-ca93-4989-b6ce-bf83c28f9fe8", EdgeKind::GrantAnyRole, Targets::Tenant), // RoleManagement.ReadWrite.Directory
    ("06b708a9-e830-4db3-a914-8e69da51d44f", EdgeKind::GrantAnyRole, Targets::Tenant), // AppRoleAssignment.ReadWrite.All
    ("fee28b28-e1f3-4841-818e-2704dc62245f", EdgeKind::GrantAnyRole, Targets::Tenant), // RoleEligibilitySchedule.ReadWrite.Directory
    ("dd199f4a-f148-40a4-a2ec-f0069cc799ec", EdgeKind::GrantAnyRole, Targets::Tenant), // RoleAssignmentSchedule.ReadWrite.Directory
    ("1bfefb4e-e0b5-418b-a88f-73c46d2cc8e9", EdgeKind::AddSecret, Targets::Applications), // Application.ReadWrite.All
    ("1bfefb4e-e0b5-418b-a88f-73c46d2cc8e9", EdgeKind::AddSecret, Targets::ServicePrincipals),
];

fn derive(ctx: &Context, out: &mut Vec<Edge>) {
    let mut held: Vec<&str> = Vec::new();
    for a in &ctx.facts.app_role_assignments {
        let on_graph = ctx.is_graph_permission(a);
        if !on_graph || !POWERS.iter().any(|p| p.0 == a.app_role_id) {
            continue;
        }
        let node = app_role_node_id(MICROSOFT_GRAPH_APP_ID, &a.app_role_id);
        held.push(POWERS.iter().find(|p| p.0 == a.app_role_id).unwrap().0);
        out.push(plain_edge(
            &RULE,
            &a.principal_id,
            &node,
            format!("{} was granted {}", ctx.name(&a.principal_id), ctx.name(&node)),
            vec![
                Evidence::new(EvidenceKind::AppRoleAssignment, a.id.clone()).of_fact(&a.fact_key()),
                Evidence::new(EvidenceKind::AppRoleId, a.app_role_id.clone()),
            ],
        ));
    }
    held.sort();
    held.dedup();
    for &(role, kind, targets) in POWERS.iter().filter(|p| held.contains(&p.0)) {
        let node = app_role_node_id(MICROSOFT_GRAPH_APP_ID, role);
        let perm = graph_app_roles().get(role).cloned().unwrap_or_default();
        for target in target_ids(ctx, targets) {
            let reason = match kind {
                EdgeKind::GrantAnyRole => format!("Graph {perm} can make any principal Global Administrator"),
                _ => format!("Graph {perm} can add credentials to {}", ctx.name(&target)),
            };
            let e = plain_edge(
                &RULE,
                &node,
                &target,
                reason,
                vec![Evidence::named(EvidenceKind::GraphPermission, &perm, role)],
            );
            out.push(mark_if_sp_locked(ctx, e.as_kind(kind, false)));
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::facts::ids::{app_role_node_id, tenant_node_id};
    use crate::model::EdgeKind::*;
    use crate::rbac::MICROSOFT_GRAPH_APP_ID;
    use crate::rules::testkit::*;

    #[test]
    fn role_management_write_grants_any_role() {
        let mut t = T::new();
        let g = t.graph_sp();
        let (_, sp) = t.app("sync");
        for role in ["9e3f62cf-ca93-4989-b6ce-bf83c28f9fe8", "06b708a9-e830-4db3-a914-8e69da51d44f"] {
            t.graph_app_role(&sp, &g, role);
        }
        let d = t.derive();
        for role in ["9e3f62cf-ca93-4989-b6ce-bf83c28f9fe8", "06b708a9-e830-4db3-a914-8e69da51d44f"] {
            let node = app_role_node_id(MICROSOFT_GRAPH_APP_ID, role);
            assert!(has(&d, &sp, &node, HasRole));
            assert!(has(&d, &node, &tenant_node_id(TENANT), GrantAnyRole));
        }
    }

    #[test]
    fn application_readwrite_all_adds_secrets_everywhere() {
        let mut t = T::new();
        let g = t.graph_sp();
        let (_, tf) = t.app("terraform");
        let (victim, victim_sp) = t.app("victim");
        t.graph_app_role(&tf, &g, "1bfefb4e-e0b5-418b-a88f-73c46d2cc8e9");
        let d = t.derive();
        let node = app_role_node_id(MICROSOFT_GRAPH_APP_ID, "1bfefb4e-e0b5-418b-a88f-73c46d2cc8e9");
        assert!(has(&d, &node, &victim, AddSecret));
        assert!(has(&d, &node, &victim_sp, AddSecret));
    }

    #[test]
    fn read_permissions_and_other_apis_are_no_edge() {
        let mut t = T::new();
        let g = t.graph_sp();
        let other_api = t.sp("contoso-api");
        let (_, sp) = t.app("reader");
        t.graph_app_role(&sp, &g, "7ab1d382-f21e-4acd-a863-ba3e13f7da61"); // Directory.Read.All
        t.graph_app_role(&sp, &other_api, "9e3f62cf-ca93-4989-b6ce-bf83c28f9fe8");
        let d = t.derive();
        assert!(out(&d, &sp).is_empty(), "{:?}", out(&d, &sp));
    }
}
