//! Account keys: `ListKeys` where key auth is on, `ReEnableKeys` where it is off but the principal
//! can turn it back on.

use super::{Context, Hit, Plane, RbacGrant, Rule, grant_text, rbac_edge};
use crate::facts::{Resource, ResourceDetails};
use crate::model::{Edge, EdgeKind, Evidence, EvidenceKind};
use std::collections::BTreeMap;
use std::sync::Arc;

/// A resource type whose keys give full data access, and the setting that can switch them off.
struct KeyedType {
    resource_type: &'static str,
    list_action: &'static str,
    write_action: &'static str,
    setting: &'static str,
    /// Actions that return a token signed with the keys (storage account and service SAS): as good
    /// as the keys while key auth is on, useless while it is off.
    sas_actions: &'static [&'static str],
    /// Other actions whose answer carries the read-write keys themselves (Cosmos DB's
    /// `listConnectionStrings`: each connection string embeds a key).
    also_return_keys: &'static [&'static str],
    /// Are keys usable right now? `None` when the resource is not of this type.
    keys_enabled: fn(&Resource) -> Option<bool>,
}

const TYPES: &[KeyedType] = &[
    KeyedType {
        resource_type: "microsoft.storage/storageaccounts",
        list_action: "Microsoft.Storage/storageAccounts/listkeys/action",
        write_action: "Microsoft.Storage/storageAccounts/write",
        setting: "allowSharedKeyAccess",
        sas_actions: &[
            "Microsoft.Storage/storageAccounts/listAccountSas/action",
            "Microsoft.Storage/storageAccounts/listServiceSas/action",
        ],
        also_return_keys: &[],
        keys_enabled: |r| match r.details {
            ResourceDetails::StorageAccount { allow_shared_key_access } => Some(allow_shared_key_access != Some(false)),
            _ => None,
        },
    },
    KeyedType {
        resource_type: "microsoft.cognitiveservices/accounts",
        list_action: "Microsoft.CognitiveServices/accounts/listKeys/action",
        write_action: "Microsoft.CognitiveServices/accounts/write",
        setting: "disableLocalAuth",
        sas_actions: &[],
        also_return_keys: &[],
        keys_enabled: |r| match r.details {
            ResourceDetails::CognitiveServices { disable_local_auth, .. } => Some(disable_local_auth != Some(true)),
            _ => None,
        },
    },
    KeyedType {
        resource_type: "microsoft.documentdb/databaseaccounts",
        list_action: "Microsoft.DocumentDB/databaseAccounts/listKeys/action",
        write_action: "Microsoft.DocumentDB/databaseAccounts/write",
        sas_actions: &[],
        also_return_keys: &[COSMOS_CONNECTION_STRINGS],
        setting: "disableLocalAuth",
        keys_enabled: |r| match r.details {
            ResourceDetails::CosmosDb { disable_local_auth } => Some(disable_local_auth != Some(true)),
            _ => None,
        },
    },
    KeyedType {
        resource_type: "microsoft.containerservice/managedclusters",
        list_action: "Microsoft.ContainerService/managedClusters/listClusterAdminCredential/action",
        write_action: "Microsoft.ContainerService/managedClusters/write",
        setting: "disableLocalAccounts",
        sas_actions: &[],
        also_return_keys: &[],
        keys_enabled: |r| match r.details {
            ResourceDetails::Aks { disable_local_accounts, .. } => Some(disable_local_accounts != Some(true)),
            _ => None,
        },
    },
];

fn setting_text(t: &KeyedType, r: &Resource, enabled: bool) -> String {
    let explicit = match &r.details {
        ResourceDetails::StorageAccount { allow_shared_key_access } => allow_shared_key_access.is_some(),
        ResourceDetails::CognitiveServices { disable_local_auth, .. }
        | ResourceDetails::CosmosDb { disable_local_auth } => disable_local_auth.is_some(),
        ResourceDetails::Aks { disable_local_accounts, .. } => disable_local_accounts.is_some(),
        _ => true,
    };
    let value = match (t.setting, enabled) {
        ("allowSharedKeyAccess", e) => e.to_string(),
        (_, e) => (!e).to_string(),
    };
    if explicit {
        format!("{} = {value}", t.setting)
    } else {
        format!("{} not set (Azure default: keys enabled)", t.setting)
    }
}

/// The evidence that keys are on (or off) on `r`: the setting as collected.
fn setting_evidence(t: &KeyedType, r: &Resource, enabled: bool) -> Evidence {
    Context::resource_evidence(EvidenceKind::ResourceProperty, r, format!("{}: {}", r.id, setting_text(t, r, enabled)))
}

