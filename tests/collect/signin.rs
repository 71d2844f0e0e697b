//! Every sign-in path end to end: the real binary, in a clean environment, against the fake Azure.
//! Each test checks that the collection succeeded, that the fake saw the right kind of token
//! request (a certificate-signed assertion, the federated token, the managed-identity protocol, the
//! Azure CLI's command line), and that no issued token or secret reached any output.
//!
//! What stands in for what:
//! - client certificate: an RSA certificate made and packed as PKCS#12 at test time (OpenSSL), its
//!   DER registered with the fake, which checks the assertion's `x5t`, signature and claims;
//! - workload identity: a federated token file whose exact content the fake trusts;
//! - managed identity: App Service through `IDENTITY_ENDPOINT`/`IDENTITY_HEADER` (the variables
//!   azure_identity reads) pointing at the fake's plain-HTTP listener; IMDS, whose address
//!   (169.254.169.254) azure_identity 1.0 hard-codes with no override, through `HTTP_PROXY` (which
//!   azpath's HTTP client honours) pointing at the same listener;
//! - Azure CLI: a stand-in `az` script first on PATH, answering `az account get-access-token` in
//!   the real CLI's JSON shape with tokens the fake issued (as the real CLI hands out its cache).

use super::fake::{self, FakeAzure, Faults, SignIn};
use super::tenant::{self, Scale};
use std::collections::{BTreeSet, HashMap};
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::Command;

const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// A fake Azure serving the small tenant, with these sign-ins.
fn start(signin: SignIn) -> FakeAzure {
    FakeAzure::start_with(tenant::generate(Scale::small()).data, Faults::default(), signin)
}

/// One test's directory: the database, a `bin` directory that is the whole PATH, and files.
struct Sandbox {
    dir: tempfile::TempDir,
}

impl Sandbox {
    fn new() -> Sandbox {
        let s = Sandbox { dir: tempfile::tempdir().unwrap() };
        std::fs::create_dir(s.bin()).unwrap();
        s
    }
    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
    fn bin(&self) -> PathBuf {
        self.path("bin")
    }
    fn az_log(&self) -> PathBuf {
        self.path("az-invocations.txt")
    }
    /// The command lines the stand-in `az` was run with (none if it never ran).
    fn az_calls(&self) -> Vec<String> {
        std::fs::read_to_string(self.az_log()).map(|s| s.lines().map(str::to_string).collect()).unwrap_or_default()
    }
    fn write(&self, name: &str, content: &[u8]) -> PathBuf {
        let p = self.path(name);
        std::fs::write(&p, content).unwrap();
        p
    }
    /// Puts an executable `az` script on PATH.
    fn install_az(&self, script: &str) {
        let p = self.bin().join("az");
        std::fs::write(&p, script).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    /// A stand-in for a signed-in Azure CLI: logs its arguments, and answers `account
    /// get-access-token --scope S [--tenant T]` for the fake's Graph and ARM scopes like CLI 2.54+.
    fn az_signed_in(&self, fake: &FakeAzure) {
        let mut cases = String::new();
        for url in [&fake.graph_url, &fake.arm_url] {
            let (token, exp) = fake.issue_token(&format!("{url}/.default"));
            let local = chrono::DateTime::from_timestamp(exp as i64, 0).unwrap().format("%Y-%m-%d %H:%M:%S%.6f");
            cases.push_str(&format!(
                "  '{url}/.default') printf '%s\\n' '{{\"accessToken\": \"{token}\", \"expiresOn\": \"{local}\", \"expires_on\": {exp}, \"subscription\": \"{SUB}\", \"tenant\": \"{TENANT}\", \"tokenType\": \"Bearer\"}}' ;;\n",
                TENANT = fake::TENANT,
                SUB = "b0000000-0000-4000-8000-000000000001",
            ));
        }
        self.install_az(&format!(
            r#"#!/bin/sh
# Stand-in for the Azure CLI (written by tests/collect/signin.rs).
printf '%s\n' "$*" >> '{log}'
if [ "$1 $2" != "account get-access-token" ]; then echo "ERROR: unexpected command: $*" >&2; exit 2; fi
scope=''
while [ $# -gt 0 ]; do
  if [ "$1" = --scope ]; then scope="$2"; fi
  shift
done
case "$scope" in
{cases}  *) echo "ERROR: AADSTS70011: The provided value for the input parameter 'scope' is not valid." >&2; exit 1 ;;
esac
"#,
            log = self.az_log().display()
        ));
    }

    /// A stand-in for an Azure CLI nobody signed in to (its real message and exit code).
    fn az_signed_out(&self) {
        self.install_az(&format!(
            "#!/bin/sh\nprintf '%s\\n' \"$*\" >> '{}'\necho \"ERROR: Please run 'az login' to setup account.\" >&2\nexit 1\n",
            self.az_log().display()
        ));
    }
}

/// What a run printed and left behind.
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    /// The database files' bytes.
    db: Vec<u8>,
    db_path: PathBuf,
}

