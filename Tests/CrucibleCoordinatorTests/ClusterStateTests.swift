import CrucibleCoordinator
import CrucibleCore
import CrucibleLedger
import CrucibleProof
import Testing

/// Cluster jobs in the state machine: the latency matrix from the agents' own link reports, gangs placed whole on
/// cluster-ready nodes within the job's round trip, started only when every member accepted, withdrawn whole, run
/// again whole when a member fails, and paid member by member. Every forged decision is refused and changes nothing.
@Suite struct ClusterStateTests {
    let requester = SigningIdentity()
    let operatorA = SigningIdentity()
    let operatorB = SigningIdentity()
    /// a, b, c, d join clusters; e registered no peer endpoint.
    let a = SigningIdentity(), b = SigningIdentity(), c = SigningIdentity(), d = SigningIdentity(), e = SigningIdentity()
    let parameters = NetworkParameters(attemptsMax: 2, challenges: ChallengePolicy(required: false), economy: .none)

    var online: Set<String> { Set([a, b, c, d, e].map(\.address)) }

    func genesis() throws -> NetworkState {
        var state = NetworkState()
        try state.apply(.genesis(.init(coordinator: SigningIdentity().address, parameters: parameters, allocations: [
            .init(address: requester.address, amountMicro: 1_000_000_000),
        ])), atMs: 0)
        let hardware = HardwareProfile(gpus: [], cpuModel: "c", cpuCores: 8, memoryMiB: 16_384, os: "l")
        for (index, (node, wallet)) in [(a, operatorA), (b, operatorA), (c, operatorB), (d, operatorB), (e, operatorB)].enumerated() {
            let registration = NodeRegistration.authorized(
                node: node.address, by: wallet, hardware: hardware, policy: AgentPolicy(askMicroPerCpuCoreHour: 100_000 + Int64(index) * 1_000),
                region: "r", agentVersion: "t", peerEndpoint: node.address == e.address ? nil : "10.0.0.\(index + 1):7\(index)00"
            )
            try state.apply(.envelope(try SignedEnvelope.sign(registration, kind: .registerNode, by: node)), atMs: 0)
        }
        return state
    }

    /// Both ends report the link between `lhs` and `rhs`, each with its own figure.
    func link(_ state: inout NetworkState, _ lhs: SigningIdentity, _ rhs: SigningIdentity, microseconds: Int64, atMs: Int64 = 1) throws {
        try report(&state, by: lhs, [.init(peer: rhs.address, roundTripUs: microseconds, bandwidthMbps: 9_000)], atMs: atMs)
        try report(&state, by: rhs, [.init(peer: lhs.address, roundTripUs: microseconds + 100, bandwidthMbps: 9_000)], atMs: atMs)
    }

    func report(_ state: inout NetworkState, by node: SigningIdentity, _ links: [LinkReport.Link], atMs: Int64 = 1) throws {
        try state.apply(.envelope(try SignedEnvelope.sign(LinkReport(links: links), kind: .reportLinks, by: node)), atMs: atMs)
    }

    func submit(_ state: inout NetworkState, nodes: Int = 2, roundTripMs: Int = 5) throws -> String {
        let spec = JobSpec(
            name: "train", command: "true", resources: .init(gpuMilli: 0, cpuCores: 2, memoryMiB: 1024), maxPriceMicroPerUnitHour: 500_000,
            maxDurationS: 600, cluster: .init(nodes: nodes, roundTripMsMax: roundTripMs)
        )
        return try #require(try state.apply(.envelope(try SignedEnvelope.sign(JobSubmission(spec: spec), kind: .submitJob, by: requester)), atMs: 2).jobId)
    }

    func decide(_ state: NetworkState, atMs: Int64 = 10) -> LogEvent? {
        var generator = SystemRandomNumberGenerator()
        return Scheduler(nowMs: atMs, onlineNodes: online, lastHeartbeatMs: [:]).nextDecision(in: state, using: &generator)
    }

    func respond(_ state: inout NetworkState, _ node: SigningIdentity, _ runId: String, accept: Bool = true, port: Int? = 29_500, atMs: Int64 = 20) throws {
        try state.apply(.envelope(try SignedEnvelope.sign(OfferResponse(runId: runId, accept: accept, peerPort: accept ? port : nil), kind: .respondOffer, by: node)), atMs: atMs)
    }

