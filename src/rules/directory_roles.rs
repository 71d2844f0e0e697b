//! Entra directory roles: holders reach the role (`HasRole` / `EligibleForRole`), and the role
//! reaches what its permissions let it take over (`AddSecret`, `GrantAnyRole`).
//!
//! Which role can do what is read from each role's `allowedResourceActions`, for built-in and
//! custom roles alike, so no role name is hard-coded.

use super::admin_units::{restricted_unit_blocks, unit_evidence};
use super::{Context, Rule, mark_if_sp_locked, plain_edge, shared_edge};
use crate::facts::ids::{directory_role_node_id, tenant_node_id};
use crate::model::{Detail, Edge, EdgeKind, Evidence, EvidenceKind, FastSet, NodeKind, Piece, Text};
use crate::rbac::{builtin_directory_roles, directory_action_matches};

pub const RULE: Rule = Rule {
    id: "directory-role",
    edges: &[
        EdgeKind::HasRole,
        EdgeKind::EligibleForRole,
        EdgeKind::AddSecret,
        EdgeKind::GrantAnyRole,
        EdgeKind::ResetCredential,
        EdgeKind::AddMember,
    ],
    summary: "Entra role holders gain what the role's permissions allow: app credentials, user credentials, group members, any role.",
    doc: "What it does: HasRole (active) or EligibleForRole (PIM, requires activation) from each holder of \
a tenant-wide directory role to the role; from the role, AddSecret to every application and (non-managed) \
service principal if it allows `microsoft.directory/applications/credentials/update` or \
`servicePrincipals/credentials/update` (Application Administrator, Cloud Application Administrator, \
Global Administrator), and GrantAnyRole to the tenant if it allows \
`microsoft.directory/roleAssignments/allProperties/allTasks` (Global Administrator, Privileged Role \
Administrator); ResetCredential to users if it allows `microsoft.directory/users/password/update` or \
`users/authenticationMethods/create`, only to the users Microsoft lets that role reset (Privileged \
Authentication and Global Administrator: everyone; Helpdesk, Password, Authentication and User \
Administrator: users holding no directory role beyond a short list, per Microsoft's \"who can reset \
passwords\" table; any other role: users holding no role), never to members or owners of role-assignable \
groups unless it resets everyone, and conditionally to users whose only protection is a PIM-eligible \
role; AddMember to groups if it allows `groups/members/update` or `groups/owners/update` (Groups, User \
Administrator, Directory Writers, ...; `groups.security/...` and `groups.unified/...` only for those \
kinds of group), never to role-assignable groups (only with \
`groupsAssignableToRoles/allProperties/update`: Global and Privileged Role Administrator), dynamic \
groups (only with `dynamicMembershipRule/update`) or groups synced from Active Directory; HasRole from the tenant to Global Administrator (whoever can grant any \
role can take it). Neither ResetCredential nor AddMember reaches a member of a restricted management \
administrative unit (only roles scoped to such a unit change its members; a role-assignable group in one \
stays conditionally reachable from Global and Privileged Role Administrator, see rule \
`restricted-admin-unit`). The role node stands for the role held tenant-wide, so a role held only at a \
narrower scope has no node edges: an assignment scoped to one object (`directoryScopeId` `/{id}`) gives \
the holder AddSecret on that object only, and one scoped to an administrative unit is rule \
`admin-unit-scoped-role`. Why it matters: these roles are one step from any app's rights or from \
Global Administrator. Must not fire: for roles without those permissions (AI Administrator, Network \
Administrator, ...), which are pruned, for expired eligibilities, for roles nobody holds tenant-wide, or \
for members of restricted management administrative units.",
    derive,
};

/// What a directory permission lets a holder take over.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Targets {
    Applications,
    ServicePrincipals,
    Tenant,
    /// Users whose credentials it can reset: which ones depends on who holds the power
    /// ([`ResetReach`]).
    Users,
    /// Groups whose members it can change.
    Groups(GroupSet),
}

