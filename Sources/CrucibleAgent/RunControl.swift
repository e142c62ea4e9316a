import Foundation

/// Lets the agent stop a run from outside (cancelled job, lost lease, shutdown) while it executes.
public actor RunControl {
    private var process: Process?
    public private(set) var stopReason: String?

    public init() {}

    func attach(_ process: Process) {
        self.process = process
        if stopReason != nil { terminate(process) }
    }

    /// Stops the run: SIGTERM now, SIGKILL if it is still there after `graceS` seconds.
    public func stop(_ reason: String, graceS: Int = 5) {
        guard stopReason == nil else { return }
        stopReason = reason
        if let process { terminate(process, graceS: graceS) }
    }

    private func terminate(_ process: Process, graceS: Int = 5) {
        guard process.isRunning else { return }
        process.terminate()
        let pid = process.processIdentifier
        Task.detached {
            try? await Task.sleep(for: .seconds(graceS))
            if process.isRunning { kill(pid, SIGKILL) }
        }
    }
}
