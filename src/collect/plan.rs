//! What the collector reads, and in which order: every collection of `docs/facts-format.md`,
//! with `$select` and `$top=999` on Graph lists, Graph `$batch` (20 per request) for the per-object
//! relationship lists, and ARM provider lists (which carry `properties`) only for the resource types
//! a subscription actually has. Denied or missing pieces become completeness notes.

use super::http::{Api, Http, Priority, Reply};
use super::progress::{Phase, Progress};
use super::sink::{Accumulator, Archive, Dest, Record, redact};
use crate::facts::{CompletenessNote, TenantInfo};
use anyhow::{Result, anyhow};
use futures::future::try_join_all;
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use tokio::task::JoinSet;

use super::cloud::Endpoints;

/// Graph `$batch` takes at most 20 requests.
const BATCH: usize = 20;

const API_MG: &str = "2023-04-01";
const API_SUBS: &str = "2022-12-01";
const API_RESOURCES: &str = "2021-04-01";
const API_AUTHZ: &str = "2022-04-01";
const API_PIM: &str = "2020-10-01";
const API_LOCKS: &str = "2020-05-01";

/// Resource types whose provider list is read for `properties` the rules need, with the
/// api-version to read them with (azure-apis.md 4.4).
const TYPED: &[(&str, &str)] = &[
    ("Microsoft.Storage/storageAccounts", "2023-05-01"),
    ("Microsoft.KeyVault/vaults", "2023-07-01"),
    ("Microsoft.CognitiveServices/accounts", "2024-10-01"),
    ("Microsoft.MachineLearningServices/workspaces", "2024-10-01"),
    ("Microsoft.ContainerService/managedClusters", "2024-09-01"),
    ("Microsoft.ManagedIdentity/userAssignedIdentities", "2023-01-31"),
    ("Microsoft.DocumentDB/databaseAccounts", "2024-05-15"),
    // Web and function apps: `functionAppConfig` (Flex Consumption deployment storage). App
    // settings (`config/appsettings/list`) hold secrets and are never read.
    ("Microsoft.Web/sites", "2024-04-01"),
];

/// Child lists read under resources of a type: (parent type, child path, api-version).
const CHILDREN: &[(&str, &str, &str)] = &[
    ("microsoft.machinelearningservices/workspaces", "datastores", "2024-10-01"),
    ("microsoft.machinelearningservices/workspaces", "computes", "2024-10-01"),
    // Connections (ML workspaces, AI Foundry hubs and projects): auth type and target only;
    // `listsecrets` is never called.
    ("microsoft.machinelearningservices/workspaces", "connections", "2024-10-01"),
    ("microsoft.managedidentity/userassignedidentities", "federatedIdentityCredentials", "2023-01-31"),
    ("microsoft.cognitiveservices/accounts", "deployments", "2024-10-01"),
    // Whether the SCM (and FTP) site of each web/function app and slot accepts basic auth.
    ("microsoft.web/sites", "basicPublishingCredentialsPolicies", "2023-12-01"),
    ("microsoft.web/sites/slots", "basicPublishingCredentialsPolicies", "2023-12-01"),
    // Cosmos DB for NoSQL's own data-plane RBAC (not Azure RBAC): assignments and definitions.
    ("microsoft.documentdb/databaseaccounts", "sqlRoleAssignments", "2024-05-15"),
    ("microsoft.documentdb/databaseaccounts", "sqlRoleDefinitions", "2024-05-15"),
];

/// One collection run's shared state.
pub struct Run {
    pub http: Http,
    pub endpoints: Endpoints,
    pub acc: Mutex<Accumulator>,
    pub archive: Option<Archive>,
    pub progress: Progress,
    /// Credential fields removed from responses before they were kept anywhere.
    pub redacted: std::sync::atomic::AtomicU64,
}

/// (id, lower-cased type) of the items of a list, for the requests that depend on them.
type Listed = Vec<(String, String)>;

