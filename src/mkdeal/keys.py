"""Naming keys without revealing them."""

import hashlib


def key_fingerprint(key: bytes) -> str:
    """A short, non-reversible name for a key, safe to print and to store in manifests.

    "sha256:" and the first 16 hexadecimal characters of SHA-256 over a fixed,
    domain-separating prefix and the key: it tells keys apart, and does not let anyone
    recompute person_ids.
    """
    digest = hashlib.sha256(b"mkdeal-pseudonymisation-key-fingerprint:" + key).hexdigest()
    return f"sha256:{digest[:16]}"
