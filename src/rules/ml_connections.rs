//! ML / AI Foundry workspace connections that store a key or a client secret: whoever can list the
//! connection's secrets holds the target's key or signs in as the service principal.

use super::{Context, Hit, Plane, Rule, grant_text, rbac_edge};
use crate::facts::{Resource, ResourceDetails};
use crate::model::{Edge, EdgeKind, EvidenceKind};

const LIST_SECRETS: &str = "Microsoft.MachineLearningServices/workspaces/connections/listsecrets/action";

/// Auth types whose stored secret is the target's own key (account key, API key, access key).
const KEY_AUTH: &[&str] = &["ApiKey", "AccountKey", "AccessKey", "CustomKeys"];

pub const RULE: Rule = Rule {
    id: "ml-connection-list-secrets",
    edges: &[EdgeKind::ListKeys, EdgeKind::AuthenticatesAs],
    summary: "Reading an ML / AI Foundry workspace connection's stored key or client secret gives its target or the service principal.",
    doc: concat!(
        "What it does: a ListKeys edge from the principal to the connection's target when its role allows \
Microsoft.MachineLearningServices/workspaces/connections/listsecrets/action on an Azure Machine Learning \
workspace, AI Foundry hub or project (AzureML Data Scientist and Azure AI Developer through \
`workspaces/*/action`, Azure Machine Learning Workspace Connection Secrets Reader, Contributor) and one \
of its connections (`workspaces/connections`) stores a key (`properties.authType` ApiKey, AccountKey, \
AccessKey or CustomKeys) for a resource azpath knows: an Azure OpenAI / AI Services account by its \
endpoint host (`{name}.openai.azure.com`, `{name}.cognitiveservices.azure.com`, \
`{name}.services.ai.azure.com`, matched to the account's name) that still accepts keys \
(`disableLocalAuth` not true), or a storage account by `{name}.blob|dfs|file|queue|table.core.windows.net` \
that still accepts shared keys (`allowSharedKeyAccess` not false); an AuthenticatesAs edge to the \
service principal whose client secret a connection stores (authType ServicePrincipal, by \
`properties.credentials.clientId`). Listing a connection's secrets is a POST to ARM on the connection \
(Microsoft Learn, REST API \"Workspace Connections - List Secrets\"; \"Create connections\" in Azure \
Machine Learning / AI Foundry: connections store API keys, account keys and service principal \
secrets, or use Microsoft Entra ID), so locks on the workspace or above count.",
        read_only_lock_doc!(),
        " Why it matters: everyone who works in a hub or project can usually read its \
connections' keys, which reach the OpenAI account or storage behind it without any role there. Must \
not fire: for identity-based connections (authType AAD, ManagedIdentity, None), for SAS, \
UsernamePassword, PAT or OAuth2 connections (scoped or third-party credentials: not modelled), when the \
target accepts no keys (`disableLocalAuth` true, `allowSharedKeyAccess` false), for targets that map \
to no resource in the facts, without listsecrets (Reader, Azure AI User), or under a ReadOnly lock the \
principal cannot delete."
    ),
    derive,
};

/// The resource a connection target URL names: an AI account by endpoint host, or a storage
/// account by service host, if it still accepts keys.
fn key_target<'f>(ctx: &Context<'f>, target: &str) -> Option<&'f Resource> {
    let rest = target.trim().split_once("://").map_or(target.trim(), |(_, r)| r);
    let host = rest.split(['/', ':', '?']).next()?.to_ascii_lowercase();
    let (name, suffix) = host.split_once('.')?;
    let ai = ["openai.azure.com", "cognitiveservices.azure.com", "services.ai.azure.com"].contains(&suffix);
    let storage = ["blob.", "dfs.", "file.", "queue.", "table."]
        .iter()
        .any(|s| suffix.strip_prefix(s).is_some_and(|rest| rest.starts_with("core.")));
    ctx.facts.resources.iter().find(|r| {
        r.name.eq_ignore_ascii_case(name)
            && match r.details {
                ResourceDetails::CognitiveServices { disable_local_auth, .. } => ai && disable_local_auth != Some(true),
                ResourceDetails::StorageAccount { allow_shared_key_access } => {
                    storage && allow_shared_key_access != Some(false)
                }
                _ => false,
            }
    })
}

