//! Nodes: every principal, role, scope and resource in the facts, with the ARM hierarchy between
//! them, and the two classifications users search by: pipeline identities (sources) and crown
//! jewels (targets). Built before any rule runs, so rules only connect existing nodes.

use crate::facts::ids::{
    app_role_node_id, arm_parent, directory_role_node_id, external_identity_id, root_mg_id, tenant_node_id,
};
use crate::facts::{DirectoryObjectType, Facts, FederatedParent, Resource, ResourceDetails};
use crate::model::{FastMap, Node, NodeKind};
use crate::rbac;
use std::collections::HashMap;

/// Nodes by id while they are built (sorted by id once complete).
type NodeMap = FastMap<String, Node>;

/// The CI/CD platform behind an OIDC issuer, and whether its subjects are pipeline identities.
pub fn issuer_platform(issuer: &str) -> (&'static str, bool) {
    let host = issuer
        .trim_start_matches("https://")
        .trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    match host.as_str() {
        "token.actions.githubusercontent.com" => ("GitHub Actions", true),
        "vstoken.dev.azure.com" | "app.vstoken.visualstudio.com" => ("Azure DevOps", true),
        "gitlab.com" => ("GitLab CI", true),
        "app.terraform.io" => ("Terraform Cloud", true),
        "oidc.circleci.com" => ("CircleCI", true),
        "login.microsoftonline.com" | "sts.windows.net" => ("Entra ID (another tenant)", false),
        h if h.ends_with(".oic.prod-aks.azure.com") => ("Kubernetes (AKS)", false),
        _ => ("external OIDC issuer", false),
    }
}

/// The node kind of an ARM resource type (lower case) and ARM `kind`.
pub fn resource_kind(resource_type: &str, kind: Option<&str>) -> NodeKind {
    match resource_type {
        "microsoft.storage/storageaccounts" => NodeKind::StorageAccount,
        "microsoft.storage/storageaccounts/blobservices/containers" => NodeKind::BlobContainer,
        "microsoft.keyvault/vaults" => NodeKind::KeyVault,
        "microsoft.documentdb/databaseaccounts" => NodeKind::CosmosDBAccount,
        "microsoft.cognitiveservices/accounts" => NodeKind::CognitiveServicesAccount,
        "microsoft.cognitiveservices/accounts/deployments" => NodeKind::ModelDeployment,
        "microsoft.machinelearningservices/workspaces" => NodeKind::MLWorkspace,
        "microsoft.machinelearningservices/workspaces/datastores" => NodeKind::MLDatastore,
        "microsoft.machinelearningservices/workspaces/computes" => NodeKind::MLCompute,
        "microsoft.containerservice/managedclusters" => NodeKind::AKSCluster,
        "microsoft.compute/virtualmachines" => NodeKind::VirtualMachine,
        // A deployment slot is an app of its own (own identity, own code), of its app's kind.
        "microsoft.web/sites" | "microsoft.web/sites/slots" if is_function_app(kind) => NodeKind::FunctionApp,
        "microsoft.web/sites" | "microsoft.web/sites/slots" => NodeKind::WebApp,
        "microsoft.logic/workflows" => NodeKind::LogicApp,
        "microsoft.automation/automationaccounts" => NodeKind::AutomationAccount,
        "microsoft.datafactory/factories" => NodeKind::DataFactory,
        "microsoft.containerregistry/registries" => NodeKind::ContainerRegistry,
        "microsoft.managedidentity/userassignedidentities" => NodeKind::UserAssignedIdentity,
        _ => NodeKind::Resource,
    }
}

pub use crate::facts::is_function_app;

/// Tag values that mark data as sensitive (`data-classification`), case-insensitive.
const SENSITIVE: &[&str] = &["confidential", "highly-confidential", "restricted", "secret", "sensitive"];

