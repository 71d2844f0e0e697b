//! Azure RBAC and Entra role evaluation: does a role definition grant an action?
//!
//! Azure semantics (Microsoft's "Understand Azure role definitions"): actions and data actions match
//! case-insensitively, `*` matches any run of characters (patterns: [`crate::glob::ActionPattern`]),
//! `notActions` subtract only within the same
//! permission block, and the role grants an action if any block grants it. A permission block with a
//! `condition`, or an assignment with one, is reported as conditional: azpath does not evaluate
//! ABAC conditions, so such a grant "may not apply".
//!
//! Built-in role definitions ship with azpath (`data/azure-builtin-roles.json`, from Microsoft's
//! published definitions); tenant custom roles come from the facts.

use crate::glob::ActionPattern;
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::OnceLock;

/// One permission block of a role definition.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Permission {
    #[serde(default)]
    pub actions: Vec<ActionPattern>,
    #[serde(default)]
    pub not_actions: Vec<ActionPattern>,
    #[serde(default)]
    pub data_actions: Vec<ActionPattern>,
    #[serde(default)]
    pub not_data_actions: Vec<ActionPattern>,
    #[serde(default)]
    pub condition: Option<String>,
}

/// An Azure role definition (built-in or custom).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoleDefinition {
    /// The role definition GUID, lower case.
    pub id: String,
    pub role_name: String,
    #[serde(default)]
    pub is_custom: bool,
    pub permissions: Vec<Permission>,
}

/// How a role grants an action: the pattern that matched and whether a condition qualifies it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub pattern: String,
    pub conditional: bool,
}

#[derive(Clone, Copy)]
enum Plane {
    Control,
    Data,
}

impl RoleDefinition {
    /// The grant of a control-plane action (`Microsoft.Storage/storageAccounts/listkeys/action`).
    pub fn grants_action(&self, action: &str) -> Option<Grant> {
        self.grants(action, Plane::Control)
    }

    /// The grant of a data action (`Microsoft.KeyVault/vaults/secrets/getSecret/action`).
    pub fn grants_data_action(&self, action: &str) -> Option<Grant> {
        self.grants(action, Plane::Data)
    }

    fn grants(&self, action: &str, plane: Plane) -> Option<Grant> {
        let mut best: Option<Grant> = None;
        for block in &self.permissions {
            let (allow, deny) = match plane {
                Plane::Control => (&block.actions, &block.not_actions),
                Plane::Data => (&block.data_actions, &block.not_data_actions),
            };
            if deny.iter().any(|p| p.matches(action)) {
                continue;
            }
            if let Some(p) = allow.iter().find(|p| p.matches(action)) {
                let grant = Grant {
                    pattern: p.as_str().to_string(),
                    conditional: block.condition.as_deref().is_some_and(|c| !c.trim().is_empty()),
                };
                // Prefer an unconditional grant over a conditional one.
                if best.as_ref().is_none_or(|b| b.conditional && !grant.conditional) {
                    best = Some(grant);
                }
            }
        }
        best
    }
}

impl RoleDefinition {
    /// The condition of the permission block that grants `action`, if that block has one.
    pub fn condition_for_action(&self, action: &str) -> Option<&str> {
        self.permissions
            .iter()
            .find(|b| b.actions.iter().any(|p| p.matches(action)) && !b.not_actions.iter().any(|p| p.matches(action)))
            .and_then(|b| b.condition.as_deref())
            .filter(|c| !c.trim().is_empty())
    }
}

/// The role definition GUIDs an ABAC condition lets a principal assign, when the condition is the
/// common "only these roles" constraint (`@Request[Microsoft.Authorization/roleAssignments:
/// RoleDefinitionId] ForAnyOfAnyValues:GuidEquals {..}`). `None` when the condition says anything
/// else about role definitions (exclusions, other operators): then azpath cannot narrow it.
pub fn assignable_roles(condition: &str) -> Option<Vec<String>> {
    let lower = condition.to_ascii_lowercase();
    let key = "roleassignments:roledefinitionid]";
    let mut guids = Vec::new();
    let mut rest = lower.as_str();
    let mut found = false;
    while let Some(i) = rest.find(key) {
        rest = &rest[i + key.len()..];
        let op_end = rest.find('{')?;
        let op = rest[..op_end].trim();
        if op != "foranyofanyvalues:guidequals" && op != "guidequals" {
            // @Resource[...] in a delete clause is fine only if it is also a plain allow-list.
            return None;
        }
        let close = rest.find('}')?;
        for g in rest[op_end + 1..close].split(',') {
            let g = g.trim();
            if g.len() == 36 && g.chars().all(|c| c.is_ascii_hexdigit() || c == '-') {
                guids.push(g.to_string());
            } else {
                return None;
            }
        }
        found = true;
        rest = &rest[close..];
    }
    guids.sort();
    guids.dedup();
    (found && !guids.is_empty()).then_some(guids)
}

