//! The fact index: every security-relevant fact of a snapshot as a record with a stable key, so
//! two snapshots' facts can be matched, and an edge's evidence can name the fact it came from.
//!
//! Keys are `category|ids` (lower case), built by one function per fact type ([`RoleAssignment::fact_key`]
//! and its siblings): the records written here and the evidence the rules attach use the same
//! functions, so a diff traces a changed fact to the edges it made by key equality.

use super::{
    AdministrativeUnit, AdministrativeUnitMember, AppRoleAssignment, CosmosRoleAssignment, CosmosRoleDefinition,
    DenyAssignment, DirectoryRoleAssignment, Facts, FederatedCredential, GroupEligibility, Lock, Membership, Ownership,
    Resource, ResourceDetails, RoleAssignment,
};
use crate::model::{EvidenceKind, FastMap, NodeKind};
use serde::Serialize;
use std::collections::HashMap;

/// One security-relevant fact, keyed by stable Azure ids so two snapshots can be matched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FactRecord {
    pub category: &'static str,
    /// Stable key: category plus normalised Azure ids (see [`fact_key`]).
    pub key: String,
    /// In words: "Owner on rg-ml for grp-ds (assignment /subscriptions/...)".
    pub text: String,
    /// What must be equal for the fact to be unchanged.
    pub detail: String,
}

/// The version of [`fact_records`]' keys, texts and details. Stored fact indexes of another version
/// are not compared (the facts are re-read from the raw facts instead), so a change to the records
/// never shows up as a change to the tenant. Bump it whenever `fact_records` changes its output.
pub const FACT_INDEX_VERSION: i64 = 3;

/// Every fact category [`fact_records`] writes, so that stored records map back to them.
pub const FACT_CATEGORIES: &[&str] = &[
    "role assignment",
    "role eligibility",
    "directory role",
    "directory role eligibility",
    "membership",
    "group eligibility",
    "ownership",
    "app role assignment",
    "federated credential",
    "deny assignment",
    "lock",
    "resource",
    "user",
    "group",
    "service principal",
    "application",
    "administrative unit",
    "administrative unit member",
    "cosmos role assignment",
    "cosmos role definition",
];

/// The key of a fact: its category and the ids that identify it, lower case.
pub fn fact_key(category: &str, ids: &[&str]) -> String {
    crate::model::fact_key_text(category, ids)
}

impl RoleAssignment {
    pub fn fact_key(&self) -> String {
        fact_key(if self.eligible { "role eligibility" } else { "role assignment" }, &[&self.id])
    }
}

impl DirectoryRoleAssignment {
    pub fn fact_key(&self) -> String {
        fact_key(if self.eligible { "directory role eligibility" } else { "directory role" }, &[&self.id])
    }
}

impl Membership {
    pub fn fact_key(&self) -> String {
        fact_key("membership", &[&self.group_id, &self.member_id])
    }
}

impl AdministrativeUnit {
    pub fn fact_key(&self) -> String {
        fact_key("administrative unit", &[&self.id])
    }
}

impl AdministrativeUnitMember {
    pub fn fact_key(&self) -> String {
        fact_key("administrative unit member", &[&self.unit_id, &self.member_id])
    }
}

/// The key of the fact that a group exists, with its kind and dynamic membership rule.
pub fn group_fact_key(id: &str) -> String {
    fact_key("group", &[id])
}

impl GroupEligibility {
    pub fn fact_key(&self) -> String {
        fact_key("group eligibility", &[&self.id])
    }
}

impl Ownership {
    pub fn fact_key(&self) -> String {
        fact_key("ownership", &[&self.owned_id, &self.owner_id])
    }
}

impl AppRoleAssignment {
    pub fn fact_key(&self) -> String {
        fact_key("app role assignment", &[&self.principal_id, &self.app_role_id, &self.resource_id])
    }
}

impl FederatedCredential {
    pub fn fact_key(&self) -> String {
        fact_key(
            "federated credential",
            &[super::ids::federated_parent_node(&self.parent), &self.issuer, &self.subject],
        )
    }
}

impl CosmosRoleAssignment {
    pub fn fact_key(&self) -> String {
        fact_key("cosmos role assignment", &[&self.id])
    }
}

