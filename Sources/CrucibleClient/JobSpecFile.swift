import CrucibleCore
import Foundation

/// The job spec as people write it (YAML), with prices in CRU, durations with units and input files as local
/// paths. `load` validates it; `resolve` uploads the inputs and yields the `JobSpec` that is signed and sent.
///
/// ```yaml
/// name: checksums
/// command: sh
/// args: ["-c", "sha256sum words.txt > $CRUCIBLE_OUTPUT_DIR/sum-{index}.txt"]
/// inputs: [words.txt]
/// tasks: 4
/// resources: {gpus: 0, cpuCores: 1, memoryMiB: 256}
/// maxPricePerHour: 0.05
/// maxDuration: 2m
/// verification: {policy: replicate, sampleRate: 0.5}
/// placement: {gpuModels: [A100-80GB, H100-SXM], minGpuMemoryGiB: 40, minTopsPerGpu: 500,
///             allowRegions: [eu-west], denyRegions: [], dataRegion: eu}
/// cluster: {nodes: 2, roundTripMs: 5}   # each task runs on 2 nodes at once, within 5 ms of each other
/// ```
///
/// A render job names its scene as the command and one task per frame follows from `frames`:
///
/// ```yaml
/// name: turntable
/// kind: render
/// command: scene.blend
/// inputs: [scene.blend]
/// render: {frames: 1-240, resolution: 1920x1080, samples: 128, seed: 0, bitDepth: 8, review: 24h}
/// ```
public struct JobSpecFile: Sendable {
    public struct Input: Sendable, Equatable {
        public var localPath: String
        public var name: String

        public init(localPath: String, name: String) {
            self.localPath = localPath
            self.name = name
        }
    }

    public var spec: JobSpec
    public var inputs: [Input]

    struct Document: Decodable {
        var name: String
        var kind: String?
        var command: String
        var args: [String]?
        var inputs: [InputEntry]?
        var tasks: Int?
        var resources: Resources?
        var maxPricePerHour: String
        var maxDuration: String
        var verification: Verification?
        var placement: Placement?
        var cluster: Cluster?
        var render: Render?

        struct Render: Decodable {
            var frames: String
            var resolution: String
            var samples: Int
            var seed: Int?
            var bitDepth: Int?
            var review: String?

            enum CodingKeys: String, CodingKey { case frames, resolution, samples, seed, bitDepth, review }

            // `frames: 7` reads as a number, `frames: 1-8` as text: both are taken.
            init(from decoder: any Decoder) throws {
                let container = try decoder.container(keyedBy: CodingKeys.self)
                frames = try (try? container.decode(String.self, forKey: .frames)) ?? String(container.decode(Int.self, forKey: .frames))
                resolution = try container.decode(String.self, forKey: .resolution)
                samples = try container.decode(Int.self, forKey: .samples)
                seed = try container.decodeIfPresent(Int.self, forKey: .seed)
                bitDepth = try container.decodeIfPresent(Int.self, forKey: .bitDepth)
                review = try container.decodeIfPresent(String.self, forKey: .review)
            }
        }

        struct Cluster: Decodable {
            var nodes: Int
            var roundTripMs: Int
        }

        struct Placement: Decodable {
            var gpuModels: [String]?
            var minGpuMemoryGiB: Int?
            var minTopsPerGpu: Int?
            var allowRegions: [String]?
            var denyRegions: [String]?
            var dataRegion: String?
        }

        struct Resources: Decodable {
            var gpus: Double?
            var cpuCores: Int?
            var memoryMiB: Int?
        }

        struct Verification: Decodable {
            var policy: String
            var sampleRate: Double?
        }

        enum InputEntry: Decodable {
            case path(String)
            case mapped(path: String, as: String)

            enum CodingKeys: String, CodingKey { case path, `as` }

