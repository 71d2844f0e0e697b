//! `MemberOf`: a member of a group holds every right the group holds.

use super::{Context, Rule, plain_edge};
use crate::facts::DirectoryObjectType;
use crate::model::{Edge, EdgeKind, Evidence, EvidenceKind};

pub const RULE: Rule = Rule {
    id: "group-membership",
    edges: &[EdgeKind::MemberOf],
    summary: "A group member inherits the group's roles and rights.",
    doc: "What it does: one MemberOf edge from each direct member (user, group, service principal) to \
the group, from GET /groups/{id}/members. Nested groups chain, so membership is transitive along paths, \
each hop shown. Why it matters: Azure RBAC, Entra roles and app roles granted to a group apply to every \
transitive member. Must not fire: for devices and contacts, which cannot sign in as principals.",
    derive,
};

fn derive(ctx: &Context, out: &mut Vec<Edge>) {
    for m in &ctx.facts.memberships {
        if m.member_type == DirectoryObjectType::Other && ctx.node(&m.member_id).is_none() {
            continue;
        }
        out.push(plain_edge(
            &RULE,
            &m.member_id,
            &m.group_id,
            // `concat`, not `format!`: this rule makes most of a large tenant's edges.
            [&*ctx.name(&m.member_id), " is a member of group ", &ctx.name(&m.group_id)].concat(),
            vec![
                Evidence::new(
                    EvidenceKind::GroupMembership,
                    ["group ", &m.group_id, " lists member ", &m.member_id].concat(),
                )
                .of_fact(&m.fact_key()),
            ],
        ));
    }
}

#[cfg(test)]
mod tests {
    use crate::model::EdgeKind::MemberOf;
    use crate::rules::testkit::*;

    #[test]
    fn fires_for_direct_and_nested_members() {
        let mut t = T::new();
        let (u, inner, outer) = (t.user("carol"), t.group("inner"), t.group("outer"));
        t.member(&inner, &u);
        t.member(&outer, &inner);
        let d = t.derive();
        assert!(has(&d, &u, &inner, MemberOf));
        assert!(has(&d, &inner, &outer, MemberOf));
        assert!(!has(&d, &u, &outer, MemberOf), "transitivity is a path, not a shortcut edge");
    }

    #[test]
    fn does_not_fire_without_membership() {
        let mut t = T::new();
        let (u, g) = (t.user("x"), t.group("g"));
        let d = t.derive();
        assert!(edges(&d, &u, &g).is_empty());
    }
}
