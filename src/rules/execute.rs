//! `ExecuteOn`: rights that let a principal run its own code on a compute resource.

use super::run_as::runs_code;
use super::{Context, Hit, Rule, grant_text, rbac_edge};
use crate::facts::{Resource, ResourceIdentity};
use crate::model::{Edge, EdgeKind, EvidenceKind};

/// (resource type, the ways to run code there, how). Each way is a list of actions that must all be
/// granted (by the same role assignment), e.g. write a runbook *and* start a job.
const WAYS: &[(&str, &[&[&str]], &str)] = &[
    (
        "microsoft.compute/virtualmachines",
        &[
            &["Microsoft.Compute/virtualMachines/runCommand/action"],
            &["Microsoft.Compute/virtualMachines/runCommands/write"],
            &["Microsoft.Compute/virtualMachines/extensions/write"],
        ],
        "run a command on the VM",
    ),
    (
        "microsoft.compute/virtualmachinescalesets",
        &[
            &["Microsoft.Compute/virtualMachineScaleSets/virtualMachines/runCommand/action"],
            &["Microsoft.Compute/virtualMachineScaleSets/extensions/write"],
        ],
        "run a command on the scale set's instances",
    ),
    (
        "microsoft.web/sites",
        &[
            &["Microsoft.Web/sites/write"],
            &["Microsoft.Web/sites/config/write"],
            // The SCM (Kudu) site with a Microsoft Entra token: zip deploy, the command API.
            &["Microsoft.Web/sites/publish/Action"],
        ],
        "deploy code to the app",
    ),
    (
        "microsoft.web/sites/slots",
        &[
            &["Microsoft.Web/sites/slots/write"],
            &["Microsoft.Web/sites/slots/config/write"],
            &["Microsoft.Web/sites/slots/publish/Action"],
        ],
        "deploy code to the deployment slot",
    ),
    ("microsoft.logic/workflows", &[&["Microsoft.Logic/workflows/write"]], "change the workflow"),
    (
        "microsoft.automation/automationaccounts",
        &[&[
            "Microsoft.Automation/automationAccounts/runbooks/write",
            "Microsoft.Automation/automationAccounts/jobs/write",
        ]],
        "write and run a runbook",
    ),
    (
        "microsoft.datafactory/factories",
        &[&[
            "Microsoft.DataFactory/factories/pipelines/write",
            "Microsoft.DataFactory/factories/pipelines/createrun/action",
        ]],
        "write and run a pipeline",
    ),
    (
        "microsoft.containerservice/managedclusters",
        &[&["Microsoft.ContainerService/managedClusters/runcommand/action"]],
        "run a command in the cluster",
    ),
    ("microsoft.app/containerapps", &[&["Microsoft.App/containerApps/write"]], "deploy a new revision"),
    (
        "microsoft.containerinstance/containergroups",
        &[
            &["Microsoft.ContainerInstance/containerGroups/containers/exec/action"],
            &["Microsoft.ContainerInstance/containerGroups/write"],
        ],
        "exec into or replace the containers",
    ),
];

/// The ways to run code on compute of this type (each a list of actions one grant must all allow).
pub(super) fn ways(resource_type: &str) -> &'static [&'static [&'static str]] {
    WAYS.iter().find(|(ty, _, _)| *ty == resource_type).map_or(&[], |(_, ways, _)| ways)
}

const ML_JOB: &str = "Microsoft.MachineLearningServices/workspaces/jobs/write";
const ML_COMPUTES: &str = "microsoft.machinelearningservices/workspaces/computes";

fn has_identity(i: &ResourceIdentity) -> bool {
    i.system_principal_id.is_some() || !i.user_assigned.is_empty()
}

pub const RULE: Rule = Rule {
    id: "rbac-execute-on-compute",
    edges: &[EdgeKind::ExecuteOn],
    summary: "Rights that run the principal's code on compute that has a managed identity.",
    doc: "What it does: an ExecuteOn edge to each compute resource with a managed identity beneath an \
assignment whose role allows running code there: VM run command or extensions (Virtual Machine \
Contributor), web/function app write, config write or publish (`sites/publish/Action`: the SCM/Kudu site \
with a Microsoft Entra token; Website Contributor), the same on a deployment slot (`sites/slots/...`, the \
slot's own identity), automation runbook write plus job start \
(Automation Contributor), logic app write, data factory pipeline write plus run, AKS run command, container app and \
container instance write/exec, and ML job submission (`workspaces/jobs/write`, AzureML Data Scientist) \
on a workspace, which runs on any of its computes. Why it matters: the code then acts as the compute's \
identity (RunCodeAs). Must not fire: on compute without a managed identity (no identity to gain), for \
Reader, for AzureML Compute Operator alone (manages computes but cannot submit jobs), for App Service plan \
rights (Web Plan Contributor's `serverFarms/*` manages the plan, not the code of its apps), or when a deny \
assignment removes the action.",
    derive,
};

