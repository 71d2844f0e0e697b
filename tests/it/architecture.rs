//! The code map's layering, checked against the code: every module uses only modules on layers
//! below its own (`docs/ARCHITECTURE.md`, "Layers, lowest first"). A new import that runs back up
//! the pipeline, and so any import cycle, fails here.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// The layers as the architecture document lists them: each a set of module names.
fn layers() -> Vec<Vec<String>> {
    let doc = std::fs::read_to_string(Path::new(ROOT).join("docs/ARCHITECTURE.md")).unwrap();
    let line = doc
        .lines()
        .find_map(|l| l.split_once("Layers, lowest first:").map(|(_, rest)| rest.to_string()))
        .expect("docs/ARCHITECTURE.md states the layers");
    line.split('<')
        .map(|layer| {
            layer.split(',').map(|m| m.trim().trim_matches('`').to_string()).filter(|m| !m.is_empty()).collect()
        })
        .collect()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let p = entry.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The top-level module a source file belongs to: `src/rules/keys.rs` is `rules`; the crate root
/// is `lib`; the binary (`main.rs`, `src/cli/`) is `cli`.
fn module_of(file: &Path) -> String {
    let rel = file.strip_prefix(Path::new(ROOT).join("src")).unwrap();
    let first = rel.components().next().unwrap().as_os_str().to_string_lossy().to_string();
    match first.trim_end_matches(".rs") {
        "main" => "cli".into(),
        m => m.into(),
    }
}

/// The crate's modules a file names, outside comments: `crate::x` in the library, `azpath::x` in
/// the binary, including grouped imports (`crate::{x, y::z}`).
fn uses(text: &str, prefix: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in text.lines().map(str::trim_start).filter(|l| !l.starts_with("//")) {
        let mut rest = line;
        while let Some(i) = rest.find(prefix) {
            let after = &rest[i + prefix.len()..];
            let names: Vec<&str> = match after.strip_prefix('{') {
                Some(group) => group.split('}').next().unwrap_or("").split(',').collect(),
                None => vec![after],
            };
            for n in names {
                let name: String = n.trim().chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
                if !name.is_empty() {
                    out.push(name);
                }
            }
            rest = after;
        }
    }
    out
}

#[test]
fn every_module_uses_only_the_layers_below_it() {
    let layers = layers();
    let layer_of: BTreeMap<String, usize> =
        layers.iter().enumerate().flat_map(|(i, l)| l.iter().map(move |m| (m.clone(), i))).collect();
    let mut files = Vec::new();
    rust_files(&Path::new(ROOT).join("src"), &mut files);
    files.sort();
    let mut wrong = Vec::new();
    for file in &files {
        let module = module_of(file);
        let Some(&mine) = layer_of.get(&module) else {
            wrong.push(format!("{}: module `{module}` is on no layer of docs/ARCHITECTURE.md", file.display()));
            continue;
        };
        let text = std::fs::read_to_string(file).unwrap();
        let prefix = if module == "cli" { "azpath::" } else { "crate::" };
        for used in uses(&text, prefix) {
            // Items of the crate root (`crate::import_facts`) belong to the `lib` layer.
            let used_module = if layer_of.contains_key(&used) { used } else { "lib".to_string() };
            if used_module != module && layer_of[&used_module] >= mine {
                wrong.push(format!("{}: `{module}` uses `{used_module}`, which is not below it", file.display()));
            }
        }
    }
    wrong.sort();
    wrong.dedup();
    assert!(wrong.is_empty(), "imports that run against the layering:\n{}", wrong.join("\n"));
}

#[test]
fn the_check_sees_grouped_and_plain_imports() {
    let text = "use crate::{facts::ids, model::Node};\n// crate::store in a comment\nlet x = crate::graph::NodeId(1);";
    assert_eq!(uses(text, "crate::"), ["facts", "model", "graph"]);
}
