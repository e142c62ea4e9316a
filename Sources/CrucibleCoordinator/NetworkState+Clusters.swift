import CrucibleCore
import CrucibleMarket

/// One direction of a link between two nodes, as the reporting node measured it.
public struct LinkMeasurement: Sendable, Equatable {
    public var roundTripUs: Int64
    public var bandwidthMbps: Int64
    public var measuredMs: Int64
}

/// A gang of cluster members offered at one instant, in rank order: all of them accept, or the gang goes back to the
/// queue whole.
public struct GangOffer: Codable, Sendable, Equatable {
    public struct Member: Codable, Sendable, Equatable {
        public var runId: String
        public var nodeId: String
        public var priceMicroPerUnitHour: Int64
        /// Indices into the node's GPU list that the member holds.
        public var gpus: [Int]

        public init(runId: String, nodeId: String, priceMicroPerUnitHour: Int64, gpus: [Int]) {
            self.runId = runId
            self.nodeId = nodeId
            self.priceMicroPerUnitHour = priceMicroPerUnitHour
            self.gpus = gpus
        }
    }

    public var members: [Member]
    public var deadlineMs: Int64

    public init(members: [Member], deadlineMs: Int64) {
        self.members = members
        self.deadlineMs = deadlineMs
    }
}

extension NetworkState {
    // MARK: - The latency matrix

    /// Records what a node measured to its peers. A node without a peer endpoint joins no cluster and has nothing
    /// to report; measurements older than `linkFreshMs` are dropped as the reporter's new ones come in.
    mutating func reportLinks(_ nodeId: String, _ report: LinkReport, atMs nowMs: Int64, changes: inout Changes) throws {
        guard let node = nodes[nodeId] else { throw CrucibleError(.notFound, "node is not registered; register first") }
        guard node.registration.peerHostPort != nil else {
            throw CrucibleError(.conflict, "the node registered no peer endpoint, so it joins no cluster and reports no links")
        }
        guard (1...LinkReport.linksMax).contains(report.links.count) else {
            throw CrucibleError(.malformed, "a link report carries 1 to \(LinkReport.linksMax) links")
        }
        var peers = Set<String>()
        for link in report.links {
            guard link.peer != nodeId else { throw CrucibleError(.malformed, "a node does not report a link to itself") }
            guard peers.insert(link.peer).inserted else { throw CrucibleError(.malformed, "peer \(Address.short(link.peer)) appears twice") }
            guard nodes[link.peer]?.registration.peerHostPort != nil else {
                throw CrucibleError(.notFound, "no registered node \(Address.short(link.peer)) with a peer endpoint")
            }
            guard (1...LinkReport.roundTripUsMax).contains(link.roundTripUs) else {
                throw CrucibleError(.malformed, "roundTripUs must be between 1 and \(LinkReport.roundTripUsMax)")
            }
            guard (1...LinkReport.bandwidthMbpsMax).contains(link.bandwidthMbps) else {
                throw CrucibleError(.malformed, "bandwidthMbps must be between 1 and \(LinkReport.bandwidthMbpsMax)")
            }
        }
        var measured = (links[nodeId] ?? [:]).filter { nowMs - $0.value.measuredMs <= parameters.linkFreshMs }
        for link in report.links {
            measured[link.peer] = LinkMeasurement(roundTripUs: link.roundTripUs, bandwidthMbps: link.bandwidthMbps, measuredMs: nowMs)
        }
        links[nodeId] = measured
        changes.nodes.insert(nodeId)
    }

    /// Forgets every measurement to or from `nodeId`: its peer endpoint moved, so they measured some other path.
    mutating func forgetLinks(of nodeId: String) {
        links[nodeId] = nil
        for reporter in Array(links.keys) where links[reporter]?[nodeId] != nil { links[reporter]![nodeId] = nil }
    }

    /// The round trip between two nodes in milliseconds: the worse of the two directions, each measured by its own
    /// end within `linkFreshMs` — one node alone cannot make itself look close to another. Nil when either is missing.
    public func roundTripMs(between lhs: String, and rhs: String, atMs nowMs: Int64) -> Double? {
        guard let there = links[lhs]?[rhs], let back = links[rhs]?[lhs],
              nowMs - there.measuredMs <= parameters.linkFreshMs, nowMs - back.measuredMs <= parameters.linkFreshMs
        else { return nil }
        return Double(max(there.roundTripUs, back.roundTripUs)) / 1000
    }

