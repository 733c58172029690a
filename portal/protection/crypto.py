"""Keys and the few cryptographic operations the portal uses — all from PyNaCl (libsodium).

* Data: XChaCha20-Poly1305 (``nacl.secret.Aead``) with a random 192-bit nonce per value and the
  value's purpose (``"report.text"``, ``"message.body"``…) as associated data, so a ciphertext
  moved to another column does not decrypt.
* Per-report data keys (random 32 bytes) are wrapped with the server's **content key** (same
  AEAD), or — for the reporter's identity — sealed to the **identity custodian's** X25519 public
  key (``nacl.public.SealedBox``). Opening an identity needs the custodian's private key.
* The search index uses HMAC-SHA256 under the **index key**.

Keys live outside the database: in files under ``instance/keys`` (mode 0600, generated on the
first run) or in environment variables. Rotation keeps every older key readable until no row
refers to it (see :mod:`portal.protection.rotation`); each wrapped key records the id of the
key that wrapped it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from dataclasses import dataclass
from pathlib import Path

import nacl.exceptions
import nacl.public
import nacl.secret
import nacl.utils

FORMAT_V1 = b"\x01"
KEY_BYTES = 32


class KeyUnavailable(RuntimeError):
    """The key needed to open a value is not loaded (e.g. the custodian key is kept offline)."""


class DecryptionFailed(RuntimeError):
    """A ciphertext did not authenticate: wrong key, wrong purpose or altered data."""


# --- primitives ------------------------------------------------------------------------------

def random_key() -> bytes:
    """A fresh 32-byte key from the operating system's CSPRNG."""
    return nacl.utils.random(KEY_BYTES)


def _aad(purpose: str) -> bytes:
    return b"tinbao/v1/" + purpose.encode("ascii")


def encrypt(key: bytes, plaintext: bytes, purpose: str) -> bytes:
    """``version || nonce || ciphertext || tag``; ``purpose`` is authenticated, not stored."""
    return FORMAT_V1 + bytes(nacl.secret.Aead(key).encrypt(plaintext, _aad(purpose)))


def decrypt(key: bytes, blob: bytes, purpose: str) -> bytes:
    """The plaintext of :func:`encrypt`'s output; raises :class:`DecryptionFailed`."""
    if not blob or blob[:1] != FORMAT_V1:
        raise DecryptionFailed("unknown ciphertext format")
    try:
        return nacl.secret.Aead(key).decrypt(bytes(blob[1:]), _aad(purpose))
    except nacl.exceptions.CryptoError as exc:
        raise DecryptionFailed(purpose) from exc


def content_key_id(key: bytes) -> str:
    """A public name for a content key (16 hex characters); reveals nothing about the key."""
    return hashlib.sha256(b"tinbao content key id\0" + key).hexdigest()[:16]


def custodian_key_id(public_key: nacl.public.PublicKey) -> str:
    """A public name for a custodian key pair, from its public half."""
    return hashlib.sha256(b"tinbao custodian key id\0" + bytes(public_key)).hexdigest()[:16]


