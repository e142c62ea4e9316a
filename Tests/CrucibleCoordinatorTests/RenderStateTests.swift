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
        #expect(due.map(\.against.id) == ["\(jobId).0.p1"] && due.map(\.referenceIsTiles) == [false])
        #expect(state.cropChecksDue(for: try state.run("\(jobId).0.p1")).isEmpty)

        func check(_ runId: String, against: String, psnr: Int64?, crops tiles: [FrameCrop]? = nil) -> CropCheck {
            CropCheck(jobId: jobId, taskIndex: 0, runId: runId, againstRunId: against, crops: tiles ?? crops, comparison: .init(psnrMilliDb: psnr))
        }
        // Only a checking run's due comparison, once, may be logged.
        refused(.cropsCompared([]), "no comparison")
        refused(.cropsCompared([check("\(jobId).0.p1", against: "\(jobId).0.r1", psnr: nil)]), "no tiles of")
        refused(.cropsCompared([check("\(jobId).0.r1", against: "\(jobId).0.r1", psnr: nil)]), "no tiles of")
        refused(.cropsCompared([check("\(jobId).0.r1", against: "\(jobId).0.p1", psnr: nil), check("\(jobId).0.r1", against: "\(jobId).0.p1", psnr: nil)]), "already compared")
        refused(.cropsCompared([check("\(jobId).0.r1", against: "\(jobId).0.p1", psnr: nil, crops: [inside])]), "not the ones its task drew")

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
        #expect(arbiterDue.map(\.against.id) == ["\(jobId).0.p1", "\(jobId).0.r1"] && arbiterDue.map(\.referenceIsTiles) == [false, true])

        // A third operator's node re-renders the tiles: they match the validator's, not the frame.
        let operatorC = SigningIdentity(), nodeC = SigningIdentity()
        let registration = NodeRegistration.authorized(
            node: nodeC.address, by: operatorC, hardware: HardwareProfile(gpus: [], cpuModel: "c", cpuCores: 4, memoryMiB: 4096, os: "l"),
            policy: AgentPolicy(askMicroPerCpuCoreHour: 1_000_000), region: "r", agentVersion: "t"
        )
        try state.apply(try envelope(registration, .registerNode, nodeC), atMs: 4_300)
        try renderRun(arbiterId, on: nodeC, writing: "crop-0007-t00.png", atMs: 4_400, state: &state)
        try state.apply(.cropsCompared([check(arbiterId, against: "\(jobId).0.p1", psnr: 30_000), check(arbiterId, against: "\(jobId).0.r1", psnr: nil)]), atMs: 5_500)
        let outvoted = try state.expectedVerdict(jobId: jobId, taskIndex: 0)
        #expect(outvoted.outcome == .verified && outvoted.payments.map(\.runId) == ["\(jobId).0.r1", arbiterId] && outvoted.losingRunId == "\(jobId).0.p1")
        try state.apply(.verdict(outvoted), atMs: 5_600)
        // The checkers are paid, the cheater is not, and the requester still gets a frame: it is rendered again by a
        // node of another operator, and checked again from the start; the old comparisons stay as evidence.
        let task = try state.job(jobId).tasks[0]
        #expect(task.state == .pending && task.replicate == nil && task.crops.isEmpty && task.cropChecks.count == 3)
        #expect(try state.run("\(jobId).0.p1").paidMicro == 0 && (try state.run("\(jobId).0.p1").failure ?? "").contains("outvoted"))
        #expect(try state.run(arbiterId).paidMicro > 0 && state.nodes[nodeA.address]?.verifiedStreak == 0)
        let redo = try state.run("\(jobId).0.p2")
        #expect(redo.state == .queued && redo.excludedOperators == [operatorA.address] && redo.declinedBy[nodeA.address] != nil)
        try renderRun(redo.id, on: nodeB, writing: "frame-0007.png", atMs: 6_000, state: &state)
        let redrawn = Scheduler(nowMs: 7_100, onlineNodes: [], lastHeartbeatMs: [:]).nextDecision(in: state, using: &generator)
        guard case .sampled(jobId, 0, true, nil, let again?) = redrawn else { Issue.record("expected new tiles, got \(String(describing: redrawn))"); return }
        try state.apply(redrawn!, atMs: 7_100)
        #expect(try state.job(jobId).tasks[0].crops == again)
        // The new frame's validator is a second replica, under neither operator whose frame it checks now.
        let second = try state.run("\(jobId).0.r2")
        #expect(second.attempt == 2 && second.state == .queued && second.excludedOperators == [operatorB.address])
    }
}

extension NetworkStateTests {
    func submitReviewedRender(_ state: inout NetworkState, reviewS: Int?) throws -> String {
        let spec = JobSpec(
            name: "reviewed", kind: .render, command: "scene.blend",
            inputs: [.init(name: "scene.blend", sha256: Digest.sha256Hex("scene"), sizeBytes: 5)], taskCount: 2,
            resources: .init(cpuCores: 1), maxPriceMicroPerUnitHour: 2_000_000, maxDurationS: 3600,
            render: .init(frameStart: 1, width: 64, height: 48, samples: 8, reviewS: reviewS)
        )
        let applied = try state.apply(try envelope(JobSubmission(spec: spec), .submitJob, requester), atMs: 2)
        return try #require(applied.jobId)
    }