pub(super) fn build(facts: &Facts, warnings: &mut Vec<String>) -> (Vec<Node>, FastMap<String, Vec<String>>) {
    let names = crate::facts::index::Names::new(facts);
    // Sized for the objects the facts list, so the map is not rebuilt (and every id hashed again)
    // as it grows.
    let listed = facts.users.len()
        + facts.groups.len()
        + facts.service_principals.len()
        + facts.applications.len()
        + facts.resources.len()
        + facts.resource_groups.len()
        + facts.subscriptions.len()
        + facts.management_groups.len();
    let mut nodes: NodeMap = NodeMap::with_capacity_and_hasher(listed + listed / 8, Default::default());
    let add = |n: Node, nodes: &mut NodeMap| {
        nodes.entry(n.id.clone()).or_insert(n);
    };

    add(
        Node::new(tenant_node_id(&facts.tenant_id), NodeKind::Tenant, format!("tenant {}", facts.tenant_name))
            .with_prop("crown_jewel", "tier0")
            .with_prop("crown_jewel_reason", "control of the tenant: can grant any directory role"),
        &mut nodes,
    );

    // Principals.
    for u in &facts.users {
        let mut n = Node::new(&u.id, NodeKind::User, &u.display_name);
        if let Some(upn) = &u.user_principal_name {
            n = n.with_prop("upn", upn);
        }
        if u.account_enabled == Some(false) {
            n = n.with_prop("disabled", "true");
        }
        add(n, &mut nodes);
    }
    for g in &facts.groups {
        let mut n = Node::new(&g.id, NodeKind::Group, &g.display_name);
        if g.is_assignable_to_role {
            n = n.with_prop("role_assignable", "true");
        }
        add(n, &mut nodes);
    }
    for sp in &facts.service_principals {
        let mut n = Node::new(&sp.id, NodeKind::ServicePrincipal, &sp.display_name);
        if let Some(t) = &sp.service_principal_type {
            n = n.with_prop("sp_type", t);
        }
        if let Some(a) = &sp.app_id {
            n = n.with_prop("app_id", a);
        }
        if sp.tags.iter().any(|t| t.eq_ignore_ascii_case("azpath:pipeline")) {
            n = n.with_prop("pipeline", "tagged azpath:pipeline");
        }
        add(n, &mut nodes);
    }
    for app in &facts.applications {
        add(Node::new(&app.id, NodeKind::Application, &app.display_name).with_prop("app_id", &app.app_id), &mut nodes);
    }
    for fic in &facts.federated_credentials {
        let (platform, pipeline) = issuer_platform(&fic.issuer);
        let mut n = Node::new(
            external_identity_id(&fic.issuer, &fic.subject),
            NodeKind::ExternalIdentity,
            format!("{platform}: {}", fic.subject),
        )
        .with_prop("platform", platform)
        .with_prop("issuer", &fic.issuer)
        .with_prop("subject", &fic.subject);
        if pipeline {
            n = n.with_prop("pipeline", platform);
        }
        add(n, &mut nodes);
    }
    // Apps that CI systems federate into, and their service principals, are pipeline identities too.
    // Each app's appId, and the service principal of each appId (the first listed, in both), are
    // looked up in maps: a scan of every app and principal per credential is quadratic.
    let mut app_ids: FastMap<&str, &str> = FastMap::default();
    let mut sp_of_app: FastMap<&str, &str> = FastMap::default();
    if !facts.federated_credentials.is_empty() {
        for a in &facts.applications {
            app_ids.entry(a.id.as_str()).or_insert(a.app_id.as_str());
        }
        for s in &facts.service_principals {
            if let Some(aid) = &s.app_id {
                sp_of_app.entry(aid.as_str()).or_insert(s.id.as_str());
            }
        }
    }
    for fic in &facts.federated_credentials {
        let (platform, pipeline) = issuer_platform(&fic.issuer);
        let FederatedParent::Application(app) = &fic.parent else { continue };
        if !pipeline {
            continue;
        }
        let sp = app_ids.get(app.as_str()).and_then(|aid| sp_of_app.get(aid).copied());
        for id in std::iter::once(app.as_str()).chain(sp) {
            if let Some(n) = nodes.get_mut(id) {
                n.props.insert_if_absent("pipeline", || format!("federated from {platform}"));
            }
        }
    }
    // Members and owners not listed as users/groups/SPs still exist as principals.
    for m in &facts.memberships {
        placeholder(&mut nodes, &m.member_id, m.member_type, m.member_name.as_deref());
    }
    for o in &facts.ownerships {
        placeholder(&mut nodes, &o.owner_id, o.owner_type, o.owner_name.as_deref());
    }

    // Roles referenced by assignments.
    let builtin_dir = rbac::builtin_directory_roles();
    for a in &facts.directory_role_assignments {
        let id = &a.role_definition_id;
        let name = facts
            .directory_role_definitions
            .iter()
            .find(|d| &d.id == id)
            .map(|d| d.display_name.clone())
            .or_else(|| builtin_dir.get(id).map(|d| d.display_name.clone()));
        match name {
            Some(name) => add(Node::new(directory_role_node_id(id), NodeKind::DirectoryRole, name), &mut nodes),
            None => warnings.push(format!(
                "directory role assignment {} uses role definition {id}, which is neither built-in nor in the facts",
                a.id
            )),
        }
    }
    let graph_app_roles = rbac::graph_app_roles();
    for a in &facts.app_role_assignments {
        if let Some(value) = graph_app_roles.get(&a.app_role_id) {
            add(
                Node::new(
                    app_role_node_id(rbac::MICROSOFT_GRAPH_APP_ID, &a.app_role_id),
                    NodeKind::AppRole,
                    format!("Microsoft Graph {value}"),
                ),
                &mut nodes,
            );
        }
    }

    // ARM scopes and resources.
    for mg in &facts.management_groups {
        let mut n = Node::new(&mg.id, NodeKind::ManagementGroup, &mg.display_name);
        if mg.name.eq_ignore_ascii_case(&facts.tenant_id) {
            n = n
                .with_prop("crown_jewel", "tier0")
                .with_prop("crown_jewel_reason", "tenant root management group: control of every subscription");
        }
        add(n, &mut nodes);
    }
    // The tenant root management group exists even when management groups were not collected:
    // assignments at `/` and every subscription hang from it.
    let root = root_mg_id(&facts.tenant_id);
    if !nodes.contains_key(&root) {
        nodes.insert(
            root.clone(),
            Node::new(&root, NodeKind::ManagementGroup, "Tenant Root Group")
                .with_prop("crown_jewel", "tier0")
                .with_prop("crown_jewel_reason", "tenant root management group: control of every subscription"),
        );
    }
    for s in &facts.subscriptions {
        add(Node::new(&s.id, NodeKind::Subscription, names.object(&s.id)), &mut nodes);
    }
    for rg in &facts.resource_groups {
        let mut n = Node::new(&rg.id, NodeKind::ResourceGroup, &rg.name);
        for (k, v) in &rg.tags {
            n = n.with_prop(&format!("tag:{k}"), v);
        }
        add(n, &mut nodes);
    }
    for r in &facts.resources {
        let mut n = Node::new(&r.id, resource_kind(&r.resource_type, r.kind.as_deref()), &r.name)
            .with_prop("type", &r.resource_type);
        if let Some(k) = &r.kind {
            n = n.with_prop("arm_kind", k);
        }
        for (k, v) in &r.tags {
            n = n.with_prop(&format!("tag:{k}"), v);
        }
        // The effective security settings, with Azure's defaults applied, for selectors.
        match &r.details {
            ResourceDetails::StorageAccount { allow_shared_key_access } => {
                n = n.with_prop("allowSharedKeyAccess", allow_shared_key_access.unwrap_or(true).to_string());
            }
            ResourceDetails::CognitiveServices { disable_local_auth, .. } => {
                n = n.with_prop("disableLocalAuth", disable_local_auth.unwrap_or(false).to_string());
            }
            ResourceDetails::KeyVault { enable_rbac_authorization, .. } => {
                n = n.with_prop("enableRbacAuthorization", enable_rbac_authorization.unwrap_or(false).to_string());
            }
            ResourceDetails::Aks { disable_local_accounts, .. } => {
                n = n.with_prop("disableLocalAccounts", disable_local_accounts.unwrap_or(false).to_string());
            }
            // No default: whether basic auth works is unknown until the policy is read.
            ResourceDetails::AppService { scm_basic_auth, .. } => {
                n = n.with_prop("scmBasicAuth", scm_basic_auth.map_or("not collected".to_string(), |b| b.to_string()));
            }
            _ => {}
        }
        add(n, &mut nodes);
        ensure_ancestors(&mut nodes, &r.id);
    }
    for rg in &facts.resource_groups {
        ensure_ancestors(&mut nodes, &rg.id);
    }

    // Managed identities: their service principals exist even if Graph was not collected.
    for r in &facts.resources {
        if let Some(p) = &r.identity.system_principal_id {
            mi_placeholder(&mut nodes, p, || format!("{} (system-assigned identity)", r.name), &r.id);
        }
        if let ResourceDetails::UserAssignedIdentity { principal_id: Some(p), .. } = &r.details {
            mi_placeholder(&mut nodes, p, || r.name.clone(), &r.id);
        }
        let kubelet = match &r.details {
            ResourceDetails::Aks { kubelet_identity: Some(k), .. } => Some(k),
            _ => None,
        };
        for (uami, principal) in r.identity.user_assigned.iter().chain(kubelet) {
            if !nodes.contains_key(uami) {
                let name = crate::facts::ids::last_segment(uami).to_string();
                nodes.insert(
                    uami.clone(),
                    Node::new(uami, NodeKind::UserAssignedIdentity, name).with_prop("unresolved", "true"),
                );
                ensure_ancestors(&mut nodes, uami);
            }
            if let Some(p) = principal {
                mi_placeholder(&mut nodes, p, || crate::facts::ids::last_segment(uami).to_string(), uami);
            }
        }
    }

    // Self-hosted build agents: their managed identities are pipeline identities (whoever controls a
    // pipeline that runs there gets their tokens).
    for r in &facts.resources {
        let Some(why) = build_agent(r) else { continue };
        let principals = r
            .identity
            .system_principal_id
            .iter()
            .chain(r.identity.user_assigned.iter().filter_map(|(_, p)| p.as_ref()));
        for p in principals {
            if let Some(n) = nodes.get_mut(p) {
                n.props.insert_if_absent("pipeline", || format!("self-hosted build agent {} ({why})", r.name));
            }
        }
    }

    // Role assignment principals and scopes that the other facts do not name.
    for a in &facts.role_assignments {
        let ty = match a.principal_type.as_deref().map(str::to_ascii_lowercase).as_deref() {
            Some("user") => DirectoryObjectType::User,
            Some("group") => DirectoryObjectType::Group,
            Some("serviceprincipal") => DirectoryObjectType::ServicePrincipal,
            _ => DirectoryObjectType::Other,
        };
        placeholder(&mut nodes, &a.principal_id, ty, None);
        if a.scope != "/" && !nodes.contains_key(&a.scope) {
            let ty = crate::facts::ids::arm_type(&a.scope).unwrap_or_default();
            let name = crate::facts::ids::last_segment(&a.scope).to_string();
            nodes.insert(
                a.scope.clone(),
                Node::new(&a.scope, resource_kind(&ty, None), name)
                    .with_prop("type", ty)
                    .with_prop("unresolved", "true"),
            );
            ensure_ancestors(&mut nodes, &a.scope);
        }
    }
    for a in &facts.directory_role_assignments {
        placeholder(&mut nodes, &a.principal_id, DirectoryObjectType::Other, None);
    }
    for a in &facts.app_role_assignments {
        placeholder(&mut nodes, &a.principal_id, DirectoryObjectType::ServicePrincipal, None);
    }
    for a in &facts.cosmos_role_assignments {
        placeholder(&mut nodes, &a.principal_id, DirectoryObjectType::Other, None);
    }

    classify_crown_jewels(facts, &mut nodes);
    let children = hierarchy(facts, &nodes, warnings);
    let mut nodes: Vec<Node> = nodes.into_values().collect();
    nodes.sort_unstable_by(|a, b| a.id.cmp(&b.id));
    (nodes, children)
}