#[derive(Serialize)]
struct PageRef<'a> {
    t: &'static str,
    dest: &'a Dest,
    body: &'a Value,
}

impl Run {
    fn emit(&self, dest: &Dest, body: Value, phase: Phase) -> Result<Listed> {
        let (body, removed) = redact(body);
        self.redacted.fetch_add(removed as u64, std::sync::atomic::Ordering::Relaxed);
        if let Some(a) = &self.archive {
            a.write_raw(&PageRef { t: "page", dest, body: &body })?;
        }
        let items: &[Value] = if dest.single {
            std::slice::from_ref(&body)
        } else {
            body.get("value").and_then(Value::as_array).map(Vec::as_slice).unwrap_or(&[])
        };
        let listed = items
            .iter()
            .filter_map(|v| {
                let id = v.get("id")?.as_str()?.to_string();
                let ty = v.get("type").and_then(Value::as_str).unwrap_or("").to_ascii_lowercase();
                Some((id, ty))
            })
            .collect();
        let n = self.acc.lock().expect("accumulator lock").add(dest, body);
        self.progress.inc(phase, n);
        Ok(listed)
    }

    fn missing(&self, dest: &Dest, scope: Option<&str>, reason: String) -> Result<()> {
        let note = CompletenessNote { what: dest.what(), scope: scope.map(str::to_string), reason };
        self.http.log(&format!(
            "not collected: {} {}: {}",
            note.what,
            note.scope.as_deref().unwrap_or(""),
            note.reason
        ));
        if let Some(a) = &self.archive {
            a.write(&Record::Missing { note: note.clone() })?;
        }
        self.acc.lock().expect("accumulator lock").missing(note);
        Ok(())
    }

    /// Declares a collection read in full though nothing may have arrived for it: its per-scope or
    /// per-object lists were all asked for, and there may have been none to ask (see
    /// [`Record::Read`]). Recorded in the archive too, so an ingest agrees.
    fn declare(&self, dest: &Dest) -> Result<()> {
        if let Some(a) = &self.archive {
            a.write(&Record::Read { dest: dest.clone() })?;
        }
        self.acc.lock().expect("accumulator lock").touch(dest);
        Ok(())
    }

    /// Reads a list to its end, following `@odata.nextLink` / `nextLink` verbatim. Returns the
    /// items' ids and types, or `None` if the list could not be read (a note is recorded; pages
    /// already read are kept).
    async fn list(
        &self,
        api: Api,
        dest: Dest,
        url: String,
        priority: Priority,
        phase: Phase,
        scope: Option<&str>,
    ) -> Result<Option<Listed>> {
        let mut url = url;
        let mut out = Vec::new();
        let mut priority = priority;
        loop {
            let reply = self.http.get(api, &url, priority).await?;
            if !reply.status.is_success() {
                self.missing(&dest, scope.or(dest.parent.as_deref()), reply.reason())?;
                return Ok(None);
            }
            let next = next_link(&reply.body);
            if !dest.single {
                self.acc.lock().expect("accumulator lock").touch(&dest);
            }
            out.extend(self.emit(&dest, reply.body, phase)?);
            match next {
                Some(n) => url = n,
                None => return Ok(Some(out)),
            }
            // A next page is on a chain: let it overtake queued fan-out requests.
            priority = Priority::High;
        }
    }

