import CrucibleClient
import CrucibleCore
import Foundation

/// The agent's policy as its operator writes it (YAML, prices in CRU, hours in UTC):
///
/// ```yaml
/// askPerGpuHour: 1.2
/// askPerCpuCoreHour: 0.03
/// minPricePerHour: 0.01
/// minPricePerHourByKind: {batch: 0.02}
/// allowedKinds: [batch]
/// maxConcurrentRuns: 2
/// blockedRequesters: []
/// allowedRequesters: []          # empty: anyone not blocked
/// hoursUTC: ["22-06", "12-13"]  # when new work is taken; absent: always
/// maxJobDuration: 12h
/// acceptDataFrom: []             # a job's declared data region; empty: any
/// refuseDataFrom: [xx]
/// ```
public enum AgentPolicyFile {
    struct Document: Decodable {
        var askPerGpuHour: String?
        var askPerCpuCoreHour: String?
        var minPricePerHour: String?
        var minPricePerHourByKind: [String: String]?
        var allowedKinds: [String]?
        var maxConcurrentRuns: Int?
        var blockedRequesters: [String]?
        var allowedRequesters: [String]?
        var hoursUTC: [String]?
        var maxJobDuration: String?
        var acceptDataFrom: [String]?
        var refuseDataFrom: [String]?
    }

    static let allowedKeys: Set<String> = [
        "askPerGpuHour", "askPerCpuCoreHour", "minPricePerHour", "minPricePerHourByKind", "allowedKinds", "maxConcurrentRuns",
        "blockedRequesters", "allowedRequesters", "hoursUTC", "maxJobDuration", "acceptDataFrom", "refuseDataFrom",
    ]

    public static func parse(_ text: String) throws -> AgentPolicy {
        let document = try YAMLDocument.decode(Document.self, from: text, allowedKeys: allowedKeys, what: "agent policy")
        var policy = AgentPolicy()
        func amount(_ text: String?, _ field: String) throws -> Int64? {
            guard let text else { return nil }
            guard let micro = Amount.parseCRU(text) else { throw CrucibleError(.invalidSpec, "\(field) `\(text)` is not a CRU amount") }
            return micro
        }
        if let value = try amount(document.askPerGpuHour, "askPerGpuHour") { policy.askMicroPerGpuHour = value }
        if let value = try amount(document.askPerCpuCoreHour, "askPerCpuCoreHour") { policy.askMicroPerCpuCoreHour = value }
        if let value = try amount(document.minPricePerHour, "minPricePerHour") { policy.minPriceMicroPerUnitHour = value }
        for (kind, price) in document.minPricePerHourByKind ?? [:] {
            policy.minPriceMicroPerUnitHourByKind[kind] = try amount(price, "minPricePerHourByKind.\(kind)")
        }
        if let kinds = document.allowedKinds {
            policy.allowedKinds = try kinds.map { raw in
                guard let kind = JobSpec.Kind(rawValue: raw) else { throw CrucibleError(.invalidSpec, "allowedKinds: unknown kind `\(raw)`") }
                return kind
            }
        }
        if let value = document.maxConcurrentRuns { policy.maxConcurrentRuns = value }
        if let value = document.blockedRequesters { policy.blockedRequesters = value }
        if let value = document.allowedRequesters { policy.allowedRequesters = value }
        if let windows = document.hoursUTC { policy.availableHoursUTC = try windows.map(parseHours) }
        if let text = document.maxJobDuration { policy.maxJobDurationS = try JobSpecFile.parseDuration(text) }
        if let value = document.acceptDataFrom { policy.acceptDataFrom = value }
        if let value = document.refuseDataFrom { policy.refuseDataFrom = value }
        do {
            try policy.validate()
        } catch let error as CrucibleError {
            throw CrucibleError(.invalidSpec, error.message)
        }
        return policy
    }

    /// "22-06" → from 22:00 to 06:00 UTC.
    static func parseHours(_ text: String) throws -> AgentPolicy.HourWindow {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false).map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard parts.count == 2, let from = parts[0], let to = parts[1] else {
            throw CrucibleError(.invalidSpec, "hoursUTC `\(text)` is not a span of hours such as 22-06")
        }
        return AgentPolicy.HourWindow(fromHour: from, toHour: to)
    }

    public static func load(path: String) throws -> AgentPolicy {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw CrucibleError(.invalidSpec, "cannot read policy file \(path)")
        }
        return try parse(text)
    }
}
