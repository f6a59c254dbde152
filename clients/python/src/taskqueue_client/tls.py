"""TLS credentials and the bearer token, from arguments or the environment.

The environment is the same as for ``tq`` and the other SDKs: ``TQ_TLS_CA`` (PEM CA file to
trust), ``TQ_TLS_CERT`` and ``TQ_TLS_KEY`` (client certificate and key for mutual TLS) and
``TQ_TOKEN`` (API token sent as ``authorization: Bearer``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Optional

import grpc

from .errors import OptionsError


def tls_credentials(ca_file: str | None = None, cert_file: str | None = None, key_file: str | None = None) -> grpc.ChannelCredentials:
    """Channel credentials trusting the CA in ``ca_file`` (the system's roots when None),
    presenting the client certificate ``cert_file`` with ``key_file`` when given (mutual TLS).
    Raises :class:`OptionsError` naming a file that cannot be read."""
    if (cert_file is None) != (key_file is None):
        raise OptionsError("cert_file" if cert_file is None else "key_file", "a client certificate needs both cert_file and key_file")

    def read(name: str, path: str | None) -> bytes | None:
        if path is None:
            return None
        try:
            with open(path, "rb") as f:
                return f.read()
        except OSError as error:
            raise OptionsError(name, f"cannot read {path}: {error.strerror}") from error

    return grpc.ssl_channel_credentials(
        root_certificates=read("ca_file", ca_file),
        private_key=read("key_file", key_file),
        certificate_chain=read("cert_file", cert_file),
    )


def env_credentials(env: Mapping[str, str] = os.environ) -> Optional[grpc.ChannelCredentials]:
    """TLS credentials from ``TQ_TLS_CA``/``TQ_TLS_CERT``/``TQ_TLS_KEY``; None when none is set."""
    ca, cert, key = env.get("TQ_TLS_CA") or None, env.get("TQ_TLS_CERT") or None, env.get("TQ_TLS_KEY") or None
    if ca is None and cert is None and key is None:
        return None
    return tls_credentials(ca, cert, key)


def env_token(env: Mapping[str, str] = os.environ) -> Optional[str]:
    """``TQ_TOKEN``, or None when unset or empty."""
    return env.get("TQ_TOKEN") or None


def bearer_metadata(token: Optional[str]) -> tuple[tuple[str, str], ...]:
    """The call metadata that carries ``token`` (empty without one)."""
    return (("authorization", f"Bearer {token}"),) if token else ()
