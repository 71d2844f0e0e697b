//! No credential survives: 38 credential-bearing fields and shapes, in Graph and ARM collections,
//! nested and in tags, go through `import` and through the collector's path (`sink::redact`, the
//! raw archive, `ingest`); none may appear in the database file, its WAL, any output, the archive,
//! or stdout/stderr. And every file azpath writes is owner-only.

use azpath::collect::sink::{Archive, Dest, redact};
use serde_json::{Value, json};
use std::path::Path;
use std::process::{Command, Output};

/// A random-looking standard-base64 key (padded), as Azure storage and Service Bus keys are.
const BASE64_KEY: &str = "q7Rz+Kd9Lw2XbN4vT8yHcJ5mP1sG6fA3eU0iO9wQx2Vn8Bj4Tz6Hs=";

/// (what it is, the secret). Every secret is distinctive so that finding it anywhere is a leak.
fn secrets() -> Vec<(&'static str, String)> {
    let jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJsZWFrMDMifQ.Zz03LeakJwtSignature".to_string();
    vec![
        ("graph passwordCredentials[].secretText", "Leak01-secretText".into()),
        ("graph keyCredentials[].key", "Leak02KeyCredentialBlob".into()),
        ("graph JWT in a service principal's tags", jwt),
        ("graph users[].passwordProfile.password", "Leak04-userPassword".into()),
        ("graph client secret shape in a description", "abc8Q~Leak05abcdefghijklmnopqrstuvwxyz01".into()),
        ("graph PEM block in a group description", "Leak06PemBody".into()),
        ("graph Password= in an extension attribute", "Leak07ExtPassword".into()),
        ("graph GitHub token in notes", "ghp_Leak08abcdefghijklmnopqrstuvwxyz0123456".into()),
        ("arm SAS signature in a tag value", "Leak09SasSig".into()),
        ("arm AccountKey= in a tag value", "Leak10AccountKey".into()),
        ("arm listKeys keys[0].value", "Leak11ListKey1".into()),
        ("arm listKeys keys[1].value", "Leak12ListKey2".into()),
        ("arm siteConfig.appSettings[].value", "Leak13AppSettingValue".into()),
        ("arm config/appsettings properties value", "Leak14ConfigAppSetting".into()),
        ("arm registry passwords[].value", "Leak15RegistryPassword".into()),
        ("arm key1", "Leak16Key1".into()),
        ("arm key2", "Leak17Key2".into()),
        ("arm apiKey", "Leak18ApiKey".into()),
        ("arm primarySharedKey", "Leak19PrimarySharedKey".into()),
        ("arm primaryMasterKey", "Leak20PrimaryMasterKey".into()),
        ("arm primaryReadonlyMasterKey", "Leak21ReadonlyMasterKey".into()),
        ("arm administratorLoginPassword", "Leak22SqlAdminPassword".into()),
        ("arm servicePrincipalProfile.secret", "Leak23AksSpSecret".into()),
        ("arm credentials.certificate", "Leak24DatastoreCertificate".into()),
        ("arm osProfile.customData", "Leak25CustomData".into()),
        ("arm osProfile.adminPassword", "Leak26AdminPassword".into()),
        ("arm protectedSettings", "Leak27ProtectedSettings".into()),
        ("arm credentials.pat", "Leak28Pat".into()),
        ("arm sasToken", "Leak29SasToken".into()),
        ("arm SharedAccessKey= in connectionString", "Leak30SharedAccessKey".into()),
        ("arm environmentVariables[].value", "Leak31EnvValue".into()),
        ("arm secureValue", "Leak32SecureValue".into()),
        ("arm base64 key in a description", BASE64_KEY.into()),
        ("arm password in a URL", "Leak34UrlPassword".into()),
        ("arm privateKey", "Leak35PrivateKey".into()),
        ("arm deeply nested clientSecret", "Leak36NestedClientSecret".into()),
        ("arm tag named apiKey", "Leak37TagApiKey".into()),
        ("arm accessToken", "Leak38AccessToken".into()),
    ]
}

