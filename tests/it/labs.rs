//! The published scenarios of two vulnerable-by-design labs, rebuilt by hand from their public
//! descriptions as Graph/ARM facts: BadZure (github.com/mvelazc0/BadZure, `docs/attack-paths/`) and
//! XMGoat (github.com/XMCyber/XMGoat, `scenarios/*/main.tf` and `solution.md`). For each, azpath must
//! find the intended path with the right hops, and no path through the decoys.
//!
//! Some intended paths end in a credential stored as *data* (a client secret in a Key Vault, a
//! certificate in a blob, a password in a secret): which application or user it belongs to is in the
//! secret's content, which azpath never reads. Those tests stop at the store and say so: reaching the
//! store is the finding.

use azpath::graph::{AttackGraph, NodeId};
use azpath::model::EdgeKind::{self, *};
use azpath::rules::testkit::*;
use serde_json::json;

const GLOBAL_ADMIN: &str = "62e90394-69f5-4237-9190-012177145e10";
const APP_ADMIN: &str = "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3";
const CLOUD_APP_ADMIN: &str = "158c047a-c907-4556-b7ef-446551a6b5f7";
const ROLE_MANAGEMENT: &str = "9e3f62cf-ca93-4989-b6ce-bf83c28f9fe8";

fn graph(t: &T) -> AttackGraph {
    let d = t.derive();
    assert!(d.warnings.is_empty(), "{:?}", d.warnings);
    AttackGraph::new(d.nodes, d.edges)
}

fn node(g: &AttackGraph, id: &str) -> NodeId {
    g.node_index(&azpath::facts::ids::norm(id)).unwrap_or_else(|| panic!("no node {id}"))
}

/// The edge kinds of the easiest path, or `None` when there is none.
fn hops(g: &AttackGraph, from: &str, to: &str) -> Option<Vec<EdgeKind>> {
    let (s, t) = (node(g, from), node(g, to));
    let p = g.easiest_paths(s, &[t].into_iter().collect()).into_iter().next()?;
    Some(p.edges.iter().map(|&e| g.edge_kind(e)).collect())
}

fn tenant() -> String {
    azpath::facts::ids::tenant_node_id(TENANT)
}

// BadZure: identity-based privilege escalation.

#[test]
fn badzure_application_ownership_abuse() {
    // A user and a service principal (a CI pipeline) own applications whose service principals hold
    // Global Administrator and RoleManagement.ReadWrite.Directory.
    let mut t = T::new();
    let graph_sp = t.graph_sp();
    let dev = t.user("developer");
    let (app_ga, sp_ga) = t.app("ga-app");
    t.directory_role(&sp_ga, GLOBAL_ADMIN, "/");
    let (app_rm, sp_rm) = t.app("rolemgmt-app");
    t.graph_app_role(&sp_rm, &graph_sp, ROLE_MANAGEMENT);
    t.owner("applicationOwners", &app_ga, &dev);
    let (_, pipeline) = t.app("pipeline");
    t.owner("applicationOwners", &app_rm, &pipeline);
    // BadZure's SP variant: an app-only owner needs Application.ReadWrite.OwnedBy to use ownership.
    t.graph_app_role(&pipeline, &graph_sp, "18a4783c-866b-4cc7-a460-3d5e5662c884");
    let (_, decoy) = t.app("unrelated");
    let g = graph(&t);
    assert_eq!(hops(&g, &dev, &tenant()).unwrap(), [AddSecret, AuthenticatesAs, HasRole, GrantAnyRole]);
    assert_eq!(hops(&g, &pipeline, &tenant()).unwrap(), [AddSecret, AuthenticatesAs, HasRole, GrantAnyRole]);
    assert_eq!(hops(&g, &decoy, &tenant()), None);
}