/// Why a VM or scale set is a self-hosted CI/CD build agent, if it is one: the tag
/// `azpath-pipeline` says so (`true`) or not (`false`); else the tags Azure DevOps puts on the scale
/// sets it manages (`__AzureDevOpsElasticPool`), or a tag key or value, or the name, naming a build
/// agent or runner.
pub(super) fn build_agent(r: &Resource) -> Option<String> {
    const TYPES: &[&str] = &["microsoft.compute/virtualmachines", "microsoft.compute/virtualmachinescalesets"];
    const WORDS: &[&str] = &[
        "build-agent",
        "buildagent",
        "build_agent",
        "self-hosted",
        "selfhosted",
        "runner",
        "azure-pipelines-agent",
        "devops-agent",
    ];
    if !TYPES.contains(&r.resource_type.as_str()) {
        return None;
    }
    if let Some((_, v)) = r.tags.iter().find(|(k, _)| k.eq_ignore_ascii_case("azpath-pipeline")) {
        return v.eq_ignore_ascii_case("true").then(|| "tagged azpath-pipeline=true".to_string());
    }
    if r.tags.keys().any(|k| k.eq_ignore_ascii_case("__AzureDevOpsElasticPool")) {
        return Some("an Azure DevOps scale set agent pool".into());
    }
    let mentions = |s: &str| {
        let s = s.to_ascii_lowercase();
        WORDS.iter().any(|w| s.contains(w))
    };
    if let Some((k, v)) = r.tags.iter().find(|(k, v)| mentions(k) || mentions(v)) {
        return Some(format!("tag {k}={v}"));
    }
    mentions(&r.name).then(|| "its name".to_string())
}

