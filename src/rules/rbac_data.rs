//! Data-plane access from RBAC data actions: blob data and Azure OpenAI.

use super::{Context, Hit, Plane, Rule, grant_text, rbac_edge};
use crate::facts::Resource;
use crate::model::{Edge, EdgeKind, NodeKind};

/// (resource type, data action, what it means)
const READS: &[(&str, &str, &str)] = &[
    (
        "microsoft.storage/storageaccounts",
        "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read",
        "read blobs",
    ),
    (
        "microsoft.cognitiveservices/accounts",
        "Microsoft.CognitiveServices/accounts/OpenAI/deployments/chat/completions/action",
        "use the deployed models",
    ),
];
const WRITES: &[(&str, &str, &str)] = &[
    (
        "microsoft.storage/storageaccounts",
        "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write",
        "write blobs (poison training data)",
    ),
    (
        "microsoft.cognitiveservices/accounts",
        "Microsoft.CognitiveServices/accounts/OpenAI/fine-tunes/write",
        "fine-tune the models (poison them)",
    ),
];

pub const READ_DATA: Rule = Rule {
    id: "rbac-read-data",
    edges: &[EdgeKind::ReadData],
    summary: "RBAC data actions that read blob data or use Azure OpenAI models.",
    doc: "What it does: a ReadData edge to each storage account (or blob container, for container-scoped \
assignments) whose blob data the principal's role can read (blobs/read data action: Storage Blob Data \
Reader/Contributor/Owner), and to each AI account whose models it can call (OpenAI chat completions data \
action: Cognitive Services OpenAI User/Contributor, Azure AI Developer). Why it matters: this is the \
training data and model access itself, with no key needed. Management locks do not apply: blob and \
Azure OpenAI requests go to the service's own endpoint, which locks do not cover (Microsoft Learn, \
\"Lock your resources to protect your infrastructure\": a ReadOnly lock on a storage account does not \
protect its data); only a role that must first assign itself the data role is stopped by a ReadOnly \
lock at its scope. Must not fire: for control-plane roles (Contributor, Reader) that have no data \
actions, or when a deny assignment removes the action.",
    derive: derive_read,
};

pub const WRITE_DATA: Rule = Rule {
    id: "rbac-write-data",
    edges: &[EdgeKind::WriteData],
    summary: "RBAC data actions that write blob data or fine-tune Azure OpenAI models.",
    doc: "What it does: a WriteData edge to each storage account (or container) whose blobs the role can \
write (Storage Blob Data Contributor/Owner), and to each AI account whose models it can fine-tune \
(Cognitive Services OpenAI Contributor). Why it matters: writing training data or fine-tuning poisons \
models. Management locks do not apply (data plane, as for rbac-read-data). Must not fire: for \
read-only data roles (Storage Blob Data Reader, Cognitive Services OpenAI User).",
    derive: derive_write,
};

fn derive_read(ctx: &Context, out: &mut Vec<Edge>) {
    derive_data(ctx, out, &READ_DATA, READS);
}

fn derive_write(ctx: &Context, out: &mut Vec<Edge>) {
    derive_data(ctx, out, &WRITE_DATA, WRITES);
}

