//! Progress on a terminal: one line per phase with counts and rate. Hidden when stderr is not a
//! terminal or in CI, so logs stay clean.

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::time::Duration;

/// The phases shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Users, groups, service principals, applications, directory roles.
    Directory,
    /// Members, owners, app-role assignments, federated credentials, PIM for Groups.
    Relations,
    /// Management groups, subscriptions, RBAC, resources.
    Azure,
}

/// Progress bars, or nothing. Clones share the same bars.
#[derive(Clone)]
pub struct Progress {
    bars: Option<(MultiProgress, [ProgressBar; 3])>,
}

impl Progress {
    /// No output at all (tests, `--quiet`, CI, pipes).
    pub fn hidden() -> Progress {
        Progress { bars: None }
    }

    /// Bars on stderr if it is a terminal and `CI` is not set.
    pub fn for_terminal() -> Progress {
        let ci = std::env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "false");
        if ci || !std::io::stderr().is_terminal() {
            return Progress::hidden();
        }
        let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr_with_hz(4));
        let style = ProgressStyle::with_template("{spinner} {prefix:<10} {pos:>9} {msg} ({per_sec}) {elapsed}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner());
        let bar = |prefix: &'static str, msg: &'static str| {
            let b = multi.add(ProgressBar::new_spinner());
            b.set_style(style.clone());
            b.set_prefix(prefix);
            b.set_message(msg);
            b.enable_steady_tick(Duration::from_millis(250));
            b
        };
        let bars = [bar("directory", "objects"), bar("relations", "links"), bar("azure", "objects")];
        Progress { bars: Some((multi, bars)) }
    }

    pub fn inc(&self, phase: Phase, n: usize) {
        if let Some((_, bars)) = &self.bars {
            bars[phase as usize].inc(n as u64);
        }
    }

    /// Prints a line above the bars (or nowhere if hidden).
    pub fn println(&self, line: &str) {
        if let Some((multi, _)) = &self.bars {
            let _ = multi.println(line);
        }
    }

    pub fn is_visible(&self) -> bool {
        self.bars.is_some()
    }

    pub fn finish(&self) {
        if let Some((_, bars)) = &self.bars {
            for b in bars {
                b.finish_and_clear();
            }
        }
    }
}
