//! Exports for other tools (docs/interop.md): BloodHound CE OpenGraph checked rule by rule,
//! GraphML parsed with a real XML parser, Neo4j CSV read back with a CSV reader, SARIF validated
//! against the official 2.1.0 schema (tests/data/sarif-2.1.0.json), and the CI Markdown summary.

use azpath::export::markdown::{self, SummarySection};
use azpath::export::{Selection, graphml, neo4j_csv, opengraph, sarif};
use azpath::graph::{AttackGraph, Path};
use azpath::model::{Edge, EdgeKind, Evidence, EvidenceKind, Node, NodeKind};
use azpath::query::saved;
use serde_json::Value;
use std::collections::{BTreeSet, HashMap, HashSet};

use crate::support::demo;

use crate::support::run_azpath as azpath;

/// Text no export may mangle or be broken by: markup of every format, quotes, separators,
/// a line break, a control character, bidi override.
const HOSTILE: &str = "a,\"b\";c <d>&'e'\n*f* `g` | h\u{1b}[2J\u{202e}i";

/// A small graph with hostile names, reasons and evidence: a user reaching a storage account.
fn hostile_graph() -> AttackGraph {
    let user = Node::new("0f8fad5b-d9cb-469f-a165-70867728950e", NodeKind::User, HOSTILE).with_prop("upn", HOSTILE);
    let group = Node::new("1a2b3c4d-0000-4000-8000-00000000abcd", NodeKind::Group, "grp");
    let sa = Node::new(
        "/subscriptions/s/resourcegroups/rg/providers/microsoft.storage/storageaccounts/st",
        NodeKind::StorageAccount,
        "st",
    )
    .with_prop("crown_jewel", "training-data");
    let e1 = Edge::new(&user.id, &group.id, EdgeKind::MemberOf, "membership", HOSTILE.to_string())
        .with_evidence(vec![Evidence::new(EvidenceKind::GroupMembership, HOSTILE)]);
    let e2 = Edge::new(&group.id, &sa.id, EdgeKind::ListKeys, "rbac-list-keys", "lists keys".to_string())
        .with_flags(true, false);
    AttackGraph::new(vec![user, group, sa], vec![e1, e2])
}

fn hostile_path(g: &AttackGraph) -> Path {
    let s = g.node_index("0f8fad5b-d9cb-469f-a165-70867728950e").unwrap();
    let t = g.node_index("/subscriptions/s/resourcegroups/rg/providers/microsoft.storage/storageaccounts/st").unwrap();
    azpath::query::paths(g, &[s], &[t], &Default::default()).unwrap().remove(0)
}

