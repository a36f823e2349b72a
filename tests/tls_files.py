"""Throwaway TLS material made at test time with ``openssl`` (no key is ever committed).

A CA, a server certificate for ``localhost`` and ``127.0.0.1`` (subjectAltName: the
client checks host names), a client certificate, and a second, unrelated CA whose
bundle does not verify the server. Without ``openssl`` the tests skip naming the
Debian package, except under ``CI=true``, where they fail.
"""

from __future__ import annotations

import os
import shutil
import ssl
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

__all__ = ["TLSFiles", "make_tls_files"]


@dataclass(frozen=True)
class TLSFiles:
    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    other_ca: Path  # a CA that did not sign the server's certificate
    wrong_name_cert: Path  # signed by ``ca``, but for another host name
    wrong_name_key: Path

    def server_args(self) -> list[str]:
        return [
            "--tls-cert-file",
            str(self.server_cert),
            "--tls-key-file",
            str(self.server_key),
            "--tls-ca-cert-file",
            str(self.ca),
            "--tls-auth-clients",
            "optional",
        ]

    def cli_args(self) -> list[str]:
        return ["--tls", "--cacert", str(self.ca)]

    def client_context(self) -> ssl.SSLContext:
        """The fixtures' own client (:func:`redis_server.command`): CA checked, any name."""
        context = ssl.create_default_context(cafile=str(self.ca))
        context.check_hostname = False
        context.load_cert_chain(str(self.client_cert), str(self.client_key))
        return context


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def _ca(directory: Path, name: str) -> None:
    _openssl(
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        "-keyout", f"{name}.key", "-out", f"{name}.pem", "-subj", f"/CN=dbp test {name}",
        cwd=directory,
    )  # fmt: skip


def _signed(directory: Path, name: str, extensions: str) -> None:
    (directory / f"{name}.ext").write_text(extensions + "\n")
    _openssl(
        "req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.csr",
        "-subj", f"/CN=dbp test {name}", cwd=directory,
    )  # fmt: skip
    _openssl(
        "x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
        "-CAcreateserial", "-days", "2", "-out", f"{name}.pem", "-extfile", f"{name}.ext",
        cwd=directory,
    )  # fmt: skip


def make_tls_files(directory: Path) -> TLSFiles:
    """Make the CA, server and client certificates in ``directory`` (0700)."""
    if shutil.which("openssl") is None:
        message = "openssl not found: install the Debian package openssl to run the TLS tests"
        if os.environ.get("CI") == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    _ca(directory, "ca")
    _ca(directory, "other-ca")
    _signed(directory, "server", "subjectAltName=DNS:localhost,IP:127.0.0.1")
    _signed(directory, "client", "extendedKeyUsage=clientAuth")
    _signed(directory, "wrong-name", "subjectAltName=DNS:elsewhere.example")
    return TLSFiles(
        directory / "ca.pem",
        directory / "server.pem",
        directory / "server.key",
        directory / "client.pem",
        directory / "client.key",
        directory / "other-ca.pem",
        directory / "wrong-name.pem",
        directory / "wrong-name.key",
    )