    /// A node may join a gang once it may be matched at all (proven, staked), has a peer endpoint, and has a fresh
    /// measurement both ways with at least one peer.
    public func isClusterReady(_ nodeId: String, atMs nowMs: Int64) -> Bool {
        guard let node = nodes[nodeId], node.registration.peerHostPort != nil, isMatchable(node), let measured = links[nodeId] else { return false }
        return measured.keys.contains { roundTripMs(between: nodeId, and: $0, atMs: nowMs) != nil }
    }

    // MARK: - Gangs

    /// The members of `run`'s gang (same task, role and attempt) in rank order; the run alone when it is not a member.
    public func gang(of run: RunRecord) -> [RunRecord] {
        guard run.rank != nil, let job = jobs[run.jobId], job.tasks.indices.contains(run.taskIndex) else { return [run] }
        return job.tasks[run.taskIndex].runIds.compactMap { runs[$0] }
            .filter { $0.rank != nil && $0.role == run.role && $0.attempt == run.attempt }
            .sorted { $0.rank! < $1.rank! }
    }

    /// Offers every member of one gang at once, after checking the whole offer: one gang, in rank order, queued, on
    /// distinct cluster-ready nodes each pair within the job's round trip by fresh measurements, and each member within
    /// every rule a single offer meets.
    mutating func offerGang(_ offer: GangOffer, atMs nowMs: Int64, changes: inout Changes) throws {
        guard let first = offer.members.first else { throw CrucibleError(.malformed, "a cluster offer names its members") }
        let lead = try run(first.runId)
        guard let cluster = jobs[lead.jobId]?.spec.cluster, lead.rank != nil else {
            throw CrucibleError(.conflict, "run \(lead.id) is not a member of a cluster job")
        }
        let members = gang(of: lead)
        guard members.count == cluster.nodes, members.map(\.id) == offer.members.map(\.runId) else {
            throw CrucibleError(.conflict, "a cluster offer names every member of one gang, in rank order")
        }
        guard members.allSatisfy({ $0.state == .queued }) else { throw CrucibleError(.conflict, "the gang of \(lead.id) is not queued") }
        guard Set(offer.members.map(\.nodeId)).count == members.count else {
            throw CrucibleError(.conflict, "a gang's members run on different nodes")
        }
        for member in offer.members where !isClusterReady(member.nodeId, atMs: nowMs) {
            throw CrucibleError(.conflict, "node \(Address.short(member.nodeId)) is not cluster-ready (proof, peer endpoint and measured links)")
        }
        for (index, lhs) in offer.members.enumerated() {
            for rhs in offer.members[(index + 1)...] {
                guard let roundTrip = roundTripMs(between: lhs.nodeId, and: rhs.nodeId, atMs: nowMs), roundTrip <= Double(cluster.roundTripMsMax) else {
                    throw CrucibleError(.conflict, "nodes \(Address.short(lhs.nodeId)) and \(Address.short(rhs.nodeId)) are not measured within \(cluster.roundTripMsMax) ms of each other")
                }
            }
        }
        for (run, member) in zip(members, offer.members) {
            try checkOffer(of: run, to: member.nodeId, price: member.priceMicroPerUnitHour, gpuIndices: member.gpus, atMs: nowMs)
        }
        for (run, member) in zip(members, offer.members) {
            updateRun(run.id) {
                $0.nodeId = member.nodeId
                $0.gpuIndices = member.gpus
                $0.priceMicroPerUnitHour = member.priceMicroPerUnitHour
                $0.offerDeadlineMs = offer.deadlineMs
                $0.acceptedMs = nil
                $0.peerPort = nil
                $0.failure = nil
            }
            setRunState(run.id, .offered, atMs: nowMs, changes: &changes)
        }
    }

    /// A member's node answered its offer. Accepting records the port its peers reach it on; the last acceptance
    /// starts every member at once. A refusal puts the whole gang back in the queue, the refusing node kept off it
    /// for the cooldown.
    mutating func respondGangOffer(_ run: RunRecord, _ response: OfferResponse, atMs nowMs: Int64, changes: inout Changes) throws {
        guard run.acceptedMs == nil else { throw CrucibleError(.conflict, "run \(run.id) was already accepted; it starts when every member has") }
        guard response.accept else {
            let reason = response.reason.isEmpty ? "declined" : "declined: \(response.reason)"
            withdrawGang(of: run, declining: [run.nodeId].compactMap { $0 }, reason: "member \(run.rank ?? 0) \(reason)", atMs: nowMs, changes: &changes)
            return
        }
        guard let port = response.peerPort, (1...65_535).contains(port) else {
            throw CrucibleError(.malformed, "accepting a cluster offer names the peerPort (1–65535) its peers reach this member on")
        }
        updateRun(run.id) {
            $0.acceptedMs = nowMs
            $0.peerPort = port
        }
        changes.runs.insert(run.id)
        let members = gang(of: run)
        guard members.allSatisfy({ $0.acceptedMs != nil }) else { return }
        for member in members {
            setRunState(member.id, .running, atMs: nowMs, changes: &changes)
            updateRun(member.id) { $0.startedMs = nowMs }
        }
    }