    /// Reads many small Graph lists through `$batch`: 20 per request, inner 429/5xx retried in a
    /// later batch after their `Retry-After`, inner next pages followed directly.
    async fn graph_batch(self: &Arc<Self>, items: Vec<(Dest, String)>, phase: Phase) -> Result<()> {
        let mut pending: Vec<(Dest, String, u32)> = items.into_iter().map(|(d, u)| (d, u, 0)).collect();
        let url = self.endpoints.graph_url("/$batch");
        while !pending.is_empty() {
            let body = json!({"requests": pending.iter().enumerate()
                .map(|(i, (_, u, _))| json!({"id": i.to_string(), "method": "GET", "url": u}))
                .collect::<Vec<_>>()});
            let reply = self.http.post(Api::Graph, &url, &body, Priority::Low).await?;
            if !reply.status.is_success() {
                for (dest, _, _) in &pending {
                    self.missing(dest, dest.parent.as_deref(), format!("batch refused: {}", reply.reason()))?;
                }
                return Ok(());
            }
            let responses = reply.body.get("responses").and_then(Value::as_array).cloned().unwrap_or_default();
            let mut answered = vec![false; pending.len()];
            let mut retry = Vec::new();
            let mut wait = std::time::Duration::ZERO;
            let mut follow = Vec::new();
            for r in responses {
                let Some(i) = r.get("id").and_then(Value::as_str).and_then(|s| s.parse::<usize>().ok()) else {
                    continue;
                };
                let Some((dest, rel, attempts)) = pending.get(i) else { continue };
                answered[i] = true;
                let status = r.get("status").and_then(Value::as_u64).unwrap_or(0) as u16;
                let body = r.get("body").cloned().unwrap_or(Value::Null);
                match status {
                    200..=299 => {
                        let next = next_link(&body);
                        self.acc.lock().expect("accumulator lock").touch(dest);
                        self.emit(dest, body, phase)?;
                        if let Some(n) = next {
                            follow.push((dest.clone(), n));
                        }
                    }
                    429 | 500 | 502 | 503 | 504 => {
                        if status == 429 {
                            self.http.stats.throttles.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        }
                        let after = r
                            .pointer("/headers/Retry-After")
                            .or_else(|| r.pointer("/headers/retry-after"))
                            .and_then(|v| v.as_str().map(str::to_string).or_else(|| v.as_u64().map(|n| n.to_string())))
                            .and_then(|s| s.trim().parse::<f64>().ok())
                            .map(std::time::Duration::from_secs_f64)
                            .unwrap_or(std::time::Duration::from_secs(1 << attempts.min(&5)));
                        wait = wait.max(after);
                        if *attempts + 1 >= 8 {
                            return Err(anyhow!(
                                "Graph kept answering {status} for {rel} inside $batch after {} attempts; giving up",
                                attempts + 1
                            ));
                        }
                        retry.push((dest.clone(), rel.clone(), attempts + 1));
                    }
                    _ => self.missing(dest, dest.parent.as_deref(), super::http::error_reason(status, &body))?,
                }
            }
            for (i, done) in answered.iter().enumerate() {
                if !done {
                    let (d, u, a) = &pending[i];
                    retry.push((d.clone(), u.clone(), a + 1));
                }
            }
            for (dest, next) in follow {
                self.list(Api::Graph, dest, next, Priority::High, phase, None).await?;
            }
            if !retry.is_empty() {
                self.http.stats.retries.fetch_add(retry.len() as u64, std::sync::atomic::Ordering::Relaxed);
                self.http.log(&format!(
                    "$batch: {} inner requests to retry in {:.1} s",
                    retry.len(),
                    wait.as_secs_f64()
                ));
                tokio::time::sleep(wait.min(std::time::Duration::from_secs(600))).await;
            }
            pending = retry;
        }
        Ok(())
    }

    fn ids(&self, side: &str, collection: &str) -> Vec<String> {
        let acc = self.acc.lock().expect("accumulator lock");
        acc.ids(side, collection)
    }
}

/// The next-page link of a Graph or ARM list, if any.
fn next_link(body: &Value) -> Option<String> {
    ["@odata.nextLink", "nextLink"]
        .iter()
        .filter_map(|k| body.get(*k)?.as_str())
        .find(|s| !s.trim().is_empty())
        .map(str::to_string)
}

/// Fans out `items` as tasks (aborted together if one fails or the run is cancelled).
async fn fan_out<T, F, Fut>(items: Vec<T>, f: F) -> Result<()>
where
    T: Send + 'static,
    F: Fn(T) -> Fut,
    Fut: std::future::Future<Output = Result<()>> + Send + 'static,
{
    let mut set = JoinSet::new();
    for item in items {
        set.spawn(f(item));
    }
    while let Some(r) = set.join_next().await {
        r.map_err(|e| anyhow!("a collection task failed: {e}"))??;
    }
    Ok(())
}

