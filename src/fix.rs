//! `fix`: the cheapest set of changes to the facts that cuts every attack path from the chosen
//! sources to the chosen targets.
//!
//! Pure. Every edge names the facts it comes from in its typed evidence ([`EvidenceKind`] plus the
//! fact's key); the facts a user can change (a role assignment, a membership, an owner, a Graph
//! permission, a federated credential, a Key Vault access policy, a key setting) become candidate
//! [`Change`]s, and removing any one fact behind an edge removes the edge. One change may stand
//! behind many edges, so the problem is a minimum *label* cut (NP-hard in general), not a plain
//! min-cut. It is solved over the same (node, controls-scope) states the path search walks, so
//! `Contains` is only cut where it can be walked:
//!
//! 1. a max-flow whose arc capacity is the cheapest change of the arc divided by the number of arcs
//!    that change stands behind: every plan pays at least this flow, so it is a lower bound (and
//!    the exact optimum when no change stands behind two arcs);
//! 2. a max-flow with undivided capacities gives a plan (the cheapest change of each cut arc),
//!    pruned of changes the rest make redundant: the first incumbent;
//! 3. branch and bound over the changes of one open path at a time, bounded by (1) at each node.
//!    Finished within its node budget the plan is exact; otherwise it is the best found, reported
//!    with the lower bound.

use crate::diff::WhatIf;
use crate::graph::{AttackGraph, NodeId, PairQuery, Path, SearchOptions};
use crate::model::{EdgeKind, Evidence, EvidenceKind, FactRef, NodeKind};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, VecDeque};

/// What kind of change closes an edge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ChangeKind {
    /// Delete an active Azure role assignment.
    RoleAssignment,
    /// Remove a PIM eligibility for an Azure role.
    RoleEligibility,
    /// Delete an active Entra directory role assignment.
    DirectoryRole,
    /// Remove a PIM eligibility for a directory role.
    DirectoryRoleEligibility,
    /// Remove a member from a group.
    GroupMembership,
    /// Remove a PIM for Groups eligibility.
    GroupEligibility,
    /// Remove an owner of an app, service principal or group.
    Ownership,
    /// Revoke a Microsoft Graph application permission (app role assignment).
    GraphPermission,
    /// Delete a federated identity credential.
    FederatedCredential,
    /// Remove one object's Key Vault access policy.
    AccessPolicy,
    /// Turn key or local-account authentication off on a resource.
    KeySetting,
    /// Delete a Cosmos DB data-plane role assignment.
    CosmosRoleAssignment,
    /// Turn an active Azure or directory role assignment into a PIM eligibility. Offered only when
    /// the query leaves eligible hops out (`--without-eligible`): otherwise the hop stays a path.
    MakeEligible,
    /// Delete an application registration of this tenant and its service principal here, for good
    /// (then purged from deleted items so nobody restores it): every edge into and out of both goes.
    DeleteApplication,
    /// Delete a service principal whose application is registered in this tenant (not a managed
    /// identity, not another tenant's or Microsoft's app), for good: every edge into and out of it goes.
    DeleteServicePrincipal,
    /// Delete a user-assigned managed identity (the ARM resource; Azure deletes its service
    /// principal): every edge into and out of both goes.
    DeleteManagedIdentity,
    /// Re-create an Azure role assignment or eligibility at the largest scopes beneath its scope
    /// that hold none of the resources it must stop reaching (`scopes`), and delete it: the holder
    /// keeps the role everywhere else.
    NarrowScope,
}

/// What each kind of change costs, in effort and breakage. Relative sizes are what matter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct Costs {
    pub role_assignment: u32,
    pub role_eligibility: u32,
    pub directory_role: u32,
    pub directory_role_eligibility: u32,
    pub group_membership: u32,
    pub group_eligibility: u32,
    pub ownership: u32,
    pub graph_permission: u32,
    pub federated_credential: u32,
    pub access_policy: u32,
    pub key_setting: u32,
    pub cosmos_role_assignment: u32,
    pub make_eligible: u32,
    /// Deleting an object breaks whatever uses it, so each costs more than removing one grant.
    pub delete_application: u32,
    pub delete_service_principal: u32,
    pub delete_managed_identity: u32,
    /// Narrowing an active assignment's scope (the job keeps working): below removing it, and
    /// below `pipeline-grant` for a pipeline's grant.
    pub narrow_scope: u32,
    /// Narrowing an eligibility's scope: below removing it.
    pub narrow_eligibility_scope: u32,
    /// Each assignment a narrowing re-creates beyond the first: sixteen new assignments are more
    /// work, and more to audit, than one deletion.
    pub narrow_scope_each: u32,
    /// A role assignment, directory role or Graph permission held by a pipeline identity: its job
    /// most likely needs it, so removing it breaks a deployment.
    pub pipeline_grant: u32,
}

impl Default for Costs {
    fn default() -> Self {
        Costs {
            role_assignment: 10,
            role_eligibility: 5,
            directory_role: 10,
            directory_role_eligibility: 5,
            group_membership: 5,
            group_eligibility: 3,
            ownership: 3,
            graph_permission: 20,
            federated_credential: 40,
            access_policy: 8,
            key_setting: 15,
            cosmos_role_assignment: 10,
            make_eligible: 4,
            delete_application: 30,
            delete_service_principal: 25,
            delete_managed_identity: 30,
            narrow_scope: 8,
            narrow_eligibility_scope: 4,
            narrow_scope_each: 1,
            pipeline_grant: 50,
        }
    }
}

impl Costs {
    /// Costs from a TOML file's text: any of the keys above, the rest keep their defaults.
    pub fn from_toml(text: &str) -> Result<Costs, String> {
        let c: Costs = toml::from_str(text).map_err(|e| e.to_string())?;
        Ok(c)
    }

    fn of(&self, kind: ChangeKind, pipeline: bool) -> u32 {
        use ChangeKind::*;
        let base = match kind {
            RoleAssignment => self.role_assignment,
            RoleEligibility => self.role_eligibility,
            DirectoryRole => self.directory_role,
            DirectoryRoleEligibility => self.directory_role_eligibility,
            GroupMembership => self.group_membership,
            GroupEligibility => self.group_eligibility,
            Ownership => self.ownership,
            GraphPermission => self.graph_permission,
            FederatedCredential => self.federated_credential,
            AccessPolicy => self.access_policy,
            KeySetting => self.key_setting,
            CosmosRoleAssignment => self.cosmos_role_assignment,
            MakeEligible => self.make_eligible,
            DeleteApplication => self.delete_application,
            DeleteServicePrincipal => self.delete_service_principal,
            DeleteManagedIdentity => self.delete_managed_identity,
            // The caller prices an eligibility's narrowing (`of_narrowing`).
            NarrowScope => self.narrow_scope,
        };
        // A pipeline cannot activate PIM in the middle of a job either; deleting a pipeline's
        // identity stops the pipeline outright, so it costs at least what its grant does.
        if pipeline && matches!(kind, DeleteApplication | DeleteServicePrincipal | DeleteManagedIdentity) {
            return base.max(self.pipeline_grant).max(1);
        }
        let grant = matches!(kind, RoleAssignment | DirectoryRole | GraphPermission | MakeEligible);
        // A cost of 0 would make a change free and the bound meaningless.
        if pipeline && grant { self.pipeline_grant.max(1) } else { base.max(1) }
    }

    /// What narrowing an assignment (or an eligibility) to `scopes` scopes costs: the same for a
    /// pipeline's grant, whose job keeps the role where it deploys.
    fn of_narrowing(&self, eligible: bool, scopes: usize) -> u32 {
        let base = if eligible { self.narrow_eligibility_scope } else { self.narrow_scope };
        let extra = self.narrow_scope_each.saturating_mul(scopes.saturating_sub(1).try_into().unwrap_or(u32::MAX));
        base.saturating_add(extra).max(1)
    }
}

/// One change to the facts: what it is, the fact it changes, and the edges it removes.
#[derive(Debug, Clone, Serialize)]
pub struct Change {
    pub kind: ChangeKind,
    /// The fact changed (its fact-index key hash).
    pub fact: FactRef,
    /// The Azure id the change names: the assignment, credential or policy holder; for a
    /// membership or ownership, the member or owner.
    pub subject: String,
    /// The object changed: the group, app, vault or resource (for kinds where it is not the subject).
    pub object: String,
    pub cost: u32,
    /// The user protected it (`--keep`): never cut.
    pub protected: bool,
    /// The evidence of the first edge it removes (role, scope, ...).
    pub evidence: Vec<Evidence>,
    /// For a deletion: every object it deletes (the application and its service principal, the
    /// identity and its service principal), first the one named by `subject`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub deletes: Vec<String>,
    /// For a narrowing: the scopes the assignment is re-created at (sorted).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub scopes: Vec<String>,
    /// The edges with a derivation it removes (indices into the graph's edges); an edge with
    /// alternatives ([`crate::model::Edge::alternatives`]) goes only once each derivation is cut.
    #[serde(skip)]
    pub edges: Vec<usize>,
}

/// What makes two candidate changes the same change: the kind and the fact, plus the holder for
/// an access policy (removing one holder's policy is a change of its own). The solver and the
/// report's commands both count changes by it.
fn change_key(kind: ChangeKind, fact: FactRef, subject: &str) -> (ChangeKind, FactRef, String) {
    (kind, fact, if kind == ChangeKind::AccessPolicy { subject.to_string() } else { String::new() })
}

impl Change {
    /// Whether `other` is the same change (see [`change_key`]), however it was reached.
    pub fn same_as(&self, other: &Change) -> bool {
        change_key(self.kind, self.fact, &self.subject) == change_key(other.kind, other.fact, &other.subject)
    }

    /// The `az` CLI (or Graph/ARM REST through `az rest`) call that makes the change.
    /// The command that makes the change, or, when an id it would hold has characters a shell
    /// interprets (a facts file can hold any text), a comment saying to make it by hand: a
    /// command copied from a report must never run text the tenant chose.
    pub fn command(&self, g: &AttackGraph) -> String {
        let roles = [EvidenceKind::Role, EvidenceKind::DirectoryRole].map(|k| self.role_named(k));
        let named = [&self.subject, &self.object].into_iter().chain(&self.scopes).chain(&self.deletes);
        let inert = |v: &str| v.chars().all(|c| c.is_ascii_alphanumeric() || "-_./:@()".contains(c));
        if named.map(String::as_str).chain(roles.iter().flatten().map(String::as_str)).all(inert) {
            self.command_text(g)
        } else {
            "# not shown: an id of this change holds characters a shell would interpret; make it by hand from the evidence".into()
        }
    }

    fn command_text(&self, g: &AttackGraph) -> String {
        use ChangeKind::*;
        let (s, o) = (&self.subject, &self.object);
        let graph = "https://graph.microsoft.com/v1.0";
        match self.kind {
            RoleAssignment => format!("az role assignment delete --ids {s}"),
            RoleEligibility => {
                let scope = s.split("/providers/Microsoft.Authorization").next().unwrap_or(s);
                format!(
                    "az rest --method put --url \"https://management.azure.com{scope}/providers/Microsoft.Authorization/roleEligibilityScheduleRequests/$(uuidgen)?api-version=2020-10-01\" --body '{{\"properties\":{{\"requestType\":\"AdminRemove\",\"targetRoleEligibilityScheduleId\":\"{s}\",\"principalId\":\"{o}\"}}}}'"
                )
            }
            DirectoryRole => {
                format!("az rest --method delete --url {graph}/roleManagement/directory/roleAssignments/{s}")
            }
            DirectoryRoleEligibility => format!(
                "az rest --method post --url {graph}/roleManagement/directory/roleEligibilityScheduleRequests --body '{{\"action\":\"adminRemove\",\"principalId\":\"{o}\",\"targetScheduleId\":\"{s}\"}}'"
            ),
            GroupMembership => format!("az ad group member remove --group {o} --member-id {s}"),
            GroupEligibility => format!(
                "az rest --method post --url {graph}/identityGovernance/privilegedAccess/group/eligibilityScheduleRequests --body '{{\"action\":\"adminRemove\",\"targetScheduleId\":\"{s}\"}}'"
            ),
            Ownership => match g.node_index(o).map(|n| g.node(n).kind) {
                Some(NodeKind::Application) => format!("az ad app owner remove --id {o} --owner-object-id {s}"),
                Some(NodeKind::Group) => format!("az ad group owner remove --group {o} --owner-object-id {s}"),
                _ => format!("az rest --method delete --url '{graph}/servicePrincipals/{o}/owners/{s}/$ref'"),
            },
            GraphPermission => {
                format!("az rest --method delete --url {graph}/servicePrincipals/{o}/appRoleAssignments/{s}")
            }
            FederatedCredential => {
                if s.starts_with('/') {
                    format!("az resource delete --ids {s}")
                } else {
                    format!("az ad app federated-credential delete --id {o} --federated-credential-id {s}")
                }
            }
            AccessPolicy => format!("az keyvault delete-policy --name {} --object-id {s}", last_segment(o)),
            KeySetting => match g.node_index(o).map(|n| g.node(n).kind) {
                Some(NodeKind::StorageAccount) => {
                    format!("az storage account update --ids {o} --allow-shared-key-access false")
                }
                Some(NodeKind::AKSCluster) => format!("az aks update --ids {o} --disable-local-accounts"),
                _ => format!("az resource update --ids {o} --set properties.disableLocalAuth=true"),
            },
            CosmosRoleAssignment => format!("az resource delete --ids {s}"),
            MakeEligible => self.make_eligible_command(),
            // A deleted application or service principal can be restored for 30 days (by an
            // Application Administrator or the object's owner): purge it from deleted items too.
            DeleteApplication => {
                let sps: Vec<&String> = self.deletes.iter().filter(|d| *d != s).collect();
                let mut steps: Vec<String> = sps.iter().map(|sp| format!("az ad sp delete --id {sp}")).collect();
                steps.push(format!("az ad app delete --id {s}"));
                steps.push(format!("az rest --method delete --url {graph}/directory/deletedItems/{s}"));
                steps.extend(
                    sps.iter().map(|sp| format!("az rest --method delete --url {graph}/directory/deletedItems/{sp}")),
                );
                steps.join(" && ")
            }
            DeleteServicePrincipal => {
                format!("az ad sp delete --id {s} && az rest --method delete --url {graph}/directory/deletedItems/{s}")
            }
            DeleteManagedIdentity => format!("az identity delete --ids {s}"),
            NarrowScope => self.narrow_command(g),
        }
    }

