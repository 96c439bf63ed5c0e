//! The master key file: created private, refused when readable by others or malformed.

use std::os::unix::fs::PermissionsExt as _;

use steward_store::{MasterKey, StoreError};

#[test]
fn created_with_mode_0600_and_loaded_again() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("master.key");
    let first = MasterKey::load_or_create(&path).unwrap();
    let meta = std::fs::metadata(&path).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    assert_eq!(meta.len(), 32);
    let again = MasterKey::load_or_create(&path).unwrap();
    // Same key: Debug is redacted, so compare through what it seals.
    assert_eq!(format!("{first:?}"), "MasterKey(REDACTED)");
    assert_eq!(format!("{again:?}"), "MasterKey(REDACTED)");
}

#[test]
fn refused_when_group_or_world_readable() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("master.key");
    MasterKey::load_or_create(&path).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let err = MasterKey::load_or_create(&path).unwrap_err();
    assert!(matches!(err, StoreError::Key { .. }), "{err}");
    let msg = err.to_string();
    assert!(
        msg.contains(&format!("chmod 600 {}", path.display())),
        "{msg}"
    );
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    MasterKey::load_or_create(&path).unwrap();
}

#[test]
fn refused_when_the_wrong_size() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("master.key");
    std::fs::write(&path, b"too short").unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    let err = MasterKey::load_or_create(&path).unwrap_err();
    assert!(matches!(err, StoreError::Key { .. }), "{err}");
    assert!(err.to_string().contains("9 bytes"), "{err}");
}

#[tokio::test]
async fn the_same_key_file_opens_what_it_sealed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("master.key");
    let url = format!("sqlite://{}", dir.path().join("s.db").display());
    let store = steward_store::Store::open(&url, MasterKey::load_or_create(&path).unwrap())
        .await
        .unwrap();
    let a = crate::support::add(&store, "a").await;
    store.close().await;
    let store = steward_store::Store::open(&url, MasterKey::load_or_create(&path).unwrap())
        .await
        .unwrap();
    use secrecy::ExposeSecret as _;
    assert_eq!(
        store.credential(a.id).await.unwrap().expose_secret(),
        "token-of-a"
    );
}
