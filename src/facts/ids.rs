//! Normalising Azure ids so that one object has one node id, whatever case Azure spelled it in.

/// Normalises an Entra object id or an ARM resource id: lower case, no trailing slash (except the
/// root scope `/`), no surrounding white space.
pub fn norm(id: &str) -> String {
    let trimmed = id.trim();
    let trimmed = if trimmed.len() > 1 { trimmed.trim_end_matches('/') } else { trimmed };
    trimmed.to_ascii_lowercase()
}

/// The last path segment of an id (the GUID of `/providers/Microsoft.Authorization/roleDefinitions/{guid}`).
pub fn last_segment(id: &str) -> &str {
    id.trim_end_matches('/').rsplit('/').next().unwrap_or(id)
}

/// The ARM parent of a normalised resource id, as far as the id itself tells: a resource's parent
/// resource or resource group, a resource group's subscription. Subscriptions and management groups
/// get their parents from the management-group facts, so this returns `None` for them.
pub fn arm_parent(id: &str) -> Option<String> {
    let segs: Vec<&str> = id.split('/').filter(|s| !s.is_empty()).collect();
    match segs.as_slice() {
        ["subscriptions", _, "resourcegroups", _] => Some(format!("/{}/{}", segs[0], segs[1])),
        ["subscriptions", _, rest @ ..] if !rest.is_empty() => {
            // Find the last `providers` segment: what follows is ns/type/name[/childtype/childname]*.
            let p = segs.iter().rposition(|s| *s == "providers")?;
            let after = segs.len() - p - 1;
            if after < 3 {
                return None;
            }
            let parent_len = if after == 3 { p } else { segs.len() - 2 };
            Some(format!("/{}", segs[..parent_len].join("/")))
        }
        _ => None,
    }
}

/// The ARM resource type of a normalised resource id (`microsoft.storage/storageaccounts`,
/// `microsoft.machinelearningservices/workspaces/computes`), or `None` for scopes.
pub fn arm_type(id: &str) -> Option<String> {
    let segs: Vec<&str> = id.split('/').filter(|s| !s.is_empty()).collect();
    let p = segs.iter().rposition(|s| *s == "providers")?;
    let rest = &segs[p + 1..];
    if rest.len() < 3 {
        return None;
    }
    let mut parts = vec![rest[0]];
    parts.extend(rest[1..].iter().step_by(2));
    Some(parts.join("/"))
}

// Node ids of the attack graph: the normalised Azure id, or a synthetic id for what Azure has no
// resource id for (the tenant, roles, external identities).

/// The tenant node: control of the directory itself (tier 0).
pub fn tenant_node_id(tenant_id: &str) -> String {
    format!("tenant/{tenant_id}")
}

/// The node id of an external workload identity (issuer + subject of a federated credential).
pub fn external_identity_id(issuer: &str, subject: &str) -> String {
    format!("external/{}#{}", issuer.trim_end_matches('/').to_ascii_lowercase(), subject)
}

/// The tenant root management group's node id (its name is the tenant id).
pub fn root_mg_id(tenant_id: &str) -> String {
    format!("/providers/microsoft.management/managementgroups/{tenant_id}")
}

pub fn directory_role_node_id(role_id: &str) -> String {
    format!("directoryrole/{role_id}")
}

pub fn app_role_node_id(resource_app_id: &str, app_role_id: &str) -> String {
    format!("approle/{resource_app_id}/{app_role_id}")
}

/// Which UAMI or application a federated credential trusts, as a node id.
pub fn federated_parent_node(parent: &super::FederatedParent) -> &str {
    match parent {
        super::FederatedParent::Application(id) | super::FederatedParent::UserAssignedIdentity(id) => id,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn norm_lowercases_and_trims() {
        assert_eq!(norm(" /Subscriptions/ABC/resourceGroups/RG/ "), "/subscriptions/abc/resourcegroups/rg");
        assert_eq!(norm("/"), "/");
        assert_eq!(norm("F1847572-48AA"), "f1847572-48aa");
    }

    #[test]
    fn parents_follow_the_arm_hierarchy() {
        let rg = "/subscriptions/s/resourcegroups/rg";
        assert_eq!(arm_parent(rg).as_deref(), Some("/subscriptions/s"));
        let sa = format!("{rg}/providers/microsoft.storage/storageaccounts/sa");
        assert_eq!(arm_parent(&sa).as_deref(), Some(rg));
        let compute = format!("{rg}/providers/microsoft.machinelearningservices/workspaces/w/computes/c");
        assert_eq!(
            arm_parent(&compute).as_deref(),
            Some("/subscriptions/s/resourcegroups/rg/providers/microsoft.machinelearningservices/workspaces/w")
        );
        let container = format!("{sa}/blobservices/default/containers/training");
        assert_eq!(arm_parent(&container), Some(format!("{sa}/blobservices/default")));
        assert_eq!(arm_parent("/subscriptions/s"), None);
        assert_eq!(arm_parent("/providers/microsoft.management/managementgroups/x"), None);
        assert_eq!(
            arm_parent("/subscriptions/s/providers/microsoft.security/pricings/vm").as_deref(),
            Some("/subscriptions/s")
        );
    }

    #[test]
    fn types_come_from_the_id() {
        let compute =
            "/subscriptions/s/resourcegroups/rg/providers/microsoft.machinelearningservices/workspaces/w/computes/c";
        assert_eq!(arm_type(compute).as_deref(), Some("microsoft.machinelearningservices/workspaces/computes"));
        assert_eq!(arm_type("/subscriptions/s/resourcegroups/rg"), None);
    }

    #[test]
    fn last_segment_is_the_guid() {
        assert_eq!(
            last_segment("/providers/Microsoft.Authorization/roleDefinitions/b24988ac-6180-42a0-ab88-20f7382dd24c"),
            "b24988ac-6180-42a0-ab88-20f7382dd24c"
        );
    }
}
