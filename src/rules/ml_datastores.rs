//! ML datastores that store an account key or SAS: whoever can read the datastore's secrets holds
//! the storage account's key.

use super::{Context, Hit, Plane, RbacGrant, Rule, grant_text, rbac_edge};
use crate::facts::{Resource, ResourceDetails};
use crate::model::{Edge, EdgeKind, Evidence, EvidenceKind};

const LIST_SECRETS: &str = "Microsoft.MachineLearningServices/workspaces/datastores/listsecrets/action";

pub const RULE: Rule = Rule {
    id: "ml-datastore-list-secrets",
    edges: &[EdgeKind::ListKeys, EdgeKind::AuthenticatesAs],
    summary: "Reading an ML datastore's stored account key or client secret gives the account or the service principal.",
    doc: concat!(
        "What it does: a ListKeys edge from the principal to a storage account when its role allows \
Microsoft.MachineLearningServices/workspaces/datastores/listsecrets/action on an ML workspace (AzureML \
Data Scientist, Azure AI Developer, Contributor) and one of the workspace's datastores points at that \
account with credentialsType AccountKey, and the account still accepts shared keys; an \
AuthenticatesAs edge to a service principal whose client secret a datastore stores (credentialsType \
ServicePrincipal). Listing a datastore's secrets is a POST to ARM on the datastore, so locks on the \
workspace or above count.",
        read_only_lock_doc!(),
        " Why it matters: data scientists often get the storage key or a service principal \
this way without any role on the storage account. Must not fire: for identity-based datastores \
(credentialsType None), for SAS datastores (usually one container, often read-only: not modelled), when \
the account has allowSharedKeyAccess false (the stored key no longer works), without listsecrets, or \
under a ReadOnly lock on the workspace the principal cannot delete."
    ),
    derive,
};

fn derive(ctx: &Context, out: &mut Vec<Edge>) {
    let workspaces = |r: &Resource| r.resource_type == "microsoft.machinelearningservices/workspaces";
    for (g, ws, how) in ctx.rbac_matches(LIST_SECRETS, false, workspaces) {
        for ds in ctx.child_resources(&ws.id) {
            let ResourceDetails::MlDatastore { account_name, credentials_type: Some(cred), client_id, .. } =
                &ds.details
            else {
                continue;
            };
            // listSecrets is a POST to ARM on the datastore.
            let hit = Hit { target: "", action: LIST_SECRETS, how: &how, plane: Plane::Arm(&ds.id) };
            if cred.eq_ignore_ascii_case("AccountKey") {
                // An account key is the whole account's data, while shared keys are accepted.
                let Some(account) = account_name else { continue };
                let storage = ctx.facts.resources.iter().find(|r| {
                    r.name.eq_ignore_ascii_case(account)
                        && matches!(r.details, ResourceDetails::StorageAccount { allow_shared_key_access } if allow_shared_key_access != Some(false))
                });
                let Some(storage) = storage else { continue };
                let reason = format!(
                    "{} allows {LIST_SECRETS}: datastore {} of workspace {} stores the account key of {}",
                    grant_text(ctx, g),
                    ds.name,
                    ws.name,
                    storage.name
                );
                let extra = vec![
                    Context::resource_evidence(
                        EvidenceKind::Datastore,
                        ds,
                        format!("{} credentials.credentialsType = {cred}", ds.id),
                    ),
                    Context::resource_evidence(
                        EvidenceKind::ResourceProperty,
                        storage,
                        format!("{}: allowSharedKeyAccess is not false", storage.id),
                    ),
                ];
                out.extend(rbac_edge(ctx, &RULE, g, Hit { target: &storage.id, ..hit }, reason, extra));
            } else if cred.eq_ignore_ascii_case("ServicePrincipal") {
                let Some(app) = client_id else { continue };
                let stored_in = format!("datastore {} of workspace {}", ds.name, ws.name);
                let ev = Context::resource_evidence(
                    EvidenceKind::Datastore,
                    ds,
                    format!("{} credentials: ServicePrincipal, clientId {app}", ds.id),
                );
                out.extend(stored_client_secret(ctx, &RULE, g, hit, app, &stored_in, ev));
            }
            // Sas credentials are usually container-scoped and may be read-only: not modelled as
            // account access (no edge rather than an overstated one).
        }
    }
}

/// A client secret stored in a workspace object (a datastore, a connection) that `listsecrets`
/// returns signs in as the service principal of `app_id`: an AuthenticatesAs edge to it, if that
/// service principal is in the facts.
pub(super) fn stored_client_secret(
    ctx: &Context,
    rule: &Rule,
    g: &RbacGrant,
    hit: Hit,
    app_id: &str,
    stored_in: &str,
    evidence: Evidence,
) -> Option<Edge> {
    let sp = ctx.facts.service_principals.iter().find(|s| s.app_id.as_deref() == Some(app_id))?;
    let reason = format!(
        "{} allows {}: {stored_in} stores a client secret of service principal {}",
        grant_text(ctx, g),
        hit.action,
        sp.display_name
    );
    let e = rbac_edge(ctx, rule, g, Hit { target: &sp.id, ..hit }, reason, vec![evidence])?;
    let activation = e.requires_activation;
    Some(e.as_kind(EdgeKind::AuthenticatesAs, activation))
}

