import Foundation

/// Runs an earlier life of the agent left running. A task runs in a process group of its own, and an agent that is
/// killed (SIGKILL, a crash, the machine's OOM killer) cannot stop it: the group goes on holding the GPU and writing
/// into the work folder. Each run's folder records its group while it runs; an agent starting over the same work
/// folder stops the groups still recorded, after checking that they are still that run's processes (a process ID
/// may have been reused) by the run ID in their environment.
enum LeftoverRuns {
    static let fileName = "process-group"

    static func record(processGroup: pid_t, in runDirectory: URL) {
        try? String(processGroup).write(to: runDirectory.appendingPathComponent(fileName), atomically: true, encoding: .utf8)
    }

    static func forget(in runDirectory: URL) {
        try? FileManager.default.removeItem(at: runDirectory.appendingPathComponent(fileName))
    }

    /// Stops (SIGKILL) every recorded group under `workRoot` whose processes still carry their run's ID, forgets every
    /// record, and returns the run IDs it stopped.
    static func stopAll(under workRoot: URL) -> [String] {
        let runs = (try? FileManager.default.contentsOfDirectory(atPath: workRoot.path)) ?? []
        var stopped = [String]()
        for runId in runs.sorted() {
            let directory = workRoot.appendingPathComponent(runId, isDirectory: true)
            let record = directory.appendingPathComponent(fileName)
            guard let text = try? String(contentsOf: record, encoding: .utf8) else { continue }
            forget(in: directory)
            guard let group = pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines)), group > 1 else { continue }
            let members = processes(inGroup: group).filter { environment(of: $0).contains("CRUCIBLE_RUN_ID=\(runId)") }
            guard !members.isEmpty else { continue }
            kill(-group, SIGKILL)
            stopped.append(runId)
        }
        return stopped
    }

    /// The live (not zombie) processes whose process group is `group`, from /proc.
    static func processes(inGroup group: pid_t) -> [pid_t] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap(pid_t.init).filter { pid in
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { return false }
            // After the command name in parentheses: state, parent, process group.
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            return fields.count > 2 && fields[0] != "Z" && pid_t(fields[2]) == group
        }
    }

    static func environment(of pid: pid_t) -> [String] {
        guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/environ") else { return [] }
        return data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
    }
}