    /// Every offered member of `run`'s gang back to the queue, with `declining` kept off all of them for the cooldown
    /// (a node that refused or let the offer lapse); members that accepted lose nothing but the wait.
    mutating func withdrawGang(of run: RunRecord, declining: [String], reason: String, atMs nowMs: Int64, changes: inout Changes) {
        for member in gang(of: run) {
            if member.state == .offered {
                setRunState(member.id, .queued, reason: reason, atMs: nowMs, changes: &changes)
            }
            updateRun(member.id) { for node in declining { $0.declinedBy[node] = nowMs } }
            changes.runs.insert(member.id)
        }
    }

    /// An offered gang whose deadline passed before every member accepted: the nodes that did not accept are kept off
    /// it, and it waits for another placement.
    mutating func lapseGangOffer(_ run: RunRecord, atMs nowMs: Int64, changes: inout Changes) {
        let silent = gang(of: run).filter { $0.state == .offered && $0.acceptedMs == nil }.compactMap(\.nodeId)
        withdrawGang(of: run, declining: silent, reason: "offer lapsed", atMs: nowMs, changes: &changes)
    }

    /// A member failed or was lost: the others cannot go on without it (a collective waits for every rank), so they
    /// are cancelled and the task runs again as a new gang, away from the node that failed, or fails when its
    /// attempts are spent.
    mutating func retryOrFailGang(of run: RunRecord, atMs nowMs: Int64, changes: inout Changes) {
        let members = gang(of: run)
        for member in members where member.id != run.id && member.state.isOpen {
            let reason = "gang member \(run.rank ?? 0) \(run.state == .lost ? "was lost" : "failed")"
            setRunState(member.id, .cancelled, reason: reason, atMs: nowMs, changes: &changes)
        }
        guard run.attempt < parameters.attemptsMax else {
            setTaskState(jobId: run.jobId, taskIndex: run.taskIndex, .failed, changes: &changes)
            return
        }
        var declined = members.reduce(into: [String: Int64]()) { $0.merge($1.declinedBy, uniquingKeysWith: max) }
        if let node = run.nodeId { declined[node] = nowMs }
        for rank in members.indices {
            createRun(
                jobId: run.jobId, taskIndex: run.taskIndex, role: run.role, attempt: run.attempt + 1, declinedBy: declined,
                excludedOperators: run.excludedOperators, rank: rank, changes: &changes
            )
        }
    }

    /// The latest gang of a cluster task when every member of it completed: the runs its verdict pays.
    func completedGang(of task: TaskRecord) -> [RunRecord]? {
        // The newest gang member: a validator's run may come after it.
        guard let last = task.runIds.lazy.reversed().compactMap({ self.runs[$0] }).first(where: { $0.rank != nil }) else { return nil }
        let members = gang(of: last)
        return members.allSatisfy({ $0.state == .completed }) ? members : nil
    }

    /// Where each member of a started gang listens, by rank: its node's peer host and the port it accepted with.
    public func peers(of run: RunRecord) -> [(rank: Int, nodeId: String, host: String, port: Int)] {
        gang(of: run).compactMap { member in
            guard let rank = member.rank, let nodeId = member.nodeId, let port = member.peerPort,
                  let host = nodes[nodeId]?.registration.peerHostPort?.host
            else { return nil }
            return (rank, nodeId, host, port)
        }
    }

    /// The gang runs `nodeId` accepted and that wait for their peers or run now: what its agent launches once started.
    public func acceptedGangRuns(for nodeId: String) -> [RunRecord] {
        (activeRunIdsByNode[nodeId] ?? []).compactMap { runs[$0] }
            .filter { $0.rank != nil && $0.acceptedMs != nil }
            .sorted { $0.ordinal < $1.ordinal }
    }
}
