package taskqueue

import (
	"time"

	taskqueuev1 "github.com/taskqueue/taskqueue/clients/go/gen/taskqueue/v1"
)

// The session's answers to acks, to a server drain, and to the worker's own stop.

func (s *session) onAcks(acks []*taskqueuev1.ResultAck) {
	for _, a := range acks {
		key := resultKey{a.GetTaskId(), a.GetLeaseToken()}
		wasSuccess, sent := s.unacked[key]
		delete(s.unacked, key)
		if a.GetStatus() == taskqueuev1.ResultStatus_RESULT_STATUS_REJECTED && sent && wasSuccess {
			// The lease still stands: report the attempt failed rather than leave it running.
			s.pending = append(s.pending, &taskqueuev1.TaskResult{
				TaskId:     key.taskID,
				LeaseToken: key.leaseToken,
				Outcome: &taskqueuev1.TaskResult_Failure{Failure: &taskqueuev1.TaskFailure{
					Message: "result rejected by the server: " + a.GetMessage(), Type: "ResultRejected", NonRetryable: true,
				}},
			})
		}
		ack := Ack{TaskID: a.GetTaskId(), LeaseToken: a.GetLeaseToken(), Message: a.GetMessage()}
		switch a.GetStatus() {
		case taskqueuev1.ResultStatus_RESULT_STATUS_ACCEPTED:
			ack.Status = AckAccepted
		case taskqueuev1.ResultStatus_RESULT_STATUS_STALE:
			ack.Status = AckStale
		case taskqueuev1.ResultStatus_RESULT_STATUS_REJECTED:
			ack.Status = AckRejected
		default:
			s.log.Error("ack with an unknown status", "task_id", ack.TaskID, "status", a.GetStatus())
			continue
		}
		if ack.Status != AckAccepted {
			s.log.Warn("result not accepted", "task_id", ack.TaskID, "status", ack.Status, "reason", ack.Message)
		}
		if h := s.opts.Hooks.OnAck; h != nil {
			h(ack)
		}
	}
}

func (s *session) onDrain(drain *taskqueuev1.DrainCommand) {
	bound := defaultDrainBound
	var deadline time.Time
	if drain.GetDeadline() != nil {
		deadline = drain.GetDeadline().AsTime()
		// The deadline is on the server's clock: read it on ours.
		bound = time.Until(deadline.Add(-s.clockOffset))
	}
	s.log.Warn("server draining", "reason", drain.GetReason(), "deadline", deadline)
	if h := s.opts.Hooks.OnDrain; h != nil {
		h(deadline, drain.GetReason())
	}
	if s.mode == modeActive {
		s.mode = modeDraining
	}
	s.after(bound+closeGrace, func() { s.terminate(endDrained, nil) })
}

// stop begins a graceful stop: announce draining, take no more work, finish what is held
// while heartbeating, and drop what is left at deadline.
func (s *session) stop(deadline time.Time) {
	if !s.welcomed {
		s.terminate(endStopped, nil)
		return
	}
	if s.mode == modeStopping {
		return
	}
	s.mode = modeStopping
	s.out.push(drainingRequest("worker stopping"))
	s.after(time.Until(deadline), func() { s.terminate(endStopped, ErrWorkerStopping) })
}
