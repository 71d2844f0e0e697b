//! DOT diagrams of attack paths, built as a graphviz-rust DOT model and printed by its printer.
//!
//! Made to be pasted into an audit report and read by someone who has never seen azpath: nodes are
//! styled by what they are (one shape and colour per category), crown jewels and pipeline sources
//! have thick borders and a line saying so, hops carry their edge kind (and the Azure role behind
//! them), PIM hops are dashed, and a legend explains it all. Paths that share nodes and hops are
//! merged into one tree (each node and edge is emitted once), and large results are capped with a
//! note saying how many paths were left out.
//!
//! Names come from the tenant and may be hostile: every name is escaped by `escape::dot_quoted` (for
//! quoted strings) or `escape::dot_html` (for HTML-like labels). graphviz-rust's `id!(esc ..)` only adds
//! quotes, so it is not used. Node ids in the DOT are synthetic (`n0`, `n1`, ...), never tenant data.
//! Pure: returns a string.

use crate::diff::DiffMark;
use crate::escape::{dot_html, dot_quoted, one_line};
use crate::graph::{self, AttackGraph, NodeRef, Path};
use crate::model::{Edge, EvidenceKind, NodeKind};
use crate::report;
use graphviz_rust::dot_structures::{
    Attribute, Edge as DotEdge, EdgeTy, Graph, GraphAttributes, Id, Node as DotNode, NodeId, Stmt, Subgraph, Vertex,
};
use graphviz_rust::printer::{DotPrinter, PrinterContext};
use std::collections::{BTreeMap, HashMap};

/// How many paths a diagram shows unless told otherwise: beyond that a diagram stops being readable.
pub const DEFAULT_MAX_PATHS: usize = 50;

/// What to draw besides the paths.
#[derive(Debug, Clone)]
pub struct DotOptions {
    /// The diagram's caption (escaped here), e.g. the query and snapshot.
    pub title: String,
    /// Show at most this many paths (the most severe, then the easiest); 0 means all.
    pub max_paths: usize,
    /// Group resources in clusters by subscription and resource group.
    pub clusters: bool,
    /// Draw a legend of the node categories and edge styles used.
    pub legend: bool,
    /// For a diff: how each edge changed (by edge index). Added hops are green, removed red,
    /// unchanged faded.
    pub diff: Option<HashMap<usize, DiffMark>>,
}

impl Default for DotOptions {
    fn default() -> Self {
        DotOptions { title: String::new(), max_paths: DEFAULT_MAX_PATHS, clusters: true, legend: true, diff: None }
    }
}

/// The category that decides a node's shape and colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Category {
    Principal,
    ExternalIdentity,
    Role,
    Scope,
    Data,
    Model,
    Secret,
    Compute,
    Other,
}

impl Category {
    pub const ALL: [Category; 9] = [
        Category::Principal,
        Category::ExternalIdentity,
        Category::Role,
        Category::Scope,
        Category::Data,
        Category::Model,
        Category::Secret,
        Category::Compute,
        Category::Other,
    ];

    pub fn of(kind: NodeKind) -> Category {
        use NodeKind::*;
        match kind {
            User | Group | ServicePrincipal | Application | UserAssignedIdentity => Category::Principal,
            ExternalIdentity => Category::ExternalIdentity,
            DirectoryRole | AppRole => Category::Role,
            Tenant | ManagementGroup | Subscription | ResourceGroup => Category::Scope,
            StorageAccount | BlobContainer | MLDatastore | CosmosDBAccount => Category::Data,
            CognitiveServicesAccount | ModelDeployment | MLWorkspace | ContainerRegistry => Category::Model,
            KeyVault => Category::Secret,
            MLCompute | AKSCluster | VirtualMachine | WebApp | FunctionApp | LogicApp | AutomationAccount
            | DataFactory => Category::Compute,
            Resource => Category::Other,
        }
    }

