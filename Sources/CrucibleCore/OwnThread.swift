import Foundation

/// Runs `work`, which blocks its thread (waiting for a child process, reading a socket), on a thread of its own and
/// awaits its result. Blocking inside a task would hold one of the cooperative pool's threads — two on a two-core
/// machine — so that every other task, a server's included, waits behind it.
public func onOwnThread<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread.detachNewThread { continuation.resume(with: Result { try work() }) }
    }
}

/// `onOwnThread` for work that cannot fail.
public func onOwnThread<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        Thread.detachNewThread { continuation.resume(returning: work()) }
    }
}
