import HeapModule

/// When each proven node's next unannounced challenge falls due (drawn by the live coordinator, never logged), and
/// which have fallen due and wait for their node to be online and idle. Due times are found from a heap, so that a
/// decision does not scan every proven node's draw.
struct ChallengeDraws: Sendable {
    private(set) var nextMs: [String: Int64] = [:]
    /// Nodes whose time came and that were neither challenged nor drawn again since.
    private(set) var due: Set<String> = []
    private var times = Heap<Draw>()

    private struct Draw: Comparable, Sendable {
        var atMs: Int64
        var nodeId: String
        static func < (lhs: Draw, rhs: Draw) -> Bool { (lhs.atMs, lhs.nodeId) < (rhs.atMs, rhs.nodeId) }
    }

    mutating func draw(_ nodeId: String, atMs: Int64) {
        nextMs[nodeId] = atMs
        due.remove(nodeId)
        times.insert(Draw(atMs: atMs, nodeId: nodeId))
    }

    /// The node was challenged: no time is pending until the next draw.
    mutating func clear(_ nodeId: String) {
        nextMs[nodeId] = nil
        due.remove(nodeId)
    }

    /// Moves every draw whose time came by `nowMs` into `due` (a superseded draw is dropped).
    mutating func advance(to nowMs: Int64) {
        while let first = times.min, first.atMs <= nowMs {
            _ = times.removeMin()
            if nextMs[first.nodeId] == first.atMs { due.insert(first.nodeId) }
        }
    }
}
