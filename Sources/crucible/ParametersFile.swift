import CrucibleClient
import CrucibleCoordinator
import CrucibleCore
import CrucibleLedger
import CrucibleProof
import Foundation
import Yams

/// A network's genesis rules from a YAML file; fields left out take their defaults, unknown ones are refused.
enum ParametersFile {
    static func load(path: String) throws -> NetworkParameters {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw CrucibleError(.invalidSpec, "cannot read the parameters file \(path)")
        }
        var parameters = try YAMLDocument.decode(
            NetworkParameters.self, from: text, allowedKeys: NetworkParameters.fieldNames,
            nestedKeys: ["challenges": ChallengePolicy.fieldNames, "economy": EconomyPolicy.fieldNames], what: "parameters file \(path)"
        )
        // Decoding reads a missing economy as a network from before the economy (no stake, no emission); a new
        // network started from a file gets today's defaults unless the file says otherwise.
        if ((try? Yams.load(yaml: text)) as? [String: Any])?["economy"] == nil { parameters.economy = EconomyPolicy() }
        try parameters.validate()
        return parameters
    }
}
