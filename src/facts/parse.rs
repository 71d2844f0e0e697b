//! From raw Graph/ARM JSON ([`RawFacts`]) to typed [`Facts`].

use super::ids::{arm_parent, arm_type, last_segment, norm};
use super::*;
use crate::glob::ActionPattern;
use crate::rbac::{Permission, RoleDefinition};
use chrono::{DateTime, Utc};
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use std::borrow::Cow;

/// A facts file that cannot be read: where (the JSON path of the offending value, and the `id` of
/// the object holding it) and why.
#[derive(Debug, thiserror::Error)]
pub struct ParseError {
    /// Path of the offending value in the facts file: `arm.resources[12].properties.accessPolicies`.
    pub path: String,
    /// The `id` of the object holding the value, when it has one (array positions alone are hard to find).
    pub object: Option<String>,
    pub message: String,
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.object {
            Some(id) => write!(f, "{} (object {id}): {}", self.path, self.message),
            None => write!(f, "{}: {}", self.path, self.message),
        }
    }
}

type Result<T> = std::result::Result<T, ParseError>;

/// The path of `key` inside the value at `parent`: `parent.key`, or `parent["key"]` (a JSON string)
/// when the key is not a plain name (ARM ids keying a map, `@odata.type`).
fn child_path(parent: &str, key: &str) -> String {
    let plain = !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '$'));
    if plain { format!("{parent}.{key}") } else { format!("{parent}[{}]", Value::from(key)) }
}

/// The keys of a dotted field path relative to an object. `@odata.type` is one key.
fn keys(rel: &str) -> impl Iterator<Item = &str> {
    let whole = rel.starts_with('@');
    rel.split(move |c| !whole && c == '.')
}

/// Where an object is in the facts file, formatted only when an error names it: a path, or the
/// `i`th element of the array at a shared path (most objects are such elements).
#[derive(Clone, Debug)]
enum Path {
    Text(String),
    Element(std::rc::Rc<str>, usize),
}

impl std::fmt::Display for Path {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Path::Text(at) => f.write_str(at),
            Path::Element(at, i) => write!(f, "{at}[{i}]"),
        }
    }
}

fn wrong_type(path: String, object: Option<String>, expected: &str, found: &Value) -> ParseError {
    ParseError { path, object, message: format!("expected {expected}, found {}", type_name(found)) }
}

/// One JSON object being read, with its path in the facts file and its `id`, to name it in errors.
/// Every accessor tells "absent or null" (`None`, the documented default applies) from "present
/// with the wrong type" (an error naming the path): a wrong guess would add or remove paths.
struct Obj<'a> {
    map: &'a Map<String, Value>,
    path: Path,
    id: Option<&'a str>,
}

impl<'a> Obj<'a> {
    fn new(value: &'a Value, path: Path) -> Result<Obj<'a>> {
        let map = value.as_object().ok_or_else(|| wrong_type(path.to_string(), None, "an object", value))?;
        let id = map.get("id").and_then(Value::as_str);
        Ok(Obj { map, path, id })
    }

    /// An object nested in this one, named in errors by its own `id` or else by this object's.
    fn nested(&self, value: &'a Value, path: Path) -> Result<Obj<'a>> {
        let map = value.as_object().ok_or_else(|| wrong_type(path.to_string(), self.object(), "an object", value))?;
        let id = map.get("id").and_then(Value::as_str).or(self.id);
        Ok(Obj { map, path, id })
    }

    /// The `id` naming this object in errors.
    fn object(&self) -> Option<String> {
        self.id.map(str::to_string)
    }

    /// The full path of a field given relative to this object (`properties.accessPolicies`).
    fn path_of(&self, rel: &str) -> String {
        keys(rel).fold(self.path.to_string(), |at, k| child_path(&at, k))
    }

    /// An error about this object as a whole.
    fn err(&self, message: impl Into<String>) -> ParseError {
        ParseError { path: self.path.to_string(), object: self.object(), message: message.into() }
    }

    /// An error about the field at `rel`.
    fn err_at(&self, rel: &str, message: impl Into<String>) -> ParseError {
        ParseError { path: self.path_of(rel), object: self.object(), message: message.into() }
    }

    fn wrong(&self, rel: &str, expected: &str, found: &Value) -> ParseError {
        wrong_type(self.path_of(rel), self.object(), expected, found)
    }

    /// The value at `rel`; `None` when it, or an object on the way to it, is absent or null. An
    /// object on the way that is something else (`"expiration": "2026-01-01"`) is an error.
    fn get(&self, rel: &str) -> Result<Option<&'a Value>> {
        let mut map = self.map;
        let mut rest = keys(rel).peekable();
        let mut depth = 0;
        while let Some(key) = rest.next() {
            let value = match map.get(key) {
                None | Some(Value::Null) => return Ok(None),
                Some(v) => v,
            };
            depth += 1;
            if rest.peek().is_none() {
                return Ok(Some(value));
            }
            map = value.as_object().ok_or_else(|| {
                // The path is only written out for an error.
                let at = keys(rel).take(depth).fold(self.path.to_string(), |at, k| child_path(&at, k));
                wrong_type(at, self.object(), "an object", value)
            })?;
        }
        Ok(None)
    }

    fn str_opt(&self, rel: &str) -> Result<Option<String>> {
        match self.get(rel)? {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(v) => Err(self.wrong(rel, "a string", v)),
        }
    }

    fn str_req(&self, rel: &str) -> Result<String> {
        self.str_opt(rel)?.ok_or_else(|| self.err_at(rel, "missing required field"))
    }

    /// A required id that must not be blank: an empty `scope` would silently drop its assignment.
    fn id_req(&self, rel: &str) -> Result<String> {
        let s = self.str_req(rel)?;
        if s.trim().is_empty() {
            return Err(self.err_at(rel, "must not be empty"));
        }
        Ok(s)
    }

    /// A security flag: absent or null is `None` (Azure's default applies); anything but a boolean
    /// is an error, because guessing would create or hide a path.
    fn bool_strict(&self, rel: &str) -> Result<Option<bool>> {
        match self.get(rel)? {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(v) => Err(self.err_at(
                rel,
                format!(
                    "expected true, false or null, found {}; azpath will not guess a security setting",
                    type_name(v)
                ),
            )),
        }
    }

    /// A list of Azure action patterns (`actions`, `notActions`, ...), compiled for matching.
    fn patterns(&self, rel: &str) -> Result<Vec<ActionPattern>> {
        Ok(self.str_list(rel)?.into_iter().map(ActionPattern::from).collect())
    }

    /// An array of strings; absent or null is empty. A null entry is an error (a dropped
    /// `notActions` entry would grant more).
    fn str_list(&self, rel: &str) -> Result<Vec<String>> {
        let Some(items) = self.array(rel)? else { return Ok(vec![]) };
        items
            .iter()
            .enumerate()
            .map(|(i, v)| {
                v.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| wrong_type(format!("{}[{i}]", self.path_of(rel)), self.object(), "a string", v))
            })
            .collect()
    }

    /// An array at `rel`, or `None` when absent or null.
    fn array(&self, rel: &str) -> Result<Option<&'a Vec<Value>>> {
        match self.get(rel)? {
            None => Ok(None),
            Some(Value::Array(items)) => Ok(Some(items)),
            Some(v) => Err(self.wrong(rel, "an array", v)),
        }
    }

    /// An array of objects at `rel` (absent or null: none), each read with its own path.
    fn objects(&self, rel: &str) -> Result<Vec<Obj<'a>>> {
        let items = self.array(rel)?.map(Vec::as_slice).unwrap_or_default();
        if items.is_empty() {
            return Ok(vec![]);
        }
        let at: std::rc::Rc<str> = self.path_of(rel).into();
        items.iter().enumerate().map(|(i, v)| self.nested(v, Path::Element(at.clone(), i))).collect()
    }

    /// An object used as a map at `rel` (absent or null: empty): its keys, and each value as an
    /// object (`None` when the value is null).
    fn entries(&self, rel: &str) -> Result<Vec<(&'a str, Option<Obj<'a>>)>> {
        let map = match self.get(rel)? {
            None => return Ok(vec![]),
            Some(Value::Object(m)) => m,
            Some(v) => return Err(self.wrong(rel, "an object", v)),
        };
        let at = self.path_of(rel);
        map.iter()
            .map(|(k, v)| {
                Ok((k.as_str(), if v.is_null() { None } else { Some(self.nested(v, Path::Text(child_path(&at, k)))?) }))
            })
            .collect()
    }

    /// `tags`: an object of strings (ARM tag values are strings).
    fn tags(&self) -> Result<super::Tags> {
        let mut tags = BTreeMap::new();
        let map = match self.get("tags")? {
            None => return Ok(super::Tags::default()),
            Some(Value::Object(m)) => m,
            Some(v) => return Err(self.wrong("tags", "an object", v)),
        };
        for (k, v) in map {
            let v = v
                .as_str()
                .ok_or_else(|| wrong_type(child_path(&self.path_of("tags"), k), self.object(), "a string", v))?;
            tags.insert(k.clone(), v.to_string());
        }
        Ok(tags.into_iter().collect())
    }

    fn time_opt(&self, rel: &str) -> Result<Option<DateTime<Utc>>> {
        match self.str_opt(rel)? {
            None => Ok(None),
            Some(s) => parse_time(&s).map(Some).ok_or_else(|| self.err_at(rel, format!("not an RFC 3339 time: {s:?}"))),
        }
    }
}

/// How an error names a JSON value's type: "an array", "a string".
pub fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s).ok().map(|t| t.with_timezone(&Utc))
}

/// The objects of one collection read so far, by normalised id, to catch one object given twice
/// (Azure ids compare case-insensitively). A repeat that says the same once ids are normalised (an
/// inherited role assignment listed at every scope below it) is dropped; two different objects
/// under one id are an error naming both, never a merge of one copy's properties with the other's.
struct Unique<T> {
    seen: Seen,
    keys: Vec<String>,
    values: Vec<T>,
}

impl<T: PartialEq> Unique<T> {
    fn new() -> Self {
        Unique { seen: Seen::with_capacity(0), keys: Vec::new(), values: Vec::new() }
    }

    /// Whether the object read at `o` is new: `canonical` is its parsed value with its ids normalised.
    fn admit(&mut self, o: &Obj, key: &str, canonical: T) -> Result<bool> {
        let (keys, values) = (&self.keys, &self.values);
        let new = self.seen.admit(
            key,
            &o.path,
            values.len(),
            |i| keys[i] == key,
            |i| values[i] == canonical,
            |m| o.err(m),
        )?;
        if new {
            self.keys.push(key.to_string());
            self.values.push(canonical);
        }
        Ok(new)
    }
}

/// The keys of a collection's objects read so far, to find a repeat and compare it with its
/// first copy where that is kept (at its position in the facts' list, or in a [`Unique`]), so
/// that no second copy of each object or of its key is kept. Keys are found by a hash of their
/// text and told apart by the first copies' own keys (`has_key`), so a collision of hashes is
/// only a slower lookup.
struct Seen<S = foldhash::fast::RandomState> {
    hash: S,
    /// Key hash -> (position of the first copy, its entry in `paths`), for the first key with that hash.
    first: foldhash::HashMap<u64, (u32, u32)>,
    /// The keys whose hash an earlier, different key has.
    collided: foldhash::HashMap<String, (u32, u32)>,
    /// Where each first copy is, in the order they were read.
    paths: Vec<Path>,
}

impl Seen {
    /// For a collection of about `n` objects.
    fn with_capacity(n: usize) -> Seen {
        Seen::with_hasher_and_capacity(n)
    }
}

impl<S: std::hash::BuildHasher + Default> Seen<S> {
    fn with_hasher_and_capacity(n: usize) -> Self {
        Seen {
            hash: Default::default(),
            first: foldhash::HashMap::with_capacity_and_hasher(n, Default::default()),
            collided: Default::default(),
            paths: Vec::with_capacity(n),
        }
    }

    /// Whether the object at `path` with `key` is new; if so it is recorded as the value at
    /// position `next`. `has_key(i)`: whether the value at `i` has the key `key`. A repeat is
    /// dropped when `same(first)` (its first copy is at `first`, and says the same), and is an
    /// error made by `err` from a message naming the first copy otherwise.
    fn admit(
        &mut self,
        key: &str,
        path: &Path,
        next: usize,
        has_key: impl Fn(usize) -> bool,
        same: impl FnOnce(usize) -> bool,
        err: impl FnOnce(String) -> ParseError,
    ) -> Result<bool> {
        let new = (u32::try_from(next).expect("fewer than 2^32 objects"), self.paths.len() as u32);
        let (at, n) = match self.first.entry(std::hash::BuildHasher::hash_one(&self.hash, key)) {
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(new);
                self.paths.push(path.clone());
                return Ok(true);
            }
            std::collections::hash_map::Entry::Occupied(o) if has_key(o.get().0 as usize) => *o.get(),
            std::collections::hash_map::Entry::Occupied(_) => match self.collided.get(key) {
                Some(first) => *first,
                None => {
                    self.collided.insert(key.to_string(), new);
                    self.paths.push(path.clone());
                    return Ok(true);
                }
            },
        };
        if same(at as usize) {
            return Ok(false);
        }
        Err(err(format!(
            "the same id as {} (ids compare case-insensitively), with different content; \
             azpath will not choose between them",
            self.paths[n as usize]
        )))
    }
}

