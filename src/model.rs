//! The attack graph's vocabulary: node kinds, edge kinds, and the derived node and edge values that
//! every later stage (store, graph, query, export, diff) passes around.
//!
//! The semantics are those of `docs/attack-model.md`: `A -> B` means whoever controls A can, with A's
//! rights alone, gain control of B (act as B, or read/write B's data).

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

/// Hash maps and sets for the hot lookups of import and derive (ids, fact keys): foldhash is several
/// times faster than the standard SipHash on short strings and still seeded per process, so tenant
/// text cannot be chosen to collide.
pub type FastMap<K, V> = foldhash::HashMap<K, V>;
pub type FastSet<T> = foldhash::HashSet<T>;

macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum $name { $($(#[$vmeta])* $variant),+ }

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stable name stored in the database and printed to users.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => stringify!($variant)),+ }
            }

            /// Parses a stored name, case-insensitively.
            pub fn parse(s: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|v| v.as_str().eq_ignore_ascii_case(s))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result { f.write_str(self.as_str()) }
        }
    };
}

string_enum! {
    /// What a node is. Principals, roles, scopes and resources share one graph.
    NodeKind {
        User,
        Group,
        ServicePrincipal,
        Application,
        /// A workload outside the tenant that a federated identity credential trusts (a GitHub
        /// repo/ref, an Azure DevOps service connection, a Kubernetes service account, ...).
        ExternalIdentity,
        /// An Entra directory role (built-in or custom); holders reach it through `HasRole`.
        DirectoryRole,
        /// An application permission (app role) of Microsoft Graph; holders reach it through `HasRole`.
        AppRole,
        /// Control of the tenant itself: the tier-0 target.
        Tenant,
        ManagementGroup,
        Subscription,
        ResourceGroup,
        KeyVault,
        StorageAccount,
        BlobContainer,
        /// An Azure Cosmos DB account (`Microsoft.DocumentDB/databaseAccounts`).
        CosmosDBAccount,
        CognitiveServicesAccount,
        ModelDeployment,
        MLWorkspace,
        MLDatastore,
        MLCompute,
        AKSCluster,
        VirtualMachine,
        WebApp,
        FunctionApp,
        LogicApp,
        AutomationAccount,
        DataFactory,
        ContainerRegistry,
        UserAssignedIdentity,
        /// Any other ARM resource: kept so nothing is dropped silently, but no rule targets it.
        Resource,
    }
}

string_enum! {
    /// How control passes along an edge. See `docs/attack-model.md` for the facts behind each kind.
    EdgeKind {
        MemberOf,
        EligibleMemberOf,
        EligibleOwnerOf,
        AddMember,
        AddSecret,
        /// Set a user's password or add an authentication method to it (a Temporary Access Pass, a
        /// phone): sign in as the user.
        ResetCredential,
        AuthenticatesAs,
        HasRole,
        EligibleForRole,
        GrantAnyRole,
        AssignRoles,
        Contains,
        ReadSecrets,
        SetAccessPolicy,
        ListKeys,
        ReEnableKeys,
        ReadData,
        WriteData,
        ExecuteOn,
        RunCodeAs,
    }
}

impl EdgeKind {
    /// Base effort of one abuse of this kind; lower is easier. Activation and conditions add to it
    /// (see [`Edge::cost`]). Relative order is what matters: walking the directory is nearly free,
    /// abusing a right costs more, and changing a resource's configuration costs most because it is
    /// noisy and visible.
    pub fn base_cost(self) -> u32 {
        use EdgeKind::*;
        match self {
            MemberOf | AuthenticatesAs | HasRole | Contains | RunCodeAs => 1,
            EligibleMemberOf | EligibleOwnerOf | EligibleForRole => 1,
            AddSecret | AddMember | ResetCredential | GrantAnyRole | AssignRoles | ListKeys | ReadSecrets
            | ReadData | WriteData => 2,
            ExecuteOn | SetAccessPolicy => 3,
            ReEnableKeys => 2 + CONFIG_CHANGE_COST,
        }
    }

    /// True for edges that read or write data rather than gain control of an identity or scope.
    /// `Contains` is never traversed after such an edge.
    pub fn grants_control_of_scope(self) -> bool {
        matches!(self, EdgeKind::AssignRoles | EdgeKind::Contains)
    }
}

