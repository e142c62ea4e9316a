/// How many signed requests one key may send: a token bucket per signer, refilled at `perSecond` up to `burst`.
/// Kept in memory by the coordinator, not in the log: it decides who is answered, never what the state is.
public struct RequestRateLimiter: Sendable {
    public struct Limit: Sendable, Equatable {
        public var perSecond: Int
        public var burst: Int
        public init(perSecond: Int, burst: Int) {
            precondition(perSecond > 0 && burst > 0)
            self.perSecond = perSecond
            self.burst = burst
        }

        /// Generous for agents (a heartbeat every few seconds) and requesters; a flood from one key is not.
        public static let standard = Limit(perSecond: 100, burst: 200)
    }

    public let limit: Limit
    /// Per key: tokens in thousandths, and when they were counted.
    private var buckets: [String: (milliTokens: Int64, atMs: Int64)] = [:]
    /// Full buckets are forgotten once this many keys are held, so idle keys cost no memory; then again at twice the
    /// keys left, so that many busy keys do not make every request sweep them.
    public static let keysBeforePruning = 100_000
    private var pruneAt = keysBeforePruning

    public init(limit: Limit) {
        self.limit = limit
    }

    /// Takes one request's token for `key` at `nowMs`; nil when it may go ahead, else how many milliseconds until it may.
    public mutating func take(_ key: String, atMs nowMs: Int64) -> Int64? {
        let capacity = Int64(limit.burst) * 1_000
        var bucket = buckets[key] ?? (capacity, nowMs)
        let elapsedMs = max(nowMs - bucket.atMs, 0)
        bucket = (min(capacity, bucket.milliTokens + elapsedMs * Int64(limit.perSecond)), nowMs)
        guard bucket.milliTokens >= 1_000 else {
            buckets[key] = bucket
            // One token comes back every 1000/perSecond ms; the wait is rounded up.
            return ((1_000 - bucket.milliTokens) + Int64(limit.perSecond) - 1) / Int64(limit.perSecond)
        }
        bucket.milliTokens -= 1_000
        buckets[key] = bucket
        if buckets.count > pruneAt { prune(atMs: nowMs) }
        return nil
    }

    /// Forgets keys whose bucket has refilled: they would start full anyway.
    private mutating func prune(atMs nowMs: Int64) {
        let capacity = Int64(limit.burst) * 1_000
        buckets = buckets.filter { $0.value.milliTokens + max(nowMs - $0.value.atMs, 0) * Int64(limit.perSecond) < capacity }
        pruneAt = max(Self.keysBeforePruning, buckets.count * 2)
    }

    /// How many keys it holds a bucket for.
    public var keyCount: Int { buckets.count }
}