impl CosmosRoleDefinition {
    pub fn fact_key(&self) -> String {
        fact_key("cosmos role definition", &[&self.id])
    }
}

impl DenyAssignment {
    pub fn fact_key(&self) -> String {
        fact_key("deny assignment", &[&self.id])
    }
}

impl Lock {
    pub fn fact_key(&self) -> String {
        fact_key("lock", &[&self.id])
    }
}

impl Resource {
    pub fn fact_key(&self) -> String {
        resource_fact_key(&self.id)
    }
}

/// The fact key that evidence of `kind` with `value` names by its kind alone: for the facts whose
/// evidence value is their own id (an assignment, an eligibility schedule).
pub fn implied_fact_key(kind: EvidenceKind, value: &str) -> Option<String> {
    let category = match kind {
        EvidenceKind::RoleAssignment => "role assignment",
        EvidenceKind::RoleEligibility => "role eligibility",
        EvidenceKind::DirectoryRoleAssignment => "directory role",
        EvidenceKind::DirectoryRoleEligibility => "directory role eligibility",
        EvidenceKind::GroupEligibility => "group eligibility",
        _ => return None,
    };
    Some(fact_key(category, &[value]))
}

/// The key of the resource fact for an ARM resource id (its settings and identities).
pub fn resource_fact_key(id: &str) -> String {
    fact_key("resource", &[id])
}

/// The key of the fact that a node exists, for the kinds of node the index records: principals
/// and resources (not scopes, roles or synthetic nodes).
pub fn node_fact_key(kind: NodeKind, id: &str) -> Option<String> {
    use NodeKind::*;
    let category = match kind {
        User => "user",
        Group => "group",
        ServicePrincipal => "service principal",
        Application => "application",
        ExternalIdentity | DirectoryRole | AppRole | Tenant | ManagementGroup | Subscription | ResourceGroup => {
            return None;
        }
        _ => "resource",
    };
    Some(fact_key(category, &[id]))
}

/// Display names of a tenant's objects, by normalised id, and of its roles, by definition id: the
/// one place names are looked up, so the graph's nodes and the fact texts agree.
pub struct Names<'f> {
    objects: FastMap<&'f str, &'f str>,
    custom_roles: FastMap<&'f str, &'f str>,
}

impl<'f> Names<'f> {
    pub fn new(f: &'f Facts) -> Self {
        let mut objects: FastMap<&str, &str> = FastMap::default();
        objects.reserve(f.users.len() + f.groups.len() + f.service_principals.len() + f.resources.len());
        objects.extend(f.users.iter().map(|u| (u.id.as_str(), u.display_name.as_str())));
        objects.extend(f.groups.iter().map(|g| (g.id.as_str(), g.display_name.as_str())));
        objects.extend(f.service_principals.iter().map(|s| (s.id.as_str(), s.display_name.as_str())));
        objects.extend(f.applications.iter().map(|a| (a.id.as_str(), a.display_name.as_str())));
        objects.extend(f.resources.iter().map(|r| (r.id.as_str(), r.name.as_str())));
        objects.extend(f.resource_groups.iter().map(|r| (r.id.as_str(), r.name.as_str())));
        objects.extend(f.administrative_units.iter().map(|u| (u.id.as_str(), u.display_name.as_str())));
        objects.extend(f.subscriptions.iter().map(|s| (s.id.as_str(), s.display_name.as_str())));
        // An empty display name names nothing: the id stands in for it.
        objects.retain(|_, name| !name.is_empty());
        let custom_roles = f.role_definitions.iter().map(|r| (r.id.as_str(), r.role_name.as_str())).collect();
        Names { objects, custom_roles }
    }

    /// The display name of a principal, subscription, resource group or resource, or its id.
    pub fn object<'a>(&'a self, id: &'a str) -> &'a str {
        self.objects.get(id).copied().unwrap_or(id)
    }

    /// The name of an Azure role definition (custom, then built-in), or its id.
    pub fn azure_role<'a>(&'a self, guid: &'a str) -> &'a str {
        match self.custom_roles.get(guid) {
            Some(name) => name,
            None => crate::rbac::builtin_roles().get(guid).map(|r| r.role_name.as_str()).unwrap_or(guid),
        }
    }