/// Which groups a membership power reaches. Dynamic groups take members from their rule and
/// synced groups from Active Directory, so adding members by hand fails on both.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) struct GroupSet {
    /// Role-assignable groups (only Privileged Role Administrator, Global Administrator, owners and
    /// RoleManagement.ReadWrite.Directory manage them), or every other group.
    pub role_assignable: bool,
    /// Only security groups (`groups.security/...`: `securityEnabled`, not Microsoft 365).
    pub security_only: bool,
    /// Only Microsoft 365 groups (`groups.unified/...`).
    pub unified_only: bool,
    /// Dynamic groups too: the power can rewrite the membership rule.
    pub dynamic: bool,
}

impl GroupSet {
    pub const ORDINARY: GroupSet =
        GroupSet { role_assignable: false, security_only: false, unified_only: false, dynamic: false };
    pub const SECURITY: GroupSet = GroupSet { security_only: true, ..GroupSet::ORDINARY };
    pub const UNIFIED: GroupSet = GroupSet { unified_only: true, ..GroupSet::ORDINARY };
    pub const DYNAMIC: GroupSet = GroupSet { dynamic: true, ..GroupSet::ORDINARY };
    pub const ROLE_ASSIGNABLE: GroupSet = GroupSet { role_assignable: true, ..GroupSet::ORDINARY };

    pub(super) fn covers(self, g: &crate::facts::Group) -> bool {
        g.is_assignable_to_role == self.role_assignable
            && !g.synced
            && (self.dynamic || !g.dynamic)
            && (!self.security_only || (g.security_enabled && !g.unified))
            && (!self.unified_only || g.unified)
    }
}

const POWERS: &[(&str, EdgeKind, Targets)] = &[
    ("microsoft.directory/applications/credentials/update", EdgeKind::AddSecret, Targets::Applications),
    ("microsoft.directory/servicePrincipals/credentials/update", EdgeKind::AddSecret, Targets::ServicePrincipals),
    ("microsoft.directory/roleAssignments/allProperties/allTasks", EdgeKind::GrantAnyRole, Targets::Tenant),
    // Whoever can change owners can make itself owner, then add a credential.
    ("microsoft.directory/applications/owners/update", EdgeKind::AddSecret, Targets::Applications),
    ("microsoft.directory/servicePrincipals/owners/update", EdgeKind::AddSecret, Targets::ServicePrincipals),
    // A new password, or a new authentication method (a Temporary Access Pass), signs in as the user.
    ("microsoft.directory/users/password/update", EdgeKind::ResetCredential, Targets::Users),
    ("microsoft.directory/users/authenticationMethods/create", EdgeKind::ResetCredential, Targets::Users),
    // Members, or owners (who then add members), of groups that are not role-assignable.
    ("microsoft.directory/groups/members/update", EdgeKind::AddMember, Targets::Groups(GroupSet::ORDINARY)),
    ("microsoft.directory/groups/owners/update", EdgeKind::AddMember, Targets::Groups(GroupSet::ORDINARY)),
    ("microsoft.directory/groups.security/members/update", EdgeKind::AddMember, Targets::Groups(GroupSet::SECURITY)),
    ("microsoft.directory/groups.security/owners/update", EdgeKind::AddMember, Targets::Groups(GroupSet::SECURITY)),
    ("microsoft.directory/groups.unified/members/update", EdgeKind::AddMember, Targets::Groups(GroupSet::UNIFIED)),
    ("microsoft.directory/groups.unified/owners/update", EdgeKind::AddMember, Targets::Groups(GroupSet::UNIFIED)),
    (
        "microsoft.directory/groups/dynamicMembershipRule/update",
        EdgeKind::AddMember,
        Targets::Groups(GroupSet::DYNAMIC),
    ),
    // Role-assignable groups: only with the permission Global and Privileged Role Administrators hold.
    (
        "microsoft.directory/groupsAssignableToRoles/allProperties/update",
        EdgeKind::AddMember,
        Targets::Groups(GroupSet::ROLE_ASSIGNABLE),
    ),
];

