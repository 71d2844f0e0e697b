//! Administrative units: a directory role assigned at the scope of a unit (`directoryScopeId`
//! `/administrativeUnits/{id}`) acts on the unit's members only, and the members of a restricted
//! management unit are out of reach of every power that is not scoped to such a unit.
//!
//! Sources (Microsoft Learn): "Administrative units in Microsoft Entra ID", "Assign Microsoft Entra
//! roles with administrative unit scope", "Restricted management administrative units in Microsoft
//! Entra ID", the Graph `administrativeUnit` resource.

use super::directory_roles::{ResetReach, Targets, powers, reset_reach, resettable_users, role_actions};
use super::dynamic_membership::{BASIC_UPDATE, writable_rule};
use super::{Context, Rule, plain_edge};
use crate::facts::ids::{directory_role_node_id, norm, tenant_node_id};
use crate::facts::{AdministrativeUnit, AdministrativeUnitMember, DirectoryObjectType, DirectoryRoleAssignment};
use crate::model::{Edge, EdgeKind, Evidence, EvidenceKind, NodeKind};
use crate::rbac::directory_action_matches;
use std::collections::{BTreeMap, HashMap, HashSet};

pub const SCOPED: Rule = Rule {
    id: "admin-unit-scoped-role",
    edges: &[EdgeKind::ResetCredential, EdgeKind::AddMember],
    summary: "A directory role scoped to an administrative unit acts on the unit's member users and groups only.",
    doc: "What it does: for each directory role assignment or PIM eligibility whose directoryScopeId is \
`/administrativeUnits/{id}`, an edge straight from the holder (there is no HasRole to the role node, whose \
edges are tenant-wide): ResetCredential to each user that is a direct member of the unit and that the role \
may reset (the same \"who can reset passwords\" table and role-assignable-group protection as tenant-wide, \
so a unit-scoped Helpdesk Administrator cannot reset an administrator in its unit; and no unit-scoped \
role, not even Privileged Authentication Administrator, resets a Global Administrator, per Microsoft's \
restricted-units page; conditional if that role is only PIM-eligible), AddMember to each \
group that is a member of the unit and that the role's group permission covers (never role-assignable or \
synced groups; dynamic ones only with `dynamicMembershipRule/update`); eligible assignments require \
activation. Evidence names the assignment and the unit (with the membership fact). Members of a \
restricted management unit are reached only from a unit that is itself restricted (Microsoft: a role \
scoped to another, regular unit of which the object is a member is blocked). A service principal or \
guest holder is conditional unless it also reads the directory tenant-wide (a role with \
`users/standard/read` or `groups/standard/read` at `/`, or Graph Directory.Read.All, User.Read.All or \
Group.Read.All and their write forms): Microsoft says they cannot use a unit-scoped role without it. \
A holder that also writes user attributes tenant-wide (a role with `users/basic/update` at `/`, Graph \
User.ReadWrite.All or Directory.ReadWrite.All) and holds a reset role on a dynamic unit whose rule reads \
only basic attributes gets a conditional ResetCredential to users outside the unit too: it can rewrite a \
user's attribute to pull it into its own scope. Why it matters: units delegate helpdesk and group \
administration; a unit-scoped admin is a real path to the unit's members, and only to them. Sources: Microsoft Learn \"Administrative units in Microsoft Entra ID\", \"Assign Microsoft \
Entra roles with administrative unit scope\", \"Restricted management administrative units in Microsoft \
Entra ID\". Must not fire: for users or groups outside the unit (adding a group to a unit does not bring the group's members \
in), for members the role may not reset (administrators, role-assignable group members), for \
applications and service principals (units do not hold them: no AddSecret, and no GrantAnyRole), or for \
an assignment whose unit is not in the facts (a warning).",
    derive: derive_scoped,
};

pub const RESTRICTED: Rule = Rule {
    id: "restricted-admin-unit",
    edges: &[EdgeKind::ResetCredential, EdgeKind::AddMember],
    summary: "Members of a restricted management administrative unit: tenant control can still scope a role to the unit.",
    doc: "What it does: members of a restricted management administrative unit (`isMemberManagementRestricted`) \
can be changed only by roles scoped to such a unit: tenant-wide directory roles (even Global \
Administrator), Microsoft Graph application permissions and group owners get no ResetCredential or \
AddMember edge to them (rules `directory-role`, `graph-app-role`, `owner-add-member`). Global and \
Privileged Role Administrators can still assign themselves a role scoped to the unit (an audited \
change); so this rule adds, from the tenant node (whoever can grant any role), ResetCredential to each \
member user (through Privileged Authentication Administrator at the unit's scope), except users holding \
Global Administrator, whom Microsoft says no unit-scoped role can reset (conditional when that role is \
only PIM-eligible), and AddMember to each member group that is neither role-assignable nor synced \
(through Groups Administrator at the unit's scope). A role-assignable group in such a unit keeps a \
conditional AddMember from Global and Privileged Role Administrator: Microsoft's page both blocks \
tenant-wide roles and says only they can change its members. Why it matters: restricted units protect \
executives and sensitive groups from helpdesk and group admins; paths to their members run through tier \
0 only. Source: Microsoft Learn \"Restricted management administrative units in Microsoft Entra ID\" \
(\"Who can modify objects?\", \"Limitations\", \"Programmability\"). Must not fire: for members of ordinary units, or for Global Administrators in the unit.",
    derive: derive_restricted,
};

