//! Inventory items: the data inventory's staging area, decisions, and per-sync changes.
