//! `ExecuteOn` through a function app's deployment package: a Flex Consumption function app runs
//! the package it finds in its deployment storage container.

use super::{Context, Hit, Plane, Rule, grant_text, rbac_edge};
use crate::facts::ResourceDetails;
use crate::model::{Edge, EdgeKind, EvidenceKind};

use super::ml_code_in_storage::LIST_KEYS;

pub const RULE: Rule = Rule {
    id: "function-package-storage",
    edges: &[EdgeKind::ExecuteOn],
    summary: "Write access to a Flex Consumption function app's deployment container replaces the code it runs.",
    doc: "What it does: a conditional ExecuteOn edge to a Flex Consumption function app (with a managed \
identity) from every principal that can write blobs in the container the app runs its deployment \
package from (`properties.functionAppConfig.deployment.storage`, `type: blobContainer`, `value`: \
`https://{account}.blob.core.windows.net/{container}`; the account is matched by name): the blob write \
data action on the account or on that container, or `listKeys` on the account while shared key access \
is allowed (the account key writes anything). Flex Consumption apps always run from the package in that \
container (Microsoft Learn, \"Azure Functions Flex Consumption plan hosting\", deployments; \"Run your \
functions from a package file in Azure\": Flex Consumption apps run from a package by default; \
\"Package-based deployment for Azure Functions\"; ARM reference `FunctionsDeploymentStorage`: \"storage \
for deployed package used by the function app\"), so whoever replaces the package runs code as the \
app's identities. Conditional: the app loads the new package when it next starts an instance (restart, \
scale-out, scale from zero); the deployment's `authentication` (system, user-assigned identity or \
connection string) is how the app reads the package and does not change who can write it. Why it \
matters: Storage Blob Data Contributor on a shared storage account, or key access to it, is code \
execution as the function app's identity without any right on the app. Must not fire: for read-only \
data roles, for `listKeys` on an account with `allowSharedKeyAccess: false`, for a container-scoped \
grant on another container, for apps without a managed identity, or for function apps on other plans: \
their package location is in app settings (`WEBSITE_RUN_FROM_PACKAGE`, `AzureWebJobsStorage`), which \
azpath does not collect (reading them needs `sites/config/list/action` and returns secrets), so those \
apps are not evaluated by this rule, and the snapshot says so in one completeness note \
(`arm.functionApps.appSettings`) naming them.",
    derive,
};