    /// The name of a built-in Entra directory role, or its template id.
    pub fn directory_role(guid: &str) -> &str {
        crate::rbac::builtin_directory_roles().get(guid).map(|r| r.display_name.as_str()).unwrap_or(guid)
    }

    /// The name of a Microsoft Graph application permission ("RoleManagement.ReadWrite.Directory"), or its id.
    pub fn graph_permission(guid: &str) -> &str {
        crate::rbac::graph_app_roles().get(guid).map(String::as_str).unwrap_or(guid)
    }
}

/// Every security-relevant fact of a snapshot, by key.
pub fn fact_records(f: &Facts) -> HashMap<String, FactRecord> {
    fact_list(f).into_iter().map(|r| (r.key.clone(), r)).collect()
}

/// Every security-relevant fact of a snapshot, once per key (the last made, as [`fact_records`]
/// keeps), ordered by key hash: what a snapshot stores. A list, not a map, because an import holds
/// the records of ten million facts at once, and a map would hold each key twice in a table up to
/// twice their number.
pub fn fact_list(f: &Facts) -> Vec<FactRecord> {
    // About one record per fact: reserved once, rather than the list of ten million records
    // copied each time it doubles.
    let facts = f.role_assignments.len()
        + f.directory_role_assignments.len()
        + f.memberships.len()
        + f.group_eligibilities.len()
        + f.ownerships.len()
        + f.app_role_assignments.len()
        + f.federated_credentials.len()
        + f.administrative_units.len()
        + f.administrative_unit_members.len()
        + f.cosmos_role_assignments.len()
        + f.cosmos_role_definitions.len()
        + f.deny_assignments.len()
        + f.locks.len()
        + f.resources.len()
        + f.groups.len()
        + f.users.len()
        + f.service_principals.len()
        + f.applications.len();
    let mut out = Vec::with_capacity(facts);
    add_records(f, |key: String, text: String, detail: String| {
        out.push(FactRecord { category: category_of(&key), key, text, detail });
    });
    last_per_key(out)
}

/// The fact records of a snapshot as [`fact_list`] gives them (by key hash, once per key, the last
/// made of a key kept), each packed as [`put_record`] writes it, end to end in one buffer: the
/// fact index is made from this beside the rules' context, and three strings per fact (ten
/// million facts at the scale the import targets) cost half as much again as their bytes.
pub struct PackedRecords {
    bytes: Vec<u8>,
    /// Each record's key hash and where it starts in `bytes`, in order.
    records: Vec<(u128, usize)>,
}

impl PackedRecords {
    /// The records of `f`, in [`fact_list`]'s order.
    pub fn of(f: &Facts) -> PackedRecords {
        let mut bytes = Vec::new();
        let mut records = Vec::new();
        add_records(f, |key: String, text: String, detail: String| {
            records.push((fact_key_hash(&key), bytes.len()));
            put_record(&mut bytes, category_of(&key), &key, &text, &detail);
        });
        // Stable: of the records with one key, the last made is last.
        records.sort_by_key(|&(hash, _)| hash);
        let kept = keep_last_per_key(
            records,
            |&(hash, _)| hash,
            |&(_, a), &(_, b)| record_field(&bytes[a..], 1) == record_field(&bytes[b..], 1),
        );
        PackedRecords { bytes, records: kept }
    }

    /// `records` (in [`fact_list`]'s order already), packed.
    pub fn from_records(records: &[FactRecord]) -> PackedRecords {
        let mut bytes = Vec::new();
        let mut kept = Vec::with_capacity(records.len());
        for r in records {
            kept.push((fact_key_hash(&r.key), bytes.len()));
            put_record(&mut bytes, r.category, &r.key, &r.text, &r.detail);
        }
        PackedRecords { bytes, records: kept }
    }

