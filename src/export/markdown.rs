//! The Markdown audit report (`azpath report`): a self-contained document that reads as plain text
//! and renders on GitHub. Scope of the snapshot, then one section per saved query with findings,
//! ranked by severity: each path in words with its evidence, a suggested fix derived from the
//! decisive hop, and the diagram. Pure: returns a string.

use super::dot::{self, DotOptions};
use crate::escape::markdown as escape;
use crate::escape::markdown_code as code;
use crate::graph::NodeRef;
use crate::graph::{AttackGraph, Path};
use crate::model::SnapshotInfo;
use crate::model::{Edge, EdgeKind, EvidenceKind, NodeKind};
use crate::query::saved::SavedQuery;
use crate::report;
use std::fmt::Write;

/// One saved query's result.
pub struct Finding {
    pub query: SavedQuery,
    pub paths: Vec<Path>,
    /// A rendered diagram to link (file name relative to the report), instead of only the DOT.
    pub svg: Option<String>,
}

/// What goes into the report.
#[derive(Debug, Clone)]
pub struct ReportOptions {
    /// Paths described in words per query (the diagram shows up to `diagram_max_paths`).
    pub max_paths: usize,
    pub diagram_max_paths: usize,
    /// The "Fix first" section's body (Markdown, escaped by its maker): `fix`'s plan and the
    /// chokepoints, placed after the summary.
    pub fix_first: Option<String>,
}

impl Default for ReportOptions {
    fn default() -> Self {
        ReportOptions { max_paths: 20, diagram_max_paths: dot::DEFAULT_MAX_PATHS, fix_first: None }
    }
}

fn node<'a>(g: &'a AttackGraph, id: &str) -> NodeRef<'a> {
    g.node(g.node_index(id).expect("edge ends are nodes"))
}

fn name(n: NodeRef<'_>) -> String {
    format!("**{}** ({})", escape(n.name), n.kind)
}

fn evidence(e: &Edge, kind: EvidenceKind) -> Option<std::borrow::Cow<'_, str>> {
    e.evidence_value(kind)
}

/// The Azure role grant behind a hop, in words: "role assignment `id` (Contributor)".
fn grant(e: &Edge) -> Option<String> {
    let role = dot::role_of(e).map(|r| format!(" ({})", escape(r))).unwrap_or_default();
    if let Some(id) = evidence(e, EvidenceKind::RoleAssignment) {
        Some(format!("role assignment {}{role}", code(&id)))
    } else {
        evidence(e, EvidenceKind::RoleEligibility).map(|id| format!("PIM eligibility {}{role}", code(&id)))
    }
}

