package taskqueue

import (
	"fmt"

	taskqueuev1 "github.com/taskqueue/taskqueue/clients/go/gen/taskqueue/v1"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// defaultMaxRequestBytes is the largest request the server accepts when its welcome does not
// say (gRPC's usual default).
const defaultMaxRequestBytes = 4 * 1024 * 1024

// requestHeaderBytes is the most a ConnectRequest adds around its results member: a tag and
// a length.
const requestHeaderBytes = 6

// resultBatches splits results into batches whose ConnectRequest each takes at most
// maxRequestBytes (the server's max_receive_message_bytes: a larger message fails the whole
// stream), in order. A result too large for any message is replaced by a non-retryable
// failure for its lease (ResultTooLarge); tooLarge lists their task ids.
func resultBatches(results []*taskqueuev1.TaskResult, maxRequestBytes int) (batches [][]*taskqueuev1.TaskResult, tooLarge []string) {
	room := maxRequestBytes - requestHeaderBytes
	var batch []*taskqueuev1.TaskResult
	size := 0
	for _, r := range results {
		entry := entrySize(r)
		if entry > room {
			tooLarge = append(tooLarge, r.GetTaskId())
			r = tooLargeResult(r, maxRequestBytes)
			entry = entrySize(r)
		}
		if len(batch) > 0 && size+entry > room {
			batches = append(batches, batch)
			batch, size = nil, 0
		}
		batch = append(batch, r)
		size += entry
	}
	if len(batch) > 0 {
		batches = append(batches, batch)
	}
	return batches, tooLarge
}

// entrySize is the bytes r takes as an entry of TaskResults.results.
func entrySize(r *taskqueuev1.TaskResult) int {
	n := proto.Size(r)
	return 1 + protowire.SizeVarint(uint64(n)) + n
}

// tooLargeResult is the failure sent in place of a result too large to send.
func tooLargeResult(r *taskqueuev1.TaskResult, maxRequestBytes int) *taskqueuev1.TaskResult {
	return &taskqueuev1.TaskResult{
		TaskId:     r.GetTaskId(),
		LeaseToken: r.GetLeaseToken(),
		Outcome: &taskqueuev1.TaskResult_Failure{Failure: &taskqueuev1.TaskFailure{
			Message:      fmt.Sprintf("result too large to send: the server accepts messages of at most %d bytes", maxRequestBytes),
			Type:         "ResultTooLarge",
			NonRetryable: true,
		}},
	}
}