/// A principal that some fact names but that is not in the user/group/SP lists.
fn placeholder(nodes: &mut NodeMap, id: &str, ty: DirectoryObjectType, name: Option<&str>) {
    if nodes.contains_key(id) {
        return;
    }
    let kind = match ty {
        DirectoryObjectType::User => NodeKind::User,
        DirectoryObjectType::Group => NodeKind::Group,
        DirectoryObjectType::ServicePrincipal | DirectoryObjectType::Other => NodeKind::ServicePrincipal,
    };
    let name = name.map(str::to_string).unwrap_or_else(|| format!("unresolved principal {id}"));
    let mut n = Node::new(id, kind, name).with_prop("unresolved", "true");
    if ty == DirectoryObjectType::Other {
        n = n.with_prop("kind_guessed", "true");
    }
    nodes.insert(id.to_string(), n);
}

/// The managed identity's service principal, made (named `name()`) when the facts lack it. Most
/// are listed: their id and name are then not copied.
fn mi_placeholder(nodes: &mut NodeMap, principal: &str, name: impl FnOnce() -> String, resource: &str) {
    if !nodes.contains_key(principal) {
        let n = Node::new(principal, NodeKind::ServicePrincipal, name())
            .with_prop("sp_type", "ManagedIdentity")
            .with_prop("unresolved", "true");
        nodes.insert(principal.to_string(), n);
    }
    if let Some(n) = nodes.get_mut(principal) {
        n.props.insert_if_absent("managed_identity_of", || resource.to_string());
    }
}

