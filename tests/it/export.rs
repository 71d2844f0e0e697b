//! Exports: DOT diagrams parsed back with graphviz-rust, escaping of hostile names, rendering with
//! the real `dot`, the committed examples in `exports/`, and the Markdown report.

use azpath::export::dot::{self, DotOptions};
use azpath::export::{self, render};
use azpath::graph::{AttackGraph, Path};
use azpath::model::{Edge, EdgeKind, Evidence, Node, NodeKind};
use graphviz_rust::dot_structures::{Attribute, EdgeTy, Graph, Id, Stmt, Vertex};
use std::collections::{BTreeMap, HashMap};

use crate::support::demo;

/// An attribute value as text: quotes removed and escapes undone; HTML labels as written.
fn value(id: &Id) -> String {
    match id {
        Id::Escaped(s) => {
            let inner = &s[1..s.len() - 1];
            let mut out = String::new();
            let mut chars = inner.chars();
            while let Some(c) = chars.next() {
                if c == '\\' {
                    match chars.next() {
                        Some('n') => out.push('\n'),
                        Some(c) => out.push(c),
                        None => out.push('\\'),
                    }
                } else {
                    out.push(c);
                }
            }
            out
        }
        Id::Html(s) | Id::Plain(s) | Id::Anonymous(s) => s.clone(),
    }
}

fn id_text(id: &Id) -> String {
    value(id)
}

type Attrs = BTreeMap<String, String>;

fn attrs(list: &[Attribute]) -> Attrs {
    list.iter().map(|Attribute(k, v)| (id_text(k), value(v))).collect()
}

/// Every node (with its attributes) and edge of a parsed DOT graph, subgraphs included, and the
/// cluster ids.
#[derive(Default, Debug)]
pub struct Parsed {
    pub nodes: HashMap<String, Attrs>,
    pub edges: Vec<(String, String, Attrs)>,
    pub clusters: Vec<(String, Attrs)>,
    pub graph_attrs: Attrs,
}

fn walk(stmts: &[Stmt], out: &mut Parsed) {
    for s in stmts {
        match s {
            Stmt::Node(n) => {
                out.nodes.entry(id_text(&n.id.0)).or_default().extend(attrs(&n.attributes));
            }
            Stmt::Edge(e) => {
                let EdgeTy::Pair(Vertex::N(a), Vertex::N(b)) = &e.ty else { panic!("only node pairs: {e:?}") };
                out.edges.push((id_text(&a.0), id_text(&b.0), attrs(&e.attributes)));
            }
            Stmt::Subgraph(sg) => {
                let own: Vec<Attribute> = sg
                    .stmts
                    .iter()
                    .filter_map(|s| if let Stmt::Attribute(a) = s { Some(a.clone()) } else { None })
                    .collect();
                out.clusters.push((id_text(&sg.id), attrs(&own)));
                walk(&sg.stmts, out);
            }
            Stmt::GAttribute(graphviz_rust::dot_structures::GraphAttributes::Graph(a)) => {
                out.graph_attrs.extend(attrs(a))
            }
            _ => {}
        }
    }
}

pub fn parse(dot_text: &str) -> Parsed {
    let g = graphviz_rust::parse(dot_text).unwrap_or_else(|e| panic!("the DOT must parse: {e}\n{dot_text}"));
    let Graph::DiGraph { stmts, .. } = g else { panic!("a digraph") };
    let mut out = Parsed::default();
    walk(&stmts, &mut out);
    out
}

/// The diagram's own nodes (not the legend's or the omitted note).
fn path_nodes(p: &Parsed) -> Vec<(&String, &Attrs)> {
    let mut v: Vec<_> =
        p.nodes.iter().filter(|(id, _)| id.starts_with('n') && id[1..].parse::<u32>().is_ok()).collect();
    v.sort();
    v
}

fn path_edges(p: &Parsed) -> Vec<&(String, String, Attrs)> {
    p.edges.iter().filter(|e| !e.0.starts_with("legend")).collect()
}

