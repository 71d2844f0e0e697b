//! What a credential looks like, by name and by shape, and how it is taken out of Azure's JSON
//! before anything is stored, archived, printed or logged.
//!
//! Three rules, applied at every depth of a JSON value:
//! - **by name**: a property whose name says it holds a credential (`password`, `secretText`,
//!   `key1`, `apiKey`, `primaryMasterKey`, `sasToken`, `connectionString`, `customData`,
//!   `certificate`, ...) is removed, unless [`ALLOWED`] names it as something the parsers read or
//!   a known harmless container (`passwordCredentials`, `permissions.keys`). A name is split into
//!   words (`primaryReadonlyMasterKey` is `primary readonly master key`), so the rules look at whole
//!   words, not substrings: `keyVaultUri`, `secretName` and `tokenEncryptionKeyId` name metadata.
//!   `null` and booleans are kept: they cannot carry a credential (`"adminPassword": null`).
//! - **by shape**: in any string, wherever it is (tags, descriptions, URLs), the parts that are a
//!   credential by their form are replaced by [`MARKER`]: a SAS signature (`sig=`), the secret parts
//!   of connection strings (`AccountKey=`, `SharedAccessKey=`, `Password=`, ...), passwords in URLs,
//!   JWTs, PEM blocks, Entra client secrets, GitHub tokens, and long high-entropy base64.
//! - **value bags**: lists that hold credentials by construction keep their names and lose their
//!   values (`appSettings`, `environmentVariables`, the `config/appsettings` resource, and any
//!   `{"name": "DB_PASSWORD", "value": ...}` or `{"keyName": ..., "value": ...}` pair).

use regex::Regex;
use serde_json::{Map, Value};
use std::borrow::Cow;
use std::sync::LazyLock;

/// What a redacted value, or the redacted part of a string, becomes.
pub const MARKER: &str = "[redacted]";

/// Names that look like credentials but are metadata the parsers read or known harmless containers
/// (their credential children are still removed: `keyCredentials[].key`,
/// `passwordCredentials[].secretText`). Lower case; `parent.name` allows `name` only directly under
/// a property called `parent` (array items count as under the array's name), so that the listKeys
/// answer `{"keys": [...]}` is still removed while an access policy's `permissions.keys` is kept.
const ALLOWED: &[&str] = &[
    "allowsharedkeyaccess",
    "keycredentials",
    "passwordcredentials",
    "enablerbacauthorization",
    "disablelocalauth",
    "keyvaultproperties",
    "keyname",
    "keysource",
    "keyvaulturi",
    "keyid",
    "publickey",
    "publickeys",
    "partitionkey",
    "permissions.keys",
    "permissions.secrets",
    "permissions.certificates",
    "permissions.storage",
    "keycreationtime.key1",
    "keycreationtime.key2",
    "optionalclaims.accesstoken",
    "optionalclaims.idtoken",
    "optionalclaims.saml2token",
];

/// Words that make a name a credential wherever they stand, unless the last word says the
/// property is about the credential rather than the credential itself ([`METADATA`]).
const CREDENTIAL_WORDS: &[&str] =
    &["secret", "secrets", "password", "passwords", "passwd", "pwd", "passphrase", "sas", "sig", "signature", "pat"];

/// Last words that make a name a credential on their own (`apiKey`, `key2`, `refreshToken`).
const CREDENTIAL_LAST_WORDS: &[&str] =
    &["key", "keys", "token", "tokens", "assertion", "cert", "certificate", "certificates", "pfx"];

/// Pairs of last words that make a name a credential (`connectionString`, `customData`).
const CREDENTIAL_ENDINGS: &[[&str; 2]] = &[
    ["connection", "string"],
    ["connection", "strings"],
    ["custom", "data"],
    ["user", "data"],
    ["protected", "settings"],
    ["secure", "value"],
    ["secure", "string"],
];