    /// The legend's word for it.
    pub fn name(self) -> &'static str {
        match self {
            Category::Principal => "principal",
            Category::ExternalIdentity => "external identity",
            Category::Role => "role / permission",
            Category::Scope => "scope",
            Category::Data => "data",
            Category::Model => "model / AI",
            Category::Secret => "secrets",
            Category::Compute => "compute",
            Category::Other => "other resource",
        }
    }

    /// (shape, fill colour, border colour): shapes differ too, so the diagram survives greyscale.
    pub fn style(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Category::Principal => ("ellipse", "#dbeafe", "#1e40af"),
            Category::ExternalIdentity => ("hexagon", "#ede9fe", "#5b21b6"),
            Category::Role => ("octagon", "#fef3c7", "#92400e"),
            Category::Scope => ("folder", "#f3f4f6", "#374151"),
            Category::Data => ("cylinder", "#dcfce7", "#166534"),
            Category::Model => ("component", "#fce7f3", "#9d174d"),
            Category::Secret => ("note", "#ffedd5", "#9a3412"),
            Category::Compute => ("box3d", "#e0f2fe", "#075985"),
            Category::Other => ("box", "#ffffff", "#6b7280"),
        }
    }
}

/// Border colour of crown jewels and pipeline sources (with a thick border and a line of text).
pub const JEWEL_COLOR: &str = "#b91c1c";
pub const PIPELINE_COLOR: &str = "#0f766e";
/// Colour of hops that need a PIM activation (also dashed) and of conditional hops (also dotted).
pub const PIM_COLOR: &str = "#b45309";
pub const CONDITIONAL_COLOR: &str = "#6d28d9";
const EDGE_COLOR: &str = "#374151";

/// Long names (external identities' subjects) wrapped into lines of about `width` characters,
/// breaking after `:` `/` `-` `_` or a space when one is near; at most `max_lines` lines.
pub fn wrap(s: &str, width: usize, max_lines: usize) -> Vec<String> {
    let chars: Vec<char> = s.chars().collect();
    let mut lines = Vec::new();
    let mut start = 0;
    while start < chars.len() {
        if lines.len() + 1 == max_lines && chars.len() - start > width {
            let mut last: String = chars[start..start + width - 1].iter().collect();
            last.push('…');
            lines.push(last);
            return lines;
        }
        let mut end = (start + width).min(chars.len());
        if end < chars.len()
            && let Some(b) =
                (start + width / 2..end).rev().find(|&i| matches!(chars[i], ':' | '/' | '-' | '_' | ' ' | '.'))
        {
            end = b + 1;
        }
        lines.push(chars[start..end].iter().collect::<String>().trim().to_string());
        start = end;
    }
    lines
}

fn quoted(escaped: &str) -> Id {
    Id::Escaped(format!("\"{escaped}\""))
}

fn plain(s: &str) -> Id {
    Id::Plain(s.to_string())
}

fn attr(k: &str, v: Id) -> Attribute {
    Attribute(plain(k), v)
}

/// A quoted attribute from raw (unescaped) text.
fn text_attr(k: &str, raw: &str) -> Attribute {
    attr(k, quoted(&dot_quoted(raw)))
}

/// What a node is, in words for its label: the kind, told apart for managed identities.
fn kind_text(n: NodeRef<'_>) -> String {
    match n.kind {
        NodeKind::ServicePrincipal if n.prop("sp_type").is_some_and(|t| t.eq_ignore_ascii_case("ManagedIdentity")) => {
            "ServicePrincipal (managed identity)".into()
        }
        k => k.to_string(),
    }
}

/// The role name an Azure RBAC hop was granted by ("Contributor"), from its `role` evidence.
pub fn role_of(e: &Edge) -> Option<&str> {
    e.evidence_name(EvidenceKind::Role)
}

fn node_label(n: NodeRef<'_>, is_source: bool) -> Id {
    let mut s = String::from("<");
    let name: Vec<String> = wrap(n.name, 34, 4).iter().map(|l| dot_html(l)).collect();
    s.push_str(&format!("<b>{}</b>", name.join("<br/>")));
    s.push_str(&format!("<br/><font point-size=\"9\">{}</font>", dot_html(&kind_text(n))));
    if n.crown_jewel().is_some() {
        s.push_str(&format!(
            "<br/><font point-size=\"9\" color=\"{JEWEL_COLOR}\"><b>CROWN JEWEL:</b>&#160;{}</font>",
            dot_html(&n.crown_jewel().unwrap_or_default().replace('-', " "))
        ));
    }
    if n.is_pipeline() && is_source {
        let platform = n.prop("platform").map(|p| format!("({p})")).unwrap_or_default();
        s.push_str(&format!(
            "<br/><font point-size=\"9\" color=\"{PIPELINE_COLOR}\"><b>PIPELINE SOURCE:</b>&#160;{}</font>",
            dot_html(&platform)
        ));
    }
    s.push('>');
    Id::Html(s)
}