#[test]
fn badzure_application_and_cloud_application_administrator_abuse() {
    // Tenant-wide Application Administrator, and Cloud Application Administrator scoped to the one
    // privileged application, reach its Graph permission; scoped to another app, nothing.
    let mut t = T::new();
    let graph_sp = t.graph_sp();
    let (app_rm, sp_rm) = t.app("rolemgmt-app");
    t.graph_app_role(&sp_rm, &graph_sp, ROLE_MANAGEMENT);
    let (other_app, _) = t.app("other");
    let admin = t.user("app-admin");
    t.directory_role(&admin, APP_ADMIN, "/");
    let scoped = t.user("cloud-app-admin-scoped");
    t.directory_role(&scoped, CLOUD_APP_ADMIN, &format!("/{app_rm}"));
    let elsewhere = t.user("cloud-app-admin-elsewhere");
    t.directory_role(&elsewhere, CLOUD_APP_ADMIN, &format!("/{other_app}"));
    let g = graph(&t);
    // Application Administrator adds the secret to the service principal object itself.
    assert_eq!(hops(&g, &admin, &tenant()).unwrap(), [HasRole, AddSecret, HasRole, GrantAnyRole]);
    assert_eq!(hops(&g, &scoped, &tenant()).unwrap(), [AddSecret, AuthenticatesAs, HasRole, GrantAnyRole]);
    assert_eq!(hops(&g, &elsewhere, &tenant()), None);
}

// BadZure: resource-based privilege escalation.

#[test]
fn badzure_key_vault_secret_theft_is_not_possible_with_key_vault_contributor_on_an_rbac_vault() {
    // BadZure grants Key Vault Contributor on a vault created with `rbac_authorization_enabled = true`
    // and expects the secret to be read. Microsoft: Key Vault Contributor manages vaults but "does
    // not allow access to keys, secrets and certificates" in the RBAC permission model, and changing
    // the permission model needs `Microsoft.Authorization/roleAssignments/write`. So no path; with
    // Key Vault Secrets User (the data role) there is one.
    let mut t = T::new();
    let rg = t.rg("rg");
    let vault = t.resource(
        &rg,
        "Microsoft.KeyVault/vaults",
        "kv-badzure",
        json!({"properties": {"enableRbacAuthorization": true, "accessPolicies": [], "tenantId": TENANT}}),
    );
    let contributor = t.user("kv-contributor");
    t.assign(&contributor, "Key Vault Contributor", &vault);
    let reader = t.user("kv-secrets-user");
    t.assign(&reader, "Key Vault Secrets User", &vault);
    let g = graph(&t);
    assert_eq!(hops(&g, &contributor, &vault), None);
    assert_eq!(hops(&g, &reader, &vault).unwrap(), [ReadSecrets]);
}

#[test]
fn badzure_storage_certificate_theft_reaches_the_container_data() {
    // Storage Blob Data Reader on the account that holds the application's certificate and key.
    let mut t = T::new();
    let rg = t.rg("rg");
    let sa = t.storage(&rg, "stcerts", false);
    let reader = t.user("blob-reader");
    t.assign(&reader, "Storage Blob Data Reader", &sa);
    let bystander = t.user("reader-only");
    t.assign(&bystander, "Reader", &sa);
    let g = graph(&t);
    assert_eq!(hops(&g, &reader, &sa).unwrap(), [ReadData]);
    assert_eq!(hops(&g, &bystander, &sa), None, "Reader sees the account, not its blobs");
}

#[test]
fn badzure_managed_identity_abuse_from_each_source_kind() {
    // Contributor-level rights on a VM, a Logic App, an Automation account or a function app with a
    // system-assigned identity that can read a vault's secrets.
    let mut t = T::new();
    let rg = t.rg("rg");
    let vault = t.resource(
        &rg,
        "Microsoft.KeyVault/vaults",
        "kv-target",
        json!({"properties": {"enableRbacAuthorization": true, "accessPolicies": [], "tenantId": TENANT}}),
    );
    let sources = [
        ("Microsoft.Compute/virtualMachines", "vm-src", "Virtual Machine Contributor"),
        ("Microsoft.Logic/workflows", "logic-src", "Logic App Contributor"),
        ("Microsoft.Automation/automationAccounts", "aa-src", "Automation Contributor"),
        ("Microsoft.Web/sites", "func-src", "Website Contributor"),
    ];
    let mut attackers = vec![];
    for (i, (ty, name, role)) in sources.iter().enumerate() {
        let mi = format!("mi-{name}");
        t.push_sp(&mi, name, "ManagedIdentity");
        let res = t.resource(
            &rg,
            ty,
            name,
            json!({"identity": {"type": "SystemAssigned", "principalId": mi, "tenantId": TENANT}, "properties": {}}),
        );
        t.assign(&mi, "Key Vault Secrets User", &vault);
        let attacker = t.user(&format!("attacker-{i}"));
        t.assign(&attacker, role, &res);
        attackers.push(attacker);
    }
    let g = graph(&t);
    for a in &attackers {
        assert_eq!(hops(&g, a, &vault).unwrap(), [ExecuteOn, RunCodeAs, ReadSecrets], "{a}");
    }
}

