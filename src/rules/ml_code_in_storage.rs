//! `ExecuteOn` through code that lives in storage: an ML workspace runs scripts from its default
//! storage account.

use super::{Context, Hit, Plane, RbacGrant, Rule, grant_text, rbac_edge};
use crate::facts::{Resource, ResourceDetails};
use crate::model::{Edge, EdgeKind, EvidenceKind};
use crate::rbac::Grant;

const BLOB_WRITE: &str = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write";
pub(super) const LIST_KEYS: &str = "Microsoft.Storage/storageAccounts/listkeys/action";
const ML_COMPUTES: &str = "microsoft.machinelearningservices/workspaces/computes";

pub const RULE: Rule = Rule {
    id: "ml-code-in-storage",
    edges: &[EdgeKind::ExecuteOn],
    summary: "Write access to an ML workspace's default storage rewrites the scripts its computes run.",
    doc: "What it does: a conditional ExecuteOn edge to each compute (with a managed identity) of an Azure \
Machine Learning workspace from every principal that can write blobs in the workspace's default storage \
account (`properties.storageAccount`): the blob write data action, or `listKeys` while shared key access \
is allowed (the account key writes anything). Azure ML keeps job snapshots, pipeline components and the \
invoker scripts its computes execute in that account, so whoever rewrites them runs code as the \
compute's identity the next time a job or pipeline runs from them (Orca Security, \"Azure Machine \
Learning privilege escalation\", 2025; Microsoft Learn, \"Secure code best practices with Azure \
Machine Learning\": only run scripts from trusted sources). Conditional: it takes effect when a job \
runs; azpath does not see schedules. Why it matters: Storage Blob Data Contributor on the workspace \
storage, a common grant for data scientists and pipelines, is code execution as the training \
identity. Must not fire: for read-only data roles (Storage Blob Data Reader), for `listKeys` on an account \
with `allowSharedKeyAccess: false`, for storage accounts no workspace uses as its default, or for \
computes without an identity.",
    derive,
};

fn derive(ctx: &Context, out: &mut Vec<Edge>) {
    for ws in &ctx.facts.resources {
        let ResourceDetails::MlWorkspace { storage_account: Some(storage), .. } = &ws.details else { continue };
        let Some(&account) = ctx.resources.get(storage.as_str()) else { continue };
        let computes: Vec<&Resource> = ctx
            .child_resources(&ws.id)
            .filter(|c| c.resource_type == ML_COMPUTES && c.has_managed_identity())
            .collect();
        if computes.is_empty() {
            continue;
        }
        for (g, how, action) in &blob_writers(ctx, account, None) {
            let action = *action;
            for compute in &computes {
                let reason = format!(
                    "{} allows {action} on {}, the default storage of ML workspace {}: can rewrite the scripts compute {} runs (when a job next runs)",
                    grant_text(ctx, g),
                    account.name,
                    ws.name,
                    compute.name
                );
                let extra = vec![
                    Context::resource_evidence(
                        EvidenceKind::ResourceProperty,
                        ws,
                        format!("{}: properties.storageAccount = {}", ws.id, account.id),
                    ),
                    Context::resource_evidence(
                        EvidenceKind::ComputeOfWorkspace,
                        compute,
                        format!("{} is a compute of {}", compute.id, ws.id),
                    ),
                ];
                // Blob writes go to the blob endpoint; listKeys is a POST to ARM on the account.
                let plane = if action == LIST_KEYS { Plane::Arm(&account.id) } else { Plane::Data };
                let hit = Hit { target: &compute.id, action, how, plane };
                let Some(e) = rbac_edge(ctx, &RULE, g, hit, reason, extra) else { continue };
                let eligible = e.requires_activation;
                out.push(e.with_flags(eligible, true));
            }
        }
    }
}