/// A fix for one hop, specific to its kind and evidence; `None` for hops that only follow from an
/// earlier one (an app signing in as its own service principal, a role node's powers, containment).
pub fn fix(g: &AttackGraph, e: &Edge) -> Option<String> {
    let (from, to) = (node(g, &e.source), node(g, &e.target));
    let (src, dst) = (name(from), name(to));
    let from_role = matches!(from.kind, NodeKind::AppRole | NodeKind::DirectoryRole);
    use EdgeKind::*;
    let text = match e.kind {
        Contains | GrantAnyRole => return None,
        // Attaching a user-assigned identity to compute the principal controls (a role grant); a
        // compute's own identity only follows from running code there.
        RunCodeAs => {
            let gr = grant(e)?;
            let compute = evidence(e, EvidenceKind::ComputeGrantedBy)
                .map(|c| format!(" or the compute right {}", code(&c)))
                .unwrap_or_default();
            format!(
                "Remove or narrow {gr}{compute} so {src} cannot attach user-assigned identity {dst} to compute it controls; grant Managed Identity Operator only on the identities a deployer must attach."
            )
        }
        AddSecret | AddMember | SetAccessPolicy | ReadSecrets if from_role => return None,
        // Tenant control scoping a role to a restricted administrative unit follows from tier 0.
        ResetCredential | AddMember if from.kind == NodeKind::Tenant => return None,
        ResetCredential | AddMember if evidence(e, EvidenceKind::AdministrativeUnit).is_some() => {
            let unit = e.evidence_name(EvidenceKind::AdministrativeUnit).unwrap_or("the administrative unit");
            let assignment = evidence(e, EvidenceKind::DirectoryRoleAssignment)
                .or_else(|| evidence(e, EvidenceKind::DirectoryRoleEligibility))
                .map(|id| format!(" ({})", code(&id)))
                .unwrap_or_default();
            format!(
                "Remove the directory role of {src} scoped to administrative unit {}{assignment}, or take {dst} out of the unit (a restricted management unit keeps other administrators out).",
                escape(unit)
            )
        }
        AuthenticatesAs => {
            let fic = evidence(e, EvidenceKind::FederatedCredential)?;
            let subject =
                evidence(e, EvidenceKind::Subject).map(|s| format!(" (today {})", code(&s))).unwrap_or_default();
            format!(
                "Restrict the subject of federated identity credential {} on {dst}{subject} to a protected branch or deployment environment, or remove the credential.",
                code(&fic)
            )
        }
        ListKeys => {
            let sas = if to.kind == NodeKind::StorageAccount { " or SAS tokens" } else { "" };
            let setting = match to.kind {
                NodeKind::StorageAccount => "set `allowSharedKeyAccess=false` on it",
                NodeKind::CognitiveServicesAccount | NodeKind::CosmosDBAccount => "set `disableLocalAuth=true` on it",
                NodeKind::MLWorkspace | NodeKind::MLDatastore => "switch its datastores to identity-based access",
                _ => "disable key-based access on it",
            };
            match grant(e) {
                Some(gr) => format!(
                    "Remove or narrow {gr} so {src} cannot list the keys{sas} of {dst} (a role without `listKeys`{}), or {setting}.",
                    if sas.is_empty() { "" } else { ", `listAccountSas` or `listServiceSas`" }
                ),
                None => format!("Stop {src} from listing the keys{sas} of {dst}, or {setting}."),
            }
        }
        ReEnableKeys => format!(
            "Remove or narrow {} so {src} cannot change the settings of {dst} (no `write` on the resource); add an Azure Policy that denies re-enabling key access.",
            grant(e).unwrap_or_else(|| "the role grant".into())
        ),
        ReadData | WriteData => format!(
            "Remove or narrow {} to the containers or deployments {src} needs, instead of all of {dst}.",
            grant(e).unwrap_or_else(|| "the data-plane role grant".into())
        ),
        ReadSecrets => match grant(e) {
            Some(gr) => format!("Remove or narrow {gr} so {src} cannot read secrets of {dst}."),
            None => format!(
                "Remove the access policy of {src} on Key Vault {dst} (or drop its secret permissions{}); better, switch the vault to the RBAC permission model.",
                evidence(e, EvidenceKind::SecretPermissions).map(|p| format!(" {}", code(&p))).unwrap_or_default()
            ),
        },
        SetAccessPolicy => format!(
            "Remove or narrow {} (it can write access policies of {dst}), or switch the vault to the RBAC permission model (`enableRbacAuthorization=true`).",
            grant(e).unwrap_or_else(|| "the role grant".into())
        ),
        AssignRoles => format!(
            "Remove {} (it can assign any role on {dst}), or add a condition limiting which roles it may assign.",
            grant(e).unwrap_or_else(|| "the role grant".into())
        ),
        ExecuteOn => format!(
            "Remove or narrow {} so {src} cannot run code on {dst}, or reduce the rights of the identity {dst} runs as.",
            grant(e).unwrap_or_else(|| "the role grant".into())
        ),
        AddSecret | AddMember => match evidence(e, EvidenceKind::Owner) {
            Some(_) => format!("Remove {src} as an owner of {dst} (owners can add credentials or members)."),
            None => format!("Remove the right of {src} to manage {dst}."),
        },
        HasRole => match evidence(e, EvidenceKind::AppRoleAssignment) {
            Some(id) => format!(
                "Revoke the Microsoft Graph application permission {dst} from {src} (app role assignment {}), or replace it with a narrower one.",
                code(&id)
            ),
            None => format!("Remove the directory role {dst} from {src}, or make it PIM-eligible with approval."),
        },
        EligibleForRole | EligibleMemberOf | EligibleOwnerOf => {
            format!("Remove the PIM eligibility of {src} for {dst}, or require approval and MFA on activation.")
        }
        MemberOf => format!("Remove {src} from group {dst} if it does not need the group's access."),
        ResetCredential if from_role => return None,
        ResetCredential => format!(
            "Remove the right of {src} to reset the credentials of {dst}, or protect {dst} (a role-assignable group, or a restricted management administrative unit)."
        ),
    };
    Some(match (evidence(e, EvidenceKind::ReadOnlyLock), evidence(e, EvidenceKind::LockDeletableThrough)) {
        (Some(lock), Some(through)) => format!(
            "{text} The ReadOnly lock {} holds only until {src} deletes it, which {} allows: take `Microsoft.Authorization/locks/delete` away from {src}.",
            code(&lock),
            code(&through)
        ),
        _ => text,
    })
}