/// Reads the tenant's identity: `GET /organization`.
pub async fn tenant(run: &Arc<Run>, tenant_hint: Option<&str>) -> Result<TenantInfo> {
    let url = run.endpoints.graph_url("/organization?$select=id,displayName,verifiedDomains");
    let reply: Reply = run.http.get(Api::Graph, &url, Priority::High).await?;
    let org = reply.body.pointer("/value/0").filter(|_| reply.status.is_success());
    match (org, tenant_hint) {
        (Some(o), _) => Ok(TenantInfo {
            id: o.get("id").and_then(Value::as_str).unwrap_or_default().to_string(),
            display_name: o.get("displayName").and_then(Value::as_str).map(str::to_string),
            default_domain: o
                .get("verifiedDomains")
                .and_then(Value::as_array)
                .and_then(|ds| ds.iter().find(|d| d.get("isDefault") == Some(&Value::Bool(true))))
                .and_then(|d| d.get("name")?.as_str())
                .map(str::to_string),
        }),
        (None, Some(t)) => {
            run.http.log(&format!("cannot read /organization ({}); using tenant {t}", reply.reason()));
            Ok(TenantInfo { id: t.to_string(), display_name: None, default_domain: None })
        }
        (None, None) => Err(anyhow!(
            "cannot read the tenant from Graph /organization ({}); pass --tenant or AZURE_TENANT_ID",
            reply.reason()
        )),
    }
}

