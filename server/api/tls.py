"""The gRPC port's TLS: the server's certificate and key from files, reloaded without a restart.

    certificates = ServerCertificates(config.server.tls)
    server.add_secure_port(address, certificates.credentials())
    signal.signal(signal.SIGHUP, lambda *_: certificates.reload())   # what ``convene serve`` does

gRPC asks ``ServerCertificates`` before every new connection's handshake
whether the certificate changed (``grpc.dynamic_ssl_server_credentials``), so
after ``reload`` new connections get the new certificate while those already
open, and the calls on them, go on undisturbed: nothing is dropped. A reload
that finds unusable files (a half-written renewal) keeps the certificate in
use and says why in the log.

With ``client_ca_file`` the handshake requires a client certificate signed by
that CA (mutual TLS); ``server.api.auth`` maps a certificate's name to a
tenant and principal.
"""

from __future__ import annotations

import logging
import threading

import grpc

from server.config import ConfigError
from server.config.server import TlsSettings, check_tls_files

__all__ = ["ServerCertificates"]

log = logging.getLogger("convene.server")


class ServerCertificates:
    """The server's TLS credentials, re-read from their files on ``reload``."""

    def __init__(self, settings: TlsSettings) -> None:
        self._settings = settings
        self._lock = threading.Lock()
        self._pending: grpc.ServerCertificateConfiguration | None = None
        self.reloads = 0  # successful reloads (tests, logs)
        self._initial = self._read()

    def _read(self) -> grpc.ServerCertificateConfiguration:
        settings = self._settings
        try:
            check_tls_files(settings.cert_file, settings.key_file, settings.client_ca_file)
            key, chain = settings.key_file.read_bytes(), settings.cert_file.read_bytes()
            roots = settings.client_ca_file.read_bytes() if settings.client_ca_file is not None else None
        except (OSError, ValueError) as exc:
            raise ConfigError(f"server.tls: {exc}") from None
        return grpc.ssl_server_certificate_configuration([(key, chain)], root_certificates=roots)

    @property
    def mutual(self) -> bool:
        return self._settings.client_ca_file is not None

    def credentials(self) -> grpc.ServerCredentials:
        return grpc.dynamic_ssl_server_credentials(self._initial, self._next_configuration,
                                                   require_client_authentication=self.mutual)

    def reload(self) -> bool:
        """Reads the files again; the next handshakes use them. False (logged) when they are unusable."""
        try:
            configuration = self._read()
        except ConfigError as exc:
            log.error("TLS reload refused, the current certificate stays: %s", exc)
            return False
        with self._lock:
            self._pending = configuration
            self.reloads += 1
        log.info("TLS certificate reloaded from %s", self._settings.cert_file)
        return True

    def _next_configuration(self) -> grpc.ServerCertificateConfiguration | None:
        """gRPC's question before each handshake: a new configuration once after a reload, else None."""
        with self._lock:
            configuration, self._pending = self._pending, None
        return configuration