    pub fn len(&self) -> usize {
        self.records.len()
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// The key hash of record `i`.
    pub fn hash(&self, i: usize) -> u128 {
        self.records[i].0
    }

    /// Record `i` as packed.
    pub fn packed(&self, i: usize) -> &[u8] {
        let start = self.records[i].1;
        let mut end = start;
        for _ in 0..4 {
            end += 4 + field_len(&self.bytes[end..]);
        }
        &self.bytes[start..end]
    }

    /// The digest of the records, as [`fact_digest`] makes it of the same records.
    pub fn digest(&self) -> FactDigest {
        digest_of(self.records.iter().map(|&(hash, start)| (hash, record_field(&self.bytes[start..], 3))))
    }
}

/// A record as the fact index stores it (schema v6): category, key, text and detail, each a
/// little-endian u32 length and UTF-8 (the category by name, as JSON rows had it, so reordering
/// the categories never changes what a chunk means). JSON rows, before, cost a quarter of an
/// import's indexing in string escapes.
pub fn put_record(out: &mut Vec<u8>, category: &str, key: &str, text: &str, detail: &str) {
    for field in [category, key, text, detail] {
        out.extend_from_slice(&(field.len() as u32).to_le_bytes());
        out.extend_from_slice(field.as_bytes());
    }
}

/// The length of the packed field at the start of `at`.
fn field_len(at: &[u8]) -> usize {
    u32::from_le_bytes(at[..4].try_into().expect("four bytes")) as usize
}

/// Field `n` (0: category, 1: key, 2: text, 3: detail) of the packed record at the start of `at`.
fn record_field(mut at: &[u8], n: usize) -> &[u8] {
    for _ in 0..n {
        at = &at[4 + field_len(at)..];
    }
    &at[4..4 + field_len(at)]
}

/// The category a fact key names (its prefix).
fn category_of(key: &str) -> &'static str {
    let prefix = key.split('|').next();
    FACT_CATEGORIES.iter().copied().find(|c| prefix == Some(*c)).expect("fact keys start with a known category")
}

/// The records by key hash, once per key: of records with one key, the last given.
fn last_per_key(mut out: Vec<FactRecord>) -> Vec<FactRecord> {
    // Stable: of the records with one key, the last made is last.
    out.sort_by_cached_key(|r| fact_key_hash(&r.key));
    keep_last_per_key(out, |r| fact_key_hash(&r.key), |a, b| a.key == b.key)
}

/// `sorted` (stably, by `hash`) once per key: an item whose key came before replaces the earlier
/// one in its place (items with one hash are next to each other; `same_key` tells keys apart).
fn keep_last_per_key<T>(sorted: Vec<T>, hash: impl Fn(&T) -> u128, same_key: impl Fn(&T, &T) -> bool) -> Vec<T> {
    let mut hashes = sorted.iter().map(&hash);
    let mut previous = hashes.next();
    if hashes.all(|h| previous.replace(h) != Some(h)) {
        return sorted;
    }
    let mut kept: Vec<T> = Vec::with_capacity(sorted.len());
    for item in sorted {
        let h = hash(&item);
        let run = kept.len() - kept.iter().rev().take_while(|k| hash(k) == h).count();
        match kept[run..].iter().position(|k| same_key(k, &item)) {
            Some(i) => kept[run + i] = item,
            None => kept.push(item),
        }
    }
    kept
}

/// A digest from each fact's (key hash, detail), sorted.
fn digest_of<'d>(facts: impl Iterator<Item = (u128, &'d [u8])>) -> FactDigest {
    let mut d: FactDigest = facts.map(|(hash, detail)| (hash, xxhash_rust::xxh3::xxh3_64(detail))).collect();
    d.sort_unstable();
    d
}