    /// The role definition id (its last segment) an evidence of `kind` names as "name (id)".
    fn role_named(&self, kind: EvidenceKind) -> Option<String> {
        let ev = self.evidence.iter().find(|e| e.kind == kind)?;
        let inner = ev.value.rsplit_once('(')?.1.strip_suffix(')')?;
        Some(inner.rsplit('/').next().unwrap_or(inner).to_string())
    }

    /// Deletes the assignment (or removes the eligibility), then creates it at each new scope.
    fn narrow_command(&self, g: &AttackGraph) -> String {
        let (s, o) = (&self.subject, &self.object);
        let role = self.role_named(EvidenceKind::Role).unwrap_or_else(|| "<role definition id>".into());
        let scopes = self.scopes.iter().map(|c| format!("'{c}'")).collect::<Vec<_>>().join(" ");
        let eligible = self.evidence.iter().any(|e| e.kind == EvidenceKind::RoleEligibility);
        if !eligible {
            let ty = match g.node_index(o).map(|n| g.node(n).kind) {
                Some(NodeKind::User) => "User",
                Some(NodeKind::Group) => "Group",
                _ => "ServicePrincipal",
            };
            return format!(
                "az role assignment delete --ids {s} && for scope in {scopes}; do az role assignment create --assignee-object-id {o} --assignee-principal-type {ty} --role {role} --scope \"$scope\"; done"
            );
        }
        let old = s.split("/providers/Microsoft.Authorization").next().unwrap_or(s);
        let url = |scope: &str| {
            format!(
                "\"https://management.azure.com{scope}/providers/Microsoft.Authorization/roleEligibilityScheduleRequests/$(uuidgen)?api-version=2020-10-01\""
            )
        };
        let sub = old.split('/').nth(2).filter(|_| old.starts_with("/subscriptions/"));
        let defs = sub.map(|sub| format!("/subscriptions/{sub}")).unwrap_or_default();
        format!(
            "az rest --method put --url {} --body '{{\"properties\":{{\"requestType\":\"AdminRemove\",\"targetRoleEligibilityScheduleId\":\"{s}\",\"principalId\":\"{o}\"}}}}' && for scope in {scopes}; do az rest --method put --url {} --body '{{\"properties\":{{\"requestType\":\"AdminAssign\",\"principalId\":\"{o}\",\"roleDefinitionId\":\"{defs}/providers/Microsoft.Authorization/roleDefinitions/{role}\",\"scheduleInfo\":{{\"expiration\":{{\"type\":\"NoExpiration\"}}}}}}}}'; done",
            url(old),
            url("$scope")
        )
    }

    /// Creates the eligibility (same principal, role and scope), then deletes the active assignment.
    fn make_eligible_command(&self) -> String {
        let (s, o) = (&self.subject, &self.object);
        let role = |kind| self.role_named(kind);
        if s.starts_with('/') {
            let scope = s.split("/providers/Microsoft.Authorization").next().unwrap_or(s);
            let sub = scope.split('/').nth(2).filter(|_| scope.starts_with("/subscriptions/"));
            let defs = sub.map(|sub| format!("/subscriptions/{sub}")).unwrap_or_default();
            let role = role(EvidenceKind::Role).unwrap_or_else(|| "<role definition id>".into());
            format!(
                "az rest --method put --url \"https://management.azure.com{scope}/providers/Microsoft.Authorization/roleEligibilityScheduleRequests/$(uuidgen)?api-version=2020-10-01\" --body '{{\"properties\":{{\"requestType\":\"AdminAssign\",\"principalId\":\"{o}\",\"roleDefinitionId\":\"{defs}/providers/Microsoft.Authorization/roleDefinitions/{role}\",\"scheduleInfo\":{{\"expiration\":{{\"type\":\"NoExpiration\"}}}}}}}}' && az role assignment delete --ids {s}"
            )
        } else {
            let graph = "https://graph.microsoft.com/v1.0";
            let role = role(EvidenceKind::DirectoryRole).unwrap_or_else(|| "<role template id>".into());
            format!(
                "az rest --method post --url {graph}/roleManagement/directory/roleEligibilityScheduleRequests --body '{{\"action\":\"adminAssign\",\"principalId\":\"{o}\",\"roleDefinitionId\":\"{role}\",\"directoryScopeId\":\"/\",\"justification\":\"azpath fix\",\"scheduleInfo\":{{\"startDateTime\":\"'$(date -u +%Y-%m-%dT%H:%M:%SZ)'\",\"expiration\":{{\"type\":\"noExpiration\"}}}}}}' && az rest --method delete --url {graph}/roleManagement/directory/roleAssignments/{s}"
            )
        }
    }

    /// The change in words, for tables and Markdown (ids, not tenant names: callers add names).
    pub fn summary(&self) -> &'static str {
        use ChangeKind::*;
        match self.kind {
            RoleAssignment => "remove Azure role assignment",
            RoleEligibility => "remove Azure role eligibility (PIM)",
            DirectoryRole => "remove directory role assignment",
            DirectoryRoleEligibility => "remove directory role eligibility (PIM)",
            GroupMembership => "remove group member",
            GroupEligibility => "remove group eligibility (PIM)",
            Ownership => "remove owner",
            GraphPermission => "revoke Microsoft Graph permission",
            FederatedCredential => "delete federated credential",
            AccessPolicy => "remove Key Vault access policy",
            KeySetting => "turn key / local authentication off",
            CosmosRoleAssignment => "remove Cosmos DB role assignment",
            MakeEligible => "make the role assignment PIM-eligible instead of active",
            DeleteApplication => "delete the application and its service principal",
            DeleteServicePrincipal => "delete the service principal",
            DeleteManagedIdentity => "delete the user-assigned managed identity",
            NarrowScope => "narrow the Azure role assignment's scope",
        }
    }
}

fn last_segment(id: &str) -> &str {
    id.rsplit('/').next().unwrap_or(id)
}

/// The change an evidence item of edge `e` stands for, if the fact is one a user can change:
/// (kind, fact, subject, object).
fn change_of(g: &AttackGraph, e: usize, ev: &Evidence) -> Option<(ChangeKind, FactRef, String, String)> {
    let fact = ev.fact?;
    let edge = g.edge(e);
    let (src, dst) = (edge.source.to_string(), edge.target.to_string());
    let kind = match ev.kind {
        EvidenceKind::RoleAssignment => ChangeKind::RoleAssignment,
        EvidenceKind::RoleEligibility => ChangeKind::RoleEligibility,
        EvidenceKind::DirectoryRoleAssignment => ChangeKind::DirectoryRole,
        EvidenceKind::DirectoryRoleEligibility => ChangeKind::DirectoryRoleEligibility,
        // A group listing itself is no change anyone can make.
        EvidenceKind::GroupMembership if src != dst => return Some((ChangeKind::GroupMembership, fact, src, dst)),
        EvidenceKind::GroupEligibility => ChangeKind::GroupEligibility,
        EvidenceKind::Owner => return Some((ChangeKind::Ownership, fact, src, dst)),
        EvidenceKind::AppRoleAssignment | EvidenceKind::OwnedByGrant => ChangeKind::GraphPermission,
        EvidenceKind::FederatedCredential => {
            return Some((ChangeKind::FederatedCredential, fact, ev.value.clone(), dst));
        }
        // The vault's fact is the whole resource; the change is one holder's policy.
        EvidenceKind::AccessPolicy => return Some((ChangeKind::AccessPolicy, fact, src, dst)),
        EvidenceKind::ResourceProperty
            if edge.kind == EdgeKind::ListKeys
                && g.node_index(&dst).is_some_and(|n| {
                    matches!(
                        g.node(n).kind,
                        NodeKind::StorageAccount
                            | NodeKind::CognitiveServicesAccount
                            | NodeKind::CosmosDBAccount
                            | NodeKind::AKSCluster
                    )
                }) =>
        {
            return Some((ChangeKind::KeySetting, fact, dst.clone(), dst));
        }
        EvidenceKind::CosmosRoleAssignment => ChangeKind::CosmosRoleAssignment,
        // The grant that lists keys when another one writes the account ("id (role)"): the same
        // fact, so the same change, as that assignment's own evidence.
        EvidenceKind::ListKeysGrantedBy => {
            let id = ev.value.rsplit_once(" (").map_or(ev.value.as_str(), |(id, _)| id);
            return Some((ChangeKind::RoleAssignment, fact, id.to_string(), src));
        }
        _ => return None,
    };
    // Assignment-like facts: the evidence value is the fact's own id; the holder is the edge's source.
    Some((kind, fact, ev.value.clone(), src))
}

/// The changes that remove each derivation of edge `e`: its own evidence's first, then each merged
/// alternative's ([`crate::model::Edge::alternatives`]), in evidence order, at default costs. The
/// hop goes only when one change of every derivation is made. The report's suggested fixes name
/// these, through the same typed link (evidence kind and fact) that `fix` plans with.
pub fn edge_changes(g: &AttackGraph, e: usize) -> Vec<Vec<Change>> {
    let edge = g.edge(e);
    let pipeline = g.node_index(&edge.source).is_some_and(|n| g.node(n).is_pipeline());
    derivations(&edge)
        .map(|derivation| {
            let mut mine: Vec<Change> = Vec::new();
            for ev in derivation.iter() {
                let Some((kind, fact, subject, object)) = change_of(g, e, ev) else { continue };
                if mine.iter().any(|c| c.kind == kind && c.fact == fact && c.subject == subject) {
                    continue;
                }
                let cost = Costs::default().of(kind, pipeline);
                let evidence = derivation.to_vec();
                let edges = vec![e];
                mine.push(Change {
                    kind,
                    fact,
                    subject,
                    object,
                    cost,
                    protected: false,
                    evidence,
                    deletes: vec![],
                    scopes: vec![],
                    edges,
                });
            }
            mine
        })
        .collect()
}

/// What `fix` is asked.
#[derive(Debug, Clone, Default)]
pub struct FixQuery {
    pub sources: Vec<NodeId>,
    pub targets: Vec<NodeId>,
    pub options: SearchOptions,
    /// Protected: changes whose edge starts or ends at one of these nodes.
    pub keep_nodes: Vec<NodeId>,
    /// Protected: changes whose subject or object is one of these ids (case-insensitive).
    pub keep_facts: Vec<String>,
    /// Branch-and-bound nodes before settling for the best plan found.
    pub node_budget: usize,
}

/// The answer: which changes, what they cost, and whether the cost is proven minimal.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    /// The chosen changes, cheapest first, then by subject.
    pub changes: Vec<Change>,
    pub cost: u32,
    /// No plan costs less than this (equal to `cost` when exact).
    pub lower_bound: u32,
    /// The search finished: `cost` is the minimum.
    pub exact: bool,
    /// No plan exists: some path is made only of facts that cannot (or, `--keep`, may not) change.
    pub impossible: bool,
    /// Without `--keep` a plan would exist.
    pub blocked_by_protection: bool,
    /// The candidate changes and the edges (arcs of the state network) the solver worked on.
    pub candidates: usize,
    pub arcs: usize,
    pub search_nodes: usize,
    /// The edges the plan removes: every derivation of each is cut.
    #[serde(skip)]
    pub removed_edges: Vec<usize>,
}

impl Plan {
    /// The plan as a what-if, to re-derive the facts with it applied.
    pub fn what_if(&self) -> WhatIf {
        let mut w = WhatIf::default();
        for c in &self.changes {
            match c.kind {
                ChangeKind::KeySetting => w.disable_keys.push(c.object.clone()),
                ChangeKind::MakeEligible => w.make_eligible.push(c.subject.clone()),
                ChangeKind::AccessPolicy => w.remove_access_policies.push((c.object.clone(), c.subject.clone())),
                ChangeKind::DeleteApplication
                | ChangeKind::DeleteServicePrincipal
                | ChangeKind::DeleteManagedIdentity => w.delete_objects.extend(c.deletes.iter().cloned()),
                ChangeKind::NarrowScope => w.narrow_scopes.push((c.subject.clone(), c.scopes.clone())),
                _ => w.remove_facts.push(c.fact),
            }
        }
        w
    }

    /// Every edge the plan removes (sorted).
    pub fn cut_edges(&self) -> Vec<usize> {
        self.removed_edges.clone()
    }
}

/// The state network: arcs between (node, control) states that lie on some path from a source to a
/// target, each with the candidate changes that remove its edge.
struct Net {
    states: usize,
    /// Per arc: the graph edge it is a derivation of (an edge with alternatives has one arc per
    /// derivation between the same states: the hop stays while any of them is uncut).
    edge: Vec<usize>,
    from: Vec<u32>,
    to: Vec<u32>,
    /// Per arc: the unprotected changes that remove it.
    changes: Vec<Vec<u32>>,
    /// Per arc: a protected change would remove it.
    protected: Vec<bool>,
    out: Vec<Vec<u32>>,
    starts: Vec<u32>,
    is_target: Vec<bool>,
    cost: Vec<u32>,
}