/// Privileged Authentication Administrator: resets any user, assignable at a unit's scope.
const PRIVILEGED_AUTH_ADMIN: &str = "7be44c8a-adaf-4e2a-84d6-ab2649e08a13";
/// Groups Administrator: manages every group but role-assignable ones, assignable at a unit's scope.
const GROUPS_ADMIN: &str = "fdd7a751-b60b-444a-984c-02652fe8fa1c";
const GLOBAL_ADMIN: &str = "62e90394-69f5-4237-9190-012177145e10";

/// Graph application permissions that read users and groups tenant-wide.
const GRAPH_DIRECTORY_READ: &[&str] = &[
    "7ab1d382-f21e-4acd-a863-ba3e13f7da61", // Directory.Read.All
    "19dbc75e-c2e2-444c-a770-ec69d8559fc7", // Directory.ReadWrite.All
    "df021288-bdef-4463-88db-98f22de89214", // User.Read.All
    "741f803b-c850-494e-b5df-cde7c675a1ca", // User.ReadWrite.All
    "5b567255-7703-4780-807c-7be8301ae99b", // Group.Read.All
    "62a82d76-70ea-41e2-9197-370581804d09", // Group.ReadWrite.All
];

/// Graph application permissions that write users' basic attributes (and create users).
const GRAPH_USER_WRITE: &[&str] = &[
    "741f803b-c850-494e-b5df-cde7c675a1ca", // User.ReadWrite.All
    "19dbc75e-c2e2-444c-a770-ec69d8559fc7", // Directory.ReadWrite.All
];

/// The shared restricted-management check for every power that is not scoped to an
/// administrative unit (a tenant-wide directory role, a Graph application permission, group
/// ownership): Microsoft blocks credential resets and membership changes of a member of a
/// restricted management unit ("Update password for a user", "Modify owners or members of the
/// group": blocked for administrators not assigned at the unit's scope; Graph application
/// permissions "won't apply"). Returns the unit and the membership when `kind` is such a change
/// and `target` is such a member.
pub(super) fn restricted_unit_blocks<'f>(
    ctx: &Context<'f>,
    kind: EdgeKind,
    target: &str,
) -> Option<(&'f AdministrativeUnit, &'f AdministrativeUnitMember)> {
    if matches!(kind, EdgeKind::ResetCredential | EdgeKind::AddMember) { ctx.restricted_unit(target) } else { None }
}

/// Evidence naming an administrative unit, through the membership fact that puts the edge's target
/// (or the controlled user) in it.
pub(super) fn unit_evidence(unit: &AdministrativeUnit, member: &AdministrativeUnitMember) -> Evidence {
    let mut e =
        Evidence::named(EvidenceKind::AdministrativeUnit, &unit.display_name, &unit.id).of_fact(&member.fact_key());
    if unit.restricted {
        e.value.push_str(", restricted management");
    }
    if unit.dynamic {
        e.value.push_str(", dynamic membership");
    }
    e
}

/// The unit id of a directory scope `/administrativeUnits/{id}` (any case), normalised.
pub(super) fn unit_scope(scope: &str) -> Option<String> {
    let scope = scope.trim().trim_end_matches('/');
    let prefix = "/administrativeunits/";
    (scope.len() > prefix.len() && scope[..prefix.len()].eq_ignore_ascii_case(prefix))
        .then(|| norm(&scope[prefix.len()..]))
}

/// Whether `member` is within reach of a role scoped to `unit`: always for a restricted unit it
/// belongs to; for an ordinary unit, only if no restricted unit holds it as well.
pub(super) fn in_scope(ctx: &Context, unit: &AdministrativeUnit, member: &str) -> bool {
    unit.restricted || ctx.restricted_unit(member).is_none()
}

/// Unit memberships by unit id, then by member id.
pub(super) fn members_by_unit<'f>(
    ctx: &Context<'f>,
) -> HashMap<&'f str, BTreeMap<&'f str, &'f AdministrativeUnitMember>> {
    let mut out: HashMap<&str, BTreeMap<&str, &AdministrativeUnitMember>> = HashMap::new();
    for m in &ctx.facts.administrative_unit_members {
        out.entry(m.unit_id.as_str()).or_default().insert(m.member_id.as_str(), m);
    }
    out
}

