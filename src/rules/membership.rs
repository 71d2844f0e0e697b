//! `MemberOf`: a member of a group holds every right the group holds.

use super::{Context, Rule, shared_edge};
use crate::facts::DirectoryObjectType;
use crate::model::{Detail, Edge, EdgeKind, End, EvidenceKind, EvidenceText, FactText, Piece, Text};

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
    // One detail for every membership edge (this rule makes most of a large tenant's edges): the
    // reason and evidence name the edge's ends, and the fact is `Membership::fact_key`'s.
    let detail = Detail {
        reason: Text::new(vec![Piece::SOURCE_NAME, Piece::text(" is a member of group "), Piece::TARGET_NAME]),
        evidence: vec![EvidenceText {
            kind: EvidenceKind::GroupMembership,
            value: Text::new(vec![
                Piece::text("group "),
                Piece::TARGET_ID,
                Piece::text(" lists member "),
                Piece::SOURCE_ID,
            ]),
            name: None,
            fact: Some(FactText::Key { category: "membership".into(), ends: vec![End::Target, End::Source] }),
        }],
    }
    .shared();
    for m in &ctx.facts.memberships {
        if m.member_type == DirectoryObjectType::Other && ctx.node(&m.member_id).is_none() {
            continue;
        }
        out.push(shared_edge(ctx, &RULE, &m.member_id, &m.group_id, &detail));
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
    fn each_edge_renders_its_own_reason_and_fact_from_the_shared_detail() {
        use crate::facts::index::fact_key;
        use crate::model::FactRef;
        let mut t = T::new();
        let (u, inner, outer) = (t.user("carol"), t.group("inner"), t.group("outer"));
        t.member(&inner, &u);
        t.member(&outer, &inner);
        let d = t.derive();
        let a = edge(&d, &u, &inner, MemberOf).unwrap();
        let b = edge(&d, &inner, &outer, MemberOf).unwrap();
        assert!(std::sync::Arc::ptr_eq(&a.detail, &b.detail), "one detail for the rule's edges");
        assert_eq!(a.reason(&d), "carol is a member of group inner");
        assert_eq!(b.reason(&d), "inner is a member of group outer");
        let ev = &b.evidence()[0];
        assert_eq!(ev.value, format!("group {outer} lists member {inner}"));
        assert_eq!(ev.fact, Some(FactRef::of(&fact_key("membership", &[&outer, &inner]))));
    }

    #[test]
    fn does_not_fire_without_membership() {
        let mut t = T::new();
        let (u, g) = (t.user("x"), t.group("g"));
        let d = t.derive();
        assert!(edges(&d, &u, &g).is_empty());
    }
}
