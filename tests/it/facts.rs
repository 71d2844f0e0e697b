//! The facts file's typing contract (`docs/facts-format.md`): a field that is present with the
//! wrong JSON type is an error naming its path, never read as absent (which would quietly add or
//! remove attack paths). Regression tests for each shape a hostile tester found, then a property
//! test over every field of the demo tenant.

use azpath::facts::{self, RawFacts};
use proptest::prelude::*;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::sync::LazyLock;

const SA: &str = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/sa";
const KV: &str = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv";
const APP: &str = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Web/sites/app";
const UAMI: &str = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/u";
const OWNER: &str = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635";

fn raw(graph: Value, arm: Value) -> RawFacts {
    RawFacts::from_json(
        &json!({"format": "azpath-facts/1", "tenant": {"id": "T"}, "collectedAt": "2026-11-01T09:00:00Z",
                "graph": graph, "arm": arm})
        .to_string(),
    )
    .unwrap()
}

fn parse_err(graph: Value, arm: Value) -> String {
    match facts::parse(&raw(graph, arm)) {
        Ok(_) => panic!("the facts were read, but must be rejected"),
        Err(e) => e.to_string(),
    }
}

/// (source, target, kind, requires activation, conditional, cost) of every edge derived from `raw`.
type EdgeSet = BTreeSet<(String, String, String, bool, bool, u32)>;

fn edges(raw: &RawFacts) -> Result<EdgeSet, facts::ParseError> {
    let f = facts::parse(raw)?;
    Ok(azpath::rules::derive(&f)
        .edges
        .iter()
        .map(|e| {
            let kind = format!("{:?}", e.kind);
            (e.source.to_string(), e.target.to_string(), kind, e.requires_activation, e.conditional, e.cost)
        })
        .collect())
}

fn graph_eligibility(schedule_info: Value) -> Value {
    json!({"directoryRoleEligibilitySchedules": [{"id": "e1", "principalId": "p", "roleDefinitionId": "r",
        "directoryScopeId": "/", "status": "Provisioned", "scheduleInfo": schedule_info}]})
}

#[test]
fn an_expiration_that_is_not_an_object_is_an_error_not_a_permanent_eligibility() {
    // Expired on 2026-03-01, before the collection time: read as "no expiration" it became permanent.
    let err = parse_err(
        graph_eligibility(json!({"startDateTime": "2026-01-01T00:00:00Z", "expiration": "2026-03-01T00:00:00Z"})),
        json!({}),
    );
    assert_eq!(
        err,
        "graph.directoryRoleEligibilitySchedules[0].scheduleInfo.expiration (object e1): expected an object, found a string"
    );
    let err = parse_err(graph_eligibility(json!("2026-03-01T00:00:00Z")), json!({}));
    assert!(err.starts_with("graph.directoryRoleEligibilitySchedules[0].scheduleInfo (object e1): expected an object"));
    let err = parse_err(
        graph_eligibility(json!({"startDateTime": "2026-01-01T00:00:00Z",
            "expiration": {"type": "afterDateTime", "endDateTime": {"value": "2026-03-01T00:00:00Z"}}})),
        json!({}),
    );
    assert!(err.starts_with("graph.directoryRoleEligibilitySchedules[0].scheduleInfo.expiration.endDateTime (object e1): expected a string, found an object"), "{err}");
}

#[test]
fn access_policies_that_are_not_an_array_are_an_error() {
    let vault = json!({"id": KV, "type": "Microsoft.KeyVault/vaults", "properties": {"accessPolicies":
        {"objectId": "p", "permissions": {"secrets": ["get"]}}}});
    let err = parse_err(json!({}), json!({"resources": [vault]}));
    assert_eq!(
        err,
        format!("arm.resources[0].properties.accessPolicies (object {KV}): expected an array, found an object")
    );
}