/// The assignment's evidence: its id and the fact it is.
pub(super) fn assignment_evidence(a: &DirectoryRoleAssignment) -> Evidence {
    Evidence::new(
        if a.eligible { EvidenceKind::DirectoryRoleEligibility } else { EvidenceKind::DirectoryRoleAssignment },
        a.id.clone(),
    )
    .of_fact(&a.fact_key())
}

/// Directory roles `principal` holds tenant-wide (`/`), directly or through a group it is in, with
/// whether the holding is only an eligibility.
fn tenant_wide_roles<'f>(ctx: &Context<'f>, principal: &str) -> Vec<&'f DirectoryRoleAssignment> {
    let groups = ctx.member_of(principal);
    let groups = groups.as_deref();
    ctx.facts
        .directory_role_assignments
        .iter()
        .filter(|a| a.principal_id == principal || groups.is_some_and(|g| g.contains(a.principal_id.as_str())))
        .filter(|a| a.directory_scope_id.trim_end_matches('/').is_empty())
        .collect()
}

/// Graph application permissions `principal` holds.
fn graph_permissions<'f>(ctx: &Context<'f>, principal: &str) -> impl Iterator<Item = &'f str> {
    ctx.facts
        .app_role_assignments
        .iter()
        .filter(move |a| a.principal_id == principal && ctx.is_graph_permission(a))
        .map(|a| a.app_role_id.as_str())
}

/// Why a unit-scoped role may not work for this holder: service principals and guests need
/// directory read permissions at tenant scope ("Service principals and guest users won't be able to
/// use a role assignment scoped to an administrative unit unless they're also assigned
/// corresponding permissions to read the objects").
fn needs_tenant_read(ctx: &Context, holder: &str, targets: Targets) -> Option<&'static str> {
    let kind = ctx.node(holder).map(|n| n.kind);
    let guest = ctx
        .facts
        .users
        .iter()
        .any(|u| u.id == holder && u.user_type.as_deref().is_some_and(|t| t.eq_ignore_ascii_case("guest")));
    if kind != Some(NodeKind::ServicePrincipal) && !guest {
        return None;
    }
    let read = match targets {
        Targets::Groups(_) => "microsoft.directory/groups/standard/read",
        _ => "microsoft.directory/users/standard/read",
    };
    let by_role = tenant_wide_roles(ctx, holder).into_iter().filter(|a| !a.eligible).any(|a| {
        role_actions(ctx, &a.role_definition_id)
            .is_some_and(|acts| acts.iter().any(|x| directory_action_matches(x, read)))
    });
    let by_graph = graph_permissions(ctx, holder).any(|p| GRAPH_DIRECTORY_READ.contains(&p));
    if by_role || by_graph {
        None
    } else if guest {
        Some(
            "a guest needs directory read permissions at tenant scope, such as Directory Readers, to use a role scoped to an administrative unit, and holds none",
        )
    } else {
        Some(
            "a service principal needs directory read permissions at tenant scope, such as Directory Readers, to use a role scoped to an administrative unit, and holds none",
        )
    }
}

/// What lets `holder` write any user's basic attributes tenant-wide, in words, if anything.
fn writes_user_attributes(ctx: &Context, holder: &str) -> Option<(String, Evidence, bool)> {
    for a in tenant_wide_roles(ctx, holder) {
        let Some(actions) = role_actions(ctx, &a.role_definition_id) else { continue };
        if let Some(x) = actions.iter().find(|x| directory_action_matches(x, BASIC_UPDATE)) {
            let role = ctx.name(&directory_role_node_id(&a.role_definition_id));
            return Some((format!("its tenant-wide {role} (`{x}`)"), assignment_evidence(a), a.eligible));
        }
    }
    for a in ctx.facts.app_role_assignments.iter().filter(|a| a.principal_id == holder && ctx.is_graph_permission(a)) {
        if GRAPH_USER_WRITE.contains(&a.app_role_id.as_str()) {
            let name = crate::facts::index::Names::graph_permission(&a.app_role_id).to_string();
            let ev = Evidence::new(EvidenceKind::AppRoleAssignment, a.id.clone()).of_fact(&a.fact_key());
            return Some((format!("its Microsoft Graph {name}"), ev, false));
        }
    }
    None
}

