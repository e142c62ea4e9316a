/// Known GPU models: what each can do (dense INT8 tensor throughput, memory) and a dated on-demand list
/// price from a centralized cloud for comparison. The proof of GPU derives challenge deadlines from these figures.
public struct GPUModel: Sendable, Equatable, Codable {
    public var id: String
    public var displayName: String
    public var memoryGiB: Int
    /// Dense (no sparsity) INT8 tensor TOPS from the vendor's datasheet.
    public var denseInt8Tops: Int
    /// Lowercased fragments that identify the model in `nvidia-smi` names; all must appear.
    public var nameFragments: [String]
}

public enum GPUCatalog {
    public static let models: [GPUModel] = [
        GPUModel(id: "H200", displayName: "H200 141GB", memoryGiB: 141, denseInt8Tops: 1979, nameFragments: ["h200"]),
        GPUModel(id: "H100-SXM", displayName: "H100 SXM 80GB", memoryGiB: 80, denseInt8Tops: 1979, nameFragments: ["h100", "hbm3"]),
        GPUModel(id: "H100-PCIe", displayName: "H100 PCIe 80GB", memoryGiB: 80, denseInt8Tops: 1513, nameFragments: ["h100", "pcie"]),
        GPUModel(id: "H100-NVL", displayName: "H100 NVL 94GB", memoryGiB: 94, denseInt8Tops: 1670, nameFragments: ["h100", "nvl"]),
        GPUModel(id: "A100-80GB", displayName: "A100 80GB", memoryGiB: 80, denseInt8Tops: 624, nameFragments: ["a100", "80gb"]),
        GPUModel(id: "A100-40GB", displayName: "A100 40GB", memoryGiB: 40, denseInt8Tops: 624, nameFragments: ["a100"]),
        GPUModel(id: "L40S", displayName: "L40S 48GB", memoryGiB: 48, denseInt8Tops: 733, nameFragments: ["l40s"]),
        GPUModel(id: "A10", displayName: "A10 24GB", memoryGiB: 24, denseInt8Tops: 250, nameFragments: ["a10"]),
        GPUModel(id: "L4", displayName: "L4 24GB", memoryGiB: 24, denseInt8Tops: 242, nameFragments: ["l4"]),
        GPUModel(id: "RTX-4090", displayName: "RTX 4090 24GB", memoryGiB: 24, denseInt8Tops: 661, nameFragments: ["4090"]),
        GPUModel(id: "RTX-3090", displayName: "RTX 3090 24GB", memoryGiB: 24, denseInt8Tops: 284, nameFragments: ["3090"]),
        GPUModel(id: "V100", displayName: "V100", memoryGiB: 32, denseInt8Tops: 62, nameFragments: ["v100"]),
        GPUModel(id: "T4", displayName: "T4 16GB", memoryGiB: 16, denseInt8Tops: 130, nameFragments: ["t4"]),
    ]

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
