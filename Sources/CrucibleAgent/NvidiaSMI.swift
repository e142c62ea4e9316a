import CrucibleCore
import Foundation

/// Parses what `nvidia-smi --query-gpu=index,uuid,name,memory.total,driver_version --format=csv` prints,
/// with or without `noheader` and `nounits`.
public enum NvidiaSMI {
    public static let queryArguments = ["--query-gpu=index,uuid,name,memory.total,driver_version", "--format=csv,noheader,nounits"]

    public static func parse(_ output: String) throws -> [HardwareProfile.GPU] {
        var gpus = [HardwareProfile.GPU]()
        for rawLine in output.split(whereSeparator: \.isNewline) {
            let line = rawLine.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.lowercased().hasPrefix("index") { continue }
            let fields = line.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            guard fields.count == 5 else {
                throw CrucibleError(.malformed, "nvidia-smi line has \(fields.count) fields, expected 5: \(line)")
            }
            guard let index = Int(fields[0]) else { throw CrucibleError(.malformed, "nvidia-smi index `\(fields[0])` is not a number") }
            let memoryText = fields[3].replacingOccurrences(of: "MiB", with: "").trimmingCharacters(in: .whitespaces)
            guard let memoryMiB = Int(memoryText), memoryMiB > 0 else {
                throw CrucibleError(.malformed, "nvidia-smi memory `\(fields[3])` is not a size in MiB")
            }
            guard fields[1].hasPrefix("GPU-") else { throw CrucibleError(.malformed, "nvidia-smi UUID `\(fields[1])` is not a GPU UUID") }
            let name = fields[2]
            gpus.append(HardwareProfile.GPU(
                index: index, uuid: fields[1], name: name, memoryMiB: memoryMiB, driverVersion: fields[4],
                model: GPUCatalog.model(forName: name)?.id
            ))
        }
        return gpus
    }

    /// What `nvidia-smi` reports of each GPU's use now, for `/metrics`.
    public struct Sample: Sendable, Equatable {
        public var index: Int
        public var uuid: String
        /// 0…1; nil where the driver reports none (`[N/A]`, `[Not Supported]`).
        public var utilization: Double?
        public var temperatureCelsius: Double?
        public var powerWatts: Double?
        public var memoryUsedBytes: Double?

        public init(index: Int, uuid: String, utilization: Double?, temperatureCelsius: Double?, powerWatts: Double?, memoryUsedBytes: Double?) {
            self.index = index
            self.uuid = uuid
            self.utilization = utilization
            self.temperatureCelsius = temperatureCelsius
            self.powerWatts = powerWatts
            self.memoryUsedBytes = memoryUsedBytes
        }
    }

    public static let sampleArguments = ["--query-gpu=index,uuid,utilization.gpu,temperature.gpu,power.draw,memory.used", "--format=csv,noheader,nounits"]

    /// Parses the output of `sampleArguments`; a line that is not six fields with an index is refused.
    public static func parseSamples(_ output: String) throws -> [Sample] {
        try output.split(whereSeparator: \.isNewline).compactMap { rawLine in
            let line = rawLine.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.lowercased().hasPrefix("index") { return nil }
            let fields = line.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            guard fields.count == 6, let index = Int(fields[0]) else {
                throw CrucibleError(.malformed, "nvidia-smi sample line is not index,uuid and four readings: \(line)")
            }
            // Readings the driver does not have come as "[N/A]" or "[Not Supported]".
            func reading(_ text: String) -> Double? { Double(text) }
            return Sample(
                index: index, uuid: fields[1], utilization: reading(fields[2]).map { $0 / 100 }, temperatureCelsius: reading(fields[3]),
                powerWatts: reading(fields[4]), memoryUsedBytes: reading(fields[5]).map { $0 * 1_048_576 }
            )
        }
    }
}