/// Last words of names that describe a credential without holding it (`secretName`,
/// `passwordCredentials`, `keyVaultSecretId`, `disablePasswordAuthentication`).
const METADATA: &[&str] = &[
    "name",
    "names",
    "id",
    "ids",
    "identifier",
    "uri",
    "url",
    "type",
    "types",
    "kind",
    "enabled",
    "disabled",
    "expiration",
    "expiry",
    "version",
    "count",
    "policy",
    "policies",
    "length",
    "lifetime",
    "date",
    "time",
    "source",
    "mode",
    "status",
    "state",
    "method",
    "methods",
    "authentication",
    "required",
    "allowed",
    "credentials",
    "location",
    "provider",
    "providers",
    "profile",
    "rotation",
];

/// Words of a name that hold certificate material when they end it (`certificateData`, `pfxBlob`).
const CERTIFICATE_WORDS: &[&str] = &["cert", "certificate", "pfx"];
const CERTIFICATE_PAYLOADS: &[&str] = &["data", "blob", "value", "content", "contents", "base64", "bytes"];

/// Properties whose values are credentials by construction: names kept, values replaced.
const VALUE_BAGS: &[&str] = &["appsettings", "environmentvariables"];

/// `true` when a property called `name` (directly under a property called `parent`) holds a
/// credential by its name.
pub fn is_credential_name(name: &str, parent: Option<&str>) -> bool {
    name_verdict(name, parent).credential
}

/// What the rules make of a property's name: whether it holds a credential by its name (under
/// its parent's name), and whether the name itself holds a credential's shape.
#[derive(Debug, Clone, Copy)]
struct NameVerdict {
    credential: bool,
    shaped: bool,
}

/// Verdicts remembered per thread, by parent and name: the same few property names come back
/// for every object. Two levels rather than one joined key, so a lookup builds nothing.
#[derive(Default)]
struct Verdicts {
    top: crate::model::FastMap<Box<str>, NameVerdict>,
    under: crate::model::FastMap<Box<str>, crate::model::FastMap<Box<str>, NameVerdict>>,
    remembered: usize,
}

fn name_verdict(name: &str, parent: Option<&str>) -> NameVerdict {
    // A bounded number of short names (property names are), so that hostile input cannot grow
    // the table.
    const REMEMBERED: usize = 4096;
    const LONGEST: usize = 256;
    thread_local! {
        static VERDICTS: std::cell::RefCell<Verdicts> = Default::default();
    }
    VERDICTS.with_borrow_mut(|v| {
        let known = match parent {
            None => v.top.get(name),
            Some(p) => v.under.get(p).and_then(|names| names.get(name)),
        };
        if let Some(&verdict) = known {
            return verdict;
        }
        let verdict = NameVerdict { credential: judge_name(name, parent), shaped: scrub_text(name) != name };
        if v.remembered < REMEMBERED && name.len() + parent.map_or(0, str::len) <= LONGEST {
            v.remembered += 1;
            let names = match parent {
                None => &mut v.top,
                Some(p) => v.under.entry(p.into()).or_default(),
            };
            names.insert(name.into(), verdict);
        }
        verdict
    })
}

fn judge_name(name: &str, parent: Option<&str>) -> bool {
    let lower = name.to_ascii_lowercase();
    if ALLOWED.contains(&lower.as_str())
        || parent.is_some_and(|p| ALLOWED.contains(&format!("{}.{lower}", p.to_ascii_lowercase()).as_str()))
    {
        return false;
    }
    let mut words = words(name);
    while words.last().is_some_and(|w| w.bytes().all(|b| b.is_ascii_digit())) {
        words.pop();
    }
    let Some(last) = words.last().map(String::as_str) else { return false };
    let before_last = words.len().checked_sub(2).map(|i| words[i].as_str());
    if CREDENTIAL_LAST_WORDS.contains(&last)
        || before_last.is_some_and(|b| CREDENTIAL_ENDINGS.contains(&[b, last]))
        || CERTIFICATE_PAYLOADS.contains(&last) && words.iter().any(|w| CERTIFICATE_WORDS.contains(&w.as_str()))
    {
        return true;
    }
    !METADATA.contains(&last) && words.iter().any(|w| CREDENTIAL_WORDS.contains(&w.as_str()))
}

