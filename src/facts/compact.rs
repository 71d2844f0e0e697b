//! A facts file held as redacted, compact JSON text per collection: what `raw_facts` stores, and
//! what the parser reads one object at a time. Reading a facts file this way streams it: each
//! object is parsed, redacted and written back as text before the next is read, so neither the
//! file's bytes nor a JSON tree of the whole tenant are ever in memory.

use super::parse::{Collections, FactSource};
use super::raw::{FactsFileError, RawFacts, TenantInfo, missing_collections, scrub_header};
use super::redact::redact_value;
use crate::model::CompletenessNote;
use serde::de::{DeserializeSeed, Error as _, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::fmt;
use std::io::Read;

/// A redacted facts file: the header as values, each collection as compact JSON text.
#[derive(Debug, Clone, PartialEq)]
pub struct CompactFacts {
    pub format: String,
    pub tenant: TenantInfo,
    pub collected_at: String,
    pub source: Option<String>,
    /// Collection name -> compact JSON text (`[...]`, `{...}` or `null`), already redacted.
    pub graph: BTreeMap<String, String>,
    pub arm: BTreeMap<String, String>,
    pub completeness: Vec<CompletenessNote>,
    /// How many properties redaction removed and values it replaced on the way in.
    pub redacted: usize,
}

impl From<RawFacts> for CompactFacts {
    /// Redacts the facts and writes each collection as text, freeing its values as it goes.
    fn from(mut raw: RawFacts) -> CompactFacts {
        let redacted = raw.redact_secrets();
        let text = |map: BTreeMap<String, Value>| map.into_iter().map(|(k, v)| (k, v.to_string())).collect();
        CompactFacts {
            format: raw.format,
            tenant: raw.tenant,
            collected_at: raw.collected_at,
            source: raw.source,
            graph: text(raw.graph),
            arm: text(raw.arm),
            completeness: raw.completeness,
            redacted,
        }
    }
}

impl FactSource for CompactFacts {
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
        CompactFacts::completeness_with_missing(self)
    }
    fn graph(&self) -> Collections<'_> {
        Collections::Texts(&self.graph)
    }
    fn arm(&self) -> Collections<'_> {
        Collections::Texts(&self.arm)
    }
}

impl CompactFacts {
    /// Reads a facts file (`azpath-facts/1`) from a stream, redacting each object as it is read.
    /// Errors are serde's, with quoted input replaced as in [`RawFacts::from_json`].
    pub fn read<R: Read>(reader: R) -> Result<CompactFacts, FactsFileError> {
        let mut de = serde_json::Deserializer::from_reader(reader);
        let mut facts = FileSeed.deserialize(&mut de).and_then(|f| de.end().map(|()| f)).map_err(FactsFileError::of)?;
        facts.redacted += scrub_header(&mut facts.tenant, &mut facts.source, &mut facts.completeness);
        Ok(facts)
    }

    /// Reads a facts file from JSON text (see [`Self::read`]).
    pub fn from_json(text: &str) -> Result<CompactFacts, FactsFileError> {
        Self::read(text.as_bytes())
    }

    /// Redacts the collections again with today's rules (stored facts were redacted by the azpath
    /// that stored them), one element at a time; returns how many values were removed or replaced.
    pub fn redact_secrets(&mut self) -> usize {
        let mut redacted = scrub_header(&mut self.tenant, &mut self.source, &mut self.completeness);
        for text in self.graph.values_mut().chain(self.arm.values_mut()) {
            let mut count = 0;
            let mut de = serde_json::Deserializer::from_str(text);
            // Text that is not JSON is left for the parser to report.
            if let Ok(clean) = (CollectionSeed { redacted: &mut count }).deserialize(&mut de)
                && count > 0
            {
                *text = clean;
                redacted += count;
            }
        }
        self.redacted += redacted;
        redacted
    }

    /// The completeness notes, plus one for every known collection the file does not contain (or
    /// holds as `null`), as [`RawFacts::completeness_with_missing`].
    pub fn completeness_with_missing(&self) -> Vec<CompletenessNote> {
        let present = |side: &str, name: &str| {
            let map = if side == "graph" { &self.graph } else { &self.arm };
            map.get(name).is_some_and(|t| t != "null")
        };
        missing_collections(self.completeness.clone(), present)
    }