/// Runs `azpath collect ARGS` with only the fake's endpoints, PATH = the sandbox's `bin`, and `vars`.
fn collect(fake: &FakeAzure, sb: &Sandbox, vars: &[(&str, &str)], args: &[&str]) -> Run {
    let db = sb.path("azpath.db");
    let mut c = Command::new(env!("CARGO_BIN_EXE_azpath"));
    c.env_clear()
        .env("PATH", sb.bin())
        .env("AZURE_AUTHORITY_HOST", &fake.login_url)
        .env("AZPATH_GRAPH_URL", &fake.graph_url)
        .env("AZPATH_ARM_URL", &fake.arm_url)
        .env("AZPATH_CA_CERT", &fake.ca_pem)
        .env("AZPATH_DB", &db)
        .envs(vars.iter().copied())
        .arg("collect")
        .args(args);
    let out = c.output().unwrap();
    let mut bytes = Vec::new();
    for entry in std::fs::read_dir(sb.dir.path()).unwrap() {
        let p = entry.unwrap().path();
        if p.file_name().unwrap().to_string_lossy().starts_with("azpath.db") {
            bytes.extend(std::fs::read(&p).unwrap());
        }
    }
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        db: bytes,
        db_path: db,
    }
}

impl Run {
    /// The collection succeeded, signed in with `credential`, and wrote a snapshot.
    fn succeeded_with(&self, credential: &str) {
        assert_eq!(self.code, Some(0), "{}", self.stderr);
        assert!(self.stderr.contains("collected snapshot #1"), "{}", self.stderr);
        assert!(self.stderr.contains(&format!("(signed in with {credential})")), "{}", self.stderr);
        let snapshots = azpath::store::Store::open(&self.db_path).unwrap().snapshots().unwrap();
        assert_eq!(snapshots.len(), 1);
        assert!(snapshots[0].edges > 20, "the tenant was collected: {} edges", snapshots[0].edges);
    }
    /// The run failed with exit code 2 and this in its message.
    fn failed_with(&self, what: &str) {
        assert_eq!(self.code, Some(2), "{}", self.stderr);
        assert!(self.stderr.contains(what), "expected {what:?} in:\n{}", self.stderr);
        assert!(!self.stderr.contains("panicked"), "{}", self.stderr);
    }
    /// No token the fake issued and none of `secrets` is in stdout, stderr or the database.
    fn leaks_nothing(&self, fake: &FakeAzure, secrets: &[&str]) {
        let db = String::from_utf8_lossy(&self.db);
        let tokens = fake.tokens();
        for s in tokens.iter().map(String::as_str).chain(secrets.iter().copied()).chain([fake::CLIENT_SECRET]) {
            assert!(!s.is_empty());
            for (name, text) in [("stdout", &self.stdout), ("stderr", &self.stderr), ("the database", &db.to_string())]
            {
                assert!(!text.contains(s), "{s:?} leaked into {name}");
            }
        }
    }
}

/// An RSA certificate and its key, packed as PKCS#12 with `password`: (PKCS#12 bytes, cert DER).
fn pkcs12(password: &str) -> (Vec<u8>, Vec<u8>) {
    use openssl::{asn1::Asn1Time, bn::BigNum, hash::MessageDigest, pkey::PKey, rsa::Rsa, x509};
    let key = PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap();
    let mut name = x509::X509NameBuilder::new().unwrap();
    name.append_entry_by_text("CN", "azpath collector (test)").unwrap();
    let name = name.build();
    let mut b = x509::X509Builder::new().unwrap();
    b.set_version(2).unwrap();
    b.set_serial_number(&BigNum::from_u32(4242).unwrap().to_asn1_integer().unwrap()).unwrap();
    b.set_subject_name(&name).unwrap();
    b.set_issuer_name(&name).unwrap();
    b.set_pubkey(&key).unwrap();
    b.set_not_before(&Asn1Time::days_from_now(0).unwrap()).unwrap();
    b.set_not_after(&Asn1Time::days_from_now(2).unwrap()).unwrap();
    b.sign(&key, MessageDigest::sha256()).unwrap();
    let cert = b.build();
    let p12 = openssl::pkcs12::Pkcs12::builder().name("azpath").pkey(&key).cert(&cert).build2(password).unwrap();
    (p12.to_der().unwrap(), cert.to_der().unwrap())
}