fn derive_scoped(ctx: &Context, out: &mut Vec<Edge>) {
    let by_unit = members_by_unit(ctx);
    let units: BTreeMap<&str, &AdministrativeUnit> =
        ctx.facts.administrative_units.iter().map(|u| (u.id.as_str(), u)).collect();
    let mut reset_cache: HashMap<ResetReach, Vec<(String, bool)>> = HashMap::new();
    let ga = GlobalAdmins::new(ctx);
    for a in &ctx.facts.directory_role_assignments {
        let Some(unit_id) = unit_scope(&a.directory_scope_id) else { continue };
        let Some(unit) = units.get(unit_id.as_str()).copied() else {
            ctx.warn(format!(
                "directory role assignment {} is scoped to administrative unit {unit_id}, which is not in the facts; it was not evaluated",
                a.id
            ));
            continue;
        };
        let Some(actions) = role_actions(ctx, &a.role_definition_id) else { continue };
        let role_node = directory_role_node_id(&a.role_definition_id);
        let role = ctx.name(&role_node);
        let holder = ctx.name(&a.principal_id);
        let members = by_unit.get(unit.id.as_str());
        let member_of_unit = |id: &str| members.and_then(|m| m.get(id)).copied().filter(|_| in_scope(ctx, unit, id));
        // A dynamic unit whose rule the holder can satisfy for any user by rewriting attributes.
        let pull_in = if unit.dynamic && !unit.rule_paused {
            unit.membership_rule.as_deref().and_then(writable_rule).and(writes_user_attributes(ctx, &a.principal_id))
        } else {
            None
        };
        for (want, kind, targets, granted_by) in powers(actions) {
            let hits: Vec<(String, bool, Option<&AdministrativeUnitMember>)> = match targets {
                Targets::Users => {
                    let reach = reset_reach(&a.role_definition_id);
                    let all = reset_cache.entry(reach).or_insert_with(|| resettable_users(ctx, reach));
                    all.iter()
                        // "there's no administrator role that can be assigned at the administrative
                        // unit scope that can reset the password of a Global Administrator"
                        .filter(|(u, _)| ga.of(u) != Some(false))
                        .map(|(u, contested)| (u, *contested || ga.of(u).is_some()))
                        .filter_map(|(u, contested)| match member_of_unit(u) {
                            Some(m) => Some((u.clone(), contested, Some(m))),
                            None if pull_in.is_some() && ctx.restricted_unit(u).is_none() => {
                                Some((u.clone(), contested, None))
                            }
                            None => None,
                        })
                        .collect()
                }
                Targets::Groups(set) => ctx
                    .facts
                    .groups
                    .iter()
                    .filter(|g| set.covers(g))
                    .filter_map(|g| member_of_unit(&g.id).map(|m| (g.id.clone(), false, Some(m))))
                    .collect(),
                // Units hold users, groups and devices: no applications, no tenant.
                Targets::Applications | Targets::ServicePrincipals | Targets::Tenant => continue,
            };
            let read = needs_tenant_read(ctx, &a.principal_id, targets);
            for (target, contested, membership) in hits {
                let what = match kind {
                    EdgeKind::ResetCredential => {
                        format!("can reset the password or add a sign-in method of user {}", ctx.name(&target))
                    }
                    _ => format!("can add members to group {}", ctx.name(&target)),
                };
                let mut reason = match membership {
                    Some(_) => format!(
                        "{holder} holds {role} scoped to administrative unit {}, which holds {}, and {what} ({want})",
                        unit.display_name,
                        ctx.name(&target)
                    ),
                    None => format!(
                        "{holder} holds {role} scoped to dynamic administrative unit {} (rule `{}`), can make {} match the rule with {}, and then {what} ({want}) (conditional: the rule must be processed)",
                        unit.display_name,
                        unit.membership_rule.as_deref().unwrap_or_default(),
                        ctx.name(&target),
                        pull_in.as_ref().map(|p| p.0.as_str()).unwrap_or_default()
                    ),
                };
                let mut evidence = vec![
                    assignment_evidence(a),
                    Evidence::new(EvidenceKind::DirectoryScope, a.directory_scope_id.clone()),
                    Evidence::named(EvidenceKind::DirectoryRole, &role, &a.role_definition_id),
                ];
                match membership {
                    Some(m) => evidence.push(unit_evidence(unit, m)),
                    None => {
                        let mut e = Evidence::named(EvidenceKind::AdministrativeUnit, &unit.display_name, &unit.id)
                            .of_fact(&unit.fact_key());
                        e.value.push_str(", dynamic membership");
                        evidence.push(e);
                        evidence.push(
                            Evidence::new(
                                EvidenceKind::MembershipRule,
                                unit.membership_rule.clone().unwrap_or_default(),
                            )
                            .of_fact(&unit.fact_key()),
                        );
                        if let Some((_, ev, _)) = &pull_in {
                            evidence.push(ev.clone());
                        }
                    }
                }
                evidence.push(Evidence::new(
                    EvidenceKind::AllowedResourceAction,
                    format!("{want} (granted by `{granted_by}`)"),
                ));
                if contested {
                    reason.push_str(
                        " (the user is only PIM-eligible for a protected role: Microsoft's documents disagree on whether that protects it)",
                    );
                }
                if let Some(why) = read {
                    reason.push_str(&format!(" (conditional: {why})"));
                }
                let eligible = a.eligible || (membership.is_none() && pull_in.as_ref().is_some_and(|p| p.2));
                if eligible {
                    reason.push_str(" (PIM-eligible: requires activation)");
                }
                let conditional = contested || read.is_some() || membership.is_none();
                let e = plain_edge(&SCOPED, &a.principal_id, &target, reason, evidence);
                out.push(e.as_kind(kind, eligible).with_flags(eligible, conditional));
            }
        }
    }
}