            init(from decoder: any Decoder) throws {
                if let single = try? decoder.singleValueContainer().decode(String.self) {
                    self = .path(single)
                    return
                }
                let container = try decoder.container(keyedBy: CodingKeys.self)
                self = .mapped(path: try container.decode(String.self, forKey: .path), as: try container.decode(String.self, forKey: .as))
            }
        }
    }

    static let allowedKeys: Set<String> = ["name", "kind", "command", "args", "inputs", "tasks", "resources", "maxPricePerHour", "maxDuration", "verification", "placement", "cluster", "render"]
    static let nestedKeys: [String: Set<String>] = [
        "resources": ["gpus", "cpuCores", "memoryMiB"],
        "verification": ["policy", "sampleRate"],
        "cluster": ["nodes", "roundTripMs"],
        "render": ["frames", "resolution", "samples", "seed", "bitDepth", "review"],
        "placement": ["gpuModels", "minGpuMemoryGiB", "minTopsPerGpu", "allowRegions", "denyRegions", "dataRegion"],
    ]

    /// Parses and validates the YAML text; relative input paths are resolved against `baseDirectory`.
    public static func parse(_ text: String, baseDirectory: String) throws -> JobSpecFile {
        let document = try YAMLDocument.decode(Document.self, from: text, allowedKeys: allowedKeys, nestedKeys: nestedKeys, what: "job spec")
        func fail(_ message: String) -> CrucibleError { CrucibleError(.invalidSpec, message) }

        let kind = try document.kind.map { raw -> JobSpec.Kind in
            guard let kind = JobSpec.Kind(rawValue: raw) else {
                throw fail("kind `\(raw)` is not one of \(JobSpec.Kind.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            return kind
        } ?? .batch
        guard let price = Amount.parseCRU(document.maxPricePerHour) else {
            throw fail("maxPricePerHour `\(document.maxPricePerHour)` is not a CRU amount such as 0.05")
        }
        let durationS = try parseDuration(document.maxDuration)
        let gpus = document.resources?.gpus ?? 0
        guard gpus >= 0, gpus.isFinite, (gpus * 1000).rounded() == gpus * 1000 else {
            throw fail("resources.gpus must be a non-negative number with at most three decimals")
        }
        let resources = JobSpec.Resources(
            gpuMilli: Int((gpus * 1000).rounded()),
            cpuCores: document.resources?.cpuCores ?? 1,
            memoryMiB: document.resources?.memoryMiB ?? 512
        )
        var verification = JobSpec.Verification()
        if let entry = document.verification {
            guard let policy = JobSpec.Verification.Policy(rawValue: entry.policy) else {
                throw fail("verification.policy `\(entry.policy)` is not one of \(JobSpec.Verification.Policy.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            let rate = entry.sampleRate ?? (policy == .replicate ? 1 : 0)
            guard rate.isFinite, (0...1).contains(rate) else { throw fail("verification.sampleRate must be between 0 and 1") }
            verification = .init(policy: policy, samplePpm: Int((rate * 1_000_000).rounded()))
        }
        let inputs = (document.inputs ?? []).map { entry -> Input in
            switch entry {
            case .path(let path):
                Input(localPath: resolve(path, against: baseDirectory), name: URL(fileURLWithPath: path).lastPathComponent)
            case .mapped(let path, let name):
                Input(localPath: resolve(path, against: baseDirectory), name: name)
            }
        }
        var placement = JobPlacement()
        if let entry = document.placement {
            let gib = entry.minGpuMemoryGiB ?? 0
            guard (0...1024).contains(gib) else { throw fail("placement.minGpuMemoryGiB must be between 0 and 1024") }
            placement = JobPlacement(
                gpuModels: entry.gpuModels ?? [], minGpuMemoryMiB: gib * 1024, minTopsPerGpu: entry.minTopsPerGpu ?? 0,
                allowRegions: entry.allowRegions ?? [], denyRegions: entry.denyRegions ?? [], dataRegion: entry.dataRegion
            )
        }
        var taskCount = document.tasks ?? 1
        var render: JobSpec.Render?
        if let entry = document.render {
            let frames = try parseFrames(entry.frames)
            if let tasks = document.tasks, tasks != frames.count {
                throw fail("a render job has one task per frame: tasks \(tasks) differs from the \(frames.count) frames of \(entry.frames)")
            }
            let size = try parseResolution(entry.resolution)
            taskCount = frames.count
            render = JobSpec.Render(
                frameStart: frames.lowerBound, width: size.width, height: size.height, samples: entry.samples, seed: entry.seed ?? 0,
                bitDepth: entry.bitDepth ?? 8, reviewS: try entry.review.map { try parseDuration($0) }
            )
        }
        var spec = JobSpec(
            name: document.name, kind: kind, command: document.command, args: document.args ?? [],
            inputs: [], taskCount: taskCount, resources: resources,
            maxPriceMicroPerUnitHour: price, maxDurationS: durationS, verification: verification, placement: placement,
            cluster: document.cluster.map { JobSpec.Cluster(nodes: $0.nodes, roundTripMsMax: $0.roundTripMs) },
            render: render
        )
        // Validate with placeholder digests so a bad spec is refused before anything is read or uploaded.
        spec.inputs = inputs.map { .init(name: $0.name, sha256: String(repeating: "0", count: 64), sizeBytes: 0) }
        try spec.validate()
        spec.inputs = []
        return JobSpecFile(spec: spec, inputs: inputs)
    }

    public static func load(path: String) throws -> JobSpecFile {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw CrucibleError(.invalidSpec, "cannot read job spec \(path)")
        }
        return try parse(text, baseDirectory: URL(fileURLWithPath: path).deletingLastPathComponent().path)
    }

    /// Reads each input, uploads it signed by `requester`, and returns the spec with content addresses filled in.
    public func resolve(uploadingWith client: CoordinatorClient, by requester: SigningIdentity) async throws -> JobSpec {
        var resolved = spec
        for input in inputs {
            guard let data = FileManager.default.contents(atPath: input.localPath) else {
                throw CrucibleError(.invalidSpec, "cannot read input file \(input.localPath)")
            }
            let sha256 = try await client.putBlob(data, by: requester)
            resolved.inputs.append(.init(name: input.name, sha256: sha256, sizeBytes: Int64(data.count)))
        }
        try resolved.validate()
        return resolved
    }

    /// "90", "90s", "15m", "2h" → seconds.
    public static func parseDuration(_ text: String) throws -> Int {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let units: [(String, Int)] = [("h", 3600), ("m", 60), ("s", 1)]
        for (suffix, factor) in units where trimmed.hasSuffix(suffix) {
            if let value = Int(trimmed.dropLast()), value > 0 { return value * factor }
        }
        if let value = Int(trimmed), value > 0 { return value }
        throw CrucibleError(.invalidSpec, "maxDuration `\(text)` is not a duration such as 90, 90s, 15m or 2h")
    }

    /// "1-240" or "7" → the frame numbers, first to last.
    static func parseFrames(_ text: String) throws -> ClosedRange<Int> {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false).map { Int($0.trimmingCharacters(in: .whitespaces)) }
        if parts.count == 1, let frame = parts[0], frame >= 0 { return frame...frame }
        if parts.count == 2, let first = parts[0], let last = parts[1], first >= 0, first <= last { return first...last }
        throw CrucibleError(.invalidSpec, "render.frames `\(text)` is not a frame such as 7 or a range such as 1-240")
    }

    /// "1920x1080" → width and height.
    public static func parseResolution(_ text: String) throws -> (width: Int, height: Int) {
        let parts = text.lowercased().split(separator: "x").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard parts.count == 2, let width = parts[0], let height = parts[1] else {
            throw CrucibleError(.invalidSpec, "render.resolution `\(text)` is not a size such as 1920x1080")
        }
        return (width, height)
    }

    static func resolve(_ path: String, against base: String) -> String {
        path.hasPrefix("/") ? path : URL(fileURLWithPath: base).appendingPathComponent(path).path
    }
}
