//! AzureHound collections (`azurehound list`, plain JSON or zip) as azpath facts.
//!
//! AzureHound writes one JSON object: a `data` array of `{"kind": "AZ…", "data": {…}}` records and a
//! `meta` object, in either order. Each record is read and mapped on its own while the file streams
//! past (serde's `DeserializeSeed` over the top-level object and the `data` array), so the reading
//! stage never holds more than one record. A record becomes the Graph or ARM JSON the live collector
//! would have stored ([`RawFacts`]), and is checked there and then by the facts parser itself, so a
//! wrongly typed record is a counted skip instead of a failed import. What AzureHound does not
//! collect is named in the completeness notes. The kinds and what they map to: `docs/azurehound.md`.

use crate::facts::raw::scrub_header;
use crate::facts::raw::{ARM_COLLECTIONS, FORMAT, GRAPH_COLLECTIONS};
use crate::facts::redact::redact_value;
use crate::facts::{CompactFacts, CompletenessNote, RawFacts, TenantInfo, type_name};
use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{BufRead, BufReader, Read, Seek};
use std::path::Path;

/// The longest id a record may carry: ARM ids are far shorter; a longer one is not an id.
pub const MAX_ID_BYTES: usize = 4096;

/// The longest `kind` kept as written in the report; a longer one is reported as `(invalid kind)`.
const MAX_KIND_BYTES: usize = 64;

/// How many records of one kind were read, mapped and skipped, and why.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KindCount {
    pub read: u64,
    pub mapped: u64,
    /// Skipped records by reason (reasons name no object, so they add up).
    pub skipped: BTreeMap<String, u64>,
    /// The first few skipped records' full messages, naming the object.
    pub examples: Vec<String>,
}

impl KindCount {
    pub fn skipped_total(&self) -> u64 {
        self.skipped.values().sum()
    }
}

/// What reading one or more AzureHound files found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportReport {
    /// By record kind as written (`(no kind)`, `(invalid kind)`, `(not an object)` for records without a usable one).
    pub kinds: BTreeMap<String, KindCount>,
    /// Problems with a file as a whole: invalid or truncated JSON (the records before it are kept),
    /// a `meta.count` that disagrees with the records read, zip entries that are not JSON.
    pub problems: Vec<String>,
    /// Bytes of JSON read (inside a zip: uncompressed).
    pub bytes: u64,
}

impl ImportReport {
    pub fn records(&self) -> u64 {
        self.kinds.values().map(|k| k.read).sum()
    }
}

/// Reads AzureHound files into one tenant's facts. Feed it files ([`Self::read_path`]) or streams
/// ([`Self::read_json`]), then [`Self::finish`].
pub struct AzureHoundReader {
    report: ImportReport,
    validator: Validator,
    /// The tenant AzureHound says it collected (`AZTenant` with `collected: true`).
    collected_tenant: Option<TenantInfo>,
    /// Every `tenantId` the records carry, with how often: the tenant when no `AZTenant` says.
    tenant_ids: BTreeMap<String, u64>,
    /// The mapped objects, each redacted and kept as compact JSON text (comma-separated items of
    /// a collection, or of one parent's list), never as JSON values: those take several times the
    /// room.
    graph_lists: BTreeMap<&'static str, TextList>,
    graph_keyed: BTreeMap<&'static str, BTreeMap<String, TextList>>,
    arm_lists: BTreeMap<&'static str, TextList>,
    /// Resources and role assignments by lower-cased id: first copy wins, later copies are skipped.
    resources: BTreeMap<String, Box<str>>,
    role_assignments: BTreeMap<String, Box<str>>,
    /// User-assigned identities named by the resources they are attached to.
    identities: BTreeMap<String, Box<str>>,
    /// How many values redaction removed or replaced in the mapped objects.
    redacted: usize,
    /// Application client id -> object id, for records that name an application by client id.
    app_by_client_id: HashMap<String, String>,
    /// Records that need other records first: resolved in `finish`.
    app_owners: Vec<(Option<String>, String, Value)>,
    app_credentials: Vec<(String, Value)>,
    access_policies: Vec<(String, Value)>,
    /// Files whose JSON stopped early: a completeness note each.
    truncated: Vec<(String, String)>,
    /// Mapped values waiting to be checked, a batch at a time (one parse per batch is several
    /// times faster than one per record), and the kind of each record they come from.
    batch: Vec<Pending>,
    batch_kinds: Vec<String>,
    /// The ids of the resources in `batch`, to skip a repeat before it is checked.
    queued_resources: HashSet<String>,
}

/// One JSON array as compact text, its items appended in place (no copy when it is closed), as
/// bytes that are UTF-8 by construction (items are `str`s or serde_json's output), checked once
/// when the array is closed.
struct TextList(Vec<u8>);

impl Default for TextList {
    fn default() -> Self {
        TextList(b"[".to_vec())
    }
}

impl TextList {
    fn with_capacity(bytes: usize) -> TextList {
        let mut text = Vec::with_capacity(bytes);
        text.push(b'[');
        TextList(text)
    }

    fn separate(&mut self) {
        if self.0.len() > 1 {
            self.0.push(b',');
        }
    }

    fn push(&mut self, item: &str) {
        self.separate();
        self.0.extend_from_slice(item.as_bytes());
    }

    /// Appends a value as compact JSON, written straight into the list.
    fn push_value(&mut self, item: &Value) {
        self.separate();
        serde_json::to_writer(&mut self.0, item).expect("a JSON value always serializes to memory");
    }

    /// The array, without the slack its growth left (a large buffer shrinks in place).
    fn into_array(mut self) -> String {
        self.0.push(b']');
        self.0.shrink_to_fit();
        String::from_utf8(self.0).expect("items are UTF-8 text and serde_json writes UTF-8")
    }
}

/// How many records are checked together.
const BATCH: usize = 512;

/// A mapped value, where it goes once checked, and the record (its position in the batch) it
/// comes from: a record is kept or skipped whole.
struct Pending {
    record: usize,
    target: Target,
    value: Value,
}

