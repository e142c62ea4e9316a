/// A first-come, first-served lock for async code. The store holds it around every write so that writes on
/// its one writer connection never interleave with a transaction, and never wait on SQLite's own file lock.
actor AsyncLock {
    private var isLocked = false
    private var waiters: [CheckedContinuation<Void, Never>] = []

    func lock() async {
        guard isLocked else {
            isLocked = true
            return
        }
        await withCheckedContinuation { waiters.append($0) }
    }

    func unlock() {
        if waiters.isEmpty {
            isLocked = false
        } else {
            // Ownership passes straight to the next waiter.
            waiters.removeFirst().resume()
        }
    }

    func withLock<Value: Sendable>(_ body: @Sendable () async throws -> Value) async rethrows -> Value {
        await lock()
        do {
            let value = try await body()
            unlock()
            return value
        } catch {
            unlock()
            throw error
        }
    }
}