/// The demo tenant with every secret of [`secrets`] planted in it.
fn planted() -> Value {
    let s: Vec<String> = secrets().into_iter().map(|(_, v)| v).collect();
    let mut facts = serde_json::to_value(azpath::demo::raw()).unwrap();
    let graph = |facts: &mut Value, collection: &str| -> serde_json::Map<String, Value> {
        facts["graph"][collection][0].as_object().unwrap().clone()
    };
    let mut sp = graph(&mut facts, "servicePrincipals");
    sp.insert("passwordCredentials".into(), json!([{"keyId": "k1", "displayName": "ci", "secretText": s[0]}]));
    sp.insert("tags".into(), json!(["WindowsAzureActiveDirectoryIntegratedApp", s[2]]));
    sp.insert("notes".into(), json!(format!("token {}", s[7])));
    facts["graph"]["servicePrincipals"][0] = Value::Object(sp);
    let mut app = graph(&mut facts, "applications");
    app.insert("keyCredentials".into(), json!([{"keyId": "c1", "type": "AsymmetricX509Cert", "key": s[1]}]));
    app.insert("description".into(), json!(format!("uses {}", s[4])));
    facts["graph"]["applications"][0] = Value::Object(app);
    let mut user = graph(&mut facts, "users");
    user.insert("passwordProfile".into(), json!({"password": s[3], "forceChangePasswordNextSignIn": true}));
    user.insert(
        "onPremisesExtensionAttributes".into(),
        json!({"extensionAttribute1": format!("Server=db;Password={};", s[6])}),
    );
    facts["graph"]["users"][0] = Value::Object(user);
    let mut group = graph(&mut facts, "groups");
    group.insert(
        "description".into(),
        json!(format!("-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----", s[5])),
    );
    facts["graph"]["groups"][0] = Value::Object(group);

    let storage = facts["arm"]["resources"][0].as_object_mut().unwrap();
    let rg = storage["id"].as_str().unwrap().split("/providers/").next().unwrap().to_string();
    storage.insert(
        "tags".into(),
        json!({
            "sasUrl": format!("https://st.blob.core.windows.net/c/f.zip?sv=2022-11-02&sp=r&sig={}", s[8]),
            "conn": format!("DefaultEndpointsProtocol=https;AccountName=st;AccountKey={};EndpointSuffix=core.windows.net", s[9]),
            "apiKey": s[36],
        }),
    );
    let props = storage["properties"].as_object_mut().unwrap();
    props.insert(
        "keys".into(),
        json!([{"keyName": "key1", "value": s[10], "permissions": "FULL"}, {"keyName": "key2", "value": s[11]}]),
    );
    props.insert("key1".into(), json!(s[15]));
    props.insert("key2".into(), json!(s[16]));
    props.insert("apiKey".into(), json!(s[17]));
    props.insert("primarySharedKey".into(), json!(s[18]));
    props.insert("primaryMasterKey".into(), json!(s[19]));
    props.insert("primaryReadonlyMasterKey".into(), json!(s[20]));
    props.insert("administratorLoginPassword".into(), json!(s[21]));
    props.insert("servicePrincipalProfile".into(), json!({"clientId": "msi", "secret": s[22]}));
    props.insert(
        "credentials".into(),
        json!({"credentialsType": "Certificate", "certificate": s[23], "thumbprint": "AB12"}),
    );
    props
        .insert("osProfile".into(), json!({"adminUsername": "azureuser", "customData": s[24], "adminPassword": s[25]}));
    props.insert("protectedSettings".into(), json!({"commandToExecute": s[26]}));
    props.insert("connection".into(), json!({"credentials": {"pat": s[27]}, "sasToken": s[28]}));
    props.insert(
        "connectionString".into(),
        json!(format!("Endpoint=sb://x/;SharedAccessKeyName=root;SharedAccessKey={}", s[29])),
    );
    props.insert(
        "environmentVariables".into(),
        json!([{"name": "MODE", "value": s[30]}, {"name": "DB", "secureValue": s[31]}]),
    );
    props.insert("description".into(), json!(format!("key {} here", s[32])));
    props.insert("endpoint".into(), json!(format!("https://admin:{}@db.example.com/x", s[33])));
    props.insert("privateKey".into(), json!(s[34]));
    props.insert("a".into(), json!({"b": [{"c": {"clientSecret": s[35]}}]}));
    props.insert("accessToken".into(), json!(s[37]));
    let site = json!({
        "id": format!("{rg}/providers/Microsoft.Web/sites/leaky"), "name": "leaky", "type": "Microsoft.Web/sites",
        "properties": {"siteConfig": {"appSettings": [{"name": "SETTING", "value": s[12]}]}},
    });
    let settings = json!({
        "id": format!("{rg}/providers/Microsoft.Web/sites/leaky/config/appsettings"), "name": "appsettings",
        "type": "Microsoft.Web/sites/config", "properties": {"WEBSITE_SETTING": s[13]},
    });
    let registry = json!({
        "id": format!("{rg}/providers/Microsoft.ContainerRegistry/registries/leakyacr"), "name": "leakyacr",
        "type": "Microsoft.ContainerRegistry/registries",
        "properties": {"username": "leakyacr", "passwords": [{"name": "password", "value": s[14]}]},
    });
    let resources = facts["arm"]["resources"].as_array_mut().unwrap();
    resources.extend([site, settings, registry]);
    facts
}

