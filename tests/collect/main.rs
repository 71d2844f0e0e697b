//! The live collector against a fake Azure (a real HTTPS server with a test CA, started by the
//! tests): full collection, faults and throttling, partial access, cancellation, secrets, the raw
//! archive, token refresh, and the CLI end to end. No network.

mod cli;
mod fake;
mod signin;
mod tenant;

use azpath::collect::{self, AuthMethod, AuthSettings, Cloud, Endpoints, Options, Progress, RetryPolicy};
use azpath::facts::RawFacts;
use azpath::model::{Edge, Node};
use azpath::store::Store;
use fake::{FakeAzure, Faults};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, Once};
use std::time::Duration;
use tenant::{PLANTED, Scale, Tenant};

/// The client secret is read from the environment only; every test uses the same values.
pub fn set_env() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // SAFETY: set once, before any test thread reads the environment through the collector
        // (every test calls this first), and never changed afterwards.
        unsafe {
            std::env::set_var("AZURE_CLIENT_SECRET", fake::CLIENT_SECRET);
            std::env::remove_var("AZURE_FEDERATED_TOKEN_FILE");
            std::env::remove_var("AZURE_CLIENT_CERTIFICATE_PATH");
        }
    });
}

pub fn options(fake: &FakeAzure, concurrency: usize) -> Options {
    set_env();
    Options {
        endpoints: Endpoints::new(Cloud::Public, Some(&fake.login_url), Some(&fake.graph_url), Some(&fake.arm_url))
            .unwrap(),
        auth: AuthSettings {
            method: AuthMethod::Secret,
            tenant_id: Some(fake::TENANT.into()),
            client_id: Some(fake::CLIENT_ID.into()),
            ..Default::default()
        },
        ca_cert: Some(fake.ca_pem.clone()),
        concurrency,
        retry: RetryPolicy {
            max_attempts: 8,
            base_delay: Duration::from_millis(20),
            max_delay: Duration::from_millis(400),
            timeout: Duration::from_secs(20),
        },
        save_raw: None,
        graph: true,
        arm: true,
    }
}

/// A log sink that keeps every line.
pub fn capture() -> (collect::Log, Arc<Mutex<Vec<String>>>) {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let l = lines.clone();
    (Arc::new(move |s: &str| l.lock().unwrap().push(s.to_string())), lines)
}

async fn run(opts: &Options) -> collect::Outcome {
    let (log, _) = capture();
    collect::collect(opts, log, Progress::hidden(), std::future::pending()).await.expect("collection succeeds")
}

/// Nodes and edges of a snapshot made from `raw` (through the real import pipeline).
fn derived(raw: &RawFacts) -> (Vec<Node>, Vec<Edge>) {
    let mut store = Store::open_in_memory().unwrap();
    let s = azpath::import_facts(&mut store, raw.clone(), None).unwrap();
    store.load_graph(s.snapshot).unwrap()
}

fn ids(v: &Value) -> BTreeSet<String> {
    v.as_array().unwrap().iter().map(|o| o["id"].as_str().unwrap().to_ascii_lowercase()).collect()
}

/// Every collection holds exactly the expected objects (by id; per parent for relationships).
fn assert_same_collections(got: &RawFacts, want: &RawFacts) {
    for (side, g, w) in [("graph", &got.graph, &want.graph), ("arm", &got.arm, &want.arm)] {
        let gk: BTreeSet<_> = g.keys().collect();
        let wk: BTreeSet<_> = w.keys().collect();
        assert_eq!(gk, wk, "{side} collections differ");
        for (name, wv) in w {
            let gv = &g[name];
            if wv.is_array() {
                assert_eq!(ids(gv), ids(wv), "{side}.{name}");
                assert_eq!(gv.as_array().unwrap().len(), ids(gv).len(), "{side}.{name} has duplicates");
            } else {
                let per = |v: &Value| -> BTreeMap<String, BTreeSet<String>> {
                    v.as_object().unwrap().iter().map(|(k, v)| (k.to_ascii_lowercase(), ids(v))).collect()
                };
                assert_eq!(per(gv), per(wv), "{side}.{name}");
            }
        }
    }
}