#[test]
fn every_path_node_and_hop_is_drawn_once_with_its_style() {
    let (g, snap) = demo();
    let h = azpath::demo::headline(&g);
    let paths = &h.pipeline_paths;
    let text = dot::paths_dot(
        &g,
        paths,
        &DotOptions { title: export::title("headline", &snap, paths.len()), ..Default::default() },
    );
    let parsed = parse(&text);
    let mut want_nodes: Vec<azpath::graph::NodeId> = paths.iter().flat_map(|p| p.nodes(&g)).collect();
    want_nodes.sort();
    want_nodes.dedup();
    let mut want_edges: Vec<usize> = paths.iter().flat_map(|p| p.edges.clone()).collect();
    want_edges.sort();
    want_edges.dedup();
    assert_eq!(path_nodes(&parsed).len(), want_nodes.len(), "each node once");
    assert_eq!(path_edges(&parsed).len(), want_edges.len(), "shared hops merged: each edge once");
    assert_eq!(parsed.graph_attrs["rankdir"], "LR");
    assert!(parsed.graph_attrs["label"].contains("Contoso ML"));
    // Find nodes by label.
    let by_name = |name: &str| {
        path_nodes(&parsed)
            .into_iter()
            .find(|(_, a)| a["label"].replace("<br/>", " ").contains(&format!("<b>{name}</b>")))
            .unwrap_or_else(|| panic!("{name} drawn"))
    };
    let (_, jewel) = by_name("stmltraining");
    assert_eq!(jewel["shape"], "cylinder");
    assert_eq!(jewel["color"], dot::JEWEL_COLOR);
    assert_eq!(jewel["penwidth"], "3");
    assert!(jewel["label"].contains("CROWN JEWEL") && jewel["label"].contains("StorageAccount"));
    let (_, kv) = by_name("kv-ml-secrets");
    assert_eq!(kv["shape"], "note");
    let (_, role) = path_nodes(&parsed).into_iter().find(|(_, a)| a["label"].contains(">AppRole<")).unwrap();
    assert_eq!(role["shape"], "octagon");
    let pipeline = path_nodes(&parsed).into_iter().filter(|(_, a)| a["label"].contains("PIPELINE SOURCE")).count();
    let sources: std::collections::HashSet<azpath::graph::NodeId> = paths.iter().map(|p| p.source).collect();
    assert_eq!(pipeline, sources.len(), "every pipeline source stands out");
    for (_, a) in path_nodes(&parsed).into_iter().filter(|(_, a)| a["label"].contains("PIPELINE SOURCE")) {
        // External identities are hexagons; the self-hosted build agent's managed identity an ellipse.
        assert!(a["shape"] == "hexagon" || a["label"].contains("vm-build-agent"), "{a:?}");
        assert_eq!(a["color"], dot::PIPELINE_COLOR);
    }
    // Edge labels: kind, and the Azure role when one grants the hop.
    let edges = path_edges(&parsed);
    assert!(edges.iter().any(|e| e.2["label"] == "SetAccessPolicy\n(Contributor)"), "{edges:?}");
    assert!(edges.iter().any(|e| e.2["label"] == "AuthenticatesAs"));
    assert!(edges.iter().all(|e| e.2.contains_key("tooltip")), "every hop carries its reason");
    // Resources are clustered by subscription and resource group; a legend is drawn.
    assert!(parsed.clusters.iter().any(|(_, a)| a.get("label").is_some_and(|l| l == "subscription sub-ml-prod")));
    assert!(parsed.clusters.iter().any(|(_, a)| a.get("label").is_some_and(|l| l == "resource group rg-ml")));
    assert!(parsed.clusters.iter().any(|(id, _)| id == "cluster_legend"));
}

fn hop(s: &str, t: &str, kind: EdgeKind, eligible: bool, conditional: bool, evidence: Vec<Evidence>) -> Edge {
    let reason = format!("reason with \"quotes\" and \\ and\nnewline for {s}");
    Edge::new(s, t, kind, "test", reason).with_evidence(evidence).with_flags(eligible, conditional)
}

