//! BloodHound CE OpenGraph: the attack graph (or a query's result) as an OpenGraph JSON document,
//! and the extension schema that lets BloodHound path-find over azpath's kinds (`docs/interop.md`).
//!
//! Objects BloodHound's AzureHound data already has (users, groups, service principals, apps, the
//! tenant, and the ARM scopes and resources it models) get its node id, the upper-cased object id
//! or ARM id, and its kind (`AZUser`, `AZKeyVault`, ...), so azpath's edges join the team's existing
//! graph. Everything else gets a kind in azpath's namespace, `AZP_` + azpath's kind; every edge kind
//! is `AZP_` + azpath's edge kind (BloodHound refuses an extension whose kinds lack the namespace and
//! its underscore). Properties azpath adds to BloodHound's own nodes are prefixed `azp_`, so they
//! never overwrite what AzureHound wrote.

use super::Selection;
use crate::graph::AttackGraph;
use crate::graph::NodeRef;
use crate::model::{EdgeKind, NodeKind};
use serde::Serialize;
use serde_json::{Map, Value};

/// The namespace of azpath's own kinds; each is `AZP_` + the kind.
pub const PREFIX: &str = "AZP";
/// The kind every node azpath defines carries, and the file's `source_kind`. A source kind is a
/// reference, not a kind the extension defines, so it is outside the namespace.
pub const BASE_KIND: &str = "AZPBase";
/// The kind AzureHound gives every Azure node.
pub const BLOODHOUND_BASE_KIND: &str = "AZBase";
/// The third kind of a crown jewel, so BloodHound can select them.
pub const CROWN_JEWEL_KIND: &str = "AZP_CrownJewel";

/// BloodHound's kind for the nodes AzureHound collects too; `None` for azpath's own.
pub fn bloodhound_kind(kind: NodeKind) -> Option<&'static str> {
    use NodeKind::*;
    Some(match kind {
        User => "AZUser",
        Group => "AZGroup",
        ServicePrincipal => "AZServicePrincipal",
        Application => "AZApp",
        Tenant => "AZTenant",
        ManagementGroup => "AZManagementGroup",
        Subscription => "AZSubscription",
        ResourceGroup => "AZResourceGroup",
        KeyVault => "AZKeyVault",
        VirtualMachine => "AZVM",
        AKSCluster => "AZManagedCluster",
        WebApp => "AZWebApp",
        FunctionApp => "AZFunctionApp",
        LogicApp => "AZLogicApp",
        AutomationAccount => "AZAutomationAccount",
        ContainerRegistry => "AZContainerRegistry",
        _ => return None,
    })
}

/// The node's primary kind: BloodHound's where it has one, else `AZP_` + azpath's kind.
pub fn node_kind(kind: NodeKind) -> String {
    bloodhound_kind(kind).map_or_else(|| format!("{PREFIX}_{kind}"), str::to_string)
}

/// The edge's kind: `AZP_` + azpath's kind (`AZP_ListKeys`). Never BloodHound's own edge kinds:
/// these edges carry azpath's meaning, costs and evidence.
pub fn edge_kind(kind: EdgeKind) -> String {
    format!("{PREFIX}_{kind}")
}

/// The OpenGraph node id: BloodHound's id for the object, the upper-cased object GUID, tenant id or
/// ARM id (Azure ids ignore case); azpath's synthetic nodes (`directoryrole/…`, `approle/…`,
/// `external/…`, whose subjects may be case-sensitive) keep their azpath id exactly.
pub fn node_id(n: NodeRef<'_>) -> String {
    if n.kind == NodeKind::Tenant {
        return n.id.strip_prefix("tenant/").unwrap_or(n.id).to_ascii_uppercase();
    }
    if n.id.starts_with('/') || !n.id.contains('/') { n.id.to_ascii_uppercase() } else { n.id.to_string() }
}

#[derive(Serialize)]
pub struct OpenGraph {
    pub metadata: Metadata,
    pub graph: GraphDoc,
}

#[derive(Serialize)]
pub struct Metadata {
    pub source_kind: &'static str,
}

#[derive(Serialize)]
pub struct GraphDoc {
    pub nodes: Vec<OgNode>,
    pub edges: Vec<OgEdge>,
}

#[derive(Serialize)]
pub struct OgNode {
    pub id: String,
    pub kinds: Vec<String>,
    pub properties: Map<String, Value>,
}

#[derive(Serialize)]
pub struct OgEdge {
    pub kind: String,
    pub start: EndRef,
    pub end: EndRef,
    pub properties: Map<String, Value>,
}

/// One end of an edge, matched by node id.
#[derive(Serialize)]
pub struct EndRef {
    pub value: String,
    pub match_by: &'static str,
}

/// A property key BloodHound accepts: letters, digits and `_` (others become `_`).
fn property_key(key: &str) -> String {
    key.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '_' }).collect()
}

