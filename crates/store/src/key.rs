//! The master key and sealing of credentials at rest.
//!
//! One random 32-byte master key lives in a file readable only by its owner; the sealing key
//! is derived from it with HKDF-SHA256 (info `steward secrets-at-rest/v1`) so other subkeys
//! can be derived later without reusing it. Tokens are sealed with XChaCha20-Poly1305 and
//! bound to their row by the AAD `integration:{id}:token`, so a sealed blob copied to another
//! integration does not open. Envelope: version byte 1 ‖ 24-byte nonce ‖ ciphertext.

use std::fs::OpenOptions;
use std::io::{ErrorKind, Read as _, Write as _};
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::Path;

use chacha20poly1305::aead::{Aead as _, KeyInit as _, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hkdf::Hkdf;
use rand::RngCore as _;
use secrecy::{ExposeSecret as _, SecretString};
use sha2::Sha256;

use crate::StoreError;

const KEY_LEN: usize = 32;
const ENVELOPE_V1: u8 = 1;
const NONCE_LEN: usize = 24;
const SECRETS_AT_REST_INFO: &[u8] = b"steward secrets-at-rest/v1";

/// The root secret all at-rest keys derive from. `Debug` never shows it.
#[derive(Clone)]
pub struct MasterKey([u8; KEY_LEN]);

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(REDACTED)")
    }
}

impl MasterKey {
    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> MasterKey {
        MasterKey(bytes)
    }

    /// Load the key file, or create it (mode 0600, 32 random bytes) when it does not exist.
    ///
    /// Refuses a file that group or others may access, or that is not exactly 32 bytes: the
    /// key protects every stored token, so a readable copy is as bad as a leaked token.
    pub fn load_or_create(path: &Path) -> Result<MasterKey, StoreError> {
        let err = |reason: String| StoreError::Key {
            path: path.to_path_buf(),
            reason,
        };
        match OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
        {
            Ok(mut file) => {
                let mut bytes = [0u8; KEY_LEN];
                rand::rngs::OsRng.fill_bytes(&mut bytes);
                file.write_all(&bytes)
                    .and_then(|()| file.sync_all())
                    .map_err(|e| err(format!("could not write the new key: {e}")))?;
                tracing::info!(path = %path.display(), "Created a new master key.");
                return Ok(MasterKey(bytes));
            }
            Err(e) if e.kind() == ErrorKind::AlreadyExists => {}
            Err(e) => {
                return Err(err(format!(
                    "could not create it: {e}; check that its directory exists and is writable"
                )));
            }
        }
        let mut file = OpenOptions::new()
            .read(true)
            .open(path)
            .map_err(|e| err(format!("could not open it: {e}")))?;
        let meta = file
            .metadata()
            .map_err(|e| err(format!("could not stat it: {e}")))?;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(err(format!(
                "its permissions {mode:03o} let other users read it; run `chmod 600 {}`",
                path.display()
            )));
        }
        let mut bytes = Vec::with_capacity(KEY_LEN);
        file.read_to_end(&mut bytes)
            .map_err(|e| err(format!("could not read it: {e}")))?;
        let bytes: [u8; KEY_LEN] = bytes.try_into().map_err(|b: Vec<u8>| {
            err(format!(
                "it holds {} bytes, a master key is exactly {KEY_LEN}; restore the original file \
                 (without it stored tokens cannot be opened) or move it away to start afresh",
                b.len()
            ))
        })?;
        Ok(MasterKey(bytes))
    }

    pub(crate) fn sealer(&self) -> Sealer {
        let hk = Hkdf::<Sha256>::new(None, &self.0);
        let mut okm = [0u8; KEY_LEN];
        // 32 bytes is far below HKDF-SHA256's 255*32 limit, so expand cannot fail.
        let _ = hk.expand(SECRETS_AT_REST_INFO, &mut okm);
        Sealer {
            cipher: XChaCha20Poly1305::new(&okm.into()),
        }
    }
}

/// Seals and opens credentials with the derived at-rest key.
#[derive(Clone)]
pub(crate) struct Sealer {
    cipher: XChaCha20Poly1305,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer(REDACTED)")
    }
}

fn token_aad(integration_id: i64) -> String {
    format!("integration:{integration_id}:token")
}

