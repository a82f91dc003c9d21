"""A service's folder: what a registry of the service needs to reach its NATS servers and to
answer for it. Whoever holds the folder can run the service (docs/SECURITY.md)."""

from __future__ import annotations

import ssl
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from msgspec import Struct

from disk.files import os_reason, parse_json, read_text
from disk.operator_key import KEY_FILE as DESK_KEY_FILE
from disk.operator_key import read_key_strictly
from registry.adapter.storage import StorageError
from secure.keys import KEY_FILE as IDENTITY_FILE

#: The files of a service folder: where its NATS servers are, the authority that signed
#: their certificates, and the registries' own certificate and key (their credentials).
SERVICE_FILE = "service.json"
AUTHORITY_FILE = "ca.crt"
REGISTRY_CERT, REGISTRY_KEY = "registry.crt", "registry.key"
T = TypeVar("T")
#: What each NATS node's certificate says it serves, and the name its credentials give
#: every registry (the NATS user the certificate maps to).
REGISTRY_USER = "CN=chatapp-registry"


class ServiceFolder(Struct, frozen=True):
    path: Path
    urls: list[str]
    key: X25519PrivateKey
    desk_key: str

    def tls(self) -> ssl.SSLContext:
        """A TLS context that trusts only the service's authority and shows the registries'
        certificate; StorageError when a file cannot be used."""
        context = ssl.create_default_context()
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        _read(self.path, AUTHORITY_FILE, context.load_verify_locations)
        _read(self.path, REGISTRY_KEY, Path.read_bytes)  # (named, when it cannot be read)
        _read(
            self.path,
            REGISTRY_CERT,
            lambda cert: context.load_cert_chain(cert, cert.with_name(REGISTRY_KEY)),
        )
        return context


def is_folder(text: str) -> bool:
    """Whether `--cluster TEXT` names a folder rather than NATS URLs."""
    return "://" not in text


def open_folder(path: Path) -> ServiceFolder:
    """The service folder at `path`, read and checked; StorageError saying what is wrong."""
    if not (path / SERVICE_FILE).is_file():
        raise StorageError(
            f"{path} is not a service folder (no {SERVICE_FILE}); make one with "
            "ChatApp --new-service DIR --nats HOST:PORT (docs/SCALING.md)"
        )
    folder = ServiceFolder(
        path,
        _read(path, SERVICE_FILE, _urls),
        _read(path, IDENTITY_FILE, _key),
        _read(path, DESK_KEY_FILE, read_key_strictly),
    )
    folder.tls()  # (its files are checked now, at start)
    return folder


def _read(folder: Path, name: str, parse: Callable[[Path], T]) -> T:
    """`parse(folder / name)`; StorageError naming the file and what is wrong with it."""
    try:
        return parse(folder / name)
    except (OSError, ValueError, ssl.SSLError, RecursionError) as exc:
        if isinstance(exc, ssl.SSLError):
            why = f"it is not as ChatApp --new-service wrote it: {exc.reason or exc}"
        else:
            why = os_reason(exc) if isinstance(exc, OSError) else str(exc)
        raise StorageError(
            f"{folder / name} of the service folder cannot be used ({why})"
        ) from None


def _urls(path: Path) -> list[str]:
    data = parse_json(read_text(path)) if path.stat().st_size < 65536 else None
    urls = data.get("nats") if isinstance(data, dict) else None
    if not (isinstance(urls, list) and urls and all(isinstance(u, str) for u in urls)):
        raise ValueError("it lists no NATS servers")
    return urls


def _key(path: Path) -> X25519PrivateKey:
    try:
        return X25519PrivateKey.from_private_bytes(bytes.fromhex(read_text(path).strip()))
    except ValueError:
        raise ValueError("it holds no key") from None
