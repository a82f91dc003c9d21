"""A service's folder: what a registry of the service needs to reach its NATS servers and to
answer for it. Whoever holds the folder can run the service (docs/SECURITY.md).

`ChatApp --new-service DIR --nats HOST:PORT[,...]` writes one (`make_service`), secure as
written: an authority of the service's own signs each node's certificate and the registries'
one; each node requires TLS from clients and nodes, lets in the registries' certificate alone,
and keeps JetStream's store encrypted."""

from __future__ import annotations

import datetime
import ipaddress
import json
import os
import secrets
import shutil
import ssl
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from msgspec import Struct

from disk.files import os_reason, parse_json, read_text
from disk.operator_key import KEY_BYTES as DESK_KEY_BYTES
from disk.operator_key import KEY_FILE as DESK_KEY_FILE
from disk.operator_key import read_key_strictly
from registry.adapter.store import StorageError
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
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # names checked; no system CAs
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


#: Each node's routes listen this far above its client port, as NATS's own 4222 and 6222.
ROUTE_OFFSET = 2000
VALID_DAYS = 3650
#: What a registry may publish and subscribe to on NATS; nothing else.
PUBLISH = ["chatapp.>", "$JS.API.>", "$KV.>", "$JS.ACK.>", "$JS.FC.>", "_INBOX.>"]
SUBSCRIBE = ["chatapp.>", "$KV.>", "_INBOX.>"]


def parse_nodes(text: str) -> list[tuple[str, int]]:
    """The nodes of `--nats HOST:PORT[,HOST:PORT...]`; ValueError naming a wrong one."""
    nodes = []
    for item in (part.strip() for part in text.split(",")):
        host, _, port = item.rpartition(":")
        host = host.strip("[]")
        if not host or not port.isdigit() or not 1 <= int(port) <= 65535 - ROUTE_OFFSET:
            raise ValueError(f"--nats takes HOST:PORT[,HOST:PORT...], not {item!r}")
        nodes.append((host, int(port)))
    if len(set(nodes)) != len(nodes):
        raise ValueError("--nats names one node twice")
    return nodes


def make_service(folder: Path, nodes: list[tuple[str, int]], store: Path | None) -> list[str]:
    """Write a new service folder for the NATS `nodes` (their stores under `store`, else the
    folder); the lines that say how to start it. FileExistsError when `folder` exists."""
    folder = folder.absolute()
    if folder.exists() or folder.is_symlink():
        raise FileExistsError(folder)
    # made aside, then named: a folder half made (an error, Ctrl-C) is never taken for one
    making = folder.with_name(f".{folder.name}.{secrets.token_hex(4)}.new")
    folder.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    making.mkdir(mode=0o700)
    os.chmod(making, 0o700)  # (whatever the umask)
    try:
        lines = _fill(making, folder, nodes, store)
        os.rename(making, folder)
    except BaseException:
        shutil.rmtree(making, ignore_errors=True)
        raise
    return lines


def _fill(
    making: Path, folder: Path, nodes: list[tuple[str, int]], store: Path | None
) -> list[str]:
    authority = _certificate("ChatApp service authority", None, None)
    _write(making / AUTHORITY_FILE, _pem(authority[0]))
    for at, (host, _) in enumerate(nodes, 1):
        cert, key = _certificate(f"chatapp-nats-{at}", authority, host)
        _write(making / f"nats-{at}.crt", _pem(cert))
        _write(making / f"nats-{at}.key", _key_pem(key))
        base = (store or folder).absolute()
        conf = _node_conf(folder, at, nodes, base / f"nats-{at}-store")
        _write(making / f"nats-server-{at}.conf", conf.encode())
    cert, key = _certificate(REGISTRY_USER.removeprefix("CN="), authority, None)
    _write(making / REGISTRY_CERT, _pem(cert))
    _write(making / REGISTRY_KEY, _key_pem(key))
    urls = [f"tls://{_url_host(host)}:{port}" for host, port in nodes]
    _write(making / SERVICE_FILE, json.dumps({"nats": urls}, indent=1).encode())
    identity = X25519PrivateKey.generate().private_bytes_raw().hex()
    _write(making / IDENTITY_FILE, f"{identity}\n".encode())
    _write(making / DESK_KEY_FILE, f"{secrets.token_urlsafe(DESK_KEY_BYTES)}\n".encode())
    return list(_started(folder, len(nodes)))


