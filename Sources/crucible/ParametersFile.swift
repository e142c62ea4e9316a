import CrucibleClient
import CrucibleCoordinator
import CrucibleCore
import CrucibleProof
import Foundation

/// A network's genesis rules from a YAML file; fields left out take their defaults, unknown ones are refused.
enum ParametersFile {
    static func load(path: String) throws -> NetworkParameters {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw CrucibleError(.invalidSpec, "cannot read the parameters file \(path)")
        }
        let parameters = try YAMLDocument.decode(
            NetworkParameters.self, from: text, allowedKeys: NetworkParameters.fieldNames,
            nestedKeys: ["challenges": ChallengePolicy.fieldNames], what: "parameters file \(path)"
        )
        try parameters.challenges.validate()
        return parameters
    }
}
