"""The service folder: `ChatApp --new-service` writes it whole, private and secure as made;
a registry reads it, and a folder it cannot use is one line naming the file."""

from __future__ import annotations

import json
import ssl
import stat
from pathlib import Path

import pytest

from ChatApp import main
from registry.adapter.cluster.service_folder import (
    ROUTE_OFFSET,
    make_service,
    open_folder,
    parse_nodes,
)
from registry.adapter.store import StorageError

pytestmark = pytest.mark.timeout(30)

NODES = [("10.0.0.9", 4222), ("nats2.lan", 4222), ("10.0.0.11", 5222)]


def test_every_file_of_a_new_folder_is_private(tmp_path: Path) -> None:
    folder = tmp_path / "service"
    make_service(folder, NODES, None)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    files = list(folder.iterdir())
    assert {f.name for f in files} >= {
        "service.json", "identity.key", "desk-key", "ca.crt", "registry.crt", "registry.key",
        *(f"nats-server-{n}.conf" for n in (1, 2, 3)), *(f"nats-{n}.key" for n in (1, 2, 3)),
    }  # fmt: skip
    assert all(stat.S_IMODE(f.stat().st_mode) == 0o600 for f in files)
    assert not list(tmp_path.glob(".service*"))  # (nothing left of its making)


def test_each_node_requires_tls_and_the_registries_certificate_and_encrypts_its_store(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "service"
    make_service(folder, NODES, tmp_path / "stores")
    confs = [json.loads((folder / f"nats-server-{n}.conf").read_text()) for n in (1, 2, 3)]
    for at, conf in enumerate(confs, 1):
        assert conf["tls"]["verify_and_map"] is True
        assert conf["tls"]["ca_file"] == str(folder / "ca.crt")
        # one account, one user: the registries' certificate; no anonymous user
        (account,) = conf["accounts"].values()
        assert [user["user"] for user in account["users"]] == ["CN=chatapp-registry"]
        assert "no_auth_user" not in conf and "authorization" not in conf
        assert conf["jetstream"]["cipher"] == "chachapoly"
        assert conf["jetstream"]["store_dir"] == str(tmp_path / "stores" / f"nats-{at}-store")
        assert conf["cluster"]["tls"]["verify"] is True
        assert all(route.startswith("tls://") for route in conf["cluster"]["routes"])
    host, port = NODES[1]
    assert confs[1]["listen"] == f"{host}:{port}"
    assert confs[1]["cluster"]["listen"] == f"{host}:{port + ROUTE_OFFSET}"
    # each node's store has a key of its own
    assert len({conf["jetstream"]["key"] for conf in confs}) == 3
    read = open_folder(folder)
    assert read.urls == [f"tls://{h}:{p}" for h, p in NODES]


def test_a_lone_node_has_no_routes(tmp_path: Path) -> None:
    make_service(tmp_path / "s", NODES[:1], None)
    assert "cluster" not in json.loads((tmp_path / "s" / "nats-server-1.conf").read_text())


def test_an_existing_folder_is_never_overwritten(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "service"
    folder.mkdir()
    (folder / "mine").write_text("kept")
    assert main(["--new-service", str(folder), "--nats", "127.0.0.1:4222"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "never overwritten" in err[0]
    assert [f.name for f in folder.iterdir()] == ["mine"]


def test_new_service_says_how_to_start_each_node_and_registry(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "service"
    assert main(["--new-service", str(folder), "--nats", "127.0.0.1:4222,127.0.0.1:4223"]) == 0
    out = capsys.readouterr().out
    assert f"nats-server -c {folder}/nats-server-2.conf" in out
    assert f"ChatApp -s 5000 --cluster {folder}" in out
    assert "whoever holds it can run the service" in out


@pytest.mark.parametrize(
    "argv",
    [
        ["--new-service", "x"],
        ["--new-service", "x", "--nats", "127.0.0.1"],
        ["--new-service", "x", "--nats", "127.0.0.1:99999"],
        ["--new-service", "x", "--nats", "h:1,h:1"],
        ["--nats", "127.0.0.1:4222"],
        ["--new-service", "x", "-s", "5000", "--nats", "127.0.0.1:4222"],
        ["-s", "5000", "--cluster", "nats://127.0.0.1:4222"],
    ],
)
def test_bad_arguments_are_one_line_and_status_2(
    argv: list[str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert len(captured.err.strip().splitlines()) == 1 and not captured.out
    assert not (tmp_path / "x").exists()
    assert parse_nodes("[::1]:4222") == [("::1", 4222)]


@pytest.mark.parametrize(
    ("damage", "said"),
    [
        (lambda f: (f / "registry.key").unlink(), "registry.key"),
        (lambda f: (f / "identity.key").write_text("garbage"), "identity.key"),
        (lambda f: (f / "service.json").write_text("[1]"), "service.json"),
        (lambda f: (f / "ca.crt").write_text("x"), "ca.crt"),
        (lambda f: (f / "desk-key").write_text(""), "desk-key"),
        (lambda f: (f / "service.json").unlink(), "is not a service folder"),
    ],
)
def test_a_folder_that_cannot_be_used_is_said_naming_the_file(
    tmp_path: Path, damage: object, said: str
) -> None:
    folder = tmp_path / "service"
    make_service(folder, NODES[:1], None)
    damage(folder)  # type: ignore[operator]
    with pytest.raises(StorageError) as error:
        open_folder(folder)
    assert said in str(error.value) and "\n" not in str(error.value)


def test_a_registrys_tls_trusts_the_services_authority_alone_and_checks_names(
    tmp_path: Path,
) -> None:
    """A certificate from any other authority, the system's included, is not taken for a
    NATS node of the service."""
    folder = tmp_path / "service"
    make_service(folder, NODES, None)
    context = open_folder(folder).tls()
    (authority,) = context.get_ca_certs()
    assert authority["subject"] == ((("commonName", "ChatApp service authority"),),)
    assert context.check_hostname and context.verify_mode == ssl.CERT_REQUIRED
