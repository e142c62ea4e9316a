import CrucibleClient
import CrucibleCore
import Foundation

/// The agent's policy as its operator writes it (YAML, prices in CRU):
///
/// ```yaml
/// askPerGpuHour: 1.2
/// askPerCpuCoreHour: 0.03
/// minPricePerHour: 0.01
/// allowedKinds: [batch]
/// maxConcurrentRuns: 2
/// blockedRequesters: []
/// ```
public enum AgentPolicyFile {
    struct Document: Decodable {
        var askPerGpuHour: String?
        var askPerCpuCoreHour: String?
        var minPricePerHour: String?
        var allowedKinds: [String]?
        var maxConcurrentRuns: Int?
        var blockedRequesters: [String]?
    }

    static let allowedKeys: Set<String> = ["askPerGpuHour", "askPerCpuCoreHour", "minPricePerHour", "allowedKinds", "maxConcurrentRuns", "blockedRequesters"]

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
        if let kinds = document.allowedKinds {
            policy.allowedKinds = try kinds.map { raw in
                guard let kind = JobSpec.Kind(rawValue: raw) else { throw CrucibleError(.invalidSpec, "allowedKinds: unknown kind `\(raw)`") }
                return kind
            }
        }
        if let value = document.maxConcurrentRuns { policy.maxConcurrentRuns = value }
        if let value = document.blockedRequesters { policy.blockedRequesters = value }
        do {
            try policy.validate()
        } catch let error as CrucibleError {
            throw CrucibleError(.invalidSpec, error.message)
        }
        return policy
    }

    public static func load(path: String) throws -> AgentPolicy {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw CrucibleError(.invalidSpec, "cannot read policy file \(path)")
        }
        return try parse(text)
    }
}