/// Everything from Microsoft Graph.
pub async fn graph(run: Arc<Run>) -> Result<()> {
    let g = |p: &str| run.endpoints.graph_url(p);
    let tops: Vec<(&str, String)> = vec![
        (
            "users",
            g("/users?$select=id,displayName,userPrincipalName,userType,accountEnabled,onPremisesSyncEnabled&$top=999"),
        ),
        (
            "groups",
            g(
                "/groups?$select=id,displayName,securityEnabled,groupTypes,isAssignableToRole,membershipRule,membershipRuleProcessingState,onPremisesSyncEnabled&$top=999",
            ),
        ),
        (
            "servicePrincipals",
            g(
                "/servicePrincipals?$select=id,appId,displayName,servicePrincipalType,appOwnerOrganizationId,accountEnabled,alternativeNames,tags&$top=999",
            ),
        ),
        ("applications", g("/applications?$select=id,appId,displayName,signInAudience&$top=999")),
        ("directoryRoleDefinitions", g("/roleManagement/directory/roleDefinitions")),
        ("directoryRoleAssignments", g("/roleManagement/directory/roleAssignments")),
        ("directoryRoleEligibilitySchedules", g("/roleManagement/directory/roleEligibilitySchedules")),
        // Role assignments scoped to a unit are read above (directoryScopeId
        // `/administrativeUnits/{id}`, with PIM eligibilities, which `scopedRoleMembers` lacks), so
        // only the units and their members are read here.
        (
            "administrativeUnits",
            g(
                "/directory/administrativeUnits?$select=id,displayName,isMemberManagementRestricted,membershipRule,membershipType,membershipRuleProcessingState&$top=999",
            ),
        ),
    ];
    let read: BTreeSet<&str> = try_join_all(tops.into_iter().map(|(name, url)| {
        let run = run.clone();
        async move {
            let listed = run.list(Api::Graph, Dest::graph(name), url, Priority::High, Phase::Directory, None).await?;
            Ok::<_, anyhow::Error>(listed.map(|_| name))
        }
    }))
    .await?
    .into_iter()
    .flatten()
    .collect();
    // A relationship collection is complete once its parents' list was read: each parent is then
    // asked about (or noted as missing), and a tenant without groups has no group members to miss.
    for (parents, relations) in [
        ("groups", &["groupMembers", "groupOwners"][..]),
        ("servicePrincipals", &["servicePrincipalOwners", "servicePrincipalAppRoleAssignments"][..]),
        ("applications", &["applicationOwners", "applicationFederatedIdentityCredentials"][..]),
        ("administrativeUnits", &["administrativeUnitMembers"][..]),
    ] {
        if read.contains(parents) {
            for r in relations {
                run.declare(&Dest::graph_keyed(r))?;
            }
        }
    }

    let mut items: Vec<(Dest, String)> = Vec::new();
    let groups = run.ids("graph", "groups");
    for gid in &groups {
        items.push((
            Dest::graph("groupMembers").child_of(gid),
            format!("/groups/{gid}/members?$select=id,displayName&$top=999"),
        ));
        items.push((
            Dest::graph("groupOwners").child_of(gid),
            format!("/groups/{gid}/owners?$select=id,displayName&$top=999"),
        ));
    }
    for sp in run.ids("graph", "servicePrincipals") {
        items.push((
            Dest::graph("servicePrincipalOwners").child_of(&sp),
            format!("/servicePrincipals/{sp}/owners?$select=id,displayName&$top=999"),
        ));
        items.push((
            Dest::graph("servicePrincipalAppRoleAssignments").child_of(&sp),
            format!("/servicePrincipals/{sp}/appRoleAssignments?$top=999"),
        ));
    }
    for app in run.ids("graph", "applications") {
        items.push((
            Dest::graph("applicationOwners").child_of(&app),
            format!("/applications/{app}/owners?$select=id,displayName&$top=999"),
        ));
        items.push((
            Dest::graph("applicationFederatedIdentityCredentials").child_of(&app),
            format!("/applications/{app}/federatedIdentityCredentials"),
        ));
    }
    if read.contains("administrativeUnits") {
        // Read in full (possibly no units, declared above): each unit's members are collected.
        let members = Dest::graph("administrativeUnitMembers");
        for unit in run.ids("graph", "administrativeUnits") {
            items.push((
                members.clone().child_of(&unit),
                format!("/directory/administrativeUnits/{unit}/members?$select=id,displayName&$top=999"),
            ));
        }
    }
    items.extend(group_eligibility_items(&run, &groups).await?);
    let batches: Vec<Vec<(Dest, String)>> = items.chunks(BATCH).map(<[_]>::to_vec).collect();
    fan_out(batches, |b| {
        let run = run.clone();
        async move { run.graph_batch(b, Phase::Relations).await }
    })
    .await
}

/// PIM for Groups: the list may need a `groupId` filter. Try it unfiltered; if Graph asks for a
/// filter, probe one group, and only then ask per group (in batches). A 403 is one note for the
/// whole API, not one per group.
async fn group_eligibility_items(run: &Arc<Run>, groups: &[String]) -> Result<Vec<(Dest, String)>> {
    let dest = Dest::graph("groupEligibilitySchedules");
    let base = "/identityGovernance/privilegedAccess/group/eligibilitySchedules";
    let reply = run.http.get(Api::Graph, &run.endpoints.graph_url(base), Priority::High).await?;
    match reply.status.as_u16() {
        200..=299 => {
            let next = next_link(&reply.body);
            run.acc.lock().expect("accumulator lock").touch(&dest);
            run.emit(&dest, reply.body, Phase::Relations)?;
            if let Some(n) = next {
                run.list(Api::Graph, dest.clone(), n, Priority::High, Phase::Relations, None).await?;
            }
            Ok(vec![])
        }
        400 => {
            let per_group = |gid: &str| format!("{base}?$filter=groupId eq '{gid}'");
            let Some(first) = groups.first() else {
                run.declare(&dest)?;
                return Ok(vec![]);
            };
            let probe = run.endpoints.graph_url(&per_group(first));
            if run.list(Api::Graph, dest.clone(), probe, Priority::High, Phase::Relations, None).await?.is_none() {
                return Ok(vec![]);
            }
            Ok(groups[1..].iter().map(|g| (dest.clone(), per_group(g))).collect())
        }
        _ => {
            run.missing(&dest, None, reply.reason())?;
            Ok(vec![])
        }
    }
}