enum Target {
    Graph(&'static str),
    GraphKeyed(&'static str, String),
    Arm(&'static str),
    /// `arm.resources` and `arm.roleAssignments`, by lower-cased id.
    Resource(String),
    RoleAssignment(String),
}

/// Why a record was not mapped: a reason that names no object, and the full message.
struct Skip {
    reason: String,
    detail: Option<String>,
}

impl Skip {
    fn new(reason: impl Into<String>) -> Skip {
        Skip { reason: reason.into(), detail: None }
    }
}

type Mapped = Result<Outcome, Skip>;

enum Outcome {
    Mapped,
    /// Held until `finish`, which counts it.
    Later,
}

impl Default for AzureHoundReader {
    fn default() -> Self {
        Self::new()
    }
}

impl AzureHoundReader {
    pub fn new() -> AzureHoundReader {
        AzureHoundReader {
            report: ImportReport::default(),
            validator: Validator::new(),
            collected_tenant: None,
            tenant_ids: BTreeMap::new(),
            graph_lists: BTreeMap::new(),
            graph_keyed: BTreeMap::new(),
            arm_lists: BTreeMap::new(),
            resources: BTreeMap::new(),
            role_assignments: BTreeMap::new(),
            identities: BTreeMap::new(),
            redacted: 0,
            app_by_client_id: HashMap::new(),
            app_owners: Vec::new(),
            app_credentials: Vec::new(),
            access_policies: Vec::new(),
            truncated: Vec::new(),
            batch: Vec::new(),
            batch_kinds: Vec::new(),
            queued_resources: HashSet::new(),
        }
    }

    /// The counts so far.
    pub fn report(&self) -> &ImportReport {
        &self.report
    }

    /// Reads one file: a zip (every `.json` entry in it) or plain JSON. Only an unreadable file is
    /// an error; bad JSON inside it is a problem in the report.
    pub fn read_path(&mut self, path: &Path) -> std::io::Result<()> {
        let shown = path.display().to_string();
        let mut file = std::fs::File::open(path)?;
        let mut magic = [0u8; 4];
        let n = file.read(&mut magic)?;
        file.rewind()?;
        if n == 4 && magic == *b"PK\x03\x04" { self.read_zip(file, &shown) } else { self.read_json(file, &shown) }
    }

    fn read_zip<R: Read + Seek>(&mut self, file: R, shown: &str) -> std::io::Result<()> {
        let mut archive = zip::ZipArchive::new(file).map_err(std::io::Error::other)?;
        for i in 0..archive.len() {
            let entry = match archive.by_index(i) {
                Ok(entry) => entry,
                Err(e) => {
                    self.report.problems.push(format!("{shown}: entry {i} cannot be read: {e}"));
                    continue;
                }
            };
            let entry_name = entry.name().map(|n| n.into_owned()).unwrap_or_else(|_| format!("entry {i}"));
            let name = format!("{shown}:{entry_name}");
            if entry.is_dir() {
                continue;
            }
            if !entry_name.to_ascii_lowercase().ends_with(".json") {
                self.report.problems.push(format!("{name}: not a .json entry, not read"));
                continue;
            }
            self.read_json(entry, &name)?;
        }
        Ok(())
    }

    /// Reads one AzureHound JSON document from a stream, record by record.
    pub fn read_json<R: Read>(&mut self, reader: R, shown: &str) -> std::io::Result<()> {
        let bytes = std::cell::Cell::new(0);
        let mut reader = BufReader::with_capacity(1 << 20, Counted { inner: reader, bytes: &bytes });
        if reader.fill_buf()?.starts_with(b"\xEF\xBB\xBF") {
            reader.consume(3);
        }
        let before = self.report.records();
        let mut meta_count = None;
        // Parsing the JSON and mapping its records each take about half the reading time: records
        // are parsed on this thread and mapped, checked and kept on another, a batch at a time.
        let result = std::thread::scope(|scope| {
            let (send, receive) = std::sync::mpsc::sync_channel::<Vec<Value>>(BATCHES_AHEAD);
            let mapper = scope.spawn(|| {
                for batch in receive {
                    for record in batch {
                        self.record(record);
                    }
                }
            });
            let mut parsed = Parsed { batch: Vec::with_capacity(PARSED_BATCH), send };
            // The reader itself, not a reference: serde reads a byte at a time, and only a
            // `BufReader` it owns takes each byte from the buffer without a call to `read`.
            let mut de = serde_json::Deserializer::from_reader(reader);
            let result = DocumentSeed { parsed: &mut parsed, meta_count: &mut meta_count }
                .deserialize(&mut de)
                .and_then(|()| de.end());
            // The records before a break in the JSON are kept.
            parsed.flush();
            drop(parsed);
            mapper.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            result
        });
        let read = self.report.records() - before;
        self.report.bytes += bytes.get();
        if let Err(e) = result {
            if e.is_io() {
                return Err(e.into());
            }
            let message = redact_quoted(&e.to_string());
            self.report.problems.push(format!(
                "{shown}: not valid AzureHound JSON ({message}); the {read} records before it were read"
            ));
            self.truncated.push((shown.to_string(), message));
        } else if let Some(count) = meta_count.filter(|c| *c != read) {
            self.report.problems.push(format!("{shown}: meta.count says {count} records, the file holds {read}"));
        }
        Ok(())
    }

    /// One record of `data`.
    fn record(&mut self, record: Value) {
        let (kind, data) = match record {
            Value::Object(mut record) => {
                let kind = match record.get("kind") {
                    Some(Value::String(k))
                        if k.len() <= MAX_KIND_BYTES && k.chars().all(|c| c.is_ascii_alphanumeric()) =>
                    {
                        k.clone()
                    }
                    Some(Value::String(_)) => "(invalid kind)".to_string(),
                    _ => "(no kind)".to_string(),
                };
                (kind, record.remove("data"))
            }
            _ => ("(not an object)".to_string(), None),
        };
        let start = self.batch.len();
        let outcome = match data {
            _ if kind.starts_with('(') => Err(Skip::new("not a record with a `kind` of letters and digits")),
            Some(Value::Object(data)) => self.map(&kind, data),
            _ => Err(Skip::new("its `data` is missing or not an object")),
        };
        let count = self.report.kinds.entry(kind.clone()).or_default();
        count.read += 1;
        match outcome {
            // Counted when its batch is checked.
            Ok(_) if self.batch.len() > start => self.batch_kinds.push(kind),
            Ok(Outcome::Mapped) => count.mapped += 1,
            Ok(Outcome::Later) => {}
            Err(skip) => {
                self.batch.truncate(start);
                add_skip(count, skip);
            }
        }
        if self.batch.len() >= BATCH {
            self.flush();
        }
    }

    /// Queues a mapped value of the current record for checking.
    fn defer(&mut self, target: Target, value: Value) {
        self.batch.push(Pending { record: self.batch_kinds.len(), target, value });
    }

    /// Checks the queued values and keeps those of records that passed whole.
    fn flush(&mut self) {
        if self.batch.is_empty() {
            return;
        }
        let batch = std::mem::take(&mut self.batch);
        let kinds = std::mem::take(&mut self.batch_kinds);
        self.queued_resources.clear();
        let (checked, mut failed) = self.validator.check_batch(batch);
        for p in checked {
            if !failed.contains_key(&p.record) {
                self.commit(p.target, p.value);
            }
        }
        for (record, kind) in kinds.into_iter().enumerate() {
            let count = self.report.kinds.entry(kind).or_default();
            match failed.remove(&record) {
                None => count.mapped += 1,
                Some(skip) => add_skip(count, skip),
            }
        }
    }

    fn commit(&mut self, target: Target, value: Value) {
        match target {
            Target::Graph(c) => {
                let value = self.redact(value);
                self.graph_lists.entry(c).or_default().push_value(&value)
            }
            Target::GraphKeyed(c, parent) => {
                let value = self.redact(value);
                self.graph_keyed.entry(c).or_default().entry(parent).or_default().push_value(&value)
            }
            Target::Arm(c) => {
                let value = self.redact(value);
                self.arm_lists.entry(c).or_default().push_value(&value)
            }
            Target::RoleAssignment(id) => {
                if !self.role_assignments.contains_key(&id) {
                    let text = self.text(value);
                    self.role_assignments.insert(id, text.into_boxed_str());
                }
            }
            Target::Resource(id) => {
                self.attached_identities(&value);
                if !self.resources.contains_key(&id) {
                    let text = self.text(value);
                    self.resources.insert(id, text.into_boxed_str());
                }
            }
        }
    }

    /// A mapped object as it is kept: redacted, as compact JSON text.
    fn text(&mut self, value: Value) -> String {
        self.redact(value).to_string()
    }

    /// A mapped object redacted, what was taken out counted.
    fn redact(&mut self, mut value: Value) -> Value {
        self.redacted += redact_value(&mut value);
        value
    }

    /// The user-assigned identities a resource names, as resources of their own (AzureHound lists
    /// them only where they are attached), each once.
    fn attached_identities(&mut self, resource: &Value) {
        let attached = resource.pointer("/identity/userAssignedIdentities").and_then(Value::as_object);
        for (uami, details) in attached.into_iter().flatten() {
            let uami = uami.to_ascii_lowercase();
            if uami.is_empty() || uami.len() > MAX_ID_BYTES || self.identities.contains_key(&uami) {
                continue;
            }
            let name = uami.rsplit('/').next().unwrap_or_default().to_string();
            let mut properties = Map::new();
            for key in ["principalId", "clientId"] {
                if let Some(Value::String(v)) = details.get(key) {
                    properties.insert(key.into(), Value::String(v.to_ascii_lowercase()));
                }
            }
            let identity = json!({"id": uami, "name": name, "type": "Microsoft.ManagedIdentity/userAssignedIdentities",
                                  "properties": properties});
            if let Ok(identity) = self.validator.check_list("arm", "resources", identity) {
                let text = self.text(identity);
                self.identities.insert(uami, text.into_boxed_str());
            }
        }
    }

    fn map(&mut self, kind: &str, mut d: Map<String, Value>) -> Mapped {
        self.note_tenant(&d);
        match kind {
            "AZUser" => self.directory_object(d, "users"),
            "AZGroup" => self.directory_object(d, "groups"),
            "AZServicePrincipal" => self.directory_object(d, "servicePrincipals"),
            "AZApp" => {
                let id = id_field(&d, "id")?;
                if let Some(Value::String(client)) = d.get("appId") {
                    self.app_by_client_id.entry(client.to_ascii_lowercase()).or_insert(id);
                }
                self.directory_object(d, "applications")
            }
            "AZGroupMember" => self.relationship(&d, "groupId", "members", "member", "groupMembers"),
            "AZGroupOwner" => self.relationship(&d, "groupId", "owners", "owner", "groupOwners"),
            "AZServicePrincipalOwner" => {
                self.relationship(&d, "servicePrincipalId", "owners", "owner", "servicePrincipalOwners")
            }
            "AZAppOwner" => {
                // The record names the app by client id; each owner entry by object id.
                let client = id_field(&d, "appId")?;
                for (entry, owner) in nested(&d, "owners", "owner")? {
                    let object = entry.get("appId").and_then(Value::as_str).map(str::to_ascii_lowercase);
                    self.app_owners.push((object, client.clone(), Value::Object(owner)));
                }
                self.graph_keyed.entry("applicationOwners").or_default();
                Ok(Outcome::Later)
            }
            "AZFederatedIdentityCredential" => {
                let client = id_field(&d, "appId")?;
                for (_, credential) in nested(&d, "fics", "fic")? {
                    self.app_credentials.push((client.clone(), Value::Object(credential)));
                }
                self.graph_keyed.entry("applicationFederatedIdentityCredentials").or_default();
                Ok(Outcome::Later)
            }
            "AZAppRoleAssignment" => {
                let principal = id_field(&d, "principalId")?;
                for extra in ["appId", "tenantId", "tenantName"] {
                    d.remove(extra);
                }
                lower_ids(&mut d, &["id", "principalId", "resourceId", "appRoleId"]);
                self.graph_keyed.entry("servicePrincipalAppRoleAssignments").or_default();
                self.defer(Target::GraphKeyed("servicePrincipalAppRoleAssignments", principal), d.into());
                Ok(Outcome::Mapped)
            }
            "AZRole" => {
                strip_tenant(&mut d);
                lower_ids(&mut d, &["id", "templateId"]);
                self.push_graph("directoryRoleDefinitions", d.into())
            }
            "AZRoleAssignment" => {
                self.graph_lists.entry("directoryRoleAssignments").or_default();
                for a in array_field(&d, "roleAssignments")? {
                    let Value::Object(a) = a else { return Err(Skip::new("a role assignment that is not an object")) };
                    let principal = id_field(a, "principalId")?;
                    let role = id_field(a, "roleDefinitionId")?;
                    let scope = a.get("directoryScopeId").and_then(Value::as_str).unwrap_or("/");
                    let id = match a.get("id") {
                        Some(Value::String(id)) if !id.is_empty() => id.clone(),
                        _ => format!("azurehound:{principal}:{role}:{scope}"),
                    };
                    let mut value = json!({"id": id, "principalId": principal, "roleDefinitionId": role});
                    for key in ["directoryScopeId", "appScopeId"] {
                        if let Some(v) = a.get(key) {
                            value[key] = v.clone();
                        }
                    }
                    self.defer(Target::Graph("directoryRoleAssignments"), value);
                }
                Ok(Outcome::Mapped)
            }
            "AZRoleEligibilityScheduleInstance" => {
                // An instance is current when listed; AzureHound keeps its start, not its end.
                let mut value = json!({
                    "id": d.get("id").cloned().unwrap_or(Value::Null),
                    "principalId": id_field(&d, "principalId")?,
                    "roleDefinitionId": id_field(&d, "roleDefinitionId")?,
                    "directoryScopeId": d.get("directoryScopeId").cloned().unwrap_or(Value::Null),
                    "scheduleInfo": {"expiration": {"type": "noExpiration"}},
                });
                if let Some(start) = d.get("startDateTime").filter(|s| s.as_str().is_some_and(|s| !s.is_empty())) {
                    value["scheduleInfo"]["startDateTime"] = start.clone();
                }
                self.push_graph("directoryRoleEligibilitySchedules", value)
            }
            "AZTenant" => {
                let id = id_field(&d, "tenantId")?;
                if d.get("collected") != Some(&Value::Bool(true)) {
                    return Err(Skip::new("another tenant than the one collected (azpath reads one tenant)"));
                }
                let text = |key: &str| d.get(key).and_then(Value::as_str).map(str::to_string);
                self.collected_tenant =
                    Some(TenantInfo { id, display_name: text("displayName"), default_domain: text("defaultDomain") });
                Ok(Outcome::Mapped)
            }
            "AZManagementGroup" | "AZManagementGroupDescendant" => {
                let id = id_field(&d, "id")?;
                let props = d.get("properties").and_then(Value::as_object);
                let prop = |key: &str| props.and_then(|p| p.get(key)).cloned();
                let name = prop("displayName").or_else(|| prop("display_name")).unwrap_or(Value::Null);
                let parent = props
                    .and_then(|p| p.get("parent").or_else(|| p.get("details").and_then(|d| d.get("parent"))))
                    .and_then(|p| p.get("id"))
                    .cloned();
                let mut value = json!({"id": id, "type": d.get("type").cloned().unwrap_or(Value::Null),
                                       "name": d.get("name").cloned().unwrap_or(Value::Null),
                                       "properties": {"displayName": name}});
                if let Some(parent) = parent {
                    value["properties"]["parent"] = json!({"id": parent});
                }
                self.push_arm("managementGroups", value)
            }
            "AZSubscription" => {
                lower_ids(&mut d, &["id", "subscriptionId", "tenantId"]);
                self.push_arm("subscriptions", d.into())
            }
            "AZResourceGroup" => {
                d.remove("subscriptionId");
                d.remove("tenantId");
                lower_ids(&mut d, &["id"]);
                self.push_arm("resourceGroups", d.into())
            }
            "AZKeyVault"
            | "AZVM"
            | "AZStorageAccount"
            | "AZStorageContainer"
            | "AZAutomationAccount"
            | "AZFunctionApp"
            | "AZWebApp"
            | "AZLogicApp"
            | "AZManagedCluster"
            | "AZContainerRegistry"
            | "AZVMScaleSet" => self.resource(kind, d),
            "AZKeyVaultAccessPolicy" => {
                let vault = id_field(&d, "keyVaultId")?;
                d.remove("keyVaultId");
                lower_ids(&mut d, &["objectId", "applicationId", "tenantId"]);
                self.access_policies.push((vault, d.into()));
                Ok(Outcome::Later)
            }
            "AZDevice" | "AZDeviceOwner" => Err(Skip::new("devices are not part of azpath's model")),
            "AZRoleManagementPolicyAssignment" => {
                Err(Skip::new("PIM role settings (approval, MFA on activation) are not part of azpath's model"))
            }
            _ if is_role_assignment_kind(kind) => self.azure_role_assignments(&d),
            _ => Err(Skip::new("unknown kind")),
        }
    }

    fn note_tenant(&mut self, d: &Map<String, Value>) {
        if let Some(Value::String(t)) = d.get("tenantId")
            && !t.is_empty()
            && t.len() <= MAX_ID_BYTES
        {
            *self.tenant_ids.entry(t.to_ascii_lowercase()).or_default() += 1;
        }
    }

    fn directory_object(&mut self, mut d: Map<String, Value>, collection: &'static str) -> Mapped {
        id_field(&d, "id")?;
        strip_tenant(&mut d);
        lower_ids(&mut d, &["id", "appId", "appOwnerOrganizationId"]);
        self.push_graph(collection, d.into())
    }

    fn push_graph(&mut self, collection: &'static str, value: Value) -> Mapped {
        self.graph_lists.entry(collection).or_default();
        self.defer(Target::Graph(collection), value);
        Ok(Outcome::Mapped)
    }

    fn push_arm(&mut self, collection: &'static str, value: Value) -> Mapped {
        self.arm_lists.entry(collection).or_default();
        self.defer(Target::Arm(collection), value);
        Ok(Outcome::Mapped)
    }

    /// `{parentKey, listKey: [{itemKey: directoryObject}]}` as `collection[parent] += objects`.
    fn relationship(
        &mut self,
        d: &Map<String, Value>,
        parent_key: &str,
        list_key: &str,
        item_key: &str,
        collection: &'static str,
    ) -> Mapped {
        let parent = id_field(d, parent_key)?;
        let objects = nested(d, list_key, item_key)?;
        // A parent with no entries was read and has none.
        self.graph_keyed.entry(collection).or_default().entry(parent.clone()).or_default();
        for (_, object) in objects {
            self.defer(Target::GraphKeyed(collection, parent.clone()), object.into());
        }
        Ok(Outcome::Mapped)
    }

    /// An ARM resource record, AzureHound's own fields removed.
    fn resource(&mut self, kind: &str, mut d: Map<String, Value>) -> Mapped {
        let id = id_field(&d, "id")?;
        for extra in ["subscriptionId", "resourceGroupId", "resourceGroupName", "resourceGroup", "tenantId"] {
            d.remove(extra);
        }
        d.insert("id".into(), Value::String(id.clone()));
        if !d.get("type").is_some_and(Value::is_string) {
            d.insert("type".into(), Value::String(resource_type(kind).into()));
        }
        if self.queued_resources.contains(&id) || self.resources.contains_key(&id) {
            return Err(Skip::new("repeats an earlier record of the same resource"));
        }
        self.arm_lists.entry("resources").or_default();
        self.queued_resources.insert(id.clone());
        self.defer(Target::Resource(id), d.into());
        Ok(Outcome::Mapped)
    }

    /// Every ARM role assignment a record holds, whichever wrapper AzureHound used
    /// (`roleAssignments[].roleAssignment`, `assignees[].assignee`, `owners[].owner`, …).
    fn azure_role_assignments(&mut self, d: &Map<String, Value>) -> Mapped {
        let mut found = Vec::new();
        for list in d.values() {
            let Value::Array(items) = list else { continue };
            for item in items {
                let Value::Object(item) = item else { return Err(Skip::new("a list entry that is not an object")) };
                for a in item.values() {
                    if a.get("properties").and_then(|p| p.get("roleDefinitionId")).is_some() {
                        found.push(a);
                    }
                }
            }
        }
        let mut mapped = Vec::with_capacity(found.len());
        self.arm_lists.entry("roleAssignments").or_default();
        for a in found {
            let id = id_field(a.as_object().expect("checked above"), "id")?;
            let properties = &a["properties"];
            let mut props = Map::new();
            for key in ["principalId", "roleDefinitionId", "scope", "principalType", "condition", "conditionVersion"] {
                if let Some(v) = properties.get(key) {
                    props.insert(key.into(), v.clone());
                }
            }
            let value = json!({"id": id, "type": "Microsoft.Authorization/roleAssignments",
                               "name": a.get("name").cloned().unwrap_or(Value::Null), "properties": props});
            mapped.push((id, value));
        }
        for (id, value) in mapped {
            self.defer(Target::RoleAssignment(id), value);
        }
        Ok(Outcome::Mapped)
    }

    /// The facts of everything read, and the report. `collected_at` is when the collection was
    /// made (RFC 3339): PIM windows are evaluated at it. Fails only when no record names the tenant.
    pub fn finish(mut self, collected_at: &str) -> anyhow::Result<(CompactFacts, ImportReport)> {
        self.flush();
        self.resolve_pending();
        let tenant = match self.collected_tenant.take() {
            Some(t) => t,
            None => match self.tenant_ids.iter().max_by_key(|(_, n)| **n) {
                Some((id, _)) => TenantInfo { id: id.clone(), display_name: None, default_domain: None },
                None => anyhow::bail!(
                    "no record names the tenant (no AZTenant record and no tenantId); {} records read",
                    self.report.records()
                ),
            },
        };
        let mut graph: BTreeMap<String, String> = BTreeMap::new();
        for (name, list) in std::mem::take(&mut self.graph_lists) {
            graph.insert(name.into(), list.into_array());
        }
        for (name, keyed) in std::mem::take(&mut self.graph_keyed) {
            let mut text = String::from("{");
            for (parent, list) in keyed {
                if text.len() > 1 {
                    text.push(',');
                }
                text.push_str(&Value::from(parent).to_string());
                text.push(':');
                text.push_str(&list.into_array());
            }
            text.push('}');
            graph.insert(name.into(), text);
        }
        let mut arm: BTreeMap<String, String> = BTreeMap::new();
        for (name, list) in std::mem::take(&mut self.arm_lists) {
            arm.insert(name.into(), list.into_array());
        }
        // Sized once: growing by doubling would copy the largest collection (the VMs' text, two
        // fifths of an AzureHound file) while the map still holds it.
        let array = |items: BTreeMap<String, Box<str>>| {
            let mut list = TextList::with_capacity(items.values().map(|item| item.len() + 1).sum::<usize>() + 2);
            for item in items.into_values() {
                list.push(&item);
            }
            list.into_array()
        };
        if arm.contains_key("roleAssignments") {
            arm.insert("roleAssignments".into(), array(std::mem::take(&mut self.role_assignments)));
        }
        if arm.contains_key("resources") {
            for (id, identity) in std::mem::take(&mut self.identities) {
                self.resources.entry(id).or_insert(identity);
            }
            arm.insert("resources".into(), array(std::mem::take(&mut self.resources)));
        }
        let mut completeness = what_azurehound_lacks();
        for (file, message) in &self.truncated {
            completeness.push(CompletenessNote {
                what: "azurehound".into(),
                scope: Some(file.clone()),
                reason: format!(
                    "the file stops being valid JSON ({message}): records after that point are not collected"
                ),
            });
        }
        let mut raw = CompactFacts {
            format: FORMAT.into(),
            tenant,
            collected_at: collected_at.into(),
            source: Some("azurehound".into()),
            graph,
            arm,
            completeness,
            redacted: self.redacted,
        };
        raw.redacted += scrub_header(&mut raw.tenant, &mut raw.source, &mut raw.completeness);
        Ok((raw, self.report))
    }

    /// Records that name another record: app owners and federated credentials (the app by client
    /// id) and key vault access policies (the vault).
    fn resolve_pending(&mut self) {
        for (object, client, owner) in std::mem::take(&mut self.app_owners) {
            let app = object.or_else(|| self.app_by_client_id.get(&client).cloned());
            let outcome = match app {
                Some(app) => self.validator.check_keyed("applicationOwners", &app, owner).map(|owner| {
                    let owner = self.text(owner);
                    self.graph_keyed.entry("applicationOwners").or_default().entry(app).or_default().push(&owner);
                }),
                None => Err(Skip::new("its application is not in the collection")),
            };
            self.count_later("AZAppOwner", outcome);
        }
        for (client, credential) in std::mem::take(&mut self.app_credentials) {
            let outcome = match self.app_by_client_id.get(&client).cloned() {
                Some(app) => {
                    self.validator.check_keyed("applicationFederatedIdentityCredentials", &app, credential).map(|c| {
                        let c = self.text(c);
                        let keyed = self.graph_keyed.entry("applicationFederatedIdentityCredentials").or_default();
                        keyed.entry(app).or_default().push(&c);
                    })
                }
                None => Err(Skip::new("its application is not in the collection (credentials name it by client id)")),
            };
            self.count_later("AZFederatedIdentityCredential", outcome);
        }
        for (vault, policy) in std::mem::take(&mut self.access_policies) {
            let outcome = match self.resources.get(&vault) {
                None => Err(Skip::new("its key vault is not in the collection")),
                Some(text) => {
                    let mut v: Value = serde_json::from_str(text).expect("kept resources are JSON text");
                    let probe = json!({"id": vault, "type": "Microsoft.KeyVault/vaults",
                                       "properties": {"accessPolicies": [policy.clone()]}});
                    match self.validator.check_list("arm", "resources", probe) {
                        Err(skip) => Err(skip),
                        Ok(_) => {
                            let props = v.as_object_mut().expect("resources are objects").entry("properties");
                            let props = props.or_insert_with(|| json!({}));
                            if let Some(props) = props.as_object_mut() {
                                let list = props.entry("accessPolicies").or_insert_with(|| json!([]));
                                if list.is_null() {
                                    *list = json!([]);
                                }
                                if let Some(list) = list.as_array_mut()
                                    && !list.iter().any(|p| same_policy(p, &policy))
                                {
                                    list.push(policy);
                                }
                            }
                            let text = self.text(v);
                            self.resources.insert(vault, text.into_boxed_str());
                            Ok(())
                        }
                    }
                }
            };
            self.count_later("AZKeyVaultAccessPolicy", outcome);
        }
    }

    fn count_later(&mut self, kind: &str, outcome: Result<(), Skip>) {
        let count = self.report.kinds.entry(kind.into()).or_default();
        match outcome {
            Ok(()) => count.mapped += 1,
            Err(skip) => add_skip(count, skip),
        }
    }
}

fn add_skip(count: &mut KindCount, skip: Skip) {
    *count.skipped.entry(skip.reason).or_default() += 1;
    if let Some(detail) = skip.detail
        && count.examples.len() < 3
    {
        count.examples.push(detail);
    }
}

/// Two access policies for the same principal and application with the same permissions.
fn same_policy(a: &Value, b: &Value) -> bool {
    let key = |p: &Value| {
        let id = |k: &str| p.get(k).and_then(Value::as_str).map(str::to_ascii_lowercase);
        (id("objectId"), id("applicationId"), p.get("permissions").cloned())
    };
    key(a) == key(b)
}

/// The `*RoleAssignment` kinds of ARM scopes and resources, and the older per-role kinds
/// (`AZSubscriptionOwner`, `AZVMAdminLogin`, …) that repeat some of them.
fn is_role_assignment_kind(kind: &str) -> bool {
    let roles = ["Owner", "Contributor", "UserAccessAdmin", "KVContributor", "AdminLogin", "AvereContributor"];
    kind.starts_with("AZ")
        && kind != "AZAppRoleAssignment"
        && kind != "AZRoleAssignment"
        && (kind.ends_with("RoleAssignment")
            || (["AZManagementGroup", "AZSubscription", "AZResourceGroup", "AZKeyVault", "AZVM"].iter().any(|scope| {
                kind.strip_prefix(scope).is_some_and(|role| roles.contains(&role) || role == "VMContributor")
            })))
}

/// The ARM type of a resource record that lacks one.
fn resource_type(kind: &str) -> &'static str {
    match kind {
        "AZKeyVault" => "Microsoft.KeyVault/vaults",
        "AZVM" => "Microsoft.Compute/virtualMachines",
        "AZStorageAccount" => "Microsoft.Storage/storageAccounts",
        "AZStorageContainer" => "Microsoft.Storage/storageAccounts/blobServices/containers",
        "AZAutomationAccount" => "Microsoft.Automation/automationAccounts",
        "AZFunctionApp" | "AZWebApp" => "Microsoft.Web/sites",
        "AZLogicApp" => "Microsoft.Logic/workflows",
        "AZManagedCluster" => "Microsoft.ContainerService/managedClusters",
        "AZContainerRegistry" => "Microsoft.ContainerRegistry/registries",
        _ => "Microsoft.Compute/virtualMachineScaleSets",
    }
}

/// A required id: a non-empty string of at most [`MAX_ID_BYTES`], lower-cased (AzureHound upper-cases ids).
fn id_field(d: &Map<String, Value>, key: &str) -> Result<String, Skip> {
    match d.get(key) {
        Some(Value::String(s)) if s.is_empty() => Err(Skip::new(format!("`{key}` is empty"))),
        Some(Value::String(s)) if s.len() > MAX_ID_BYTES => {
            Err(Skip::new(format!("`{key}` is longer than {MAX_ID_BYTES} bytes")))
        }
        Some(Value::String(s)) => Ok(s.to_ascii_lowercase()),
        None | Some(Value::Null) => Err(Skip::new(format!("`{key}` is missing"))),
        Some(other) => Err(Skip::new(format!("`{key}` is {}, not a string", type_name(other)))),
    }
}

/// An optional array field (absent or null: empty).
fn array_field<'a>(d: &'a Map<String, Value>, key: &str) -> Result<&'a [Value], Skip> {
    match d.get(key) {
        None | Some(Value::Null) => Ok(&[]),
        Some(Value::Array(a)) => Ok(a),
        Some(other) => Err(Skip::new(format!("`{key}` is {}, not an array", type_name(other)))),
    }
}

