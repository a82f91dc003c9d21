"""A service's folder (`ChatApp --new-service DIR`, registry/adapter/cluster/new_service.py):
what a registry of the service needs to reach its NATS servers and to answer for it.
Whoever holds the folder can run the service (docs/SECURITY.md)."""

from __future__ import annotations

import ssl
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from msgspec import Struct

from disk.files import os_reason, parse_json, read_text
from disk.operator_key import KEY_FILE as DESK_KEY_FILE
from disk.operator_key import read_key_strictly
from secure.keys import KEY_FILE as IDENTITY_FILE
from wire.keys import KEY_BYTES

#: The files of a service folder: where its NATS servers are, the authority that signed
#: their certificates, and the registries' own certificate and key (their credentials).
SERVICE_FILE = "service.json"
AUTHORITY_FILE = "ca.crt"
REGISTRY_CERT, REGISTRY_KEY = "registry.crt", "registry.key"
#: What each NATS node's certificate says it serves, and the name its credentials give
#: every registry (the NATS user the certificate maps to).
REGISTRY_USER = "CN=chatapp-registry"


class FolderError(Exception):
    """A service folder that cannot be used: the message says which file and why."""


class ServiceFolder(Struct, frozen=True):
    """A service folder, read: the URLs of its NATS servers (`tls://host:port`), the paths
    of its TLS files, the service's key and its help desk's operator key."""

    path: Path
    urls: list[str]
    key: X25519PrivateKey
    desk_key: str

    def tls(self) -> ssl.SSLContext:
        """A TLS context that trusts only the service's authority and shows the registries'
        certificate. FolderError when a file cannot be used."""
        try:
            context = ssl.create_default_context(cafile=self.path / AUTHORITY_FILE)
            context.load_cert_chain(self.path / REGISTRY_CERT, self.path / REGISTRY_KEY)
        except (OSError, ssl.SSLError) as exc:
            raise FolderError(f"the TLS files in {self.path} cannot be used ({exc})") from None
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        return context


def is_folder(text: str) -> bool:
    """Whether `--cluster TEXT` names a folder rather than NATS URLs."""
    return "://" not in text


def open_folder(path: Path) -> ServiceFolder:
    """The service folder at `path`, read and checked; FolderError saying what is wrong."""
    if not (path / SERVICE_FILE).is_file():
        raise FolderError(
            f"{path} is not a service folder (no {SERVICE_FILE}); make one with "
            "ChatApp --new-service DIR --nats HOST:PORT (docs/SCALING.md)"
        )
    try:
        urls = parse_json(read_text(path / SERVICE_FILE))["nats"]
        if not (isinstance(urls, list) and urls and all(isinstance(u, str) for u in urls)):
            raise ValueError("no NATS servers are listed")
        raw = bytes.fromhex(read_text(path / IDENTITY_FILE).strip())
        if len(raw) != KEY_BYTES:
            raise ValueError(f"{IDENTITY_FILE} holds no key")
        desk_key = read_key_strictly(path / DESK_KEY_FILE)
    except (OSError, ValueError, KeyError, TypeError, RecursionError) as exc:
        why = os_reason(exc) if isinstance(exc, OSError) else str(exc) or type(exc).__name__
        raise FolderError(f"the service folder {path} cannot be used: {why}") from None
    folder = ServiceFolder(path, urls, X25519PrivateKey.from_private_bytes(raw), desk_key)
    folder.tls()  # (its files are checked now, at start)
    return folder
