//! From raw Graph/ARM JSON ([`RawFacts`]) to typed [`Facts`].

use super::ids::{arm_parent, arm_type, last_segment, norm};
use super::*;
use crate::glob::ActionPattern;
use crate::rbac::{Permission, RoleDefinition};
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

/// A facts file that cannot be read, naming where and why.
#[derive(Debug, thiserror::Error)]
#[error("{collection}: {object}: {message}")]
pub struct ParseError {
    pub collection: String,
    pub object: String,
    pub message: String,
}

type Result<T> = std::result::Result<T, ParseError>;

/// One JSON object being read, with enough context to name it in an error.
struct Obj<'a> {
    map: &'a Map<String, Value>,
    collection: &'a str,
    label: String,
}

impl<'a> Obj<'a> {
    fn new(value: &'a Value, collection: &'a str, index: usize) -> Result<Obj<'a>> {
        let map = value.as_object().ok_or_else(|| ParseError {
            collection: collection.into(),
            object: format!("item {index}"),
            message: format!("expected a JSON object, found {}", type_name(value)),
        })?;
        let label = map
            .get("id")
            .and_then(Value::as_str)
            .map(|s| format!("object {s}"))
            .unwrap_or_else(|| format!("item {index}"));
        Ok(Obj { map, collection, label })
    }

    fn err(&self, message: impl Into<String>) -> ParseError {
        ParseError { collection: self.collection.into(), object: self.label.clone(), message: message.into() }
    }

    fn get(&self, path: &str) -> Option<&'a Value> {
        if let Some(v) = self.map.get(path) {
            return if v.is_null() { None } else { Some(v) };
        }
        let mut cur = self.map.get(path.split('.').next()?)?;
        for part in path.split('.').skip(1) {
            cur = cur.as_object()?.get(part)?;
        }
        if cur.is_null() { None } else { Some(cur) }
    }

    fn str_opt(&self, path: &str) -> Result<Option<String>> {
        match self.get(path) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(v) => Err(self.err(format!("field `{path}` must be a string, found {}", type_name(v)))),
        }
    }

    fn str_req(&self, path: &str) -> Result<String> {
        self.str_opt(path)?.ok_or_else(|| self.err(format!("missing required field `{path}`")))
    }

    /// A security flag: absent or null is `None` (Azure's default applies); anything but a boolean
    /// is an error, because guessing would create or hide a path.
    fn bool_strict(&self, path: &str) -> Result<Option<bool>> {
        match self.get(path) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(v) => Err(self.err(format!(
                "field `{path}` must be true, false or null, found {}; azpath will not guess a security setting",
                type_name(v)
            ))),
        }
    }

    /// A list of Azure action patterns (`actions`, `notActions`, ...), compiled for matching.
    fn patterns(&self, path: &str) -> Result<Vec<ActionPattern>> {
        Ok(self.str_list(path)?.into_iter().map(ActionPattern::from).collect())
    }

    fn str_list(&self, path: &str) -> Result<Vec<String>> {
        match self.get(path) {
            None => Ok(vec![]),
            Some(Value::Array(items)) => items
                .iter()
                .filter(|v| !v.is_null())
                .map(|v| {
                    v.as_str()
                        .map(str::to_string)
                        .ok_or_else(|| self.err(format!("field `{path}` must hold strings, found {}", type_name(v))))
                })
                .collect(),
            Some(v) => Err(self.err(format!("field `{path}` must be a list, found {}", type_name(v)))),
        }
    }

    fn tags(&self) -> Result<BTreeMap<String, String>> {
        match self.get("tags") {
            None => Ok(BTreeMap::new()),
            Some(Value::Object(m)) => Ok(m
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string())))
                .collect()),
            Some(v) => Err(self.err(format!("field `tags` must be an object, found {}", type_name(v)))),
        }
    }

    fn time_opt(&self, path: &str) -> Result<Option<DateTime<Utc>>> {
        match self.str_opt(path)? {
            None => Ok(None),
            Some(s) => parse_time(&s)
                .map(Some)
                .ok_or_else(|| self.err(format!("field `{path}` is not an RFC 3339 time: {s:?}"))),
        }
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s).ok().map(|t| t.with_timezone(&Utc))
}

/// A top-level collection: a list of objects.
fn list<'a>(side: &'a BTreeMap<String, Value>, name: &'a str) -> Result<Vec<Obj<'a>>> {
    match side.get(name) {
        None | Some(Value::Null) => Ok(vec![]),
        Some(Value::Array(items)) => items.iter().enumerate().map(|(i, v)| Obj::new(v, name, i)).collect(),
        Some(v) => Err(ParseError {
            collection: name.into(),
            object: "(collection)".into(),
            message: format!("expected a list of objects, found {}", type_name(v)),
        }),
    }
}

/// A relationship collection keyed by parent id: `{ "<parent id>": [objects] }`.
fn keyed<'a>(side: &'a BTreeMap<String, Value>, name: &'a str) -> Result<Vec<(String, Obj<'a>)>> {
    let map = match side.get(name) {
        None | Some(Value::Null) => return Ok(vec![]),
        Some(Value::Object(m)) => m,
        Some(v) => {
            return Err(ParseError {
                collection: name.into(),
                object: "(collection)".into(),
                message: format!("expected an object keyed by parent id, found {}", type_name(v)),
            });
        }
    };
    let mut out = Vec::new();
    for (parent, items) in map {
        let items = items.as_array().ok_or_else(|| ParseError {
            collection: name.into(),
            object: format!("parent {parent}"),
            message: format!("expected a list of objects, found {}", type_name(items)),
        })?;
        for (i, v) in items.iter().enumerate() {
            out.push((norm(parent), Obj::new(v, name, i)?));
        }
    }
    Ok(out)
}

fn object_type(o: &Obj) -> Result<DirectoryObjectType> {
    Ok(match o.str_opt("@odata.type")?.as_deref().map(str::to_ascii_lowercase).as_deref() {
        Some("#microsoft.graph.user") => DirectoryObjectType::User,
        Some("#microsoft.graph.group") => DirectoryObjectType::Group,
        Some("#microsoft.graph.serviceprincipal") => DirectoryObjectType::ServicePrincipal,
        _ => DirectoryObjectType::Other,
    })
}

/// Reads a whole facts file. `raw` should already be redacted.
pub fn parse(raw: &RawFacts) -> Result<Facts> {
    if raw.format != raw::FORMAT {
        return Err(ParseError {
            collection: "format".into(),
            object: "(file)".into(),
            message: format!("unsupported facts format {:?}; this azpath reads {:?}", raw.format, raw::FORMAT),
        });
    }
    let collected_at = parse_time(&raw.collected_at).ok_or_else(|| ParseError {
        collection: "collectedAt".into(),
        object: "(file)".into(),
        message: format!("not an RFC 3339 time: {:?}", raw.collected_at),
    })?;
    let mut f = Facts {
        tenant_id: norm(&raw.tenant.id),
        tenant_name: raw.tenant.display_name.clone().unwrap_or_else(|| raw.tenant.id.clone()),
        collected_at,
        completeness: raw.completeness_with_missing(),
        ..Facts::default()
    };
    parse_graph(&raw.graph, &mut f)?;
    parse_arm(&raw.arm, &mut f)?;
    if let Some(note) = unread_package_settings(&f.resources) {
        f.completeness.push(note);
        f.completeness.sort();
    }
    Ok(f)
}

