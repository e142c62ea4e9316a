/// Where a job's tasks may run (ARCHITECTURE §6): which GPUs, how much memory and proven speed per GPU, and which
/// regions. The engine never places across these rules, and the coordinator refuses an offer that would.
public struct JobPlacement: Codable, Sendable, Hashable {
    /// Catalog model ids the job accepts; empty accepts any catalog GPU.
    public var gpuModels: [String]
    /// Least memory per GPU, in MiB; 0 for any.
    public var minGpuMemoryMiB: Int
    /// Least proven dense INT8 throughput per GPU, in TOPS (the node's challenge result, not its claim); 0 for any.
    public var minTopsPerGpu: Int
    /// Regions the tasks may run in; empty allows all but `denyRegions`.
    public var allowRegions: [String]
    /// Regions the tasks must never run in (data residency, regulated markets).
    public var denyRegions: [String]
    /// Where the job's data comes from, as the requester declares it; a node's policy may refuse data from some
    /// regions.
    public var dataRegion: String?

    public init(
        gpuModels: [String] = [], minGpuMemoryMiB: Int = 0, minTopsPerGpu: Int = 0,
        allowRegions: [String] = [], denyRegions: [String] = [], dataRegion: String? = nil
    ) {
        self.gpuModels = gpuModels
        self.minGpuMemoryMiB = minGpuMemoryMiB
        self.minTopsPerGpu = minTopsPerGpu
        self.allowRegions = allowRegions
        self.denyRegions = denyRegions
        self.dataRegion = dataRegion
    }

    enum CodingKeys: String, CodingKey { case gpuModels, minGpuMemoryMiB, minTopsPerGpu, allowRegions, denyRegions, dataRegion }

    // Every field may be absent: a spec states only the rules it needs.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        gpuModels = try container.decodeIfPresent([String].self, forKey: .gpuModels) ?? []
        minGpuMemoryMiB = try container.decodeIfPresent(Int.self, forKey: .minGpuMemoryMiB) ?? 0
        minTopsPerGpu = try container.decodeIfPresent(Int.self, forKey: .minTopsPerGpu) ?? 0
        allowRegions = try container.decodeIfPresent([String].self, forKey: .allowRegions) ?? []
        denyRegions = try container.decodeIfPresent([String].self, forKey: .denyRegions) ?? []
        dataRegion = try container.decodeIfPresent(String.self, forKey: .dataRegion)
    }

    public static let listCountMax = 64
    public static let regionBytesMax = 64

    public var isUnrestricted: Bool { self == JobPlacement() }
    /// Whether any rule is about GPUs, which a CPU job cannot have.
    public var restrictsGPUs: Bool { !gpuModels.isEmpty || minGpuMemoryMiB > 0 || minTopsPerGpu > 0 }

    /// Whether a node in `region` may run the job.
    public func allows(region: String) -> Bool {
        !denyRegions.contains(region) && (allowRegions.isEmpty || allowRegions.contains(region))
    }

    /// Whether one GPU of `model`, with `memoryMiB` and a proven `tops`, meets the job's rules.
    public func accepts(model: String?, memoryMiB: Int, provenTops: Double) -> Bool {
        guard let model, GPUCatalog.gpuIds.contains(model) else { return false }
        return (gpuModels.isEmpty || gpuModels.contains(model)) && memoryMiB >= minGpuMemoryMiB && provenTops >= Double(minTopsPerGpu)
    }

    func validate(usesGPUs: Bool) throws {
        func fail(_ message: String) -> CrucibleError { CrucibleError(.invalidSpec, "placement: \(message)") }
        guard usesGPUs || !restrictsGPUs else { throw fail("GPU models, memory and speed only apply to jobs that ask for GPUs") }
        guard gpuModels.count <= Self.listCountMax, allowRegions.count <= Self.listCountMax, denyRegions.count <= Self.listCountMax else {
            throw fail("at most \(Self.listCountMax) models or regions per list")
        }
        for model in gpuModels where GPUCatalog.model(id: model)?.kind != .gpu {
            throw fail("`\(model)` is not a GPU model in the catalog (\(GPUCatalog.models.map(\.id).joined(separator: ", ")))")
        }
        guard (0...(1 << 20)).contains(minGpuMemoryMiB) else { throw fail("minGpuMemoryMiB must be between 0 and \(1 << 20)") }
        guard (0...100_000).contains(minTopsPerGpu) else { throw fail("minTopsPerGpu must be between 0 and 100000") }
        for region in allowRegions + denyRegions + [dataRegion].compactMap({ $0 }) {
            guard !region.isEmpty, region.utf8.count <= Self.regionBytesMax else { throw fail("regions are 1 to \(Self.regionBytesMax) bytes") }
        }
        if let both = allowRegions.first(where: denyRegions.contains) { throw fail("region `\(both)` is both allowed and denied") }
    }
}