/// A list entry and the object it wraps.
type Wrapped = (Map<String, Value>, Map<String, Value>);

/// `{list: [{item: {...}}]}`: each entry with its inner object (ids lower-cased).
fn nested(d: &Map<String, Value>, list: &str, item: &str) -> Result<Vec<Wrapped>, Skip> {
    let mut out = Vec::new();
    for entry in array_field(d, list)? {
        let Value::Object(entry) = entry else {
            return Err(Skip::new(format!("an entry of `{list}` is not an object")));
        };
        let mut entry = entry.clone();
        let inner = match entry.remove(item) {
            Some(Value::Object(inner)) => inner,
            _ => return Err(Skip::new(format!("an entry of `{list}` has no `{item}` object"))),
        };
        let mut inner = inner;
        id_field(&inner, "id")?;
        lower_ids(&mut inner, &["id", "appId"]);
        out.push((entry, inner));
    }
    Ok(out)
}

fn strip_tenant(d: &mut Map<String, Value>) {
    d.remove("tenantId");
    d.remove("tenantName");
}

/// Lower-cases the string fields named (AzureHound upper-cases ids; azpath compares them lower-cased).
fn lower_ids(d: &mut Map<String, Value>, keys: &[&str]) {
    for key in keys {
        if let Some(Value::String(s)) = d.get_mut(*key) {
            s.make_ascii_lowercase();
        }
    }
}

