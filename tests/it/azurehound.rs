//! `azpath import azurehound`: a hand-written AzureHound collection (tests/data/azurehound/
//! collection.json) against the same tenant hand-written in Graph/ARM shapes (tenant.json), and
//! hostile input that must give counts and messages, never a panic or a lost file.

use azpath::facts::{self, CompactFacts, FactSource, RawFacts};
use azpath::interop::azurehound::{AzureHoundReader, ImportReport, MAPPED_KINDS};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write as _;
use std::path::{Path, PathBuf};

const COLLECTED_AT: &str = "2026-11-01T00:00:00Z";

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/azurehound").join(name)
}

fn read_files(files: &[&Path]) -> (CompactFacts, ImportReport) {
    let mut reader = AzureHoundReader::new();
    for f in files {
        reader.read_path(f).unwrap();
    }
    reader.finish(COLLECTED_AT).unwrap()
}

fn read_text(text: &str) -> AzureHoundReader {
    let mut reader = AzureHoundReader::new();
    reader.read_json(text.as_bytes(), "test.json").unwrap();
    reader
}

fn collection() -> (CompactFacts, ImportReport) {
    read_files(&[&data("collection.json")])
}

/// The same tenant in Graph/ARM shapes, read as `azpath import` reads a facts file.
fn graph_arm_tenant() -> CompactFacts {
    CompactFacts::read(std::fs::File::open(data("tenant.json")).unwrap()).unwrap()
}

/// Facts read from AzureHound as JSON values, to look into.
fn values(raw: &CompactFacts) -> RawFacts {
    raw.to_raw().unwrap()
}

/// Every fact by key, with what must be equal for it to be the same fact.
fn fact_details(raw: &impl FactSource) -> BTreeMap<String, String> {
    let parsed = facts::parse(raw).unwrap();
    facts::index::fact_records(&parsed).into_values().map(|r| (r.key, r.detail)).collect()
}

/// Every attack edge as (source, target, kind, rule, needs activation, conditional, cost).
fn edges(raw: &impl FactSource) -> BTreeSet<(String, String, String, String, bool, bool, u32)> {
    let derived = azpath::rules::derive(&facts::parse(raw).unwrap());
    derived
        .edges
        .iter()
        .map(|e| {
            let kind = e.kind.as_str().to_string();
            (
                e.source.to_string(),
                e.target.to_string(),
                kind,
                e.rule.to_string(),
                e.requires_activation,
                e.conditional,
                e.cost,
            )
        })
        .collect()
}

const BOB: &str = "a0000000-0000-4000-8000-000000000002";
const AZURE_PIM_ELIGIBILITY: &str = "ee000000-0000-4000-8000-000000000001";

#[test]
fn every_mapped_kind_is_in_the_fixture_and_mapped() {
    let (_, report) = collection();
    for kind in MAPPED_KINDS {
        let count = report.kinds.get(*kind).unwrap_or_else(|| panic!("{kind} is not in the fixture"));
        assert!(count.mapped > 0, "{kind}: {count:?}");
    }
    // Every record kind AzureHound writes for role assignments, including a legacy per-role kind.
    for kind in [
        "AZSubscriptionRoleAssignment",
        "AZSubscriptionContributor",
        "AZKeyVaultRoleAssignment",
        "AZVMScaleSetRoleAssignment",
    ] {
        assert_eq!(report.kinds[kind].mapped, 1, "{kind}");
    }
    assert_eq!(report.records(), 55);
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    let skipped: BTreeMap<&str, Vec<&String>> = report
        .kinds
        .iter()
        .filter(|(_, c)| c.skipped_total() > 0)
        .map(|(k, c)| (k.as_str(), c.skipped.keys().collect()))
        .collect();
    assert_eq!(
        skipped.keys().copied().collect::<Vec<_>>(),
        ["AZDevice", "AZRoleManagementPolicyAssignment", "AZSomethingNew", "AZTenant"]
    );
    assert_eq!(skipped["AZSomethingNew"], [&"unknown kind".to_string()]);
}