fn same_snapshot(got: &RawFacts, want: &RawFacts) {
    let mut want = want.clone();
    want.collected_at = got.collected_at.clone();
    let (gn, ge) = derived(got);
    let (wn, we) = derived(&want);
    assert!(we.len() > 20, "the expected tenant derives edges ({})", we.len());
    let only = |a: &[Node], b: &[Node]| -> Vec<String> {
        a.iter().filter(|n| !b.contains(n)).map(|n| format!("{n:?}")).collect()
    };
    assert!(gn == wn, "nodes differ:\n collected only: {:?}\n expected only: {:?}", only(&gn, &wn), only(&wn, &gn));
    let only = |a: &[Edge], b: &[Edge]| -> Vec<String> {
        a.iter().filter(|e| !b.contains(e)).map(|e| format!("{e:?}")).collect()
    };
    assert!(ge == we, "edges differ:\n collected only: {:?}\n expected only: {:?}", only(&ge, &we), only(&we, &ge));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_collection_of_a_multi_subscription_tenant_equals_the_expected_facts() {
    let t: Tenant = tenant::generate(Scale::small());
    // Small pages: top-level lists, $batch inner lists and ARM lists all need next links.
    let fake = FakeAzure::start(t.data.clone(), Faults { page_size: 3, ..Faults::default() });
    let opts = options(&fake, 6);
    let out = run(&opts).await;
    assert_eq!(out.raw.completeness, vec![], "nothing is missing");
    assert_same_collections(&out.raw, &t.expected);
    same_snapshot(&out.raw, &t.expected);
    assert_eq!(out.raw.tenant.display_name.as_deref(), Some("Contoso ML (fake)"));
    // $select was sent: unselected user fields never arrive.
    assert!(out.raw.graph["users"].as_array().unwrap().iter().all(|u| u.get("mail").is_none()));
    // Concurrency stays bounded, on both sides of the wire.
    assert!(out.stats.peak_in_flight <= 6, "{}", out.stats.peak_in_flight);
    assert!(fake.seen.peak_in_flight.load(std::sync::atomic::Ordering::SeqCst) <= 6);
    assert!(fake.seen.batch_items.load(std::sync::atomic::Ordering::SeqCst) > 0, "relationships go through $batch");
    // One Graph and one ARM token, each used only for its own API.
    assert_eq!(fake.seen.token_requests.load(std::sync::atomic::Ordering::SeqCst), 2);
    assert_eq!(fake.seen.unauthorized.load(std::sync::atomic::Ordering::SeqCst), 0);
    assert_eq!(out.stats.credential, "client secret");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttling_errors_and_dropped_connections_are_survived_with_nothing_lost() {
    let t = tenant::generate(Scale::small());
    let faults = Faults {
        page_size: 2,
        latency: Duration::from_millis(3),
        throttle_every: 37,
        fail_every: 9,
        drop_every: 13,
        batch_item_throttle_every: 11,
        ..Faults::default()
    };
    let fake = FakeAzure::start(t.data.clone(), faults);
    let (log, lines) = capture();
    let out = collect::collect(&options(&fake, 4), log, Progress::hidden(), std::future::pending()).await.unwrap();
    assert_eq!(out.raw.completeness, vec![]);
    assert_same_collections(&out.raw, &t.expected);
    same_snapshot(&out.raw, &t.expected);
    let injected = fake.seen.faults_injected.load(std::sync::atomic::Ordering::SeqCst);
    assert!(injected >= 10, "faults were injected ({injected})");
    assert!(out.stats.throttles > 0 && out.stats.retries as u64 >= injected, "{:?}", out.stats);
    let lines = lines.lock().unwrap();
    assert!(lines.iter().any(|l| l.contains("throttled")), "throttling is logged");
    assert!(lines.iter().any(|l| l.contains("retry")), "retries are logged");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partial_403s_are_recorded_as_not_collected_and_the_run_goes_on() {
    let t = tenant::generate(Scale::small());
    let (sub1, sub2, g2) = (&t.subscription_ids[1], &t.subscription_ids[2], &t.group_ids[2]);
    let deny = vec![
        format!("/subscriptions/{sub1}/providers/microsoft.authorization/roleassignments"),
        format!("/subscriptions/{sub2}/resources"),
        format!("/groups/{g2}/members"),
        "/rolemanagement/directory/roleeligibilityschedules".to_string(),
    ];
    let fake = FakeAzure::start(t.data.clone(), Faults { page_size: 4, deny, ..Faults::default() });
    let opts = options(&fake, 4);
    let out = run(&opts).await;
    let notes: BTreeSet<(String, String)> =
        out.raw.completeness.iter().map(|n| (n.what.clone(), n.scope.clone().unwrap_or_default())).collect();
    let want: BTreeSet<(String, String)> = [
        ("arm.roleAssignments", format!("/subscriptions/{sub1}")),
        ("arm.resources", format!("/subscriptions/{sub2}")),
        ("graph.groupMembers", g2.clone()),
        ("graph.directoryRoleEligibilitySchedules", String::new()),
    ]
    .into_iter()
    .map(|(a, b)| (a.to_string(), b))
    .collect();
    assert_eq!(notes, want);
    assert!(out.raw.completeness.iter().all(|n| n.reason.starts_with("403 ")), "{:?}", out.raw.completeness);
    // Everything else was read.
    assert_eq!(ids(&out.raw.graph["users"]), ids(&t.expected.graph["users"]));
    assert!(out.raw.graph["groupMembers"].get(g2.as_str()).is_none());
    assert!(out.raw.arm["resources"].as_array().unwrap().len() > 10);
    // The snapshot is written and says what is missing.
    let mut store = Store::open_in_memory().unwrap();
    let s = azpath::import_facts(&mut store, out.raw, Some("partial")).unwrap();
    let info = store.resolve(&s.snapshot.to_string()).unwrap();
    assert!(
        info.completeness.iter().any(|n| n.what == "graph.groupMembers" && n.scope.as_deref() == Some(g2.as_str()))
    );
    assert!(info.completeness.iter().any(|n| n.what == "graph.directoryRoleEligibilitySchedules"));
}

/// The ExecuteOn edges from `source`, by target id, with their conditional flag.
fn execute_on(edges: &[Edge], source: &str) -> BTreeMap<String, bool> {
    edges
        .iter()
        .filter(|e| &*e.source == source && e.kind == azpath::model::EdgeKind::ExecuteOn)
        .map(|e| (e.target.to_string(), e.conditional))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn basic_auth_policies_are_read_per_app_and_slot_and_a_denied_one_is_a_note() {
    let t = tenant::generate(Scale::small());
    let (sub0, sub1) = (&t.subscription_ids[0], &t.subscription_ids[1]);
    let (site0, slot0) = tenant::function_app(sub0, 0);
    let (site1, slot1) = tenant::function_app(sub1, 1);
    let lower = |s: &str| s.to_ascii_lowercase();
    let (user0, user1) = (tenant::publisher_user(0), tenant::publisher_user(1));

    // Everything readable: the publishing profile works where SCM basic auth is allowed (slot 0,
    // app 1, slot 1), not on app 0, whose policy says no.
    let fake = FakeAzure::start(t.data.clone(), Faults { page_size: 4, ..Faults::default() });
    let out = run(&options(&fake, 4)).await;
    assert_eq!(out.raw.completeness, vec![]);
    let (_, edges) = derived(&out.raw);
    assert_eq!(execute_on(&edges, &user0), BTreeMap::from([(lower(&slot0), false)]));
    assert_eq!(execute_on(&edges, &user1), BTreeMap::from([(lower(&site1), false), (lower(&slot1), false)]));
    drop(fake);

    // App 0's policies denied: a completeness note, and the edge is back, conditional.
    let deny = vec![lower(&format!("{site0}/basicPublishingCredentialsPolicies"))];
    let fake = FakeAzure::start(t.data.clone(), Faults { page_size: 4, deny, ..Faults::default() });
    let out = run(&options(&fake, 4)).await;
    let notes: Vec<_> =
        out.raw.completeness.iter().map(|n| (n.what.as_str(), n.scope.clone().unwrap_or_default())).collect();
    assert_eq!(notes, [("arm.resources", format!("{site0}/basicPublishingCredentialsPolicies"))]);
    assert!(out.raw.completeness[0].reason.starts_with("403 "), "{:?}", out.raw.completeness);
    let facts = azpath::facts::parse(&out.raw).unwrap();
    let scm = |id: &str| match facts.resources.iter().find(|r| r.id == lower(id)).map(|r| &r.details) {
        Some(azpath::facts::ResourceDetails::AppService { scm_basic_auth, .. }) => *scm_basic_auth,
        other => panic!("{id}: {other:?}"),
    };
    assert_eq!((scm(&site0), scm(&slot0), scm(&site1)), (None, Some(true), Some(true)));
    let (_, edges) = derived(&out.raw);
    assert_eq!(execute_on(&edges, &user0), BTreeMap::from([(lower(&site0), true), (lower(&slot0), false)]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_denied_pim_for_groups_api_is_one_note_not_one_per_group() {
    let t = tenant::generate(Scale::small());
    let fake =
        FakeAzure::start(t.data.clone(), Faults { deny: vec!["/identitygovernance/".into()], ..Faults::default() });
    let out = run(&options(&fake, 4)).await;
    let pim: Vec<_> = out.raw.completeness.iter().filter(|n| n.what == "graph.groupEligibilitySchedules").collect();
    assert_eq!(pim.len(), 1, "{pim:?}");
    assert!(!out.raw.graph.contains_key("groupEligibilitySchedules"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_collection_leaves_the_database_unchanged() {
    let t = tenant::generate(Scale::small());
    let fake = FakeAzure::start(
        t.data.clone(),
        Faults { latency: Duration::from_millis(40), page_size: 2, ..Faults::default() },
    );
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("azpath.db");
    let mut store = Store::open(&db).unwrap();
    azpath::import_facts(&mut store, azpath::demo::raw(), Some("before")).unwrap();
    let before = store.snapshots().unwrap();
    let mut opts = options(&fake, 4);
    opts.save_raw = Some(dir.path().join("raw"));
    let seen = fake.seen.clone();
    let cancel = async move {
        while seen.api_requests.load(std::sync::atomic::Ordering::SeqCst) < 10 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    let (log, _) = capture();
    let err = match collect::collect(&opts, log, Progress::hidden(), cancel).await {
        Ok(_) => panic!("the collection must be interrupted"),
        Err(e) => e,
    };
    assert!(err.downcast_ref::<collect::Interrupted>().is_some(), "{err:#}");
    // Requests stop: at most the ones in flight complete.
    let at_cancel = fake.seen.api_requests.load(std::sync::atomic::Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let later = fake.seen.api_requests.load(std::sync::atomic::Ordering::SeqCst);
    assert!(later <= at_cancel + 4, "requests kept going after the interrupt: {at_cancel} -> {later}");
    assert_eq!(store.snapshots().unwrap(), before, "nothing was written");
    drop(store);
    let store = Store::open(&db).unwrap();
    assert_eq!(store.snapshots().unwrap().len(), 1);
    // The half-written archive has no manifest and is refused.
    let e = collect::ingest(&dir.path().join("raw")).unwrap_err();
    assert!(format!("{e:#}").contains("did not finish"), "{e:#}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_token_or_secret_reaches_the_database_the_archive_or_the_logs() {
    let t = tenant::generate(Scale::small());
    let fake = FakeAzure::start(
        t.data.clone(),
        Faults { page_size: 5, throttle_every: 41, fail_every: 23, ..Faults::default() },
    );
    let dir = tempfile::tempdir().unwrap();
    let mut opts = options(&fake, 4);
    opts.save_raw = Some(dir.path().join("raw"));
    let (log, lines) = capture();
    let out = collect::collect(&opts, log, Progress::hidden(), std::future::pending()).await.unwrap();
    let db = dir.path().join("azpath.db");
    {
        let mut store = Store::open(&db).unwrap();
        azpath::import_facts(&mut store, out.raw, None).unwrap();
    }
    let tokens = fake.tokens();
    assert_eq!(tokens.len(), 2);
    let mut secrets: Vec<String> = tokens;
    secrets.push(fake::CLIENT_SECRET.into());
    secrets.extend(PLANTED.iter().map(|s| s.to_string()));
    let mut haystacks: Vec<(String, Vec<u8>)> = Vec::new();
    for entry in std::fs::read_dir(dir.path().join("raw")).unwrap() {
        let p = entry.unwrap().path();
        haystacks.push((p.display().to_string(), std::fs::read(&p).unwrap()));
    }
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let p = entry.unwrap().path();
        if p.is_file() {
            haystacks.push((p.display().to_string(), std::fs::read(&p).unwrap()));
        }
    }
    let log_text = lines.lock().unwrap().join("\n");
    assert!(!log_text.is_empty(), "the faults produced log lines");
    haystacks.push(("log".into(), log_text.into_bytes()));
    // The checks are not vacuous: the stores hold the tenant.
    let all: Vec<u8> = haystacks.iter().flat_map(|(_, b)| b.clone()).collect();
    let contains = |needle: &str| all.windows(needle.len()).any(|w| w == needle.as_bytes());
    assert!(contains("User 1"), "the outputs hold the tenant's data");
    assert!(contains("AccountKey"), "the datastore (whose key was planted) is kept");
    for (name, bytes) in &haystacks {
        for s in &secrets {
            assert!(!bytes.windows(s.len()).any(|w| w == s.as_bytes()), "{s} found in {name}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ingest_of_a_saved_archive_gives_the_same_snapshot_as_the_live_collection() {
    let t = tenant::generate(Scale::small());
    let deny = vec![format!("/groups/{}/owners", t.group_ids[1])];
    let fake = FakeAzure::start(t.data.clone(), Faults { page_size: 4, deny, ..Faults::default() });
    let dir = tempfile::tempdir().unwrap();
    let mut opts = options(&fake, 5);
    opts.save_raw = Some(dir.path().join("raw"));
    let live = run(&opts).await.raw;
    drop(fake); // offline from here
    let replayed = collect::ingest(&dir.path().join("raw")).unwrap();
    assert_eq!(replayed.graph, live.graph);
    assert_eq!(replayed.arm, live.arm);
    assert_eq!(replayed.completeness, live.completeness);
    assert_eq!(replayed.completeness.len(), 1);
    let (ln, le) = derived(&live);
    let (rn, re) = derived(&replayed);
    assert_eq!(rn, ln);
    assert_eq!(re, le);
    assert!(!le.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_are_refreshed_before_they_expire_during_a_long_run() {
    let t = tenant::generate(Scale::small());
    // Tokens live 2 s; the run takes longer than that.
    let fake = FakeAzure::start(
        t.data.clone(),
        Faults { token_lifetime: 2, latency: Duration::from_millis(80), page_size: 3, ..Faults::default() },
    );
    let out = run(&options(&fake, 2)).await;
    assert!(out.stats.elapsed > Duration::from_secs(3), "the run is long enough ({:?})", out.stats.elapsed);
    assert_eq!(
        fake.seen.unauthorized.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "no request carried an expired token"
    );
    assert!(out.stats.tokens_fetched > 2, "tokens were refreshed ({})", out.stats.tokens_fetched);
    assert_eq!(out.raw.completeness, vec![]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_secret_or_an_untrusted_server_fails_with_a_clear_error_and_no_snapshot() {
    let t = tenant::generate(Scale::small());
    let fake = FakeAzure::start(t.data.clone(), Faults::default());
    // Without the test CA, TLS to the fake fails: the CA option is what makes it trusted.
    let mut opts = options(&fake, 2);
    opts.ca_cert = None;
    let (log, _) = capture();
    let err = collect::collect(&opts, log.clone(), Progress::hidden(), std::future::pending()).await.err().unwrap();
    let msg = format!("{err:#}");
    assert!(msg.contains("client secret"), "{msg}");
    // A client id the tenant does not know.
    let mut opts = options(&fake, 2);
    opts.auth.client_id = Some("00000000-0000-0000-0000-000000000001".into());
    let err = collect::collect(&opts, log, Progress::hidden(), std::future::pending()).await.err().unwrap();
    let msg = format!("{err:#}");
    assert!(msg.contains("AADSTS700016"), "{msg}");
    assert!(!msg.contains(fake::CLIENT_SECRET));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn administrative_units_and_their_members_are_collected_and_scope_roles() {
    let t = tenant::generate(Scale::small());
    let fake = FakeAzure::start(t.data.clone(), Faults { page_size: 2, ..Faults::default() });
    let out = run(&options(&fake, 4)).await;
    assert_eq!(out.raw.completeness, vec![]);
    let units = out.raw.graph["administrativeUnits"].as_array().unwrap();
    assert_eq!(units.len(), 3);
    // $select asked for the restriction and the dynamic rule; `visibility` was not asked for.
    assert!(units.iter().any(|u| u["isMemberManagementRestricted"] == true));
    assert!(units.iter().any(|u| u["membershipType"] == "Dynamic" && u["membershipRule"].is_string()));
    assert!(units.iter().all(|u| u.get("visibility").is_none()));
    let members = out.raw.graph["administrativeUnitMembers"].as_object().unwrap();
    assert_eq!(members.len(), 3, "one member list per unit");
    assert!(members.values().flat_map(|v| v.as_array().unwrap()).all(|m| m["@odata.type"].is_string()));
    // The facts parse, and the unit-scoped Helpdesk Administrator (an assignment from
    // /roleManagement/directory/roleAssignments) reaches the unit's users only.
    let facts = azpath::facts::parse(&out.raw).unwrap();
    assert_eq!(facts.administrative_unit_members.len(), 6);
    let (_, edges) = derived(&out.raw);
    let holder = "00000001-0000-4000-8000-000000000006";
    let reset: BTreeSet<&str> = edges
        .iter()
        .filter(|e| &*e.source == holder && e.kind == azpath::model::EdgeKind::ResetCredential)
        .map(|e| &*e.target)
        .collect();
    assert_eq!(reset, BTreeSet::from(["00000001-0000-4000-8000-000000000001", "00000001-0000-4000-8000-000000000002"]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenant_without_units_has_empty_unit_collections_and_a_denied_list_is_one_note() {
    let mut t = tenant::generate(Scale::small());
    for (path, items) in t.data.lists.iter_mut() {
        if path.starts_with("/directory/administrativeunits") {
            items.clear();
        }
    }
    let fake = FakeAzure::start(t.data.clone(), Faults::default());
    let out = run(&options(&fake, 4)).await;
    assert_eq!(out.raw.completeness, vec![]);
    assert_eq!(out.raw.graph["administrativeUnits"], Value::Array(vec![]));
    assert_eq!(out.raw.graph["administrativeUnitMembers"], serde_json::json!({}));
    // Collected, and there are none: the only gap left is the classic function apps' app settings,
    // which azpath never reads.
    let gaps: Vec<String> = azpath::facts::parse(&out.raw).unwrap().completeness.into_iter().map(|n| n.what).collect();
    assert_eq!(gaps, ["arm.functionApps.appSettings"]);

    let t = tenant::generate(Scale::small());
    let fake = FakeAzure::start(
        t.data.clone(),
        Faults { deny: vec!["/directory/administrativeunits".into()], ..Faults::default() },
    );
    let out = run(&options(&fake, 4)).await;
    // Member lists would be denied too: one note means none was asked for.
    let notes: Vec<&str> = out.raw.completeness.iter().map(|n| n.what.as_str()).collect();
    assert_eq!(notes, ["graph.administrativeUnits"]);
    assert!(!out.raw.graph.contains_key("administrativeUnitMembers"));
    let facts = azpath::facts::parse(&out.raw).unwrap();
    assert!(facts.completeness.iter().any(|n| n.what == "graph.administrativeUnitMembers"), "{:?}", facts.completeness);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn empty_answers_are_complete_not_missing() {
    // No groups, service principals, applications or subscriptions: every list comes back empty,
    // and nothing is "not collected", live or replayed from the archive.
    let t = tenant::generate(Scale {
        users: 2,
        groups: 0,
        members_per_group: 0,
        service_principals: 0,
        applications: 0,
        subscriptions: 0,
        resources_per_subscription: 0,
    });
    let fake = FakeAzure::start(t.data.clone(), Faults::default());
    let dir = tempfile::tempdir().unwrap();
    let mut opts = options(&fake, 4);
    opts.save_raw = Some(dir.path().join("raw"));
    let out = run(&opts).await;
    assert_eq!(out.raw.completeness, vec![]);
    assert_eq!(out.raw.completeness_with_missing(), vec![], "an empty list is a complete answer");
    assert_same_collections(&out.raw, &t.expected);
    for keyed in ["groupMembers", "servicePrincipalOwners", "applicationFederatedIdentityCredentials"] {
        assert_eq!(out.raw.graph[keyed], serde_json::json!({}), "{keyed}");
    }
    for list in ["resourceGroups", "resources", "locks", "roleAssignments"] {
        assert!(out.raw.arm[list].is_array(), "{list}");
    }
    let replayed = collect::ingest(&dir.path().join("raw")).unwrap();
    assert_eq!(replayed.graph, out.raw.graph);
    assert_eq!(replayed.arm, out.raw.arm);
    assert_eq!(replayed.completeness_with_missing(), vec![]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cosmos_db_role_assignments_are_collected_and_a_denied_list_is_a_note_for_its_account() {
    let t = tenant::generate(Scale::small());
    let acc = format!(
        "/subscriptions/{}/resourceGroups/rg-ml/providers/Microsoft.DocumentDB/databaseAccounts/cosmos0",
        t.subscription_ids[0]
    );
    // Read in full: the account's data-plane assignments reach the rules (not Azure RBAC).
    let fake = FakeAzure::start(t.data.clone(), Faults { page_size: 4, ..Faults::default() });
    let out = run(&options(&fake, 4)).await;
    assert_eq!(out.raw.completeness, vec![]);
    let (_, edges) = derived(&out.raw);
    let target = acc.to_ascii_lowercase();
    let sp = tenant::guid(0x3, 1);
    let kinds: BTreeSet<_> = edges
        .iter()
        .filter(|e| *e.source == *sp && *e.target == *target && e.rule.starts_with("cosmos-sql-"))
        .map(|e| e.kind)
        .collect();
    assert_eq!(kinds, [azpath::model::EdgeKind::ReadData, azpath::model::EdgeKind::WriteData].into_iter().collect());
    // Denied: one note naming the account's list; the definitions are still read.
    let deny = vec![format!("{}/sqlroleassignments", acc.to_ascii_lowercase())];
    let fake = FakeAzure::start(t.data.clone(), Faults { page_size: 4, deny, ..Faults::default() });
    let out = run(&options(&fake, 4)).await;
    let notes: Vec<(String, Option<String>)> =
        out.raw.completeness.iter().map(|n| (n.what.clone(), n.scope.clone())).collect();
    assert_eq!(notes, vec![("arm.resources".to_string(), Some(format!("{acc}/sqlRoleAssignments")))]);
    assert!(out.raw.completeness[0].reason.starts_with("403 "), "{:?}", out.raw.completeness);
    let types: BTreeSet<String> = out.raw.arm["resources"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["type"].as_str().map(str::to_ascii_lowercase))
        .collect();
    assert!(types.contains("microsoft.documentdb/databaseaccounts/sqlroledefinitions"));
    assert!(!types.contains("microsoft.documentdb/databaseaccounts/sqlroleassignments"));
    let (_, edges) = derived(&out.raw);
    assert!(!edges.iter().any(|e| e.rule.starts_with("cosmos-sql-")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn locks_are_collected_and_a_denied_lock_list_is_a_note_for_its_subscription() {
    let t = tenant::generate(Scale::small());
    let sub1 = &t.subscription_ids[1];
    let deny = vec![format!("/subscriptions/{sub1}/providers/microsoft.authorization/locks")];
    let fake = FakeAzure::start(t.data.clone(), Faults { page_size: 4, deny, ..Faults::default() });
    let out = run(&options(&fake, 4)).await;
    let notes: Vec<(String, Option<String>)> =
        out.raw.completeness.iter().map(|n| (n.what.clone(), n.scope.clone())).collect();
    assert_eq!(notes, vec![("arm.locks".to_string(), Some(format!("/subscriptions/{sub1}")))]);
    assert!(out.raw.completeness[0].reason.starts_with("403 "), "{:?}", out.raw.completeness);
    // The other subscriptions' locks were read: the first one's two, the third's none.
    assert_eq!(ids(&out.raw.arm["locks"]), ids(&t.expected.arm["locks"]));
    assert_eq!(ids(&out.raw.arm["locks"]).len(), 2);
    // The snapshot keeps the note, and no generic "not collected" for the collection as a whole.
    let notes = out.raw.completeness_with_missing();
    assert_eq!(notes.iter().filter(|n| n.what == "arm.locks").count(), 1);
    // The locks reach the rules: the SP's Contributor can no longer list the read-only account's
    // keys itself; what is left is the key an ML datastore already stores (listing the datastore's
    // secrets is a POST on the workspace, which is not locked, and a key in hand still works).
    let (_, edges) = derived(&out.raw);
    let sa = format!(
        "/subscriptions/{}/resourcegroups/rg-ml/providers/microsoft.storage/storageaccounts/st0x0",
        t.subscription_ids[0]
    );
    let sp = tenant::guid(0x3, 1);
    let listed: Vec<_> = edges
        .iter()
        .filter(|e| *e.source == *sp && *e.target == *sa && e.kind == azpath::model::EdgeKind::ListKeys)
        .collect();
    assert_eq!(listed.len(), 1);
    assert_eq!(&*listed[0].rule, "ml-datastore-list-secrets", "{listed:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn function_apps_carry_their_deployment_storage_and_connections_are_listed_without_secrets() {
    let t: Tenant = tenant::generate(Scale::small());
    let fake = FakeAzure::start(t.data.clone(), Faults::default());
    let out = run(&options(&fake, 4)).await;
    let resources = out.raw.arm["resources"].as_array().unwrap();
    let of_type = |ty: &str| -> Vec<&Value> {
        resources.iter().filter(|r| r["type"].as_str().is_some_and(|t| t.eq_ignore_ascii_case(ty))).collect()
    };
    // The generic /resources list has no properties: the Flex sites' functionAppConfig comes from the
    // Microsoft.Web/sites provider list (the classic `func{i}` apps have no Flex config).
    let sites: Vec<&Value> = of_type("Microsoft.Web/sites")
        .into_iter()
        .filter(|s| s["name"].as_str().is_some_and(|n| n.contains('x')))
        .collect();
    assert!(!sites.is_empty());
    for s in &sites {
        let url = s["properties"]["functionAppConfig"]["deployment"]["storage"]["value"].as_str().unwrap();
        assert!(url.contains(".blob.core.windows.net/app-package-"), "{url}");
    }
    let conns = of_type("Microsoft.MachineLearningServices/workspaces/connections");
    assert!(!conns.is_empty(), "connections are listed under each workspace");
    assert!(conns.iter().all(|c| c["properties"]["authType"] == "ApiKey"));
    // Only lists were read: no listsecrets POST and no app settings.
    let paths = fake.seen.paths();
    assert!(paths.iter().any(|p| p.contains("/connections")));
    assert!(!paths.iter().any(|p| p.contains("listsecrets") || p.contains("appsettings") || p.contains("/config/")));
    let facts = azpath::facts::parse(&out.raw).unwrap();
    let app =
        facts.resources.iter().find(|r| r.resource_type == "microsoft.web/sites" && r.name.contains('x')).unwrap();
    assert!(
        matches!(&app.details, azpath::facts::ResourceDetails::AppService { deployment_storage: Some(d), .. }
            if d.account_name.as_deref().is_some_and(|a| a.starts_with("st")) && d.container.is_some()),
        "{:?}",
        app.details
    );
}
