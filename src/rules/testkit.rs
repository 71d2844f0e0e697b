//! Builds small tenants in code, in Azure's own JSON shapes, for rule tests: every test goes
//! through the real parser and the real rule engine.

use crate::facts::{RawFacts, parse};
use crate::model::{Edge, EdgeKind};
use crate::rbac::builtin_roles;
use crate::rules::{Derived, derive};
use serde_json::{Value, json};
use std::collections::BTreeMap;

pub const SUB: &str = "/subscriptions/00000000-0000-4000-8000-0000000000s1";
pub const TENANT: &str = "tttttttt-0000-4000-8000-000000000000";

#[derive(Default)]
pub struct T {
    graph: BTreeMap<String, Value>,
    arm: BTreeMap<String, Value>,
    counter: usize,
}

fn push(side: &mut BTreeMap<String, Value>, key: &str, v: Value) {
    side.entry(key.into()).or_insert_with(|| json!([])).as_array_mut().unwrap().push(v);
}

fn push_keyed(side: &mut BTreeMap<String, Value>, key: &str, parent: &str, v: Value) {
    let map = side.entry(key.into()).or_insert_with(|| json!({}));
    map.as_object_mut().unwrap().entry(parent).or_insert_with(|| json!([])).as_array_mut().unwrap().push(v);
}

pub fn role_id(name: &str) -> String {
    builtin_roles()
        .values()
        .find(|r| r.role_name == name)
        .unwrap_or_else(|| panic!("no built-in role {name}"))
        .id
        .clone()
}

impl T {
    pub fn new() -> T {
        let mut t = T::default();
        let root = format!("/providers/Microsoft.Management/managementGroups/{TENANT}");
        push(
            &mut t.arm,
            "managementGroups",
            json!({"id": root, "type": "Microsoft.Management/managementGroups", "name": TENANT, "properties": {"displayName": "Tenant Root Group"}}),
        );
        push(
            &mut t.arm,
            "managementGroups",
            json!({"id": SUB, "type": "Microsoft.Management/managementGroups/subscriptions", "name": "s1", "properties": {"displayName": "sub1", "parent": {"id": root}}}),
        );
        push(&mut t.arm, "subscriptions", json!({"id": SUB, "subscriptionId": "s1", "displayName": "sub1"}));
        t
    }

    fn next(&mut self) -> usize {
        self.counter += 1;
        self.counter
    }

    pub fn user(&mut self, name: &str) -> String {
        let id = format!("user-{name}");
        push(&mut self.graph, "users", json!({"id": id, "displayName": name}));
        id
    }

    pub fn group(&mut self, name: &str) -> String {
        let id = format!("group-{name}");
        push(&mut self.graph, "groups", json!({"id": id, "displayName": name, "securityEnabled": true}));
        id
    }

    /// A group with these Graph properties besides id and name (`isAssignableToRole`,
    /// `groupTypes`, `onPremisesSyncEnabled`, `securityEnabled`, ...).
    pub fn group_with(&mut self, name: &str, props: Value) -> String {
        let id = format!("group-{name}");
        let mut g = json!({"id": id, "displayName": name, "securityEnabled": true});
        for (k, v) in props.as_object().expect("an object of properties") {
            g[k] = v.clone();
        }
        push(&mut self.graph, "groups", g);
        id
    }

    pub fn sp(&mut self, name: &str) -> String {
        let id = format!("sp-{name}");
        push(
            &mut self.graph,
            "servicePrincipals",
            json!({"id": id, "appId": format!("appid-{name}"), "displayName": name, "servicePrincipalType": "Application"}),
        );
        id
    }

    /// A service principal with a given object id and type (`ManagedIdentity` for the identity of a
    /// resource built with [`T::resource`]).
    pub fn push_sp(&mut self, id: &str, name: &str, sp_type: &str) {
        push(
            &mut self.graph,
            "servicePrincipals",
            json!({"id": id, "appId": format!("appid-{id}"), "displayName": name, "servicePrincipalType": sp_type}),
        );
    }

