//! Entra directory roles: holders reach the role (`HasRole` / `EligibleForRole`), and the role
//! reaches what its permissions let it take over (`AddSecret`, `GrantAnyRole`).
//!
//! Which role can do what is read from each role's `allowedResourceActions`, for built-in and
//! custom roles alike, so no role name is hard-coded.

use super::{Context, Rule, mark_if_sp_locked, plain_edge};
use crate::facts::ids::{directory_role_node_id, tenant_node_id};
use crate::model::{Edge, EdgeKind, Evidence, EvidenceKind, NodeKind};
use crate::rbac::{builtin_directory_roles, directory_action_matches};

pub const RULE: Rule = Rule {
    id: "directory-role",
    edges: &[EdgeKind::HasRole, EdgeKind::EligibleForRole, EdgeKind::AddSecret, EdgeKind::GrantAnyRole],
    summary: "Entra role holders gain what the role's permissions allow: app credentials, any role.",
    doc: "What it does: HasRole (active) or EligibleForRole (PIM, requires activation) from each holder of \
a tenant-wide directory role to the role; from the role, AddSecret to every application and (non-managed) \
service principal if it allows `microsoft.directory/applications/credentials/update` or \
`servicePrincipals/credentials/update` (Application Administrator, Cloud Application Administrator, \
Global Administrator), and GrantAnyRole to the tenant if it allows \
`microsoft.directory/roleAssignments/allProperties/allTasks` (Global Administrator, Privileged Role \
Administrator). An assignment scoped to one object (`directoryScopeId` `/{id}`) gives the holder \
AddSecret on that object only. Why it matters: these roles are one step from any app's rights or from \
Global Administrator. Must not fire: for roles without those permissions (AI Administrator, Network \
Administrator, ...), which are pruned, for expired eligibilities, or for administrative-unit scopes, \
which do not cover applications.",
    derive,
};

/// What a directory permission lets a holder take over.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Targets {
    Applications,
    ServicePrincipals,
    Tenant,
}

const POWERS: &[(&str, EdgeKind, Targets)] = &[
    ("microsoft.directory/applications/credentials/update", EdgeKind::AddSecret, Targets::Applications),
    ("microsoft.directory/servicePrincipals/credentials/update", EdgeKind::AddSecret, Targets::ServicePrincipals),
    ("microsoft.directory/roleAssignments/allProperties/allTasks", EdgeKind::GrantAnyRole, Targets::Tenant),
    // Whoever can change owners can make itself owner, then add a credential.
    ("microsoft.directory/applications/owners/update", EdgeKind::AddSecret, Targets::Applications),
    ("microsoft.directory/servicePrincipals/owners/update", EdgeKind::AddSecret, Targets::ServicePrincipals),
];

/// Node ids a power reaches, sorted.
pub(super) fn target_ids(ctx: &Context, targets: Targets) -> Vec<String> {
    match targets {
        Targets::Applications => ctx.facts.applications.iter().map(|a| a.id.clone()).collect(),
        Targets::ServicePrincipals => ctx
            .facts
            .service_principals
            .iter()
            .filter(|s| !s.service_principal_type.as_deref().is_some_and(|t| t.eq_ignore_ascii_case("ManagedIdentity")))
            .map(|s| s.id.clone())
            .collect(),
        Targets::Tenant => vec![tenant_node_id(&ctx.facts.tenant_id)],
    }
}

fn role_actions<'c>(ctx: &'c Context, id: &str) -> Option<&'c [String]> {
    ctx.facts
        .directory_role_definitions
        .iter()
        .find(|d| d.id == id)
        .map(|d| d.allowed_resource_actions.as_slice())
        .or_else(|| builtin_directory_roles().get(id).map(|r| r.allowed_resource_actions.as_slice()))
}

fn powers<'a>(actions: &'a [String]) -> impl Iterator<Item = (&'static str, EdgeKind, Targets, &'a str)> + 'a {
    POWERS.iter().filter_map(move |&(want, kind, targets)| {
        actions.iter().find(|a| directory_action_matches(a, want)).map(|a| (want, kind, targets, a.as_str()))
    })
}

