package taskqueue

import taskqueuev1 "github.com/taskqueue/taskqueue/clients/go/gen/taskqueue/v1"

func helloRequest(o *WorkerOptions) *taskqueuev1.ConnectRequest {
	types := make([]string, 0, len(o.Handlers))
	for name := range o.Handlers {
		types = append(types, name)
	}
	return &taskqueuev1.ConnectRequest{Message: &taskqueuev1.ConnectRequest_Hello{Hello: &taskqueuev1.WorkerHello{
		WorkerId:  o.WorkerID,
		Queues:    o.Queues,
		TaskTypes: types,
		Capacity:  int32(o.Concurrency),
		Labels:    o.Labels,
		Sdk:       SDKName,
	}}}
}

func creditRequest(n int) *taskqueuev1.ConnectRequest {
	return &taskqueuev1.ConnectRequest{Message: &taskqueuev1.ConnectRequest_Credit{Credit: &taskqueuev1.CreditGrant{Credits: int32(n)}}}
}

func heartbeatRequest(ids []string) *taskqueuev1.ConnectRequest {
	return &taskqueuev1.ConnectRequest{Message: &taskqueuev1.ConnectRequest_Heartbeat{Heartbeat: &taskqueuev1.Heartbeat{TaskIds: ids}}}
}

func resultsRequest(results []*taskqueuev1.TaskResult) *taskqueuev1.ConnectRequest {
	return &taskqueuev1.ConnectRequest{Message: &taskqueuev1.ConnectRequest_Results{Results: &taskqueuev1.TaskResults{Results: results}}}
}

func progressRequest(t *LeasedTask, percent float32, message string) *taskqueuev1.ConnectRequest {
	return &taskqueuev1.ConnectRequest{Message: &taskqueuev1.ConnectRequest_Progress{Progress: &taskqueuev1.ProgressReport{
		TaskId: t.ID, LeaseToken: t.LeaseToken, Percent: percent, Message: message,
	}}}
}

func drainingRequest(reason string) *taskqueuev1.ConnectRequest {
	return &taskqueuev1.ConnectRequest{Message: &taskqueuev1.ConnectRequest_Draining{Draining: &taskqueuev1.WorkerDraining{Reason: reason}}}
}
