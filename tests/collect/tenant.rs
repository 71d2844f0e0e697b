//! A generated multi-subscription tenant, in Graph and ARM response shapes, as the fake Azure
//! serves it (by request path) and as the facts a complete collection must produce.
#![allow(dead_code)]

use super::fake::{Data, TENANT};
use azpath::facts::{RawFacts, TenantInfo};
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// How big.
#[derive(Clone, Copy, Debug)]
pub struct Scale {
    pub users: usize,
    pub groups: usize,
    pub members_per_group: usize,
    pub service_principals: usize,
    pub applications: usize,
    pub subscriptions: usize,
    pub resources_per_subscription: usize,
}

impl Scale {
    pub fn small() -> Scale {
        Scale {
            users: 37,
            groups: 9,
            members_per_group: 7,
            service_principals: 8,
            applications: 5,
            subscriptions: 3,
            resources_per_subscription: 12,
        }
    }
}

/// Planted credentials: the fake serves them in places a careless collector would store them.
pub const PLANTED: &[&str] = &["PLANTED-APP-SECRET-9f8e7d", "PLANTED-DATASTORE-KEY-1a2b3c", "PLANTED-SP-KEY-4d5e6f"];

pub struct Tenant {
    pub data: Data,
    /// The facts a full collection must produce (before redaction).
    pub expected: RawFacts,
    pub subscription_ids: Vec<String>,
    pub group_ids: Vec<String>,
}

pub fn guid(kind: u32, i: usize) -> String {
    format!("{kind:08x}-0000-4000-8000-{i:012x}")
}

struct Builder {
    data: Data,
    graph: BTreeMap<String, Value>,
    arm: BTreeMap<String, Value>,
}

impl Builder {
    fn graph_list(&mut self, path: &str, collection: &str, items: Vec<Value>) {
        self.data.lists.insert(path.to_ascii_lowercase(), items.clone());
        push_list(&mut self.graph, collection, items);
    }
    fn graph_keyed(&mut self, path: &str, collection: &str, parent: &str, items: Vec<Value>) {
        self.data.lists.insert(path.to_ascii_lowercase(), items.clone());
        let m = self.graph.entry(collection.into()).or_insert_with(|| json!({}));
        m[parent] = Value::Array(items);
    }
    fn arm_path(&mut self, path: &str, items: Vec<Value>) {
        self.data.lists.entry(path.to_ascii_lowercase()).or_default().extend(items);
    }
    fn arm_expect(&mut self, collection: &str, items: Vec<Value>) {
        push_list(&mut self.arm, collection, items);
    }
}

fn push_list(side: &mut BTreeMap<String, Value>, collection: &str, items: Vec<Value>) {
    let v = side.entry(collection.into()).or_insert_with(|| json!([]));
    v.as_array_mut().unwrap().extend(items);
}

