//! `Contains`: control of a scope is control of everything beneath it.

use super::{Context, Rule, shared_edge};
use crate::model::{Detail, Edge, EdgeKind, EvidenceKind, EvidenceText, Piece, Text};

pub const RULE: Rule = Rule {
    id: "arm-contains",
    edges: &[EdgeKind::Contains],
    summary: "Full control of a scope reaches every child scope and resource.",
    doc: "What it does: a Contains edge from each management group to its child management groups and \
subscriptions, from each subscription to its resource groups, from each resource group to its resources, \
and from a resource to its child resources (ML workspace -> computes and datastores, AI account -> \
deployments). Why it matters: a role assigned at a scope applies to everything beneath it, so whoever \
can assign roles at a scope controls its contents. Must not be traversed: except from a scope the \
attacker fully controls (reached by AssignRoles or Contains); path search enforces this, so a data-plane \
edge into a resource never continues through Contains.",
    derive,
};

fn derive(ctx: &Context, out: &mut Vec<Edge>) {
    // One detail for every Contains edge, naming its ends when shown.
    let detail = Detail {
        reason: Text::new(vec![
            Piece::text("full control of "),
            Piece::SOURCE_NAME,
            Piece::text(" includes "),
            Piece::TARGET_NAME,
        ]),
        evidence: vec![EvidenceText {
            kind: EvidenceKind::ArmHierarchy,
            value: Text::new(vec![Piece::TARGET_ID, Piece::text(" is beneath "), Piece::SOURCE_ID]),
            name: None,
            fact: None,
        }],
    }
    .shared();
    // In parent order, as the edges always came (the map is a hash map).
    let mut parents: Vec<_> = ctx.children.iter().collect();
    parents.sort_unstable_by(|a, b| a.0.cmp(b.0));
    for (parent, kids) in parents {
        for child in kids {
            out.push(shared_edge(ctx, &RULE, parent, child, &detail));
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::model::EdgeKind::Contains;
    use crate::rules::testkit::*;
    use serde_json::json;

    #[test]
    fn follows_the_hierarchy_downward_only() {
        let mut t = T::new();
        let rg = t.rg("rg");
        let sa = t.resource(&rg, "Microsoft.Storage/storageAccounts", "sa", json!({}));
        let root = format!("/providers/Microsoft.Management/managementGroups/{TENANT}");
        let d = t.derive();
        assert!(has(&d, &root, SUB, Contains));
        assert!(has(&d, SUB, &rg, Contains));
        assert!(has(&d, &rg, &sa, Contains));
        assert!(!has(&d, &sa, &rg, Contains));
        assert!(!has(&d, &rg, SUB, Contains));
        let e = edge(&d, &rg, &sa, Contains).unwrap();
        assert_eq!(e.reason(&d), "full control of rg includes sa");
        assert_eq!(e.evidence()[0].value, format!("{} is beneath {}", e.target, e.source));
    }

    #[test]
    fn a_management_group_parent_cycle_is_cut_with_a_warning() {
        // Azure never returns this, but a facts file can: a -> b -> c -> a, with assignments and a
        // deny assignment inside the loop and a subscription beneath it.
        let mut t = T::new();
        let a = "/providers/Microsoft.Management/managementGroups/a";
        let c = t.management_group("c", "/providers/Microsoft.Management/managementGroups/b");
        let b = t.management_group("b", a);
        t.management_group("a", &c);
        let sub2 = "/subscriptions/s2";
        t.push_subscription(sub2, &b);
        let owner = t.sp("owner");
        t.assign(&owner, "Owner", a);
        let denied = t.sp("denied");
        t.assign(&denied, "Owner", &c);
        t.deny(&c, &denied, &["*"]);
        let d = t.derive();
        assert_eq!(d.warnings.len(), 1, "{:?}", d.warnings);
        assert!(d.warnings[0].contains("parent cycle") && d.warnings[0].contains("managementgroups/a placed under"));
        let root = format!("/providers/Microsoft.Management/managementGroups/{TENANT}");
        let a = crate::facts::ids::norm(a);
        let (b, c) = (crate::facts::ids::norm(&b), crate::facts::ids::norm(&c));
        // Cut at its smallest id: root > a > b > c, and the subscription under b.
        assert!(has(&d, &root, &a, Contains) && has(&d, &a, &b, Contains) && has(&d, &b, &c, Contains));
        assert!(!has(&d, &c, &a, Contains));
        assert!(has(&d, &b, sub2, Contains));
    }

    /// A loop through a parent taken from an id: a subscription whose given parent is one of its
    /// own resource groups (whose parent, from its id, is the subscription).
    #[test]
    fn a_subscription_under_its_own_resource_group_is_a_cycle_cut_with_a_warning() {
        let mut t = T::new();
        let sub2 = "/subscriptions/s2";
        let rg = format!("{sub2}/resourceGroups/rg");
        t.push_subscription(sub2, &rg);
        let sa = t.resource(&rg, "Microsoft.Storage/storageAccounts", "sa", serde_json::json!({}));
        let d = t.derive();
        assert_eq!(d.warnings.len(), 1, "{:?}", d.warnings);
        assert!(d.warnings[0].contains("parent cycle"), "{:?}", d.warnings);
        let rg = crate::facts::ids::norm(&rg);
        assert!(has(&d, sub2, &rg, Contains) && has(&d, &rg, &sa, Contains));
        assert!(!has(&d, &rg, sub2, Contains));
    }

    #[test]
    fn implied_resource_groups_still_link() {
        let mut t = T::new();
        let rg = format!("{SUB}/resourceGroups/not-listed");
        let sa = t.resource(&rg, "Microsoft.Storage/storageAccounts", "sa", json!({}));
        let d = t.derive();
        assert!(has(&d, &rg, &sa, Contains));
        assert!(has(&d, SUB, &rg, Contains));
    }
}