const HOSTILE: &[&str] = &[
    "Robert\"; DROP",
    "back\\slash\\N\\G",
    "line\nbreak\r\n",
    "<script>alert(1)</script>",
    "\"]; evil [label=\"pwned",
    "}\ndigraph x {",
    "Zoë Ñúñez 日本語 🚀",
    "\u{202e}gnp.exe",
    "a > > b << c",
    "&amp; &#60;",
];

#[test]
fn hostile_display_names_cannot_break_or_inject_into_the_dot() {
    let mut nodes = vec![];
    let mut edges = vec![];
    for (i, name) in HOSTILE.iter().enumerate() {
        let kind = [NodeKind::User, NodeKind::Group, NodeKind::ServicePrincipal][i % 3];
        nodes.push(Node::new(format!("id{i}\"]"), kind, *name));
        if i > 0 {
            let ev = vec![Evidence::named(azpath::model::EvidenceKind::Role, name, "guid")];
            edges.push(hop(
                &format!("id{}\"]", i - 1),
                &format!("id{i}\"]"),
                EdgeKind::AddMember,
                i % 2 == 0,
                i % 3 == 0,
                ev,
            ));
        }
    }
    let jewel = Node::new("/subscriptions/s/resourcegroups/rg\"x/providers/p/t/j", NodeKind::KeyVault, "\"]; x [")
        .with_prop("crown_jewel", "secrets\"<b>")
        .with_prop("crown_jewel_reason", "r");
    nodes.push(jewel);
    edges.push(hop(
        &format!("id{}\"]", HOSTILE.len() - 1),
        "/subscriptions/s/resourcegroups/rg\"x/providers/p/t/j",
        EdgeKind::ReadSecrets,
        false,
        false,
        vec![],
    ));
    let g = AttackGraph::new(nodes, edges);
    let path = Path {
        source: azpath::graph::NodeId(0),
        target: azpath::graph::NodeId(HOSTILE.len() as u32),
        edges: (0..HOSTILE.len()).collect(),
        cost: 1,
    };
    let text = dot::paths_dot(
        &g,
        &[path],
        &DotOptions { title: "title \"with\" \\ hostile\n<b>".into(), ..Default::default() },
    );
    let parsed = parse(&text);
    // Exactly the expected nodes and edges: nothing injected.
    assert_eq!(path_nodes(&parsed).len(), HOSTILE.len() + 1, "{text}");
    assert_eq!(path_edges(&parsed).len(), HOSTILE.len(), "{text}");
    assert!(!parsed.nodes.contains_key("evil") && !parsed.nodes.contains_key("x"));
    assert_eq!(parsed.graph_attrs["label"], "title \"with\" \\ hostile\n<b>");
    // Names survive escaping: HTML labels carry entities, tooltips the text on one line.
    for (i, name) in HOSTILE.iter().enumerate() {
        let (_, a) = path_nodes(&parsed).into_iter().find(|(id, _)| **id == format!("n{i}")).unwrap();
        let label = &a["label"];
        assert!(!label[1..label.len() - 1].contains("<script"), "{label}");
        let want = azpath::escape::dot_html(&dot::wrap(name, 34, 4).join(""));
        let got = label.split("<b>").nth(1).unwrap().split("</b>").next().unwrap().replace("<br/>", "");
        assert_eq!(got, want, "{name:?}");
        let tooltip = &a["tooltip"];
        let clean: String =
            azpath::escape::one_line(name).chars().map(|c| if c == '\u{202e}' { '\u{fffd}' } else { c }).collect();
        assert!(tooltip.starts_with(&clean), "{tooltip:?} vs {name:?}");
    }
    assert!(text.contains("Zoë Ñúñez 日本語 🚀"), "unicode is kept as UTF-8");
    assert!(!text.contains('\u{202e}'), "bidi overrides are neutralised");
    // Role names in edge labels are escaped too.
    assert!(path_edges(&parsed).iter().any(|e| e.2["label"].contains("(\"]; evil [label=\"pwned)")));
    // PIM hops dashed and marked; conditional hops dotted and marked.
    for e in path_edges(&parsed) {
        let l = &e.2["label"];
        if l.contains("PIM: requires activation") {
            assert!(e.2["style"].contains("dashed"));
            assert_eq!(e.2["color"], dot::PIM_COLOR);
        } else if l.contains("conditional") {
            assert_eq!(e.2["style"], "dotted");
        } else {
            assert!(!e.2.contains_key("style"));
        }
    }
    assert!(path_edges(&parsed).iter().any(|e| e.2["label"].contains("PIM")));
    // And the real Graphviz accepts it.
    if render::available() {
        let svg = String::from_utf8(render::render(&text, render::RenderFormat::Svg).unwrap()).unwrap();
        assert!(svg.contains("&lt;script&gt;") && !svg.contains("<script"), "escaped in the SVG too");
    }
}

