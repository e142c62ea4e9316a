/// A node agent's own rules for which offers it takes (ARCHITECTURE §6). The agent applies them locally;
/// the coordinator also learns them at registration and never offers what they would refuse.
public struct AgentPolicy: Codable, Sendable, Hashable {
    /// What the node charges per GPU-hour and per CPU-core-hour, in µCRU.
    public var askMicroPerGpuHour: Int64
    public var askMicroPerCpuCoreHour: Int64
    /// Offers below this price per unit-hour are refused even if the ask were lowered.
    public var minPriceMicroPerUnitHour: Int64
    /// A higher floor for some kinds of work (by kind name), over `minPriceMicroPerUnitHour`.
    public var minPriceMicroPerUnitHourByKind: [String: Int64]
    public var allowedKinds: [JobSpec.Kind]
    public var maxConcurrentRuns: Int
    /// Requesters this node never works for.
    public var blockedRequesters: [String]
    /// When non-empty, the only requesters this node works for.
    public var allowedRequesters: [String]
    /// Hours of the day (UTC) when the node takes new work; empty: at any hour.
    public var availableHoursUTC: [HourWindow]
    /// The longest job (its `maxDurationS`) the node takes; 0: no limit.
    public var maxJobDurationS: Int
    /// Data origins (a job's `dataRegion`) the node accepts (empty: any) and refuses.
    public var acceptDataFrom: [String]
    public var refuseDataFrom: [String]

    /// A span of hours in UTC, from `fromHour` up to but not including `toHour`; it wraps past midnight when
    /// `toHour` ≤ `fromHour` (22–6 is the night).
    public struct HourWindow: Codable, Sendable, Hashable {
        public var fromHour: Int
        public var toHour: Int

        public init(fromHour: Int, toHour: Int) {
            self.fromHour = fromHour
            self.toHour = toHour
        }

        public func contains(hour: Int) -> Bool {
            fromHour < toHour ? (fromHour..<toHour).contains(hour) : hour >= fromHour || hour < toHour
        }
    }

    public init(
        askMicroPerGpuHour: Int64 = 1_500_000,
        askMicroPerCpuCoreHour: Int64 = 40_000,
        minPriceMicroPerUnitHour: Int64 = 0,
        minPriceMicroPerUnitHourByKind: [String: Int64] = [:],
        allowedKinds: [JobSpec.Kind] = JobSpec.Kind.allCases,
        maxConcurrentRuns: Int = 2,
        blockedRequesters: [String] = [],
        allowedRequesters: [String] = [],
        availableHoursUTC: [HourWindow] = [],
        maxJobDurationS: Int = 0,
        acceptDataFrom: [String] = [],
        refuseDataFrom: [String] = []
    ) {
        self.askMicroPerGpuHour = askMicroPerGpuHour
        self.askMicroPerCpuCoreHour = askMicroPerCpuCoreHour
        self.minPriceMicroPerUnitHour = minPriceMicroPerUnitHour
        self.minPriceMicroPerUnitHourByKind = minPriceMicroPerUnitHourByKind
        self.allowedKinds = allowedKinds
        self.maxConcurrentRuns = maxConcurrentRuns
        self.blockedRequesters = blockedRequesters
        self.allowedRequesters = allowedRequesters
        self.availableHoursUTC = availableHoursUTC
        self.maxJobDurationS = maxJobDurationS
        self.acceptDataFrom = acceptDataFrom
        self.refuseDataFrom = refuseDataFrom
    }

    enum CodingKeys: String, CodingKey {
        case askMicroPerGpuHour, askMicroPerCpuCoreHour, minPriceMicroPerUnitHour, minPriceMicroPerUnitHourByKind, allowedKinds
        case maxConcurrentRuns, blockedRequesters, allowedRequesters, availableHoursUTC, maxJobDurationS, acceptDataFrom, refuseDataFrom
    }

