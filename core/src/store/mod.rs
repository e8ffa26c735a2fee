//! The versioned object store: revisions, compare-and-swap, list, watch from a revision, compaction.
