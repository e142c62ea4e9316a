import CrucibleCore
import CrucibleLedger
import CrucibleProof
import Foundation

/// The proof-of-GPU transitions (ARCHITECTURE §4). Issue, start, query and verdict are the coordinator's decisions;
/// commitments and openings are the node's signed envelopes. Like every transition, each checks before it changes.
extension NetworkState {
    /// The devices a registration asks to be proven, or nil when a GPU's model is not in the catalog (the node is
    /// then listed as unverified, with no score).
    public static func claimedDevices(_ hardware: HardwareProfile) -> [(index: Int, uuid: String?, model: GPUModel)]? {
        if hardware.gpus.isEmpty { return [(0, nil, GPUCatalog.cpu)] }
        var devices = [(index: Int, uuid: String?, model: GPUModel)]()
        for gpu in hardware.gpus {
            guard let id = gpu.model, let model = GPUCatalog.models.first(where: { $0.id == id }) else { return nil }
            devices.append((gpu.index, gpu.uuid, model))
        }
        return devices
    }

    /// A node's proof status as it registers: unverified for unknown models, otherwise pending unless the hardware
    /// is what it already proved.
    func proofOnRegistration(_ registration: NodeRegistration, previous: NodeRecord?) -> NodeProof {
        guard Self.claimedDevices(registration.hardware) != nil else {
            var proof = previous?.proof ?? NodeProof(status: .unverified)
            proof.status = .unverified
            proof.deviceTops = []
            return proof
        }
        guard var proof = previous?.proof else { return NodeProof(status: .pending) }
        if previous?.registration.hardware != registration.hardware || proof.status == .unverified {
            proof.status = .pending
            proof.deviceTops = []
        }
        return proof
    }

    /// Whether the matcher may offer work to this node now.
    public func isMatchable(_ node: NodeRecord) -> Bool {
        guard isStaked(node) else { return false }
        guard parameters.challenges.required else { return true }
        return node.proof.status == .proven && node.proof.openChallengeId == nil
    }

    public func challenge(_ id: String) throws -> ChallengeRecord {
        guard let challenge = challenges[id] else { throw CrucibleError(.notFound, "no challenge \(id)") }
        return challenge
    }

    /// The next challenge id; ids follow the order of issue so a replay gives the same ones.
    public var nextChallengeId: String { "challenge-\(challengeCount + 1)" }

    // MARK: - Decisions

    mutating func issueChallenges(_ issues: [ChallengeIssue], atMs nowMs: Int64, changes: inout Changes) throws {
        guard !issues.isEmpty else { throw CrucibleError(.malformed, "no challenge to issue") }
        var seen = Set<String>()
        for (offset, issue) in issues.enumerated() {
            guard issue.challengeId == "challenge-\(challengeCount + 1 + offset)" else {
                throw CrucibleError(.conflict, "challenge ids are issued in order; expected challenge-\(challengeCount + 1 + offset)")
            }
            guard let node = nodes[issue.nodeId] else { throw CrucibleError(.notFound, "no node \(issue.nodeId)") }
            guard node.proof.openChallengeId == nil, seen.insert(issue.nodeId).inserted else {
                throw CrucibleError(.conflict, "node \(issue.nodeId) already has an open challenge")
            }
            guard node.proof.status != .unverified else { throw CrucibleError(.conflict, "node \(issue.nodeId) claims a model the catalog does not know") }
            guard !issue.devices.isEmpty, issue.budgetMs > 0 else { throw CrucibleError(.malformed, "a challenge tests at least one device within a positive budget") }
            for device in issue.devices {
                guard Digest.isValidHex(device.seedSha256), device.claimedTops > 0 else { throw CrucibleError(.malformed, "a device needs a seed digest and a claim") }
                _ = try GPUChallenge(seed: Data(count: ChallengeGenerator.seedBytes), n: device.n, m: device.m)
            }
        }
        for issue in issues {
            challenges[issue.challengeId] = ChallengeRecord(issue: issue, issuedMs: nowMs)
            openChallengeIds.insert(issue.challengeId)
            nodes[issue.nodeId]!.proof.openChallengeId = issue.challengeId
            changes.nodes.insert(issue.nodeId)
            changes.challenges.insert(issue.challengeId)
            proofQueues.unstarted.append(issue.challengeId)
            proofQueues.pending.remove(issue.nodeId)
        }
        challengeCount += issues.count
    }