    /// An application and its service principal: (application object id, SP id).
    pub fn app(&mut self, name: &str) -> (String, String) {
        let id = format!("app-{name}");
        push(&mut self.graph, "applications", json!({"id": id, "appId": format!("appid-{name}"), "displayName": name}));
        (id, self.sp(name))
    }

    pub fn graph_sp(&mut self) -> String {
        let id = "sp-microsoft-graph".to_string();
        push(
            &mut self.graph,
            "servicePrincipals",
            json!({"id": id, "appId": crate::rbac::MICROSOFT_GRAPH_APP_ID, "displayName": "Microsoft Graph"}),
        );
        id
    }

    pub fn member(&mut self, group: &str, member: &str) {
        let ty = odata_type(member);
        push_keyed(&mut self.graph, "groupMembers", group, json!({"@odata.type": ty, "id": member}));
    }

    /// `collection` is groupOwners, applicationOwners or servicePrincipalOwners.
    pub fn owner(&mut self, collection: &str, owned: &str, owner: &str) {
        let ty = odata_type(owner);
        push_keyed(&mut self.graph, collection, owned, json!({"@odata.type": ty, "id": owner}));
    }

    pub fn fic(&mut self, app: &str, issuer: &str, subject: &str) {
        let n = self.next();
        push_keyed(
            &mut self.graph,
            "applicationFederatedIdentityCredentials",
            app,
            json!({"id": format!("fic-{n}"), "name": format!("fic-{n}"), "issuer": issuer, "subject": subject, "audiences": ["api://AzureADTokenExchange"]}),
        );
    }

    pub fn directory_role(&mut self, principal: &str, template_id: &str, scope: &str) -> String {
        let id = format!("dra-{}", self.next());
        push(
            &mut self.graph,
            "directoryRoleAssignments",
            json!({"id": id, "principalId": principal, "roleDefinitionId": template_id, "directoryScopeId": scope}),
        );
        id
    }

    pub fn directory_eligible(&mut self, principal: &str, template_id: &str, start: &str, end: &str) -> String {
        let id = format!("dre-{}", self.next());
        push(
            &mut self.graph,
            "directoryRoleEligibilitySchedules",
            json!({"id": id, "principalId": principal, "roleDefinitionId": template_id,
            "directoryScopeId": "/", "status": "Provisioned", "memberType": "Direct",
            "scheduleInfo": {"startDateTime": start, "expiration": {"type": "afterDateTime", "endDateTime": end}}}),
        );
        id
    }

    /// A PIM eligibility for a directory role at a directory scope (`/`, `/administrativeUnits/{id}`).
    pub fn directory_eligible_at(&mut self, principal: &str, template_id: &str, scope: &str, start: &str, end: &str) {
        let id = format!("dre-{}", self.next());
        push(
            &mut self.graph,
            "directoryRoleEligibilitySchedules",
            json!({"id": id, "principalId": principal, "roleDefinitionId": template_id,
            "directoryScopeId": scope, "status": "Provisioned", "memberType": "Direct",
            "scheduleInfo": {"startDateTime": start, "expiration": {"type": "afterDateTime", "endDateTime": end}}}),
        );
    }

    /// An administrative unit with these Graph properties besides id and name
    /// (`isMemberManagementRestricted`, `membershipType`, `membershipRule`, ...); returns its id.
    pub fn admin_unit(&mut self, name: &str, props: Value) -> String {
        let id = format!("au-{}", self.next());
        let mut u = json!({"id": id, "displayName": name});
        for (k, v) in props.as_object().expect("an object of properties") {
            u[k] = v.clone();
        }
        push(&mut self.graph, "administrativeUnits", u);
        id
    }

    pub fn unit_member(&mut self, unit: &str, member: &str) {
        let ty = odata_type(member);
        push_keyed(&mut self.graph, "administrativeUnitMembers", unit, json!({"@odata.type": ty, "id": member}));
    }