/// Every grant that can write blobs in `account` (or, given, in its `container`): the blob write
/// data action on the account or on that container, or `listKeys` on the account while shared key
/// access is allowed (the account key writes anything). With the action that matched.
pub(super) fn blob_writers<'c, 'f>(
    ctx: &'c Context<'f>,
    account: &Resource,
    container: Option<&str>,
) -> Vec<(&'c RbacGrant<'f>, Grant, &'static str)> {
    let is_account = |r: &Resource| r.id == account.id;
    let mut grants: Vec<_> =
        ctx.rbac_matches(BLOB_WRITE, true, is_account).into_iter().map(|(g, _, how)| (g, how, BLOB_WRITE)).collect();
    // A grant on the container itself (a scope beneath the account that is no resource).
    if let Some(container) = container {
        let scope = format!("{}/blobservices/default/containers/{}", account.id, container.to_ascii_lowercase());
        for g in &ctx.grants {
            if g.assignment.scope.trim_end_matches('/') != scope {
                continue;
            }
            let Some(how) = g.role.grants_data_action(BLOB_WRITE) else { continue };
            if ctx.denied(&g.assignment.principal_id, &account.id, BLOB_WRITE, true) {
                continue;
            }
            grants.push((g, how, BLOB_WRITE));
        }
    }
    if !matches!(account.details, ResourceDetails::StorageAccount { allow_shared_key_access: Some(false) }) {
        grants
            .extend(ctx.rbac_matches(LIST_KEYS, false, is_account).into_iter().map(|(g, _, how)| (g, how, LIST_KEYS)));
    }
    grants
}

#[cfg(test)]
mod tests {
    use crate::model::EdgeKind::ExecuteOn;
    use crate::rules::testkit::*;
    use serde_json::json;

    fn workspace(t: &mut T, shared_key: bool) -> (String, String, String) {
        let rg = t.rg("rg");
        let sa = t.storage(&rg, "stws", shared_key);
        let other = t.storage(&rg, "stother", true);
        let ws = t.resource(
            &rg,
            "Microsoft.MachineLearningServices/workspaces",
            "mlw",
            json!({"properties": {"storageAccount": sa}}),
        );
        t.push_sp("mi-compute", "cluster", "ManagedIdentity");
        let compute = format!("{ws}/computes/cluster");
        t.resource(&rg, "Microsoft.MachineLearningServices/workspaces", "mlw/computes/cluster", json!({
            "id": compute, "type": "Microsoft.MachineLearningServices/workspaces/computes",
            "identity": {"type": "SystemAssigned", "principalId": "mi-compute"}, "properties": {"computeType": "AmlCompute"}}));
        let _ = other;
        (sa, ws, compute)
    }

    #[test]
    fn blob_writers_and_key_listers_of_the_workspace_storage_run_code_on_its_computes() {
        let mut t = T::new();
        let (sa, _, compute) = workspace(&mut t, true);
        let writer = t.user("writer");
        t.assign(&writer, "Storage Blob Data Contributor", &sa);
        let keys = t.user("keys");
        t.assign(&keys, "Storage Account Key Operator Service Role", &sa);
        let reader = t.user("reader");
        t.assign(&reader, "Storage Blob Data Reader", &sa);
        let d = t.derive();
        let e = edges(&d, &writer, &compute).into_iter().find(|e| e.rule.as_ref() == "ml-code-in-storage").unwrap();
        assert!(e.kind == ExecuteOn && e.conditional, "{e:?}");
        assert!(edges(&d, &keys, &compute).iter().any(|e| e.rule.as_ref() == "ml-code-in-storage"));
        assert!(edges(&d, &reader, &compute).is_empty(), "a reader rewrites nothing");
    }

    #[test]
    fn no_shared_key_no_key_path_and_other_accounts_do_not_count() {
        let mut t = T::new();
        let (sa, _, compute) = workspace(&mut t, false);
        let keys = t.user("keys");
        t.assign(&keys, "Storage Account Key Operator Service Role", &sa);
        let elsewhere = t.user("elsewhere");
        let other = format!("{}/providers/Microsoft.Storage/storageAccounts/stother", t.rg("rg"));
        t.assign(&elsewhere, "Storage Blob Data Contributor", &other);
        let d = t.derive();
        assert!(edges(&d, &keys, &compute).is_empty());
        assert!(edges(&d, &elsewhere, &compute).is_empty());
    }
}
