import CrucibleCore

/// Polls `condition` until it holds, failing after `timeoutS`. Waiting on an observable condition, never a fixed sleep.
public func waitUntil(_ what: String, timeoutS: Double = 60, _ condition: () async throws -> Bool) async throws {
    let deadline = ContinuousClock.now + .milliseconds(Int(timeoutS * 1000))
    while try await !condition() {
        guard ContinuousClock.now < deadline else {
            throw CrucibleError(.unavailable, "timed out after \(timeoutS) s waiting until \(what)")
        }
        try await Task.sleep(for: .milliseconds(50))
    }
}
