import Foundation

/// What a process (this one or another) has used so far, read from Linux's /proc: for load figures and /metrics.
public enum ProcessUsage {
    /// User plus system CPU seconds; 0 when the process is gone or /proc is not there.
    public static func cpuSeconds(of pid: Int32 = getpid()) -> Double {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return 0 }
        // Fields after the command name: state is field 3, utime 14 and stime 15 (1-based over the whole line).
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// Resident memory now and at its peak, in bytes; zeros when unknown.
    public static func memoryBytes(of pid: Int32 = getpid()) -> (resident: Double, peak: Double) {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return (0, 0) }
        func kibibytes(_ name: String) -> Double {
            guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix(name + ":") }) else { return 0 }
            return Double(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") ?? 0
        }
        return (kibibytes("VmRSS") * 1024, kibibytes("VmHWM") * 1024)
    }
}
