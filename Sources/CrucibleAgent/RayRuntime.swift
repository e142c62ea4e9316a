import CrucibleCore
import Foundation

/// How the agent runs a `ray` job: the Ray it found (its `ray` command and the Python beside it), and the command line
/// that makes this member a Ray head or worker node through `crucible_ray.py`.
public struct RayRuntime: Sendable, Equatable {
    /// The `ray` executable, as an absolute path.
    public var ray: String
    /// The Python that imports Ray: the one installed beside `ray` (a virtual environment's).
    public var python: String
    /// What `ray --version` says, e.g. "ray, version 2.60.0".
    public var version: String

    public static let candidates = ["ray"]

    /// The first candidate that answers `--version` and has a Python beside it, or nil: a node without Ray takes no
    /// ray job.
    public static func find(candidates: [String] = candidates) async -> RayRuntime? {
        for candidate in candidates {
            guard let path = HardwareDiscovery.findExecutable(candidate) else { continue }
            let python = URL(fileURLWithPath: path).deletingLastPathComponent().appendingPathComponent("python").path
            guard FileManager.default.isExecutableFile(atPath: python) else { continue }
            if let version = await ProbeCommand.firstLine(path, ["--version"]), version.hasPrefix("ray") {
                return RayRuntime(ray: path, python: python, version: version)
            }
        }
        return nil
    }

    /// The helper that makes this member a Ray node.
    public static var helperScript: String? {
        Bundle.module.url(forResource: "crucible_ray", withExtension: "py", subdirectory: "Resources")?.path
    }

    /// `python crucible_ray.py python DRIVER ARGS…`: the helper runs the driver on rank 0 once the cluster is up.
    public func arguments(driver: String, args: [String]) throws -> [String] {
        guard let helper = Self.helperScript else { throw CrucibleError(.unavailable, "the Ray helper script is missing from the agent's resources") }
        return [python, helper, python, driver] + args
    }
}