    mutating func startChallenge(_ id: String, roundTripMs: Int64, atMs nowMs: Int64, changes: inout Changes) throws {
        let record = try challenge(id)
        guard record.state == .issued else { throw CrucibleError(.conflict, "challenge \(id) is \(record.state.rawValue), not issued") }
        guard (0...parameters.challenges.roundTripMaxMs).contains(roundTripMs) else {
            throw CrucibleError(.malformed, "the credited round trip must be between 0 and \(parameters.challenges.roundTripMaxMs) ms")
        }
        challenges[id]!.state = .started
        challenges[id]!.startedMs = nowMs
        challenges[id]!.roundTripMs = roundTripMs
        challenges[id]!.deadlineMs = nowMs + record.issue.budgetMs + roundTripMs
        changes.challenges.insert(id)
        proofQueues.answering.insert(id)
        pruneProofQueues()
    }

    mutating func queryChallenge(_ id: String, queries: [[ChallengeVerifier.Query]], atMs nowMs: Int64, changes: inout Changes) throws {
        let record = try challenge(id)
        guard record.state == .committed else { throw CrucibleError(.conflict, "challenge \(id) is \(record.state.rawValue), not committed") }
        guard queries.count == record.issue.devices.count else { throw CrucibleError(.malformed, "one list of queries per device") }
        for (device, list) in zip(record.issue.devices, queries) {
            guard list.count == parameters.challenges.openings,
                  list.allSatisfy({ (0..<device.m).contains($0.t) && (0..<device.n).contains($0.i) })
            else { throw CrucibleError(.malformed, "queries must be \(parameters.challenges.openings) rows of the device's products") }
        }
        challenges[id]!.state = .queried
        challenges[id]!.queries = queries
        challenges[id]!.queriedMs = nowMs
        changes.challenges.insert(id)
    }

    mutating func judgeChallenge(_ verdict: ChallengeVerdict, atMs nowMs: Int64, changes: inout Changes) throws {
        let record = try challenge(verdict.challengeId)
        guard record.state.isOpen else { throw CrucibleError(.conflict, "challenge \(record.id) is already \(record.state.rawValue)") }
        guard verdict.nodeId == record.nodeId else { throw CrucibleError(.malformed, "the verdict names another node") }
        let devices = record.issue.devices
        guard verdict.seeds.count == devices.count,
              zip(verdict.seeds, devices).allSatisfy({ Data(hexString: $0.0).map(Digest.sha256Hex) == $0.1.seedSha256 })
        else { throw CrucibleError(.malformed, "the revealed seeds are not the ones fixed at issue") }
        guard !verdict.passed || (verdict.deviceTops.count == devices.count && record.state == .opened) else {
            throw CrucibleError(.malformed, "a pass needs opened rows and a score per device")
        }
        challenges[record.id]!.state = verdict.passed ? .passed : .failed
        challenges[record.id]!.verdict = verdict
        changes.challenges.insert(record.id)
        openChallengeIds.remove(record.id)
        var proof = nodes[record.nodeId]!.proof
        proof.openChallengeId = nil
        proof.lastJudgedMs = nowMs
        if verdict.passed {
            proof.passed += 1
            proof.consecutiveFailures = 0
            proof.deviceTops = verdict.deviceTops
            if proof.status != .unverified { proof.status = .proven }
        } else {
            proof.failed += 1
            proof.consecutiveFailures += 1
            proof.deviceTops = []
            if proof.status != .unverified { proof.status = .failed }
        }
        nodes[record.nodeId]!.proof = proof
        changes.nodes.insert(record.nodeId)
        proofQueues.answering.remove(record.id)
        if proof.status == .failed { proofQueues.failed.append(.init(nodeId: record.nodeId, judgedMs: nowMs)) }
        reindexProof(of: record.nodeId)
        if verdict.passed {
            creditAvailability(record, proof: proof)
        } else if record.state == .opened {
            // Rows were opened and did not hold up: the node committed to work it had not done. That is proven
            // spoofing, not slowness, and costs stake; the audit rechecks the openings from the stored blob.
            try slash(
                nodeId: record.nodeId, reason: .spoofedHardware, bps: parameters.economy.slashSpoofBps, evidence: record.id,
                reporter: nil, atMs: nowMs, changes: &changes
            )
        }
    }

