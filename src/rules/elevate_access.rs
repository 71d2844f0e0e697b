//! `AssignRoles` at the root scope for Global Administrators: Entra control becomes Azure control.

use super::{Context, Rule, plain_edge};
use crate::facts::ids::{directory_role_node_id, root_mg_id, tenant_node_id};
use crate::model::{Edge, EdgeKind, Evidence, EvidenceKind};

/// Global Administrator's template id: the only role Microsoft lets call elevateAccess.
const GLOBAL_ADMINISTRATOR: &str = "62e90394-69f5-4237-9190-012177145e10";

pub const RULE: Rule = Rule {
    id: "elevate-access",
    edges: &[EdgeKind::AssignRoles],
    summary: "A Global Administrator can elevate to User Access Administrator at the root scope `/`.",
    doc: "What it does: AssignRoles from the Global Administrator role, and from the tenant (whoever \
can grant any directory role can make itself Global Administrator), to the tenant root management \
group. Microsoft lets a Global Administrator call `Microsoft.Authorization/elevateAccess/Action` \
(\"Access management for Azure resources\"), which assigns it User Access Administrator at `/`; from \
there it can assign itself any Azure role on every management group and subscription (Microsoft \
Learn, \"Elevate access to manage all Azure subscriptions and management groups\"). Why it matters: \
tier-0 control of Entra is control of every Azure resource, training data and models included, even \
where no Azure role assignment says so. Must not fire: for any other directory role (Privileged Role \
Administrator reaches Azure only by making itself Global Administrator first, which is the tenant \
edge), or from the Global Administrator role when nobody holds it.",
    derive,
};

fn derive(ctx: &Context, out: &mut Vec<Edge>) {
    let root = root_mg_id(&ctx.facts.tenant_id);
    let elevate = || {
        Evidence::new(
            EvidenceKind::ElevateAccess,
            "Microsoft.Authorization/elevateAccess/Action: User Access Administrator at the root scope /",
        )
    };
    let ga = directory_role_node_id(GLOBAL_ADMINISTRATOR);
    if ctx.node(&ga).is_some() {
        let reason = format!(
            "a {} can elevate access to User Access Administrator at the root scope and assign any Azure role beneath {}",
            ctx.name(&ga),
            ctx.name(&root)
        );
        out.push(plain_edge(
            &RULE,
            &ga,
            &root,
            reason,
            vec![Evidence::named(EvidenceKind::DirectoryRole, &ctx.name(&ga), GLOBAL_ADMINISTRATOR), elevate()],
        ));
    }
    let tenant = tenant_node_id(&ctx.facts.tenant_id);
    let reason = format!(
        "control of the tenant makes any principal Global Administrator, who can elevate access to User Access Administrator at the root scope beneath {}",
        ctx.name(&root)
    );
    out.push(plain_edge(&RULE, &tenant, &root, reason, vec![elevate()]));
}

#[cfg(test)]
mod tests {
    use crate::facts::ids::{directory_role_node_id, root_mg_id, tenant_node_id};
    use crate::model::EdgeKind::*;
    use crate::rules::testkit::*;

    const GA: &str = "62e90394-69f5-4237-9190-012177145e10";
    const PRA: &str = "e8611ab8-c189-46e8-94e1-60213ab1f814";

    #[test]
    fn a_global_administrator_reaches_every_subscription_through_the_root_scope() {
        let mut t = T::new();
        let rg = t.rg("rg");
        let sa = t.storage(&rg, "sa", true);
        let admin = t.user("admin");
        t.directory_role(&admin, GA, "/");
        let d = t.derive();
        let root = root_mg_id(TENANT);
        assert!(has(&d, &directory_role_node_id(GA), &root, AssignRoles));
        assert!(has(&d, &tenant_node_id(TENANT), &root, AssignRoles));
        // From the root, control runs down the hierarchy to the account.
        assert!(has(&d, &root, SUB, Contains));
        assert!(has(&d, &rg, &crate::facts::ids::norm(&sa), Contains));
    }

    #[test]
    fn other_roles_do_not_elevate() {
        let mut t = T::new();
        let pra = t.user("pra");
        t.directory_role(&pra, PRA, "/");
        let d = t.derive();
        let root = root_mg_id(TENANT);
        assert!(!has(&d, &directory_role_node_id(PRA), &root, AssignRoles));
        assert!(!has(&d, &directory_role_node_id(GA), &root, AssignRoles), "nobody holds Global Administrator");
        // Privileged Role Administrator gets there only through the tenant: it can make itself GA.
        assert!(has(&d, &directory_role_node_id(PRA), &tenant_node_id(TENANT), GrantAnyRole));
    }
}
