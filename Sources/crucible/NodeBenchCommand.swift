import ArgumentParser
import CrucibleAgent
import CrucibleCore
import CrucibleProof
import Foundation

/// `crucible node bench`: a local proof-of-GPU challenge, solved and verified on this machine.
struct NodeBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Solve and verify a local proof-of-GPU challenge; print the proven throughput and what verifying cost."
    )

    @Option(help: "Matrix size n.")
    var n: Int = 512

    @Option(help: "Number of products m.")
    var m: Int = 4

    @Option(help: "Rows the verifier opens (s).")
    var openings: Int = 32

    @Option(help: "Entries recomputed per opened row (k).")
    var entries: Int = 8

    func run() async throws {
        let hardware = HardwareDiscovery.discover()
        for gpu in hardware.gpus {
            let peak = gpu.model.flatMap(GPUCatalog.model(id:)).map { "catalog peak \($0.denseInt8Tops) INT8 TOPS" } ?? "not in the catalog: unverified"
            print("GPU \(gpu.index) \(gpu.name) (\(peak)): not benchmarked — this build answers challenges with the CPU solver only")
        }
        let challenge = try GPUChallenge.fresh(n: n, m: m)
        let solveStart = ContinuousClock.now
        let solution = try await CPUChallengeSolver.commit(challenge)
        let solveS = (ContinuousClock.now - solveStart).totalSeconds

        var generator = SystemRandomNumberGenerator()
        let verifyStart = ContinuousClock.now
        var failures = 0
        for query in ChallengeVerifier.queries(for: challenge, count: openings, using: &generator) {
            let opening = solution.open(t: query.t, i: query.i)
            if ChallengeVerifier.check(opening, for: query, of: challenge, root: solution.root, entriesPerRow: entries, using: &generator) != nil {
                failures += 1
            }
        }
        let verifyS = (ContinuousClock.now - verifyStart).totalSeconds
        let tops = ChallengeTiming.operations(challenge) / solveS / 1e12
        print("CPU (\(hardware.cpuModel), \(hardware.cpuCores) cores): \(m) products of \(n)×\(n) int8 in \(format(solveS)) s = \(format(tops * 1000)) GOPS (int8, multiply and add counted apart)")
        let claim = GPUCatalog.cpu.claimedInt8Tops(cpuCores: hardware.cpuCores)
        print("  against the catalog's cpu entry (\(format(claim * 1000)) GOPS for \(hardware.cpuCores) cores): \(format(tops / claim))×")
        print("verifier: \(openings) openings × \(entries) entries in \(format(verifyS * 1000)) ms; \(failures == 0 ? "all passed" : "\(failures) FAILED")")
        print("verifier/prover: measured \(String(format: "%.2e", verifyS / solveS)), by operation count \(String(format: "%.2e", ChallengeVerifier.costRatio(challenge, openings: openings, entriesPerRow: entries)))")
        if failures > 0 { throw ExitCode.failure }
    }


    private func format(_ value: Double) -> String { String(format: "%.3f", value) }
}