/// Built-in Azure role definitions, parsed once from the shipped data.
pub fn builtin_roles() -> &'static HashMap<String, RoleDefinition> {
    static ROLES: OnceLock<HashMap<String, RoleDefinition>> = OnceLock::new();
    ROLES.get_or_init(|| {
        let roles: Vec<RoleDefinition> = serde_json::from_str(include_str!("../data/azure-builtin-roles.json"))
            .expect("shipped data/azure-builtin-roles.json is valid (tested)");
        roles.into_iter().map(|r| (r.id.to_ascii_lowercase(), r)).collect()
    })
}

/// A built-in Entra directory role from the shipped data.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BuiltinDirectoryRole {
    pub role_template_id: String,
    pub display_name: String,
    pub is_privileged: bool,
    pub allowed_resource_actions: Vec<String>,
}

/// Built-in Entra directory roles by template id.
pub fn builtin_directory_roles() -> &'static HashMap<String, BuiltinDirectoryRole> {
    static ROLES: OnceLock<HashMap<String, BuiltinDirectoryRole>> = OnceLock::new();
    ROLES.get_or_init(|| {
        let roles: Vec<BuiltinDirectoryRole> = serde_json::from_str(include_str!("../data/entra-directory-roles.json"))
            .expect("shipped data/entra-directory-roles.json is valid (tested)");
        roles.into_iter().map(|r| (r.role_template_id.to_ascii_lowercase(), r)).collect()
    })
}

/// The app id of Microsoft Graph's service principal, the resource of Graph application permissions.
pub const MICROSOFT_GRAPH_APP_ID: &str = "00000003-0000-0000-c000-000000000000";

/// Microsoft Graph application permissions: app role id -> permission name.
pub fn graph_app_roles() -> &'static HashMap<String, String> {
    #[derive(Deserialize)]
    struct File {
        #[serde(rename = "appRoles")]
        app_roles: Vec<Entry>,
    }
    #[derive(Deserialize)]
    struct Entry {
        value: String,
        id: String,
    }
    static ROLES: OnceLock<HashMap<String, String>> = OnceLock::new();
    ROLES.get_or_init(|| {
        let file: File = serde_json::from_str(include_str!("../data/graph-app-roles.json"))
            .expect("shipped data/graph-app-roles.json is valid (tested)");
        file.app_roles.into_iter().map(|e| (e.id.to_ascii_lowercase(), e.value)).collect()
    })
}