    pub fn group_eligible(&mut self, principal: &str, group: &str, access: &str) -> String {
        let id = format!("ge-{}", self.next());
        push(
            &mut self.graph,
            "groupEligibilitySchedules",
            json!({"id": id, "principalId": principal, "groupId": group, "accessId": access,
            "status": "Provisioned", "scheduleInfo": {"startDateTime": "2026-01-01T00:00:00Z", "expiration": {"type": "noExpiration"}}}),
        );
        id
    }

    pub fn graph_app_role(&mut self, sp: &str, graph_sp: &str, app_role_id: &str) {
        let n = self.next();
        push_keyed(
            &mut self.graph,
            "servicePrincipalAppRoleAssignments",
            sp,
            json!({"id": format!("ara-{n}"), "principalId": sp,
            "principalType": "ServicePrincipal", "resourceId": graph_sp, "resourceDisplayName": "Microsoft Graph", "appRoleId": app_role_id}),
        );
    }

    /// A subscription (`/subscriptions/{id}`) under the management group `parent`.
    pub fn push_subscription(&mut self, id: &str, parent: &str) {
        let name = crate::facts::ids::last_segment(id).to_string();
        push(
            &mut self.arm,
            "managementGroups",
            json!({"id": id, "type": "Microsoft.Management/managementGroups/subscriptions", "name": name,
                "properties": {"displayName": name, "parent": {"id": parent}}}),
        );
        push(&mut self.arm, "subscriptions", json!({"id": id, "subscriptionId": name, "displayName": name}));
    }

    /// A management group under `parent` (a management group id); returns its id.
    pub fn management_group(&mut self, name: &str, parent: &str) -> String {
        let id = format!("/providers/Microsoft.Management/managementGroups/{name}");
        push(
            &mut self.arm,
            "managementGroups",
            json!({"id": id, "type": "Microsoft.Management/managementGroups", "name": name,
                "properties": {"displayName": name, "parent": {"id": parent}}}),
        );
        id
    }

    pub fn rg(&mut self, name: &str) -> String {
        let id = format!("{SUB}/resourceGroups/{name}");
        push(
            &mut self.arm,
            "resourceGroups",
            json!({"id": id, "name": name, "type": "Microsoft.Resources/resourceGroups", "location": "westeurope"}),
        );
        id
    }

    /// Adds an ARM resource `{rg}/providers/{ty}/{name}` with extra top-level fields; returns its id.
    pub fn resource(&mut self, rg: &str, ty: &str, name: &str, extra: Value) -> String {
        let id = format!("{rg}/providers/{ty}/{name}");
        let mut body = json!({"id": id, "name": name, "type": ty, "location": "westeurope"});
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        push(&mut self.arm, "resources", body);
        id
    }

    /// Adds a Cosmos DB for NoSQL data-plane role assignment under `account` (as the ARM list
    /// `{account}/sqlRoleAssignments` returns it); `scope` defaults to the account. Returns its id.
    pub fn cosmos_assign(&mut self, account: &str, principal: &str, definition: &str, scope: Option<&str>) -> String {
        let n = self.next();
        let id = format!("{account}/sqlRoleAssignments/a{n:07}-0000-4000-8000-000000000000");
        let definition = if definition.contains('/') {
            definition.to_string()
        } else {
            format!("{account}/sqlRoleDefinitions/{definition}")
        };
        push(
            &mut self.arm,
            "resources",
            json!({"id": id, "name": id.rsplit('/').next().unwrap(), "type": "Microsoft.DocumentDB/databaseAccounts/sqlRoleAssignments",
                "properties": {"principalId": principal, "roleDefinitionId": definition, "scope": scope.unwrap_or(account)}}),
        );
        id
    }

