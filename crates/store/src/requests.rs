//! Privacy requests: the append-only audit trail, receipts, and erasure of a person's data.