/// The command that makes the first change of each derivation of hop `e` (one line; several when
/// the rules derived the hop from several facts, all of which must go), from `fix`'s typed link
/// between the hop's evidence and the facts; empty when no fact behind it is one a user changes.
fn commands(g: &AttackGraph, e: usize) -> String {
    let per_derivation = crate::fix::edge_changes(g, e);
    if per_derivation.iter().any(Vec::is_empty) {
        return String::new(); // a derivation no change removes: no command closes the hop
    }
    // A derivation that names a change already picked falls with it.
    let mut picked: Vec<&crate::fix::Change> = Vec::new();
    for d in &per_derivation {
        if !d.iter().any(|c| picked.iter().any(|p| p.same_as(c))) {
            picked.push(&d[0]);
        }
    }
    let runs: Vec<String> = picked.iter().map(|c| code(&c.command(g))).collect();
    match runs.as_slice() {
        [one] => format!("Run: {one}\n"),
        all => format!(
            "The rules derived this hop {} ways; run all of: {}\n",
            per_derivation.len(),
            all.iter().map(String::as_str).collect::<Vec<_>>().join(", ")
        ),
    }
}

/// The decisive hop of a path: the last one a fix applies to (fixing it cuts this path closest to
/// the target); and its fix.
pub fn decisive(g: &AttackGraph, p: &Path) -> Option<(usize, String)> {
    p.edges.iter().enumerate().rev().find_map(|(i, &e)| fix(g, &g.edge(e)).map(|f| (i, f)))
}

fn path_words(g: &AttackGraph, p: &Path, s: &mut String) {
    for (i, &ei) in p.edges.iter().enumerate() {
        let e = g.edge(ei);
        let mut marks = String::new();
        if e.requires_activation {
            marks.push_str(" *(PIM: requires activation)*");
        }
        if e.conditional {
            marks.push_str(" *(conditional: not evaluated)*");
        }
        let _ = writeln!(
            s,
            "{}. {} --{}--> {}{marks}  \n   {}",
            i + 1,
            name(node(g, &e.source)),
            e.kind,
            name(node(g, &e.target)),
            escape(&e.reason(g))
        );
        for ev in &e.evidence() {
            let _ = writeln!(s, "   - {}: {}", escape(ev.label()), code(&ev.value));
        }
    }
}

fn fence_for(text: &str) -> String {
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    "`".repeat((longest + 1).max(3))
}

