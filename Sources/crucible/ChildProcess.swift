import CrucibleCore
import Foundation

/// A `crucible` process started by this one — devnet's and loadgen's agents, loadgen's coordinator — with its output in a log file.
final class ChildProcess: @unchecked Sendable {
    let name: String
    let logPath: String
    private let process = Process()

    init(name: String, executable: String, arguments: [String], logPath: String) throws {
        self.name = name
        self.logPath = logPath
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardOutput = log
        process.standardError = log
        process.standardInput = FileHandle.nullDevice
        try process.run()
        try log.close()
    }

    var isRunning: Bool { process.isRunning }
    var pid: Int32 { process.processIdentifier }

    /// User plus system CPU seconds the process has used so far.
    func cpuSeconds() -> Double { Self.cpuSeconds(of: pid) }

    /// CPU time a process (this one or another) has used so far.
    static func cpuSeconds(of pid: Int32) -> Double { ProcessUsage.cpuSeconds(of: pid) }

    /// SIGTERM, then wait for it to finish (an agent stops its runs, a coordinator writes its log); SIGKILL after `graceS`.
    func stop(graceS: Int = 10) async {
        guard process.isRunning else { return }
        process.terminate()
        for _ in 0..<(graceS * 10) where process.isRunning {
            try? await Task.sleep(for: .milliseconds(100))
        }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }

    /// The path of the running `crucible` binary, so children run the very same build.
    static func currentExecutable() -> String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }
}
