//! App Service deployment channels that need no write on the app: the function host's master key,
//! and the publishing credentials (basic auth) of the app's SCM site. Writes to the app, its
//! configuration and `publish` (the SCM site with an Entra token) are in `execute.rs`.

use super::nodes::is_function_app;
use super::run_as::runs_code;
use super::{Context, Hit, Plane, Rule, grant_text, rbac_edge};
use crate::facts::{Resource, ResourceDetails};
use crate::model::{CONFIG_CHANGE_COST, Edge, EdgeKind, Evidence, EvidenceKind};

/// The two App Service types that run code: apps and their deployment slots (each slot has its own
/// identity and its own SCM site), with the action names for each.
struct AppType {
    resource_type: &'static str,
    what: &'static str,
    list_host_keys: &'static str,
    /// Actions that return the publishing credentials (user name and password).
    credentials: &'static [&'static str],
    /// Actions that change the basic-auth policy of the SCM site: Microsoft lists the policy
    /// type's write and the `scm` policy's own write.
    policy_write: &'static [&'static str],
}

const APP_TYPES: &[AppType] = &[
    AppType {
        resource_type: "microsoft.web/sites",
        what: "app",
        list_host_keys: "Microsoft.Web/sites/host/listkeys/action",
        credentials: &["Microsoft.Web/sites/publishxml/Action", "Microsoft.Web/sites/config/list/Action"],
        policy_write: &[
            "Microsoft.Web/sites/basicPublishingCredentialsPolicies/write",
            "Microsoft.Web/sites/basicPublishingCredentialsPolicies/scm/write",
        ],
    },
    AppType {
        resource_type: "microsoft.web/sites/slots",
        what: "deployment slot",
        list_host_keys: "Microsoft.Web/sites/slots/host/listkeys/action",
        credentials: &["Microsoft.Web/sites/slots/publishxml/Action", "Microsoft.Web/sites/slots/config/list/Action"],
        policy_write: &[
            "Microsoft.Web/sites/slots/basicPublishingCredentialsPolicies/write",
            "Microsoft.Web/sites/slots/basicPublishingCredentialsPolicies/scm/write",
        ],
    },
];

/// An app or slot with a managed identity (no identity: nothing to gain by running code there).
fn with_identity(r: &Resource, ty: &AppType) -> bool {
    r.resource_type == ty.resource_type && runs_code(r) && r.has_managed_identity()
}

pub const MASTER_KEY: Rule = Rule {
    id: "rbac-function-master-key",
    edges: &[EdgeKind::ExecuteOn],
    summary: "Listing a function app's host keys returns its master key, which deploys code through the Functions admin API.",
    doc: "What it does: an ExecuteOn edge to each function app (ARM `kind` containing `functionapp`, which \
includes Logic Apps Standard) or function app deployment slot with a managed identity beneath an assignment \
whose role allows `Microsoft.Web/sites/host/listkeys/action` (`sites/slots/host/listkeys/action` for a slot; \
Website Contributor, or a custom key-reader role). Why it matters: the host keys include the master key \
(`_master`), which Microsoft documents as giving administrative access to the Functions runtime REST APIs; \
the runtime's admin API writes the app's files (`PUT /admin/vfs/...`), so the caller deploys code that then \
runs as the app's identity (RunCodeAs). Must not fire: for function keys (`functions/listkeys/action`, \
`host/functionKeys/write`: they only call functions), for a web app that is not a function app (it has no \
Functions host), on an app without a managed identity, for Reader, or when a deny assignment removes the \
action.",
    derive: derive_master_key,
};

pub const BASIC_AUTH: Rule = Rule {
    id: "rbac-publishing-credentials",
    edges: &[EdgeKind::ExecuteOn],
    summary: "An app's publishing profile or publishing credentials deploy code through its SCM site while basic auth is allowed there.",
    doc: "What it does: an ExecuteOn edge to each web or function app (or deployment slot) with a managed \
identity beneath an assignment whose role allows `sites/publishxml/Action` (the publishing profile) or \
`sites/config/list/Action` (its sensitive settings, publishing credentials included; `sites/slots/...` for \
a slot), when the app's SCM site allows basic auth (`basicPublishingCredentialsPolicies/scm` \
`properties.allow`). Why it matters: the user name and password sign in to the SCM (Kudu) site, which \
deploys code (zip deploy, the command API) that runs as the app's identity. If the policy was not \
collected the edge is kept but conditional (the credentials may be refused). If basic auth is off, the \
edge exists only when the same assignment can also write the policy \
(`basicPublishingCredentialsPolicies/write` or `.../scm/write`), and costs more (a visible configuration \
change). Must not fire: when SCM basic auth is off and the grant cannot turn it back on, on an app \
without a managed identity, for Reader (`*/read` matches neither action), or when a deny assignment \
removes the action. A grant that can also write the app or publish with an Entra token gets the cheaper \
rbac-execute-on-compute edge.",
    derive: derive_basic_auth,
};