/// Extra effort added when the attacker must first activate a PIM eligibility.
pub const ACTIVATION_COST: u32 = 10;
/// Extra effort added when an edge depends on a condition azpath does not evaluate.
pub const CONDITION_COST: u32 = 5;
/// Extra effort added when the attacker must first delete a ReadOnly management lock (a visible
/// change to the tenant, like re-enabling keys, but one step).
pub const LOCK_REMOVAL_COST: u32 = 3;
/// Extra effort of an abuse that first changes a resource's configuration (turn key auth or basic
/// auth back on, attach an identity to a compute): noisy and visible. `ReEnableKeys` is listing keys
/// plus this.
pub const CONFIG_CHANGE_COST: u32 = 6;

/// A node's properties, sorted by key: a list, not a `BTreeMap`, whose first entry allocates a
/// node of eleven slots (about 540 bytes) for the one property most nodes have (a user's `upn`:
/// 1.6 million users in the 10M-edge tenant).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Props(Vec<(String, String)>);

impl Props {
    pub fn with_capacity(n: usize) -> Props {
        Props(Vec::with_capacity(n))
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.binary_search_by(|(k, _)| k.as_str().cmp(key)).ok().map(|i| self.0[i].1.as_str())
    }

    /// Sets `key`, returning its previous value.
    pub fn insert(&mut self, key: String, value: String) -> Option<String> {
        match self.0.binary_search_by(|(k, _)| k.as_str().cmp(&key)) {
            Ok(i) => Some(std::mem::replace(&mut self.0[i].1, value)),
            Err(i) => {
                self.0.insert(i, (key, value));
                None
            }
        }
    }

    /// Sets `key` to `value()` unless it is set already.
    pub fn insert_if_absent(&mut self, key: &str, value: impl FnOnce() -> String) {
        if let Err(i) = self.0.binary_search_by(|(k, _)| k.as_str().cmp(key)) {
            self.0.insert(i, (key.to_string(), value()));
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = (&String, &String)> {
        self.0.iter().map(|(k, v)| (k, v))
    }

    pub fn keys(&self) -> impl Iterator<Item = &String> {
        self.0.iter().map(|(k, _)| k)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<'a> IntoIterator for &'a Props {
    type Item = (&'a String, &'a String);
    type IntoIter =
        std::iter::Map<std::slice::Iter<'a, (String, String)>, fn(&'a (String, String)) -> (&'a String, &'a String)>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter().map(|(k, v)| (k, v))
    }
}

impl FromIterator<(String, String)> for Props {
    fn from_iter<I: IntoIterator<Item = (String, String)>>(iter: I) -> Props {
        let mut props = Props::default();
        for (k, v) in iter {
            props.insert(k, v);
        }
        props
    }
}

/// Serialised as a JSON object, as the `BTreeMap` it replaces was.
impl Serialize for Props {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.iter())
    }
}

impl<'de> Deserialize<'de> for Props {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(BTreeMap::<String, String>::deserialize(d)?.into_iter().collect())
    }
}

/// A derived node. `id` is the normalised Azure id (lower-cased object id or ARM resource id, or a
/// synthetic id for roles, external identities and the tenant) and never a row id or graph index.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Node {
    pub id: String,
    pub kind: NodeKind,
    pub name: String,
    /// Small, display-oriented facts about the node (e.g. `crown_jewel`, `pipeline`, `platform`,
    /// `unresolved`). Sorted, so output is reproducible.
    #[serde(default, skip_serializing_if = "Props::is_empty")]
    pub props: Props,
}

impl Node {
    pub fn new(id: impl Into<String>, kind: NodeKind, name: impl Into<String>) -> Self {
        Node { id: id.into(), kind, name: name.into(), props: Props::default() }
    }

    pub fn with_prop(mut self, key: &str, value: impl Into<String>) -> Self {
        self.props.insert(key.to_string(), value.into());
        self
    }

    pub fn prop(&self, key: &str) -> Option<&str> {
        self.props.get(key)
    }

