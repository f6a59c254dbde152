"""Unit tests of the TLS and token helpers: arguments, the environment, refusals."""

from __future__ import annotations

import os
import tempfile
import unittest

import grpc

from taskqueue_client import OptionsError, WorkerOptions, tls_credentials
from taskqueue_client.tls import bearer_metadata, env_credentials, env_token


class TlsHelpersTest(unittest.TestCase):
    def test_reads_the_environment(self) -> None:
        self.assertIsNone(env_credentials({}))
        self.assertIsNone(env_token({"TQ_TOKEN": ""}))
        self.assertEqual(env_token({"TQ_TOKEN": "tq_x"}), "tq_x")
        self.assertEqual(bearer_metadata("tq_x"), (("authorization", "Bearer tq_x"),))
        self.assertEqual(bearer_metadata(None), ())
        with tempfile.NamedTemporaryFile(suffix=".pem") as ca:
            self.assertIsInstance(env_credentials({"TQ_TLS_CA": ca.name}), grpc.ChannelCredentials)

    def test_names_the_bad_option(self) -> None:
        with self.assertRaises(OptionsError) as missing:
            tls_credentials(ca_file="/nonexistent/ca.pem")
        self.assertEqual(missing.exception.field, "ca_file")
        with self.assertRaises(OptionsError) as half:
            tls_credentials(cert_file="client.pem")
        self.assertEqual(half.exception.field, "key_file")

    def test_worker_options_take_token_and_tls_from_the_environment(self) -> None:
        saved = {k: os.environ.get(k) for k in ("TQ_TOKEN", "TQ_TLS_CA")}
        try:
            os.environ["TQ_TOKEN"] = "tq_env"
            os.environ.pop("TQ_TLS_CA", None)
            options = WorkerOptions(target="h:1", queues=["q"], handlers={"t": lambda task: None}).compiled()
            self.assertEqual(options.token, "tq_env")
            self.assertIsNone(options.credentials)
            explicit = WorkerOptions(target="h:1", queues=["q"], handlers={"t": lambda task: None}, token="tq_arg").compiled()
            self.assertEqual(explicit.token, "tq_arg")
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v


if __name__ == "__main__":
    unittest.main()
