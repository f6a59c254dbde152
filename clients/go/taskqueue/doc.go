// Package taskqueue is the Go client of the taskqueue server: a producer [Client] (submit,
// batch submit, get, list, cancel, wait) and a [Worker] that serves tasks over one
// WorkerService.Connect stream at a time, speaking the worker protocol (hello and welcome,
// credits, heartbeats at the welcome's interval, batched results and their acks, cancel,
// per-task timeout, drain, reconnect with back-off and jitter, deaf-server detection).
//
// The generated protobuf and gRPC stubs are in
// github.com/taskqueue/taskqueue/clients/go/gen/taskqueue/v1; this package is a thin,
// idiomatic layer over them: contexts for deadlines and cancellation, typed errors that
// work with [errors.Is] and [errors.As], JSON payloads as [encoding/json] values, and no
// package-level state.
package taskqueue