def _started(folder: Path, count: int) -> Iterator[str]:
    nodes = "one NATS node" if count == 1 else f"{count} NATS nodes"
    yield f"Made the service folder {folder}, for {nodes}."
    yield "Copy it to the same path on each NATS node's and registry's machine, over a"
    yield "trusted path (scp, a USB stick): whoever holds it can run the service."
    for at in range(1, count + 1):
        yield f"  NATS node {at}:  nats-server -c {folder / f'nats-server-{at}.conf'}"
    yield f"  each registry: ChatApp -s 5000 --cluster {folder}"


def _node_conf(folder: Path, at: int, nodes: list[tuple[str, int]], store: Path) -> str:
    host, port = nodes[at - 1]
    tls = {
        "cert_file": str(folder / f"nats-{at}.crt"),
        "key_file": str(folder / f"nats-{at}.key"),
        "ca_file": str(folder / AUTHORITY_FILE),
        "timeout": 5,
    }
    user = {
        "user": REGISTRY_USER,
        "permissions": {"publish": {"allow": PUBLISH}, "subscribe": {"allow": SUBSCRIBE}},
    }
    conf: dict[str, object] = {
        "server_name": f"chatapp-nats-{at}",
        "listen": f"{_url_host(host)}:{port}",
        # clients must show a certificate of the authority, which names their user
        "tls": {**tls, "verify_and_map": True},
        "accounts": {"CHATAPP": {"jetstream": "enabled", "users": [user]}},
        "jetstream": {
            "store_dir": str(store),
            "cipher": "chachapoly",
            "key": secrets.token_hex(32),
        },
    }
    if len(nodes) > 1:
        conf["cluster"] = {
            "name": "chatapp",
            "listen": f"{_url_host(host)}:{port + ROUTE_OFFSET}",
            "tls": {**tls, "verify": True},  # only the service's nodes route
            "routes": [f"tls://{_url_host(h)}:{p + ROUTE_OFFSET}" for h, p in nodes],
            "no_advertise": True,
        }
    # (JSON is a subset of NATS's configuration language)
    return json.dumps(conf, indent=2) + "\n"


#: A certificate and its key.
Signed = tuple[x509.Certificate, ec.EllipticCurvePrivateKey]


def _certificate(common_name: str, authority: Signed | None, host: str | None) -> Signed:
    """The service's authority (no `authority`: self-signed), or a certificate it signs: a
    node's serving `host`, or (None) a client's."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    signer = key if authority is None else authority[1]
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name if authority is None else authority[0].subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=VALID_DAYS))
        .add_extension(
            x509.BasicConstraints(
                ca=authority is None, path_length=0 if authority is None else None
            ),
            critical=True,
        )
    )
    if authority is None:
        usage = x509.KeyUsage(False, False, False, False, False, True, True, False, False)
        identifier = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
        builder = builder.add_extension(usage, critical=True).add_extension(identifier, False)
    else:
        usages = [ExtendedKeyUsageOID.CLIENT_AUTH]
        if host is not None:
            usages.append(ExtendedKeyUsageOID.SERVER_AUTH)
            builder = builder.add_extension(x509.SubjectAlternativeName([_general(host)]), False)
        issuer = x509.AuthorityKeyIdentifier.from_issuer_public_key(signer.public_key())
        builder = builder.add_extension(x509.ExtendedKeyUsage(usages), critical=False)
        builder = builder.add_extension(issuer, False)
    return builder.sign(signer, hashes.SHA256()), key


def _general(host: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        return x509.DNSName(host)


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _write(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as file:
        file.write(data)