fn sp_vars() -> Vec<(&'static str, &'static str)> {
    vec![("AZURE_TENANT_ID", fake::TENANT), ("AZURE_CLIENT_ID", fake::CLIENT_ID)]
}

/// The scopes the token endpoint was asked for, as a set.
fn scopes(forms: &[HashMap<String, String>]) -> BTreeSet<String> {
    forms.iter().map(|f| f["scope"].clone()).collect()
}

fn both_scopes(fake: &FakeAzure) -> BTreeSet<String> {
    [format!("{}/.default", fake.graph_url), format!("{}/.default", fake.arm_url)].into()
}

#[test]
fn client_certificate_sends_an_assertion_signed_by_the_certificate_key() {
    let password = "pfx-password-7Hq2";
    let (pfx, der) = pkcs12(password);
    let fake = start(SignIn { certificate_der: Some(der.clone()), ..SignIn::default() });
    let sb = Sandbox::new();
    let pfx = sb.write("collector.pfx", &pfx);
    let mut vars = sp_vars();
    vars.push(("AZURE_CLIENT_CERTIFICATE_PASSWORD", password));
    let run = collect(&fake, &sb, &vars, &["--auth", "certificate", "--client-certificate", pfx.to_str().unwrap()]);
    run.succeeded_with("client certificate");
    let forms = fake.token_forms();
    assert_eq!(scopes(&forms), both_scopes(&fake), "one token per API");
    let aud = format!("{}/{}/oauth2/v2.0/token", fake.login_url, fake::TENANT);
    for f in &forms {
        assert_eq!(f["grant_type"], "client_credentials");
        assert_eq!(f["client_id"], fake::CLIENT_ID);
        assert_eq!(f["client_assertion_type"], JWT_BEARER);
        assert!(!f.contains_key("client_secret"));
        // x5t is the certificate's SHA-1 thumbprint, the RS256 signature verifies with its public
        // key, and the claims name this endpoint and the app.
        fake::verify_assertion(&f["client_assertion"], Some(&der), &aud).unwrap();
    }
    // The check is real: a changed claim, another certificate or another endpoint fail it.
    let assertion = &forms[0]["client_assertion"];
    let parts: Vec<&str> = assertion.split('.').collect();
    let claims = azure_core::base64::decode_url_safe(parts[1]).unwrap();
    let claims = String::from_utf8(claims).unwrap().replace(fake::CLIENT_ID, "00000000-0000-0000-0000-000000000bad");
    let forged = format!("{}.{}.{}", parts[0], azure_core::base64::encode_url_safe(claims), parts[2]);
    assert!(fake::verify_assertion(&forged, Some(&der), &aud).unwrap_err().contains("signature"));
    let (_, other) = pkcs12("");
    assert!(fake::verify_assertion(assertion, Some(&other), &aud).unwrap_err().contains("x5t"));
    assert!(fake::verify_assertion(assertion, Some(&der), "https://elsewhere/token").unwrap_err().contains("claims"));
    run.leaks_nothing(&fake, &[password]);
}

#[test]
fn a_wrong_unreadable_or_locked_certificate_is_a_clear_error() {
    let (registered, der) = pkcs12("");
    let (other, _) = pkcs12("");
    let fake = start(SignIn { certificate_der: Some(der), ..SignIn::default() });
    let sb = Sandbox::new();
    let vars = sp_vars();
    let with = |file: &PathBuf, extra: &[(&str, &str)]| {
        let mut v = vars.clone();
        v.extend_from_slice(extra);
        v.push(("AZURE_CLIENT_CERTIFICATE_PATH", file.to_str().unwrap()));
        collect(&fake, &sb, &v, &["--auth", "certificate"])
    };
    // A certificate Entra does not know: its assertion is refused.
    let run = with(&sb.write("other.pfx", &other), &[]);
    run.failed_with("client certificate sign-in failed");
    run.failed_with("AADSTS700027");
    // Not PKCS#12 at all, and a missing file: the file is named.
    let garbage = sb.write("garbage.pfx", b"-----BEGIN CERTIFICATE-----\nnot really\n");
    let run = with(&garbage, &[]);
    run.failed_with(&format!("{} is not a usable PKCS#12 file: not a binary PKCS#12 (.pfx) file", garbage.display()));
    let run = with(&sb.path("missing.pfx"), &[]);
    run.failed_with(&format!("cannot read {}", sb.path("missing.pfx").display()));
    // The right file with a wrong password: named, and the password is not printed.
    let run = with(&sb.write("registered.pfx", &registered), &[("AZURE_CLIENT_CERTIFICATE_PASSWORD", "wrong-pw-5521")]);
    run.failed_with(
        "registered.pfx is not a usable PKCS#12 file: the password (AZURE_CLIENT_CERTIFICATE_PASSWORD) is wrong or missing",
    );
    run.leaks_nothing(&fake, &["wrong-pw-5521"]);
    assert!(fake.tokens().is_empty(), "no token was issued");
}