fn add_records(f: &Facts, mut add: impl FnMut(String, String, String)) {
    let names = Names::new(f);
    for a in &f.role_assignments {
        let (category, what) =
            if a.eligible { ("role eligibility", "eligible for") } else { ("role assignment", "holds") };
        let cond = a.condition.as_deref().map(|c| format!(" with condition {c}")).unwrap_or_default();
        add(
            a.fact_key(),
            format!(
                "{} {what} {} on {}{cond} ({} {})",
                names.object(&a.principal_id),
                names.azure_role(&a.role_definition_id),
                names.object(&a.scope),
                category,
                a.id
            ),
            format!("{}|{}|{}|{:?}", a.principal_id, a.role_definition_id, a.scope, a.condition),
        );
    }
    for a in &f.directory_role_assignments {
        let role = Names::directory_role(&a.role_definition_id);
        let (category, what) =
            if a.eligible { ("directory role eligibility", "eligible for") } else { ("directory role", "holds") };
        add(
            a.fact_key(),
            format!(
                "{} {what} {role} at {} ({category} {})",
                names.object(&a.principal_id),
                a.directory_scope_id,
                a.id
            ),
            format!("{}|{}|{}", a.principal_id, a.role_definition_id, a.directory_scope_id),
        );
    }
    for m in &f.memberships {
        add(
            m.fact_key(),
            format!("{} is a member of {}", names.object(&m.member_id), names.object(&m.group_id)),
            String::new(),
        );
    }
    for e in &f.group_eligibilities {
        add(
            e.fact_key(),
            format!(
                "{} is eligible ({:?}) for group {}",
                names.object(&e.principal_id),
                e.access,
                names.object(&e.group_id)
            ),
            format!("{}|{}|{:?}", e.principal_id, e.group_id, e.access),
        );
    }
    for o in &f.ownerships {
        add(o.fact_key(), format!("{} owns {}", names.object(&o.owner_id), names.object(&o.owned_id)), String::new());
    }
    for a in &f.app_role_assignments {
        add(
            a.fact_key(),
            format!(
                "{} was granted {} on {}",
                names.object(&a.principal_id),
                Names::graph_permission(&a.app_role_id),
                a.resource_display_name.as_deref().unwrap_or(&a.resource_id)
            ),
            String::new(),
        );
    }
    for c in &f.federated_credentials {
        let parent = super::ids::federated_parent_node(&c.parent);
        add(c.fact_key(), format!("{} trusts {} subject {}", names.object(parent), c.issuer, c.subject), String::new());
    }
    for u in &f.administrative_units {
        let mut kind = Vec::new();
        if u.restricted {
            kind.push("restricted management".to_string());
        }
        if u.dynamic {
            kind.push(format!("dynamic: {}", u.membership_rule.as_deref().unwrap_or("(no rule)")));
        }
        let kind = if kind.is_empty() { String::new() } else { format!(" ({})", kind.join(", ")) };
        add(
            u.fact_key(),
            format!("administrative unit {}{kind}", names.object(&u.id)),
            format!(
                "restricted={}|dynamic={}|{:?}|paused={}",
                u.restricted, u.dynamic, u.membership_rule, u.rule_paused
            ),
        );
    }
    for m in &f.administrative_unit_members {
        add(
            m.fact_key(),
            format!("{} is a member of administrative unit {}", names.object(&m.member_id), names.object(&m.unit_id)),
            String::new(),
        );
    }
    for a in &f.cosmos_role_assignments {
        add(
            a.fact_key(),
            format!(
                "{} holds Cosmos DB SQL role {} on {} ({})",
                names.object(&a.principal_id),
                super::ids::last_segment(&a.role_definition_id),
                a.scope,
                names.object(&a.account_id)
            ),
            format!("{}|{}|{}", a.principal_id, a.role_definition_id, a.scope),
        );
    }
    for d in &f.cosmos_role_definitions {
        let mut actions: Vec<String> = d.data_actions.iter().map(|a| a.as_str().to_ascii_lowercase()).collect();
        actions.sort();
        add(
            d.fact_key(),
            format!("Cosmos DB SQL role definition {} on {}", d.role_name, names.object(&d.account_id)),
            actions.join(","),
        );
    }
    for d in &f.deny_assignments {
        add(d.fact_key(), format!("deny assignment {} at {}", d.name, d.scope), format!("{:?}", d.permissions));
    }
    for l in &f.locks {
        add(
            l.fact_key(),
            format!("{:?} lock {} on {}", l.level, l.name, names.object(&l.scope)),
            format!("{:?}", l.level),
        );
    }
    for r in &f.resources {
        let settings = match &r.details {
            ResourceDetails::StorageAccount { allow_shared_key_access } => {
                format!("allowSharedKeyAccess={}", allow_shared_key_access.unwrap_or(true))
            }
            ResourceDetails::CognitiveServices { disable_local_auth, .. }
            | ResourceDetails::CosmosDb { disable_local_auth } => {
                format!("disableLocalAuth={}", disable_local_auth.unwrap_or(false))
            }
            ResourceDetails::Aks { disable_local_accounts, azure_rbac, .. } => {
                format!(
                    "disableLocalAccounts={} enableAzureRBAC={}",
                    disable_local_accounts.unwrap_or(false),
                    azure_rbac.unwrap_or(false)
                )
            }
            ResourceDetails::ContainerRegistry { admin_user_enabled, abac_repository_permissions } => format!(
                "adminUserEnabled={} abacRepositoryPermissions={abac_repository_permissions}",
                admin_user_enabled.unwrap_or(false)
            ),
            ResourceDetails::AppService { scm_basic_auth, ftp_basic_auth, deployment_storage } => {
                let policy = |p: &Option<bool>| p.map_or("not collected".to_string(), |b| b.to_string());
                let mut s = format!("scmBasicAuth={} ftpBasicAuth={}", policy(scm_basic_auth), policy(ftp_basic_auth));
                if let Some(d) = deployment_storage {
                    s.push_str(&format!(
                        " deploymentStorage={} authentication={}",
                        d.url,
                        d.authentication.as_deref().unwrap_or("")
                    ));
                }
                s
            }
            ResourceDetails::KeyVault { enable_rbac_authorization, access_policies } => {
                let mut p: Vec<String> = access_policies
                    .iter()
                    .map(|a| format!("{}:{}", a.object_id, a.secrets.join("/").to_ascii_lowercase()))
                    .collect();
                p.sort();
                format!(
                    "enableRbacAuthorization={} accessPolicies=[{}]",
                    enable_rbac_authorization.unwrap_or(false),
                    p.join(",")
                )
            }
            ResourceDetails::MlConnection { auth_type, target, client_id } => format!(
                "authType={} target={} clientId={}",
                auth_type.as_deref().unwrap_or(""),
                target.as_deref().unwrap_or(""),
                client_id.as_deref().unwrap_or("")
            ),
            _ => String::new(),
        };
        let mut identity: Vec<String> = r.identity.system_principal_id.iter().cloned().collect();
        identity.extend(r.identity.user_assigned.iter().map(|(u, _)| u.clone()));
        let detail = format!("{settings} identity=[{}]", identity.join(","));
        add(r.fact_key(), format!("{} {}", r.resource_type, r.name), detail);
    }
    for g in f.groups.iter() {
        let detail = match (&g.membership_rule, g.dynamic) {
            (Some(rule), true) => format!("dynamic: {rule}{}", if g.rule_paused { " (paused)" } else { "" }),
            _ => String::new(),
        };
        add(group_fact_key(&g.id), format!("group {}", names.object(&g.id)), detail);
    }
    for (kind, ids) in [
        (NodeKind::User, f.users.iter().map(|u| u.id.as_str()).collect::<Vec<_>>()),
        (NodeKind::ServicePrincipal, f.service_principals.iter().map(|s| s.id.as_str()).collect()),
        (NodeKind::Application, f.applications.iter().map(|a| a.id.as_str()).collect()),
    ] {
        for id in ids {
            let key = node_fact_key(kind, id).expect("principals are recorded");
            let category = key.split('|').next().unwrap_or_default().to_string();
            add(key, format!("{category} {}", names.object(id)), String::new());
        }
    }
}