/// Whether `key` is `a|b`, the key of a relationship between `a` and `b`.
fn is_pair(key: &str, a: &str, b: &str) -> bool {
    key.len() == a.len() + 1 + b.len() && key.starts_with(a) && key.as_bytes()[a.len()] == b'|' && key.ends_with(b)
}

/// `key` set to `a|b`, the key of a relationship between `a` and `b` (one buffer for all).
fn pair<'k>(key: &'k mut String, a: &str, b: &str) -> &'k str {
    key.clear();
    key.push_str(a);
    key.push('|');
    key.push_str(b);
    key
}

/// Object ids already taken by a user, group, service principal, application or administrative
/// unit (one id space in Entra), with where: the same id on two kinds of object is an error.
#[derive(Default)]
struct DirectoryIds(foldhash::HashMap<String, Path>);

impl DirectoryIds {
    /// `id` for the object at `path`; `err` makes the error about it from a message.
    fn claim(&mut self, path: &Path, id: &str, err: impl FnOnce(String) -> ParseError) -> Result<()> {
        if let Some(first) = self.0.get(id) {
            return Err(err(format!("the same object id as {first} (ids compare case-insensitively)")));
        }
        self.0.insert(id.to_string(), path.clone());
        Ok(())
    }
}

/// The collections of one side of a facts file: JSON values (built in memory), or compact JSON
/// text per collection (read from a file or the store), whose objects are parsed one at a time so
/// the whole side never exists as a JSON tree.
#[derive(Clone, Copy)]
pub enum Collections<'a> {
    Values(&'a BTreeMap<String, Value>),
    Texts(&'a BTreeMap<String, String>),
}

/// What [`parse`] reads: a facts file's header, its completeness notes, and its two sides.
pub trait FactSource {
    fn format(&self) -> &str;
    fn collected_at(&self) -> &str;
    fn tenant(&self) -> &TenantInfo;
    fn completeness_with_missing(&self) -> Vec<CompletenessNote>;
    fn graph(&self) -> Collections<'_>;
    fn arm(&self) -> Collections<'_>;
}

impl FactSource for RawFacts {
    fn format(&self) -> &str {
        &self.format
    }
    fn collected_at(&self) -> &str {
        &self.collected_at
    }
    fn tenant(&self) -> &TenantInfo {
        &self.tenant
    }
    fn completeness_with_missing(&self) -> Vec<CompletenessNote> {
        RawFacts::completeness_with_missing(self)
    }
    fn graph(&self) -> Collections<'_> {
        Collections::Values(&self.graph)
    }
    fn arm(&self) -> Collections<'_> {
        Collections::Values(&self.arm)
    }
}

/// One element of a collection: a value of the file, or compact text still to be parsed.
#[derive(Clone, Copy)]
enum Element<'a> {
    Value(&'a Value),
    Text(&'a str),
}

/// The entries of an object, by key (a relationship collection's parents).
type Entries<'a> = Vec<(Cow<'a, str>, Element<'a>)>;

/// One object of a collection, parsed (when it came as text), with its path in the facts file.
struct Item<'a> {
    value: Cow<'a, Value>,
    path: Path,
}

impl Item<'_> {
    fn obj(&self) -> Result<Obj<'_>> {
        Obj::new(&self.value, self.path.clone())
    }
}

impl<'a> Element<'a> {
    fn load(self, path: Path) -> Result<Item<'a>> {
        let value = match self {
            Element::Value(v) => Cow::Borrowed(v),
            Element::Text(t) => Cow::Owned(serde_json::from_str(t).map_err(|e| corrupt(&path.to_string(), e))?),
        };
        Ok(Item { value, path })
    }

    /// The element as a list of elements; `None` when it is null; an error naming its type otherwise.
    fn list(self, at: &str, expected: &str) -> Result<Option<Vec<Element<'a>>>> {
        match self {
            Element::Value(Value::Null) => Ok(None),
            Element::Value(Value::Array(items)) => Ok(Some(items.iter().map(Element::Value).collect())),
            Element::Value(v) => Err(wrong_type(at.to_string(), None, expected, v)),
            Element::Text(t) => match serde_json::from_str::<Option<Vec<&RawValue>>>(t) {
                Ok(items) => Ok(items.map(|items| items.into_iter().map(|r| Element::Text(r.get())).collect())),
                Err(_) => Err(Self::text_type_error(t, at, expected)),
            },
        }
    }

    /// The element as an object of elements; `None` when it is null.
    fn map(self, at: &str, expected: &str) -> Result<Option<Entries<'a>>> {
        match self {
            Element::Value(Value::Null) => Ok(None),
            Element::Value(Value::Object(m)) => {
                Ok(Some(m.iter().map(|(k, v)| (Cow::Borrowed(k.as_str()), Element::Value(v))).collect()))
            }
            Element::Value(v) => Err(wrong_type(at.to_string(), None, expected, v)),
            // A BTreeMap, as serde_json's own map: keys sorted, the last of a repeated key kept.
            Element::Text(t) => match serde_json::from_str::<Option<BTreeMap<String, &RawValue>>>(t) {
                Ok(m) => Ok(m.map(|m| m.into_iter().map(|(k, v)| (Cow::Owned(k), Element::Text(v.get()))).collect())),
                Err(_) => Err(Self::text_type_error(t, at, expected)),
            },
        }
    }

    /// Text that is not what was expected: its type named as for a value (only this text is parsed).
    fn text_type_error(t: &str, at: &str, expected: &str) -> ParseError {
        match serde_json::from_str::<Value>(t) {
            Ok(v) => wrong_type(at.to_string(), None, expected, &v),
            Err(e) => corrupt(at, e),
        }
    }
}

/// Stored text that is not JSON (a damaged database): never expected from azpath's own writes.
fn corrupt(path: &str, e: serde_json::Error) -> ParseError {
    ParseError { path: path.to_string(), object: None, message: format!("not valid JSON: {e}") }
}

/// One side of the facts file (`graph` or `arm`), to read its collections with their paths.
struct Side<'a> {
    name: &'static str,
    source: Source<'a>,
}

/// Where a [`Side`]'s collections are: borrowed from the facts file, or owned and read one at a
/// time ([`parse_consuming`]).
enum Source<'a> {
    Borrowed(Collections<'a>),
    Consumed(Consumed<'a>),
}

/// Collections owned and read one at a time: the texts not read yet, the one being read (held
/// until the next is asked for, so that only one is held as text while the facts grow), and
/// where each goes once read.
struct Consumed<'a> {
    texts: std::collections::BTreeMap<String, String>,
    current: Option<(String, String)>,
    done: &'a (dyn Fn(&'static str, String, String) + Sync),
    /// The collections handed on: the parsers read each once, which the tests check.
    #[cfg(debug_assertions)]
    handed: Vec<String>,
}

impl<'a> Side<'a> {
    fn new(name: &'static str, collections: Collections<'a>) -> Side<'a> {
        Side { name, source: Source::Borrowed(collections) }
    }

    fn consuming(
        name: &'static str,
        texts: std::collections::BTreeMap<String, String>,
        done: &'a (dyn Fn(&'static str, String, String) + Sync),
    ) -> Side<'a> {
        let consumed = Consumed {
            texts,
            current: None,
            done,
            #[cfg(debug_assertions)]
            handed: Vec::new(),
        };
        Side { name, source: Source::Consumed(consumed) }
    }

    /// The JSON text the side holds (0 for values, which are never that large here).
    fn text_bytes(&self) -> usize {
        match &self.source {
            Source::Consumed(c) => c.texts.values().map(String::len).sum(),
            Source::Borrowed(Collections::Texts(texts)) => texts.values().map(String::len).sum(),
            Source::Borrowed(Collections::Values(_)) => 0,
        }
    }

    /// Hands on every collection a consuming side still holds (those read and those never read).
    fn finish(self) {
        if let Source::Consumed(c) = self.source {
            for (name, text) in c.current.into_iter().chain(c.texts) {
                (c.done)(self.name, name, text);
            }
        }
    }

    fn get(&mut self, name: &str) -> Option<Element<'_>> {
        let c = match &mut self.source {
            Source::Borrowed(Collections::Values(m)) => return m.get(name).map(Element::Value),
            Source::Borrowed(Collections::Texts(m)) => return m.get(name).map(|t| Element::Text(t.as_str())),
            Source::Consumed(c) => c,
        };
        if c.current.as_ref().is_some_and(|(read, _)| read == name) {
            return c.current.as_ref().map(|(_, text)| Element::Text(text.as_str()));
        }
        if let Some((read, text)) = c.current.take() {
            #[cfg(debug_assertions)]
            c.handed.push(read.clone());
            (c.done)(self.name, read, text);
        }
        #[cfg(debug_assertions)]
        debug_assert!(!c.handed.iter().any(|h| h == name), "{}.{name} read again after it was handed on", self.name);
        let text = c.texts.remove_entry(name)?;
        Some(Element::Text(c.current.insert(text).1.as_str()))
    }

    /// A top-level collection: an array of objects (absent or null: not collected, none known),
    /// read one object at a time.
    fn list(&mut self, name: &str) -> Result<impl ExactSizeIterator<Item = Result<Item<'_>>>> {
        Ok(self.list_elements(name)?.map(|(e, path)| e.load(path)))
    }

    /// [`Self::list`], each object not yet loaded: (element, its path).
    fn list_elements(&mut self, name: &str) -> Result<impl ExactSizeIterator<Item = (Element<'_>, Path)>> {
        let at = format!("{}.{name}", self.name);
        let items = match self.get(name) {
            None => vec![],
            Some(e) => e.list(&at, "an array of objects")?.unwrap_or_default(),
        };
        let at: std::rc::Rc<str> = at.into();
        Ok(items.into_iter().enumerate().map(move |(i, e)| (e, Path::Element(at.clone(), i))))
    }

    /// A relationship collection keyed by parent id: `{ "<parent id>": [objects] }`, as (normalised
    /// parent id, object), read one object at a time. A parent whose list is null was not read: a
    /// completeness note, never an empty answer.
    fn keyed(
        &mut self,
        name: &str,
        notes: &mut Vec<CompletenessNote>,
    ) -> Result<impl Iterator<Item = Result<(String, Item<'_>)>>> {
        Ok(self.keyed_elements(name, notes)?.1.map(|(parent, e, path)| Ok((parent, e.load(path)?))))
    }

    /// [`Self::keyed`], each object not yet loaded: (normalised parent id, element, its path),
    /// after how many objects there are.
    fn keyed_elements(
        &mut self,
        name: &str,
        notes: &mut Vec<CompletenessNote>,
    ) -> Result<(usize, impl Iterator<Item = (String, Element<'_>, Path)>)> {
        let at = format!("{}.{name}", self.name);
        let side = self.name;
        let parents = match self.get(name) {
            None => vec![],
            Some(e) => e.map(&at, "an object keyed by parent id")?.unwrap_or_default(),
        };
        let mut lists = Vec::with_capacity(parents.len());
        for (parent, items) in parents {
            let at = child_path(&at, &parent);
            match items.list(&at, "an array of objects")? {
                None => notes.push(CompletenessNote {
                    what: format!("{side}.{name}"),
                    scope: Some(parent.into_owned()),
                    reason: "null in the facts file (not collected)".into(),
                }),
                Some(items) => lists.push((norm(&parent), std::rc::Rc::<str>::from(at), items)),
            }
        }
        let n = lists.iter().map(|(_, _, items)| items.len()).sum();
        Ok((
            n,
            lists.into_iter().flat_map(|(parent, at, items)| {
                items.into_iter().enumerate().map(move |(i, e)| (parent.clone(), e, Path::Element(at.clone(), i)))
            }),
        ))
    }
}

/// An error about the object `e` at `path` as a whole (as [`Obj::err`]), for an object read
/// without an [`Obj`]: it is loaded again to name it.
fn object_err(e: Element, path: &Path, message: String) -> ParseError {
    match e.load(path.clone()) {
        Ok(item) => match item.obj() {
            Ok(o) => o.err(message),
            Err(e) => e,
        },
        Err(e) => e,
    }
}

/// The fields of a member or owner (`id`, required; `@odata.type`; `displayName`): the
/// normalised id, the object type and the name. Objects given as text that are plainly
/// well-formed (an object whose `id` is a string and whose other two fields are strings or null)
/// are read straight from the text; anything else is read as a value, so each error is the same.
fn member_fields(e: Element, path: &Path) -> Result<(String, DirectoryObjectType, Option<String>)> {
    if let Element::Text(t) = e
        && let Some(fields) = flat::read(t, ["id", "@odata.type", "displayName"])
        && let [Some(Field::Str(id)), odata_type, name] = fields
        && let (Some(odata_type), Some(name)) = (text(odata_type), text(name))
    {
        return Ok((norm(&id), flat::object_type(odata_type.as_deref()), name.map(Cow::into_owned)));
    }
    let item = e.load(path.clone())?;
    let o = item.obj()?;
    Ok((norm(&o.str_req("id")?), object_type(&o)?, o.str_opt("displayName")?))
}

