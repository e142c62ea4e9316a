import CrucibleAPI
import CrucibleClient
import CrucibleCore
import Foundation

/// Shows jobs moving queued → matched → running → verifying → settled, each with a bar of its verified tasks and,
/// while it waits, why: a live table redrawn in place on a terminal, one line per change otherwise (CI logs, pipes).
/// `devnet` follows its demo jobs with it, `job submit --wait` the job it submitted.
struct JobProgress {
    let client: CoordinatorClient
    let jobIds: [String]
    /// Processes the jobs need (devnet's agents): one that exits ends the wait with an error.
    var agents: [ChildProcess] = []

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
                // Up to the table's first line, redraw it, and clear what a shorter table leaves below.
                if drawnLines > 0 { print("\u{1B}[\(drawnLines)A", terminator: "") }
                let header = columns(["JOB", "ID", "STATE", "TASKS", "PAID CRU"])
                let seconds = elapsed.totalSeconds
                let legend = "· queued  ▸ running  ? verifying  ✔ verified  ✗ failed or disputed    elapsed \(String(format: "%.1f", seconds)) s"
                let waiting = jobs.compactMap { job in job.waiting.map { "  \(job.name) waits: \($0)" } }
                let all = [header] + lines + waiting + [legend]
                for text in all { print("\u{1B}[2K" + text) }
                if all.count < drawnLines { print("\u{1B}[J", terminator: "") }
                drawnLines = all.count
            } else {
                for (job, text) in zip(jobs, lines) {
                    let said = text + (job.waiting.map { " — waits: \($0)" } ?? "")
                    guard lastLines[job.id] != said else { continue }
                    print(said)
                    lastLines[job.id] = said
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
        let verified = job.tasks.filter { $0.state == "verified" }.count
        // One symbol per task while they fit, a bar of the share verified beyond that.
        let tasks = job.taskCount <= Self.symbolsMax ? job.tasks.map(symbol).joined() : Self.bar(verified, of: job.taskCount)
        return columns([job.name, job.id, job.state, "\(tasks) \(verified)/\(job.taskCount) verified", Amount.format(job.paidMicro)])
    }

    static let symbolsMax = 12

    /// `done` of `total` as a bar of `width` cells, eighths included.
    static func bar(_ done: Int, of total: Int, width: Int = 12) -> String {
        guard total > 0 else { return String(repeating: " ", count: width) }
        let eighths = min(done, total) * width * 8 / total
        let partial = ["", "▏", "▎", "▍", "▌", "▋", "▊", "▉"][eighths % 8]
        let cells = String(repeating: "█", count: eighths / 8) + partial
        return "[" + cells + String(repeating: " ", count: width - cells.count) + "]"
    }

    private func columns(_ cells: [String]) -> String {
        TextTable.row(cells, widths: [13, 21, 11, 23])
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
