import DequeModule

/// When each node was last seen, and which were seen within the online window: kept as sightings arrive and expire,
/// so that a decision does not filter every node's last sighting (20,000 of them) to learn which are online.
struct NodeSightings: Sendable {
    private(set) var lastSeenMs: [String: Int64] = [:]
    /// Nodes seen at or after the cutoff of the last `expire`, and since.
    private(set) var online: Set<String> = []
    /// Sightings in the order they came; a node seen again has a later one behind.
    private var sightings = Deque<(nodeId: String, atMs: Int64)>()
    /// Changes of the online set so far.
    private(set) var revision = 0

    mutating func see(_ nodeId: String, atMs nowMs: Int64) {
        lastSeenMs[nodeId] = nowMs
        if online.insert(nodeId).inserted { revision += 1 }
        sightings.append((nodeId, nowMs))
    }

    /// Takes off the online set every node not seen since `cutoffMs`.
    mutating func expire(before cutoffMs: Int64) {
        while let first = sightings.first, first.atMs < cutoffMs {
            sightings.removeFirst()
            if let last = lastSeenMs[first.nodeId], last < cutoffMs, online.remove(first.nodeId) != nil { revision += 1 }
        }
    }
}

/// When nodes were last seen, as of one instant: what a view of nodes shows as online and last seen.
public struct NodePresence: Sendable {
    public var nowMs: Int64
    public var onlineWindowMs: Int64
    public var lastSeenMs: [String: Int64]

    public func isOnline(_ nodeId: String) -> Bool {
        guard let seen = lastSeenMs[nodeId] else { return false }
        return nowMs - seen <= onlineWindowMs
    }
}
