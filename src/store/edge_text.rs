//! Edge reasons and evidence as stored since schema v6 (table `packed_edge_texts`): each distinct
//! detail's text compressed with zstd against a dictionary trained on that snapshot's texts (table
//! `edge_text_dictionaries`).
//!
//! The texts of one tenant repeat the same role names, scopes, templates and JSON keys row after
//! row, yet each row must be readable on its own (a path's hops are looked up one at a time). A
//! dictionary gives each small row the shared context: an eighth of the plain size, against half
//! for each row compressed alone. These rows were a snapshot's largest table (two fifths of a 1 GB
//! AzureHound collection's database), and SQLite's write-ahead log writes every byte twice.
//!
//! A body is one zstd frame of: the reason's JSON length (u32, little-endian), the reason's JSON,
//! the evidence's JSON. The dictionary may be empty (too few texts to train on): the frames are
//! then plain zstd.

use super::{Result, StoreError};

/// zstd's level: on these rows, level 3 is as fast as level 1 and a little smaller (measured on a
/// 1 GB AzureHound collection's and a 10M synthetic tenant's texts).
const LEVEL: i32 = 3;
/// The dictionary's largest size; zstd advises samples of about a hundred times that.
const DICTIONARY_BYTES: usize = 64 * 1024;
/// Fewer sample bytes than this train no dictionary (the frames are plain zstd).
const MIN_SAMPLE_BYTES: usize = 256 * 1024;
/// How many texts, evenly spread over the snapshot, the dictionary is trained on, and their most
/// bytes (a tenant whose texts are unusually long trains on fewer).
const SAMPLES: usize = 16_384;
const MAX_SAMPLE_BYTES: usize = 16 << 20;
/// The largest text a body may unpack to: a bound against a corrupt or hostile database, far
/// above any real detail (a few kilobytes).
const MAX_TEXT_BYTES: usize = 64 << 20;

/// A row's reason and evidence as JSON text, the form `edge_texts` stored them in before.
#[derive(Debug)]
pub struct PlainText {
    pub reason: String,
    pub evidence: String,
}

/// The texts of a snapshot, compressed, in id order, and the dictionary they need.
pub struct Packed {
    pub dictionary: Vec<u8>,
    /// The bodies end to end (one allocation, not one per text), and where each ends.
    bytes: Vec<u8>,
    ends: Vec<usize>,
}

impl Packed {
    /// Each text's body, in id order.
    pub fn bodies(&self) -> impl Iterator<Item = &[u8]> {
        let starts = std::iter::once(0).chain(self.ends.iter().copied());
        starts.zip(&self.ends).map(|(start, &end)| &self.bytes[start..end])
    }
}

/// Trains a dictionary on a spread of `texts` and compresses each against it. `render` gives a
/// text's plain form; it is called twice for the texts sampled. A large snapshot's texts are
/// compressed in consecutive slices on every core (each frame stands alone: the same bytes).
pub fn pack<T: Sync>(texts: &[T], render: impl Fn(&T) -> PlainText + Sync) -> Packed {
    let workers = if texts.len() < PARALLEL_FROM {
        1
    } else {
        std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, 8)
    };
    pack_on(texts, render, workers)
}