#[test]
fn workload_identity_presents_the_federated_token_file_as_the_assertion() {
    let federated = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJyZXBvOmNvbnRvc28vYXpwYXRoIn0.federated-sig-Qw3";
    let fake = start(SignIn { federated_token: Some(federated.into()), ..SignIn::default() });
    let sb = Sandbox::new();
    let file = sb.write("federated-token", federated.as_bytes());
    let mut vars = sp_vars();
    vars.push(("AZURE_FEDERATED_TOKEN_FILE", file.to_str().unwrap()));
    let run = collect(&fake, &sb, &vars, &["--auth", "workload-identity"]);
    run.succeeded_with("workload identity");
    let forms = fake.token_forms();
    assert_eq!(scopes(&forms), both_scopes(&fake));
    for f in &forms {
        assert_eq!(f["client_id"], fake::CLIENT_ID);
        assert_eq!(f["client_assertion_type"], JWT_BEARER);
        assert_eq!(f["client_assertion"], federated, "the file's content, unchanged");
        assert!(!f.contains_key("client_secret"));
    }
    run.leaks_nothing(&fake, &[federated]);

    // No such file: the error names it.
    let sb = Sandbox::new();
    let missing = sb.path("no-such-token");
    let mut vars = sp_vars();
    vars.push(("AZURE_FEDERATED_TOKEN_FILE", missing.to_str().unwrap()));
    let run = collect(&fake, &sb, &vars, &["--auth", "workload-identity"]);
    run.failed_with("workload identity sign-in: failed to read federated token from file");
    run.failed_with(&missing.display().to_string());
}

#[test]
fn managed_identity_on_app_service_uses_identity_endpoint_and_header() {
    let header = "app-service-identity-header-8c1f";
    let user_assigned = "5e6f7081-9203-4a5b-8c6d-7e8f90a1b2c3";
    let fake = start(SignIn {
        identity_header: Some(header.into()),
        system_assigned: true,
        user_assigned_client_id: Some(user_assigned.into()),
        ..SignIn::default()
    });
    let endpoint = format!("{}/msi/token", fake.mi_url);
    let vars = [("IDENTITY_ENDPOINT", endpoint.as_str()), ("IDENTITY_HEADER", header)];
    let sb = Sandbox::new();
    let run = collect(&fake, &sb, &vars, &["--auth", "managed-identity"]);
    run.succeeded_with("managed identity");
    let reqs = fake.mi_requests();
    let resources: BTreeSet<String> = reqs.iter().map(|r| r.query["resource"].clone()).collect();
    assert_eq!(resources, [fake.graph_url.clone(), fake.arm_url.clone()].into(), "v1 resources, no /.default");
    for r in &reqs {
        assert_eq!(r.method, "GET");
        assert!(r.uri.starts_with("/msi/token?"), "{}", r.uri);
        assert_eq!(r.headers["x-identity-header"], header);
        assert_eq!(r.query["api-version"], "2019-08-01");
        assert!(!r.query.contains_key("client_id"), "system-assigned");
    }
    assert!(fake.token_forms().is_empty(), "nothing asked the token endpoint");
    run.leaks_nothing(&fake, &[header]);

    // A user-assigned identity, picked by AZURE_MANAGED_IDENTITY_CLIENT_ID.
    let before = fake.mi_requests().len();
    let sb = Sandbox::new();
    let mut vars = vars.to_vec();
    vars.push(("AZURE_MANAGED_IDENTITY_CLIENT_ID", user_assigned));
    let run = collect(&fake, &sb, &vars, &["--auth", "managed-identity"]);
    run.succeeded_with("managed identity");
    let reqs = &fake.mi_requests()[before..];
    assert!(
        !reqs.is_empty() && reqs.iter().all(|r| r.query.get("client_id").map(String::as_str) == Some(user_assigned))
    );
}