/// A user, read straight from its text when plainly well-formed (as [`member_fields`]).
fn user(e: Element, path: &Path) -> Result<User> {
    if let Element::Text(t) = e
        && let Some(fields) = flat::read(t, ["id", "displayName", "userPrincipalName", "accountEnabled", "userType"])
        && let [Some(Field::Str(id)), name, upn, enabled, user_type] = fields
        && let (Some(name), Some(upn), Some(enabled), Some(user_type)) =
            (text(name), text(upn), flag(enabled), text(user_type))
    {
        return Ok(User {
            id: norm(&id),
            display_name: name.map(Cow::into_owned).unwrap_or_default(),
            user_principal_name: upn.map(Cow::into_owned),
            account_enabled: enabled,
            user_type: user_type.map(Cow::into_owned),
        });
    }
    let item = e.load(path.clone())?;
    let o = item.obj()?;
    Ok(User {
        id: norm(&o.str_req("id")?),
        display_name: o.str_opt("displayName")?.unwrap_or_default(),
        user_principal_name: o.str_opt("userPrincipalName")?,
        account_enabled: o.bool_strict("accountEnabled")?,
        user_type: o.str_opt("userType")?,
    })
}

use flat::Field;

/// A field read as a string: `Some(None)` when absent or null, `None` when of another type.
fn text(field: Option<Field>) -> Option<Option<Cow<str>>> {
    match field {
        None => Some(None),
        Some(Field::Str(s)) => Some(Some(s)),
        Some(Field::Bool(_)) => None,
    }
}

/// A field read as a boolean: `Some(None)` when absent or null, `None` when of another type.
fn flag(field: Option<Field>) -> Option<Option<bool>> {
    match field {
        None => Some(None),
        Some(Field::Bool(b)) => Some(Some(b)),
        Some(Field::Str(_)) => None,
    }
}

/// Reading flat objects (whose fields read are strings and booleans at the top level) straight
/// from their compact text, without building a JSON value: members and users are most of a
/// tenant's objects.
mod flat {
    use super::DirectoryObjectType;
    use serde::de::{DeserializeSeed, MapAccess, Visitor};
    use std::borrow::Cow;
    use std::fmt;

    /// A field's value: a string (borrowed from the text when it has no escapes) or a boolean.
    pub enum Field<'a> {
        Str(Cow<'a, str>),
        Bool(bool),
    }

    /// The fields `names` of the object in `text`, each `None` when absent or null; `None` when
    /// `text` is not a JSON object whose fields `names` are strings, booleans or null. Other
    /// fields are read as JSON values and dropped, so any text a value cannot be read from is
    /// `None` too (as is an object with a key serde_json's value reader treats specially); a key
    /// given twice keeps its last value, as in a value's map.
    pub fn read<'a, const N: usize>(text: &'a str, names: [&str; N]) -> Option<[Option<Field<'a>>; N]> {
        let mut de = serde_json::Deserializer::from_str(text);
        let fields = serde::Deserializer::deserialize_map(&mut de, Fields { names }).ok()?;
        de.end().ok()?;
        Some(fields)
    }

    /// As [`super::object_type`], for the value of `@odata.type`.
    pub fn object_type(odata_type: Option<&str>) -> DirectoryObjectType {
        match odata_type {
            Some(t) if t.eq_ignore_ascii_case("#microsoft.graph.user") => DirectoryObjectType::User,
            Some(t) if t.eq_ignore_ascii_case("#microsoft.graph.group") => DirectoryObjectType::Group,
            Some(t) if t.eq_ignore_ascii_case("#microsoft.graph.serviceprincipal") => {
                DirectoryObjectType::ServicePrincipal
            }
            _ => DirectoryObjectType::Other,
        }
    }

    struct Fields<'n, const N: usize> {
        names: [&'n str; N],
    }

    impl<'de, const N: usize> Visitor<'de> for Fields<'_, N> {
        type Value = [Option<Field<'de>>; N];
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("an object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut fields = [const { None }; N];
            while let Some(key) = map.next_key_seed(Scalar)? {
                let Some(Field::Str(key)) = key else { return Err(serde::de::Error::custom("not a key")) };
                // serde_json reads an object whose first key is one of its private markers
                // (`$serde_json::private::RawValue`) as something else: left to the value reader.
                if key.starts_with("$serde_json::private::") {
                    return Err(serde::de::Error::custom("a serde_json marker"));
                }
                match self.names.iter().position(|n| *n == key) {
                    Some(i) => fields[i] = map.next_value_seed(Scalar)?,
                    None => {
                        map.next_value::<serde_json::Value>()?;
                    }
                }
            }
            Ok(fields)
        }
    }

    /// A string, a boolean, or `None` for null; any other type is an error.
    struct Scalar;

    impl<'de> DeserializeSeed<'de> for Scalar {
        type Value = Option<Field<'de>>;
        fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_any(self)
        }
    }

    impl<'de> Visitor<'de> for Scalar {
        type Value = Option<Field<'de>>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a string, a boolean or null")
        }
        fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
            Ok(Some(Field::Str(Cow::Borrowed(v))))
        }
        fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
            Ok(Some(Field::Str(Cow::Owned(v.to_string()))))
        }
        fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
            Ok(Some(Field::Str(Cow::Owned(v))))
        }
        fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
            Ok(Some(Field::Bool(v)))
        }
        fn visit_unit<E>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
    }
}

fn object_type(o: &Obj) -> Result<DirectoryObjectType> {
    Ok(match o.str_opt("@odata.type")?.as_deref().map(str::to_ascii_lowercase).as_deref() {
        Some("#microsoft.graph.user") => DirectoryObjectType::User,
        Some("#microsoft.graph.group") => DirectoryObjectType::Group,
        Some("#microsoft.graph.serviceprincipal") => DirectoryObjectType::ServicePrincipal,
        _ => DirectoryObjectType::Other,
    })
}

/// Reads a whole facts file. `raw` should already be redacted.
pub fn parse(raw: &impl FactSource) -> Result<Facts> {
    let header = Header::of(raw);
    parse_sides(header, Side::new("graph", raw.graph()), Side::new("arm", raw.arm()))
}