fn azpath(db: &Path, args: &[&str]) -> Output {
    let out = crate::support::run_azpath(db, args);
    assert!(out.status.success(), "azpath {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    out
}

/// Every file under `path` (or the file itself), as bytes.
fn bytes_under(path: &Path, out: &mut Vec<(String, Vec<u8>)>) {
    if path.is_dir() {
        for entry in std::fs::read_dir(path).unwrap() {
            bytes_under(&entry.unwrap().path(), out);
        }
    } else if path.exists() {
        out.push((path.display().to_string(), std::fs::read(path).unwrap()));
    }
}

fn assert_no_secret(what: &str, bytes: &[u8]) {
    for (name, secret) in secrets() {
        let found = bytes.windows(secret.len()).any(|w| w == secret.as_bytes());
        assert!(!found, "{name} ({secret}) leaked into {what}");
    }
}

/// Runs azpath, keeping its stdout and stderr for the leak check; returns stderr.
fn run(outputs: &mut Vec<(String, Vec<u8>)>, db: &Path, args: &[&str]) -> String {
    let out = azpath(db, args);
    outputs.push((format!("stdout of {args:?}"), out.stdout));
    outputs.push((format!("stderr of {args:?}"), out.stderr.clone()));
    String::from_utf8(out.stderr).unwrap()
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn no_planted_secret_survives_import_collection_or_any_output() {
    let dir = tempfile::tempdir().unwrap();
    let facts = planted();
    let text = serde_json::to_string_pretty(&facts).unwrap();
    for (name, secret) in secrets() {
        assert!(text.contains(&secret), "the test plants {name}");
    }
    let file = dir.path().join("facts.json");
    std::fs::write(&file, &text).unwrap();
    let db = dir.path().join("a.db");
    let mut outputs: Vec<(String, Vec<u8>)> = Vec::new();
    let stderr = run(&mut outputs, &db, &["import", file.to_str().unwrap()]);
    let removed: usize = stderr
        .split(" credential fields removed")
        .next()
        .and_then(|s| s.rsplit('(').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("the import counts what it removed: {stderr}"));
    assert!(removed >= secrets().len(), "{removed} removals for {} secrets: {stderr}", secrets().len());

    // The collector's path: each collection as a page, redacted as `collect` redacts it, archived.
    let archive_dir = dir.path().join("raw");
    let archive = Archive::create(&archive_dir).unwrap();
    for side in ["graph", "arm"] {
        for (collection, items) in facts[side].as_object().unwrap() {
            let pages: Vec<(Dest, Value)> = match items {
                Value::Array(list) => {
                    vec![(Dest { side: side.into(), ..Dest::graph(collection) }, json!({"value": list}))]
                }
                Value::Object(by_parent) => by_parent
                    .iter()
                    .map(|(p, list)| {
                        (Dest { side: side.into(), ..Dest::graph(collection) }.child_of(p), json!({"value": list}))
                    })
                    .collect(),
                _ => vec![],
            };
            for (dest, body) in pages {
                let (body, _) = redact(body);
                archive.write_raw(&json!({"t": "page", "dest": dest, "body": body})).unwrap();
            }
        }
    }
    let tenant = serde_json::from_value(facts["tenant"].clone()).unwrap();
    archive.finish(&tenant, facts["collectedAt"].as_str().unwrap()).unwrap();
    let ingested = dir.path().join("b.db");
    run(&mut outputs, &ingested, &["ingest", archive_dir.to_str().unwrap()]);

    let out_dir = dir.path().join("out");
    for db in [&db, &ingested] {
        run(&mut outputs, db, &["paths", "--from", "pipeline", "--to", "crown-jewels", "--format", "json"]);
        run(&mut outputs, db, &["paths", "--from", "pipeline", "--to", "stmltraining", "--explain"]);
        // `export` creates the folders (owner-only); `--output` writes into them.
        run(&mut outputs, db, &["export", "dot", "--all", "--out-dir", out_dir.join("dot").to_str().unwrap()]);
        let json_out = out_dir.join("paths.json");
        run(
            &mut outputs,
            db,
            &["paths", "--from", "pipeline", "--format", "json", "--output", json_out.to_str().unwrap()],
        );
        run(&mut outputs, db, &["report", "--output", out_dir.join("report.md").to_str().unwrap()]);
        run(&mut outputs, db, &["snapshots", "--format", "json"]);
        bytes_under(&out_dir, &mut outputs);
        bytes_under(db, &mut outputs);
        for suffix in ["-wal", "-shm"] {
            let mut f = db.as_os_str().to_owned();
            f.push(suffix);
            bytes_under(Path::new(&f), &mut outputs);
        }
    }
    bytes_under(&archive_dir, &mut outputs);
    assert!(outputs.iter().any(|(what, b)| what.ends_with("paths.json") && b.len() > 100), "paths were written");
    for (what, bytes) in &outputs {
        assert_no_secret(what, bytes);
    }

    #[cfg(unix)]
    {
        for f in [
            &db,
            &ingested,
            &out_dir.join("paths.json"),
            &out_dir.join("report.md"),
            &archive_dir.join("responses.jsonl"),
        ] {
            assert_eq!(mode(f), 0o600, "{}", f.display());
        }
        for d in [&out_dir, &out_dir.join("dot"), &archive_dir] {
            assert_eq!(mode(d), 0o700, "{}", d.display());
        }
        let dots: Vec<_> = std::fs::read_dir(out_dir.join("dot")).unwrap().map(|e| e.unwrap().path()).collect();
        assert!(!dots.is_empty());
        assert!(dots.iter().all(|d| mode(d) == 0o600), "every diagram is owner-only");
    }
}

#[test]
fn the_demo_tenant_has_nothing_to_redact_and_derives_the_same_edges() {
    let raw = azpath::demo::raw();
    let mut redacted = raw.clone();
    assert_eq!(redacted.redact_secrets(), 0, "the demo holds no credential, so nothing it needs is removed");
    assert_eq!(redacted, raw);
    let planted: azpath::facts::RawFacts = serde_json::from_value(planted()).unwrap();
    let mut planted_redacted = planted.clone();
    assert!(planted_redacted.redact_secrets() >= secrets().len());
    let edges = |r: &azpath::facts::RawFacts| azpath::rules::derive(&azpath::facts::parse(r).unwrap()).edges;
    assert_eq!(edges(&planted_redacted), edges(&planted), "removing the planted secrets changes no edge");
}

#[test]
fn an_error_about_a_facts_file_does_not_quote_its_values() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.json");
    std::fs::write(&file, r#"{"format": "azpath-facts/1", "tenant": "Leak99TenantIsAPassword", "collectedAt": "x"}"#)
        .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_azpath"))
        .arg("--db")
        .arg(dir.path().join("x.db"))
        .args(["import", file.to_str().unwrap()])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("invalid type: string \"[redacted]\""), "{stderr}");
    assert!(!stderr.contains("Leak99"), "{stderr}");
}

#[cfg(unix)]
#[test]
fn a_database_others_can_read_is_made_owner_only_with_a_warning() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("shared.db");
    azpath(&db, &["demo"]);
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = azpath(&db, &["snapshots"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(mode(&db), 0o600);
    assert_eq!(stderr.matches("warning:").count(), 1, "{stderr}");
    assert!(stderr.contains("shared.db was readable by other users; made it owner-only (0600)"), "{stderr}");
    let again = azpath(&db, &["snapshots"]);
    assert!(again.stderr.is_empty(), "{}", String::from_utf8_lossy(&again.stderr));
}