// XMGoat.

#[test]
fn xmgoat_1_app_owner_runs_a_command_on_a_vm_and_reads_blobs_as_its_user_assigned_identity() {
    let mut t = T::new();
    let rg = t.rg("xmgoat1");
    let user = t.user("us1");
    let (app, sp) = t.app("scenario1App");
    t.owner("applicationOwners", &app, &user);
    t.owner("servicePrincipalOwners", &sp, &user);
    let uami_sp = "uami-sp";
    t.push_sp(uami_sp, "uai", "ManagedIdentity");
    let uami = t.resource(
        &rg,
        "Microsoft.ManagedIdentity/userAssignedIdentities",
        "uai",
        json!({"properties": {"principalId": uami_sp, "clientId": "uai-client", "tenantId": TENANT}}),
    );
    let vm = t.resource(
        &rg,
        "Microsoft.Compute/virtualMachines",
        "vm1",
        json!({"identity": {"type": "SystemAssigned, UserAssigned", "principalId": "vm1-mi",
            "userAssignedIdentities": {uami.clone(): {"principalId": uami_sp, "clientId": "uai-client"}}}, "properties": {}}),
    );
    let run = t.custom_role(
        "Run Command Role Scenario 1",
        &["Microsoft.Compute/virtualMachines/read", "Microsoft.Compute/virtualMachines/runCommand/action"],
        &[],
    );
    t.assign(&sp, &run, &vm);
    let sa = t.storage(&rg, "xmgoat1sa", true);
    let read_blobs = t.custom_role(
        "Read Blobs Role Scenario 1",
        &["Microsoft.Storage/storageAccounts/read", "Microsoft.Storage/storageAccounts/blobServices/containers/read"],
        &["Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read"],
    );
    t.assign(uami_sp, &read_blobs, &sa);
    let g = graph(&t);
    // VM -> its user-assigned identity (the ARM resource) -> that identity's service principal.
    assert_eq!(hops(&g, &user, &sa).unwrap(), [AddSecret, ExecuteOn, RunCodeAs, AuthenticatesAs, ReadData]);
}

#[test]
fn xmgoat_2_secret_reader_reaches_the_vault_and_the_role_assigner_owns_the_subscription() {
    // The SP reads a secret that holds a user's password (content azpath does not read); that user
    // holds a custom role with roleAssignments/write on the subscription.
    let mut t = T::new();
    let rg = t.rg("xmgoat2");
    let (_, sp) = t.app("scenario2App");
    let user = t.user("us2");
    let vault = t.resource(
        &rg,
        "Microsoft.KeyVault/vaults",
        "xmgoat2kv",
        json!({"properties": {"enableRbacAuthorization": false, "tenantId": TENANT, "accessPolicies": [
            {"tenantId": TENANT, "objectId": sp, "permissions": {"keys": ["Get"], "secrets": ["Get", "List"], "storage": ["Get"]}}
        ]}}),
    );
    let list_vaults = t.custom_role("list-key-vaults", &["Microsoft.KeyVault/vaults/read"], &[]);
    t.assign(&sp, &list_vaults, &vault);
    let assign = t.custom_role("assign_privileges", &["Microsoft.Authorization/roleAssignments/write"], &[]);
    t.assign(&user, &assign, SUB);
    let g = graph(&t);
    assert_eq!(hops(&g, &sp, &vault).unwrap(), [ReadSecrets]);
    assert_eq!(hops(&g, &user, SUB).unwrap(), [AssignRoles]);
    assert_eq!(hops(&g, &sp, SUB), None, "vault -> user is the secret's content, not a fact azpath reads");
}

