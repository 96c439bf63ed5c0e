//! `steward evidence` end to end.
