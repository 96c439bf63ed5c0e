//! Content digests of a resource: one definition shared by the simulator's `/__sim/truth`
//! and the store, so a test can compare what the source holds with what a sync stored.
//!
//! A digest is the lowercase hex SHA-256 of the resource's truth keys (see
//! [`crate::Record::truth_key`]), sorted bytewise, each followed by `\n`. Sorting makes it
//! independent of paging order; an empty resource digests the empty string.

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

/// Count and digest of one resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Digest {
    pub count: u64,
    pub digest: String,
}

/// Digest a set of truth keys (any order).
pub fn truth_digest<I, S>(keys: I) -> Digest
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    let mut keys: Vec<String> = keys.into_iter().map(Into::into).collect();
    keys.sort_unstable();
    let mut hasher = Sha256::new();
    for k in &keys {
        hasher.update(k.as_bytes());
        hasher.update(b"\n");
    }
    Digest {
        count: keys.len() as u64,
        digest: hex::encode(hasher.finalize()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_does_not_matter_and_content_does() {
        let a = truth_digest(["b", "a", "c"]);
        let b = truth_digest(["c", "b", "a"]);
        assert_eq!(a, b);
        assert_eq!(a.count, 3);
        assert_ne!(a.digest, truth_digest(["a", "b", "d"]).digest);
        assert_eq!(
            truth_digest(Vec::<String>::new()).digest,
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