/// serde's message with any quoted input replaced (a value of the wrong type may be a credential).
fn redact_quoted(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut quoted = false;
    let mut escaped = false;
    for c in message.chars() {
        if quoted {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                quoted = false;
                out.push_str("[redacted]\"");
            }
            continue;
        }
        out.push(c);
        quoted = c == '"';
    }
    out
}

/// What an AzureHound collection never holds, though azpath's rules use it: named in every
/// snapshot imported from one, so a missing path is never silent.
fn what_azurehound_lacks() -> Vec<CompletenessNote> {
    let note = |what: &str, scope: Option<&str>, reason: &str| CompletenessNote {
        what: what.into(),
        scope: scope.map(str::to_string),
        reason: format!("AzureHound does not collect {reason}"),
    };
    vec![
        note("arm.roleDefinitions", None, "Azure role definitions: assignments of custom roles grant nothing here"),
        note(
            "arm.roleEligibilitySchedules",
            None,
            "Azure resource PIM eligibilities: eligible Azure roles are missing",
        ),
        note("graph.groupEligibilitySchedules", None, "PIM for Groups eligibilities"),
        note("arm.denyAssignments", None, "deny assignments: a path they would block is shown"),
        note("arm.locks", None, "management locks: a path a ReadOnly lock would block is shown"),
        note("graph.administrativeUnits", None, "administrative units: unit-scoped roles reach nothing"),
        note(
            "arm.roleAssignments",
            Some("properties.condition"),
            "role assignment conditions: a conditional assignment reads as unconditional",
        ),
        note(
            "arm.resources",
            Some("Microsoft.Storage/storageAccounts properties.allowSharedKeyAccess"),
            "allowSharedKeyAccess unless it is true (false is omitted): shared-key paths are shown for every account",
        ),
        note(
            "arm.resources",
            Some("properties.disableLocalAuth"),
            "disableLocalAuth unless it is true, nor Cosmos DB accounts and their data-plane roles",
        ),
        note(
            "arm.resources",
            Some("Microsoft.ManagedIdentity/userAssignedIdentities"),
            "user-assigned identities that are not attached to a collected resource, nor their federated credentials",
        ),
        note(
            "arm.resources",
            Some("Microsoft.MachineLearningServices, Microsoft.CognitiveServices"),
            "AI and machine learning resources (workspaces, datastores, connections, computes, AI services)",
        ),
        note(
            "arm.resources",
            Some("Microsoft.ContainerService/managedClusters properties"),
            "AKS kubelet identities, Azure RBAC for Kubernetes or local account settings",
        ),
        note(
            "arm.resources",
            Some("Microsoft.Web/sites/basicPublishingCredentialsPolicies"),
            "App Service basic authentication policies: SCM basic-auth paths stay conditional",
        ),
    ]
}

