import CrucibleCore
import CrucibleTestSupport
import Foundation
import FoundationNetworking
import Testing

/// The pieces run apart, as on real machines: a coordinator process, an agent process, and the CLI as
/// requester and auditor, all talking HTTP on loopback.
@Suite(.serialized, .heavyProcesses) struct SeparatePiecesTests {
    /// A long-running `crucible` process whose output goes to a file.
    final class Background: @unchecked Sendable {
        let process = Process()
        let outputPath: String

        init(_ arguments: [String]) throws {
            outputPath = FileManager.default.temporaryDirectory.appendingPathComponent("crucible-bg-\(UUID().uuidString).log").path
            _ = FileManager.default.createFile(atPath: outputPath, contents: nil)
            let output = try FileHandle(forWritingTo: URL(fileURLWithPath: outputPath))
            process.executableURL = URL(fileURLWithPath: DevnetCommandTests.executable)
            process.arguments = arguments
            process.standardOutput = output
            process.standardError = output
            process.standardInput = FileHandle.nullDevice
            try process.run()
            try output.close()
        }

        var output: String { (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? "" }

        /// For a `coordinator serve` process: waits for its "listening on" line and returns the URL it names.
        func listeningURL() async throws -> String {
            var url = ""
            try await waitUntil("the coordinator to listen") {
                guard let line = output.split(separator: "\n").first(where: { $0.contains("listening on http") }) else {
                    if !process.isRunning { throw CrucibleError(.unavailable, "the coordinator exited: \(output)") }
                    return false
                }
                url = String(line.split(separator: " ").last ?? "")
                return true
            }
            return url
        }

        func stop() async {
            process.terminate()
            for _ in 0..<100 where process.isRunning { try? await Task.sleep(for: .milliseconds(100)) }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        }
    }

