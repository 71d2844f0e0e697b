//! Microsoft Graph application permissions that take over the tenant or its apps.

use super::admin_units::restricted_unit_blocks;
use super::directory_roles::{GroupSet, ResetReach, Targets, target_ids};
use super::{Context, Rule, mark_if_sp_locked, plain_edge};
use crate::facts::ids::app_role_node_id;
use crate::model::{Edge, EdgeKind, Evidence, EvidenceKind};
use crate::rbac::{MICROSOFT_GRAPH_APP_ID, graph_app_roles};

pub const RULE: Rule = Rule {
    id: "graph-app-role",
    edges: &[
        EdgeKind::HasRole,
        EdgeKind::GrantAnyRole,
        EdgeKind::AddSecret,
        EdgeKind::AddMember,
        EdgeKind::ResetCredential,
    ],
    summary: "Service principals with dangerous Microsoft Graph permissions can take over apps or the tenant.",
    doc: "What it does: HasRole from a service principal to a Microsoft Graph application permission it \
was granted (appRoleAssignment on the Microsoft Graph service principal), then from the permission: \
GrantAnyRole to the tenant for RoleManagement.ReadWrite.Directory, AppRoleAssignment.ReadWrite.All \
(can grant itself the former), RoleEligibilitySchedule.ReadWrite.Directory and \
RoleAssignmentSchedule.ReadWrite.Directory; AddSecret to every application and service principal for \
Application.ReadWrite.All; AddMember to every group that is not role-assignable, dynamic or synced for \
GroupMember.ReadWrite.All, Group.ReadWrite.All and Directory.ReadWrite.All (the last two also to \
dynamic groups, whose rule they can rewrite), and to role-assignable groups too for the PIM for Groups \
permissions (PrivilegedAssignmentSchedule.ReadWrite.AzureADGroup; PrivilegedEligibilitySchedule.\
ReadWrite.AzureADGroup as an eligibility to activate; PrivilegedAccess.ReadWrite.AzureADGroup, \
conditional); ResetCredential to every user for UserAuthenticationMethod.ReadWrite.All (a Temporary \
Access Pass; conditional on the TAP policy). None of these ResetCredential or AddMember edges reaches a \
member of a restricted management administrative unit (Microsoft: Graph application permissions \
\"won't apply\" there). User.ReadWrite.All and Directory.ReadWrite.All also get a HasRole edge, kept \
only when rule `dynamic-membership-attribute` finds a dynamic group they can join a created user to. \
Why it matters: these are app-only, MFA-free paths to Global Administrator. \
Must not fire: for other Graph permissions (read permissions, User.Read.All, ...; User.ReadWrite.All and \
User-PasswordProfile.ReadWrite.All, which reset passwords only together with a directory role), or for \
an app role of another API that happens to share a name.",
    derive,
};

/// A Graph permission's power: what it takes over, and how sure that is.
struct Power {
    app_role: &'static str,
    kind: EdgeKind,
    targets: Targets,
    /// Holds only under a condition azpath does not collect (said in `why`).
    conditional: bool,
    /// Gives an eligibility the holder must activate first.
    activation: bool,
    why: &'static str,
}

const fn power(app_role: &'static str, kind: EdgeKind, targets: Targets) -> Power {
    Power { app_role, kind, targets, conditional: false, activation: false, why: "" }
}