fn derive(ctx: &Context, out: &mut Vec<Edge>) {
    let workspaces = |r: &Resource| r.resource_type == "microsoft.machinelearningservices/workspaces";
    for (g, ws, how) in ctx.rbac_matches(LIST_SECRETS, false, workspaces) {
        for conn in ctx.child_resources(&ws.id) {
            let ResourceDetails::MlConnection { auth_type: Some(auth), target, client_id } = &conn.details else {
                continue;
            };
            // listsecrets is a POST to ARM on the connection.
            let hit = Hit { target: "", action: LIST_SECRETS, how: &how, plane: Plane::Arm(&conn.id) };
            if KEY_AUTH.iter().any(|k| auth.eq_ignore_ascii_case(k)) {
                let Some(url) = target else { continue };
                let Some(res) = key_target(ctx, url) else { continue };
                let reason = format!(
                    "{} allows {LIST_SECRETS}: connection {} of workspace {} stores a key ({auth}) of {}",
                    grant_text(ctx, g),
                    conn.name,
                    ws.name,
                    res.name
                );
                let setting = match res.details {
                    ResourceDetails::StorageAccount { .. } => "allowSharedKeyAccess is not false",
                    _ => "disableLocalAuth is not true",
                };
                let extra = vec![
                    Context::resource_evidence(
                        EvidenceKind::WorkspaceConnection,
                        conn,
                        format!("{}: authType {auth}, target {url}", conn.id),
                    ),
                    Context::resource_evidence(EvidenceKind::ResourceProperty, res, format!("{}: {setting}", res.id)),
                ];
                out.extend(rbac_edge(ctx, &RULE, g, Hit { target: &res.id, ..hit }, reason, extra));
            } else if auth.eq_ignore_ascii_case("ServicePrincipal") {
                let Some(app) = client_id else { continue };
                let stored_in = format!("connection {} of workspace {}", conn.name, ws.name);
                let ev = Context::resource_evidence(
                    EvidenceKind::WorkspaceConnection,
                    conn,
                    format!("{}: authType ServicePrincipal, clientId {app}", conn.id),
                );
                out.extend(super::ml_datastores::stored_client_secret(ctx, &RULE, g, hit, app, &stored_in, ev));
            }
            // AAD / ManagedIdentity / None store no secret; SAS, UsernamePassword, PAT and OAuth2
            // are scoped or third-party credentials: not modelled (no edge rather than an
            // overstated one).
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::model::EdgeKind::{AuthenticatesAs, ListKeys};
    use crate::rules::testkit::*;
    use serde_json::json;

    fn connection(t: &mut T, rg: &str, ws: &str, name: &str, props: serde_json::Value) {
        let id = format!("{ws}/connections/{name}");
        t.resource(
            rg,
            "Microsoft.MachineLearningServices/workspaces",
            name,
            json!({"id": id,
            "type": "Microsoft.MachineLearningServices/workspaces/connections", "properties": props}),
        );
    }

    fn ai(t: &mut T, rg: &str, name: &str, disable_local_auth: bool) -> String {
        t.resource(
            rg,
            "Microsoft.CognitiveServices/accounts",
            name,
            json!({"kind": "OpenAI",
            "properties": {"disableLocalAuth": disable_local_auth}}),
        )
    }

    #[test]
    fn key_connections_leak_the_target_key_and_sp_connections_the_client_secret() {
        let mut t = T::new();
        let rg = t.rg("rg");
        let ws = t.resource(&rg, "Microsoft.MachineLearningServices/workspaces", "hub", json!({"kind": "Hub"}));
        let oai = ai(&mut t, &rg, "oai", false);
        let st = t.storage(&rg, "stdata", true);
        let (_, sp) = t.app("etl");
        connection(
            &mut t,
            &rg,
            &ws,
            "aoai",
            json!({"category": "AzureOpenAI", "authType": "ApiKey", "target": "https://oai.openai.azure.com/"}),
        );
        connection(
            &mut t,
            &rg,
            &ws,
            "blob",
            json!({"category": "AzureBlob", "authType": "AccountKey", "target": "https://stdata.blob.core.windows.net/data"}),
        );
        connection(
            &mut t,
            &rg,
            &ws,
            "sp",
            json!({"category": "ADLSGen2", "authType": "ServicePrincipal", "target": "https://x.dfs.core.windows.net",
            "credentials": {"clientId": "appid-etl", "tenantId": TENANT}}),
        );
        let (ds, dev, reader) = (t.group("ds"), t.user("dev"), t.user("reader"));
        t.assign(&ds, "AzureML Data Scientist", &ws);
        t.assign(&dev, "Azure AI Developer", &ws);
        t.assign(&reader, "Reader", &ws);
        let d = t.derive();
        let e = edge(&d, &ds, &oai, ListKeys).unwrap();
        assert_eq!(e.rule.as_ref(), "ml-connection-list-secrets");
        assert!(has(&d, &dev, &oai, ListKeys));
        assert!(has(&d, &ds, &st, ListKeys));
        assert!(has(&d, &ds, &sp, AuthenticatesAs));
        assert!(out(&d, &reader).is_empty(), "Reader cannot list secrets");
    }

    #[test]
    fn identity_connections_and_keyless_targets_give_nothing() {
        let mut t = T::new();
        let rg = t.rg("rg");
        let ws = t.resource(&rg, "Microsoft.MachineLearningServices/workspaces", "proj", json!({"kind": "Project"}));
        let entra = ai(&mut t, &rg, "oaientra", false);
        let off = ai(&mut t, &rg, "oaioff", true);
        let st = t.storage(&rg, "stoff", false);
        let mi = t.storage(&rg, "stmi", true);
        connection(&mut t, &rg, &ws, "a", json!({"authType": "AAD", "target": "https://oaientra.openai.azure.com/"}));
        connection(
            &mut t,
            &rg,
            &ws,
            "b",
            json!({"authType": "ApiKey", "target": "https://oaioff.cognitiveservices.azure.com/"}),
        );
        connection(
            &mut t,
            &rg,
            &ws,
            "c",
            json!({"authType": "AccountKey", "target": "https://stoff.blob.core.windows.net/c"}),
        );
        connection(
            &mut t,
            &rg,
            &ws,
            "d",
            json!({"authType": "ManagedIdentity", "target": "https://stmi.blob.core.windows.net/c"}),
        );
        connection(&mut t, &rg, &ws, "e", json!({"authType": "SAS", "target": "https://stmi.blob.core.windows.net/c"}));
        connection(
            &mut t,
            &rg,
            &ws,
            "f",
            json!({"authType": "ApiKey", "target": "https://elsewhere.openai.azure.com/"}),
        );
        let ds = t.group("ds");
        t.assign(&ds, "AzureML Data Scientist", &ws);
        let d = t.derive();
        for target in [&entra, &off, &st, &mi] {
            assert!(
                !edges(&d, &ds, target).iter().any(|e| e.rule.as_ref() == "ml-connection-list-secrets"),
                "no stored usable key for {target}"
            );
        }
    }

    #[test]
    fn a_read_only_lock_on_the_workspace_stops_listing_connection_secrets() {
        let mut t = T::new();
        let (rg, data) = (t.rg("rg"), t.rg("data"));
        let ws = t.resource(&rg, "Microsoft.MachineLearningServices/workspaces", "ws", json!({}));
        let oai = ai(&mut t, &data, "oai", false);
        connection(&mut t, &rg, &ws, "aoai", json!({"authType": "ApiKey", "target": "https://oai.openai.azure.com/"}));
        let ds = t.group("ds");
        t.assign(&ds, "AzureML Data Scientist", &ws);
        t.lock(&ws, "freeze", "ReadOnly");
        let d = t.derive();
        assert!(!has(&d, &ds, &oai, ListKeys), "listsecrets is a POST to ARM on the connection");
    }
}
