import Foundation

/// Runs `body`, and every task it starts, on a thread of its own instead of the cooperative pool.
///
/// The whole suite runs in one process whose cooperative pool has as many threads as the machine has cores (two here).
/// A test that computes for seconds there — a simulation, a property check, a fuzz loop — holds one of them all the
/// while, and every coordinator, agent and server of the tests running beside it waits: offers lapse, leases are lost,
/// challenges miss their deadlines. On a thread of its own the operating system shares the cores among them instead.
/// The `.compute` trait runs its tests this way. Child tasks inherit the preference; unstructured tasks (`Task {}`) do
/// not (SE-0417).
public func onThreadOfItsOwn<T: Sendable>(_ body: () async throws -> T) async rethrows -> T {
    let executor = DedicatedThreadExecutor()
    defer { executor.shutDown() }
    return try await withTaskExecutorPreference(executor) { try await body() }
}

/// A task executor with one thread that runs its jobs in order, until shut down.
final class DedicatedThreadExecutor: TaskExecutor, @unchecked Sendable {
    /// Marks the thread in its own dictionary (names are not read back reliably on Linux).
    static let marker = "crucible.test.threadOfItsOwn"
    // Guarded by `condition`.
    private var jobs: [UnownedJob] = []
    private var isShutDown = false
    private let condition = NSCondition()

    init() {
        Thread.detachNewThread {
            Thread.current.threadDictionary[Self.marker] = true
            self.runJobs()
        }
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        condition.lock()
        jobs.append(job)
        condition.signal()
        condition.unlock()
    }

    /// Lets the thread end once no job is left.
    func shutDown() {
        condition.lock()
        isShutDown = true
        condition.signal()
        condition.unlock()
    }

    private func runJobs() {
        while true {
            condition.lock()
            while jobs.isEmpty && !isShutDown { condition.wait() }
            if jobs.isEmpty {
                condition.unlock()
                return
            }
            let job = jobs.removeFirst()
            condition.unlock()
            job.runSynchronously(on: asUnownedTaskExecutor())
        }
    }
}

/// Whether the caller runs on a thread `onThreadOfItsOwn` started.
public func isOnThreadOfItsOwn() -> Bool {
    Thread.current.threadDictionary[DedicatedThreadExecutor.marker] != nil
}