#[test]
fn large_results_are_capped_with_a_note() {
    let (g, _) = demo();
    let users = azpath::query::select(&g, "kind:User or kind:Group or kind:ServicePrincipal").unwrap();
    let jewels = azpath::query::select(&g, "all").unwrap();
    let paths = azpath::query::paths(&g, &users, &jewels, &Default::default()).unwrap();
    assert!(paths.len() > 60, "{}", paths.len());
    let text = dot::paths_dot(&g, &paths, &DotOptions { max_paths: 10, ..Default::default() });
    let parsed = parse(&text);
    let note = &parsed.nodes["omitted"]["label"];
    assert!(note.starts_with(&format!("{} more paths omitted", paths.len() - 10)), "{note}");
    let all = dot::paths_dot(&g, &paths, &DotOptions { max_paths: 0, ..Default::default() });
    assert!(!parse(&all).nodes.contains_key("omitted"));
}

/// How the committed examples are regenerated (never in CI).
const REGENERATE: &str = "AZPATH_UPDATE_EXPORTS=1 cargo test --test it export::committed";

/// `exports/` holds DOT + SVG of the demo's headline queries. The DOT must equal what the code
/// produces, byte for byte. The SVG is not compared byte for byte (its layout and markup change
/// between Graphviz versions, so that would be flaky); instead it must carry the fingerprint of the
/// exact DOT it was rendered from (stamped when regenerating) and draw exactly that DOT's nodes and
/// edges. So neither can drift from the code, on any Graphviz.
#[test]
fn committed_examples_match_the_code() {
    let (g, snap) = demo();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("exports");
    let update = std::env::var("AZPATH_UPDATE_EXPORTS").is_ok_and(|v| v == "1");
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    assert!(!(update && ci), "exports/ is never rewritten in CI (CI=true); regenerate locally with `{REGENERATE}`");
    let examples = export::examples(&g).unwrap();
    let mut names = vec![];
    for (name, what, paths) in &examples {
        assert!(!paths.is_empty(), "{name} finds paths on the demo");
        let text = dot::paths_dot(
            &g,
            paths,
            &DotOptions { title: export::title(what, &snap, paths.len()), ..Default::default() },
        );
        let (dot_file, svg_file) = (format!("{name}.dot"), format!("{name}.svg"));
        names.push(dot_file.clone());
        names.push(svg_file.clone());
        if update {
            std::fs::write(dir.join(&dot_file), &text).unwrap();
            let svg = String::from_utf8(render::render(&text, render::RenderFormat::Svg).unwrap()).unwrap();
            std::fs::write(dir.join(&svg_file), render::stamp_svg(&svg, &dot_file, &text)).unwrap();
            continue;
        }
        let committed = std::fs::read_to_string(dir.join(&dot_file)).unwrap_or_default();
        assert!(
            committed == text,
            "exports/{dot_file} differs from what the code draws; regenerate with `{REGENERATE}`"
        );
        let svg = std::fs::read_to_string(dir.join(&svg_file)).unwrap_or_default();
        assert!(
            svg.contains(&render::stamp_comment(&dot_file, &text)),
            "exports/{svg_file} was not rendered from the current exports/{dot_file}; regenerate with `{REGENERATE}`"
        );
        let parsed = parse(&text);
        for id in parsed.nodes.keys() {
            assert!(svg.contains(&format!("<title>{id}</title>")), "exports/{svg_file} lacks node {id}");
        }
        for (a, b, _) in parsed.edges.iter().filter(|e| e.2.get("style").is_none_or(|s| s != "invis")) {
            assert!(svg.contains(&format!("<title>{a}&#45;&gt;{b}</title>")), "exports/{svg_file} lacks edge {a}->{b}");
        }
        assert_eq!(svg.matches("class=\"node\"").count(), parsed.nodes.len(), "exports/{svg_file}: node count");
    }
    let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|f| f.ends_with(".dot") || f.ends_with(".svg"))
        .collect();
    on_disk.sort();
    names.sort();
    assert_eq!(on_disk, names, "exports/ holds exactly the examples; regenerate with `{REGENERATE}`");
    let readme = std::fs::read_to_string(dir.join("README.md")).unwrap();
    for n in &names {
        assert!(readme.contains(n.as_str()), "exports/README.md mentions {n}");
    }
}