/// Node ids a power reaches, sorted, each with whether reaching it is conditional. `reach` says
/// which users a credential reset covers.
pub(super) fn target_ids(ctx: &Context, targets: Targets, reach: ResetReach) -> Vec<(String, bool)> {
    let plain = |ids: Vec<String>| ids.into_iter().map(|id| (id, false)).collect();
    match targets {
        Targets::Applications => plain(ctx.facts.applications.iter().map(|a| a.id.clone()).collect()),
        Targets::ServicePrincipals => plain(
            ctx.facts
                .service_principals
                .iter()
                .filter(|s| {
                    !s.service_principal_type.as_deref().is_some_and(|t| t.eq_ignore_ascii_case("ManagedIdentity"))
                })
                .map(|s| s.id.clone())
                .collect(),
        ),
        Targets::Tenant => plain(vec![tenant_node_id(&ctx.facts.tenant_id)]),
        Targets::Users => resettable_users(ctx, reach),
        Targets::Groups(set) => {
            plain(ctx.facts.groups.iter().filter(|g| set.covers(g)).map(|g| g.id.clone()).collect())
        }
    }
}

/// Which users a credential reset reaches. Microsoft protects administrators: a role that resets
/// "non-admins" may reset a user only if every directory role the user holds is on its list
/// ("Who can reset passwords", Microsoft Entra built-in roles, privileged-roles-permissions), and
/// members and owners of role-assignable groups only Privileged Authentication and Global
/// Administrators reset.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub(super) enum ResetReach {
    /// Every user (Privileged Authentication Administrator, Global Administrator).
    Any,
    /// Users holding no directory role but these (template ids).
    Unprivileged(&'static [&'static str]),
}

const GLOBAL_ADMINISTRATOR: &str = "62e90394-69f5-4237-9190-012177145e10";
const DIRECTORY_READERS: &str = "88d8e3e3-8f55-4a1e-953a-9b9898b8876b";
const GUEST_INVITER: &str = "95e79109-95c0-4d8e-aee3-d01accf2d47b";
const MESSAGE_CENTER_READER: &str = "790c1fb9-7f7d-4f88-86a1-ef1f95c05c1b";
const REPORTS_READER: &str = "4a5d8f65-41da-4de4-8968-e035b65339cf";
const USER_EXPERIENCE_SUCCESS_MANAGER: &str = "27460883-1df1-4691-b032-3b79643e5e63";
const USAGE_SUMMARY_REPORTS_READER: &str = "75934031-6c7e-415a-99d7-48dbd49e875e";
const PASSWORD_ADMIN: &str = "966707d0-3269-4727-9be2-8c3a10f19b9d";
const HELPDESK_ADMIN: &str = "729827e3-9c14-49f7-bb1b-9608f156bbb8";
const AUTHENTICATION_ADMIN: &str = "c4e39bd9-1100-46d3-8c65-fb160da0071f";
const GROUPS_ADMIN: &str = "fdd7a751-b60b-444a-984c-02652fe8fa1c";
const USER_ADMIN: &str = "fe930be7-5e62-47db-91af-98c3a49a38b1";

/// Microsoft's "who can reset passwords" table, by the resetting role's template id. A role not
/// listed (Security Operator, Entra SOC Identity Responder, Partner Tier1 Support, custom roles)
/// resets users who hold no role at all.
const RESET_TABLE: &[(&str, ResetReach)] = &[
    ("7be44c8a-adaf-4e2a-84d6-ab2649e08a13", ResetReach::Any), // Privileged Authentication Administrator
    ("62e90394-69f5-4237-9190-012177145e10", ResetReach::Any), // Global Administrator
    ("e00e864a-17c5-4a4b-9c06-f5b95a8d5bd8", ResetReach::Any), // Partner Tier2 Support (deprecated)
    (PASSWORD_ADMIN, ResetReach::Unprivileged(&[DIRECTORY_READERS, GUEST_INVITER, PASSWORD_ADMIN])),
    (
        HELPDESK_ADMIN,
        ResetReach::Unprivileged(&[
            DIRECTORY_READERS,
            GUEST_INVITER,
            MESSAGE_CENTER_READER,
            REPORTS_READER,
            USER_EXPERIENCE_SUCCESS_MANAGER,
            USAGE_SUMMARY_REPORTS_READER,
            PASSWORD_ADMIN,
            HELPDESK_ADMIN,
        ]),
    ),
    (
        AUTHENTICATION_ADMIN,
        ResetReach::Unprivileged(&[
            DIRECTORY_READERS,
            GUEST_INVITER,
            MESSAGE_CENTER_READER,
            REPORTS_READER,
            USER_EXPERIENCE_SUCCESS_MANAGER,
            USAGE_SUMMARY_REPORTS_READER,
            PASSWORD_ADMIN,
            AUTHENTICATION_ADMIN,
        ]),
    ),
    (
        USER_ADMIN,
        ResetReach::Unprivileged(&[
            DIRECTORY_READERS,
            GUEST_INVITER,
            MESSAGE_CENTER_READER,
            REPORTS_READER,
            USER_EXPERIENCE_SUCCESS_MANAGER,
            USAGE_SUMMARY_REPORTS_READER,
            PASSWORD_ADMIN,
            HELPDESK_ADMIN,
            GROUPS_ADMIN,
            USER_ADMIN,
        ]),
    ),
];

