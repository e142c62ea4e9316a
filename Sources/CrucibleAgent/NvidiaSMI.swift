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
}
