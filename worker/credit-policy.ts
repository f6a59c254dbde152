/**
 * Credits the worker keeps granted ahead of need: an eighth of its capacity, at least one.
 * While the server holds at least this many unused credits it can keep the worker busy, so
 * freed slots are gathered until they make up as many before they are granted.
 */
export function creditReserve(capacity: number): number {
  return Math.max(1, Math.floor(capacity / 8));
}

/**
 * How many credits to grant now, given the slots in use and the credits the server holds.
 *
 * Every free slot is granted at once while the server holds fewer credits than the
 * {@link creditReserve}: then a slot left ungranted could leave work waiting. While it
 * holds at least the reserve, free slots are granted only once they make up the reserve
 * too. A worker that runs one task at a time at a low rate thus sends one credit message
 * per reserve's worth of tasks instead of one per task, and never has more than
 * `reserve - 1` slots free and ungranted while the server has credit to spare.
 */
export function creditsToGrant(capacity: number, busy: number, outstanding: number): number {
  const free = capacity - busy - outstanding;
  if (free <= 0) return 0;
  const reserve = creditReserve(capacity);
  if (outstanding >= reserve && free < reserve) return 0;
  return free;
}