const ROLE_MANAGEMENT: &str = "9e3f62cf-ca93-4989-b6ce-bf83c28f9fe8"; // RoleManagement.ReadWrite.Directory
const APPLICATION_READWRITE: &str = "1bfefb4e-e0b5-418b-a88f-73c46d2cc8e9"; // Application.ReadWrite.All
const GROUP_MEMBER_READWRITE: &str = "dbaae8cf-10b5-4b86-a4a1-f871c94c6695"; // GroupMember.ReadWrite.All
const GROUP_READWRITE: &str = "62a82d76-70ea-41e2-9197-370581804d09"; // Group.ReadWrite.All
const DIRECTORY_READWRITE: &str = "19dbc75e-c2e2-444c-a770-ec69d8559fc7"; // Directory.ReadWrite.All
const PIM_GROUP_ASSIGNMENT: &str = "41202f2c-f7ab-45be-b001-85c9728b9d69"; // PrivilegedAssignmentSchedule.ReadWrite.AzureADGroup
const PIM_GROUP_ELIGIBILITY: &str = "618b6020-bca8-4de6-99f6-ef445fa4d857"; // PrivilegedEligibilitySchedule.ReadWrite.AzureADGroup
const PIM_GROUP_ACCESS: &str = "2f6817f8-7b12-4f0f-bc18-eeaf60705a9e"; // PrivilegedAccess.ReadWrite.AzureADGroup
const AUTH_METHODS_READWRITE: &str = "50483e42-d915-4231-9639-7fdb7fd190e5"; // UserAuthenticationMethod.ReadWrite.All
const USER_READWRITE: &str = "741f803b-c850-494e-b5df-cde7c675a1ca"; // User.ReadWrite.All

/// Graph permissions that create users and write their profile attributes (department, job
/// title, ...): a created user matches a dynamic group's rule (rule `dynamic-membership-attribute`).
/// Their HasRole edge is made here, and pruned unless that rule finds a dynamic group.
pub(super) const USER_ATTRIBUTE_WRITERS: &[&str] = &[USER_READWRITE, DIRECTORY_READWRITE];

/// Every Graph application permission that passes control, with Microsoft's documented reach.
/// Not here on purpose: `User.ReadWrite.All`, `User-PasswordProfile.ReadWrite.All` and
/// `Directory.ReadWrite.All` cannot reset passwords app-only ("the calling app must be assigned ...
/// at least the User Administrator Microsoft Entra role": the role's own edges then apply), and
/// `Policy.ReadWrite.AuthenticationMethod` issues no credential by itself.
const POWERS: &[Power] = &[
    power(ROLE_MANAGEMENT, EdgeKind::GrantAnyRole, Targets::Tenant),
    power("06b708a9-e830-4db3-a914-8e69da51d44f", EdgeKind::GrantAnyRole, Targets::Tenant), // AppRoleAssignment.ReadWrite.All
    power("fee28b28-e1f3-4841-818e-2704dc62245f", EdgeKind::GrantAnyRole, Targets::Tenant), // RoleEligibilitySchedule.ReadWrite.Directory
    power("dd199f4a-f148-40a4-a2ec-f0069cc799ec", EdgeKind::GrantAnyRole, Targets::Tenant), // RoleAssignmentSchedule.ReadWrite.Directory
    power(APPLICATION_READWRITE, EdgeKind::AddSecret, Targets::Applications),
    power(APPLICATION_READWRITE, EdgeKind::AddSecret, Targets::ServicePrincipals),
    // Members of groups that are not role-assignable (those also need RoleManagement.ReadWrite.Directory,
    // which reaches the tenant anyway); Group and Directory write can also rewrite a dynamic rule.
    power(GROUP_MEMBER_READWRITE, EdgeKind::AddMember, Targets::Groups(GroupSet::ORDINARY)),
    power(GROUP_READWRITE, EdgeKind::AddMember, Targets::Groups(GroupSet::ORDINARY)),
    power(GROUP_READWRITE, EdgeKind::AddMember, Targets::Groups(GroupSet::DYNAMIC)),
    power(DIRECTORY_READWRITE, EdgeKind::AddMember, Targets::Groups(GroupSet::ORDINARY)),
    power(DIRECTORY_READWRITE, EdgeKind::AddMember, Targets::Groups(GroupSet::DYNAMIC)),
    // PIM for Groups onboards any group that is neither dynamic nor synced on the first request,
    // role-assignable ones included.
    power(PIM_GROUP_ASSIGNMENT, EdgeKind::AddMember, Targets::Groups(GroupSet::ORDINARY)),
    power(PIM_GROUP_ASSIGNMENT, EdgeKind::AddMember, Targets::Groups(GroupSet::ROLE_ASSIGNABLE)),
    Power {
        activation: true,
        ..power(PIM_GROUP_ELIGIBILITY, EdgeKind::AddMember, Targets::Groups(GroupSet::ORDINARY))
    },
    Power {
        activation: true,
        ..power(PIM_GROUP_ELIGIBILITY, EdgeKind::AddMember, Targets::Groups(GroupSet::ROLE_ASSIGNABLE))
    },
    Power {
        conditional: true,
        why: "some of Microsoft's pages require the app to also hold Privileged Role or Global Administrator",
        ..power(PIM_GROUP_ACCESS, EdgeKind::AddMember, Targets::Groups(GroupSet::ORDINARY))
    },
    Power {
        conditional: true,
        why: "some of Microsoft's pages require the app to also hold Privileged Role or Global Administrator",
        ..power(PIM_GROUP_ACCESS, EdgeKind::AddMember, Targets::Groups(GroupSet::ROLE_ASSIGNABLE))
    },
    // A Temporary Access Pass for any user, usable when the tenant's TAP policy includes the user.
    Power {
        conditional: true,
        why: "the Temporary Access Pass signs in only if the tenant's authentication method policy includes the user",
        ..power(AUTH_METHODS_READWRITE, EdgeKind::ResetCredential, Targets::Users)
    },
];

