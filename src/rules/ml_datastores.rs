//! ML datastores that store an account key or SAS: whoever can read the datastore's secrets holds
//! the storage account's key.

use super::{Context, Hit, Rule, grant_text, rbac_edge};
use crate::facts::{Resource, ResourceDetails, ids::arm_parent};
use crate::model::{Edge, EdgeKind, Evidence};

const LIST_SECRETS: &str = "Microsoft.MachineLearningServices/workspaces/datastores/listsecrets/action";

pub const RULE: Rule = Rule {
    id: "ml-datastore-list-secrets",
    edges: &[EdgeKind::ListKeys],
    summary: "Reading an ML datastore's stored account key or SAS gives the storage account's data.",
    doc: "What it does: a ListKeys edge from the principal to a storage account when its role allows \
Microsoft.MachineLearningServices/workspaces/datastores/listsecrets/action on an ML workspace (AzureML \
Data Scientist, Azure AI Developer, Contributor) and one of the workspace's datastores points at that \
account with credentialsType AccountKey or Sas, and the account still accepts shared keys. Why it \
matters: data scientists often get the storage key this way without any role on the storage account. \
Must not fire: for identity-based datastores (credentialsType None), when the account has \
allowSharedKeyAccess false (the stored key no longer works), or without listsecrets.",
    derive,
};

fn derive(ctx: &Context, out: &mut Vec<Edge>) {
    let workspaces = |r: &Resource| r.resource_type == "microsoft.machinelearningservices/workspaces";
    for (g, ws, how) in ctx.rbac_matches(LIST_SECRETS, false, workspaces) {
        for ds in ctx.facts.resources.iter().filter(|d| arm_parent(&d.id).as_deref() == Some(ws.id.as_str())) {
            let ResourceDetails::MlDatastore { account_name: Some(account), credentials_type: Some(cred), .. } =
                &ds.details
            else {
                continue;
            };
            if !(cred.eq_ignore_ascii_case("AccountKey") || cred.eq_ignore_ascii_case("Sas")) {
                continue;
            }
            let storage = ctx.facts.resources.iter().find(|r| {
                r.name.eq_ignore_ascii_case(account)
                    && matches!(r.details, ResourceDetails::StorageAccount { allow_shared_key_access } if allow_shared_key_access != Some(false))
            });
            let Some(storage) = storage else { continue };
            let reason = format!(
                "{} allows {LIST_SECRETS}: datastore {} of workspace {} stores a {cred} credential for {}",
                grant_text(ctx, g),
                ds.name,
                ws.name,
                storage.name
            );
            let extra = vec![
                Evidence::new("datastore", format!("{} credentials.credentialsType = {cred}", ds.id)),
                Evidence::new("resource property", format!("{}: allowSharedKeyAccess is not false", storage.id)),
            ];
            out.push(rbac_edge(
                ctx,
                &RULE,
                g,
                Hit { target: &storage.id, action: LIST_SECRETS, how: &how },
                reason,
                extra,
            ));
        }
    }
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
    fn account_key_datastores_leak_the_key_to_data_scientists() {
        let mut t = T::new();
        let rg = t.rg("rg");
        let ws = t.resource(&rg, "Microsoft.MachineLearningServices/workspaces", "ws", json!({}));
        let keyed = t.resource(&rg, "Microsoft.Storage/storageAccounts", "keyed", json!({"properties": {}}));
        let ident = t.resource(&rg, "Microsoft.Storage/storageAccounts", "ident", json!({"properties": {}}));
        let off = t.resource(
            &rg,
            "Microsoft.Storage/storageAccounts",
            "off",
            json!({"properties": {"allowSharedKeyAccess": false}}),
        );
        datastore(&mut t, &rg, &ws, "a", "keyed", "AccountKey");
        datastore(&mut t, &rg, &ws, "b", "ident", "None");
        datastore(&mut t, &rg, &ws, "c", "off", "Sas");
        let (ds, r) = (t.group("ds"), t.user("reader"));
        t.assign(&ds, "AzureML Data Scientist", &ws);
        t.assign(&r, "Reader", &ws);
        let d = t.derive();
        assert!(has(&d, &ds, &keyed, ListKeys));
        assert!(!has(&d, &ds, &ident, ListKeys), "identity-based datastores hold no secret");
        assert!(!has(&d, &ds, &off, ListKeys), "a stored key is useless when shared keys are off");
        assert!(out(&d, &r).is_empty());
    }
}
