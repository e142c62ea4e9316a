import Foundation

/// Runs an earlier life of the agent left running. A task runs in a process group of its own, and an agent that is
/// killed (SIGKILL, a crash, the machine's OOM killer) cannot stop it: the group goes on holding the GPU and writing
/// into the work folder. Each run's folder records its group while it runs; an agent starting over the same work
/// folder stops the groups still recorded, after checking that they are still that run's processes (a process ID
/// may have been reused) by the run ID in their environment. A task started just before the agent died, whose group
/// was not recorded yet, is found by that run ID alone.
enum LeftoverRuns {
    static let fileName = "process-group"

    static func record(processGroup: pid_t, in runDirectory: URL) {
        try? String(processGroup).write(to: runDirectory.appendingPathComponent(fileName), atomically: true, encoding: .utf8)
    }

    static func forget(in runDirectory: URL) {
        try? FileManager.default.removeItem(at: runDirectory.appendingPathComponent(fileName))
    }

    /// Stops (SIGKILL) every recorded group under `workRoot` whose processes still carry their run's ID, and the group
    /// of any other live process carrying the ID of a run under `workRoot`; forgets every record, and returns the run
    /// IDs it stopped.
    static func stopAll(under workRoot: URL) -> [String] {
        let runs = (try? FileManager.default.contentsOfDirectory(atPath: workRoot.path)) ?? []
        var stopped = Set<String>()
        // One read of /proc for every record (not one per record).
        let recordedCheck = liveProcesses()
        for runId in runs {
            let directory = workRoot.appendingPathComponent(runId, isDirectory: true)
            let record = directory.appendingPathComponent(fileName)
            guard let text = try? String(contentsOf: record, encoding: .utf8) else { continue }
            forget(in: directory)
            guard let group = pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines)), group > 1 else { continue }
            let members = recordedCheck.filter { $0.group == group && environment(of: $0.pid).contains("CRUCIBLE_RUN_ID=\(runId)") }
            guard !members.isEmpty else { continue }
            kill(-group, SIGKILL)
            stopped.insert(runId)
        }
        // Unrecorded tasks: the agent died between starting one and recording its group.
        let ownGroup = getpgrp()
        let runIds = Set(runs)
        for process in liveProcesses() {
            guard let runId = environment(of: process.pid).lazy.compactMap({ Self.runId(inEnvironmentEntry: $0) }).first,
                  runIds.contains(runId) else { continue }
            // A task leads a group of its own; a process sharing this agent's group is signalled alone.
            if process.group > 1 && process.group != ownGroup { kill(-process.group, SIGKILL) } else { kill(process.pid, SIGKILL) }
            stopped.insert(runId)
        }
        return stopped.sorted()
    }

    private static func runId(inEnvironmentEntry entry: String) -> String? {
        entry.hasPrefix("CRUCIBLE_RUN_ID=") ? String(entry.dropFirst("CRUCIBLE_RUN_ID=".count)) : nil
    }

    /// The live (not zombie) processes other than this one, with their process groups, from /proc.
    static func liveProcesses() -> [(pid: pid_t, group: pid_t)] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        let own = getpid()
        return entries.compactMap(pid_t.init).compactMap { pid in
            guard pid != own, let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { return nil }
            // After the command name in parentheses: state, parent, process group.
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            guard fields.count > 2, fields[0] != "Z", let group = pid_t(fields[2]) else { return nil }
            return (pid, group)
        }
    }

    static func environment(of pid: pid_t) -> [String] {
        guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/environ") else { return [] }
        return data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
    }
}