/// Every edge the query's sources can walk toward its targets, as state-network arcs (edge id,
/// from state, to state), states numbered node * 2 + control.
/// Arcs (edge id, from state, to state), the start states, and per state whether it is a target.
type Arcs = (Vec<(usize, u32, u32)>, Vec<u32>, Vec<bool>);

/// A chokepoint's identity: a change's kind and fact (`None` for a node), and a discriminator
/// (the access policy holder, or the node id).
type ChokeKey = (Option<(ChangeKind, FactRef)>, String);

fn relevant_arcs(g: &AttackGraph, q: &FixQuery) -> Arcs {
    let n = g.nodes.len();
    let opts = &q.options;
    let mut avoid = vec![false; n];
    for a in &opts.avoid {
        avoid[a.index()] = true;
    }
    let mut is_source = vec![false; n];
    for s in &q.sources {
        is_source[s.index()] = true;
    }
    // A node that is also a source is not a target of itself (nor of another source's path
    // through it: the search's own rule, a target is what the sources do not already hold).
    let mut target_node = vec![false; n];
    for t in &q.targets {
        target_node[t.index()] = !is_source[t.index()];
    }
    let mut seen = vec![false; n * 2];
    let mut queue = VecDeque::new();
    let mut starts = Vec::new();
    for s in &q.sources {
        let st = s.0 * 2;
        if !seen[st as usize] && !avoid[s.index()] {
            seen[st as usize] = true;
            queue.push_back(st);
            starts.push(st);
        }
    }
    let mut arcs = Vec::new();
    while let Some(st) = queue.pop_front() {
        let (u, control) = (st / 2, st % 2 == 1);
        if target_node[u as usize] {
            continue; // the path ends here; what lies beyond a target is another pair's concern
        }
        for e in g.out_edges(NodeId(u)) {
            let edge = g.edge(e);
            let v = g.edge_target(e);
            if (edge.kind == EdgeKind::Contains && !control)
                || opts.excluded_kinds.contains(&edge.kind)
                || (opts.without_eligible && edge.requires_activation)
                || avoid[v.index()]
            {
                continue;
            }
            let next = v.0 * 2 + edge.kind.grants_control_of_scope() as u32;
            arcs.push((e, st, next));
            if !seen[next as usize] {
                seen[next as usize] = true;
                queue.push_back(next);
            }
        }
    }
    // Keep the arcs that can still reach a target.
    let mut back: HashMap<u32, Vec<u32>> = HashMap::new();
    for &(_, a, b) in &arcs {
        back.entry(b).or_default().push(a);
    }
    let mut useful = vec![false; n * 2];
    let mut queue: VecDeque<u32> = VecDeque::new();
    for st in 0..(n * 2) as u32 {
        if seen[st as usize] && target_node[(st / 2) as usize] {
            useful[st as usize] = true;
            queue.push_back(st);
        }
    }
    while let Some(st) = queue.pop_front() {
        for &p in back.get(&st).map(Vec::as_slice).unwrap_or(&[]) {
            if !useful[p as usize] {
                useful[p as usize] = true;
                queue.push_back(p);
            }
        }
    }
    arcs.retain(|&(_, _, b)| useful[b as usize]);
    let is_target = (0..n * 2).map(|st| useful[st] && target_node[st / 2]).collect();
    (arcs, starts, is_target)
}

/// The edges `fix` needs evidence for: every edge on some path from the sources to the targets.
pub fn relevant_edges(g: &AttackGraph, q: &FixQuery) -> Vec<usize> {
    let mut v: Vec<usize> = relevant_arcs(g, q).0.into_iter().map(|a| a.0).collect();
    v.sort_unstable();
    v.dedup();
    v
}

/// The candidate changes of the relevant edges, and the state network over them.
fn build(g: &AttackGraph, q: &FixQuery, costs: &Costs) -> (Net, Vec<Change>) {
    let (arcs, starts, is_target_full) = relevant_arcs(g, q);
    // Number the states the arcs use.
    let mut index: HashMap<u32, u32> = HashMap::new();
    let mut number = |st: u32| -> u32 {
        let next = index.len() as u32;
        *index.entry(st).or_insert(next)
    };
    let keep_ids: Vec<String> = q.keep_facts.iter().map(|k| k.to_ascii_lowercase()).collect();
    let keep_node = |n: NodeId| q.keep_nodes.contains(&n);
    let mut changes: Vec<Change> = Vec::new();
    let mut by_key: HashMap<(ChangeKind, FactRef, String), u32> = HashMap::new();
    // Per edge, per derivation: the changes that cut it.
    let mut edge_changes: HashMap<usize, Vec<Vec<u32>>> = HashMap::new();
    for &(e, _, _) in &arcs {
        if edge_changes.contains_key(&e) {
            continue;
        }
        let mut per_derivation = Vec::new();
        for derivation in derivations(&g.edge(e)) {
            let mut mine = Vec::new();
            for (kind, fact, subject, object) in derivation.iter().flat_map(|ev| {
                let removal = change_of(g, e, ev);
                // Where eligible hops do not count, an active assignment can also become eligible.
                let eligible = removal
                    .as_ref()
                    .filter(|r| {
                        q.options.without_eligible
                            && matches!(r.0, ChangeKind::RoleAssignment | ChangeKind::DirectoryRole)
                    })
                    .map(|r| (ChangeKind::MakeEligible, r.1, r.2.clone(), r.3.clone()));
                removal.into_iter().chain(eligible)
            }) {
                let id = *by_key.entry(change_key(kind, fact, &subject)).or_insert_with(|| {
                    let pipeline = g.node_index(&g.edge(e).source).is_some_and(|n| g.node(n).is_pipeline());
                    let protected = keep_node(g.edge_source(e))
                        || keep_node(g.edge_target(e))
                        || keep_ids
                            .iter()
                            .any(|k| *k == subject.to_ascii_lowercase() || *k == object.to_ascii_lowercase());
                    changes.push(Change {
                        kind,
                        fact,
                        subject,
                        object,
                        cost: costs.of(kind, pipeline),
                        protected,
                        evidence: g.edge(e).evidence(),
                        deletes: Vec::new(),
                        scopes: Vec::new(),
                        edges: Vec::new(),
                    });
                    (changes.len() - 1) as u32
                });
                if !mine.contains(&id) {
                    mine.push(id);
                    let edges = &mut changes[id as usize].edges;
                    if edges.last() != Some(&e) {
                        edges.push(e);
                    }
                }
            }
            per_derivation.push(mine);
        }
        edge_changes.insert(e, per_derivation);
    }
    // Narrowing an assignment's scope cuts its own (first) derivation of the edges it must stop.
    for n in narrowings(g, &arcs) {
        let holder = g.edge(n.edges[0]).source.to_string();
        let protected = n.edges.iter().any(|&e| keep_node(g.edge_source(e)) || keep_node(g.edge_target(e)))
            || keep_ids.iter().any(|k| k.eq_ignore_ascii_case(&n.assignment) || k.eq_ignore_ascii_case(&holder));
        let id = *by_key.entry(change_key(ChangeKind::NarrowScope, n.fact, &n.assignment)).or_insert_with(|| {
            changes.push(Change {
                kind: ChangeKind::NarrowScope,
                fact: n.fact,
                subject: n.assignment.clone(),
                object: holder.clone(),
                cost: costs.of_narrowing(n.eligible, n.scopes.len()),
                protected,
                evidence: g.edge(n.edges[0]).evidence(),
                deletes: Vec::new(),
                scopes: n.scopes.clone(),
                edges: n.edges.clone(),
            });
            (changes.len() - 1) as u32
        });
        for &e in &n.edges {
            let first = &mut edge_changes.get_mut(&e).expect("every arc's edge has its changes")[0];
            if !first.contains(&id) {
                first.push(id);
            }
        }
    }
    // Deleting an object cuts every derivation of every edge into and out of what it deletes.
    for (kind, gone) in deletions(g, q, &arcs) {
        let mut incident: Vec<usize> = arcs
            .iter()
            .map(|a| a.0)
            .filter(|&e| gone.contains(&g.edge_source(e)) || gone.contains(&g.edge_target(e)))
            .collect();
        incident.sort_unstable();
        incident.dedup();
        let Some(&first) = incident.first() else { continue };
        let ids: Vec<String> = gone.iter().map(|&n| g.node(n).id.to_string()).collect();
        let protected = incident.iter().any(|&e| keep_node(g.edge_source(e)) || keep_node(g.edge_target(e)))
            || ids.iter().any(|id| keep_ids.iter().any(|k| k.eq_ignore_ascii_case(id)));
        let pipeline = gone.iter().any(|&n| g.node(n).is_pipeline());
        let fact = FactRef::of(&format!("delete|{}", ids[0]));
        let id = *by_key.entry(change_key(kind, fact, &ids[0])).or_insert_with(|| {
            changes.push(Change {
                kind,
                fact,
                subject: ids[0].clone(),
                object: ids[0].clone(),
                cost: costs.of(kind, pipeline),
                protected,
                evidence: g.edge(first).evidence(),
                deletes: ids.clone(),
                scopes: Vec::new(),
                edges: incident.clone(),
            });
            (changes.len() - 1) as u32
        });
        for e in incident {
            for derivation in edge_changes.get_mut(&e).expect("every arc's edge has its changes") {
                derivation.push(id);
            }
        }
    }
    let (mut edge, mut from, mut to) = (Vec::new(), Vec::new(), Vec::new());
    let (mut arc_changes, mut protected) = (Vec::new(), Vec::new());
    for &(e, a, b) in &arcs {
        for all in &edge_changes[&e] {
            edge.push(e);
            from.push(number(a));
            to.push(number(b));
            arc_changes.push(all.iter().copied().filter(|&c| !changes[c as usize].protected).collect());
            protected.push(all.iter().any(|&c| changes[c as usize].protected));
        }
    }
    let starts: Vec<u32> = starts.iter().filter_map(|s| index.get(s).copied()).collect();
    let states = index.len();
    let mut is_target = vec![false; states];
    for (&st, &i) in &index {
        is_target[i as usize] = is_target_full[st as usize];
    }
    let mut out = vec![Vec::new(); states];
    for (a, &f) in from.iter().enumerate() {
        out[f as usize].push(a as u32);
    }
    let cost = changes.iter().map(|c| c.cost).collect();
    (Net { states, edge, from, to, changes: arc_changes, protected, out, starts, is_target, cost }, changes)
}

/// The rules whose every Azure grant behind an edge is checked on the edge's target or on an ARM
/// ancestor of it (the grant's resource is the target, or contains it), so an assignment re-created
/// only at scopes that do not contain the target no longer derives that edge. Only their edges'
/// own derivations are narrowed (a merged alternative does not say which rule made it).
pub const NARROWABLE_RULES: &[&str] = &[
    "acr-pull",
    "acr-push",
    "aks-azure-rbac",
    "rbac-function-master-key",
    "rbac-publishing-credentials",
    "cosmos-sql-assign",
    "rbac-execute-on-compute",
    "key-vault-read-secrets",
    "key-vault-set-access-policy",
    "rbac-list-keys",
    "rbac-re-enable-keys",
    "rbac-list-sas",
    "cosmos-read-only-keys",
    "rbac-assign-roles",
    "rbac-read-data",
    "rbac-write-data",
    "uami-add-federated-credential",
];

/// Rules with Azure grants behind their edges that are checked elsewhere than on the target (a
/// write on the storage a function or ML compute loads code from, a workspace's secrets about
/// another resource, a write on the compute an identity is attached to): narrowing cannot be
/// judged from the edge, so it is never offered for them.
pub const NOT_NARROWABLE_RULES: &[&str] = &[
    "function-package-storage",
    "ml-code-in-storage",
    "ml-connection-list-secrets",
    "ml-datastore-list-secrets",
    "rbac-attach-identity",
];

/// A candidate narrowing: the assignment, the edges it stops (each with its target strictly
/// beneath the assignment's scope), and the new scopes.
struct Narrowing {
    fact: FactRef,
    assignment: String,
    eligible: bool,
    edges: Vec<usize>,
    scopes: Vec<String>,
}

/// The scope an Azure role assignment or eligibility id is at (lower case), if it names one below
/// the tenant root.
fn assignment_scope(id: &str) -> Option<String> {
    let lower = id.to_ascii_lowercase();
    let scope = &lower[..lower.find("/providers/microsoft.authorization/")?];
    (!scope.is_empty()).then(|| scope.to_string())
}

