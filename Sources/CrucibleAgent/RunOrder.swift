import CrucibleAPI
import CrucibleCore
import Foundation

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

    public init(
        runId: String, jobId: String, taskIndex: Int, taskCount: Int, role: String, command: String, args: [String], inputs: [JobSpec.InputFile],
        maxDurationS: Int, gpuDevices: [Int] = []
    ) {
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
            maxDurationS: offer.maxDurationS, gpuDevices: offer.gpuDevices ?? []
        )
    }

    /// Arguments with `{index}` and `{count}` replaced, so one spec can address its tasks.
    public var expandedArgs: [String] {
        args.map {
            $0.replacingOccurrences(of: "{index}", with: String(taskIndex))
                .replacingOccurrences(of: "{count}", with: String(taskCount))
        }
    }
}