    /// The same facts as JSON values (for callers that edit them, and for tests).
    pub fn to_raw(&self) -> Result<RawFacts, serde_json::Error> {
        let values = |map: &BTreeMap<String, String>| -> Result<BTreeMap<String, Value>, serde_json::Error> {
            map.iter().map(|(k, t)| Ok((k.clone(), serde_json::from_str(t)?))).collect()
        };
        Ok(RawFacts {
            format: self.format.clone(),
            tenant: self.tenant.clone(),
            collected_at: self.collected_at.clone(),
            source: self.source.clone(),
            graph: values(&self.graph)?,
            arm: values(&self.arm)?,
            completeness: self.completeness.clone(),
        })
    }
}

/// The whole file: its header fields as values, its two sides through [`SideSeed`].
struct FileSeed;

impl<'de> DeserializeSeed<'de> for FileSeed {
    type Value = CompactFacts;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<CompactFacts, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for FileSeed {
    type Value = CompactFacts;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an azpath facts file (a JSON object)")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<CompactFacts, A::Error> {
        let (mut format, mut tenant, mut collected_at, mut source, mut completeness) = (None, None, None, None, None);
        let (mut graph, mut arm) = (None, None);
        let mut redacted = 0;
        fn once<T, E: serde::de::Error>(slot: &mut Option<T>, name: &'static str, value: T) -> Result<(), E> {
            if slot.replace(value).is_some() {
                return Err(E::duplicate_field(name));
            }
            Ok(())
        }
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "format" => once(&mut format, "format", map.next_value::<String>()?)?,
                "tenant" => once(&mut tenant, "tenant", map.next_value::<TenantInfo>()?)?,
                "collectedAt" => once(&mut collected_at, "collectedAt", map.next_value::<String>()?)?,
                "source" => once(&mut source, "source", map.next_value::<Option<String>>()?)?,
                "completeness" => once(&mut completeness, "completeness", map.next_value::<Vec<CompletenessNote>>()?)?,
                "graph" => once(&mut graph, "graph", map.next_value_seed(SideSeed { redacted: &mut redacted })?)?,
                "arm" => once(&mut arm, "arm", map.next_value_seed(SideSeed { redacted: &mut redacted })?)?,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(CompactFacts {
            format: format.ok_or_else(|| A::Error::missing_field("format"))?,
            tenant: tenant.ok_or_else(|| A::Error::missing_field("tenant"))?,
            collected_at: collected_at.ok_or_else(|| A::Error::missing_field("collectedAt"))?,
            source: source.flatten(),
            graph: graph.unwrap_or_default(),
            arm: arm.unwrap_or_default(),
            completeness: completeness.unwrap_or_default(),
            redacted,
        })
    }
}

/// `graph` or `arm`: collection name -> collection, each through [`CollectionSeed`].
struct SideSeed<'r> {
    redacted: &'r mut usize,
}

impl<'de> DeserializeSeed<'de> for SideSeed<'_> {
    type Value = BTreeMap<String, String>;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for SideSeed<'_> {
    type Value = BTreeMap<String, String>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a map")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut side = BTreeMap::new();
        while let Some(name) = map.next_key::<String>()? {
            let text = map.next_value_seed(CollectionSeed { redacted: &mut *self.redacted })?;
            side.insert(name, text);
        }
        Ok(side)
    }
}

/// One collection, written as compact text one redacted element at a time: an array's items, a
/// keyed collection's entries (`"<parent id>": [...]`), or a lone value of another type (which the
/// parser reports).
struct CollectionSeed<'r> {
    redacted: &'r mut usize,
}

impl CollectionSeed<'_> {
    fn push(&mut self, out: &mut Vec<u8>, mut value: Value) {
        *self.redacted += redact_value(&mut value);
        serde_json::to_writer(out, &value).expect("a JSON value serialises to memory");
    }

    fn scalar<E: serde::de::Error>(mut self, value: Value) -> Result<String, E> {
        let mut out = Vec::new();
        self.push(&mut out, value);
        Ok(String::from_utf8(out).expect("serde_json writes UTF-8"))
    }
}

