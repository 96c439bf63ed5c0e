//! Evidence items: the hash-chained evidence register.
