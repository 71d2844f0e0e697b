//! `RunCodeAs` compute -> its managed identity, and `AuthenticatesAs` UAMI -> its service principal.

use super::{Context, Rule, plain_edge};
use crate::facts::{Resource, ResourceDetails};
use crate::model::{Edge, EdgeKind, EvidenceKind};

/// Resource types that run code the attacker can supply, so code there can ask IMDS for a token.
const COMPUTE_TYPES: &[&str] = &[
    "microsoft.compute/virtualmachines",
    "microsoft.compute/virtualmachinescalesets",
    "microsoft.web/sites",
    "microsoft.web/sites/slots",
    "microsoft.logic/workflows",
    "microsoft.automation/automationaccounts",
    "microsoft.datafactory/factories",
    "microsoft.machinelearningservices/workspaces/computes",
    "microsoft.containerservice/managedclusters",
    "microsoft.app/containerapps",
    "microsoft.containerinstance/containergroups",
];

pub fn runs_code(r: &Resource) -> bool {
    COMPUTE_TYPES.contains(&r.resource_type.as_str())
}

pub const RULE: Rule = Rule {
    id: "compute-runs-as-identity",
    edges: &[EdgeKind::RunCodeAs],
    summary: "Code running on a compute resource can get tokens as its managed identities.",
    doc: "What it does: a RunCodeAs edge from each compute resource (VM, scale set, web/function app and \
each of its deployment slots (a slot has its own identity), logic app, automation account, data factory, \
ML compute, AKS, container app/instance) to each managed identity in its `identity` block (the \
system-assigned identity's service principal, each user-assigned identity), and from an AKS cluster to its kubelet identity (not to the cluster's own `identity`, which belongs \
to the control plane and is not reachable from pods). Why it matters: whoever runs code there (ExecuteOn) \
acts as the identity. Must not fire: for resources that do not run user code (storage accounts, key \
vaults, AI accounts with an identity), or for `identity.type` None.",
    derive,
};

pub const UAMI_RULE: Rule = Rule {
    id: "uami-service-principal",
    edges: &[EdgeKind::AuthenticatesAs],
    summary: "Control of a user-assigned identity is control of its service principal.",
    doc: "What it does: an AuthenticatesAs edge from each user-assigned managed identity (the ARM resource) \
to its service principal (`properties.principalId`), which is what role assignments name. Why it \
matters: compute that uses the identity, or a federated credential on it, acts as that service \
principal. When the identity's ARM resource was not collected (a kubelet identity in the node resource \
group, a UAMI in a subscription azpath could not read), the principal id the compute itself reports \
(`identity.userAssignedIdentities[id].principalId`, `identityProfile.kubeletidentity.objectId`) stands \
in for it. Must not fire: for a UAMI whose principal id is unknown.",
    derive: derive_uami,
};

fn derive(ctx: &Context, out: &mut Vec<Edge>) {
    for r in ctx.facts.resources.iter().filter(|r| runs_code(r)) {
        // An AKS cluster's own `identity` is its control plane's, which pods cannot get tokens
        // for; pods reach the kubelet identity (below).
        let own_identity = r.resource_type != "microsoft.containerservice/managedclusters";
        if let Some(p) = r.identity.system_principal_id.as_ref().filter(|_| own_identity) {
            out.push(plain_edge(
                &RULE,
                &r.id,
                p,
                format!("code on {} can get tokens as its system-assigned identity", r.name),
                vec![Context::resource_evidence(
                    EvidenceKind::Identity,
                    r,
                    format!("{} identity.principalId {p}", r.id),
                )],
            ));
        }
        for (uami, _) in r.identity.user_assigned.iter().filter(|_| own_identity) {
            out.push(plain_edge(
                &RULE,
                &r.id,
                uami,
                format!("code on {} can get tokens as user-assigned identity {}", r.name, ctx.name(uami)),
                vec![Context::resource_evidence(
                    EvidenceKind::Identity,
                    r,
                    format!("{} identity.userAssignedIdentities {uami}", r.id),
                )],
            ));
        }
        if let ResourceDetails::Aks { kubelet_identity: Some((uami, _)), .. } = &r.details {
            out.push(plain_edge(
                &RULE,
                &r.id,
                uami,
                format!("pods on AKS cluster {} can get tokens as its kubelet identity {}", r.name, ctx.name(uami)),
                vec![Context::resource_evidence(
                    EvidenceKind::KubeletIdentity,
                    r,
                    format!("{} identityProfile.kubeletidentity {uami}", r.id),
                )],
            ));
        }
    }
}

