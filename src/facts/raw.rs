//! The raw facts file (`azpath-facts/1`, see `docs/facts-format.md`): Microsoft Graph and ARM JSON
//! grouped by the request that produced it. Kept as JSON values so the store can keep exactly what
//! Azure said and rules can be re-run on it later.

use super::redact::{redact_value, scrub_text};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::borrow::Cow;
use std::collections::BTreeMap;

pub const FORMAT: &str = "azpath-facts/1";

/// The tenant a facts file describes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TenantInfo {
    pub id: String,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub default_domain: Option<String>,
}

pub use crate::model::CompletenessNote;

/// A facts file that is not JSON or not `azpath-facts/1`: serde's message, with quoted input
/// replaced by `"[redacted]"`.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct FactsFileError(String);

/// A whole facts file, with the API payloads left as JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RawFacts {
    pub format: String,
    pub tenant: TenantInfo,
    pub collected_at: String,
    #[serde(default)]
    pub source: Option<String>,
    #[serde(default)]
    pub graph: BTreeMap<String, Value>,
    #[serde(default)]
    pub arm: BTreeMap<String, Value>,
    #[serde(default)]
    pub completeness: Vec<CompletenessNote>,
}

/// Collections the parsers read, so a missing one is reported as "not collected".
pub const GRAPH_COLLECTIONS: &[&str] = &[
    "users",
    "groups",
    "servicePrincipals",
    "applications",
    "groupMembers",
    "groupOwners",
    "servicePrincipalOwners",
    "servicePrincipalAppRoleAssignments",
    "applicationOwners",
    "applicationFederatedIdentityCredentials",
    "directoryRoleDefinitions",
    "directoryRoleAssignments",
    "directoryRoleEligibilitySchedules",
    "groupEligibilitySchedules",
    "administrativeUnits",
    "administrativeUnitMembers",
];

pub const ARM_COLLECTIONS: &[&str] = &[
    "managementGroups",
    "subscriptions",
    "resourceGroups",
    "roleDefinitions",
    "roleAssignments",
    "roleEligibilitySchedules",
    "denyAssignments",
    "resources",
    "locks",
];

