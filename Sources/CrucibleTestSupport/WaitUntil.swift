import CrucibleCore
import Foundation

/// Waits until `condition` holds, checking every 50 ms; past `timeoutS` it throws, naming what it waited for.
public func waitUntil(_ what: String, timeoutS: Double = 60, _ condition: () async throws -> Bool) async throws {
    try await waitUntil(what, timeoutS: timeoutS) { try await condition() ? nil : "not yet" }
}

/// Waits until `missing` returns nil, checking every 50 ms; past `timeoutS` it throws, naming what it waited for and
/// what `missing` last said was still missing — a wait that gives up says where things stood, not only that it did.
public func waitUntil(_ what: String, timeoutS: Double = 60, missing: () async throws -> String?) async throws {
    let deadline = ContinuousClock.now + .milliseconds(Int(timeoutS * 1000))
    while let still = try await missing() {
        guard ContinuousClock.now < deadline else {
            throw CrucibleError(.unavailable, "timed out after \(timeoutS) s waiting until \(what); still missing: \(still)")
        }
        try await Task.sleep(for: .milliseconds(50))
    }
}