/// Who holds Global Administrator, directly or through a group.
struct GlobalAdmins<'c, 'f> {
    ctx: &'c Context<'f>,
    /// Principal (user or group) -> held only as an eligibility.
    holders: HashMap<&'f str, bool>,
}

impl<'c, 'f> GlobalAdmins<'c, 'f> {
    fn new(ctx: &'c Context<'f>) -> Self {
        let mut holders: HashMap<&str, bool> = HashMap::new();
        for a in ctx.facts.directory_role_assignments.iter().filter(|a| a.role_definition_id == GLOBAL_ADMIN) {
            let eligible = holders.entry(a.principal_id.as_str()).or_insert(true);
            *eligible &= a.eligible;
        }
        GlobalAdmins { ctx, holders }
    }

    /// Whether `user` holds Global Administrator, and if only as an eligibility.
    fn of(&self, user: &str) -> Option<bool> {
        let groups = self.ctx.member_of(user);
        let groups = groups.iter().flat_map(|g| g.iter()).copied();
        let held: Vec<bool> =
            std::iter::once(user).chain(groups).filter_map(|p| self.holders.get(p).copied()).collect();
        if held.is_empty() { None } else { Some(held.iter().all(|e| *e)) }
    }
}

fn derive_restricted(ctx: &Context, out: &mut Vec<Edge>) {
    let tenant = tenant_node_id(&ctx.facts.tenant_id);
    let units: BTreeMap<&str, &AdministrativeUnit> =
        ctx.facts.administrative_units.iter().filter(|u| u.restricted).map(|u| (u.id.as_str(), u)).collect();
    if units.is_empty() {
        return;
    }
    let ga = GlobalAdmins::new(ctx);
    let users: HashSet<&str> = ctx.facts.users.iter().map(|u| u.id.as_str()).collect();
    let groups: HashMap<&str, &crate::facts::Group> = ctx.facts.groups.iter().map(|g| (g.id.as_str(), g)).collect();
    for m in &ctx.facts.administrative_unit_members {
        let Some(unit) = units.get(m.unit_id.as_str()).copied() else { continue };
        let (kind, role, what, contested) = match m.member_type {
            DirectoryObjectType::User => {
                if !users.contains(m.member_id.as_str()) {
                    continue;
                }
                let contested = match ga.of(&m.member_id) {
                    // "there's no administrator role that can be assigned at the administrative unit
                    // scope that can reset the password of a Global Administrator"
                    Some(false) => continue,
                    Some(true) => true,
                    None => false,
                };
                (EdgeKind::ResetCredential, PRIVILEGED_AUTH_ADMIN, "reset the password of its member user", contested)
            }
            DirectoryObjectType::Group => {
                let Some(g) = groups.get(m.member_id.as_str()) else { continue };
                if g.is_assignable_to_role || g.synced {
                    continue;
                }
                (EdgeKind::AddMember, GROUPS_ADMIN, "add members to its member group", false)
            }
            _ => continue,
        };
        let role_name = crate::facts::index::Names::directory_role(role).to_string();
        let mut reason = format!(
            "control of the tenant can assign itself {role_name} scoped to restricted management administrative unit {} (an audited change), then {what} {}",
            unit.display_name,
            ctx.name(&m.member_id)
        );
        if contested {
            reason.push_str(
                " (the user is PIM-eligible for Global Administrator, which no role scoped to a unit may reset once active)",
            );
        }
        let evidence = vec![Evidence::named(EvidenceKind::DirectoryRole, &role_name, role), unit_evidence(unit, m)];
        let e = plain_edge(&RESTRICTED, &tenant, &m.member_id, reason, evidence);
        out.push(e.as_kind(kind, false).with_flags(false, contested));
    }
}

#[cfg(test)]
mod tests {
    use crate::facts::ids::{directory_role_node_id, tenant_node_id};
    use crate::model::EdgeKind::*;
    use crate::model::EvidenceKind;
    use crate::rules::testkit::*;
    use serde_json::json;

