import DequeModule

/// Nonces seen within the acceptance window, by signer and nonce, with their envelope's timestamp, and the order they
/// came in, so that old ones are forgotten a few at a time rather than by filtering them all in one go (at 2,000 signed
/// requests a second the window holds over a million), which would stop the coordinator while it ran.
struct SeenNonces: Sendable {
    private var timestamps: [String: Int64] = [:]
    private var arrivals = Deque<(key: String, timestampMs: Int64)>()

    var count: Int { timestamps.count }

    func contains(signer: String, nonce: String) -> Bool { timestamps[Self.key(signer, nonce)] != nil }

    mutating func insert(signer: String, nonce: String, timestampMs: Int64) {
        let key = Self.key(signer, nonce)
        timestamps[key] = timestampMs
        arrivals.append((key, timestampMs))
    }

    /// Forgets the nonces of envelopes stamped before `cutoffMs`, in the order they came: one stamped late that came early
    /// keeps those behind it a little longer, which costs memory, never a replay.
    mutating func expire(before cutoffMs: Int64) {
        while let first = arrivals.first, first.timestampMs < cutoffMs {
            arrivals.removeFirst()
            if timestamps[first.key] == first.timestampMs { timestamps[first.key] = nil }
        }
    }

    private static func key(_ signer: String, _ nonce: String) -> String { signer + "\n" + nonce }
}