/// What code-in-storage coverage the facts lack: function apps with a managed identity that are
/// not on Flex Consumption name their package storage in app settings (`WEBSITE_RUN_FROM_PACKAGE`,
/// `AzureWebJobsStorage`), which azpath never reads (they hold secrets), so who can replace their
/// code through storage is unknown. One note for all of them, naming a few.
fn unread_package_settings(resources: &[super::Resource]) -> Option<CompletenessNote> {
    let apps: Vec<&str> = resources
        .iter()
        .filter(|r| {
            super::is_function_app(r.kind.as_deref())
                && matches!(r.details, super::ResourceDetails::AppService { deployment_storage: None, .. })
                && r.has_managed_identity()
        })
        .map(|r| r.name.as_str())
        .collect();
    if apps.is_empty() {
        return None;
    }
    let mut named = apps.iter().take(3).copied().collect::<Vec<_>>().join(", ");
    if apps.len() > 3 {
        named.push_str(&format!(" and {} more", apps.len() - 3));
    }
    Some(CompletenessNote {
        what: "arm.functionApps.appSettings".into(),
        scope: None,
        reason: format!(
            "not collected: {} function app(s) with managed identities keep their package location in app \
             settings, which azpath does not read (needs sites/config/list/action and returns secrets); \
             write access to their package storage is not evaluated: {named}",
            apps.len()
        ),
    })
}

fn parse_graph(g: &BTreeMap<String, Value>, f: &mut Facts) -> Result<()> {
    for o in list(g, "users")? {
        f.users.push(User {
            id: norm(&o.str_req("id")?),
            display_name: o.str_opt("displayName")?.unwrap_or_default(),
            user_principal_name: o.str_opt("userPrincipalName")?,
            account_enabled: o.bool_strict("accountEnabled")?,
            user_type: o.str_opt("userType")?,
        });
    }
    for o in list(g, "groups")? {
        let group_types = o.str_list("groupTypes")?;
        f.groups.push(Group {
            id: norm(&o.str_req("id")?),
            display_name: o.str_opt("displayName")?.unwrap_or_default(),
            is_assignable_to_role: o.bool_strict("isAssignableToRole")?.unwrap_or(false),
            security_enabled: o.bool_strict("securityEnabled")?.unwrap_or(false),
            unified: group_types.iter().any(|t| t.eq_ignore_ascii_case("Unified")),
            dynamic: group_types.iter().any(|t| t.eq_ignore_ascii_case("DynamicMembership")),
            synced: o.bool_strict("onPremisesSyncEnabled")?.unwrap_or(false),
            membership_rule: o.str_opt("membershipRule")?.filter(|r| !r.trim().is_empty()),
            rule_paused: rule_paused(&o)?,
        });
    }
    for o in list(g, "servicePrincipals")? {
        f.service_principals.push(ServicePrincipal {
            id: norm(&o.str_req("id")?),
            app_id: o.str_opt("appId")?.map(|s| norm(&s)),
            display_name: o.str_opt("displayName")?.unwrap_or_default(),
            service_principal_type: o.str_opt("servicePrincipalType")?,
            app_owner_organization_id: o.str_opt("appOwnerOrganizationId")?.map(|s| norm(&s)),
            alternative_names: o.str_list("alternativeNames")?,
            tags: o.str_list("tags")?,
        });
    }
    for o in list(g, "applications")? {
        f.applications.push(Application {
            id: norm(&o.str_req("id")?),
            app_id: norm(&o.str_req("appId")?),
            display_name: o.str_opt("displayName")?.unwrap_or_default(),
        });
    }
    for (group_id, o) in keyed(g, "groupMembers")? {
        f.memberships.push(Membership {
            group_id,
            member_id: norm(&o.str_req("id")?),
            member_type: object_type(&o)?,
            member_name: o.str_opt("displayName")?,
        });
    }
    for (collection, owned_kind) in [
        ("groupOwners", OwnedKind::Group),
        ("applicationOwners", OwnedKind::Application),
        ("servicePrincipalOwners", OwnedKind::ServicePrincipal),
    ] {
        for (owned_id, o) in keyed(g, collection)? {
            f.ownerships.push(Ownership {
                owner_id: norm(&o.str_req("id")?),
                owner_type: object_type(&o)?,
                owner_name: o.str_opt("displayName")?,
                owned_id,
                owned_kind,
            });
        }
    }
    for (sp_id, o) in keyed(g, "servicePrincipalAppRoleAssignments")? {
        let principal_id = o.str_opt("principalId")?.map(|s| norm(&s)).unwrap_or(sp_id);
        f.app_role_assignments.push(AppRoleAssignment {
            id: o.str_opt("id")?.unwrap_or_default(),
            principal_id,
            resource_id: norm(&o.str_req("resourceId")?),
            resource_display_name: o.str_opt("resourceDisplayName")?,
            app_role_id: norm(&o.str_req("appRoleId")?),
        });
    }
    for (app_id, o) in keyed(g, "applicationFederatedIdentityCredentials")? {
        f.federated_credentials.push(FederatedCredential {
            id: o.str_opt("id")?.unwrap_or_default(),
            parent: FederatedParent::Application(app_id),
            name: o.str_opt("name")?.unwrap_or_default(),
            issuer: o.str_req("issuer")?,
            subject: o.str_req("subject")?,
        });
    }
    for o in list(g, "directoryRoleDefinitions")? {
        let mut actions = Vec::new();
        if let Some(Value::Array(perms)) = o.get("rolePermissions") {
            for (i, p) in perms.iter().enumerate() {
                let p = Obj::new(p, "directoryRoleDefinitions.rolePermissions", i)?;
                actions.extend(p.str_list("allowedResourceActions")?);
            }
        }
        let id = o.str_opt("templateId")?.or(o.str_opt("id")?).ok_or_else(|| o.err("missing `id`"))?;
        f.directory_role_definitions.push(DirectoryRoleDefinition {
            id: norm(&id),
            display_name: o.str_opt("displayName")?.unwrap_or_default(),
            is_builtin: o.bool_strict("isBuiltIn")?.unwrap_or(false),
            is_privileged: o.bool_strict("isPrivileged")?,
            allowed_resource_actions: actions,
        });
    }
    for o in list(g, "directoryRoleAssignments")? {
        f.directory_role_assignments.push(DirectoryRoleAssignment {
            id: o.str_req("id")?,
            principal_id: norm(&o.str_req("principalId")?),
            role_definition_id: norm(&o.str_req("roleDefinitionId")?),
            directory_scope_id: o.str_opt("directoryScopeId")?.unwrap_or_else(|| "/".into()),
            eligible: false,
        });
    }
    for o in list(g, "directoryRoleEligibilitySchedules")? {
        let id = o.str_req("id")?;
        if !schedule_active(&o, graph_window(&o)?, f.collected_at)? {
            f.skipped.push(format!("directory role eligibility {id}: not active at the collection time"));
            continue;
        }
        f.directory_role_assignments.push(DirectoryRoleAssignment {
            id,
            principal_id: norm(&o.str_req("principalId")?),
            role_definition_id: norm(&o.str_req("roleDefinitionId")?),
            directory_scope_id: o.str_opt("directoryScopeId")?.unwrap_or_else(|| "/".into()),
            eligible: true,
        });
    }
    for o in list(g, "administrativeUnits")? {
        let membership_type = o.str_opt("membershipType")?;
        f.administrative_units.push(AdministrativeUnit {
            id: norm(&o.str_req("id")?),
            display_name: o.str_opt("displayName")?.unwrap_or_default(),
            restricted: o.bool_strict("isMemberManagementRestricted")?.unwrap_or(false),
            dynamic: membership_type.is_some_and(|t| t.eq_ignore_ascii_case("dynamic")),
            membership_rule: o.str_opt("membershipRule")?.filter(|r| !r.trim().is_empty()),
            rule_paused: rule_paused(&o)?,
        });
    }
    for (unit_id, o) in keyed(g, "administrativeUnitMembers")? {
        f.administrative_unit_members.push(AdministrativeUnitMember {
            unit_id,
            member_id: norm(&o.str_req("id")?),
            member_type: object_type(&o)?,
            member_name: o.str_opt("displayName")?,
        });
    }
    for o in list(g, "groupEligibilitySchedules")? {
        let id = o.str_req("id")?;
        let access = match o.str_req("accessId")?.to_ascii_lowercase().as_str() {
            "member" => GroupAccess::Member,
            "owner" => GroupAccess::Owner,
            other => return Err(o.err(format!("field `accessId` must be member or owner, found {other:?}"))),
        };
        if !schedule_active(&o, graph_window(&o)?, f.collected_at)? {
            f.skipped.push(format!("group eligibility {id}: not active at the collection time"));
            continue;
        }
        f.group_eligibilities.push(GroupEligibility {
            id,
            group_id: norm(&o.str_req("groupId")?),
            principal_id: norm(&o.str_req("principalId")?),
            access,
        });
    }
    Ok(())
}

