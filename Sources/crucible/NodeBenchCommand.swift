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
    var n: Int = 4096

    @Option(help: "Number of products m.")
    var m: Int = 1

    @Option(help: "Rows the verifier opens (s).")
    var openings: Int = 16

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

        // The prover opens the queried rows (recomputed on demand, O(n²) each); then the verifier checks them. Only the
        // check is the verifier's cost.
        var generator = SystemRandomNumberGenerator()
        let queries = ChallengeVerifier.queries(for: challenge, count: openings, using: &generator)
        let openStart = ContinuousClock.now
        let opened = queries.map { solution.open(t: $0.t, i: $0.i) }
        let openS = (ContinuousClock.now - openStart).totalSeconds
        var verifyRuns = [Double]()
        var failures = 0
        // The check takes about a millisecond: repeat it and take the median, as the machine is shared.
        for _ in 0..<15 {
            failures = 0
            let verifyStart = ContinuousClock.now
            for (query, opening) in zip(queries, opened)
            where ChallengeVerifier.check(opening, for: query, of: challenge, root: solution.root, entriesPerRow: entries, using: &generator) != nil {
                failures += 1
            }
            verifyRuns.append((ContinuousClock.now - verifyStart).totalSeconds)
        }
        let verifyS = verifyRuns.sorted()[verifyRuns.count / 2]
        let tops = ChallengeTiming.operations(challenge) / solveS / 1e12
        print("CPU (\(hardware.cpuModel), \(hardware.cpuCores) cores): \(m) products of \(n)×\(n) int8 in \(format(solveS)) s = \(format(tops * 1000)) GOPS (int8, multiply and add counted apart)")
        let claim = GPUCatalog.cpu.claimedInt8Tops(cpuCores: hardware.cpuCores)
        print("  against the catalog's cpu entry (\(format(claim * 1000)) GOPS for \(hardware.cpuCores) cores): \(format(tops / claim))×")
        print("prover: opened \(openings) rows in \(format(openS * 1000)) ms (each recomputed from the seed)")
        print("verifier: \(openings) openings × \(entries) entries in \(format(verifyS * 1000)) ms (median of 15); \(failures == 0 ? "all passed" : "\(failures) FAILED")")
        // The prover ran on every core, the verifier on one: compare core-seconds as well as wall time.
        let cores = Double(ProcessInfo.processInfo.activeProcessorCount)
        print("verifier/prover: measured \(String(format: "%.2e", verifyS / solveS)) wall, \(String(format: "%.2e", verifyS / (solveS * cores))) core-time; by operation count \(String(format: "%.2e", ChallengeVerifier.costRatio(challenge, openings: openings, entriesPerRow: entries)))")
        if failures > 0 { throw ExitCode.failure }
    }


    private func format(_ value: Double) -> String { String(format: "%.3f", value) }
}