pub const LIST_KEYS: Rule = Rule {
    id: "rbac-list-keys",
    edges: &[EdgeKind::ListKeys],
    summary: "Listing the keys of a storage account, AI account, Cosmos DB account or AKS cluster with key auth on gives full access.",
    doc: concat!(
        "What it does: a ListKeys edge from the principal to each storage account \
(`storageAccounts/listkeys/action`), Cognitive Services / Azure OpenAI account \
(`accounts/listKeys/action`), Cosmos DB account (`databaseAccounts/listKeys/action`: the read-write \
primary and secondary keys, which give every database and container regardless of Cosmos DB's own \
data-plane role assignments; Microsoft Learn, \"Secure access to data in Azure Cosmos DB\"; and \
`databaseAccounts/listConnectionStrings/action`, whose connection strings embed those keys) or AKS cluster (`listClusterAdminCredential/action`) beneath the scope of \
an assignment whose role allows the action, when key auth is on (`allowSharedKeyAccess` not false, \
`disableLocalAuth` not true, `disableLocalAccounts` not true).",
        read_only_lock_doc!(),
        " For storage Microsoft says so explicitly (\"Apply an Azure Resource Manager lock to a storage \
account\", https://learn.microsoft.com/azure/storage/common/lock-account-resource): a ReadOnly lock \
blocks List Keys, and clients without the keys must use Entra credentials. Why it matters: account keys \
bypass RBAC and give all data, model access, or cluster-admin. Must not fire: when key auth is off (then \
see rbac-re-enable-keys), for Reader, when a deny assignment removes the action, or under a ReadOnly \
lock the principal cannot delete (Contributor: its notActions remove `Microsoft.Authorization/*/Delete`)."
    ),
    derive: derive_list,
};

pub const RE_ENABLE_KEYS: Rule = Rule {
    id: "rbac-re-enable-keys",
    edges: &[EdgeKind::ReEnableKeys],
    summary: "Write access to an account whose key auth is off can turn keys back on, then list them.",
    doc: concat!(
        "What it does: a ReEnableKeys edge (costed high: a visible configuration change) from the principal \
to each storage account, AI account, Cosmos DB account or AKS cluster whose key auth is off, when its roles allow both the \
resource's write action (to set allowSharedKeyAccess / disableLocalAuth / disableLocalAccounts back) and \
listing keys (for a storage account, or asking for an account or service SAS signed with them).",
        read_only_lock_doc!(),
        " Why it matters: disabling keys is a control only against principals that cannot write the \
resource; Contributor can undo it. Must not fire: with listKeys alone (Storage Account Key Operator \
Service Role, a listKeys-only custom role), with write alone, when key auth is on (then ListKeys is \
the easier edge), or under a ReadOnly lock the principal cannot delete."
    ),
    derive: derive_re_enable,
};

pub const LIST_SAS: Rule = Rule {
    id: "rbac-list-sas",
    edges: &[EdgeKind::ListKeys],
    summary: "Asking ARM for an account or service SAS of a storage account with shared key access on is as good as its keys.",
    doc: "What it does: a ListKeys edge from the principal to each storage account beneath the scope of an \
assignment whose role allows `storageAccounts/listAccountSas/action` (Reader and Data Access, Storage \
Account Contributor) or `storageAccounts/listServiceSas/action` (Storage DataShare Contributor, Storage \
Connector Contributor), when shared key access is on (`allowSharedKeyAccess` not false). Why it matters: \
ARM signs the SAS with an account key for whatever the caller asks: an account SAS for every service \
(blob, file, queue, table), resource type and permission, a service SAS for any container, share, \
queue or table it names, valid until an expiry the caller picks. That is the keys' data access without \
`listKeys`. Must not fire: when `allowSharedKeyAccess` is false (Azure then refuses every SAS signed \
with a key; with write on the account, rbac-re-enable-keys applies), for Reader (`*/read` matches no \
`/action`), or when a deny assignment removes the action. A principal that can also list the keys gets \
the rbac-list-keys edge instead (the same hop).",
    derive: derive_sas,
};

const COSMOS_CONNECTION_STRINGS: &str = "Microsoft.DocumentDB/databaseAccounts/listConnectionStrings/action";
const COSMOS_READ_ONLY_KEYS: &str = "Microsoft.DocumentDB/databaseAccounts/readonlykeys/action";

