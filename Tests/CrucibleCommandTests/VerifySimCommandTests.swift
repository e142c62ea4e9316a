import CrucibleTestSupport
import Foundation
import Testing

/// `crucible sim verify` as a person runs it: one row per policy, and bad arguments refused.
@Suite(.heavyProcesses) struct VerifySimCommandTests {
    @Test func printsEveryPolicySideBySide() async throws {
        let run = try await DevnetCommandTests().crucible(["sim", "verify", "--honest", "50", "--cheaters", "50", "--patient", "20", "--patience", "100", "--tasks", "400"])
        #expect(run.status == 0, "\(run.output)")
        for row in ["fixed 2%", "fixed 10%", "fixed 50%", "BOINC adaptive", "Crucible adaptive"] {
            #expect(run.output.split(separator: "\n").contains { $0.hasPrefix(row) }, "no row for \(row):\n\(run.output)")
        }
        #expect(run.output.contains("CAUGHT ≤100 (q=10%)") && run.output.contains("STEADY"))
    }

    @Test func badArgumentsAreRefusedClearly() async throws {
        let run = try await DevnetCommandTests().crucible(["sim", "verify", "--tasks", "100", "--patience", "100"])
        #expect(run.status != 0 && run.output.contains("--patience below --tasks"))
    }
}