/// `membershipRuleProcessingState` of a dynamic group or administrative unit: `On` (or absent, Graph's
/// default) processes the rule, `Paused` does not. Anything else is an error: guessing would create
/// or hide a path.
fn rule_paused(o: &Obj) -> Result<bool> {
    match o.str_opt("membershipRuleProcessingState")? {
        None => Ok(false),
        Some(s) if s.eq_ignore_ascii_case("on") => Ok(false),
        Some(s) if s.eq_ignore_ascii_case("paused") => Ok(true),
        Some(s) => Err(o.err(format!("field `membershipRuleProcessingState` must be On or Paused, found {s:?}"))),
    }
}

/// The window of a Graph schedule (`scheduleInfo.startDateTime`, `scheduleInfo.expiration`).
fn graph_window(o: &Obj) -> Result<Window> {
    let start = o.time_opt("scheduleInfo.startDateTime")?;
    let exp_type = o.str_opt("scheduleInfo.expiration.type")?.map(|s| s.to_ascii_lowercase());
    let end = match exp_type.as_deref() {
        // `notSpecified` is Graph's other spelling of "no end".
        None | Some("noexpiration") | Some("notspecified") => None,
        Some("afterdatetime") => Some(
            o.time_opt("scheduleInfo.expiration.endDateTime")?
                .ok_or_else(|| o.err("`scheduleInfo.expiration` is afterDateTime but has no endDateTime"))?,
        ),
        Some("afterduration") => {
            let dur = o.str_req("scheduleInfo.expiration.duration")?;
            let dur = parse_iso_duration(&dur).ok_or_else(|| {
                o.err(format!("`scheduleInfo.expiration.duration` is not an ISO 8601 duration: {dur:?}"))
            })?;
            let start = start.ok_or_else(|| o.err("afterDuration expiration without a start time"))?;
            Some(start.checked_add_signed(dur).ok_or_else(|| {
                o.err(format!("`scheduleInfo.expiration.duration` ends past the last representable time: {dur}"))
            })?)
        }
        Some(other) => return Err(o.err(format!("unknown expiration type {other:?}"))),
    };
    Ok(Window { start, end })
}

/// An ISO 8601 duration as Graph writes them (`PT8H`, `P365D`, `P1DT2H`, `P1W`), read by the
/// `iso8601` crate: units in order (`PnDTnHnMnS`, or `PnW` alone), fractional seconds to the
/// millisecond (`PT1.5S`). Years and months are rejected, having no fixed length (a count of zero,
/// `P0Y1D`, is just days). The crate's `duration()` ignores text after a valid prefix (`PT8Hxx` would
/// be 8 hours, `P1D2H` one day), so this calls its parser and requires the whole string.
fn parse_iso_duration(s: &str) -> Option<chrono::Duration> {
    let (rest, d) = iso8601::parsers::parse_duration(s.as_bytes()).ok()?;
    if !rest.is_empty() {
        return None;
    }
    // Each count is a u32: the largest sum (~3.9e14 s) is well inside chrono's range (~9.2e15 s).
    let (secs, millis) = match d {
        iso8601::Duration::Weeks(w) => (i64::from(w) * 604_800, 0),
        iso8601::Duration::YMDHMS { year: 0, month: 0, day, hour, minute, second, millisecond } => (
            i64::from(day) * 86_400 + i64::from(hour) * 3_600 + i64::from(minute) * 60 + i64::from(second),
            i64::from(millisecond),
        ),
        iso8601::Duration::YMDHMS { .. } => return None,
    };
    Some(chrono::Duration::seconds(secs) + chrono::Duration::milliseconds(millis))
}

/// A schedule counts if it is provisioned (or has no status) and its window holds `at`.
fn schedule_active(o: &Obj, window: Window, at: DateTime<Utc>) -> Result<bool> {
    let status = o.str_opt("status")?.or(o.str_opt("properties.status")?);
    let provisioned =
        status.is_none_or(|s| s.eq_ignore_ascii_case("Provisioned") || s.eq_ignore_ascii_case("Accepted"));
    Ok(provisioned && window.contains(at))
}

