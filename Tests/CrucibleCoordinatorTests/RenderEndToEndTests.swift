import CrucibleAPI
import CrucibleAgent
import CrucibleClient
import CrucibleCoordinator
import CrucibleCore
import CrucibleProof
import CrucibleTestSupport
import Foundation
import Testing

/// Render jobs for real: agents run Debian's Blender headless on a scene the test makes, each task one frame; every
/// frame is checked by a validator of another operator re-rendering random tiles of it, which the coordinator compares
/// with the submitted frame pixel by pixel. Cheating operators (fewer samples, a copied neighbour, garbage) are
/// caught: an arbiter of a third operator re-renders the tiles, sides with the validator, and the cheater is slashed.
/// Needs Blender (`.ci/run` installs Debian's package).
@Suite(.serialized, .heavyProcesses) struct RenderEndToEndTests {
    static let width = 96
    static let height = 72

    /// Makes devnet's demo scene with Blender and returns its bytes.
    static func makeScene(with rendering: RenderRuntime, in directory: URL) async throws -> Data {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let path = directory.appendingPathComponent("scene.blend").path
        try await DemoScene.make(with: rendering, at: path)
        return try #require(FileManager.default.contents(atPath: path))
    }

    /// A cheating operator's Blender: a wrapper around the real one that cheats on whole frames and renders crops
    /// honestly (tiles are cheap; the frames are where the money is). The agent itself is unchanged.
    static func cheatingBlender(_ cheat: Cheat, in directory: URL) async throws -> RenderRuntime {
        let path = directory.appendingPathComponent("blender-\(cheat.rawValue)").path
        let body: String
        switch cheat {
        case .fewerSamples:
            body = "CRUCIBLE_RENDER_SAMPLES=$(( (CRUCIBLE_RENDER_SAMPLES + 3) / 4 )); export CRUCIBLE_RENDER_SAMPLES"
        case .copiesANeighbour:
            // Renders the first frame it is given, then hands in a copy of a frame it already rendered.
            body = """
            previous=$(ls "$CRUCIBLE_OUTPUT_DIR"/../../*/out/frame-*.png 2>/dev/null | head -n 1)
            if [ -n "$previous" ]; then cp "$previous" "$CRUCIBLE_RENDER_OUTPUT"; exit 0; fi
            """
        case .garbage:
            body = "head -c 4096 /dev/urandom > \"$CRUCIBLE_RENDER_OUTPUT\"; exit 0"
        }
        let script = """
        #!/bin/sh
        if [ -n "$CRUCIBLE_RENDER_FRAME" ] && [ -z "$CRUCIBLE_RENDER_CROPS" ]; then
        \(body)
        fi
        exec blender "$@"
        """
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        guard FileManager.default.createFile(atPath: path, contents: Data(script.utf8), attributes: [.posixPermissions: 0o755]) else {
            throw CrucibleError(.unavailable, "cannot write \(path)")
        }
        return try #require(await RenderRuntime.find(candidates: [path]))
    }

    enum Cheat: String, CaseIterable {
        case fewerSamples, copiesANeighbour, garbage
    }

    /// Uploads the scene and submits a job rendering frames 1…`frames`, every frame checked.
    static func submitRender(_ network: TestNetwork, scene: Data, frames: Int) async throws -> Components.Schemas.Job {
        let sha256 = try await network.client.putBlob(scene, by: network.requester)
        let spec = JobSpec(
            name: "turntable", kind: .render, command: "scene.blend",
            inputs: [.init(name: "scene.blend", sha256: sha256, sizeBytes: Int64(scene.count))], taskCount: frames,
            resources: .init(gpuMilli: 0, cpuCores: 1, memoryMiB: 1024), maxPriceMicroPerUnitHour: 2_000_000, maxDurationS: 120,
            verification: .init(policy: .replicate, samplePpm: 1_000_000),
            render: .init(frameStart: 1, width: width, height: height, samples: 8, seed: 0)
        )
        return try await network.client.submitJob(spec, by: network.requester)
    }

    static func frame(of run: Components.Schemas.RunStatus, _ network: TestNetwork) async throws -> PNGImage? {
        guard let file = run.outputs.first(where: { $0.path.hasPrefix("frame-") }) else { return nil }
        return try PNGImage.decode(try await network.client.blob(file.sha256))
    }