    /// The crown-jewel category (`training-data`, `model`, `secrets`, `sensitive-data`, `tier0`), if any.
    pub fn crown_jewel(&self) -> Option<&str> {
        self.prop("crown_jewel")
    }

    pub fn is_pipeline(&self) -> bool {
        self.prop("pipeline").is_some()
    }
}

macro_rules! evidence_kinds {
    ($($(#[$meta:meta])* $variant:ident => $label:literal,)+) => {
        /// What a piece of evidence is. Consumers (reports, diagrams, the diff) select evidence by
        /// kind, never by its text; the label is only how the kind is printed.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum EvidenceKind { $($(#[$meta])* $variant),+ }

        impl EvidenceKind {
            pub const ALL: &'static [EvidenceKind] = &[$(EvidenceKind::$variant),+];

            /// How the kind is printed before the evidence's value ("role assignment").
            pub fn label(self) -> &'static str {
                match self { $(EvidenceKind::$variant => $label),+ }
            }

            /// The kind printed with `label` (for evidence stored by azpath before it was typed).
            pub fn from_label(label: &str) -> Option<EvidenceKind> {
                Self::ALL.iter().copied().find(|k| k.label() == label)
            }
        }
    };
}

evidence_kinds! {
    /// An Azure role assignment (active), by id.
    RoleAssignment => "role assignment",
    /// An Azure role eligibility schedule (PIM), by id.
    RoleEligibility => "role eligibility schedule (PIM)",
    /// The Azure role definition: "Name (guid)".
    Role => "role",
    /// The role that lets its holder assign the role of this edge (a delegation condition).
    AssignableThrough => "assignable through",
    /// The assignment's scope: "name (scope id)".
    Scope => "scope",
    /// The action the role allows, and the pattern that allowed it.
    MatchedAction => "matched action",
    /// A second action the edge needs (re-enable keys, then list them).
    ThenAction => "then",
    /// A second role assignment the edge needs (the one that lists keys).
    ListKeysGrantedBy => "list keys granted by",
    /// The compute an identity can be attached to (an existing resource, or a new one in a
    /// resource group), and the right that changes or creates it.
    Carrier => "compute to attach it to",
    /// A second role assignment the edge needs (the one that changes or creates the compute).
    ComputeGrantedBy => "compute right granted by",
    AssignmentCondition => "assignment condition (not evaluated; may not apply)",
    RoleDefinitionCondition => "role definition condition",
    /// A resource setting the edge depends on ("allowSharedKeyAccess is not false").
    ResourceProperty => "resource property",
    /// An owner of an app, service principal or group.
    Owner => "owner",
    /// The Graph permission that lets a service principal use its ownership.
    OwnedByGrant => "app role assignment (Microsoft Graph Application.ReadWrite.OwnedBy)",
    GroupMembership => "group membership",
    /// A PIM for Groups eligibility schedule, by id.
    GroupEligibility => "group eligibility schedule (PIM)",
    /// A federated identity credential, by id.
    FederatedCredential => "federated identity credential",
    Issuer => "issuer",
    Subject => "subject",
    /// The application an app's service principal belongs to.
    AppId => "appId",
    /// The service principal belongs to another tenant's app.
    AppOwnerOrganization => "appOwnerOrganizationId",
    /// A directory role: "Name (template id)".
    DirectoryRole => "directory role",
    /// A directory role assignment (active), by id.
    DirectoryRoleAssignment => "directory role assignment",
    /// A directory role eligibility schedule (PIM), by id.
    DirectoryRoleEligibility => "directory role eligibility schedule (PIM)",
    DirectoryScope => "directory scope",
    /// The `allowedResourceActions` entry that grants the edge.
    AllowedResourceAction => "allowed resource action",
    /// An app role assignment (a Graph application permission grant), by id.
    AppRoleAssignment => "app role assignment",
    AppRoleId => "app role id",
    /// The Graph permission an app role is: "Name (guid)".
    GraphPermission => "Microsoft Graph permission",
    ArmHierarchy => "ARM hierarchy",
    /// A resource's managed identity (system- or user-assigned).
    Identity => "identity",
    KubeletIdentity => "kubelet identity",
    /// A resource's own principal id (a user-assigned identity's service principal).
    PrincipalId => "principalId",
    /// An ML datastore and the credential it stores.
    Datastore => "datastore",
    ComputeOfWorkspace => "compute of workspace",
    /// A Flex Consumption function app's deployment storage (the container it runs its package from).
    DeploymentStorage => "deployment storage",
    /// An ML / AI Foundry workspace connection and the credential it stores.
    WorkspaceConnection => "workspace connection",
    /// A ReadOnly management lock the attacker deletes first: "name (lock id) on scope".
    ReadOnlyLock => "read-only lock (deleted first)",
    /// The role assignment (or eligibility) that lets the attacker delete that lock, and its role.
    LockDeletableThrough => "lock deletable through",
    /// A Cosmos DB for NoSQL data-plane role assignment (`sqlRoleAssignments`), by id.
    CosmosRoleAssignment => "Cosmos DB SQL role assignment",
    /// The Cosmos DB SQL role definition it assigns: "Name (id)".
    CosmosRoleDefinition => "Cosmos DB SQL role definition",
    /// A Key Vault access policy entry.
    AccessPolicy => "access policy",
    SecretPermissions => "secret permissions",
    /// An access policy that applies only when acting through a specific application.
    CompoundIdentity => "compound identity: only through application",
    /// A Global Administrator's elevation to User Access Administrator at `/`.
    ElevateAccess => "elevate access",
    /// An administrative unit: "Name (id)", and whether it is restricted or dynamic; its fact is
    /// the membership that puts the edge's target in it.
    AdministrativeUnit => "administrative unit",
    /// The dynamic membership rule of a group or administrative unit.
    MembershipRule => "dynamic membership rule",
}

/// A fact of a snapshot's fact index, by the 128-bit xxh3 hash of its key (`category|ids`, see
/// `facts::index`): what evidence names, compactly (32 hex digits stored instead of the key).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FactRef(pub u128);

impl FactRef {
    pub fn of(key: &str) -> FactRef {
        FactRef(xxhash_rust::xxh3::xxh3_128(key.as_bytes()))
    }
}

impl Serialize for FactRef {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("{:032x}", self.0))
    }
}