/// Builds the tenant. Every object has the fields the collector selects, plus some it must not
/// need (`mail`, credentials) to exercise `$select` and redaction.
pub fn generate(s: Scale) -> Tenant {
    let mut b = Builder { data: Data::default(), graph: BTreeMap::new(), arm: BTreeMap::new() };
    // Relationship collections are read (and so present) even when there are no parents to key by.
    for keyed in [
        "groupMembers",
        "groupOwners",
        "servicePrincipalOwners",
        "servicePrincipalAppRoleAssignments",
        "applicationOwners",
        "applicationFederatedIdentityCredentials",
    ] {
        b.graph.insert(keyed.into(), json!({}));
    }
    b.data.singles.insert(
        "/organization".into(),
        json!({"value": [{"id": TENANT, "displayName": "Contoso ML (fake)",
            "verifiedDomains": [{"name": "contosoml.onmicrosoft.com", "isDefault": true}]}]}),
    );
    // Directory objects.
    let users: Vec<Value> = (0..s.users)
        .map(|i| {
            json!({"id": guid(0x1, i), "displayName": format!("User {i}"), "userPrincipalName": format!("user{i}@contosoml.onmicrosoft.com"),
                "userType": if i % 10 == 9 { "Guest" } else { "Member" }, "accountEnabled": i % 13 != 0, "onPremisesSyncEnabled": null,
                "mail": format!("user{i}@contoso.example")})
        })
        .collect();
    let groups: Vec<Value> = (0..s.groups)
        .map(|i| {
            json!({"id": guid(0x2, i), "displayName": format!("Group {i}"), "securityEnabled": true, "groupTypes": [],
                "isAssignableToRole": i % 4 == 0, "membershipRule": null, "membershipRuleProcessingState": null, "onPremisesSyncEnabled": null})
        })
        .collect();
    let graph_sp = guid(0x3, 0);
    let sps: Vec<Value> = (0..s.service_principals)
        .map(|i| {
            let (ty, alt) = if i % 5 == 4 {
                ("ManagedIdentity", json!(["isExplicit=True", format!("/subscriptions/{}/resourcegroups/rg-ml/providers/Microsoft.ManagedIdentity/userAssignedIdentities/uami-{i}", guid(0x9, 0))]))
            } else {
                ("Application", json!([]))
            };
            json!({"id": guid(0x3, i), "appId": if i == 0 { "00000003-0000-0000-c000-000000000000".to_string() } else { guid(0x4, i) },
                "displayName": if i == 0 { "Microsoft Graph".to_string() } else { format!("sp-{i}") }, "servicePrincipalType": ty,
                "appOwnerOrganizationId": TENANT, "accountEnabled": true, "alternativeNames": alt,
                "tags": if i == 1 { json!(["azpath:pipeline"]) } else { json!([]) },
                "keyCredentials": [{"keyId": guid(0xc, i), "type": "AsymmetricX509Cert", "key": PLANTED[2]}]})
        })
        .collect();
    let apps: Vec<Value> = (0..s.applications)
        .map(|i| {
            json!({"id": guid(0x5, i), "appId": guid(0x4, i + 1), "displayName": format!("app-{i}"), "signInAudience": "AzureADMyOrg",
                "passwordCredentials": [{"keyId": guid(0xd, i), "hint": "Zs8", "secretText": PLANTED[0]}]})
        })
        .collect();
    b.graph_list("/users", "users", users);
    b.graph_list("/groups", "groups", groups);
    b.graph_list("/servicePrincipals", "servicePrincipals", sps);
    b.graph_list("/applications", "applications", apps);
    let member = |kind: &str, id: String, name: String| json!({"@odata.type": format!("#microsoft.graph.{kind}"), "id": id, "displayName": name});
    for g in 0..s.groups {
        let gid = guid(0x2, g);
        let mut members = Vec::new();
        for k in 0..s.members_per_group {
            let u = (g * 31 + k * 7) % s.users;
            members.push(member("user", guid(0x1, u), format!("User {u}")));
        }
        if g + 1 < s.groups && g % 3 == 0 {
            members.push(member("group", guid(0x2, g + 1), format!("Group {}", g + 1)));
        }
        if g % 2 == 1 && s.service_principals > 1 {
            let sp = 1 + g % (s.service_principals - 1);
            members.push(member("servicePrincipal", guid(0x3, sp), format!("sp-{sp}")));
        }
        b.graph_keyed(&format!("/groups/{gid}/members"), "groupMembers", &gid, members);
        let owner = g % s.users;
        b.graph_keyed(
            &format!("/groups/{gid}/owners"),
            "groupOwners",
            &gid,
            vec![member("user", guid(0x1, owner), format!("User {owner}"))],
        );
    }
    for i in 0..s.service_principals {
        let id = guid(0x3, i);
        let owners = if i.is_multiple_of(2) { vec![member("user", guid(0x1, i), format!("User {i}"))] } else { vec![] };
        b.graph_keyed(&format!("/servicePrincipals/{id}/owners"), "servicePrincipalOwners", &id, owners);
        let grants = if i == 1 {
            // The pipeline SP holds Application.ReadWrite.All on Graph.
            vec![
                json!({"id": format!("grant-{i}"), "appRoleId": "1bfefb4e-e0b5-418b-a88f-73c46d2cc8e9", "principalId": id,
                "principalType": "ServicePrincipal", "principalDisplayName": format!("sp-{i}"), "resourceId": graph_sp,
                "resourceDisplayName": "Microsoft Graph", "createdDateTime": "2026-03-11T09:12:44Z"}),
            ]
        } else {
            vec![]
        };
        b.graph_keyed(
            &format!("/servicePrincipals/{id}/appRoleAssignments"),
            "servicePrincipalAppRoleAssignments",
            &id,
            grants,
        );
    }
    for i in 0..s.applications {
        let id = guid(0x5, i);
        b.graph_keyed(
            &format!("/applications/{id}/owners"),
            "applicationOwners",
            &id,
            vec![member("user", guid(0x1, i + 2), format!("User {}", i + 2))],
        );
        let fics = if i.is_multiple_of(2) {
            vec![
                json!({"id": guid(0x6, i), "name": format!("gh-{i}"), "issuer": "https://token.actions.githubusercontent.com",
                "subject": format!("repo:contoso/ml-{i}:ref:refs/heads/main"), "audiences": ["api://AzureADTokenExchange"], "description": null}),
            ]
        } else {
            vec![]
        };
        b.graph_keyed(
            &format!("/applications/{id}/federatedIdentityCredentials"),
            "applicationFederatedIdentityCredentials",
            &id,
            fics,
        );
    }
    // Directory roles.
    let custom_role = json!({"id": guid(0x7, 0), "displayName": "App secret manager (custom)", "isBuiltIn": false, "isEnabled": true,
        "templateId": guid(0x7, 0), "rolePermissions": [{"allowedResourceActions": ["microsoft.directory/applications/credentials/update"]}]});
    b.graph_list("/roleManagement/directory/roleDefinitions", "directoryRoleDefinitions", vec![custom_role]);
    // Administrative units: an ordinary one with users and a group, a restricted one, a dynamic one.
    let units = [
        json!({"id": guid(0x11, 0), "displayName": "Unit 0", "isMemberManagementRestricted": null, "membershipType": null,
            "membershipRule": null, "membershipRuleProcessingState": null, "visibility": null}),
        json!({"id": guid(0x11, 1), "displayName": "Executives", "isMemberManagementRestricted": true, "membershipType": null,
            "membershipRule": null, "membershipRuleProcessingState": null, "visibility": "HiddenMembership"}),
        json!({"id": guid(0x11, 2), "displayName": "Contractors (dynamic)", "isMemberManagementRestricted": false,
            "membershipType": "Dynamic", "membershipRule": "user.jobTitle -eq \"Contractor\"", "membershipRuleProcessingState": "On"}),
    ];
    b.graph_list("/directory/administrativeUnits", "administrativeUnits", units.to_vec());
    let unit_members = [
        vec![
            member("user", guid(0x1, 1), "User 1".into()),
            member("user", guid(0x1, 2), "User 2".into()),
            member("group", guid(0x2, 1), "Group 1".into()),
        ],
        vec![member("user", guid(0x1, 4), "User 4".into())],
        vec![member("user", guid(0x1, 5), "User 5".into()), member("device", guid(0x12, 0), "laptop".into())],
    ];
    for (i, members) in unit_members.into_iter().enumerate() {
        let id = guid(0x11, i);
        b.graph_keyed(
            &format!("/directory/administrativeUnits/{id}/members"),
            "administrativeUnitMembers",
            &id,
            members,
        );
    }
    b.graph_list(
        "/roleManagement/directory/roleAssignments",
        "directoryRoleAssignments",
        vec![
            json!({"id": "ra-ga", "principalId": guid(0x1, 0), "roleDefinitionId": "62e90394-69f5-4237-9190-012177145e10", "directoryScopeId": "/"}),
            json!({"id": "ra-custom", "principalId": guid(0x2, 2), "roleDefinitionId": guid(0x7, 0), "directoryScopeId": "/"}),
            // Helpdesk Administrator scoped to Unit 0.
            json!({"id": "ra-unit-helpdesk", "principalId": guid(0x1, 6), "roleDefinitionId": "729827e3-9c14-49f7-bb1b-9608f156bbb8",
                "directoryScopeId": format!("/administrativeUnits/{}", guid(0x11, 0))}),
        ],
    );
    b.graph_list(
        "/roleManagement/directory/roleEligibilitySchedules",
        "directoryRoleEligibilitySchedules",
        vec![json!({"id": "es-pra", "principalId": guid(0x1, 3), "roleDefinitionId": "e8611ab8-c189-46e8-94e1-60213ab1f814",
            "directoryScopeId": "/", "appScopeId": null, "memberType": "Direct", "status": "Provisioned",
            "scheduleInfo": {"startDateTime": "2026-01-01T00:00:00Z", "recurrence": null, "expiration": {"type": "noExpiration", "endDateTime": null, "duration": null}}})],
    );
    // PIM for Groups: the list needs a groupId filter.
    let pim = "/identitygovernance/privilegedaccess/group/eligibilityschedules".to_string();
    b.data.filter_required.push(pim.clone());
    let mut pim_all = Vec::new();
    for g in (0..s.groups).step_by(3) {
        let gid = guid(0x2, g);
        let e = json!({"id": format!("pim-{g}"), "groupId": gid, "principalId": guid(0x1, (g + 5) % s.users), "accessId": if g.is_multiple_of(2) { "member" } else { "owner" },
            "memberType": "direct", "status": "Provisioned",
            "scheduleInfo": {"startDateTime": "2026-01-01T00:00:00Z", "expiration": {"type": "noExpiration"}}});
        b.data.filtered.insert(format!("{pim}|{gid}"), vec![e.clone()]);
        pim_all.push(e);
    }
    push_list(&mut b.graph, "groupEligibilitySchedules", pim_all);

    // ARM: management groups.
    let mg = |name: &str| format!("/providers/Microsoft.Management/managementGroups/{name}");
    let root = mg(TENANT);
    b.data.singles.insert(
        root.to_ascii_lowercase(),
        json!({"id": root, "type": "Microsoft.Management/managementGroups", "name": TENANT,
            "properties": {"tenantId": TENANT, "displayName": "Tenant Root Group", "details": {"version": 1, "parent": null}}}),
    );
    let mut descendants = vec![
        json!({"id": mg("mg-platform"), "type": "Microsoft.Management/managementGroups", "name": "mg-platform",
            "properties": {"displayName": "Platform", "parent": {"id": root}}}),
        json!({"id": mg("mg-ml"), "type": "Microsoft.Management/managementGroups", "name": "mg-ml",
            "properties": {"displayName": "ML", "parent": {"id": mg("mg-platform")}}}),
    ];
    let mut expected_mgs = vec![b.data.singles[&root.to_ascii_lowercase()].clone()];
    let subs: Vec<String> = (0..s.subscriptions).map(|i| guid(0x9, i)).collect();
    let mut sub_list = Vec::new();
    for (i, sid) in subs.iter().enumerate() {
        let parent = if i.is_multiple_of(2) { mg("mg-ml") } else { mg("mg-platform") };
        descendants.push(
            json!({"id": format!("/subscriptions/{sid}"), "type": "Microsoft.Management/managementGroups/subscriptions",
            "name": sid, "properties": {"displayName": format!("sub-{i}"), "parent": {"id": parent}}}),
        );
        sub_list.push(json!({"id": format!("/subscriptions/{sid}"), "subscriptionId": sid, "tenantId": TENANT,
            "displayName": format!("sub-{i}"), "state": "Enabled", "authorizationSource": "RoleBased", "managedByTenants": []}));
    }
    b.arm_path(&format!("{root}/descendants"), descendants.clone());
    expected_mgs.extend(descendants);
    b.arm_expect("managementGroups", expected_mgs);
    b.arm_path("/subscriptions", sub_list.clone());
    b.arm_expect("subscriptions", sub_list);

    let authz = "providers/Microsoft.Authorization";
    let role_id = |scope: &str, guid: &str| format!("{scope}/providers/Microsoft.Authorization/roleDefinitions/{guid}");
    const CONTRIBUTOR: &str = "b24988ac-6180-42a0-ab88-20f7382dd24c";
    const OWNER: &str = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635";
    const KV_SECRETS_USER: &str = "4633458b-17de-408a-b874-0445c86b69e6";
    let assignment = |scope: &str, name: &str, principal: &str, ptype: &str, role: &str| {
        json!({"id": format!("{scope}/providers/Microsoft.Authorization/roleAssignments/{name}"), "type": "Microsoft.Authorization/roleAssignments",
            "name": name, "properties": {"roleDefinitionId": role_id(&if scope.starts_with("/subscriptions/") { scope.split('/').take(3).collect::<Vec<_>>().join("/") } else { String::new() }, role),
            "principalId": principal, "principalType": ptype, "scope": scope, "condition": null, "conditionVersion": null,
            "createdOn": "2026-01-01T00:00:00Z", "updatedOn": "2026-01-01T00:00:00Z"}})
    };
    // MG-level assignments: Owner at mg-ml for group 1 (above every even subscription).
    let mg_assignment = assignment(&mg("mg-ml"), &guid(0xa, 0), &guid(0x2, 1), "Group", OWNER);
    b.arm_path(&format!("{}/{authz}/roleAssignments", mg("mg-ml")), vec![mg_assignment.clone()]);
    let mut all_assignments = vec![mg_assignment.clone()];
    for m in [root.clone(), mg("mg-platform")] {
        b.arm_path(&format!("{m}/{authz}/roleAssignments"), vec![]);
    }
    for m in [root.clone(), mg("mg-platform"), mg("mg-ml")] {
        b.arm_path(&format!("{m}/{authz}/roleDefinitions"), vec![]);
        b.arm_path(&format!("{m}/{authz}/roleEligibilitySchedules"), vec![]);
        b.arm_path(&format!("{m}/{authz}/denyAssignments"), vec![]);
    }
    let mut role_defs = Vec::new();
    let mut eligibilities = Vec::new();
    let mut denies = Vec::new();
    let mut locks = Vec::new();
    let mut rgs = Vec::new();
    let mut resources_expected = Vec::new();
    for (i, sid) in subs.iter().enumerate() {
        let sub = format!("/subscriptions/{sid}");
        let rg = format!("{sub}/resourceGroups/rg-ml");
        let rg_obj = json!({"id": rg, "name": "rg-ml", "type": "Microsoft.Resources/resourceGroups", "location": "swedencentral",
            "tags": {"team": "ml"}, "properties": {"provisioningState": "Succeeded"}});
        b.arm_path(&format!("{sub}/resourcegroups"), vec![rg_obj.clone()]);
        rgs.push(rg_obj);
        // Custom role at the subscription.
        let custom = json!({"id": role_id(&sub, &guid(0xb, i)), "name": guid(0xb, i), "type": "Microsoft.Authorization/roleDefinitions",
            "properties": {"roleName": format!("ML key reader {i}"), "type": "CustomRole", "description": "custom",
            "assignableScopes": [sub], "permissions": [{"actions": ["Microsoft.Storage/storageAccounts/listkeys/action"], "notActions": [], "dataActions": [], "notDataActions": []}]}});
        // A release role that downloads publishing profiles (basic-auth credentials).
        let publisher = json!({"id": role_id(&sub, &guid(0xb, 100 + i)), "name": guid(0xb, 100 + i), "type": "Microsoft.Authorization/roleDefinitions",
            "properties": {"roleName": format!("Publishing profile reader {i}"), "type": "CustomRole", "description": "custom",
            "assignableScopes": [sub], "permissions": [{"actions": ["Microsoft.Web/sites/publishxml/Action", "Microsoft.Web/sites/slots/publishxml/Action"],
                "notActions": [], "dataActions": [], "notDataActions": []}]}});
        b.arm_path(&format!("{sub}/{authz}/roleDefinitions"), vec![custom.clone(), publisher.clone()]);
        role_defs.extend([custom, publisher]);
        // Assignments at, below and above the subscription.
        let mut here = vec![
            assignment(&sub, &guid(0xa, 100 + i), &guid(0x3, 1), "ServicePrincipal", CONTRIBUTOR),
            assignment(&rg, &guid(0xa, 200 + i), &guid(0x1, 4 + i), "User", &guid(0xb, i)),
            assignment(&rg, &guid(0xa, 300 + i), &guid(0x2, 3), "Group", KV_SECRETS_USER),
            assignment(&rg, &guid(0xa, 400 + i), &publisher_user(i), "User", &guid(0xb, 100 + i)),
        ];
        all_assignments.extend(here.clone());
        if i.is_multiple_of(2) {
            here.push(mg_assignment.clone());
        }
        b.arm_path(&format!("{sub}/{authz}/roleAssignments"), here);
        let elig = json!({"id": format!("{sub}/providers/Microsoft.Authorization/RoleEligibilitySchedules/{}", guid(0xe, i)),
            "name": guid(0xe, i), "type": "Microsoft.Authorization/RoleEligibilitySchedules",
            "properties": {"scope": sub, "principalId": guid(0x1, 6), "principalType": "User", "roleDefinitionId": role_id(&sub, OWNER),
            "status": "Provisioned", "startDateTime": "2026-01-01T00:00:00Z", "endDateTime": null, "memberType": "Direct"}});
        b.arm_path(&format!("{sub}/{authz}/roleEligibilitySchedules"), vec![elig.clone()]);
        eligibilities.push(elig);
        let deny = if i == 0 {
            vec![
                json!({"id": format!("{sub}/providers/Microsoft.Authorization/denyAssignments/{}", guid(0xf, 0)), "name": guid(0xf, 0),
                "type": "Microsoft.Authorization/denyAssignments",
                "properties": {"denyAssignmentName": "stack deny", "description": "", "permissions": [{"actions": ["*/write"], "notActions": [], "dataActions": [], "notDataActions": []}],
                "scope": rg, "doNotApplyToChildScopes": false, "principals": [{"id": "00000000-0000-0000-0000-000000000000", "type": "SystemDefined"}],
                "excludePrincipals": [{"id": guid(0x1, 0), "type": "User"}], "isSystemProtected": true}}),
            ]
        } else {
            vec![]
        };
        b.arm_path(&format!("{sub}/{authz}/denyAssignments"), deny.clone());
        denies.extend(deny);
        // Management locks: the first subscription locks its storage account read-only and its
        // resource group against deletion; the others have none (an empty list).
        let here: Vec<Value> = if i == 0 {
            let sa = format!("{rg}/providers/Microsoft.Storage/storageAccounts/st{i}x0");
            vec![
                json!({"id": format!("{sa}/providers/Microsoft.Authorization/locks/freeze"), "type": "Microsoft.Authorization/locks",
                    "name": "freeze", "properties": {"level": "ReadOnly", "notes": "archive", "owners": null}}),
                json!({"id": format!("{rg}/providers/Microsoft.Authorization/locks/keep"), "type": "Microsoft.Authorization/locks",
                    "name": "keep", "properties": {"level": "CanNotDelete"}}),
            ]
        } else {
            vec![]
        };
        b.arm_path(&format!("{sub}/{authz}/locks"), here.clone());
        locks.extend(here);
        // Resources: a repeating mix; typed ones have full objects in their provider's list.
        let mut generic = Vec::new();
        let mut typed: BTreeMap<&str, Vec<Value>> = BTreeMap::new();
        for r in 0..s.resources_per_subscription {
            let (ty, full) = resource(&rg, sid, i, r);
            let mut g = full.clone();
            g.as_object_mut().unwrap().remove("properties");
            generic.push(g);
            if let Some(t) = ty {
                typed.entry(t).or_default().push(full.clone());
            }
            resources_expected.push(full.clone());
            // Child lists.
            let id = full["id"].as_str().unwrap().to_string();
            match ty {
                Some("Microsoft.MachineLearningServices/workspaces") => {
                    let ds = json!({"id": format!("{id}/datastores/training"), "name": "training", "type": "Microsoft.MachineLearningServices/workspaces/datastores",
                        "properties": {"datastoreType": "AzureBlob", "accountName": format!("st{i}x{}", r - 1), "containerName": "data",
                        "credentials": {"credentialsType": "AccountKey", "secrets": {"secretsType": "AccountKey", "key": PLANTED[1]}},
                        "endpoint": "core.windows.net", "protocol": "https", "isDefault": false}});
                    let cp = json!({"id": format!("{id}/computes/gpu"), "name": "gpu", "type": "Microsoft.MachineLearningServices/workspaces/computes",
                        "identity": {"type": "SystemAssigned", "principalId": guid(0x8, i * 1000 + r), "tenantId": TENANT},
                        "properties": {"computeType": "AmlCompute", "disableLocalAuth": true}});
                    // A connection that stores the OpenAI account's API key (the list returns no
                    // secret: `credentials` is null, as Azure answers without listsecrets).
                    let cn = json!({"id": format!("{id}/connections/aoai"), "name": "aoai", "type": "Microsoft.MachineLearningServices/workspaces/connections",
                        "properties": {"category": "AzureOpenAI", "authType": "ApiKey", "target": format!("https://aoai{i}x{}.openai.azure.com/", r + 2),
                        "credentials": null, "isSharedToAll": true, "metadata": {"ApiType": "Azure"}}});
                    b.arm_path(&format!("{id}/datastores"), vec![ds.clone()]);
                    b.arm_path(&format!("{id}/computes"), vec![cp.clone()]);
                    b.arm_path(&format!("{id}/connections"), vec![cn.clone()]);
                    resources_expected.extend([ds, cp, cn]);
                }
                Some("Microsoft.ManagedIdentity/userAssignedIdentities") => {
                    let fic = json!({"id": format!("{id}/federatedIdentityCredentials/gh"), "name": "gh",
                        "type": "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials",
                        "properties": {"issuer": "https://token.actions.githubusercontent.com", "subject": format!("repo:contoso/infra-{i}:environment:prod"), "audiences": ["api://AzureADTokenExchange"]}});
                    b.arm_path(&format!("{id}/federatedIdentityCredentials"), vec![fic.clone()]);
                    resources_expected.push(fic);
                }
                Some("Microsoft.CognitiveServices/accounts") => {
                    let dep = json!({"id": format!("{id}/deployments/gpt-4o"), "name": "gpt-4o", "type": "Microsoft.CognitiveServices/accounts/deployments",
                        "properties": {"model": {"format": "OpenAI", "name": "gpt-4o", "version": "2024-08-06"}}});
                    b.arm_path(&format!("{id}/deployments"), vec![dep.clone()]);
                    resources_expected.push(dep);
                }
                Some("Microsoft.Web/sites") => {
                    // The Flex Consumption apps answer the basic-auth policy list too (both off).
                    let policy_ty = "Microsoft.Web/sites/basicPublishingCredentialsPolicies";
                    let policies = vec![
                        json!({"id": format!("{id}/basicPublishingCredentialsPolicies/ftp"), "name": "ftp", "type": policy_ty, "properties": {"allow": false}}),
                        json!({"id": format!("{id}/basicPublishingCredentialsPolicies/scm"), "name": "scm", "type": policy_ty, "properties": {"allow": false}}),
                    ];
                    b.arm_path(&format!("{id}/basicPublishingCredentialsPolicies"), policies.clone());
                    resources_expected.extend(policies);
                }
                _ => {}
            }
        }
        // A function app and its staging slot, each with its basic-auth policies (a child list):
        // SCM basic auth is off on the apps of even subscriptions, on elsewhere.
        let site = format!("{rg}/providers/Microsoft.Web/sites/func{i}");
        let slot = format!("{site}/slots/staging");
        for (id, name, ty, principal, scm) in [
            (&site, format!("func{i}"), "Microsoft.Web/sites", 900_000 + i, i % 2 == 1),
            (&slot, format!("func{i}/staging"), "Microsoft.Web/sites/slots", 910_000 + i, true),
        ] {
            let app = json!({"id": id, "name": name, "type": ty, "kind": "functionapp,linux", "location": "swedencentral", "tags": {},
                "identity": {"type": "SystemAssigned", "principalId": guid(0x8, principal), "tenantId": TENANT}});
            generic.push(app.clone());
            resources_expected.push(app);
            let policy_ty = format!("{ty}/basicPublishingCredentialsPolicies");
            let policies = vec![
                json!({"id": format!("{id}/basicPublishingCredentialsPolicies/ftp"), "name": "ftp", "type": policy_ty, "properties": {"allow": false}}),
                json!({"id": format!("{id}/basicPublishingCredentialsPolicies/scm"), "name": "scm", "type": policy_ty, "properties": {"allow": scm}}),
            ];
            b.arm_path(&format!("{id}/basicPublishingCredentialsPolicies"), policies.clone());
            resources_expected.extend(policies);
        }
        if i == 0 {
            // A Cosmos DB account with its own data-plane RBAC: a custom definition, the built-in
            // Data Contributor as the list returns it, and one assignment of each.
            let acc = format!("{rg}/providers/Microsoft.DocumentDB/databaseAccounts/cosmos{i}");
            let full = json!({"id": acc, "name": format!("cosmos{i}"), "type": "Microsoft.DocumentDB/databaseAccounts",
                "kind": "GlobalDocumentDB", "location": "swedencentral", "tags": {},
                "properties": {"disableLocalAuth": true, "databaseAccountOfferType": "Standard"}});
            let mut g = full.clone();
            g.as_object_mut().unwrap().remove("properties");
            generic.push(g);
            typed.entry("Microsoft.DocumentDB/databaseAccounts").or_default().push(full.clone());
            resources_expected.push(full);
            let contributor = format!("{acc}/sqlRoleDefinitions/00000000-0000-0000-0000-000000000002");
            let custom = format!("{acc}/sqlRoleDefinitions/{}", guid(0xc, 1));
            let defs = vec![
                json!({"id": contributor, "name": "00000000-0000-0000-0000-000000000002", "type": "Microsoft.DocumentDB/databaseAccounts/sqlRoleDefinitions",
                    "properties": {"roleName": "Cosmos DB Built-in Data Contributor", "type": "BuiltInRole", "assignableScopes": [acc],
                        "permissions": [{"dataActions": ["Microsoft.DocumentDB/databaseAccounts/readMetadata",
                            "Microsoft.DocumentDB/databaseAccounts/sqlDatabases/containers/*",
                            "Microsoft.DocumentDB/databaseAccounts/sqlDatabases/containers/items/*"], "notDataActions": []}]}}),
                json!({"id": custom, "name": guid(0xc, 1), "type": "Microsoft.DocumentDB/databaseAccounts/sqlRoleDefinitions",
                    "properties": {"roleName": "Feature reader", "type": "CustomRole", "assignableScopes": [acc],
                        "permissions": [{"dataActions": ["Microsoft.DocumentDB/databaseAccounts/sqlDatabases/containers/items/read"], "notDataActions": []}]}}),
            ];
            let assigns = vec![
                json!({"id": format!("{acc}/sqlRoleAssignments/{}", guid(0xd, 1)), "name": guid(0xd, 1), "type": "Microsoft.DocumentDB/databaseAccounts/sqlRoleAssignments",
                    "properties": {"roleDefinitionId": contributor, "scope": acc, "principalId": guid(0x3, 1)}}),
                json!({"id": format!("{acc}/sqlRoleAssignments/{}", guid(0xd, 2)), "name": guid(0xd, 2), "type": "Microsoft.DocumentDB/databaseAccounts/sqlRoleAssignments",
                    "properties": {"roleDefinitionId": custom, "scope": format!("{acc}/dbs/features"), "principalId": guid(0x1, 4)}}),
            ];
            b.arm_path(&format!("{acc}/sqlRoleDefinitions"), defs.clone());
            b.arm_path(&format!("{acc}/sqlRoleAssignments"), assigns.clone());
            resources_expected.extend(defs);
            resources_expected.extend(assigns);
        }
        b.arm_path(&format!("{sub}/resources"), generic);
        for (t, items) in typed {
            b.arm_path(&format!("{sub}/providers/{t}"), items);
        }
    }
    b.arm_expect("resourceGroups", rgs);
    b.arm_expect("roleDefinitions", role_defs);
    b.arm_expect("roleAssignments", all_assignments);
    b.arm_expect("roleEligibilitySchedules", eligibilities);
    b.arm_expect("denyAssignments", denies);
    b.arm_expect("locks", locks);
    b.arm_expect("resources", resources_expected);
    let group_ids = (0..s.groups).map(|g| guid(0x2, g)).collect();
    let expected = RawFacts {
        format: azpath::facts::raw::FORMAT.into(),
        tenant: TenantInfo {
            id: TENANT.into(),
            display_name: Some("Contoso ML (fake)".into()),
            default_domain: Some("contosoml.onmicrosoft.com".into()),
        },
        collected_at: "2026-11-01T09:00:00Z".into(),
        source: Some("expected".into()),
        graph: b.graph,
        arm: b.arm,
        completeness: vec![],
    };
    Tenant { data: b.data, expected, subscription_ids: subs, group_ids }
}