#[test]
fn user_assigned_identities_as_a_list_are_an_error() {
    let app = json!({"id": APP, "type": "Microsoft.Web/sites", "identity": {"type": "UserAssigned",
        "userAssignedIdentities": [{"id": UAMI, "principalId": "u"}]}});
    let err = parse_err(json!({}), json!({"resources": [app]}));
    assert_eq!(
        err,
        format!("arm.resources[0].identity.userAssignedIdentities (object {APP}): expected an object, found an array")
    );
    // An entry that is not an object is named by its key.
    let app = json!({"id": APP, "type": "Microsoft.Web/sites", "identity": {"type": "UserAssigned",
        "userAssignedIdentities": {UAMI: "u"}}});
    let err = parse_err(json!({}), json!({"resources": [app]}));
    assert!(err.starts_with(&format!("arm.resources[0].identity.userAssignedIdentities[\"{UAMI}\"] ")), "{err}");
}

#[test]
fn deny_assignment_permissions_that_are_not_an_array_are_an_error() {
    let deny = json!({"id": "/subscriptions/s/providers/Microsoft.Authorization/denyAssignments/d",
        "properties": {"scope": "/subscriptions/s", "principals": [{"id": "00000000-0000-0000-0000-000000000000"}],
        "permissions": {"actions": ["*"]}}});
    let err = parse_err(json!({}), json!({"denyAssignments": [deny]}));
    assert!(err.starts_with("arm.denyAssignments[0].properties.permissions "), "{err}");
    assert!(err.ends_with(": expected an array, found an object"), "{err}");
}

#[test]
fn storage_properties_that_are_not_an_object_are_an_error_not_shared_keys_allowed() {
    let sa = json!({"id": SA, "type": "Microsoft.Storage/storageAccounts", "properties": "allowSharedKeyAccess=false"});
    let err = parse_err(json!({}), json!({"resources": [sa]}));
    assert_eq!(err, format!("arm.resources[0].properties (object {SA}): expected an object, found a string"));
}

#[test]
fn null_or_wrongly_typed_entries_of_a_list_are_errors() {
    let role = json!({"id": "/x/roleDefinitions/c", "name": "c", "properties": {"roleName": "c",
        "permissions": [{"actions": ["*"], "notActions": [null, "Microsoft.Authorization/*/write"]}]}});
    let err = parse_err(json!({}), json!({"roleDefinitions": [role]}));
    assert!(err.starts_with("arm.roleDefinitions[0].properties.permissions[0].notActions[0] "), "{err}");
    let sp = json!({"id": "sp", "tags": ["azpath:pipeline", 7]});
    let err = parse_err(json!({"servicePrincipals": [sp]}), json!({}));
    assert_eq!(err, "graph.servicePrincipals[0].tags[1] (object sp): expected a string, found a number");
    let rg = json!({"id": "/subscriptions/s/resourceGroups/rg", "tags": {"azpath-crown-jewel": true}});
    let err = parse_err(json!({}), json!({"resourceGroups": [rg]}));
    assert!(err.starts_with("arm.resourceGroups[0].tags.azpath-crown-jewel "), "{err}");
}

#[test]
fn an_assignment_with_an_empty_scope_is_an_error_naming_it() {
    let props = json!({"principalId": "p", "roleDefinitionId": format!("/providers/Microsoft.Authorization/roleDefinitions/{OWNER}"), "scope": ""});
    let item = json!({"id": "/a/1", "properties": props});
    for collection in ["roleAssignments", "roleEligibilitySchedules"] {
        let err = parse_err(json!({}), json!({collection: [item.clone()]}));
        assert_eq!(err, format!("arm.{collection}[0].properties.scope (object /a/1): must not be empty"));
    }
    let deny = json!({"id": "/d/1", "properties": {"scope": " ", "permissions": [{"actions": ["*"]}]}});
    let err = parse_err(json!({}), json!({"denyAssignments": [deny]}));
    assert_eq!(err, "arm.denyAssignments[0].properties.scope (object /d/1): must not be empty");
    let dra = json!({"id": "a1", "principalId": "p", "roleDefinitionId": "r", "directoryScopeId": ""});
    let err = parse_err(json!({"directoryRoleAssignments": [dra]}), json!({}));
    assert_eq!(err, "graph.directoryRoleAssignments[0].directoryScopeId (object a1): must not be empty");
}

