//! `AuthenticatesAs` app -> SP: a credential on an application signs in as its service principal.

use super::{Context, Rule, plain_edge};
use crate::model::{Edge, EdgeKind, Evidence, EvidenceKind};

pub const RULE: Rule = Rule {
    id: "app-backs-service-principal",
    edges: &[EdgeKind::AuthenticatesAs],
    summary: "Whoever controls an application's credentials signs in as its service principal.",
    doc: "What it does: an AuthenticatesAs edge from each application (app registration) to the service \
principal with the same appId in this tenant. Why it matters: adding a secret or federated credential \
to the application yields tokens for the service principal, with all its roles. Must not fire: between \
an application and a service principal with a different appId.",
    derive,
};

fn derive(ctx: &Context, out: &mut Vec<Edge>) {
    let sps: crate::model::FastMap<&str, &str> = ctx
        .facts
        .service_principals
        .iter()
        .filter_map(|sp| sp.app_id.as_deref().map(|a| (a, sp.id.as_str())))
        .collect();
    for app in &ctx.facts.applications {
        if let Some(&sp) = sps.get(app.app_id.as_str()) {
            out.push(plain_edge(
                &RULE,
                &app.id,
                sp,
                format!("application {} signs in as its service principal", app.display_name),
                vec![Evidence::new(EvidenceKind::AppId, app.app_id.clone())],
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::model::EdgeKind::AuthenticatesAs;
    use crate::rules::testkit::*;

    #[test]
    fn links_an_app_to_its_own_sp_only() {
        let mut t = T::new();
        let (app, sp) = t.app("a");
        let other = t.sp("b");
        let d = t.derive();
        assert!(has(&d, &app, &sp, AuthenticatesAs));
        assert!(!has(&d, &app, &other, AuthenticatesAs));
    }
}