/// Creates resource-group and subscription nodes implied by a resource id when the facts lack them.
/// Stops at the first ancestor that is a node: every node with an ARM id is passed here when it is
/// added (resource groups from the facts just after the resources), so its own are seen to.
fn ensure_ancestors(nodes: &mut NodeMap, id: &str) {
    let mut cur = arm_parent(id);
    while let Some(p) = cur {
        if nodes.contains_key(&p) {
            break;
        }
        let segs: Vec<&str> = p.split('/').filter(|s| !s.is_empty()).collect();
        let kind = match segs.as_slice() {
            ["subscriptions", _] => Some(NodeKind::Subscription),
            ["subscriptions", _, "resourcegroups", _] => Some(NodeKind::ResourceGroup),
            _ => None, // e.g. `.../blobservices/default`: not a node, skip to its parent.
        };
        if let Some(kind) = kind {
            let name = crate::facts::ids::last_segment(&p).to_string();
            nodes.insert(p.clone(), Node::new(&p, kind, name).with_prop("unresolved", "true"));
        }
        cur = arm_parent(&p);
    }
}

/// Parent -> children for every ARM node: MG tree, subscriptions, resource groups, resources and
/// child resources (a resource's parent is its nearest ancestor that is a node).
fn hierarchy(facts: &Facts, nodes: &NodeMap, warnings: &mut Vec<String>) -> FastMap<String, Vec<String>> {
    let mut parent: FastMap<&str, String> = FastMap::default();
    for mg in &facts.management_groups {
        if let Some(p) = &mg.parent {
            parent.insert(&mg.id, p.clone());
        }
    }
    for s in &facts.subscriptions {
        if let Some(p) = &s.parent {
            parent.insert(&s.id, p.clone());
        }
    }
    for (id, n) in nodes {
        let arm =
            !matches!(n.kind, NodeKind::ManagementGroup | NodeKind::Subscription) && id.starts_with("/subscriptions/");
        if arm {
            let mut cur = arm_parent(id);
            while let Some(p) = cur {
                if nodes.contains_key(&p) {
                    parent.insert(id, p);
                    break;
                }
                cur = arm_parent(&p);
            }
        }
    }
    let root = root_mg_id(&facts.tenant_id);
    // The root has no parent; a parent chain that loops (facts Azure would never return, but a
    // facts file can hold) is cut where it loops back, so every walk up the hierarchy ends.
    parent.remove(root.as_str());
    // A parent found from an id is a prefix of it, so every loop takes at least one parent the
    // facts gave (a management group's or a subscription's): walks start only there.
    let mut starts: Vec<&str> = facts
        .management_groups
        .iter()
        .map(|mg| mg.id.as_str())
        .chain(facts.subscriptions.iter().map(|s| s.id.as_str()))
        .filter(|id| parent.contains_key(id))
        .collect();
    starts.sort_unstable();
    starts.dedup();
    for cycle in parent_cycles(&parent, &starts) {
        let cut = cycle.iter().min().expect("a cycle has members").clone();
        warnings.push(format!(
            "management groups {} form a parent cycle; {cut} placed under the tenant root group",
            cycle.join(" -> ")
        ));
        parent.remove(cut.as_str());
    }
    // Subscriptions and management groups whose parent is unknown sit under the root.
    for (id, n) in nodes {
        if matches!(n.kind, NodeKind::ManagementGroup | NodeKind::Subscription)
            && *id != root
            && !parent.contains_key(id.as_str())
        {
            parent.insert(id, root.clone());
        }
    }
    let mut children: FastMap<String, Vec<String>> = FastMap::default();
    for (child, p) in parent {
        if nodes.contains_key(&p) && nodes.contains_key(child) {
            children.entry(p).or_default().push(child.to_string());
        }
    }
    for kids in children.values_mut() {
        kids.sort();
    }
    children
}