    @Test func coordinatorAgentAndRequesterAsSeparateProcesses() async throws {
        let cli = DevnetCommandTests()
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("crucible-apart-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        func path(_ name: String) -> String { folder + "/" + name }

        let requester = try await cli.crucible(["wallet", "new", "--out", path("requester.key")])
        #expect(requester.status == 0)
        let requesterAddress = try #require(requester.output.split(separator: "\n").first { $0.hasPrefix("address ") }?.dropFirst(8))
        _ = try await cli.crucible(["wallet", "new", "--out", path("operator.key")])
        let operatorAddress = try await cli.crucible(["wallet", "address", "--key", path("operator.key")]).output.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(Address.isValid(operatorAddress))

        // A debug build on a shared machine: the CPU node's challenge is small and its floor low.
        try "challenges:\n  cpuN: 128\n  targetMs: 50\n  slackPercent: 20000\n  floorBps: 10\n".write(toFile: path("parameters.yaml"), atomically: true, encoding: .utf8)
        let coordinator = try Background([
            "coordinator", "serve", "--data", path("coordinator"), "--listen", "127.0.0.1:0", "--parameters", path("parameters.yaml"),
            "--fund", "\(requesterAddress)=50", "--fund", "\(operatorAddress)=30", "--log-level", "warning",
        ])
        // Both processes are stopped on any failure too (a deferred Task might never run before the test process ends).
        var agentProcess: Background?
        do {
            let url = try await coordinator.listeningURL()
            // A second coordinator on the same port is refused with a clear message, and exits cleanly.
            let port = String(url.split(separator: ":").last ?? "")
            let clash = try await cli.crucible(["devnet", "--once", "--port", port, "--data", path("clash")])
            #expect(clash.status == 1, "\(clash.output)")
            #expect(clash.output.contains("could not listen on 127.0.0.1:\(port)"), "\(clash.output)")

            // The operator bonds what one CPU node needs (20 CRU by default) before its agent joins; more than it holds is refused.
            let tooMuch = try await cli.crucible(["stake", "add", "31", "--key", path("operator.key"), "--coordinator", url])
            #expect(tooMuch.status != 0 && tooMuch.output.contains("holds 30.00 CRU"), "\(tooMuch.output)")
            let bonded = try await cli.crucible(["stake", "add", "20", "--key", path("operator.key"), "--coordinator", url])
            #expect(bonded.status == 0 && bonded.output.contains("staked     20.00 CRU"), "\(bonded.output)")

            let agent = try Background([
                "node", "run", "--coordinator", url, "--key", path("node.key"), "--operator-key", path("operator.key"),
                "--work", path("work"), "--parent-pid", "\(getpid())", "--log-level", "warning", "--metrics-listen", "127.0.0.1:0",
            ])
            agentProcess = agent
            var metricsURL = ""
            try await waitUntil("the agent to serve its metrics") {
                guard let line = agent.output.split(separator: "\n").first(where: { $0.hasPrefix("metrics served at http") }) else { return false }
                metricsURL = String(line.split(separator: " ").last ?? "")
                return true
            }

            try "alpha beta gamma\n".write(toFile: path("words.txt"), atomically: true, encoding: .utf8)
            try """
            name: apart
            command: sh
            args: ["-c", "wc -w < words.txt | tr -d ' ' > \\"$CRUCIBLE_OUTPUT_DIR/count.txt\\"; echo counted {index}"]
            inputs: [words.txt]
            tasks: 2
            maxPricePerHour: 1
            maxDuration: 30s
            """.write(toFile: path("job.yaml"), atomically: true, encoding: .utf8)

            let submit = try await cli.crucible(["job", "submit", path("job.yaml"), "--key", path("requester.key"), "--coordinator", url, "--wait"], timeoutS: 120)
            #expect(submit.status == 0, "\(submit.output)")
            // Followed as it moves (one line per change when not on a terminal), then its status.
            #expect(submit.output.contains("settled") && submit.output.contains("2/2 verified"), "\(submit.output)")
            let jobId = try #require(submit.output.split(separator: " ").first { $0.hasPrefix("job-") }.map { String($0).trimmingCharacters(in: CharacterSet(charactersIn: ":")) })

            // The job's log entries in words, newest first; and as the API's page for scripts.
            // (The log serves what is durable, a group commit behind the job's state.)
            var told = try await cli.crucible(["log", "--subject", jobId, "--limit", "100", "--coordinator", url])
            try await waitUntil("the job's closing entry is in the log") {
                told = try await cli.crucible(["log", "--subject", jobId, "--limit", "100", "--coordinator", url])
                return told.output.contains("\(jobId) closed")
            }
            #expect(told.status == 0 && told.output.contains("submitted by"), "\(told.output)")
            struct Page: Decodable { struct Entry: Decodable { var seq: Int64 }; var entries: [Entry] }
            let entries = try JSONDecoder().decode(Page.self, from: Data(try await cli.crucible(["log", "--subject", jobId, "--json", "--limit", "2", "--coordinator", url]).output.utf8)).entries
            #expect(entries.count == 2 && entries[0].seq > entries[1].seq)
            let logs = try await cli.crucible(["job", "logs", jobId, "--coordinator", url])
            #expect(logs.output.contains("counted 0") && logs.output.contains("counted 1"), "\(logs.output)")
            struct Chunk: Decodable { var taskIndex: Int; var text: String }
            let chunks = try await cli.crucible(["job", "logs", jobId, "--json", "--coordinator", url]).output
                .split(separator: "\n").map { try JSONDecoder().decode(Chunk.self, from: Data($0.utf8)) }
            #expect(Set(chunks.map(\.taskIndex)) == [0, 1] && chunks.contains { $0.text.contains("counted 1") })
            // The agent's live table on its stdout: the node proven, its two runs done.
            try await waitUntil("the agent's table shows its runs") {
                agent.output.split(separator: "\n").contains { $0.contains("online") && $0.contains("proven") && $0.contains(" 0/") && $0.contains(" 2 ") }
            }
            #expect(agent.output.contains("STATE") && agent.output.contains("EARNED CRU"), "\(agent.output)")
            let balance = try await cli.crucible(["wallet", "balance", "--key", path("operator.key"), "--coordinator", url])
            let earned = try #require(balance.output.split(separator: "\n").first { $0.hasPrefix("balance") }?.split(separator: " ").dropFirst().first.flatMap { Amount.parseCRU(String($0)) })
            #expect(earned > 10 * Amount.microPerCRU && balance.output.contains("staked   20.00 CRU"), "\(balance.output)")
            let stake = try await cli.crucible(["stake", "status", "--key", path("operator.key"), "--coordinator", url])
            #expect(stake.output.contains("required   20.00 CRU for 1 node(s); 1 covered"), "\(stake.output)")
            let economy = try await cli.crucible(["economy", "--coordinator", url])
            #expect(economy.status == 0 && economy.output.contains("staked 20.00 CRU"), "\(economy.output)")
            let sent = try await cli.crucible(["wallet", "send", requesterAddress.description, "1.5", "--key", path("operator.key"), "--coordinator", url])
            #expect(sent.status == 0 && sent.output.contains("sent 1.50 CRU"), "\(sent.output)")
            let history = try await cli.crucible(["wallet", "history", "--key", path("operator.key"), "--coordinator", url])
            for kind in ["transfer", "payment", "stake", "genesis"] {
                #expect(history.output.contains(kind), "\(kind) missing from:\n\(history.output)")
            }
            let proposals = try await cli.crucible(["gov", "list", "--coordinator", url])
            #expect(proposals.output.contains("no proposals yet"), "\(proposals.output)")
            let network = try await cli.crucible(["network", "--coordinator", url])
            #expect(network.output.contains("nodes: 1 registered, 1 online"), "\(network.output)")
            let list = try await cli.crucible(["job", "list", "--coordinator", url])
            #expect(list.output.contains(jobId))
            // For scripts, the read commands print the API's JSON.
            struct Named: Decodable { var id: String; var state: String }
            let listed = try JSONDecoder().decode([Named].self, from: Data(try await cli.crucible(["job", "list", "--json", "--coordinator", url]).output.utf8))
            #expect(listed.map(\.id) == [jobId] && listed[0].state == "settled")
            let status = try JSONDecoder().decode(Named.self, from: Data(try await cli.crucible(["job", "status", jobId, "--json", "--coordinator", url]).output.utf8))
            #expect(status.id == jobId && status.state == "settled")
            struct Snapshot: Decodable {
                struct Summary: Decodable { var nodesRegistered: Int }
                struct Node: Decodable { var id: String }
                var network: Summary
                var nodes: [Node]
            }
            let snapshot = try JSONDecoder().decode(Snapshot.self, from: Data(try await cli.crucible(["network", "--json", "--coordinator", url]).output.utf8))
            #expect(snapshot.network.nodesRegistered == 1 && snapshot.nodes.count == 1)
            struct Account: Decodable { var address: String; var balanceMicro: Int64 }
            let account = try JSONDecoder().decode(Account.self, from: Data(try await cli.crucible(["wallet", "balance", "--json", "--address", requesterAddress.description, "--coordinator", url]).output.utf8))
            #expect(account.address == requesterAddress.description && account.balanceMicro > 0)
            let hardware = try JSONDecoder().decode(HardwareProfile.self, from: Data(try await cli.crucible(["node", "hardware", "--json"]).output.utf8))
            #expect(hardware.cpuCores >= 1 && hardware.memoryMiB > 0)
            // The agent's /metrics counts the two runs it finished.
            let (metrics, response) = try await URLSession.shared.data(from: try #require(URL(string: metricsURL)))
            let exposition = String(decoding: metrics, as: UTF8.self)
            #expect((response as? HTTPURLResponse)?.statusCode == 200)
            #expect(exposition.contains("crucible_agent_runs_total{outcome=\"succeeded\"} 2"), "\(exposition)")

            // A coordinator that is not there: the error says so and what would start one.
            let nowhere = try await cli.crucible(["job", "list", "--coordinator", "http://127.0.0.1:9"])
            #expect(nowhere.status != 0 && nowhere.output.contains("Is it running there?") && nowhere.output.contains("crucible devnet"), "\(nowhere.output)")

            // A spec with a typo is refused before anything is uploaded or signed.
            try "name: x\ncommand: sh\nmaxPricePerHour: 1\nmaxDuration: 1m\ntaks: 2\n".write(toFile: path("typo.yaml"), atomically: true, encoding: .utf8)
            let typo = try await cli.crucible(["job", "submit", path("typo.yaml"), "--key", path("requester.key"), "--coordinator", url])
            #expect(typo.status != 0)
            #expect(typo.output.contains("unknown field `taks`"), "\(typo.output)")

            // Anyone can audit the running coordinator from its public log.
            let remote = try await cli.crucible(["audit", "--coordinator", url])
            #expect(remote.status == 0, "\(remote.output)")
            #expect(remote.output.contains("match the balances the coordinator reports"))
            struct Audit: Decodable {
                struct Report: Decodable { var entries: Int64; var jobs: Int }
                var ok: Bool
                var report: Report?
            }
            let audited = try JSONDecoder().decode(Audit.self, from: Data(try await cli.crucible(["audit", "--json", "--coordinator", url]).output.utf8))
            #expect(audited.ok && audited.report?.jobs == 1 && (audited.report?.entries ?? 0) > 10)
            let submittedJSON = try JSONDecoder().decode(Named.self, from: Data(try await cli.crucible(["job", "submit", path("job.yaml"), "--json", "--key", path("requester.key"), "--coordinator", url]).output.utf8))
            #expect(submittedJSON.id.hasPrefix("job-") && submittedJSON.id != jobId)

            await agent.stop()
            await coordinator.stop()
        } catch {
            await agentProcess?.stop()
            await coordinator.stop()
            throw error
        }
        let local = try await cli.crucible(["audit", "--data", path("coordinator")])
        #expect(local.status == 0, "\(local.output)")
    }
}