/// The lower-cased words of a property name: camelCase, PascalCase, acronyms (`APIKey` is `api
/// key`), digits (`key1` is `key 1`), and `_`, `-`, `.`, `$`, `@` as separators.
fn words(name: &str) -> Vec<String> {
    let chars: Vec<char> = name.chars().collect();
    let mut out = Vec::new();
    let mut current = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if !c.is_ascii_alphanumeric() {
            if !current.is_empty() {
                out.push(std::mem::take(&mut current));
            }
            continue;
        }
        let prev = i.checked_sub(1).map(|p| chars[p]);
        let next = chars.get(i + 1);
        let boundary = match prev {
            Some(p) if p.is_ascii_alphanumeric() => {
                (p.is_ascii_lowercase() && c.is_ascii_uppercase())
                    || (p.is_ascii_digit() != c.is_ascii_digit())
                    || (p.is_ascii_uppercase() && c.is_ascii_uppercase() && next.is_some_and(char::is_ascii_lowercase))
            }
            _ => false,
        };
        if boundary && !current.is_empty() {
            out.push(std::mem::take(&mut current));
        }
        current.push(c.to_ascii_lowercase());
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// Credential shapes inside strings, each with what replaces a match.
static SHAPES: LazyLock<Vec<(Regex, String)>> = LazyLock::new(|| {
    [
        // PEM blocks (private keys, certificates), terminated or not.
        (r"-----BEGIN [A-Z0-9 ]+-----(?s:.*?)(?:-----END [A-Z0-9 ]+-----|\z)", ""),
        // JWTs: header and payload are base64url JSON objects.
        (r"eyJ[A-Za-z0-9_-]+\.eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*", ""),
        // The signature of a SAS (URL query or connection string): without it the rest is harmless.
        (r"(?i)\b(sig=)[^&;\s'\x22]+", "${1}"),
        // The secret parts of connection strings (storage, Service Bus, Event Hubs, SQL, Redis...).
        (
            r"(?i)\b(AccountKey|SharedAccessKey|SharedAccessSignature|Password|Pwd|AccessKey|ApiKey|ClientSecret|Secret|PrimaryKey|AuthKey)(\s*=\s*)[^;\x22']+",
            "${1}${2}",
        ),
        // A password in a URL (`https://user:password@host`).
        (r"(://[^/\s:@]+:)[^/\s@]+@", "${1}"),
        // Entra client secrets (`abc8Q~...`).
        (r"\b[A-Za-z0-9_.-]{3}[0-9]Q~[A-Za-z0-9_.~-]{31,37}", ""),
        // GitHub tokens.
        (r"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})", ""),
    ]
    .into_iter()
    .map(|(pattern, keep)| {
        // The URL-password shape consumed the `@`; it goes back after the marker.
        let after = if pattern.ends_with('@') { "@" } else { "" };
        (Regex::new(pattern).expect("credential shapes are valid regexes"), format!("{keep}{MARKER}{after}"))
    })
    .collect()
});

/// Candidate keys: runs of base64 characters (and of `-`/`_`, only to rule the run out: Graph ids
/// and GUIDs are base64url or dashed); [`is_random_key`] decides.
static BASE64_RUN: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"[A-Za-z0-9+/=_-]{32,}").expect("a valid regex"));

/// `true` for a run that looks like an Azure key in standard base64 (storage, Cosmos DB, Service
/// Bus, Event Hubs, function and registry keys): padded with `=` or holding a `+`, at least 32
/// characters of upper case, lower case and digits, with the spread of characters (Shannon entropy,
/// at least 4 bits per character) of random data. Ids never qualify: Graph's base64 ids are
/// base64url (`-`, `_`, no padding), GUIDs are dashed hex, ARM ids and action names have no `+`.
fn is_random_key(run: &str) -> bool {
    let body = run.trim_end_matches('=');
    if body.contains(['-', '_', '=']) || !(body.len() < run.len() || body.contains('+')) {
        return false;
    }
    if body.len() < 32
        || !body.bytes().any(|b| b.is_ascii_uppercase())
        || !body.bytes().any(|b| b.is_ascii_lowercase())
        || !body.bytes().any(|b| b.is_ascii_digit())
    {
        return false;
    }
    let mut counts = [0u32; 256];
    for b in body.bytes() {
        counts[b as usize] += 1;
    }
    let n = body.len() as f64;
    let entropy: f64 = counts.iter().filter(|&&c| c > 0).map(|&c| c as f64 / n).map(|p| -p * p.log2()).sum();
    entropy >= 4.0
}

