//! `AuthenticatesAs` external identity -> app / UAMI: federated identity credentials.

use super::{Context, Rule, plain_edge};
use crate::facts::FederatedParent;
use crate::facts::ids::{external_identity_id, federated_parent_node};
use crate::model::{Edge, EdgeKind, Evidence, EvidenceKind};

pub const RULE: Rule = Rule {
    id: "federated-credential",
    edges: &[EdgeKind::AuthenticatesAs],
    summary: "An external workload trusted by a federated credential signs in as the app or identity.",
    doc: "What it does: an AuthenticatesAs edge from the external identity (issuer + subject: a GitHub \
repo/ref/environment, an Azure DevOps service connection, a Kubernetes service account) to the \
application or user-assigned identity whose federated identity credential trusts it. Why it matters: \
whoever can run a workflow as that subject (push to the branch, edit the pipeline) gets the identity's \
tokens without any secret. Must not fire: for a credential whose issuer or subject differs.",
    derive,
};

fn derive(ctx: &Context, out: &mut Vec<Edge>) {
    for fic in &ctx.facts.federated_credentials {
        let target = federated_parent_node(&fic.parent);
        let what = match &fic.parent {
            FederatedParent::Application(_) => "application",
            FederatedParent::UserAssignedIdentity(_) => "user-assigned identity",
        };
        out.push(plain_edge(
            &RULE,
            &external_identity_id(&fic.issuer, &fic.subject),
            target,
            format!(
                "federated credential {:?} on {what} {} trusts issuer {} subject {}",
                fic.name,
                ctx.name(target),
                fic.issuer,
                fic.subject
            ),
            vec![
                Evidence::new(EvidenceKind::FederatedCredential, fic.id.clone()).of_fact(&fic.fact_key()),
                Evidence::new(EvidenceKind::Issuer, fic.issuer.clone()),
                Evidence::new(EvidenceKind::Subject, fic.subject.clone()),
            ],
        ));
    }
}

#[cfg(test)]
mod tests {
    use crate::facts::ids::external_identity_id;
    use crate::model::EdgeKind::AuthenticatesAs;
    use crate::rules::testkit::*;

    #[test]
    fn external_subject_authenticates_as_the_app() {
        let mut t = T::new();
        let (app, _) = t.app("ci");
        let (other, _) = t.app("other");
        t.fic(&app, "https://token.actions.githubusercontent.com", "repo:o/r:ref:refs/heads/main");
        let d = t.derive();
        let ext = external_identity_id("https://token.actions.githubusercontent.com", "repo:o/r:ref:refs/heads/main");
        assert!(has(&d, &ext, &app, AuthenticatesAs));
        assert!(!has(&d, &ext, &other, AuthenticatesAs));
        let node = d.nodes.iter().find(|n| n.id == ext).unwrap();
        assert_eq!(node.prop("pipeline"), Some("GitHub Actions"));
    }

    #[test]
    fn a_kubernetes_subject_is_external_but_not_a_pipeline() {
        let mut t = T::new();
        let (app, _) = t.app("k8s");
        let issuer = "https://westeurope.oic.prod-aks.azure.com/tid/cid/";
        t.fic(&app, issuer, "system:serviceaccount:ml:trainer");
        let d = t.derive();
        let ext = external_identity_id(issuer, "system:serviceaccount:ml:trainer");
        assert!(has(&d, &ext, &app, AuthenticatesAs));
        assert!(!d.nodes.iter().find(|n| n.id == ext).unwrap().is_pipeline());
    }
}
