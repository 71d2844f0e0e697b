//! Adding a federated credential to a user-assigned identity takes it over.

use super::{Context, Hit, Plane, Rule, grant_text, rbac_edge};
use crate::facts::Resource;
use crate::model::{Edge, EdgeKind};

const WRITE_FIC: &str = "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials/write";

pub const RULE: Rule = Rule {
    id: "uami-add-federated-credential",
    edges: &[EdgeKind::AddSecret],
    summary: "Whoever can write a user-assigned identity's federated credentials can sign in as it.",
    doc: concat!(
        "What it does: an AddSecret edge from the principal to each user-assigned managed identity on \
which its role allows Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials/write \
(Owner, Contributor, Managed Identity Contributor, Managed Identity Federated Identity Credential \
Contributor): it can trust an OIDC issuer it controls and get tokens as the identity from anywhere.",
        read_only_lock_doc!(),
        " Why it matters: managed identities often hold data roles. Must not fire: for Managed Identity \
Operator (assign only), Reader, on other resource types, or under a ReadOnly lock the principal cannot \
delete."
    ),
    derive,
};

fn derive(ctx: &Context, out: &mut Vec<Edge>) {
    let uamis = |r: &Resource| r.resource_type == "microsoft.managedidentity/userassignedidentities";
    for (g, r, how) in ctx.rbac_matches(WRITE_FIC, false, uamis) {
        let reason = format!(
            "{} allows {WRITE_FIC}: can add a federated credential it controls to {} and sign in as it",
            grant_text(ctx, g),
            r.name
        );
        let hit = Hit { target: &r.id, action: WRITE_FIC, how: &how, plane: Plane::Arm(&r.id) };
        out.extend(rbac_edge(ctx, &RULE, g, hit, reason, vec![]));
    }
}

#[cfg(test)]
mod tests {
    use crate::model::EdgeKind::AddSecret;
    use crate::rules::testkit::*;
    use serde_json::json;

    #[test]
    fn contributors_can_federate_into_a_uami_but_operators_cannot() {
        let mut t = T::new();
        let rg = t.rg("rg");
        let u = t.resource(
            &rg,
            "Microsoft.ManagedIdentity/userAssignedIdentities",
            "u",
            json!({"properties": {"principalId": "sp-u"}}),
        );
        let (c, op) = (t.sp("c"), t.sp("op"));
        t.assign(&c, "Contributor", &rg);
        t.assign(&op, "Managed Identity Operator", &u);
        let d = t.derive();
        assert!(has(&d, &c, &u, AddSecret));
        assert!(!has(&d, &op, &u, AddSecret));
    }

    #[test]
    fn a_read_only_lock_stops_adding_a_credential_unless_the_principal_can_delete_it() {
        let mut t = T::new();
        let rg = t.rg("rg");
        let u = t.resource(
            &rg,
            "Microsoft.ManagedIdentity/userAssignedIdentities",
            "u",
            json!({"properties": {"principalId": "sp-u"}}),
        );
        t.lock(&u, "freeze", "ReadOnly");
        let (c, o) = (t.sp("c"), t.sp("o"));
        t.assign(&c, "Managed Identity Contributor", &rg);
        t.assign(&o, "Owner", &u);
        let d = t.derive();
        assert!(!has(&d, &c, &u, AddSecret), "writing a federated credential is an ARM write");
        let e = edge(&d, &o, &u, AddSecret).unwrap();
        assert_eq!(e.cost, AddSecret.base_cost() + crate::model::LOCK_REMOVAL_COST);
    }
}