    const GA: &str = "62e90394-69f5-4237-9190-012177145e10";
    const HELPDESK: &str = "729827e3-9c14-49f7-bb1b-9608f156bbb8";
    const GROUPS_ADMIN: &str = "fdd7a751-b60b-444a-984c-02652fe8fa1c";
    const USER_ADMIN: &str = "fe930be7-5e62-47db-91af-98c3a49a38b1";
    const APP_ADMIN: &str = "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3";
    const SECURITY_READER: &str = "5d6b6bb7-de71-4623-b4af-96380a352509";
    const DIRECTORY_READERS: &str = "88d8e3e3-8f55-4a1e-953a-9b9898b8876b";
    const INTUNE_ADMIN: &str = "3a2c62db-5318-420d-8d74-23affee5d9d5";

    fn scope(unit: &str) -> String {
        format!("/administrativeUnits/{unit}")
    }

    #[test]
    fn a_unit_scoped_helpdesk_resets_only_non_admin_members_of_its_unit() {
        let mut t = T::new();
        let hd = t.user("helpdesk");
        let carol = t.user("carol");
        let outside = t.user("outside");
        let admin = t.user("admin-in-unit");
        t.directory_role(&admin, SECURITY_READER, "/");
        let au = t.admin_unit("ML contractors", json!({}));
        t.unit_member(&au, &carol);
        t.unit_member(&au, &admin);
        let a = t.directory_role(&hd, HELPDESK, &scope(&au));
        let d = t.derive();
        let e = edge(&d, &hd, &carol, ResetCredential).expect("resets its unit's member");
        assert!(!e.requires_activation && !e.conditional, "{e:?}");
        assert!(e.reason(&d).contains("ML contractors"), "{}", e.reason(&d));
        let evidence = e.evidence();
        let unit = evidence.iter().find(|ev| ev.kind == EvidenceKind::AdministrativeUnit).unwrap();
        assert!(unit.value.starts_with("ML contractors") && unit.fact.is_some(), "{unit:?}");
        assert!(e.evidence().iter().any(|ev| ev.kind == EvidenceKind::DirectoryRoleAssignment && ev.value == a));
        assert_eq!(&*e.rule, "admin-unit-scoped-role");
        assert!(!has(&d, &hd, &outside, ResetCredential), "outside the unit");
        assert!(!has(&d, &hd, &admin, ResetCredential), "an administrator in the unit is protected");
        // Tenant-wide powers are not granted: no HasRole to the role node, nothing from it.
        assert!(!has(&d, &hd, &directory_role_node_id(HELPDESK), HasRole));
        assert!(!d.nodes.iter().any(|n| n.id == directory_role_node_id(HELPDESK)), "the role node grants nothing");
        assert!(d.warnings.is_empty(), "{:?}", d.warnings);
    }

    #[test]
    fn a_unit_scoped_privileged_authentication_admin_resets_admins_but_not_a_global_admin() {
        let mut t = T::new();
        let paa = t.user("paa");
        let sec = t.user("security-reader");
        t.directory_role(&sec, SECURITY_READER, "/");
        let boss = t.user("boss");
        t.directory_role(&boss, GA, "/");
        let au = t.admin_unit("Mixed", json!({}));
        t.unit_member(&au, &sec);
        t.unit_member(&au, &boss);
        t.directory_role(&paa, "7be44c8a-adaf-4e2a-84d6-ab2649e08a13", &scope(&au));
        let d = t.derive();
        assert!(!edge(&d, &paa, &sec, ResetCredential).unwrap().conditional, "any user, admin or not");
        assert!(!has(&d, &paa, &boss, ResetCredential), "no unit-scoped role resets a Global Administrator");
    }

    #[test]
    fn a_unit_scoped_groups_admin_manages_only_its_units_groups_and_never_their_members() {
        let mut t = T::new();
        let ga = t.user("groups-admin");
        let inside = t.group("contractors");
        let outside = t.group("elsewhere");
        let ra = t.group_with("tier0", json!({"isAssignableToRole": true}));
        let member = t.user("member-of-contractors");
        t.member(&inside, &member);
        let au = t.admin_unit("ML contractors", json!({}));
        t.unit_member(&au, &inside);
        t.unit_member(&au, &ra);
        t.directory_role(&ga, GROUPS_ADMIN, &scope(&au));
        t.directory_role(&ga, USER_ADMIN, &scope(&au));
        let d = t.derive();
        assert!(has(&d, &ga, &inside, AddMember));
        assert!(!has(&d, &ga, &outside, AddMember), "a group outside the unit");
        assert!(!has(&d, &ga, &ra, AddMember), "role-assignable groups need Privileged Role Administrator");
        assert!(!has(&d, &ga, &member, ResetCredential), "a group in the unit does not bring its members in");
    }