/// The narrowings the relevant arcs allow: per Azure role assignment (or eligibility) behind the
/// own derivation of an edge of a [`NARROWABLE_RULES`] rule, the edges whose target lies strictly
/// beneath its scope S (by `Contains`, the hierarchy the rules apply inheritance by). Those
/// targets form K; the new scopes are the largest scopes beneath S whose subtree holds no node of
/// K (a node of K itself is never a new scope, nor is anything beneath it). Every edge the
/// re-created assignments derive was derived by the original (inheritance), and none reaches K.
/// Not offered when no scope remains (that is removing it) or for a root-scope assignment. An
/// edge to S itself is not stopped: the holder still gets the role at the new scopes, and a
/// control-of-scope state at S walks `Contains` to all of them.
fn narrowings(g: &AttackGraph, arcs: &[(usize, u32, u32)]) -> Vec<Narrowing> {
    use std::collections::{BTreeMap, HashSet};
    let mut by_fact: BTreeMap<(String, u128), (FactRef, bool, Vec<usize>)> = BTreeMap::new();
    let mut seen = HashSet::new();
    for &(e, _, _) in arcs {
        if !seen.insert(e) || !NARROWABLE_RULES.contains(&g.edge_rule(e)) {
            continue;
        }
        for ev in &*g.edge(e).evidence() {
            let eligible = match ev.kind {
                EvidenceKind::RoleAssignment => false,
                EvidenceKind::RoleEligibility => true,
                _ => continue,
            };
            let Some(fact) = ev.fact else { continue };
            let entry = by_fact.entry((ev.value.clone(), fact.0)).or_insert((fact, eligible, Vec::new()));
            if entry.2.last() != Some(&e) {
                entry.2.push(e);
            }
        }
    }
    if by_fact.is_empty() {
        return Vec::new();
    }
    let kids = |n: NodeId| -> Vec<NodeId> {
        g.out_edges(n).filter(|&e| g.edge_kind(e) == EdgeKind::Contains).map(|e| g.edge_target(e)).collect()
    };
    // Parents by `Contains` (one each in ARM; any number, even a cycle, is handled).
    let mut parents: HashMap<NodeId, Vec<NodeId>> = HashMap::new();
    for e in (0..g.edge_count()).filter(|&e| g.edge_kind(e) == EdgeKind::Contains) {
        parents.entry(g.edge_target(e)).or_default().push(g.edge_source(e));
    }
    // Every proper ancestor of n.
    let ancestors = |n: NodeId| -> HashSet<NodeId> {
        let mut seen = HashSet::new();
        let mut stack: Vec<NodeId> = parents.get(&n).cloned().unwrap_or_default();
        while let Some(p) = stack.pop() {
            if seen.insert(p) {
                stack.extend(parents.get(&p).map(Vec::as_slice).unwrap_or(&[]));
            }
        }
        seen
    };
    let mut above: HashMap<NodeId, HashSet<NodeId>> = HashMap::new();
    let mut out = Vec::new();
    for ((assignment, _), (fact, eligible, edges)) in by_fact {
        let Some(s) = assignment_scope(&assignment).and_then(|scope| g.node_index(&scope)) else { continue };
        let mut beneath = |t: NodeId| t != s && above.entry(t).or_insert_with(|| ancestors(t)).contains(&s);
        let edges: Vec<usize> = edges.into_iter().filter(|&e| beneath(g.edge_target(e))).collect();
        if edges.is_empty() {
            continue;
        }
        let k: HashSet<NodeId> = edges.iter().map(|&e| g.edge_target(e)).collect();
        // A node whose subtree holds a node of K: K's ancestors.
        let holds: HashSet<NodeId> = k.iter().flat_map(|t| above[t].iter().copied()).collect();
        let mut scopes = Vec::new();
        let mut stack = vec![s];
        let mut walked = HashSet::from([s]);
        while let Some(n) = stack.pop() {
            for c in kids(n) {
                if !walked.insert(c) || k.contains(&c) {
                    continue;
                }
                if holds.contains(&c) {
                    stack.push(c);
                } else {
                    scopes.push(g.node(c).id.to_string());
                }
            }
        }
        if scopes.is_empty() {
            continue;
        }
        scopes.sort();
        scopes.dedup();
        out.push(Narrowing { fact, assignment, eligible, edges, scopes });
    }
    out
}

/// The objects whose deletion a plan may propose, among those the relevant arcs touch: (kind, the
/// nodes it deletes, the named object first). An application deletes its service principal here
/// too (Microsoft: deleting an app registration in its home tenant deletes its enterprise app);
/// a user-assigned identity deletes its service principal. A service principal is deletable only
/// when an application registered in this tenant backs it (never another tenant's or Microsoft's
/// app, never a managed identity: a system-assigned identity is part of its resource). Never a
/// node the facts do not hold (`unresolved`), never one that is a source or a target of the query.
fn deletions(g: &AttackGraph, q: &FixQuery, arcs: &[(usize, u32, u32)]) -> Vec<(ChangeKind, Vec<NodeId>)> {
    let mut touched: Vec<u32> = arcs.iter().flat_map(|&(_, a, b)| [a / 2, b / 2]).collect();
    touched.sort_unstable();
    touched.dedup();
    if touched.is_empty() {
        return Vec::new();
    }
    // Who backs whom: application or user-assigned identity -> its service principal.
    let mut backs: HashMap<NodeId, Vec<NodeId>> = HashMap::new();
    let mut backed_by: HashMap<NodeId, Vec<NodeId>> = HashMap::new();
    for e in (0..g.edge_count()).filter(|&e| g.edge_kind(e) == EdgeKind::AuthenticatesAs) {
        let (s, t) = (g.edge_source(e), g.edge_target(e));
        if matches!(g.node(s).kind, NodeKind::Application | NodeKind::UserAssignedIdentity)
            && g.node(t).kind == NodeKind::ServicePrincipal
        {
            backs.entry(s).or_default().push(t);
            backed_by.entry(t).or_default().push(s);
        }
    }
    let mut candidates: Vec<(ChangeKind, NodeId)> = Vec::new();
    for n in touched.into_iter().map(NodeId) {
        let node = g.node(n);
        match node.kind {
            NodeKind::Application => candidates.push((ChangeKind::DeleteApplication, n)),
            NodeKind::UserAssignedIdentity => candidates.push((ChangeKind::DeleteManagedIdentity, n)),
            NodeKind::ServicePrincipal => {
                for &b in backed_by.get(&n).map(Vec::as_slice).unwrap_or(&[]) {
                    match g.node(b).kind {
                        NodeKind::Application => {
                            candidates.push((ChangeKind::DeleteApplication, b));
                            let managed =
                                node.prop("sp_type").is_some_and(|t| t.eq_ignore_ascii_case("ManagedIdentity"))
                                    || node.prop("managed_identity_of").is_some();
                            if !managed {
                                candidates.push((ChangeKind::DeleteServicePrincipal, n));
                            }
                        }
                        _ => candidates.push((ChangeKind::DeleteManagedIdentity, b)),
                    }
                }
            }
            _ => {}
        }
    }
    candidates.sort_unstable();
    candidates.dedup();
    let end = |n: NodeId| q.sources.contains(&n) || q.targets.contains(&n);
    candidates
        .into_iter()
        .filter_map(|(kind, n)| {
            let mut gone = vec![n];
            if kind != ChangeKind::DeleteServicePrincipal {
                gone.extend(backs.get(&n).map(Vec::as_slice).unwrap_or(&[]));
            }
            let ok = gone.iter().all(|&m| !end(m) && g.node(m).prop("unresolved").is_none());
            ok.then_some((kind, gone))
        })
        .collect()
}

/// The derivations of an edge: its own evidence, then each merged alternative's.
fn derivations(edge: &crate::model::Edge) -> impl Iterator<Item = std::borrow::Cow<'_, [Evidence]>> {
    std::iter::once(edge.evidence().into()).chain(edge.alternatives.iter().map(|a| a.as_slice().into()))
}

const INF: f64 = 1e18;

impl Net {
    fn cut(&self, arc: usize, chosen: &[bool]) -> bool {
        self.changes[arc].iter().any(|&c| chosen[c as usize])
    }

    /// An open path (arcs) with the fewest cuttable arcs, by 0-1 BFS, and how many of its arcs a
    /// change not yet excluded can cut; `None` when every path is cut.
    fn open_path(&self, chosen: &[bool], excluded: &[bool]) -> Option<(Vec<u32>, usize)> {
        let mut dist = vec![usize::MAX; self.states];
        let mut pred = vec![u32::MAX; self.states];
        let mut dq = VecDeque::new();
        for &s in &self.starts {
            dist[s as usize] = 0;
            dq.push_back(s);
        }
        while let Some(u) = dq.pop_front() {
            if self.is_target[u as usize] {
                let mut path = Vec::new();
                let mut at = u;
                while pred[at as usize] != u32::MAX {
                    let a = pred[at as usize];
                    path.push(a);
                    at = self.from[a as usize];
                }
                path.reverse();
                return Some((path, dist[u as usize]));
            }
            for &a in &self.out[u as usize] {
                if self.cut(a as usize, chosen) {
                    continue;
                }
                let w = self.changes[a as usize].iter().any(|&c| !excluded[c as usize]) as usize;
                let v = self.to[a as usize] as usize;
                if dist[u as usize] + w < dist[v] {
                    dist[v] = dist[u as usize] + w;
                    pred[v] = a;
                    if w == 0 { dq.push_front(v as u32) } else { dq.push_back(v as u32) }
                }
            }
        }
        None
    }

    /// Max-flow over the arcs not cut by `chosen`, each with capacity `capacity(arc)` (INF for
    /// arcs no change may cut). Returns the flow and, per state, whether the source side of a
    /// minimum cut holds it.
    fn max_flow(&self, chosen: &[bool], capacity: impl Fn(usize) -> f64) -> (f64, Vec<bool>) {
        // Nodes: states, then the super source and super sink.
        let (s, t) = (self.states, self.states + 1);
        let mut dinic = Dinic::new(self.states + 2);
        for a in 0..self.from.len() {
            if !self.cut(a, chosen) {
                dinic.add(self.from[a] as usize, self.to[a] as usize, capacity(a));
            }
        }
        for &st in &self.starts {
            dinic.add(s, st as usize, INF);
        }
        for (st, &target) in self.is_target.iter().enumerate() {
            if target {
                dinic.add(st, t, INF);
            }
        }
        let flow = dinic.run(s, t);
        let side = dinic.source_side(s);
        (flow, side[..self.states].to_vec())
    }

    /// A lower bound on what the rest of a plan costs, given `chosen` and `excluded` changes: each
    /// arc's capacity is its cheapest available change's cost shared among the live arcs that
    /// change cuts. A plan cutting arcs C pays each change once, which is at least the sum of
    /// those shares over C, which is at least the max-flow.
    fn lower_bound(&self, chosen: &[bool], excluded: &[bool]) -> f64 {
        let mut live_arcs = vec![0u32; self.cost.len()];
        for a in 0..self.from.len() {
            if !self.cut(a, chosen) {
                for &c in &self.changes[a] {
                    live_arcs[c as usize] += 1;
                }
            }
        }
        let capacity = |a: usize| {
            self.changes[a]
                .iter()
                .filter(|&&c| !excluded[c as usize])
                .map(|&c| self.cost[c as usize] as f64 / live_arcs[c as usize].max(1) as f64)
                .fold(INF, f64::min)
        };
        self.max_flow(chosen, capacity).0
    }

    fn feasible(&self, chosen: &[bool]) -> bool {
        self.open_path(chosen, &vec![false; self.cost.len()]).is_none()
    }

    /// A first plan: the cheapest change of each arc of a minimum cut with undivided costs, then
    /// without the changes that the others make redundant (dearest dropped first).
    fn greedy(&self) -> Option<Vec<bool>> {
        let none = vec![false; self.cost.len()];
        let cheapest = |a: usize| self.changes[a].iter().copied().min_by_key(|&c| (self.cost[c as usize], c));
        let (flow, side) = self.max_flow(&none, |a| cheapest(a).map_or(INF, |c| self.cost[c as usize] as f64));
        if flow >= INF / 2.0 {
            return None;
        }
        let mut chosen = none;
        for a in 0..self.from.len() {
            if side[self.from[a] as usize]
                && !side[self.to[a] as usize]
                && let Some(c) = cheapest(a)
            {
                chosen[c as usize] = true;
            }
        }
        if !self.feasible(&chosen) {
            return None;
        }
        let mut order: Vec<usize> = (0..chosen.len()).filter(|&c| chosen[c]).collect();
        order.sort_by_key(|&c| std::cmp::Reverse((self.cost[c], c)));
        for c in order {
            chosen[c] = false;
            if !self.feasible(&chosen) {
                chosen[c] = true;
            }
        }
        Some(chosen)
    }
}

/// Branch and bound state.
struct Search<'n> {
    net: &'n Net,
    best: Option<(u32, Vec<bool>)>,
    nodes: usize,
    budget: usize,
    finished: bool,
}

impl Search<'_> {
    fn total(chosen: &[bool], net: &Net) -> u32 {
        chosen.iter().zip(&net.cost).filter(|(c, _)| **c).map(|(_, &k)| k).sum()
    }

    fn run(&mut self, chosen: &mut Vec<bool>, excluded: &mut Vec<bool>, spent: u32) {
        if self.nodes >= self.budget {
            self.finished = false;
            return;
        }
        self.nodes += 1;
        let best = self.best.as_ref().map_or(u32::MAX, |b| b.0);
        if spent >= best {
            return;
        }
        let Some((path, cuttable)) = self.net.open_path(chosen, excluded) else {
            self.best = Some((spent, chosen.clone()));
            return;
        };
        if cuttable == 0 {
            return; // a path no remaining change can cut
        }
        let bound = self.net.lower_bound(chosen, excluded);
        if spent as f64 + bound > best as f64 - 1.0 + 1e-9 {
            return; // costs are integers: only a plan cheaper by at least 1 is worth finding
        }
        let mut options: Vec<u32> = path
            .iter()
            .flat_map(|&a| self.net.changes[a as usize].iter().copied())
            .filter(|&c| !excluded[c as usize])
            .collect();
        options.sort_by_key(|&c| (self.net.cost[c as usize], c));
        options.dedup();
        // Branch i takes option i and rules out options before it, so no plan is visited twice.
        for &c in &options {
            chosen[c as usize] = true;
            self.run(chosen, excluded, spent + self.net.cost[c as usize]);
            chosen[c as usize] = false;
            excluded[c as usize] = true;
        }
        for &c in &options {
            excluded[c as usize] = false;
        }
    }
}

/// The default branch-and-bound budget: search nodes, each one max-flow.
pub const NODE_BUDGET: usize = 2_000;