def encode_key(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def decode_key(text: str, what: str) -> bytes:
    """Base64 key text (file or environment) → 32 bytes; a clear error otherwise."""
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError(f"{what}: not valid base64") from exc
    if len(raw) != KEY_BYTES:
        raise ValueError(f"{what}: expected {KEY_BYTES} bytes, got {len(raw)}")
    return raw


# --- key files -------------------------------------------------------------------------------

def write_key_file(path: Path, raw: bytes, *, exclusive: bool = True) -> None:
    """Write a key (base64) readable by the owner only; the folder is made 0700.

    ``exclusive`` refuses to overwrite: a key file is never replaced by accident.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    flags = os.O_WRONLY | os.O_CREAT | (os.O_EXCL if exclusive else os.O_TRUNC)
    fd = os.open(path, flags, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(encode_key(raw) + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.chmod(path, 0o600)


def read_key_file(path: Path) -> bytes:
    return decode_key(path.read_text(encoding="ascii"), str(path))


def next_path(path: Path) -> Path:
    """Where a rotation keeps the new key until it is promoted: ``<name>.next``."""
    return path.with_name(path.name + ".next")


def retired_dir(path: Path) -> Path:
    return path.parent / "retired"


def public_path(private_path: Path) -> Path:
    """``custodian.key`` → ``custodian.pub`` (the public half, safe to copy anywhere)."""
    return private_path.with_suffix(".pub")


# --- the keyring -----------------------------------------------------------------------------

@dataclass
class KeyRing:
    """Every key this process holds. ``content_keys``/``custodian_private_keys`` are by id and
    include the current key, a rotation's next key and retired keys still referenced."""

    content_kid: str
    content_keys: dict[str, bytes]
    custodian_public: nacl.public.PublicKey
    custodian_private_keys: dict[str, nacl.public.PrivateKey]
    index_key: bytes
    content_key_file: Path
    custodian_key_file: Path
    # Where the current keys came from ("file" or "environment"): rotation needs to know.
    content_source: str = "file"
    custodian_source: str = "file"

    @property
    def custodian_kid(self) -> str:
        return custodian_key_id(self.custodian_public)

    @property
    def content_key(self) -> bytes:
        return self.content_keys[self.content_kid]

    @property
    def can_open_identity(self) -> bool:
        """Whether the custodian's current private key is on this server."""
        return self.custodian_kid in self.custodian_private_keys

    # content data keys
    def wrap_data_key(self, data_key: bytes) -> tuple[bytes, str]:
        """Wrap a report's content data key with the current content key."""
        return encrypt(self.content_key, data_key, "content-data-key"), self.content_kid

    def unwrap_data_key(self, wrapped: bytes, kid: str) -> bytes:
        key = self.content_keys.get(kid)
        if key is None:
            # A rotation in another process may have re-wrapped this report under a key this
            # process has not loaded yet (``.next``, or promoted): look at the key files again.
            self.rescan()
            key = self.content_keys.get(kid)
        if key is None:
            raise KeyUnavailable(f"content key {kid} is not loaded")
        return decrypt(key, wrapped, "content-data-key")

    # identity data keys
    def seal_identity_key(self, data_key: bytes) -> tuple[bytes, str]:
        """Seal an identity data key to the custodian's public key (only the private key opens
        it)."""
        sealed = nacl.public.SealedBox(self.custodian_public).encrypt(data_key)
        return bytes(sealed), self.custodian_kid

    def open_identity_key(self, sealed: bytes, kid: str) -> bytes:
        private = self.custodian_private_keys.get(kid)
        if private is None and self.custodian_private_keys:
            self.rescan()  # as above: a rotation elsewhere (only where a private key lives)
            private = self.custodian_private_keys.get(kid)
        if private is None:
            raise KeyUnavailable(f"custodian key {kid} is not on this server")
        try:
            return nacl.public.SealedBox(private).decrypt(bytes(sealed))
        except nacl.exceptions.CryptoError as exc:
            raise DecryptionFailed("identity data key") from exc

    # search index
    def search_token(self, word: str) -> str:
        """HMAC-SHA256(index key, folded word), truncated to 128 bits (32 hex characters)."""
        # hmac.digest: the one-shot form (same value, a few times cheaper than hmac.new; a
        # filing computes one per distinct word).
        return hmac.digest(self.index_key, word.encode("utf-8"), "sha256").hex()[:32]

    # rotation support
    def rescan(self) -> None:
        """Load key files that appeared since start-up (a rotation's new and retired keys);
        the current keys stay current until the process restarts."""
        for path in [self.content_key_file, *_extra_keys(self.content_key_file, "content")]:
            if path.exists():
                self.add_content_key(read_key_file(path))
        if self.custodian_private_keys:
            paths = [self.custodian_key_file,
                     *_extra_keys(self.custodian_key_file, "custodian")]
            for path in paths:
                if path.exists() and path.suffix != ".pub":
                    self.add_custodian_private_key(nacl.public.PrivateKey(read_key_file(path)))

    def add_content_key(self, key: bytes) -> str:
        kid = content_key_id(key)
        self.content_keys[kid] = key
        return kid

    def add_custodian_private_key(self, private: nacl.public.PrivateKey) -> str:
        kid = custodian_key_id(private.public_key)
        self.custodian_private_keys[kid] = private
        return kid


def _extra_keys(path: Path, prefix: str) -> list[Path]:
    """A rotation's ``.next`` key and the retired keys kept next to ``path``."""
    found = []
    if next_path(path).exists():
        found.append(next_path(path))
    retired = retired_dir(path)
    if retired.is_dir():
        found += sorted(retired.glob(f"{prefix}-*.key"))
    return found


def _load_content(config, keys_dir: Path, generate: bool):
    path = Path(config.get("CONTENT_KEY_FILE") or keys_dir / "content.key")
    if config.get("CONTENT_KEY"):
        current, source = decode_key(config["CONTENT_KEY"], "TINBAO_CONTENT_KEY"), "environment"
    elif path.exists():
        current, source = read_key_file(path), "file"
    elif generate:
        current, source = random_key(), "file"
        write_key_file(path, current)
    else:
        raise KeyUnavailable(f"no content key: set TINBAO_CONTENT_KEY or create {path}")
    keys = {content_key_id(current): current}
    for extra in _extra_keys(path, "content"):
        raw = read_key_file(extra)
        keys.setdefault(content_key_id(raw), raw)
    return path, current, keys, source


def _load_custodian(config, keys_dir: Path, generate: bool):
    path = Path(config.get("CUSTODIAN_KEY_FILE") or keys_dir / "custodian.key")
    private = public = None
    source = "file"
    if config.get("CUSTODIAN_PRIVATE_KEY"):
        private = nacl.public.PrivateKey(
            decode_key(config["CUSTODIAN_PRIVATE_KEY"], "TINBAO_CUSTODIAN_PRIVATE_KEY"))
        source = "environment"
    elif path.exists():
        private = nacl.public.PrivateKey(read_key_file(path))
    if private is not None:
        public = private.public_key
    elif config.get("CUSTODIAN_PUBLIC_KEY"):
        public = nacl.public.PublicKey(
            decode_key(config["CUSTODIAN_PUBLIC_KEY"], "TINBAO_CUSTODIAN_PUBLIC_KEY"))
        source = "environment"
    elif public_path(path).exists():
        # Public half only: identities can be sealed here, opened only where the private key is.
        public = nacl.public.PublicKey(read_key_file(public_path(path)))
    elif generate:
        private = nacl.public.PrivateKey.generate()
        public = private.public_key
        write_key_file(path, bytes(private))
        write_key_file(public_path(path), bytes(public))
    else:
        raise KeyUnavailable(f"no custodian key: set TINBAO_CUSTODIAN_PRIVATE_KEY or create {path}")
    privates = {}
    if private is not None:
        privates[custodian_key_id(public)] = private
    for extra in _extra_keys(path, "custodian"):
        if extra.suffix == ".pub":
            continue
        key = nacl.public.PrivateKey(read_key_file(extra))
        privates.setdefault(custodian_key_id(key.public_key), key)
    return path, public, privates, source


def _load_index(config, keys_dir: Path, generate: bool) -> bytes:
    path = Path(config.get("INDEX_KEY_FILE") or keys_dir / "index.key")
    if config.get("INDEX_KEY"):
        return decode_key(config["INDEX_KEY"], "TINBAO_INDEX_KEY")
    if path.exists():
        return read_key_file(path)
    if not generate:
        raise KeyUnavailable(f"no index key: set TINBAO_INDEX_KEY or create {path}")
    key = random_key()
    write_key_file(path, key)
    return key


def load_keyring(config, instance_path: str) -> KeyRing:
    """Load (and on a fresh install generate) the keys named by the configuration."""
    keys_dir = Path(config.get("KEYS_FOLDER") or Path(instance_path) / "keys")
    generate = config.get("KEYS_GENERATE", True)
    content_path, content, content_keys, content_source = _load_content(
        config, keys_dir, generate)
    custodian_path, public, privates, custodian_source = _load_custodian(
        config, keys_dir, generate)
    return KeyRing(
        content_kid=content_key_id(content),
        content_keys=content_keys,
        custodian_public=public,
        custodian_private_keys=privates,
        index_key=_load_index(config, keys_dir, generate),
        content_key_file=content_path,
        custodian_key_file=custodian_path,
        content_source=content_source,
        custodian_source=custodian_source,
    )
