import CrucibleCore
import Foundation

/// Asks the machine what it has by running a short command to its end: `nvidia-smi`, `blender --version`, a Python
/// importing torch. Only standard output is kept. Each runs on a thread of its own: a Python importing torch takes
/// seconds, and an agent's other tasks (its servers among them) go on meanwhile.
enum ProbeCommand {
    /// What `executable` with `arguments` wrote to standard output, or nil when it could not start or exited non-zero.
    static func output(_ executable: String, _ arguments: [String]) async -> String? {
        await onOwnThread { blockingOutput(executable, arguments) }
    }

    private static func blockingOutput(_ executable: String, _ arguments: [String]) -> String? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return nil }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return process.terminationStatus == 0 ? String(decoding: data, as: UTF8.self) : nil
    }

    /// The first line of what the command found on PATH (through /usr/bin/env) wrote, when it succeeded.
    static func firstLine(_ command: String, _ arguments: [String]) async -> String? {
        await output("/usr/bin/env", [command] + arguments)?.split(separator: "\n").first.map(String.init)
    }
}
