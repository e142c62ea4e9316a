import CrucibleAPI
import CrucibleCore
import CrucibleProof
import Foundation

/// Where a cluster member stands in its gang once every member accepted: its rank and every member's address.
public struct ClusterAssignment: Sendable, Equatable {
    public struct Peer: Sendable, Equatable {
        public var rank: Int
        public var host: String
        public var port: Int

        public init(rank: Int, host: String, port: Int) {
            self.rank = rank
            self.host = host
            self.port = port
        }
    }

    public var rank: Int
    public var worldSize: Int
    /// Every member by rank, this one included; rank 0 hosts the rendezvous.
    public var peers: [Peer]

    public init(rank: Int, worldSize: Int, peers: [Peer]) {
        self.rank = rank
        self.worldSize = worldSize
        self.peers = peers.sorted { $0.rank < $1.rank }
    }

    public var master: Peer? { peers.first { $0.rank == 0 } }
    public var ownPort: Int? { peers.first { $0.rank == rank }?.port }

    /// What the run's process reads: CRUCIBLE_* names, and the rendezvous under the names torchrun and
    /// torch.distributed read (MASTER_ADDR, MASTER_PORT).
    public var environment: [String: String] {
        var environment = [
            "CRUCIBLE_RANK": String(rank), "CRUCIBLE_WORLD_SIZE": String(worldSize),
            "CRUCIBLE_PEERS": peers.map { "\($0.host):\($0.port)" }.joined(separator: ","),
        ]
        if let master {
            environment["CRUCIBLE_MASTER_ADDR"] = master.host
            environment["CRUCIBLE_MASTER_PORT"] = String(master.port)
            environment["MASTER_ADDR"] = master.host
            environment["MASTER_PORT"] = String(master.port)
        }
        if let ownPort { environment["CRUCIBLE_PEER_PORT"] = String(ownPort) }
        return environment
    }
}

/// A validator's re-run of a train task: resume from the reference's state at `fromStep` as all of the gang's
/// `processes` on this node, stop at `toStep`.
public struct TrainingSegment: Sendable, Equatable {
    public var fromStep: Int
    public var toStep: Int
    public var processes: Int

    public init(fromStep: Int, toStep: Int, processes: Int) {
        self.fromStep = fromStep
        self.toStep = toStep
        self.processes = processes
    }
}

/// What an accepted offer asks the agent to run.
public struct RunOrder: Sendable, Equatable {
    public var runId: String
    public var jobId: String
    public var taskIndex: Int
    public var taskCount: Int
    public var role: String
    public var command: String
    public var args: [String]
    public var inputs: [JobSpec.InputFile]
    public var maxDurationS: Int
    /// The GPUs the run holds, as `nvidia-smi` numbers them: the only ones it sees.
    public var gpuDevices: [Int]
    /// Set for a member of a cluster job, once its gang started.
    public var cluster: ClusterAssignment?
    /// `train` runs `command` (a Python script) under torchrun; `batch` runs it as it is.
    public var kind: JobSpec.Kind
    /// CPU cores the run holds: torch's thread count for a train run.
    public var cpuCores: Int
    /// Set when this run validates a segment of a train task.
    public var segment: TrainingSegment?
    /// A render run's frame and settings.
    public var render: RenderOrder?

    public init(
        runId: String, jobId: String, taskIndex: Int, taskCount: Int, role: String, command: String, args: [String], inputs: [JobSpec.InputFile],
        maxDurationS: Int, gpuDevices: [Int] = [], cluster: ClusterAssignment? = nil, kind: JobSpec.Kind = .batch, cpuCores: Int = 1,
        segment: TrainingSegment? = nil, render: RenderOrder? = nil
    ) {
        self.segment = segment
        self.render = render
        self.cluster = cluster
        self.kind = kind
        self.cpuCores = cpuCores
        self.runId = runId
        self.jobId = jobId
        self.taskIndex = taskIndex
        self.taskCount = taskCount
        self.role = role
        self.command = command
        self.args = args
        self.inputs = inputs
        self.maxDurationS = maxDurationS
        self.gpuDevices = gpuDevices
    }

    init(_ offer: Components.Schemas.Offer) {
        self.init(
            runId: offer.runId, jobId: offer.jobId, taskIndex: offer.taskIndex, taskCount: offer.taskCount,
            role: offer.role.rawValue, command: offer.command, args: offer.args,
            inputs: offer.inputs.map { .init(name: $0.name, sha256: $0.sha256, sizeBytes: $0.sizeBytes) },
            maxDurationS: offer.maxDurationS, gpuDevices: offer.gpuDevices ?? [], kind: JobSpec.Kind(rawValue: offer.kind) ?? .batch,
            cpuCores: offer.cpuCores, segment: offer.segment.map { .init(fromStep: $0.fromStep, toStep: $0.toStep, processes: $0.processes) },
            render: offer.render.map {
                RenderOrder(
                    frame: $0.frame, width: $0.width, height: $0.height, samples: $0.samples, seed: $0.seed, bitDepth: $0.bitDepth,
                    crops: ($0.crops ?? []).map { FrameCrop(x: $0.x, y: $0.y, width: $0.width, height: $0.height) }
                )
            }
        )
    }

    /// Arguments with `{index}` and `{count}` replaced, so one spec can address its tasks, and for a cluster member
    /// `{rank}`, `{worldSize}`, `{masterAddr}`, `{masterPort}` and `{peerPort}` (a torchrun command line needs them).
    public var expandedArgs: [String] {
        var values = ["{index}": String(taskIndex), "{count}": String(taskCount)]
        if let cluster {
            values["{rank}"] = String(cluster.rank)
            values["{worldSize}"] = String(cluster.worldSize)
            values["{masterAddr}"] = cluster.master?.host ?? ""
            values["{masterPort}"] = cluster.master.map { String($0.port) } ?? ""
            values["{peerPort}"] = cluster.ownPort.map(String.init) ?? ""
        }
        return args.map { arg in values.reduce(arg) { $0.replacingOccurrences(of: $1.key, with: $1.value) } }
    }
}
