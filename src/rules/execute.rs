//! `ExecuteOn`: rights that let a principal run its own code on a compute resource.

use super::run_as::runs_code;
use super::{Context, Hit, Plane, RbacGrant, Rule, grant_text, rbac_edge};
use crate::facts::Resource;
use crate::model::{Edge, EdgeKind, EvidenceKind, FastMap, FastSet};
use crate::rbac::Grant;

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
        &[&["Microsoft.Web/sites/write"], &["Microsoft.Web/sites/config/write"]],
        "deploy code to the app",
    ),
    (
        "microsoft.web/sites/slots",
        &[&["Microsoft.Web/sites/slots/write"], &["Microsoft.Web/sites/slots/config/write"]],
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

/// Deploying to a web or function app through its Kudu (SCM) site with a Microsoft Entra token
/// needs this action (Learn: "Kudu service overview", RBAC permissions required to access Kudu).
/// Kudu is the app's own endpoint, not ARM, so management locks do not stop it.
/// Apps and slots, with the action their Kudu site takes (zip deploy, the command API).
const KUDU_PUBLISH: &[(&str, &str)] = &[
    ("microsoft.web/sites", "Microsoft.Web/sites/publish/Action"),
    ("microsoft.web/sites/slots", "Microsoft.Web/sites/slots/publish/Action"),
];
/// The ways to run code on compute of this type (each a list of actions one grant must all allow).
pub(super) fn ways(resource_type: &str) -> &'static [&'static [&'static str]] {
    WAYS.iter().find(|(ty, _, _)| *ty == resource_type).map_or(&[], |(_, ways, _)| ways)
}

const ML_JOB: &str = "Microsoft.MachineLearningServices/workspaces/jobs/write";
const ML_COMPUTES: &str = "microsoft.machinelearningservices/workspaces/computes";

pub const RULE: Rule = Rule {
    id: "rbac-execute-on-compute",
    edges: &[EdgeKind::ExecuteOn],
    summary: "Rights that run the principal's code on compute that has a managed identity.",
    doc: concat!(
        "What it does: an ExecuteOn edge to each compute resource with a managed identity beneath an \
assignment whose role allows running code there: VM run command or extensions (Virtual Machine \
Contributor), web/function app write, config write or publish (`sites/publish/Action`: the SCM/Kudu site \
with a Microsoft Entra token; Website Contributor), the same on a deployment slot (`sites/slots/...`, the \
slot's own identity), automation runbook write plus job start \
(Automation Contributor), logic app write, data factory pipeline write plus run, AKS run command, container app and \
container instance write/exec, and ML job submission (`workspaces/jobs/write`, AzureML Data Scientist) \
on a workspace, which runs on any of its computes (the job is created through ARM on the workspace, so \
the workspace's locks count). One edge per role assignment and compute: where the role allows several \
of these ways, the edge names the first in the order above (run command before extensions), unless a \
role-definition condition qualifies that way and not a later one.",
        read_only_lock_doc!(),
        " Microsoft names two cases: a ReadOnly lock stops starting or restarting VMs and starting \
runbooks. Web and function apps are the exception: their Kudu (SCM) site takes code with an Entra token \
from a role with `Microsoft.Web/sites/publish/Action` (Website Contributor, Contributor, Owner; Learn: \
\"Kudu service overview\", https://learn.microsoft.com/azure/app-service/resources-kudu), and Kudu is the \
app's own endpoint, not ARM, so a lock does not stop it: that way gives the edge where no unlocked ARM \
way does. Why it matters: the code then acts as the compute's identity (RunCodeAs). Must not fire: on \
compute without a managed identity (no identity to gain), for Reader, for AzureML Compute Operator alone \
(manages computes but cannot submit jobs), for App Service plan rights (Web Plan Contributor's \
`serverFarms/*` manages the plan, not the code of its apps), when a deny assignment removes the action, \
or (except through Kudu) under a ReadOnly lock the principal cannot delete."
    ),
    derive,
};

fn derive(ctx: &Context, out: &mut Vec<Edge>) {
    // (assignment, role, resource) with a way through ARM that no ReadOnly lock stands in.
    let mut open: FastSet<(&str, &str, &str)> = FastSet::default();
    for &(ty, ways, how_text) in WAYS {
        let accept = |r: &Resource| r.resource_type == ty && runs_code(r) && r.has_managed_identity();
        // One way per grant and resource: the first (in `ways` order) that no role-definition
        // condition qualifies, else the first. The other ways of the same grant name the same facts
        // (the assignment, the scope, the same locks) at no lower cost, so `finish` would only merge
        // them away; a VM under a Contributor assignment would otherwise make three edges, each with
        // its own evidence, to keep one.
        let mut chosen: Vec<(&RbacGrant, &Resource, Grant, &str)> = Vec::new();
        let mut chosen_at: FastMap<(*const RbacGrant, &str), usize> = FastMap::default();
        for way in ways {
            let (action, also) = (way[0], &way[1..]);
            for (g, r, how) in ctx.rbac_matches(action, false, accept) {
                let all = also.iter().all(|a| {
                    g.role.grants_action(a).is_some() && !ctx.denied(&g.assignment.principal_id, &r.id, a, false)
                });
                if !all {
                    continue;
                }
                match chosen_at.entry((std::ptr::from_ref(g), r.id.as_str())) {
                    std::collections::hash_map::Entry::Vacant(v) => {
                        v.insert(chosen.len());
                        chosen.push((g, r, how, action));
                    }
                    std::collections::hash_map::Entry::Occupied(o) => {
                        let first = &mut chosen[*o.get()];
                        if first.2.conditional && !how.conditional {
                            *first = (g, r, how, action);
                        }
                    }
                }
            }
        }
        for (g, r, how, action) in chosen {
            let reason = format!("{} allows {action}: can {how_text} {}", grant_text(ctx, g), r.name);
            let hit = Hit { target: &r.id, action, how: &how, plane: Plane::Arm(&r.id) };
            if let Some(e) = rbac_edge(ctx, &RULE, g, hit, reason, vec![]) {
                if !e.removes_lock() {
                    open.insert((g.assignment.id.as_str(), g.role.id.as_str(), r.id.as_str()));
                }
                out.push(e);
            }
        }
    }
    // Kudu: the way a ReadOnly lock does not close. Only where ARM gave no unlocked way, so the
    // usual edge (and its evidence) stays the ARM one.
    for &(ty, publish) in KUDU_PUBLISH {
        let web = |r: &Resource| r.resource_type == ty && runs_code(r) && r.has_managed_identity();
        for (g, r, how) in ctx.rbac_matches(publish, false, web) {
            if open.contains(&(g.assignment.id.as_str(), g.role.id.as_str(), r.id.as_str())) {
                continue;
            }
            let reason = format!(
                "{} allows {publish}: can deploy code to {} through its Kudu (SCM) site with an Entra token",
                grant_text(ctx, g),
                r.name
            );
            let hit = Hit { target: &r.id, action: publish, how: &how, plane: Plane::Data };
            out.extend(rbac_edge(ctx, &RULE, g, hit, reason, vec![]));
        }
    }
    // ML: a job submitted to a workspace runs on the compute the submitter names.
    let workspaces = |r: &Resource| r.resource_type == "microsoft.machinelearningservices/workspaces";
    for (g, ws, how) in ctx.rbac_matches(ML_JOB, false, workspaces) {
        for compute in
            ctx.child_resources(&ws.id).filter(|c| c.resource_type == ML_COMPUTES && c.has_managed_identity())
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
            // The job is created through ARM on the workspace.
            let hit = Hit { target: &compute.id, action: ML_JOB, how: &how, plane: Plane::Arm(&ws.id) };
            out.extend(rbac_edge(ctx, &RULE, g, hit, reason, extra));
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::model::EdgeKind::ExecuteOn;
    use crate::rules::testkit::*;
    use serde_json::json;

    /// A VM in `rg` with a system-assigned identity (service principal `principal`).
    fn vm_with_identity(t: &mut T, rg: &str, name: &str, principal: &str) -> String {
        t.resource(
            rg,
            "Microsoft.Compute/virtualMachines",
            name,
            json!({"identity": {"type": "SystemAssigned", "principalId": principal}}),
        )
    }

    #[test]
    fn vm_contributor_and_website_contributor_run_code() {
        let mut t = T::new();
        let rg = t.rg("rg");
        let vm = vm_with_identity(&mut t, &rg, "vm", "sp-vm");
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

    /// One edge per grant and compute, naming the first way in `WAYS` the grant allows (run
    /// command, not extensions, for a VM), unless a role-definition condition qualifies that way
    /// and not a later one: then the later one, at the unconditional cost.
    #[test]
    fn a_grant_of_several_ways_names_the_first_unconditional_one() {
        let mut t = T::new();
        let rg = t.rg("rg");
        let vm = vm_with_identity(&mut t, &rg, "vm", "sp-vm");
        let (h, c) = (t.user("henry"), t.user("carl"));
        t.assign(&h, "Virtual Machine Contributor", &vm);
        let qualified = t.custom_role_blocks(
            "Run command under a condition",
            vec![
                json!({"actions": ["Microsoft.Compute/virtualMachines/runCommand/action"], "notActions": [],
                       "dataActions": [], "notDataActions": [], "condition": "@Resource[x] StringEquals 'y'",
                       "conditionVersion": "2.0"}),
                json!({"actions": ["Microsoft.Compute/virtualMachines/extensions/write"], "notActions": [],
                       "dataActions": [], "notDataActions": []}),
            ],
        );
        t.assign(&c, &qualified, &vm);
        let d = t.derive();
        let named = |p: &str| {
            let e = edge(&d, p, &vm, ExecuteOn).unwrap();
            (e.evidence_value(crate::model::EvidenceKind::MatchedAction).unwrap().into_owned(), e.conditional)
        };
        let (action, conditional) = named(&h);
        assert!(action.starts_with("Microsoft.Compute/virtualMachines/runCommand/action "), "{action}");
        assert!(!conditional);
        let (action, conditional) = named(&c);
        assert!(action.starts_with("Microsoft.Compute/virtualMachines/extensions/write "), "{action}");
        assert!(!conditional, "the unconditional way, at its cost");
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
        let with_id = vm_with_identity(&mut t, &rg, "vm2", "sp-vm2");
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

    #[test]
    fn a_read_only_lock_stops_run_command_unless_the_principal_can_delete_it() {
        let mut t = T::new();
        let rg = t.rg("rg");
        let vm = vm_with_identity(&mut t, &rg, "vm", "sp-vm");
        let aa = t.resource(
            &rg,
            "Microsoft.Automation/automationAccounts",
            "aa",
            json!({"identity": {"type": "SystemAssigned", "principalId": "sp-aa"}}),
        );
        t.lock(&rg, "freeze", "ReadOnly");
        let (h, a, o) = (t.user("henry"), t.user("ann"), t.user("owner"));
        t.assign(&h, "Virtual Machine Contributor", &vm);
        t.assign(&a, "Automation Contributor", &aa);
        t.assign(&o, "Owner", &rg);
        let d = t.derive();
        assert!(!has(&d, &h, &vm, ExecuteOn), "run command is a POST to ARM");
        assert!(!has(&d, &a, &aa, ExecuteOn), "Microsoft: a ReadOnly lock stops runbooks from starting");
        for target in [&vm, &aa] {
            let e = edge(&d, &o, target, ExecuteOn).unwrap();
            assert_eq!(e.cost, ExecuteOn.base_cost() + crate::model::LOCK_REMOVAL_COST);
        }
    }

    #[test]
    fn a_locked_web_app_still_takes_code_through_kudu() {
        let mut t = T::new();
        let rg = t.rg("rg");
        let app = t.resource(
            &rg,
            "Microsoft.Web/sites",
            "func",
            json!({"kind": "functionapp", "identity": {"type": "SystemAssigned", "principalId": "sp-func"}}),
        );
        let a = t.user("alice");
        t.assign(&a, "Website Contributor", &app);
        let unlocked = t.derive();
        let e = edge(&unlocked, &a, &app, ExecuteOn).unwrap();
        assert!(!e.reason(&unlocked).contains("Kudu"), "without a lock the ARM way is shown: {}", e.reason(&unlocked));
        t.lock(&app, "freeze", "ReadOnly");
        let d = t.derive();
        let e = edge(&d, &a, &app, ExecuteOn).expect("Kudu is the app's own endpoint: the lock does not apply");
        assert!(e.reason(&d).contains("Kudu") && !e.removes_lock(), "{}", e.reason(&d));
        assert_eq!(e.cost, ExecuteOn.base_cost());
    }

    #[test]
    fn a_read_only_lock_on_the_workspace_stops_job_submission() {
        let mut t = T::new();
        let rg = t.rg("rg");
        let ws = t.resource(&rg, "Microsoft.MachineLearningServices/workspaces", "ws", json!({}));
        let compute = format!("{ws}/computes/gpu");
        t.resource(&rg, "Microsoft.MachineLearningServices/workspaces", "ws/computes/gpu", json!({
            "id": compute, "type": "Microsoft.MachineLearningServices/workspaces/computes",
            "identity": {"type": "SystemAssigned", "principalId": "sp-gpu"}, "properties": {"computeType": "AmlCompute"}}));
        let (ds, uaa) = (t.group("ds"), t.user("uaa"));
        t.assign(&ds, "AzureML Data Scientist", &ws);
        t.assign(&uaa, "AzureML Data Scientist", &ws);
        t.assign(&uaa, "User Access Administrator", &rg);
        t.lock(&ws, "freeze", "ReadOnly");
        let d = t.derive();
        assert!(!has(&d, &ds, &compute, ExecuteOn), "a job is created through ARM on the workspace");
        let e = edge(&d, &uaa, &compute, ExecuteOn).expect("User Access Administrator can delete the lock");
        assert!(e.removes_lock() && e.cost == ExecuteOn.base_cost() + crate::model::LOCK_REMOVAL_COST);
    }
}
