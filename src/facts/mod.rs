//! Facts: what Azure and Entra say, parsed from their own JSON shapes into typed values.
//!
//! Parsing is lenient where Azure is inconsistent (id case, `identity.type` spelling) and strict where
//! a wrong guess would create or hide a path (security flags, role ids, schedule windows). A value
//! present with the wrong JSON type is never read as absent: it is an error naming its path in the
//! facts file and its object. Nothing here derives edges.

pub mod compact;
pub mod ids;
pub mod index;
mod parse;
pub mod raw;
pub mod redact;

pub use compact::CompactFacts;
pub use parse::{Collections, FactSource, ParseError, parse, parse_consuming, type_name};
pub use raw::{CompletenessNote, RawFacts, TenantInfo};

use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

/// The parsed facts of one tenant at one instant.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    pub tenant_id: String,
    pub tenant_name: String,
    pub collected_at: DateTime<Utc>,
    pub users: Vec<User>,
    pub groups: Vec<Group>,
    pub service_principals: Vec<ServicePrincipal>,
    pub applications: Vec<Application>,
    pub memberships: Vec<Membership>,
    pub ownerships: Vec<Ownership>,
    pub app_role_assignments: Vec<AppRoleAssignment>,
    pub federated_credentials: Vec<FederatedCredential>,
    /// Tenant-specific directory role definitions from the facts (custom roles, or built-ins as the
    /// tenant returned them). Built-ins not listed here come from the shipped reference data.
    pub directory_role_definitions: Vec<DirectoryRoleDefinition>,
    /// Active and PIM-eligible directory role assignments.
    pub directory_role_assignments: Vec<DirectoryRoleAssignment>,
    pub group_eligibilities: Vec<GroupEligibility>,
    /// Administrative units (`GET /directory/administrativeUnits`).
    pub administrative_units: Vec<AdministrativeUnit>,
    /// Members of administrative units (users, groups, devices).
    pub administrative_unit_members: Vec<AdministrativeUnitMember>,
    pub management_groups: Vec<ManagementGroup>,
    pub subscriptions: Vec<Subscription>,
    pub resource_groups: Vec<ResourceGroup>,
    /// Tenant-specific Azure role definitions (custom roles). Built-ins come from shipped data.
    pub role_definitions: Vec<crate::rbac::RoleDefinition>,
    /// Active and PIM-eligible Azure role assignments.
    pub role_assignments: Vec<RoleAssignment>,
    pub deny_assignments: Vec<DenyAssignment>,
    pub resources: Vec<Resource>,
    /// Management locks at subscriptions, resource groups and resources.
    pub locks: Vec<Lock>,
    /// Cosmos DB for NoSQL data-plane role assignments (`sqlRoleAssignments`, read per account into
    /// `arm.resources`), evaluated by Cosmos DB itself, not by Azure RBAC.
    pub cosmos_role_assignments: Vec<CosmosRoleAssignment>,
    /// Cosmos DB for NoSQL data-plane role definitions (`sqlRoleDefinitions`, built-in and custom).
    pub cosmos_role_definitions: Vec<CosmosRoleDefinition>,
    pub completeness: Vec<CompletenessNote>,
    /// Facts that were read but deliberately not used (expired eligibilities, ...), for the summary.
    pub skipped: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct User {
    pub id: String,
    pub display_name: String,
    pub user_principal_name: Option<String>,
    pub account_enabled: Option<bool>,
    /// `userType`: `Member` or `Guest` (absent: not collected).
    pub user_type: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    pub id: String,
    pub display_name: String,
    pub is_assignable_to_role: bool,
    /// `securityEnabled`: a security group (not only a distribution list or Microsoft 365 group).
    pub security_enabled: bool,
    /// `groupTypes` holds `Unified`: a Microsoft 365 group.
    pub unified: bool,
    /// `groupTypes` holds `DynamicMembership`: members come from `membershipRule`, and cannot be
    /// added by hand.
    pub dynamic: bool,
    /// `onPremisesSyncEnabled`: synced from Active Directory, so its members are managed there.
    pub synced: bool,
    /// `membershipRule` of a dynamic group (`user.department -eq "ML"`).
    pub membership_rule: Option<String>,
    /// `membershipRuleProcessingState` is `Paused`: the rule is not applied, so changing a user's
    /// attributes adds nobody. Absent or `On`: the rule is processed (Graph's default).
    pub rule_paused: bool,
}