#[test]
fn managed_identity_on_a_vm_asks_imds() {
    let fake = start(SignIn { system_assigned: true, ..SignIn::default() });
    let sb = Sandbox::new();
    // IMDS's address is fixed; the fake answers for it as the HTTP proxy.
    let run = collect(&fake, &sb, &[("HTTP_PROXY", &fake.mi_url)], &["--auth", "managed-identity"]);
    run.succeeded_with("managed identity");
    let reqs = fake.mi_requests();
    assert_eq!(reqs.len(), 2, "{reqs:?}");
    for r in &reqs {
        assert!(r.uri.starts_with("http://169.254.169.254/metadata/identity/oauth2/token?"), "{}", r.uri);
        assert_eq!(r.headers["metadata"], "true");
        assert_eq!(r.query["api-version"], "2019-08-01");
        assert!(!r.headers.contains_key("x-identity-header"));
    }
    let resources: BTreeSet<String> = reqs.iter().map(|r| r.query["resource"].clone()).collect();
    assert_eq!(resources, [fake.graph_url.clone(), fake.arm_url.clone()].into());
    run.leaks_nothing(&fake, &[]);
}

#[test]
fn azure_cli_is_asked_for_each_scope_in_the_tenant() {
    let fake = start(SignIn::default());
    let sb = Sandbox::new();
    sb.az_signed_in(&fake);
    let run = collect(&fake, &sb, &[("AZURE_TENANT_ID", fake::TENANT)], &["--auth", "cli"]);
    run.succeeded_with("Azure CLI");
    let calls: BTreeSet<String> = sb.az_calls().into_iter().collect();
    let want: BTreeSet<String> = [&fake.graph_url, &fake.arm_url]
        .iter()
        .map(|u| format!("account get-access-token -o json --scope {u}/.default --tenant {}", fake::TENANT))
        .collect();
    assert_eq!(calls, want);
    assert!(fake.token_forms().is_empty());
    run.leaks_nothing(&fake, &[]);

    // Signed out: the CLI's own message.
    let sb = Sandbox::new();
    sb.az_signed_out();
    let run = collect(&fake, &sb, &[], &["--auth", "cli"]);
    run.failed_with("Azure CLI sign-in failed");
    run.failed_with("Please run 'az login' to setup account.");
    // No az at all.
    let run = collect(&fake, &Sandbox::new(), &[], &["--auth", "cli"]);
    run.failed_with("az not found on PATH");
}

#[test]
fn auto_takes_the_first_credential_that_works_in_order() {
    let federated = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6YXpwYXRoIn0.k8s-sig";
    let fake = start(SignIn { federated_token: Some(federated.into()), ..SignIn::default() });
    let sb = Sandbox::new();
    sb.az_signed_in(&fake);
    let file = sb.write("federated-token", federated.as_bytes());
    let mut vars = sp_vars();
    vars.push(("AZURE_FEDERATED_TOKEN_FILE", file.to_str().unwrap()));
    vars.push(("HTTP_PROXY", &fake.mi_url));

    // Workload identity comes before managed identity and the Azure CLI: neither is asked.
    let run = collect(&fake, &sb, &vars, &[]);
    run.succeeded_with("workload identity");
    assert!(sb.az_calls().is_empty(), "az was not run: {:?}", sb.az_calls());
    assert!(fake.mi_requests().is_empty());
    assert!(fake.token_forms().iter().all(|f| f.get("client_assertion").map(String::as_str) == Some(federated)));

    // With a client secret too, the secret comes first.
    let forms_before = fake.token_forms().len();
    let sb2 = Sandbox::new();
    let mut with_secret = vars.clone();
    with_secret.push(("AZURE_CLIENT_SECRET", fake::CLIENT_SECRET));
    let run = collect(&fake, &sb2, &with_secret, &[]);
    run.succeeded_with("client secret");
    let forms = &fake.token_forms()[forms_before..];
    assert!(!forms.is_empty() && forms.iter().all(|f| !f.contains_key("client_assertion")));

    // Without the token file: managed identity is tried (this machine has none), then the CLI.
    let sb3 = Sandbox::new();
    sb3.az_signed_in(&fake);
    let run = collect(&fake, &sb3, &[("HTTP_PROXY", &fake.mi_url)], &[]);
    run.succeeded_with("Azure CLI");
    assert!(!fake.mi_requests().is_empty(), "managed identity was tried first");
    assert_eq!(sb3.az_calls().len(), 2);
    run.leaks_nothing(&fake, &[federated]);
}