fn derive(ctx: &Context, out: &mut Vec<Edge>) {
    let mut roles: Vec<&str> =
        ctx.facts.directory_role_assignments.iter().map(|a| a.role_definition_id.as_str()).collect();
    roles.sort();
    roles.dedup();
    for role in roles {
        let node = directory_role_node_id(role);
        let Some(actions) = role_actions(ctx, role) else { continue };
        let name = ctx.name(&node);
        for (want, kind, targets, granted_by) in powers(actions) {
            for target in target_ids(ctx, targets) {
                let reason = match kind {
                    EdgeKind::GrantAnyRole => {
                        format!("{name} can assign any directory role, including Global Administrator")
                    }
                    _ => format!("{name} can add credentials to {} {} ({want})", kind_word(targets), ctx.name(&target)),
                };
                let e = plain_edge(
                    &RULE,
                    &node,
                    &target,
                    reason,
                    vec![
                        Evidence::named(EvidenceKind::DirectoryRole, &name, role),
                        Evidence::new(
                            EvidenceKind::AllowedResourceAction,
                            format!("{want} (granted by `{granted_by}`)"),
                        ),
                    ],
                );
                out.push(mark_if_sp_locked(ctx, e.as_kind(kind, false)));
            }
        }
    }
    for a in &ctx.facts.directory_role_assignments {
        let node = directory_role_node_id(&a.role_definition_id);
        if ctx.node(&node).is_none() {
            continue;
        }
        let assignment = Evidence::new(
            if a.eligible { EvidenceKind::DirectoryRoleEligibility } else { EvidenceKind::DirectoryRoleAssignment },
            a.id.clone(),
        )
        .of_fact(&a.fact_key());
        let scope = a.directory_scope_id.trim_end_matches('/');
        if scope.is_empty() {
            let (kind, how) = if a.eligible {
                (EdgeKind::EligibleForRole, "is eligible (PIM) for")
            } else {
                (EdgeKind::HasRole, "holds")
            };
            let e = plain_edge(
                &RULE,
                &a.principal_id,
                &node,
                format!("{} {how} directory role {} tenant-wide", ctx.name(&a.principal_id), ctx.name(&node)),
                vec![assignment, Evidence::new(EvidenceKind::DirectoryScope, "/ (tenant-wide)")],
            );
            out.push(e.as_kind(kind, a.eligible));
        } else if scope.to_ascii_lowercase().starts_with("/administrativeunits/") {
            ctx.warn(format!(
                "directory role assignment {} is scoped to administrative unit {scope}; administrative units are not evaluated",
                a.id
            ));
        } else {
            let object = crate::facts::ids::norm(scope.trim_start_matches('/'));
            let Some(target) = ctx.node(&object) else { continue };
            let targets = match target.kind {
                NodeKind::Application => Targets::Applications,
                NodeKind::ServicePrincipal => Targets::ServicePrincipals,
                _ => continue,
            };
            let Some(actions) = role_actions(ctx, &a.role_definition_id) else { continue };
            for (want, kind, t, granted_by) in powers(actions) {
                if t != targets {
                    continue;
                }
                let mut reason = format!(
                    "{} holds {} scoped to {} and can add credentials to it",
                    ctx.name(&a.principal_id),
                    ctx.name(&node),
                    target.name
                );
                if a.eligible {
                    reason.push_str(" (PIM-eligible: requires activation)");
                }
                let e = plain_edge(
                    &RULE,
                    &a.principal_id,
                    &object,
                    reason,
                    vec![
                        assignment.clone(),
                        Evidence::new(EvidenceKind::DirectoryScope, a.directory_scope_id.clone()),
                        Evidence::new(
                            EvidenceKind::AllowedResourceAction,
                            format!("{want} (granted by `{granted_by}`)"),
                        ),
                    ],
                );
                out.push(mark_if_sp_locked(ctx, e.as_kind(kind, a.eligible)));
            }
        }
    }
}

fn kind_word(t: Targets) -> &'static str {
    match t {
        Targets::Applications => "application",
        Targets::ServicePrincipals => "service principal",
        Targets::Tenant => "tenant",
    }
}

#[cfg(test)]
mod tests {
    use crate::facts::ids::{directory_role_node_id, tenant_node_id};
    use crate::model::EdgeKind::*;
    use crate::rules::testkit::*;