#[test]
fn identical_copies_of_an_object_are_read_once_and_different_ones_are_an_error() {
    let assignment = |id: &str, scope: &str, role: &str| {
        json!({"id": id, "properties": {"principalId": "P", "scope": scope,
            "roleDefinitionId": format!("/providers/Microsoft.Authorization/roleDefinitions/{role}")}})
    };
    let reader = "acdd72a7-3385-45ef-bd4e-f482c7b76e94";
    // The same inherited assignment listed under two subscriptions, spelled in two cases.
    let same = json!({"roleAssignments": [
        assignment("/subscriptions/s/providers/Microsoft.Authorization/roleAssignments/a", "/subscriptions/s", OWNER),
        assignment("/SUBSCRIPTIONS/S/providers/Microsoft.Authorization/roleAssignments/A", "/Subscriptions/S", OWNER)]});
    let f = facts::parse(&raw(json!({}), same)).unwrap();
    assert_eq!(f.role_assignments.len(), 1);
    assert_eq!(
        f.role_assignments[0].id, "/subscriptions/s/providers/Microsoft.Authorization/roleAssignments/a",
        "the first copy is kept"
    );
    let different = json!({"roleAssignments": [
        assignment("/subscriptions/s/providers/Microsoft.Authorization/roleAssignments/a", "/subscriptions/s", reader),
        assignment("/subscriptions/s/providers/Microsoft.Authorization/roleAssignments/A", "/subscriptions/s", OWNER)]});
    let err = parse_err(json!({}), different);
    assert!(
        err.starts_with("arm.roleAssignments[1] ") && err.contains("the same id as arm.roleAssignments[0]"),
        "{err}"
    );

    // A vault given twice: one copy's access policies must not meet the other's RBAC flag.
    let vault = |rbac: bool| {
        json!({"id": KV, "type": "Microsoft.KeyVault/vaults",
        "properties": {"enableRbacAuthorization": rbac, "accessPolicies": []}})
    };
    let err = parse_err(
        json!({}),
        json!({"resources": [vault(false), {"id": SA, "type": "Microsoft.Storage/storageAccounts"}, vault(true)]}),
    );
    assert!(err.starts_with("arm.resources[2] ") && err.contains("arm.resources[0]"), "{err}");
    let f = facts::parse(&raw(json!({}), json!({"resources": [vault(true), vault(true)]}))).unwrap();
    assert_eq!(f.resources.len(), 1);

    // One object id on two kinds of directory object.
    let err = parse_err(json!({"users": [{"id": "ABC"}], "groups": [{"id": "abc"}]}), json!({}));
    assert!(err.starts_with("graph.groups[0] (object abc): the same object id as graph.users[0]"), "{err}");
    // A member listed twice with two different types.
    let members = json!({"groupMembers": {"g": [{"@odata.type": "#microsoft.graph.user", "id": "m"},
        {"@odata.type": "#microsoft.graph.group", "id": "M"}]}});
    let err = parse_err(members, json!({}));
    assert!(err.starts_with("graph.groupMembers.g[1] (object M)"), "{err}");
    // A management group with two parents.
    let mg = |parent: &str| {
        json!({"id": "/providers/Microsoft.Management/managementGroups/child",
        "properties": {"parent": {"id": format!("/providers/Microsoft.Management/managementGroups/{parent}")}}})
    };
    let err = parse_err(json!({}), json!({"managementGroups": [mg("a"), mg("b")]}));
    assert!(err.contains("different parents"), "{err}");
    let f = facts::parse(&raw(json!({}), json!({"managementGroups": [mg("a"), mg("a")]}))).unwrap();
    assert_eq!(f.management_groups.len(), 1);
}

#[test]
fn a_null_relationship_list_is_not_collected_not_empty() {
    let graph = json!({"groupMembers": {"g1": null, "g2": []}});
    let f = facts::parse(&raw(graph, json!({}))).unwrap();
    let notes: Vec<_> = f.completeness.iter().filter(|n| n.what == "graph.groupMembers").collect();
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert_eq!(notes[0].scope.as_deref(), Some("g1"));
    assert!(notes[0].reason.contains("not collected"), "{}", notes[0].reason);
}

