#!/usr/bin/env python3
"""A protoc plugin (used by buf as a ``local`` plugin) that generates the Python client stubs.

grpcio-tools ships protoc and the gRPC Python generator as a Python module
(``grpc_tools.protoc``) rather than as ``protoc-gen-*`` executables. This plugin bridges the two:
it reads buf's ``CodeGeneratorRequest`` on stdin, writes its files as a descriptor set, runs
``grpc_tools.protoc`` with ``--python_out``, ``--pyi_out`` and ``--grpc_python_out`` into a
temporary folder, and answers with a ``CodeGeneratorResponse`` holding the generated files.

The generated code imports its siblings by their proto package (``from taskqueue.v1 import
task_pb2``). Those imports are rewritten under the package the code is generated into
(parameter ``package``, e.g. ``taskqueue_client.gen``), and an ``__init__.py`` is emitted in
every generated folder, so the stubs live in their own subpackage and need no ``sys.path``
changes.

Parameters (buf ``opt``):
  package=<dotted.name>   Python package of the output folder. Required.
  include=<path-prefix>   Only generate proto files whose path starts with it (repeatable).
                          Default: every file buf asks for.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile

HINT = (
    "install the Python toolchain with `bash clients/install-toolchains.sh`, then run "
    "`npm run gen` again (buf cleaned the generated folders before this plugin failed; "
    "`git checkout -- gen clients/go/gen clients/python/src/taskqueue_client/gen` restores them)"
)

try:
    from google.protobuf import descriptor_pb2
    from google.protobuf.compiler import plugin_pb2
except ImportError as missing:  # pragma: no cover - depends on the environment
    sys.stderr.write(f"protoc-gen-taskqueue-python: {missing}; {HINT}\n")
    sys.exit(1)


class PluginError(Exception):
    """A bad parameter or a failed protoc run; reported to buf as the response's error."""


def parse_parameter(parameter: str) -> tuple[str, list[str]]:
    """Returns (package, include prefixes) from a comma-separated ``key=value`` list."""
    package = ""
    includes: list[str] = []
    for item in filter(None, (part.strip() for part in parameter.split(","))):
        key, _, value = item.partition("=")
        if key == "package":
            package = value
        elif key == "include":
            includes.append(value)
        else:
            raise PluginError(f"unknown parameter {item!r}: expected package=... or include=...")
    if not re.fullmatch(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*", package):
        raise PluginError("parameter package=<dotted.python.package> is required")
    return package, includes


def run_protoc(request: plugin_pb2.CodeGeneratorRequest, files: list[str], out_dir: str) -> None:
    """Runs grpc_tools' protoc on ``files`` (taken from the request's descriptors) into out_dir."""
    from grpc_tools import protoc  # imported here so a missing grpcio-tools gets a clear message

    descriptor_set = descriptor_pb2.FileDescriptorSet(file=request.proto_file)
    set_path = os.path.join(out_dir, "request.binpb")
    with open(set_path, "wb") as handle:
        handle.write(descriptor_set.SerializeToString())
    gen_dir = os.path.join(out_dir, "gen")
    os.mkdir(gen_dir)
    args = [
        "grpc_tools.protoc",
        f"--descriptor_set_in={set_path}",
        f"--python_out={gen_dir}",
        f"--pyi_out={gen_dir}",
        f"--grpc_python_out={gen_dir}",
        *files,
    ]
    status = protoc.main(args)
    if status != 0:
        raise PluginError(f"grpc_tools.protoc failed with exit status {status}")


def rewrite_imports(text: str, modules: set[str], package: str) -> str:
    """Prefixes imports (and module-name strings) of generated sibling modules with ``package``."""

    def prefix_from(match: re.Match[str]) -> str:
        module = match.group(2)
        if module in modules:
            return f"{match.group(1)}from {package}.{module} import"
        return match.group(0)

    text = re.sub(r"^(\s*)from ([\w.]+) import", prefix_from, text, flags=re.MULTILINE)

    def prefix_name(match: re.Match[str]) -> str:
        module = match.group(1)
        parent = module.rpartition(".")[0]
        if parent in modules:
            return f"'{package}.{module}'"
        return match.group(0)

    return re.sub(r"'([\w.]+_pb2(?:_grpc)?)'", prefix_name, text)


def generate(request: plugin_pb2.CodeGeneratorRequest) -> plugin_pb2.CodeGeneratorResponse:
    """Produces the response for one request (raises PluginError on failure)."""
    package, includes = parse_parameter(request.parameter)
    files = [f for f in request.file_to_generate if not includes or any(f.startswith(p) for p in includes)]
    response = plugin_pb2.CodeGeneratorResponse()
    response.supported_features = plugin_pb2.CodeGeneratorResponse.FEATURE_PROTO3_OPTIONAL
    if not files:
        return response
    with tempfile.TemporaryDirectory(prefix="protoc-gen-taskqueue-python-") as tmp:
        run_protoc(request, files, tmp)
        gen_dir = os.path.join(tmp, "gen")
        generated: dict[str, str] = {}
        for root, _dirs, names in os.walk(gen_dir):
            for name in names:
                path = os.path.join(root, name)
                rel = os.path.relpath(path, gen_dir).replace(os.sep, "/")
                with open(path, encoding="utf-8") as handle:
                    generated[rel] = handle.read()
    modules = {os.path.dirname(rel).replace("/", ".") for rel in generated}
    folders = {""}
    for rel in generated:
        parts = rel.split("/")[:-1]
        for i in range(1, len(parts) + 1):
            folders.add("/".join(parts[:i]))
    for folder in sorted(folders):
        init = f"{folder}/__init__.py" if folder else "__init__.py"
        if init not in generated:
            generated[init] = "# Generated by protoc-gen-taskqueue-python. DO NOT EDIT.\n"
    for rel in sorted(generated):
        text = generated[rel]
        if rel.endswith((".py", ".pyi")):
            text = rewrite_imports(text, modules, package)
        response.file.add(name=rel, content=text)
    return response


def main() -> int:
    """Plugin entry point: request on stdin, response on stdout."""
    request = plugin_pb2.CodeGeneratorRequest.FromString(sys.stdin.buffer.read())
    try:
        response = generate(request)
    except PluginError as error:
        response = plugin_pb2.CodeGeneratorResponse(error=f"protoc-gen-taskqueue-python: {error}")
    except ImportError as error:
        response = plugin_pb2.CodeGeneratorResponse(error=f"protoc-gen-taskqueue-python: {error}; {HINT}")
    sys.stdout.buffer.write(response.SerializeToString())
    return 0


if __name__ == "__main__":
    sys.exit(main())