    /// Slow by nature: about 30–60 s on a 2-core machine (measured 2026-12-04, debug build). Every frame is rendered
    /// twice (by its operator and a validator's tiles), and each Blender start-up costs ~3 s before a pixel is drawn.
    @Test func framesRenderOnTwoOperatorsAndEveryCropMatchesExactly() async throws {
        let rendering = try #require(await RenderRuntime.find(), "no Blender: install Debian's blender package")
        let network = try await TestNetwork.start()
        let scene = try await Self.makeScene(with: rendering, in: network.directory)
        let policy = AgentPolicy(askMicroPerCpuCoreHour: 1_000_000, maxConcurrentRuns: 2)
        let agents = [network.operatorA, network.operatorB].map { network.agent(operatorKey: $0, policy: policy, rendering: rendering) }
        let job = try await withAgents(agents) {
            let submitted = try await Self.submitRender(network, scene: scene, frames: 4)
            return try await network.settled(submitted.id, timeoutS: 300)
        }
        #expect(job.state == "settled" && job.tasks.allSatisfy { $0.state == "verified" }, "\(job.tasks.map(\.state))")
        #expect(job.render?.frameStart == 1 && job.render?.frameEnd == 4)
        // Every frame was re-rendered in part by the other operator's node, to exactly the same pixels.
        let checks = try #require(job.cropChecks)
        #expect(checks.count == 4 && Set(checks.map(\.frame)) == [1, 2, 3, 4])
        #expect(checks.allSatisfy { $0.identical && $0.matches }, "\(checks.map { "\($0.frame): \($0.psnrDb ?? .infinity) \($0.failure ?? "")" })")
        // Sixteen tiles, a sixteenth of the frame between them.
        #expect(checks.allSatisfy { $0.crops.count == 16 && $0.crops.reduce(0) { $0 + $1.width * $1.height } < Self.width * Self.height / 10 })
        var frames = [PNGImage]()
        for task in job.tasks {
            let primary = try #require(task.runs.first { $0.role == "primary" && $0.state == "completed" })
            let replica = try #require(task.runs.first { $0.role == "replica" && $0.state == "completed" })
            #expect(primary.nodeId != replica.nodeId && primary.paidMicro > 0 && replica.paidMicro > 0)
            #expect(primary.outputs.map(\.path) == [String(format: "frame-%04d.png", task.index + 1)])
            #expect(replica.outputs.map(\.path) == (0..<16).map { String(format: "crop-%04d-t%02d.png", task.index + 1, $0) })
            let frame = try #require(try await Self.frame(of: primary, network))
            #expect(frame.width == Self.width && frame.height == Self.height && frame.channels == 4)
            frames.append(frame)
        }
        // The monkey turns: neighbouring frames are different pictures.
        for (a, b) in zip(frames, frames.dropFirst()) { #expect(a.samples != b.samples) }
        let primaryMs = job.tasks.flatMap(\.runs).filter { $0.role == "primary" }.compactMap { run in run.endedMs.flatMap { end in run.startedMs.map { end - $0 } } }
        let checkMs = job.tasks.flatMap(\.runs).filter { $0.role == "replica" }.compactMap { run in run.endedMs.flatMap { end in run.startedMs.map { end - $0 } } }
        // Anyone with the database and the blob store gets the same comparisons from the same pixels.
        await network.coordinator.drain()
        let audit = try await Auditor.audit(store: network.store)
        #expect(audit.cropChecksRecomputed == 4)
        print("proof of render: 16 tiles of \(checks.first?.crops.first.map { "\($0.width)×\($0.height)" } ?? "") of \(Self.width)×\(Self.height) frames; validator time / render time = \(checkMs.reduce(0, +)) / \(primaryMs.reduce(0, +)) ms (Blender's start-up dominates at this size)")
        await network.stop()
    }

    /// Slow by nature: about 20 s on a 2-core machine (measured 2026-12-04, debug build): Blender renders, re-renders
    /// the rejected frame, and the lapse waits out a review window of the test network's parameters.
    @Test func theRequesterReviewsWatermarkedPreviewsApprovesRejectsAndLetsOneLapse() async throws {
        let rendering = try #require(await RenderRuntime.find(), "no Blender: install Debian's blender package")
        let network = try await TestNetwork.start()
        let scene = try await Self.makeScene(with: rendering, in: network.directory)
        // Operator A asks less and renders the frames; operator B renders the rejected one again.
        let agents = [
            network.agent(operatorKey: network.operatorA, policy: AgentPolicy(askMicroPerCpuCoreHour: 1_000_000, maxConcurrentRuns: 3), rendering: rendering),
            network.agent(operatorKey: network.operatorB, policy: AgentPolicy(askMicroPerCpuCoreHour: 1_500_000, maxConcurrentRuns: 3), rendering: rendering),
        ]
        let sha256 = try await network.client.putBlob(scene, by: network.requester)
        let spec = JobSpec(
            name: "reviewed", kind: .render, command: "scene.blend",
            inputs: [.init(name: "scene.blend", sha256: sha256, sizeBytes: Int64(scene.count))], taskCount: 3,
            resources: .init(gpuMilli: 0, cpuCores: 1, memoryMiB: 1024), maxPriceMicroPerUnitHour: 2_000_000, maxDurationS: 120,
            render: .init(frameStart: 1, width: Self.width, height: Self.height, samples: 8, seed: 0, reviewS: 6)
        )
        let job = try await withAgents(agents) {
            let submitted = try await network.client.submitJob(spec, by: network.requester)
            try await waitUntil("every frame awaits review", timeoutS: 90) {
                try await network.client.job(submitted.id).tasks.allSatisfy { $0.review?.state == .awaiting }
            }
            // Under review, a frame is withheld; its preview is half size and watermarked.
            let pending = try await network.client.job(submitted.id)
            let frame = try #require(pending.tasks[0].runs.first { $0.role == "primary" }?.outputs.first)
            do {
                _ = try await network.client.blob(frame.sha256)
                Issue.record("a frame under review was handed out")
            } catch let error as CrucibleError {
                #expect(error.message.contains("awaits its requester's review") && error.message.contains("/tasks/0/preview"), "\(error.message)")
            }
            let preview = try PNGImage.decode(try await network.client.framePreview(jobId: submitted.id, taskIndex: 0))
            #expect(preview.width == Self.width / 2 && preview.height == Self.height / 2 && preview.channels == 4)
            // Frame 1 approved (and released), frame 2 rejected, frame 3 left to its review period.
            _ = try await network.client.reviewFrames(
                FrameReview(jobId: submitted.id, approve: [0], reject: [.init(taskIndex: 1, reason: "the monkey looks wrong")]), by: network.requester
            )
            let released = try PNGImage.decode(try await network.client.blob(frame.sha256))
            #expect(released.width == Self.width)
            return try await network.settled(submitted.id, timeoutS: 300)
        }
        #expect(job.state == "settled" && job.tasks.allSatisfy { $0.state == "verified" }, "\(job.tasks.map(\.state))")
        #expect(job.tasks[0].review?.state == .approved && job.tasks[2].review?.state == .autoApproved)
        // The rejected frame was rendered again by the other operator, identical: the rejection was unfounded, so
        // both runs are paid and the rejection stays on record.
        let rejected = job.tasks[1]
        let primaries = rejected.runs.filter { $0.role == "primary" }
        #expect(primaries.count == 2 && primaries.allSatisfy { $0.paidMicro > 0 } && primaries[0].nodeId != primaries[1].nodeId)
        #expect(rejected.review?.rejections.map(\.reason) == ["the monkey looks wrong"])
        #expect(job.cropChecks?.contains { $0.runId == primaries[1].id && $0.againstRunId == primaries[0].id && $0.identical } == true)
        await network.coordinator.drain()
        #expect(try await Auditor.audit(store: network.store).cropChecksRecomputed == 1)
        await network.stop()
    }

    /// Slow by nature: about 40–50 s a case on a 2-core machine (measured 2026-12-04, debug build): the cheater's frames,
    /// the validator's tiles, the arbiter's tiles and the honest re-render are four rounds of Blender start-ups.
    @Test(arguments: Cheat.allCases)
    func aCheatingRendererIsCaughtByTheTilesSlashedAndItsFramesRenderedAgain(_ cheat: Cheat) async throws {
        let honest = try #require(await RenderRuntime.find(), "no Blender: install Debian's blender package")
        let network = try await TestNetwork.start(stakingOperatorC: true)
        let scene = try await Self.makeScene(with: honest, in: network.directory)
        let cheater = network.agent(
            operatorKey: network.operatorA, policy: AgentPolicy(askMicroPerCpuCoreHour: 1_000_000, maxConcurrentRuns: 1),
            rendering: try await Self.cheatingBlender(cheat, in: network.directory)
        )
        let checkers = [network.operatorB, network.operatorC].map {
            network.agent(operatorKey: $0, policy: AgentPolicy(askMicroPerCpuCoreHour: 1_000_000, maxConcurrentRuns: 2), rendering: honest)
        }
        let frames = 3
        // The cheater renders every frame first, alone; then the honest operators' nodes come to check them.
        let submitted = try await withAgents([cheater]) {
            let submitted = try await Self.submitRender(network, scene: scene, frames: frames)
            try await waitUntil("the cheater rendered every frame", timeoutS: 90) {
                let job = try await network.client.job(submitted.id)
                return job.tasks.allSatisfy { $0.runs.contains { $0.role == "primary" && $0.state == "completed" } }
            }
            return submitted
        }
        let job = try await withAgents(checkers) { try await network.settled(submitted.id, timeoutS: 300) }
        let cheaterNode = await cheater.nodeId
        let checks = job.cropChecks ?? []
        var caught = 0
        for task in job.tasks {
            let primaries = task.runs.filter { $0.role == "primary" && $0.state == "completed" }
            let primary = try #require(primaries.first)
            #expect(primary.nodeId == cheaterNode)
            let againstPrimary = checks.filter { $0.taskIndex == task.index && $0.againstRunId == primary.id }
            if cheat == .copiesANeighbour, againstPrimary.allSatisfy(\.matches) {
                // The first frame it rendered for real, and that one is honest work.
                #expect(task.state == "verified" && primary.paidMicro > 0 && primaries.count == 1)
                continue
            }
            caught += 1
            // The validator's tiles do not match the frame; the arbiter's match the validator's, not the frame.
            #expect(!againstPrimary.isEmpty && againstPrimary.allSatisfy { !$0.matches }, "\(againstPrimary)")
            let arbiter = try #require(task.runs.first { $0.role == "arbiter" && $0.state == "completed" }, "\(task.runs.map { "\($0.id) \($0.state)" })")
            #expect(checks.contains { $0.runId == arbiter.id && $0.againstRunId.contains(".r") && $0.identical })
            #expect(primary.paidMicro == 0 && arbiter.paidMicro > 0)
            #expect(primary.failure?.contains("outvoted") == true)
            // The requester still gets the frame: rendered again by an honest operator's node, checked again, paid.
            let redo = try #require(primaries.last, "no second frame: \(task.runs.map { "\($0.id) \($0.state)" })")
            #expect(primaries.count == 2 && redo.nodeId != cheaterNode && redo.paidMicro > 0 && task.state == "verified")
            #expect(checks.contains { $0.againstRunId == redo.id && $0.identical })
            let frame = try #require(try await Self.frame(of: redo, network))
            #expect(frame.width == Self.width && frame.height == Self.height)
            let figures = againstPrimary.map { $0.failure ?? $0.psnrDb.map { String(format: "%.1f dB", $0) } ?? "identical" }
            print("\(cheat.rawValue): frame \(task.index + 1) caught, the worst tile against the submitted frame: \(figures.joined(separator: ", ")); rendered again by another operator")
        }
        #expect(caught == (cheat == .copiesANeighbour ? frames - 1 : frames))
        // Each outvoted frame cost the cheater's operator part of its stake.
        let account = try await network.client.account(network.operatorA.address)
        #expect(account.stakedMicro < TestNetwork.operatorStakeMicro)
        #expect(job.state == "settled")
        await network.coordinator.drain()
        #expect(try await Auditor.audit(store: network.store).cropChecksRecomputed == checks.count)
        await network.stop()
    }
}