/// A snapshot's facts in brief: (hash of key, hash of detail) per fact, sorted by key hash. Two
/// digests compare in one merge; only the facts that differ are then read in full. Key hashes are
/// 128-bit xxh3 (stable across versions and platforms), so a collision is not a practical concern.
pub type FactDigest = Vec<(u128, u64)>;

/// The hash a fact is stored and referred to by ([`FactRef`](crate::model::FactRef)).
pub fn fact_key_hash(key: &str) -> u128 {
    crate::model::FactRef::of(key).0
}

/// The digest of a set of fact records.
pub fn fact_digest<'r>(records: impl IntoIterator<Item = &'r FactRecord>) -> FactDigest {
    digest_of(records.into_iter().map(|r| (fact_key_hash(&r.key), r.detail.as_bytes())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fact_list_holds_each_key_once_by_hash_with_its_last_record() {
        let doc = serde_json::json!({"format": "azpath-facts/1", "tenant": {"id": "T"}, "collectedAt": "2026-11-01T09:00:00Z",
            "graph": {
                "users": [{"id": "u1", "displayName": "Ann"}, {"id": "u2", "displayName": "Bo"}],
                "groups": [{"id": "g1", "displayName": "admins"}, {"id": "g2", "displayName": "ops"}],
                "groupMembers": {"g1": [{"id": "u1", "@odata.type": "#microsoft.graph.user"}, {"id": "u2", "@odata.type": "#microsoft.graph.user"}],
                                 "g2": [{"id": "g1", "@odata.type": "#microsoft.graph.group"}]}
            },
            "arm": {}});
        let raw = crate::facts::RawFacts::from_json(&doc.to_string()).unwrap();
        let f = crate::facts::parse(&raw).unwrap();
        let mut made: Vec<(String, String)> = Vec::new();
        add_records(&f, |key, text, _| made.push((key, text)));
        let last: HashMap<&str, &str> = made.iter().map(|(k, t)| (k.as_str(), t.as_str())).collect();
        let list = fact_list(&f);
        assert_eq!(list.len(), last.len());
        assert!(list.windows(2).all(|w| fact_key_hash(&w[0].key) < fact_key_hash(&w[1].key)));
        assert!(list.iter().all(|r| last[r.key.as_str()] == r.text));
        assert!(made.len() >= 7, "{made:?}");
    }

    /// Packed records of facts where one key is made twice (a group twice, the second dynamic, as
    /// the parser never gives it): the same records, order, hashes and digest as `fact_list`.
    #[test]
    fn packed_records_are_the_fact_list_packed() {
        let doc = serde_json::json!({"format": "azpath-facts/1", "tenant": {"id": "T"}, "collectedAt": "2026-11-01T09:00:00Z",
            "graph": {
                "users": [{"id": "u1", "displayName": "Ann"}, {"id": "u2", "displayName": "Bo"}],
                "groups": [{"id": "g1", "displayName": "admins"}],
                "groupMembers": {"g1": [{"id": "u1", "@odata.type": "#microsoft.graph.user"}, {"id": "u2", "@odata.type": "#microsoft.graph.user"}]}
            },
            "arm": {}});
        let raw = crate::facts::RawFacts::from_json(&doc.to_string()).unwrap();
        let mut f = crate::facts::parse(&raw).unwrap();
        let mut again = f.groups[0].clone();
        (again.dynamic, again.membership_rule) = (true, Some("user.department -eq \"ml\"".into()));
        f.groups.push(again);
        // A megabyte-long record among them.
        let mut big = f.groups[0].clone();
        (big.id, big.dynamic, big.membership_rule) = ("g-big".into(), true, Some("x".repeat(1 << 20)));
        f.groups.push(big);
        let list = fact_list(&f);
        let groups: Vec<&str> = list.iter().filter(|r| r.category == "group").map(|r| r.detail.as_str()).collect();
        assert_eq!(groups.len(), 2);
        assert!(groups.contains(&"dynamic: user.department -eq \"ml\""), "{groups:?}");
        let packed = PackedRecords::of(&f);
        assert_eq!(packed.len(), list.len());
        for (i, r) in list.iter().enumerate() {
            let mut want = Vec::new();
            put_record(&mut want, r.category, &r.key, &r.text, &r.detail);
            assert_eq!((packed.hash(i), packed.packed(i)), (fact_key_hash(&r.key), &want[..]), "record {i}");
        }
        assert_eq!(packed.digest(), fact_digest(&list));
        let from_list = PackedRecords::from_records(&list);
        assert!((0..list.len()).all(|i| from_list.packed(i) == packed.packed(i)));
        assert_eq!(from_list.digest(), packed.digest());
    }

    #[test]
    fn a_key_made_twice_keeps_its_last_record() {
        let r = |key: &str, text: &str| FactRecord {
            category: "membership",
            key: key.into(),
            text: text.into(),
            detail: String::new(),
        };
        let list = last_per_key(vec![r("membership|a", "1"), r("membership|b", "x"), r("membership|a", "2")]);
        let texts: HashMap<&str, &str> = list.iter().map(|r| (r.key.as_str(), r.text.as_str())).collect();
        assert_eq!(list.len(), 2);
        assert_eq!((texts["membership|a"], texts["membership|b"]), ("2", "x"));
    }
}