/// Everything from ARM.
pub async fn arm(run: Arc<Run>, tenant_id: String) -> Result<()> {
    let a = |p: &str| run.endpoints.arm_url(p);
    let mgs = Dest::arm("managementGroups");
    let root = format!("/providers/Microsoft.Management/managementGroups/{tenant_id}");
    let (root_ok, _, subs_ok) = futures::try_join!(
        run.list(
            Api::Arm,
            mgs.clone().single(),
            a(&format!("{root}?api-version={API_MG}")),
            Priority::High,
            Phase::Azure,
            None
        ),
        run.list(
            Api::Arm,
            mgs.clone(),
            a(&format!("{root}/descendants?api-version={API_MG}")),
            Priority::High,
            Phase::Azure,
            None
        ),
        run.list(
            Api::Arm,
            Dest::arm("subscriptions"),
            a(&format!("/subscriptions?api-version={API_SUBS}")),
            Priority::High,
            Phase::Azure,
            None
        ),
    )?;
    let mut mgs_ok = root_ok.is_some();
    if !mgs_ok {
        // No access to the root: read the management groups this identity can see (no parents).
        mgs_ok = run
            .list(
                Api::Arm,
                mgs,
                a(&format!("/providers/Microsoft.Management/managementGroups?api-version={API_MG}")),
                Priority::High,
                Phase::Azure,
                None,
            )
            .await?
            .is_some();
    }
    let mg_ids: BTreeSet<String> = {
        let acc = run.acc.lock().expect("accumulator lock");
        acc.ids_of_type("arm", "managementGroups", "microsoft.management/managementgroups")
    };
    let mut scopes: Vec<(String, bool)> = mg_ids.into_iter().map(|m| (m, true)).collect();
    scopes.extend(run.ids("arm", "subscriptions").into_iter().map(|s| (s, false)));
    fan_out(scopes, |(scope, is_mg)| {
        let run = run.clone();
        async move { if is_mg { management_group(&run, &scope).await } else { subscription(&run, &scope).await } }
    })
    .await?;
    // Every scope that was listed has been asked for its lists (or noted as missing); with no
    // subscriptions there are no resource groups, resources or locks to miss.
    if subs_ok.is_some() {
        for c in ["resourceGroups", "resources", "locks"] {
            run.declare(&Dest::arm(c))?;
        }
        if mgs_ok {
            for c in ["roleDefinitions", "roleAssignments", "roleEligibilitySchedules", "denyAssignments"] {
                run.declare(&Dest::arm(c))?;
            }
        }
    }
    Ok(())
}

/// RBAC defined at a management group (subscriptions list what is above them, but a management
/// group without subscriptions is only seen here).
async fn management_group(run: &Arc<Run>, mg: &str) -> Result<()> {
    let authz = |what: &str, api: &str, filter: &str| {
        run.endpoints
            .arm_url(&format!("{mg}/providers/Microsoft.Authorization/{what}?$filter={filter}&api-version={api}"))
    };
    futures::try_join!(
        run.list(
            Api::Arm,
            Dest::arm("roleAssignments"),
            authz("roleAssignments", API_AUTHZ, "atScope()"),
            Priority::Low,
            Phase::Azure,
            Some(mg)
        ),
        run.list(
            Api::Arm,
            Dest::arm("roleDefinitions"),
            authz("roleDefinitions", API_AUTHZ, "type eq 'CustomRole'"),
            Priority::Low,
            Phase::Azure,
            Some(mg)
        ),
        run.list(
            Api::Arm,
            Dest::arm("roleEligibilitySchedules"),
            authz("roleEligibilitySchedules", API_PIM, "atScope()"),
            Priority::Low,
            Phase::Azure,
            Some(mg)
        ),
        run.list(
            Api::Arm,
            Dest::arm("denyAssignments"),
            authz("denyAssignments", API_AUTHZ, "atScope()"),
            Priority::Low,
            Phase::Azure,
            Some(mg)
        ),
    )?;
    Ok(())
}