#[test]
fn the_collection_imports_into_the_facts_of_the_same_tenant_in_graph_arm_shapes() {
    let (from_hound, _) = collection();
    let hound = fact_details(&from_hound);
    let reference = fact_details(&graph_arm_tenant());
    let only_reference: Vec<&String> = reference.keys().filter(|k| !hound.contains_key(*k)).collect();
    let only_hound: Vec<&String> = hound.keys().filter(|k| !reference.contains_key(*k)).collect();
    // The only fact AzureHound cannot know here: the Azure resource PIM eligibility.
    assert_eq!(only_reference.len(), 1, "{only_reference:?}");
    assert!(only_reference[0].contains(AZURE_PIM_ELIGIBILITY), "{only_reference:?}");
    assert!(only_hound.is_empty(), "{only_hound:?}");
    let differing: Vec<_> = hound.iter().filter(|(k, d)| reference.get(*k).is_some_and(|r| r != *d)).collect();
    assert!(differing.is_empty(), "facts that differ: {differing:#?}");
    assert_eq!(from_hound.tenant.id, "7e000000-0000-4000-8000-000000000001");
    assert_eq!(from_hound.source.as_deref(), Some("azurehound"));
}

#[test]
fn attack_paths_equal_the_graph_arm_tenant_less_what_azurehound_cannot_know() {
    let (from_hound, _) = collection();
    let hound = edges(&from_hound);
    let reference = edges(&graph_arm_tenant());
    assert!(hound.len() > 40, "a real tenant: {} edges", hound.len());
    let extra: Vec<_> = hound.difference(&reference).collect();
    assert!(extra.is_empty(), "edges only the AzureHound import has: {extra:#?}");
    let missing: Vec<_> = reference.difference(&hound).collect();
    assert!(!missing.is_empty());
    // What is missing is exactly Bob's eligible Owner on rg-app, which only Azure resource PIM knows...
    for e in &missing {
        assert!(e.0 == BOB && e.4, "an edge lost that AzureHound could have known: {e:?}");
    }
    // ...and the snapshot says so.
    let notes = facts::parse(&from_hound).unwrap().completeness;
    let lacks = |what: &str| notes.iter().any(|n| n.what == what && n.reason.contains("AzureHound does not collect"));
    for what in ["arm.roleEligibilitySchedules", "graph.groupEligibilitySchedules", "arm.roleDefinitions"] {
        assert!(lacks(what), "no note for {what}: {notes:#?}");
    }
    for scope in ["allowSharedKeyAccess", "disableLocalAuth", "userAssignedIdentities", "MachineLearningServices"] {
        assert!(notes.iter().any(|n| n.scope.as_deref().is_some_and(|s| s.contains(scope))), "no note on {scope}");
    }
}

#[test]
fn merged_and_repeated_records_are_read_once() {
    let (raw, report) = collection();
    let raw = values(&raw);
    let resources = raw.arm["resources"].as_array().unwrap();
    let vault = resources.iter().find(|r| r["name"] == "kv-app").unwrap();
    // One policy on the vault record, one from an AZKeyVaultAccessPolicy record, one repeated.
    assert_eq!(vault["properties"]["accessPolicies"].as_array().unwrap().len(), 2);
    assert_eq!(report.kinds["AZKeyVaultAccessPolicy"].mapped, 2);
    // The user-assigned identity attached to two resources becomes one resource.
    let identities =
        resources.iter().filter(|r| r["type"] == "Microsoft.ManagedIdentity/userAssignedIdentities").count();
    assert_eq!(identities, 1);
    // The subscription Contributor is in a RoleAssignment and a Contributor record.
    assert_eq!(raw.arm["roleAssignments"].as_array().unwrap().len(), 13);
}

#[test]
fn meta_before_data_and_a_zip_read_like_the_plain_file() {
    let (plain, plain_report) = collection();
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(data("collection.json")).unwrap();
    let doc: Value = serde_json::from_str(&text).unwrap();
    let meta_first = format!("{{\"meta\": {}, \"data\": {}}}", doc["meta"], doc["data"]);
    let meta_first_path = dir.path().join("meta-first.json");
    std::fs::write(&meta_first_path, &meta_first).unwrap();
    let (reordered, _) = read_files(&[&meta_first_path]);
    assert_eq!(reordered, plain);

    let zip_path = dir.path().join("collection.zip");
    let mut zip = zip::ZipWriter::new(std::fs::File::create(&zip_path).unwrap());
    let deflated = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    zip.start_file("20261101_azurehound.json", deflated).unwrap();
    zip.write_all(text.as_bytes()).unwrap();
    zip.start_file("README.txt", deflated).unwrap();
    zip.write_all(b"not a collection").unwrap();
    zip.finish().unwrap();
    let (zipped, zip_report) = read_files(&[&zip_path]);
    assert_eq!(zipped, plain);
    assert_eq!(zip_report.kinds, plain_report.kinds);
    assert!(
        zip_report.problems.iter().any(|p| p.contains("README.txt") && p.contains("not a .json")),
        "{:?}",
        zip_report.problems
    );
}