    /// Adds a custom Cosmos DB SQL role definition under `account`; returns its id.
    pub fn cosmos_role(&mut self, account: &str, name: &str, data_actions: &[&str]) -> String {
        let n = self.next();
        let id = format!("{account}/sqlRoleDefinitions/d{n:07}-0000-4000-8000-000000000000");
        push(
            &mut self.arm,
            "resources",
            json!({"id": id, "name": id.rsplit('/').next().unwrap(), "type": "Microsoft.DocumentDB/databaseAccounts/sqlRoleDefinitions",
                "properties": {"roleName": name, "type": "CustomRole", "assignableScopes": [account],
                    "permissions": [{"dataActions": data_actions}]}}),
        );
        id
    }

    /// Adds a storage account with `allowSharedKeyAccess` set; returns its id.
    pub fn storage(&mut self, rg: &str, name: &str, allow_shared_key_access: bool) -> String {
        let props = json!({"properties": {"allowSharedKeyAccess": allow_shared_key_access}});
        self.resource(rg, "Microsoft.Storage/storageAccounts", name, props)
    }

    pub fn custom_role(&mut self, name: &str, actions: &[&str], data_actions: &[&str]) -> String {
        let guid = format!("custom-{}", self.next());
        push(
            &mut self.arm,
            "roleDefinitions",
            json!({"id": format!("{SUB}/providers/Microsoft.Authorization/roleDefinitions/{guid}"), "name": guid,
            "type": "Microsoft.Authorization/roleDefinitions",
            "properties": {"roleName": name, "type": "CustomRole", "assignableScopes": [SUB],
              "permissions": [{"actions": actions, "notActions": [], "dataActions": data_actions, "notDataActions": []}]}}),
        );
        guid
    }

    /// A custom role with these permission blocks (ARM `permissions` entries).
    pub fn custom_role_blocks(&mut self, name: &str, blocks: Vec<Value>) -> String {
        let guid = format!("custom-{}", self.next());
        push(
            &mut self.arm,
            "roleDefinitions",
            json!({"id": format!("{SUB}/providers/Microsoft.Authorization/roleDefinitions/{guid}"), "name": guid,
            "type": "Microsoft.Authorization/roleDefinitions",
            "properties": {"roleName": name, "type": "CustomRole", "assignableScopes": [SUB], "permissions": blocks}}),
        );
        guid
    }

    /// An active role assignment of a built-in role (by name) or a custom role (by its guid).
    pub fn assign(&mut self, principal: &str, role: &str, scope: &str) -> String {
        self.assign_with(principal, role, scope, None)
    }

    pub fn assign_with(&mut self, principal: &str, role: &str, scope: &str, condition: Option<&str>) -> String {
        let guid = if role.starts_with("custom-") { role.to_string() } else { role_id(role) };
        let id = format!("{scope}/providers/Microsoft.Authorization/roleAssignments/ra-{}", self.next());
        let mut props = json!({"roleDefinitionId": format!("{SUB}/providers/Microsoft.Authorization/roleDefinitions/{guid}"),
            "principalId": principal, "principalType": principal_type(principal), "scope": scope});
        if let Some(c) = condition {
            props["condition"] = json!(c);
            props["conditionVersion"] = json!("2.0");
        }
        push(
            &mut self.arm,
            "roleAssignments",
            json!({"id": id, "name": id.rsplit('/').next(), "type": "Microsoft.Authorization/roleAssignments", "properties": props}),
        );
        id
    }

    /// A PIM eligibility for a built-in role over [start, end).
    pub fn eligible(&mut self, principal: &str, role: &str, scope: &str, start: &str, end: &str) -> String {
        let id = format!("{scope}/providers/Microsoft.Authorization/RoleEligibilitySchedules/es-{}", self.next());
        push(
            &mut self.arm,
            "roleEligibilitySchedules",
            json!({"id": id, "name": id.rsplit('/').next(), "type": "Microsoft.Authorization/RoleEligibilitySchedules",
            "properties": {"roleDefinitionId": format!("{SUB}/providers/Microsoft.Authorization/roleDefinitions/{}", role_id(role)),
              "principalId": principal, "principalType": principal_type(principal), "scope": scope, "status": "Provisioned",
              "startDateTime": start, "endDateTime": end, "memberType": "Direct"}}),
        );
        id
    }