fn pack_on<T: Sync>(texts: &[T], render: impl Fn(&T) -> PlainText + Sync, workers: usize) -> Packed {
    let step = texts.len().div_ceil(SAMPLES).max(1);
    let mut samples = Vec::new();
    let mut sizes = Vec::new();
    for t in texts.iter().step_by(step) {
        if samples.len() >= MAX_SAMPLE_BYTES {
            break;
        }
        let before = samples.len();
        put(&mut samples, &render(t));
        sizes.push(samples.len() - before);
    }
    let dictionary = if samples.len() >= MIN_SAMPLE_BYTES {
        // Training fails on samples too alike or too few; the texts are then compressed alone.
        zstd::dict::from_continuous(&samples, &sizes, DICTIONARY_BYTES).unwrap_or_default()
    } else {
        Vec::new()
    };
    drop(samples);
    let compress = |slice: &[T]| -> (Vec<u8>, Vec<usize>) {
        let mut compressor = zstd::bulk::Compressor::with_dictionary(LEVEL, &dictionary)
            .expect("a dictionary zstd trained, or none, is accepted");
        let mut plain = Vec::new();
        let mut frame = Vec::new();
        let mut bytes = Vec::new();
        let mut ends = Vec::with_capacity(slice.len());
        for t in slice {
            plain.clear();
            put(&mut plain, &render(t));
            frame.clear();
            frame.reserve(zstd::zstd_safe::compress_bound(plain.len()));
            compressor.compress_to_buffer(&plain, &mut frame).expect("the frame has room for the text compressed");
            bytes.extend_from_slice(&frame);
            ends.push(bytes.len());
        }
        (bytes, ends)
    };
    let per_worker = texts.len().div_ceil(workers.max(1)).max(1);
    let slices: Vec<(Vec<u8>, Vec<usize>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = texts.chunks(per_worker).skip(1).map(|slice| scope.spawn(|| compress(slice))).collect();
        let first = compress(&texts[..texts.len().min(per_worker)]);
        std::iter::once(first)
            .chain(handles.into_iter().map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p))))
            .collect()
    });
    let mut bytes = Vec::with_capacity(slices.iter().map(|s| s.0.len()).sum());
    let mut ends = Vec::with_capacity(texts.len());
    for (slice_bytes, slice_ends) in slices {
        let base = bytes.len();
        ends.extend(slice_ends.into_iter().map(|e| base + e));
        bytes.extend_from_slice(&slice_bytes);
    }
    Packed { dictionary, bytes, ends }
}

/// Below this many texts, one core compresses them (a thread costs more than it saves).
const PARALLEL_FROM: usize = 20_000;

fn put(out: &mut Vec<u8>, text: &PlainText) {
    out.extend_from_slice(&(text.reason.len() as u32).to_le_bytes());
    out.extend_from_slice(text.reason.as_bytes());
    out.extend_from_slice(text.evidence.as_bytes());
}

/// Reads the bodies of one snapshot.
pub struct Unpacker {
    decompressor: zstd::bulk::Decompressor<'static>,
    snapshot: i64,
}

impl Unpacker {
    pub fn new(snapshot: i64, dictionary: &[u8]) -> Result<Unpacker> {
        let decompressor = zstd::bulk::Decompressor::with_dictionary(dictionary)
            .map_err(|e| StoreError::Corrupt(format!("edge text dictionary of snapshot {snapshot}: {e}")))?;
        Ok(Unpacker { decompressor, snapshot })
    }