/// One step of a JSON path.
#[derive(Debug, Clone)]
enum Step {
    Key(String),
    Index(usize),
}

/// Every value below `graph` and `arm` of a facts file, by path.
fn paths(value: &Value, at: &mut Vec<Step>, out: &mut Vec<Vec<Step>>) {
    match value {
        Value::Object(m) => {
            for (k, v) in m {
                at.push(Step::Key(k.clone()));
                out.push(at.clone());
                paths(v, at, out);
                at.pop();
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                at.push(Step::Index(i));
                out.push(at.clone());
                paths(v, at, out);
                at.pop();
            }
        }
        _ => {}
    }
}

/// A path as `docs/facts-format.md` writes it: `.key` for plain names, `["key"]` otherwise, `[i]`.
fn render(path: &[Step]) -> String {
    let mut s = String::new();
    for (i, step) in path.iter().enumerate() {
        match step {
            Step::Key(k) if i == 0 => s.push_str(k),
            Step::Key(k) if !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || "_-$".contains(c)) => {
                s.push('.');
                s.push_str(k);
            }
            Step::Key(k) => s.push_str(&format!("[{}]", Value::from(k.as_str()))),
            Step::Index(n) => s.push_str(&format!("[{n}]")),
        }
    }
    s
}

fn slot<'a>(root: &'a mut Value, path: &[Step]) -> &'a mut Value {
    path.iter().fold(root, |v, step| match step {
        Step::Key(k) => &mut v[k.as_str()],
        Step::Index(i) => &mut v[*i],
    })
}

/// Values of every JSON type but null.
fn replacements() -> Vec<Value> {
    vec![
        json!("x"),
        json!(""),
        json!(0),
        json!(-1.5),
        json!(true),
        json!(false),
        json!({}),
        json!({"id": "x", "type": "x"}),
        json!([]),
        json!(["x"]),
        json!([{}]),
    ]
}

fn same_type(a: &Value, b: &Value) -> bool {
    std::mem::discriminant(a) == std::mem::discriminant(b)
}

/// The demo tenant as JSON, every path in it, and its edges: computed once for all cases.
static DEMO: LazyLock<(Value, Vec<Vec<Step>>, EdgeSet)> = LazyLock::new(|| {
    let demo: Value = serde_json::from_str(azpath::demo::TENANT_JSON).unwrap();
    let mut all = Vec::new();
    for side in ["graph", "arm"] {
        paths(&demo[side], &mut vec![Step::Key(side.into())], &mut all);
    }
    let baseline = edges(&azpath::demo::raw()).unwrap();
    (demo, all, baseline)
});

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    /// Any value of the demo tenant replaced by one of another JSON type: the file is rejected with
    /// an error that starts with that value's path, or it reads to exactly the same attack edges.
    #[test]
    fn a_value_of_another_type_is_rejected_by_path_or_changes_no_edge(
        pick in any::<prop::sample::Index>(),
        with in prop::sample::select(replacements()),
    ) {
        let (demo, all, baseline) = &*DEMO;
        let path = pick.get(all);
        let mut mutated = demo.clone();
        let target = slot(&mut mutated, path);
        prop_assume!(!same_type(target, &with));
        // A `null` is "absent": any value in its place may be of the right type and a real change
        // (`onPremisesSyncEnabled: null` -> `true`), not a wrongly typed one.
        prop_assume!(!target.is_null());
        *target = with.clone();
        let raw = RawFacts::from_json(&mutated.to_string()).unwrap();
        let at = render(path);
        match edges(&raw) {
            Ok(got) => prop_assert!(got == *baseline, "{at} = {with}: read, and the edges changed"),
            Err(e) => {
                let msg = e.to_string();
                prop_assert!(
                    msg.starts_with(&format!("{at} ")) || msg.starts_with(&format!("{at}:")),
                    "{at} = {with}: the error names another place: {msg}"
                );
            }
        }
    }
}