impl<'de> Deserialize<'de> for FactRef {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        let valid = text.len() == 32 && text.bytes().all(|b| b.is_ascii_hexdigit());
        match u128::from_str_radix(&text, 16) {
            Ok(v) if valid => Ok(FactRef(v)),
            _ => Err(serde::de::Error::custom(format!("a fact reference is 32 hex digits, not {text:?}"))),
        }
    }
}

/// One fact behind an edge, printed by `explain` as "label: value".
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Evidence {
    pub kind: EvidenceKind,
    /// What the evidence says: an id, "Name (id)", a setting.
    pub value: String,
    /// The name of what the evidence names, for views that show names only: the role's name for
    /// [`EvidenceKind::Role`] ("Contributor").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The fact this evidence comes from in the snapshot's fact index (`facts::index`), so a diff
    /// traces a changed fact to the edges it made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fact: Option<FactRef>,
}

impl Evidence {
    pub fn new(kind: EvidenceKind, value: impl Into<String>) -> Self {
        Evidence { kind, value: value.into(), name: None, fact: None }
    }

    /// Evidence that names "Name (id)", keeping the name for views that show names only.
    pub fn named(kind: EvidenceKind, name: &str, id: &str) -> Self {
        Evidence { kind, value: format!("{name} ({id})"), name: Some(name.to_string()), fact: None }
    }

    /// The same evidence, naming the fact (by its fact-index key) it comes from.
    pub fn of_fact(mut self, key: &str) -> Self {
        self.fact = Some(FactRef::of(key));
        self
    }

    /// How the kind is printed ("role assignment").
    pub fn label(&self) -> &'static str {
        self.kind.label()
    }
}

/// Which end of its edge a [`Text`] names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum End {
    Source,
    Target,
}

/// One piece of a [`Text`]: literal text, or the display name or id of one end of the edge.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Piece {
    Text(Box<str>),
    Name { name: End },
    Id { id: End },
}