/// Does an Entra `allowedResourceActions` entry grant `wanted`?
///
/// Entra actions read `namespace/entity/propertySet/action`; `allEntities`, `allProperties` and
/// `allTasks` are the wildcards for their segment. Matching is case-insensitive and exact per
/// segment, so `servicePrincipals/synchronization.x/credentials/manage` does not grant
/// `servicePrincipals/credentials/update`.
pub fn directory_action_matches(allowed: &str, wanted: &str) -> bool {
    let a: Vec<String> = allowed.split('/').map(str::to_ascii_lowercase).collect();
    let w: Vec<String> = wanted.split('/').map(str::to_ascii_lowercase).collect();
    if a.len() != w.len() || a.len() < 3 || a[0] != w[0] {
        return false;
    }
    let last = a.len() - 1;
    a.iter().zip(&w).enumerate().skip(1).all(|(i, (x, y))| {
        x == y
            || (i == 1 && x == "allentities")
            || (i == last && x == "alltasks")
            || (i > 1 && i < last && x == "allproperties")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::glob::action_matches;

    fn role(name: &str) -> &'static RoleDefinition {
        builtin_roles().values().find(|r| r.role_name == name).unwrap()
    }

    #[test]
    fn wildcards_match_case_insensitively() {
        assert!(action_matches("*", "Microsoft.Storage/storageAccounts/listkeys/action"));
        assert!(action_matches("Microsoft.Storage/*", "microsoft.storage/storageaccounts/LISTKEYS/action"));
        assert!(action_matches("*/read", "Microsoft.Storage/storageAccounts/read"));
        assert!(!action_matches("*/read", "Microsoft.Storage/storageAccounts/listkeys/action"));
        assert!(action_matches(
            "Microsoft.MachineLearningServices/workspaces/*/write",
            "Microsoft.MachineLearningServices/workspaces/jobs/write"
        ));
        assert!(!action_matches("Microsoft.KeyVault/vaults/*/read", "Microsoft.KeyVault/vaults/write"));
    }

    #[test]
    fn a_question_mark_in_a_role_is_literal() {
        let r: RoleDefinition = serde_json::from_value(serde_json::json!({
            "id": "x", "roleName": "custom",
            "permissions": [{"actions": ["Microsoft.Storage/storageAccounts/?", "Microsoft.Web/*/Write"],
                             "notActions": ["Microsoft.Web/sites/config/write"]}]
        }))
        .unwrap();
        assert!(r.grants_action("Microsoft.Storage/storageAccounts/read").is_none());
        assert!(r.grants_action("microsoft.storage/storageaccounts/?").is_some());
        assert_eq!(r.grants_action("Microsoft.Web/sites/write").unwrap().pattern, "Microsoft.Web/*/Write");
        assert!(r.grants_action("Microsoft.Web/sites/config/write").is_none());
    }

    #[test]
    fn shipped_builtins_load() {
        assert!(builtin_roles().len() > 800);
        assert_eq!(role("Owner").id, "8e3af657-a8ff-443c-a75c-2fe8c4bcb635");
        assert!(builtin_directory_roles().contains_key("62e90394-69f5-4237-9190-012177145e10"));
        assert_eq!(
            graph_app_roles().get("9e3f62cf-ca93-4989-b6ce-bf83c28f9fe8").map(String::as_str),
            Some("RoleManagement.ReadWrite.Directory")
        );
    }

    #[test]
    fn not_actions_subtract_from_contributor() {
        let c = role("Contributor");
        assert!(c.grants_action("Microsoft.Storage/storageAccounts/listkeys/action").is_some());
        assert!(c.grants_action("Microsoft.Authorization/roleAssignments/write").is_none());
        assert!(c.grants_data_action("Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read").is_none());
    }

    #[test]
    fn reader_grants_nothing_but_reads() {
        let r = role("Reader");
        for action in [
            "Microsoft.Storage/storageAccounts/listkeys/action",
            "Microsoft.KeyVault/vaults/write",
            "Microsoft.Authorization/roleAssignments/write",
            "Microsoft.Compute/virtualMachines/runCommand/action",
        ] {
            assert!(r.grants_action(action).is_none(), "{action}");
        }
        assert!(r.grants_action("Microsoft.Storage/storageAccounts/read").is_some());
    }

    #[test]
    fn data_actions_are_separate_from_actions() {
        let kvc = role("Key Vault Contributor");
        assert!(kvc.grants_action("Microsoft.KeyVault/vaults/write").is_some());
        assert!(kvc.grants_data_action("Microsoft.KeyVault/vaults/secrets/getSecret/action").is_none());
        let su = role("Key Vault Secrets User");
        assert!(su.grants_data_action("Microsoft.KeyVault/vaults/secrets/getSecret/action").is_some());
    }

    #[test]
    fn definition_conditions_make_grants_conditional() {
        let kvdaa = role("Key Vault Data Access Administrator");
        let g = kvdaa.grants_action("Microsoft.Authorization/roleAssignments/write").unwrap();
        assert!(g.conditional);
        let owner = role("Owner");
        assert!(!owner.grants_action("Microsoft.Authorization/roleAssignments/write").unwrap().conditional);
    }

    #[test]
    fn role_limiting_conditions_name_the_assignable_roles() {
        let kvdaa = role("Key Vault Data Access Administrator");
        let cond = kvdaa.condition_for_action("Microsoft.Authorization/roleAssignments/write").unwrap();
        let roles = assignable_roles(cond).unwrap();
        assert!(roles.contains(&"4633458b-17de-408a-b874-0445c86b69e6".to_string()), "{roles:?}");
        assert!(!roles.contains(&"8e3af657-a8ff-443c-a75c-2fe8c4bcb635".to_string()));
        assert_eq!(
            assignable_roles(
                "@Request[Microsoft.Authorization/roleAssignments:RoleDefinitionId] ForAnyOfAnyValues:GuidEquals {ba92f5b4-2d11-453d-a403-e96b0029c9fe}"
            ),
            Some(vec!["ba92f5b4-2d11-453d-a403-e96b0029c9fe".to_string()])
        );
        assert_eq!(
            assignable_roles(
                "@Request[Microsoft.Authorization/roleAssignments:RoleDefinitionId] ForAnyOfAllValues:GuidNotEquals {8e3af657-a8ff-443c-a75c-2fe8c4bcb635}"
            ),
            None,
            "an exclusion list still allows most roles"
        );
        assert_eq!(
            assignable_roles(
                "@Resource[Microsoft.Storage/storageAccounts/blobServices/containers:name] StringEquals 'x'"
            ),
            None
        );
    }

    #[test]
    fn directory_actions_match_by_segment() {
        let want = "microsoft.directory/applications/credentials/update";
        assert!(directory_action_matches("microsoft.directory/applications/credentials/update", want));
        assert!(directory_action_matches("microsoft.directory/applications/allProperties/allTasks", want));
        assert!(!directory_action_matches("microsoft.directory/applications/allProperties/read", want));
        assert!(!directory_action_matches("microsoft.directory/agentIdentityBlueprints/credentials/update", want));
        assert!(!directory_action_matches(
            "microsoft.directory/servicePrincipals/synchronization.cloudTenantToExternalSystem/credentials/manage",
            "microsoft.directory/servicePrincipals/credentials/update"
        ));
        assert!(!directory_action_matches(
            "microsoft.directory/roleAssignments/standard/read",
            "microsoft.directory/roleAssignments/allProperties/allTasks"
        ));
    }
}
