import Foundation
import Synchronization

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

/// Runs `body(0)` … `body(count - 1)` at once, each on a thread of its own (the caller's thread takes index 0), and
/// returns when all have: compute-bound work that would otherwise fill the cooperative pool, so that no server,
/// heartbeat or poll in the process waits while it runs. Call it from a thread of its own (`onOwnThread`).
public func onOwnThreads(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) {
    guard count > 1 else {
        if count == 1 { body(0) }
        return
    }
    let done = DispatchGroup()
    for index in 1..<count {
        done.enter()
        Thread.detachNewThread {
            body(index)
            done.leave()
        }
    }
    body(0)
    done.wait()
}

/// A flag a task's cancellation raises and compute-bound work on threads of its own reads between steps.
public final class CancellationFlag: Sendable {
    private let raised = Mutex(false)

    public init() {}

    public func raise() { raised.withLock { $0 = true } }
    public var isRaised: Bool { raised.withLock { $0 } }

    /// Throws `CancellationError` once raised.
    public func check() throws {
        if isRaised { throw CancellationError() }
    }
}
