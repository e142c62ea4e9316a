import CrucibleCore
import Foundation

/// How the agent runs a `train` job: the Python that has PyTorch, and torchrun's command line for one member of the
/// job (or the only one), with the checkpoint file the run's helper writes.
public struct TrainingRuntime: Sendable, Equatable {
    /// A Python interpreter that imports torch.
    public var python: String
    public var torchVersion: String

    /// Where Debian's python3-torch lives first (it installs into the system Python, which may not be the first
    /// `python3` on PATH), then whatever PATH finds.
    public static let candidates = ["/usr/bin/python3", "python3"]

    /// The first candidate that imports torch, or nil: a node without PyTorch does not take train jobs.
    public static func find(candidates: [String] = candidates) async -> TrainingRuntime? {
        for candidate in candidates {
            if let version = await ProbeCommand.output("/usr/bin/env", [candidate, "-c", "import torch, sys; sys.stdout.write(torch.__version__)"]) {
                return TrainingRuntime(python: candidate, torchVersion: version)
            }
        }
        return nil
    }

    /// The folder holding `crucible_train.py`, put on the run's PYTHONPATH.
    public static var helperDirectory: String? {
        Bundle.module.url(forResource: "crucible_train", withExtension: "py", subdirectory: "Resources")?.deletingLastPathComponent().path
    }

    /// torchrun's arguments for this member: static rendezvous at rank 0's address, one process per GPU it holds
    /// (one on CPU), then the script and its arguments. `--redirects 1 --tee 1` works around Debian's torch 1.13 on
    /// Python 3.11, whose default of 0 fails to parse; worker output still reaches the run's log.
    public static func arguments(
        script: String, scriptArgs: [String], nodes: Int, nodeRank: Int, processesPerNode: Int, masterAddr: String, masterPort: Int, logDirectory: String
    ) -> [String] {
        [
            "-m", "torch.distributed.run", "--nnodes", String(nodes), "--node_rank", String(nodeRank),
            "--nproc_per_node", String(processesPerNode), "--master_addr", masterAddr, "--master_port", String(masterPort),
            "--redirects", "1", "--tee", "1", "--log_dir", logDirectory, script,
        ] + scriptArgs
    }

    /// The checkpoints a run's helper wrote, one JSON object per line; a line that does not parse is an error, not
    /// skipped, since the digests are what the run is checked on.
    public static func readCheckpoints(at path: String) throws -> [TrainingCheckpoint] {
        guard let data = FileManager.default.contents(atPath: path) else { return [] }
        var checkpoints = [TrainingCheckpoint]()
        for line in String(decoding: data, as: UTF8.self).split(separator: "\n") where !line.isEmpty {
            guard let checkpoint = try? JSONDecoder().decode(TrainingCheckpoint.self, from: Data(line.utf8)) else {
                throw CrucibleError(.malformed, "checkpoint record `\(line.prefix(80))` is not {step, digest}")
            }
            checkpoints.append(checkpoint)
        }
        try TrainingCheckpoint.validate(checkpoints)
        return checkpoints
    }
}
