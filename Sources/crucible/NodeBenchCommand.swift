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
        let hardware = await HardwareDiscovery.discover()
        if !hardware.gpus.isEmpty { try await benchGPUs(hardware) }
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
        let peak = CPUChallengeSolver.peakMultiplyAddsPerCore() * 2 * Double(ProcessInfo.processInfo.activeProcessorCount)
        if peak > 0 {
            print("  \(CPUChallengeSolver.vectorPath) path; this machine's int8 peak on it \(format(peak / 1e9)) GOPS (measured, all cores): \(format(tops * 1e12 / peak * 100))% of peak")
        }
        let claim = GPUCatalog.cpu.claimedInt8Tops(cpuCores: hardware.cpuCores)
        print("  against the catalog's cpu entry (\(format(claim * 1000)) GOPS for \(hardware.cpuCores) cores): \(format(tops / claim))×")
        print("prover: opened \(openings) rows in \(format(openS * 1000)) ms (each recomputed from the seed)")
        print("verifier: \(openings) openings × \(entries) entries in \(format(verifyS * 1000)) ms (median of 15); \(failures == 0 ? "all passed" : "\(failures) FAILED")")
        // The prover ran on every core, the verifier on one: compare core-seconds as well as wall time.
        let cores = Double(ProcessInfo.processInfo.activeProcessorCount)
        print("verifier/prover: measured \(String(format: "%.2e", verifyS / solveS)) wall, \(String(format: "%.2e", verifyS / (solveS * cores))) core-time; by operation count \(String(format: "%.2e", ChallengeVerifier.costRatio(challenge, openings: openings, entriesPerRow: entries)))")
        if failures > 0 { throw ExitCode.failure }
    }


    /// Each GPU through the CUDA worker, at the size the network would challenge its model with.
    private func benchGPUs(_ hardware: HardwareProfile) async throws {
        let worker = WorkerChallengeBackend(engine: "cuda")
        if case .failure(let error) = await worker.probe(device: hardware.gpus[0].index) {
            print("GPUs: not benchmarked — the CUDA challenge worker cannot run here: \(error.message)")
            return
        }
        let policy = ChallengePolicy()
        var generator = SystemRandomNumberGenerator()
        for gpu in hardware.gpus {
            guard let model = gpu.model.flatMap(GPUCatalog.model(id:)) else {
                print("GPU \(gpu.index) \(gpu.name): not in the catalog, so never challenged (unverified)")
                continue
            }
            let size = policy.size(claimedTops: model.denseInt8Tops, kind: .gpu)
            let challenge = try GPUChallenge.fresh(n: size.n, m: size.m)
            let started = ContinuousClock.now
            let proof = try await worker.commit(challenge, device: gpu.index)
            let seconds = (ContinuousClock.now - started).totalSeconds
            let tops = ChallengeTiming.operations(challenge) / seconds / 1e12
            var failures = 0
            for query in ChallengeVerifier.queries(for: challenge, count: policy.openings, using: &generator) {
                let opening = try await proof.open(t: query.t, i: query.i)
                if ChallengeVerifier.check(opening, for: query, of: challenge, root: proof.root, entriesPerRow: policy.entriesPerRow, using: &generator) != nil {
                    failures += 1
                }
            }
            print("GPU \(gpu.index) \(gpu.name): \(size.m) products of \(size.n)×\(size.n) int8 in \(format(seconds)) s = \(format(tops)) INT8 TOPS, \(format(tops / model.denseInt8Tops * 100))% of the catalog's \(model.denseInt8Tops) (floor \(Double(policy.floorBps) / 100)%); \(failures == 0 ? "\(policy.openings) openings verified" : "\(failures) openings FAILED")")
        }
    }

    private func format(_ value: Double) -> String { String(format: "%.3f", value) }
}