    func finish(_ state: inout NetworkState, _ node: SigningIdentity, _ runId: String, exitCode: Int32 = 0, atMs: Int64) throws {
        let report = RunReport(runId: runId, exitCode: exitCode, outputs: [], durationMs: atMs)
        try state.apply(.envelope(try SignedEnvelope.sign(report, kind: .reportResult, by: node)), atMs: atMs)
    }

    func gangOffer(_ decision: LogEvent?, sourceLocation: SourceLocation = #_sourceLocation) throws -> GangOffer {
        guard case .gangOffer(let offer) = decision else {
            Issue.record("expected a gang offer, got \(String(describing: decision))", sourceLocation: sourceLocation)
            throw CrucibleError(.conflict, "no gang offer")
        }
        return offer
    }

    func expectRefused(_ event: LogEvent, _ state: NetworkState, atMs: Int64 = 10, code: CrucibleError.Code = .conflict, sourceLocation: SourceLocation = #_sourceLocation) {
        var copy = state
        #expect(sourceLocation: sourceLocation) { try copy.apply(event, atMs: atMs) } throws: { ($0 as? CrucibleError)?.code == code }
        #expect(copy.runs == state.runs, sourceLocation: sourceLocation)
        #expect(copy.links == state.links, sourceLocation: sourceLocation)
        #expect(copy.projectionSnapshot() == state.projectionSnapshot(), sourceLocation: sourceLocation)
    }

    @Test func aGangIsPlacedOnlyOnLinksMeasuredBothWaysWithinTheBound() throws {
        var state = try genesis()
        let job = try submit(&state)
        #expect(decide(state) == nil, "no link is measured yet")
        let waiting = try #require(state.whyWaiting(jobId: job, onlineNodes: online, atMs: 10))
        #expect(waiting.contains("needs 2 cluster-ready nodes within 5 ms"))
        #expect(waiting.contains("0 of 5 online nodes are cluster-ready"))

        try report(&state, by: a, [.init(peer: b.address, roundTripUs: 800, bandwidthMbps: 9_000)])
        #expect(decide(state) == nil, "one end's word is not a link")
        #expect(state.roundTripMs(between: a.address, and: b.address, atMs: 10) == nil)
        try link(&state, c, d, microseconds: 9_000)
        #expect(decide(state) == nil, "c and d are 9 ms apart, over the job's 5 ms")
        #expect(state.isClusterReady(c.address, atMs: 10))
        #expect(!state.isClusterReady(e.address, atMs: 10), "e has no peer endpoint")

        try report(&state, by: b, [.init(peer: a.address, roundTripUs: 1_200, bandwidthMbps: 8_000)])
        // The worse of the two ends' figures counts.
        #expect(state.roundTripMs(between: a.address, and: b.address, atMs: 10) == 1.2)
        let offer = try gangOffer(decide(state))
        #expect(offer.members.map(\.runId) == ["\(job).0.p1.m0", "\(job).0.p1.m1"])
        #expect(Set(offer.members.map(\.nodeId)) == [a.address, b.address])
        // Each member is paid its own node's ask.
        #expect(offer.members.map(\.priceMicroPerUnitHour) == offer.members.map { $0.nodeId == a.address ? 100_000 : 101_000 })

        // A measurement older than linkFreshMs no longer places anyone.
        let later = 1 + parameters.linkFreshMs + 1
        #expect(decide(state, atMs: later) == nil)
        #expect(!state.isClusterReady(a.address, atMs: later))
    }

