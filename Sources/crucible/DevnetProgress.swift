import CrucibleAPI
import CrucibleClient
import CrucibleCore
import Foundation

/// Shows the demo jobs moving queued → matched → running → verifying → settled: redrawn in place on a terminal,
/// one line per change otherwise (CI logs, pipes).
struct DevnetProgress {
    let client: CoordinatorClient
    let jobIds: [String]
    let agents: [ChildProcess]

    func follow(deadlineS: Int) async throws -> [Components.Schemas.Job] {
        let interactive = isatty(STDOUT_FILENO) == 1
        let deadline = ContinuousClock.now + .seconds(deadlineS)
        var drawnLines = 0
        var lastLines = [String: String]()
        let started = ContinuousClock.now
        while true {
            var jobs = [Components.Schemas.Job]()
            for id in jobIds { jobs.append(try await client.job(id)) }
            let lines = jobs.map(line)
            let elapsed = ContinuousClock.now - started
            if interactive {
                if drawnLines > 0 { print("\u{1B}[\(drawnLines)A", terminator: "") }
                let header = columns(["JOB", "ID", "STATE", "TASKS", "PAID CRU"])
                let seconds = elapsed.totalSeconds
                let legend = "· queued  ▸ running  ? verifying  ✔ verified  ✗ failed or disputed    elapsed \(String(format: "%.1f", seconds)) s"
                let all = [header] + lines + [legend]
                for text in all { print("\u{1B}[2K" + text) }
                drawnLines = all.count
            } else {
                for (job, text) in zip(jobs, lines) where lastLines[job.id] != text {
                    print(text)
                    lastLines[job.id] = text
                }
            }
            fflush(nil)
            if jobs.allSatisfy({ $0.state == "settled" || $0.state == "cancelled" }) {
                print("")
                return jobs
            }
            if let dead = agents.first(where: { !$0.isRunning }) {
                throw CrucibleError(.unavailable, "agent \(dead.name) exited while jobs were open; see \(dead.logPath)")
            }
            guard ContinuousClock.now < deadline else {
                throw CrucibleError(.unavailable, "jobs did not settle within \(deadlineS) s")
            }
            try await Task.sleep(for: .milliseconds(interactive ? 250 : 500))
        }
    }

    private func line(_ job: Components.Schemas.Job) -> String {
        let symbols = job.tasks.map(symbol).joined()
        let verified = job.tasks.filter { $0.state == "verified" }.count
        return columns([job.name, job.id, job.state, "\(symbols) \(verified)/\(job.taskCount) verified", Amount.format(job.paidMicro)])
    }

    private func columns(_ cells: [String]) -> String {
        let widths = [12, 20, 10, 22]
        return cells.enumerated().map { index, cell in
            index < widths.count ? cell.padding(toLength: max(widths[index], cell.count), withPad: " ", startingAt: 0) : cell
        }.joined(separator: " ")
    }

    private func symbol(_ task: Components.Schemas.TaskStatus) -> String {
        switch task.state {
        case "verified": return "✔"
        case "disputed", "failed": return "✗"
        case "cancelled": return "–"
        case "verifying": return "?"
        default:
            return task.runs.contains(where: { $0.state == "running" }) ? "▸" : "·"
        }
    }
}
