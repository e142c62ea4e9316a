/// Known device models: what each can do (dense INT8 tensor throughput, BF16, memory and its bandwidth), from the
/// vendors' datasheets. The proof of GPU sizes each challenge and derives its deadline from these figures, so a
/// device is held to what its model claims.
public struct GPUModel: Sendable, Equatable, Codable {
    public enum Kind: String, Sendable, Codable {
        case gpu
        /// A CPU device: its figures are per core and scale with the cores the node claims.
        case cpu
    }

    public var id: String
    public var kind: Kind
    public var displayName: String
    public var memoryGiB: Int
    /// Dense (no sparsity) INT8 tensor TOPS from the vendor's datasheet; per core for the CPU entry.
    public var denseInt8Tops: Double
    /// Dense BF16 tensor TFLOPS with FP32 accumulation; nil where the model has no BF16 tensor cores.
    public var bf16Tflops: Double?
    /// Memory bandwidth in GB/s.
    public var memoryBandwidthGBs: Int
    /// Lowercased fragments that identify the model in `nvidia-smi` names; all must appear.
    public var nameFragments: [String]

    /// The INT8 throughput a device of this model claims, in TOPS: the datasheet figure, times the cores for a CPU.
    public func claimedInt8Tops(cpuCores: Int) -> Double {
        kind == .cpu ? denseInt8Tops * Double(cpuCores) : denseInt8Tops
    }
}

public enum GPUCatalog {
    private static func gpu(
        _ id: String, _ name: String, memoryGiB: Int, int8: Double, bf16: Double?, bandwidth: Int, fragments: [String]
    ) -> GPUModel {
        GPUModel(
            id: id, kind: .gpu, displayName: name, memoryGiB: memoryGiB, denseInt8Tops: int8, bf16Tflops: bf16,
            memoryBandwidthGBs: bandwidth, nameFragments: fragments
        )
    }

    /// GPUs, most specific names first. V100 and T4 have no INT8 tensor cores' worth of the newer kind: their INT8
    /// figure is the datasheet's (DP4A on V100), and neither has BF16.
    public static let models: [GPUModel] = [
        gpu("H200", "H200 141GB", memoryGiB: 141, int8: 1979, bf16: 989, bandwidth: 4800, fragments: ["h200"]),
        gpu("H100-SXM", "H100 SXM 80GB", memoryGiB: 80, int8: 1979, bf16: 989, bandwidth: 3350, fragments: ["h100", "hbm3"]),
        gpu("H100-PCIe", "H100 PCIe 80GB", memoryGiB: 80, int8: 1513, bf16: 756, bandwidth: 2000, fragments: ["h100", "pcie"]),
        gpu("H100-NVL", "H100 NVL 94GB", memoryGiB: 94, int8: 1670, bf16: 835, bandwidth: 3900, fragments: ["h100", "nvl"]),
        gpu("A100-80GB", "A100 80GB", memoryGiB: 80, int8: 624, bf16: 312, bandwidth: 2039, fragments: ["a100", "80gb"]),
        gpu("A100-40GB", "A100 40GB", memoryGiB: 40, int8: 624, bf16: 312, bandwidth: 1555, fragments: ["a100"]),
        gpu("L40S", "L40S 48GB", memoryGiB: 48, int8: 733, bf16: 362, bandwidth: 864, fragments: ["l40s"]),
        gpu("A10", "A10 24GB", memoryGiB: 24, int8: 250, bf16: 125, bandwidth: 600, fragments: ["a10"]),
        gpu("L4", "L4 24GB", memoryGiB: 24, int8: 242, bf16: 121, bandwidth: 300, fragments: ["l4"]),
        gpu("RTX-5090", "RTX 5090 32GB", memoryGiB: 32, int8: 838, bf16: 209.5, bandwidth: 1792, fragments: ["5090"]),
        gpu("RTX-4090", "RTX 4090 24GB", memoryGiB: 24, int8: 660.6, bf16: 165.2, bandwidth: 1008, fragments: ["4090"]),
        gpu("RTX-3090", "RTX 3090 24GB", memoryGiB: 24, int8: 284, bf16: 71, bandwidth: 936, fragments: ["3090"]),
        gpu("V100", "V100", memoryGiB: 32, int8: 62, bf16: nil, bandwidth: 900, fragments: ["v100"]),
        gpu("T4", "T4 16GB", memoryGiB: 16, int8: 130, bf16: nil, bandwidth: 320, fragments: ["t4"]),
    ]

    /// The entry for CPU devices. One GOPS of int8 multiply-add per core is a floor any server core of the last
    /// decade clears several times over, so an honest CPU node proves it under load; what the challenge then shows
    /// is that the cores exist and answer, at the throughput it measures.
    public static let cpu = GPUModel(
        id: "cpu", kind: .cpu, displayName: "CPU", memoryGiB: 0, denseInt8Tops: 0.001, bf16Tflops: nil,
        memoryBandwidthGBs: 0, nameFragments: []
    )

    /// The model with this catalog id, the CPU entry included.
    /// The ids of the catalog's GPU models, for checks on the engine's hot path.
    public static let gpuIds = Set(models.map(\.id))

    public static func model(id: String) -> GPUModel? {
        id == cpu.id ? cpu : models.first { $0.id == id }
    }

    /// The catalog model for an `nvidia-smi` name, trying the most specific entries first.
    public static func model(forName name: String) -> GPUModel? {
        let lowered = name.lowercased()
        let words = Set(lowered.split(whereSeparator: { !$0.isLetter && !$0.isNumber }).map(String.init))
        return models.first { model in
            model.nameFragments.allSatisfy { fragment in
                // Short fragments such as "t4" or "a10" must be whole words, or "a100" would read as an A10.
                fragment.count <= 3 ? words.contains(fragment) : lowered.contains(fragment)
            }
        }
    }
}

/// The class a device stakes by: an operator bonds more behind a device that can earn more, so the class follows
/// the catalog's dense INT8 throughput. The amount per class is a governed parameter.
public enum StakeClass: String, Sendable, Codable, CaseIterable, Comparable {
    /// 1,000 INT8 TOPS and more: H100, H200.
    case flagship
    /// 500 to 1,000: A100, L40S, RTX 4090/5090.
    case high
    /// 200 to 500: A10, L4, RTX 3090.
    case mid
    /// Below 200: V100, T4.
    case entry
    /// A CPU node, whatever its cores.
    case cpu

    public static func < (lhs: StakeClass, rhs: StakeClass) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }
}

extension GPUModel {
    public var stakeClass: StakeClass {
        if kind == .cpu { return .cpu }
        switch denseInt8Tops {
        case 1000...: return .flagship
        case 500..<1000: return .high
        case 200..<500: return .mid
        default: return .entry
        }
    }
}
