//! `ExecuteOn` AKS clusters through Azure RBAC for Kubernetes: data actions that create or exec
//! into pods.

use super::{Context, Hit, Plane, Rule, grant_text, rbac_edge};
use crate::facts::{Resource, ResourceDetails};
use crate::model::{Edge, EdgeKind};

/// Kubernetes verbs, as Azure data actions, that run the caller's code in the cluster.
const RUNS_CODE: &[&str] = &[
    "Microsoft.ContainerService/managedClusters/pods/write",
    "Microsoft.ContainerService/managedClusters/pods/exec/action",
    "Microsoft.ContainerService/managedClusters/apps/deployments/write",
    "Microsoft.ContainerService/managedClusters/apps/daemonsets/write",
    "Microsoft.ContainerService/managedClusters/apps/statefulsets/write",
    "Microsoft.ContainerService/managedClusters/apps/replicasets/write",
    "Microsoft.ContainerService/managedClusters/batch/jobs/write",
    "Microsoft.ContainerService/managedClusters/batch/cronjobs/write",
];
/// Downloading a kubeconfig for the cluster's API server.
const KUBECONFIG: &[&str] = &[
    "Microsoft.ContainerService/managedClusters/listClusterUserCredential/action",
    "Microsoft.ContainerService/managedClusters/listClusterAdminCredential/action",
];

pub const RULE: Rule = Rule {
    id: "aks-azure-rbac",
    edges: &[EdgeKind::ExecuteOn],
    summary: "Azure RBAC for Kubernetes roles that create or exec into pods run code in an AKS cluster.",
    doc: "What it does: an ExecuteOn edge to an AKS cluster with Azure RBAC for Kubernetes authorization \
(`properties.aadProfile.enableAzureRBAC: true`) from every principal whose role allows a data action that \
runs its code there: `managedClusters/pods/write` or `pods/exec/action`, or writing deployments, daemon \
sets, stateful sets, replica sets, jobs or cron jobs (Azure Kubernetes Service RBAC Writer, Admin, \
Cluster Admin; Microsoft Learn, \"Use Azure RBAC for Kubernetes authorization\"). Pods then reach the \
kubelet identity (RunCodeAs). Conditional unless the principal can also download a kubeconfig \
(`listClusterUserCredential/action` or `listClusterAdminCredential/action`, e.g. Azure Kubernetes Service \
Cluster User Role), which Microsoft's guide has users do first. Why it matters: data actions are easy \
to overlook in a role review, and a writer in any namespace can schedule a pod that asks the node for \
the kubelet identity's token. Must not fire: for read-only roles (Azure Kubernetes Service RBAC Reader), \
or on clusters without Azure RBAC (the cluster's own Kubernetes RBAC decides there, which azpath does \
not collect).",
    derive,
};

fn derive(ctx: &Context, out: &mut Vec<Edge>) {
    let azure_rbac = |r: &Resource| matches!(r.details, ResourceDetails::Aks { azure_rbac: Some(true), .. });
    for &action in RUNS_CODE {
        for (g, cluster, how) in ctx.rbac_matches(action, true, azure_rbac) {
            let principal = &g.assignment.principal_id;
            let kubeconfig = KUBECONFIG.iter().any(|k| {
                ctx.rbac_matches(k, false, |r: &Resource| r.id == cluster.id)
                    .iter()
                    .any(|(other, _, _)| &other.assignment.principal_id == principal)
            });
            let mut reason = format!(
                "{} allows data action {action} on AKS cluster {} (Azure RBAC for Kubernetes): can run a pod there",
                grant_text(ctx, g),
                cluster.name
            );
            if !kubeconfig {
                reason.push_str(" (conditional: no grant here lets it download the cluster's kubeconfig)");
            }
            // Kubernetes verbs go to the cluster's API server, not to ARM: locks do not apply.
            let hit = Hit { target: &cluster.id, action, how: &how, plane: Plane::Data };
            let Some(e) = rbac_edge(ctx, &RULE, g, hit, reason, vec![]) else { continue };
            let eligible = e.requires_activation;
            let conditional = e.conditional || !kubeconfig;
            out.push(e.with_flags(eligible, conditional));
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::model::EdgeKind::ExecuteOn;
    use crate::rules::testkit::*;
    use serde_json::json;

    fn cluster(t: &mut T, rg: &str, name: &str, azure_rbac: bool) -> String {
        t.resource(rg, "Microsoft.ContainerService/managedClusters", name, json!({
            "identity": {"type": "SystemAssigned", "principalId": format!("cp-{name}")},
            "properties": {"aadProfile": {"managed": true, "enableAzureRBAC": azure_rbac},
              "identityProfile": {"kubeletidentity": {"resourceId": format!("{rg}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{name}-agentpool"), "objectId": format!("kubelet-{name}")}}}}))
    }

    #[test]
    fn rbac_writers_run_pods_and_the_kubeconfig_makes_it_unconditional() {
        let mut t = T::new();
        let rg = t.rg("rg");
        let aks = cluster(&mut t, &rg, "aks", true);
        let writer = t.user("writer");
        t.assign(&writer, "Azure Kubernetes Service RBAC Writer", &aks);
        let full = t.user("full");
        t.assign(&full, "Azure Kubernetes Service RBAC Cluster Admin", &aks);
        t.assign(&full, "Azure Kubernetes Service Cluster User Role", &aks);
        let reader = t.user("reader");
        t.assign(&reader, "Azure Kubernetes Service RBAC Reader", &aks);
        t.assign(&reader, "Azure Kubernetes Service Cluster User Role", &aks);
        let d = t.derive();
        assert!(edge(&d, &writer, &aks, ExecuteOn).unwrap().conditional);
        assert!(!edge(&d, &full, &aks, ExecuteOn).unwrap().conditional);
        assert!(edge(&d, &reader, &aks, ExecuteOn).is_none());
    }

    #[test]
    fn clusters_without_azure_rbac_are_not_authorized_by_data_actions() {
        let mut t = T::new();
        let rg = t.rg("rg");
        let aks = cluster(&mut t, &rg, "aks", false);
        let admin = t.user("admin");
        t.assign(&admin, "Azure Kubernetes Service RBAC Cluster Admin", &aks);
        let d = t.derive();
        assert!(edge(&d, &admin, &aks, ExecuteOn).is_none());
    }
}