fn derive(ctx: &Context, out: &mut Vec<Edge>) {
    for &(ty, ways, how_text) in WAYS {
        let accept = |r: &Resource| r.resource_type == ty && runs_code(r) && has_identity(&r.identity);
        for way in ways {
            let (action, also) = (way[0], &way[1..]);
            for (g, r, how) in ctx.rbac_matches(action, false, accept) {
                let all = also.iter().all(|a| {
                    g.role.grants_action(a).is_some() && !ctx.denied(&g.assignment.principal_id, &r.id, a, false)
                });
                if !all {
                    continue;
                }
                let reason = format!("{} allows {action}: can {how_text} {}", grant_text(ctx, g), r.name);
                out.push(rbac_edge(ctx, &RULE, g, Hit { target: &r.id, action, how: &how }, reason, vec![]));
            }
        }
    }
    // ML: a job submitted to a workspace runs on the compute the submitter names.
    let workspaces = |r: &Resource| r.resource_type == "microsoft.machinelearningservices/workspaces";
    for (g, ws, how) in ctx.rbac_matches(ML_JOB, false, workspaces) {
        for compute in
            ctx.child_resources(&ws.id).filter(|c| c.resource_type == ML_COMPUTES && has_identity(&c.identity))
        {
            let reason = format!(
                "{} allows {ML_JOB}: can submit a job that runs on compute {} of workspace {}",
                grant_text(ctx, g),
                compute.name,
                ws.name
            );
            let extra = vec![Context::resource_evidence(
                EvidenceKind::ComputeOfWorkspace,
                compute,
                format!("{} is a compute of {}", compute.id, ws.id),
            )];
            out.push(rbac_edge(ctx, &RULE, g, Hit { target: &compute.id, action: ML_JOB, how: &how }, reason, extra));
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::model::EdgeKind::ExecuteOn;
    use crate::rules::testkit::*;
    use serde_json::json;

    #[test]
    fn vm_contributor_and_website_contributor_run_code() {
        let mut t = T::new();
        let rg = t.rg("rg");
        let vm = t.resource(
            &rg,
            "Microsoft.Compute/virtualMachines",
            "vm",
            json!({"identity": {"type": "SystemAssigned", "principalId": "sp-vm"}}),
        );
        let app = t.resource(
            &rg,
            "Microsoft.Web/sites",
            "func",
            json!({"kind": "functionapp", "identity": {"type": "SystemAssigned", "principalId": "sp-func"}}),
        );
        let (h, a) = (t.user("henry"), t.user("alice"));
        t.assign(&h, "Virtual Machine Contributor", &vm);
        t.assign(&a, "Website Contributor", &app);
        let d = t.derive();
        assert!(has(&d, &h, &vm, ExecuteOn));
        assert!(has(&d, &a, &app, ExecuteOn));
        assert!(!has(&d, &h, &app, ExecuteOn));
    }

    #[test]
    fn writing_a_runbook_without_starting_it_is_not_code_execution() {
        let mut t = T::new();
        let rg = t.rg("rg");
        let aa = t.resource(
            &rg,
            "Microsoft.Automation/automationAccounts",
            "aa",
            json!({"identity": {"type": "SystemAssigned", "principalId": "sp-aa"}}),
        );
        let write_only =
            t.custom_role("Runbook author", &["Microsoft.Automation/automationAccounts/runbooks/write"], &[]);
        let (w, c) = (t.user("w"), t.user("c"));
        t.assign(&w, &write_only, &aa);
        t.assign(&c, "Automation Contributor", &aa);
        let d = t.derive();
        assert!(!has(&d, &w, &aa, ExecuteOn));
        assert!(has(&d, &c, &aa, ExecuteOn));
    }

    #[test]
    fn compute_without_identity_or_reader_is_no_edge() {
        let mut t = T::new();
        let rg = t.rg("rg");
        let vm = t.resource(&rg, "Microsoft.Compute/virtualMachines", "vm", json!({}));
        let with_id = t.resource(
            &rg,
            "Microsoft.Compute/virtualMachines",
            "vm2",
            json!({"identity": {"type": "SystemAssigned", "principalId": "sp-vm2"}}),
        );
        let (h, r) = (t.user("h"), t.user("r"));
        t.assign(&h, "Virtual Machine Contributor", &vm);
        t.assign(&r, "Reader", &rg);
        let d = t.derive();
        assert!(out(&d, &h).is_empty());
        assert!(!has(&d, &r, &with_id, ExecuteOn));
    }

    #[test]
    fn data_scientists_run_jobs_on_workspace_computes() {
        let mut t = T::new();
        let rg = t.rg("rg");
        let ws = t.resource(&rg, "Microsoft.MachineLearningServices/workspaces", "ws", json!({}));
        let compute = format!("{ws}/computes/gpu");
        t.resource(&rg, "Microsoft.MachineLearningServices/workspaces", "ws/computes/gpu", json!({
            "id": compute, "type": "Microsoft.MachineLearningServices/workspaces/computes",
            "identity": {"type": "SystemAssigned", "principalId": "sp-gpu"}, "properties": {"computeType": "AmlCompute"}}));
        let (ds, op) = (t.group("ds"), t.user("op"));
        t.assign(&ds, "AzureML Data Scientist", &ws);
        t.assign(&op, "AzureML Compute Operator", &ws);
        let d = t.derive();
        assert!(has(&d, &ds, &compute, ExecuteOn));
        assert!(!has(&d, &op, &compute, ExecuteOn));
    }
}