impl<'de> DeserializeSeed<'de> for CollectionSeed<'_> {
    type Value = String;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<String, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for CollectionSeed<'_> {
    type Value = String;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a collection (an array, or an object keyed by parent id)")
    }

    fn visit_seq<A: SeqAccess<'de>>(mut self, mut seq: A) -> Result<String, A::Error> {
        let mut out = vec![b'['];
        while let Some(item) = seq.next_element::<Value>()? {
            if out.len() > 1 {
                out.push(b',');
            }
            self.push(&mut out, item);
        }
        out.push(b']');
        // Without the slack its growth left: the text is kept until the snapshot is written.
        out.shrink_to_fit();
        Ok(String::from_utf8(out).expect("serde_json writes UTF-8"))
    }

    /// Each entry is redacted as a one-entry object: by its key (a parent id that looks like a
    /// credential, or names one, goes) and through its value, as in the whole collection. Entries
    /// are written in key order, the last of a repeated key kept, as a JSON value would have them.
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<String, A::Error> {
        let mut entries = BTreeMap::new();
        while let Some((key, value)) = map.next_entry::<String, Value>()? {
            let mut entry = Value::Object(Map::from_iter([(key, value)]));
            *self.redacted += redact_value(&mut entry);
            let Value::Object(entry) = entry else { unreachable!("an object stays an object") };
            for (key, value) in entry {
                entries.insert(key, value.to_string());
            }
        }
        let mut out = String::with_capacity(entries.iter().map(|(k, v)| k.len() + v.len() + 4).sum::<usize>() + 2);
        out.push('{');
        for (key, value) in entries {
            if out.len() > 1 {
                out.push(',');
            }
            out.push_str(&Value::from(key).to_string());
            out.push(':');
            out.push_str(&value);
        }
        out.push('}');
        Ok(out)
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<String, E> {
        Ok("null".into())
    }
    fn visit_none<E: serde::de::Error>(self) -> Result<String, E> {
        Ok("null".into())
    }
    fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<String, E> {
        self.scalar(Value::Bool(v))
    }
    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<String, E> {
        self.scalar(Value::from(v))
    }
    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<String, E> {
        self.scalar(Value::from(v))
    }
    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<String, E> {
        self.scalar(Value::from(v))
    }
    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<String, E> {
        self.scalar(Value::String(v.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::parse;
    use serde_json::json;

    #[test]
    fn credentials_are_gone_from_the_text_as_it_streams() {
        let text = json!({"format": "azpath-facts/1", "tenant": {"id": "t", "displayName": "sig=abcdef"},
            "collectedAt": "2026-01-01T00:00:00Z",
            "graph": {"servicePrincipals": [{"id": "a", "passwordCredentials": [{"keyId": "k", "secretText": "hunter2"}]}],
                      "groupMembers": {"g": [{"id": "u", "apiKey": "k-e-y"}], "password": [{"id": "x"}]}},
            "arm": {"resources": [{"id": "/x", "properties": {"primaryKey": "abc", "allowSharedKeyAccess": true}}],
                    "locks": "sig=tail"}})
        .to_string();
        let facts = CompactFacts::from_json(&text).unwrap();
        let kept = format!("{facts:?}");
        for secret in ["hunter2", "k-e-y", "\"abc\"", "sig=abcdef", "sig=tail", "\"password\""] {
            assert!(!kept.contains(secret), "{secret} survived: {kept}");
        }
        assert!(kept.contains("allowSharedKeyAccess") && kept.contains("passwordCredentials"));
        // As many removals as redacting the whole file's values finds.
        let mut whole = RawFacts::from_json(&text).unwrap();
        assert_eq!(facts.redacted, whole.redact_secrets());
        assert_eq!(facts.to_raw().unwrap(), whole);
    }

    #[test]
    fn wrongly_typed_collections_and_null_parents_read_as_from_values() {
        let file = |graph: Value| {
            json!({"format": "azpath-facts/1", "tenant": {"id": "t"}, "collectedAt": "2026-01-01T00:00:00Z", "graph": graph})
                .to_string()
        };
        for graph in [
            json!({"users": {"id": "u"}}),
            json!({"groupMembers": [{"id": "u"}]}),
            json!({"groupMembers": {"g": {"id": "u"}}}),
            json!({"users": [42]}),
            json!({"users": [{"id": 7}]}),
        ] {
            let text = file(graph.clone());
            let streamed = parse(&CompactFacts::from_json(&text).unwrap()).unwrap_err().to_string();
            let whole = parse(&RawFacts::from_json(&text).unwrap()).unwrap_err().to_string();
            assert_eq!(streamed, whole, "{graph}");
        }
        let text =
            file(json!({"groupMembers": {"g1": null, "g2": [{"id": "u", "@odata.type": "#microsoft.graph.user"}]}}));
        let streamed = parse(&CompactFacts::from_json(&text).unwrap()).unwrap();
        assert!(
            streamed.completeness.iter().any(|n| n.what == "graph.groupMembers" && n.scope.as_deref() == Some("g1"))
        );
        assert_eq!(streamed.memberships.len(), 1);
        assert_eq!(streamed.completeness, parse(&RawFacts::from_json(&text).unwrap()).unwrap().completeness);
    }
}