/// Finds the cheapest set of changes that leaves no path from the sources to the targets. The
/// graph's edges on those paths must carry their evidence (the store loads it on demand).
pub fn solve(g: &AttackGraph, q: &FixQuery, costs: &Costs) -> Plan {
    let (net, changes) = build(g, q, costs);
    let k = changes.len();
    let none = vec![false; k];
    let mut plan = Plan {
        changes: Vec::new(),
        cost: 0,
        lower_bound: 0,
        exact: true,
        impossible: false,
        blocked_by_protection: false,
        candidates: k,
        arcs: net.from.len(),
        search_nodes: 0,
        removed_edges: Vec::new(),
    };
    if net.open_path(&none, &none).is_none() {
        return plan; // nothing to cut
    }
    let root_bound = net.lower_bound(&none, &none);
    if root_bound >= INF / 2.0 {
        plan.impossible = true;
        plan.exact = false;
        // Would the protected changes have made a cut possible? Only if no path is made of arcs
        // that no change at all, protected or not, removes.
        plan.blocked_by_protection = !net.path_where(|a| net.changes[a].is_empty() && !net.protected[a]);
        return plan;
    }
    let seed = net.greedy();
    let mut search = Search {
        net: &net,
        best: seed.map(|c| (Search::total(&c, &net), c)),
        nodes: 0,
        budget: q.node_budget.max(1),
        finished: true,
    };
    let (mut chosen, mut excluded) = (none.clone(), none.clone());
    search.run(&mut chosen, &mut excluded, 0);
    plan.search_nodes = search.nodes;
    let Some((cost, chosen)) = search.best else {
        plan.impossible = true;
        plan.exact = false;
        return plan;
    };
    plan.cost = cost;
    plan.exact = search.finished;
    plan.lower_bound = if plan.exact { cost } else { ((root_bound - 1e-6).ceil().max(0.0) as u32).min(cost) };
    plan.removed_edges = net.removed_edges(&chosen);
    let mut picked: Vec<Change> = changes.into_iter().zip(chosen).filter(|(_, c)| *c).map(|(ch, _)| ch).collect();
    picked.sort_by(|a, b| (a.cost, a.kind, &a.subject, &a.object).cmp(&(b.cost, b.kind, &b.subject, &b.object)));
    plan.changes = picked;
    plan
}

impl Net {
    /// The edges whose every derivation (arc) `chosen` cuts, sorted.
    fn removed_edges(&self, chosen: &[bool]) -> Vec<usize> {
        let mut standing: HashMap<usize, bool> = HashMap::new();
        for a in 0..self.from.len() {
            *standing.entry(self.edge[a]).or_default() |= !self.cut(a, chosen);
        }
        let mut v: Vec<usize> = standing.into_iter().filter(|&(_, up)| !up).map(|(e, _)| e).collect();
        v.sort_unstable();
        v
    }

    /// Whether some start reaches a target over arcs that `usable` accepts.
    fn path_where(&self, usable: impl Fn(usize) -> bool) -> bool {
        let mut seen = vec![false; self.states];
        let mut queue: VecDeque<u32> = self.starts.iter().copied().collect();
        for &s in &self.starts {
            seen[s as usize] = true;
        }
        while let Some(u) = queue.pop_front() {
            if self.is_target[u as usize] {
                return true;
            }
            for &a in &self.out[u as usize] {
                let v = self.to[a as usize];
                if usable(a as usize) && !seen[v as usize] {
                    seen[v as usize] = true;
                    queue.push_back(v);
                }
            }
        }
        false
    }
}

/// The pairs whose easiest path uses an edge that each change helps remove (one the plan removes),
/// for "the paths it closes": per change (in plan order), the (source, target) pairs.
pub fn pairs_closed(plan: &Plan, before: &[Path]) -> Vec<Vec<(NodeId, NodeId)>> {
    plan.changes
        .iter()
        .map(|c| {
            let mut v: Vec<(NodeId, NodeId)> = before
                .iter()
                .filter(|p| p.edges.iter().any(|e| c.edges.contains(e) && plan.removed_edges.binary_search(e).is_ok()))
                .map(|p| (p.source, p.target))
                .collect();
            v.dedup();
            v
        })
        .collect()
}

/// The easiest path of every (source, target) pair of the query.
pub fn pair_paths(g: &AttackGraph, q: &FixQuery) -> Vec<Path> {
    let pq = PairQuery { sources: &q.sources, targets: &q.targets, last_kinds: &[], only_eligible: false };
    g.easiest_pairs(&pq, &q.options)
}

/// The paths that remain once the plan's edges are removed from the graph (the check that does not
/// re-derive: the edges the plan's facts made are gone, nothing else changes).
pub fn remaining_without_edges(g: &AttackGraph, q: &FixQuery, cut: &[usize]) -> Vec<(String, String)> {
    let after = g.without_edges(cut);
    let ids = |v: &[NodeId]| -> Vec<NodeId> { v.iter().filter_map(|&n| after.node_index(g.node(n).id)).collect() };
    let q2 = FixQuery { sources: ids(&q.sources), targets: ids(&q.targets), ..q.clone() };
    pair_paths(&after, &q2)
        .into_iter()
        .map(|p| (after.node(p.source).id.to_string(), after.node(p.target).id.to_string()))
        .collect()
}

/// What a chokepoint is: a node the easiest paths pass through, or a changeable fact behind them.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case", tag = "type")]
pub enum Choke {
    Node { id: String },
    Fact { kind: ChangeKind, subject: String, object: String },
}

/// A chokepoint and how many (source, target) pairs' easiest paths it lies on.
#[derive(Debug, Clone, Serialize)]
pub struct Chokepoint {
    #[serde(flatten)]
    pub what: Choke,
    pub pairs: usize,
}

/// Facts and nodes ranked by how many pairs' easiest paths they lie on (most first, then by id):
/// where one change or one hardened node closes the most. Nodes count where a path passes through
/// them (not its ends); a fact counts for a hop only when each of the hop's derivations names it
/// (otherwise changing it leaves the hop). Path edges must carry their evidence and alternatives.
pub fn chokepoints(g: &AttackGraph, paths: &[Path]) -> Vec<Chokepoint> {
    // Keyed as `build` keys changes: a fact is one chokepoint however many edges it is behind.
    let mut counts: HashMap<ChokeKey, (Choke, usize)> = HashMap::new();
    // A pair counts once, however many of its paths a chokepoint lies on.
    let mut by_pair: Vec<&Path> = paths.iter().collect();
    by_pair.sort_by_key(|p| (p.source, p.target));
    for pair in by_pair.chunk_by(|a, b| (a.source, a.target) == (b.source, b.target)) {
        let mut seen: Vec<(ChokeKey, Choke)> = Vec::new();
        for p in pair {
            seen.extend(path_chokes(g, p));
        }
        seen.sort_by(|a, b| a.0.cmp(&b.0));
        seen.dedup_by(|a, b| a.0 == b.0);
        for (key, what) in seen {
            counts.entry(key).or_insert((what, 0)).1 += 1;
        }
    }
    let counts = counts.into_values();
    let mut v: Vec<Chokepoint> = counts.map(|(what, pairs)| Chokepoint { what, pairs }).collect();
    v.sort_by(|a, b| b.pairs.cmp(&a.pairs).then_with(|| a.what.cmp(&b.what)));
    v
}

/// The nodes a path passes through and the facts behind its hops (see [`chokepoints`]).
fn path_chokes(g: &AttackGraph, p: &Path) -> Vec<(ChokeKey, Choke)> {
    let mut seen: Vec<(ChokeKey, Choke)> = Vec::new();
    for n in p.nodes(g).into_iter().filter(|&n| n != p.source && n != p.target) {
        let id = g.node(n).id.to_string();
        seen.push(((None, id.clone()), Choke::Node { id }));
    }
    for &e in &p.edges {
        // A fact closes the hop only if every derivation of it names the fact.
        let mut common: Option<Vec<(ChokeKey, Choke)>> = None;
        for derivation in derivations(&g.edge(e)) {
            let mine: Vec<(ChokeKey, Choke)> = derivation
                .iter()
                .filter_map(|ev| change_of(g, e, ev))
                .map(|(kind, fact, subject, object)| {
                    let (_, _, holder) = change_key(kind, fact, &subject);
                    ((Some((kind, fact)), holder), Choke::Fact { kind, subject, object })
                })
                .collect();
            common = Some(match common {
                None => mine,
                Some(before) => before.into_iter().filter(|(k, _)| mine.iter().any(|(m, _)| m == k)).collect(),
            });
        }
        seen.extend(common.unwrap_or_default());
    }
    seen
}

/// How many paths per pair `chokepoints --within` considers at most.
pub const WITHIN_LIMIT: usize = 20;

/// Each pair's paths that cost at most `within` more than its easiest one (`easiest`), cheapest
/// first, at most [`WITHIN_LIMIT`] per pair; and how many pairs had more than that.
pub fn paths_within(g: &AttackGraph, q: &FixQuery, easiest: &[Path], within: u32) -> (Vec<Path>, usize) {
    let mut out = Vec::new();
    let mut truncated = 0;
    for p in easiest {
        let bound = p.cost.saturating_add(within);
        let more = g.k_easiest(p.source, p.target, WITHIN_LIMIT + 1, &q.options);
        if more.len() > WITHIN_LIMIT && more[WITHIN_LIMIT].cost <= bound {
            truncated += 1;
        }
        let kept: Vec<Path> = more.into_iter().take(WITHIN_LIMIT).filter(|m| m.cost <= bound).collect();
        if kept.is_empty() { out.push(p.clone()) } else { out.extend(kept) }
    }
    (out, truncated)
}

/// How a plan was checked, and what it left.
#[derive(Debug, Clone, Serialize)]
pub struct Verification {
    /// `re-derived` (the facts with the plan applied, every rule run again) or `edges-removed`
    /// (the plan's edges taken out of the stored graph).
    pub method: &'static str,
    /// Source and target ids of the pairs that still have a path.
    pub remaining: Vec<(String, String)>,
    /// Rounds of re-planning on the re-derived graph (0 when the first plan held).
    pub extra_rounds: usize,
}

/// Dinic's max-flow on f64 capacities.
struct Dinic {
    head: Vec<Vec<usize>>,
    to: Vec<usize>,
    cap: Vec<f64>,
    level: Vec<i32>,
    it: Vec<usize>,
}

impl Dinic {
    fn new(n: usize) -> Dinic {
        Dinic { head: vec![Vec::new(); n], to: Vec::new(), cap: Vec::new(), level: vec![0; n], it: vec![0; n] }
    }

    fn add(&mut self, a: usize, b: usize, c: f64) {
        self.head[a].push(self.to.len());
        self.to.push(b);
        self.cap.push(c);
        self.head[b].push(self.to.len());
        self.to.push(a);
        self.cap.push(0.0);
    }

    fn bfs(&mut self, s: usize) {
        self.level.iter_mut().for_each(|l| *l = -1);
        self.level[s] = 0;
        let mut q = VecDeque::from([s]);
        while let Some(u) = q.pop_front() {
            for &e in &self.head[u] {
                let v = self.to[e];
                if self.cap[e] > 1e-12 && self.level[v] < 0 {
                    self.level[v] = self.level[u] + 1;
                    q.push_back(v);
                }
            }
        }
    }

    /// One blocking-flow augmentation along level-increasing arcs, iteratively (no recursion depth
    /// limit on long paths).
    fn augment(&mut self, s: usize, t: usize) -> f64 {
        let mut path: Vec<usize> = Vec::new();
        let mut u = s;
        loop {
            if u == t {
                let f = path.iter().map(|&e| self.cap[e]).fold(INF * 4.0, f64::min);
                for &e in &path {
                    self.cap[e] -= f;
                    self.cap[e ^ 1] += f;
                }
                return f;
            }
            let mut advanced = false;
            while self.it[u] < self.head[u].len() {
                let e = self.head[u][self.it[u]];
                let v = self.to[e];
                if self.cap[e] > 1e-12 && self.level[v] == self.level[u] + 1 {
                    path.push(e);
                    u = v;
                    advanced = true;
                    break;
                }
                self.it[u] += 1;
            }
            if !advanced {
                if u == s {
                    return 0.0;
                }
                // Dead end: never enter u again in this phase, retreat.
                self.level[u] = -1;
                let e = path.pop().expect("a non-source node was entered by an arc");
                u = self.to[e ^ 1];
                self.it[u] += 1;
            }
        }
    }

    fn run(&mut self, s: usize, t: usize) -> f64 {
        let mut flow = 0.0;
        loop {
            self.bfs(s);
            if self.level[t] < 0 {
                return flow;
            }
            self.it.iter_mut().for_each(|i| *i = 0);
            loop {
                let f = self.augment(s, t);
                if f <= 1e-12 {
                    break;
                }
                flow += f;
                if flow >= INF / 2.0 {
                    return flow;
                }
            }
        }
    }

    /// The nodes reachable from `s` in the residual network: a minimum cut's source side.
    fn source_side(&self, s: usize) -> Vec<bool> {
        let mut seen = vec![false; self.head.len()];
        seen[s] = true;
        let mut q = VecDeque::from([s]);
        while let Some(u) = q.pop_front() {
            for &e in &self.head[u] {
                let v = self.to[e];
                if self.cap[e] > 1e-9 && !seen[v] {
                    seen[v] = true;
                    q.push_back(v);
                }
            }
        }
        seen
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Edge, Node};

    /// Evidence for a changeable fact `f` of the given kind (the fact's key is `kind|f`).
    fn fact(kind: EvidenceKind, f: usize) -> Evidence {
        Evidence::new(kind, format!("fact-{f}")).of_fact(&format!("{}|fact-{f}", kind.label()))
    }

    fn node(i: usize, kind: NodeKind) -> Node {
        Node::new(format!("n{i:02}"), kind, format!("node {i}"))
    }