/// The user who holds the publishing profile reader role on subscription i's resource group.
pub fn publisher_user(i: usize) -> String {
    guid(0x1, 10 + i)
}

/// The function app of subscription `sub` (index i) and its staging slot.
pub fn function_app(sub: &str, i: usize) -> (String, String) {
    let site = format!("/subscriptions/{sub}/resourceGroups/rg-ml/providers/Microsoft.Web/sites/func{i}");
    let slot = format!("{site}/slots/staging");
    (site, slot)
}

/// The r-th resource of subscription i: (provider list type, full object).
fn resource(rg: &str, _sid: &str, i: usize, r: usize) -> (Option<&'static str>, Value) {
    let p = |t: &str, name: &str| format!("{rg}/providers/{t}/{name}");
    let uami = p("Microsoft.ManagedIdentity/userAssignedIdentities", &format!("uami{i}"));
    match r % 8 {
        0 => (
            Some("Microsoft.Storage/storageAccounts"),
            json!({"id": p("Microsoft.Storage/storageAccounts", &format!("st{i}x{r}")), "name": format!("st{i}x{r}"), "type": "Microsoft.Storage/storageAccounts",
                "kind": "StorageV2", "location": "swedencentral", "sku": {"name": "Standard_LRS"}, "tags": {},
                "properties": {"allowSharedKeyAccess": if r.is_multiple_of(16) { json!(null) } else { json!(false) }, "allowBlobPublicAccess": false, "publicNetworkAccess": "Enabled"}}),
        ),
        1 => (
            Some("Microsoft.MachineLearningServices/workspaces"),
            json!({"id": p("Microsoft.MachineLearningServices/workspaces", &format!("mlw{i}x{r}")), "name": format!("mlw{i}x{r}"),
                "type": "Microsoft.MachineLearningServices/workspaces", "kind": "Default", "location": "swedencentral", "tags": {},
                "identity": {"type": "SystemAssigned", "principalId": guid(0x3, 2), "tenantId": TENANT},
                "properties": {"storageAccount": p("Microsoft.Storage/storageAccounts", &format!("st{i}x{}", r - 1)),
                    "keyVault": p("Microsoft.KeyVault/vaults", &format!("kv{i}x{}", r + 1)), "containerRegistry": null, "publicNetworkAccess": "Enabled"}}),
        ),
        2 => (
            Some("Microsoft.KeyVault/vaults"),
            json!({"id": p("Microsoft.KeyVault/vaults", &format!("kv{i}x{r}")), "name": format!("kv{i}x{r}"), "type": "Microsoft.KeyVault/vaults",
                "location": "swedencentral", "tags": {},
                "properties": {"tenantId": TENANT, "sku": {"family": "A", "name": "standard"}, "enableRbacAuthorization": r % 4 == 2 && i.is_multiple_of(2),
                    "accessPolicies": [{"tenantId": TENANT, "objectId": guid(0x3, 3), "permissions": {"secrets": ["get", "list"], "keys": [], "certificates": []}}],
                    "vaultUri": format!("https://kv{i}x{r}.vault.azure.net/")}}),
        ),
        3 => (
            Some("Microsoft.CognitiveServices/accounts"),
            json!({"id": p("Microsoft.CognitiveServices/accounts", &format!("aoai{i}x{r}")), "name": format!("aoai{i}x{r}"),
                "type": "Microsoft.CognitiveServices/accounts", "kind": "OpenAI", "location": "swedencentral", "sku": {"name": "S0"}, "tags": {},
                "properties": {"disableLocalAuth": i % 2 == 1, "publicNetworkAccess": "Enabled", "customSubDomainName": format!("aoai{i}x{r}")}}),
        ),
        4 => (
            Some("Microsoft.ManagedIdentity/userAssignedIdentities"),
            json!({"id": if r == 4 { uami.clone() } else { p("Microsoft.ManagedIdentity/userAssignedIdentities", &format!("uami{i}x{r}")) },
                "name": if r == 4 { format!("uami{i}") } else { format!("uami{i}x{r}") },
                "type": "Microsoft.ManagedIdentity/userAssignedIdentities", "location": "swedencentral", "tags": {},
                "properties": {"tenantId": TENANT, "principalId": guid(0x3, 4), "clientId": guid(0x4, 4)}}),
        ),
        5 => (
            Some("Microsoft.ContainerService/managedClusters"),
            json!({"id": p("Microsoft.ContainerService/managedClusters", &format!("aks{i}x{r}")), "name": format!("aks{i}x{r}"),
                "type": "Microsoft.ContainerService/ManagedClusters", "location": "swedencentral", "tags": {},
                "identity": {"type": "SystemAssigned", "principalId": guid(0x3, 6), "tenantId": TENANT},
                "properties": {"disableLocalAccounts": false, "enableRBAC": true,
                    "identityProfile": {"kubeletidentity": {"resourceId": uami, "clientId": guid(0x4, 4), "objectId": guid(0x3, 4)}}}}),
        ),
        6 => (
            None,
            json!({"id": p("Microsoft.Compute/virtualMachines", &format!("vm{i}x{r}")), "name": format!("vm{i}x{r}"), "type": "Microsoft.Compute/virtualMachines",
                "location": "swedencentral", "tags": {},
                "identity": {"type": "SystemAssigned, UserAssigned", "principalId": guid(0x3, 7), "tenantId": TENANT,
                    "userAssignedIdentities": {uami.replace("resourceGroups", "resourcegroups"): {"principalId": guid(0x3, 4), "clientId": guid(0x4, 4)}}}}),
        ),
        7 if r % 16 == 7 => (
            Some("Microsoft.Web/sites"),
            json!({"id": p("Microsoft.Web/sites", &format!("func{i}x{r}")), "name": format!("func{i}x{r}"), "type": "Microsoft.Web/sites",
                "kind": "functionapp,linux", "location": "swedencentral", "tags": {},
                "identity": {"type": "SystemAssigned", "principalId": guid(0x3, 8), "tenantId": TENANT},
                "properties": {"state": "Running", "sku": "FlexConsumption", "siteConfig": null,
                    "functionAppConfig": {"deployment": {"storage": {"type": "blobContainer",
                        "value": format!("https://st{i}x{}.blob.core.windows.net/app-package-func{i}x{r}", r - 7),
                        "authentication": {"type": "SystemAssignedIdentity", "userAssignedIdentityResourceId": null, "storageAccountConnectionStringName": null}}},
                        "runtime": {"name": "python", "version": "3.11"}, "scaleAndConcurrency": {"maximumInstanceCount": 100, "instanceMemoryMB": 2048}}}}),
        ),
        _ => (
            None,
            json!({"id": p("Microsoft.Network/virtualNetworks", &format!("vnet{i}x{r}")), "name": format!("vnet{i}x{r}"),
                "type": "Microsoft.Network/virtualNetworks", "location": "swedencentral", "tags": {}, "properties": {"addressSpace": {"addressPrefixes": ["10.0.0.0/16"]}}}),
        ),
    }
}
