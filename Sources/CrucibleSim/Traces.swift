import CrucibleCore
import CrucibleMarket
import Foundation

/// A GPU node of a real cluster trace (Alibaba's openb node list): how many GPUs of which model.
public struct TraceNode: Sendable, Equatable {
    public var name: String
    public var gpus: Int
    public var model: String
}

/// A job of a real arrival trace (Microsoft Philly): when it arrived, how long it ran, on how many GPUs.
public struct TraceJob: Sendable, Equatable {
    public var arrivalS: Int64
    public var durationS: Int64
    public var gpus: Int
}

/// Reads the shared traces (`../shared/data/traces/`), refusing a file whose header or rows are not what the
/// trace's README documents.
public enum Traces {
    public static func nodes(path: String) throws -> [TraceNode] {
        let rows = try table(path: path, header: ["sn", "cpu_milli", "memory_mib", "gpu", "model"])
        return try rows.enumerated().map { index, fields in
            guard let gpus = Int(fields[3]), gpus >= 0, !fields[4].isEmpty else { throw bad(path, line: index + 2, "gpu must be a count and model named") }
            return TraceNode(name: fields[0], gpus: gpus, model: fields[4])
        }
    }

    /// Jobs with arrivals in seconds since the trace's first one, in arrival order.
    public static func jobs(path: String) throws -> [TraceJob] {
        let rows = try table(path: path, header: ["timestamp", "duration", "num_gpus", "gpu_time", "cluster"])
        let parser = DateFormatter()
        parser.locale = Locale(identifier: "en_US_POSIX")
        parser.timeZone = TimeZone(identifier: "UTC")
        parser.dateFormat = "yyyy-MM-dd HH:mm:ss"
        var parsed = [(Int64, Int64, Int)]()
        for (index, fields) in rows.enumerated() {
            guard let date = parser.date(from: fields[0]), let duration = Double(fields[1]), duration >= 0, let gpus = Int(fields[2]), gpus > 0 else {
                throw bad(path, line: index + 2, "expected a timestamp, a duration in seconds and a GPU count")
            }
            parsed.append((Int64(date.timeIntervalSince1970), Int64(duration.rounded()), gpus))
        }
        guard let first = parsed.map(\.0).min() else { return [] }
        return parsed.map { TraceJob(arrivalS: $0.0 - first, durationS: $0.1, gpus: $0.2) }.sorted { $0.arrivalS < $1.arrivalS }
    }

    static func table(path: String, header: [String]) throws -> [[String]] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw CrucibleError(.notFound, "cannot read \(path); the traces live in ../shared/data/traces/ beside the project")
        }
        var lines = text.split(whereSeparator: \.isNewline).map(String.init)
        guard !lines.isEmpty, lines.removeFirst().split(separator: ",", omittingEmptySubsequences: false).map(String.init) == header else {
            throw bad(path, line: 1, "the header must be \(header.joined(separator: ","))")
        }
        return try lines.enumerated().map { index, line in
            let fields = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            guard fields.count == header.count else { throw bad(path, line: index + 2, "expected \(header.count) fields") }
            return fields
        }
    }

    static func bad(_ path: String, line: Int, _ message: String) -> CrucibleError {
        CrucibleError(.malformed, "\(path):\(line): \(message)")
    }
}

extension Traces {
    /// The openb node list as packing nodes: CPU, memory and GPU count per node, and the model.
    public static func packingNodes(path: String) throws -> [PackingNode] {
        let rows = try table(path: path, header: ["sn", "cpu_milli", "memory_mib", "gpu", "model"])
        return try rows.enumerated().map { index, fields in
            guard let cpu = Int(fields[1]), let memory = Int(fields[2]), let gpus = Int(fields[3]), cpu > 0, memory > 0, gpus >= 0 else {
                throw bad(path, line: index + 2, "cpu_milli, memory_mib and gpu must be counts")
            }
            return PackingNode(model: fields[4], cpuMilli: cpu, memoryMiB: memory, gpus: gpus)
        }
    }

    /// The openb task list as demands; `gpu_spec` like `V100M16|V100M32` restricts the model.
    public static func pods(path: String) throws -> [PodDemand] {
        let header = ["name", "cpu_milli", "memory_mib", "num_gpu", "gpu_milli", "gpu_spec", "qos", "pod_phase", "creation_time", "deletion_time", "scheduled_time"]
        let rows = try table(path: path, header: header)
        return try rows.enumerated().map { index, fields in
            guard let cpu = Int(fields[1]), let memory = Int(fields[2]), let gpus = Int(fields[3]), let milli = Int(fields[4]),
                  cpu >= 0, memory >= 0, (0...64).contains(gpus), (0...1000).contains(milli)
            else { throw bad(path, line: index + 2, "cpu_milli, memory_mib, num_gpu and gpu_milli must be counts") }
            let spec = fields[5] == "nan" ? "" : fields[5]
            return PodDemand(cpuMilli: cpu, memoryMiB: memory, gpus: gpus, gpuMilli: milli, models: spec.split(separator: "|").map(String.init))
        }
    }
}