fn node_doc(n: NodeRef<'_>) -> OgNode {
    let native = bloodhound_kind(n.kind).is_some();
    let mut kinds = vec![node_kind(n.kind), if native { BLOODHOUND_BASE_KIND } else { BASE_KIND }.to_string()];
    if n.crown_jewel().is_some() {
        kinds.push(CROWN_JEWEL_KIND.to_string());
    }
    let mut p = Map::new();
    // BloodHound shows `name`; on its own nodes AzureHound's name stays and azpath's goes beside it.
    p.insert(if native { "azp_name" } else { "name" }.into(), n.name.to_string().into());
    p.insert("azp_id".into(), n.id.into());
    p.insert("azp_kind".into(), n.kind.as_str().into());
    if !native {
        p.insert("objectid".into(), node_id(n).into());
    }
    for (k, v) in n.props.iter() {
        // Flags azpath stores as text ("pipeline" = "true") are booleans to BloodHound.
        let value = match v {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => Value::String(v.to_string()),
        };
        p.insert(format!("azp_{}", property_key(k)), value);
    }
    OgNode { id: node_id(n), kinds, properties: p }
}

fn edge_doc(g: &AttackGraph, e: usize) -> OgEdge {
    let edge = g.edge(e);
    let mut p = Map::new();
    p.insert("azp_rule".into(), edge.rule.to_string().into());
    p.insert("azp_reason".into(), edge.reason(g).into());
    p.insert("azp_cost".into(), edge.cost.into());
    p.insert("azp_requires_activation".into(), edge.requires_activation.into());
    p.insert("azp_conditional".into(), edge.conditional.into());
    // Evidence as "label: value" strings: OpenGraph properties hold no nested objects.
    let evidence: Vec<Value> =
        edge.evidence().iter().map(|ev| format!("{}: {}", ev.label(), ev.value).into()).collect();
    if !evidence.is_empty() {
        p.insert("azp_evidence".into(), evidence.into());
    }
    let end = |n| EndRef { value: node_id(g.node(n)), match_by: "id" };
    OgEdge { kind: edge_kind(edge.kind), start: end(g.edge_source(e)), end: end(g.edge_target(e)), properties: p }
}

/// The OpenGraph document of a selection (load the edges' evidence first).
pub fn opengraph(g: &AttackGraph, sel: &Selection) -> OpenGraph {
    OpenGraph {
        metadata: Metadata { source_kind: BASE_KIND },
        graph: GraphDoc {
            nodes: sel.nodes.iter().map(|&n| node_doc(g.node(n))).collect(),
            edges: sel.edges.iter().map(|&e| edge_doc(g, e)).collect(),
        },
    }
}

/// The extension schema BloodHound needs to path-find over azpath's kinds: azpath's node kinds and
/// its edge kinds (every one traversable: an azpath edge means "control passes"), all in the `AZP`
/// namespace. No environment is declared: BloodHound takes an environment's kind and principal
/// kinds only from the extension's own namespace, while azpath's tenant, users, groups and service
/// principals are AzureHound's nodes (matched by id so paths join that graph), not copies of them.
pub fn extension_schema() -> Value {
    let node_kinds: Vec<Value> = NodeKind::ALL
        .iter()
        .filter(|k| bloodhound_kind(**k).is_none())
        .map(|k| {
            serde_json::json!({"name": node_kind(*k), "display_name": k.as_str(),
                "description": format!("azpath {k} (docs/interop.md)"), "is_display_kind": true})
        })
        .chain([serde_json::json!({"name": CROWN_JEWEL_KIND, "display_name": "azpath crown jewel",
            "description": "a node a saved query treats as a crown jewel", "is_display_kind": false})])
        .collect();
    let relationship_kinds: Vec<Value> = EdgeKind::ALL
        .iter()
        .map(|k| serde_json::json!({"name": edge_kind(*k), "description": format!("azpath {k} (docs/rules.md)"), "is_traversable": true}))
        .collect();
    serde_json::json!({
        "schema": {"name": "azpath", "namespace": PREFIX, "version": env!("CARGO_PKG_VERSION"),
                   "display_name": "azpath: Azure and Entra attack paths"},
        "node_kinds": node_kinds,
        "relationship_kinds": relationship_kinds,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Node;

    #[test]
    fn entra_objects_use_bloodhound_ids_and_kinds() {
        let user = Node::new("0f8fad5b-d9cb-469f-a165-70867728950e", NodeKind::User, "Carol");
        let doc = node_doc((&user).into());
        assert_eq!(doc.id, "0F8FAD5B-D9CB-469F-A165-70867728950E");
        assert_eq!(doc.kinds, ["AZUser", "AZBase"]);
        assert!(!doc.properties.contains_key("name"), "AzureHound's name is kept");
        let tenant = Node::new("tenant/abc-def", NodeKind::Tenant, "t");
        assert_eq!(node_id((&tenant).into()), "ABC-DEF");
    }

    #[test]
    fn own_kinds_are_prefixed_and_flags_are_booleans() {
        let sa = Node::new(
            "/subscriptions/s/resourcegroups/r/providers/microsoft.storage/storageaccounts/st",
            NodeKind::StorageAccount,
            "st",
        )
        .with_prop("crown_jewel", "training-data")
        .with_prop("pipeline", "true");
        let doc = node_doc((&sa).into());
        assert_eq!(doc.kinds, ["AZP_StorageAccount", "AZPBase", "AZP_CrownJewel"]);
        assert_eq!(doc.properties["azp_pipeline"], Value::Bool(true));
        assert_eq!(doc.properties["name"], "st");
    }
}
