import CrucibleCore
import Foundation

/// Finds what the machine really has. GPUs come from `nvidia-smi`; without it the node reports its CPU,
/// never an invented GPU.
public enum HardwareDiscovery {
    public static func discover() -> HardwareProfile {
        HardwareProfile(
            gpus: discoverGPUs(),
            cpuModel: cpuModel(),
            cpuCores: ProcessInfo.processInfo.activeProcessorCount,
            memoryMiB: Int(ProcessInfo.processInfo.physicalMemory >> 20),
            os: operatingSystem()
        )
    }

    static func discoverGPUs() -> [HardwareProfile.GPU] {
        guard let executable = findExecutable("nvidia-smi") else { return [] }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = NvidiaSMI.queryArguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            return []
        }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { return [] }
        return (try? NvidiaSMI.parse(String(decoding: data, as: UTF8.self))) ?? []
    }

    static func cpuModel() -> String {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return "unknown CPU" }
        for line in text.split(separator: "\n") where line.hasPrefix("model name") {
            if let colon = line.firstIndex(of: ":") {
                return String(line[line.index(after: colon)...]).trimmingCharacters(in: .whitespaces)
            }
        }
        return "unknown CPU"
    }

    static func operatingSystem() -> String {
        if let text = try? String(contentsOfFile: "/etc/os-release", encoding: .utf8) {
            for line in text.split(separator: "\n") where line.hasPrefix("PRETTY_NAME=") {
                return String(line.dropFirst("PRETTY_NAME=".count)).replacingOccurrences(of: "\"", with: "")
            }
        }
        return ProcessInfo.processInfo.operatingSystemVersionString
    }

    /// The first executable named `name` on PATH.
    public static func findExecutable(_ name: String) -> String? {
        if name.contains("/") { return FileManager.default.isExecutableFile(atPath: name) ? name : nil }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for directory in path.split(separator: ":") {
            let candidate = "\(directory)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }
}
