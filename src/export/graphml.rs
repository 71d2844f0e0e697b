//! GraphML: the attack graph (or a query's result) for graph tools (Gephi, yEd, networkx, Neo4j's
//! APOC). One directed graph; node and edge attributes declared as typed `<key>`s.

use super::Selection;
use crate::graph::AttackGraph;
use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};
use std::collections::BTreeSet;

const NAMESPACE: &str = "http://graphml.graphdrawing.org/xmlns";

/// Text XML 1.0 can hold: characters it forbids even when escaped (most C0 controls, unpaired
/// surrogates cannot occur in Rust, U+FFFE/U+FFFF) become U+FFFD.
fn xml_text(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '\t' | '\n' | '\r' => c,
            '\u{0}'..='\u{1f}' | '\u{fffe}' | '\u{ffff}' => '\u{fffd}',
            c => c,
        })
        .collect()
}

struct Out(Writer<Vec<u8>>);

impl Out {
    fn event(&mut self, e: Event<'_>) {
        // Writing into memory cannot fail.
        self.0.write_event(e).expect("writing XML to memory");
    }

    fn start(&mut self, name: &str, attrs: &[(&str, &str)]) {
        let attrs: Vec<(&str, String)> = attrs.iter().map(|(k, v)| (*k, xml_text(v))).collect();
        self.event(Event::Start(BytesStart::new(name).with_attributes(attrs.iter().map(|(k, v)| (*k, v.as_str())))));
    }

    fn empty(&mut self, name: &str, attrs: &[(&str, &str)]) {
        let attrs: Vec<(&str, String)> = attrs.iter().map(|(k, v)| (*k, xml_text(v))).collect();
        self.event(Event::Empty(BytesStart::new(name).with_attributes(attrs.iter().map(|(k, v)| (*k, v.as_str())))));
    }

    fn end(&mut self, name: &str) {
        self.event(Event::End(BytesEnd::new(name)));
    }

    fn data(&mut self, key: &str, value: &str) {
        self.start("data", &[("key", key)]);
        self.event(Event::Text(BytesText::new(&xml_text(value))));
        self.end("data");
    }
}

/// Node property keys as GraphML key ids: `p_` + the property name (apart from `n_kind`, `n_name`).
fn prop_key(name: &str) -> String {
    format!("p_{name}")
}

/// The GraphML document of a selection (load the edges' evidence first). Node ids are azpath's
/// node ids; edge attributes: kind, rule, reason, cost (int), requires_activation and conditional
/// (boolean), evidence ("label: value" lines).
pub fn graphml(g: &AttackGraph, sel: &Selection) -> String {
    let mut out = Out(Writer::new_with_indent(Vec::new(), b' ', 2));
    out.event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)));
    out.start("graphml", &[("xmlns", NAMESPACE)]);
    let props: BTreeSet<&str> = sel.nodes.iter().flat_map(|&n| g.node(n).props.keys()).collect();
    let mut keys: Vec<(String, &str, String, &str)> =
        vec![("n_kind".into(), "node", "kind".into(), "string"), ("n_name".into(), "node", "name".into(), "string")];
    keys.extend(props.iter().map(|p| (prop_key(p), "node", p.to_string(), "string")));
    for (name, ty) in [
        ("kind", "string"),
        ("rule", "string"),
        ("reason", "string"),
        ("cost", "int"),
        ("requires_activation", "boolean"),
        ("conditional", "boolean"),
        ("evidence", "string"),
    ] {
        keys.push((format!("e_{name}"), "edge", name.to_string(), ty));
    }
    for (id, domain, name, ty) in &keys {
        out.empty("key", &[("id", id), ("for", domain), ("attr.name", name), ("attr.type", ty)]);
    }
    out.start("graph", &[("id", "azpath"), ("edgedefault", "directed")]);
    for &n in &sel.nodes {
        let node = g.node(n);
        out.start("node", &[("id", node.id)]);
        out.data("n_kind", node.kind.as_str());
        out.data("n_name", node.name);
        for (k, v) in node.props.iter() {
            out.data(&prop_key(k), v);
        }
        out.end("node");
    }
    for &e in &sel.edges {
        let edge = g.edge(e);
        let id = format!("e{e}");
        out.start("edge", &[("id", &id), ("source", &edge.source), ("target", &edge.target)]);
        out.data("e_kind", edge.kind.as_str());
        out.data("e_rule", &edge.rule);
        out.data("e_reason", &edge.reason(g));
        out.data("e_cost", &edge.cost.to_string());
        out.data("e_requires_activation", if edge.requires_activation { "true" } else { "false" });
        out.data("e_conditional", if edge.conditional { "true" } else { "false" });
        let evidence: Vec<String> = edge.evidence().iter().map(|ev| format!("{}: {}", ev.label(), ev.value)).collect();
        out.data("e_evidence", &evidence.join("\n"));
        out.end("edge");
    }
    out.end("graph");
    out.end("graphml");
    let mut text = String::from_utf8(out.0.into_inner()).expect("the writer wrote UTF-8 text");
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forbidden_characters_are_replaced_others_kept() {
        assert_eq!(xml_text("a\u{1b}b\u{0}\n<é>"), "a\u{fffd}b\u{fffd}\n<é>");
    }
}
