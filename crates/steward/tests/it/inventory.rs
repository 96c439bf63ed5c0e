//! `steward inventory` end to end.
