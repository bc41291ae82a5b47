/**
 * backoff.js: the reconnection delays of socket-shim.js.
 *
 * Exponential backoff with jitter, computed as socket.io-client's Manager does: attempt n waits
 * min * 2^n, moved up or down by a random share of at most `jitter` (randomizationFactor, 0.5 by
 * default), capped at max. The jitter matters when a node restarts: without it every browser that
 * lost the node would come back in the same millisecond, again and again.
 */
export class Backoff {
  /**
   * @param {number} min first delay, ms (reconnectionDelay)
   * @param {number} max cap, ms (reconnectionDelayMax)
   * @param {number} jitter 0..1 (randomizationFactor)
   * @param {() => number} random source of [0, 1) numbers, replaceable to check the bounds
   */
  constructor(min, max, jitter, random = Math.random) {
    this.min = min;
    this.max = max;
    this.jitter = Math.min(Math.max(jitter, 0), 1);
    this.random = random;
    this.attempts = 0;
  }

  /** The delay before the next attempt, ms; each call counts as one more attempt. */
  next() {
    let delay = this.min * 2 ** this.attempts;
    this.attempts += 1;
    if (this.jitter) {
      const rand = this.random();
      const deviation = Math.floor(rand * this.jitter * delay);
      // socket.io-client picks the direction from the same random number's tenths digit.
      delay = (Math.floor(rand * 10) & 1) === 0 ? delay - deviation : delay + deviation;
    }
    return Math.min(Math.max(Math.floor(delay), 0), this.max);
  }

  /** A connection succeeded: the next loss starts from the shortest delay again. */
  reset() {
    this.attempts = 0;
  }
}
