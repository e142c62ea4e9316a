import SQLKit

/// How much of the network was online and busy at one moment. Presence comes from heartbeats, which are not in the
/// log, so the leading coordinator samples it and keeps the samples here: the one published figure (utilization
/// over time) that the log alone cannot recompute.
public struct PresenceSample: Codable, Sendable, Equatable {
    public var atMs: Int64
    public var gpusOnline: Int64
    public var gpusBusy: Int64
    public var coresOnline: Int64
    public var coresBusy: Int64

    public init(atMs: Int64, gpusOnline: Int64, gpusBusy: Int64, coresOnline: Int64, coresBusy: Int64) {
        self.atMs = atMs
        self.gpusOnline = gpusOnline
        self.gpusBusy = gpusBusy
        self.coresOnline = coresOnline
        self.coresBusy = coresBusy
    }
}

extension CrucibleStore {
    /// Keeps `sample` (one at the same moment is the same sample).
    public func recordPresence(_ sample: PresenceSample) async throws {
        let db = writer
        try await writeLock.withLock {
            try await db.insert(into: "presence_samples").model(sample, with: Self.rowEncoder).ignoringConflicts().run()
        }
    }

    /// Forgets the samples taken before `cutoffMs`.
    public func prunePresence(olderThanMs cutoffMs: Int64) async throws {
        let db = writer
        try await writeLock.withLock {
            try await db.delete(from: "presence_samples").where("at_ms", .lessThan, cutoffMs).run()
        }
    }

    /// The samples taken since `sinceMs`, oldest first.
    public func presenceSamples(sinceMs: Int64) async throws -> [PresenceSample] {
        try await reader.select().column("*").from("presence_samples").where("at_ms", .greaterThanOrEqual, sinceMs)
            .orderBy("at_ms").all(decoding: PresenceSample.self, with: Self.rowDecoder)
    }
}