impl Piece {
    pub const SOURCE_NAME: Piece = Piece::Name { name: End::Source };
    pub const TARGET_NAME: Piece = Piece::Name { name: End::Target };
    pub const SOURCE_ID: Piece = Piece::Id { id: End::Source };
    pub const TARGET_ID: Piece = Piece::Id { id: End::Target };

    pub fn text(text: &str) -> Piece {
        Piece::Text(text.into())
    }
}

/// Text filled in per edge when it is shown: a rule that makes many edges the same way (a group's
/// members, a role's targets) makes one `Text` naming the edge's ends, and every such edge shares
/// it, instead of one string per edge. Pieces, not a format string, so tenant text in a literal
/// piece can never be read as a placeholder.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Text(Vec<Piece>);

impl Text {
    pub fn new(pieces: Vec<Piece>) -> Text {
        Text(pieces)
    }

    /// Literal text (the whole of most rules' reasons).
    pub fn literal(text: impl Into<Box<str>>) -> Text {
        Text(vec![Piece::Text(text.into())])
    }

    pub fn pieces(&self) -> &[Piece] {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.iter().all(|p| matches!(p, Piece::Text(t) if t.is_empty()))
    }

    /// Appends literal text.
    pub fn push_str(&mut self, text: &str) {
        match self.0.last_mut() {
            Some(Piece::Text(t)) => *t = [&**t, text].concat().into(),
            _ => self.0.push(Piece::Text(text.into())),
        }
    }

    /// The text for an edge from `source` to `target`; `name` gives a node's display name (the id
    /// is shown for a node it does not know).
    pub fn render<'a>(&self, source: &'a str, target: &'a str, name: &dyn Fn(&'a str) -> Option<&'a str>) -> String {
        let mut out = String::new();
        for p in &self.0 {
            match p {
                Piece::Text(t) => out.push_str(t),
                Piece::Name { name: end } => {
                    let id = end.pick(source, target);
                    out.push_str(name(id).unwrap_or(id))
                }
                Piece::Id { id: end } => out.push_str(end.pick(source, target)),
            }
        }
        out
    }
}

impl End {
    fn pick<'a>(self, source: &'a str, target: &'a str) -> &'a str {
        match self {
            End::Source => source,
            End::Target => target,
        }
    }
}

impl From<String> for Text {
    fn from(text: String) -> Text {
        Text::literal(text)
    }
}

impl From<&str> for Text {
    fn from(text: &str) -> Text {
        Text::literal(text)
    }
}

/// Stored as a plain JSON string when it is one literal piece (most reasons and evidence values,
/// and all that azpath stored before `Text`), else as the list of pieces.
impl Serialize for Text {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0.as_slice() {
            [] => s.serialize_str(""),
            [Piece::Text(t)] => s.serialize_str(t),
            pieces => pieces.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Stored {
            Plain(String),
            Pieces(Vec<Piece>),
        }
        Ok(match Stored::deserialize(d)? {
            Stored::Plain(t) => Text::literal(t),
            Stored::Pieces(p) => Text(p),
        })
    }
}

/// Where a piece of evidence's fact is: known (a rule looked it up), or named by a fact-index
/// category and the ids of the edge's ends (`membership|group|member`), hashed when rendered.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum FactText {
    Ref(FactRef),
    Key {
        #[serde(rename = "key")]
        category: Box<str>,
        ends: Vec<End>,
    },
}

/// A piece of evidence as a rule makes it: [`Evidence`] whose value may name the edge's ends (by
/// id only: evidence shows ids, reasons show names), shared like [`Text`].
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct EvidenceText {
    pub kind: EvidenceKind,
    pub value: Text,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<Box<str>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fact: Option<FactText>,
}

impl EvidenceText {
    /// The evidence of an edge from `source` to `target`.
    pub fn render(&self, source: &str, target: &str) -> Evidence {
        let fact = self.fact.as_ref().map(|f| match f {
            FactText::Ref(r) => *r,
            FactText::Key { category, ends } => {
                let ids: Vec<&str> = ends.iter().map(|e| e.pick(source, target)).collect();
                FactRef::of(&crate::model::fact_key_text(category, &ids))
            }
        });
        Evidence {
            kind: self.kind,
            value: self.value.render(source, target, &|_| None),
            name: self.name.as_deref().map(str::to_string),
            fact,
        }
    }
}