#[test]
fn a_truncated_file_keeps_the_records_before_the_cut_and_says_so() {
    let text = std::fs::read_to_string(data("collection.json")).unwrap();
    let cut = &text[..text.len() / 2];
    let reader = read_text(cut);
    let records = reader.report().records();
    assert!(records > 10 && records < 55, "{records}");
    let (raw, report) = reader.finish(COLLECTED_AT).unwrap();
    assert_eq!(report.problems.len(), 1);
    assert!(
        report.problems[0].contains("EOF while parsing")
            && report.problems[0].contains(&format!("the {records} records")),
        "{:?}",
        report.problems
    );
    assert!(raw.completeness.iter().any(|n| n.what == "azurehound" && n.scope.as_deref() == Some("test.json")));
    // What was read still imports.
    azpath::prepare(raw).unwrap();
}

#[test]
fn wrong_types_are_counted_skips_that_name_the_field() {
    let tenant = json!({"kind": "AZTenant", "data": {"tenantId": "T1", "collected": true}});
    let good_user = json!({"kind": "AZUser", "data": {"id": "U1", "accountEnabled": true}});
    let records = json!([
        tenant,
        {"kind": "AZUser", "data": {"id": "U2", "accountEnabled": "yes"}},
        {"kind": "AZUser", "data": {"id": 42}},
        {"kind": "AZUser", "data": ["not", "an", "object"]},
        {"kind": "AZUser"},
        {"kind": 7, "data": {}},
        {"data": {"id": "U3"}},
        "a string record",
        null,
        {"kind": "AZKeyVault", "data": {"id": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv",
                                         "type": "Microsoft.KeyVault/vaults", "properties": {"accessPolicies": {"objectId": "x"}}}},
        {"kind": "AZStorageAccount", "data": {"id": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/st",
                                              "properties": {"allowSharedKeyAccess": "false"}}},
        {"kind": "AZGroupMember", "data": {"groupId": "G1", "members": "everyone"}},
        {"kind": "AZVMRoleAssignment", "data": {"roleAssignments": [{"roleAssignment": {"id": "/x/providers/Microsoft.Authorization/roleAssignments/1",
            "properties": {"principalId": "", "roleDefinitionId": "r", "scope": "/x"}}}]}},
        {"kind": "AZKeyVaultAccessPolicy", "data": {"keyVaultId": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/absent", "objectId": "U1"}},
        good_user
    ]);
    let text = json!({"data": records, "meta": {"count": 15}}).to_string();
    let reader = read_text(&text);
    let (raw, report) = reader.finish(COLLECTED_AT).unwrap();
    let users = &report.kinds["AZUser"];
    assert_eq!((users.read, users.mapped, users.skipped_total()), (5, 1, 4), "{users:?}");
    assert!(users.skipped.keys().any(|r| r.contains("`accountEnabled`") && r.contains("found a string")), "{users:?}");
    assert!(users.skipped.contains_key("`id` is a number, not a string"), "{users:?}");
    assert_eq!(users.skipped["its `data` is missing or not an object"], 2);
    assert!(users.examples.iter().any(|e| e.contains("u2")), "the example names the object: {users:?}");
    assert_eq!(report.kinds["(no kind)"].read, 2);
    assert_eq!(report.kinds["(not an object)"].read, 2);
    assert!(report.kinds["AZKeyVault"].skipped.keys().any(|r| r.contains("accessPolicies")));
    assert!(report.kinds["AZStorageAccount"].skipped.keys().any(|r| r.contains("allowSharedKeyAccess")));
    assert!(report.kinds["AZGroupMember"].skipped.contains_key("`members` is a string, not an array"));
    assert_eq!(report.kinds["AZVMRoleAssignment"].skipped_total(), 1);
    assert_eq!(report.kinds["AZKeyVaultAccessPolicy"].skipped["its key vault is not in the collection"], 1);
    assert!(report.problems.is_empty(), "meta.count matches: {:?}", report.problems);
    // The good records are there and the result imports.
    assert_eq!(values(&raw).graph["users"].as_array().unwrap().len(), 1);
    // Resource records were read, none was valid: read and found empty, not "not collected".
    assert_eq!(raw.arm["resources"], "[]");
    azpath::prepare(raw).unwrap();
}

#[test]
fn megabyte_strings_are_counted_not_fatal() {
    let huge = "x".repeat(1 << 20);
    let text = json!({"data": [
        {"kind": "AZTenant", "data": {"tenantId": "T1", "collected": true}},
        {"kind": "AZUser", "data": {"id": huge}},
        {"kind": huge, "data": {"id": "U1"}},
        {"kind": "AZUser", "data": {"id": "U2", "displayName": huge}},
        {"kind": "AZGroupMember", "data": {"groupId": "G1", "members": [{"member": {"id": huge}}]}},
    ]})
    .to_string();
    let (raw, report) = read_text(&text).finish(COLLECTED_AT).unwrap();
    assert_eq!(report.kinds["AZUser"].skipped["`id` is longer than 4096 bytes"], 1);
    assert_eq!(report.kinds["(invalid kind)"].read, 1);
    assert_eq!(report.kinds["AZGroupMember"].skipped["`id` is longer than 4096 bytes"], 1);
    // A long name is text, not an id: kept (it is escaped where shown).
    assert_eq!(values(&raw).graph["users"][0]["displayName"].as_str().map(str::len), Some(1 << 20));
    assert!(report.kinds.keys().all(|k| k.len() <= 64));
}

#[test]
fn input_that_is_no_collection_is_a_problem_or_an_error_never_a_panic() {
    for text in [
        "",
        "[]",
        "\"x\"",
        "{\"meta\": {}}",
        "{\"data\": {}}",
        "{\"data\": [] } trailing",
        "\u{0}\u{1}binary",
        "{\"data\": [{\"kind\": \"AZUser\", \"data\": {\"id\": \"u\"}}",
    ] {
        let reader = read_text(text);
        assert_eq!(reader.report().problems.len(), 1, "{text:?}: {:?}", reader.report().problems);
        // Without any record naming the tenant there is nothing to import: a clear error.
        let err = reader.finish(COLLECTED_AT).unwrap_err().to_string();
        assert!(err.contains("no record names the tenant"), "{err}");
    }
    // A tenant only named by records' tenantId is enough.
    let text = r#"{"data": [{"kind": "AZUser", "data": {"id": "U1", "tenantId": "T9"}}], "meta": {"count": 3}}"#;
    let (raw, report) = read_text(text).finish(COLLECTED_AT).unwrap();
    assert_eq!(raw.tenant.id, "t9");
    assert_eq!(report.problems, ["test.json: meta.count says 3 records, the file holds 1"]);
}

#[test]
fn the_cli_imports_an_azurehound_collection_and_reports_per_kind() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_azpath")).arg("--db").arg(&db).args(args).output().unwrap()
    };
    let file = data("collection.json");
    let out =
        run(&["import", "azurehound", file.to_str().unwrap(), "--collected-at", COLLECTED_AT, "--label", "hound"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("AZSomethingNew") && stderr.contains("1 unknown kind"), "{stderr}");
    assert!(stderr.contains("(AzureHound, 55 records) as snapshot #1"), "{stderr}");
    let out = run(&[
        "paths",
        "--from",
        "Bob Builder",
        "--to",
        "id:/providers/microsoft.management/managementgroups/mg-prod",
        "--snapshot",
        "hound",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("AddSecret") && stdout.contains("AssignRoles"), "{stdout}");
    // The facts-file import is unchanged.
    let out = run(&["import", data("tenant.json").to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // A file that is not there is an error (exit 2), not a panic.
    let out = run(&["import", "azurehound", dir.path().join("absent.json").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn the_documentation_lists_every_mapped_kind() {
    let doc = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/azurehound.md")).unwrap();
    for kind in MAPPED_KINDS {
        assert!(doc.contains(&format!("`{kind}`")), "docs/azurehound.md does not mention {kind}");
    }
}
