import datetime

from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import field_mask_pb2 as _field_mask_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class QueueInfo(_message.Message):
    __slots__ = ("name", "paused", "pause_reason", "paused_time", "counts", "throughput", "oldest_queued_age", "workers", "settings", "held_back")
    NAME_FIELD_NUMBER: _ClassVar[int]
    PAUSED_FIELD_NUMBER: _ClassVar[int]
    PAUSE_REASON_FIELD_NUMBER: _ClassVar[int]
    PAUSED_TIME_FIELD_NUMBER: _ClassVar[int]
    COUNTS_FIELD_NUMBER: _ClassVar[int]
    THROUGHPUT_FIELD_NUMBER: _ClassVar[int]
    OLDEST_QUEUED_AGE_FIELD_NUMBER: _ClassVar[int]
    WORKERS_FIELD_NUMBER: _ClassVar[int]
    SETTINGS_FIELD_NUMBER: _ClassVar[int]
    HELD_BACK_FIELD_NUMBER: _ClassVar[int]
    name: str
    paused: bool
    pause_reason: str
    paused_time: _timestamp_pb2.Timestamp
    counts: QueueTaskCounts
    throughput: QueueThroughput
    oldest_queued_age: _duration_pb2.Duration
    workers: QueueWorkers
    settings: QueueSettings
    held_back: QueueHeldBack
    def __init__(self, name: _Optional[str] = ..., paused: _Optional[bool] = ..., pause_reason: _Optional[str] = ..., paused_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., counts: _Optional[_Union[QueueTaskCounts, _Mapping]] = ..., throughput: _Optional[_Union[QueueThroughput, _Mapping]] = ..., oldest_queued_age: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., workers: _Optional[_Union[QueueWorkers, _Mapping]] = ..., settings: _Optional[_Union[QueueSettings, _Mapping]] = ..., held_back: _Optional[_Union[QueueHeldBack, _Mapping]] = ...) -> None: ...

class QueueHeldBack(_message.Message):
    __slots__ = ("max_concurrency", "rate_limit", "per_key", "keys_at_limit")
    MAX_CONCURRENCY_FIELD_NUMBER: _ClassVar[int]
    RATE_LIMIT_FIELD_NUMBER: _ClassVar[int]
    PER_KEY_FIELD_NUMBER: _ClassVar[int]
    KEYS_AT_LIMIT_FIELD_NUMBER: _ClassVar[int]
    max_concurrency: int
    rate_limit: int
    per_key: int
    keys_at_limit: int
    def __init__(self, max_concurrency: _Optional[int] = ..., rate_limit: _Optional[int] = ..., per_key: _Optional[int] = ..., keys_at_limit: _Optional[int] = ...) -> None: ...

class QueueTaskCounts(_message.Message):
    __slots__ = ("queued", "scheduled", "running", "dead")
    QUEUED_FIELD_NUMBER: _ClassVar[int]
    SCHEDULED_FIELD_NUMBER: _ClassVar[int]
    RUNNING_FIELD_NUMBER: _ClassVar[int]
    DEAD_FIELD_NUMBER: _ClassVar[int]
    queued: int
    scheduled: int
    running: int
    dead: int
    def __init__(self, queued: _Optional[int] = ..., scheduled: _Optional[int] = ..., running: _Optional[int] = ..., dead: _Optional[int] = ...) -> None: ...

class QueueThroughput(_message.Message):
    __slots__ = ("last_1m", "last_5m", "last_15m", "succeeded_per_minute", "failed_per_minute")
    LAST_1M_FIELD_NUMBER: _ClassVar[int]
    LAST_5M_FIELD_NUMBER: _ClassVar[int]
    LAST_15M_FIELD_NUMBER: _ClassVar[int]
    SUCCEEDED_PER_MINUTE_FIELD_NUMBER: _ClassVar[int]
    FAILED_PER_MINUTE_FIELD_NUMBER: _ClassVar[int]
    last_1m: QueueOutcomeCounts
    last_5m: QueueOutcomeCounts
    last_15m: QueueOutcomeCounts
    succeeded_per_minute: _containers.RepeatedScalarFieldContainer[int]
    failed_per_minute: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, last_1m: _Optional[_Union[QueueOutcomeCounts, _Mapping]] = ..., last_5m: _Optional[_Union[QueueOutcomeCounts, _Mapping]] = ..., last_15m: _Optional[_Union[QueueOutcomeCounts, _Mapping]] = ..., succeeded_per_minute: _Optional[_Iterable[int]] = ..., failed_per_minute: _Optional[_Iterable[int]] = ...) -> None: ...

class QueueOutcomeCounts(_message.Message):
    __slots__ = ("succeeded", "failed", "cancelled")
    SUCCEEDED_FIELD_NUMBER: _ClassVar[int]
    FAILED_FIELD_NUMBER: _ClassVar[int]
    CANCELLED_FIELD_NUMBER: _ClassVar[int]
    succeeded: int
    failed: int
    cancelled: int
    def __init__(self, succeeded: _Optional[int] = ..., failed: _Optional[int] = ..., cancelled: _Optional[int] = ...) -> None: ...