/// One subscription: resource groups, RBAC, PIM, deny assignments, management locks (at the
/// subscription, its resource groups and its resources: one list) and resources.
async fn subscription(run: &Arc<Run>, sub: &str) -> Result<()> {
    let u = |p: &str| run.endpoints.arm_url(&format!("{sub}{p}"));
    let (_, _, _, _, _, _, resources) = futures::try_join!(
        run.list(Api::Arm, Dest::arm("resourceGroups"), u(&format!("/resourcegroups?api-version={API_RESOURCES}")), Priority::Low, Phase::Azure, Some(sub)),
        run.list(
            Api::Arm,
            Dest::arm("roleDefinitions"),
            u(&format!("/providers/Microsoft.Authorization/roleDefinitions?$filter=type eq 'CustomRole'&api-version={API_AUTHZ}")),
            Priority::Low,
            Phase::Azure,
            Some(sub)
        ),
        run.list(Api::Arm, Dest::arm("roleAssignments"), u(&format!("/providers/Microsoft.Authorization/roleAssignments?api-version={API_AUTHZ}")), Priority::Low, Phase::Azure, Some(sub)),
        run.list(
            Api::Arm,
            Dest::arm("roleEligibilitySchedules"),
            u(&format!("/providers/Microsoft.Authorization/roleEligibilitySchedules?api-version={API_PIM}")),
            Priority::Low,
            Phase::Azure,
            Some(sub)
        ),
        run.list(Api::Arm, Dest::arm("denyAssignments"), u(&format!("/providers/Microsoft.Authorization/denyAssignments?api-version={API_AUTHZ}")), Priority::Low, Phase::Azure, Some(sub)),
        run.list(Api::Arm, Dest::arm("locks"), u(&format!("/providers/Microsoft.Authorization/locks?api-version={API_LOCKS}")), Priority::Low, Phase::Azure, Some(sub)),
        run.list(Api::Arm, Dest::arm("resources"), u(&format!("/resources?api-version={API_RESOURCES}")), Priority::Low, Phase::Azure, Some(sub)),
    )?;
    let Some(resources) = resources else { return Ok(()) };
    let present: BTreeSet<&str> = resources.iter().map(|(_, t)| t.as_str()).collect();
    let typed: Vec<_> = TYPED.iter().filter(|(t, _)| present.contains(t.to_ascii_lowercase().as_str())).collect();
    let mut found: BTreeMap<String, String> =
        resources.iter().map(|(id, t)| (id.to_ascii_lowercase(), t.clone())).collect();
    let lists = try_join_all(typed.iter().map(|(t, api)| {
        run.list(
            Api::Arm,
            Dest::arm("resources"),
            u(&format!("/providers/{t}?api-version={api}")),
            Priority::Low,
            Phase::Azure,
            Some(sub),
        )
    }))
    .await?;
    for (id, t) in lists.into_iter().flatten().flatten() {
        found.entry(id.to_ascii_lowercase()).or_insert(t);
    }
    let originals: BTreeMap<String, String> =
        resources.into_iter().map(|(id, _)| (id.to_ascii_lowercase(), id)).collect();
    let children: Vec<String> = found
        .iter()
        .flat_map(|(id, t)| {
            let shown = originals.get(id).cloned().unwrap_or_else(|| id.clone());
            CHILDREN
                .iter()
                .filter(move |(pt, _, _)| pt == t)
                .map(move |(_, child, api)| format!("{shown}/{child}?api-version={api}"))
        })
        .collect();
    try_join_all(children.into_iter().map(|p| {
        let url = run.endpoints.arm_url(&p);
        let scope = p.split('?').next().unwrap_or(&p).to_string();
        async move {
            run.list(Api::Arm, Dest::arm("resources"), url, Priority::Low, Phase::Azure, Some(&scope)).await.map(drop)
        }
    }))
    .await?;
    Ok(())
}
