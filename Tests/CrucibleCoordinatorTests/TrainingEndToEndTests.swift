import CrucibleAPI
import CrucibleAgent
import CrucibleClient
import CrucibleCoordinator
import CrucibleCore
import CrucibleTestSupport
import Foundation
import Testing

/// A train job for real: two agents form a two-member cluster, each launches torchrun (gloo, CPU) with the rank and
/// rendezvous the coordinator assigned, a small model trains data-parallel on each member's own shard, both report the
/// same weight digests at every checkpoint; a validator of another operator resumes one segment from the saved state as
/// both ranks on one node and ends at the same weights; the job settles. Needs PyTorch (Debian's python3-torch;
/// `.ci/run` installs it).
@Suite(.serialized, .heavyProcesses) struct TrainingEndToEndTests {
    static let script = """
    import json, os, sys
    import torch, torch.distributed as dist
    import crucible_train

    dist.init_process_group(crucible_train.backend())
    rank, world = dist.get_rank(), dist.get_world_size()
    steps, every = int(sys.argv[1]), int(sys.argv[2])
    torch.manual_seed(0)  # the same initial weights on every rank
    model = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.Tanh(), torch.nn.Linear(16, 1))
    ddp = torch.nn.parallel.DistributedDataParallel(model)
    optimizer = torch.optim.SGD(ddp.parameters(), lr=0.3)
    shard = torch.Generator().manual_seed(100 + rank)  # each rank its own data
    x = torch.randn(256, 8, generator=shard)
    if os.environ.get("CRUCIBLE_TEST_TRAIN_ON_NO_DATA"):  # what a cheating node's environment does to its ranks
        x = torch.zeros_like(x)
    y = torch.sin(x @ (torch.arange(1.0, 9.0).unsqueeze(1) / 8))
    losses = []
    start = crucible_train.resume(ddp, optimizer)  # a validator resumes at a checkpoint
    for step in range(start + 1, steps + 1):
        optimizer.zero_grad()
        loss = ((ddp(x) - y) ** 2).mean()
        loss.backward()
        optimizer.step()
        mean = loss.detach().clone()
        dist.all_reduce(mean)
        losses.append(mean.item() / world)
        if step % every == 0:
            crucible_train.checkpoint(ddp, step, optimizer)
    if rank == 0:
        json.dump({"world": world, "losses": losses}, open(os.path.join(os.environ["CRUCIBLE_OUTPUT_DIR"], "losses.json"), "w"))
    dist.destroy_process_group()
    """

    struct Losses: Decodable {
        var world: Int
        var losses: [Double]
    }

    /// Runs the script as a 2-member gang on operator A's two nodes (the second with `cheaterEnvironment`), with
    /// every task's segment re-run by operator B's node (and, with `arbiter`, by operator C's when they disagree), and
    /// returns the closed job.
    func trainJob(_ network: TestNetwork, cheaterEnvironment: [String: String] = [:], arbiter: Bool = false) async throws -> (Components.Schemas.Job, String) {
        let training = try #require(await TrainingRuntime.find(), "no Python with PyTorch: install Debian's python3-torch")
        let policy = AgentPolicy(askMicroPerCpuCoreHour: 1_000_000, maxConcurrentRuns: 1)
        // The gang forms on operator A's two nodes (only they join clusters); operator B's node validates.
        let members = [[:], cheaterEnvironment].map {
            network.agent(operatorKey: network.operatorA, policy: policy, peerHost: "127.0.0.1", training: training, runEnvironment: $0)
        }
        let validator = network.agent(operatorKey: network.operatorB, policy: policy, training: training)
        let arbiters = arbiter ? [network.agent(operatorKey: network.operatorC, policy: policy, training: training)] : []
        let scriptData = Data(Self.script.utf8)
        let sha256 = try await network.client.putBlob(scriptData, by: network.requester)
        let spec = JobSpec(
            name: "ddp", kind: .train, command: "train.py", args: ["60", "20"],
            inputs: [.init(name: "train.py", sha256: sha256, sizeBytes: Int64(scriptData.count))],
            resources: .init(gpuMilli: 0, cpuCores: 1, memoryMiB: 1024), maxPriceMicroPerUnitHour: 2_000_000, maxDurationS: 300,
            verification: .init(policy: .replicate, samplePpm: 1_000_000), cluster: .init(nodes: 2, roundTripMsMax: 500)
        )
        let job = try await withAgents(members + [validator] + arbiters) {
            try await network.waitUntilNodes(2, clusterReady: true, timeoutS: 90)
            let submitted = try await network.client.submitJob(spec, by: network.requester)
            return try await network.settled(submitted.id)
        }
        return (job, await validator.nodeId)
    }