    @Test func aGangStartsWhenEveryMemberAcceptedAndEachMemberIsPaid() throws {
        var state = try genesis()
        try link(&state, a, b, microseconds: 500)
        let job = try submit(&state)
        let offer = try gangOffer(decide(state))
        try state.apply(.gangOffer(offer), atMs: 10)
        let (rank0, rank1) = (offer.members[0], offer.members[1])
        let node0 = rank0.nodeId == a.address ? a : b, node1 = rank0.nodeId == a.address ? b : a
        #expect(state.openOffers(for: node0.address, atMs: 11).map(\.id) == [rank0.runId])

        try respond(&state, node0, rank0.runId, port: 29_500)
        #expect(state.runs[rank0.runId]?.state == .offered, "accepted, waiting for its peer")
        #expect(state.openOffers(for: node0.address, atMs: 21).isEmpty, "an accepted offer is not offered again")
        #expect(state.acceptedGangRuns(for: node0.address).map(\.id) == [rank0.runId])
        expectRefused(.envelope(try SignedEnvelope.sign(OfferResponse(runId: rank0.runId, accept: true, peerPort: 29_501), kind: .respondOffer, by: node0)), state, code: .conflict)

        try respond(&state, node1, rank1.runId, port: 29_600, atMs: 30)
        let started = try #require(state.runs[rank0.runId])
        #expect(started.state == .running && state.runs[rank1.runId]?.state == .running)
        #expect(started.startedMs == 30 && state.runs[rank1.runId]?.startedMs == 30, "the gang starts at the last acceptance")
        let peers = state.peers(of: started)
        #expect(peers.map(\.rank) == [0, 1])
        #expect(peers.map(\.port) == [29_500, 29_600])
        #expect(peers.map(\.host) == [node0, node1].map { $0.address == a.address ? "10.0.0.1" : "10.0.0.2" })
        #expect(state.jobs[job]?.state == .running)

        try finish(&state, node0, rank0.runId, atMs: 360_030)
        #expect(state.jobs[job]?.tasks[0].state == .pending, "one member done is not the task done")
        try finish(&state, node1, rank1.runId, atMs: 360_030)
        #expect(state.jobs[job]?.tasks[0].state == .verifying)
        guard case .verdict(let verdict) = decide(state, atMs: 360_040) else { Issue.record("expected a verdict"); return }
        // Six minutes on 2 cores at each node's own ask.
        #expect(verdict.payments.map(\.runId) == [rank0.runId, rank1.runId])
        #expect(verdict.payments.map(\.amountMicro) == [rank0, rank1].map {
            Pricing.runCostMicro(unitMilli: 2_000, priceMicroPerUnitHour: $0.priceMicroPerUnitHour, durationMs: 360_000)
        })
        #expect(verdict.payments.allSatisfy { $0.amountMicro > 0 })
        try state.apply(.verdict(verdict), atMs: 360_040)
        guard case .jobClosed(_, let refund) = decide(state, atMs: 360_050) else { Issue.record("expected the job to close"); return }
        try state.apply(.jobClosed(jobId: job, refundMicro: refund), atMs: 360_050)
        let closed = try #require(state.jobs[job])
        #expect(closed.state == .settled)
        #expect(closed.paidMicro + closed.burnedMicro + closed.refundedMicro == closed.escrowLockedMicro)
        #expect(closed.escrowLockedMicro == JobSpec(name: "x", command: "true", resources: .init(cpuCores: 2), maxPriceMicroPerUnitHour: 500_000, maxDurationS: 600, cluster: .init(nodes: 2, roundTripMsMax: 5)).maxCostMicro(feeBps: parameters.feeBps))
    }

    @Test func aRefusalOrALapseWithdrawsTheWholeGang() throws {
        var state = try genesis()
        try link(&state, a, b, microseconds: 500)
        try link(&state, a, c, microseconds: 600)
        try link(&state, b, c, microseconds: 700)
        _ = try submit(&state)
        let first = try gangOffer(decide(state))
        try state.apply(.gangOffer(first), atMs: 10)
        let identities = Dictionary(uniqueKeysWithValues: [a, b, c, d].map { ($0.address, $0) })
        try respond(&state, identities[first.members[0].nodeId]!, first.members[0].runId)
        let refuser = first.members[1].nodeId
        try respond(&state, identities[refuser]!, first.members[1].runId, accept: false, atMs: 21)
        for member in first.members {
            let run = try #require(state.runs[member.runId])
            #expect(run.state == .queued && run.nodeId == nil && run.acceptedMs == nil && run.peerPort == nil)
            #expect(run.declinedBy[refuser] == 21, "the refusing node is kept off every member")
        }
        #expect(state.acceptedGangRuns(for: first.members[0].nodeId).isEmpty)

        let second = try gangOffer(decide(state, atMs: 30))
        #expect(!second.members.map(\.nodeId).contains(refuser))
        try state.apply(.gangOffer(second), atMs: 30)
        try respond(&state, identities[second.members[0].nodeId]!, second.members[0].runId, atMs: 31)
        // Nobody else answers: past the deadline the gang lapses, and only the silent node is kept off it.
        let late = second.deadlineMs + 1
        guard case .offerLapsed(let lapsed) = decide(state, atMs: late) else { Issue.record("expected a lapse"); return }
        try state.apply(.offerLapsed(runId: lapsed), atMs: late)
        for member in second.members {
            let run = try #require(state.runs[member.runId])
            #expect(run.state == .queued)
            #expect(run.declinedBy[second.members[1].nodeId] == late)
            #expect(run.declinedBy[second.members[0].nodeId] == nil, "the member that accepted may be offered again")
        }
    }

    @Test func aFailedMemberCancelsItsGangAndTheTaskRunsAgainUntilAttemptsAreSpent() throws {
        var state = try genesis()
        for (lhs, rhs) in [(a, b), (a, c), (a, d), (b, c), (b, d), (c, d)] { try link(&state, lhs, rhs, microseconds: 400) }
        let job = try submit(&state)
        let identities = Dictionary(uniqueKeysWithValues: [a, b, c, d].map { ($0.address, $0) })
        var nowMs: Int64 = 10
        for attempt in 1...2 {
            let offer = try gangOffer(decide(state, atMs: nowMs))
            #expect(offer.members.map(\.runId) == ["\(job).0.p\(attempt).m0", "\(job).0.p\(attempt).m1"])
            try state.apply(.gangOffer(offer), atMs: nowMs)
            for member in offer.members { try respond(&state, identities[member.nodeId]!, member.runId, atMs: nowMs + 1) }
            let failing = offer.members[1]
            try finish(&state, identities[failing.nodeId]!, failing.runId, exitCode: 3, atMs: nowMs + 2)
            let other = try #require(state.runs[offer.members[0].runId])
            #expect(other.state == .cancelled, "a collective cannot go on without a member")
            #expect(other.failure == "gang member 1 failed")
            nowMs += 20_000
            if attempt == 1 {
                let next = state.queuedRunIds.sorted()
                #expect(next == ["\(job).0.p2.m0", "\(job).0.p2.m1"])
                #expect(next.allSatisfy { state.runs[$0]?.declinedBy[failing.nodeId] != nil })
            }
        }
        #expect(state.jobs[job]?.tasks[0].state == .failed, "two attempts, the job's limit, are spent")
        #expect(state.queuedRunIds.isEmpty)
    }

    @Test func forgedGangOffersAndAnswersAreRefusedAndChangeNothing() throws {
        var state = try genesis()
        try link(&state, a, b, microseconds: 500)
        try link(&state, c, d, microseconds: 9_000)
        let job = try submit(&state)
        let (m0, m1) = ("\(job).0.p1.m0", "\(job).0.p1.m1")
        func member(_ run: String, _ node: SigningIdentity, price: Int64? = nil) -> GangOffer.Member {
            let ask = state.nodes[node.address]!.registration.policy.askMicroPerCpuCoreHour
            return .init(runId: run, nodeId: node.address, priceMicroPerUnitHour: price ?? ask, gpus: [])
        }
        expectRefused(.gangOffer(.init(members: [member(m0, a)], deadlineMs: 100)), state)
        expectRefused(.gangOffer(.init(members: [member(m1, a), member(m0, b)], deadlineMs: 100)), state)
        expectRefused(.gangOffer(.init(members: [member(m0, a), member(m1, a)], deadlineMs: 100)), state)
        expectRefused(.gangOffer(.init(members: [member(m0, a), member(m1, e)], deadlineMs: 100)), state)
        expectRefused(.gangOffer(.init(members: [member(m0, c), member(m1, d)], deadlineMs: 100)), state)
        expectRefused(.gangOffer(.init(members: [member(m0, a), member(m1, b, price: 1)], deadlineMs: 100)), state)
        expectRefused(.gangOffer(.init(members: [member(m0, a), member(m1, b)], deadlineMs: 100)), state, atMs: 2 + parameters.linkFreshMs)
        // A single-node offer cannot take one member out of its gang.
        expectRefused(.offer(runId: m0, nodeId: a.address, priceMicroPerUnitHour: 100_000, deadlineMs: 100), state)

        try state.apply(.gangOffer(.init(members: [member(m0, a), member(m1, b)], deadlineMs: 100)), atMs: 10)
        // Accepting a cluster run names the port its peers reach it on; a plain run takes none.
        expectRefused(.envelope(try SignedEnvelope.sign(OfferResponse(runId: m0, accept: true), kind: .respondOffer, by: a)), state, code: .malformed)
        expectRefused(.envelope(try SignedEnvelope.sign(OfferResponse(runId: m0, accept: true, peerPort: 70_000), kind: .respondOffer, by: a)), state, code: .malformed)
        expectRefused(.envelope(try SignedEnvelope.sign(OfferResponse(runId: m1, accept: true, peerPort: 29_500), kind: .respondOffer, by: a)), state, code: .forbidden)
    }

    @Test func linkReportsAreCheckedAndARefusalChangesNothing() throws {
        var state = try genesis()
        func refused(_ node: SigningIdentity, _ links: [LinkReport.Link], code: CrucibleError.Code, sourceLocation: SourceLocation = #_sourceLocation) throws {
            expectRefused(.envelope(try SignedEnvelope.sign(LinkReport(links: links), kind: .reportLinks, by: node)), state, code: code, sourceLocation: sourceLocation)
        }
        let good = LinkReport.Link(peer: b.address, roundTripUs: 300, bandwidthMbps: 1_000)
        try refused(a, [], code: .malformed)
        try refused(a, [.init(peer: a.address, roundTripUs: 300, bandwidthMbps: 1_000)], code: .malformed)
        try refused(a, [good, good], code: .malformed)
        try refused(a, [.init(peer: SigningIdentity().address, roundTripUs: 300, bandwidthMbps: 1_000)], code: .notFound)
        try refused(a, [.init(peer: e.address, roundTripUs: 300, bandwidthMbps: 1_000)], code: .notFound)
        try refused(a, [.init(peer: b.address, roundTripUs: 0, bandwidthMbps: 1_000)], code: .malformed)
        try refused(a, [.init(peer: b.address, roundTripUs: 300, bandwidthMbps: 0)], code: .malformed)
        try refused(a, Array(repeating: good, count: LinkReport.linksMax + 1), code: .malformed)
        try refused(e, [.init(peer: a.address, roundTripUs: 300, bandwidthMbps: 1_000)], code: .conflict)

        try report(&state, by: a, [good])
        #expect(state.links[a.address]?[b.address]?.roundTripUs == 300)
        // A node that moves its peer endpoint loses what was measured to the old one, both ways.
        try link(&state, a, b, microseconds: 300)
        let moved = NodeRegistration.authorized(
            node: b.address, by: operatorA, hardware: state.nodes[b.address]!.registration.hardware,
            policy: state.nodes[b.address]!.registration.policy, region: "r", agentVersion: "t", peerEndpoint: "10.9.9.9:7100"
        )
        try state.apply(.envelope(try SignedEnvelope.sign(moved, kind: .registerNode, by: b)), atMs: 5)
        #expect(state.links[b.address] == nil && state.links[a.address]?[b.address] == nil)
        let bad = NodeRegistration.authorized(
            node: c.address, by: operatorB, hardware: state.nodes[c.address]!.registration.hardware,
            policy: state.nodes[c.address]!.registration.policy, region: "r", agentVersion: "t", peerEndpoint: "no-port"
        )
        expectRefused(.envelope(try SignedEnvelope.sign(bad, kind: .registerNode, by: c)), state, code: .malformed)
    }

    @Test func clusterSpecsAreValidatedAndEscrowCoversEveryMember() throws {
        func spec(_ cluster: JobSpec.Cluster, verification: JobSpec.Verification = .init(), tasks: Int = 1) -> JobSpec {
            JobSpec(name: "t", command: "true", taskCount: tasks, resources: .init(cpuCores: 1), maxPriceMicroPerUnitHour: 1_000_000, maxDurationS: 60,
                    verification: verification, cluster: cluster)
        }
        for bad in [spec(.init(nodes: 1, roundTripMsMax: 5)), spec(.init(nodes: 65, roundTripMsMax: 5)), spec(.init(nodes: 2, roundTripMsMax: 0)),
                    spec(.init(nodes: 2, roundTripMsMax: 5), verification: .init(policy: .replicate, samplePpm: 1_000_000)),
                    spec(.init(nodes: 64, roundTripMsMax: 5), tasks: 200)] {
            #expect { try bad.validate() } throws: { ($0 as? CrucibleError)?.code == .invalidSpec }
        }
        let single = JobSpec(name: "t", command: "true", resources: .init(cpuCores: 1), maxPriceMicroPerUnitHour: 1_000_000, maxDurationS: 60)
        let four = spec(.init(nodes: 4, roundTripMsMax: 5))
        try four.validate()
        #expect(four.maxCostMicro(feeBps: 500) == 4 * single.maxCostMicro(feeBps: 500))
    }

    /// A train gang: started, both members finished with `checkpoints` each.
    func finishedTrainGang(
        _ state: inout NetworkState, checkpoints: [[TrainingCheckpoint]], outputs: [OutputFile] = [], verification: JobSpec.Verification = .init()
    ) throws -> (job: String, runs: [String]) {
        try link(&state, a, b, microseconds: 500)
        let spec = JobSpec(
            name: "train", kind: .train, command: "train.py", resources: .init(cpuCores: 1), maxPriceMicroPerUnitHour: 500_000,
            maxDurationS: 600, verification: verification, cluster: .init(nodes: 2, roundTripMsMax: 5)
        )
        let job = try #require(try state.apply(.envelope(try SignedEnvelope.sign(JobSubmission(spec: spec), kind: .submitJob, by: requester)), atMs: 2).jobId)
        let offer = try gangOffer(decide(state))
        try state.apply(.gangOffer(offer), atMs: 10)
        let identities = [a.address: a, b.address: b]
        for member in offer.members { try respond(&state, identities[member.nodeId]!, member.runId) }
        for (rank, (member, reported)) in zip(offer.members, checkpoints).enumerated() {
            // Rank 0 saves the states a validator resumes from.
            let report = RunReport(runId: member.runId, exitCode: 0, outputs: rank == 0 ? outputs : [], durationMs: 1000, checkpoints: reported)
            try state.apply(.envelope(try SignedEnvelope.sign(report, kind: .reportResult, by: identities[member.nodeId]!)), atMs: 60_000)
        }
        return (job, offer.members.map(\.runId))
    }

    func digest(_ text: String) -> String { Digest.sha256Hex(text) }

    @Test func aTrainGangWhoseMembersAgreeIsPaidAndOneThatDisagreesIsDisputed() throws {
        let agreed = [TrainingCheckpoint(step: 10, digest: digest("w10")), TrainingCheckpoint(step: 20, digest: digest("w20"))]
        var state = try genesis()
        let honest = try finishedTrainGang(&state, checkpoints: [agreed, agreed])
        guard case .verdict(let verdict) = decide(state, atMs: 60_010) else { Issue.record("expected a verdict"); return }
        #expect(verdict.outcome == .verified && verdict.payments.count == 2)
        #expect(state.runs[honest.runs[1]]?.checkpoints == agreed)

        // One member's weights at step 20 are not the others': a member that did not train with its gang.
        var forged = agreed
        forged[1].digest = digest("made up")
        var disputed = try genesis()
        _ = try finishedTrainGang(&disputed, checkpoints: [agreed, forged])
        guard case .verdict(let split) = decide(disputed, atMs: 60_010) else { Issue.record("expected a verdict"); return }
        #expect(split.outcome == .disputed && split.payments.isEmpty)
        // A member that reports no checkpoint at all disagrees too.
        var silent = try genesis()
        _ = try finishedTrainGang(&silent, checkpoints: [agreed, []])
        guard case .verdict(let missing) = decide(silent, atMs: 60_010) else { Issue.record("expected a verdict"); return }
        #expect(missing.outcome == .disputed)
    }

    @Test func checkpointReportsAreCheckedAndARefusalChangesNothing() throws {
        var state = try genesis()
        try link(&state, a, b, microseconds: 500)
        let spec = JobSpec(
            name: "train", kind: .train, command: "train.py", resources: .init(cpuCores: 1), maxPriceMicroPerUnitHour: 500_000,
            maxDurationS: 600, cluster: .init(nodes: 2, roundTripMsMax: 5)
        )
        _ = try state.apply(.envelope(try SignedEnvelope.sign(JobSubmission(spec: spec), kind: .submitJob, by: requester)), atMs: 2)
        let offer = try gangOffer(decide(state))
        try state.apply(.gangOffer(offer), atMs: 10)
        let identities = [a.address: a, b.address: b]
        for member in offer.members { try respond(&state, identities[member.nodeId]!, member.runId) }
        let member = offer.members[0], node = identities[member.nodeId]!
        for bad in [
            [TrainingCheckpoint(step: 20, digest: digest("x")), TrainingCheckpoint(step: 10, digest: digest("y"))],
            [TrainingCheckpoint(step: 10, digest: "not-hex")],
        ] {
            let report = RunReport(runId: member.runId, exitCode: 0, outputs: [], durationMs: 1, checkpoints: bad)
            expectRefused(.envelope(try SignedEnvelope.sign(report, kind: .reportResult, by: node)), state, code: .malformed)
        }
        // Other kinds have no checkpoints to report.
        var batch = try genesis()
        try link(&batch, a, b, microseconds: 500)
        _ = try submit(&batch)
        let batchOffer = try gangOffer(decide(batch))
        try batch.apply(.gangOffer(batchOffer), atMs: 10)
        for member in batchOffer.members { try respond(&batch, identities[member.nodeId]!, member.runId) }
        let report = RunReport(runId: batchOffer.members[0].runId, exitCode: 0, outputs: [], durationMs: 1, checkpoints: [.init(step: 1, digest: digest("x"))])
        expectRefused(.envelope(try SignedEnvelope.sign(report, kind: .reportResult, by: identities[batchOffer.members[0].nodeId]!)), batch, code: .malformed)
    }

    @Test func trainSpecsAreValidated() throws {
        func train(_ command: String, gpuMilli: Int = 0, inputs: [JobSpec.InputFile] = [], verification: JobSpec.Verification = .init()) -> JobSpec {
            JobSpec(name: "t", kind: .train, command: command, inputs: inputs, resources: .init(gpuMilli: gpuMilli, cpuCores: 1),
                    maxPriceMicroPerUnitHour: 1_000_000, maxDurationS: 60, verification: verification)
        }
        try train("train.py").validate()
        try train("models/train.py", gpuMilli: 2000).validate()
        // A train task's sample is a segment re-run by a validator.
        try train("train.py", verification: .init(policy: .replicate, samplePpm: 100_000)).validate()
        let squatting = JobSpec.InputFile(name: JobSpec.trainResumeInput, sha256: digest("x"), sizeBytes: 1)
        for bad in [train("python3"), train("/abs/train.py"), train("../train.py"), train("train.py", gpuMilli: 500),
                    train("train.py", inputs: [squatting])] {
            #expect { try bad.validate() } throws: { ($0 as? CrucibleError)?.code == .invalidSpec }
        }
    }

    /// A train gang on a and b (operator A) checkpointed at 10, 20 and 30, with the states at 10 and 20 saved; every
    /// task is sampled, so a validator of operator B re-runs one segment.
    func sampledTrainGang(_ state: inout NetworkState) throws -> (job: String, reference: [TrainingCheckpoint], segment: Int) {
        let reference = [10, 20, 30].map { step in
            TrainingCheckpoint(step: step, digest: digest("w\(step)"), fingerprint: (0..<16).map { Double(step) + Double($0) * 0.25 })
        }
        let states = [10, 20].map { OutputFile(path: NetworkState.trainStatePath(step: $0), sha256: digest("state\($0)"), sizeBytes: 1_000) }
        let (job, _) = try finishedTrainGang(&state, checkpoints: [reference, reference], outputs: states, verification: .init(policy: .replicate, samplePpm: 1_000_000))
        #expect(state.trainSegments(jobId: job, taskIndex: 0) == [0, 1])
        guard case .sampled(_, _, true, let drawn?, nil) = decide(state, atMs: 60_010) else { Issue.record("expected a segment to be drawn"); throw CrucibleError(.conflict, "no sample") }
        // A segment the reference cannot be resumed at, or none, is refused.
        expectRefused(.sampled(jobId: job, taskIndex: 0, replicate: true, segment: 2), state, atMs: 60_010)
        expectRefused(.sampled(jobId: job, taskIndex: 0, replicate: true), state, atMs: 60_010)
        expectRefused(.sampled(jobId: job, taskIndex: 0, replicate: false, segment: 0), state, atMs: 60_010)
        try state.apply(.sampled(jobId: job, taskIndex: 0, replicate: true, segment: drawn), atMs: 60_010)
        return (job, reference, drawn)
    }

    /// The validator (c, operator B) takes the segment and reports `fingerprint` at its end; returns the decision that
    /// follows.
    func validate(_ state: inout NetworkState, job: String, fingerprint: [Double], toStep: Int) throws -> LogEvent? {
        guard case .offer(let runId, let nodeId, let price, let deadline, let gpus) = decide(state, atMs: 60_020) else {
            Issue.record("expected the validator's offer"); throw CrucibleError(.conflict, "no offer")
        }
        #expect(nodeId == c.address || nodeId == d.address, "a validator runs under another operator than the gang's")
        #expect(state.runs[runId]?.excludedOperators == [operatorA.address])
        try state.apply(.offer(runId: runId, nodeId: nodeId, priceMicroPerUnitHour: price, deadlineMs: deadline, gpus: gpus), atMs: 60_020)
        let node = nodeId == c.address ? c : d
        try respond(&state, node, runId, port: nil, atMs: 60_030)
        let report = RunReport(runId: runId, exitCode: 0, outputs: [], durationMs: 1000, checkpoints: [.init(step: toStep, digest: digest("v"), fingerprint: fingerprint)])
        try state.apply(.envelope(try SignedEnvelope.sign(report, kind: .reportResult, by: node)), atMs: 120_000)
        return decide(state, atMs: 120_010)
    }

    @Test func aValidatorsSegmentWithinToleranceVerifiesATrainTaskAndOneBeyondItDisputesIt() throws {
        var state = try genesis()
        let (job, reference, segment) = try sampledTrainGang(&state)
        let task = try #require(state.jobs[job]?.tasks[0])
        #expect(task.segmentFromStep == reference[segment].step && task.segmentToStep == reference[segment + 1].step)
        // Float rounding: 10 ppm off the reference's fingerprint, under the 1,000 ppm the network allows.
        let end = try #require(reference[segment + 1].fingerprint)
        let decision = try validate(&state, job: job, fingerprint: end.map { $0 * (1 + 1e-5) }, toStep: reference[segment + 1].step)
        guard case .verdict(let verdict) = decision else { Issue.record("expected a verdict, got \(String(describing: decision))"); return }
        #expect(verdict.outcome == .verified && verdict.payments.count == 3, "both members and the validator are paid")

        var cheated = try genesis()
        let (cheatedJob, cheatedReference, cheatedSegment) = try sampledTrainGang(&cheated)
        // A gang that did not train as it says ends far from where the validator's re-run does (a member on no data
        // was measured at 180,000 ppm).
        let far = try #require(cheatedReference[cheatedSegment + 1].fingerprint).map { $0 * 1.02 }
        // A third operator's node is called to re-run the segment; here there is none, so after the wait the task is
        // disputed and nobody is paid (TrainingEndToEndTests has the arbiter decide).
        let split = try validate(&cheated, job: cheatedJob, fingerprint: far, toStep: cheatedReference[cheatedSegment + 1].step)
        #expect(split == .arbitrationOpened(jobId: cheatedJob, taskIndex: 0))
        try cheated.apply(split!, atMs: 120_010)
        let arbiter = try #require(cheated.jobs[cheatedJob]?.tasks[0].runIds.compactMap { cheated.runs[$0] }.last)
        #expect(arbiter.role == .arbiter && arbiter.excludedOperators == [operatorA.address, operatorB.address].sorted())
        #expect(cheated.trainSegment(of: arbiter)?.fromStep == cheatedReference[cheatedSegment].step)
        let waitOver = 120_010 + cheated.parameters.replicaWaitMs + 1
        #expect(decide(cheated, atMs: waitOver) == .arbiterWaived(jobId: cheatedJob, taskIndex: 0))
        try cheated.apply(.arbiterWaived(jobId: cheatedJob, taskIndex: 0), atMs: waitOver)
        guard case .verdict(let disputed) = decide(cheated, atMs: waitOver) else { Issue.record("expected a verdict"); return }
        #expect(disputed.outcome == .disputed && disputed.payments.isEmpty)
    }
}
