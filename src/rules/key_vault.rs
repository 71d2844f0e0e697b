//! Key Vault secrets under both permission models: RBAC data actions, or access policies.

use super::{Context, Hit, Plane, Rule, grant_text, plain_edge, rbac_edge};
use crate::facts::{Resource, ResourceDetails};
use crate::model::{Edge, EdgeKind, Evidence, EvidenceKind};

const GET_SECRET: &str = "Microsoft.KeyVault/vaults/secrets/getSecret/action";
const POLICY_WRITES: &[&str] = &["Microsoft.KeyVault/vaults/accessPolicies/write", "Microsoft.KeyVault/vaults/write"];

/// `Some(true)` for RBAC-mode vaults, `Some(false)` for access-policy mode, `None` for non-vaults.
fn rbac_mode(r: &Resource) -> Option<bool> {
    match r.details {
        ResourceDetails::KeyVault { enable_rbac_authorization, .. } => Some(enable_rbac_authorization == Some(true)),
        _ => None,
    }
}

pub const READ_SECRETS: Rule = Rule {
    id: "key-vault-read-secrets",
    edges: &[EdgeKind::ReadSecrets],
    summary: "Principals that can read a vault's secrets under its permission model.",
    doc: "What it does: a ReadSecrets edge to an RBAC-mode vault (`enableRbacAuthorization: true`) from \
each principal whose role allows the data action Microsoft.KeyVault/vaults/secrets/getSecret/action at \
or above the vault (Key Vault Secrets User/Officer, Key Vault Administrator); and to an access-policy-mode \
vault from each principal named by an access policy with secret `get`. An access policy that also names \
an applicationId (compound identity) is conditional. Why it matters: vault secrets are often the keys \
of AI accounts and storage. Management locks do not apply: secrets are read from the vault's own endpoint, \
the data plane, which locks do not cover (Microsoft Learn, \"Lock your resources to protect your \
infrastructure\"); but a role that must first assign itself the data role (Key Vault Data Access \
Administrator) is stopped by a ReadOnly lock at its scope, as any role assignment is. Must not fire: for \
access policies on an RBAC-mode vault (ignored by Azure), for RBAC data actions on an access-policy vault, \
for `list` without `get`, or for Key Vault Contributor (no data actions).",
    derive: derive_read,
};

pub const SET_ACCESS_POLICY: Rule = Rule {
    id: "key-vault-set-access-policy",
    edges: &[EdgeKind::SetAccessPolicy],
    summary: "Write on an access-policy-mode vault can grant itself secret access.",
    doc: concat!(
        "What it does: a SetAccessPolicy edge to each access-policy-mode vault from each principal whose \
role allows Microsoft.KeyVault/vaults/accessPolicies/write or Microsoft.KeyVault/vaults/write there \
(Contributor, Key Vault Contributor): it can add an access policy for itself and then read every secret.",
        read_only_lock_doc!(),
        " Why it matters: the management plane controls the data plane in this model. Must not fire: on \
RBAC-mode vaults (switching the mode back needs roleAssignments/write too, which AssignRoles covers), for \
Reader, or under a ReadOnly lock the principal cannot delete."
    ),
    derive: derive_set_policy,
};

fn derive_read(ctx: &Context, out: &mut Vec<Edge>) {
    for (g, r, how) in ctx.rbac_matches(GET_SECRET, true, |r| rbac_mode(r) == Some(true)) {
        let reason = format!("{} allows data action {GET_SECRET} on RBAC-mode vault {}", grant_text(ctx, g), r.name);
        let extra = vec![Context::resource_evidence(
            EvidenceKind::ResourceProperty,
            r,
            format!("{}: enableRbacAuthorization = true", r.id),
        )];
        let hit = Hit { target: &r.id, action: GET_SECRET, how: &how, plane: Plane::Data };
        out.extend(rbac_edge(ctx, &READ_SECRETS, g, hit, reason, extra));
    }
    for r in &ctx.facts.resources {
        let ResourceDetails::KeyVault { access_policies, .. } = &r.details else { continue };
        if rbac_mode(r) != Some(false) {
            continue;
        }
        for (i, p) in access_policies.iter().enumerate() {
            if !p.secrets.iter().any(|s| s.eq_ignore_ascii_case("get") || s.eq_ignore_ascii_case("all")) {
                continue;
            }
            let mut evidence = vec![
                Context::resource_evidence(
                    EvidenceKind::AccessPolicy,
                    r,
                    format!("{} properties.accessPolicies[{i}] objectId {}", r.id, p.object_id),
                ),
                Evidence::new(EvidenceKind::SecretPermissions, p.secrets.join(", ")),
            ];
            let mut reason =
                format!("an access policy on vault {} gives {} secret get", r.name, ctx.name(&p.object_id));
            let conditional = p.application_id.is_some();
            if let Some(app) = &p.application_id {
                evidence.push(Evidence::new(EvidenceKind::CompoundIdentity, app.clone()));
                reason.push_str(" (only when acting through a specific application: conditional)");
            }
            let mut e = plain_edge(&READ_SECRETS, &p.object_id, &r.id, reason, evidence);
            e.conditional = conditional;
            e.cost = Edge::compute_cost(EdgeKind::ReadSecrets, false, conditional);
            out.push(e);
        }
    }
}