fn derive(ctx: &Context, out: &mut Vec<Edge>) {
    for app in &ctx.facts.resources {
        let ResourceDetails::AppService { deployment_storage: Some(dep), .. } = &app.details else { continue };
        if !crate::facts::is_function_app(app.kind.as_deref()) || !app.has_managed_identity() {
            continue;
        }
        if dep.storage_type.as_deref().is_some_and(|t| !t.eq_ignore_ascii_case("blobContainer")) {
            continue;
        }
        let Some(account_name) = &dep.account_name else { continue };
        let Some(account) = ctx.facts.resources.iter().find(|r| {
            matches!(r.details, ResourceDetails::StorageAccount { .. }) && r.name.eq_ignore_ascii_case(account_name)
        }) else {
            continue;
        };
        for (g, how, action) in &super::ml_code_in_storage::blob_writers(ctx, account, dep.container.as_deref()) {
            let action = *action;
            let reason = format!(
                "{} allows {action} on {}, the deployment storage of function app {}: can replace the package it runs (when it next starts an instance)",
                grant_text(ctx, g),
                account.name,
                app.name
            );
            let mut extra = vec![Context::resource_evidence(
                EvidenceKind::DeploymentStorage,
                app,
                format!(
                    "{}: properties.functionAppConfig.deployment.storage = {} (authentication {})",
                    app.id,
                    dep.url,
                    dep.authentication.as_deref().unwrap_or("not set")
                ),
            )];
            if action == LIST_KEYS {
                extra.push(Context::resource_evidence(
                    EvidenceKind::ResourceProperty,
                    account,
                    format!("{}: allowSharedKeyAccess is not false", account.id),
                ));
            }
            // Blob writes go to the blob endpoint; listKeys is a POST to ARM on the account.
            let plane = if action == LIST_KEYS { Plane::Arm(&account.id) } else { Plane::Data };
            let hit = Hit { target: &app.id, action, how, plane };
            let Some(e) = rbac_edge(ctx, &RULE, g, hit, reason, extra) else { continue };
            let eligible = e.requires_activation;
            out.push(e.with_flags(eligible, true));
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::model::EdgeKind::ExecuteOn;
    use crate::rules::testkit::*;
    use serde_json::json;

    const RULE: &str = "function-package-storage";

    fn flex_app(t: &mut T, rg: &str, name: &str, url: &str, identity: bool) -> String {
        let mut body = json!({"kind": "functionapp,linux", "properties": {"functionAppConfig": {"deployment": {"storage": {
            "type": "blobContainer", "value": url, "authentication": {"type": "SystemAssignedIdentity"}}}}}});
        if identity {
            t.push_sp(&format!("mi-{name}"), name, "ManagedIdentity");
            body["identity"] = json!({"type": "SystemAssigned", "principalId": format!("mi-{name}")});
        }
        t.resource(rg, "Microsoft.Web/sites", name, body)
    }

    #[test]
    fn writers_of_the_deployment_container_run_code_as_the_app() {
        let mut t = T::new();
        let rg = t.rg("rg");
        let sa = t.storage(&rg, "stdeploy", true);
        let app = flex_app(&mut t, &rg, "func", "https://stdeploy.blob.core.windows.net/app-package-func", true);
        let writer = t.user("writer");
        t.assign(&writer, "Storage Blob Data Contributor", &sa);
        let keys = t.user("keys");
        t.assign(&keys, "Storage Account Key Operator Service Role", &sa);
        let in_container = t.user("incontainer");
        t.assign(
            &in_container,
            "Storage Blob Data Contributor",
            &format!("{sa}/blobServices/default/containers/app-package-func"),
        );
        let d = t.derive();
        let e = edges(&d, &writer, &app).into_iter().find(|e| e.rule.as_ref() == RULE).unwrap();
        assert!(e.kind == ExecuteOn && e.conditional, "{e:?}");
        assert!(edges(&d, &keys, &app).iter().any(|e| e.rule.as_ref() == RULE));
        assert!(edges(&d, &in_container, &app).iter().any(|e| e.rule.as_ref() == RULE), "a grant on the container");
    }

    #[test]
    fn readers_other_containers_keyless_accounts_and_identityless_apps_give_nothing() {
        let mut t = T::new();
        let rg = t.rg("rg");
        let sa = t.storage(&rg, "stdeploy", false);
        let app = flex_app(&mut t, &rg, "func", "https://stdeploy.blob.core.windows.net/pkg", true);
        let bare = flex_app(&mut t, &rg, "bare", "https://stdeploy.blob.core.windows.net/pkg", false);
        let reader = t.user("reader");
        t.assign(&reader, "Storage Blob Data Reader", &sa);
        let keys = t.user("keys");
        t.assign(&keys, "Storage Account Key Operator Service Role", &sa);
        let other = t.user("other");
        t.assign(&other, "Storage Blob Data Contributor", &format!("{sa}/blobServices/default/containers/logs"));
        let writer = t.user("writer");
        t.assign(&writer, "Storage Blob Data Contributor", &sa);
        // A classic-plan function app: its package location is in app settings, not collected.
        let classic = t.resource(
            &rg,
            "Microsoft.Web/sites",
            "classic",
            json!({"kind": "functionapp",
            "identity": {"type": "SystemAssigned", "principalId": "mi-classic"}, "properties": {}}),
        );
        let d = t.derive();
        let ours = |from: &str, to: &str| edges(&d, from, to).into_iter().filter(|e| e.rule.as_ref() == RULE).count();
        assert_eq!(ours(&reader, &app), 0, "a reader replaces nothing");
        assert_eq!(ours(&keys, &app), 0, "account keys do not work with shared key access off");
        assert_eq!(ours(&other, &app), 0, "another container");
        assert_eq!(ours(&writer, &app), 1);
        assert_eq!(ours(&writer, &bare), 0, "no identity to take");
        assert_eq!(ours(&writer, &classic), 0, "classic plans are not evaluated");
    }
}