/// Checks one mapped record with the facts parser itself, in a facts file where every other
/// collection is present and empty: a wrongly typed record is skipped with the parser's message
/// instead of failing the whole import.
struct Validator {
    raw: RawFacts,
}

const KEYED: &[&str] = &[
    "groupMembers",
    "groupOwners",
    "servicePrincipalOwners",
    "servicePrincipalAppRoleAssignments",
    "applicationOwners",
    "applicationFederatedIdentityCredentials",
    "administrativeUnitMembers",
];

impl Validator {
    fn new() -> Validator {
        let empty = |c: &&str| (c.to_string(), if KEYED.contains(c) { json!({}) } else { json!([]) });
        Validator {
            raw: RawFacts {
                format: FORMAT.into(),
                tenant: TenantInfo { id: "t".into(), display_name: None, default_domain: None },
                collected_at: "2000-01-01T00:00:00Z".into(),
                source: None,
                graph: GRAPH_COLLECTIONS.iter().map(empty).collect(),
                arm: ARM_COLLECTIONS.iter().map(empty).collect(),
                completeness: Vec::new(),
            },
        }
    }

    fn check_list(&mut self, side: &str, collection: &str, value: Value) -> Result<Value, Skip> {
        let map = if side == "graph" { &mut self.raw.graph } else { &mut self.raw.arm };
        map.insert(collection.into(), Value::Array(vec![value]));
        let result = crate::facts::parse(&self.raw);
        let map = if side == "graph" { &mut self.raw.graph } else { &mut self.raw.arm };
        let Some(Value::Array(mut one)) = map.insert(collection.into(), json!([])) else {
            unreachable!("the collection was just inserted as an array")
        };
        let value = one.pop().expect("one value was inserted");
        result.map(|_| value).map_err(parse_skip)
    }