/// An administrative unit: a container of users, groups and devices that directory roles can be
/// scoped to (`directoryScopeId` `/administrativeUnits/{id}`).
#[derive(Debug, Clone, PartialEq)]
pub struct AdministrativeUnit {
    pub id: String,
    pub display_name: String,
    /// `isMemberManagementRestricted`: a restricted management administrative unit, whose members
    /// only roles scoped to such a unit may change (not tenant-wide roles, not Graph application
    /// permissions, not group owners). Absent or null: `false`, Graph's default.
    pub restricted: bool,
    /// `membershipType` is `Dynamic`: members come from `membership_rule`.
    pub dynamic: bool,
    pub membership_rule: Option<String>,
    /// `membershipRuleProcessingState` is `Paused`.
    pub rule_paused: bool,
}

/// A member of an administrative unit (`GET /directory/administrativeUnits/{id}/members`).
#[derive(Debug, Clone, PartialEq)]
pub struct AdministrativeUnitMember {
    pub unit_id: String,
    pub member_id: String,
    pub member_type: DirectoryObjectType,
    pub member_name: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ServicePrincipal {
    pub id: String,
    pub app_id: Option<String>,
    pub display_name: String,
    pub service_principal_type: Option<String>,
    /// The tenant that owns the application behind the SP (another tenant's for multi-tenant apps).
    pub app_owner_organization_id: Option<String>,
    /// For managed identities: the ARM resource id of the identity or of its host resource.
    pub alternative_names: Vec<String>,
    pub tags: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Application {
    pub id: String,
    pub app_id: String,
    pub display_name: String,
}

/// The type of a directory object in a member or owner list (`@odata.type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DirectoryObjectType {
    User,
    Group,
    ServicePrincipal,
    Other,
}

/// A group membership. Ids and names are shared with every other membership naming the same
/// group or member: a large tenant has millions of memberships over far fewer objects.
#[derive(Debug, Clone, PartialEq)]
pub struct Membership {
    pub group_id: std::sync::Arc<str>,
    pub member_id: std::sync::Arc<str>,
    pub member_type: DirectoryObjectType,
    pub member_name: Option<std::sync::Arc<str>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OwnedKind {
    Group,
    Application,
    ServicePrincipal,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Ownership {
    pub owner_id: String,
    pub owner_type: DirectoryObjectType,
    pub owner_name: Option<String>,
    pub owned_id: String,
    pub owned_kind: OwnedKind,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AppRoleAssignment {
    pub id: String,
    pub principal_id: String,
    pub resource_id: String,
    pub resource_display_name: Option<String>,
    pub app_role_id: String,
}

/// What a federated identity credential lets in: an application or a user-assigned identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FederatedParent {
    /// The application's object id.
    Application(String),
    /// The user-assigned identity's normalised ARM id.
    UserAssignedIdentity(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct FederatedCredential {
    pub id: String,
    pub parent: FederatedParent,
    pub name: String,
    pub issuer: String,
    pub subject: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DirectoryRoleDefinition {
    /// The template id for built-ins (which is also their id), the object id for custom roles.
    pub id: String,
    pub display_name: String,
    pub is_builtin: bool,
    pub is_privileged: Option<bool>,
    pub allowed_resource_actions: Vec<String>,
}

/// A validity window of a PIM schedule: `[start, end)`; open ends mean "always".
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Window {
    pub start: Option<DateTime<Utc>>,
    pub end: Option<DateTime<Utc>>,
}

impl Window {
    pub fn contains(&self, at: DateTime<Utc>) -> bool {
        self.start.is_none_or(|s| s <= at) && self.end.is_none_or(|e| at < e)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct DirectoryRoleAssignment {
    pub id: String,
    pub principal_id: String,
    pub role_definition_id: String,
    /// `/` (tenant-wide), `/administrativeUnits/{id}`, or `/{object id}`.
    pub directory_scope_id: String,
    pub eligible: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupAccess {
    Member,
    Owner,
}

#[derive(Debug, Clone, PartialEq)]
pub struct GroupEligibility {
    pub id: String,
    pub group_id: String,
    pub principal_id: String,
    pub access: GroupAccess,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ManagementGroup {
    pub id: String,
    pub name: String,
    pub display_name: String,
    pub parent: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Subscription {
    pub id: String,
    pub display_name: String,
    pub parent: Option<String>,
}

/// The tags of a resource or resource group, sorted by name, each name once (as JSON objects are
/// read: the last of a repeated name wins). A boxed slice, not a map: most resources carry a few
/// tags, and a `BTreeMap` allocates room for eleven (23 MB of a 256 MB AzureHound import's
/// 326 MB peak heap; 1.5 MB as a slice).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Tags(Box<[(Box<str>, Box<str>)]>);

impl Tags {
    /// (name, value), sorted by name.
    pub fn iter(&self) -> TagIter<'_> {
        self.into_iter()
    }

    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|(k, _)| &**k)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

pub type TagIter<'a> =
    std::iter::Map<std::slice::Iter<'a, (Box<str>, Box<str>)>, fn(&(Box<str>, Box<str>)) -> (&str, &str)>;

impl<'a> IntoIterator for &'a Tags {
    type Item = (&'a str, &'a str);
    type IntoIter = TagIter<'a>;
    fn into_iter(self) -> TagIter<'a> {
        self.0.iter().map(|(k, v)| (&**k, &**v))
    }
}

impl FromIterator<(String, String)> for Tags {
    fn from_iter<I: IntoIterator<Item = (String, String)>>(pairs: I) -> Tags {
        let sorted: BTreeMap<String, String> = pairs.into_iter().collect();
        Tags(sorted.into_iter().map(|(k, v)| (k.into_boxed_str(), v.into_boxed_str())).collect())
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ResourceGroup {
    pub id: String,
    pub name: String,
    pub tags: Tags,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RoleAssignment {
    pub id: String,
    pub principal_id: String,
    pub principal_type: Option<String>,
    /// The role definition GUID (lower case).
    pub role_definition_id: String,
    /// Normalised scope.
    pub scope: String,
    pub condition: Option<String>,
    pub eligible: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DenyAssignment {
    pub id: String,
    pub name: String,
    pub scope: String,
    /// Each permission block denies its actions less its own notActions.
    pub permissions: Vec<crate::rbac::Permission>,
    /// Principal object ids; `00000000-0000-0000-0000-000000000000` means everyone.
    pub principals: Vec<String>,
    pub exclude_principals: Vec<String>,
    pub do_not_apply_to_child_scopes: bool,
}

/// What a management lock prevents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockLevel {
    /// Reads and updates are allowed; deletes are not.
    CanNotDelete,
    /// Reads only: no update, no delete, and no POST to ARM (`listKeys` and other actions).
    ReadOnly,
}

/// A management lock (`Microsoft.Authorization/locks`). It applies to its scope and everything
/// beneath it, for every user and role.
#[derive(Debug, Clone, PartialEq)]
pub struct Lock {
    /// Normalised lock id: `{scope}/providers/microsoft.authorization/locks/{name}`.
    pub id: String,
    pub name: String,
    /// Normalised scope the lock is on (a subscription, resource group or resource), read from the id.
    pub scope: String,
    pub level: LockLevel,
    pub notes: Option<String>,
}

/// A managed identity attached to a resource.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResourceIdentity {
    /// The system-assigned identity's service principal object id.
    pub system_principal_id: Option<String>,
    /// User-assigned identities: (normalised UAMI resource id, principal id if given).
    pub user_assigned: Vec<(String, Option<String>)>,
}

/// An access policy of an access-policy-mode Key Vault.
#[derive(Debug, Clone, PartialEq)]
pub struct AccessPolicy {
    pub object_id: String,
    pub application_id: Option<String>,
    pub secrets: Vec<String>,
    pub keys: Vec<String>,
    pub certificates: Vec<String>,
}

/// Where a Flex Consumption function app runs its deployment package from
/// (`properties.functionAppConfig.deployment.storage`).
#[derive(Debug, Clone, PartialEq)]
pub struct DeploymentStorage {
    /// `type` (`blobContainer`).
    pub storage_type: Option<String>,
    /// `value`: the container URL as given.
    pub url: String,
    /// The storage account named by the URL's host (`{account}.blob.core.windows.net`),
    /// lower-cased; `None` when the URL has no such host.
    pub account_name: Option<String>,
    /// The container named by the URL's first path segment.
    pub container: Option<String>,
    /// `authentication.type`: `SystemAssignedIdentity`, `UserAssignedIdentity` or
    /// `StorageAccountConnectionString`.
    pub authentication: Option<String>,
}

/// The attack-relevant properties of the resource types azpath has rules for.
#[derive(Debug, Clone, PartialEq)]
pub enum ResourceDetails {
    StorageAccount {
        /// `properties.allowSharedKeyAccess`; `None` (absent or null) means Azure's default, `true`.
        allow_shared_key_access: Option<bool>,
    },
    KeyVault {
        enable_rbac_authorization: Option<bool>,
        access_policies: Vec<AccessPolicy>,
    },
    CognitiveServices {
        kind: Option<String>,
        disable_local_auth: Option<bool>,
    },
    MlWorkspace {
        storage_account: Option<String>,
        key_vault: Option<String>,
        container_registry: Option<String>,
    },
    MlDatastore {
        account_name: Option<String>,
        container_name: Option<String>,
        credentials_type: Option<String>,
        /// For service-principal credentials: the app (client) id whose secret the datastore stores.
        client_id: Option<String>,
    },
    MlCompute {
        compute_type: Option<String>,
    },
    /// A workspace connection (Azure ML, AI Foundry hub or project): `properties.authType`,
    /// `properties.target`, and for service-principal credentials the client id.
    MlConnection {
        auth_type: Option<String>,
        target: Option<String>,
        /// `properties.credentials.clientId` (ServicePrincipal auth), normalised.
        client_id: Option<String>,
    },
    Aks {
        disable_local_accounts: Option<bool>,
        kubelet_identity: Option<(String, Option<String>)>,
        /// `properties.aadProfile.enableAzureRBAC`: Kubernetes authorization by Azure role
        /// assignments (data actions), not only by the cluster's own RBAC.
        azure_rbac: Option<bool>,
    },
    ContainerRegistry {
        /// `properties.adminUserEnabled`: a registry-wide username and password.
        admin_user_enabled: Option<bool>,
        /// `properties.roleAssignmentMode` is `AbacRepositoryPermissions`: push and pull are data
        /// actions on repositories, not the registry's `push/write` and `pull/read` actions.
        abac_repository_permissions: bool,
    },
    UserAssignedIdentity {
        principal_id: Option<String>,
        client_id: Option<String>,
    },
    /// A web or function app (`Microsoft.Web/sites`) or one of its deployment slots
    /// (`Microsoft.Web/sites/slots`), with its basic publishing credentials policies
    /// (`basicPublishingCredentialsPolicies/scm` and `/ftp`, read as child resources and folded in
    /// here). `None`: the policy was not collected, so whether basic auth works is unknown.
    AppService {
        /// `basicPublishingCredentialsPolicies/scm` `properties.allow`: may the publishing
        /// credentials (user name and password) sign in to the SCM (Kudu) site?
        scm_basic_auth: Option<bool>,
        /// `basicPublishingCredentialsPolicies/ftp` `properties.allow` (read, not used by a rule).
        ftp_basic_auth: Option<bool>,
        /// Flex Consumption function apps: `properties.functionAppConfig.deployment.storage`.
        deployment_storage: Option<DeploymentStorage>,
    },
    CosmosDb {
        /// `properties.disableLocalAuth`; `None` (absent or null) means Azure's default, keys enabled.
        disable_local_auth: Option<bool>,
    },
    Other,
}

/// A Cosmos DB for NoSQL data-plane role assignment
/// (`{account}/sqlRoleAssignments/{id}`: `properties.principalId`, `roleDefinitionId`, `scope`).
#[derive(Debug, Clone, PartialEq)]
pub struct CosmosRoleAssignment {
    /// Normalised ARM id.
    pub id: String,
    /// The account it belongs to (normalised ARM id).
    pub account_id: String,
    pub principal_id: String,
    /// The role definition's normalised ARM id (`{account}/sqlRoleDefinitions/{guid}`).
    pub role_definition_id: String,
    /// Where it applies, as returned (the account, `…/dbs/{db}` or `…/dbs/{db}/colls/{container}`;
    /// `/` and relative forms are the account's own shorthand).
    pub scope: String,
}

/// A Cosmos DB for NoSQL data-plane role definition (`{account}/sqlRoleDefinitions/{guid}`).
/// Only `dataActions` count: Cosmos DB does not support `notDataActions` (Microsoft Learn, "Azure
/// Cosmos DB for NoSQL data plane actions reference").
#[derive(Debug, Clone, PartialEq)]
pub struct CosmosRoleDefinition {
    /// Normalised ARM id.
    pub id: String,
    pub account_id: String,
    pub role_name: String,
    pub data_actions: Vec<crate::glob::ActionPattern>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Resource {
    /// Normalised ARM id.
    pub id: String,
    pub name: String,
    /// Lower-cased ARM type (`microsoft.storage/storageaccounts`).
    pub resource_type: String,
    /// ARM `kind` (`OpenAI`, `functionapp`, ...).
    pub kind: Option<String>,
    pub tags: Tags,
    pub identity: ResourceIdentity,
    pub details: ResourceDetails,
}

impl Resource {
    /// Does it run as a managed identity (system-assigned or any user-assigned one)?
    pub fn has_managed_identity(&self) -> bool {
        self.identity.system_principal_id.is_some() || !self.identity.user_assigned.is_empty()
    }
}

/// Is an App Service app (or slot) of this ARM `kind` a function app (`functionapp`,
/// `functionapp,linux`, `functionapp,workflowapp` for Logic Apps Standard, ...)?
pub fn is_function_app(kind: Option<&str>) -> bool {
    kind.is_some_and(|k| k.to_ascii_lowercase().contains("functionapp"))
}