    #[test]
    fn units_hold_no_applications_so_app_admin_at_a_unit_is_nothing() {
        let mut t = T::new();
        let u = t.user("app-admin");
        let (app, sp) = t.app("x");
        let au = t.admin_unit("apps?", json!({}));
        t.directory_role(&u, APP_ADMIN, &scope(&au));
        let d = t.derive();
        assert!(out(&d, &u).is_empty(), "{:?}", out(&d, &u));
        assert!(!has(&d, &u, &app, AddSecret) && !has(&d, &u, &sp, AddSecret));
        assert!(!d.edges.iter().any(|e| e.kind == GrantAnyRole));
    }

    #[test]
    fn an_eligible_unit_scoped_role_requires_activation() {
        let mut t = T::new();
        let u = t.user("later");
        let carol = t.user("carol");
        let au = t.admin_unit("ML contractors", json!({}));
        t.unit_member(&au, &carol);
        t.directory_eligible_at(&u, HELPDESK, &scope(&au), "2026-01-01T00:00:00Z", "2027-01-01T00:00:00Z");
        let d = t.derive();
        let e = edge(&d, &u, &carol, ResetCredential).unwrap();
        assert!(e.requires_activation && e.cost > ResetCredential.base_cost(), "{e:?}");
        assert!(e.evidence().iter().any(|ev| ev.kind == EvidenceKind::DirectoryRoleEligibility));
    }

    #[test]
    fn an_unknown_unit_is_a_warning_not_an_edge() {
        let mut t = T::new();
        let u = t.user("hd");
        t.user("carol");
        t.directory_role(&u, HELPDESK, "/administrativeUnits/au-missing");
        let d = t.derive();
        assert!(out(&d, &u).is_empty());
        assert!(d.warnings.iter().any(|w| w.contains("au-missing")), "{:?}", d.warnings);
    }

    #[test]
    fn a_service_principal_without_directory_read_uses_a_unit_role_only_conditionally() {
        let mut t = T::new();
        let (_, sp) = t.app("helpdesk-bot");
        let (_, reader) = t.app("reading-bot");
        let carol = t.user("carol");
        let au = t.admin_unit("ML contractors", json!({}));
        t.unit_member(&au, &carol);
        t.directory_role(&sp, HELPDESK, &scope(&au));
        t.directory_role(&reader, HELPDESK, &scope(&au));
        t.directory_role(&reader, DIRECTORY_READERS, "/");
        let d = t.derive();
        let e = edge(&d, &sp, &carol, ResetCredential).unwrap();
        assert!(e.conditional && e.reason(&d).contains("Directory Readers"), "{e:?}");
        assert!(!edge(&d, &reader, &carol, ResetCredential).unwrap().conditional);
    }

    #[test]
    fn a_restricted_unit_blocks_tenant_wide_roles_graph_permissions_and_owners() {
        let mut t = T::new();
        let ga = t.user("global-admin");
        t.directory_role(&ga, GA, "/");
        let hd = t.user("helpdesk");
        t.directory_role(&hd, HELPDESK, "/");
        let g = t.graph_sp();
        let (_, bot) = t.app("provisioner");
        t.graph_app_role(&bot, &g, "dbaae8cf-10b5-4b86-a4a1-f871c94c6695"); // GroupMember.ReadWrite.All
        t.graph_app_role(&bot, &g, "50483e42-d915-4231-9639-7fdb7fd190e5"); // UserAuthenticationMethod.ReadWrite.All
        let ceo = t.user("ceo");
        let plain = t.user("plain");
        let finance = t.group("finance");
        let other = t.group("other");
        let owner = t.user("owner");
        t.owner("groupOwners", &finance, &owner);
        t.owner("groupOwners", &other, &owner);
        let ra = t.group_with("tier0", json!({"isAssignableToRole": true}));
        let au = t.admin_unit("Executives", json!({"isMemberManagementRestricted": true}));
        for m in [&ceo, &finance, &ra] {
            t.unit_member(&au, m);
        }
        let d = t.derive();
        let ga_role = directory_role_node_id(GA);
        let hd_role = directory_role_node_id(HELPDESK);
        let tap = crate::facts::ids::app_role_node_id(
            crate::rbac::MICROSOFT_GRAPH_APP_ID,
            "50483e42-d915-4231-9639-7fdb7fd190e5",
        );
        let members = crate::facts::ids::app_role_node_id(
            crate::rbac::MICROSOFT_GRAPH_APP_ID,
            "dbaae8cf-10b5-4b86-a4a1-f871c94c6695",
        );
        // Tenant-wide Global Administrator cannot reset a member of a restricted unit, nor change
        // its groups; Helpdesk, Graph permissions and owners neither.
        assert!(!has(&d, &ga_role, &ceo, ResetCredential), "Global Administrator is blocked too");
        assert!(!has(&d, &ga_role, &finance, AddMember));
        assert!(!has(&d, &hd_role, &ceo, ResetCredential));
        assert!(!has(&d, &tap, &ceo, ResetCredential));
        assert!(!has(&d, &members, &finance, AddMember));
        assert!(!has(&d, &owner, &finance, AddMember), "owners are blocked");
        // Outside the unit, nothing changes.
        assert!(has(&d, &ga_role, &plain, ResetCredential) && has(&d, &hd_role, &plain, ResetCredential));
        assert!(has(&d, &members, &other, AddMember) && has(&d, &owner, &other, AddMember));
        // Microsoft's page contradicts itself on role-assignable groups: contested.
        let e = edge(&d, &ga_role, &ra, AddMember).expect("contested, not dropped");
        assert!(e.conditional && e.reason(&d).contains("Executives"), "{e:?}");
        // Tenant control can scope a role to the unit and so still reaches its members.
        let tenant = tenant_node_id(TENANT);
        let e = edge(&d, &tenant, &ceo, ResetCredential).unwrap();
        assert_eq!(&*e.rule, "restricted-admin-unit");
        assert!(!e.conditional && e.reason(&d).contains("Privileged Authentication Administrator"), "{e:?}");
        assert!(has(&d, &tenant, &finance, AddMember));
        assert!(!has(&d, &tenant, &ra, AddMember), "no unit-scoped role manages role-assignable groups");
        assert!(!has(&d, &tenant, &plain, ResetCredential), "only members of restricted units");
    }