fn parse_arm(a: &BTreeMap<String, Value>, f: &mut Facts) -> Result<()> {
    for o in list(a, "managementGroups")? {
        let id = norm(&o.str_req("id")?);
        let parent = o.str_opt("properties.parent.id")?.map(|p| norm(&p));
        let ty = o.str_opt("type")?.unwrap_or_default().to_ascii_lowercase();
        if ty.ends_with("managementgroups/subscriptions") || id.starts_with("/subscriptions/") {
            // A descendants entry for a subscription: it only tells the subscription's parent.
            if let Some(parent) = parent {
                f.subscriptions.push(Subscription {
                    id,
                    display_name: o.str_opt("properties.displayName")?.unwrap_or_default(),
                    parent: Some(parent),
                });
            }
            continue;
        }
        let name = o.str_opt("name")?.unwrap_or_else(|| last_segment(&id).to_string());
        f.management_groups.push(ManagementGroup {
            display_name: o.str_opt("properties.displayName")?.unwrap_or_else(|| name.clone()),
            id,
            name,
            parent,
        });
    }
    f.management_groups.sort_by(|x, y| x.id.cmp(&y.id));
    f.management_groups.dedup_by(|x, y| {
        if x.id == y.id {
            y.parent = y.parent.take().or(x.parent.take());
            true
        } else {
            false
        }
    });
    for o in list(a, "subscriptions")? {
        let id = norm(&o.str_req("id")?);
        let display_name = o.str_opt("displayName")?.unwrap_or_default();
        if let Some(existing) = f.subscriptions.iter_mut().find(|s| s.id == id) {
            existing.display_name = display_name;
        } else {
            f.subscriptions.push(Subscription { id, display_name, parent: None });
        }
    }
    for o in list(a, "resourceGroups")? {
        let id = norm(&o.str_req("id")?);
        f.resource_groups.push(ResourceGroup {
            name: o.str_opt("name")?.unwrap_or_else(|| last_segment(&id).to_string()),
            id,
            tags: o.tags()?,
        });
    }
    for o in list(a, "roleDefinitions")? {
        let id = o.str_opt("name")?.unwrap_or(last_segment(&o.str_req("id")?).to_string());
        let mut permissions = Vec::new();
        if let Some(Value::Array(perms)) = o.get("properties.permissions") {
            for (i, p) in perms.iter().enumerate() {
                let p = Obj::new(p, "roleDefinitions.permissions", i)?;
                permissions.push(Permission {
                    actions: p.patterns("actions")?,
                    not_actions: p.patterns("notActions")?,
                    data_actions: p.patterns("dataActions")?,
                    not_data_actions: p.patterns("notDataActions")?,
                    condition: p.str_opt("condition")?,
                });
            }
        } else {
            return Err(o.err("role definition has no `properties.permissions` list"));
        }
        f.role_definitions.push(RoleDefinition {
            id: norm(&id),
            role_name: o.str_opt("properties.roleName")?.unwrap_or_else(|| id.clone()),
            is_custom: o.str_opt("properties.type")?.is_none_or(|t| !t.eq_ignore_ascii_case("BuiltInRole")),
            permissions,
        });
    }
    for o in list(a, "roleAssignments")? {
        f.role_assignments.push(arm_assignment(&o, false)?);
    }
    for o in list(a, "roleEligibilitySchedules")? {
        let window =
            Window { start: o.time_opt("properties.startDateTime")?, end: o.time_opt("properties.endDateTime")? };
        if !schedule_active(&o, window, f.collected_at)? {
            f.skipped
                .push(format!("role eligibility schedule {}: not active at the collection time", o.str_req("id")?));
            continue;
        }
        f.role_assignments.push(arm_assignment(&o, true)?);
    }
    for o in list(a, "denyAssignments")? {
        let id = o.str_req("id")?;
        let ids = |path: &str| -> Result<Vec<String>> {
            match o.get(path) {
                None => Ok(vec![]),
                Some(Value::Array(items)) => items
                    .iter()
                    .map(|p| {
                        p.get("id")
                            .and_then(Value::as_str)
                            .map(norm)
                            .ok_or_else(|| o.err(format!("`{path}` entries need an `id`")))
                    })
                    .collect(),
                Some(v) => Err(o.err(format!("`{path}` must be a list, found {}", type_name(v)))),
            }
        };
        let mut d = DenyAssignment {
            scope: norm(&o.str_opt("properties.scope")?.unwrap_or_else(|| id.clone())),
            name: o.str_opt("properties.denyAssignmentName")?.unwrap_or_default(),
            principals: ids("properties.principals")?,
            exclude_principals: ids("properties.excludePrincipals")?,
            do_not_apply_to_child_scopes: o.bool_strict("properties.doNotApplyToChildScopes")?.unwrap_or(false),
            permissions: vec![],
            id,
        };
        if let Some(Value::Array(perms)) = o.get("properties.permissions") {
            for (i, p) in perms.iter().enumerate() {
                let p = Obj::new(p, "denyAssignments.permissions", i)?;
                d.permissions.push(Permission {
                    actions: p.patterns("actions")?,
                    not_actions: p.patterns("notActions")?,
                    data_actions: p.patterns("dataActions")?,
                    not_data_actions: p.patterns("notDataActions")?,
                    condition: None,
                });
            }
        }
        f.deny_assignments.push(d);
    }
    for o in list(a, "locks")? {
        f.locks.push(parse_lock(&o)?);
    }
    // Basic publishing credentials policies of web apps and slots: (app id, policy name, allow).
    let mut policies: Vec<(String, String, Option<bool>)> = Vec::new();
    for o in list(a, "resources")? {
        let resource = parse_resource(&o)?;
        if BASIC_AUTH_POLICY_TYPES.contains(&resource.resource_type.as_str()) {
            let app = arm_parent(&resource.id).unwrap_or_default();
            policies.push((app, last_segment(&resource.id).to_string(), o.bool_strict("properties.allow")?));
            continue;
        }
        if let ResourceDetails::Other = resource.details
            && resource.resource_type == "microsoft.managedidentity/userassignedidentities/federatedidentitycredentials"
        {
            f.federated_credentials.push(FederatedCredential {
                id: resource.id.clone(),
                parent: FederatedParent::UserAssignedIdentity(arm_parent(&resource.id).unwrap_or_default()),
                name: resource.name.clone(),
                issuer: o.str_req("properties.issuer")?,
                subject: o.str_req("properties.subject")?,
            });
            continue;
        }
        match resource.resource_type.as_str() {
            "microsoft.documentdb/databaseaccounts/sqlroleassignments" => {
                f.cosmos_role_assignments.push(parse_cosmos_assignment(&o, &resource.id)?);
                continue;
            }
            "microsoft.documentdb/databaseaccounts/sqlroledefinitions" => {
                f.cosmos_role_definitions.push(parse_cosmos_definition(&o, &resource.id)?);
                continue;
            }
            _ => {}
        }
        f.resources.push(resource);
    }
    let at: std::collections::HashMap<String, usize> =
        f.resources.iter().enumerate().map(|(i, r)| (r.id.clone(), i)).collect();
    for (app, name, allow) in policies {
        let details = at.get(&app).map(|&i| &mut f.resources[i].details);
        match (details, name.as_str()) {
            (Some(ResourceDetails::AppService { scm_basic_auth, .. }), "scm") => *scm_basic_auth = allow,
            (Some(ResourceDetails::AppService { ftp_basic_auth, .. }), "ftp") => *ftp_basic_auth = allow,
            _ => f.skipped.push(format!(
                "basic publishing credentials policy {name} of {app}: no such web app or slot, or an unknown policy"
            )),
        }
    }
    Ok(())
}

