package taskqueue

// creditReserve is how many credits a worker keeps granted ahead of need: an eighth of its
// concurrency, at least one.
func creditReserve(concurrency int) int {
	return max(1, concurrency/8)
}

// creditsToGrant says how many credits to grant now. Every free slot is granted at once while
// the server holds fewer unused credits than the reserve; while it holds at least that many,
// free slots are gathered until they make up a reserve too, so a worker running tasks one at
// a time does not send a credit message per task (docs/worker-protocol.md §4).
func creditsToGrant(concurrency, busy, outstanding int) int {
	free := concurrency - busy - outstanding
	if free <= 0 {
		return 0
	}
	reserve := creditReserve(concurrency)
	if outstanding >= reserve && free < reserve {
		return 0
	}
	return free
}
