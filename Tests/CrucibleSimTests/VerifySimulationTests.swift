import CrucibleCore
import CrucibleProof
import CrucibleSim
import CrucibleTestSupport
import Testing

/// The replication simulation's figures hold their shape on a small population: the adaptive rule catches cheaters
/// that a fixed rate of the same steady cost misses, and a seed replays exactly.
@Suite struct VerifySimulationTests {
    let configuration = VerifySimulation.Configuration(
        seed: 7, honestNodes: 200, cheatersPerShare: 200, cheatShares: [0.1, 1.0], patientCheaters: 100, patienceTasks: 300, tasksPerNode: 3_000
    )

    @Test(.compute) func adaptiveReplicationCatchesNaiveCheatersEarlyAtASmallSteadyCost() async {
        let simulation = VerifySimulation(configuration)
        let adaptive = simulation.run(.adaptive(AdaptiveReplication()))
        let fixed = simulation.run(.fixed(ppm: 20_000))
        // Every result is re-run in the warm-up: at q = 10%, 0.9^50 of cheaters (0.5%) survive it.
        #expect(adaptive.caughtInTime[0.1]! >= 0.97)
        #expect(adaptive.caughtInTime[1.0]! == 1)
        #expect(adaptive.steadyOverhead < 0.02)
        // A fixed 2% costs as much in steady state and catches few of them within 100 tasks.
        #expect(fixed.caughtInTime[0.1]! < 0.5)
        #expect(abs(fixed.steadyOverhead - 0.02) < 0.005)
        // Patient cheaters are the adaptive rule's weak side: they are caught, but late.
        #expect(adaptive.patientCaught > 0.9)
        #expect(adaptive.patientCaughtInTime < adaptive.caughtInTime[0.1]!)
        #expect(simulation.run(.adaptive(AdaptiveReplication())) == adaptive, "a seed replays exactly")
    }
}