    @Test func requesterReviewHoldsPaymentAndTheFrameUntilApprovedOrLapsedAndARejectionIsReRendered() throws {
        var state = try genesis()
        let jobId = try submitReviewedRender(&state, reviewS: 60)
        let unreviewed = try submitReviewedRender(&state, reviewS: nil)
        try renderRun("\(jobId).0.p1", on: nodeA, writing: "frame-0001.png", atMs: 10, state: &state)
        try renderRun("\(jobId).1.p1", on: nodeA, writing: "frame-0002.png", atMs: 20, state: &state)
        // No replication: the frames await only their requester, and are withheld meanwhile.
        let frame = Digest.sha256Hex("\(jobId).0.p1")
        #expect(state.withheldFrames[frame] == "\(jobId).0.p1")
        #expect(state.reviewDueMs(try state.job(jobId), try state.job(jobId).tasks[0]) == 1_010 + 60_000)
        #expect(throws: CrucibleError.self) { try state.expectedVerdict(jobId: jobId, taskIndex: 0) }

        func refused(_ review: FrameReview, by signer: SigningIdentity? = nil, _ mentioned: String) {
            var copy = state
            do {
                try copy.apply(try envelope(review, .reviewFrames, signer ?? requester), atMs: 2_000)
                Issue.record("accepted \(review)")
            } catch let error as CrucibleError {
                #expect(error.message.contains(mentioned), "\(error.message)")
            } catch {
                Issue.record("unexpected \(error)")
            }
        }
        refused(FrameReview(jobId: jobId, approve: [0]), by: operatorA, "only the job's requester")
        refused(FrameReview(jobId: unreviewed, approve: [0]), "without review")
        refused(FrameReview(jobId: jobId), "at least one frame")
        refused(FrameReview(jobId: jobId, approve: [0], reject: [.init(taskIndex: 0, reason: "no")]), "appears twice")
        refused(FrameReview(jobId: jobId, approve: [7]), "task 7 is not awaiting review")
        refused(FrameReview(jobId: jobId, reject: [.init(taskIndex: 1, reason: "")]), "needs a reason")
        var early = state
        #expect(throws: CrucibleError.self) { try early.apply(.reviewLapsed(jobId: jobId, taskIndex: 0), atMs: 30_000) }

        // Task 0: nobody answers; at its due time the scheduler approves it, and it is paid and released.
        var generator = SplitMix64(seed: 3)
        var lapsed = state
        let decision = Scheduler(nowMs: 61_010, onlineNodes: [], lastHeartbeatMs: [:]).nextDecision(in: lapsed, using: &generator)
        #expect(decision == .reviewLapsed(jobId: jobId, taskIndex: 0))
        try lapsed.apply(decision!, atMs: 61_010)
        #expect(try lapsed.job(jobId).tasks[0].autoApproved && lapsed.withheldFrames[frame] == nil)
        #expect(try lapsed.expectedVerdict(jobId: jobId, taskIndex: 0).payments.map(\.runId) == ["\(jobId).0.p1"])

        // Task 1: rejected. The frame is rendered again elsewhere; the rejected run is neither paid nor slashed yet.
        try state.apply(try envelope(FrameReview(jobId: jobId, reject: [.init(taskIndex: 1, reason: "the monkey is purple")]), .reviewFrames, requester), atMs: 2_000)
        let task = try state.job(jobId).tasks[1]
        #expect(task.state == .pending && task.rejections.map(\.reason) == ["the monkey is purple"] && task.rejections.first?.runId == "\(jobId).1.p1")
        refused(FrameReview(jobId: jobId, reject: [.init(taskIndex: 1, reason: "again")]), "not awaiting review")
        let redo = try state.run("\(jobId).1.p2")
        #expect(redo.excludedOperators == [operatorA.address])
        try renderRun(redo.id, on: nodeB, writing: "frame-0002.png", atMs: 3_000, state: &state)
        // The re-render is compared, whole, with the rejected frame; its own review starts.
        let due = state.cropChecksDue(for: try state.run(redo.id))
        #expect(due.map(\.against.id) == ["\(jobId).1.p1"] && due.first?.candidateIsFrame == true && due.first?.crops == [FrameCrop(x: 0, y: 0, width: 64, height: 48)])
        try state.apply(.cropsCompared([CropCheck(jobId: jobId, taskIndex: 1, runId: redo.id, againstRunId: "\(jobId).1.p1", crops: due[0].crops, comparison: .init())]), atMs: 4_100)
        #expect(throws: CrucibleError.self) { try state.expectedVerdict(jobId: jobId, taskIndex: 1) }
        try state.apply(try envelope(FrameReview(jobId: jobId, approve: [1]), .reviewFrames, requester), atMs: 4_200)
        // Alike: the rejection was unfounded, so the rejected run is paid after all, and the re-render too.
        let verdict = try state.expectedVerdict(jobId: jobId, taskIndex: 1)
        #expect(verdict.outcome == .verified && verdict.payments.map(\.runId) == ["\(jobId).1.p1", redo.id] && verdict.losingRunId == nil)
        try state.apply(.verdict(verdict), atMs: 4_300)
        #expect(state.withheldFrames[Digest.sha256Hex("\(jobId).1.p1")] == nil && state.withheldFrames[Digest.sha256Hex(redo.id)] == nil)

        // Had the re-render differed, the rejected run would have lost.
        let differed = try {
            var copy = try genesis()
            let id = try submitReviewedRender(&copy, reviewS: 60)
            try renderRun("\(id).0.p1", on: nodeA, writing: "frame-0001.png", atMs: 10, state: &copy)
            try copy.apply(try envelope(FrameReview(jobId: id, reject: [.init(taskIndex: 0, reason: "wrong")]), .reviewFrames, requester), atMs: 2_000)
            try renderRun("\(id).0.p2", on: nodeB, writing: "frame-0001.png", atMs: 3_000, state: &copy)
            try copy.apply(.cropsCompared([CropCheck(jobId: id, taskIndex: 0, runId: "\(id).0.p2", againstRunId: "\(id).0.p1", crops: [FrameCrop(x: 0, y: 0, width: 64, height: 48)], comparison: .init(psnrMilliDb: 21_000))]), atMs: 4_100)
            try copy.apply(try envelope(FrameReview(jobId: id, approve: [0]), .reviewFrames, requester), atMs: 4_200)
            let lost = try copy.expectedVerdict(jobId: id, taskIndex: 0)
            #expect(lost.payments.map(\.runId) == ["\(id).0.p2"] && lost.losingRunId == "\(id).0.p1")
            try copy.apply(.verdict(lost), atMs: 4_300)
            #expect((try copy.run("\(id).0.p1").failure ?? "").contains("rejected by the requester"))
            #expect(try copy.job(id).tasks[0].state == .verified)
            return copy
        }()
        #expect(differed.withheldFrames.values.contains { $0.hasSuffix(".0.p1") })
    }
}