/// `false` when `text` cannot hold any of [`SHAPES`], each of which needs one of these: `-----`
/// (a PEM block), `eyJ` (a JWT), `=` (a SAS signature, a connection string's key), `@` (a
/// password in a URL), `~` (an Entra client secret), `_` (a GitHub token). A few SIMD byte
/// searches rule out most strings (ids, names, GUIDs) faster than the regexes' automaton reads them.
fn may_hold_shape(text: &str) -> bool {
    let bytes = text.as_bytes();
    memchr::memchr3(b'=', b'@', b'~', bytes).is_some()
        || memchr::memchr(b'_', bytes).is_some()
        || memchr::memmem::find(bytes, b"eyJ").is_some()
        || memchr::memmem::find(bytes, b"-----").is_some()
}

/// `text` with every credential-shaped part replaced by [`MARKER`]; borrowed when nothing was.
/// For anything that quotes input back: error messages, log lines, notes.
pub fn scrub_text(text: &str) -> Cow<'_, str> {
    // One pass over the text for every shape at once: almost no string holds any.
    static ANY_SHAPE: LazyLock<regex::RegexSet> = LazyLock::new(|| {
        regex::RegexSet::new(SHAPES.iter().map(|(shape, _)| shape.as_str()))
            .expect("credential shapes are valid regexes")
    });
    let mut out = Cow::Borrowed(text);
    if may_hold_shape(text) && ANY_SHAPE.is_match(text) {
        for (shape, with) in SHAPES.iter() {
            if shape.is_match(&out) {
                out = Cow::Owned(shape.replace_all(&out, with.as_str()).into_owned());
            }
        }
    }
    // A random key (see `is_random_key`) is padded with `=` or holds a `+`: ids and names, which
    // are most strings, have neither and need no search for one.
    if out.contains(['+', '=']) && BASE64_RUN.find_iter(&out).any(|m| is_random_key(m.as_str())) {
        let replaced =
            BASE64_RUN.replace_all(
                &out,
                |c: &regex::Captures| {
                    if is_random_key(&c[0]) { MARKER.to_string() } else { c[0].to_string() }
                },
            );
        out = Cow::Owned(replaced.into_owned());
    }
    out
}

/// Redacts `value` in place by the three rules of this module; returns how many properties were
/// removed and values replaced (0 on a second pass).
pub fn redact_value(value: &mut Value) -> usize {
    walk(value, None)
}

fn walk(value: &mut Value, parent: Option<&str>) -> usize {
    match value {
        Value::String(s) => match scrub_text(s) {
            Cow::Owned(clean) => {
                *s = clean;
                1
            }
            Cow::Borrowed(_) => 0,
        },
        // Array items are under the array's name: `passwordCredentials[0]` is under `passwordCredentials`.
        Value::Array(items) => items.iter_mut().map(|v| walk(v, parent)).sum(),
        Value::Object(map) => redact_object(map, parent),
        _ => 0,
    }
}

fn redact_object(map: &mut Map<String, Value>, parent: Option<&str>) -> usize {
    let mut removed = 0;
    let in_bag = parent.is_some_and(|p| VALUE_BAGS.iter().any(|bag| p.eq_ignore_ascii_case(bag)));
    // `{"name": "DB_PASSWORD", "value": ...}`, `{"keyName": "key1", "value": ...}`, bag items.
    let secret_pair = in_bag
        || map.contains_key("keyName")
        || map.get("name").and_then(Value::as_str).is_some_and(|n| is_credential_name(n, None));
    if secret_pair && let Some(v) = map.get_mut("value") {
        removed += replace(v);
    }
    // Almost no object has a property to remove: looked for first, as removing walks the map
    // for writing.
    let goes = |name: &str, v: &Value| {
        let verdict = name_verdict(name, parent);
        verdict.shaped || verdict.credential && carries_data(v)
    };
    if map.iter().any(|(name, v)| goes(name, v)) {
        map.retain(|name, v| {
            let verdict = name_verdict(name, parent);
            if verdict.shaped {
                removed += 1;
                return false;
            }
            if !verdict.credential || !carries_data(v) {
                return true;
            }
            if v.is_object() || v.is_array() {
                // A credential container (`keys`, `passwords`, `credentials.secrets`): only the
                // metadata describing each credential stays.
                removed += strip_container(v);
                carries_data(v)
            } else {
                removed += 1;
                false
            }
        });
    }
    let settings_resource = is_settings_resource(map);
    // A bag item in `{"name": ..., "value": ...}` form keeps its name.
    let pair_form = map.contains_key("value");
    for (name, v) in map.iter_mut() {
        let scalar = !v.is_object() && !v.is_array();
        let kept_name = pair_form && name == "name";
        let bag_value = in_bag && scalar && !kept_name;
        if bag_value || settings_resource && name == "properties" {
            removed += match v {
                Value::Object(bag) => bag.values_mut().map(replace).sum(),
                v => replace(v),
            };
        } else {
            removed += walk(v, Some(name));
        }
    }
    removed
}