    /// Checks a batch in one parse; when that fails, each value on its own, to name the records
    /// at fault. Returns the values in order, and the records that failed with why.
    fn check_batch(&mut self, batch: Vec<Pending>) -> (Vec<Pending>, HashMap<usize, Skip>) {
        let mut places = Vec::with_capacity(batch.len());
        for p in batch {
            let (graph, collection, parent) = p.target.place();
            let side = if graph { &mut self.raw.graph } else { &mut self.raw.arm };
            let slot = side.get_mut(collection).expect("every collection is present");
            match (parent, slot) {
                (None, Value::Array(list)) => list.push(p.value),
                (Some(parent), Value::Object(keyed)) => {
                    let list = keyed.entry(parent.to_string()).or_insert_with(|| json!([]));
                    list.as_array_mut().expect("lists are arrays").push(p.value);
                }
                _ => unreachable!("list collections are arrays and keyed ones objects"),
            }
            places.push((p.record, p.target));
        }
        let whole = crate::facts::parse(&self.raw).map(|_| ());
        // Take the values back out, in the order they went in.
        type Place = (bool, &'static str, Option<String>);
        let mut drained: HashMap<Place, std::vec::IntoIter<Value>> = HashMap::new();
        for (_, target) in &places {
            let (graph, collection, parent) = target.place();
            let key = (graph, collection, parent.map(str::to_string));
            if drained.contains_key(&key) {
                continue;
            }
            let side = if graph { &mut self.raw.graph } else { &mut self.raw.arm };
            let slot = side.get_mut(collection).expect("every collection is present");
            let list = match (&key.2, slot) {
                (None, Value::Array(list)) => std::mem::take(list),
                (Some(parent), Value::Object(keyed)) => match keyed.remove(parent) {
                    Some(Value::Array(list)) => list,
                    _ => unreachable!("the parent's list was filled above"),
                },
                _ => unreachable!("list collections are arrays and keyed ones objects"),
            };
            drained.insert(key, list.into_iter());
        }
        let mut out = Vec::with_capacity(places.len());
        for (record, target) in places {
            let (graph, collection, parent) = target.place();
            let key = (graph, collection, parent.map(str::to_string));
            let value = drained.get_mut(&key).and_then(Iterator::next).expect("one value per place");
            out.push(Pending { record, target, value });
        }
        let mut failed = HashMap::new();
        if whole.is_err() {
            for p in &mut out {
                if failed.contains_key(&p.record) {
                    continue;
                }
                let value = std::mem::take(&mut p.value);
                let (graph, collection, parent) = p.target.place();
                let checked = match parent {
                    Some(parent) => self.check_keyed(collection, parent, value),
                    None => self.check_list(if graph { "graph" } else { "arm" }, collection, value),
                };
                match checked {
                    Ok(value) => p.value = value,
                    Err(skip) => {
                        failed.insert(p.record, skip);
                    }
                }
            }
        }
        (out, failed)
    }

    fn check_keyed(&mut self, collection: &str, parent: &str, value: Value) -> Result<Value, Skip> {
        let one = Map::from_iter([(parent.to_string(), Value::Array(vec![value]))]);
        self.raw.graph.insert(collection.into(), Value::Object(one));
        let result = crate::facts::parse(&self.raw);
        let Some(Value::Object(mut one)) = self.raw.graph.insert(collection.into(), json!({})) else {
            unreachable!("the collection was just inserted as an object")
        };
        let Some(Value::Array(mut list)) = one.remove(parent) else { unreachable!("the parent was just inserted") };
        let value = list.pop().expect("one value was inserted");
        result.map(|_| value).map_err(parse_skip)
    }
}

impl Target {
    /// Where a value of this target sits in a facts file: Graph or ARM, collection, parent.
    fn place(&self) -> (bool, &'static str, Option<&str>) {
        match self {
            Target::Graph(c) => (true, c, None),
            Target::GraphKeyed(c, parent) => (true, c, Some(parent)),
            Target::Arm(c) => (false, c, None),
            Target::Resource(_) => (false, "resources", None),
            Target::RoleAssignment(_) => (false, "roleAssignments", None),
        }
    }
}

/// The parser's error as a skip: the reason without the position and object (so reasons add up),
/// the detail with the object's id.
fn parse_skip(e: crate::facts::ParseError) -> Skip {
    let field = e.path.split_once("[0]").map(|(_, rest)| rest.trim_start_matches('.')).unwrap_or(&e.path);
    let field = if field.is_empty() { "the record".to_string() } else { format!("`{field}`") };
    let field = strip_positions(&field);
    let reason = format!("{field}: {}", e.message);
    let detail = match &e.object {
        Some(id) => format!("{reason} (object {id})"),
        None => reason.clone(),
    };
    Skip { reason, detail: Some(detail) }
}

/// `accessPolicies[3].objectId` as `accessPolicies[].objectId`.
fn strip_positions(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut inside = false;
    for c in path.chars() {
        match c {
            '[' => {
                inside = true;
                out.push('[');
            }
            ']' => {
                inside = false;
                out.push(']');
            }
            c if inside && c.is_ascii_digit() => {}
            c => out.push(c),
        }
    }
    out
}

/// A reader that counts the bytes it gives out.
struct Counted<'a, R> {
    inner: R,
    bytes: &'a std::cell::Cell<u64>,
}