// The streaming reader `azpath import` uses (`facts::CompactFacts`) against the value reader.

/// What the rules see: every fact record and the derived graph.
fn derived(raw: &impl facts::FactSource) -> (Vec<azpath::facts::index::FactRecord>, azpath::rules::Derived) {
    let parsed = facts::parse(raw).unwrap();
    let mut records: Vec<_> = azpath::facts::index::fact_records(&parsed).into_values().collect();
    records.sort_by(|a, b| a.key.cmp(&b.key));
    (records, azpath::rules::derive(&parsed))
}

#[test]
fn streaming_the_demo_gives_the_facts_and_edges_of_reading_it_whole() {
    let mut whole = azpath::demo::raw();
    let redacted = whole.redact_secrets();
    let streamed = facts::CompactFacts::from_json(azpath::demo::TENANT_JSON).unwrap();
    assert_eq!(streamed.redacted, redacted);
    let (records, graph) = derived(&streamed);
    assert!(graph.edges.len() > 50, "the demo: {} edges", graph.edges.len());
    assert_eq!((records, graph), derived(&whole));
    assert_eq!(streamed.to_raw().unwrap(), whole, "the same values, redacted the same way");
    assert_eq!(facts::CompactFacts::from(azpath::demo::raw()), streamed, "values turn into the same text");
}

#[test]
fn collections_and_header_fields_may_come_in_any_order() {
    let text = azpath::demo::TENANT_JSON;
    let value: Value = serde_json::from_str(text).unwrap();
    let Value::Object(map) = value else { panic!("the demo is an object") };
    // Every top-level field, and every collection of each side, in reverse order.
    let mut reversed = String::from("{");
    for (i, (key, value)) in map.iter().rev().enumerate() {
        let value = match value {
            Value::Object(side) if key == "graph" || key == "arm" => {
                let items: Vec<String> =
                    side.iter().rev().map(|(k, v)| format!("{}:{v}", Value::from(k.as_str()))).collect();
                format!("{{{}}}", items.join(","))
            }
            v => v.to_string(),
        };
        reversed.push_str(&format!("{}{}:{value}", if i > 0 { "," } else { "" }, Value::from(key.as_str())));
    }
    reversed.push('}');
    assert_ne!(reversed.find("\"format\""), text.find("\"format\""));
    assert_eq!(facts::CompactFacts::from_json(&reversed).unwrap(), facts::CompactFacts::from_json(text).unwrap());
}