#[cfg(test)]
mod tests {
    use crate::model::EdgeKind::ListKeys;
    use crate::rules::testkit::*;
    use serde_json::json;

    fn datastore(t: &mut T, rg: &str, ws: &str, name: &str, account: &str, cred: &str) {
        let id = format!("{ws}/datastores/{name}");
        t.resource(rg, "Microsoft.MachineLearningServices/workspaces", name, json!({"id": id,
            "type": "Microsoft.MachineLearningServices/workspaces/datastores",
            "properties": {"datastoreType": "AzureBlob", "accountName": account, "containerName": "c", "credentials": {"credentialsType": cred}}}));
    }

    #[test]
    fn service_principal_datastores_leak_the_client_secret() {
        let mut t = T::new();
        let rg = t.rg("rg");
        let ws = t.resource(&rg, "Microsoft.MachineLearningServices/workspaces", "ws", json!({}));
        let (_, sp) = t.app("etl");
        let id = format!("{ws}/datastores/lake");
        t.resource(&rg, "Microsoft.MachineLearningServices/workspaces", "lake", json!({"id": id,
            "type": "Microsoft.MachineLearningServices/workspaces/datastores",
            "properties": {"datastoreType": "AzureDataLakeGen2", "accountName": "x", "credentials": {"credentialsType": "ServicePrincipal", "clientId": "appid-etl", "tenantId": TENANT}}}));
        let ds = t.group("ds");
        t.assign(&ds, "AzureML Data Scientist", &ws);
        let d = t.derive();
        assert!(has(&d, &ds, &sp, crate::model::EdgeKind::AuthenticatesAs));
    }

    #[test]
    fn account_key_datastores_leak_the_key_to_data_scientists() {
        let mut t = T::new();
        let rg = t.rg("rg");
        let ws = t.resource(&rg, "Microsoft.MachineLearningServices/workspaces", "ws", json!({}));
        let keyed = t.resource(&rg, "Microsoft.Storage/storageAccounts", "keyed", json!({"properties": {}}));
        let ident = t.resource(&rg, "Microsoft.Storage/storageAccounts", "ident", json!({"properties": {}}));
        let off = t.storage(&rg, "off", false);
        datastore(&mut t, &rg, &ws, "a", "keyed", "AccountKey");
        datastore(&mut t, &rg, &ws, "b", "ident", "None");
        datastore(&mut t, &rg, &ws, "c", "off", "AccountKey");
        let sas = t.resource(&rg, "Microsoft.Storage/storageAccounts", "sas", json!({"properties": {}}));
        datastore(&mut t, &rg, &ws, "d", "sas", "Sas");
        let (ds, r) = (t.group("ds"), t.user("reader"));
        t.assign(&ds, "AzureML Data Scientist", &ws);
        t.assign(&r, "Reader", &ws);
        let d = t.derive();
        assert!(has(&d, &ds, &keyed, ListKeys));
        assert!(!has(&d, &ds, &ident, ListKeys), "identity-based datastores hold no secret");
        assert!(!has(&d, &ds, &off, ListKeys), "a stored key is useless when shared keys are off");
        assert!(!has(&d, &ds, &sas, ListKeys), "a SAS is not the account key");
        assert!(out(&d, &r).is_empty());
    }

    #[test]
    fn a_read_only_lock_on_the_workspace_stops_listing_datastore_secrets() {
        let mut t = T::new();
        let (rg, data) = (t.rg("rg"), t.rg("data"));
        let ws = t.resource(&rg, "Microsoft.MachineLearningServices/workspaces", "ws", json!({}));
        let keyed = t.resource(&data, "Microsoft.Storage/storageAccounts", "keyed", json!({"properties": {}}));
        datastore(&mut t, &rg, &ws, "a", "keyed", "AccountKey");
        let (ds, o) = (t.group("ds"), t.user("o"));
        t.assign(&ds, "AzureML Data Scientist", &ws);
        t.assign(&o, "Owner", &ws);
        t.lock(&ws, "freeze", "ReadOnly");
        let d = t.derive();
        assert!(!has(&d, &ds, &keyed, ListKeys), "listSecrets is a POST to ARM on the datastore");
        let e = edge(&d, &o, &keyed, ListKeys).unwrap();
        assert_eq!(e.cost, ListKeys.base_cost() + crate::model::LOCK_REMOVAL_COST);
    }
}
