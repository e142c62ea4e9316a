/// What a node agent found on its machine. GPUs come from `nvidia-smi`; a machine without one reports its
/// CPU honestly and is matched only to CPU work. Claims here are not trusted for payment until proven (issue: proof of GPU).
public struct HardwareProfile: Codable, Sendable, Equatable {
    public struct GPU: Codable, Sendable, Equatable {
        public var index: Int
        public var uuid: String
        public var name: String
        public var memoryMiB: Int
        public var driverVersion: String
        /// The catalog model this name maps to, when known.
        public var model: String?

        public init(index: Int, uuid: String, name: String, memoryMiB: Int, driverVersion: String, model: String?) {
            self.index = index
            self.uuid = uuid
            self.name = name
            self.memoryMiB = memoryMiB
            self.driverVersion = driverVersion
            self.model = model
        }
    }

    public var gpus: [GPU]
    public var cpuModel: String
    public var cpuCores: Int
    public var memoryMiB: Int
    public var os: String

    public init(gpus: [GPU], cpuModel: String, cpuCores: Int, memoryMiB: Int, os: String) {
        self.gpus = gpus
        self.cpuModel = cpuModel
        self.cpuCores = cpuCores
        self.memoryMiB = memoryMiB
        self.os = os
    }

    public static let gpuCountMax = 64

    public func validate() throws {
        func fail(_ message: String) -> CrucibleError { CrucibleError(.malformed, "hardware: \(message)") }
        guard gpus.count <= Self.gpuCountMax else { throw fail("at most \(Self.gpuCountMax) GPUs per node") }
        guard (1...4096).contains(cpuCores) else { throw fail("cpuCores must be between 1 and 4096") }
        guard memoryMiB > 0 else { throw fail("memoryMiB must be positive") }
        guard cpuModel.utf8.count <= 256, os.utf8.count <= 256 else { throw fail("names are at most 256 bytes") }
        for gpu in gpus {
            guard gpu.memoryMiB > 0, gpu.name.utf8.count <= 256, gpu.uuid.utf8.count <= 128 else {
                throw fail("GPU \(gpu.index) has an invalid name, UUID or memory size")
            }
        }
        guard Set(gpus.map(\.uuid)).count == gpus.count else { throw fail("GPU UUIDs must be distinct") }
    }

    /// The stake class of each device the node lists: one per GPU of a catalog model, or one CPU device for a node
    /// without GPUs. GPUs of unknown models are never matched, so they need no stake.
    public var stakeClasses: [StakeClass] {
        guard !gpus.isEmpty else { return [.cpu] }
        return gpus.compactMap { gpu in gpu.model.flatMap(GPUCatalog.model(id:))?.stakeClass }
    }

    /// A one-line summary such as "2× H100 80GB" or "CPU: 16 cores".
    public var summary: String {
        guard let first = gpus.first else { return "CPU: \(cpuCores) cores" }
        let label = first.model ?? first.name
        return gpus.allSatisfy({ ($0.model ?? $0.name) == label }) ? "\(gpus.count)× \(label)" : "\(gpus.count) GPUs"
    }
}