/// The whole report.
pub fn report(g: &AttackGraph, snap: &SnapshotInfo, findings: &[Finding], opts: &ReportOptions) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# Attack-path report: tenant {}\n", escape(&snap.tenant_name));
    let _ = writeln!(
        s,
        "Generated by azpath {} from snapshot #{}. Each path is a chain of abuses: whoever controls a \
         node can, with its rights alone, take the next one. Effort adds up per hop (higher is harder).\n",
        env!("CARGO_PKG_VERSION"),
        snap.id
    );
    let _ = writeln!(s, "## Scope\n");
    let _ = writeln!(s, "| | |\n|---|---|");
    let _ = writeln!(s, "| Tenant | {} ({}) |", escape(&snap.tenant_name), code(&snap.tenant_id));
    let label = snap.label.as_deref().map(|l| format!(", label {}", code(l))).unwrap_or_default();
    let _ = writeln!(s, "| Snapshot | #{}{label}, source {} |", snap.id, escape(&snap.source));
    let _ = writeln!(s, "| Collected at | {} |", escape(&snap.collected_at));
    let _ = writeln!(s, "| Graph | {} nodes, {} attack edges |", snap.nodes, snap.edges);
    if snap.completeness.is_empty() {
        let _ = writeln!(s, "| Completeness | every collection was read in full: a missing path is really absent |");
    } else {
        let _ = writeln!(
            s,
            "| Completeness | **{} collection(s) missing**: a missing path may be uncollected, not absent (below) |",
            snap.completeness.len()
        );
    }
    for c in &snap.completeness {
        let _ = writeln!(
            s,
            "\n- not collected: {} {}: {}",
            escape(&c.what),
            escape(c.scope.as_deref().unwrap_or("")),
            escape(&c.reason)
        );
    }

    let mut ranked: Vec<&Finding> = findings.iter().collect();
    ranked.sort_by(|a, b| {
        (a.query.severity, std::cmp::Reverse(a.paths.len()), &a.query.name).cmp(&(
            b.query.severity,
            std::cmp::Reverse(b.paths.len()),
            &b.query.name,
        ))
    });
    let _ = writeln!(s, "\n## Summary\n\n| Severity | Query | Paths |\n|---|---|---|");
    for f in &ranked {
        let _ = writeln!(s, "| {:?} | {} | {} |", f.query.severity, escape(&f.query.name), f.paths.len());
    }
    if let Some(section) = &opts.fix_first {
        let _ = writeln!(s, "\n## Fix first\n\n{section}");
    }
    let _ = writeln!(s, "\n## Findings (most severe first)");
    for f in ranked.iter().filter(|f| !f.paths.is_empty()) {
        let sev = format!("{:?}", f.query.severity).to_uppercase();
        let _ =
            writeln!(s, "\n### [{sev}] {}: {} path{}\n", escape(&f.query.name), f.paths.len(), plural(f.paths.len()));
        let _ = writeln!(s, "{}\n", escape(&f.query.description));
        let _ = writeln!(s, "From {} to {}.", code(&f.query.from), code(&f.query.to));
        let mut fixes: Vec<String> = Vec::new();
        for (i, p) in f.paths.iter().take(opts.max_paths).enumerate() {
            let target = g.node(p.target);
            let jewel = report::jewel_text(target);
            let jewel = if jewel.is_empty() { String::new() } else { format!(" ({})", escape(&jewel)) };
            let _ = writeln!(
                s,
                "\n#### Path {}: {} to {}{jewel}\n\n{}.\n",
                i + 1,
                escape(&report::short_name(g.node(p.source))),
                escape(target.name),
                report::path_summary(g, p, report::Style::default())
            );
            path_words(g, p, &mut s);
            match decisive(g, p) {
                Some((hop, fix)) => {
                    let _ = writeln!(s, "\n**Suggested fix** (hop {}): {fix}", hop + 1);
                    s.push_str(&commands(g, p.edges[hop]));
                    if !fixes.contains(&fix) {
                        fixes.push(fix);
                    }
                }
                None => {
                    let _ = writeln!(s, "\n**Suggested fix**: review the rules behind these hops (`azpath rules`).");
                }
            }
        }
        if f.paths.len() > opts.max_paths {
            let _ = writeln!(
                s,
                "\n{} more path{} not described here (`azpath query run {}`).",
                f.paths.len() - opts.max_paths,
                plural(f.paths.len() - opts.max_paths),
                escape(&f.query.name)
            );
        }
        if fixes.len() > 1 {
            let _ = writeln!(s, "\n**All suggested fixes for this query** (each cuts at least one path):\n");
            for fix in &fixes {
                let _ = writeln!(s, "- {fix}");
            }
        }
        let title = format!("{}: {} path{}", f.query.name, f.paths.len(), plural(f.paths.len()));
        let diagram = dot::paths_dot(
            g,
            &f.paths,
            &DotOptions { title, max_paths: opts.diagram_max_paths, ..DotOptions::default() },
        );
        let _ = writeln!(s, "\n**Diagram**\n");
        if let Some(svg) = &f.svg {
            let _ = writeln!(s, "![attack paths of {}]({})\n", escape(&f.query.name), svg.replace(' ', "%20"));
        }
        let fence = fence_for(&diagram);
        let _ = writeln!(s, "Graphviz source (`dot -Tsvg`):\n\n{fence}dot\n{}{fence}", diagram);
    }
    let clean: Vec<&&Finding> = ranked.iter().filter(|f| f.paths.is_empty()).collect();
    if !clean.is_empty() {
        let _ = writeln!(s, "\n## Queries without findings\n");
        for f in clean {
            let _ =
                writeln!(s, "- {} ({:?}): {}", escape(&f.query.name), f.query.severity, escape(&f.query.description));
        }
    }
    s
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// One section of a CI summary: a saved query's findings, or an ad-hoc `paths` question's.
pub struct SummarySection<'a> {
    /// The saved query's name, or what was asked ("paths from pipeline to crown-jewels").
    pub title: String,
    pub description: String,
    /// `None` for an ad-hoc question.
    pub severity: Option<crate::query::saved::Severity>,
    pub paths: &'a [Path],
}