/// The Cosmos DB account a `sqlRoleAssignments` / `sqlRoleDefinitions` item belongs to.
fn cosmos_account(o: &Obj, id: &str) -> Result<String> {
    arm_parent(id).ok_or_else(|| o.err(format!("cannot read the Cosmos DB account from id {id}")))
}

/// A Cosmos DB role definition id as an ARM id: the API returns the full id; a bare GUID is the
/// definition of that name under the same account.
fn cosmos_definition_id(account: &str, id: &str) -> String {
    let id = norm(id);
    if id.contains('/') { id } else { format!("{account}/sqlroledefinitions/{id}") }
}

fn parse_cosmos_assignment(o: &Obj, id: &str) -> Result<CosmosRoleAssignment> {
    let account_id = cosmos_account(o, id)?;
    Ok(CosmosRoleAssignment {
        id: id.to_string(),
        principal_id: norm(&o.str_req("properties.principalId")?),
        role_definition_id: cosmos_definition_id(&account_id, &o.str_req("properties.roleDefinitionId")?),
        scope: o.str_opt("properties.scope")?.map(|s| norm(&s)).unwrap_or_else(|| account_id.clone()),
        account_id,
    })
}

fn parse_cosmos_definition(o: &Obj, id: &str) -> Result<CosmosRoleDefinition> {
    let account_id = cosmos_account(o, id)?;
    let mut data_actions = Vec::new();
    match o.get("properties.permissions") {
        None | Some(Value::Null) => {}
        Some(Value::Array(perms)) => {
            for (i, p) in perms.iter().enumerate() {
                data_actions
                    .extend(Obj::new(p, "resources.sqlRoleDefinitions.permissions", i)?.patterns("dataActions")?);
            }
        }
        Some(v) => {
            return Err(o.err(format!("field `properties.permissions` must be a list, found {}", type_name(v))));
        }
    }
    Ok(CosmosRoleDefinition {
        id: id.to_string(),
        role_name: o.str_opt("properties.roleName")?.unwrap_or_else(|| last_segment(id).to_string()),
        account_id,
        data_actions,
    })
}

/// A management lock. Its scope is what its id is an extension of; its level is read strictly
/// (a ReadOnly lock removes paths, so an unknown level is an error, not a guess).
fn parse_lock(o: &Obj) -> Result<Lock> {
    const SEGMENT: &str = "/providers/microsoft.authorization/locks/";
    let id = norm(&o.str_req("id")?);
    let Some(at) = id.rfind(SEGMENT) else {
        return Err(o.err(format!("lock id must end in /providers/Microsoft.Authorization/locks/{{name}}: {id}")));
    };
    let scope = if at == 0 { "/".to_string() } else { id[..at].to_string() };
    let level = o.str_req("properties.level")?;
    let level = match level.to_ascii_lowercase().as_str() {
        "cannotdelete" => LockLevel::CanNotDelete,
        "readonly" => LockLevel::ReadOnly,
        _ => {
            let other = &level;
            return Err(o.err(format!(
                "field `properties.level` must be CanNotDelete or ReadOnly, found {other:?}; azpath will not guess what a lock blocks"
            )));
        }
    };
    Ok(Lock {
        name: o.str_opt("name")?.unwrap_or_else(|| last_segment(&id).to_string()),
        notes: o.str_opt("properties.notes")?,
        id,
        scope,
        level,
    })
}
/// The child resources that say whether an app's publishing credentials (basic auth) may be used:
/// folded into the app's [`ResourceDetails::AppService`], never resources of their own.
const BASIC_AUTH_POLICY_TYPES: &[&str] = &[
    "microsoft.web/sites/basicpublishingcredentialspolicies",
    "microsoft.web/sites/slots/basicpublishingcredentialspolicies",
];

fn arm_assignment(o: &Obj, eligible: bool) -> Result<RoleAssignment> {
    let id = o.str_req("id")?;
    let role = o.str_req("properties.roleDefinitionId")?;
    Ok(RoleAssignment {
        principal_id: norm(&o.str_req("properties.principalId")?),
        principal_type: o.str_opt("properties.principalType")?,
        role_definition_id: norm(last_segment(&role)),
        scope: norm(&o.str_req("properties.scope")?),
        condition: o.str_opt("properties.condition")?.filter(|c| !c.trim().is_empty()),
        eligible,
        id,
    })
}

fn parse_identity(o: &Obj) -> Result<ResourceIdentity> {
    let mut identity = ResourceIdentity::default();
    let Some(ty) = o.str_opt("identity.type")? else { return Ok(identity) };
    // Lenient: "SystemAssigned,UserAssigned", "SystemAssigned, UserAssigned", any case.
    let kinds: Vec<String> = ty.split(',').map(|s| s.trim().to_ascii_lowercase()).collect();
    if kinds.iter().any(|k| k == "systemassigned") {
        identity.system_principal_id = o.str_opt("identity.principalId")?.map(|s| norm(&s));
    }
    if kinds.iter().any(|k| k == "userassigned")
        && let Some(Value::Object(uamis)) = o.get("identity.userAssignedIdentities")
    {
        for (uami_id, v) in uamis {
            let principal = v.get("principalId").and_then(Value::as_str).map(norm);
            identity.user_assigned.push((norm(uami_id), principal));
        }
        identity.user_assigned.sort();
    }
    Ok(identity)
}

/// The storage account and container of a blob container URL
/// (`https://{account}.blob.core.windows.net/{container}`, any cloud's suffix).
pub fn blob_container_of_url(url: &str) -> (Option<String>, Option<String>) {
    let rest = url.trim().split_once("://").map_or(url.trim(), |(_, r)| r);
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    let account =
        host.split_once(".blob.").map(|(a, _)| a.to_ascii_lowercase()).filter(|a| !a.is_empty() && !a.contains('.'));
    let container = path.split(['/', '?']).next().filter(|c| !c.is_empty()).map(str::to_string);
    (account, container)
}

/// `properties.functionAppConfig.deployment.storage` of a Flex Consumption function app.
fn deployment_storage(o: &Obj) -> Result<Option<DeploymentStorage>> {
    const AT: &str = "properties.functionAppConfig.deployment.storage";
    let Some(url) = o.str_opt(&format!("{AT}.value"))? else { return Ok(None) };
    let (account_name, container) = blob_container_of_url(&url);
    Ok(Some(DeploymentStorage {
        storage_type: o.str_opt(&format!("{AT}.type"))?,
        authentication: o.str_opt(&format!("{AT}.authentication.type"))?,
        url,
        account_name,
        container,
    }))
}