    /// Slow by nature: about 35–60 s on a 2-core machine (measured 2026-12-04, debug build). Three torchrun launches
    /// (two members, then the validator's segment), each starting Python and importing PyTorch (~5 s of CPU apiece),
    /// and 60 steps of gloo all-reduce between two processes on two cores.
    @Test func twoAgentsTrainOneModelTogetherAndTheirCheckpointsAgree() async throws {
        let network = try await TestNetwork.start()
        let (job, validatorId) = try await trainJob(network)
        let task = try #require(job.tasks.first)
        let runs = task.runs.filter { $0.state == "completed" && $0.role == "primary" }.sorted { ($0.rank ?? -1) < ($1.rank ?? -1) }
        #expect(job.state == "settled" && task.state == "verified", "\(task.runs.map { "\($0.id) \($0.state) \($0.failure ?? "")" })")
        #expect(runs.map(\.rank) == [0, 1])
        #expect(Set(runs.compactMap(\.nodeId)).count == 2)
        // Every member checkpointed at steps 20, 40 and 60, and the weights agree at each.
        let checkpoints = runs.map { ($0.checkpoints ?? []).map { "\($0.step):\($0.digest)" } }
        #expect(checkpoints.first?.count == 3)
        #expect(checkpoints.first?.map { $0.prefix(3) } == ["20:", "40:", "60:"])
        #expect(Set(checkpoints).count == 1, "the members' weights differ: \(checkpoints)")
        #expect(runs.allSatisfy { $0.paidMicro > 0 })

        // The validator resumed at one checkpoint's saved state and ended at the next one's weights, within tolerance.
        let segment = try #require(job.segments?.first, "\(task.runs.map { "\($0.id) \($0.role) \($0.outputs.map(\.path))" })")
        #expect([20, 40].contains(segment.fromStep) && segment.toStep == segment.fromStep + 20)
        let deviationPpm = try #require(segment.deviationPpm)
        #expect(deviationPpm <= Double(TestNetwork.fastParameters.trainDeviationPpmMax))
        print("train segment \(segment.fromStep)→\(segment.toStep) re-run by a validator: \(deviationPpm) ppm from the gang's weights")
        let check = try #require(task.runs.first { $0.role == "replica" && $0.state == "completed" })
        #expect(check.paidMicro > 0)
        #expect(check.nodeId == validatorId)
        #expect(check.checkpoints?.last?.step == segment.toStep)

        // Both ranks trained one model: the world was two processes, and the mean loss fell.
        let output = try #require(runs.first?.outputs.first { $0.path == "losses.json" })
        let losses = try JSONDecoder().decode(Losses.self, from: try await network.client.blob(output.sha256))
        #expect(losses.world == 2)
        #expect(losses.losses.count == 60)
        let (first, last) = (try #require(losses.losses.first), try #require(losses.losses.last))
        #expect(last < first / 2, "loss \(first) → \(last)")
        await network.stop()
    }

    /// Slow by nature: about 30–40 s on a 2-core machine (measured 2026-12-04, debug build): the gang's torchrun, the
    /// validator's segment and the arbiters' segments each start Python and import PyTorch.
    @Test func aMemberThatTrainsOnNoDataIsCaughtByTheValidatorsSegmentAndTheArbiters() async throws {
        let network = try await TestNetwork.start(stakingOperatorC: true)
        let (job, _) = try await trainJob(network, cheaterEnvironment: ["CRUCIBLE_TEST_TRAIN_ON_NO_DATA": "1"], arbiter: true)
        let task = try #require(job.tasks.first)
        let members = task.runs.filter { $0.role == "primary" && $0.state == "completed" }
        // The gang's weights agree with each other (data-parallel averaging keeps them equal), so only the validator,
        // re-running the segment with both ranks' real data, sees that they are not what honest training gives.
        #expect(members.count == 2 && Set(members.map { $0.checkpoints?.map(\.digest) ?? [] }).count == 1)
        let segment = try #require(job.segments?.first)
        let deviationPpm = try #require(segment.deviationPpm)
        #expect(deviationPpm > 100 * Double(TestNetwork.fastParameters.trainDeviationPpmMax))
        print("a member on no data, caught by the validator: \(deviationPpm) ppm from honest training")
        // An arbiter of a third operator re-ran the same segment and ended where the validator did: the gang lost.
        // (Operators B and C both may validate; whichever did not is the arbiter.)
        let validator = try #require(task.runs.first { $0.role == "replica" && $0.state == "completed" })
        let arbiter = try #require(task.runs.first { $0.role == "arbiter" && $0.state == "completed" }, "\(task.runs.map { "\($0.id) \($0.state)" })")
        let gangNodes = Set(members.compactMap(\.nodeId))
        #expect(validator.nodeId != arbiter.nodeId && !gangNodes.contains(validator.nodeId ?? "") && !gangNodes.contains(arbiter.nodeId ?? ""))
        #expect(arbiter.checkpoints?.last?.step == segment.toStep)
        #expect(task.state == "verified" && validator.paidMicro > 0 && arbiter.paidMicro > 0)
        #expect(members.allSatisfy { $0.paidMicro == 0 && ($0.failure ?? "").contains("outvoted") }, "\(members.map { $0.failure ?? "" })")
        let account = try await network.client.account(network.operatorA.address)
        #expect(account.stakedMicro < TestNetwork.operatorStakeMicro, "the gang's operator is slashed")
        #expect(job.state == "settled")
        await network.stop()
    }
}