impl Sealer {
    pub(crate) fn seal(
        &self,
        integration_id: i64,
        token: &SecretString,
    ) -> Result<Vec<u8>, StoreError> {
        // A fresh random nonce per seal: 24 bytes make collisions negligible.
        let mut nonce = [0u8; NONCE_LEN];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let aad = token_aad(integration_id);
        let ct = self
            .cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: token.expose_secret().as_bytes(),
                    aad: aad.as_bytes(),
                },
            )
            .map_err(|_| StoreError::Credential {
                integration_id,
                reason: "sealing failed".into(),
            })?;
        let mut out = Vec::with_capacity(1 + NONCE_LEN + ct.len());
        out.push(ENVELOPE_V1);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        Ok(out)
    }

    pub(crate) fn open(
        &self,
        integration_id: i64,
        sealed: &[u8],
    ) -> Result<SecretString, StoreError> {
        let err = |reason: &str| StoreError::Credential {
            integration_id,
            reason: reason.to_string(),
        };
        let Some((&version, rest)) = sealed.split_first() else {
            return Err(err(
                "the stored credential is empty; set it again with `steward integration set-token`",
            ));
        };
        if version != ENVELOPE_V1 {
            return Err(err(
                "the stored credential has an unknown format version; was it written by a newer Steward?",
            ));
        }
        if rest.len() < NONCE_LEN {
            return Err(err(
                "the stored credential is truncated; set it again with `steward integration set-token`",
            ));
        }
        let (nonce, ct) = rest.split_at(NONCE_LEN);
        let aad = token_aad(integration_id);
        let plain = self
            .cipher
            .decrypt(XNonce::from_slice(nonce), Payload { msg: ct, aad: aad.as_bytes() })
            .map_err(|_| {
                err("the stored credential cannot be opened: the master key is not the one it was sealed \
                     with, or the data was altered; restore the original master key file or set the token \
                     again with `steward integration set-token`")
            })?;
        let text =
            String::from_utf8(plain).map_err(|_| err("the opened credential is not UTF-8"))?;
        Ok(SecretString::from(text))
    }

    /// Seal arbitrary bytes bound to `aad` (same envelope as tokens); used for the
    /// identifiers of erased people, which must be matchable yet never clear text at rest.
    pub(crate) fn seal_bytes(&self, aad: &str, msg: &[u8]) -> Option<Vec<u8>> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let ct = self
            .cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg,
                    aad: aad.as_bytes(),
                },
            )
            .ok()?;
        let mut out = Vec::with_capacity(1 + NONCE_LEN + ct.len());
        out.push(ENVELOPE_V1);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        Some(out)
    }

    /// Open what [`Sealer::seal_bytes`] sealed with the same `aad`; `None` when the key or
    /// the AAD differ, or the bytes were altered.
    pub(crate) fn open_bytes(&self, aad: &str, sealed: &[u8]) -> Option<Vec<u8>> {
        let (&version, rest) = sealed.split_first()?;
        if version != ENVELOPE_V1 || rest.len() < NONCE_LEN {
            return None;
        }
        let (nonce, ct) = rest.split_at(NONCE_LEN);
        self.cipher
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: ct,
                    aad: aad.as_bytes(),
                },
            )
            .ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_round_trip_and_aad_binding() {
        let sealer = MasterKey::from_bytes([7; 32]).sealer();
        let token = SecretString::from("00abcdef-token");
        let sealed = sealer.seal(5, &token).unwrap();
        assert_eq!(sealed[0], 1);
        assert_eq!(
            sealer.open(5, &sealed).unwrap().expose_secret(),
            "00abcdef-token"
        );
        assert!(matches!(
            sealer.open(6, &sealed),
            Err(StoreError::Credential { .. })
        ));
        let other = MasterKey::from_bytes([8; 32]).sealer();
        assert!(matches!(
            other.open(5, &sealed),
            Err(StoreError::Credential { .. })
        ));
        assert_eq!(
            format!("{:?}", MasterKey::from_bytes([7; 32])),
            "MasterKey(REDACTED)"
        );
        for i in [0, 1, 30, sealed.len() - 1] {
            let mut tampered = sealed.clone();
            tampered[i] ^= 0x01;
            let err = sealer.open(5, &tampered).unwrap_err();
            assert!(
                matches!(err, StoreError::Credential { .. }),
                "byte {i}: {err}"
            );
        }
        assert!(sealer.open(5, &sealed[..10]).is_err());
        assert!(sealer.open(5, &[]).is_err());
    }
}