/// The (subscription, resource group) an ARM id lies in, lower-cased; the group is empty for the
/// subscription itself.
fn arm_location(id: &str) -> Option<(String, String)> {
    let lower = id.to_ascii_lowercase();
    let mut parts = lower.strip_prefix("/subscriptions/")?.split('/');
    let sub = parts.next().filter(|s| !s.is_empty())?.to_string();
    match (parts.next(), parts.next()) {
        (Some("resourcegroups"), Some(rg)) if !rg.is_empty() => Some((sub, rg.to_string())),
        _ => Some((sub, String::new())),
    }
}

/// A scope's display name from the graph when it is a node, else the id's last segment.
fn scope_name(g: &AttackGraph, id: &str, fallback: &str) -> String {
    g.nodes.iter().find(|n| n.id.eq_ignore_ascii_case(id)).map_or_else(|| fallback.to_string(), |n| n.name.to_string())
}

/// Which paths to draw: the `max` most severe (then easiest), in their original order; and how
/// many were left out.
pub fn choose(g: &AttackGraph, paths: &[Path], max: usize) -> (Vec<usize>, usize) {
    let mut order: Vec<usize> = (0..paths.len()).collect();
    if max > 0 && paths.len() > max {
        order.sort_by_key(|&i| (report::severity_rank(g.node(paths[i].target)), paths[i].cost));
        order.truncate(max);
        order.sort_unstable();
    }
    let omitted = paths.len() - order.len();
    (order, omitted)
}

