//! `ReadData` / `WriteData` on container registries: pulling and pushing the images models are
//! served from.

use super::{Context, Hit, Plane, Rule, grant_text, rbac_edge};
use crate::facts::{Resource, ResourceDetails};
use crate::model::{Edge, EdgeKind, EvidenceKind};

pub const PULL: Rule = Rule {
    id: "acr-pull",
    edges: &[EdgeKind::ReadData],
    summary: "Pulling from a container registry reads the images (and the models baked into them).",
    doc: "What it does: a ReadData edge to a container registry from every principal whose role allows \
`Microsoft.ContainerRegistry/registries/pull/read` (AcrPull, AcrPush, Contributor, and Reader, whose \
`*/read` includes it: Microsoft's ACR roles page lists docker pull for Reader), or, on a registry with \
repository permissions (`roleAssignmentMode: AbacRepositoryPermissions`), the data action \
`registries/repositories/content/read`; and from principals that can list the admin credentials \
(`registries/listCredentials/action`) of a registry with `adminUserEnabled: true`. Why it matters: ML \
registries hold model and inference images. Must not fire: for `listCredentials` when the admin user is \
disabled, or for the registry's `pull/read` on a registry with repository permissions (ABAC mode), where \
only the repository data actions authorize.",
    derive: derive_pull,
};

pub const PUSH: Rule = Rule {
    id: "acr-push",
    edges: &[EdgeKind::WriteData],
    summary: "Pushing to a container registry replaces the images that computes and endpoints run.",
    doc: "What it does: a WriteData edge to a container registry from every principal whose role allows \
`Microsoft.ContainerRegistry/registries/push/write` (AcrPush, Contributor, Owner), or on a registry with \
repository permissions the data action `registries/repositories/content/write`; and from principals that \
can list the admin credentials of a registry with `adminUserEnabled: true` (Microsoft Learn, \"Azure \
Container Registry roles and permissions\"). Why it matters: a pushed image poisons the model or runs the \
attacker's code wherever the image is deployed. Must not fire: for AcrPull, for `listCredentials` with the \
admin user disabled, or for the registry actions on an ABAC-mode registry (where only the repository data \
actions authorize).",
    derive: derive_push,
};

const PULL_ACTION: &str = "Microsoft.ContainerRegistry/registries/pull/read";
const PUSH_ACTION: &str = "Microsoft.ContainerRegistry/registries/push/write";
const CONTENT_READ: &str = "Microsoft.ContainerRegistry/registries/repositories/content/read";
const CONTENT_WRITE: &str = "Microsoft.ContainerRegistry/registries/repositories/content/write";
const LIST_CREDENTIALS: &str = "Microsoft.ContainerRegistry/registries/listCredentials/action";

fn derive_pull(ctx: &Context, out: &mut Vec<Edge>) {
    derive(ctx, out, &PULL, PULL_ACTION, CONTENT_READ, "pull images from");
}

fn derive_push(ctx: &Context, out: &mut Vec<Edge>) {
    derive(ctx, out, &PUSH, PUSH_ACTION, CONTENT_WRITE, "push images to");
}

fn derive(ctx: &Context, out: &mut Vec<Edge>, rule: &Rule, action: &str, data_action: &str, what: &str) {
    let registry = |abac: bool| move |r: &Resource| matches!(r.details, ResourceDetails::ContainerRegistry { abac_repository_permissions, .. } if abac_repository_permissions == abac);
    let mut hits = Vec::new();
    hits.extend(ctx.rbac_matches(action, false, registry(false)).into_iter().map(|h| (h, action)));
    hits.extend(ctx.rbac_matches(data_action, true, registry(true)).into_iter().map(|h| (h, data_action)));
    for ((g, r, how), action) in hits {
        let reason = format!("{} allows {action}: can {what} registry {}", grant_text(ctx, g), r.name);
        // docker push and pull talk to the registry's login server, not to ARM: locks do not apply.
        let hit = Hit { target: &r.id, action, how: &how, plane: Plane::Data };
        out.extend(rbac_edge(ctx, rule, g, hit, reason, vec![]));
    }
    let admin_user =
        |r: &Resource| matches!(r.details, ResourceDetails::ContainerRegistry { admin_user_enabled: Some(true), .. });
    for (g, r, how) in ctx.rbac_matches(LIST_CREDENTIALS, false, admin_user) {
        let reason = format!(
            "{} allows {LIST_CREDENTIALS} and registry {} has its admin user enabled: the admin password can {what} it",
            grant_text(ctx, g),
            r.name
        );
        let extra = vec![Context::resource_evidence(
            EvidenceKind::ResourceProperty,
            r,
            format!("{}: adminUserEnabled = true", r.id),
        )];
        let hit = Hit { target: &r.id, action: LIST_CREDENTIALS, how: &how, plane: Plane::Arm(&r.id) };
        out.extend(rbac_edge(ctx, rule, g, hit, reason, extra));
    }
}

#[cfg(test)]
mod tests {
    use crate::model::EdgeKind::{ReadData, WriteData};
    use crate::rules::testkit::*;
    use serde_json::json;

    fn registry(t: &mut T, rg: &str, name: &str, admin: bool, abac: bool) -> String {
        let mode = if abac { "AbacRepositoryPermissions" } else { "LegacyRegistryPermissions" };
        t.resource(
            rg,
            "Microsoft.ContainerRegistry/registries",
            name,
            json!({
            "properties": {"adminUserEnabled": admin, "roleAssignmentMode": mode}}),
        )
    }

    #[test]
    fn push_and_pull_follow_the_registry_actions() {
        let mut t = T::new();
        let rg = t.rg("rg");
        let cr = registry(&mut t, &rg, "cr", false, false);
        let pusher = t.user("pusher");
        t.assign(&pusher, "AcrPush", &cr);
        let puller = t.user("puller");
        t.assign(&puller, "AcrPull", &cr);
        // Reader's `*/read` includes `pull/read`: Microsoft's ACR roles page lets Reader pull.
        let reader = t.user("reader");
        t.assign(&reader, "Reader", &cr);
        let contributor = t.user("contributor");
        t.assign(&contributor, "Contributor", &cr);
        let d = t.derive();
        assert!(has(&d, &pusher, &cr, WriteData) && has(&d, &pusher, &cr, ReadData));
        assert!(has(&d, &puller, &cr, ReadData) && !has(&d, &puller, &cr, WriteData));
        assert!(has(&d, &reader, &cr, ReadData) && !has(&d, &reader, &cr, WriteData));
        assert!(has(&d, &contributor, &cr, WriteData));
    }

    #[test]
    fn abac_registries_use_repository_data_actions_and_the_admin_user_counts_only_when_enabled() {
        let mut t = T::new();
        let rg = t.rg("rg");
        let abac = registry(&mut t, &rg, "crabac", false, true);
        let admin_on = registry(&mut t, &rg, "cradmin", true, false);
        let admin_off = registry(&mut t, &rg, "crnoadmin", false, false);
        let legacy_pusher = t.user("legacy-pusher");
        t.assign(&legacy_pusher, "AcrPush", &abac);
        let keys = t.custom_role("list creds", &["Microsoft.ContainerRegistry/registries/listCredentials/action"], &[]);
        let lister = t.user("lister");
        t.assign(&lister, &keys, &rg);
        let d = t.derive();
        assert!(!has(&d, &legacy_pusher, &abac, WriteData), "registry actions do not authorize an ABAC registry");
        assert!(has(&d, &lister, &admin_on, WriteData));
        assert!(!has(&d, &lister, &admin_off, WriteData));
    }
}