    #[test]
    fn no_unit_scoped_role_resets_a_global_administrator_in_a_restricted_unit() {
        let mut t = T::new();
        let boss = t.user("boss");
        t.directory_role(&boss, GA, "/");
        let maybe = t.user("maybe");
        t.directory_eligible(&maybe, GA, "2026-01-01T00:00:00Z", "2027-01-01T00:00:00Z");
        let au = t.admin_unit("Tier 0", json!({"isMemberManagementRestricted": true}));
        t.unit_member(&au, &boss);
        t.unit_member(&au, &maybe);
        let d = t.derive();
        let tenant = tenant_node_id(TENANT);
        assert!(!has(&d, &tenant, &boss, ResetCredential));
        assert!(edge(&d, &tenant, &maybe, ResetCredential).unwrap().conditional);
    }

    #[test]
    fn a_role_scoped_to_a_restricted_unit_reaches_its_members_and_an_ordinary_unit_does_not() {
        let mut t = T::new();
        let scoped = t.user("restricted-helpdesk");
        let regular = t.user("regular-helpdesk");
        let ceo = t.user("ceo");
        let staff = t.user("staff");
        let exec = t.admin_unit("Executives", json!({"isMemberManagementRestricted": true}));
        let hq = t.admin_unit("Headquarters", json!({}));
        t.unit_member(&exec, &ceo);
        t.unit_member(&hq, &ceo);
        t.unit_member(&hq, &staff);
        t.directory_role(&scoped, HELPDESK, &scope(&exec));
        t.directory_role(&regular, HELPDESK, &scope(&hq));
        let d = t.derive();
        assert!(has(&d, &scoped, &ceo, ResetCredential), "a role scoped to the restricted unit");
        assert!(!has(&d, &regular, &ceo, ResetCredential), "an ordinary unit that also holds the user is blocked");
        assert!(has(&d, &regular, &staff, ResetCredential));
    }

    #[test]
    fn an_attribute_writer_with_a_role_on_a_dynamic_unit_can_pull_users_into_its_scope() {
        let mut t = T::new();
        let intune = t.user("intune-admin");
        t.directory_role(&intune, INTUNE_ADMIN, "/");
        let victim = t.user("victim");
        let admin = t.user("admin");
        t.directory_role(&admin, SECURITY_READER, "/");
        let dynamic = t.admin_unit(
            "Contractors (dynamic)",
            json!({"membershipType": "Dynamic", "membershipRule": "user.jobTitle -eq \"Contractor\"", "membershipRuleProcessingState": "On"}),
        );
        let complex = t.admin_unit(
            "Complex",
            json!({"membershipType": "Dynamic", "membershipRule": "user.extensionAttribute1 -eq \"x\""}),
        );
        t.directory_role(&intune, HELPDESK, &scope(&dynamic));
        let plain_hd = t.user("plain-helpdesk");
        t.directory_role(&plain_hd, HELPDESK, &scope(&dynamic));
        t.directory_role(&plain_hd, HELPDESK, &scope(&complex));
        let d = t.derive();
        let e = edge(&d, &intune, &victim, ResetCredential).expect("rewrites the job title, then resets");
        assert!(e.conditional && e.reason(&d).contains("user.jobTitle"), "{e:?}");
        assert!(e.evidence().iter().any(|ev| ev.kind == EvidenceKind::MembershipRule));
        assert!(!has(&d, &intune, &admin, ResetCredential), "still not an administrator");
        assert!(!has(&d, &plain_hd, &victim, ResetCredential), "without attribute writes, only current members");
    }
}