/// The diagram as graphviz-rust's DOT model.
pub fn paths_graph(g: &AttackGraph, paths: &[Path], opts: &DotOptions) -> Graph {
    let (shown, omitted) = choose(g, paths, opts.max_paths);
    // Nodes and edges in order of first appearance; shared prefixes are emitted once.
    let mut node_ids: HashMap<graph::NodeId, String> = HashMap::new();
    let mut nodes: Vec<graph::NodeId> = Vec::new();
    let mut edges: Vec<usize> = Vec::new();
    let mut edge_uses: HashMap<usize, usize> = HashMap::new();
    let mut sources = std::collections::HashSet::new();
    for &i in &shown {
        let p = &paths[i];
        sources.insert(p.source);
        for n in p.nodes(g) {
            node_ids.entry(n).or_insert_with(|| {
                nodes.push(n);
                format!("n{}", nodes.len() - 1)
            });
        }
        for &e in &p.edges {
            let uses = edge_uses.entry(e).or_insert(0);
            if *uses == 0 {
                edges.push(e);
            }
            *uses += 1;
        }
    }

    let mut stmts = vec![
        Stmt::GAttribute(GraphAttributes::Graph(vec![
            attr("rankdir", plain("LR")),
            attr("fontname", plain("Helvetica")),
            attr("fontsize", plain("14")),
            attr("labelloc", plain("t")),
            attr("labeljust", plain("l")),
            text_attr("label", &opts.title),
            attr("nodesep", quoted("0.3")),
            attr("ranksep", quoted("0.6")),
            attr("compound", plain("true")),
        ])),
        Stmt::GAttribute(GraphAttributes::Node(vec![
            attr("fontname", plain("Helvetica")),
            attr("fontsize", plain("11")),
            attr("style", plain("filled")),
            attr("margin", quoted("0.15,0.06")),
        ])),
        Stmt::GAttribute(GraphAttributes::Edge(vec![
            attr("fontname", plain("Helvetica")),
            attr("fontsize", plain("9")),
            attr("color", quoted(EDGE_COLOR)),
            attr("fontcolor", quoted(EDGE_COLOR)),
        ])),
    ];

    let node_stmt = |n: graph::NodeId| -> Stmt {
        let node = g.node(n);
        let cat = Category::of(node.kind);
        let (shape, fill, border) = cat.style();
        let mut attrs = vec![
            attr("label", node_label(node, sources.contains(&n))),
            attr("shape", plain(shape)),
            attr("fillcolor", quoted(fill)),
            text_attr("tooltip", &format!("{}\n{}", one_line(node.name), one_line(node.id))),
        ];
        if node.crown_jewel().is_some() {
            attrs.extend([attr("color", quoted(JEWEL_COLOR)), attr("penwidth", plain("3"))]);
        } else if node.is_pipeline() && sources.contains(&n) {
            attrs.extend([attr("color", quoted(PIPELINE_COLOR)), attr("penwidth", plain("3"))]);
        } else {
            attrs.push(attr("color", quoted(border)));
        }
        Stmt::Node(DotNode::new(NodeId(plain(&node_ids[&n]), None), attrs))
    };

    // Clusters: subscription -> resource group -> nodes, only when two or more drawn nodes share a
    // subscription (a one-node box only adds noise).
    let mut by_sub: BTreeMap<String, Vec<graph::NodeId>> = BTreeMap::new();
    for &n in &nodes {
        if let Some((sub, _)) = arm_location(g.node(n).id) {
            by_sub.entry(sub).or_default().push(n);
        }
    }
    by_sub.retain(|_, v| v.len() >= 2);
    let clustered =
        |n: graph::NodeId| opts.clusters && arm_location(g.node(n).id).is_some_and(|(s, _)| by_sub.contains_key(&s));
    for &n in nodes.iter().filter(|&&n| !clustered(n)) {
        stmts.push(node_stmt(n));
    }
    if opts.clusters {
        let cluster_attrs = |label: String| {
            vec![
                Stmt::Attribute(text_attr("label", &label)),
                Stmt::Attribute(attr("style", quoted("rounded,dashed"))),
                Stmt::Attribute(attr("color", quoted("#9ca3af"))),
                Stmt::Attribute(attr("fontcolor", quoted("#4b5563"))),
                Stmt::Attribute(attr("fontsize", plain("10"))),
            ]
        };
        // Subscriptions in order of first appearance, for a stable, path-like layout.
        let mut subs: Vec<&String> = Vec::new();
        for &n in &nodes {
            if let Some((s, _)) = arm_location(g.node(n).id)
                && let Some((k, _)) = by_sub.get_key_value(&s)
                && !subs.contains(&k)
            {
                subs.push(k);
            }
        }
        for (si, sub) in subs.iter().enumerate() {
            let sub_id = format!("/subscriptions/{sub}");
            let mut sub_stmts = cluster_attrs(format!("subscription {}", one_line(&scope_name(g, &sub_id, sub))));
            let mut rgs: Vec<String> = Vec::new();
            for &n in &by_sub[*sub] {
                let (_, rg) = arm_location(g.node(n).id).expect("clustered nodes have ARM ids");
                if rg.is_empty() {
                    sub_stmts.push(node_stmt(n));
                } else if !rgs.contains(&rg) {
                    rgs.push(rg);
                }
            }
            for (ri, rg) in rgs.iter().enumerate() {
                let rg_id = format!("{sub_id}/resourcegroups/{rg}");
                let mut rg_stmts = cluster_attrs(format!("resource group {}", one_line(&scope_name(g, &rg_id, rg))));
                for &n in &by_sub[*sub] {
                    if arm_location(g.node(n).id).is_some_and(|(_, r)| &r == rg) {
                        rg_stmts.push(node_stmt(n));
                    }
                }
                sub_stmts
                    .push(Stmt::Subgraph(Subgraph { id: plain(&format!("cluster_s{si}_rg{ri}")), stmts: rg_stmts }));
            }
            stmts.push(Stmt::Subgraph(Subgraph { id: plain(&format!("cluster_s{si}")), stmts: sub_stmts }));
        }
    } else {
        for &n in nodes.iter().filter(|&&n| clustered(n)) {
            stmts.push(node_stmt(n));
        }
    }

    for &e in &edges {
        let edge = g.edge(e);
        let mut label = vec![dot_quoted(edge.kind.as_str())];
        if let Some(role) = role_of(&edge) {
            label.push(format!("({})", dot_quoted(&one_line(role))));
        }
        let mut attrs = Vec::new();
        let mut style = Vec::new();
        if edge.requires_activation {
            label.push("PIM: requires activation".into());
            style.push("dashed");
            attrs.extend([attr("color", quoted(PIM_COLOR)), attr("fontcolor", quoted(PIM_COLOR))]);
        }
        if edge.conditional {
            label.push("conditional (not evaluated)".into());
            if !edge.requires_activation {
                style.push("dotted");
                attrs.extend([attr("color", quoted(CONDITIONAL_COLOR)), attr("fontcolor", quoted(CONDITIONAL_COLOR))]);
            }
        }
        match opts.diff.as_ref().and_then(|d| d.get(&e)) {
            Some(DiffMark::Added) => {
                label.insert(0, "+ added".into());
                attrs = vec![
                    attr("color", quoted("#15803d")),
                    attr("fontcolor", quoted("#15803d")),
                    attr("penwidth", plain("2")),
                ];
            }
            Some(DiffMark::Removed) => {
                label.insert(0, "- removed".into());
                attrs = vec![
                    attr("color", quoted("#b91c1c")),
                    attr("fontcolor", quoted("#b91c1c")),
                    attr("penwidth", plain("2")),
                ];
            }
            Some(DiffMark::Unchanged) => {
                attrs = vec![attr("color", quoted("#d1d5db")), attr("fontcolor", quoted("#9ca3af"))];
            }
            None => {}
        }
        attrs.insert(0, attr("label", quoted(&label.join("\\n"))));
        if !style.is_empty() {
            attrs.push(attr("style", quoted(&style.join(","))));
        }
        // Hops many paths share are drawn heavier: the trunk of the tree.
        let uses = edge_uses[&e];
        if uses > 1 {
            attrs.push(attr("penwidth", plain(if uses >= 10 { "3" } else { "2" })));
        }
        if edge.has_detail() {
            attrs.push(text_attr("tooltip", &one_line(&edge.reason(g))));
        }
        let (s, t) = (g.edge_source(e), g.edge_target(e));
        stmts.push(Stmt::Edge(DotEdge {
            ty: EdgeTy::Pair(
                Vertex::N(NodeId(plain(&node_ids[&s]), None)),
                Vertex::N(NodeId(plain(&node_ids[&t]), None)),
            ),
            attributes: attrs,
        }));
    }

    if omitted > 0 {
        stmts.push(Stmt::Node(DotNode::new(
            NodeId(plain("omitted"), None),
            vec![
                text_attr(
                    "label",
                    &format!(
                        "{omitted} more path{} omitted\n(showing the {} most severe of {}; raise --max-paths to see more)",
                        if omitted == 1 { "" } else { "s" },
                        shown.len(),
                        paths.len()
                    ),
                ),
                attr("shape", plain("note")),
                attr("fillcolor", quoted("#fef9c3")),
                attr("color", quoted("#a16207")),
            ],
        )));
    }
    if opts.legend && !nodes.is_empty() {
        stmts.push(Stmt::Subgraph(legend(g, &nodes, &edges, &sources, opts.diff.is_some())));
    }
    Graph::DiGraph { id: plain("azpath"), strict: false, stmts }
}

