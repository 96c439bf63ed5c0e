//! `steward requests` end to end.
