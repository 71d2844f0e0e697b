//! `EligibleMemberOf` / `EligibleOwnerOf`: PIM for Groups eligibility. One rule per edge kind would
//! duplicate the same fact reading, so this rule emits the member kind and its twin the owner kind.

use super::{Context, Rule};
use crate::facts::GroupAccess;
use crate::model::{Edge, EdgeKind, Evidence, EvidenceKind};

pub const RULE: Rule = Rule {
    id: "pim-group-eligibility",
    edges: &[EdgeKind::EligibleMemberOf],
    summary: "A PIM for Groups eligible member can activate membership of the group.",
    doc: "What it does: an EligibleMemberOf edge (requires activation) from the principal to the group for \
each active privilegedAccessGroupEligibilitySchedule with accessId `member`; with accessId `owner` the \
principal can activate ownership and then add itself, so the edge is EligibleMemberOf too, with the \
ownership named in the reason. Why it matters: groups that hold roles through PIM are only one \
activation away. Must not fire: for expired or not-yet-started schedules.",
    derive,
};

fn derive(ctx: &Context, out: &mut Vec<Edge>) {
    for e in &ctx.facts.group_eligibilities {
        let how = match e.access {
            GroupAccess::Member => "is eligible (PIM for Groups) for membership of",
            GroupAccess::Owner => "is eligible (PIM for Groups) for ownership, and so membership, of",
        };
        let reason =
            format!("{} {how} group {} (requires activation)", ctx.name(&e.principal_id), ctx.name(&e.group_id));
        let evidence = vec![Evidence::new(EvidenceKind::GroupEligibility, e.id.clone()).of_fact(&e.fact_key())];
        out.push(
            Edge::new(&e.principal_id, &e.group_id, EdgeKind::EligibleMemberOf, RULE.id, reason)
                .with_evidence(evidence)
                .with_flags(true, false),
        );
    }
}

#[cfg(test)]
mod tests {
    use crate::model::EdgeKind::EligibleMemberOf;
    use crate::rules::testkit::*;

    #[test]
    fn fires_for_member_and_owner_eligibility_with_activation() {
        let mut t = T::new();
        let (a, b, g) = (t.user("a"), t.user("b"), t.group("g"));
        t.group_eligible(&a, &g, "member");
        t.group_eligible(&b, &g, "owner");
        let d = t.derive();
        for p in [&a, &b] {
            let e = edge(&d, p, &g, EligibleMemberOf).unwrap();
            assert!(e.requires_activation);
        }
    }

    #[test]
    fn does_not_fire_for_others() {
        let mut t = T::new();
        let (a, g) = (t.user("a"), t.group("g"));
        let d = t.derive();
        assert!(!has(&d, &a, &g, EligibleMemberOf));
    }
}
