import CrucibleCore
import CrucibleProof
import Foundation

/// Proof-of-GPU decisions: time-outs and timing verdicts of open challenges, the queries that follow a timely
/// commitment, and new challenges — at registration, after a failure, and at unannounced times.
extension Scheduler {
    func nextChallengeDecision(in state: NetworkState, using generator: inout some RandomNumberGenerator) -> LogEvent? {
        guard let seeds else { return nil }
        let policy = state.parameters.challenges
        // Of the unfetched challenges only the earliest issued can have timed out before the others; the rest are the
        // few that nodes are answering.
        let candidates = state.proofQueues.answering.union(state.proofQueues.unstarted.first.map { [$0] } ?? [])
        for id in candidates.sorted(by: Self.challengeOrder) {
            guard let record = state.challenges[id] else { continue }
            if let decision = progress(record, policy: policy, seeds: seeds, using: &generator) { return decision }
        }
        guard policy.required else { return nil }
        return nextIssue(in: state, policy: policy, seeds: seeds)
    }

    /// Challenge ids in the order they were issued.
    public static func challengeOrder(_ lhs: String, _ rhs: String) -> Bool {
        (lhs.utf8.count, lhs) < (rhs.utf8.count, rhs)
    }

    private func progress(
        _ record: ChallengeRecord, policy: ChallengePolicy, seeds: ChallengeSeeds, using generator: inout some RandomNumberGenerator
    ) -> LogEvent? {
        func fail(_ reason: String, computeMs: Int64? = nil, tops: [Double] = []) -> LogEvent {
            .challengeJudged(ChallengeVerdict(
                challengeId: record.id, nodeId: record.nodeId, passed: false, reason: reason, computeMs: computeMs,
                deviceTops: tops, checks: [], seeds: seeds.seeds(for: record.issue).map(\.hexString)
            ))
        }
        switch record.state {
        case .issued:
            if nowMs - record.issuedMs > policy.startTimeoutMs {
                return fail("did not fetch the challenge within \(policy.startTimeoutMs / 1000) s")
            }
        case .started:
            if let deadline = record.deadlineMs, nowMs > deadline {
                return fail("no commitment before the deadline (\(deadline - (record.startedMs ?? deadline)) ms after the start)")
            }
        case .committed:
            guard let started = record.startedMs, let committed = record.committedMs, let deadline = record.deadlineMs,
                  let computeMs = record.computeMs
            else { return nil }
            let tops = record.achievedTops
            if committed > deadline {
                return fail("late: committed \(committed - started) ms after the start; the deadline was \(deadline - started) ms", computeMs: computeMs, tops: tops)
            }
            for (device, achieved) in zip(record.issue.devices, tops) where achieved < policy.floorTops(claimedTops: device.claimedTops) {
                return fail(
                    "device \(device.index) achieved \(Self.formatTops(achieved)) TOPS, below the floor of \(Self.formatTops(policy.floorTops(claimedTops: device.claimedTops))) for \(device.model)",
                    computeMs: computeMs, tops: tops
                )
            }
            let queries = record.issue.devices.map { device in
                (0..<policy.openings).map { _ in
                    ChallengeVerifier.Query(t: Int.random(in: 0..<device.m, using: &generator), i: Int.random(in: 0..<device.n, using: &generator))
                }
            }
            return .challengeQueried(challengeId: record.id, queries: queries)
        case .queried, .opened:
            if let queried = record.queriedMs, nowMs - queried > policy.openTimeoutMs {
                return fail("did not open the queried rows within \(policy.openTimeoutMs / 1000) s")
            }
        case .passed, .failed, .voided:
            break
        }
        return nil
    }

    /// The next node to challenge, with every node that reports one of its GPUs, all at this instant: a new node first,
    /// then the node whose failure is oldest once its retry is due, then a proven node whose unannounced time came.
    private func nextIssue(in state: NetworkState, policy: ChallengePolicy, seeds: ChallengeSeeds) -> LogEvent? {
        func isIdle(_ nodeId: String) -> Bool { state.isIdle(nodeId, atMs: nowMs) }
        var next: (nodeId: String, reason: ChallengeIssue.Reason)?
        if let nodeId = state.proofQueues.pending.filter(onlineNodes.contains).min() {
            next = (nodeId, .registration)
        } else if let entry = state.proofQueues.failed.prefix(while: { nowMs - $0.judgedMs >= policy.retryMs }).first(where: { entry in
            let open = state.nodes[entry.nodeId]?.proof.openChallengeId
            return state.isLatestFailure(entry) && open == nil && onlineNodes.contains(entry.nodeId) && isIdle(entry.nodeId)
        }) {
            next = (entry.nodeId, .retry)
        } else if let nodeId = challengeDue.filter({ nodeId in
            guard let proof = state.nodes[nodeId]?.proof else { return false }
            return proof.status == .proven && proof.openChallengeId == nil && onlineNodes.contains(nodeId) && isIdle(nodeId)
        }).min() {
            next = (nodeId, .scheduled)
        }
        guard let (firstId, reason) = next, let first = state.nodes[firstId] else { return nil }
        let uuids = first.registration.hardware.gpus.compactMap(\.uuid)
        var sharing = Set<String>()
        for uuid in uuids { sharing.formUnion(state.proofQueues.nodesByGPUUUID[uuid] ?? []) }
        let duplicates: [NodeRecord] = sharing.sorted().compactMap { nodeId in
            guard nodeId != first.id, let node = state.nodes[nodeId], node.proof.openChallengeId == nil, node.proof.status != .unverified else { return nil }
            return node
        }
        var issues = [ChallengeIssue]()
        for (offset, node) in ([first] + duplicates).enumerated() {
            let id = "challenge-\(state.challengeCount + 1 + offset)"
            guard let issue = Self.issue(id: id, node: node, reason: offset == 0 ? reason : .duplicate, policy: policy, seeds: seeds) else { continue }
            issues.append(issue)
        }
        return issues.isEmpty ? nil : .challengesIssued(issues)
    }

    /// One challenge for one node: a device per claimed GPU (or its CPU), sized to the claim.
    static func issue(id: String, node: NodeRecord, reason: ChallengeIssue.Reason, policy: ChallengePolicy, seeds: ChallengeSeeds) -> ChallengeIssue? {
        guard let claimed = NetworkState.claimedDevices(node.registration.hardware) else { return nil }
        var budgetMs: Int64 = 1
        var devices = [ChallengeDevice]()
        for (position, device) in claimed.enumerated() {
            let claimedTops = device.model.claimedInt8Tops(cpuCores: node.registration.hardware.cpuCores)
            let size = policy.size(claimedTops: claimedTops, kind: device.model.kind)
            let seed = seeds.seed(challengeId: id, device: position)
            guard let challenge = try? GPUChallenge(seed: seed, n: size.n, m: size.m) else { return nil }
            budgetMs = max(budgetMs, policy.budgetMs(challenge, claimedTops: claimedTops))
            devices.append(ChallengeDevice(
                index: device.index, gpuUuid: device.uuid, model: device.model.id, claimedTops: claimedTops,
                n: size.n, m: size.m, seedSha256: Digest.sha256Hex(seed)
            ))
        }
        return ChallengeIssue(challengeId: id, nodeId: node.id, reason: reason, devices: devices, budgetMs: budgetMs)
    }

    static func formatTops(_ tops: Double) -> String {
        tops >= 1 ? String(format: "%.1f", tops) : String(format: "%.4f", tops)
    }
}
