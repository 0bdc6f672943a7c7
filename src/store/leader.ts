/**
 * Leadership among the processes of one deployment, for work that must run in exactly one of
 * them (housekeeping sweeps, the zoo's training). The PostgreSQL adapter holds a session-level
 * advisory lock on a connection of its own: the lock goes with the connection, so a leader that
 * dies (even `kill -9`) frees it for the next one without any timeout of ours.
 */
export interface LeaderLock {
  /** True while this process leads; takes the lead when nobody holds it. Never throws. */
  tryAcquire(): Promise<boolean>;
  /** Give the lead up (idempotent). */
  release(): Promise<void>;
}

/** The embedded case: one process, always the leader. */
export const soleLeader: LeaderLock = {
  tryAcquire: async () => true,
  release: async () => {},
};
