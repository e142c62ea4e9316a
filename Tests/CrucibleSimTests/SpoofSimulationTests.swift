import CrucibleCore
import CrucibleProof
import CrucibleTestSupport
@testable import CrucibleSim
import Foundation
import Testing

/// The spoofing simulation, small enough for a debug build: every cheater kind is caught at its first challenge,
/// no honest challenge is refused, and the same seed gives the same figures.
@Suite struct SpoofSimulationTests {
    let configuration = SpoofSimulation.Configuration(seed: 7, honestNodes: 40, cycles: 5, cheatersPerKind: 8, checkN: 24, checkM: 2)

    @Test(.compute) func everyCheaterIsCaughtAndNoHonestNodeIsRefused() async throws {
        let outcomes = try SpoofSimulation(configuration).run()
        #expect(outcomes.map(\.kind) == SpoofSimulation.Kind.allCases)
        for outcome in outcomes {
            if outcome.kind == .honest {
                #expect(outcome.challenges == 200 && outcome.rejected == 0)
            } else {
                #expect(outcome.challenges == 8 && outcome.rejected == 8, "\(outcome.kind.rawValue): \(outcome.rejected) of 8 caught")
            }
        }
        // Each cheat is caught for its own reason.
        let byKind = Dictionary(uniqueKeysWithValues: outcomes.map { ($0.kind, $0) })
        for kind in [SpoofSimulation.Kind.replay, .lazyRows, .lazyEntries, .tweaker, .halfPrecision] {
            #expect(byKind[kind]?.wrongAnswers == 8, "\(kind.rawValue)")
        }
        for kind in [SpoofSimulation.Kind.throttled, .sybil, .stretcher] {
            #expect(byKind[kind]?.belowFloor == 8, "\(kind.rawValue)")
        }
        #expect(byKind[.late]?.late == 8)
        #expect(byKind[.cpuAsGPU].map { $0.late + $0.belowFloor } == 8)
    }

    @Test(.compute) func theSameSeedGivesTheSameFigures() async throws {
        var small = configuration
        small.honestNodes = 5
        small.cheatersPerKind = 2
        #expect(try SpoofSimulation(small).run() == SpoofSimulation(small).run())
    }

    @Test func halfPrecisionArithmeticIsWrongWhereExactArithmeticIsNot() throws {
        // FP16 accumulators cannot hold int8 dot products exactly; the verifier's exact entries tell them apart.
        let challenge = try GPUChallenge(seed: Data(repeating: 3, count: 32), n: 32, m: 1)
        let exact = CPUChallengeSolver.solve(challenge).rows
        let half = SimulatedProver.halfPrecisionRows(challenge)
        let wrong = zip(exact.joined(), half.joined()).filter { $0 != $1 }.count
        #expect(wrong > exact.count * challenge.n / 2)
    }
}