impl FactsFileError {
    /// serde's message with every quoted string replaced: serde quotes a value of the wrong type
    /// (`invalid type: string "..."`), which may be a credential.
    pub(crate) fn of(e: serde_json::Error) -> FactsFileError {
        static QUOTED: std::sync::LazyLock<regex::Regex> =
            std::sync::LazyLock::new(|| regex::Regex::new(r#""(?:[^"\\]|\\.)*""#).expect("a valid regex"));
        FactsFileError(QUOTED.replace_all(&e.to_string(), "\"[redacted]\"").into_owned())
    }
}

impl RawFacts {
    /// Parses a facts file from JSON text. The error never quotes a string of the file.
    pub fn from_json(text: &str) -> Result<RawFacts, FactsFileError> {
        serde_json::from_str(text).map_err(FactsFileError::of)
    }

    /// Removes every credential (by name, by shape and in value bags: see [`super::redact`]) in
    /// place, from the payloads and from every other string the file carries, and returns how many
    /// properties were removed or values replaced.
    pub fn redact_secrets(&mut self) -> usize {
        let mut removed = 0;
        for value in self.graph.values_mut().chain(self.arm.values_mut()) {
            removed += redact_value(value);
        }
        removed + scrub_header(&mut self.tenant, &mut self.source, &mut self.completeness)
    }

    /// The completeness notes, plus one for every known collection the file does not contain (or
    /// holds as `null`). A collection that is present but empty (`[]`, `{}`) was read and found
    /// empty: that is a complete answer, and gets no note.
    pub fn completeness_with_missing(&self) -> Vec<CompletenessNote> {
        missing_collections(self.completeness.clone(), |side, name| {
            let map = if side == "graph" { &self.graph } else { &self.arm };
            map.get(name).is_some_and(|v| !v.is_null())
        })
    }
}

/// Scrubs credential shapes from the strings of a facts file outside its payloads (tenant names,
/// source, completeness notes); returns how many were changed.
pub(crate) fn scrub_header(
    tenant: &mut TenantInfo,
    source: &mut Option<String>,
    completeness: &mut [CompletenessNote],
) -> usize {
    let mut removed = 0;
    let notes = completeness.iter_mut().flat_map(|n| [Some(&mut n.what), n.scope.as_mut(), Some(&mut n.reason)]);
    let header = [tenant.display_name.as_mut(), tenant.default_domain.as_mut(), source.as_mut()];
    for text in notes.chain(header).flatten() {
        if let Cow::Owned(clean) = scrub_text(text) {
            *text = clean;
            removed += 1;
        }
    }
    removed
}

/// `notes` plus a "not collected" note for every known collection `present(side, name)` denies.
pub(crate) fn missing_collections(
    mut notes: Vec<CompletenessNote>,
    present: impl Fn(&str, &str) -> bool,
) -> Vec<CompletenessNote> {
    for (side, names) in [("graph", GRAPH_COLLECTIONS), ("arm", ARM_COLLECTIONS)] {
        for name in names {
            if !present(side, name) {
                notes.push(CompletenessNote {
                    what: format!("{side}.{name}"),
                    scope: None,
                    reason: "not in the facts file (not collected)".into(),
                });
            }
        }
    }
    notes.sort();
    notes.dedup();
    notes
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn redacts_credentials_at_any_depth() {
        let mut raw = RawFacts {
            format: FORMAT.into(),
            tenant: TenantInfo { id: "t".into(), display_name: None, default_domain: None },
            collected_at: "2026-01-01T00:00:00Z".into(),
            source: None,
            graph: BTreeMap::from([(
                "servicePrincipals".to_string(),
                json!([{"id": "a", "passwordCredentials": [{"keyId": "k", "secretText": "hunter2"}],
                        "keyCredentials": [{"keyId": "c", "key": "MIIB..."}]}]),
            )]),
            arm: BTreeMap::from([(
                "resources".to_string(),
                json!([{"id": "/x", "properties": {"primaryKey": "abc", "accessToken": "eyJ", "allowSharedKeyAccess": true}}]),
            )]),
            completeness: vec![],
        };
        assert_eq!(raw.redact_secrets(), 4);
        let text = serde_json::to_string(&raw).unwrap();
        for secret in ["hunter2", "MIIB", "abc\"", "eyJ"] {
            assert!(!text.contains(secret), "{secret} survived: {text}");
        }
        assert!(text.contains("allowSharedKeyAccess"));
    }

    #[test]
    fn missing_collections_are_reported_not_collected() {
        let raw = RawFacts {
            format: FORMAT.into(),
            tenant: TenantInfo { id: "t".into(), display_name: None, default_domain: None },
            collected_at: "2026-01-01T00:00:00Z".into(),
            source: None,
            graph: BTreeMap::from([("users".to_string(), json!([]))]),
            arm: BTreeMap::new(),
            completeness: vec![],
        };
        let notes = raw.completeness_with_missing();
        assert!(notes.iter().any(|n| n.what == "arm.roleAssignments"));
        assert!(notes.iter().any(|n| n.what == "arm.locks" && n.reason.contains("not collected")));
        assert!(!notes.iter().any(|n| n.what == "graph.users"));
    }

    #[test]
    fn empty_collections_are_complete_and_null_ones_are_not() {
        let mut graph: BTreeMap<String, Value> = GRAPH_COLLECTIONS
            .iter()
            .map(|c| {
                let keyed = c.starts_with("group") && *c != "groups" && *c != "groupEligibilitySchedules"
                    || c.starts_with("servicePrincipal") && *c != "servicePrincipals"
                    || c.starts_with("application") && *c != "applications"
                    || *c == "administrativeUnitMembers";
                (c.to_string(), if keyed { json!({}) } else { json!([]) })
            })
            .collect();
        let arm = ARM_COLLECTIONS.iter().map(|c| (c.to_string(), json!([]))).collect();
        let mut raw = RawFacts {
            format: FORMAT.into(),
            tenant: TenantInfo { id: "t".into(), display_name: None, default_domain: None },
            collected_at: "2026-11-01T00:00:00Z".into(),
            source: None,
            graph: graph.clone(),
            arm,
            completeness: vec![],
        };
        assert_eq!(raw.completeness_with_missing(), vec![], "an empty tenant is a complete answer");
        assert!(crate::facts::parse(&raw).unwrap().completeness.is_empty());
        graph.insert("groupMembers".into(), Value::Null);
        raw.graph = graph;
        let notes = raw.completeness_with_missing();
        assert_eq!(notes.len(), 1);
        assert_eq!(notes[0].what, "graph.groupMembers");
    }
}