fn derive_uami(ctx: &Context, out: &mut Vec<Edge>) {
    // Identities named by a compute whose own resource is not in the facts: the compute's identity
    // block gives their principal ids.
    for r in &ctx.facts.resources {
        let kubelet = match &r.details {
            ResourceDetails::Aks { kubelet_identity: Some(k), .. } => Some(k),
            _ => None,
        };
        for (uami, principal) in r.identity.user_assigned.iter().chain(kubelet) {
            let Some(p) = principal else { continue };
            if ctx.resources.contains_key(uami.as_str()) {
                continue;
            }
            out.push(plain_edge(
                &UAMI_RULE,
                uami,
                p,
                format!(
                    "user-assigned identity {} is service principal {p} (as {} reports it; the identity itself was not collected)",
                    ctx.name(uami),
                    r.name
                ),
                vec![Context::resource_evidence(
                    EvidenceKind::PrincipalId,
                    r,
                    format!("{} names identity {uami} with principalId {p}", r.id),
                )],
            ));
        }
    }
    for r in &ctx.facts.resources {
        if let ResourceDetails::UserAssignedIdentity { principal_id: Some(p), .. } = &r.details {
            out.push(plain_edge(
                &UAMI_RULE,
                &r.id,
                p,
                format!("user-assigned identity {} is service principal {p}", r.name),
                vec![Context::resource_evidence(
                    EvidenceKind::PrincipalId,
                    r,
                    format!("{} properties.principalId {p}", r.id),
                )],
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::model::EdgeKind::{AuthenticatesAs, RunCodeAs};
    use crate::rules::testkit::*;
    use serde_json::json;

    #[test]
    fn compute_runs_as_system_and_user_assigned_identities() {
        let mut t = T::new();
        let rg = t.rg("rg");
        let uami = t.resource(
            &rg,
            "Microsoft.ManagedIdentity/userAssignedIdentities",
            "u",
            json!({"properties": {"principalId": "sp-u"}}),
        );
        let vm = t.resource(
            &rg,
            "Microsoft.Compute/virtualMachines",
            "vm",
            json!({"identity": {
            "type": "SystemAssigned, UserAssigned", "principalId": "sp-vm",
            "userAssignedIdentities": {uami.clone(): {"principalId": "sp-u"}}}}),
        );
        let d = t.derive();
        assert!(has(&d, &vm, "sp-vm", RunCodeAs));
        assert!(has(&d, &vm, &uami, RunCodeAs));
        assert!(has(&d, &uami, "sp-u", AuthenticatesAs));
    }

    #[test]
    fn aks_pods_get_the_kubelet_identity_not_the_control_plane_identity() {
        let mut t = T::new();
        let rg = t.rg("rg");
        let kubelet = t.resource(
            &rg,
            "Microsoft.ManagedIdentity/userAssignedIdentities",
            "kubelet",
            json!({"properties": {"principalId": "sp-kubelet"}}),
        );
        let aks = t.resource(&rg, "Microsoft.ContainerService/managedClusters", "aks", json!({
            "identity": {"type": "SystemAssigned", "principalId": "sp-control-plane"},
            "properties": {"identityProfile": {"kubeletidentity": {"resourceId": kubelet.clone(), "objectId": "sp-kubelet"}}}}));
        let d = t.derive();
        assert!(has(&d, &aks, &kubelet, RunCodeAs));
        assert!(!has(&d, &aks, "sp-control-plane", RunCodeAs));
    }

    #[test]
    fn non_compute_identities_are_not_code_execution() {
        let mut t = T::new();
        let rg = t.rg("rg");
        let sa = t.resource(
            &rg,
            "Microsoft.Storage/storageAccounts",
            "sa",
            json!({"identity": {"type": "SystemAssigned", "principalId": "sp-sa"}}),
        );
        let none = t.resource(&rg, "Microsoft.Compute/virtualMachines", "vm", json!({"identity": {"type": "None"}}));
        let d = t.derive();
        assert!(!has(&d, &sa, "sp-sa", RunCodeAs));
        assert!(out(&d, &none).is_empty());
    }

    #[test]
    fn identities_whose_resource_was_not_collected_are_reached_by_the_principal_id_the_compute_reports() {
        // The kubelet identity lives in the cluster's node resource group, which was not collected;
        // so does a VM's user-assigned identity from another subscription.
        let mut t = T::new();
        let rg = t.rg("rg");
        let kubelet = format!(
            "{SUB}/resourceGroups/MC_rg_aks/providers/Microsoft.ManagedIdentity/userAssignedIdentities/aks-agentpool"
        );
        let aks = t.resource(&rg, "Microsoft.ContainerService/managedClusters", "aks", json!({
            "identity": {"type": "SystemAssigned", "principalId": "sp-control-plane"},
            "properties": {"identityProfile": {"kubeletidentity": {"resourceId": kubelet.clone(), "objectId": "sp-kubelet"}}}}));
        let remote =
            "/subscriptions/other/resourceGroups/r/providers/Microsoft.ManagedIdentity/userAssignedIdentities/far";
        let vm = t.resource(
            &rg,
            "Microsoft.Compute/virtualMachines",
            "vm",
            json!({"identity": {
            "type": "UserAssigned", "userAssignedIdentities": {remote: {"principalId": "sp-far"}}}}),
        );
        let unknown =
            "/subscriptions/other/resourceGroups/r/providers/Microsoft.ManagedIdentity/userAssignedIdentities/nameless";
        let vm2 = t.resource(
            &rg,
            "Microsoft.Compute/virtualMachines",
            "vm2",
            json!({"identity": {
            "type": "UserAssigned", "userAssignedIdentities": {unknown: {}}}}),
        );
        let d = t.derive();
        let norm = crate::facts::ids::norm;
        assert!(has(&d, &aks, &kubelet, RunCodeAs));
        assert!(has(&d, &kubelet, "sp-kubelet", AuthenticatesAs));
        assert!(has(&d, &vm, remote, RunCodeAs));
        assert!(has(&d, remote, "sp-far", AuthenticatesAs));
        // Without a principal id nothing names the service principal: the path stops at the identity.
        assert!(has(&d, &vm2, unknown, RunCodeAs));
        assert!(out(&d, &norm(unknown)).is_empty());
    }
}