/// [`parse`], taking the collections out of `raw` (its header stays): each collection's text is
/// handed to `done` (side, name, text) as soon as it has been read, so that the facts are never
/// held beside the whole text, and, when the facts parse, every collection reaches `done` once,
/// read or not (from both sides' threads at once). What `raw` says it lacks is asked before its
/// collections go.
pub fn parse_consuming(
    raw: &mut super::compact::CompactFacts,
    done: &(dyn Fn(&'static str, String, String) + Sync),
) -> Result<Facts> {
    let header = Header::of(&*raw);
    let graph = Side::consuming("graph", std::mem::take(&mut raw.graph), done);
    let arm = Side::consuming("arm", std::mem::take(&mut raw.arm), done);
    parse_sides(header, graph, arm)
}

/// What [`parse`] reads of a facts file before its collections.
struct Header {
    format: String,
    collected_at: String,
    tenant: TenantInfo,
    completeness: Vec<CompletenessNote>,
}

impl Header {
    fn of(raw: &impl FactSource) -> Header {
        Header {
            format: raw.format().to_string(),
            collected_at: raw.collected_at().to_string(),
            tenant: raw.tenant().clone(),
            completeness: raw.completeness_with_missing(),
        }
    }
}

fn parse_sides(header: Header, mut graph: Side, mut arm: Side) -> Result<Facts> {
    let Header { format, collected_at: collected, tenant, completeness } = header;
    if format != raw::FORMAT {
        return Err(ParseError {
            path: "format".into(),
            object: None,
            message: format!("unsupported facts format {format:?}; this azpath reads {:?}", raw::FORMAT),
        });
    }
    let collected_at = parse_time(&collected).ok_or_else(|| ParseError {
        path: "collectedAt".into(),
        object: None,
        message: format!("not an RFC 3339 time: {collected:?}"),
    })?;
    let mut f = Facts {
        tenant_id: norm(&tenant.id),
        tenant_name: tenant.display_name.clone().unwrap_or_else(|| tenant.id.clone()),
        collected_at,
        completeness,
        ..Facts::default()
    };
    if graph.text_bytes().min(arm.text_bytes()) >= SPLIT_BYTES {
        // Both sides are large: ARM is read on another thread while Graph is read here. The
        // Graph side's error wins, as when they were read one after the other.
        let mut arm_facts = Facts { collected_at, ..Facts::default() };
        let (graph_read, arm_read) = std::thread::scope(|scope| {
            let arm_side = scope.spawn(|| {
                let read = parse_arm(&mut arm, &mut arm_facts);
                if read.is_ok() {
                    arm.finish();
                }
                read
            });
            let graph_read = parse_graph(&mut graph, &mut f);
            if graph_read.is_ok() {
                graph.finish();
            }
            (graph_read, arm_side.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
        });
        graph_read?;
        arm_read?;
        take_arm(&mut f, arm_facts);
    } else {
        parse_graph(&mut graph, &mut f)?;
        graph.finish();
        parse_arm(&mut arm, &mut f)?;
        arm.finish();
    }
    if let Some(note) = unread_package_settings(&f.resources) {
        f.completeness.push(note);
    }
    f.completeness.sort();
    f.completeness.dedup();
    Ok(f)
}

/// The text both sides of a facts file must hold before they are parsed on two threads: below it,
/// starting a thread costs more than it saves (the AzureHound reader checks every batch of records
/// with a parse of its own).
const SPLIT_BYTES: usize = 1 << 20;

/// Moves what the ARM side was read into (`parse_arm` on facts of their own) into `f`, after the
/// Graph side's: the lists both sides add to keep Graph's entries first.
fn take_arm(f: &mut Facts, arm: Facts) {
    // Every field named, so a new one cannot be forgotten here.
    let Facts {
        tenant_id: _,
        tenant_name: _,
        collected_at: _,
        users,
        groups,
        service_principals,
        applications,
        memberships,
        ownerships,
        app_role_assignments,
        federated_credentials,
        directory_role_definitions,
        directory_role_assignments,
        group_eligibilities,
        administrative_units,
        administrative_unit_members,
        management_groups,
        subscriptions,
        resource_groups,
        role_definitions,
        role_assignments,
        deny_assignments,
        resources,
        locks,
        cosmos_role_assignments,
        cosmos_role_definitions,
        completeness,
        skipped,
    } = arm;
    append(&mut f.users, users);
    append(&mut f.groups, groups);
    append(&mut f.service_principals, service_principals);
    append(&mut f.applications, applications);
    append(&mut f.memberships, memberships);
    append(&mut f.ownerships, ownerships);
    append(&mut f.app_role_assignments, app_role_assignments);
    append(&mut f.federated_credentials, federated_credentials);
    append(&mut f.directory_role_definitions, directory_role_definitions);
    append(&mut f.directory_role_assignments, directory_role_assignments);
    append(&mut f.group_eligibilities, group_eligibilities);
    append(&mut f.administrative_units, administrative_units);
    append(&mut f.administrative_unit_members, administrative_unit_members);
    append(&mut f.management_groups, management_groups);
    append(&mut f.subscriptions, subscriptions);
    append(&mut f.resource_groups, resource_groups);
    append(&mut f.role_definitions, role_definitions);
    append(&mut f.role_assignments, role_assignments);
    append(&mut f.deny_assignments, deny_assignments);
    append(&mut f.resources, resources);
    append(&mut f.locks, locks);
    append(&mut f.cosmos_role_assignments, cosmos_role_assignments);
    append(&mut f.cosmos_role_definitions, cosmos_role_definitions);
    append(&mut f.completeness, completeness);
    append(&mut f.skipped, skipped);
}

/// `to` then `from`: a move of the list when `to` is empty, as it mostly is.
fn append<T>(to: &mut Vec<T>, from: Vec<T>) {
    if to.is_empty() {
        *to = from;
    } else {
        to.extend(from);
    }
}

/// What code-in-storage coverage the facts lack: function apps with a managed identity that are
/// not on Flex Consumption name their package storage in app settings (`WEBSITE_RUN_FROM_PACKAGE`,
/// `AzureWebJobsStorage`), which azpath never reads (they hold secrets), so who can replace their
/// code through storage is unknown. One note for all of them, naming a few.
fn unread_package_settings(resources: &[super::Resource]) -> Option<CompletenessNote> {
    let apps: Vec<&str> = resources
        .iter()
        .filter(|r| {
            super::is_function_app(r.kind.as_deref())
                && matches!(r.details, super::ResourceDetails::AppService { deployment_storage: None, .. })
                && r.has_managed_identity()
        })
        .map(|r| r.name.as_str())
        .collect();
    if apps.is_empty() {
        return None;
    }
    let mut named = apps.iter().take(3).copied().collect::<Vec<_>>().join(", ");
    if apps.len() > 3 {
        named.push_str(&format!(" and {} more", apps.len() - 3));
    }
    Some(CompletenessNote {
        what: "arm.functionApps.appSettings".into(),
        scope: None,
        reason: format!(
            "not collected: {} function app(s) with managed identities keep their package location in app \
             settings, which azpath does not read (needs sites/config/list/action and returns secrets); \
             write access to their package storage is not evaluated: {named}",
            apps.len()
        ),
    })
}

fn parse_graph(g: &mut Side, f: &mut Facts) -> Result<()> {
    // Users, groups, service principals, applications and units share one id space (object ids).
    let mut directory = DirectoryIds::default();
    let items = g.list_elements("users")?;
    let mut seen = Seen::with_capacity(items.len());
    f.users.reserve(items.len());
    for (e, path) in items {
        let user = user(e, &path)?;
        let list = &f.users;
        let err = |m| object_err(e, &path, m);
        if seen.admit(&user.id, &path, list.len(), |i| list[i].id == user.id, |i| list[i] == user, err)? {
            directory.claim(&path, &user.id, err)?;
            f.users.push(user);
        }
    }
    let items = g.list("groups")?;
    let mut seen = Seen::with_capacity(items.len());
    for item in items {
        let item = item?;
        let o = item.obj()?;
        let group_types = o.str_list("groupTypes")?;
        let group = Group {
            id: norm(&o.str_req("id")?),
            display_name: o.str_opt("displayName")?.unwrap_or_default(),
            is_assignable_to_role: o.bool_strict("isAssignableToRole")?.unwrap_or(false),
            security_enabled: o.bool_strict("securityEnabled")?.unwrap_or(false),
            unified: group_types.iter().any(|t| t.eq_ignore_ascii_case("Unified")),
            dynamic: group_types.iter().any(|t| t.eq_ignore_ascii_case("DynamicMembership")),
            synced: o.bool_strict("onPremisesSyncEnabled")?.unwrap_or(false),
            membership_rule: o.str_opt("membershipRule")?.filter(|r| !r.trim().is_empty()),
            rule_paused: rule_paused(&o)?,
        };
        let list = &f.groups;
        if seen.admit(&group.id, &o.path, list.len(), |i| list[i].id == group.id, |i| list[i] == group, |m| o.err(m))? {
            directory.claim(&o.path, &group.id, |m| o.err(m))?;
            f.groups.push(group);
        }
    }
    let items = g.list("servicePrincipals")?;
    let mut seen = Seen::with_capacity(items.len());
    for item in items {
        let item = item?;
        let o = item.obj()?;
        let sp = ServicePrincipal {
            id: norm(&o.str_req("id")?),
            app_id: o.str_opt("appId")?.map(|s| norm(&s)),
            display_name: o.str_opt("displayName")?.unwrap_or_default(),
            service_principal_type: o.str_opt("servicePrincipalType")?,
            app_owner_organization_id: o.str_opt("appOwnerOrganizationId")?.map(|s| norm(&s)),
            alternative_names: o.str_list("alternativeNames")?,
            tags: o.str_list("tags")?,
        };
        let list = &f.service_principals;
        if seen.admit(&sp.id, &o.path, list.len(), |i| list[i].id == sp.id, |i| list[i] == sp, |m| o.err(m))? {
            directory.claim(&o.path, &sp.id, |m| o.err(m))?;
            f.service_principals.push(sp);
        }
    }
    let items = g.list("applications")?;
    let mut seen = Seen::with_capacity(items.len());
    for item in items {
        let item = item?;
        let o = item.obj()?;
        let app = Application {
            id: norm(&o.str_req("id")?),
            app_id: norm(&o.str_req("appId")?),
            display_name: o.str_opt("displayName")?.unwrap_or_default(),
        };
        let list = &f.applications;
        if seen.admit(&app.id, &o.path, list.len(), |i| list[i].id == app.id, |i| list[i] == app, |m| o.err(m))? {
            directory.claim(&o.path, &app.id, |m| o.err(m))?;
            f.applications.push(app);
        }
    }
    let (n, items) = g.keyed_elements("groupMembers", &mut f.completeness)?;
    let (mut seen, mut key) = (Seen::with_capacity(n), String::new());
    f.memberships.reserve(n);
    // One copy of each id and name, however many memberships name it.
    let mut shared: crate::model::FastSet<std::sync::Arc<str>> = Default::default();
    let mut share = |s: &str| -> std::sync::Arc<str> {
        match shared.get(s) {
            Some(a) => a.clone(),
            None => {
                let a: std::sync::Arc<str> = s.into();
                shared.insert(a.clone());
                a
            }
        }
    };
    for (group_id, e, path) in items {
        let (member_id, member_type, member_name) = member_fields(e, &path)?;
        let m = Membership {
            group_id: share(&group_id),
            member_id: share(&member_id),
            member_type,
            member_name: member_name.as_deref().map(&mut share),
        };
        let (list, key) = (&f.memberships, pair(&mut key, &m.group_id, &m.member_id));
        let has_key = |i: usize| is_pair(key, &list[i].group_id, &list[i].member_id);
        if seen.admit(key, &path, list.len(), has_key, |i| list[i] == m, |msg| object_err(e, &path, msg))? {
            f.memberships.push(m);
        }
    }
    for (collection, owned_kind) in [
        ("groupOwners", OwnedKind::Group),
        ("applicationOwners", OwnedKind::Application),
        ("servicePrincipalOwners", OwnedKind::ServicePrincipal),
    ] {
        let (n, items) = g.keyed_elements(collection, &mut f.completeness)?;
        let (mut seen, mut key) = (Seen::with_capacity(n), String::new());
        for (owned_id, e, path) in items {
            let (owner_id, owner_type, owner_name) = member_fields(e, &path)?;
            let ownership = Ownership { owner_id, owner_type, owner_name, owned_id, owned_kind };
            let (list, key) = (&f.ownerships, pair(&mut key, &ownership.owned_id, &ownership.owner_id));
            let has_key = |i: usize| is_pair(key, &list[i].owned_id, &list[i].owner_id);
            if seen.admit(key, &path, list.len(), has_key, |i| list[i] == ownership, |m| object_err(e, &path, m))? {
                f.ownerships.push(ownership);
            }
        }
    }
    let mut seen = Unique::new();
    for entry in g.keyed("servicePrincipalAppRoleAssignments", &mut f.completeness)? {
        let (sp_id, item) = entry?;
        let o = item.obj()?;
        let principal_id = o.str_opt("principalId")?.map(|s| norm(&s)).unwrap_or(sp_id);
        let assignment = AppRoleAssignment {
            id: o.str_opt("id")?.unwrap_or_default(),
            principal_id,
            resource_id: norm(&o.str_req("resourceId")?),
            resource_display_name: o.str_opt("resourceDisplayName")?,
            app_role_id: norm(&o.str_req("appRoleId")?),
        };
        let canonical = AppRoleAssignment { id: norm(&assignment.id), ..assignment.clone() };
        if assignment.id.is_empty() || seen.admit(&o, &canonical.id.clone(), canonical)? {
            f.app_role_assignments.push(assignment);
        }
    }
    let mut seen = Unique::new();
    for entry in g.keyed("applicationFederatedIdentityCredentials", &mut f.completeness)? {
        let (app_id, item) = entry?;
        let o = item.obj()?;
        let credential = FederatedCredential {
            id: o.str_opt("id")?.unwrap_or_default(),
            parent: FederatedParent::Application(app_id),
            name: o.str_opt("name")?.unwrap_or_default(),
            issuer: o.str_req("issuer")?,
            subject: o.str_req("subject")?,
        };
        let canonical = FederatedCredential { id: norm(&credential.id), ..credential.clone() };
        if credential.id.is_empty() || seen.admit(&o, &canonical.id.clone(), canonical)? {
            f.federated_credentials.push(credential);
        }
    }
    let mut seen = Unique::new();
    for item in g.list("directoryRoleDefinitions")? {
        let item = item?;
        let o = item.obj()?;
        let mut actions = Vec::new();
        for p in o.objects("rolePermissions")? {
            actions.extend(p.str_list("allowedResourceActions")?);
        }
        let id =
            o.str_opt("templateId")?.or(o.str_opt("id")?).ok_or_else(|| o.err_at("id", "missing required field"))?;
        let definition = DirectoryRoleDefinition {
            id: norm(&id),
            display_name: o.str_opt("displayName")?.unwrap_or_default(),
            is_builtin: o.bool_strict("isBuiltIn")?.unwrap_or(false),
            is_privileged: o.bool_strict("isPrivileged")?,
            allowed_resource_actions: actions,
        };
        if seen.admit(&o, &definition.id, definition.clone())? {
            f.directory_role_definitions.push(definition);
        }
    }
    let mut seen = Unique::new();
    for item in g.list("directoryRoleAssignments")? {
        let item = item?;
        let o = item.obj()?;
        let assignment = DirectoryRoleAssignment {
            id: o.str_req("id")?,
            principal_id: norm(&o.id_req("principalId")?),
            role_definition_id: norm(&o.id_req("roleDefinitionId")?),
            directory_scope_id: directory_scope(&o)?,
            eligible: false,
        };
        let canonical = DirectoryRoleAssignment { id: norm(&assignment.id), ..assignment.clone() };
        if seen.admit(&o, &canonical.id.clone(), canonical)? {
            f.directory_role_assignments.push(assignment);
        }
    }
    let mut seen = Unique::new();
    for item in g.list("directoryRoleEligibilitySchedules")? {
        let item = item?;
        let o = item.obj()?;
        // Read in full before the window is checked, so a malformed expired item is still an error.
        let eligibility = DirectoryRoleAssignment {
            id: o.str_req("id")?,
            principal_id: norm(&o.id_req("principalId")?),
            role_definition_id: norm(&o.id_req("roleDefinitionId")?),
            directory_scope_id: directory_scope(&o)?,
            eligible: true,
        };
        let window = graph_window(&o)?;
        let active = schedule_active(&o, window, f.collected_at)?;
        let canonical = (DirectoryRoleAssignment { id: norm(&eligibility.id), ..eligibility.clone() }, window, active);
        if !seen.admit(&o, &canonical.0.id.clone(), canonical)? {
            continue;
        }
        if !active {
            f.skipped.push(format!("directory role eligibility {}: not active at the collection time", eligibility.id));
            continue;
        }
        f.directory_role_assignments.push(eligibility);
    }
    let mut seen = Unique::new();
    for item in g.list("administrativeUnits")? {
        let item = item?;
        let o = item.obj()?;
        let membership_type = o.str_opt("membershipType")?;
        let unit = AdministrativeUnit {
            id: norm(&o.str_req("id")?),
            display_name: o.str_opt("displayName")?.unwrap_or_default(),
            restricted: o.bool_strict("isMemberManagementRestricted")?.unwrap_or(false),
            dynamic: membership_type.is_some_and(|t| t.eq_ignore_ascii_case("dynamic")),
            membership_rule: o.str_opt("membershipRule")?.filter(|r| !r.trim().is_empty()),
            rule_paused: rule_paused(&o)?,
        };
        if seen.admit(&o, &unit.id, unit.clone())? {
            directory.claim(&o.path, &unit.id, |m| o.err(m))?;
            f.administrative_units.push(unit);
        }
    }
    let (n, items) = g.keyed_elements("administrativeUnitMembers", &mut f.completeness)?;
    let (mut seen, mut key) = (Seen::with_capacity(n), String::new());
    for (unit_id, e, path) in items {
        let (member_id, member_type, member_name) = member_fields(e, &path)?;
        let member = AdministrativeUnitMember { unit_id, member_id, member_type, member_name };
        let (list, key) = (&f.administrative_unit_members, pair(&mut key, &member.unit_id, &member.member_id));
        let has_key = |i: usize| is_pair(key, &list[i].unit_id, &list[i].member_id);
        if seen.admit(key, &path, list.len(), has_key, |i| list[i] == member, |m| object_err(e, &path, m))? {
            f.administrative_unit_members.push(member);
        }
    }
    let mut seen = Unique::new();
    for item in g.list("groupEligibilitySchedules")? {
        let item = item?;
        let o = item.obj()?;
        let id = o.str_req("id")?;
        let access = match o.str_req("accessId")?.to_ascii_lowercase().as_str() {
            "member" => GroupAccess::Member,
            "owner" => GroupAccess::Owner,
            other => return Err(o.err_at("accessId", format!("must be member or owner, found {other:?}"))),
        };
        let eligibility = GroupEligibility {
            id,
            group_id: norm(&o.id_req("groupId")?),
            principal_id: norm(&o.id_req("principalId")?),
            access,
        };
        let window = graph_window(&o)?;
        let active = schedule_active(&o, window, f.collected_at)?;
        let canonical = (GroupEligibility { id: norm(&eligibility.id), ..eligibility.clone() }, window, active);
        if !seen.admit(&o, &canonical.0.id.clone(), canonical)? {
            continue;
        }
        if !active {
            f.skipped.push(format!("group eligibility {}: not active at the collection time", eligibility.id));
            continue;
        }
        f.group_eligibilities.push(eligibility);
    }
    Ok(())
}

/// The `directoryScopeId` of a directory role assignment or eligibility: absent or null is the
/// tenant (`/`); an empty string is an error, not a guess at a scope.
fn directory_scope(o: &Obj) -> Result<String> {
    match o.str_opt("directoryScopeId")? {
        None => Ok("/".into()),
        Some(_) => o.id_req("directoryScopeId"),
    }
}

/// `membershipRuleProcessingState` of a dynamic group or administrative unit: `On` (or absent, Graph's
/// default) processes the rule, `Paused` does not. Anything else is an error: guessing would create
/// or hide a path.
fn rule_paused(o: &Obj) -> Result<bool> {
    match o.str_opt("membershipRuleProcessingState")? {
        None => Ok(false),
        Some(s) if s.eq_ignore_ascii_case("on") => Ok(false),
        Some(s) if s.eq_ignore_ascii_case("paused") => Ok(true),
        Some(s) => Err(o.err_at("membershipRuleProcessingState", format!("must be On or Paused, found {s:?}"))),
    }
}

/// The window of a Graph schedule (`scheduleInfo.startDateTime`, `scheduleInfo.expiration`).
fn graph_window(o: &Obj) -> Result<Window> {
    let start = o.time_opt("scheduleInfo.startDateTime")?;
    let exp_type = o.str_opt("scheduleInfo.expiration.type")?.map(|s| s.to_ascii_lowercase());
    let end = match exp_type.as_deref() {
        // `notSpecified` is Graph's other spelling of "no end".
        None | Some("noexpiration") | Some("notspecified") => None,
        Some("afterdatetime") => Some(o.time_opt("scheduleInfo.expiration.endDateTime")?.ok_or_else(|| {
            o.err_at("scheduleInfo.expiration.endDateTime", "missing, but the expiration type is afterDateTime")
        })?),
        Some("afterduration") => {
            let dur = o.str_req("scheduleInfo.expiration.duration")?;
            let dur = parse_iso_duration(&dur).ok_or_else(|| {
                o.err_at(
                    "scheduleInfo.expiration.duration",
                    format!(
                        "not an ISO 8601 duration of days, hours, minutes and seconds up to 10675199 days \
                         (Graph's longest): {dur:?}"
                    ),
                )
            })?;
            let start = start.ok_or_else(|| {
                o.err_at("scheduleInfo.startDateTime", "missing, but the expiration type is afterDuration")
            })?;
            Some(start.checked_add_signed(dur).ok_or_else(|| {
                o.err_at("scheduleInfo.expiration.duration", format!("ends past the last representable time: {dur}"))
            })?)
        }
        Some(other) => {
            return Err(o.err_at("scheduleInfo.expiration.type", format!("unknown expiration type {other:?}")));
        }
    };
    Ok(Window { start, end })
}

/// The longest duration a Graph schedule can hold: Graph's `Edm.Duration` is a .NET `TimeSpan`,
/// at most 10,675,199 days 2:48:05.477 (`TimeSpan.MaxValue`, to the millisecond). Anything longer
/// cannot come from Graph, and would overflow date arithmetic.
const MAX_DURATION_MILLIS: i64 = 922_337_203_685_477;

/// An ISO 8601 duration as Graph writes them (`PT8H`, `P365D`, `P1DT2H`, `P1W`), read by the
/// `iso8601` crate: units in order (`PnDTnHnMnS`, or `PnW` alone), fractional seconds to the
/// millisecond (`PT1.5S`), at least one unit (`P` and `PT` are not durations; nor is a `T` with no
/// time after it), at most [`MAX_DURATION_MILLIS`]. Years and months are rejected, having no fixed
/// length (a count of zero, `P0Y1D`, is just days). The crate's `duration()` ignores text after a
/// valid prefix (`PT8Hxx` would be 8 hours, `P1D2H` one day), so this calls its parser and requires
/// the whole string.
fn parse_iso_duration(s: &str) -> Option<chrono::Duration> {
    // The crate reads `P` as nothing, and `PT` or `P1DT` as zero time; ISO 8601 requires a unit
    // after each designator.
    if s.ends_with('P') || s.ends_with('T') {
        return None;
    }
    let (rest, d) = iso8601::parsers::parse_duration(s.as_bytes()).ok()?;
    if !rest.is_empty() {
        return None;
    }
    let millis = match d {
        iso8601::Duration::Weeks(w) => i64::from(w).checked_mul(604_800_000)?,
        iso8601::Duration::YMDHMS { year: 0, month: 0, day, hour, minute, second, millisecond } => {
            [(day, 86_400_000), (hour, 3_600_000), (minute, 60_000), (second, 1_000), (millisecond, 1)]
                .into_iter()
                .try_fold(0i64, |sum, (count, unit)| sum.checked_add(i64::from(count).checked_mul(unit)?))?
        }
        iso8601::Duration::YMDHMS { .. } => return None,
    };
    (millis <= MAX_DURATION_MILLIS).then(|| chrono::Duration::milliseconds(millis))
}

/// A schedule counts if it is provisioned (or has no status) and its window holds `at`.
fn schedule_active(o: &Obj, window: Window, at: DateTime<Utc>) -> Result<bool> {
    let status = o.str_opt("status")?.or(o.str_opt("properties.status")?);
    let provisioned =
        status.is_none_or(|s| s.eq_ignore_ascii_case("Provisioned") || s.eq_ignore_ascii_case("Accepted"));
    Ok(provisioned && window.contains(at))
}

fn parse_arm(a: &mut Side, f: &mut Facts) -> Result<()> {
    // A management group is listed twice by design (its own GET and its parent's descendants);
    // the copies are merged, but two different parents are an error naming both.
    let mut groups: Vec<(String, ManagementGroup)> = Vec::new();
    for item in a.list("managementGroups")? {
        let item = item?;
        let o = item.obj()?;
        let id = norm(&o.str_req("id")?);
        let parent = o.str_opt("properties.parent.id")?.map(|p| norm(&p));
        let ty = o.str_opt("type")?.unwrap_or_default().to_ascii_lowercase();
        if ty.ends_with("managementgroups/subscriptions") || id.starts_with("/subscriptions/") {
            // A descendants entry for a subscription: it only tells the subscription's parent.
            if let Some(parent) = parent {
                f.subscriptions.push(Subscription {
                    id,
                    display_name: o.str_opt("properties.displayName")?.unwrap_or_default(),
                    parent: Some(parent),
                });
            }
            continue;
        }
        let name = o.str_opt("name")?.unwrap_or_else(|| last_segment(&id).to_string());
        let group = ManagementGroup {
            display_name: o.str_opt("properties.displayName")?.unwrap_or_else(|| name.clone()),
            id,
            name,
            parent,
        };
        groups.push((o.path.to_string(), group));
    }
    groups.sort_by(|x, y| x.1.id.cmp(&y.1.id));
    for (at, group) in groups {
        match f.management_groups.last_mut() {
            Some(first) if first.id == group.id => match (&first.parent, group.parent) {
                (Some(a), Some(b)) if *a != b => {
                    return Err(ParseError {
                        path: at,
                        object: Some(group.id),
                        message: format!("a management group listed twice with different parents: {a} and {b}"),
                    });
                }
                (None, parent) => first.parent = parent,
                _ => {}
            },
            _ => f.management_groups.push(group),
        }
    }
    for item in a.list("subscriptions")? {
        let item = item?;
        let o = item.obj()?;
        let id = norm(&o.str_req("id")?);
        let display_name = o.str_opt("displayName")?.unwrap_or_default();
        if let Some(existing) = f.subscriptions.iter_mut().find(|s| s.id == id) {
            existing.display_name = display_name;
        } else {
            f.subscriptions.push(Subscription { id, display_name, parent: None });
        }
    }
    let mut seen = Unique::new();
    for item in a.list("resourceGroups")? {
        let item = item?;
        let o = item.obj()?;
        let id = norm(&o.str_req("id")?);
        let group = ResourceGroup {
            name: o.str_opt("name")?.unwrap_or_else(|| last_segment(&id).to_string()),
            id,
            tags: o.tags()?,
        };
        if seen.admit(&o, &group.id, group.clone())? {
            f.resource_groups.push(group);
        }
    }
    let mut seen = Unique::new();
    for item in a.list("roleDefinitions")? {
        let item = item?;
        let o = item.obj()?;
        let id = o.str_opt("name")?.unwrap_or(last_segment(&o.str_req("id")?).to_string());
        if o.array("properties.permissions")?.is_none() {
            return Err(o.err_at("properties.permissions", "missing: a role definition needs its permission blocks"));
        }
        let mut permissions = Vec::new();
        for p in o.objects("properties.permissions")? {
            permissions.push(Permission {
                actions: p.patterns("actions")?,
                not_actions: p.patterns("notActions")?,
                data_actions: p.patterns("dataActions")?,
                not_data_actions: p.patterns("notDataActions")?,
                condition: p.str_opt("condition")?,
            });
        }
        let definition = RoleDefinition {
            id: norm(&id),
            role_name: o.str_opt("properties.roleName")?.unwrap_or_else(|| id.clone()),
            is_custom: o.str_opt("properties.type")?.is_none_or(|t| !t.eq_ignore_ascii_case("BuiltInRole")),
            permissions,
        };
        if seen.admit(&o, &definition.id, definition.clone())? {
            f.role_definitions.push(definition);
        }
    }
    let mut seen = Unique::new();
    for item in a.list("roleAssignments")? {
        let item = item?;
        let o = item.obj()?;
        let assignment = arm_assignment(&o, false)?;
        let canonical = RoleAssignment { id: norm(&assignment.id), ..assignment.clone() };
        if seen.admit(&o, &canonical.id.clone(), canonical)? {
            f.role_assignments.push(assignment);
        }
    }
    let mut seen = Unique::new();
    for item in a.list("roleEligibilitySchedules")? {
        let item = item?;
        let o = item.obj()?;
        let eligibility = arm_assignment(&o, true)?;
        let window =
            Window { start: o.time_opt("properties.startDateTime")?, end: o.time_opt("properties.endDateTime")? };
        let active = schedule_active(&o, window, f.collected_at)?;
        let canonical = (RoleAssignment { id: norm(&eligibility.id), ..eligibility.clone() }, window, active);
        if !seen.admit(&o, &canonical.0.id.clone(), canonical)? {
            continue;
        }
        if !active {
            f.skipped.push(format!("role eligibility schedule {}: not active at the collection time", eligibility.id));
            continue;
        }
        f.role_assignments.push(eligibility);
    }
    let mut seen = Unique::new();
    for item in a.list("denyAssignments")? {
        let item = item?;
        let o = item.obj()?;
        let id = o.str_req("id")?;
        let ids =
            |rel: &str| -> Result<Vec<String>> { o.objects(rel)?.iter().map(|p| Ok(norm(&p.id_req("id")?))).collect() };
        let mut d = DenyAssignment {
            scope: norm(&match o.str_opt("properties.scope")? {
                Some(_) => o.id_req("properties.scope")?,
                None => id.clone(),
            }),
            name: o.str_opt("properties.denyAssignmentName")?.unwrap_or_default(),
            principals: ids("properties.principals")?,
            exclude_principals: ids("properties.excludePrincipals")?,
            do_not_apply_to_child_scopes: o.bool_strict("properties.doNotApplyToChildScopes")?.unwrap_or(false),
            permissions: vec![],
            id,
        };
        for p in o.objects("properties.permissions")? {
            d.permissions.push(Permission {
                actions: p.patterns("actions")?,
                not_actions: p.patterns("notActions")?,
                data_actions: p.patterns("dataActions")?,
                not_data_actions: p.patterns("notDataActions")?,
                condition: None,
            });
        }
        let canonical = DenyAssignment { id: norm(&d.id), ..d.clone() };
        if seen.admit(&o, &canonical.id.clone(), canonical)? {
            f.deny_assignments.push(d);
        }
    }
    let mut seen = Unique::new();
    for item in a.list("locks")? {
        let item = item?;
        let o = item.obj()?;
        let lock = parse_lock(&o)?;
        if seen.admit(&o, &lock.id, lock.clone())? {
            f.locks.push(lock);
        }
    }
    // Basic publishing credentials policies of web apps and slots: (app id, policy name, allow).
    let mut policies: Vec<(String, String, Option<bool>)> = Vec::new();
    let mut seen = Unique::new();
    for item in a.list("resources")? {
        let item = item?;
        let o = item.obj()?;
        let item = parse_arm_item(&o)?;
        let id = match &item {
            ArmItem::Resource(r) => r.id.clone(),
            ArmItem::Policy { id, .. } => id.clone(),
            ArmItem::Federated(c) => c.id.clone(),
            ArmItem::CosmosAssignment(c) => c.id.clone(),
            ArmItem::CosmosDefinition(c) => c.id.clone(),
        };
        if !seen.admit(&o, &id, item.clone())? {
            continue;
        }
        match item {
            ArmItem::Resource(r) => f.resources.push(r),
            ArmItem::Policy { id, allow } => {
                policies.push((arm_parent(&id).unwrap_or_default(), last_segment(&id).to_string(), allow))
            }
            ArmItem::Federated(c) => f.federated_credentials.push(c),
            ArmItem::CosmosAssignment(c) => f.cosmos_role_assignments.push(c),
            ArmItem::CosmosDefinition(c) => f.cosmos_role_definitions.push(c),
        }
    }
    let at: foldhash::HashMap<String, usize> = f.resources.iter().enumerate().map(|(i, r)| (r.id.clone(), i)).collect();
    for (app, name, allow) in policies {
        let details = at.get(&app).map(|&i| &mut f.resources[i].details);
        match (details, name.as_str()) {
            (Some(ResourceDetails::AppService { scm_basic_auth, .. }), "scm") => *scm_basic_auth = allow,
            (Some(ResourceDetails::AppService { ftp_basic_auth, .. }), "ftp") => *ftp_basic_auth = allow,
            _ => f.skipped.push(format!(
                "basic publishing credentials policy {name} of {app}: no such web app or slot, or an unknown policy"
            )),
        }
    }
    Ok(())
}

/// One entry of `arm.resources`: a resource, or a child that azpath reads as a setting or a
/// relationship of its parent instead.
#[derive(Clone, PartialEq)]
enum ArmItem {
    Resource(Resource),
    /// A basic publishing credentials policy (normalised id) and its `allow`.
    Policy {
        id: String,
        allow: Option<bool>,
    },
    Federated(FederatedCredential),
    CosmosAssignment(CosmosRoleAssignment),
    CosmosDefinition(CosmosRoleDefinition),
}

fn parse_arm_item(o: &Obj) -> Result<ArmItem> {
    let resource = parse_resource(o)?;
    if BASIC_AUTH_POLICY_TYPES.contains(&resource.resource_type.as_str()) {
        return Ok(ArmItem::Policy { allow: o.bool_strict("properties.allow")?, id: resource.id });
    }
    Ok(match resource.resource_type.as_str() {
        "microsoft.managedidentity/userassignedidentities/federatedidentitycredentials" => {
            ArmItem::Federated(FederatedCredential {
                parent: FederatedParent::UserAssignedIdentity(arm_parent(&resource.id).unwrap_or_default()),
                name: resource.name.clone(),
                issuer: o.str_req("properties.issuer")?,
                subject: o.str_req("properties.subject")?,
                id: resource.id,
            })
        }
        "microsoft.documentdb/databaseaccounts/sqlroleassignments" => {
            ArmItem::CosmosAssignment(parse_cosmos_assignment(o, &resource.id)?)
        }
        "microsoft.documentdb/databaseaccounts/sqlroledefinitions" => {
            ArmItem::CosmosDefinition(parse_cosmos_definition(o, &resource.id)?)
        }
        _ => ArmItem::Resource(resource),
    })
}

/// The Cosmos DB account a `sqlRoleAssignments` / `sqlRoleDefinitions` item belongs to.
fn cosmos_account(o: &Obj, id: &str) -> Result<String> {
    arm_parent(id).ok_or_else(|| o.err(format!("cannot read the Cosmos DB account from id {id}")))
}

/// A Cosmos DB role definition id as an ARM id: the API returns the full id; a bare GUID is the
/// definition of that name under the same account.
fn cosmos_definition_id(account: &str, id: &str) -> String {
    let id = norm(id);
    if id.contains('/') { id } else { format!("{account}/sqlroledefinitions/{id}") }
}

fn parse_cosmos_assignment(o: &Obj, id: &str) -> Result<CosmosRoleAssignment> {
    let account_id = cosmos_account(o, id)?;
    Ok(CosmosRoleAssignment {
        id: id.to_string(),
        principal_id: norm(&o.id_req("properties.principalId")?),
        role_definition_id: cosmos_definition_id(&account_id, &o.id_req("properties.roleDefinitionId")?),
        scope: match o.str_opt("properties.scope")? {
            Some(_) => norm(&o.id_req("properties.scope")?),
            None => account_id.clone(),
        },
        account_id,
    })
}

fn parse_cosmos_definition(o: &Obj, id: &str) -> Result<CosmosRoleDefinition> {
    let account_id = cosmos_account(o, id)?;
    let mut data_actions = Vec::new();
    for p in o.objects("properties.permissions")? {
        data_actions.extend(p.patterns("dataActions")?);
    }
    Ok(CosmosRoleDefinition {
        id: id.to_string(),
        role_name: o.str_opt("properties.roleName")?.unwrap_or_else(|| last_segment(id).to_string()),
        account_id,
        data_actions,
    })
}

/// A management lock. Its scope is what its id is an extension of; its level is read strictly
/// (a ReadOnly lock removes paths, so an unknown level is an error, not a guess).
fn parse_lock(o: &Obj) -> Result<Lock> {
    const SEGMENT: &str = "/providers/microsoft.authorization/locks/";
    let id = norm(&o.str_req("id")?);
    let Some(at) = id.rfind(SEGMENT) else {
        return Err(
            o.err_at("id", format!("a lock id must end in /providers/Microsoft.Authorization/locks/{{name}}: {id}"))
        );
    };
    let scope = if at == 0 { "/".to_string() } else { id[..at].to_string() };
    let level = o.str_req("properties.level")?;
    let level = match level.to_ascii_lowercase().as_str() {
        "cannotdelete" => LockLevel::CanNotDelete,
        "readonly" => LockLevel::ReadOnly,
        _ => {
            let other = &level;
            return Err(o.err_at(
                "properties.level",
                format!("must be CanNotDelete or ReadOnly, found {other:?}; azpath will not guess what a lock blocks"),
            ));
        }
    };
    Ok(Lock {
        name: o.str_opt("name")?.unwrap_or_else(|| last_segment(&id).to_string()),
        notes: o.str_opt("properties.notes")?,
        id,
        scope,
        level,
    })
}
/// The child resources that say whether an app's publishing credentials (basic auth) may be used:
/// folded into the app's [`ResourceDetails::AppService`], never resources of their own.
const BASIC_AUTH_POLICY_TYPES: &[&str] = &[
    "microsoft.web/sites/basicpublishingcredentialspolicies",
    "microsoft.web/sites/slots/basicpublishingcredentialspolicies",
];

fn arm_assignment(o: &Obj, eligible: bool) -> Result<RoleAssignment> {
    let id = o.str_req("id")?;
    let role = o.id_req("properties.roleDefinitionId")?;
    Ok(RoleAssignment {
        principal_id: norm(&o.id_req("properties.principalId")?),
        principal_type: o.str_opt("properties.principalType")?,
        role_definition_id: norm(last_segment(&role)),
        scope: norm(&o.id_req("properties.scope")?),
        condition: o.str_opt("properties.condition")?.filter(|c| !c.trim().is_empty()),
        eligible,
        id,
    })
}

fn parse_identity(o: &Obj) -> Result<ResourceIdentity> {
    let mut identity = ResourceIdentity::default();
    let Some(ty) = o.str_opt("identity.type")? else { return Ok(identity) };
    // Lenient: "SystemAssigned,UserAssigned", "SystemAssigned, UserAssigned", any case.
    let kinds: Vec<String> = ty.split(',').map(|s| s.trim().to_ascii_lowercase()).collect();
    if kinds.iter().any(|k| k == "systemassigned") {
        identity.system_principal_id = o.str_opt("identity.principalId")?.map(|s| norm(&s));
    }
    // Read whatever the type says: a malformed map is an error even when `type` omits UserAssigned.
    let uamis = o.entries("identity.userAssignedIdentities")?;
    if kinds.iter().any(|k| k == "userassigned") {
        for (uami_id, v) in uamis {
            let principal = match v {
                Some(v) => v.str_opt("principalId")?.map(|s| norm(&s)),
                None => None,
            };
            identity.user_assigned.push((norm(uami_id), principal));
        }
        identity.user_assigned.sort();
    }
    Ok(identity)
}

/// The storage account and container of a blob container URL
/// (`https://{account}.blob.core.windows.net/{container}`, any cloud's suffix).
pub fn blob_container_of_url(url: &str) -> (Option<String>, Option<String>) {
    let rest = url.trim().split_once("://").map_or(url.trim(), |(_, r)| r);
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    let account =
        host.split_once(".blob.").map(|(a, _)| a.to_ascii_lowercase()).filter(|a| !a.is_empty() && !a.contains('.'));
    let container = path.split(['/', '?']).next().filter(|c| !c.is_empty()).map(str::to_string);
    (account, container)
}

/// `properties.functionAppConfig.deployment.storage` of a Flex Consumption function app.
fn deployment_storage(o: &Obj) -> Result<Option<DeploymentStorage>> {
    const AT: &str = "properties.functionAppConfig.deployment.storage";
    let Some(url) = o.str_opt(&format!("{AT}.value"))? else { return Ok(None) };
    let (account_name, container) = blob_container_of_url(&url);
    Ok(Some(DeploymentStorage {
        storage_type: o.str_opt(&format!("{AT}.type"))?,
        authentication: o.str_opt(&format!("{AT}.authentication.type"))?,
        url,
        account_name,
        container,
    }))
}

fn parse_resource(o: &Obj) -> Result<Resource> {
    let id = norm(&o.str_req("id")?);
    let resource_type = o
        .str_opt("type")?
        .map(|t| t.to_ascii_lowercase())
        .or_else(|| arm_type(&id))
        .ok_or_else(|| o.err("resource has no `type` and none can be read from its id"))?;
    let kind = o.str_opt("kind")?;
    let details = match resource_type.as_str() {
        "microsoft.storage/storageaccounts" => ResourceDetails::StorageAccount {
            allow_shared_key_access: o.bool_strict("properties.allowSharedKeyAccess")?,
        },
        "microsoft.keyvault/vaults" => {
            let mut access_policies = Vec::new();
            for p in o.objects("properties.accessPolicies")? {
                access_policies.push(AccessPolicy {
                    object_id: norm(&p.str_req("objectId")?),
                    application_id: p.str_opt("applicationId")?.map(|s| norm(&s)),
                    secrets: p.str_list("permissions.secrets")?,
                    keys: p.str_list("permissions.keys")?,
                    certificates: p.str_list("permissions.certificates")?,
                });
            }
            ResourceDetails::KeyVault {
                enable_rbac_authorization: o.bool_strict("properties.enableRbacAuthorization")?,
                access_policies,
            }
        }
        "microsoft.cognitiveservices/accounts" => ResourceDetails::CognitiveServices {
            kind: kind.clone(),
            disable_local_auth: o.bool_strict("properties.disableLocalAuth")?,
        },
        "microsoft.machinelearningservices/workspaces" => ResourceDetails::MlWorkspace {
            storage_account: o.str_opt("properties.storageAccount")?.map(|s| norm(&s)),
            key_vault: o.str_opt("properties.keyVault")?.map(|s| norm(&s)),
            container_registry: o.str_opt("properties.containerRegistry")?.map(|s| norm(&s)),
        },
        "microsoft.machinelearningservices/workspaces/datastores" => ResourceDetails::MlDatastore {
            account_name: o.str_opt("properties.accountName")?.map(|s| s.to_ascii_lowercase()),
            container_name: o.str_opt("properties.containerName")?,
            credentials_type: o.str_opt("properties.credentials.credentialsType")?,
            client_id: o.str_opt("properties.credentials.clientId")?.map(|s| norm(&s)),
        },
        "microsoft.machinelearningservices/workspaces/computes" => {
            ResourceDetails::MlCompute { compute_type: o.str_opt("properties.computeType")? }
        }
        "microsoft.machinelearningservices/workspaces/connections" => ResourceDetails::MlConnection {
            auth_type: o.str_opt("properties.authType")?,
            target: o.str_opt("properties.target")?,
            client_id: o.str_opt("properties.credentials.clientId")?.map(|s| norm(&s)),
        },
        "microsoft.containerservice/managedclusters" => ResourceDetails::Aks {
            disable_local_accounts: o.bool_strict("properties.disableLocalAccounts")?,
            kubelet_identity: match o.str_opt("properties.identityProfile.kubeletidentity.resourceId")? {
                Some(rid) => Some((
                    norm(&rid),
                    o.str_opt("properties.identityProfile.kubeletidentity.objectId")?.map(|s| norm(&s)),
                )),
                None => None,
            },
            azure_rbac: o.bool_strict("properties.aadProfile.enableAzureRBAC")?,
        },
        "microsoft.containerregistry/registries" => ResourceDetails::ContainerRegistry {
            admin_user_enabled: o.bool_strict("properties.adminUserEnabled")?,
            abac_repository_permissions: o
                .str_opt("properties.roleAssignmentMode")?
                .is_some_and(|m| m.eq_ignore_ascii_case("AbacRepositoryPermissions")),
        },
        "microsoft.web/sites" | "microsoft.web/sites/slots" => ResourceDetails::AppService {
            scm_basic_auth: None,
            ftp_basic_auth: None,
            deployment_storage: deployment_storage(o)?,
        },
        "microsoft.documentdb/databaseaccounts" => {
            ResourceDetails::CosmosDb { disable_local_auth: o.bool_strict("properties.disableLocalAuth")? }
        }
        "microsoft.managedidentity/userassignedidentities" => ResourceDetails::UserAssignedIdentity {
            principal_id: o.str_opt("properties.principalId")?.map(|s| norm(&s)),
            client_id: o.str_opt("properties.clientId")?.map(|s| norm(&s)),
        },
        _ => ResourceDetails::Other,
    };
    Ok(Resource {
        name: o.str_opt("name")?.unwrap_or_else(|| last_segment(&id).to_string()),
        identity: parse_identity(o)?,
        tags: o.tags()?,
        id,
        resource_type,
        kind,
        details,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn raw_with(graph: Value, arm: Value) -> RawFacts {
        let mut raw = RawFacts::from_json(
            &json!({"format": "azpath-facts/1", "tenant": {"id": "T"}, "collectedAt": "2026-11-01T09:00:00Z",
                    "graph": graph, "arm": arm})
            .to_string(),
        )
        .unwrap();
        raw.redact_secrets();
        raw
    }

    /// A large collection with an error early and another late: the error is the first in the
    /// file's order, a wrong type or a repeat that differs, whichever comes first, for members
    /// and for users, from text and from values.
    #[test]
    fn the_first_error_of_a_large_collection_is_the_first_in_order() {
        let n = 2000;
        let member = |i: usize| json!({"id": format!("m{i}"), "@odata.type": "#microsoft.graph.user"});
        let check = |collection: &str, bad: &[(usize, Value)], expected: Option<&str>| {
            let mut list: Vec<Value> = (0..n).map(member).collect();
            for (i, v) in bad {
                list[*i] = v.clone();
            }
            let graph = match collection {
                "users" => json!({"users": list}),
                // Two parents.
                _ => json!({collection: {"a": list[..100], "b": list[100..]}}),
            };
            let raw = raw_with(graph, json!({}));
            let compact = CompactFacts::from(raw.clone());
            for result in [parse(&raw), parse(&compact)] {
                match (result, expected) {
                    (Ok(f), None) => {
                        let count = if collection == "users" { f.users.len() } else { f.memberships.len() };
                        assert_eq!(count, n, "{collection}");
                    }
                    (Err(e), Some(expected)) => assert_eq!(e.to_string(), expected, "{collection}"),
                    (other, _) => panic!("{collection}: {:?}", other.map(|_| ())),
                }
            }
        };
        let users = |i: usize| format!("graph.users[{i}]");
        let members = |i: usize| format!("graph.groupMembers.b[{}]", i - 100);
        for (collection, at) in [("users", &users as &dyn Fn(usize) -> String), ("groupMembers", &members)] {
            check(collection, &[], None);
            let (early, late) = (150, n - 50);
            let wrong = json!({"id": 7});
            let twin =
                |i: usize| json!({"id": format!("M{i}"), "@odata.type": "#microsoft.graph.user", "displayName": "B"});
            let duplicate_error = |i: usize| {
                format!(
                    "{} (object M{i}): the same id as {} (ids compare case-insensitively), with different content; \
                     azpath will not choose between them",
                    at(i + 1),
                    at(i)
                )
            };
            let type_error = |i: usize| format!("{}.id: expected a string, found a number", at(i));
            // A wrong type in each half: the first half's.
            check(collection, &[(early, wrong.clone()), (late, wrong.clone())], Some(&type_error(early)));
            // A repeat that differs in the first half, a wrong type in the second: the repeat.
            check(collection, &[(early + 1, twin(early)), (late, wrong.clone())], Some(&duplicate_error(early)));
            // A wrong type in the first half, a repeat that differs in the second: the wrong type.
            check(collection, &[(early, wrong.clone()), (late + 1, twin(late))], Some(&type_error(early)));
            // Only in the second half.
            check(collection, &[(late, wrong.clone())], Some(&type_error(late)));
            check(collection, &[(late + 1, twin(late))], Some(&duplicate_error(late)));
        }
    }

    /// Keys whose hashes collide are still told apart, and their repeats found.
    #[test]
    fn seen_tells_keys_apart_when_their_hashes_collide() {
        #[derive(Default)]
        struct Constant;
        impl std::hash::Hasher for Constant {
            fn finish(&self) -> u64 {
                7
            }
            fn write(&mut self, _: &[u8]) {}
        }
        let mut seen = Seen::<std::hash::BuildHasherDefault<Constant>>::with_hasher_and_capacity(0);
        let mut values: Vec<(&str, u32)> = Vec::new();
        let mut admit = |key: &'static str, content: u32, i: usize| {
            let path = Path::Element("x".into(), i);
            let new = seen.admit(
                key,
                &path,
                values.len(),
                |j| values[j].0 == key,
                |j| values[j].1 == content,
                |m| ParseError { path: path.to_string(), object: None, message: m },
            );
            if let Ok(true) = new {
                values.push((key, content));
            }
            new.map_err(|e| e.to_string())
        };
        assert_eq!(admit("a", 1, 0), Ok(true));
        assert_eq!(admit("b", 2, 1), Ok(true));
        assert_eq!(admit("c", 3, 2), Ok(true));
        assert_eq!(admit("a", 1, 3), Ok(false));
        assert_eq!(admit("c", 3, 4), Ok(false));
        let err = admit("b", 5, 5).unwrap_err();
        assert!(err.starts_with("x[5]: the same id as x[1] (ids compare"), "{err}");
        let err = admit("c", 6, 6).unwrap_err();
        assert!(err.starts_with("x[6]: the same id as x[2] (ids compare"), "{err}");
    }

    /// Member-shaped objects read straight from compact text give the facts, or the error, of
    /// reading them as values, whatever their shape.
    #[test]
    fn members_read_from_text_are_read_as_from_values() {
        let objects = [
            r##"{"id":"U1","@odata.type":"#microsoft.graph.User","displayName":"A"}"##,
            r##"{"@odata.type":"#MICROSOFT.GRAPH.SERVICEPRINCIPAL","id":" S1/ "}"##,
            r##"{"id":"G1","@odata.type":"#microsoft.graph.group","displayName":null,"@odata.type":null}"##,
            r##"{"\u0069d":"U\u0031","displayName":"a\"b\u00e9","@odata.type":"#microsoft.graph.device"}"##,
            r##"{"id":"x","id":"y"}"##,
            r##"{"id":5,"id":"y"}"##,
            r##"{"id":"y","id":5}"##,
            r##"{"id":7}"##,
            r##"{"id":"u","@odata.type":3}"##,
            r##"{"id":"u","displayName":[1]}"##,
            r##"{"id":"u","displayName":{"a":1}}"##,
            r##"{"id":"u","displayName":true}"##,
            r##"{"id":null}"##,
            r##"{}"##,
            r##"[]"##,
            r##"["u","#microsoft.graph.user","n"]"##,
            r##""u""##,
            r##"null"##,
            r##"12"##,
            r##"{"id":"u","extra":{"deep":[1,2.5,{"a":null}],"more":-3e5}}"##,
            r##"{"id":"U1","@odata.type":"#microsoft.graph.user","displayName":"B"}"##,
            r##"{"id":"u1","@odata.type":"#microsoft.graph.user","displayName":"A"}"##,
        ];
        let base = raw_with(json!({}), json!({}));
        for collection in ["groupMembers", "groupOwners", "administrativeUnitMembers"] {
            // Each object alone, and each after a first copy of user U1 (a repeat, same or not).
            let lists =
                objects.iter().map(|o| format!("[{o}]")).chain(objects.iter().map(|o| format!("[{},{o}]", objects[0])));
            for list in lists {
                let mut compact = CompactFacts::from(base.clone());
                compact.graph.insert(collection.into(), format!(r#"{{"P1":{list}}}"#));
                let raw = compact.to_raw().unwrap();
                let streamed = parse(&compact).map(|f| format!("{f:?}")).map_err(|e| e.to_string());
                let whole = parse(&raw).map(|f| format!("{f:?}")).map_err(|e| e.to_string());
                assert_eq!(streamed, whole, "{collection}: {list}");
            }
        }
        let users = [
            r##"{"id":"U1","displayName":"A","userPrincipalName":"a@x","accountEnabled":true,"userType":"Member"}"##,
            r##"{"id":"u1","displayName":"A","userPrincipalName":"a@x","accountEnabled":true,"userType":"Member"}"##,
            r##"{"id":"u1","displayName":"A","userPrincipalName":"a@x","accountEnabled":false,"userType":"Member"}"##,
            r##"{"id":"U2","accountEnabled":null,"userType":null,"displayName":null,"userPrincipalName":null}"##,
            r##"{"id":"U3","accountEnabled":"true"}"##,
            r##"{"id":"U3","accountEnabled":1}"##,
            r##"{"id":"U3","accountEnabled":[true]}"##,
            r##"{"id":true}"##,
            r##"{"id":"U4","displayName":false}"##,
            r##"{"id":"U4","userType":true}"##,
            r##"{"id":"U4","userPrincipalName":{}}"##,
            r##"{"id":"U5","accountEnabled":true,"accountEnabled":"no"}"##,
            r##"{"id":"U5","accountEnabled":"no","accountEnabled":false}"##,
            r##"{"id":"U6","manager":{"id":"U1"},"otherMails":["a","b"],"age":3}"##,
            r##"{"displayName":"nobody"}"##,
            r##"[true]"##,
            r##"false"##,
        ];
        for (before, groups) in [("", ""), ("", r#"{"id":"U1"}"#), (users[0], ""), (users[0], r#"{"id":"U1"}"#)] {
            for user in users.iter() {
                let mut compact = CompactFacts::from(raw_with(json!({}), json!({})));
                let list = if before.is_empty() { format!("[{user}]") } else { format!("[{before},{user}]") };
                compact.graph.insert("users".into(), list.clone());
                compact.graph.insert("groups".into(), format!("[{groups}]"));
                let raw = compact.to_raw().unwrap();
                let streamed = parse(&compact).map(|f| format!("{f:?}")).map_err(|e| e.to_string());
                let whole = parse(&raw).map(|f| format!("{f:?}")).map_err(|e| e.to_string());
                assert_eq!(streamed, whole, "users: {list}, groups: {groups}");
            }
        }
        // Keys serde_json's value reader treats specially (a first key naming its private raw
        // value marker reads the object as the value in the string): the same as reading a value.
        for text in [
            r#"{"$serde_json::private::RawValue":"{}","id":"u"}"#,
            r#"{"$serde_json::private::RawValue":"{"id":"v"}"}"#,
            r#"{"id":"u","$serde_json::private::RawValue":"{}"}"#,
            r#"{"$serde_json::private::Number":"1","id":"u"}"#,
        ] {
            let mut compact = CompactFacts::from(raw_with(json!({}), json!({})));
            compact.graph.insert("groupMembers".into(), format!(r#"{{"P1":[{text}]}}"#));
            compact.graph.insert("users".into(), format!("[{text}]"));
            let read = |text: &str| -> Result<String> {
                let value: Value = serde_json::from_str(text).map_err(|e| corrupt("x", e))?;
                Ok(value.to_string())
            };
            let streamed = parse(&compact).map(|f| format!("{f:?}")).map_err(|e| e.to_string());
            // What reading each object as a value, as before it was read from text, gives.
            let before = match read(text) {
                Err(_) => streamed.is_err(),
                Ok(_) => {
                    let raw = compact.to_raw().unwrap();
                    streamed == parse(&raw).map(|f| format!("{f:?}")).map_err(|e| e.to_string())
                }
            };
            assert!(before, "{text}: {streamed:?}");
            assert!(flat::read(text, ["id"]).is_none(), "{text}");
        }
        // A number no value holds: an error about that object, as before it was read from text.
        let mut compact = CompactFacts::from(base);
        compact.graph.insert("groupMembers".into(), r#"{"P1":[{"id":"u"},{"id":"v","n":1e400}]}"#.into());
        let err = parse(&compact).unwrap_err();
        assert_eq!(err.path, "graph.groupMembers.P1[1]");
        assert!(err.message.starts_with("not valid JSON: number out of range"), "{err}");
    }

    #[test]
    fn basic_publishing_credentials_policies_are_folded_into_their_app_or_slot() {
        let site = "/subscriptions/S/resourceGroups/RG/providers/Microsoft.Web/sites/app";
        let slot = format!("{site}/slots/staging");
        let policy = |parent: &str, ty: &str, name: &str, allow: Value| json!({"id": format!("{parent}/basicPublishingCredentialsPolicies/{name}"), "name": name, "type": ty, "properties": {"allow": allow}});
        let resources = json!([
            policy(site, "Microsoft.Web/sites/basicPublishingCredentialsPolicies", "scm", json!(false)),
            policy(site, "Microsoft.Web/sites/basicPublishingCredentialsPolicies", "ftp", json!(true)),
            {"id": site, "type": "Microsoft.Web/sites", "kind": "functionapp"},
            {"id": slot, "type": "Microsoft.Web/sites/slots", "kind": "functionapp"},
            policy(&slot, "Microsoft.Web/sites/slots/basicPublishingCredentialsPolicies", "scm", json!(true)),
            policy("/subscriptions/S/resourceGroups/RG/providers/Microsoft.Web/sites/gone", "Microsoft.Web/sites/basicPublishingCredentialsPolicies", "scm", json!(true)),
        ]);
        let f = parse(&raw_with(json!({}), json!({"resources": resources}))).unwrap();
        assert_eq!(f.resources.len(), 2, "policies are settings of their app, not resources");
        let details = |id: &str| &f.resources.iter().find(|r| r.id == norm(id)).unwrap().details;
        assert!(matches!(
            details(site),
            ResourceDetails::AppService {
                scm_basic_auth: Some(false),
                ftp_basic_auth: Some(true),
                deployment_storage: None
            }
        ));
        assert!(matches!(
            details(&slot),
            ResourceDetails::AppService { scm_basic_auth: Some(true), ftp_basic_auth: None, deployment_storage: None }
        ));
        assert_eq!(f.skipped.len(), 1, "{:?}", f.skipped);
        let bad = json!([{"id": site, "type": "Microsoft.Web/sites"},
            policy(site, "Microsoft.Web/sites/basicPublishingCredentialsPolicies", "scm", json!("true"))]);
        let err = parse(&raw_with(json!({}), json!({"resources": bad}))).unwrap_err();
        assert!(err.to_string().contains("properties.allow"), "{err}");
    }

    #[test]
    fn identity_type_is_read_leniently() {
        let body = json!({"id": "/subscriptions/S/resourceGroups/RG/providers/Microsoft.Web/sites/app", "type": "Microsoft.Web/sites",
            "identity": {"type": "SystemAssigned, UserAssigned", "principalId": "AAA",
              "userAssignedIdentities": {"/subscriptions/S/resourcegroups/RG/providers/Microsoft.ManagedIdentity/userAssignedIdentities/u": {"principalId": "BBB"}}}});
        let f = parse(&raw_with(json!({}), json!({"resources": [body]}))).unwrap();
        let r = &f.resources[0];
        assert_eq!(r.id, "/subscriptions/s/resourcegroups/rg/providers/microsoft.web/sites/app");
        assert_eq!(r.identity.system_principal_id.as_deref(), Some("aaa"));
        assert_eq!(r.identity.user_assigned[0].1.as_deref(), Some("bbb"));
    }

    #[test]
    fn a_security_flag_of_the_wrong_type_is_an_error_naming_the_field() {
        let body = json!({"id": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/sa",
            "type": "Microsoft.Storage/storageAccounts", "properties": {"allowSharedKeyAccess": "false"}});
        let err = parse(&raw_with(json!({}), json!({"resources": [body]}))).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("allowSharedKeyAccess"), "{msg}");
        assert!(msg.contains("storageAccounts/sa"), "{msg}");
    }

    #[test]
    fn unknown_resource_types_are_kept() {
        let body = json!({"id": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v",
            "type": "Microsoft.Network/virtualNetworks"});
        let f = parse(&raw_with(json!({}), json!({"resources": [body]}))).unwrap();
        assert_eq!(f.resources.len(), 1);
        assert!(matches!(f.resources[0].details, ResourceDetails::Other));
    }

    #[test]
    fn expired_and_future_eligibilities_are_skipped() {
        let sched = |id: &str, start: &str, end: &str| {
            json!({"id": id, "properties": {
            "scope": "/subscriptions/s", "principalId": "p", "principalType": "User",
            "roleDefinitionId": "/subscriptions/s/providers/Microsoft.Authorization/roleDefinitions/8e3af657-a8ff-443c-a75c-2fe8c4bcb635",
            "status": "Provisioned", "startDateTime": start, "endDateTime": end}})
        };
        let f = parse(&raw_with(
            json!({}),
            json!({"roleEligibilitySchedules": [
                sched("/x/expired", "2025-01-01T00:00:00Z", "2026-03-01T00:00:00Z"),
                sched("/x/future", "2027-01-01T00:00:00Z", "2028-03-01T00:00:00Z"),
                sched("/x/active", "2026-01-01T00:00:00Z", "2027-03-01T00:00:00Z"),
            ]}),
        ))
        .unwrap();
        assert_eq!(f.role_assignments.len(), 1);
        assert_eq!(f.role_assignments[0].id, "/x/active");
        assert!(f.role_assignments[0].eligible);
        assert_eq!(f.skipped.len(), 2);
    }

    #[test]
    fn graph_schedules_that_end_after_a_duration() {
        let sched = |id: &str, start: &str, dur: &str| {
            json!({"id": id, "principalId": "p", "roleDefinitionId": "r", "directoryScopeId": "/", "status": "Provisioned",
                   "scheduleInfo": {"startDateTime": start, "expiration": {"type": "afterDuration", "duration": dur}}})
        };
        let parse_one = |s: Value| parse(&raw_with(json!({"directoryRoleEligibilitySchedules": [s]}), json!({})));
        // Collected at 2026-11-01T09:00Z.
        let f = parse_one(sched("active", "2026-10-01T00:00:00Z", "P365D")).unwrap();
        assert_eq!(f.directory_role_assignments.len(), 1);
        let f = parse_one(sched("expired", "2026-11-01T00:00:00Z", "PT8H")).unwrap();
        assert_eq!(f.directory_role_assignments.len(), 0);
        assert_eq!(f.skipped.len(), 1);
        let f = parse_one(sched("active", "2026-11-01T00:00:00Z", "PT9H0.5S")).unwrap();
        assert_eq!(f.directory_role_assignments.len(), 1);
        let f = parse_one(sched("long", "2026-10-01T00:00:00Z", "P10675199D")).unwrap();
        assert_eq!(f.directory_role_assignments.len(), 1, "Graph's longest duration is read");
        // Not durations Graph can write: each an error naming the field, never a panic or a zero.
        for bad in ["P1Y", "P4294967295W", "P99999999D", "PT", "P"] {
            let err = parse_one(sched("bad", "2026-10-01T00:00:00Z", bad)).unwrap_err().to_string();
            assert!(
                err.starts_with(
                    "graph.directoryRoleEligibilitySchedules[0].scheduleInfo.expiration.duration (object bad): \
                     not an ISO 8601 duration"
                ) && err.contains(&format!("{bad:?}")),
                "{err}"
            );
        }
    }

    #[test]
    fn graph_schedule_durations() {
        use chrono::Duration as D;
        assert_eq!(parse_iso_duration("PT8H"), Some(D::hours(8)));
        assert_eq!(parse_iso_duration("P1DT2H"), Some(D::hours(26)));
        assert_eq!(parse_iso_duration("P365D"), Some(D::days(365)));
        assert_eq!(parse_iso_duration("P1DT2H3M4S"), Some(D::seconds(93_784)));
        assert_eq!(parse_iso_duration("PT90M"), Some(D::minutes(90)));
        assert_eq!(parse_iso_duration("PT0S"), Some(D::zero()));
        assert_eq!(parse_iso_duration("P1W"), Some(D::weeks(1)));
        // Fractional seconds, to the millisecond (further digits are dropped).
        assert_eq!(parse_iso_duration("PT1.5S"), Some(D::milliseconds(1_500)));
        assert_eq!(parse_iso_duration("PT0,25S"), Some(D::milliseconds(250)));
        assert_eq!(parse_iso_duration("PT0.0000001S"), Some(D::zero()));
        // Years and months have no fixed length; zero of them is nothing.
        assert_eq!(parse_iso_duration("P1Y"), None);
        assert_eq!(parse_iso_duration("P1M"), None);
        assert_eq!(parse_iso_duration("P1Y2M3D"), None);
        assert_eq!(parse_iso_duration("P2015-11-03T21:56"), None);
        assert_eq!(parse_iso_duration("P0Y1D"), Some(D::days(1)));
        // Not durations, or not all of the string.
        for bad in [
            "8H",
            "",
            "P",
            "PT",
            "P1DT",
            "P0DT",
            "pt8h",
            "-P1D",
            "PT8Hxx",
            "P1D2H",
            "PT30M8H",
            "P1W1D",
            "PT1.5H",
            "PT99999999999S",
        ] {
            assert_eq!(parse_iso_duration(bad), None, "{bad}");
        }
        // Up to Graph's longest (a .NET TimeSpan), with no overflow beyond it.
        assert_eq!(parse_iso_duration("P10675199DT2H48M5.477S"), Some(D::milliseconds(MAX_DURATION_MILLIS)));
        assert_eq!(parse_iso_duration("P10675199DT2H48M5.478S"), None);
        for too_long in ["P10675200D", "P99999999D", "P4294967295W", "P4294967295DT4294967295H4294967295M4294967295S"] {
            assert_eq!(parse_iso_duration(too_long), None, "{too_long}");
        }
    }

    #[test]
    fn administrative_units_and_their_members() {
        let graph = json!({
            "administrativeUnits": [
                {"id": "AU-1", "displayName": "ML contractors", "isMemberManagementRestricted": null, "membershipType": null},
                {"id": "au-2", "displayName": "Executives", "isMemberManagementRestricted": true},
                {"id": "au-3", "displayName": "Dynamic", "membershipType": "Dynamic",
                 "membershipRule": "user.department -eq \"ML\"", "membershipRuleProcessingState": "Paused"}],
            "administrativeUnitMembers": {"AU-1": [
                {"@odata.type": "#microsoft.graph.user", "id": "U-1", "displayName": "carol"},
                {"@odata.type": "#microsoft.graph.device", "id": "d-1"}]}});
        let f = parse(&raw_with(graph, json!({}))).unwrap();
        let u = &f.administrative_units;
        assert_eq!((u[0].id.as_str(), u[0].restricted, u[0].dynamic), ("au-1", false, false));
        assert!(u[1].restricted && !u[1].dynamic);
        assert!(u[2].dynamic && u[2].rule_paused && u[2].membership_rule.is_some());
        let m = &f.administrative_unit_members;
        assert_eq!((m[0].unit_id.as_str(), m[0].member_id.as_str()), ("au-1", "u-1"));
        assert_eq!(m[0].member_type, DirectoryObjectType::User);
        assert_eq!(m[1].member_type, DirectoryObjectType::Other);
        assert!(!f.completeness.iter().any(|n| n.what.contains("administrativeUnit")), "{:?}", f.completeness);
    }

    #[test]
    fn a_restricted_flag_or_processing_state_of_the_wrong_shape_is_an_error() {
        let bad = json!({"administrativeUnits": [{"id": "au-1", "isMemberManagementRestricted": "true"}]});
        let err = parse(&raw_with(bad, json!({}))).unwrap_err().to_string();
        assert!(err.contains("isMemberManagementRestricted") && err.contains("au-1"), "{err}");
        let bad = json!({"groups": [{"id": "g-1", "groupTypes": ["DynamicMembership"], "membershipRuleProcessingState": "Sometimes"}]});
        let err = parse(&raw_with(bad, json!({}))).unwrap_err().to_string();
        assert!(err.contains("membershipRuleProcessingState") && err.contains("g-1"), "{err}");
    }

    #[test]
    fn a_non_object_item_is_an_error() {
        let err = parse(&raw_with(json!({"users": [42]}), json!({}))).unwrap_err();
        assert_eq!(err.to_string(), "graph.users[0]: expected an object, found a number");
    }

    #[test]
    fn locks_are_read_with_their_scope_and_level() {
        let lock = |id: &str, level: &str| json!({"id": id, "type": "Microsoft.Authorization/locks", "name": last_segment(id), "properties": {"level": level, "notes": "n"}});
        let sa = "/subscriptions/S/resourceGroups/RG/providers/Microsoft.Storage/storageAccounts/sa";
        let f = parse(&raw_with(
            json!({}),
            json!({"locks": [
                lock("/subscriptions/S/providers/Microsoft.Authorization/locks/sub-lock", "CanNotDelete"),
                lock("/subscriptions/S/resourceGroups/RG/providers/Microsoft.Authorization/locks/rg-lock", "ReadOnly"),
                lock(&format!("{sa}/providers/Microsoft.Authorization/locks/sa-lock"), "readOnly"),
            ]}),
        ))
        .unwrap();
        let got: Vec<(&str, &str, LockLevel)> =
            f.locks.iter().map(|l| (l.name.as_str(), l.scope.as_str(), l.level)).collect();
        assert_eq!(
            got,
            vec![
                ("sub-lock", "/subscriptions/s", LockLevel::CanNotDelete),
                ("rg-lock", "/subscriptions/s/resourcegroups/rg", LockLevel::ReadOnly),
                ("sa-lock", norm(sa).as_str(), LockLevel::ReadOnly),
            ]
        );
        assert_eq!(f.locks[0].notes.as_deref(), Some("n"));
        assert!(f.completeness.iter().all(|n| n.what != "arm.locks"), "an empty or full list is collected");
    }

    #[test]
    fn a_lock_of_unknown_level_or_shape_is_an_error() {
        let bad = json!({"id": "/subscriptions/s/providers/Microsoft.Authorization/locks/l", "properties": {"level": "NotSpecified"}});
        let err = parse(&raw_with(json!({}), json!({"locks": [bad]}))).unwrap_err().to_string();
        assert!(err.contains("locks") && err.contains("properties.level") && err.contains("NotSpecified"), "{err}");
        let missing = json!({"id": "/subscriptions/s/providers/Microsoft.Authorization/locks/l", "properties": {}});
        let err = parse(&raw_with(json!({}), json!({"locks": [missing]}))).unwrap_err().to_string();
        assert!(err.contains("properties.level"), "{err}");
        let elsewhere = json!({"id": "/subscriptions/s/providers/Microsoft.Authorization/roleAssignments/x", "properties": {"level": "ReadOnly"}});
        let err = parse(&raw_with(json!({}), json!({"locks": [elsewhere]}))).unwrap_err().to_string();
        assert!(err.contains("must end in"), "{err}");
    }

    #[test]
    fn function_apps_whose_package_location_is_in_app_settings_are_one_completeness_note() {
        let site = |name: &str, identity: Value, props: Value| {
            json!({"id": format!("/subscriptions/S/resourceGroups/RG/providers/Microsoft.Web/sites/{name}"),
                "type": "Microsoft.Web/sites", "name": name, "kind": "functionapp,linux", "identity": identity, "properties": props})
        };
        let mi = json!({"type": "SystemAssigned", "principalId": "p"});
        let flex = json!({"functionAppConfig": {"deployment": {"storage": {"type": "blobContainer",
            "value": "https://st.blob.core.windows.net/app-package"}}}});
        let note = |resources: Vec<Value>| {
            let f = parse(&raw_with(json!({}), json!({"resources": resources}))).unwrap();
            f.completeness.into_iter().find(|n| n.what == "arm.functionApps.appSettings")
        };
        assert_eq!(note(vec![site("flex", mi.clone(), flex)]), None, "Flex apps name their package storage");
        assert_eq!(note(vec![site("no-identity", Value::Null, json!({}))]), None, "no identity, nothing to run as");
        let n = note(vec![site("classic", mi.clone(), json!({})), site("classic2", mi, json!({}))]).unwrap();
        assert!(n.reason.contains("2 function app(s)") && n.reason.contains("classic, classic2"), "{}", n.reason);
    }

    #[test]
    fn facts_without_the_lock_collection_read_as_no_locks_and_say_so() {
        let f = parse(&raw_with(json!({}), json!({}))).unwrap();
        assert!(f.locks.is_empty());
        assert!(f.completeness.iter().any(|n| n.what == "arm.locks" && n.reason.contains("not collected")));
    }

    #[test]
    fn uami_federated_credentials_attach_to_the_identity() {
        let uami = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/u";
        let fic = json!({"id": format!("{uami}/federatedIdentityCredentials/gh"),
            "type": "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials",
            "properties": {"issuer": "https://token.actions.githubusercontent.com", "subject": "repo:o/r:ref:refs/heads/main"}});
        let f = parse(&raw_with(json!({}), json!({"resources": [fic]}))).unwrap();
        assert_eq!(f.federated_credentials.len(), 1);
        assert_eq!(f.federated_credentials[0].parent, FederatedParent::UserAssignedIdentity(norm(uami)));
        assert!(f.resources.is_empty());
    }
}