impl From<Evidence> for EvidenceText {
    fn from(e: Evidence) -> EvidenceText {
        EvidenceText {
            kind: e.kind,
            value: Text::literal(e.value),
            name: e.name.map(String::into_boxed_str),
            fact: e.fact.map(FactText::Ref),
        }
    }
}

/// The key of a fact (`category|id|id`, ids lower case): the one definition, which
/// `facts::index::fact_key` and evidence naming facts by the edge's ends both use.
pub fn fact_key_text(category: &str, ids: &[&str]) -> String {
    let mut key = String::with_capacity(category.len() + ids.iter().map(|id| id.len() + 1).sum::<usize>());
    key.push_str(category);
    for id in ids {
        key.push('|');
        let at = key.len();
        key.push_str(id);
        key[at..].make_ascii_lowercase();
    }
    key
}

/// An edge's reason and evidence, as templates over its ends ([`Text`], [`EvidenceText`]).
/// Edges made the same way share one (`Arc`), so a tenant's million membership edges hold one.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Detail {
    pub reason: Text,
    pub evidence: Vec<EvidenceText>,
}

impl Detail {
    pub fn new(reason: impl Into<Text>, evidence: Vec<Evidence>) -> Detail {
        Detail { reason: reason.into(), evidence: evidence.into_iter().map(EvidenceText::from).collect() }
    }

    pub fn shared(self) -> Arc<Detail> {
        Arc::new(self)
    }
}

/// The other derivations of a hop ([`Edge::alternatives`]), each its fact-naming evidence. Boxed:
/// most edges have none, and an empty `Vec` would cost each of ten million edges 24 bytes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
// A box of a `Vec`, not a boxed slice: a thin pointer, 8 bytes per edge instead of 16.
#[allow(clippy::box_collection)]
pub struct Alternatives(Option<Box<Vec<Vec<Evidence>>>>);

impl Alternatives {
    pub fn push(&mut self, derivation: Vec<Evidence>) {
        self.0.get_or_insert_default().push(derivation);
    }
}

impl std::ops::Deref for Alternatives {
    type Target = [Vec<Evidence>];
    fn deref(&self) -> &[Vec<Evidence>] {
        self.0.as_deref().map_or(&[], Vec::as_slice)
    }
}

impl From<Vec<Vec<Evidence>>> for Alternatives {
    fn from(list: Vec<Vec<Evidence>>) -> Alternatives {
        Alternatives((!list.is_empty()).then(|| Box::new(list)))
    }
}

impl IntoIterator for Alternatives {
    type Item = Vec<Evidence>;
    type IntoIter = std::vec::IntoIter<Vec<Evidence>>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.map_or_else(Vec::new, |b| *b).into_iter()
    }
}

impl PartialEq<Vec<Vec<Evidence>>> for Alternatives {
    fn eq(&self, other: &Vec<Vec<Evidence>>) -> bool {
        **self == **other
    }
}

/// Display names by node id, for rendering reasons ([`Edge::reason`]).
pub trait NameOf {
    fn name_of(&self, id: &str) -> Option<&str>;
}

/// Names from a short list of nodes (a linear search: for a handful of nodes, as in tests).
impl NameOf for Vec<Node> {
    fn name_of(&self, id: &str) -> Option<&str> {
        self.iter().find(|n| n.id == id).map(|n| n.name.as_str())
    }
}

/// The empty detail of an edge loaded for searching (details are read for the edges shown).
static NO_DETAIL: std::sync::LazyLock<Arc<Detail>> = std::sync::LazyLock::new(|| Arc::new(Detail::default()));

/// A derived attack edge with the reason and the facts that produced it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edge {
    /// Node ids, shared (a loaded million-edge graph would otherwise hold two million copies).
    pub source: Arc<str>,
    pub target: Arc<str>,
    pub kind: EdgeKind,
    /// The id of the rule that produced the edge (see `azpath rules`).
    pub rule: Arc<str>,
    /// The reason and evidence, rendered for this edge by [`Edge::reason`] and [`Edge::evidence`];
    /// empty on a graph loaded for searching until they are read for the edges shown.
    pub detail: Arc<Detail>,
    /// The fact-naming evidence of the other derivations of this hop that `rules::finish` merged
    /// into it (same ends, kind and activation): the hop stays while any derivation holds, so
    /// `fix` must cut each one. Only derivations that removing `evidence`'s facts would not also
    /// remove are kept. Not part of exports.
    pub alternatives: Alternatives,
    /// The hop needs a PIM activation first (an eligible, not active, assignment).
    pub requires_activation: bool,
    /// The hop depends on a role-assignment or role-definition condition that azpath does not
    /// evaluate: it may not apply.
    pub conditional: bool,
    pub cost: u32,
}