/// A function app (Windows, Consumption) with a system-assigned identity and the given
/// user-assigned identity, as XMGoat 3–5 deploy them; SCM basic auth as `scm_basic_auth`.
fn function_app(t: &mut T, rg: &str, name: &str, uami: &str, uami_sp: &str, scm_basic_auth: bool) -> String {
    let site = t.resource(
        rg,
        "Microsoft.Web/sites",
        name,
        json!({"kind": "functionapp", "identity": {"type": "SystemAssigned, UserAssigned", "principalId": format!("{name}-mi"),
            "userAssignedIdentities": {uami: {"principalId": uami_sp, "clientId": format!("{uami_sp}-client")}}},
            "properties": {"state": "Running"}}),
    );
    for (policy, allow) in [("scm", scm_basic_auth), ("ftp", scm_basic_auth)] {
        t.resource(
            rg,
            "Microsoft.Web/sites/basicPublishingCredentialsPolicies",
            &format!("{name}/{policy}"),
            json!({"properties": {"allow": allow}}),
        );
    }
    site
}

/// A user-assigned managed identity and its service principal.
fn uami(t: &mut T, rg: &str, name: &str) -> (String, String) {
    let sp = format!("{name}-sp");
    t.push_sp(&sp, name, "ManagedIdentity");
    let id = t.resource(
        rg,
        "Microsoft.ManagedIdentity/userAssignedIdentities",
        name,
        json!({"properties": {"principalId": sp, "clientId": format!("{sp}-client"), "tenantId": TENANT}}),
    );
    (id, sp)
}

#[test]
fn xmgoat_3_function_host_keys_run_code_as_an_application_administrator_identity() {
    // The user may list the function host keys (the master key edits and runs function code); the
    // app's user-assigned identity is Application Administrator; a Global Administrator app exists.
    let mut t = T::new();
    let rg = t.rg("xmgoat3");
    let user = t.user("us3");
    let (id3, id3_sp) = uami(&mut t, &rg, "id3");
    let site = function_app(&mut t, &rg, "xmgoat3", &id3, &id3_sp, true);
    let role = t.custom_role(
        "Update Function Code Scenario 3",
        &["Microsoft.web/sites/Read", "microsoft.web/sites/functions/read", "microsoft.web/sites/host/listkeys/action"],
        &[],
    );
    t.assign(&user, &role, &site);
    t.directory_role(&id3_sp, APP_ADMIN, "/");
    let (_, sp3) = t.app("scenario3App");
    t.directory_role(&sp3, GLOBAL_ADMIN, "/");
    // A decoy: the same role without listkeys reaches nothing.
    let reader = t.user("reader");
    let read_only =
        t.custom_role("Function reader", &["Microsoft.web/sites/Read", "microsoft.web/sites/functions/read"], &[]);
    t.assign(&reader, &read_only, &site);
    let g = graph(&t);
    assert_eq!(
        hops(&g, &user, &tenant()).unwrap(),
        // ... the identity's Application Administrator role node adds a secret to the GA app's SP.
        [ExecuteOn, RunCodeAs, AuthenticatesAs, HasRole, AddSecret, HasRole, GrantAnyRole]
    );
    assert_eq!(hops(&g, &reader, &tenant()), None);
}

