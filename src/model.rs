//! The attack graph's vocabulary: node kinds, edge kinds, and the derived node and edge values that
//! every later stage (store, graph, query, export, diff) passes around.
//!
//! The semantics are those of `docs/attack-model.md`: `A -> B` means whoever controls A can, with A's
//! rights alone, gain control of B (act as B, or read/write B's data).

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

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
            AddSecret | AddMember | GrantAnyRole | AssignRoles | ListKeys | ReadSecrets | ReadData | WriteData => 2,
            ExecuteOn | SetAccessPolicy => 3,
            ReEnableKeys => 8,
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

/// A derived node. `id` is the normalised Azure id (lower-cased object id or ARM resource id, or a
/// synthetic id for roles, external identities and the tenant) and never a row id or graph index.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Node {
    pub id: String,
    pub kind: NodeKind,
    pub name: String,
    /// Small, display-oriented facts about the node (e.g. `crown_jewel`, `pipeline`, `platform`,
    /// `unresolved`). Sorted, so output is reproducible.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub props: BTreeMap<String, String>,
}

impl Node {
    pub fn new(id: impl Into<String>, kind: NodeKind, name: impl Into<String>) -> Self {
        Node { id: id.into(), kind, name: name.into(), props: BTreeMap::new() }
    }

    pub fn with_prop(mut self, key: &str, value: impl Into<String>) -> Self {
        self.props.insert(key.to_string(), value.into());
        self
    }

    pub fn prop(&self, key: &str) -> Option<&str> {
        self.props.get(key).map(String::as_str)
    }

    /// The crown-jewel category (`training-data`, `model`, `secrets`, `sensitive-data`, `tier0`), if any.
    pub fn crown_jewel(&self) -> Option<&str> {
        self.prop("crown_jewel")
    }

    pub fn is_pipeline(&self) -> bool {
        self.prop("pipeline").is_some()
    }
}

/// One fact behind an edge, printed by `explain`: a label ("role assignment") and a value (its id).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Evidence {
    pub label: String,
    pub value: String,
}

impl Evidence {
    pub fn new(label: impl Into<String>, value: impl Into<String>) -> Self {
        Evidence { label: label.into(), value: value.into() }
    }
}

/// A derived attack edge with the reason and the facts that produced it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Edge {
    /// Node ids, shared (a loaded million-edge graph would otherwise hold two million copies).
    pub source: Arc<str>,
    pub target: Arc<str>,
    pub kind: EdgeKind,
    /// The id of the rule that produced the edge (see `azpath rules`).
    pub rule: Arc<str>,
    pub reason: String,
    pub evidence: Vec<Evidence>,
    /// The hop needs a PIM activation first (an eligible, not active, assignment).
    pub requires_activation: bool,
    /// The hop depends on a role-assignment or role-definition condition that azpath does not
    /// evaluate: it may not apply.
    pub conditional: bool,
    pub cost: u32,
}

impl Edge {
    /// The effort of this hop: the kind's base cost plus activation and condition penalties.
    pub fn compute_cost(kind: EdgeKind, requires_activation: bool, conditional: bool) -> u32 {
        kind.base_cost()
            + if requires_activation { ACTIVATION_COST } else { 0 }
            + if conditional { CONDITION_COST } else { 0 }
    }
}
