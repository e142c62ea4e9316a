import ArgumentParser
import CrucibleCore
import CrucibleProof
import CrucibleSim
import Foundation

/// `crucible sim verify`: replication policies against cheaters, side by side.
struct VerifySimCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Honest nodes and cheaters that return wrong results on a share of their tasks, checked by fixed and adaptive replication: detection and overhead.",
        discussion: """
        Each result is re-run on another operator's node with the policy's probability; a re-run of a wrong result \
        exposes the cheater, which is slashed and leaves. Naive cheaters cheat from their first task; patient ones are \
        honest for a while to earn trust first. Overhead is re-runs per task; steady state is the second half of the \
        honest nodes' tasks.
        """
    )

    @Option(help: "Seed; the same seed prints the same figures.") var seed: UInt64 = 1
    @Option(help: "Honest nodes.") var honest: Int = 1_000
    @Option(help: "Naive cheaters per cheat share (10%, 25%, 50%, 100% of their tasks).") var cheaters: Int = 250
    @Option(help: "Patient cheaters, honest for --patience tasks, then wrong on 10% of their tasks.") var patient: Int = 250
    @Option(help: "Tasks a patient cheater does honestly first.") var patience: Int = 500
    @Option(help: "Tasks per node.") var tasks: Int = 5_000

    func validate() throws {
        guard (1...100_000).contains(honest), (1...100_000).contains(cheaters), (0...100_000).contains(patient),
              (1...1_000_000).contains(tasks), (0..<tasks).contains(patience)
        else { throw ValidationError("--honest 1…100000, --cheaters 1…100000, --patient 0…100000, --tasks 1…1000000, --patience below --tasks") }
    }

    func run() async throws {
        let configuration = VerifySimulation.Configuration(
            seed: seed, honestNodes: honest, cheatersPerShare: cheaters, patientCheaters: patient, patienceTasks: patience, tasksPerNode: tasks
        )
        let simulation = VerifySimulation(configuration)
        let crucible = AdaptiveReplication()
        let policies: [(String, VerifySimulation.Policy)] = [
            ("fixed 2%", .fixed(ppm: 20_000)),
            ("fixed 10%", .fixed(ppm: 100_000)),
            ("fixed 50%", .fixed(ppm: 500_000)),
            ("BOINC adaptive (all until 10, then 1/CV)", .adaptive(.boinc)),
            ("Crucible adaptive (all until \(crucible.warmupVerified), then 1/streak, floor \(Double(crucible.floorPpm) / 10_000)%)", .adaptive(crucible)),
        ]
        let started = ContinuousClock.now
        print("""
            replication against cheaters, seed \(seed): \(honest) honest nodes, \(cheaters) naive cheaters per share, \(patient) patient \
            cheaters (honest for \(patience) tasks, then wrong on 10%), \(tasks) tasks per node

            """)
        func percent(_ value: Double) -> String { String(format: "%.1f%%", value * 100) }
        var rows = [[String]]()
        for (name, policy) in policies {
            let outcome = simulation.run(policy)
            rows.append(
                [name]
                    + configuration.cheatShares.map { percent(outcome.caughtInTime[$0] ?? 0) }
                    + [outcome.medianTaskCaught[0.1].flatMap { $0 }.map(String.init) ?? "never",
                       percent(outcome.patientCaughtInTime), percent(outcome.patientCaught),
                       String(format: "%.2f%%", outcome.overhead * 100), String(format: "%.2f%%", outcome.steadyOverhead * 100),
                       percent(outcome.wrongAccepted)]
            )
        }
        let header = ["POLICY"] + configuration.cheatShares.map { "CAUGHT ≤\(configuration.catchWithinTasks) (q=\(Int($0 * 100))%)" }
            + ["MEDIAN TASK (q=10%)", "PATIENT ≤\(configuration.catchWithinTasks)", "PATIENT EVER", "OVERHEAD", "STEADY", "WRONG ACCEPTED"]
        print(TextTable.render(header: header, rows: rows))
        print("\nsimulated in \(String(format: "%.1f", (ContinuousClock.now - started).totalSeconds)) s")
    }
}