/// Empties a credential container down to what describes its credentials: scalars under names
/// that end in a [`METADATA`] word (`keyName`, `secretsType`, `expiryTime`), `null`s and booleans.
/// Returns how many values were removed.
fn strip_container(v: &mut Value) -> usize {
    let mut removed = 0;
    match v {
        Value::Object(map) => map.retain(|name, child| {
            if child.is_object() || child.is_array() {
                removed += strip_container(child);
                return true;
            }
            let describes = !is_credential_name(name, None)
                && words(name).last().is_some_and(|w| METADATA.contains(&w.as_str()))
                && scrub_text(name) == name.as_str();
            if describes || !carries_data(child) {
                removed += walk(child, Some(name));
                true
            } else {
                removed += 1;
                false
            }
        }),
        Value::Array(items) => items.retain_mut(|item| {
            if item.is_object() || item.is_array() {
                removed += strip_container(item);
                true
            } else if carries_data(item) {
                removed += 1;
                false
            } else {
                true
            }
        }),
        other => removed += replace(other),
    }
    removed
}

/// The `Microsoft.Web/sites/config` resources whose properties are all credentials by construction
/// (`config/appsettings`, `config/connectionstrings`), as `sites/config/list` returns them.
fn is_settings_resource(map: &Map<String, Value>) -> bool {
    let ty = map.get("type").and_then(Value::as_str).unwrap_or("");
    let name = map.get("name").and_then(Value::as_str).unwrap_or("");
    let last = name.rsplit('/').next().unwrap_or("");
    ty.len() >= 7
        && ty.as_bytes()[ty.len() - 7..].eq_ignore_ascii_case(b"/config")
        && (last.eq_ignore_ascii_case("appsettings") || last.eq_ignore_ascii_case("connectionstrings"))
}

/// Replaces a value by [`MARKER`] unless it carries nothing (or already is the marker).
fn replace(v: &mut Value) -> usize {
    if !carries_data(v) || v.as_str() == Some(MARKER) {
        return 0;
    }
    *v = Value::String(MARKER.into());
    1
}