impl<R: Read> Read for Counted<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.bytes.set(self.bytes.get() + n as u64);
        Ok(n)
    }
}

/// The top-level object: `data` streamed record by record, `meta` read whole (it is small),
/// anything else skipped unread.
struct DocumentSeed<'a> {
    parsed: &'a mut Parsed,
    meta_count: &'a mut Option<u64>,
}

/// How many parsed records go to the mapping thread together, and how many such batches may wait
/// for it: enough to keep both threads busy, a few megabytes at most.
const PARSED_BATCH: usize = 256;
const BATCHES_AHEAD: usize = 4;

/// Parsed records on their way to the mapping thread.
struct Parsed {
    batch: Vec<Value>,
    send: std::sync::mpsc::SyncSender<Vec<Value>>,
}

impl Parsed {
    fn push(&mut self, record: Value) {
        self.batch.push(record);
        if self.batch.len() >= PARSED_BATCH {
            self.flush();
        }
    }

    /// Sends what is waiting. A send fails only when the mapping thread has stopped (it
    /// panicked, and joining it says so).
    fn flush(&mut self) {
        if !self.batch.is_empty() {
            let batch = std::mem::replace(&mut self.batch, Vec::with_capacity(PARSED_BATCH));
            let _ = self.send.send(batch);
        }
    }
}

