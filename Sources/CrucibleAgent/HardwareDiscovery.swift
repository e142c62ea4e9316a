import CrucibleCore
import Foundation

/// Finds what the machine really has. GPUs come from `nvidia-smi`; without it the node reports its CPU,
/// never an invented GPU.
public enum HardwareDiscovery {
    public static func discover() async -> HardwareProfile {
        HardwareProfile(
            gpus: await discoverGPUs(),
            cpuModel: cpuModel(),
            cpuCores: ProcessInfo.processInfo.activeProcessorCount,
            memoryMiB: Int(ProcessInfo.processInfo.physicalMemory >> 20),
            os: operatingSystem()
        )
    }

    static func discoverGPUs() async -> [HardwareProfile.GPU] {
        guard let executable = findExecutable("nvidia-smi"), let output = await ProbeCommand.output(executable, NvidiaSMI.queryArguments) else { return [] }
        return (try? NvidiaSMI.parse(output)) ?? []
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
