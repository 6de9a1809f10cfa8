//! Shared helpers for kit benches (fixtures loading).
