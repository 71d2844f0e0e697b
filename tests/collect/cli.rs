//! `azpath collect` and `azpath ingest` end to end, as a user runs them (the real binary, the real
//! Ctrl-C signal).

use super::fake::{self, FakeAzure, Faults};
use super::tenant::{self, Scale};
use azpath::store::Store;
use std::process::{Command, Stdio};
use std::time::Duration;

fn azpath(fake: &FakeAzure, db: &std::path::Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_azpath"));
    c.env("AZURE_CLIENT_SECRET", fake::CLIENT_SECRET)
        .env_remove("AZURE_FEDERATED_TOKEN_FILE")
        .env_remove("AZURE_CLIENT_CERTIFICATE_PATH")
        .env("AZURE_TENANT_ID", fake::TENANT)
        .env("AZURE_CLIENT_ID", fake::CLIENT_ID)
        .env("AZURE_AUTHORITY_HOST", &fake.login_url)
        .env("AZPATH_GRAPH_URL", &fake.graph_url)
        .env("AZPATH_ARM_URL", &fake.arm_url)
        .env("AZPATH_CA_CERT", &fake.ca_pem)
        .env("AZPATH_DB", db);
    c
}

#[test]
fn collect_then_ingest_from_the_command_line() {
    let t = tenant::generate(Scale::small());
    let fake = FakeAzure::start(
        t.data,
        Faults {
            page_size: 4,
            deny: vec!["/rolemanagement/directory/roleeligibilityschedules".into()],
            ..Faults::default()
        },
    );
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("azpath.db");
    let raw = dir.path().join("raw");
    let out = azpath(&fake, &db)
        .args(["collect", "--auth", "secret", "--label", "live", "--save-raw"])
        .arg(&raw)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("collected snapshot #1"), "{stderr}");
    assert!(stderr.contains("graph.directoryRoleEligibilitySchedules: 403"), "the gap is listed: {stderr}");
    assert!(!stderr.contains(fake::CLIENT_SECRET));
    let out = azpath(&fake, &db).args(["ingest", "--label", "offline"]).arg(&raw).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let store = Store::open(&db).unwrap();
    let snaps = store.snapshots().unwrap();
    assert_eq!(snaps.len(), 2);
    assert_eq!((snaps[0].nodes, snaps[0].edges), (snaps[1].nodes, snaps[1].edges));
    assert!(snaps[0].edges > 20);
    assert!(snaps[0].completeness.iter().any(|n| n.what == "graph.directoryRoleEligibilitySchedules"));
}

#[test]
fn ctrl_c_stops_a_collection_without_writing_anything() {
    let t = tenant::generate(Scale::small());
    let fake =
        FakeAzure::start(t.data, Faults { latency: Duration::from_millis(60), page_size: 2, ..Faults::default() });
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("azpath.db");
    let child = azpath(&fake, &db).args(["collect", "--auth", "secret"]).stderr(Stdio::piped()).spawn().unwrap();
    let started = std::time::Instant::now();
    while fake.seen.api_requests.load(std::sync::atomic::Ordering::SeqCst) < 8 {
        assert!(started.elapsed() < Duration::from_secs(20), "the collection did not start");
        std::thread::sleep(Duration::from_millis(10));
    }
    let killed = Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    assert!(killed.success());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "an interrupted collection is not a success");
    assert!(stderr.contains("interrupted"), "{stderr}");
    // The database exists (it is opened first) but holds no snapshot.
    assert_eq!(Store::open(&db).unwrap().snapshots().unwrap().len(), 0);
}