/// The legend: one sample node per category drawn, the two highlights, and the edge styles used.
fn legend(
    g: &AttackGraph,
    nodes: &[graph::NodeId],
    edges: &[usize],
    sources: &std::collections::HashSet<graph::NodeId>,
    diff: bool,
) -> Subgraph {
    let mut stmts = vec![
        Stmt::Attribute(text_attr("label", "Legend")),
        Stmt::Attribute(attr("style", quoted("rounded"))),
        Stmt::Attribute(attr("color", quoted("#d1d5db"))),
        Stmt::Attribute(attr("fontsize", plain("10"))),
    ];
    let mut cats: Vec<Category> = nodes.iter().map(|&n| Category::of(g.node(n).kind)).collect();
    cats.sort();
    cats.dedup();
    let small = |id: &str, label: &str, mut extra: Vec<Attribute>| {
        let mut attrs = vec![text_attr("label", label), attr("fontsize", plain("9"))];
        attrs.append(&mut extra);
        Stmt::Node(DotNode::new(NodeId(plain(id), None), attrs))
    };
    let mut ids = Vec::new();
    for c in cats {
        let (shape, fill, border) = c.style();
        let id = format!("legend_{}", format!("{c:?}").to_lowercase());
        stmts.push(small(
            &id,
            c.name(),
            vec![attr("shape", plain(shape)), attr("fillcolor", quoted(fill)), attr("color", quoted(border))],
        ));
        ids.push(id);
    }
    if nodes.iter().any(|&n| g.node(n).crown_jewel().is_some()) {
        stmts.push(small(
            "legend_jewel",
            "crown jewel",
            vec![
                attr("shape", plain("box")),
                attr("fillcolor", quoted("#ffffff")),
                attr("color", quoted(JEWEL_COLOR)),
                attr("penwidth", plain("3")),
            ],
        ));
        ids.push("legend_jewel".into());
    }
    if nodes.iter().any(|&n| g.node(n).is_pipeline() && sources.contains(&n)) {
        stmts.push(small(
            "legend_pipeline",
            "pipeline source",
            vec![
                attr("shape", plain("box")),
                attr("fillcolor", quoted("#ffffff")),
                attr("color", quoted(PIPELINE_COLOR)),
                attr("penwidth", plain("3")),
            ],
        ));
        ids.push("legend_pipeline".into());
    }
    // Edge samples between point nodes.
    let mut samples = vec![("edge kind\\n(Azure role)", vec![])];
    if edges.iter().any(|&e| g.edge_requires_activation(e)) {
        samples.push((
            "PIM: requires activation",
            vec![
                attr("style", quoted("dashed")),
                attr("color", quoted(PIM_COLOR)),
                attr("fontcolor", quoted(PIM_COLOR)),
            ],
        ));
    }
    if edges.iter().any(|&e| g.edge_conditional(e)) {
        samples.push((
            "conditional (not evaluated)",
            vec![
                attr("style", quoted("dotted")),
                attr("color", quoted(CONDITIONAL_COLOR)),
                attr("fontcolor", quoted(CONDITIONAL_COLOR)),
            ],
        ));
    }
    if diff {
        samples.push(("+ added", vec![attr("color", quoted("#15803d")), attr("fontcolor", quoted("#15803d"))]));
        samples.push(("- removed", vec![attr("color", quoted("#b91c1c")), attr("fontcolor", quoted("#b91c1c"))]));
        samples.push(("unchanged", vec![attr("color", quoted("#d1d5db")), attr("fontcolor", quoted("#9ca3af"))]));
    }
    for (i, (label, extra)) in samples.into_iter().enumerate() {
        let (a, b) = (format!("legend_e{i}a"), format!("legend_e{i}b"));
        ids.push(a.clone());
        for id in [&a, &b] {
            stmts.push(Stmt::Node(DotNode::new(
                NodeId(plain(id), None),
                vec![attr("shape", plain("point")), attr("width", quoted("0.05"))],
            )));
        }
        ids.push(b.clone());
        let mut attrs = vec![attr("label", quoted(label))];
        attrs.extend(extra);
        stmts.push(Stmt::Edge(DotEdge {
            ty: EdgeTy::Pair(Vertex::N(NodeId(plain(&a), None)), Vertex::N(NodeId(plain(&b), None))),
            attributes: attrs,
        }));
    }
    // One row (left to right): invisible edges chain the samples.
    for pair in ids.windows(2).filter(|p| !(p[0].starts_with("legend_e") && p[0].ends_with('a'))) {
        stmts.push(Stmt::Edge(DotEdge {
            ty: EdgeTy::Pair(Vertex::N(NodeId(plain(&pair[0]), None)), Vertex::N(NodeId(plain(&pair[1]), None))),
            attributes: vec![attr("style", plain("invis"))],
        }));
    }
    Subgraph { id: plain("cluster_legend"), stmts }
}

