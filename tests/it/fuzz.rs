//! Every input the fuzzers ever found a bug with (`fuzz/regressions/<target>/`), and the seed
//! corpus, replayed through the same checks on stable Rust (`fuzz/checks.rs`), so a fixed crash
//! stays fixed. `scripts/fuzz.sh` runs the fuzzers themselves.

#[path = "../../fuzz/checks.rs"]
mod checks;

use std::path::Path;

fn replay(target: &str, check: fn(&[u8])) -> usize {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut n = 0;
    for dir in [root.join("regressions").join(target), root.join("seeds").join(target)] {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for entry in entries {
            let path = entry.unwrap().path();
            let data = std::fs::read(&path).unwrap();
            let outcome = std::panic::catch_unwind(|| check(&data));
            assert!(outcome.is_ok(), "{} fails its check", path.display());
            n += 1;
        }
    }
    n
}

#[test]
fn kept_fuzz_inputs_pass_their_checks() {
    let counts = [
        ("facts", replay("facts", checks::facts)),
        ("selector", replay("selector", checks::selector)),
        ("saved_query", replay("saved_query", checks::saved_query)),
        ("writers", replay("writers", checks::writers)),
        ("azurehound", replay("azurehound", checks::azurehound)),
    ];
    for (target, n) in counts {
        assert!(n > 0, "no seeds or regressions for the {target} target");
    }
}
