import Foundation

/// Lets the agent stop a run from outside (cancelled job, lost lease, time limit, shutdown) while it executes.
///
/// A task's command may start children of its own (`sh -c` does). They inherit the pipes, and the descriptor by
/// which Foundation learns that the process ended, so stopping only the direct child would leave the run
/// hanging. The child runs in its own process group, and the whole group is signalled.
public actor RunControl {
    private var process: Process?
    /// The child's process group, when it leads one (what is signalled, and what the run's folder records).
    private(set) var processGroup: pid_t?
    public private(set) var stopReason: String?

    public init() {}

    func attach(_ process: Process) {
        self.process = process
        let pid = process.processIdentifier
        // Foundation starts the child as the leader of a new process group; check rather than assume.
        processGroup = getpgid(pid) == pid ? pid : nil
        // Stopped while it was being prepared (its lease lost while inputs downloaded): there is nothing of it to save,
        // and a SIGTERM alone may never end it — a child inherits the agent's blocked signals, and a torchrun waiting
        // for a gang member that will never come ignored one for 13 minutes.
        if stopReason != nil { signal(SIGKILL) }
    }

    /// Stops the run: SIGTERM now, SIGKILL to whatever is left after `graceS` seconds.
    public func stop(_ reason: String, graceS: Int = 5) {
        guard stopReason == nil else { return }
        stopReason = reason
        guard process != nil else { return }
        signal(SIGTERM)
        Task {
            try? await Task.sleep(for: .seconds(graceS))
            self.signal(SIGKILL)
        }
    }

    /// Kills anything the run left behind after its main process ended.
    func reapLeftovers() {
        signal(SIGKILL)
    }

    private func signal(_ number: Int32) {
        if let processGroup {
            kill(-processGroup, number)
        } else if let process, process.isRunning {
            kill(process.processIdentifier, number)
        }
    }
}