impl Edge {
    /// An edge of `kind` at its base cost: active, unconditional, without evidence yet.
    pub fn new(source: &str, target: &str, kind: EdgeKind, rule: &str, reason: impl Into<Text>) -> Edge {
        let detail = Arc::new(Detail { reason: reason.into(), evidence: Vec::new() });
        Edge::with_detail(source.into(), target.into(), kind, rule.into(), detail)
    }

    /// An edge of `kind` at its base cost with a (shared) detail, its ids shared too.
    pub fn with_detail(
        source: Arc<str>,
        target: Arc<str>,
        kind: EdgeKind,
        rule: Arc<str>,
        detail: Arc<Detail>,
    ) -> Edge {
        Edge {
            source,
            target,
            kind,
            rule,
            detail,
            alternatives: Alternatives::default(),
            requires_activation: false,
            conditional: false,
            cost: Edge::compute_cost(kind, false, false),
        }
    }

    /// An edge as loaded for searching: no reason or evidence yet.
    pub fn bare(source: Arc<str>, target: Arc<str>, kind: EdgeKind, rule: Arc<str>) -> Edge {
        Edge::with_detail(source, target, kind, rule, NO_DETAIL.clone())
    }

    pub fn with_evidence(mut self, evidence: Vec<Evidence>) -> Edge {
        self.set_evidence(evidence);
        self
    }

    /// Replaces the evidence.
    pub fn set_evidence(&mut self, evidence: Vec<Evidence>) {
        Arc::make_mut(&mut self.detail).evidence = evidence.into_iter().map(EvidenceText::from).collect();
    }

    /// Has the edge its reason (false on a graph loaded for searching, until it is explained)?
    pub fn has_detail(&self) -> bool {
        !self.detail.reason.is_empty()
    }

    /// Why the edge exists, in words, with the ends' names from `names`.
    pub fn reason(&self, names: &dyn NameOf) -> String {
        self.detail.reason.render(&self.source, &self.target, &|id| names.name_of(id))
    }

    /// The facts that produced the edge.
    pub fn evidence(&self) -> Vec<Evidence> {
        self.detail.evidence.iter().map(|e| e.render(&self.source, &self.target)).collect()
    }

    /// Does any evidence have this kind?
    pub fn has_evidence(&self, kind: EvidenceKind) -> bool {
        self.detail.evidence.iter().any(|e| e.kind == kind)
    }

    /// The value of the first evidence of this kind (borrowed when it names no end).
    pub fn evidence_value(&self, kind: EvidenceKind) -> Option<std::borrow::Cow<'_, str>> {
        let ev = self.detail.evidence.iter().find(|e| e.kind == kind)?;
        Some(match ev.value.pieces() {
            [Piece::Text(t)] => std::borrow::Cow::Borrowed(&**t),
            _ => ev.value.render(&self.source, &self.target, &|_| None).into(),
        })
    }

    /// The name of what the first evidence of this kind names ("Contributor" for a role).
    pub fn evidence_name(&self, kind: EvidenceKind) -> Option<&str> {
        self.detail.evidence.iter().find(|e| e.kind == kind)?.name.as_deref()
    }

    /// Appends literal text to the reason.
    pub fn push_reason(&mut self, text: &str) {
        Arc::make_mut(&mut self.detail).reason.push_str(text);
    }

    /// Adds a piece of evidence.
    pub fn push_evidence(&mut self, evidence: Evidence) {
        Arc::make_mut(&mut self.detail).evidence.push(evidence.into());
    }

    /// The same edge needing a PIM activation and/or subject to a condition, its cost recomputed.
    pub fn with_flags(mut self, requires_activation: bool, conditional: bool) -> Edge {
        self.requires_activation = requires_activation;
        self.conditional = conditional;
        self.recost();
        self
    }

    /// Does the attacker have to delete a ReadOnly management lock first? (The edge then names the
    /// lock in its evidence.)
    pub fn removes_lock(&self) -> bool {
        self.has_evidence(EvidenceKind::ReadOnlyLock)
    }

    /// Recomputes the cost from the kind, the flags and a lock removal, after any of them changed.
    pub fn recost(&mut self) {
        self.cost = Edge::compute_cost(self.kind, self.requires_activation, self.conditional)
            + if self.removes_lock() { LOCK_REMOVAL_COST } else { 0 };
    }

    /// The effort of this hop: the kind's base cost plus activation and condition penalties.
    pub fn compute_cost(kind: EdgeKind, requires_activation: bool, conditional: bool) -> u32 {
        kind.base_cost()
            + if requires_activation { ACTIVATION_COST } else { 0 }
            + if conditional { CONDITION_COST } else { 0 }
    }
}

