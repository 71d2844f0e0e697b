//! Documents generated from the code: they must not drift from it.

const REGENERATE: &str = "AZPATH_UPDATE_DOCS=1 cargo test --test it docs::";

#[test]
fn rules_md_is_generated_from_the_rules() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/rules.md");
    let text = azpath::report::rules_markdown(azpath::rules::RULES);
    if std::env::var("AZPATH_UPDATE_DOCS").is_ok_and(|v| v == "1") {
        assert!(!std::env::var("CI").is_ok_and(|v| v == "true"), "docs/ are never rewritten in CI");
        std::fs::write(&path, &text).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(committed == text, "docs/rules.md is stale; regenerate with `{REGENERATE}`");
    for r in azpath::rules::RULES {
        assert!(committed.contains(&format!("\n## {}\n", r.id)), "{} is documented", r.id);
    }
}