extension NetworkStateTests {
    @Test func aFramesCheckGoesOnlyToNodesWithItsRenderer() throws {
        var state = try genesis()
        let operatorC = SigningIdentity(), nodeC = SigningIdentity()
        // A and C render with one Blender; B, the cheapest, with another.
        for (node, op, renderer, ask) in [(nodeA, operatorA, "Blender 3.4.1", 1_000_000), (nodeB, operatorB, "Blender 4.2.0", 500_000), (nodeC, operatorC, "Blender 3.4.1", 1_500_000)] {
            let registration = NodeRegistration.authorized(
                node: node.address, by: op, hardware: HardwareProfile(gpus: [], cpuModel: "c", cpuCores: 4, memoryMiB: 4096, os: "l"),
                policy: AgentPolicy(askMicroPerCpuCoreHour: Int64(ask)), region: "r", agentVersion: "t", renderer: renderer
            )
            try state.apply(try envelope(registration, .registerNode, node), atMs: 1)
        }
        let jobId = try submitRender(&state)
        try renderRun("\(jobId).0.p1", on: nodeA, writing: "frame-0007.png", atMs: 10, state: &state)
        var generator = SplitMix64(seed: 2)
        let online: Set<String> = [nodeA.address, nodeB.address, nodeC.address]
        let sampled = try #require(Scheduler(nowMs: 2_000, onlineNodes: online, lastHeartbeatMs: [:]).nextDecision(in: state, using: &generator))
        try state.apply(sampled, atMs: 2_000)
        // B asks least, but its Blender would not give the same pixels: the check goes to C.
        let offer = Scheduler(nowMs: 2_100, onlineNodes: online, lastHeartbeatMs: [:]).nextDecision(in: state, using: &generator)
        guard case .offer(let runId, let nodeId, _, _, _) = offer else { Issue.record("expected an offer, got \(String(describing: offer))"); return }
        #expect(runId == "\(jobId).0.r1" && nodeId == nodeC.address)
        var copy = state
        do {
            try copy.apply(.offer(runId: runId, nodeId: nodeB.address, priceMicroPerUnitHour: 500_000, deadlineMs: 12_000), atMs: 2_100)
            Issue.record("a check was offered to a node with another renderer")
        } catch let error as CrucibleError {
            #expect(error.message.contains("rendered with Blender 3.4.1"), "\(error.message)")
        }
        // Registrations name their renderer within bounds.
        let long = NodeRegistration.authorized(
            node: nodeB.address, by: operatorB, hardware: HardwareProfile(gpus: [], cpuModel: "c", cpuCores: 4, memoryMiB: 4096, os: "l"),
            policy: AgentPolicy(askMicroPerCpuCoreHour: 1), region: "r", agentVersion: "t", renderer: String(repeating: "b", count: 129)
        )
        #expect(throws: CrucibleError.self) { try copy.apply(try envelope(long, .registerNode, nodeB), atMs: 2_200) }
    }
}