/// Something that could not be collected, so that "no path" can be told from "not collected".
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct CompletenessNote {
    pub what: String,
    #[serde(default)]
    pub scope: Option<String>,
    pub reason: String,
}

/// What a snapshot is: when, which tenant, from where, and what could not be collected.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SnapshotInfo {
    pub id: i64,
    pub imported_at: String,
    pub collected_at: String,
    pub tenant_id: String,
    pub tenant_name: String,
    pub source: String,
    pub label: Option<String>,
    pub azpath_version: String,
    pub completeness: Vec<CompletenessNote>,
    pub warnings: Vec<String>,
    pub nodes: i64,
    pub edges: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A ten-million-edge tenant holds its edges once or twice at a time: each byte here is 10-20 MB.
    #[test]
    fn an_edge_stays_small() {
        assert!(std::mem::size_of::<Edge>() <= 72, "{}", std::mem::size_of::<Edge>());
        assert_eq!(std::mem::size_of::<Option<Edge>>(), std::mem::size_of::<Edge>(), "finish moves edges in place");
    }

    #[test]
    fn props_stay_sorted_and_serialise_as_a_map() {
        let mut p: Props =
            [("b".to_string(), "2".to_string()), ("a".to_string(), "1".to_string())].into_iter().collect();
        assert_eq!(p.insert("c".into(), "3".into()), None);
        assert_eq!(p.insert("a".into(), "one".into()), Some("1".into()));
        p.insert_if_absent("b", || unreachable!("b is set"));
        p.insert_if_absent("0", || "zero".into());
        assert_eq!(p.keys().map(String::as_str).collect::<Vec<_>>(), ["0", "a", "b", "c"]);
        assert_eq!((p.get("a"), p.get("z"), p.len()), (Some("one"), None, 4));
        let json = serde_json::to_string(&p).unwrap();
        assert_eq!(json, r#"{"0":"zero","a":"one","b":"2","c":"3"}"#);
        assert_eq!(serde_json::from_str::<Props>(&json).unwrap(), p);
    }

    #[test]
    fn text_pieces_render_per_edge_and_literal_text_is_never_a_placeholder() {
        let names = vec![Node::new("u1", NodeKind::User, "{name}"), Node::new("g1", NodeKind::Group, "admins")];
        let t = Text::new(vec![Piece::SOURCE_NAME, Piece::text(" in {target} "), Piece::TARGET_NAME, Piece::TARGET_ID]);
        let e = Edge::with_detail(
            "u1".into(),
            "g1".into(),
            EdgeKind::MemberOf,
            "r".into(),
            Detail { reason: t, evidence: vec![] }.shared(),
        );
        assert_eq!(e.reason(&names), "{name} in {target} adminsg1");
        // A node the names do not know is shown by its id.
        assert_eq!(e.reason(&Vec::new()), "u1 in {target} g1g1");
        let mut literal = Text::literal("a");
        literal.push_str("b");
        assert_eq!(literal.pieces(), [Piece::text("ab")]);
        assert!(Text::default().is_empty() && Text::literal("").is_empty() && !literal.is_empty());
    }
}