pub const COSMOS_READ_ONLY_KEYS_RULE: Rule = Rule {
    id: "cosmos-read-only-keys",
    edges: &[EdgeKind::ReadData],
    summary: "The read-only keys of a Cosmos DB account with local auth on read every item in it.",
    doc: concat!(
        "What it does: a ReadData edge from the principal to each Cosmos DB account beneath the scope of \
an assignment whose role allows `databaseAccounts/readonlykeys/action` (Cosmos DB Account Reader Role), \
when local (key) auth is on (`disableLocalAuth` not true). Microsoft Learn, \"Secure access to data in \
Azure Cosmos DB\": the read-only primary and secondary keys give read access to every resource in the \
account, outside Cosmos DB's own data-plane role assignments; with `disableLocalAuth` true every \
key-signed request is refused. The same account's `listConnectionStrings/action` (its connection \
strings embed the read-write keys) is a ListKeys edge of rbac-list-keys.",
        read_only_lock_doc!(),
        " Why it matters: a reader role, granted as harmless, reads every item of the account. Must not \
fire: when `disableLocalAuth` is true, for Reader or Cosmos DB Operator (neither allows the action), \
or when a deny assignment removes it."
    ),
    derive: derive_cosmos_read_only_keys,
};

fn derive_cosmos_read_only_keys(ctx: &Context, out: &mut Vec<Edge>) {
    let Some(t) = TYPES.iter().find(|t| t.resource_type == "microsoft.documentdb/databaseaccounts") else { return };
    let accept = |r: &Resource| r.resource_type == t.resource_type && (t.keys_enabled)(r) == Some(true);
    for (g, r, how) in ctx.rbac_matches(COSMOS_READ_ONLY_KEYS, false, accept) {
        let reason = format!(
            "{} allows {COSMOS_READ_ONLY_KEYS}; {} so the read-only keys read every item in {}",
            grant_text(ctx, g),
            setting_text(t, r, true),
            r.name
        );
        let extra = vec![setting_evidence(t, r, true)];
        let hit = Hit { target: &r.id, action: COSMOS_READ_ONLY_KEYS, how: &how, plane: Plane::Arm(&r.id) };
        out.extend(rbac_edge(ctx, &COSMOS_READ_ONLY_KEYS_RULE, g, hit, reason, extra));
    }
}

fn derive_sas(ctx: &Context, out: &mut Vec<Edge>) {
    for t in TYPES {
        let accept = |r: &Resource| r.resource_type == t.resource_type && (t.keys_enabled)(r) == Some(true);
        for &action in t.sas_actions {
            for (g, r, how) in ctx.rbac_matches(action, false, accept) {
                let reason = format!(
                    "{} allows {action}; {} so the SAS it returns, signed with an account key for whatever services, \
resources and permissions the caller asks, gives the keys' data access to {}",
                    grant_text(ctx, g),
                    setting_text(t, r, true),
                    r.name
                );
                let extra = vec![setting_evidence(t, r, true)];
                // A SAS is asked for with a POST to ARM on the account.
                let hit = Hit { target: &r.id, action, how: &how, plane: Plane::Arm(&r.id) };
                out.extend(rbac_edge(ctx, &LIST_SAS, g, hit, reason, extra));
            }
        }
    }
}

fn derive_list(ctx: &Context, out: &mut Vec<Edge>) {
    for t in TYPES {
        let accept = |r: &Resource| r.resource_type == t.resource_type && (t.keys_enabled)(r) == Some(true);
        for (action, (g, r, how)) in std::iter::once(&t.list_action)
            .chain(t.also_return_keys)
            .flat_map(|&action| ctx.rbac_matches(action, false, accept).into_iter().map(move |m| (action, m)))
        {
            let carries = if action == t.list_action { "" } else { " (its answer carries the read-write keys)" };
            let reason = format!(
                "{} allows {action}{carries}; {} so the keys give full access to {}",
                grant_text(ctx, g),
                setting_text(t, r, true),
                r.name
            );
            let extra = vec![setting_evidence(t, r, true)];
            out.extend(rbac_edge(
                ctx,
                &LIST_KEYS,
                g,
                Hit { target: &r.id, action, how: &how, plane: Plane::Arm(&r.id) },
                reason,
                extra,
            ));
        }
    }
}

fn derive_re_enable(ctx: &Context, out: &mut Vec<Edge>) {
    for t in TYPES {
        re_enable_edges(ctx, t, false, out);
    }
}

