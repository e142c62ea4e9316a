/// A node agent's own rules for which offers it takes (ARCHITECTURE §6). The agent applies them locally;
/// the coordinator also learns the asks and limits so it does not offer what would be refused.
public struct AgentPolicy: Codable, Sendable, Equatable {
    /// What the node charges per GPU-hour and per CPU-core-hour, in µCRU.
    public var askMicroPerGpuHour: Int64
    public var askMicroPerCpuCoreHour: Int64
    /// Offers below this price per unit-hour are refused even if the ask were lowered.
    public var minPriceMicroPerUnitHour: Int64
    public var allowedKinds: [JobSpec.Kind]
    public var maxConcurrentRuns: Int
    /// Requesters this node never works for.
    public var blockedRequesters: [String]

    public init(
        askMicroPerGpuHour: Int64 = 1_500_000,
        askMicroPerCpuCoreHour: Int64 = 40_000,
        minPriceMicroPerUnitHour: Int64 = 0,
        allowedKinds: [JobSpec.Kind] = JobSpec.Kind.allCases,
        maxConcurrentRuns: Int = 2,
        blockedRequesters: [String] = []
    ) {
        self.askMicroPerGpuHour = askMicroPerGpuHour
        self.askMicroPerCpuCoreHour = askMicroPerCpuCoreHour
        self.minPriceMicroPerUnitHour = minPriceMicroPerUnitHour
        self.allowedKinds = allowedKinds
        self.maxConcurrentRuns = maxConcurrentRuns
        self.blockedRequesters = blockedRequesters
    }

    public enum Decision: Equatable, Sendable {
        case accept
        case reject(reason: String)
    }

    public func validate() throws {
        func fail(_ message: String) -> CrucibleError { CrucibleError(.malformed, "policy: \(message)") }
        guard askMicroPerGpuHour > 0, askMicroPerCpuCoreHour > 0 else { throw fail("asks must be positive") }
        guard askMicroPerGpuHour <= JobSpec.priceMicroPerUnitHourMax, askMicroPerCpuCoreHour <= JobSpec.priceMicroPerUnitHourMax else {
            throw fail("asks are at most \(Amount.format(JobSpec.priceMicroPerUnitHourMax)) CRU per unit-hour")
        }
        guard minPriceMicroPerUnitHour >= 0 else { throw fail("minPrice must not be negative") }
        guard (1...256).contains(maxConcurrentRuns) else { throw fail("maxConcurrentRuns must be between 1 and 256") }
        guard !allowedKinds.isEmpty else { throw fail("allowedKinds must name at least one kind") }
        guard blockedRequesters.count <= 1024 else { throw fail("at most 1024 blocked requesters") }
    }

    /// The ask for work that needs `gpuMilli` of a GPU (0: CPU work).
    public func askMicroPerUnitHour(gpuMilli: Int) -> Int64 {
        gpuMilli > 0 ? askMicroPerGpuHour : askMicroPerCpuCoreHour
    }

    /// Decides an offer by the node's rules, given how many runs the node has now.
    public func decide(kind: JobSpec.Kind, priceMicroPerUnitHour: Int64, requester: String, runningNow: Int) -> Decision {
        if !allowedKinds.contains(kind) { return .reject(reason: "kind \(kind.rawValue) is not allowed by policy") }
        if priceMicroPerUnitHour < minPriceMicroPerUnitHour {
            return .reject(reason: "price \(Amount.format(priceMicroPerUnitHour)) is below the minimum \(Amount.format(minPriceMicroPerUnitHour))")
        }
        if blockedRequesters.contains(requester) { return .reject(reason: "requester is blocked by policy") }
        if runningNow >= maxConcurrentRuns { return .reject(reason: "already running \(runningNow) of \(maxConcurrentRuns) runs") }
        return .accept
    }
}
