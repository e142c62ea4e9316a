import ArgumentParser
import CrucibleAgent
import CrucibleClient
import CrucibleCore
import CrucibleProof
import Foundation

/// What proof of render costs and how much margin it has, measured with this machine's Blender on the demo scene:
/// frames and validators' tiles rendered exactly as agents render them, the coordinator's comparison timed, and frames
/// at fewer samples checked as a cheater's would be.
struct RenderBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "render",
        abstract: "Measure proof of render: a validator's tiles against the frame they check, in render time and PSNR."
    )

    @Option(help: "Frame size, e.g. 640x480.")
    var resolution: String = "640x480"

    @Option(help: "Cycles samples per pixel.")
    var samples: Int = 64

    @Option(help: "Frames (and crops) rendered; medians are reported.")
    var runs: Int = 3

    @Option(help: "Share of the frame's area the tiles cover, in parts per million (the network's renderCropPpm).")
    var cropPpm: Int = 62_500

    @Option(help: "Tiles per check (the network's renderCropTiles).")
    var tiles: Int = 16

    @Option(help: "Checks of cheating frames (at 1/2 and 7/8 of the samples) to count how many are caught at 48 dB.")
    var cheats: Int = 3

    @Option(help: "CPU threads Blender renders with.")
    var threads: Int = 2

    @Option(help: "Blender to use (default: blender on PATH).")
    var blender: String?

    func run() async throws {
        let size = try JobSpecFile.parseResolution(resolution)
        guard (1...64).contains(runs), (1...65_536).contains(samples), (1...1_000_000).contains(cropPpm), (1...256).contains(threads),
              (1...FrameCrop.tilesMax).contains(tiles), (0...64).contains(cheats),
              (1...JobSpec.Render.sideMax).contains(size.width), (1...JobSpec.Render.sideMax).contains(size.height)
        else {
            throw ValidationError("--runs 1…64, --samples 1…65536, --crop-ppm 1…1000000, --tiles 1…\(FrameCrop.tilesMax), --cheats 0…64, --threads 1…256, sides 1…\(JobSpec.Render.sideMax)")
        }
        guard let rendering = await RenderRuntime.find(candidates: blender.map { [$0] } ?? RenderRuntime.candidates) else {
            throw ValidationError("no Blender found: install Debian's blender package or pass --blender")
        }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("crucible-render-bench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let scene = folder.appendingPathComponent("scene.blend").path
        try await DemoScene.make(with: rendering, at: scene)
        print("\(rendering.version), demo scene, \(size.width)×\(size.height) at \(samples) samples, \(threads) threads, \(tiles) tiles covering \(Double(cropPpm) / 10_000)% of the frame, \(runs) runs")

        var generator = SystemRandomNumberGenerator()
        var frames = [Timing](), crops = [Timing](), comparisonsMs = [Double](), psnrs = [String]()
        let startup = try render(rendering, scene: scene, order: nil, folder: folder)
        for index in 0..<runs {
            let frame = RenderOrder(frame: 1 + index, width: size.width, height: size.height, samples: samples, seed: 0, bitDepth: 8)
            let frameTiming = try render(rendering, scene: scene, order: frame, folder: folder)
            let (comparison, cropTiming, comparisonMs) = try check(frame, rendering: rendering, scene: scene, folder: folder, using: &generator)
            comparisonsMs.append(comparisonMs)
            frames.append(frameTiming)
            crops.append(cropTiming)
            psnrs.append(comparison.describe)
        }
        // Cheaters' frames at fewer samples, each checked on fresh tiles rendered honestly.
        var cheatLines = [String]()
        for share in [(1, 2), (7, 8)] where cheats > 0 {
            var cheat = RenderOrder(frame: 2, width: size.width, height: size.height, samples: max(1, samples * share.0 / share.1), seed: 0, bitDepth: 8)
            _ = try render(rendering, scene: scene, order: cheat, folder: folder)
            cheat.samples = samples
            var figures = [String]()
            var caught = 0
            for _ in 0..<cheats {
                let (comparison, _, _) = try check(cheat, rendering: rendering, scene: scene, folder: folder, using: &generator)
                if !comparison.matches(minMilliDb: 48_000) { caught += 1 }
                figures.append(comparison.describe)
            }
            cheatLines.append("a frame at \(samples * share.0 / share.1) of \(samples) samples: caught \(caught) of \(cheats) checks at 48 dB (worst tile \(figures.joined(separator: ", ")))")
        }

        let frame = Timing.median(frames), crop = Timing.median(crops)
        func seconds(_ value: Double) -> String { String(format: "%.2f s", value) }
        print("frame: median \(seconds(frame.wallS)) wall, \(seconds(frame.cpuS)) CPU")
        print("tiles: median \(seconds(crop.wallS)) wall, \(seconds(crop.cpuS)) CPU (Blender start and scene load alone: \(seconds(startup.wallS)) wall)")
        print("tiles against their frame: \(psnrs.joined(separator: ", ")); the coordinator's comparison took \(String(format: "%.1f", Timing.middle(comparisonsMs))) ms (median)")
        for line in cheatLines { print(line) }
        let ratio = crop.cpuS / frame.cpuS
        print("one check costs \(String(format: "%.1f", ratio * 100))% of a frame's CPU time (\(String(format: "%.2f", Double(cropPpm) / 10_000))% of its pixels)")
        let rates = [0.01, 0.02, 0.05, 0.10]
        print("overhead at sample rate " + rates.map { "\(Int($0 * 100))%: \(String(format: "%.2f", $0 * ratio * 100))%" }.joined(separator: ", "))
    }

    /// Renders `frame`'s tiles as a validator would (the frame itself must be in `folder`) and compares them with it.
    func check(
        _ frame: RenderOrder, rendering: RenderRuntime, scene: String, folder: URL, using generator: inout some RandomNumberGenerator
    ) throws -> (ProofOfRender.Comparison, Timing, Double) {
        var check = frame
        check.crops = ProofOfRender.drawCrops(frameWidth: frame.width, frameHeight: frame.height, areaPpm: cropPpm, tiles: tiles, using: &generator)
        let timing = try render(rendering, scene: scene, order: check, folder: folder)
        let reference = try Data(contentsOf: folder.appendingPathComponent(frame.outputNames[0]))
        let candidates = try check.outputNames.map { try Data(contentsOf: folder.appendingPathComponent($0)) }
        let started = ContinuousClock.now
        let comparison = ProofOfRender.compare(
            reference: .frame(reference), candidates: candidates, crops: check.crops, frameWidth: frame.width, frameHeight: frame.height
        )
        return (comparison, timing, (ContinuousClock.now - started).totalSeconds * 1000)
    }

    struct Timing {
        var wallS: Double
        var cpuS: Double

        static func median(_ timings: [Timing]) -> Timing {
            Timing(wallS: middle(timings.map(\.wallS)), cpuS: middle(timings.map(\.cpuS)))
        }

        static func middle(_ values: [Double]) -> Double {
            let sorted = values.sorted()
            return sorted.isEmpty ? 0 : sorted[sorted.count / 2]
        }
    }

    /// Runs Blender as an agent does (nil order: only start it and load the scene), timing wall clock and the child's
    /// CPU time.
    func render(_ rendering: RenderRuntime, scene: String, order: RenderOrder?, folder: URL) throws -> Timing {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        if let order {
            process.arguments = try rendering.arguments(scene: scene)
            process.environment = ProcessInfo.processInfo.environment.merging(
                RenderRuntime.environment(order, outputDirectory: folder, cpuCores: threads)
            ) { $1 }
        } else {
            process.arguments = [rendering.blender, "-b", scene, "--python-expr", "import bpy"]
        }
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        var before = rusage()
        getrusage(RUSAGE_CHILDREN.rawValue, &before)
        let started = ContinuousClock.now
        try process.run()
        process.waitUntilExit()
        let wall = (ContinuousClock.now - started).totalSeconds
        var after = rusage()
        getrusage(RUSAGE_CHILDREN.rawValue, &after)
        guard process.terminationStatus == 0 else { throw CrucibleError(.unavailable, "Blender exited with status \(process.terminationStatus)") }
        func seconds(_ time: timeval) -> Double { Double(time.tv_sec) + Double(time.tv_usec) / 1_000_000 }
        let cpu = seconds(after.ru_utime) + seconds(after.ru_stime) - seconds(before.ru_utime) - seconds(before.ru_stime)
        return Timing(wallS: wall, cpuS: cpu)
    }
}
