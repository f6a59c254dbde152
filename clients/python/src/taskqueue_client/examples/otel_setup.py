"""Turns OpenTelemetry tracing on for the example programs from the standard OTEL_* variables,
as the server and the other SDKs' examples do: off unless ``OTEL_EXPORTER_OTLP_ENDPOINT``,
``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` or ``OTEL_TRACES_EXPORTER=otlp|console`` is set; off with
``OTEL_SDK_DISABLED=true`` or ``OTEL_TRACES_EXPORTER=none``. Spans are exported with OTLP over
HTTP (http/protobuf); the exporter reads its endpoint, headers and timeout, the SDK its sampler
(``OTEL_TRACES_SAMPLER``, ``OTEL_TRACES_SAMPLER_ARG``) and resource (``OTEL_SERVICE_NAME``,
``OTEL_RESOURCE_ATTRIBUTES``) from the environment. Needs ``pip install taskqueue-client[otel]``."""

from __future__ import annotations

import os
import sys
from typing import Callable, Mapping


def tracing_requested(env: Mapping[str, str] = os.environ) -> bool:
    """Whether the OTEL_* variables ask for tracing."""
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    exporter = env.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if exporter == "none":
        return False
    if exporter in ("otlp", "console"):
        return True
    return bool(env.get("OTEL_EXPORTER_OTLP_ENDPOINT", "").strip() or env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "").strip())


def start_tracing(default_service: str) -> Callable[[], None]:
    """Registers a tracer provider when tracing is requested, named ``default_service`` unless
    ``OTEL_SERVICE_NAME`` says otherwise; returns the function that flushes and stops it (a
    no-op when tracing is off). ValueError for a protocol other than http/protobuf, or when the
    OpenTelemetry SDK is not installed."""
    if not tracing_requested():
        return lambda: None
    try:
        from opentelemetry import trace
        from opentelemetry.sdk.resources import OTELResourceDetector, Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter
    except ImportError as error:
        raise ValueError(f"the OTEL_* variables ask for tracing, which needs pip install 'taskqueue-client[otel]' ({error})") from error

    exporter: SpanExporter
    if os.environ.get("OTEL_TRACES_EXPORTER", "").strip().lower() == "console":
        exporter = ConsoleSpanExporter(out=sys.stderr)  # stdout carries the programs' JSON lines
    else:
        protocol = (os.environ.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") or os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL") or "http/protobuf").strip()
        if protocol != "http/protobuf":
            raise ValueError(f'OTEL_EXPORTER_OTLP_PROTOCOL: "{protocol}" is not supported by the Python examples; use http/protobuf')
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporter = OTLPSpanExporter()
    # OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES win over the default name.
    resource = Resource({"service.name": default_service}).merge(OTELResourceDetector().detect())
    if os.environ.get("OTEL_SERVICE_NAME", "").strip():
        resource = resource.merge(Resource({"service.name": os.environ["OTEL_SERVICE_NAME"].strip()}))
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    return provider.shutdown