/// The users a role that can reset credentials reaches.
pub(super) fn reset_reach(role_template_id: &str) -> ResetReach {
    RESET_TABLE.iter().find(|(r, _)| *r == role_template_id).map_or(ResetReach::Unprivileged(&[]), |(_, reach)| *reach)
}

/// Users `reach` covers, each with whether the reset is conditional: a user whose only
/// protection is a PIM-eligible (not active) role is conditional, because Microsoft's documents
/// disagree on whether eligibility protects (the PIM for Groups article says a Helpdesk
/// Administrator can reset an eligible user; tests report 403).
pub(super) fn resettable_users(ctx: &Context, reach: ResetReach) -> Vec<(String, bool)> {
    let allowed = match reach {
        ResetReach::Any => return ctx.facts.users.iter().map(|u| (u.id.clone(), false)).collect(),
        ResetReach::Unprivileged(allowed) => allowed,
    };
    // Who is protected, worked out once from each list (a million users each scanning the
    // memberships took hours): users holding a role not on `allowed`, actively or only eligible,
    // and members and owners of role-assignable groups, or eligible members of one.
    let role_assignable: FastSet<&str> =
        ctx.facts.groups.iter().filter(|g| g.is_assignable_to_role).map(|g| g.id.as_str()).collect();
    let protects = |role: &str| !allowed.iter().any(|a| a.eq_ignore_ascii_case(role));
    let (mut active, mut eligible): (FastSet<&str>, FastSet<&str>) = Default::default();
    for a in ctx.facts.directory_role_assignments.iter().filter(|a| protects(&a.role_definition_id)) {
        if a.eligible { &mut eligible } else { &mut active }.insert(a.principal_id.as_str());
    }
    let mut in_protected_group: FastSet<&str> = FastSet::default();
    if !role_assignable.is_empty() {
        let members = ctx.facts.memberships.iter().filter(|m| role_assignable.contains(&*m.group_id));
        in_protected_group.extend(members.map(|m| &*m.member_id));
        let owners = ctx.facts.ownerships.iter().filter(|o| role_assignable.contains(o.owned_id.as_str()));
        in_protected_group.extend(owners.map(|o| o.owner_id.as_str()));
    }
    let eligible_in_protected_group: FastSet<&str> = ctx
        .facts
        .group_eligibilities
        .iter()
        .filter(|e| role_assignable.contains(e.group_id.as_str()))
        .map(|e| e.principal_id.as_str())
        .collect();
    ctx.facts
        .users
        .iter()
        .filter(|u| !active.contains(u.id.as_str()) && !in_protected_group.contains(u.id.as_str()))
        .map(|u| {
            let id = u.id.as_str();
            (u.id.clone(), eligible.contains(id) || eligible_in_protected_group.contains(id))
        })
        .collect()
}

pub(super) fn role_actions<'c>(ctx: &'c Context, id: &str) -> Option<&'c [String]> {
    ctx.facts
        .directory_role_definitions
        .iter()
        .find(|d| d.id == id)
        .map(|d| d.allowed_resource_actions.as_slice())
        .or_else(|| builtin_directory_roles().get(id).map(|r| r.allowed_resource_actions.as_slice()))
}