/// `false` for values that cannot hold a credential: `null`, booleans, empty strings and lists.
fn carries_data(v: &Value) -> bool {
    match v {
        Value::Null | Value::Bool(_) => false,
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
        Value::Number(_) => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn name_verdicts_depend_on_the_parent_and_outlast_the_remembered_bound() {
        // More names than are remembered: the later ones are judged each time, the same way.
        for i in 0..5000 {
            let parent = format!("parent{i}");
            assert!(is_credential_name(&format!("apiKey{i}"), None));
            assert!(is_credential_name(&format!("apiKey{i}"), Some(&parent)));
            assert!(!is_credential_name(&format!("keyVaultUri{i}"), Some(&parent)));
        }
        // The same name under different parents, asked in both orders.
        assert!(!is_credential_name("keys", Some("permissions")));
        assert!(is_credential_name("keys", None));
        assert!(is_credential_name("keys", Some("listKeys")));
        assert!(!is_credential_name("keys", Some("permissions")));
        // A name holding a credential's shape goes whatever it is called.
        let mut v = json!({"sig=abcdef": 1, "plain": 2, "nested": {"AccountKey=xyz;": 3}});
        assert_eq!(redact_value(&mut v), 2);
        assert_eq!(v, json!({"plain": 2, "nested": {}}));
    }

    #[test]
    fn no_property_the_parsers_read_looks_like_a_credential() {
        // Every dotted name quoted in the parsers' source (`properties.credentials.clientId`,
        // `permissions.keys`), checked with its parent as redaction sees it.
        let code: Vec<&str> = include_str!("parse.rs").lines().filter(|l| !l.trim_start().starts_with("//")).collect();
        let source = code.join("\n");
        let quoted = Regex::new(r#""([A-Za-z@$][A-Za-z0-9_.@$]*)""#).unwrap();
        let mut checked = 0;
        for name in quoted.captures_iter(&source).map(|c| c[1].to_string()) {
            let segments: Vec<&str> = name.split('.').collect();
            for (i, segment) in segments.iter().enumerate() {
                let parent = i.checked_sub(1).map(|p| segments[p]);
                assert!(!is_credential_name(segment, parent), "the parsers read {name}, which redaction would remove");
                checked += 1;
            }
        }
        assert!(checked > 100, "found the parsers' property names ({checked})");
        assert!(is_credential_name("keys", None), "a listKeys answer is still removed outside `permissions`");
    }

    #[test]
    fn names_are_judged_by_whole_words() {
        for secret in [
            "key",
            "key1",
            "apiKey",
            "APIKey",
            "accountKey",
            "primaryKey",
            "primarySharedKey",
            "primaryReadonlyMasterKey",
            "secretText",
            "client_secret",
            "password",
            "administratorLoginPassword",
            "passwd",
            "pwd",
            "sasToken",
            "access_token",
            "connectionString",
            "customData",
            "privateKey",
            "certificate",
            "certificateData",
            "pfxBlob",
            "secureValue",
            "signature",
            "pat",
        ] {
            assert!(is_credential_name(secret, None), "{secret}");
        }
        for harmless in [
            "allowSharedKeyAccess",
            "keyVaultUri",
            "keyName",
            "keySource",
            "keyId",
            "secretName",
            "passwordCredentials",
            "keyCredentials",
            "tokenEncryptionKeyId",
            "accessTokenAcceptedVersion",
            "thumbprint",
            "enableRbacAuthorization",
            "disableLocalAuth",
            "disablePasswordAuthentication",
            "keyVaultProperties",
            "storageAccountConnectionStringName",
            "patch",
            "keySize",
            "secretsType",
        ] {
            assert!(!is_credential_name(harmless, None), "{harmless}");
        }
    }

    #[test]
    fn credential_shapes_are_cut_out_of_any_string_and_ids_are_not() {
        let cases = [
            (
                "https://a.blob.core.windows.net/c/f?sv=1&sig=abc%2Fdef&se=2",
                "https://a.blob.core.windows.net/c/f?sv=1&sig=[redacted]&se=2",
            ),
            ("AccountName=a;AccountKey=abc==;EndpointSuffix=x", "AccountName=a;AccountKey=[redacted];EndpointSuffix=x"),
            ("Server=s;User Id=u;Password=p@ss;", "Server=s;User Id=u;Password=[redacted];"),
            ("Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.sig", "Bearer [redacted]"),
            ("a -----BEGIN RSA PRIVATE KEY-----\nMIIx\n-----END RSA PRIVATE KEY----- b", "a [redacted] b"),
            ("key: q7Rz+Kd9Lw2XbN4vT8yHcJ5mP1sG6fA3eU0iO9wQx2Vn8Bj4Tz6Hs=", "key: [redacted]"),
        ];
        for (input, want) in cases {
            assert_eq!(scrub_text(input), want);
        }
        for id in [
            "lAPpYvVpN0KRkAEhdxReEHJ1hPGqSKpHlqMuxhkE9B8-1",
            "AO_vwBERIkKDM0RERVVWZm4ppkq1wdFNkOvMjF8WwrY",
            "/subscriptions/5b000000-0000-4000-8000-000000000001/resourceGroups/rg/providers/Microsoft.Web/sites/x",
            "Microsoft.AwsConnector/elasticLoadBalancingV2TargetGroups/delete",
            "3fa85f6457174562b3fc2c963f66afa6",
            "ABCDEF0123456789ABCDEF0123456789ABCDEF01",
        ] {
            assert!(matches!(scrub_text(id), Cow::Borrowed(_)), "{id} is not a credential");
        }
    }

    /// The byte searches before the regexes never rule out a string one of the shapes matches:
    /// one sample of each shape, then strings of random pieces of them.
    #[test]
    fn the_quick_check_never_rules_out_a_credential_shape() {
        let samples = [
            "-----BEGIN CERTIFICATE-----\nMII",
            "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.",
            "x?SIG=abc",
            "Password = p",
            "https://user:pw@host",
            "abc8Q~abcdefghijklmnopqrstuvwxyz0123456",
            "ghp_abcdefghijklmnopqrstuvwxyz0123456789",
            "github_pat_abcdefghijklmnopqrstuv",
        ];
        let any = |t: &str| SHAPES.iter().any(|(shape, _)| shape.is_match(t));
        for t in samples {
            assert!(any(t) && may_hold_shape(t), "{t}");
        }
        let pieces = [
            "-----",
            "BEGIN ",
            "eyJ",
            "a",
            "Z",
            "9",
            ".",
            "=",
            "sig",
            "Key",
            "@",
            ":",
            "//",
            "Q~",
            "~",
            "_",
            "gh",
            "p",
            "github",
            "pat",
            " ",
            "\n",
            "/",
            "0123456789abcdefghij",
            "ABCDEFGHIJKLMNOPQRST",
            "-",
        ];
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let (mut matched, mut ruled_out) = (0, 0);
        for _ in 0..300_000 {
            let len = 1 + next() % 12;
            let text: String = (0..len).map(|_| pieces[(next() % pieces.len() as u64) as usize]).collect();
            if any(&text) {
                matched += 1;
                assert!(may_hold_shape(&text), "{text:?} matches a shape but was ruled out");
            } else if !may_hold_shape(&text) {
                ruled_out += 1;
            }
        }
        assert!(matched > 500 && ruled_out > 10_000, "{matched} matched, {ruled_out} ruled out");
    }

    #[test]
    fn bags_keep_names_and_containers_keep_metadata() {
        let mut v = json!({
            "appSettings": [{"name": "FEATURE", "value": "on"}],
            "settings": {"type": "Microsoft.Web/sites/config", "name": "appsettings", "properties": {"X": "y"}},
            "keys": [{"keyName": "key1", "value": "k", "permissions": "FULL"}],
            "credentials": {"secrets": {"secretsType": "AccountKey", "key": "k"}, "clientId": "c"},
            "passwordCredentials": [{"keyId": "1", "displayName": "ci", "endDateTime": "2030", "secretText": "s"}],
            "adminPassword": null,
        });
        let removed = redact_value(&mut v);
        assert_eq!(
            v,
            json!({
                "appSettings": [{"name": "FEATURE", "value": MARKER}],
                "settings": {"type": "Microsoft.Web/sites/config", "name": "appsettings", "properties": {"X": MARKER}},
                "keys": [{"keyName": "key1"}],
                "credentials": {"secrets": {"secretsType": "AccountKey"}, "clientId": "c"},
                "passwordCredentials": [{"keyId": "1", "displayName": "ci", "endDateTime": "2030"}],
                "adminPassword": null,
            })
        );
        assert_eq!(removed, 6);
        assert_eq!(redact_value(&mut v), 0, "a second pass finds nothing");
    }

    #[test]
    fn remembered_answers_are_the_answers_whatever_the_names_hold() {
        let pairs = [
            (Some("permissions"), "keys"),
            (None, "keys"),
            (Some("permissions\0"), "keys"),
            (Some("permission"), "s\0keys"),
            (Some("a\0b"), "password"),
            (Some("a"), "b\0password"),
            (Some("optionalClaims"), "accessToken"),
            (Some("optionalclaims\0accesstoken"), ""),
        ];
        // Twice over, in both orders, so every answer is also read back from the table.
        for (parent, name) in pairs.iter().chain(pairs.iter().rev()).chain(&pairs) {
            assert_eq!(is_credential_name(name, *parent), judge_name(name, *parent), "{parent:?} {name:?}");
        }
        assert!(!is_credential_name("keys", Some("permissions")) && is_credential_name("keys", None));
    }
}