fn derive_data(ctx: &Context, out: &mut Vec<Edge>, rule: &Rule, table: &[(&str, &str, &str)]) {
    for &(ty, action, meaning) in table {
        let accept = |r: &Resource| r.resource_type == ty;
        for (g, r, how) in ctx.rbac_matches(action, true, accept) {
            let reason = format!("{} allows data action {action}: can {meaning} in {}", grant_text(ctx, g), r.name);
            let hit = Hit { target: &r.id, action, how: &how, plane: Plane::Data };
            out.extend(rbac_edge(ctx, rule, g, hit, reason, vec![]));
        }
        // Assignments scoped below a resource (a blob container) reach only that sub-scope's node.
        if ty != "microsoft.storage/storageaccounts" {
            continue;
        }
        for g in &ctx.grants {
            let scope = &g.assignment.scope;
            let is_container = ctx.node(scope).is_some_and(|n| n.kind == NodeKind::BlobContainer);
            let Some(how) = g.role.grants_data_action(action).filter(|_| is_container) else { continue };
            if ctx.denied(&g.assignment.principal_id, scope, action, true) {
                continue;
            }
            let reason = format!(
                "{} allows data action {action}: can {meaning} in container {}",
                grant_text(ctx, g),
                ctx.name(scope)
            );
            out.extend(rbac_edge(
                ctx,
                rule,
                g,
                Hit { target: scope, action, how: &how, plane: Plane::Data },
                reason,
                vec![],
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::model::EdgeKind::{ReadData, WriteData};
    use crate::rules::testkit::*;
    use serde_json::json;

    #[test]
    fn blob_data_roles_read_and_write() {
        let mut t = T::new();
        let rg = t.rg("rg");
        let sa = t.storage(&rg, "sa", false);
        let (r, w, c) = (t.sp("r"), t.sp("w"), t.sp("c"));
        t.assign(&r, "Storage Blob Data Reader", &sa);
        t.assign(&w, "Storage Blob Data Contributor", &rg);
        t.assign(&c, "Contributor", &sa);
        let d = t.derive();
        assert!(has(&d, &r, &sa, ReadData));
        assert!(!has(&d, &r, &sa, WriteData));
        assert!(has(&d, &w, &sa, ReadData) && has(&d, &w, &sa, WriteData));
        assert!(!has(&d, &c, &sa, ReadData), "Contributor has no data actions");
    }

    #[test]
    fn container_scoped_assignments_reach_the_container_only() {
        let mut t = T::new();
        let rg = t.rg("rg");
        let sa = t.resource(&rg, "Microsoft.Storage/storageAccounts", "sa", json!({}));
        let container = format!("{sa}/blobServices/default/containers/training");
        let p = t.sp("p");
        t.assign(&p, "Storage Blob Data Reader", &container);
        let d = t.derive();
        assert!(has(&d, &p, &container, ReadData));
        assert!(!has(&d, &p, &sa, ReadData));
    }

    #[test]
    fn openai_user_uses_models_but_cannot_fine_tune() {
        let mut t = T::new();
        let rg = t.rg("rg");
        let oai = t.resource(
            &rg,
            "Microsoft.CognitiveServices/accounts",
            "oai",
            json!({"kind": "OpenAI", "properties": {"disableLocalAuth": true}}),
        );
        let (u, c) = (t.sp("u"), t.sp("c"));
        t.assign(&u, "Cognitive Services OpenAI User", &oai);
        t.assign(&c, "Cognitive Services OpenAI Contributor", &oai);
        let d = t.derive();
        assert!(has(&d, &u, &oai, ReadData));
        assert!(!has(&d, &u, &oai, WriteData));
        assert!(has(&d, &c, &oai, WriteData));
    }

    #[test]
    fn locks_do_not_touch_data_actions() {
        let mut t = T::new();
        let rg = t.rg("rg");
        let sa = t.storage(&rg, "sa", false);
        let oai = t.resource(
            &rg,
            "Microsoft.CognitiveServices/accounts",
            "oai",
            json!({"kind": "OpenAI", "properties": {"disableLocalAuth": true}}),
        );
        let (w, f) = (t.sp("w"), t.sp("f"));
        t.assign(&w, "Storage Blob Data Contributor", &sa);
        t.assign(&f, "Cognitive Services OpenAI Contributor", &oai);
        let before = t.derive();
        t.lock(SUB, "sub-freeze", "ReadOnly");
        t.lock(&sa, "sa-freeze", "ReadOnly");
        let after = t.derive();
        for who in [&w, &f] {
            assert_eq!(out(&after, who), out(&before, who), "blob and OpenAI data go to the service, not to ARM");
        }
        assert!(has(&after, &w, &sa, WriteData) && has(&after, &f, &oai, WriteData));
    }

    #[test]
    fn a_read_only_lock_stops_assigning_a_data_role_to_oneself() {
        let mut t = T::new();
        let rg = t.rg("rg");
        let sa = t.storage(&rg, "sa", false);
        let rbac = t.user("rbac");
        t.assign_with(&rbac, "Role Based Access Control Administrator", &rg, Some("@Request[Microsoft.Authorization/roleAssignments:RoleDefinitionId] ForAnyOfAnyValues:GuidEquals {ba92f5b4-2d11-453d-a403-e96b0029c9fe}"));
        assert!(has(&t.derive(), &rbac, &sa, WriteData));
        t.lock(&rg, "freeze", "ReadOnly");
        let d = t.derive();
        assert!(
            !has(&d, &rbac, &sa, WriteData),
            "the role assignment it must create first is an ARM write under the lock"
        );
    }
}
