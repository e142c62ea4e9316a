import CrucibleCore
import CrucibleProof
import Foundation

/// How the agent runs a `render` job: the Blender it found, and the command line that renders one frame (or a
/// validator's tiles of it) through the helper script with the job's settings.
public struct RenderRuntime: Sendable, Equatable {
    /// The Blender executable.
    public var blender: String
    /// What `blender --version` says first, e.g. "Blender 3.4.1".
    public var version: String

    /// Whatever PATH finds as `blender` (Debian's package installs it there).
    public static let candidates = ["blender"]

    /// The first candidate that answers `--version`, or nil: a node without Blender does not take render jobs.
    public static func find(candidates: [String] = candidates) async -> RenderRuntime? {
        for candidate in candidates {
            if let version = await ProbeCommand.firstLine(candidate, ["--version"]), version.hasPrefix("Blender") {
                return RenderRuntime(blender: candidate, version: version)
            }
        }
        return nil
    }

    /// The helper Blender runs to set the job's settings and render.
    public static var helperScript: String? {
        Bundle.module.url(forResource: "crucible_render", withExtension: "py", subdirectory: "Resources")?.path
    }

    /// Blender headless on the scene, failing (not exiting 0) if the helper raises.
    public func arguments(scene: String) throws -> [String] {
        guard let helper = Self.helperScript else { throw CrucibleError(.unavailable, "the render helper script is missing from the agent's resources") }
        return [blender, "-b", scene, "--python-exit-code", "1", "--python", helper]
    }

    /// What the helper reads: the frame, its settings, where to write, and for a check the tiles (one per line) and
    /// where each goes.
    public static func environment(_ render: RenderOrder, outputDirectory: URL, cpuCores: Int) -> [String: String] {
        var environment = [
            "CRUCIBLE_RENDER_FRAME": String(render.frame),
            "CRUCIBLE_RENDER_WIDTH": String(render.width),
            "CRUCIBLE_RENDER_HEIGHT": String(render.height),
            "CRUCIBLE_RENDER_SAMPLES": String(render.samples),
            "CRUCIBLE_RENDER_SEED": String(render.seed),
            "CRUCIBLE_RENDER_BIT_DEPTH": String(render.bitDepth),
            "CRUCIBLE_RENDER_THREADS": String(cpuCores),
        ]
        if render.crops.isEmpty {
            environment["CRUCIBLE_RENDER_OUTPUT"] = outputDirectory.appendingPathComponent(render.outputNames[0]).path
        } else {
            environment["CRUCIBLE_RENDER_CROPS"] = render.crops.map { "\($0.x),\($0.y),\($0.width),\($0.height)" }.joined(separator: "\n")
            environment["CRUCIBLE_RENDER_CROP_OUTPUTS"] = render.outputNames.map { outputDirectory.appendingPathComponent($0).path }.joined(separator: "\n")
        }
        return environment
    }
}

/// A render run's frame and settings; with crops, the run checks another's frame by re-rendering those tiles of it.
public struct RenderOrder: Sendable, Equatable {
    public var frame: Int
    public var width: Int
    public var height: Int
    public var samples: Int
    public var seed: Int
    public var bitDepth: Int
    public var crops: [FrameCrop]

    public init(frame: Int, width: Int, height: Int, samples: Int, seed: Int, bitDepth: Int, crops: [FrameCrop] = []) {
        self.frame = frame
        self.width = width
        self.height = height
        self.samples = samples
        self.seed = seed
        self.bitDepth = bitDepth
        self.crops = crops
    }

    /// `frame-0042.png`, or for a check `crop-0042-t00.png`… one per tile: the names the coordinator looks for among
    /// the outputs.
    public var outputNames: [String] {
        let spec = JobSpec.Render(frameStart: frame, width: width, height: height, samples: samples)
        return crops.isEmpty ? [spec.framePath(taskIndex: 0)] : crops.indices.map { spec.cropPath(taskIndex: 0, tile: $0) }
    }
}