fn derive(ctx: &Context, out: &mut Vec<Edge>) {
    let mut held: Vec<&str> = Vec::new();
    for a in &ctx.facts.app_role_assignments {
        let on_graph = ctx.is_graph_permission(a);
        let known = POWERS.iter().map(|p| p.app_role).chain(USER_ATTRIBUTE_WRITERS.iter().copied());
        let Some(role) = known.into_iter().find(|r| *r == a.app_role_id).filter(|_| on_graph) else { continue };
        let node = app_role_node_id(MICROSOFT_GRAPH_APP_ID, &a.app_role_id);
        held.push(role);
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
    for p in POWERS.iter().filter(|p| held.contains(&p.app_role)) {
        let (role, kind) = (p.app_role, p.kind);
        let node = app_role_node_id(MICROSOFT_GRAPH_APP_ID, role);
        let perm = graph_app_roles().get(role).cloned().unwrap_or_default();
        for (target, _) in target_ids(ctx, p.targets, ResetReach::Any) {
            // "If you assign Microsoft Graph application permissions to the application, those
            // permissions won't apply" to members of restricted management administrative units.
            if restricted_unit_blocks(ctx, kind, &target).is_some() {
                continue;
            }
            let mut reason = match kind {
                EdgeKind::GrantAnyRole => format!("Graph {perm} can make any principal Global Administrator"),
                EdgeKind::AddMember if p.activation => {
                    format!("Graph {perm} can make any principal an eligible member of group {}", ctx.name(&target))
                }
                EdgeKind::AddMember => format!("Graph {perm} can add members to group {}", ctx.name(&target)),
                EdgeKind::ResetCredential => {
                    format!("Graph {perm} can issue a Temporary Access Pass for user {}", ctx.name(&target))
                }
                _ => format!("Graph {perm} can add credentials to {}", ctx.name(&target)),
            };
            if p.conditional {
                reason.push_str(&format!(" (conditional: {})", p.why));
            }
            let e = plain_edge(
                &RULE,
                &node,
                &target,
                reason,
                vec![Evidence::named(EvidenceKind::GraphPermission, &perm, role)],
            );
            out.push(mark_if_sp_locked(ctx, e.as_kind(kind, false).with_flags(p.activation, p.conditional)));
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
    fn graph_is_told_by_its_service_principal_and_by_name_only_when_that_was_not_collected() {
        const ROLE_MANAGEMENT: &str = "9e3f62cf-ca93-4989-b6ce-bf83c28f9fe8";
        let mut t = T::new();
        let (_, sp) = t.app("sync");
        // Graph's service principal not collected: the assignment's display name is trusted.
        t.graph_app_role(&sp, "11111111-1111-4111-8111-111111111111", ROLE_MANAGEMENT);
        let node = app_role_node_id(MICROSOFT_GRAPH_APP_ID, ROLE_MANAGEMENT);
        assert!(has(&t.derive(), &sp, &node, HasRole));
        // A collected principal that is not Graph's is not Graph, whatever the assignment's name says.
        let mut t = T::new();
        let (_, sp) = t.app("sync");
        let other = t.sp("named-like-graph");
        t.graph_app_role(&sp, &other, ROLE_MANAGEMENT);
        assert!(!has(&t.derive(), &sp, &node, HasRole));
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

    #[test]
    fn group_member_write_adds_members_but_not_to_role_assignable_groups() {
        let mut t = T::new();
        let g = t.graph_sp();
        let (_, sp) = t.app("provisioner");
        t.graph_app_role(&sp, &g, "dbaae8cf-10b5-4b86-a4a1-f871c94c6695"); // GroupMember.ReadWrite.All
        let ordinary = t.group("ordinary");
        let ra = t.group_with("tier0", serde_json::json!({"isAssignableToRole": true}));
        let dynamic = t.group_with("dyn", serde_json::json!({"groupTypes": ["DynamicMembership"]}));
        let d = t.derive();
        let node = app_role_node_id(MICROSOFT_GRAPH_APP_ID, "dbaae8cf-10b5-4b86-a4a1-f871c94c6695");
        assert!(has(&d, &sp, &node, HasRole));
        assert!(has(&d, &node, &ordinary, AddMember));
        assert!(!has(&d, &node, &ra, AddMember), "role-assignable groups need RoleManagement.ReadWrite.Directory");
        assert!(!has(&d, &node, &dynamic, AddMember), "GroupMember.ReadWrite.All cannot rewrite a dynamic rule");
    }

    #[test]
    fn pim_for_groups_permissions_reach_role_assignable_groups() {
        let mut t = T::new();
        let g = t.graph_sp();
        let (_, sp) = t.app("pim-bot");
        t.graph_app_role(&sp, &g, "41202f2c-f7ab-45be-b001-85c9728b9d69"); // PrivilegedAssignmentSchedule.ReadWrite.AzureADGroup
        t.graph_app_role(&sp, &g, "618b6020-bca8-4de6-99f6-ef445fa4d857"); // PrivilegedEligibilitySchedule.ReadWrite.AzureADGroup
        let ra = t.group_with("tier0", serde_json::json!({"isAssignableToRole": true}));
        let synced = t.group_with("synced", serde_json::json!({"onPremisesSyncEnabled": true}));
        let d = t.derive();
        let assign = app_role_node_id(MICROSOFT_GRAPH_APP_ID, "41202f2c-f7ab-45be-b001-85c9728b9d69");
        let eligible = app_role_node_id(MICROSOFT_GRAPH_APP_ID, "618b6020-bca8-4de6-99f6-ef445fa4d857");
        let e = edge(&d, &assign, &ra, AddMember).unwrap();
        assert!(!e.requires_activation && !e.conditional);
        assert!(edges(&d, &eligible, &ra).iter().any(|e| e.kind == AddMember && e.requires_activation));
        assert!(!has(&d, &assign, &synced, AddMember), "synced groups are managed on premises");
    }

    #[test]
    fn auth_method_write_resets_anyone_conditionally_and_user_write_alone_resets_nobody() {
        let mut t = T::new();
        let g = t.graph_sp();
        let (_, tap) = t.app("tap-issuer");
        let (_, users) = t.app("hr-sync");
        t.graph_app_role(&tap, &g, "50483e42-d915-4231-9639-7fdb7fd190e5"); // UserAuthenticationMethod.ReadWrite.All
        t.graph_app_role(&users, &g, "741f803b-c850-494e-b5df-cde7c675a1ca"); // User.ReadWrite.All
        t.graph_app_role(&users, &g, "cc117bb9-00cf-4eb8-b580-ea2a878fe8f7"); // User-PasswordProfile.ReadWrite.All
        let admin = t.user("admin");
        t.directory_role(&admin, "62e90394-69f5-4237-9190-012177145e10", "/");
        let d = t.derive();
        let node = app_role_node_id(MICROSOFT_GRAPH_APP_ID, "50483e42-d915-4231-9639-7fdb7fd190e5");
        let e = edge(&d, &node, &admin, ResetCredential).unwrap();
        assert!(e.conditional && e.reason(&d).contains("Temporary Access Pass"), "{e:?}");
        assert!(out(&d, &users).is_empty(), "{:?}", out(&d, &users));
    }
}