/// With key auth on, the principals that could turn it back on could undo turning it off: their
/// ListKeys hop would become a ReEnableKeys hop. Each such ListKeys edge keeps that derivation,
/// without the setting's fact, as an alternative, so `fix` knows turning keys off does not cut it
/// (only removing the write or the list grant does) and plans right the first time. It reads other
/// rules' edges, so `derive` runs it once every rule has run.
pub(super) fn add_re_enable_alternatives(ctx: &Context, ids: &[Arc<str>], edges: &mut [Vec<super::RawEdge>]) {
    let mut would_be = Vec::new();
    for t in TYPES {
        re_enable_edges(ctx, t, true, &mut would_be);
    }
    if would_be.is_empty() {
        return;
    }
    let mut by_hop: std::collections::HashMap<(u32, u32, bool), Vec<Vec<Evidence>>> = std::collections::HashMap::new();
    for e in &would_be {
        let (Some(source), Some(target)) = (ctx.position(&e.source), ctx.position(&e.target)) else { continue };
        let without_setting = e.evidence().into_iter().filter(|ev| ev.kind != EvidenceKind::ResourceProperty).collect();
        by_hop.entry((source, target, e.requires_activation)).or_default().push(without_setting);
    }
    for e in edges.iter_mut().flatten().filter(|e| e.kind == EdgeKind::ListKeys) {
        if let Some(derivations) = by_hop.get(&(e.source, e.target, e.requires_activation)) {
            let kept = e.evidence(ids);
            for d in derivations {
                super::add_alternative_to(&kept, &mut e.alternatives, d.clone());
            }
        }
    }
}

