//! Ownership: owners of apps and service principals can add credentials (`AddSecret`); owners of
//! groups can add members (`AddMember`).

use super::admin_units::restricted_unit_blocks;
use super::{Context, Rule, mark_if_sp_locked, plain_edge};
use crate::facts::{DirectoryObjectType, OwnedKind, Ownership};
use crate::model::{Edge, EdgeKind, Evidence, EvidenceKind};

/// Graph app roles with which a service principal can use its ownership of apps with app-only tokens.
const OWNED_BY: &str = "18a4783c-866b-4cc7-a460-3d5e5662c884"; // Application.ReadWrite.OwnedBy

pub const ADD_SECRET: Rule = Rule {
    id: "owner-add-secret",
    edges: &[EdgeKind::AddSecret],
    summary: "An owner of an application or service principal can add a credential to it.",
    doc: "What it does: an AddSecret edge from each owner of an application or service principal to that \
object. A user owner can always add a password, certificate or federated credential. A service \
principal owner acts with app-only tokens, which need the Microsoft Graph permission \
Application.ReadWrite.OwnedBy to manage owned apps; so the edge needs that grant, and names it as \
evidence. Why it matters: a new credential signs in as the service principal with all its rights. \
Must not fire: for managed-identity service principals (no credentials can be added), for a service \
principal owner without Application.ReadWrite.OwnedBy, or for group owners.",
    derive: derive_secret,
};

pub const ADD_MEMBER: Rule = Rule {
    id: "owner-add-member",
    edges: &[EdgeKind::AddMember],
    summary: "A user who owns a group can add members to it, including themselves.",
    doc: "What it does: an AddMember edge from each user owner of a group to the group. Why it matters: \
the owner can add itself (or a controlled account) and inherit the group's roles. Must not fire: for \
service principal owners (app-only tokens need a Graph group permission, which azpath models as its \
own grant), for non-owners, or for a group in a restricted management administrative unit (Microsoft \
blocks its owners).",
    derive: derive_member,
};

fn owner_link(o: &Ownership) -> Evidence {
    let what = match o.owned_kind {
        OwnedKind::Application => "application",
        OwnedKind::ServicePrincipal => "service principal",
        OwnedKind::Group => "group",
    };
    Evidence::new(EvidenceKind::Owner, format!("{} is an owner of {what} {}", o.owner_id, o.owned_id))
        .of_fact(&o.fact_key())
}

fn derive_secret(ctx: &Context, out: &mut Vec<Edge>) {
    for o in &ctx.facts.ownerships {
        if o.owned_kind == OwnedKind::Group {
            continue;
        }
        let target = ctx.node(&o.owned_id);
        if target.is_some_and(|n| n.prop("sp_type").is_some_and(|t| t.eq_ignore_ascii_case("ManagedIdentity"))) {
            continue;
        }
        let mut evidence = vec![owner_link(o)];
        match o.owner_type {
            DirectoryObjectType::User => {}
            DirectoryObjectType::ServicePrincipal => {
                let grant =
                    ctx.facts.app_role_assignments.iter().find(|a| {
                        a.principal_id == o.owner_id && a.app_role_id == OWNED_BY && ctx.is_graph_permission(a)
                    });
                match grant {
                    Some(a) => {
                        evidence.push(Evidence::new(EvidenceKind::OwnedByGrant, a.id.clone()).of_fact(&a.fact_key()))
                    }
                    None => continue,
                }
            }
            _ => continue,
        }
        let what = if o.owned_kind == OwnedKind::Application { "application" } else { "service principal" };
        out.push(mark_if_sp_locked(
            ctx,
            plain_edge(
                &ADD_SECRET,
                &o.owner_id,
                &o.owned_id,
                format!(
                    "{} owns {what} {} and can add a credential to it",
                    ctx.name(&o.owner_id),
                    ctx.name(&o.owned_id)
                ),
                evidence,
            ),
        ));
    }
}

fn derive_member(ctx: &Context, out: &mut Vec<Edge>) {
    for o in &ctx.facts.ownerships {
        if o.owned_kind != OwnedKind::Group || o.owner_type != DirectoryObjectType::User {
            continue;
        }
        // "Owners of groups or devices added to restricted management administrative units":
        // blocked.
        if restricted_unit_blocks(ctx, EdgeKind::AddMember, &o.owned_id).is_some() {
            continue;
        }
        out.push(plain_edge(
            &ADD_MEMBER,
            &o.owner_id,
            &o.owned_id,
            format!("{} owns group {} and can add members to it", ctx.name(&o.owner_id), ctx.name(&o.owned_id)),
            vec![owner_link(o)],
        ));
    }
}

#[cfg(test)]
mod tests {
    use crate::model::EdgeKind::{AddMember, AddSecret};
    use crate::rules::testkit::*;

    #[test]
    fn a_user_owner_can_add_secrets_to_apps_and_sps() {
        let mut t = T::new();
        let u = t.user("dev");
        let (app, sp) = t.app("x");
        t.owner("applicationOwners", &app, &u);
        t.owner("servicePrincipalOwners", &sp, &u);
        let d = t.derive();
        assert!(has(&d, &u, &app, AddSecret));
        assert!(has(&d, &u, &sp, AddSecret));
    }

    #[test]
    fn an_sp_owner_needs_application_readwrite_ownedby() {
        let mut t = T::new();
        let graph = t.graph_sp();
        let (_, ci) = t.app("ci");
        let (_, plain) = t.app("plain");
        let (target, _) = t.app("target");
        t.owner("applicationOwners", &target, &ci);
        t.owner("applicationOwners", &target, &plain);
        t.graph_app_role(&ci, &graph, "18a4783c-866b-4cc7-a460-3d5e5662c884");
        let d = t.derive();
        assert!(has(&d, &ci, &target, AddSecret));
        assert!(!has(&d, &plain, &target, AddSecret), "ownership alone gives an SP no app-only Graph write");
    }

    #[test]
    fn managed_identities_take_no_credentials() {
        let mut t = T::new();
        let u = t.user("dev");
        let mi = "sp-mi".to_string();
        t.owner("servicePrincipalOwners", &mi, &u);
        let rg = t.rg("rg");
        t.resource(
            &rg,
            "Microsoft.Compute/virtualMachines",
            "vm",
            serde_json::json!({"identity": {"type": "SystemAssigned", "principalId": mi}}),
        );
        let d = t.derive();
        assert!(!has(&d, &u, &mi, AddSecret));
    }

    #[test]
    fn a_user_group_owner_can_add_members() {
        let mut t = T::new();
        let (u, g, other) = (t.user("o"), t.group("g"), t.user("not-owner"));
        t.owner("groupOwners", &g, &u);
        let d = t.derive();
        assert!(has(&d, &u, &g, AddMember));
        assert!(!has(&d, &other, &g, AddMember));
        assert!(!has(&d, &u, &g, AddSecret));
    }
}