fn parse_resource(o: &Obj) -> Result<Resource> {
    let id = norm(&o.str_req("id")?);
    let resource_type = o
        .str_opt("type")?
        .map(|t| t.to_ascii_lowercase())
        .or_else(|| arm_type(&id))
        .ok_or_else(|| o.err("resource has no `type` and none can be read from its id"))?;
    let kind = o.str_opt("kind")?;
    let details = match resource_type.as_str() {
        "microsoft.storage/storageaccounts" => ResourceDetails::StorageAccount {
            allow_shared_key_access: o.bool_strict("properties.allowSharedKeyAccess")?,
        },
        "microsoft.keyvault/vaults" => {
            let mut access_policies = Vec::new();
            if let Some(Value::Array(policies)) = o.get("properties.accessPolicies") {
                for (i, p) in policies.iter().enumerate() {
                    let p = Obj::new(p, "resources.accessPolicies", i)?;
                    access_policies.push(AccessPolicy {
                        object_id: norm(&p.str_req("objectId")?),
                        application_id: p.str_opt("applicationId")?.map(|s| norm(&s)),
                        secrets: p.str_list("permissions.secrets")?,
                        keys: p.str_list("permissions.keys")?,
                        certificates: p.str_list("permissions.certificates")?,
                    });
                }
            }
            ResourceDetails::KeyVault {
                enable_rbac_authorization: o.bool_strict("properties.enableRbacAuthorization")?,
                access_policies,
            }
        }
        "microsoft.cognitiveservices/accounts" => ResourceDetails::CognitiveServices {
            kind: kind.clone(),
            disable_local_auth: o.bool_strict("properties.disableLocalAuth")?,
        },
        "microsoft.machinelearningservices/workspaces" => ResourceDetails::MlWorkspace {
            storage_account: o.str_opt("properties.storageAccount")?.map(|s| norm(&s)),
            key_vault: o.str_opt("properties.keyVault")?.map(|s| norm(&s)),
            container_registry: o.str_opt("properties.containerRegistry")?.map(|s| norm(&s)),
        },
        "microsoft.machinelearningservices/workspaces/datastores" => ResourceDetails::MlDatastore {
            account_name: o.str_opt("properties.accountName")?.map(|s| s.to_ascii_lowercase()),
            container_name: o.str_opt("properties.containerName")?,
            credentials_type: o.str_opt("properties.credentials.credentialsType")?,
            client_id: o.str_opt("properties.credentials.clientId")?.map(|s| norm(&s)),
        },
        "microsoft.machinelearningservices/workspaces/computes" => {
            ResourceDetails::MlCompute { compute_type: o.str_opt("properties.computeType")? }
        }
        "microsoft.machinelearningservices/workspaces/connections" => ResourceDetails::MlConnection {
            auth_type: o.str_opt("properties.authType")?,
            target: o.str_opt("properties.target")?,
            client_id: o.str_opt("properties.credentials.clientId")?.map(|s| norm(&s)),
        },
        "microsoft.containerservice/managedclusters" => ResourceDetails::Aks {
            disable_local_accounts: o.bool_strict("properties.disableLocalAccounts")?,
            kubelet_identity: match o.str_opt("properties.identityProfile.kubeletidentity.resourceId")? {
                Some(rid) => Some((
                    norm(&rid),
                    o.str_opt("properties.identityProfile.kubeletidentity.objectId")?.map(|s| norm(&s)),
                )),
                None => None,
            },
            azure_rbac: o.bool_strict("properties.aadProfile.enableAzureRBAC")?,
        },
        "microsoft.containerregistry/registries" => ResourceDetails::ContainerRegistry {
            admin_user_enabled: o.bool_strict("properties.adminUserEnabled")?,
            abac_repository_permissions: o
                .str_opt("properties.roleAssignmentMode")?
                .is_some_and(|m| m.eq_ignore_ascii_case("AbacRepositoryPermissions")),
        },
        "microsoft.web/sites" | "microsoft.web/sites/slots" => ResourceDetails::AppService {
            scm_basic_auth: None,
            ftp_basic_auth: None,
            deployment_storage: deployment_storage(o)?,
        },
        "microsoft.documentdb/databaseaccounts" => {
            ResourceDetails::CosmosDb { disable_local_auth: o.bool_strict("properties.disableLocalAuth")? }
        }
        "microsoft.managedidentity/userassignedidentities" => ResourceDetails::UserAssignedIdentity {
            principal_id: o.str_opt("properties.principalId")?.map(|s| norm(&s)),
            client_id: o.str_opt("properties.clientId")?.map(|s| norm(&s)),
        },
        _ => ResourceDetails::Other,
    };
    Ok(Resource {
        name: o.str_opt("name")?.unwrap_or_else(|| last_segment(&id).to_string()),
        identity: parse_identity(o)?,
        tags: o.tags()?,
        id,
        resource_type,
        kind,
        details,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn raw_with(graph: Value, arm: Value) -> RawFacts {
        let mut raw = RawFacts::from_json(
            &json!({"format": "azpath-facts/1", "tenant": {"id": "T"}, "collectedAt": "2026-11-01T09:00:00Z",
                    "graph": graph, "arm": arm})
            .to_string(),
        )
        .unwrap();
        raw.redact_secrets();
        raw
    }

    #[test]
    fn basic_publishing_credentials_policies_are_folded_into_their_app_or_slot() {
        let site = "/subscriptions/S/resourceGroups/RG/providers/Microsoft.Web/sites/app";
        let slot = format!("{site}/slots/staging");
        let policy = |parent: &str, ty: &str, name: &str, allow: Value| json!({"id": format!("{parent}/basicPublishingCredentialsPolicies/{name}"), "name": name, "type": ty, "properties": {"allow": allow}});
        let resources = json!([
            policy(site, "Microsoft.Web/sites/basicPublishingCredentialsPolicies", "scm", json!(false)),
            policy(site, "Microsoft.Web/sites/basicPublishingCredentialsPolicies", "ftp", json!(true)),
            {"id": site, "type": "Microsoft.Web/sites", "kind": "functionapp"},
            {"id": slot, "type": "Microsoft.Web/sites/slots", "kind": "functionapp"},
            policy(&slot, "Microsoft.Web/sites/slots/basicPublishingCredentialsPolicies", "scm", json!(true)),
            policy("/subscriptions/S/resourceGroups/RG/providers/Microsoft.Web/sites/gone", "Microsoft.Web/sites/basicPublishingCredentialsPolicies", "scm", json!(true)),
        ]);
        let f = parse(&raw_with(json!({}), json!({"resources": resources}))).unwrap();
        assert_eq!(f.resources.len(), 2, "policies are settings of their app, not resources");
        let details = |id: &str| &f.resources.iter().find(|r| r.id == norm(id)).unwrap().details;
        assert!(matches!(
            details(site),
            ResourceDetails::AppService {
                scm_basic_auth: Some(false),
                ftp_basic_auth: Some(true),
                deployment_storage: None
            }
        ));
        assert!(matches!(
            details(&slot),
            ResourceDetails::AppService { scm_basic_auth: Some(true), ftp_basic_auth: None, deployment_storage: None }
        ));
        assert_eq!(f.skipped.len(), 1, "{:?}", f.skipped);
        let bad = json!([{"id": site, "type": "Microsoft.Web/sites"},
            policy(site, "Microsoft.Web/sites/basicPublishingCredentialsPolicies", "scm", json!("true"))]);
        let err = parse(&raw_with(json!({}), json!({"resources": bad}))).unwrap_err();
        assert!(err.to_string().contains("properties.allow"), "{err}");
    }

    #[test]
    fn identity_type_is_read_leniently() {
        let body = json!({"id": "/subscriptions/S/resourceGroups/RG/providers/Microsoft.Web/sites/app", "type": "Microsoft.Web/sites",
            "identity": {"type": "SystemAssigned, UserAssigned", "principalId": "AAA",
              "userAssignedIdentities": {"/subscriptions/S/resourcegroups/RG/providers/Microsoft.ManagedIdentity/userAssignedIdentities/u": {"principalId": "BBB"}}}});
        let f = parse(&raw_with(json!({}), json!({"resources": [body]}))).unwrap();
        let r = &f.resources[0];
        assert_eq!(r.id, "/subscriptions/s/resourcegroups/rg/providers/microsoft.web/sites/app");
        assert_eq!(r.identity.system_principal_id.as_deref(), Some("aaa"));
        assert_eq!(r.identity.user_assigned[0].1.as_deref(), Some("bbb"));
    }

    #[test]
    fn a_security_flag_of_the_wrong_type_is_an_error_naming_the_field() {
        let body = json!({"id": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/sa",
            "type": "Microsoft.Storage/storageAccounts", "properties": {"allowSharedKeyAccess": "false"}});
        let err = parse(&raw_with(json!({}), json!({"resources": [body]}))).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("allowSharedKeyAccess"), "{msg}");
        assert!(msg.contains("storageAccounts/sa"), "{msg}");
    }

    #[test]
    fn unknown_resource_types_are_kept() {
        let body = json!({"id": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v",
            "type": "Microsoft.Network/virtualNetworks"});
        let f = parse(&raw_with(json!({}), json!({"resources": [body]}))).unwrap();
        assert_eq!(f.resources.len(), 1);
        assert!(matches!(f.resources[0].details, ResourceDetails::Other));
    }

    #[test]
    fn expired_and_future_eligibilities_are_skipped() {
        let sched = |id: &str, start: &str, end: &str| {
            json!({"id": id, "properties": {
            "scope": "/subscriptions/s", "principalId": "p", "principalType": "User",
            "roleDefinitionId": "/subscriptions/s/providers/Microsoft.Authorization/roleDefinitions/8e3af657-a8ff-443c-a75c-2fe8c4bcb635",
            "status": "Provisioned", "startDateTime": start, "endDateTime": end}})
        };
        let f = parse(&raw_with(
            json!({}),
            json!({"roleEligibilitySchedules": [
                sched("/x/expired", "2025-01-01T00:00:00Z", "2026-03-01T00:00:00Z"),
                sched("/x/future", "2027-01-01T00:00:00Z", "2028-03-01T00:00:00Z"),
                sched("/x/active", "2026-01-01T00:00:00Z", "2027-03-01T00:00:00Z"),
            ]}),
        ))
        .unwrap();
        assert_eq!(f.role_assignments.len(), 1);
        assert_eq!(f.role_assignments[0].id, "/x/active");
        assert!(f.role_assignments[0].eligible);
        assert_eq!(f.skipped.len(), 2);
    }

    #[test]
    fn graph_schedules_that_end_after_a_duration() {
        let sched = |id: &str, start: &str, dur: &str| {
            json!({"id": id, "principalId": "p", "roleDefinitionId": "r", "directoryScopeId": "/", "status": "Provisioned",
                   "scheduleInfo": {"startDateTime": start, "expiration": {"type": "afterDuration", "duration": dur}}})
        };
        let parse_one = |s: Value| parse(&raw_with(json!({"directoryRoleEligibilitySchedules": [s]}), json!({})));
        // Collected at 2026-11-01T09:00Z.
        let f = parse_one(sched("active", "2026-10-01T00:00:00Z", "P365D")).unwrap();
        assert_eq!(f.directory_role_assignments.len(), 1);
        let f = parse_one(sched("expired", "2026-11-01T00:00:00Z", "PT8H")).unwrap();
        assert_eq!(f.directory_role_assignments.len(), 0);
        assert_eq!(f.skipped.len(), 1);
        let f = parse_one(sched("active", "2026-11-01T00:00:00Z", "PT9H0.5S")).unwrap();
        assert_eq!(f.directory_role_assignments.len(), 1);
        let err = parse_one(sched("yearly", "2026-10-01T00:00:00Z", "P1Y")).unwrap_err().to_string();
        assert!(err.contains("not an ISO 8601 duration: \"P1Y\""), "{err}");
        let err = parse_one(sched("forever", "2026-10-01T00:00:00Z", "P4294967295W")).unwrap_err().to_string();
        assert!(err.contains("past the last representable time"), "{err}");
    }

    #[test]
    fn graph_schedule_durations() {
        use chrono::Duration as D;
        assert_eq!(parse_iso_duration("PT8H"), Some(D::hours(8)));
        assert_eq!(parse_iso_duration("P1DT2H"), Some(D::hours(26)));
        assert_eq!(parse_iso_duration("P365D"), Some(D::days(365)));
        assert_eq!(parse_iso_duration("P1DT2H3M4S"), Some(D::seconds(93_784)));
        assert_eq!(parse_iso_duration("PT90M"), Some(D::minutes(90)));
        assert_eq!(parse_iso_duration("PT0S"), Some(D::zero()));
        assert_eq!(parse_iso_duration("P1W"), Some(D::weeks(1)));
        assert_eq!(parse_iso_duration("P1DT"), Some(D::days(1)));
        // Fractional seconds, to the millisecond (further digits are dropped).
        assert_eq!(parse_iso_duration("PT1.5S"), Some(D::milliseconds(1_500)));
        assert_eq!(parse_iso_duration("PT0,25S"), Some(D::milliseconds(250)));
        assert_eq!(parse_iso_duration("PT0.0000001S"), Some(D::zero()));
        // Years and months have no fixed length; zero of them is nothing.
        assert_eq!(parse_iso_duration("P1Y"), None);
        assert_eq!(parse_iso_duration("P1M"), None);
        assert_eq!(parse_iso_duration("P1Y2M3D"), None);
        assert_eq!(parse_iso_duration("P2015-11-03T21:56"), None);
        assert_eq!(parse_iso_duration("P0Y1D"), Some(D::days(1)));
        // Not durations, or not all of the string.
        for bad in ["8H", "", "P", "pt8h", "-P1D", "PT8Hxx", "P1D2H", "PT30M8H", "P1W1D", "PT1.5H", "PT99999999999S"] {
            assert_eq!(parse_iso_duration(bad), None, "{bad}");
        }
        // The largest counts stay in range.
        assert_eq!(parse_iso_duration("P4294967295W"), Some(D::weeks(4_294_967_295)));
    }

    #[test]
    fn administrative_units_and_their_members() {
        let graph = json!({
            "administrativeUnits": [
                {"id": "AU-1", "displayName": "ML contractors", "isMemberManagementRestricted": null, "membershipType": null},
                {"id": "au-2", "displayName": "Executives", "isMemberManagementRestricted": true},
                {"id": "au-3", "displayName": "Dynamic", "membershipType": "Dynamic",
                 "membershipRule": "user.department -eq \"ML\"", "membershipRuleProcessingState": "Paused"}],
            "administrativeUnitMembers": {"AU-1": [
                {"@odata.type": "#microsoft.graph.user", "id": "U-1", "displayName": "carol"},
                {"@odata.type": "#microsoft.graph.device", "id": "d-1"}]}});
        let f = parse(&raw_with(graph, json!({}))).unwrap();
        let u = &f.administrative_units;
        assert_eq!((u[0].id.as_str(), u[0].restricted, u[0].dynamic), ("au-1", false, false));
        assert!(u[1].restricted && !u[1].dynamic);
        assert!(u[2].dynamic && u[2].rule_paused && u[2].membership_rule.is_some());
        let m = &f.administrative_unit_members;
        assert_eq!((m[0].unit_id.as_str(), m[0].member_id.as_str()), ("au-1", "u-1"));
        assert_eq!(m[0].member_type, DirectoryObjectType::User);
        assert_eq!(m[1].member_type, DirectoryObjectType::Other);
        assert!(!f.completeness.iter().any(|n| n.what.contains("administrativeUnit")), "{:?}", f.completeness);
    }

    #[test]
    fn a_restricted_flag_or_processing_state_of_the_wrong_shape_is_an_error() {
        let bad = json!({"administrativeUnits": [{"id": "au-1", "isMemberManagementRestricted": "true"}]});
        let err = parse(&raw_with(bad, json!({}))).unwrap_err().to_string();
        assert!(err.contains("isMemberManagementRestricted") && err.contains("au-1"), "{err}");
        let bad = json!({"groups": [{"id": "g-1", "groupTypes": ["DynamicMembership"], "membershipRuleProcessingState": "Sometimes"}]});
        let err = parse(&raw_with(bad, json!({}))).unwrap_err().to_string();
        assert!(err.contains("membershipRuleProcessingState") && err.contains("g-1"), "{err}");
    }

    #[test]
    fn a_non_object_item_is_an_error() {
        let err = parse(&raw_with(json!({"users": [42]}), json!({}))).unwrap_err();
        assert!(err.to_string().contains("users: item 0"), "{err}");
    }

    #[test]
    fn locks_are_read_with_their_scope_and_level() {
        let lock = |id: &str, level: &str| json!({"id": id, "type": "Microsoft.Authorization/locks", "name": last_segment(id), "properties": {"level": level, "notes": "n"}});
        let sa = "/subscriptions/S/resourceGroups/RG/providers/Microsoft.Storage/storageAccounts/sa";
        let f = parse(&raw_with(
            json!({}),
            json!({"locks": [
                lock("/subscriptions/S/providers/Microsoft.Authorization/locks/sub-lock", "CanNotDelete"),
                lock("/subscriptions/S/resourceGroups/RG/providers/Microsoft.Authorization/locks/rg-lock", "ReadOnly"),
                lock(&format!("{sa}/providers/Microsoft.Authorization/locks/sa-lock"), "readOnly"),
            ]}),
        ))
        .unwrap();
        let got: Vec<(&str, &str, LockLevel)> =
            f.locks.iter().map(|l| (l.name.as_str(), l.scope.as_str(), l.level)).collect();
        assert_eq!(
            got,
            vec![
                ("sub-lock", "/subscriptions/s", LockLevel::CanNotDelete),
                ("rg-lock", "/subscriptions/s/resourcegroups/rg", LockLevel::ReadOnly),
                ("sa-lock", norm(sa).as_str(), LockLevel::ReadOnly),
            ]
        );
        assert_eq!(f.locks[0].notes.as_deref(), Some("n"));
        assert!(f.completeness.iter().all(|n| n.what != "arm.locks"), "an empty or full list is collected");
    }

    #[test]
    fn a_lock_of_unknown_level_or_shape_is_an_error() {
        let bad = json!({"id": "/subscriptions/s/providers/Microsoft.Authorization/locks/l", "properties": {"level": "NotSpecified"}});
        let err = parse(&raw_with(json!({}), json!({"locks": [bad]}))).unwrap_err().to_string();
        assert!(err.contains("locks") && err.contains("properties.level") && err.contains("NotSpecified"), "{err}");
        let missing = json!({"id": "/subscriptions/s/providers/Microsoft.Authorization/locks/l", "properties": {}});
        let err = parse(&raw_with(json!({}), json!({"locks": [missing]}))).unwrap_err().to_string();
        assert!(err.contains("properties.level"), "{err}");
        let elsewhere = json!({"id": "/subscriptions/s/providers/Microsoft.Authorization/roleAssignments/x", "properties": {"level": "ReadOnly"}});
        let err = parse(&raw_with(json!({}), json!({"locks": [elsewhere]}))).unwrap_err().to_string();
        assert!(err.contains("must end in"), "{err}");
    }

    #[test]
    fn function_apps_whose_package_location_is_in_app_settings_are_one_completeness_note() {
        let site = |name: &str, identity: Value, props: Value| {
            json!({"id": format!("/subscriptions/S/resourceGroups/RG/providers/Microsoft.Web/sites/{name}"),
                "type": "Microsoft.Web/sites", "name": name, "kind": "functionapp,linux", "identity": identity, "properties": props})
        };
        let mi = json!({"type": "SystemAssigned", "principalId": "p"});
        let flex = json!({"functionAppConfig": {"deployment": {"storage": {"type": "blobContainer",
            "value": "https://st.blob.core.windows.net/app-package"}}}});
        let note = |resources: Vec<Value>| {
            let f = parse(&raw_with(json!({}), json!({"resources": resources}))).unwrap();
            f.completeness.into_iter().find(|n| n.what == "arm.functionApps.appSettings")
        };
        assert_eq!(note(vec![site("flex", mi.clone(), flex)]), None, "Flex apps name their package storage");
        assert_eq!(note(vec![site("no-identity", Value::Null, json!({}))]), None, "no identity, nothing to run as");
        let n = note(vec![site("classic", mi.clone(), json!({})), site("classic2", mi, json!({}))]).unwrap();
        assert!(n.reason.contains("2 function app(s)") && n.reason.contains("classic, classic2"), "{}", n.reason);
    }

    #[test]
    fn facts_without_the_lock_collection_read_as_no_locks_and_say_so() {
        let f = parse(&raw_with(json!({}), json!({}))).unwrap();
        assert!(f.locks.is_empty());
        assert!(f.completeness.iter().any(|n| n.what == "arm.locks" && n.reason.contains("not collected")));
    }

    #[test]
    fn uami_federated_credentials_attach_to_the_identity() {
        let uami = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/u";
        let fic = json!({"id": format!("{uami}/federatedIdentityCredentials/gh"),
            "type": "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials",
            "properties": {"issuer": "https://token.actions.githubusercontent.com", "subject": "repo:o/r:ref:refs/heads/main"}});
        let f = parse(&raw_with(json!({}), json!({"resources": [fic]}))).unwrap();
        assert_eq!(f.federated_credentials.len(), 1);
        assert_eq!(f.federated_credentials[0].parent, FederatedParent::UserAssignedIdentity(norm(uami)));
        assert!(f.resources.is_empty());
    }
}
