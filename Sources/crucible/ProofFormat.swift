import CrucibleAPI
import Foundation

/// How a node's proof of hardware reads in tables: "proven 0.0291 TOPS", "failed", "unverified".
enum ProofFormat {
    static func describe(_ proof: Components.Schemas.NodeProof) -> String {
        switch proof.status {
        case .proven: "proven \(tops(proof.provenTops)) TOPS"
        case .pending: proof.openChallengeId == nil ? "pending" : "challenged"
        case .failed: "failed (\(proof.failed)×)"
        case .unverified: "unverified model"
        }
    }

    static func tops(_ value: Double) -> String {
        value >= 10 ? String(format: "%.0f", value) : value >= 0.1 ? String(format: "%.2f", value) : String(format: "%.4g", value)
    }
}