    /// A deny assignment given as its ARM `properties` (scope, permissions, principals, ...).
    pub fn deny_with(&mut self, properties: Value) {
        let n = self.next();
        let scope = properties["scope"].as_str().expect("a scope").to_string();
        push(
            &mut self.arm,
            "denyAssignments",
            json!({"id": format!("{scope}/providers/Microsoft.Authorization/denyAssignments/d-{n}"), "properties": properties}),
        );
    }

    pub fn deny(&mut self, scope: &str, principal: &str, actions: &[&str]) {
        let n = self.next();
        push(
            &mut self.arm,
            "denyAssignments",
            json!({"id": format!("{scope}/providers/Microsoft.Authorization/denyAssignments/d-{n}"),
            "properties": {"denyAssignmentName": "deny", "scope": scope, "permissions": [{"actions": actions, "notActions": [], "dataActions": [], "notDataActions": []}],
              "principals": [{"id": principal, "type": "ServicePrincipal"}], "excludePrincipals": [], "doNotApplyToChildScopes": false}}),
        );
    }

    /// A management lock (`CanNotDelete` or `ReadOnly`) on a subscription, resource group or
    /// resource; returns its id.
    pub fn lock(&mut self, scope: &str, name: &str, level: &str) -> String {
        let id = format!("{scope}/providers/Microsoft.Authorization/locks/{name}");
        push(
            &mut self.arm,
            "locks",
            json!({"id": id, "name": name, "type": "Microsoft.Authorization/locks", "properties": {"level": level, "notes": "test lock"}}),
        );
        id
    }

    pub fn raw(&self) -> RawFacts {
        RawFacts::from_json(
            &json!({"format": "azpath-facts/1", "tenant": {"id": TENANT, "displayName": "Test"},
            "collectedAt": "2026-11-01T09:00:00Z", "graph": self.graph, "arm": self.arm})
            .to_string(),
        )
        .unwrap()
    }

    /// The nodes and edges of these facts, redacted first as every import redacts them; fails the
    /// test if redaction changed any node or edge (the rules must never need what it removes).
    pub fn derive(&self) -> Derived {
        let raw = self.raw();
        let mut redacted = raw.clone();
        redacted.redact_secrets();
        let derived = derive(&parse(&redacted).expect("test facts parse"));
        let unredacted = derive(&parse(&raw).expect("test facts parse"));
        assert_eq!(derived.nodes, unredacted.nodes, "redaction changed the nodes");
        assert_eq!(derived.edges, unredacted.edges, "redaction changed the edges");
        derived
    }
}

fn odata_type(id: &str) -> &'static str {
    if id.starts_with("user-") {
        "#microsoft.graph.user"
    } else if id.starts_with("group-") {
        "#microsoft.graph.group"
    } else {
        "#microsoft.graph.servicePrincipal"
    }
}

fn principal_type(id: &str) -> &'static str {
    if id.starts_with("user-") {
        "User"
    } else if id.starts_with("group-") {
        "Group"
    } else {
        "ServicePrincipal"
    }
}

/// The edges from `source` to `target` (ids as given to the builder; compared normalised).
pub fn edges<'a>(d: &'a Derived, source: &str, target: &str) -> Vec<&'a Edge> {
    let (s, t) = (crate::facts::ids::norm(source), crate::facts::ids::norm(target));
    d.edges.iter().filter(|e| *e.source == *s && *e.target == *t).collect()
}

pub fn edge<'a>(d: &'a Derived, source: &str, target: &str, kind: EdgeKind) -> Option<&'a Edge> {
    edges(d, source, target).into_iter().find(|e| e.kind == kind)
}

pub fn has(d: &Derived, source: &str, target: &str, kind: EdgeKind) -> bool {
    edge(d, source, target, kind).is_some()
}

/// Every edge that leaves `source`.
pub fn out<'a>(d: &'a Derived, source: &str) -> Vec<&'a Edge> {
    let s = crate::facts::ids::norm(source);
    d.edges.iter().filter(|e| *e.source == *s).collect()
}