fn is_kind_name(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

fn is_upper_guid(s: &str) -> bool {
    s.len() == 36
        && s.char_indices().all(|(i, c)| {
            if [8, 13, 18, 23].contains(&i) { c == '-' } else { c.is_ascii_digit() || ('A'..='F').contains(&c) }
        })
}

/// OpenGraph's property rule: a primitive, or an array of primitives of one type; never null or
/// an object.
fn check_properties(props: &Value, what: &str) {
    let props = props.as_object().unwrap_or_else(|| panic!("{what}: properties is not an object"));
    for (k, v) in props {
        match v {
            Value::String(_) | Value::Number(_) | Value::Bool(_) => {}
            Value::Array(items) => {
                let types: HashSet<&str> = items
                    .iter()
                    .map(|i| match i {
                        Value::String(_) => "string",
                        Value::Number(_) => "number",
                        Value::Bool(_) => "bool",
                        other => panic!("{what}.{k}: array item {other} is not a primitive"),
                    })
                    .collect();
                assert!(types.len() <= 1, "{what}.{k}: mixed array {v}");
            }
            other => panic!("{what}.{k}: {other} is null or nested"),
        }
    }
}

/// Walks an OpenGraph document and asserts every rule of the documented shape; returns its node ids.
fn check_opengraph(doc: &Value) -> HashSet<String> {
    assert!(doc["metadata"]["source_kind"].as_str().is_some_and(is_kind_name), "{}", doc["metadata"]);
    let nodes = doc["graph"]["nodes"].as_array().expect("graph.nodes");
    let edges = doc["graph"]["edges"].as_array().expect("graph.edges");
    let mut ids = HashSet::new();
    for n in nodes {
        let id = n["id"].as_str().expect("node id is a string");
        assert!(!id.is_empty());
        assert!(ids.insert(id.to_string()), "node id {id} given twice");
        let kinds = n["kinds"].as_array().expect("kinds");
        assert!((1..=3).contains(&kinds.len()), "{id}: {} kinds", kinds.len());
        assert!(kinds.iter().all(|k| k.as_str().is_some_and(is_kind_name)), "{id}: {kinds:?}");
        check_properties(&n["properties"], id);
    }
    for e in edges {
        let kind = e["kind"].as_str().expect("edge kind");
        assert!(is_kind_name(kind), "edge kind {kind:?}");
        for end in ["start", "end"] {
            assert_eq!(e[end]["match_by"], "id", "{e}");
            let value = e[end]["value"].as_str().expect("end value");
            assert!(ids.contains(value), "{kind} {end} {value} is no node of the file");
        }
        check_properties(&e["properties"], kind);
    }
    ids
}

#[test]
fn opengraph_of_the_demo_follows_every_shape_rule() {
    let (g, _) = demo();
    let doc = serde_json::to_value(opengraph::opengraph(&g, &Selection::all(&g))).unwrap();
    let ids = check_opengraph(&doc);
    assert_eq!(ids.len(), g.nodes.len());
    assert_eq!(doc["graph"]["edges"].as_array().unwrap().len(), g.edge_count());
    let by_azp_id: HashMap<&str, &Value> = doc["graph"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| (n["properties"]["azp_id"].as_str().unwrap(), n))
        .collect();
    let mut entra = 0;
    for node in &g.nodes {
        let doc_node = by_azp_id[node.id];
        let (id, first_kind) = (doc_node["id"].as_str().unwrap(), doc_node["kinds"][0].as_str().unwrap());
        let bloodhound = match node.kind {
            NodeKind::User => Some("AZUser"),
            NodeKind::Group => Some("AZGroup"),
            NodeKind::ServicePrincipal => Some("AZServicePrincipal"),
            NodeKind::Application => Some("AZApp"),
            _ => None,
        };
        if let Some(kind) = bloodhound {
            entra += 1;
            assert!(is_upper_guid(id), "{} {:?}: id {id} is not an upper-cased GUID", node.kind, node.name);
            assert_eq!(id, node.id.to_ascii_uppercase());
            assert_eq!(first_kind, kind);
        } else if opengraph::bloodhound_kind(node.kind).is_none() {
            assert!(first_kind.starts_with("AZP_"), "{first_kind}");
        }
    }
    assert!(entra > 10, "the demo has users, groups, SPs and apps");
    // Each kind in the file is known to BloodHound or defined by the extension schema, and every
    // edge kind is traversable.
    let schema = opengraph::extension_schema();
    let defined: HashSet<&str> =
        schema["node_kinds"].as_array().unwrap().iter().map(|k| k["name"].as_str().unwrap()).collect();
    for n in doc["graph"]["nodes"].as_array().unwrap() {
        for k in n["kinds"].as_array().unwrap() {
            let k = k.as_str().unwrap();
            let bloodhound_own = k.starts_with("AZ") && !k.starts_with("AZP");
            assert!(defined.contains(k) || bloodhound_own || k == opengraph::BASE_KIND, "{k} undefined");
        }
    }
    let traversable: HashSet<&str> = schema["relationship_kinds"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|k| k["is_traversable"] == true)
        .map(|k| k["name"].as_str().unwrap())
        .collect();
    for e in doc["graph"]["edges"].as_array().unwrap() {
        assert!(traversable.contains(e["kind"].as_str().unwrap()), "{}", e["kind"]);
    }
}

/// BloodHound's rules for an extension (its schema service refuses the upload otherwise): a name,
/// version and namespace (not `Tag`); at least one node kind; every node and edge kind the
/// namespace, `_`, then something; no kind defined twice, as a node or an edge kind; an
/// environment's kind and principal kinds are defined node kinds in the namespace, and its source
/// kind is not a defined kind.
#[test]
fn the_extension_schema_passes_bloodhounds_extension_rules() {
    let schema = opengraph::extension_schema();
    let head = &schema["schema"];
    for field in ["name", "version", "namespace"] {
        assert!(head[field].as_str().is_some_and(|v| !v.is_empty()), "schema.{field}");
    }
    let namespace = format!("{}_", head["namespace"].as_str().unwrap());
    assert_ne!(head["namespace"], "Tag");
    let in_namespace = |k: &str| k.strip_prefix(&namespace).is_some_and(|rest| !rest.is_empty());
    let names = |list: &str| -> Vec<String> {
        schema[list].as_array().into_iter().flatten().map(|k| k["name"].as_str().unwrap().to_string()).collect()
    };
    let (nodes, edges) = (names("node_kinds"), names("relationship_kinds"));
    assert!(!nodes.is_empty());
    let mut seen = HashSet::new();
    for k in nodes.iter().chain(&edges) {
        assert!(in_namespace(k), "{k} lacks the {namespace} prefix");
        assert!(seen.insert(k.clone()), "{k} defined twice");
    }
    for env in schema["environments"].as_array().into_iter().flatten() {
        let kind = env["environment_kind"].as_str().unwrap();
        assert!(in_namespace(kind) && nodes.iter().any(|n| n == kind), "environment kind {kind}");
        let source = env["source_kind"].as_str().unwrap();
        assert!(!source.is_empty() && !seen.contains(source), "source kind {source}");
        for p in env["principal_kinds"].as_array().unwrap() {
            let p = p.as_str().unwrap();
            assert!(in_namespace(p) && nodes.iter().any(|n| n == p), "principal kind {p}");
        }
    }
    // The data file's source kind is a reference, never a defined kind.
    assert!(!seen.contains(opengraph::BASE_KIND));
}

#[test]
fn opengraph_of_a_query_holds_its_paths_and_keeps_text_exact() {
    let (g, _) = demo();
    let q = saved::builtin().into_iter().find(|q| q.name == "pipeline-to-tier0").unwrap();
    let paths = q.run(&g).unwrap();
    let sel = Selection::of_paths(&g, &paths);
    let doc = serde_json::to_value(opengraph::opengraph(&g, &sel)).unwrap();
    check_opengraph(&doc);
    let walked: BTreeSet<usize> = paths.iter().flat_map(|p| p.edges.iter().copied()).collect();
    assert_eq!(doc["graph"]["edges"].as_array().unwrap().len(), walked.len());
    assert!(sel.nodes.len() < g.nodes.len());

    let g = hostile_graph();
    let doc = serde_json::to_value(opengraph::opengraph(&g, &Selection::all(&g))).unwrap();
    check_opengraph(&doc);
    let user = &doc["graph"]["nodes"].as_array().unwrap().iter().find(|n| n["kinds"][0] == "AZUser").unwrap();
    assert_eq!(user["id"], "0F8FAD5B-D9CB-469F-A165-70867728950E");
    assert_eq!(user["properties"]["azp_name"], HOSTILE, "JSON keeps tenant text exact");
    let list_keys = doc["graph"]["edges"].as_array().unwrap().iter().find(|e| e["kind"] == "AZP_ListKeys").unwrap();
    assert_eq!(list_keys["properties"]["azp_requires_activation"], true);
    assert_eq!(list_keys["properties"]["azp_cost"], EdgeKind::ListKeys.base_cost() + azpath::model::ACTIVATION_COST);
}

#[test]
fn graphml_parses_with_a_real_xml_parser_and_round_trips() {
    for (g, check_text) in [(demo().0, false), (hostile_graph(), true)] {
        let text = graphml::graphml(&g, &Selection::all(&g));
        let doc = roxmltree::Document::parse(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
        let root = doc.root_element();
        assert_eq!(root.tag_name().name(), "graphml");
        assert_eq!(root.tag_name().namespace(), Some("http://graphml.graphdrawing.org/xmlns"));
        let keys: HashMap<&str, (&str, &str)> = root
            .children()
            .filter(|n| n.has_tag_name("key"))
            .map(|k| {
                (k.attribute("id").unwrap(), (k.attribute("attr.name").unwrap(), k.attribute("attr.type").unwrap()))
            })
            .collect();
        let graph = root.children().find(|n| n.has_tag_name("graph")).unwrap();
        assert_eq!(graph.attribute("edgedefault"), Some("directed"));
        let data = |n: roxmltree::Node| -> HashMap<String, String> {
            n.children()
                .filter(|d| d.has_tag_name("data"))
                .map(|d| {
                    let key = d.attribute("key").unwrap();
                    assert!(keys.contains_key(key), "undeclared key {key}");
                    (keys[key].0.to_string(), d.text().unwrap_or_default().to_string())
                })
                .collect()
        };
        let nodes: HashMap<String, HashMap<String, String>> = graph
            .children()
            .filter(|n| n.has_tag_name("node"))
            .map(|n| (n.attribute("id").unwrap().to_string(), data(n)))
            .collect();
        assert_eq!(nodes.len(), g.nodes.len());
        for node in &g.nodes {
            let attrs = &nodes[node.id];
            assert_eq!(attrs["kind"], node.kind.as_str());
            if check_text {
                // XML 1.0 cannot hold ESC even escaped: it becomes U+FFFD; all else is exact.
                assert_eq!(attrs["name"], node.name.replace('\u{1b}', "\u{fffd}"));
            }
        }
        let edges: Vec<roxmltree::Node> = graph.children().filter(|n| n.has_tag_name("edge")).collect();
        assert_eq!(edges.len(), g.edge_count());
        for (e, edge) in edges.iter().zip(g.edges()) {
            assert_eq!(e.attribute("source"), Some(&*edge.source));
            assert_eq!(e.attribute("target"), Some(&*edge.target));
            let attrs = data(*e);
            assert_eq!(attrs["kind"], edge.kind.as_str());
            assert_eq!(attrs["cost"].parse::<u32>().unwrap(), edge.cost);
            assert_eq!(attrs["requires_activation"], edge.requires_activation.to_string());
            if check_text {
                assert_eq!(attrs["reason"], edge.reason(&g).replace('\u{1b}', "\u{fffd}"));
            }
        }
        assert_eq!(keys.values().find(|(name, _)| *name == "cost").unwrap().1, "int");
        assert_eq!(keys.values().find(|(name, _)| *name == "conditional").unwrap().1, "boolean");
    }
}

/// A `neo4j-admin database import` header field: `:ID`-style columns or `name:type`.
fn check_header(header: &csv::StringRecord, required: &[&str]) {
    for r in required {
        assert!(header.iter().any(|h| h.ends_with(r)), "{r} missing from {header:?}");
    }
    for h in header {
        let ok = matches!(h, ":LABEL" | ":START_ID" | ":END_ID" | ":TYPE")
            || h.split_once(':')
                .is_some_and(|(name, ty)| is_kind_name(name) && matches!(ty, "ID" | "string" | "int" | "boolean"));
        assert!(ok, "header field {h:?} is not neo4j-admin syntax");
    }
}

#[test]
fn neo4j_csv_headers_follow_neo4j_admin_and_values_round_trip() {
    for g in [demo().0, hostile_graph()] {
        let files = neo4j_csv::neo4j_csv(&g, &Selection::all(&g)).unwrap();
        let mut nodes = csv::Reader::from_reader(files.nodes.as_bytes());
        let header = nodes.headers().unwrap().clone();
        check_header(&header, &[":ID", ":LABEL", "name:string"]);
        assert_eq!(&header[0], "id:ID");
        let col = |name: &str| header.iter().position(|h| h == name).unwrap();
        let records: Vec<csv::StringRecord> = nodes.records().map(Result::unwrap).collect();
        assert_eq!(records.len(), g.nodes.len());
        let ids: HashSet<&str> = records.iter().map(|r| &r[0]).collect();
        assert_eq!(ids.len(), g.nodes.len(), "every node once");
        for r in &records {
            let node = g.node(g.node_index(&r[0]).expect("a node of the graph"));
            assert_eq!(&r[col("name:string")], node.name);
            let labels: Vec<&str> = r[col(":LABEL")].split(';').collect();
            assert!(labels.contains(&node.kind.as_str()) && labels.contains(&"AzpathNode"), "{labels:?}");
            assert_eq!(labels.contains(&"CrownJewel"), node.crown_jewel().is_some());
            // Property columns follow the four fixed ones, in the order of the sorted keys.
            let keys: BTreeSet<&str> = g.nodes.iter().flat_map(|n| n.props.keys()).collect();
            for (i, k) in keys.iter().enumerate() {
                assert_eq!(&r[4 + i], node.prop(k).unwrap_or_default(), "{k}");
            }
        }
        let mut rels = csv::Reader::from_reader(files.relationships.as_bytes());
        let header = rels.headers().unwrap().clone();
        check_header(&header, &[":START_ID", ":END_ID", ":TYPE", "cost:int", "requires_activation:boolean"]);
        let records: Vec<csv::StringRecord> = rels.records().map(Result::unwrap).collect();
        assert_eq!(records.len(), g.edge_count());
        for (r, edge) in records.iter().zip(g.edges()) {
            assert_eq!((&r[0], &r[1], &r[2]), (&*edge.source, &*edge.target, edge.kind.as_str()));
            assert_eq!(&r[4], edge.reason(&g));
            assert_eq!(r[5].parse::<u32>().unwrap(), edge.cost);
            assert_eq!(r[6].parse::<bool>().unwrap(), edge.requires_activation);
            let evidence: Vec<String> = edge.evidence().iter().map(|e| format!("{}: {}", e.label(), e.value)).collect();
            assert_eq!(&r[8], evidence.join("\n"));
        }
    }
}

/// The official SARIF 2.1.0 schema, compiled once per test.
fn sarif_validator() -> (boon::Schemas, boon::SchemaIndex) {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/sarif-2.1.0.json")).unwrap();
    let schema: Value = serde_json::from_str(&text).unwrap();
    let url = "file:///sarif-2.1.0.json";
    let mut compiler = boon::Compiler::new();
    compiler.add_resource(url, schema).unwrap();
    let mut schemas = boon::Schemas::new();
    let index = compiler.compile(url, &mut schemas).unwrap();
    (schemas, index)
}

#[test]
fn sarif_validates_against_the_official_2_1_0_schema() {
    let (schemas, index) = sarif_validator();
    let (g, _) = demo();
    let queries = saved::builtin();
    let found: Vec<Vec<Path>> = queries.iter().map(|q| q.run(&g).unwrap()).collect();
    let rules: Vec<_> = queries.iter().zip(&found).map(|(q, p)| sarif::RuleFindings::of_query(q, p)).collect();
    let log = sarif::sarif(&g, &rules);
    if let Err(e) = schemas.validate(&log, index) {
        panic!("{e:#}");
    }
    let results = log["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), found.iter().map(Vec::len).sum::<usize>());
    assert!(!results.is_empty());
    let driver_rules = log["runs"][0]["tool"]["driver"]["rules"].as_array().unwrap();
    assert_eq!(driver_rules.len(), queries.len());
    for r in results {
        let rule = &driver_rules[r["ruleIndex"].as_u64().unwrap() as usize];
        assert_eq!(rule["id"], r["ruleId"]);
        let q = queries.iter().find(|q| q.name == r["ruleId"]).unwrap();
        assert_eq!(r["level"], sarif::level(q.severity));
        assert_eq!(rule["shortDescription"]["text"], q.description);
        let uri = r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].as_str().unwrap();
        assert_eq!(uri, format!("queries/{}.toml", q.name));
        assert!(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(uri).is_file(), "{uri}");
        assert!(r["message"]["text"].as_str().unwrap().contains(" -"), "the path in words");
    }
    // An ad-hoc `paths` rule (no file) and hostile text validate too; the message has no control
    // or bidi characters.
    let hostile = hostile_graph();
    let paths = vec![hostile_path(&hostile)];
    let rule = sarif::RuleFindings {
        id: "paths".into(),
        description: "Attack paths".into(),
        severity: saved::Severity::Medium,
        file: None,
        paths: &paths,
    };
    let log = sarif::sarif(&hostile, &[rule]);
    assert!(schemas.validate(&log, index).is_ok());
    let message = log["runs"][0]["results"][0]["message"]["text"].as_str().unwrap();
    assert!(!message.contains('\u{1b}') && !message.contains('\u{202e}'), "{message}");
    // The validator does reject what 2.1.0 forbids.
    let mut bad = log.clone();
    bad["runs"][0]["results"][0]["level"] = "fatal".into();
    assert!(schemas.validate(&bad, index).is_err());
    let mut bad = log;
    bad.as_object_mut().unwrap().remove("version");
    assert!(schemas.validate(&bad, index).is_err());
}

/// (ruleId, fingerprint, source, target) of every result of a SARIF log.
fn fingerprints(sarif_text: &[u8]) -> Vec<(String, String, String, String)> {
    let log: Value = serde_json::from_slice(sarif_text).unwrap();
    log["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let s = |v: &Value| v.as_str().unwrap().to_string();
            (
                s(&r["ruleId"]),
                s(&r["partialFingerprints"][sarif::FINGERPRINT_KEY]),
                s(&r["properties"]["source"]),
                s(&r["properties"]["target"]),
            )
        })
        .collect()
}

#[test]
fn sarif_fingerprints_are_stable_across_runs_and_snapshots() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("x.db");
    assert!(azpath(&db, &["demo"]).status.success());
    assert!(azpath(&db, &["demo"]).status.success());
    let run = |snapshot: &str| {
        let out = azpath(&db, &["query", "run", "--all", "--snapshot", snapshot, "--format", "sarif"]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        out.stdout
    };
    let (first, second, other_snapshot) = (run("1"), run("1"), run("2"));
    assert_eq!(first, second, "the same run gives the same bytes");
    let (a, b) = (fingerprints(&first), fingerprints(&other_snapshot));
    assert!(!a.is_empty());
    assert_eq!(a, b, "a re-import of the same tenant keeps every fingerprint");
    // One fingerprint per (query, source, target), and different ones for different findings.
    let mut by_print: HashMap<&str, (&str, &str, &str)> = HashMap::new();
    for (rule, print, source, target) in &a {
        let seen = by_print.entry(print).or_insert((rule, source, target));
        assert_eq!(*seen, (rule.as_str(), source.as_str(), target.as_str()));
    }
    let pairs: HashSet<_> = a.iter().map(|(r, _, s, t)| (r, s, t)).collect();
    assert_eq!(by_print.len(), pairs.len());
    // `paths --format sarif` is a valid log too.
    let out = azpath(&db, &["paths", "--format", "sarif"]);
    assert!(out.status.success());
    let (schemas, index) = sarif_validator();
    assert!(schemas.validate(&serde_json::from_slice(&out.stdout).unwrap(), index).is_ok());
}

#[test]
fn markdown_summary_lists_findings_with_tenant_text_escaped() {
    let (g, snap) = demo();
    let hostile = hostile_graph();
    let paths = vec![hostile_path(&hostile)];
    let section =
        SummarySection { title: "paths from x to y".into(), description: String::new(), severity: None, paths: &paths };
    let text = markdown::findings_summary(&hostile, &snap, &[section]);
    assert!(text.contains("| - | `paths from x to y` | 1 |"), "{text}");
    assert!(text.contains(r"\*f\* \`g\` \| h") && text.contains(r"\<d\>\&'e'"), "{text}");
    assert!(!text.contains('\u{1b}') && !text.contains('\u{202e}'), "{text}");
    assert!(!text.contains("*f*") && !text.contains("<d>"), "{text}");

    let q = saved::builtin().into_iter().find(|q| q.name == "pipeline-to-tier0").unwrap();
    let found = q.run(&g).unwrap();
    let section = SummarySection {
        title: q.name.clone(),
        description: q.description.clone(),
        severity: Some(q.severity),
        paths: &found,
    };
    let text = markdown::findings_summary(&g, &snap, &[section]);
    assert!(text.contains(&format!("| critical | `pipeline-to-tier0` | {} |", found.len())), "{text}");
    assert!(text.contains("### [CRITICAL] pipeline-to-tier0"), "{text}");
    assert!(text.contains("-GrantAnyRole->"), "{text}");
}

#[test]
fn export_commands_write_owner_only_files_and_formats_are_refused_where_meaningless() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("x.db");
    assert!(azpath(&db, &["demo"]).status.success());
    let og = dir.path().join("og.json");
    let schema = dir.path().join("schema.json");
    let out =
        azpath(&db, &["export", "opengraph", "--output", og.to_str().unwrap(), "--schema", schema.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    check_opengraph(&serde_json::from_slice(&std::fs::read(&og).unwrap()).unwrap());
    let schema: Value = serde_json::from_slice(&std::fs::read(&schema).unwrap()).unwrap();
    assert_eq!(schema["schema"]["namespace"], "AZP");

    let out = azpath(&db, &["export", "graphml", "pipeline-to-tier0"]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let doc = roxmltree::Document::parse(&text).unwrap();
    let edges = doc.descendants().filter(|n| n.has_tag_name("edge")).count();
    assert!(edges > 0 && edges < 50, "only the query's paths: {edges}");

    let neo = dir.path().join("neo");
    let out = azpath(&db, &["export", "csv", "--out-dir", neo.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    for file in ["nodes.csv", "relationships.csv"] {
        let path = neo.join(file);
        assert!(csv::Reader::from_path(&path).unwrap().records().count() > 50, "{file}");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600, "{file}");
        }
    }
    // The database is never an output.
    let out = azpath(&db, &["export", "graphml", "--output", db.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));

    for args in [
        &["reach", "pipeline", "--format", "sarif"][..],
        &["who-can-reach", "crown-jewels", "--format", "markdown"],
        &["snapshots", "--format", "sarif"],
        &["explain", "pipeline", "crown-jewels", "--format", "markdown"],
    ] {
        let out = azpath(&db, args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("reports findings, for `azpath paths` and `azpath query run`"), "{err}");
        assert!(!err.contains("panicked"), "{err}");
    }
    // `demo --format sarif` is refused before it imports anything.
    let before = azpath(&db, &["snapshots", "--format", "json"]).stdout;
    assert_eq!(azpath(&db, &["demo", "--format", "sarif"]).status.code(), Some(2));
    assert_eq!(azpath(&db, &["snapshots", "--format", "json"]).stdout, before);

    let out = azpath(&db, &["query", "run", "pipeline-to-tier0", "--format", "markdown"]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("| critical | `pipeline-to-tier0` |"));
}
