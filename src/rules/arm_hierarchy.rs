//! `Contains`: control of a scope is control of everything beneath it.

use super::{Context, Rule, plain_edge};
use crate::model::{Edge, EdgeKind, Evidence, EvidenceKind};

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
    for (parent, kids) in &ctx.children {
        for child in kids {
            out.push(plain_edge(
                &RULE,
                parent,
                child,
                format!("full control of {} includes {}", ctx.name(parent), ctx.name(child)),
                vec![Evidence::new(EvidenceKind::ArmHierarchy, format!("{child} is beneath {parent}"))],
            ));
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
