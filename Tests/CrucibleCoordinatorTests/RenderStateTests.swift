import CrucibleCoordinator
import CrucibleCore
import CrucibleProof
import Foundation
import Testing

/// Proof of render in the state machine: the crop a sampled render task is checked on, the comparisons the log may
/// carry, and the verdict that follows from them.
extension NetworkStateTests {
    func submitRender(_ state: inout NetworkState) throws -> String {
        let spec = JobSpec(
            name: "r", kind: .render, command: "scene.blend",
            inputs: [.init(name: "scene.blend", sha256: Digest.sha256Hex("scene"), sizeBytes: 5)], taskCount: 1,
            resources: .init(cpuCores: 1), maxPriceMicroPerUnitHour: 2_000_000, maxDurationS: 3600,
            verification: .init(policy: .replicate, samplePpm: 1_000_000), render: .init(frameStart: 7, width: 64, height: 48, samples: 8)
        )
        let applied = try state.apply(try envelope(JobSubmission(spec: spec), .submitJob, requester), atMs: 1)
        return try #require(applied.jobId)
    }

    func renderRun(_ runId: String, on node: SigningIdentity, writing path: String, atMs startMs: Int64, state: inout NetworkState) throws {
        try state.apply(.offer(runId: runId, nodeId: node.address, priceMicroPerUnitHour: 1_000_000, deadlineMs: startMs + 10_000), atMs: startMs)
        try state.apply(try envelope(OfferResponse(runId: runId, accept: true), .respondOffer, node), atMs: startMs)
        let output = OutputFile(path: path, sha256: Digest.sha256Hex(runId), sizeBytes: 100)
        try state.apply(try envelope(RunReport(runId: runId, exitCode: 0, outputs: [output], durationMs: 1_000), .reportResult, node), atMs: startMs + 1_000)
    }

    @Test func aRenderTaskIsCheckedOnACropInsideItsFrameAndSettledByTheComparison() throws {
        var state = try genesis()
        let jobId = try submitRender(&state)
        try renderRun("\(jobId).0.p1", on: nodeA, writing: "frame-0007.png", atMs: 10, state: &state)
        func refused(_ event: LogEvent, _ mentioned: String) {
            var copy = state
            do {
                try copy.apply(event, atMs: 2_000)
                Issue.record("accepted \(event.typeName)")
            } catch let error as CrucibleError {
                #expect(error.message.contains(mentioned), "\(error.message)")
            } catch {
                Issue.record("unexpected \(error)")
            }
        }
        // The replica of a render task re-renders tiles, which must lie inside the 64×48 frame.
        let inside = FrameCrop(x: 0, y: 0, width: 8, height: 6)
        refused(.sampled(jobId: jobId, taskIndex: 0, replicate: true), "needs 1 to 256 tiles")
        refused(.sampled(jobId: jobId, taskIndex: 0, replicate: true, crops: []), "needs 1 to 256 tiles")
        refused(.sampled(jobId: jobId, taskIndex: 0, replicate: true, crops: [inside, FrameCrop(x: 60, y: 0, width: 8, height: 6)]), "inside its 64×48 frame")
        refused(.sampled(jobId: jobId, taskIndex: 0, replicate: true, crops: Array(repeating: inside, count: 257)), "needs 1 to 256 tiles")
        refused(.sampled(jobId: jobId, taskIndex: 0, replicate: false, crops: [inside]), "only a replicated render task")
        // The scheduler draws the governed number of tiles covering the governed share of the frame between them
        // (16 tiles covering 1/16: each a sixteenth of each side).
        var generator = SplitMix64(seed: 1)
        let drawn = Scheduler(nowMs: 2_000, onlineNodes: [], lastHeartbeatMs: [:]).nextDecision(in: state, using: &generator)
        guard case .sampled(jobId, 0, true, nil, let crops?) = drawn else { Issue.record("expected tiles drawn, got \(String(describing: drawn))"); return }
        #expect(crops.count == 16 && crops.allSatisfy { $0.width == 4 && $0.height == 3 && $0.fits(frameWidth: 64, frameHeight: 48) })
        try state.apply(drawn!, atMs: 2_000)
        #expect(try state.job(jobId).tasks[0].crops == crops)

        try renderRun("\(jobId).0.r1", on: nodeB, writing: "crop-0007-t00.png", atMs: 3_000, state: &state)
        // Until the coordinator's comparison is in, nothing is decided.
        #expect(throws: CrucibleError.self) { try state.expectedVerdict(jobId: jobId, taskIndex: 0) }
        #expect(!state.needsArbitration(try state.job(jobId).tasks[0], of: try state.job(jobId)))
        let due = state.cropChecksDue(for: try state.run("\(jobId).0.r1"))
        #expect(due.map(\.against.id) == ["\(jobId).0.p1"] && due.map(\.referenceIsCrop) == [false])
        #expect(state.cropChecksDue(for: try state.run("\(jobId).0.p1")).isEmpty)

        func check(_ runId: String, against: String, psnr: Int64?) -> CropCheck {
            CropCheck(jobId: jobId, taskIndex: 0, runId: runId, againstRunId: against, comparison: .init(psnrMilliDb: psnr))
        }
        // Only a checking run's due comparison, once, may be logged.
        refused(.cropsCompared([]), "no comparison")
        refused(.cropsCompared([check("\(jobId).0.p1", against: "\(jobId).0.r1", psnr: nil)]), "no tiles of")
        refused(.cropsCompared([check("\(jobId).0.r1", against: "\(jobId).0.r1", psnr: nil)]), "no tiles of")
        refused(.cropsCompared([check("\(jobId).0.r1", against: "\(jobId).0.p1", psnr: nil), check("\(jobId).0.r1", against: "\(jobId).0.p1", psnr: nil)]), "already compared")

        // A match within the threshold pays both runs.
        var matched = state
        try matched.apply(.cropsCompared([check("\(jobId).0.r1", against: "\(jobId).0.p1", psnr: 52_000)]), atMs: 4_100)
        let verdict = try matched.expectedVerdict(jobId: jobId, taskIndex: 0)
        #expect(verdict.outcome == .verified && verdict.payments.map(\.runId) == ["\(jobId).0.p1", "\(jobId).0.r1"])
        var again = matched
        #expect(throws: CrucibleError.self) { try again.apply(.cropsCompared([check("\(jobId).0.r1", against: "\(jobId).0.p1", psnr: nil)]), atMs: 4_200) }

        // Below the threshold (a frame at fewer samples): an arbiter under a third operator is called for.
        try state.apply(.cropsCompared([check("\(jobId).0.r1", against: "\(jobId).0.p1", psnr: 36_000)]), atMs: 4_100)
        #expect(state.needsArbitration(try state.job(jobId).tasks[0], of: try state.job(jobId)))
        #expect(throws: CrucibleError.self) { try state.expectedVerdict(jobId: jobId, taskIndex: 0) }
        try state.apply(.arbitrationOpened(jobId: jobId, taskIndex: 0), atMs: 4_200)
        // An arbiter's crop is due against both the frame and the validator's crop.
        let arbiterId = "\(jobId).0.a1"
        let arbiter = try state.run(arbiterId)
        #expect(arbiter.role == .arbiter && arbiter.excludedOperators.sorted() == [operatorA.address, operatorB.address].sorted())
        let arbiterDue = state.cropChecksDue(for: arbiter)
        #expect(arbiterDue.map(\.against.id) == ["\(jobId).0.p1", "\(jobId).0.r1"] && arbiterDue.map(\.referenceIsCrop) == [false, true])
    }
}
