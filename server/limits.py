"""What a ciphertext size says about the plaintext it carries.

The server never decrypts, but limits are stated in plaintext bytes (that is
what people pick files by). These constants mirror the chunked format of
``pyodide_crypto.chunked``; the server must not import it, and
tests/test_server_limits.py checks that both agree.
"""

from __future__ import annotations

# Plaintext bytes per chunk of the chunked format.
CHUNK_SIZE = 16 * 1024
# AES-GCM tag appended to every chunk.
TAG_SIZE = 16
# Per-file header: salt || key commitment.
HEADER_SIZE = 56


def plaintext_size(ciphertext_size: int) -> int:
    """The plaintext size of a well-formed file of ``ciphertext_size`` bytes.

    For sizes no encryptor produces it returns the plaintext an encryptor
    would need for a ciphertext at least that large, which is what a limit
    check needs: a declared size can never hide more plaintext than this.
    """
    body = ciphertext_size - HEADER_SIZE
    if body <= 0:
        return 0
    chunks = -(-body // (CHUNK_SIZE + TAG_SIZE))
    return max(0, body - chunks * TAG_SIZE)


def is_ciphertext_size(size: int) -> bool:
    """Whether an encryptor can produce a file of exactly ``size`` bytes.

    Every file ends with a final chunk that is shorter than a full one and
    carries at least its tag, so some sizes are impossible; refusing them at
    creation tells a buggy client early instead of after the upload.
    """
    body = size - HEADER_SIZE
    if body < TAG_SIZE:
        return False
    return body % (CHUNK_SIZE + TAG_SIZE) >= TAG_SIZE
