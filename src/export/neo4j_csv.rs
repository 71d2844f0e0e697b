//! Neo4j import files: `nodes.csv` and `relationships.csv` with the header syntax
//! `neo4j-admin database import full` reads (`:ID`, `:LABEL`, `:START_ID`, `:END_ID`, `:TYPE`,
//! `name:type` properties), for users moving the attack graph into their own graph database.
//! Fields may hold line breaks: import with `--multiline-fields=true` (`docs/interop.md`).

use super::Selection;
use crate::graph::AttackGraph;
use std::collections::BTreeSet;

/// The two files' contents.
pub struct Neo4jCsv {
    pub nodes: String,
    pub relationships: String,
}

/// The label every node carries, besides its kind.
pub const NODE_LABEL: &str = "AzpathNode";

/// A property name Neo4j's header syntax can hold: letters, digits and `_` (`:` would end it).
fn column(name: &str) -> String {
    name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '_' }).collect()
}

fn write(header: Vec<String>, rows: Vec<Vec<String>>) -> Result<String, csv::Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(&header)?;
    for row in rows {
        w.write_record(&row)?;
    }
    let bytes = w.into_inner().map_err(|e| e.into_error())?;
    Ok(String::from_utf8(bytes).expect("the CSV writer wrote the UTF-8 it was given"))
}

/// The node and relationship files of a selection (load the edges' evidence first). Node ids are
/// azpath's node ids; labels are `AzpathNode`, the node's kind, and `CrownJewel` for crown jewels;
/// every node property azpath has becomes a string column (empty where the node lacks it).
pub fn neo4j_csv(g: &AttackGraph, sel: &Selection) -> Result<Neo4jCsv, csv::Error> {
    let props: BTreeSet<&str> = sel.nodes.iter().flat_map(|&n| g.node(n).props.keys()).collect();
    let mut header: Vec<String> = vec!["id:ID".into(), ":LABEL".into(), "name:string".into(), "kind:string".into()];
    for p in &props {
        // Two keys that differ only in characters a column cannot hold get numbered columns.
        let base = column(p);
        let mut name = format!("{base}:string");
        let mut n = 1;
        while header.contains(&name) {
            n += 1;
            name = format!("{base}_{n}:string");
        }
        header.push(name);
    }
    let rows = sel
        .nodes
        .iter()
        .map(|&n| {
            let node = g.node(n);
            let mut labels = vec![NODE_LABEL, node.kind.as_str()];
            if node.crown_jewel().is_some() {
                labels.push("CrownJewel");
            }
            let mut row =
                vec![node.id.to_string(), labels.join(";"), node.name.to_string(), node.kind.as_str().to_string()];
            row.extend(props.iter().map(|p| node.prop(p).unwrap_or_default().to_string()));
            row
        })
        .collect();
    let nodes = write(header, rows)?;
    let header = [
        ":START_ID",
        ":END_ID",
        ":TYPE",
        "rule:string",
        "reason:string",
        "cost:int",
        "requires_activation:boolean",
        "conditional:boolean",
        "evidence:string",
    ]
    .map(String::from)
    .to_vec();
    let rows = sel
        .edges
        .iter()
        .map(|&e| {
            let edge = g.edge(e);
            // One string, "label: value" per line: Neo4j's array delimiter could occur in a value.
            let evidence: Vec<String> =
                edge.evidence().iter().map(|ev| format!("{}: {}", ev.label(), ev.value)).collect();
            vec![
                edge.source.to_string(),
                edge.target.to_string(),
                edge.kind.as_str().to_string(),
                edge.rule.to_string(),
                edge.reason(g),
                edge.cost.to_string(),
                edge.requires_activation.to_string(),
                edge.conditional.to_string(),
                evidence.join("\n"),
            ]
        })
        .collect();
    let relationships = write(header, rows)?;
    Ok(Neo4jCsv { nodes, relationships })
}