/// The diagram as DOT text, ending with a newline.
pub fn paths_dot(g: &AttackGraph, paths: &[Path], opts: &DotOptions) -> String {
    let graph = paths_graph(g, paths, opts);
    graph.print(&mut PrinterContext::default()) + "\n"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_names_wrap_at_separators_and_are_cut() {
        let w = wrap("Terraform Cloud: organization:contoso:project:ml:workspace:prod:run_phase:apply", 34, 4);
        assert!(w.len() > 1 && w.iter().all(|l| l.chars().count() <= 34), "{w:?}");
        assert_eq!(
            w.concat().replace(' ', ""),
            "TerraformCloud:organization:contoso:project:ml:workspace:prod:run_phase:apply"
        );
        let cut = wrap(&"x".repeat(500), 10, 3);
        assert_eq!(cut.len(), 3);
        assert!(cut[2].ends_with('…'));
        assert_eq!(wrap("short", 34, 4), ["short"]);
    }

    #[test]
    fn arm_locations() {
        assert_eq!(arm_location("/subscriptions/S/resourceGroups/RG/providers/x/y"), Some(("s".into(), "rg".into())));
        assert_eq!(arm_location("/subscriptions/s"), Some(("s".into(), String::new())));
        assert_eq!(arm_location("/providers/Microsoft.Management/managementGroups/m"), None);
    }
}