impl<'de> DeserializeSeed<'de> for DocumentSeed<'_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for DocumentSeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an AzureHound collection: a JSON object with a `data` array")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen_data = false;
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "data" if !seen_data => {
                    seen_data = true;
                    map.next_value_seed(RecordsSeed(self.parsed))?;
                }
                "meta" => {
                    let meta: Value = map.next_value()?;
                    *self.meta_count = meta.get("count").and_then(Value::as_u64);
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        if !seen_data {
            return Err(serde::de::Error::custom("no `data` array"));
        }
        Ok(())
    }
}

struct RecordsSeed<'a>(&'a mut Parsed);

impl<'de> DeserializeSeed<'de> for RecordsSeed<'_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for RecordsSeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an array of AzureHound records")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(record) = seq.next_element::<Value>()? {
            self.0.push(record);
        }
        Ok(())
    }
}

/// Distinct kinds AzureHound writes that azpath maps (for the documentation test).
pub const MAPPED_KINDS: &[&str] = &[
    "AZApp",
    "AZAppOwner",
    "AZAppRoleAssignment",
    "AZAutomationAccount",
    "AZContainerRegistry",
    "AZFederatedIdentityCredential",
    "AZFunctionApp",
    "AZGroup",
    "AZGroupMember",
    "AZGroupOwner",
    "AZKeyVault",
    "AZKeyVaultAccessPolicy",
    "AZLogicApp",
    "AZManagedCluster",
    "AZManagementGroup",
    "AZManagementGroupDescendant",
    "AZResourceGroup",
    "AZRole",
    "AZRoleAssignment",
    "AZRoleEligibilityScheduleInstance",
    "AZServicePrincipal",
    "AZServicePrincipalOwner",
    "AZStorageAccount",
    "AZStorageContainer",
    "AZSubscription",
    "AZTenant",
    "AZUser",
    "AZVM",
    "AZVMScaleSet",
    "AZWebApp",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_assignment_kinds() {
        for kind in [
            "AZVMRoleAssignment",
            "AZSubscriptionOwner",
            "AZKeyVaultKVContributor",
            "AZVMAdminLogin",
            "AZVMVMContributor",
        ] {
            assert!(is_role_assignment_kind(kind), "{kind}");
        }
        for kind in ["AZAppRoleAssignment", "AZRoleAssignment", "AZGroupOwner", "AZAppOwner", "AZServicePrincipalOwner"]
        {
            assert!(!is_role_assignment_kind(kind), "{kind}");
        }
    }

    #[test]
    fn quoted_input_is_redacted_from_serde_messages() {
        assert_eq!(
            redact_quoted(r#"invalid type: string "hunter\"2", expected x"#),
            r#"invalid type: string "[redacted]", expected x"#
        );
    }

    #[test]
    fn positions_are_dropped_from_reasons() {
        assert_eq!(
            strip_positions("`properties.accessPolicies[3].objectId`"),
            "`properties.accessPolicies[].objectId`"
        );
    }
}
