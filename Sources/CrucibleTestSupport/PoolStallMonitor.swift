import Foundation

/// Watches, from a thread of its own, how long the cooperative pool takes to start a new task, and prints every wait
/// longer than `thresholdMs` with the time it ended: a test whose network misses deadlines on a loaded machine can
/// then be told apart from one whose pool was held by compute-bound work (`CRUCIBLE_TEST_STALLS=MS` turns it on for
/// the test networks).
public enum PoolStallMonitor {
    public static func start(thresholdMs: Int) {
        Thread.detachNewThread {
            let started = DispatchSemaphore(value: 0)
            while true {
                Thread.sleep(forTimeInterval: 0.1)
                let asked = ContinuousClock.now
                Task { started.signal() }
                started.wait()
                let waitedMs = (ContinuousClock.now - asked) / .milliseconds(1)
                if waitedMs > Double(thresholdMs) {
                    print("pool stall: a new task waited \(Int(waitedMs)) ms to start (until \(Date()))")
                }
            }
        }
    }
}
