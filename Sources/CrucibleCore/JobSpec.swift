import Foundation

/// What a requester asks the network to run. Sent as JSON inside a signed `submit_job` envelope;
/// people write it as YAML (see `JobSpecFile` in CrucibleClient).
public struct JobSpec: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable, CaseIterable {
        /// Any command, one process per task.
        case batch
        /// A PyTorch script launched with torchrun on every member (one node, or a cluster's gang): `command` is the
        /// script, the members report a digest of the weights at each checkpoint, and a gang's members must agree.
        case train
        /// Blender frames: `command` is the `.blend` scene (one of the inputs), each task renders one frame with Cycles
        /// at the job's `render` settings, and a sampled frame is checked by re-rendering random tiles of it.
        case render
        /// A Ray cluster (io.net's clusters): rank 0's agent starts a Ray head, the other members' agents join it as
        /// worker nodes, and `command` — the driver, a Python script — runs against the cluster on rank 0.
        case ray
    }

    /// What a render job renders: task i is frame `frameStart + i`, written as a PNG.
    public struct Render: Codable, Sendable, Equatable {
        public var frameStart: Int
        public var width: Int
        public var height: Int
        /// Cycles samples per pixel.
        public var samples: Int
        /// Cycles' seed: with the same seed, scene and settings a tile re-renders to the same pixels.
        public var seed: Int
        /// Bits per PNG sample, 8 or 16.
        public var bitDepth: Int
        /// Requester review (Render's artist review): each frame waits for the requester's approval, auto-approved this
        /// many seconds after it was delivered; until then its runs are unpaid and the requester sees a watermarked
        /// preview only. Nil: no review.
        public var reviewS: Int?

        public init(frameStart: Int, width: Int, height: Int, samples: Int, seed: Int = 0, bitDepth: Int = 8, reviewS: Int? = nil) {
            self.reviewS = reviewS
            self.frameStart = frameStart
            self.width = width
            self.height = height
            self.samples = samples
            self.seed = seed
            self.bitDepth = bitDepth
        }

        /// Blender's highest frame number.
        public static let frameMax = 1_048_574
        public static let sideMax = 16_384
        public static let samplesMax = 65_536
        public static let reviewSRange = 1...(30 * 24 * 3600)

        /// Where task `taskIndex`'s frame is among its outputs (`frame-0042.png`), and where a validator's re-render
        /// of tile `tile` of it is (`crop-0042-t03.png`).
        public func framePath(taskIndex: Int) -> String { "frame-\(Self.padded(frameStart + taskIndex, 4)).png" }
        public func cropPath(taskIndex: Int, tile: Int) -> String { "crop-\(Self.padded(frameStart + taskIndex, 4))-t\(Self.padded(tile, 2)).png" }

        static func padded(_ number: Int, _ width: Int) -> String {
            let digits = String(number)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
    }

    public struct InputFile: Codable, Sendable, Equatable {
        /// Where the file appears in the task's work folder (a plain relative path).
        public var name: String
        public var sha256: String
        public var sizeBytes: Int64

        public init(name: String, sha256: String, sizeBytes: Int64) {
            self.name = name
            self.sha256 = sha256
            self.sizeBytes = sizeBytes
        }
    }

    public struct Resources: Codable, Sendable, Equatable {
        /// Whole or fractional GPUs per task, in thousandths (500 = half a GPU); 0 runs on CPU.
        public var gpuMilli: Int
        public var cpuCores: Int
        public var memoryMiB: Int

        public init(gpuMilli: Int = 0, cpuCores: Int = 1, memoryMiB: Int = 512) {
            self.gpuMilli = gpuMilli
            self.cpuCores = cpuCores
            self.memoryMiB = memoryMiB
        }
    }

    public struct Verification: Codable, Sendable, Equatable {
        public enum Policy: String, Codable, Sendable, CaseIterable {
            case none
            case replicate
            /// The share re-run follows each node's record of verified results (`AdaptiveReplication`).
            case adaptive
        }

        public var policy: Policy
        /// Share of tasks re-run on a node of another operator, in parts per million (1_000_000 = every task).
        public var samplePpm: Int

        public init(policy: Policy = .none, samplePpm: Int = 0) {
            self.policy = policy
            self.samplePpm = samplePpm
        }
    }

    /// A job whose every task runs as one gang of nodes (data-parallel training, a Ray cluster): all members start
    /// together or not at all, each pair within a measured round trip of each other, and each member learns its rank
    /// and its peers' addresses.
    public struct Cluster: Codable, Sendable, Equatable {
        /// Members per task, one per node, each holding the job's `resources`.
        public var nodes: Int
        /// The longest round trip allowed between any two members, measured by the agents themselves.
        public var roundTripMsMax: Int

        public init(nodes: Int, roundTripMsMax: Int) {
            self.nodes = nodes
            self.roundTripMsMax = roundTripMsMax
        }

        public static let nodesMax = 64
        public static let roundTripMsMaxLimit = 1_000
    }

    public var name: String
    public var kind: Kind
    public var command: String
    public var args: [String]
    public var inputs: [InputFile]
    public var taskCount: Int
    public var resources: Resources
    /// Most the requester pays per GPU-hour (per CPU-core-hour when `gpuMilli` is 0), in µCRU.
    public var maxPriceMicroPerUnitHour: Int64
    public var maxDurationS: Int
    public var verification: Verification
    public var placement: JobPlacement
    /// Nil: each task runs on one node.
    public var cluster: Cluster?
    /// A render job's frames and settings; nil for other kinds.
    public var render: Render?

    public init(
        name: String, kind: Kind = .batch, command: String, args: [String] = [], inputs: [InputFile] = [],
        taskCount: Int = 1, resources: Resources = .init(), maxPriceMicroPerUnitHour: Int64,
        maxDurationS: Int, verification: Verification = .init(), placement: JobPlacement = .init(), cluster: Cluster? = nil,
        render: Render? = nil
    ) {
        self.render = render
        self.name = name
        self.kind = kind
        self.command = command
        self.args = args
        self.inputs = inputs
        self.taskCount = taskCount
        self.resources = resources
        self.maxPriceMicroPerUnitHour = maxPriceMicroPerUnitHour
        self.maxDurationS = maxDurationS
        self.verification = verification
        self.placement = placement
        self.cluster = cluster
    }

    enum CodingKeys: String, CodingKey {
        case name, kind, command, args, inputs, taskCount, resources, maxPriceMicroPerUnitHour, maxDurationS, verification, placement, cluster, render
    }

    // Specs signed before placement rules existed have no `placement`: they may run anywhere.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decode(String.self, forKey: .name)
        kind = try container.decode(Kind.self, forKey: .kind)
        command = try container.decode(String.self, forKey: .command)
        args = try container.decode([String].self, forKey: .args)
        inputs = try container.decode([InputFile].self, forKey: .inputs)
        taskCount = try container.decode(Int.self, forKey: .taskCount)
        resources = try container.decode(Resources.self, forKey: .resources)
        maxPriceMicroPerUnitHour = try container.decode(Int64.self, forKey: .maxPriceMicroPerUnitHour)
        maxDurationS = try container.decode(Int.self, forKey: .maxDurationS)
        verification = try container.decode(Verification.self, forKey: .verification)
        placement = try container.decodeIfPresent(JobPlacement.self, forKey: .placement) ?? JobPlacement()
        cluster = try container.decodeIfPresent(Cluster.self, forKey: .cluster)
        render = try container.decodeIfPresent(Render.self, forKey: .render)
    }

    // Limits on everything a requester can ask for, so one spec cannot exhaust the coordinator.
    public static let taskCountMax = 10_000
    public static let durationSMax = 7 * 24 * 3600
    public static let argCountMax = 256
    public static let argBytesMax = 4096
    public static let inputCountMax = 64
    public static let nameBytesMax = 128
    public static let gpuMilliMax = 8 * 1000
    public static let priceMicroPerUnitHourMax: Int64 = 1_000 * Amount.microPerCRU

    /// Billable units per task: GPUs when the task asks for any, CPU cores otherwise (in thousandths).
    /// GPUs per task and each one's share in thousandths: 500 is half of one GPU, 2000 is two whole GPUs.
    public var gpuShape: (gpus: Int, milliEach: Int) {
        resources.gpuMilli == 0 ? (0, 0) : resources.gpuMilli < 1000 ? (1, resources.gpuMilli) : (resources.gpuMilli / 1000, 1000)
    }

    public var unitMilli: Int64 {
        resources.gpuMilli > 0 ? Int64(resources.gpuMilli) : Int64(resources.cpuCores) * 1000
    }

    /// The input a validator of a train segment finds the reference's saved state in.
    public static let trainResumeInput = "crucible-resume.pt"

    /// Nodes each task runs on at once: the cluster's members, or one.
    public var membersPerTask: Int { cluster?.nodes ?? 1 }

    public var runsPerTaskMax: Int64 {
        let runs = Int64(membersPerTask) * (verification.policy == .none ? 1 : 2)
        // Under review a rejected frame is rendered (and checked) again, and a rejection found unfounded pays both.
        return render?.reviewS == nil ? runs : 2 * runs
    }

    /// The most this job can cost including the burned fee: the escrow locked at submission.
    public func maxCostMicro(feeBps: Int64) -> Int64 {
        let perRun = Pricing.runCostMicro(unitMilli: unitMilli, priceMicroPerUnitHour: maxPriceMicroPerUnitHour, durationMs: Int64(maxDurationS) * 1000)
        let runs = Int64(taskCount) * runsPerTaskMax
        return runs * (perRun + Pricing.feeMicro(on: perRun, feeBps: feeBps))
    }

    /// Refuses anything a node could not run or the ledger could not price, with the field named.
    public func validate() throws {
        func fail(_ message: String) -> CrucibleError { CrucibleError(.invalidSpec, message) }
        guard !name.isEmpty, name.utf8.count <= Self.nameBytesMax else { throw fail("name must be 1 to \(Self.nameBytesMax) bytes") }
        guard !command.isEmpty, command.utf8.count <= Self.argBytesMax else { throw fail("command must not be empty") }
        guard args.count <= Self.argCountMax else { throw fail("at most \(Self.argCountMax) args") }
        guard args.allSatisfy({ $0.utf8.count <= Self.argBytesMax }) else { throw fail("each arg is at most \(Self.argBytesMax) bytes") }
        guard (1...Self.taskCountMax).contains(taskCount) else { throw fail("tasks must be between 1 and \(Self.taskCountMax)") }
        guard (1...Self.durationSMax).contains(maxDurationS) else { throw fail("maxDurationS must be between 1 and \(Self.durationSMax)") }
        guard (0...Self.gpuMilliMax).contains(resources.gpuMilli) else { throw fail("gpus must be between 0 and \(Self.gpuMilliMax / 1000)") }
        // A share of one GPU, or whole GPUs: 1.5 GPUs is no device anyone can hand out.
        guard resources.gpuMilli <= 1000 || resources.gpuMilli % 1000 == 0 else { throw fail("more than one GPU must be a whole number of GPUs") }
        guard (1...1024).contains(resources.cpuCores) else { throw fail("cpuCores must be between 1 and 1024") }
        guard (1...(4 << 20)).contains(resources.memoryMiB) else { throw fail("memoryMiB must be between 1 and \(4 << 20)") }
        guard (1...Self.priceMicroPerUnitHourMax).contains(maxPriceMicroPerUnitHour) else {
            throw fail("maxPrice must be above 0 and at most \(Amount.format(Self.priceMicroPerUnitHourMax)) CRU per unit-hour")
        }
        switch verification.policy {
        case .none:
            guard verification.samplePpm == 0 else { throw fail("sampleRate only applies to the replicate policy") }
        case .replicate:
            guard (1...1_000_000).contains(verification.samplePpm) else { throw fail("replicate needs a sampleRate above 0 and at most 1") }
        case .adaptive:
            guard verification.samplePpm == 0 else { throw fail("adaptive sets the rate from each node's record; give no sampleRate") }
            guard kind != .train, cluster == nil else { throw fail("adaptive replication is for batch and render jobs on one node per task") }
        }
        try placement.validate(usesGPUs: resources.gpuMilli > 0)
        if kind == .train {
            guard Self.isPlainRelativePath(command), command.hasSuffix(".py") else {
                throw fail("a train job's command is its Python script, a plain relative path ending in .py (usually one of its inputs)")
            }
            guard !inputs.contains(where: { $0.name == Self.trainResumeInput }) else {
                throw fail("input name \(Self.trainResumeInput) is where a validator's saved state goes")
            }
            // torchrun starts one process per GPU: a share of one GPU is not a process.
            guard resources.gpuMilli % 1000 == 0 else { throw fail("a train job takes whole GPUs per member (or 0 for CPU)") }
        }
        guard (kind == .render) == (render != nil) else { throw fail(kind == .render ? "a render job needs render settings" : "only a render job has render settings") }
        if let render {
            guard Self.isPlainRelativePath(command), command.hasSuffix(".blend"), inputs.contains(where: { $0.name == command }) else {
                throw fail("a render job's command is its scene, the name of one of its inputs ending in .blend")
            }
            guard args.isEmpty else { throw fail("a render job takes no args: its settings are in render") }
            guard cluster == nil else { throw fail("a render job's frames render on one node each; it takes no cluster") }
            guard (0...Render.frameMax).contains(render.frameStart), render.frameStart + taskCount - 1 <= Render.frameMax else {
                throw fail("frames must be between 0 and \(Render.frameMax)")
            }
            guard (1...Render.sideMax).contains(render.width), (1...Render.sideMax).contains(render.height) else {
                throw fail("resolution must be between 1×1 and \(Render.sideMax)×\(Render.sideMax)")
            }
            guard (1...Render.samplesMax).contains(render.samples) else { throw fail("samples must be between 1 and \(Render.samplesMax)") }
            guard (0...Int(Int32.max)).contains(render.seed) else { throw fail("seed must be between 0 and \(Int32.max)") }
            guard render.bitDepth == 8 || render.bitDepth == 16 else { throw fail("bitDepth must be 8 or 16") }
            if let review = render.reviewS {
                guard Render.reviewSRange.contains(review) else { throw fail("review must be between 1 s and 30 days") }
            }
        }
        if kind == .ray {
            guard Self.isPlainRelativePath(command), command.hasSuffix(".py") else {
                throw fail("a ray job's command is its driver, a Python script: a plain relative path ending in .py (usually one of its inputs)")
            }
            guard verification.policy == .none else { throw fail("a ray job takes verification policy none: a Ray cluster's work is not re-run") }
        }
        if let cluster {
            guard (2...Cluster.nodesMax).contains(cluster.nodes) else { throw fail("cluster.nodes must be between 2 and \(Cluster.nodesMax)") }
            guard (1...Cluster.roundTripMsMaxLimit).contains(cluster.roundTripMsMax) else {
                throw fail("cluster.roundTripMs must be between 1 and \(Cluster.roundTripMsMaxLimit) ms")
            }
            // Replicating a whole gang on another operator's nodes is not offered: members of one gang check nothing
            // about each other's outputs here, so a cluster job says plainly that it is not verified.
            // A train job's sample is a segment between two checkpoints, re-run on one validator; other gangs are not
            // replicated.
            guard verification.policy == .none || kind == .train else {
                throw fail("cluster jobs other than train take verification policy none; replicating a gang is not supported")
            }
            guard taskCount * cluster.nodes <= Self.taskCountMax else { throw fail("tasks × cluster.nodes must be at most \(Self.taskCountMax)") }
        }
        guard inputs.count <= Self.inputCountMax else { throw fail("at most \(Self.inputCountMax) input files") }
        var names = Set<String>()
        for input in inputs {
            guard Self.isPlainRelativePath(input.name) else { throw fail("input name `\(input.name)` must be a plain relative path") }
            guard Digest.isValidHex(input.sha256) else { throw fail("input `\(input.name)` needs a 64-hex-digit sha256") }
            guard input.sizeBytes >= 0 else { throw fail("input `\(input.name)` has a negative size") }
            guard names.insert(input.name).inserted else { throw fail("input name `\(input.name)` appears twice") }
        }
        // Last, once every count it multiplies is in range: the escrow at the highest fee governance may set (100%) must be
        // a number the ledger can hold. At the limits of every field at once (10,000 reviewed frames of 1,024 cores for a
        // week at the top price) it was not, and computing it trapped.
        let runCost = Pricing.runCostMicro(unitMilli: unitMilli, priceMicroPerUnitHour: maxPriceMicroPerUnitHour, durationMs: Int64(maxDurationS) * 1000)
        let (escrowAtFullFee, overflow) = (Int64(taskCount) * runsPerTaskMax).multipliedReportingOverflow(by: 2 * runCost)
        guard !overflow, escrowAtFullFee >= 0 else {
            throw fail("the job's most it could cost is more than the ledger can hold: fewer tasks, a shorter maxDurationS or a lower maxPrice")
        }
        // No job runs unfunded: a run whose most it could earn rounds to 0 µCRU would lock no escrow and pay nobody
        // (property fuzzing found such specs accepted).
        guard runCost > 0 else {
            throw fail("at this maxPrice a run of maxDurationS earns less than 1 µCRU: raise maxPrice or maxDurationS")
        }
    }

    /// No absolute paths, no `..`, no empty components: a spec cannot make a node write outside the task folder.
    public static func isPlainRelativePath(_ path: String) -> Bool {
        guard !path.isEmpty, path.utf8.count <= 255, !path.hasPrefix("/") else { return false }
        let parts = path.split(separator: "/", omittingEmptySubsequences: false)
        return parts.allSatisfy { !$0.isEmpty && $0 != "." && $0 != ".." && !$0.contains("\0") }
    }
}
