import CrucibleAPI
import CrucibleAgent
import CrucibleClient
import CrucibleCoordinator
import CrucibleCore
import CrucibleTestSupport
import Foundation
import Testing

/// A cluster job from the agents' side: real agents prove their machines, measure their links to each other over TCP,
/// and two of them run one task together as a gang — rank 1's process connects to rank 0's at the address the
/// coordinator handed out — and both are paid.
@Suite(.serialized, .network) struct ClusterEndToEndTests {
    /// Rank 0 listens at the rendezvous and records what every other rank tells it; the others connect (retrying
    /// while rank 0 starts) and say who they are. Each checks that its arguments agree with its environment.
    static let script = """
    import os, socket, sys, time
    rank, world = int(os.environ["CRUCIBLE_RANK"]), int(os.environ["CRUCIBLE_WORLD_SIZE"])
    assert sys.argv[1:] == [str(rank), str(world)], sys.argv
    host, port = os.environ["MASTER_ADDR"], int(os.environ["MASTER_PORT"])
    out = os.environ["CRUCIBLE_OUTPUT_DIR"]
    if rank == 0:
        assert int(os.environ["CRUCIBLE_PEER_PORT"]) == port
        server = socket.socket()
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind((host, port))
        server.listen(world)
        server.settimeout(60)
        heard = []
        for _ in range(world - 1):
            peer, _ = server.accept()
            heard.append(peer.recv(512).decode())
            peer.sendall(b"ok")
            peer.close()
        open(os.path.join(out, "rank0.txt"), "w").write("\\n".join(sorted(heard)))
    else:
        deadline = time.time() + 60
        while True:
            try:
                peer = socket.create_connection((host, port), timeout=5)
                break
            except OSError:
                if time.time() > deadline:
                    raise
                time.sleep(0.1)
        peer.sendall(("rank %d of %d; peers %s" % (rank, world, os.environ["CRUCIBLE_PEERS"])).encode())
        assert peer.recv(2) == b"ok"
        open(os.path.join(out, "rank%d.txt" % rank), "w").write("ok")
    """

    @Test func twoAgentsMeasureTheirLinksAndRunOneTaskTogether() async throws {
        let network = try await TestNetwork.start()
        let policy = AgentPolicy(askMicroPerCpuCoreHour: 1_000_000, maxConcurrentRuns: 1)
        let members = [network.operatorA, network.operatorB].map { network.agent(operatorKey: $0, policy: policy, peerHost: "127.0.0.1") }
        // A node that joins no cluster: proven and online, but never part of a gang.
        let loner = network.agent(operatorKey: network.operatorA, policy: policy)
        var spec = JobSpec(
            name: "rendezvous", command: "python3", args: ["-c", Self.script, "{rank}", "{worldSize}"],
            resources: .init(gpuMilli: 0, cpuCores: 1, memoryMiB: 64), maxPriceMicroPerUnitHour: 2_000_000, maxDurationS: 120,
            cluster: .init(nodes: 2, roundTripMsMax: 500)
        )
        let (job, nodes) = try await withAgents(members + [loner]) {
            try await network.waitUntilNodes(2, clusterReady: true, timeoutS: 90)
            let submitted = try await network.client.submitJob(spec, by: network.requester)
            let settled = try await network.settled(submitted.id, timeoutS: 300)
            // Three nodes cannot be found for a three-member gang: the job waits and says why.
            spec.cluster = .init(nodes: 3, roundTripMsMax: 500)
            let big = try await network.client.submitJob(spec, by: network.requester)
            let waiting = try await network.client.job(big.id)
            #expect(waiting.waiting?.contains("needs 3 cluster-ready nodes within 500 ms of each other; 2 of 3 online nodes are cluster-ready") == true)
            _ = try await network.client.cancelJob(big.id, by: network.requester)
            return (settled, try await network.client.nodes())
        }

        let memberIds = Set(await members.asyncMap { await $0.nodeId })
        for node in nodes where memberIds.contains(node.id) {
            let links = try #require(node.links)
            #expect(links.map(\.peer) == Array(memberIds.subtracting([node.id])))
            #expect(links.allSatisfy { $0.roundTripUs > 0 && $0.bandwidthMbps > 0 })
            #expect(node.peerEndpoint?.hasPrefix("127.0.0.1:") == true)
        }
        let lonerId = await loner.nodeId
        #expect(nodes.first { $0.id == lonerId }?.clusterReady == false)

        #expect(job.state == "settled")
        #expect(job.cluster?.nodes == 2)
        let task = try #require(job.tasks.first)
        #expect(task.state == "verified")
        let runs = task.runs.sorted { ($0.rank ?? -1) < ($1.rank ?? -1) }
        #expect(runs.map(\.rank) == [0, 1])
        #expect(runs.allSatisfy { $0.state == "completed" && $0.paidMicro > 0 && memberIds.contains($0.nodeId ?? "") })
        #expect(Set(runs.compactMap(\.nodeId)).count == 2, "one member per node")
        // Rank 0 heard rank 1 over TCP, at the address the coordinator gave both of them.
        let ports = runs.compactMap(\.peerPort)
        #expect(ports.count == 2)
        let heard = try #require(runs[0].outputs.first { $0.path == "rank0.txt" })
        let text = String(decoding: try await network.client.blob(heard.sha256), as: UTF8.self)
        #expect(text == "rank 1 of 2; peers 127.0.0.1:\(ports[0]),127.0.0.1:\(ports[1])")
        #expect(job.paidMicro == runs.reduce(0) { $0 + $1.paidMicro })

        await network.stop()
        let report = try await reopenAndAudit(network)
        #expect(report.entries > 0)
    }
}

extension Sequence {
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var values = [T]()
        for element in self { values.append(try await transform(element)) }
        return values
    }
}