    fn edge(s: usize, t: usize, kind: EdgeKind, evidence: Vec<Evidence>) -> Edge {
        Edge::new(&format!("n{s:02}"), &format!("n{t:02}"), kind, "test", String::new()).with_evidence(evidence)
    }

    fn query(g: &AttackGraph, sources: &[usize], targets: &[usize]) -> FixQuery {
        let ids = |v: &[usize]| v.iter().map(|i| g.node_index(&format!("n{i:02}")).unwrap()).collect();
        FixQuery { sources: ids(sources), targets: ids(targets), node_budget: 100_000, ..FixQuery::default() }
    }

    fn closes_all(g: &AttackGraph, q: &FixQuery, plan: &Plan) -> bool {
        remaining_without_edges(g, q, &plan.cut_edges()).is_empty()
    }

    #[test]
    fn one_fact_behind_two_edges_counts_once() {
        // Two disjoint paths s -> a -> t and s -> b -> t. Assignment 1 stands behind both first
        // hops (cost 10 once); the second hops are each a separate membership (5 + 5). Also an
        // ownership (3) on each path's second hop would cost 6: the plan takes the two ownerships.
        use EvidenceKind::*;
        let nodes = (0..4).map(|i| node(i, NodeKind::User)).collect();
        let edges = vec![
            edge(0, 1, EdgeKind::ExecuteOn, vec![fact(RoleAssignment, 1)]),
            edge(0, 2, EdgeKind::ExecuteOn, vec![fact(RoleAssignment, 1)]),
            edge(1, 3, EdgeKind::AddSecret, vec![fact(Owner, 2)]),
            edge(2, 3, EdgeKind::AddSecret, vec![fact(Owner, 3)]),
        ];
        let g = AttackGraph::new(nodes, edges);
        let q = query(&g, &[0], &[3]);
        let plan = solve(&g, &q, &Costs::default());
        assert!(plan.exact);
        assert_eq!(plan.cost, 6);
        assert_eq!(plan.changes.len(), 2);
        // With ownerships dear, the one assignment behind both edges is cheaper than two ownerships.
        let costs = Costs { ownership: 8, ..Costs::default() };
        let plan = solve(&g, &q, &costs);
        assert_eq!((plan.cost, plan.changes.len()), (10, 1));
        assert_eq!(plan.changes[0].kind, ChangeKind::RoleAssignment);
        assert_eq!(plan.changes[0].edges.len(), 2);
        assert!(closes_all(&g, &q, &plan));
    }

    #[test]
    fn a_hop_derived_twice_is_cut_only_when_both_derivations_are() {
        // s -> t derived from assignment 1 and, merged into it, from assignment 2 (parallel grants).
        // Cutting 1 alone leaves the hop; a plan must cut both (20), unless the membership behind
        // the only way to s's hop is cheaper: here there is none, so the plan is both assignments.
        use EvidenceKind::*;
        let nodes = (0..2).map(|i| node(i, NodeKind::User)).collect();
        let mut e = edge(0, 1, EdgeKind::AssignRoles, vec![fact(RoleAssignment, 1)]);
        e.alternatives = vec![vec![fact(RoleAssignment, 2)]].into();
        let g = AttackGraph::new(nodes, vec![e.clone()]);
        let q = query(&g, &[0], &[1]);
        let plan = solve(&g, &q, &Costs::default());
        assert!(plan.exact);
        assert_eq!((plan.cost, plan.changes.len()), (20, 2));
        assert_eq!(plan.cut_edges(), [0]);
        assert!(closes_all(&g, &q, &plan));
        // Keeping assignment 2 leaves no cut: the hop stands on it whatever else goes.
        let mut kept = q.clone();
        kept.keep_facts = vec!["fact-2".into()];
        let plan = solve(&g, &kept, &Costs::default());
        assert!(plan.impossible && plan.blocked_by_protection);
        // A derivation that names no changeable fact makes the hop uncuttable.
        e.alternatives = vec![vec![fact(Identity, 9)]].into();
        let g = AttackGraph::new(g.nodes.to_nodes(), vec![e]);
        let plan = solve(&g, &q, &Costs::default());
        assert!(plan.impossible && !plan.blocked_by_protection);
    }

    #[test]
    fn make_eligible_is_offered_only_where_eligible_hops_do_not_count() {
        use EvidenceKind::*;
        let nodes = (0..3).map(|i| node(i, NodeKind::User)).collect();
        let edges = vec![
            edge(0, 1, EdgeKind::AssignRoles, vec![fact(RoleAssignment, 1)]),
            edge(1, 2, EdgeKind::AddSecret, vec![fact(Owner, 2)]),
        ];
        let g = AttackGraph::new(nodes, edges);
        let costs = Costs { ownership: 50, ..Costs::default() };
        let mut q = query(&g, &[0], &[2]);
        let plan = solve(&g, &q, &costs);
        assert_eq!(
            plan.changes.iter().map(|c| (c.kind, c.cost)).collect::<Vec<_>>(),
            [(ChangeKind::RoleAssignment, 10)]
        );
        assert_eq!(plan.what_if().remove_facts.len(), 1);
        q.options.without_eligible = true;
        let plan = solve(&g, &q, &costs);
        assert!(plan.exact);
        assert_eq!(plan.changes.iter().map(|c| (c.kind, c.cost)).collect::<Vec<_>>(), [(ChangeKind::MakeEligible, 4)]);
        assert_eq!(plan.what_if().make_eligible, ["fact-1"]);
        assert!(plan.what_if().remove_facts.is_empty());
        assert!(plan.changes[0].command(&g).contains("roleEligibilityScheduleRequests"));
    }

    #[test]
    fn contains_is_cut_only_where_it_can_be_walked() {
        // s -ListKeys-> scope (data plane: no control) -Contains-> t is no path; s -AssignRoles->
        // scope -Contains-> t is. Only the AssignRoles edge needs cutting; the Contains hop and the
        // VM identity (RunCodeAs, from the resource's identity) are never changes.
        use EvidenceKind::*;
        let nodes = vec![
            node(0, NodeKind::User),
            node(1, NodeKind::ResourceGroup),
            node(2, NodeKind::VirtualMachine),
            node(3, NodeKind::ServicePrincipal),
        ];
        let edges = vec![
            edge(0, 1, EdgeKind::ReadData, vec![fact(RoleAssignment, 1)]),
            edge(0, 1, EdgeKind::AssignRoles, vec![fact(RoleAssignment, 2)]),
            edge(1, 2, EdgeKind::Contains, vec![Evidence::new(ArmHierarchy, "rg contains vm")]),
            edge(2, 3, EdgeKind::RunCodeAs, vec![fact(Identity, 9)]),
        ];
        let g = AttackGraph::new(nodes, edges);
        let q = query(&g, &[0], &[3]);
        let plan = solve(&g, &q, &Costs::default());
        assert!(plan.exact && !plan.impossible);
        assert_eq!(plan.changes.iter().map(|c| c.subject.as_str()).collect::<Vec<_>>(), ["fact-2"]);
        assert!(closes_all(&g, &q, &plan));
    }

    #[test]
    fn protected_facts_are_never_cut_and_no_cut_is_reported() {
        use EvidenceKind::*;
        let nodes = (0..3).map(|i| node(i, NodeKind::User)).collect();
        let edges = vec![
            edge(0, 1, EdgeKind::MemberOf, vec![fact(GroupMembership, 1)]),
            edge(1, 2, EdgeKind::AddSecret, vec![fact(Owner, 2)]),
        ];
        let g = AttackGraph::new(nodes, edges);
        let mut q = query(&g, &[0], &[2]);
        q.keep_facts = vec!["n02".into()]; // the app n02: its ownership is protected
        let plan = solve(&g, &q, &Costs::default());
        assert_eq!(plan.changes.iter().map(|c| c.kind).collect::<Vec<_>>(), [ChangeKind::GroupMembership]);
        q.keep_nodes = vec![g.node_index("n00").unwrap()];
        let plan = solve(&g, &q, &Costs::default());
        assert!(plan.impossible && plan.blocked_by_protection && plan.changes.is_empty());
        // A path of facts nobody can change is impossible whatever is protected.
        let g2 = AttackGraph::new(
            (0..2).map(|i| node(i, NodeKind::User)).collect(),
            vec![edge(0, 1, EdgeKind::RunCodeAs, vec![fact(Identity, 1)])],
        );
        let plan = solve(&g2, &query(&g2, &[0], &[1]), &Costs::default());
        assert!(plan.impossible && !plan.blocked_by_protection);
    }

    #[test]
    fn chokepoints_count_pairs_not_edges() {
        use EvidenceKind::*;
        // Two sources reach one target through hub n02; assignment 1 is behind both sources' hops.
        let nodes = (0..4).map(|i| node(i, NodeKind::User)).collect();
        let edges = vec![
            edge(0, 2, EdgeKind::ExecuteOn, vec![fact(RoleAssignment, 1)]),
            edge(1, 2, EdgeKind::ExecuteOn, vec![fact(RoleAssignment, 1)]),
            edge(2, 3, EdgeKind::AddSecret, vec![fact(Owner, 2)]),
        ];
        let g = AttackGraph::new(nodes, edges);
        let paths = pair_paths(&g, &query(&g, &[0, 1], &[3]));
        assert_eq!(paths.len(), 2);
        let c = chokepoints(&g, &paths);
        assert!(c.iter().all(|c| c.pairs == 2), "{c:?}");
        assert!(c.iter().any(|c| c.what == Choke::Node { id: "n02".into() }));
        let facts: Vec<_> = c.iter().filter(|c| matches!(c.what, Choke::Fact { .. })).collect();
        // The assignment (one fact, two edges) and the ownership.
        assert_eq!(facts.len(), 2, "{facts:?}");
    }

    #[test]
    fn chokepoints_within_a_bound_count_each_pair_once_over_its_cheap_paths() {
        use EvidenceKind::*;
        // n00 reaches n03 through n01 (cost 2) and through n02 (cost 3); assignment 2 is behind
        // the last hop of both.
        let nodes = (0..4).map(|i| node(i, NodeKind::User)).collect();
        let hop = |s, t, cost, ev| {
            let mut e = edge(s, t, EdgeKind::ExecuteOn, ev);
            e.cost = cost;
            e
        };
        let edges = vec![
            hop(0, 1, 1, vec![fact(Owner, 1)]),
            hop(1, 3, 1, vec![fact(RoleAssignment, 2)]),
            hop(0, 2, 1, vec![fact(Owner, 3)]),
            hop(2, 3, 2, vec![fact(RoleAssignment, 2)]),
        ];
        let g = AttackGraph::new(nodes, edges);
        let q = query(&g, &[0], &[3]);
        let easiest = pair_paths(&g, &q);
        let names = |paths: &[Path]| -> Vec<(String, usize)> {
            let mut v: Vec<_> = chokepoints(&g, paths)
                .into_iter()
                .map(|c| match c.what {
                    Choke::Node { id } => (id, c.pairs),
                    Choke::Fact { kind, subject, .. } => (format!("{kind:?} {subject}"), c.pairs),
                })
                .collect();
            v.sort();
            v
        };
        let only_easiest = names(&easiest);
        assert_eq!(
            only_easiest.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
            ["Ownership n00", "RoleAssignment fact-2", "n01"]
        );
        let (none_more, truncated) = paths_within(&g, &q, &easiest, 0);
        assert_eq!((none_more.len(), truncated), (1, 0));
        assert_eq!(names(&none_more), only_easiest);
        let (both, truncated) = paths_within(&g, &q, &easiest, 1);
        assert_eq!((both.len(), truncated), (2, 0));
        let within = names(&both);
        // Both ownerships (held by n00) and both hubs; the shared assignment counts its pair once.
        assert_eq!(within.len(), 5, "{within:?}");
        assert!(within.iter().all(|(_, pairs)| *pairs == 1), "{within:?}");
        assert!(within.iter().any(|(n, _)| n == "n02"));
    }

    #[test]
    fn a_command_never_carries_an_id_a_shell_would_interpret() {
        let g = AttackGraph::new(vec![node(0, NodeKind::User), node(1, NodeKind::Group)], vec![]);
        let change = |subject: &str, scopes: &[&str]| Change {
            kind: if scopes.is_empty() { ChangeKind::GroupMembership } else { ChangeKind::NarrowScope },
            fact: FactRef::of("membership|x"),
            subject: subject.into(),
            object: "n01".into(),
            cost: 1,
            protected: false,
            evidence: vec![Evidence::named(EvidenceKind::Role, "Reader", "acdd72a7-3385-48ef-bd42-f606fba81ae7")],
            deletes: vec![],
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
            edges: vec![],
        };
        assert_eq!(change("n00", &[]).command(&g), "az ad group member remove --group n01 --member-id n00");
        let scope = "/subscriptions/s/resourcegroups/rg(1)";
        assert!(change("/ra", &[scope]).command(&g).contains(&format!("'{scope}'")));
        for hostile in ["n00; rm -rf ~", "$(touch x)", "a`id`", "a'b", "a\"b", "a\nb", "a|b", "a&b", "a b"] {
            for c in [change(hostile, &[]), change("/ra", &[hostile])] {
                assert!(c.command(&g).starts_with("# not shown"), "{hostile:?}: {}", c.command(&g));
            }
        }
    }