    mutating func voidChallenges(_ ids: [String], changes: inout Changes) throws {
        guard !ids.isEmpty, Set(ids).count == ids.count else { throw CrucibleError(.malformed, "name each challenge to void once") }
        for id in ids {
            guard try challenge(id).state.isOpen else { throw CrucibleError(.conflict, "challenge \(id) is not open") }
        }
        for id in ids {
            let nodeId = challenges[id]!.nodeId
            challenges[id]!.state = .voided
            changes.challenges.insert(id)
            openChallengeIds.remove(id)
            // The node keeps the standing it had; without an open challenge it is matched or challenged again.
            nodes[nodeId]?.proof.openChallengeId = nil
            changes.nodes.insert(nodeId)
            proofQueues.answering.remove(id)
            reindexProof(of: nodeId)
        }
    }

    // MARK: - Envelopes

    mutating func commitChallenge(_ nodeId: String, _ commitment: ChallengeCommitment, atMs nowMs: Int64, changes: inout Changes) throws {
        let record = try challenge(commitment.challengeId)
        guard record.nodeId == nodeId else { throw CrucibleError(.forbidden, "challenge \(record.id) was issued to another node") }
        guard record.state == .started else {
            throw CrucibleError(.conflict, record.state == .issued ? "start challenge \(record.id) first" : "challenge \(record.id) is already \(record.state.rawValue)")
        }
        guard commitment.roots.count == record.issue.devices.count,
              commitment.roots.allSatisfy({ $0.utf8.count == 64 && Digest.isValidHex($0) })
        else { throw CrucibleError(.malformed, "commit one SHA-256 root (64 hex digits) per device: \(record.issue.devices.count)") }
        // A late commitment is logged all the same: the verdict that follows says it was late.
        challenges[record.id]!.state = .committed
        challenges[record.id]!.committedMs = nowMs
        challenges[record.id]!.roots = commitment.roots
        changes.challenges.insert(record.id)
    }

    mutating func openChallenge(_ nodeId: String, _ openings: ChallengeOpenings, atMs nowMs: Int64, changes: inout Changes) throws {
        let record = try challenge(openings.challengeId)
        guard record.nodeId == nodeId else { throw CrucibleError(.forbidden, "challenge \(record.id) was issued to another node") }
        guard record.state == .queried, let queried = record.queriedMs else {
            throw CrucibleError(.conflict, "challenge \(record.id) is \(record.state.rawValue), not waiting for openings")
        }
        guard nowMs - queried <= parameters.challenges.openTimeoutMs else {
            throw CrucibleError(.offerExpired, "the openings for challenge \(record.id) were due within \(parameters.challenges.openTimeoutMs / 1000) s")
        }
        guard openings.openingsSha256.utf8.count == 64, Digest.isValidHex(openings.openingsSha256) else {
            throw CrucibleError(.malformed, "openingsSha256 must be 64 hex digits")
        }
        challenges[record.id]!.state = .opened
        challenges[record.id]!.openingsSha256 = openings.openingsSha256
        changes.challenges.insert(record.id)
    }
}