#[test]
fn auto_with_nothing_working_lists_each_credential_and_why() {
    let fake = start(SignIn { federated_token: Some("the-trusted-one".into()), ..SignIn::default() });
    let sb = Sandbox::new();
    sb.az_signed_out();
    let wrong_secret = "Wr0ng~secret-0451";
    let wrong_federated = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJzb21lb25lLWVsc2UifQ.not-trusted";
    let file = sb.write("federated-token", wrong_federated.as_bytes());
    let mut vars = sp_vars();
    vars.push(("AZURE_CLIENT_SECRET", wrong_secret));
    vars.push(("AZURE_FEDERATED_TOKEN_FILE", file.to_str().unwrap()));
    vars.push(("HTTP_PROXY", &fake.mi_url));
    let run = collect(&fake, &sb, &vars, &["--auth", "auto"]);
    run.failed_with("no credential could sign in");
    // Every member of the chain, in order, with its reason.
    let expected = [
        "client secret: ClientSecretCredential authentication failed. AADSTS7000215: Invalid client secret provided.",
        "client certificate: needs --client-certificate FILE or AZURE_CLIENT_CERTIFICATE_PATH",
        "workload identity: WorkloadIdentityCredential authentication failed. AADSTS70021: No matching federated identity record",
        "managed identity: ManagedIdentityCredential authentication failed. The requested identity has not been assigned",
        "Azure CLI: AzureCliCredential authentication failed. ERROR: Please run 'az login' to setup account.",
    ];
    let mut at = 0;
    for e in expected {
        let line = format!("  - {e}");
        let found = run.stderr[at..].find(&line).unwrap_or_else(|| panic!("{line:?} (in order) in:\n{}", run.stderr));
        at += found + line.len();
    }
    assert!(!run.stderr.contains("To troubleshoot"), "one line per credential:\n{}", run.stderr);
    run.leaks_nothing(&fake, &[wrong_secret, wrong_federated]);
    assert!(fake.tokens().is_empty());
    assert!(azpath::store::Store::open(&run.db_path).unwrap().snapshots().unwrap().is_empty());

    // Nothing configured at all: each says what it needs.
    let sb = Sandbox::new();
    let run = collect(&fake, &sb, &[("HTTP_PROXY", &fake.mi_url)], &[]);
    run.failed_with("client secret: needs a tenant (--tenant or AZURE_TENANT_ID), a client id (--client-id or AZURE_CLIENT_ID) and AZURE_CLIENT_SECRET");
    run.failed_with("workload identity: needs");
    run.failed_with("Azure CLI: AzureCliCredential authentication failed. az not found on PATH");
}

#[test]
fn auto_in_cloud_shell_skips_the_unsupported_managed_identity_and_uses_the_cli() {
    // Cloud Shell sets MSI_ENDPOINT; azure_identity 1.0 has no Cloud Shell managed identity.
    let fake = start(SignIn::default());
    let sb = Sandbox::new();
    sb.az_signed_in(&fake);
    let msi = format!("{}/cloudshell", fake.mi_url);
    let run = collect(&fake, &sb, &[("MSI_ENDPOINT", &msi)], &[]);
    run.succeeded_with("Azure CLI");
    // Asked for by name, it is a clear error.
    let run = collect(&fake, &sb, &[("MSI_ENDPOINT", &msi)], &["--auth", "managed-identity"]);
    run.failed_with("managed identity sign-in: CloudShell managed identity isn't supported");
}

#[test]
fn the_client_secret_is_never_a_command_line_option() {
    let fake = start(SignIn::default());
    let sb = Sandbox::new();
    let run = collect(&fake, &sb, &sp_vars(), &["--auth", "secret", "--client-secret", "cmdline-secret-1234"]);
    run.failed_with("unexpected argument '--client-secret'");
    assert!(fake.token_forms().is_empty(), "nothing was sent");
    let run = collect(&fake, &sb, &[], &["--help"]);
    assert_eq!(run.code, Some(0));
    assert!(!run.stdout.contains("client-secret"), "{}", run.stdout);
    assert!(run.stdout.contains("AZURE_CLIENT_SECRET"), "{}", run.stdout);
    // --auth secret without the variable says where the secret must come from.
    let run = collect(&fake, &sb, &sp_vars(), &["--auth", "secret"]);
    run.failed_with("client secret sign-in: needs AZURE_CLIENT_SECRET (the secret is read from the environment only");
}