#[test]
fn xmgoat_4_kudu_publish_with_a_token_runs_code_as_an_application_administrator_identity() {
    // `sites/publish/Action` opens the Kudu command API with an Entra token (no basic auth); the
    // identity is Application Administrator and an app holds RoleManagement.ReadWrite.Directory.
    let mut t = T::new();
    let graph_sp = t.graph_sp();
    let rg = t.rg("xmgoat4");
    let user = t.user("us4");
    let (id4, id4_sp) = uami(&mut t, &rg, "id4");
    let site = function_app(&mut t, &rg, "sc4-windows-function-app", &id4, &id4_sp, false);
    let role = t.custom_role(
        "Generate JWT Token to SCM-1",
        &[
            "Microsoft.web/sites/Read",
            "Microsoft.Web/sites/publish/Action",
            "Microsoft.Authorization/roleAssignments/read",
        ],
        &[],
    );
    t.assign(&user, &role, &site);
    let identity_reader =
        t.custom_role("Custom Identity reader", &["Microsoft.ManagedIdentity/userAssignedIdentities/read"], &[]);
    t.assign(&user, &identity_reader, SUB);
    t.directory_role(&id4_sp, APP_ADMIN, "/");
    let (_, sp4) = t.app("scenario4App");
    t.graph_app_role(&sp4, &graph_sp, ROLE_MANAGEMENT);
    let g = graph(&t);
    let path = hops(&g, &user, &tenant()).unwrap();
    assert_eq!(path[..5], [ExecuteOn, RunCodeAs, AuthenticatesAs, HasRole, AddSecret]);
    assert!(path.contains(&GrantAnyRole), "{path:?}");
    // Reading identities at the subscription is reconnaissance, not a path.
    assert_eq!(
        hops(&g, &user, &id4),
        hops(&g, &user, &site).map(|mut h| {
            h.push(RunCodeAs);
            h
        })
    );
}

#[test]
fn xmgoat_5_publishing_profile_then_account_sas_and_vault_access_policy() {
    // The user owns an app whose SP may read the publishing profile and re-enable basic auth; the
    // app's user-assigned identity may issue account SAS on the storage account and read the
    // vault's secrets under an access policy.
    let mut t = T::new();
    let rg = t.rg("xmgoat5");
    let user = t.user("us5");
    let (app5, sp5) = t.app("scenarioapp6");
    t.owner("applicationOwners", &app5, &user);
    let (id5, id5_sp) = uami(&mut t, &rg, "id5");
    let site = function_app(&mut t, &rg, "sc5-windows-function-app", &id5, &id5_sp, false);
    let publish = t.custom_role(
        "Publish XML SCM service-1",
        &[
            "microsoft.web/publishingusers/write",
            "Microsoft.Web/sites/publishxml/Action",
            "Microsoft.Web/sites/basicPublishingCredentialsPolicies/Write",
            "Microsoft.Web/sites/publish/Action",
            "Microsoft.Web/sites/Read",
        ],
        &[],
    );
    t.assign(&sp5, &publish, &site);
    let sa = t.storage(&rg, "xmgoat5", true);
    let sas = t.custom_role(
        "Encrypt and Decrypt storage account role-111",
        &[
            "Microsoft.Storage/storageAccounts/read",
            "Microsoft.Storage/storageAccounts/blobServices/containers/read",
            "Microsoft.Storage/storageAccounts/listAccountSas/action",
        ],
        &["Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read"],
    );
    t.assign(&id5_sp, &sas, &sa);
    let vault = t.resource(
        &rg,
        "Microsoft.KeyVault/vaults",
        "kv5zur555",
        json!({"properties": {"enableRbacAuthorization": false, "tenantId": TENANT, "accessPolicies": [
            {"tenantId": TENANT, "objectId": id5_sp, "permissions": {"keys": ["Get"], "secrets": ["Get", "List", "Set"], "storage": ["Get"]}}
        ]}}),
    );
    let g = graph(&t);
    let to_site = [AddSecret, AuthenticatesAs, ExecuteOn];
    let to_sa = hops(&g, &user, &sa).unwrap();
    assert_eq!(to_sa[..3], to_site);
    assert_eq!(to_sa[3..5], [RunCodeAs, AuthenticatesAs]);
    assert_eq!(hops(&g, &user, &vault).unwrap()[..5], to_sa[..5]);
    assert_eq!(hops(&g, &user, &vault).unwrap().last(), Some(&ReadSecrets));
}
