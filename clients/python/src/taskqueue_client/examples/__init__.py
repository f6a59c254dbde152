"""Runnable examples: ``python3 -m taskqueue_client.examples.worker`` and ``.producer``."""