#[test]
fn rendering_with_the_real_dot_gives_an_svg_and_a_png() {
    if !render::available() {
        assert_ne!(std::env::var("CI").as_deref(), Ok("true"), "CI must install graphviz (.ci/run does)");
        eprintln!("skipping: Graphviz `dot` is not installed");
        return;
    }
    let (g, snap) = demo();
    let paths = azpath::demo::headline(&g).pipeline_paths;
    let text = dot::paths_dot(
        &g,
        &paths,
        &DotOptions { title: export::title("headline", &snap, paths.len()), ..Default::default() },
    );
    let svg = String::from_utf8(render::render(&text, render::RenderFormat::Svg).unwrap()).unwrap();
    assert!(svg.contains("<svg") && svg.contains("stmltraining") && svg.contains("CROWN JEWEL"));
    assert!(svg.contains("stroke-dasharray") || !paths.iter().any(|p| p.requires_activation(&g)));
    let png = render::render(&text, render::RenderFormat::Png).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    let bad = render::render("digraph { a -> }", render::RenderFormat::Svg).unwrap_err();
    assert!(matches!(bad, render::RenderError::Failed { .. }), "{bad}");
}

#[test]
fn markdown_report_on_the_demo_is_self_contained() {
    use azpath::export::markdown::{self, Finding, ReportOptions};
    let (g, snap) = demo();
    let findings: Vec<Finding> = azpath::query::saved::builtin()
        .into_iter()
        .map(|q| {
            let from = azpath::query::select(&g, &q.from).unwrap();
            let to = azpath::query::select(&g, &q.to).unwrap();
            let paths = azpath::query::paths(&g, &from, &to, &q.options).unwrap();
            Finding { query: q, paths, svg: None }
        })
        .collect();
    let md = markdown::report(&g, &snap, &findings, &ReportOptions::default());
    assert!(md.starts_with("# Attack-path report: tenant Contoso ML\n"));
    for want in
        ["## Scope", "2026-11-01T09:00:00Z", "every collection was read in full", "## Summary", "**Suggested fix**"]
    {
        assert!(md.contains(want), "{want}");
    }
    // Ranked by severity: the critical section comes before the high ones.
    let tier0 = md.find("### [CRITICAL] pipeline-to-tier0").expect("tier0 finding");
    let training = md.find("### [HIGH] pipeline-to-training-data").expect("training data finding");
    assert!(tier0 < training);
    // Fixes come from the decisive hop's kind and evidence.
    assert!(md.contains("`allowSharedKeyAccess=false`"), "ListKeys on storage");
    assert!(md.contains("Revoke the Microsoft Graph application permission"), "Graph app role");
    assert!(md.contains("role assignment `/subscriptions/"), "names the role assignment");
    // Every diagram is a DOT block that parses.
    let blocks: Vec<&str> = md.split("```dot\n").skip(1).map(|b| b.split("```").next().unwrap()).collect();
    assert!(!blocks.is_empty());
    for b in blocks {
        assert!(!parse(b).nodes.is_empty());
    }
}
