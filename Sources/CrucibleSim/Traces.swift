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
        var parsed = [(Int64, Int64, Int)]()
        for (index, fields) in rows.enumerated() {
            guard let date = utcSeconds(fields[0]), let duration = Double(fields[1]), duration >= 0, let gpus = Int(fields[2]), gpus > 0 else {
                throw bad(path, line: index + 2, "expected a timestamp, a duration in seconds and a GPU count")
            }
            parsed.append((date, Int64(duration.rounded()), gpus))
        }
        guard let first = parsed.map(\.0).min() else { return [] }
        return parsed.map { TraceJob(arrivalS: $0.0 - first, durationS: $0.1, gpus: $0.2) }.sorted { $0.arrivalS < $1.arrivalS }
    }

    /// "2017-10-09 07:01:55" (UTC) → seconds since 1970, or nil for anything else. DateFormatter took a third of a
    /// `sim market` run on Philly's 82,000 rows.
    public static func utcSeconds(_ text: String) -> Int64? {
        let bytes = Array(text.utf8)
        guard bytes.count == 19, bytes[4] == 0x2D, bytes[7] == 0x2D, bytes[10] == 0x20, bytes[13] == 0x3A, bytes[16] == 0x3A else { return nil }
        func number(_ range: Range<Int>) -> Int? {
            var value = 0
            for index in range {
                guard (0x30...0x39).contains(bytes[index]) else { return nil }
                value = value * 10 + Int(bytes[index] - 0x30)
            }
            return value
        }
        guard let year = number(0..<4), let month = number(5..<7), let day = number(8..<10), let hour = number(11..<13),
              let minute = number(14..<16), let second = number(17..<19),
              (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 60 else { return nil }
        // Days from the civil date (Howard Hinnant's algorithm).
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        let days = era * 146_097 + dayOfEra - 719_468
        return Int64(days) * 86_400 + Int64(hour * 3600 + minute * 60 + second)
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
