import datetime

from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class DependencyStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DEPENDENCY_STATUS_UNSPECIFIED: _ClassVar[DependencyStatus]
    DEPENDENCY_STATUS_OK: _ClassVar[DependencyStatus]
    DEPENDENCY_STATUS_UNAVAILABLE: _ClassVar[DependencyStatus]
    DEPENDENCY_STATUS_TIMEOUT: _ClassVar[DependencyStatus]

class SystemStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SYSTEM_STATUS_UNSPECIFIED: _ClassVar[SystemStatus]
    SYSTEM_STATUS_SERVING: _ClassVar[SystemStatus]
    SYSTEM_STATUS_NOT_SERVING: _ClassVar[SystemStatus]
    SYSTEM_STATUS_DRAINING: _ClassVar[SystemStatus]
DEPENDENCY_STATUS_UNSPECIFIED: DependencyStatus
DEPENDENCY_STATUS_OK: DependencyStatus
DEPENDENCY_STATUS_UNAVAILABLE: DependencyStatus
DEPENDENCY_STATUS_TIMEOUT: DependencyStatus
SYSTEM_STATUS_UNSPECIFIED: SystemStatus
SYSTEM_STATUS_SERVING: SystemStatus
SYSTEM_STATUS_NOT_SERVING: SystemStatus
SYSTEM_STATUS_DRAINING: SystemStatus

class ListWorkersRequest(_message.Message):
    __slots__ = ("queue",)
    QUEUE_FIELD_NUMBER: _ClassVar[int]
    queue: str
    def __init__(self, queue: _Optional[str] = ...) -> None: ...

class ListWorkersResponse(_message.Message):
    __slots__ = ("workers",)
    WORKERS_FIELD_NUMBER: _ClassVar[int]
    workers: _containers.RepeatedCompositeFieldContainer[WorkerSession]
    def __init__(self, workers: _Optional[_Iterable[_Union[WorkerSession, _Mapping]]] = ...) -> None: ...

class WorkerSession(_message.Message):
    __slots__ = ("worker_id", "session_id", "server_id", "queues", "task_types", "capacity", "in_flight", "in_flight_task_ids", "labels", "sdk_name", "sdk_version", "connected_at", "last_heartbeat_at", "draining")
    class LabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    WORKER_ID_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    SERVER_ID_FIELD_NUMBER: _ClassVar[int]
    QUEUES_FIELD_NUMBER: _ClassVar[int]
    TASK_TYPES_FIELD_NUMBER: _ClassVar[int]
    CAPACITY_FIELD_NUMBER: _ClassVar[int]
    IN_FLIGHT_FIELD_NUMBER: _ClassVar[int]
    IN_FLIGHT_TASK_IDS_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    SDK_NAME_FIELD_NUMBER: _ClassVar[int]
    SDK_VERSION_FIELD_NUMBER: _ClassVar[int]
    CONNECTED_AT_FIELD_NUMBER: _ClassVar[int]
    LAST_HEARTBEAT_AT_FIELD_NUMBER: _ClassVar[int]
    DRAINING_FIELD_NUMBER: _ClassVar[int]
    worker_id: str
    session_id: str
    server_id: str
    queues: _containers.RepeatedScalarFieldContainer[str]
    task_types: _containers.RepeatedScalarFieldContainer[str]
    capacity: int
    in_flight: int
    in_flight_task_ids: _containers.RepeatedScalarFieldContainer[str]
    labels: _containers.ScalarMap[str, str]
    sdk_name: str
    sdk_version: str
    connected_at: _timestamp_pb2.Timestamp
    last_heartbeat_at: _timestamp_pb2.Timestamp
    draining: bool
    def __init__(self, worker_id: _Optional[str] = ..., session_id: _Optional[str] = ..., server_id: _Optional[str] = ..., queues: _Optional[_Iterable[str]] = ..., task_types: _Optional[_Iterable[str]] = ..., capacity: _Optional[int] = ..., in_flight: _Optional[int] = ..., in_flight_task_ids: _Optional[_Iterable[str]] = ..., labels: _Optional[_Mapping[str, str]] = ..., sdk_name: _Optional[str] = ..., sdk_version: _Optional[str] = ..., connected_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., last_heartbeat_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., draining: _Optional[bool] = ...) -> None: ...

class ListServersRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListServersResponse(_message.Message):
    __slots__ = ("servers",)
    SERVERS_FIELD_NUMBER: _ClassVar[int]
    servers: _containers.RepeatedCompositeFieldContainer[ServerInfo]
    def __init__(self, servers: _Optional[_Iterable[_Union[ServerInfo, _Mapping]]] = ...) -> None: ...

class ServerInfo(_message.Message):
    __slots__ = ("server_id", "address", "http_address", "version", "started_at", "draining", "connected_workers")
    SERVER_ID_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    HTTP_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    STARTED_AT_FIELD_NUMBER: _ClassVar[int]
    DRAINING_FIELD_NUMBER: _ClassVar[int]
    CONNECTED_WORKERS_FIELD_NUMBER: _ClassVar[int]
    server_id: str
    address: str
    http_address: str
    version: str
    started_at: _timestamp_pb2.Timestamp
    draining: bool
    connected_workers: int
    def __init__(self, server_id: _Optional[str] = ..., address: _Optional[str] = ..., http_address: _Optional[str] = ..., version: _Optional[str] = ..., started_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., draining: _Optional[bool] = ..., connected_workers: _Optional[int] = ...) -> None: ...

class GetSystemHealthRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetSystemHealthResponse(_message.Message):
    __slots__ = ("status", "postgres", "redis", "servers", "server_id", "checked_at")
    STATUS_FIELD_NUMBER: _ClassVar[int]
    POSTGRES_FIELD_NUMBER: _ClassVar[int]
    REDIS_FIELD_NUMBER: _ClassVar[int]
    SERVERS_FIELD_NUMBER: _ClassVar[int]
    SERVER_ID_FIELD_NUMBER: _ClassVar[int]
    CHECKED_AT_FIELD_NUMBER: _ClassVar[int]
    status: SystemStatus
    postgres: DependencyHealth
    redis: DependencyHealth
    servers: _containers.RepeatedCompositeFieldContainer[ServerInfo]
    server_id: str
    checked_at: _timestamp_pb2.Timestamp
    def __init__(self, status: _Optional[_Union[SystemStatus, str]] = ..., postgres: _Optional[_Union[DependencyHealth, _Mapping]] = ..., redis: _Optional[_Union[DependencyHealth, _Mapping]] = ..., servers: _Optional[_Iterable[_Union[ServerInfo, _Mapping]]] = ..., server_id: _Optional[str] = ..., checked_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class DependencyHealth(_message.Message):
    __slots__ = ("status", "latency")
    STATUS_FIELD_NUMBER: _ClassVar[int]
    LATENCY_FIELD_NUMBER: _ClassVar[int]
    status: DependencyStatus
    latency: _duration_pb2.Duration
    def __init__(self, status: _Optional[_Union[DependencyStatus, str]] = ..., latency: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...