fn derive_set_policy(ctx: &Context, out: &mut Vec<Edge>) {
    for action in POLICY_WRITES {
        for (g, r, how) in ctx.rbac_matches(action, false, |r| rbac_mode(r) == Some(false)) {
            let reason = format!(
                "{} allows {action} on access-policy-mode vault {}: can add an access policy for itself and read every secret",
                grant_text(ctx, g),
                r.name
            );
            let extra = vec![Context::resource_evidence(
                EvidenceKind::ResourceProperty,
                r,
                format!("{}: enableRbacAuthorization = false or unset (access policies apply)", r.id),
            )];
            let hit = Hit { target: &r.id, action, how: &how, plane: Plane::Arm(&r.id) };
            out.extend(rbac_edge(ctx, &SET_ACCESS_POLICY, g, hit, reason, extra));
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::model::EdgeKind::{ReadSecrets, SetAccessPolicy};
    use crate::rules::testkit::*;
    use serde_json::json;

    fn vault(t: &mut T, rg: &str, name: &str, rbac: bool, policies: serde_json::Value) -> String {
        t.resource(
            rg,
            "Microsoft.KeyVault/vaults",
            name,
            json!({"properties": {"enableRbacAuthorization": rbac, "accessPolicies": policies, "tenantId": TENANT}}),
        )
    }

    #[test]
    fn rbac_vaults_follow_data_actions() {
        let mut t = T::new();
        let rg = t.rg("rg");
        let (reader, kvc) = (t.user("reader"), t.user("frank"));
        let v = vault(
            &mut t,
            &rg,
            "kv",
            true,
            json!([{"tenantId": TENANT, "objectId": "user-frank", "permissions": {"secrets": ["get"]}}]),
        );
        t.assign(&reader, "Key Vault Secrets User", &v);
        t.assign(&kvc, "Key Vault Contributor", &v);
        let d = t.derive();
        assert!(has(&d, &reader, &v, ReadSecrets));
        assert!(
            out(&d, &kvc).is_empty(),
            "Key Vault Contributor on an RBAC vault must be no path: {:?}",
            out(&d, &kvc)
        );
    }

    #[test]
    fn access_policy_vaults_follow_policies_and_vault_write() {
        let mut t = T::new();
        let rg = t.rg("rg");
        let (p, lister, c, su) = (t.user("p"), t.user("lister"), t.sp("c"), t.user("su"));
        let v = vault(
            &mut t,
            &rg,
            "kv",
            false,
            json!([
            {"tenantId": TENANT, "objectId": p, "permissions": {"secrets": ["Get", "List"]}},
            {"tenantId": TENANT, "objectId": lister, "permissions": {"secrets": ["list"]}}]),
        );
        t.assign(&c, "Contributor", &rg);
        t.assign(&su, "Key Vault Secrets User", &v);
        let d = t.derive();
        assert!(has(&d, &p, &v, ReadSecrets));
        assert!(!has(&d, &lister, &v, ReadSecrets));
        assert!(has(&d, &c, &v, SetAccessPolicy));
        assert!(!has(&d, &su, &v, ReadSecrets), "RBAC data actions do not apply to an access-policy vault");
    }

    #[test]
    fn compound_identity_policies_are_conditional() {
        let mut t = T::new();
        let rg = t.rg("rg");
        let u = t.user("u");
        let v = vault(
            &mut t,
            &rg,
            "kv",
            false,
            json!([{"tenantId": TENANT, "objectId": u, "applicationId": "app-x", "permissions": {"secrets": ["get"]}}]),
        );
        let d = t.derive();
        assert!(edge(&d, &u, &v, ReadSecrets).unwrap().conditional);
    }

    #[test]
    fn a_read_only_lock_stops_policy_writes_but_not_secret_reads() {
        let mut t = T::new();
        let rg = t.rg("rg");
        let (p, c, o, su) = (t.user("p"), t.sp("c"), t.user("o"), t.user("su"));
        let v = vault(
            &mut t,
            &rg,
            "kv",
            false,
            json!([{"tenantId": TENANT, "objectId": p, "permissions": {"secrets": ["get"]}}]),
        );
        let rv = vault(&mut t, &rg, "rkv", true, json!([]));
        t.assign(&c, "Contributor", &rg);
        t.assign(&o, "Owner", &rg);
        t.assign(&su, "Key Vault Secrets User", &rv);
        let before = t.derive();
        t.lock(&rg, "freeze", "ReadOnly");
        let d = t.derive();
        assert!(!has(&d, &c, &v, SetAccessPolicy), "vault write is an ARM write");
        let e = edge(&d, &o, &v, SetAccessPolicy).unwrap();
        assert_eq!(e.cost, SetAccessPolicy.base_cost() + crate::model::LOCK_REMOVAL_COST);
        // Secrets are read from the vault's own endpoint: locks change nothing there.
        for (who, vault) in [(&p, &v), (&su, &rv)] {
            assert_eq!(edge(&d, who, vault, ReadSecrets), edge(&before, who, vault, ReadSecrets));
            assert!(has(&d, who, vault, ReadSecrets));
        }
    }
}