pub(super) fn powers<'a>(
    actions: &'a [String],
) -> impl Iterator<Item = (&'static str, EdgeKind, Targets, &'a str)> + 'a {
    POWERS.iter().filter_map(move |&(want, kind, targets)| {
        actions.iter().find(|a| directory_action_matches(a, want)).map(|a| (want, kind, targets, a.as_str()))
    })
}

fn derive(ctx: &Context, out: &mut Vec<Edge>) {
    // A role node stands for the role held tenant-wide: only tenant-wide holders (and, for Global
    // Administrator, the tenant) reach it, so roles held only at an application's or an
    // administrative unit's scope get no node edges (their holders' edges are direct).
    let mut roles: Vec<&str> = ctx
        .facts
        .directory_role_assignments
        .iter()
        .filter(|a| {
            a.directory_scope_id.trim_end_matches('/').is_empty() || a.role_definition_id == GLOBAL_ADMINISTRATOR
        })
        .map(|a| a.role_definition_id.as_str())
        .collect();
    roles.sort();
    roles.dedup();
    for role in roles {
        let node = directory_role_node_id(role);
        let Some(actions) = role_actions(ctx, role) else { continue };
        let name = ctx.name(&node);
        for (want, kind, targets, granted_by) in powers(actions) {
            // One detail for the role's power over all its targets (a tenant's every user, for
            // some roles), naming each target when shown.
            let action = format!(" ({want})");
            let reason = match kind {
                EdgeKind::GrantAnyRole => {
                    Text::literal(format!("{name} can assign any directory role, including Global Administrator"))
                }
                EdgeKind::ResetCredential => Text::new(vec![
                    Piece::text(&format!("{name} can reset the password or add a sign-in method of user ")),
                    Piece::TARGET_NAME,
                    Piece::text(&action),
                ]),
                EdgeKind::AddMember => Text::new(vec![
                    Piece::text(&format!("{name} can add members to group ")),
                    Piece::TARGET_NAME,
                    Piece::text(&action),
                ]),
                _ => Text::new(vec![
                    Piece::text(&format!("{name} can add credentials to {} ", kind_word(targets))),
                    Piece::TARGET_NAME,
                    Piece::text(&action),
                ]),
            };
            let evidence = vec![
                Evidence::named(EvidenceKind::DirectoryRole, &name, role),
                Evidence::new(EvidenceKind::AllowedResourceAction, format!("{want} (granted by `{granted_by}`)")),
            ];
            let detail = Detail::new(reason, evidence).shared();
            for (target, contested) in target_ids(ctx, targets, reset_reach(role)) {
                // Members of a restricted management administrative unit: only roles scoped to
                // such a unit change them. Microsoft's page also says only Global and Privileged
                // Role Administrators change a role-assignable group in one: contested.
                let restricted = restricted_unit_blocks(ctx, kind, &target);
                if restricted.is_some() && targets != Targets::Groups(GroupSet::ROLE_ASSIGNABLE) {
                    continue;
                }
                let mut e = shared_edge(ctx, &RULE, &node, &target, &detail);
                if contested {
                    e.push_reason(
                        " (the user is only PIM-eligible for a protected role: Microsoft's documents disagree on whether that protects it)",
                    );
                }
                if let Some((unit, member)) = restricted {
                    e.push_reason(&format!(
                        " (the group is in restricted management administrative unit {}: Microsoft's page both blocks tenant-wide roles there and lets Global and Privileged Role Administrators change role-assignable groups in it)",
                        unit.display_name
                    ));
                    e.push_evidence(unit_evidence(unit, member));
                }
                let conditional = contested || restricted.is_some();
                out.push(mark_if_sp_locked(ctx, e.as_kind(kind, false).with_flags(false, conditional)));
            }
        }
    }
    // Whoever can grant any role can take Global Administrator, and with it every power above.
    let ga = directory_role_node_id(GLOBAL_ADMINISTRATOR);
    if ctx.node(&ga).is_some() {
        let tenant = tenant_node_id(&ctx.facts.tenant_id);
        let reason = format!("control of the tenant can assign itself {}", ctx.name(&ga));
        let evidence = vec![Evidence::named(EvidenceKind::DirectoryRole, &ctx.name(&ga), GLOBAL_ADMINISTRATOR)];
        out.push(plain_edge(&RULE, &tenant, &ga, reason, evidence).as_kind(EdgeKind::HasRole, false));
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
            // The role's powers over the unit's members: rule `admin-unit-scoped-role`.
            continue;
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
        Targets::Users => "user",
        Targets::Groups(_) => "group",
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
        assert!(foreign.conditional && foreign.reason(&d).contains("instance property lock"));
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
        // Nobody holds the role tenant-wide: its node would reach every app, and nobody reaches it.
        assert!(!d.nodes.iter().any(|n| n.id == directory_role_node_id(CLOUD_APP_ADMIN)));
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

    const HELPDESK: &str = "729827e3-9c14-49f7-bb1b-9608f156bbb8";
    const PASSWORD_ADMIN: &str = "966707d0-3269-4727-9be2-8c3a10f19b9d";
    const PRIV_AUTH_ADMIN: &str = "7be44c8a-adaf-4e2a-84d6-ab2649e08a13";
    const DIRECTORY_READERS: &str = "88d8e3e3-8f55-4a1e-953a-9b9898b8876b";
    const GROUPS_ADMIN: &str = "fdd7a751-b60b-444a-984c-02652fe8fa1c";
    const KNOWLEDGE_ADMIN: &str = "b5a8dcf3-09d5-43a9-a639-8e29ef291470";
    const SECURITY_READER: &str = "5d6b6bb7-de71-4623-b4af-96380a352509";

    #[test]
    fn helpdesk_resets_non_admins_and_the_roles_microsoft_lists_but_not_admins() {
        let mut t = T::new();
        let helpdesk = t.user("helpdesk");
        t.directory_role(&helpdesk, HELPDESK, "/");
        let plain = t.user("plain");
        let reader = t.user("reader");
        t.directory_role(&reader, DIRECTORY_READERS, "/");
        let admin = t.user("admin");
        t.directory_role(&admin, GA, "/");
        let sec = t.user("sec");
        t.directory_role(&sec, SECURITY_READER, "/");
        let in_ra = t.user("in-role-assignable");
        let ra = t.group_with("tier0", serde_json::json!({"isAssignableToRole": true}));
        t.member(&ra, &in_ra);
        let later = t.user("later");
        t.directory_eligible(&later, GA, "2026-01-01T00:00:00Z", "2027-01-01T00:00:00Z");
        // Owning a role-assignable group protects as membership does; PIM-eligible membership of
        // one is contested, like an eligible role.
        let owns_ra = t.user("owns-role-assignable");
        t.owner("groupOwners", &ra, &owns_ra);
        let may_join_ra = t.user("may-join-role-assignable");
        t.group_eligible(&may_join_ra, &ra, "member");
        // An allowed role does not lift the protection of another one the user holds.
        let both = t.user("reader-and-admin");
        t.directory_role(&both, DIRECTORY_READERS, "/");
        t.directory_role(&both, GA, "/");
        let d = t.derive();
        let role = directory_role_node_id(HELPDESK);
        assert!(!has(&d, &role, &owns_ra, ResetCredential), "owners of role-assignable groups are protected");
        assert!(!has(&d, &role, &both, ResetCredential), "one protecting role is enough");
        let contested = edge(&d, &role, &may_join_ra, ResetCredential).expect("an eligible member is contested");
        assert!(contested.conditional, "{contested:?}");
        assert!(has(&d, &helpdesk, &role, HasRole));
        assert!(has(&d, &role, &plain, ResetCredential));
        assert!(has(&d, &role, &reader, ResetCredential), "Directory Readers is on Helpdesk's list");
        for protected in [&admin, &sec, &in_ra, &helpdesk] {
            if *protected == helpdesk {
                // Helpdesk Administrator is on its own list: holders reset each other.
                assert!(has(&d, &role, protected, ResetCredential));
            } else {
                assert!(!has(&d, &role, protected, ResetCredential), "{protected} is protected");
            }
        }
        let contested = edge(&d, &role, &later, ResetCredential).expect("an eligible GA is contested, not safe");
        assert!(contested.conditional && contested.reason(&d).contains("PIM-eligible"), "{contested:?}");
    }

    #[test]
    fn password_admin_has_a_shorter_list_and_privileged_authentication_admin_resets_everyone() {
        let mut t = T::new();
        let pwd = t.user("pwd");
        t.directory_role(&pwd, PASSWORD_ADMIN, "/");
        let paa = t.user("paa");
        t.directory_role(&paa, PRIV_AUTH_ADMIN, "/");
        let hd = t.user("hd");
        t.directory_role(&hd, HELPDESK, "/");
        let admin = t.user("admin");
        t.directory_role(&admin, GA, "/");
        let d = t.derive();
        assert!(!has(&d, &directory_role_node_id(PASSWORD_ADMIN), &hd, ResetCredential), "Helpdesk is not on its list");
        let paa_role = directory_role_node_id(PRIV_AUTH_ADMIN);
        for u in [&pwd, &hd, &admin] {
            let e = edge(&d, &paa_role, u, ResetCredential).unwrap();
            assert!(!e.conditional);
        }
    }

    #[test]
    fn groups_admin_adds_members_to_groups_that_are_neither_role_assignable_nor_synced() {
        let mut t = T::new();
        let ga_user = t.user("groups-admin");
        t.directory_role(&ga_user, GROUPS_ADMIN, "/");
        let ordinary = t.group("ordinary");
        let ra = t.group_with("role-assignable", serde_json::json!({"isAssignableToRole": true}));
        let dynamic = t.group_with(
            "dynamic",
            serde_json::json!({"groupTypes": ["DynamicMembership"], "membershipRule": "user.department -eq \"ML\""}),
        );
        let synced = t.group_with("synced", serde_json::json!({"onPremisesSyncEnabled": true}));
        let m365 = t.group_with("m365", serde_json::json!({"groupTypes": ["Unified"], "securityEnabled": false}));
        let d = t.derive();
        let role = directory_role_node_id(GROUPS_ADMIN);
        assert!(has(&d, &role, &ordinary, AddMember));
        assert!(has(&d, &role, &m365, AddMember), "groups/members/update covers Microsoft 365 groups");
        assert!(has(&d, &role, &dynamic, AddMember), "groups/dynamicMembershipRule/update rewrites the rule");
        for g in [&ra, &synced] {
            assert!(!has(&d, &role, g, AddMember), "{g}");
        }
        assert!(!d.edges.iter().any(|e| e.kind == ResetCredential), "Groups Administrator resets nobody");
    }

    #[test]
    fn security_group_powers_skip_microsoft_365_groups_and_ga_reaches_role_assignable_groups() {
        let mut t = T::new();
        let k = t.user("knowledge");
        t.directory_role(&k, KNOWLEDGE_ADMIN, "/");
        let admin = t.user("admin");
        t.directory_role(&admin, GA, "/");
        let sec = t.group("sec");
        let m365 = t.group_with("m365", serde_json::json!({"groupTypes": ["Unified"], "securityEnabled": false}));
        let ra = t.group_with("role-assignable", serde_json::json!({"isAssignableToRole": true}));
        let dynamic = t.group_with("dynamic", serde_json::json!({"groupTypes": ["DynamicMembership"]}));
        let d = t.derive();
        let role = directory_role_node_id(KNOWLEDGE_ADMIN);
        assert!(has(&d, &role, &sec, AddMember));
        assert!(!has(&d, &role, &m365, AddMember));
        assert!(!has(&d, &role, &dynamic, AddMember), "members/update cannot add to a dynamic group");
        assert!(!has(&d, &role, &ra, AddMember));
        assert!(has(&d, &directory_role_node_id(GA), &ra, AddMember));
        assert!(has(&d, &directory_role_node_id(GA), &k, ResetCredential));
    }
}
