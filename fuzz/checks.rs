#![allow(dead_code)] // Each fuzz target uses one of these checks.
//! What each fuzz target checks, shared by the targets (`fuzz_targets/`) and by the replay of kept
//! regression inputs (`tests/it/fuzz.rs`). A check panics only on a real bug: a panic, a hang or a
//! stack overflow inside azpath, or hostile text surviving into human output.

use azpath::graph::AttackGraph;
use azpath::model::{Edge, Node};
use azpath::query::{self, PathOptions, Selector};
use std::sync::OnceLock;

/// A facts file: read, redacted, parsed and derived, both as `import` streams it and as JSON
/// values. Any input gives an error or a graph, and both readers accept the same files.
pub fn facts(data: &[u8]) {
    let streamed = azpath::facts::CompactFacts::read(data);
    let text = std::str::from_utf8(data);
    let whole = text.ok().map(azpath::facts::RawFacts::from_json);
    if let Some(whole) = &whole {
        assert_eq!(streamed.is_ok(), whole.is_ok(), "the streaming reader and the value reader disagree");
    }
    if let Ok(streamed) = streamed {
        let _ = azpath::prepare(streamed);
    }
    if let Some(Ok(raw)) = whole {
        let _ = azpath::prepare(raw);
    }
}

/// An AzureHound collection: streamed, mapped, and (when it names a tenant) prepared as a snapshot.
/// Any input gives counts, messages or an error.
pub fn azurehound(data: &[u8]) {
    let mut reader = azpath::interop::azurehound::AzureHoundReader::new();
    if reader.read_json(data, "fuzz.json").is_err() {
        return;
    }
    if let Ok((raw, _report)) = reader.finish("2026-01-01T00:00:00Z") {
        let _ = azpath::prepare(raw);
    }
}

/// A selector: parsed (errors point inside the input), and matched against every demo node.
pub fn selector(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    match Selector::parse(text) {
        Ok(sel) => {
            for n in &demo().nodes {
                sel.matches(n);
            }
        }
        Err(e) => assert!(e.column >= 1 && e.column <= text.chars().count() + 1, "column {} in {text:?}", e.column),
    }
}

/// A saved-query file: parsed; an accepted query's name is a safe file name and it runs.
pub fn saved_query(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(q) = azpath::query::saved::parse(text, "fuzz.toml") else { return };
    assert!(azpath::query::saved::check_name(&q.name).is_ok());
    // A name is one path component and, once escaped, cannot end a comment. (`--` alone is a fine
    // file name: the fuzzer's first finding was this check wrongly forbidding it.)
    assert!(!q.name.contains('/') && !q.name.contains('\\') && !q.name.starts_with('.'), "{:?}", q.name);
    assert!(!azpath::escape::comment(&q.name).contains("--"), "{:?}", q.name);
    let g = demo();
    if let (Ok(from), Ok(to)) = (query::select(g, &q.from), query::select(g, &q.to)) {
        let _ = query::paths(g, &from, &to, &q.options);
    }
}

/// Hostile names: every demo node renamed to the input; the terminal text, DOT and Markdown
/// written for the demo's paths must keep it inert.
pub fn writers(data: &[u8]) {
    let Ok(name) = std::str::from_utf8(data) else { return };
    let (mut nodes, edges) = demo_parts().clone();
    for n in &mut nodes {
        n.name = format!("{name}{}", n.name.len());
    }
    let g = AttackGraph::new(nodes, edges);
    let from = query::select(&g, "pipeline").unwrap_or_default();
    let to = query::select(&g, "crown-jewels").unwrap_or_default();
    let paths = query::paths(&g, &from, &to, &PathOptions::default()).unwrap_or_default();
    let style = azpath::report::Style { color: false };
    let mut reach = Vec::new();
    let found: Vec<_> = paths.iter().map(|p| azpath::graph::Reached::of(p, &g, false)).collect();
    azpath::report::reach_text(&mut reach, &g, &found, Some(&paths), style).expect("writing to memory");
    let reach = String::from_utf8(reach).expect("the text is UTF-8");
    for text in [azpath::report::paths_text(&g, &paths, true, style), reach] {
        if let Some(c) = text.chars().find(|&c| c != '\n' && azpath::escape::is_unsafe(c)) {
            panic!("unsafe {c:?} in terminal output:\n{text}");
        }
    }
    let dot = azpath::export::paths_dot(&g, &paths, &azpath::export::DotOptions::default());
    if let Err(e) = graphviz_rust::parse(&dot) {
        panic!("the DOT does not parse: {e}\n{dot}");
    }
    let md = azpath::escape::markdown(name);
    let raw_markup = md.char_indices().any(|(i, c)| matches!(c, '<' | '#' | '`') && !md[..i].ends_with('\\'));
    assert!(!raw_markup && !md.contains('\n'), "{md:?}");
    let comment = azpath::escape::comment(name);
    assert!(!comment.contains("--"), "{comment:?}");
}

/// The demo tenant's attack graph, built once.
fn demo() -> &'static AttackGraph {
    static DEMO: OnceLock<AttackGraph> = OnceLock::new();
    DEMO.get_or_init(|| {
        let (nodes, edges) = demo_parts().clone();
        AttackGraph::new(nodes, edges)
    })
}

/// The demo tenant's derived nodes and edges, built once.
fn demo_parts() -> &'static (Vec<Node>, Vec<Edge>) {
    static PARTS: OnceLock<(Vec<Node>, Vec<Edge>)> = OnceLock::new();
    PARTS.get_or_init(|| {
        let facts = azpath::facts::parse(&azpath::demo::raw()).expect("the demo parses");
        let derived = azpath::rules::derive(&facts);
        (derived.nodes, derived.edges)
    })
}
