//! SHA-256, for what must be compared or remembered without being kept:
//! a policy file's tokens, the review caches' keys.

/// A SHA-256 digest: a cache key that does not keep what it was made of.
pub(crate) type Key = [u8; 32];

/// The SHA-256 of `parts`, each length-prefixed so that no two different
/// lists of parts share a digest.
#[cfg(feature = "kubernetes")]
pub(crate) fn digest<'a>(parts: impl IntoIterator<Item = &'a [u8]>) -> Key {
    let mut buffer = Vec::new();
    for part in parts {
        buffer.extend_from_slice(&(part.len() as u64).to_be_bytes());
        buffer.extend_from_slice(part);
    }
    sha256(&buffer)
}

/// The SHA-256 of `bytes`.
pub(crate) fn sha256(bytes: &[u8]) -> Key {
    let mut key = [0; 32];
    key.copy_from_slice(ring::digest::digest(&ring::digest::SHA256, bytes).as_ref());
    key
}

/// Lowercase hex of the SHA-256 of `bytes`, as a policy file stores a token.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    sha256(bytes)
        .iter()
        .fold(String::with_capacity(64), |mut hex, byte| {
            let _ = write!(hex, "{byte:02x}");
            hex
        })
}
