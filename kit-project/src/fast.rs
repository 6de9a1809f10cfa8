//! The hasher of kit-project's maps and sets.

/// The hasher of kit-project's in-memory maps and sets (foldhash: seeded
/// per process, much faster than SipHash). Their keys are names, paths and
/// keys from kit's own documents, schema and stores, looked up within one
/// run; nothing here is exposed or kept.
pub(crate) type Fast = foldhash::fast::RandomState;