#[test]
fn truncated_or_malformed_input_is_an_error_that_quotes_nothing() {
    let text = azpath::demo::TENANT_JSON;
    for cut in (0..text.len()).step_by(997).chain([text.trim_end().len() - 1]) {
        let err = facts::CompactFacts::from_json(&text[..cut]).unwrap_err().to_string();
        assert!(err.contains("EOF") || err.contains("expected"), "cut at {cut}: {err}");
    }
    let bad = r#"{"format": "azpath-facts/1", "tenant": {"id": "t"}, "collectedAt": "now", "graph": {"users": [{"id": "u"}]}, "arm": ["sig=hunter2"]}"#;
    let err = facts::CompactFacts::from_json(bad).unwrap_err().to_string();
    assert!(err.contains("invalid type") && !err.contains("hunter2"), "{err}");
    let err = facts::CompactFacts::from_json(r#"{"tenant": {"id": "t"}, "collectedAt": "now"}"#).unwrap_err();
    assert_eq!(
        err.to_string(),
        RawFacts::from_json(r#"{"tenant": {"id": "t"}, "collectedAt": "now"}"#).unwrap_err().to_string()
    );
    let twice = r#"{"format": "a", "format": "b", "tenant": {"id": "t"}, "collectedAt": "now"}"#;
    assert!(facts::CompactFacts::from_json(twice).unwrap_err().to_string().contains("duplicate field `format`"));
    assert!(
        facts::CompactFacts::from_json(r#"{"format": "a", "tenant": {"id": "t"}, "collectedAt": "now"} {}"#).is_err()
    );
}

#[test]
fn stored_text_is_re_redacted_with_todays_rules() {
    let mut stored = facts::CompactFacts::from(azpath::demo::raw());
    assert_eq!(stored.clone().redact_secrets(), 0, "a second pass finds nothing");
    stored.graph.insert("users".into(), r#"[{"id":"u","clientSecret":"hunter2"}]"#.into());
    assert_eq!(stored.redact_secrets(), 1);
    assert!(!stored.graph["users"].contains("hunter2"));
}

#[test]
fn memberships_share_one_copy_of_each_id_and_name() {
    let f = facts::parse(&azpath::demo::raw()).unwrap();
    let by_group = f
        .memberships
        .iter()
        .find_map(|a| f.memberships.iter().find(|&b| !std::ptr::eq(a, b) && a.group_id == b.group_id).map(|b| (a, b)));
    let (a, b) = by_group.expect("the demo has a group with two members");
    assert!(std::sync::Arc::ptr_eq(&a.group_id, &b.group_id));
    let by_member = f.memberships.iter().find_map(|a| {
        f.memberships.iter().find(|&b| !std::ptr::eq(a, b) && a.member_id == b.member_id).map(|b| (a, b))
    });
    let (a, b) = by_member.expect("the demo has a member of two groups");
    assert!(std::sync::Arc::ptr_eq(&a.member_id, &b.member_id));
    if let (Some(x), Some(y)) = (&a.member_name, &b.member_name) {
        assert!(x != y || std::sync::Arc::ptr_eq(x, y));
    }
}

/// The facts and edges of parsed facts (as [`derived`]).
fn derived_from(parsed: &facts::Facts) -> (Vec<azpath::facts::index::FactRecord>, azpath::rules::Derived) {
    let mut records: Vec<_> = azpath::facts::index::fact_records(parsed).into_values().collect();
    records.sort_by(|a, b| a.key.cmp(&b.key));
    (records, azpath::rules::derive(parsed))
}

#[test]
fn parsing_while_handing_on_each_collection_reads_the_same_facts_and_hands_on_every_text_once() {
    let demo = facts::CompactFacts::from_json(azpath::demo::TENANT_JSON).unwrap();
    // Large enough on both sides for the two sides to be parsed on two threads (over 1 MiB each).
    let spec = azpath::synth::SynthSpec {
        users: 6000,
        groups: 300,
        service_principals: 1500,
        subscriptions: 4,
        resources: 6000,
        seed: 7,
    };
    let synth = facts::CompactFacts::from(azpath::synth::generate(&spec));
    let side_bytes = |side: &std::collections::BTreeMap<String, String>| side.values().map(String::len).sum::<usize>();
    assert!(side_bytes(&synth.graph).min(side_bytes(&synth.arm)) > 1 << 20, "both sides over 1 MiB");
    for mut whole in [demo, synth] {
        // A collection no parser reads is handed on too.
        whole.arm.insert("notReadByAzpath".into(), "[{\"id\":\"x\"}]".into());
        let mut consumed = whole.clone();
        let handed = std::sync::Mutex::new(Vec::new());
        let parsed = facts::parse_consuming(&mut consumed, &|side, name, text| {
            handed.lock().unwrap().push((side, name, text));
        })
        .unwrap();
        assert!(consumed.graph.is_empty() && consumed.arm.is_empty(), "the texts were taken");
        assert_eq!(consumed.tenant, whole.tenant, "the header stays");
        let mut handed = handed.into_inner().unwrap();
        handed.sort();
        let side = |name: &'static str, map: &std::collections::BTreeMap<String, String>| {
            map.iter().map(move |(n, t)| (name, n.clone(), t.clone())).collect::<Vec<_>>()
        };
        let mut expected = [side("graph", &whole.graph), side("arm", &whole.arm)].concat();
        expected.sort();
        assert_eq!(handed, expected, "every collection once, unchanged");
        assert_eq!(derived_from(&parsed), derived(&whole));
    }
}