    // Registrations signed before the later rules existed lack them: absent means no such rule.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        askMicroPerGpuHour = try container.decode(Int64.self, forKey: .askMicroPerGpuHour)
        askMicroPerCpuCoreHour = try container.decode(Int64.self, forKey: .askMicroPerCpuCoreHour)
        minPriceMicroPerUnitHour = try container.decode(Int64.self, forKey: .minPriceMicroPerUnitHour)
        minPriceMicroPerUnitHourByKind = try container.decodeIfPresent([String: Int64].self, forKey: .minPriceMicroPerUnitHourByKind) ?? [:]
        allowedKinds = try container.decode([JobSpec.Kind].self, forKey: .allowedKinds)
        maxConcurrentRuns = try container.decode(Int.self, forKey: .maxConcurrentRuns)
        blockedRequesters = try container.decode([String].self, forKey: .blockedRequesters)
        allowedRequesters = try container.decodeIfPresent([String].self, forKey: .allowedRequesters) ?? []
        availableHoursUTC = try container.decodeIfPresent([HourWindow].self, forKey: .availableHoursUTC) ?? []
        maxJobDurationS = try container.decodeIfPresent(Int.self, forKey: .maxJobDurationS) ?? 0
        acceptDataFrom = try container.decodeIfPresent([String].self, forKey: .acceptDataFrom) ?? []
        refuseDataFrom = try container.decodeIfPresent([String].self, forKey: .refuseDataFrom) ?? []
    }

    public enum Decision: Equatable, Sendable {
        case accept
        case reject(reason: String)
    }

    /// What an offer proposes, as far as a policy looks at it.
    public struct OfferTerms: Sendable, Equatable {
        public var kind: JobSpec.Kind
        public var priceMicroPerUnitHour: Int64
        public var requester: String
        public var maxDurationS: Int
        public var dataRegion: String?
        /// When the offer is decided, in Unix milliseconds: the hour rule reads it.
        public var atMs: Int64

        public init(kind: JobSpec.Kind, priceMicroPerUnitHour: Int64, requester: String, maxDurationS: Int, dataRegion: String? = nil, atMs: Int64) {
            self.kind = kind
            self.priceMicroPerUnitHour = priceMicroPerUnitHour
            self.requester = requester
            self.maxDurationS = maxDurationS
            self.dataRegion = dataRegion
            self.atMs = atMs
        }
    }

    static let listCountMax = 1024

    public func validate() throws {
        func fail(_ message: String) -> CrucibleError { CrucibleError(.malformed, "policy: \(message)") }
        guard askMicroPerGpuHour > 0, askMicroPerCpuCoreHour > 0 else { throw fail("asks must be positive") }
        guard askMicroPerGpuHour <= JobSpec.priceMicroPerUnitHourMax, askMicroPerCpuCoreHour <= JobSpec.priceMicroPerUnitHourMax else {
            throw fail("asks are at most \(Amount.format(JobSpec.priceMicroPerUnitHourMax)) CRU per unit-hour")
        }
        guard minPriceMicroPerUnitHour >= 0 else { throw fail("minPrice must not be negative") }
        for (kind, price) in minPriceMicroPerUnitHourByKind {
            guard JobSpec.Kind(rawValue: kind) != nil else { throw fail("minimum price for unknown kind `\(kind)`") }
            guard price >= 0 else { throw fail("the minimum price for \(kind) must not be negative") }
        }
        guard (1...256).contains(maxConcurrentRuns) else { throw fail("maxConcurrentRuns must be between 1 and 256") }
        guard !allowedKinds.isEmpty else { throw fail("allowedKinds must name at least one kind") }
        guard blockedRequesters.count <= Self.listCountMax, allowedRequesters.count <= Self.listCountMax else {
            throw fail("at most \(Self.listCountMax) requesters per list")
        }
        if let both = allowedRequesters.first(where: blockedRequesters.contains) { throw fail("requester \(both) is both allowed and blocked") }
        guard availableHoursUTC.count <= 24 else { throw fail("at most 24 hour windows") }
        for window in availableHoursUTC {
            guard (0...23).contains(window.fromHour), (0...24).contains(window.toHour), window.fromHour != window.toHour % 24 else {
                throw fail("hour window \(window.fromHour)-\(window.toHour) must run between two different hours of 0 to 24")
            }
        }
        guard (0...JobSpec.durationSMax).contains(maxJobDurationS) else { throw fail("maxJobDurationS must be between 0 and \(JobSpec.durationSMax)") }
        guard acceptDataFrom.count <= JobPlacement.listCountMax, refuseDataFrom.count <= JobPlacement.listCountMax else {
            throw fail("at most \(JobPlacement.listCountMax) regions per list")
        }
        if let both = acceptDataFrom.first(where: refuseDataFrom.contains) { throw fail("data region `\(both)` is both accepted and refused") }
    }

    /// The ask for work that needs `gpuMilli` of a GPU (0: CPU work).
    public func askMicroPerUnitHour(gpuMilli: Int) -> Int64 {
        gpuMilli > 0 ? askMicroPerGpuHour : askMicroPerCpuCoreHour
    }

    /// The lowest price the node takes for `kind`.
    public func minPriceMicroPerUnitHour(for kind: JobSpec.Kind) -> Int64 {
        max(minPriceMicroPerUnitHour, minPriceMicroPerUnitHourByKind[kind.rawValue] ?? 0)
    }

    /// Why a policy refuses an offer. Kept as data so that the engine, which asks thousands of policies per
    /// decision, pays for words only when someone reads them.
    public enum Rejection: Sendable, Equatable {
        case kind(JobSpec.Kind)
        case price(offered: Int64, floor: Int64, kind: JobSpec.Kind)
        case blockedRequester
        case requesterNotAllowed
        case outsideHours(hour: Int)
        case tooLong(maxDurationS: Int, limitS: Int)
        case undeclaredDataRegion
        case dataRegion(String)
        case busy(running: Int, limit: Int)

        public var reason: String {
            switch self {
            case .kind(let kind): "kind \(kind.rawValue) is not allowed by policy"
            case .price(let offered, let floor, let kind): "price \(Amount.format(offered)) is below the minimum \(Amount.format(floor)) for \(kind.rawValue)"
            case .blockedRequester: "requester is blocked by policy"
            case .requesterNotAllowed: "requester is not on the policy's allow list"
            case .outsideHours(let hour): "outside the node's hours (UTC hour \(hour))"
            case .tooLong(let duration, let limit): "jobs of up to \(limit) s only; this one may run \(duration) s"
            case .undeclaredDataRegion: "the policy takes only jobs that declare where their data comes from"
            case .dataRegion(let origin): "data from \(origin) is refused by policy"
            case .busy(let running, let limit): "already running \(running) of \(limit) runs"
            }
        }
    }

    /// Decides an offer by the node's rules, given how many runs the node has now. The agent decides with its
    /// own clock; the coordinator asks the same question before offering, so an offer is refused only when the
    /// agent's policy file changed or the node is busy with work the coordinator does not know about.
    public func decide(_ terms: OfferTerms, runningNow: Int) -> Decision {
        rejection(terms, runningNow: runningNow).map { .reject(reason: $0.reason) } ?? .accept
    }

    /// The rule that refuses the offer, or nil when the policy takes it.
    public func rejection(_ terms: OfferTerms, runningNow: Int) -> Rejection? {
        if !allowedKinds.contains(terms.kind) { return .kind(terms.kind) }
        let floor = minPriceMicroPerUnitHour(for: terms.kind)
        if terms.priceMicroPerUnitHour < floor { return .price(offered: terms.priceMicroPerUnitHour, floor: floor, kind: terms.kind) }
        if !blockedRequesters.isEmpty, blockedRequesters.contains(terms.requester) { return .blockedRequester }
        if !allowedRequesters.isEmpty, !allowedRequesters.contains(terms.requester) { return .requesterNotAllowed }
        if !availableHoursUTC.isEmpty {
            let hour = Int((terms.atMs / 3_600_000) % 24)
            if !availableHoursUTC.contains(where: { $0.contains(hour: hour) }) { return .outsideHours(hour: hour) }
        }
        if maxJobDurationS > 0, terms.maxDurationS > maxJobDurationS { return .tooLong(maxDurationS: terms.maxDurationS, limitS: maxJobDurationS) }
        if !acceptDataFrom.isEmpty || !refuseDataFrom.isEmpty {
            guard let origin = terms.dataRegion else { return .undeclaredDataRegion }
            if refuseDataFrom.contains(origin) || (!acceptDataFrom.isEmpty && !acceptDataFrom.contains(origin)) { return .dataRegion(origin) }
        }
        if runningNow >= maxConcurrentRuns { return .busy(running: runningNow, limit: maxConcurrentRuns) }
        return nil
    }
}