    const GA: &str = "62e90394-69f5-4237-9190-012177145e10";
    const PRA: &str = "e8611ab8-c189-46e8-94e1-60213ab1f814";
    const APP_ADMIN: &str = "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3";
    const CLOUD_APP_ADMIN: &str = "158c047a-c907-4556-b7ef-446551a6b5f7";
    const AI_ADMIN: &str = "d2562ede-74db-457e-a7b6-544e236ebb61";

    #[test]
    fn global_admin_and_privileged_role_admin_grant_any_role() {
        let mut t = T::new();
        let (ga, pra) = (t.user("ga"), t.user("pra"));
        t.directory_role(&ga, GA, "/");
        t.directory_role(&pra, PRA, "/");
        let d = t.derive();
        let tenant = tenant_node_id(TENANT);
        for (u, role) in [(&ga, GA), (&pra, PRA)] {
            let node = directory_role_node_id(role);
            assert!(has(&d, u, &node, HasRole));
            assert!(has(&d, &node, &tenant, GrantAnyRole));
        }
    }

    #[test]
    fn application_administrators_add_secrets_to_every_app() {
        let mut t = T::new();
        let (a, c) = (t.user("a"), t.user("c"));
        let (app, sp) = t.app("x");
        t.directory_role(&a, APP_ADMIN, "/");
        t.directory_role(&c, CLOUD_APP_ADMIN, "/");
        let d = t.derive();
        for role in [APP_ADMIN, CLOUD_APP_ADMIN] {
            let node = directory_role_node_id(role);
            assert!(has(&d, &node, &app, AddSecret));
            assert!(has(&d, &node, &sp, AddSecret));
            assert!(!has(&d, &node, &tenant_node_id(TENANT), GrantAnyRole));
        }
    }

    #[test]
    fn another_tenants_service_principal_is_only_conditionally_writable() {
        let mut t = T::new();
        let a = t.user("a");
        let (_, own_sp) = t.app("own");
        t.directory_role(&a, APP_ADMIN, "/");
        let mut raw = t.raw();
        raw.graph.get_mut("servicePrincipals").unwrap().as_array_mut().unwrap().push(serde_json::json!({
            "id": "sp-saas", "appId": "appid-saas", "displayName": "saas", "appOwnerOrganizationId": "another-tenant"}));
        let d = crate::rules::derive(&crate::facts::parse(&raw).unwrap());
        let node = directory_role_node_id(APP_ADMIN);
        assert!(!edge(&d, &node, &own_sp, AddSecret).unwrap().conditional);
        let foreign = edge(&d, &node, "sp-saas", AddSecret).unwrap();
        assert!(foreign.conditional && foreign.reason.contains("instance property lock"));
    }

    #[test]
    fn an_app_scoped_assignment_reaches_only_that_app() {
        let mut t = T::new();
        let u = t.user("judy");
        let (app, _) = t.app("one");
        let (other, _) = t.app("two");
        t.directory_role(&u, CLOUD_APP_ADMIN, &format!("/{app}"));
        let d = t.derive();
        assert!(has(&d, &u, &app, AddSecret));
        assert!(!has(&d, &u, &other, AddSecret));
        assert!(!has(&d, &u, &directory_role_node_id(CLOUD_APP_ADMIN), HasRole));
    }

    #[test]
    fn a_non_privileged_role_is_no_edge() {
        let mut t = T::new();
        let u = t.user("grace");
        t.app("x");
        t.directory_role(&u, AI_ADMIN, "/");
        let d = t.derive();
        assert!(out(&d, &u).is_empty(), "AI Administrator must not be an attack edge: {:?}", out(&d, &u));
        assert!(!d.nodes.iter().any(|n| n.id == directory_role_node_id(AI_ADMIN)));
    }

    #[test]
    fn eligibility_needs_activation_and_a_current_window() {
        let mut t = T::new();
        let (now, old) = (t.user("now"), t.user("old"));
        t.directory_eligible(&now, GA, "2026-01-01T00:00:00Z", "2027-01-01T00:00:00Z");
        t.directory_eligible(&old, GA, "2025-01-01T00:00:00Z", "2026-01-01T00:00:00Z");
        let d = t.derive();
        let e = edge(&d, &now, &directory_role_node_id(GA), EligibleForRole).unwrap();
        assert!(e.requires_activation);
        assert!(e.cost > HasRole.base_cost());
        assert!(out(&d, &old).is_empty());
    }
}
