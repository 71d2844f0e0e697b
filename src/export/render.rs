//! Rendering DOT to SVG or PNG with the Graphviz `dot` binary. The only part of `export` that runs a
//! process; it writes no files (the CLI does). `AZPATH_DOT` names another `dot` binary.

use std::io::Write;
use std::process::{Command, Stdio};

/// What `--render` can produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RenderFormat {
    Svg,
    Png,
}

impl RenderFormat {
    /// The file extension and `dot -T` argument.
    pub fn as_str(self) -> &'static str {
        match self {
            RenderFormat::Svg => "svg",
            RenderFormat::Png => "png",
        }
    }
}

/// How to get Graphviz, shown when `dot` is missing.
pub const INSTALL_HINT: &str = "install Graphviz: `apt-get install graphviz` (Debian/Ubuntu), `dnf install graphviz` \
(Fedora), `brew install graphviz` (macOS), `choco install graphviz` (Windows); or write the DOT with \
`--format dot` and render it elsewhere";

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("cannot render: the Graphviz `dot` program ({0}) was not found; {INSTALL_HINT}")]
    NotInstalled(String),
    #[error("`dot` failed ({status}): {stderr}")]
    Failed { status: String, stderr: String },
    #[error("cannot run `dot`: {0}")]
    Io(#[from] std::io::Error),
}

/// The `dot` program to run: `AZPATH_DOT` or `dot` on the PATH.
pub fn dot_program() -> String {
    std::env::var("AZPATH_DOT").ok().filter(|s| !s.is_empty()).unwrap_or_else(|| "dot".into())
}

/// True when `dot` can be run.
pub fn available() -> bool {
    Command::new(dot_program())
        .arg("-V")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Renders DOT text with `dot -T<format>` and returns the image's bytes.
pub fn render(dot: &str, format: RenderFormat) -> Result<Vec<u8>, RenderError> {
    let program = dot_program();
    let mut child = match Command::new(&program)
        .arg(format!("-T{}", format.as_str()))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(c) => c,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(RenderError::NotInstalled(program)),
        Err(e) => return Err(e.into()),
    };
    // Write on a thread so a large diagram cannot deadlock against dot's output pipe.
    let mut stdin = child.stdin.take().expect("stdin is piped");
    let input = dot.to_string();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let out = child.wait_with_output()?;
    writer.join().expect("the writer thread does not panic")?;
    if !out.status.success() {
        return Err(RenderError::Failed {
            status: out.status.to_string(),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    Ok(out.stdout)
}

/// A 64-bit FNV-1a fingerprint of DOT text. Stamped into rendered example SVGs so a test can tell
/// which DOT an SVG was rendered from without comparing SVG bytes (those differ between Graphviz
/// versions).
pub fn fingerprint(dot: &str) -> String {
    let mut h: u64 = 0xcbf29ce484222325;
    for b in dot.as_bytes() {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x100000001b3);
    }
    format!("{h:016x}")
}

/// The comment [`stamp_svg`] inserts: `<!-- azpath: rendered from NAME, DOT fnv1a64 HASH -->`. The
/// name comes from a saved query's name, so it is escaped for a comment (a `-->` cannot end it).
pub fn stamp_comment(dot_name: &str, dot: &str) -> String {
    format!("<!-- azpath: rendered from {}, DOT fnv1a64 {} -->", crate::escape::comment(dot_name), fingerprint(dot))
}

/// The SVG with a stamp comment naming the DOT it was rendered from, after the XML declaration.
pub fn stamp_svg(svg: &str, dot_name: &str, dot: &str) -> String {
    let stamp = stamp_comment(dot_name, dot);
    match svg.find("?>\n") {
        Some(i) => format!("{}\n{stamp}{}", &svg[..i + 2], &svg[i + 2..]),
        None => format!("{stamp}\n{svg}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stamp_is_one_comment_whatever_the_query_is_called() {
        let svg = "<?xml version=\"1.0\"?>\n<svg></svg>\n";
        let stamped = stamp_svg(svg, "x --> <script>alert(1)</script><!-- \n-.dot", "digraph {}");
        assert_eq!(stamped.matches("<!--").count(), 1, "{stamped}");
        assert_eq!(stamped.matches("-->").count(), 1, "{stamped}");
        let comment = stamped.lines().nth(1).unwrap();
        assert!(comment.starts_with("<!-- azpath: rendered from x ") && comment.ends_with(" -->"), "{comment}");
        assert!(!comment[4..comment.len() - 3].contains("--") && !comment.contains("<script"), "{comment}");
        assert_eq!(
            stamp_comment("pipeline-to-tier0.dot", "d"),
            format!("<!-- azpath: rendered from pipeline-to-tier0.dot, DOT fnv1a64 {} -->", fingerprint("d"))
        );
    }
}