fn derive_master_key(ctx: &Context, out: &mut Vec<Edge>) {
    for ty in APP_TYPES {
        let accept = |r: &Resource| with_identity(r, ty) && is_function_app(r.kind.as_deref());
        for (g, r, how) in ctx.rbac_matches(ty.list_host_keys, false, accept) {
            let reason = format!(
                "{} allows {}: the host keys include the master key, whose admin API (/admin/vfs) can write the code of function {} {}",
                grant_text(ctx, g),
                ty.list_host_keys,
                ty.what,
                r.name
            );
            let kind = r.kind.as_deref().unwrap_or_default();
            let extra =
                vec![Context::resource_evidence(EvidenceKind::ResourceProperty, r, format!("{}: kind {kind}", r.id))];
            // Listing host keys is a POST to ARM on the app.
            let hit = Hit { target: &r.id, action: ty.list_host_keys, how: &how, plane: Plane::Arm(&r.id) };
            out.extend(rbac_edge(ctx, &MASTER_KEY, g, hit, reason, extra));
        }
    }
}

fn derive_basic_auth(ctx: &Context, out: &mut Vec<Edge>) {
    for ty in APP_TYPES {
        for &action in ty.credentials {
            for (g, r, how) in ctx.rbac_matches(action, false, |r| with_identity(r, ty)) {
                let ResourceDetails::AppService { scm_basic_auth, .. } = r.details else { continue };
                let grant = grant_text(ctx, g);
                let policy = |text: &str| {
                    Context::resource_evidence(
                        EvidenceKind::ResourceProperty,
                        r,
                        format!("{}: basicPublishingCredentialsPolicies/scm {text}", r.id),
                    )
                };
                match scm_basic_auth {
                    Some(true) => {
                        let reason = format!(
                            "{grant} allows {action}: the publishing credentials sign in to the SCM site of {} {}, which allows basic auth, and deploy code there",
                            ty.what, r.name
                        );
                        let extra = vec![policy("allow = true")];
                        let hit = Hit { target: &r.id, action, how: &how, plane: Plane::Arm(&r.id) };
                        out.extend(rbac_edge(ctx, &BASIC_AUTH, g, hit, reason, extra));
                    }
                    None => {
                        let reason = format!(
                            "{grant} allows {action}: the publishing credentials sign in to the SCM site of {} {} and deploy code there, if it allows basic auth",
                            ty.what, r.name
                        );
                        let extra = vec![policy("not collected")];
                        let hit = Hit { target: &r.id, action, how: &how, plane: Plane::Arm(&r.id) };
                        let Some(mut e) = rbac_edge(ctx, &BASIC_AUTH, g, hit, reason, extra) else { continue };
                        if !e.conditional {
                            let activation = e.requires_activation;
                            e = e.with_flags(activation, true);
                        }
                        e.push_reason(" (its basic-auth policy was not collected: the credentials may be refused)");
                        out.push(e);
                    }
                    Some(false) => {
                        let Some((write, write_how)) = ty.policy_write.iter().find_map(|&w| {
                            let how = g.role.grants_action(w)?;
                            (!ctx.denied(&g.assignment.principal_id, &r.id, w, false)).then_some((w, how))
                        }) else {
                            continue;
                        };
                        let reason = format!(
                            "{grant} allows {write}: can turn basic auth back on for the SCM site of {} {}, then sign in with the publishing credentials ({action}) and deploy code (configuration change)",
                            ty.what, r.name
                        );
                        let extra = vec![
                            policy("allow = false"),
                            Evidence::new(EvidenceKind::ThenAction, format!("{action} (granted by `{}`)", how.pattern)),
                        ];
                        let hit = Hit { target: &r.id, action: write, how: &write_how, plane: Plane::Arm(&r.id) };
                        let Some(mut e) = rbac_edge(ctx, &BASIC_AUTH, g, hit, reason, extra) else { continue };
                        if how.conditional && !e.conditional {
                            let activation = e.requires_activation;
                            e = e.with_flags(activation, true);
                            e.push_reason(
                                " (reading the credentials is subject to a condition azpath does not evaluate)",
                            );
                        }
                        e.cost += CONFIG_CHANGE_COST;
                        out.push(e);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::model::EdgeKind::{ExecuteOn, RunCodeAs};
    use crate::model::EvidenceKind;
    use crate::rules::testkit::*;
    use serde_json::{Value, json};

    const HOST_KEYS: &str = "Microsoft.Web/sites/host/listkeys/action";
    const PUBLISH_XML: &str = "Microsoft.Web/sites/publishxml/Action";

    /// A site with a system-assigned identity.
    fn app(t: &mut T, rg: &str, name: &str, kind: &str) -> String {
        t.resource(
            rg,
            "Microsoft.Web/sites",
            name,
            json!({"kind": kind, "identity": {"type": "SystemAssigned", "principalId": format!("sp-{name}")}}),
        )
    }

    fn slot(t: &mut T, rg: &str, site: &str, name: &str, kind: &str) -> String {
        let id = format!("{site}/slots/{name}");
        t.resource(rg, "Microsoft.Web/sites", "slot", json!({
            "id": id, "name": format!("{}/{name}", site.rsplit('/').next().unwrap()), "type": "Microsoft.Web/sites/slots",
            "kind": kind, "identity": {"type": "SystemAssigned", "principalId": format!("sp-{name}-slot")}}));
        id
    }

    /// The `scm` basic publishing credentials policy of an app or slot.
    fn scm_policy(t: &mut T, rg: &str, app: &str, allow: Value) {
        let ty = if app.contains("/slots/") {
            "Microsoft.Web/sites/slots/basicPublishingCredentialsPolicies"
        } else {
            "Microsoft.Web/sites/basicPublishingCredentialsPolicies"
        };
        t.resource(
            rg,
            "Microsoft.Web/sites",
            "policy",
            json!({
            "id": format!("{app}/basicPublishingCredentialsPolicies/scm"), "name": "scm", "type": ty,
            "properties": {"allow": allow}}),
        );
    }

    #[test]
    fn the_host_master_key_runs_code_on_function_apps_and_their_slots() {
        let mut t = T::new();
        let rg = t.rg("rg");
        let func = app(&mut t, &rg, "func", "functionapp,linux");
        let staging = slot(&mut t, &rg, &func, "staging", "functionapp,linux");
        let keys = t.custom_role(
            "Function key reader",
            &[HOST_KEYS, "Microsoft.Web/sites/slots/host/listkeys/action", "Microsoft.Web/sites/read"],
            &[],
        );
        let k = t.user("k");
        t.assign(&k, &keys, &func);
        let d = t.derive();
        let e = edge(&d, &k, &func, ExecuteOn).expect("master key");
        assert_eq!(&*e.rule, "rbac-function-master-key");
        assert!(e.reason(&d).contains("master key"), "{}", e.reason(&d));
        assert!(has(&d, &k, &staging, ExecuteOn), "the slot's own host keys");
        assert!(has(&d, &func, "sp-func", RunCodeAs) && has(&d, &staging, "sp-staging-slot", RunCodeAs));
    }

    #[test]
    fn function_keys_and_host_keys_of_a_plain_web_app_are_not_code_execution() {
        let mut t = T::new();
        let rg = t.rg("rg");
        let func = app(&mut t, &rg, "func", "functionapp");
        let web = app(&mut t, &rg, "web", "app,linux");
        let function_keys = t.custom_role(
            "Function invoker",
            &[
                "Microsoft.Web/sites/functions/listkeys/action",
                "Microsoft.Web/sites/host/functionKeys/write",
                "Microsoft.Web/sites/functions/read",
            ],
            &[],
        );
        let host_keys = t.custom_role("Host key reader", &[HOST_KEYS], &[]);
        let (i, w) = (t.user("invoker"), t.user("web"));
        t.assign(&i, &function_keys, &func);
        t.assign(&w, &host_keys, &web);
        let d = t.derive();
        assert!(out(&d, &i).is_empty(), "{:?}", out(&d, &i));
        assert!(out(&d, &w).is_empty(), "a web app has no Functions host: {:?}", out(&d, &w));
    }

    #[test]
    fn publish_runs_code_through_kudu_with_an_entra_token_on_apps_and_slots() {
        let mut t = T::new();
        let rg = t.rg("rg");
        let web = app(&mut t, &rg, "web", "app");
        let staging = slot(&mut t, &rg, &web, "staging", "app");
        scm_policy(&mut t, &rg, &web, json!(false));
        let deployer = t.custom_role(
            "Deployer",
            &["Microsoft.Web/sites/publish/Action", "Microsoft.Web/sites/slots/publish/Action"],
            &[],
        );
        let p = t.sp("deployer");
        t.assign(&p, &deployer, &web);
        let d = t.derive();
        let e = edge(&d, &p, &web, ExecuteOn).expect("Kudu with Entra: basic auth does not matter");
        assert_eq!(&*e.rule, "rbac-execute-on-compute");
        assert!(!e.conditional);
        assert!(has(&d, &p, &staging, ExecuteOn));
    }

    #[test]
    fn publishing_credentials_run_code_where_scm_basic_auth_is_allowed() {
        let mut t = T::new();
        let rg = t.rg("rg");
        let (on, off, unknown) =
            (app(&mut t, &rg, "on", "app"), app(&mut t, &rg, "off", "app"), app(&mut t, &rg, "unknown", "app"));
        let staging = slot(&mut t, &rg, &off, "staging", "app");
        scm_policy(&mut t, &rg, &on, json!(true));
        scm_policy(&mut t, &rg, &off, json!(false));
        scm_policy(&mut t, &rg, &staging, json!(true));
        let profile = t.custom_role(
            "Publishing profile reader",
            &[PUBLISH_XML, "Microsoft.Web/sites/slots/config/list/Action"],
            &[],
        );
        let p = t.user("p");
        t.assign(&p, &profile, &rg);
        let d = t.derive();
        let e = edge(&d, &p, &on, ExecuteOn).expect("basic auth allowed");
        assert_eq!(&*e.rule, "rbac-publishing-credentials");
        assert!(!e.conditional);
        assert!(
            e.evidence()
                .iter()
                .any(|ev| ev.kind == EvidenceKind::ResourceProperty && ev.value.contains("allow = true"))
        );
        assert!(!has(&d, &p, &off, ExecuteOn), "basic auth off and no right to turn it on");
        assert!(has(&d, &p, &staging, ExecuteOn), "the slot has its own policy, and its own credentials");
        let e = edge(&d, &p, &unknown, ExecuteOn).expect("policy not collected: kept, conditional");
        assert!(e.conditional && e.reason(&d).contains("not collected"), "{}", e.reason(&d));
        assert!(e.cost > ExecuteOn.base_cost());
    }

    #[test]
    fn a_grant_that_can_turn_scm_basic_auth_back_on_gets_a_costlier_edge() {
        let mut t = T::new();
        let rg = t.rg("rg");
        let off = app(&mut t, &rg, "off", "functionapp");
        scm_policy(&mut t, &rg, &off, json!(false));
        let with_write = t.custom_role(
            "Profile and policy",
            &[PUBLISH_XML, "Microsoft.Web/sites/basicPublishingCredentialsPolicies/write"],
            &[],
        );
        let policy_only =
            t.custom_role("Policy writer", &["Microsoft.Web/sites/basicPublishingCredentialsPolicies/write"], &[]);
        let (p, q) = (t.user("p"), t.user("q"));
        t.assign(&p, &with_write, &off);
        t.assign(&q, &policy_only, &off);
        let d = t.derive();
        let e = edge(&d, &p, &off, ExecuteOn).expect("re-enable basic auth, then deploy");
        assert!(e.reason(&d).contains("configuration change"), "{}", e.reason(&d));
        assert!(e.cost > ExecuteOn.base_cost() + 5, "{}", e.cost);
        assert!(e.evidence().iter().any(|ev| ev.kind == EvidenceKind::ThenAction && ev.value.contains("publishxml")));
        assert!(out(&d, &q).is_empty(), "the policy alone gives no credentials");
    }

    #[test]
    fn plan_rights_reader_and_apps_without_identity_are_no_edge() {
        let mut t = T::new();
        let rg = t.rg("rg");
        let func = app(&mut t, &rg, "func", "functionapp");
        scm_policy(&mut t, &rg, &func, json!(true));
        let plain = t.resource(&rg, "Microsoft.Web/sites", "plain", json!({"kind": "functionapp"}));
        scm_policy(&mut t, &rg, &plain, json!(true));
        t.resource(&rg, "Microsoft.Web/serverfarms", "plan", json!({"kind": "functionapp"}));
        let (plan, reader, website) = (t.user("plan"), t.user("reader"), t.user("website"));
        t.assign(&plan, "Web Plan Contributor", &rg);
        t.assign(&reader, "Reader", &rg);
        t.assign(&website, "Website Contributor", &plain);
        let d = t.derive();
        for p in [&plan, &reader, &website] {
            assert!(out(&d, p).is_empty(), "{p}: {:?}", out(&d, p));
        }
    }

    #[test]
    fn a_deny_assignment_removes_the_master_key() {
        let mut t = T::new();
        let rg = t.rg("rg");
        let func = app(&mut t, &rg, "func", "functionapp");
        let keys = t.custom_role("Function key reader", &[HOST_KEYS], &[]);
        let (k, denied) = (t.sp("k"), t.sp("denied"));
        t.assign(&k, &keys, &rg);
        t.assign(&denied, &keys, &rg);
        t.deny(&rg, &denied, &["Microsoft.Web/sites/host/*"]);
        let d = t.derive();
        assert!(has(&d, &k, &func, ExecuteOn));
        assert!(!has(&d, &denied, &func, ExecuteOn));
    }
}