    #[test]
    fn a_fact_of_one_derivation_only_is_no_chokepoint() {
        use EvidenceKind::*;
        // The hop n00 -> n01 is derived twice, through assignment 1 and through assignment 2, both
        // by way of membership 3: only the membership closes it.
        let nodes = (0..2).map(|i| node(i, NodeKind::User)).collect();
        let mut hop = edge(0, 1, EdgeKind::ExecuteOn, vec![fact(RoleAssignment, 1), fact(GroupMembership, 3)]);
        hop.alternatives = vec![vec![fact(RoleAssignment, 2), fact(GroupMembership, 3)]].into();
        let g = AttackGraph::new(nodes, vec![hop]);
        let paths = pair_paths(&g, &query(&g, &[0], &[1]));
        let c = chokepoints(&g, &paths);
        let facts: Vec<_> = c.iter().filter(|c| matches!(c.what, Choke::Fact { .. })).collect();
        assert_eq!(facts.len(), 1, "{facts:?}");
        assert!(matches!(facts[0].what, Choke::Fact { kind: ChangeKind::GroupMembership, .. }), "{facts:?}");
    }

    /// Sources n00..n02 each own application n03 (ownerships 1..3); n03 backs service principal n04;
    /// n04 holds two assignments (4 and 5, the same hop derived twice) over target n05.
    fn stale_app() -> AttackGraph {
        use EvidenceKind::*;
        let kinds = [
            NodeKind::User,
            NodeKind::User,
            NodeKind::User,
            NodeKind::Application,
            NodeKind::ServicePrincipal,
            NodeKind::Subscription,
        ];
        let nodes = kinds.iter().enumerate().map(|(i, &k)| node(i, k)).collect();
        let mut grant = edge(4, 5, EdgeKind::AssignRoles, vec![fact(RoleAssignment, 4)]);
        grant.alternatives = vec![vec![fact(RoleAssignment, 5)]].into();
        let edges = vec![
            edge(0, 3, EdgeKind::AddSecret, vec![fact(Owner, 1)]),
            edge(1, 3, EdgeKind::AddSecret, vec![fact(Owner, 2)]),
            edge(2, 3, EdgeKind::AddSecret, vec![fact(Owner, 3)]),
            edge(3, 4, EdgeKind::AuthenticatesAs, vec![Evidence::new(AppId, "appid-3")]),
            grant,
        ];
        AttackGraph::new(nodes, edges)
    }

    #[test]
    fn deleting_an_object_is_one_change_that_cuts_every_edge_of_it() {
        let g = stale_app();
        let q = query(&g, &[0, 1, 2], &[5]);
        // Three ownerships (45) or two assignments (40) cost more than deleting the SP (25).
        let costs = Costs { ownership: 15, role_assignment: 20, ..Costs::default() };
        let plan = solve(&g, &q, &costs);
        assert!(plan.exact);
        assert_eq!(
            plan.changes.iter().map(|c| (c.kind, c.cost)).collect::<Vec<_>>(),
            [(ChangeKind::DeleteServicePrincipal, 25)]
        );
        assert_eq!(plan.changes[0].deletes, ["n04"]);
        assert_eq!(plan.what_if().delete_objects, ["n04"]);
        assert!(plan.what_if().remove_facts.is_empty());
        assert!(closes_all(&g, &q, &plan));
        assert!(plan.changes[0].command(&g).starts_with("az ad sp delete --id n04 && az rest --method delete"));
        // The application deletes its service principal too: one change, both nodes' edges.
        let costs = Costs { delete_service_principal: 100, ..costs };
        let plan = solve(&g, &q, &costs);
        assert_eq!(
            plan.changes.iter().map(|c| (c.kind, c.cost)).collect::<Vec<_>>(),
            [(ChangeKind::DeleteApplication, 30)]
        );
        assert_eq!(plan.changes[0].deletes, ["n03", "n04"]);
        assert_eq!(plan.removed_edges, [0, 1, 2, 3, 4]);
        let command = plan.changes[0].command(&g);
        assert!(command.starts_with("az ad sp delete --id n04 && az ad app delete --id n03 && "), "{command}");
        assert!(command.contains("/directory/deletedItems/n03") && command.contains("/directory/deletedItems/n04"));
        // At default costs the three ownerships (9) win.
        let plan = solve(&g, &q, &Costs::default());
        assert!(plan.changes.iter().all(|c| c.kind == ChangeKind::Ownership));
    }

    #[test]
    fn never_deleted_a_source_a_target_a_protected_node_or_what_the_facts_do_not_hold() {
        let g = stale_app();
        let costs = Costs { ownership: 15, role_assignment: 20, ..Costs::default() };
        let kinds = |plan: &Plan| plan.changes.iter().map(|c| c.kind).collect::<Vec<_>>();
        // The application and its service principal as sources: neither is deleted. The
        // application alone: not it, but its service principal may go.
        let plan = solve(&g, &query(&g, &[3, 4], &[5]), &costs);
        assert_eq!(kinds(&plan), [ChangeKind::RoleAssignment, ChangeKind::RoleAssignment]);
        let plan = solve(&g, &query(&g, &[3], &[5]), &Costs { delete_service_principal: 100, ..costs.clone() });
        assert_eq!(kinds(&plan), [ChangeKind::RoleAssignment, ChangeKind::RoleAssignment]);
        let plan = solve(&g, &query(&g, &[3], &[5]), &costs);
        assert_eq!(kinds(&plan), [ChangeKind::DeleteServicePrincipal]);
        // The service principal as a target: neither is deleted (the app's deletion would delete it).
        let plan = solve(&g, &query(&g, &[0, 1, 2], &[4]), &costs);
        assert_eq!(kinds(&plan), [ChangeKind::Ownership; 3]);
        // Kept: the node itself, a neighbour (the target), or its id.
        for keep in [vec!["n04"], vec!["n05"]] {
            let mut q = query(&g, &[0, 1, 2], &[5]);
            q.keep_nodes = keep.iter().map(|id| g.node_index(id).unwrap()).collect();
            let plan = solve(&g, &q, &costs);
            assert!(plan.changes.iter().all(|c| c.kind != ChangeKind::DeleteServicePrincipal), "{keep:?}");
        }
        let mut q = query(&g, &[0, 1, 2], &[5]);
        // Keeping the service principal (case-insensitively) keeps the application's deletion too,
        // and its assignments; keeping the application keeps its ownerships, not its SP's deletion.
        q.keep_facts = vec!["N04".into()];
        let plan = solve(&g, &q, &costs);
        assert_eq!(kinds(&plan), [ChangeKind::Ownership; 3]);
        q.keep_facts = vec!["n03".into()];
        let plan = solve(&g, &q, &costs);
        assert_eq!(kinds(&plan), [ChangeKind::DeleteServicePrincipal]);
        // A service principal no application of this tenant backs (another tenant's or Microsoft's
        // app), or one the facts only name (unresolved): never deleted.
        let g2 = stale_app();
        let mut edges = g2.to_edges();
        edges.retain(|e| e.kind != EdgeKind::AuthenticatesAs);
        edges.push(edge(0, 4, EdgeKind::AddSecret, vec![fact(EvidenceKind::Owner, 6)]));
        let g2 = AttackGraph::new(g2.nodes.to_nodes(), edges);
        let plan = solve(&g2, &query(&g2, &[0], &[5]), &costs);
        assert_eq!(kinds(&plan), [ChangeKind::Ownership]);
        let g3 = stale_app();
        let mut nodes = g3.nodes.to_nodes();
        nodes[4] = nodes[4].clone().with_prop("unresolved", "true");
        let g3 = AttackGraph::new(nodes, g3.to_edges());
        let plan = solve(&g3, &query(&g3, &[0, 1, 2], &[5]), &Costs { delete_service_principal: 1, ..costs });
        assert!(plan.changes.iter().all(|c| c.kind != ChangeKind::DeleteServicePrincipal && c.deletes.is_empty()));
    }

    #[test]
    fn a_user_assigned_identity_is_deleted_with_its_principal_and_a_system_assigned_one_never() {
        use EvidenceKind::*;
        // n00 -ExecuteOn-> VM n01 -RunCodeAs-> UAMI n02 -AuthenticatesAs-> its SP n03 -> target n05;
        // VM n01 -RunCodeAs-> its system-assigned SP n04 -> target n05.
        let nodes = vec![
            node(0, NodeKind::User),
            node(1, NodeKind::VirtualMachine),
            node(2, NodeKind::UserAssignedIdentity),
            node(3, NodeKind::ServicePrincipal)
                .with_prop("sp_type", "ManagedIdentity")
                .with_prop("managed_identity_of", "n02"),
            node(4, NodeKind::ServicePrincipal)
                .with_prop("sp_type", "ManagedIdentity")
                .with_prop("managed_identity_of", "n01"),
            node(5, NodeKind::KeyVault),
        ];
        let edges = vec![
            edge(0, 1, EdgeKind::ExecuteOn, vec![fact(RoleAssignment, 1)]),
            edge(1, 2, EdgeKind::RunCodeAs, vec![fact(Identity, 2)]),
            edge(2, 3, EdgeKind::AuthenticatesAs, vec![Evidence::new(Identity, "principal")]),
            edge(3, 5, EdgeKind::ReadSecrets, vec![fact(RoleAssignment, 3)]),
            edge(1, 4, EdgeKind::RunCodeAs, vec![fact(Identity, 4)]),
            edge(4, 5, EdgeKind::ReadSecrets, vec![fact(RoleAssignment, 5)]),
        ];
        let g = AttackGraph::new(nodes, edges);
        // The VM's code path: the two identities' grants (cost 40 at 20 each) or the VM's grant.
        let q = query(&g, &[1], &[5]);
        let costs = Costs { role_assignment: 20, delete_managed_identity: 5, ..Costs::default() };
        let plan = solve(&g, &q, &costs);
        let picked: Vec<_> = plan.changes.iter().map(|c| (c.kind, c.deletes.clone())).collect();
        assert_eq!(
            picked,
            [
                (ChangeKind::DeleteManagedIdentity, vec!["n02".to_string(), "n03".to_string()]),
                (ChangeKind::RoleAssignment, vec![])
            ]
        );
        assert_eq!(plan.changes[0].command(&g), "az identity delete --ids n02");
        assert!(closes_all(&g, &q, &plan));
        // No change deletes the system-assigned identity's principal or the VM.
        let (net, changes) = build(&g, &q, &costs);
        assert!(net.from.len() >= 5);
        assert!(changes.iter().all(|c| !c.deletes.iter().any(|d| d == "n04" || d == "n01")));
    }

    /// Subscription n00 holds resource groups n01, n02, n03; vault n04 is in n01, storage n05 in
    /// n02. Pipeline n06 reads n04's secrets through assignment `ra` at the subscription.
    fn narrowable(rule: &str) -> (AttackGraph, String) {
        let kinds = [
            NodeKind::Subscription,
            NodeKind::ResourceGroup,
            NodeKind::ResourceGroup,
            NodeKind::ResourceGroup,
            NodeKind::KeyVault,
            NodeKind::StorageAccount,
            NodeKind::ServicePrincipal,
        ];
        let mut nodes: Vec<Node> = kinds.iter().enumerate().map(|(i, &k)| node(i, k)).collect();
        nodes[6] = nodes[6].clone().with_prop("pipeline", "tagged azpath:pipeline");
        let ra = "n00/providers/Microsoft.Authorization/roleAssignments/ra".to_string();
        let grant = Evidence::new(EvidenceKind::RoleAssignment, ra.clone()).of_fact("role assignment|ra");
        let role = Evidence::new(EvidenceKind::Role, "Key Vault Secrets User (4633458b-17de-408a-b874-0445c86b69e6)");
        let mut read = edge(6, 4, EdgeKind::ReadSecrets, vec![grant.clone(), role]);
        read.rule = rule.into();
        let arm = |p, c| edge(p, c, EdgeKind::Contains, vec![Evidence::new(EvidenceKind::ArmHierarchy, "")]);
        let edges = vec![arm(0, 1), arm(0, 2), arm(0, 3), arm(1, 4), arm(2, 5), read];
        (AttackGraph::new(nodes, edges), ra)
    }

    #[test]
    fn narrowing_keeps_the_role_on_the_scopes_without_a_target() {
        let (g, ra) = narrowable("key-vault-read-secrets");
        let q = query(&g, &[6], &[4]);
        // A pipeline's grant: removing it costs 50, narrowing to two scopes 8 + 1.
        let plan = solve(&g, &q, &Costs::default());
        assert!(plan.exact);
        assert_eq!(plan.changes.iter().map(|c| (c.kind, c.cost)).collect::<Vec<_>>(), [(ChangeKind::NarrowScope, 9)]);
        let c = &plan.changes[0];
        assert_eq!((c.subject.as_str(), c.object.as_str()), (ra.as_str(), "n06"));
        // n01 holds the vault (and the vault itself is never a scope); n02 and n03 do not.
        assert_eq!(c.scopes, ["n02", "n03"]);
        assert_eq!(plan.what_if().narrow_scopes, [(ra.clone(), vec!["n02".to_string(), "n03".to_string()])]);
        assert!(plan.what_if().remove_facts.is_empty());
        assert!(closes_all(&g, &q, &plan));
        let command = c.command(&g);
        assert!(command.starts_with(&format!("az role assignment delete --ids {ra} && for scope in 'n02' 'n03'; do ")));
        assert!(command.contains(
            "az role assignment create --assignee-object-id n06 --assignee-principal-type ServicePrincipal --role 4633458b-17de-408a-b874-0445c86b69e6 --scope \"$scope\""
        ));
        // Narrowing dear: removing wins.
        let plan = solve(&g, &q, &Costs { narrow_scope: 60, ..Costs::default() });
        assert_eq!(plan.changes.iter().map(|c| c.kind).collect::<Vec<_>>(), [ChangeKind::RoleAssignment]);
    }