/// The ReEnableKeys edges of resources of type `t` whose key auth is off, or, with `keys_on`,
/// those there would be if it were turned off.
fn re_enable_edges(ctx: &Context, t: &KeyedType, keys_on: bool, out: &mut Vec<Edge>) {
    {
        let accept = |r: &Resource| r.resource_type == t.resource_type && (t.keys_enabled)(r) == Some(keys_on);
        // (principal, resource) -> the grant that lists keys (or a SAS signed with them) and the
        // action, possibly from another role than the one that writes.
        let mut listers: BTreeMap<(&str, &str), (&RbacGrant, crate::rbac::Grant, &str)> = BTreeMap::new();
        for &action in std::iter::once(&t.list_action).chain(t.also_return_keys).chain(t.sas_actions) {
            for (g, r, how) in ctx.rbac_matches(action, false, accept) {
                listers.entry((g.assignment.principal_id.as_str(), r.id.as_str())).or_insert((g, how, action));
            }
        }
        for (g, r, how) in ctx.rbac_matches(t.write_action, false, accept) {
            let Some((lg, lhow, list_action)) = listers.get(&(g.assignment.principal_id.as_str(), r.id.as_str()))
            else {
                continue;
            };
            let then = if t.sas_actions.contains(list_action) { "get a SAS signed with them" } else { "list keys" };
            let reason = format!(
                "{} allows {} on {} ({}): can turn key auth back on, then {then} (configuration change)",
                grant_text(ctx, g),
                t.write_action,
                r.name,
                setting_text(t, r, false)
            );
            let mut extra = vec![setting_evidence(t, r, false)];
            if lg.assignment.id != g.assignment.id {
                extra.push(
                    Evidence::new(
                        EvidenceKind::ListKeysGrantedBy,
                        format!("{} ({})", lg.assignment.id, lg.role.role_name),
                    )
                    .of_fact(&lg.assignment.fact_key()),
                );
            }
            extra.push(Evidence::new(
                EvidenceKind::ThenAction,
                format!("{list_action} (granted by `{}`)", lhow.pattern),
            ));
            let Some(mut e) = rbac_edge(
                ctx,
                &RE_ENABLE_KEYS,
                g,
                Hit { target: &r.id, action: t.write_action, how: &how, plane: Plane::Arm(&r.id) },
                reason,
                extra,
            ) else {
                continue;
            };
            if lg.assignment.eligible && !e.requires_activation {
                e = e.as_kind(EdgeKind::ReEnableKeys, true);
            }
            if (lhow.conditional || lg.assignment.condition.is_some() || lg.via.is_some()) && !e.conditional {
                e.conditional = true;
                e.recost();
                e.push_reason(" (listing keys is subject to a condition azpath does not evaluate)");
            }
            out.push(e);
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::model::EdgeKind::{ListKeys, ReEnableKeys};
    use crate::model::EvidenceKind;
    use crate::rules::testkit::*;
    use serde_json::json;

    fn storage(t: &mut T, rg: &str, name: &str, shared_key: Option<bool>) -> String {
        let props = match shared_key {
            Some(v) => json!({"properties": {"allowSharedKeyAccess": v}}),
            None => json!({"properties": {}}),
        };
        t.resource(rg, "Microsoft.Storage/storageAccounts", name, props)
    }

    #[test]
    fn contributor_lists_keys_where_shared_key_is_allowed_or_unset() {
        let mut t = T::new();
        let rg = t.rg("rg");
        let (on, unset) = (storage(&mut t, &rg, "on", Some(true)), storage(&mut t, &rg, "unset", None));
        let ci = t.sp("ci");
        t.assign(&ci, "Contributor", &rg);
        let d = t.derive();
        assert!(has(&d, &ci, &on, ListKeys));
        let e = edge(&d, &ci, &unset, ListKeys).unwrap();
        assert!(e.reason(&d).contains("Azure default"), "{}", e.reason(&d));
        assert!(e.evidence().iter().any(|ev| ev.kind == crate::model::EvidenceKind::RoleAssignment));
    }

    #[test]
    fn key_operator_on_a_shared_key_disabled_account_is_no_path() {
        let mut t = T::new();
        let rg = t.rg("rg");
        let off = storage(&mut t, &rg, "off", Some(false));
        let op = t.sp("backup");
        t.assign(&op, "Storage Account Key Operator Service Role", &off);
        let d = t.derive();
        assert!(out(&d, &op).is_empty(), "{:?}", out(&d, &op));
    }

    #[test]
    fn contributor_re_enables_keys_on_a_shared_key_disabled_account() {
        let mut t = T::new();
        let rg = t.rg("rg");
        let off = storage(&mut t, &rg, "off", Some(false));
        let ci = t.sp("ci");
        t.assign(&ci, "Contributor", &rg);
        let d = t.derive();
        assert!(!has(&d, &ci, &off, ListKeys));
        let e = edge(&d, &ci, &off, ReEnableKeys).unwrap();
        assert!(e.cost > ListKeys.base_cost());
        assert!(e.reason(&d).contains("configuration change"));
    }

    #[test]
    fn a_list_keys_hop_that_could_re_enable_keys_keeps_that_derivation_without_the_setting() {
        // Contributor could turn keys back on: its ListKeys hop also stands on its grant alone.
        // The key operator cannot write the account: turning keys off cuts its hop, no alternative.
        let mut t = T::new();
        let rg = t.rg("rg");
        let on = storage(&mut t, &rg, "on", Some(true));
        let (ci, op) = (t.sp("ci"), t.sp("backup"));
        let contributor = t.assign(&ci, "Contributor", &rg);
        t.assign(&op, "Storage Account Key Operator Service Role", &on);
        let d = t.derive();
        let e = edge(&d, &ci, &on, ListKeys).unwrap();
        assert!(e.evidence().iter().any(|ev| ev.kind == EvidenceKind::ResourceProperty && ev.fact.is_some()));
        assert_eq!(e.alternatives.len(), 1, "{:?}", e.alternatives);
        let alt = &e.alternatives[0];
        assert!(alt.iter().any(|ev| ev.kind == EvidenceKind::RoleAssignment && ev.value == contributor));
        assert!(!alt.iter().any(|ev| ev.kind == EvidenceKind::ResourceProperty), "{alt:?}");
        assert!(edge(&d, &op, &on, ListKeys).unwrap().alternatives.is_empty());
        assert!(!has(&d, &ci, &on, ReEnableKeys), "the graph itself is unchanged");
    }

    #[test]
    fn ai_accounts_honour_disable_local_auth() {
        let mut t = T::new();
        let rg = t.rg("rg");
        let open = t.resource(
            &rg,
            "Microsoft.CognitiveServices/accounts",
            "open",
            json!({"kind": "OpenAI", "properties": {"disableLocalAuth": false}}),
        );
        let closed = t.resource(
            &rg,
            "Microsoft.CognitiveServices/accounts",
            "closed",
            json!({"kind": "OpenAI", "properties": {"disableLocalAuth": true}}),
        );
        let keys_only = t.custom_role("AI Key Reader", &["Microsoft.CognitiveServices/accounts/listKeys/action"], &[]);
        let (a, b) = (t.sp("a"), t.sp("b"));
        t.assign(&a, &keys_only, &open);
        t.assign(&b, &keys_only, &closed);
        let c = t.sp("c");
        t.assign(&c, "Cognitive Services Contributor", &closed);
        let d = t.derive();
        assert!(has(&d, &a, &open, ListKeys));
        assert!(out(&d, &b).is_empty(), "listKeys alone on a local-auth-disabled account is no path");
        assert!(has(&d, &c, &closed, ReEnableKeys));
    }

    #[test]
    fn an_eligible_owner_lists_keys_after_activation_only() {
        let mut t = T::new();
        let rg = t.rg("rg");
        let sa = storage(&mut t, &rg, "sa", None);
        let (now, expired) = (t.user("dave"), t.user("erin"));
        t.eligible(&now, "Owner", &rg, "2026-06-01T00:00:00Z", "2027-06-01T00:00:00Z");
        t.eligible(&expired, "Owner", &rg, "2025-06-01T00:00:00Z", "2026-03-01T00:00:00Z");
        let d = t.derive();
        let e = edge(&d, &now, &sa, ListKeys).unwrap();
        assert!(e.requires_activation && e.reason(&d).contains("PIM"));
        assert!(out(&d, &expired).is_empty());
    }

    #[test]
    fn a_read_only_lock_stops_listing_keys_unless_the_principal_can_delete_it() {
        use crate::model::{EvidenceKind, LOCK_REMOVAL_COST};
        let mut t = T::new();
        let rg = t.rg("rg");
        let sa = storage(&mut t, &rg, "sa", Some(true));
        let lock = t.lock(&sa, "freeze", "ReadOnly");
        let (c, o) = (t.sp("contributor"), t.sp("owner"));
        t.assign(&c, "Contributor", &rg);
        t.assign(&o, "Owner", &rg);
        let d = t.derive();
        assert!(!has(&d, &c, &sa, ListKeys), "listKeys is a POST, which a ReadOnly lock blocks");
        let e = edge(&d, &o, &sa, ListKeys).expect("Owner can delete the lock, then list keys");
        assert_eq!(e.cost, ListKeys.base_cost() + LOCK_REMOVAL_COST);
        assert!(e.reason(&d).contains("ReadOnly lock freeze"), "{}", e.reason(&d));
        let evidence = e.evidence();
        let named = evidence.iter().find(|ev| ev.kind == EvidenceKind::ReadOnlyLock).unwrap();
        assert!(named.value.contains(&crate::facts::ids::norm(&lock)), "{named:?}");
        assert!(e.evidence().iter().any(|ev| ev.kind == EvidenceKind::LockDeletableThrough
            && ev.value.contains("Microsoft.Authorization/locks/delete")));
    }

    #[test]
    fn a_lock_above_the_account_applies_and_cannot_delete_or_elsewhere_changes_nothing() {
        let mut t = T::new();
        let (rg, other) = (t.rg("rg"), t.rg("other"));
        let sa = storage(&mut t, &rg, "sa", Some(true));
        let sb = storage(&mut t, &other, "sb", Some(true));
        let oai = t.resource(
            &other,
            "Microsoft.CognitiveServices/accounts",
            "oai",
            json!({"kind": "OpenAI", "properties": {"disableLocalAuth": false}}),
        );
        t.lock(SUB, "sub-nodelete", "CanNotDelete");
        t.lock(&rg, "rg-freeze", "ReadOnly");
        let c = t.sp("c");
        t.assign(&c, "Contributor", SUB);
        let d = t.derive();
        assert!(!has(&d, &c, &sa, ListKeys), "the resource group's lock covers its accounts");
        let e = edge(&d, &c, &sb, ListKeys).expect("no ReadOnly lock over sb; CanNotDelete blocks only deletes");
        assert_eq!(e.cost, ListKeys.base_cost());
        assert!(has(&d, &c, &oai, ListKeys));
    }

    #[test]
    fn a_read_only_lock_stops_re_enabling_keys_unless_the_principal_can_delete_it() {
        let mut t = T::new();
        let rg = t.rg("rg");
        let off = storage(&mut t, &rg, "off", Some(false));
        let aks = t.resource(
            &rg,
            "Microsoft.ContainerService/managedClusters",
            "aks",
            json!({"properties": {"disableLocalAccounts": true}}),
        );
        t.lock(&rg, "freeze", "ReadOnly");
        let (c, o) = (t.sp("c"), t.user("o"));
        t.assign(&c, "Contributor", &rg);
        t.assign(&o, "Owner", &rg);
        let d = t.derive();
        assert!(!has(&d, &c, &off, ReEnableKeys) && !has(&d, &c, &aks, ReEnableKeys));
        let e = edge(&d, &o, &off, ReEnableKeys).unwrap();
        assert_eq!(e.cost, ReEnableKeys.base_cost() + crate::model::LOCK_REMOVAL_COST);
        assert!(has(&d, &o, &aks, ReEnableKeys));
    }

    #[test]
    fn an_account_or_service_sas_is_as_good_as_the_keys_while_shared_key_access_is_on() {
        let mut t = T::new();
        let rg = t.rg("rg");
        let (on, unset) = (storage(&mut t, &rg, "on", Some(true)), storage(&mut t, &rg, "unset", None));
        let account_sas =
            t.custom_role("SAS issuer", &["Microsoft.Storage/storageAccounts/listAccountSas/action"], &[]);
        let (a, s, both) = (t.sp("a"), t.sp("share"), t.sp("both"));
        t.assign(&a, &account_sas, &rg);
        t.assign(&s, "Storage DataShare Contributor", &on);
        t.assign(&both, "Reader and Data Access", &on);
        let d = t.derive();
        for target in [&on, &unset] {
            let e = edge(&d, &a, target, ListKeys).expect("account SAS");
            assert_eq!(&*e.rule, "rbac-list-sas");
            assert!(
                e.evidence()
                    .iter()
                    .any(|ev| ev.kind == EvidenceKind::MatchedAction && ev.value.contains("listAccountSas"))
            );
            assert!(e.evidence().iter().any(|ev| ev.kind == EvidenceKind::ResourceProperty));
        }
        let e = edge(&d, &s, &on, ListKeys).expect("service SAS");
        assert!(e.evidence().iter().any(|ev| ev.value.contains("listServiceSas")), "{:?}", e.evidence());
        // Reader and Data Access lists keys and SAS: one hop, the plain key listing.
        assert_eq!(&*edge(&d, &both, &on, ListKeys).unwrap().rule, "rbac-list-keys");
    }

    #[test]
    fn a_sas_of_a_shared_key_disabled_account_is_nothing_unless_the_grant_can_turn_keys_back_on() {
        let mut t = T::new();
        let rg = t.rg("rg");
        let off = storage(&mut t, &rg, "off", Some(false));
        let sas_only = t.custom_role(
            "SAS issuer",
            &[
                "Microsoft.Storage/storageAccounts/listAccountSas/action",
                "Microsoft.Storage/storageAccounts/listServiceSas/action",
            ],
            &[],
        );
        let sas_and_write = t.custom_role(
            "SAS writer",
            &["Microsoft.Storage/storageAccounts/listServiceSas/action", "Microsoft.Storage/storageAccounts/write"],
            &[],
        );
        let (p, q, r) = (t.sp("p"), t.sp("q"), t.sp("r"));
        t.assign(&p, &sas_only, &off);
        t.assign(&q, "Storage DataShare Contributor", &off);
        t.assign(&r, &sas_and_write, &off);
        let d = t.derive();
        assert!(out(&d, &p).is_empty(), "{:?}", out(&d, &p));
        assert!(!has(&d, &q, &off, ListKeys), "the service SAS is refused; only the role's blob read is left");
        let e = edge(&d, &r, &off, ReEnableKeys).expect("turn shared keys back on, then ask for a SAS");
        assert!(
            e.evidence().iter().any(|ev| ev.kind == EvidenceKind::ThenAction && ev.value.contains("listServiceSas"))
        );
        assert!(!has(&d, &r, &off, ListKeys));
    }

    #[test]
    fn reader_asks_for_no_sas() {
        let mut t = T::new();
        let rg = t.rg("rg");
        storage(&mut t, &rg, "on", Some(true));
        let p = t.sp("p");
        t.assign(&p, "Reader", &rg);
        assert!(out(&t.derive(), &p).is_empty());
    }

    #[test]
    fn cosmos_db_accounts_honour_disable_local_auth() {
        let mut t = T::new();
        let rg = t.rg("rg");
        let cosmos = |t: &mut T, name: &str, off: Option<bool>| {
            let props = match off {
                Some(v) => json!({"kind": "GlobalDocumentDB", "properties": {"disableLocalAuth": v}}),
                None => json!({"kind": "GlobalDocumentDB", "properties": {}}),
            };
            t.resource(&rg, "Microsoft.DocumentDB/databaseAccounts", name, props)
        };
        let (open, unset, closed) =
            (cosmos(&mut t, "open", Some(false)), cosmos(&mut t, "unset", None), cosmos(&mut t, "closed", Some(true)));
        let keys_only =
            t.custom_role("Cosmos key reader", &["Microsoft.DocumentDB/databaseAccounts/listKeys/action"], &[]);
        let (k, c, op, rd) = (t.sp("k"), t.sp("c"), t.sp("op"), t.sp("rd"));
        t.assign(&k, &keys_only, &rg);
        t.assign(&c, "DocumentDB Account Contributor", &rg);
        t.assign(&op, "Cosmos DB Operator", &rg);
        t.assign(&rd, "Cosmos DB Account Reader Role", &rg);
        let d = t.derive();
        assert!(has(&d, &k, &open, ListKeys) && has(&d, &k, &unset, ListKeys));
        assert!(edge(&d, &k, &unset, ListKeys).unwrap().reason(&d).contains("Azure default"));
        assert!(
            !has(&d, &k, &closed, ListKeys) && !has(&d, &k, &closed, ReEnableKeys),
            "listKeys alone on a key-disabled account"
        );
        assert!(has(&d, &c, &open, ListKeys), "DocumentDB Account Contributor lists keys");
        assert!(has(&d, &c, &closed, ReEnableKeys), "and can set disableLocalAuth back to false");
        assert!(
            out(&d, &op).iter().all(|e| e.kind != ListKeys && e.kind != ReEnableKeys),
            "Cosmos DB Operator cannot list keys: {:?}",
            out(&d, &op)
        );
        assert!(out(&d, &rd).iter().all(|e| e.kind != ListKeys), "read-only keys are not listKeys");
    }

    #[test]
    fn cosmos_db_read_only_keys_read_and_connection_strings_are_keys() {
        use crate::model::EdgeKind::{ReadData, WriteData};
        let mut t = T::new();
        let rg = t.rg("rg");
        let cosmos = |t: &mut T, name: &str, off: bool| {
            let props = json!({"kind": "GlobalDocumentDB", "properties": {"disableLocalAuth": off}});
            t.resource(&rg, "Microsoft.DocumentDB/databaseAccounts", name, props)
        };
        let (open, closed) = (cosmos(&mut t, "open", false), cosmos(&mut t, "closed", true));
        let strings = t.custom_role(
            "Cosmos connection strings",
            &["Microsoft.DocumentDB/databaseAccounts/listConnectionStrings/action"],
            &[],
        );
        let (rd, op, reader, cs) = (t.sp("rd"), t.sp("op"), t.sp("reader"), t.sp("cs"));
        t.assign(&rd, "Cosmos DB Account Reader Role", &rg);
        t.assign(&op, "Cosmos DB Operator", &rg);
        t.assign(&reader, "Reader", &rg);
        t.assign(&cs, &strings, &rg);
        let d = t.derive();
        let e = edge(&d, &rd, &open, ReadData).expect("Cosmos DB Account Reader reads with the read-only keys");
        assert_eq!(&*e.rule, "cosmos-read-only-keys");
        assert!(
            e.evidence().iter().any(|ev| ev.kind == EvidenceKind::MatchedAction && ev.value.contains("readonlykeys"))
        );
        assert!(!has(&d, &rd, &open, WriteData) && !has(&d, &rd, &open, ListKeys), "read-only keys write nothing");
        assert!(!has(&d, &rd, &closed, ReadData), "disableLocalAuth refuses every key");
        assert!(out(&d, &op).is_empty(), "Cosmos DB Operator's notActions remove readonlyKeys: {:?}", out(&d, &op));
        assert!(out(&d, &reader).is_empty());
        let e = edge(&d, &cs, &open, ListKeys).expect("connection strings carry the keys");
        assert!(e.reason(&d).contains("carries the read-write keys"), "{}", e.reason(&d));
        assert!(!has(&d, &cs, &closed, ListKeys));
    }

    #[test]
    fn a_read_only_lock_blocks_cosmos_read_only_keys() {
        use crate::model::EdgeKind::ReadData;
        let mut t = T::new();
        let rg = t.rg("rg");
        let acc = t.resource(
            &rg,
            "Microsoft.DocumentDB/databaseAccounts",
            "locked",
            json!({"kind": "GlobalDocumentDB", "properties": {"disableLocalAuth": false}}),
        );
        t.lock(&acc, "freeze", "ReadOnly");
        let rd = t.sp("rd");
        t.assign(&rd, "Cosmos DB Account Reader Role", &rg);
        assert!(!has(&t.derive(), &rd, &acc, ReadData), "readonlykeys is a POST, which the lock refuses");
    }

    #[test]
    fn write_alone_is_not_enough() {
        let mut t = T::new();
        let rg = t.rg("rg");
        let off = storage(&mut t, &rg, "off", Some(false));
        let w = t.custom_role("Storage writer", &["Microsoft.Storage/storageAccounts/write"], &[]);
        let p = t.sp("p");
        t.assign(&p, &w, &off);
        let d = t.derive();
        assert!(out(&d, &p).is_empty());
    }
}
