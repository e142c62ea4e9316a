import ArgumentParser
import CrucibleCore
import CrucibleProof
import CrucibleSim
import Foundation

/// `crucible sim`: simulations of the network.
struct SimCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sim",
        abstract: "Simulate the network.",
        subcommands: [SpoofCommand.self, EconomySimCommand.self, PackSimCommand.self, MarketSimCommand.self, VerifySimCommand.self]
    )

    struct SpoofCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "spoof",
            abstract: "Challenge a population of honest and cheating nodes; print the detection rate per kind and the false rejection rate."
        )

        @Option(help: "Seed of the simulation; the same seed prints the same figures.")
        var seed: UInt64 = 1

        @Option(help: "Honest nodes.")
        var honest: Int = 1_000

        @Option(help: "Challenge cycles per honest node.")
        var cycles: Int = 10

        @Option(help: "Cheating nodes of each kind (each is judged on its first challenge).")
        var cheaters: Int = 100

        func validate() throws {
            guard (1...100_000).contains(honest), (1...1_000).contains(cycles), (1...10_000).contains(cheaters) else {
                throw ValidationError("--honest 1…100000, --cycles 1…1000, --cheaters 1…10000")
            }
        }

        func run() async throws {
            let configuration = SpoofSimulation.Configuration(seed: seed, honestNodes: honest, cycles: cycles, cheatersPerKind: cheaters)
            let policy = configuration.policy
            let started = ContinuousClock.now
            let outcomes = try SpoofSimulation(configuration).run()
            let size = policy.size(claimedTops: configuration.model.denseInt8Tops, kind: .gpu)
            print("""
                proof-of-GPU spoofing simulation, seed \(seed): every node claims an \(configuration.model.displayName) \
                (\(configuration.model.denseInt8Tops) INT8 TOPS); honest devices reach \(Int(configuration.honestShare.lowerBound * 100))–\(Int(configuration.honestShare.upperBound * 100))% of it
                timing at the network's size (n = \(size.n), m = \(size.m)), deadline ×\(Double(policy.slackPercent) / 100), floor \(Double(policy.floorBps) / 100)%, \
                round-trip credit ≤ \(policy.roundTripMaxMs) ms; answers checked for real on n = \(configuration.checkN), m = \(configuration.checkM) \
                with s = \(policy.openings) rows × k = \(policy.entriesPerRow) entries

                """)
            let rows = outcomes.map { outcome in
                [
                    outcome.kind.rawValue, "\(outcome.challenges)", "\(outcome.rejected)",
                    String(format: "%.2f%%", outcome.rejectedShare * 100),
                    "\(outcome.wrongAnswers)", "\(outcome.late)", "\(outcome.belowFloor)",
                ]
            }
            print(TextTable.render(header: ["NODES", "CHALLENGES", "REJECTED", "RATE", "WRONG ANSWERS", "LATE", "BELOW FLOOR"], rows: rows))
            let honestOutcome = outcomes.first { $0.kind == .honest }!
            let cheaters = outcomes.filter { $0.kind != .honest }
            let caught = cheaters.reduce(0) { $0 + $1.rejected }
            let total = cheaters.reduce(0) { $0 + $1.challenges }
            print("")
            print("false rejection: \(honestOutcome.rejected) of \(honestOutcome.challenges) honest challenges (\(String(format: "%.3f%%", honestOutcome.rejectedShare * 100)))")
            print("cheaters caught at their first challenge: \(caught) of \(total) (\(String(format: "%.2f%%", Double(caught) / Double(max(total, 1)) * 100)))")
            print("simulated in \(String(format: "%.1f", (ContinuousClock.now - started).totalSeconds)) s")
        }
    }
}
