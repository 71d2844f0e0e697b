//! Facts from other tools' collections: each reader maps a foreign format into the Graph/ARM
//! shapes of a [`crate::facts::RawFacts`], so the normal pipeline (redaction, typed parsing, every
//! rule) applies unchanged. Pure apart from reading the files it is given.

pub mod azurehound;