/// Paths listed per section in a CI summary; the rest are counted (GitHub caps a job summary at
/// 1 MiB).
pub const SUMMARY_MAX_PATHS: usize = 50;

/// A Markdown summary for a CI job (`--format markdown` of `paths` and `query run`): a table of
/// findings per query, then each path on one line. Tenant text escaped with `escape::markdown`.
pub fn findings_summary(g: &AttackGraph, snap: &SnapshotInfo, sections: &[SummarySection]) -> String {
    let plain = report::Style { color: false };
    let total: usize = sections.iter().map(|sec| sec.paths.len()).sum();
    let mut s = String::new();
    let _ = writeln!(s, "## azpath: {total} finding{} in tenant {}\n", plural(total), escape(&snap.tenant_name));
    let _ = writeln!(
        s,
        "Snapshot #{} of tenant {}, collected {}.{}\n",
        snap.id,
        code(&snap.tenant_id),
        escape(&snap.collected_at),
        if snap.completeness.is_empty() {
            String::new()
        } else {
            format!(
                " **{} collection(s) missing**: a missing path may be uncollected, not absent.",
                snap.completeness.len()
            )
        }
    );
    let _ = writeln!(s, "| Severity | Query | Findings |\n|---|---|---:|");
    for sec in sections {
        let sev = sec.severity.map_or("-", |v| v.as_str());
        let _ = writeln!(s, "| {sev} | {} | {} |", code(&sec.title), sec.paths.len());
    }
    for sec in sections.iter().filter(|sec| !sec.paths.is_empty()) {
        let sev = sec.severity.map(|v| format!("[{}] ", v.as_str().to_ascii_uppercase())).unwrap_or_default();
        let _ =
            writeln!(s, "\n### {sev}{}: {} finding{}\n", escape(&sec.title), sec.paths.len(), plural(sec.paths.len()));
        if !sec.description.is_empty() {
            let _ = writeln!(s, "{}\n", escape(&sec.description));
        }
        for (i, p) in sec.paths.iter().take(SUMMARY_MAX_PATHS).enumerate() {
            let jewel = report::jewel_text(g.node(p.target));
            let jewel = if jewel.is_empty() { String::new() } else { format!(" ({})", escape(&jewel)) };
            let _ = writeln!(
                s,
                "{}. {} → {}{jewel}: {}  \n   {}",
                i + 1,
                name(g.node(p.source)),
                name(g.node(p.target)),
                report::path_summary(g, p, plain),
                report::path_line_in(crate::escape::Medium::Markdown, g, p, plain)
            );
        }
        if sec.paths.len() > SUMMARY_MAX_PATHS {
            let _ =
                writeln!(s, "\n…and {} more (`azpath query run` shows them all).", sec.paths.len() - SUMMARY_MAX_PATHS);
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fix_behind_a_lock_says_who_can_delete_it() {
        let mut t = crate::rules::testkit::T::new();
        let rg = t.rg("rg");
        let sa = t.storage(&rg, "sa", true);
        let o = t.user("o");
        t.assign(&o, "Owner", &rg);
        t.lock(&sa, "freeze", "ReadOnly");
        let g = AttackGraph::from_facts(&crate::facts::parse(&t.raw()).unwrap());
        let e = g.edges().find(|e| e.kind == EdgeKind::ListKeys).unwrap();
        let text = fix(&g, &e).unwrap();
        assert!(
            text.contains("ReadOnly lock `freeze") && text.contains("locks/delete") && text.contains("Owner"),
            "{text}"
        );
    }
}