class QueueWorkers(_message.Message):
    __slots__ = ("connected", "capacity", "in_flight")
    CONNECTED_FIELD_NUMBER: _ClassVar[int]
    CAPACITY_FIELD_NUMBER: _ClassVar[int]
    IN_FLIGHT_FIELD_NUMBER: _ClassVar[int]
    connected: int
    capacity: int
    in_flight: int
    def __init__(self, connected: _Optional[int] = ..., capacity: _Optional[int] = ..., in_flight: _Optional[int] = ...) -> None: ...

class QueueSettings(_message.Message):
    __slots__ = ("max_attempts", "initial_backoff", "max_backoff", "backoff_multiplier", "finished_retention", "dead_retention", "default_priority", "default_timeout", "max_concurrency", "rate_limit", "max_concurrency_per_key", "max_payload_bytes")
    MAX_ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    INITIAL_BACKOFF_FIELD_NUMBER: _ClassVar[int]
    MAX_BACKOFF_FIELD_NUMBER: _ClassVar[int]
    BACKOFF_MULTIPLIER_FIELD_NUMBER: _ClassVar[int]
    FINISHED_RETENTION_FIELD_NUMBER: _ClassVar[int]
    DEAD_RETENTION_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_PRIORITY_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    MAX_CONCURRENCY_FIELD_NUMBER: _ClassVar[int]
    RATE_LIMIT_FIELD_NUMBER: _ClassVar[int]
    MAX_CONCURRENCY_PER_KEY_FIELD_NUMBER: _ClassVar[int]
    MAX_PAYLOAD_BYTES_FIELD_NUMBER: _ClassVar[int]
    max_attempts: int
    initial_backoff: _duration_pb2.Duration
    max_backoff: _duration_pb2.Duration
    backoff_multiplier: float
    finished_retention: _duration_pb2.Duration
    dead_retention: _duration_pb2.Duration
    default_priority: int
    default_timeout: _duration_pb2.Duration
    max_concurrency: int
    rate_limit: RateLimit
    max_concurrency_per_key: int
    max_payload_bytes: int
    def __init__(self, max_attempts: _Optional[int] = ..., initial_backoff: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., max_backoff: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., backoff_multiplier: _Optional[float] = ..., finished_retention: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., dead_retention: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., default_priority: _Optional[int] = ..., default_timeout: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., max_concurrency: _Optional[int] = ..., rate_limit: _Optional[_Union[RateLimit, _Mapping]] = ..., max_concurrency_per_key: _Optional[int] = ..., max_payload_bytes: _Optional[int] = ...) -> None: ...

class RateLimit(_message.Message):
    __slots__ = ("limit", "period")
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    limit: int
    period: _duration_pb2.Duration
    def __init__(self, limit: _Optional[int] = ..., period: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class ListQueuesRequest(_message.Message):
    __slots__ = ("page_size", "page_token")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListQueuesResponse(_message.Message):
    __slots__ = ("queues", "next_page_token")
    QUEUES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    queues: _containers.RepeatedCompositeFieldContainer[QueueInfo]
    next_page_token: str
    def __init__(self, queues: _Optional[_Iterable[_Union[QueueInfo, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class GetQueueRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class GetQueueResponse(_message.Message):
    __slots__ = ("queue",)
    QUEUE_FIELD_NUMBER: _ClassVar[int]
    queue: QueueInfo
    def __init__(self, queue: _Optional[_Union[QueueInfo, _Mapping]] = ...) -> None: ...

class PauseQueueRequest(_message.Message):
    __slots__ = ("name", "reason")
    NAME_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    name: str
    reason: str
    def __init__(self, name: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class PauseQueueResponse(_message.Message):
    __slots__ = ("queue",)
    QUEUE_FIELD_NUMBER: _ClassVar[int]
    queue: QueueInfo
    def __init__(self, queue: _Optional[_Union[QueueInfo, _Mapping]] = ...) -> None: ...

class ResumeQueueRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class ResumeQueueResponse(_message.Message):
    __slots__ = ("queue",)
    QUEUE_FIELD_NUMBER: _ClassVar[int]
    queue: QueueInfo
    def __init__(self, queue: _Optional[_Union[QueueInfo, _Mapping]] = ...) -> None: ...

class UpdateQueueRequest(_message.Message):
    __slots__ = ("name", "settings", "update_mask")
    NAME_FIELD_NUMBER: _ClassVar[int]
    SETTINGS_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    name: str
    settings: QueueSettings
    update_mask: _field_mask_pb2.FieldMask
    def __init__(self, name: _Optional[str] = ..., settings: _Optional[_Union[QueueSettings, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ...) -> None: ...

class UpdateQueueResponse(_message.Message):
    __slots__ = ("queue",)
    QUEUE_FIELD_NUMBER: _ClassVar[int]
    queue: QueueInfo
    def __init__(self, queue: _Optional[_Union[QueueInfo, _Mapping]] = ...) -> None: ...