    #[test]
    fn narrowing_is_never_offered_where_it_cannot_be_judged_or_is_protected() {
        let kinds = |plan: &Plan| plan.changes.iter().map(|c| c.kind).collect::<Vec<_>>();
        // A rule whose grant is checked elsewhere than on the target.
        let (g, _) = narrowable("function-package-storage");
        assert_eq!(kinds(&solve(&g, &query(&g, &[6], &[4]), &Costs::default())), [ChangeKind::RoleAssignment]);
        // An edge to the assignment's own scope (here the target is the subscription itself).
        let (g, _) = narrowable("rbac-assign-roles");
        let mut edges = g.to_edges();
        edges[5] = {
            let mut e = edge(6, 0, EdgeKind::AssignRoles, g.edge(5).evidence().clone());
            e.rule = "rbac-assign-roles".into();
            e
        };
        let g = AttackGraph::new(g.nodes.to_nodes(), edges);
        assert_eq!(kinds(&solve(&g, &query(&g, &[6], &[0]), &Costs::default())), [ChangeKind::RoleAssignment]);
        // Every child of the scope holds a target: nothing would remain (that is removing it).
        let (g, _) = narrowable("key-vault-read-secrets");
        let mut edges = g.to_edges();
        for (t, f) in [(5, "b"), (3, "c")] {
            let id = format!("n00/providers/Microsoft.Authorization/roleAssignments/ra-{f}");
            let ev = Evidence::new(EvidenceKind::RoleAssignment, id.clone()).of_fact(&format!("role assignment|{f}"));
            let mut e = edge(6, t, EdgeKind::ReadData, vec![ev]);
            e.rule = "rbac-read-data".into();
            edges.push(e);
        }
        // The same assignment `ra` behind all three: re-point the two new edges to it.
        let ra = g.edge(5).evidence()[0].clone();
        edges[6].set_evidence(vec![ra.clone()]);
        edges[7].set_evidence(vec![ra]);
        let g = AttackGraph::new(g.nodes.to_nodes(), edges);
        let plan = solve(&g, &query(&g, &[6], &[3, 4, 5]), &Costs::default());
        assert_eq!(kinds(&plan), [ChangeKind::RoleAssignment]);
        // In a merged alternative derivation: the rule that made it is unknown, so no narrowing.
        let (g, ra) = {
            let (g, ra) = narrowable("key-vault-read-secrets");
            let mut edges = g.to_edges();
            let primary = Evidence::new(
                EvidenceKind::RoleAssignment,
                "n01/providers/Microsoft.Authorization/roleAssignments/other",
            )
            .of_fact("role assignment|other");
            edges[5].alternatives = vec![edges[5].evidence()].into();
            edges[5].set_evidence(vec![primary]);
            (AttackGraph::new(g.nodes.to_nodes(), edges), ra)
        };
        let (net, changes) = build(&g, &query(&g, &[6], &[4]), &Costs::default());
        assert!(net.from.len() == 2);
        let narrowed: Vec<_> = changes.iter().filter(|c| c.kind == ChangeKind::NarrowScope).collect();
        assert!(narrowed.iter().all(|c| c.subject != ra), "{narrowed:?}");
        // Protected: the assignment, the holder, or a kept node at the end of its edge.
        let (g, ra) = narrowable("key-vault-read-secrets");
        for keep in [format!("fact:{ra}"), "fact:N06".into(), "node:n04".into()] {
            let mut q = query(&g, &[6], &[4]);
            match keep.strip_prefix("fact:") {
                Some(id) => q.keep_facts = vec![id.to_string()],
                None => q.keep_nodes = vec![g.node_index("n04").unwrap()],
            }
            let plan = solve(&g, &q, &Costs::default());
            assert!(plan.impossible && plan.blocked_by_protection, "{keep}: {:?}", plan.changes);
        }
    }

    #[test]
    fn a_group_listing_itself_is_no_change() {
        let g = AttackGraph::new(vec![node(0, NodeKind::Group)], vec![]);
        let e = edge(0, 0, EdgeKind::MemberOf, vec![fact(EvidenceKind::GroupMembership, 1)]);
        let g = AttackGraph::new(g.nodes.to_nodes(), vec![e]);
        assert!(change_of(&g, 0, &g.edge(0).evidence()[0]).is_none());
    }

    /// xorshift: reproducible randomness without a dependency.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self, n: usize) -> usize {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            (self.0 % n as u64) as usize
        }
    }

    const FACT_KINDS: [EvidenceKind; 5] = [
        EvidenceKind::RoleAssignment,
        EvidenceKind::GroupMembership,
        EvidenceKind::Owner,
        EvidenceKind::AppRoleAssignment,
        EvidenceKind::Identity, // never a change
    ];

    /// A random graph of 7 nodes, edges of kinds that exercise `Contains`, each backed by 0 to 2
    /// facts out of a pool of 9 (facts shared by several edges).
    fn random_graph(rng: &mut Rng) -> AttackGraph {
        // Applications, service principals and user-assigned identities are deletable (an
        // `AuthenticatesAs` edge from an application or identity to a service principal backs it).
        let kinds = [
            NodeKind::User,
            NodeKind::Group,
            NodeKind::ResourceGroup,
            NodeKind::Subscription,
            NodeKind::Application,
            NodeKind::ServicePrincipal,
            NodeKind::UserAssignedIdentity,
        ];
        let nodes: Vec<Node> = (0..7).map(|i| node(i, kinds[rng.next(kinds.len())])).collect();
        let edge_kinds = [
            EdgeKind::MemberOf,
            EdgeKind::AssignRoles,
            EdgeKind::Contains,
            EdgeKind::ReadData,
            EdgeKind::AddSecret,
            EdgeKind::AuthenticatesAs,
        ];
        let fact_kind: Vec<EvidenceKind> = (0..9).map(|_| FACT_KINDS[rng.next(FACT_KINDS.len())]).collect();
        // Each role assignment is at the scope of a random node (its id says so), and narrowable
        // where it backs an edge of a narrowable rule whose target lies beneath that node.
        let scope_of: Vec<usize> = (0..9).map(|_| 2 + rng.next(3)).collect();
        let evidence_of = |f: usize| {
            if fact_kind[f] == EvidenceKind::RoleAssignment {
                let id = format!("n{:02}/providers/Microsoft.Authorization/roleAssignments/fact-{f}", scope_of[f]);
                Evidence::new(EvidenceKind::RoleAssignment, id).of_fact(&format!("role assignment|fact-{f}"))
            } else {
                fact(fact_kind[f], f)
            }
        };
        let mut edges = Vec::new();
        for _ in 0..(8 + rng.next(8)) {
            let (s, t) = (rng.next(7), rng.next(7));
            if s == t {
                continue;
            }
            let derivation =
                |rng: &mut Rng| -> Vec<Evidence> { (0..rng.next(3)).map(|_| evidence_of(rng.next(9))).collect() };
            let evidence = derivation(rng);
            // Every third edge was derived twice (the rules merged parallel grants).
            let alternatives = if rng.next(3) == 0 { vec![derivation(rng)] } else { vec![] };
            let mut e = edge(s, t, edge_kinds[rng.next(edge_kinds.len())], evidence);
            e.alternatives = alternatives.into();
            if rng.next(2) == 0 {
                e.rule = "rbac-list-keys".into();
            }
            edges.push(e);
        }
        // Half the graphs also have a hierarchy over n02..n06 (as the ARM one, a tree of `Contains`
        // naming no fact), where assignments can be narrowed.
        if rng.next(2) == 0 {
            for child in 3..7 {
                let parent = 2 + rng.next(child - 2);
                edges.push(edge(
                    parent,
                    child,
                    EdgeKind::Contains,
                    vec![Evidence::new(EvidenceKind::ArmHierarchy, "")],
                ));
            }
            // And a grant or two at its root (n02) into it, as a narrowable rule derives them.
            for f in 9..(10 + rng.next(2)) {
                let id = format!("n02/providers/Microsoft.Authorization/roleAssignments/fact-{f}");
                let ev = Evidence::new(EvidenceKind::RoleAssignment, id).of_fact(&format!("role assignment|fact-{f}"));
                let mut e = edge(rng.next(3), 3 + rng.next(4), EdgeKind::ReadData, vec![ev]);
                e.rule = "rbac-list-keys".into();
                edges.push(e);
            }
        }
        AttackGraph::new(nodes, edges)
    }

    /// The true minimum by brute force: every subset of the changeable facts and deletable objects,
    /// removing each edge each of whose derivations names a chosen fact and each edge into or out
    /// of a deleted object, checked by the graph's own path search.
    fn brute_force(g: &AttackGraph, q: &FixQuery, costs: &Costs) -> Option<u32> {
        let mut facts: Vec<(FactRef, u32)> = Vec::new();
        for e in 0..g.edge_count() {
            for ev in derivations(&g.edge(e)).flat_map(|d| d.into_owned()) {
                if let Some((kind, f, ..)) = change_of(g, e, &ev)
                    && !facts.iter().any(|x| x.0 == f)
                {
                    // Both cut the same hops: the cheaper counts.
                    let eligible = q.options.without_eligible
                        && matches!(kind, ChangeKind::RoleAssignment | ChangeKind::DirectoryRole);
                    let cost = costs.of(kind, false);
                    facts.push((f, if eligible { cost.min(costs.of(ChangeKind::MakeEligible, false)) } else { cost }));
                }
            }
        }
        let arcs = relevant_arcs(g, q).0;
        let objects: Vec<(Vec<NodeId>, u32)> =
            deletions(g, q, &arcs).into_iter().map(|(k, gone)| (gone, costs.of(k, false))).collect();
        // A narrowing cuts the own derivation of the edges it stops.
        let narrow: Vec<(Vec<usize>, u32)> = narrowings(g, &arcs)
            .into_iter()
            .map(|n| (n.edges, costs.of_narrowing(n.eligible, n.scopes.len())))
            .collect();
        let (nf, no) = (facts.len(), facts.len() + objects.len());
        let n = no + narrow.len();
        let mut best = None;
        for mask in 0u32..(1 << n) {
            let cost: u32 = (0..n)
                .filter(|i| mask >> i & 1 == 1)
                .map(|i| {
                    if i < nf {
                        facts[i].1
                    } else if i < no {
                        objects[i - nf].1
                    } else {
                        narrow[i - no].1
                    }
                })
                .sum();
            if best.is_some_and(|b| cost >= b) {
                continue;
            }
            let chosen: Vec<FactRef> = (0..facts.len()).filter(|i| mask >> i & 1 == 1).map(|i| facts[i].0).collect();
            let deleted: Vec<NodeId> =
                (nf..no).filter(|i| mask >> i & 1 == 1).flat_map(|i| objects[i - nf].0.iter().copied()).collect();
            let narrowed: Vec<usize> =
                (no..n).filter(|i| mask >> i & 1 == 1).flat_map(|i| narrow[i - no].0.iter().copied()).collect();
            let cut: Vec<usize> = (0..g.edge_count())
                .filter(|&e| {
                    deleted.contains(&g.edge_source(e))
                        || deleted.contains(&g.edge_target(e))
                        || derivations(&g.edge(e)).enumerate().all(|(i, d)| {
                            (i == 0 && narrowed.contains(&e))
                                || d.iter().any(|ev| change_of(g, e, ev).is_some_and(|c| chosen.contains(&c.1)))
                        })
                })
                .collect();
            if remaining_without_edges(g, q, &cut).is_empty() {
                best = Some(cost);
            }
        }
        best
    }

    #[test]
    fn random_graphs_match_brute_force() {
        // Half the rounds make deleting an object cheap, so plans delete often.
        let cheap_deletes = Costs {
            delete_application: 7,
            delete_service_principal: 6,
            delete_managed_identity: 4,
            ..Costs::default()
        };
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let (mut exact, mut bounded, mut with_paths, mut deleting, mut narrowing) = (0, 0, 0, 0, 0);
        for round in 0..300 {
            let g = random_graph(&mut rng);
            let costs = if round % 4 < 2 { Costs::default() } else { cheap_deletes.clone() };
            let mut q = query(&g, &[0, 1], &[5, 6]);
            // Every other round, a tiny budget: the plan is then often "best found" with a bound.
            q.node_budget = if round % 2 == 0 { 1 } else { 100_000 };
            // Every third round leaves eligible hops out: active assignments may become eligible.
            q.options.without_eligible = round % 3 == 0;
            let plan = solve(&g, &q, &costs);
            let truth = brute_force(&g, &q, &costs);
            if !pair_paths(&g, &q).is_empty() {
                with_paths += 1;
            }
            match truth {
                None => assert!(plan.impossible, "round {round}: no plan exists, yet one was given"),
                Some(min) => {
                    assert!(!plan.impossible, "round {round}: a plan of cost {min} exists");
                    assert!(closes_all(&g, &q, &plan), "round {round}: the plan leaves a path");
                    deleting += plan.changes.iter().any(|c| !c.deletes.is_empty()) as usize;
                    narrowing += plan.changes.iter().any(|c| c.kind == ChangeKind::NarrowScope) as usize;
                    // Never a source or target deleted.
                    for c in &plan.changes {
                        assert!(
                            c.deletes.iter().all(|id| !q
                                .sources
                                .iter()
                                .chain(&q.targets)
                                .any(|&n| g.node(n).id == *id))
                        );
                    }
                    assert!(plan.lower_bound <= min, "round {round}: bound {} > minimum {min}", plan.lower_bound);
                    assert!(plan.cost >= min);
                    if plan.exact {
                        assert_eq!(plan.cost, min, "round {round}: an exact plan is not minimal");
                        exact += 1;
                    } else {
                        bounded += 1;
                    }
                }
            }
        }
        // The generator must produce real instances of both kinds, not trivial ones.
        assert!(
            with_paths > 100 && exact > 50 && bounded > 10 && deleting > 10 && narrowing > 10,
            "{with_paths} {exact} {bounded} {deleting} {narrowing}"
        );
    }
}