    /// Text `id`'s reason and evidence (JSON).
    pub fn unpack(&mut self, id: i64, body: &[u8]) -> Result<PlainText> {
        let corrupt = |e: String| StoreError::Corrupt(format!("edge text {id} of snapshot {}: {e}", self.snapshot));
        let bytes = self.decompressor.decompress(body, MAX_TEXT_BYTES).map_err(|e| corrupt(e.to_string()))?;
        let (len, rest) = bytes.split_first_chunk::<4>().ok_or_else(|| corrupt("shorter than its header".into()))?;
        let len = u32::from_le_bytes(*len) as usize;
        if len > rest.len() {
            return Err(corrupt("its reason runs past its end".into()));
        }
        let (reason, evidence) = rest.split_at(len);
        let text = |b: &[u8]| String::from_utf8(b.to_vec()).map_err(|e| corrupt(e.to_string()));
        Ok(PlainText { reason: text(reason)?, evidence: text(evidence)? })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(i: usize) -> PlainText {
        PlainText {
            reason: format!("\"Contributor on vm-{i} allows runCommand\""),
            evidence: format!(
                "[{{\"kind\":\"RoleAssignment\",\"value\":\"/subscriptions/s/resourcegroups/rg-{}/providers/microsoft.compute/virtualmachines/vm-{i}/providers/microsoft.authorization/roleassignments/{i:08x}\"}}]",
                i % 97
            ),
        }
    }

    #[test]
    fn many_texts_share_a_trained_dictionary_and_read_back_exactly() {
        let ids: Vec<usize> = (0..20_000).collect();
        let packed = pack(&ids, |&i| text(i));
        assert!(!packed.dictionary.is_empty(), "enough texts to train on");
        let plain: usize = ids.iter().map(|&i| 4 + text(i).reason.len() + text(i).evidence.len()).sum();
        let bodies: Vec<&[u8]> = packed.bodies().collect();
        let stored: usize = bodies.iter().map(|b| b.len()).sum();
        assert!(stored * 4 < plain, "{stored} bytes stored for {plain} plain");
        let mut unpacker = Unpacker::new(1, &packed.dictionary).unwrap();
        for &i in [0, 1, 9_999, 19_999].iter() {
            let got = unpacker.unpack(i as i64, bodies[i]).unwrap();
            assert_eq!((got.reason, got.evidence), (text(i).reason, text(i).evidence));
        }
    }

    /// Compressed in slices on several cores, the texts are the same bytes as on one, in order,
    /// whatever the slices (one, several, some empty).
    #[test]
    fn texts_packed_on_several_cores_are_the_bytes_one_core_packs() {
        let ids: Vec<usize> = (0..5_003).collect();
        let one = pack_on(&ids, |&i| text(i), 1);
        assert!(!one.dictionary.is_empty());
        for workers in [2, 3, 8, 6_000] {
            let many = pack_on(&ids, |&i| text(i), workers);
            assert_eq!(
                (&many.dictionary, &many.bytes, &many.ends),
                (&one.dictionary, &one.bytes, &one.ends),
                "{workers}"
            );
        }
        let mut unpacker = Unpacker::new(1, &one.dictionary).unwrap();
        for (i, body) in pack_on(&ids, |&i| text(i), 3).bodies().enumerate().step_by(1_001) {
            assert_eq!(unpacker.unpack(i as i64, body).unwrap().evidence, text(i).evidence);
        }
    }

    #[test]
    fn few_texts_are_compressed_without_a_dictionary() {
        let packed = pack(&[7usize, 8], |&i| text(i));
        assert!(packed.dictionary.is_empty());
        let got = Unpacker::new(1, &[]).unwrap().unpack(1, packed.bodies().nth(1).unwrap()).unwrap();
        assert_eq!(got.evidence, text(8).evidence);
        assert_eq!(packed.bodies().count(), 2);
        assert_eq!(pack(&[] as &[usize], |&i| text(i)).bodies().count(), 0);
    }

    #[test]
    fn a_damaged_body_or_dictionary_is_an_error_not_a_panic() {
        let ids: Vec<usize> = (0..20_000).collect();
        let packed = pack(&ids, |&i| text(i));
        let mut unpacker = Unpacker::new(3, &packed.dictionary).unwrap();
        let mut body = packed.bodies().nth(5).unwrap().to_vec();
        let last = body.len() - 1;
        body[last] ^= 0xff;
        body.truncate(body.len() - 2);
        for bad in [&body[..], &[][..], b"not zstd at all"] {
            let e = unpacker.unpack(5, bad).expect_err("damaged").to_string();
            assert!(e.contains("edge text 5 of snapshot 3"), "{e}");
        }
        // Read without the dictionary it was packed with.
        assert!(Unpacker::new(3, &[]).unwrap().unpack(5, packed.bodies().nth(5).unwrap()).is_err());
        // A frame whose header is fine but whose text is shorter than its reason's length.
        let short = zstd::bulk::compress(&[200, 0, 0, 0, b'x'], 3).unwrap();
        assert!(unpacker.unpack(5, &short).unwrap_err().to_string().contains("runs past its end"));
    }
}