/// The cycles of a child -> parent map that walks up from `starts` reach, each as its members in
/// walking order, starting from its smallest id (each cycle once). Linear: every id is walked at
/// most once.
fn parent_cycles<'a>(parent: &'a FastMap<&str, String>, starts: &[&'a str]) -> Vec<Vec<String>> {
    let mut done: FastMap<&str, ()> = FastMap::default();
    let mut cycles = Vec::new();
    for &start in starts {
        let mut path: Vec<&str> = Vec::new();
        let mut cur = start;
        loop {
            if done.contains_key(cur) {
                break;
            }
            if let Some(i) = path.iter().position(|&p| p == cur) {
                let mut cycle: Vec<String> = path[i..].iter().map(|s| s.to_string()).collect();
                let first = (0..cycle.len()).min_by_key(|&k| &cycle[k]).unwrap_or(0);
                cycle.rotate_left(first);
                cycles.push(cycle);
                break;
            }
            path.push(cur);
            match parent.get_key_value(cur) {
                Some((_, p)) => match parent.get_key_value(p.as_str()) {
                    Some((k, _)) => cur = k,
                    None => break,
                },
                None => break,
            }
        }
        for p in path {
            done.insert(p, ());
        }
    }
    cycles
}

/// Marks the targets users care about: training data, models, their secrets, and tier 0.
fn classify_crown_jewels(facts: &Facts, nodes: &mut NodeMap) {
    let mut mark = |id: &str, category: &str, reason: String| {
        if let Some(n) = nodes.get_mut(id)
            && n.crown_jewel().is_none()
        {
            n.props.insert("crown_jewel".into(), category.into());
            n.props.insert("crown_jewel_reason".into(), reason);
        }
    };
    let by_name: HashMap<String, &Resource> = facts
        .resources
        .iter()
        .filter(|r| r.resource_type == "microsoft.storage/storageaccounts")
        .map(|r| (r.name.to_ascii_lowercase(), r))
        .collect();
    // Explicit tags first: the user's word wins.
    for r in &facts.resources {
        if let Some(category) =
            r.tags.iter().find(|(k, _)| k.eq_ignore_ascii_case("azpath-crown-jewel")).map(|(_, v)| v)
        {
            mark(&r.id, category, "tagged azpath-crown-jewel".into());
        }
    }
    for r in &facts.resources {
        match &r.details {
            ResourceDetails::MlWorkspace { storage_account, key_vault, container_registry } => {
                mark(&r.id, "model", format!("ML workspace {}", r.name));
                if let Some(s) = storage_account {
                    mark(s, "training-data", format!("default storage of ML workspace {}", r.name));
                }
                if let Some(k) = key_vault {
                    mark(k, "secrets", format!("key vault of ML workspace {}", r.name));
                }
                if let Some(c) = container_registry {
                    mark(c, "model", format!("container registry of ML workspace {}", r.name));
                }
            }
            ResourceDetails::MlDatastore { account_name: Some(account), container_name, .. } => {
                if let Some(s) = by_name.get(account) {
                    let ws =
                        arm_parent(&r.id).map(|w| crate::facts::ids::last_segment(&w).to_string()).unwrap_or_default();
                    let container = container_name.as_deref().map(|c| format!(", container {c}")).unwrap_or_default();
                    mark(&s.id, "training-data", format!("datastore {} of ML workspace {ws}{container}", r.name));
                }
            }
            ResourceDetails::CognitiveServices { kind: Some(kind), .. }
                if kind.eq_ignore_ascii_case("openai") || kind.eq_ignore_ascii_case("aiservices") =>
            {
                mark(&r.id, "model", format!("{kind} account"));
            }
            _ => {}
        }
    }
    for r in &facts.resources {
        let sensitive = r.tags.iter().any(|(k, v)| {
            k.eq_ignore_ascii_case("data-classification") && SENSITIVE.contains(&v.to_ascii_lowercase().as_str())
        });
        if sensitive {
            let category = if r.resource_type == "microsoft.keyvault/vaults" { "secrets" } else { "sensitive-data" };
            mark(&r.id, category, "tagged data-classification as sensitive".into());
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::testkit::*;
    use serde_json::json;

    fn pipeline_of(d: &crate::rules::Derived, id: &str) -> Option<String> {
        d.nodes.iter().find(|n| n.id == id).and_then(|n| n.prop("pipeline").map(str::to_string))
    }

    #[test]
    fn managed_identities_of_self_hosted_build_agents_are_pipeline_identities() {
        let mut t = T::new();
        let rg = t.rg("rg");
        for (name, tags, mi) in [
            ("vm-gh-runner-01", json!({}), "mi-runner"),
            ("vm-web", json!({"role": "frontend"}), "mi-web"),
            ("vm-tagged", json!({"ci": "github-actions-self-hosted"}), "mi-tagged"),
            ("vm-runner-but-not", json!({"azpath-pipeline": "false"}), "mi-excluded"),
            ("vm-plain", json!({"azpath-pipeline": "true"}), "mi-forced"),
        ] {
            let body =
                json!({"tags": tags, "identity": {"type": "SystemAssigned", "principalId": mi}, "properties": {}});
            t.resource(&rg, "Microsoft.Compute/virtualMachines", name, body);
        }
        t.resource(
            &rg,
            "Microsoft.Compute/virtualMachineScaleSets",
            "vmss-pool",
            json!({
            "tags": {"__AzureDevOpsElasticPool": "pool-1", "__AzureDevOpsElasticPoolTimeStamp": "2026-01-01"},
            "identity": {"type": "SystemAssigned", "principalId": "mi-vmss"}, "properties": {}}),
        );
        let d = t.derive();
        assert!(pipeline_of(&d, "mi-runner").unwrap().contains("its name"));
        assert!(pipeline_of(&d, "mi-tagged").unwrap().contains("tag ci=github-actions-self-hosted"));
        assert!(pipeline_of(&d, "mi-vmss").unwrap().contains("Azure DevOps scale set agent pool"));
        assert!(pipeline_of(&d, "mi-forced").is_some());
        assert_eq!(pipeline_of(&d, "mi-web"), None);
        assert_eq!(pipeline_of(&d, "mi-excluded"), None, "azpath-pipeline=false overrides the name");
    }
}
