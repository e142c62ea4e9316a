import CrucibleCore
import Foundation
import Yams

/// Reads the YAML files people write (job specs, agent policies) strictly: an unknown key is an error that
/// names it, because a typo silently ignored is a job that runs wrong.
public enum YAMLDocument {
    /// `nestedKeys` names the fields allowed inside a nested mapping, by its key.
    public static func decode<Value: Decodable>(
        _ type: Value.Type, from text: String, allowedKeys: Set<String>, nestedKeys: [String: Set<String>] = [:], what: String
    ) throws -> Value {
        let root: Any?
        do {
            root = try Yams.load(yaml: text)
        } catch {
            throw CrucibleError(.invalidSpec, "\(what) is not valid YAML: \(error)")
        }
        guard let mapping = root as? [String: Any] else { throw CrucibleError(.invalidSpec, "\(what) must be a YAML mapping of fields") }
        if let unknown = mapping.keys.filter({ !allowedKeys.contains($0) }).sorted().first {
            throw CrucibleError(.invalidSpec, "\(what) has an unknown field `\(unknown)`; known fields: \(allowedKeys.sorted().joined(separator: ", "))")
        }
        for (key, allowed) in nestedKeys {
            guard let nested = mapping[key] else { continue }
            guard let fields = nested as? [String: Any] else { throw CrucibleError(.invalidSpec, "\(what): `\(key)` must be a mapping of fields") }
            if let unknown = fields.keys.filter({ !allowed.contains($0) }).sorted().first {
                throw CrucibleError(.invalidSpec, "\(what) has an unknown field `\(key).\(unknown)`; known fields: \(allowed.sorted().joined(separator: ", "))")
            }
        }
        do {
            return try YAMLDecoder().decode(type, from: text)
        } catch {
            throw CrucibleError(.invalidSpec, "\(what): \(CanonicalJSON.describe(error))")
        }
    }
}
