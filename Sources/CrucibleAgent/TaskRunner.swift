import CrucibleClient
import CrucibleCore
import Foundation
import Logging

/// Runs one task as a real child process in its own work folder: fetches and checks the inputs, runs the command
/// with a time limit, streams its output to the coordinator, then hashes and uploads what it wrote to `out/`.
public struct TaskRunner: Sendable {
    public let client: CoordinatorClient
    public let node: SigningIdentity
    public let workRoot: URL
    public let logger: Logger
    /// The Python with PyTorch that train runs use; nil: this node runs no train job.
    public let training: TrainingRuntime?
    /// The Blender that render runs use; nil: this node renders nothing.
    public let rendering: RenderRuntime?
    /// The Ray that ray runs use; nil: this node joins no Ray cluster.
    public let ray: RayRuntime?
    /// Variables the operator sets for every run (caches, NCCL settings); Crucible's own names win over them.
    public let extraEnvironment: [String: String]
    /// The account tasks run as when the agent runs as root; nil: the agent's own.
    public let taskUser: TaskUser?

    /// Whether this machine's `env` can reset signal handling (GNU coreutils 8.31 and later, Debian 11 on).
    static let envResetsSignals: Bool = {
        let probe = Process()
        probe.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        probe.arguments = ["--default-signal", "true"]
        probe.standardOutput = FileHandle.nullDevice
        probe.standardError = FileHandle.nullDevice
        guard (try? probe.run()) != nil else { return false }
        probe.waitUntilExit()
        return probe.terminationStatus == 0
    }()

    /// Output forwarded to the coordinator per run; the rest stays in the local run.log.
    static let forwardedLogBytesMax = 8 << 20
    static let outputBytesMax: Int64 = 256 << 20

    public init(
        client: CoordinatorClient, node: SigningIdentity, workRoot: URL, logger: Logger, training: TrainingRuntime? = nil,
        rendering: RenderRuntime? = nil, ray: RayRuntime? = nil, extraEnvironment: [String: String] = [:], taskUser: TaskUser? = nil
    ) {
        self.taskUser = taskUser
        self.ray = ray
        self.training = training
        self.rendering = rendering
        self.extraEnvironment = extraEnvironment
        self.client = client
        self.node = node
        self.workRoot = workRoot
        self.logger = logger
    }

    public func execute(_ order: RunOrder, control: RunControl) async -> RunReport {
        let started = ContinuousClock.now
        func elapsedMs() -> Int64 { (ContinuousClock.now - started).totalMilliseconds }
        let workDirectory = workRoot.appendingPathComponent(order.runId, isDirectory: true)
        let outputDirectory = workDirectory.appendingPathComponent("out", isDirectory: true)
        do {
            try? FileManager.default.removeItem(at: workDirectory)
            try FileManager.default.createDirectory(at: outputDirectory, withIntermediateDirectories: true)
            try await fetchInputs(order.inputs, into: workDirectory)
        } catch {
            return RunReport(runId: order.runId, exitCode: -1, outputs: [], durationMs: elapsedMs(), failure: "could not prepare inputs: \(describe(error))")
        }

        let exit: ProcessExit
        do {
            exit = try await runProcess(order, in: workDirectory, outputDirectory: outputDirectory, control: control)
        } catch {
            return RunReport(runId: order.runId, exitCode: -1, outputs: [], durationMs: elapsedMs(), failure: "could not start `\(order.command)`: \(describe(error))")
        }
        let durationMs = elapsedMs()
        if let reason = await control.stopReason {
            return RunReport(runId: order.runId, exitCode: exit.code, outputs: [], durationMs: durationMs, failure: "stopped: \(reason)")
        }
        guard exit.code == 0 else {
            return RunReport(runId: order.runId, exitCode: exit.code, outputs: [], durationMs: durationMs, failure: nil)
        }
        var checkpoints: [TrainingCheckpoint]?
        if order.kind == .train {
            do {
                checkpoints = try TrainingRuntime.readCheckpoints(at: workDirectory.appendingPathComponent(Self.checkpointFile).path)
            } catch {
                return RunReport(runId: order.runId, exitCode: 0, outputs: [], durationMs: durationMs, failure: "bad checkpoint records: \(describe(error))")
            }
        }
        do {
            let outputs = try await uploadOutputs(from: outputDirectory)
            return RunReport(runId: order.runId, exitCode: 0, outputs: outputs, durationMs: durationMs, checkpoints: checkpoints)
        } catch {
            return RunReport(runId: order.runId, exitCode: 0, outputs: [], durationMs: durationMs, failure: "could not upload outputs: \(describe(error))")
        }
    }

    struct ProcessExit {
        var code: Int32
    }

    /// Where a train run's helper appends its checkpoints, beside (not in) the uploaded outputs.
    static let checkpointFile = "checkpoints.jsonl"

    /// What `/usr/bin/env` runs: the command and its arguments, or for a train run torchrun over the script, as one
    /// member of its gang (rank 0's address is the rendezvous), alone, or as a validator standing in for every rank of
    /// the gang (both of the latter on a free loopback port).
    func commandLine(_ order: RunOrder, in directory: URL) async throws -> [String] {
        if order.kind == .render {
            guard let rendering else { throw CrucibleError(.unavailable, "this node has no Blender") }
            return try rendering.arguments(scene: order.command)
        }
        if order.kind == .ray {
            guard let ray else { throw CrucibleError(.unavailable, "this node has no Ray") }
            return try ray.arguments(driver: order.command, args: order.expandedArgs)
        }
        guard order.kind == .train else { return [order.command] + order.expandedArgs }
        guard let training else { throw CrucibleError(.unavailable, "this node has no Python with PyTorch") }
        let member = order.segment == nil ? order.cluster : nil
        let master: (host: String, port: Int)
        if let rendezvous = member?.master {
            master = (rendezvous.host, rendezvous.port)
        } else {
            master = ("127.0.0.1", try await LinkMeasurer.freePort(host: "127.0.0.1"))
        }
        return [training.python] + TrainingRuntime.arguments(
            script: order.command, scriptArgs: order.expandedArgs, nodes: member?.worldSize ?? 1, nodeRank: member?.rank ?? 0,
            processesPerNode: order.segment?.processes ?? max(order.gpuDevices.count, 1), masterAddr: master.host, masterPort: master.port,
            logDirectory: directory.appendingPathComponent("torchrun-logs").path
        )
    }

    private func fetchInputs(_ inputs: [JobSpec.InputFile], into directory: URL) async throws {
        for input in inputs {
            guard JobSpec.isPlainRelativePath(input.name) else { throw CrucibleError(.malformed, "input name \(input.name) is not a plain relative path") }
            let data = try await client.blob(input.sha256)
            let destination = directory.appendingPathComponent(input.name)
            try FileManager.default.createDirectory(at: destination.deletingLastPathComponent(), withIntermediateDirectories: true)
            try data.write(to: destination)
        }
    }

    private func runProcess(_ order: RunOrder, in directory: URL, outputDirectory: URL, control: RunControl) async throws -> ProcessExit {
        let process = Process()
        // /usr/bin/env finds the command on PATH as a shell would, without a shell interpreting the arguments. With
        // --default-signal it also gives the task default signal handling, unblocked: a child otherwise inherits the
        // mask of the dispatch thread that spawned it (nearly every signal blocked) and the agent's ignored SIGTERM,
        // so a stop could never ask it to finish (save a checkpoint) and always ended in SIGKILL.
        let command = ["/usr/bin/env"] + (Self.envResetsSignals ? ["--default-signal"] : []) + (try await commandLine(order, in: directory))
        process.executableURL = URL(fileURLWithPath: command[0])
        process.arguments = Array(command.dropFirst())
        process.currentDirectoryURL = directory
        var environment = ProcessInfo.processInfo.environment.filter { ["PATH", "HOME", "LANG", "TMPDIR", "USER"].contains($0.key) }
        environment.merge(extraEnvironment) { $1 }
        environment["CRUCIBLE_JOB_ID"] = order.jobId
        environment["CRUCIBLE_RUN_ID"] = order.runId
        environment["CRUCIBLE_TASK_INDEX"] = String(order.taskIndex)
        environment["CRUCIBLE_TASK_COUNT"] = String(order.taskCount)
        environment["CRUCIBLE_ROLE"] = order.role
        environment["CRUCIBLE_OUTPUT_DIR"] = outputDirectory.path
        // A run sees the GPUs it holds and no others (none for CPU work), so runs sharing a node do not collide.
        environment["CUDA_VISIBLE_DEVICES"] = order.gpuDevices.map(String.init).joined(separator: ",")
        environment.merge(order.cluster?.environment ?? [:]) { $1 }
        if order.kind == .render, let render = order.render {
            environment.merge(RenderRuntime.environment(render, outputDirectory: outputDirectory, cpuCores: order.cpuCores)) { $1 }
        }
        if order.kind == .ray {
            // The number of CPUs this member's Ray node offers: the cores the run holds.
            environment["OMP_NUM_THREADS"] = String(order.cpuCores)
        }
        if order.kind == .train {
            environment["PYTHONPATH"] = TrainingRuntime.helperDirectory
            environment["CRUCIBLE_CHECKPOINT_FILE"] = directory.appendingPathComponent(Self.checkpointFile).path
            environment["CRUCIBLE_DIST_BACKEND"] = order.gpuDevices.isEmpty ? "gloo" : "nccl"
            environment["OMP_NUM_THREADS"] = String(order.cpuCores)
            if let segment = order.segment {
                environment["CRUCIBLE_RESUME_STATE"] = directory.appendingPathComponent(JobSpec.trainResumeInput).path
                environment["CRUCIBLE_RESUME_STEP"] = String(segment.fromStep)
                environment["CRUCIBLE_STOP_STEP"] = String(segment.toStep)
            }
        }
        if let taskUser {
            // The task gets its folder and nothing else of the agent's: it runs as the task user, at home in its folder.
            try taskUser.own(directory)
            environment["HOME"] = directory.path
            environment["USER"] = taskUser.name
            process.executableURL = URL(fileURLWithPath: TaskUser.setpriv)
            process.arguments = taskUser.commandLine(command)
        }
        process.environment = environment
        process.standardInput = FileHandle.nullDevice
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe

        let output = OutputReader(pipe.fileHandleForReading)
        let (exits, exitContinuation) = AsyncStream<ProcessExit>.makeStream()
        process.terminationHandler = { finished in
            let signalled = finished.terminationReason == .uncaughtSignal
            exitContinuation.yield(ProcessExit(code: signalled ? 128 + finished.terminationStatus : finished.terminationStatus))
            exitContinuation.finish()
        }
        do {
            try process.run()
        } catch {
            output.finish()
            throw error
        }
        await control.attach(process)
        if let group = await control.processGroup {
            LeftoverRuns.record(processGroup: group, in: directory)
        }
        let timeLimitS = order.maxDurationS
        let limiter = Task {
            try await Task.sleep(for: .seconds(timeLimitS))
            await control.stop("ran past its time limit of \(timeLimitS) s")
        }
        let forwarder = Task { await forwardLog(output.chunks, runId: order.runId, localLog: directory.appendingPathComponent("run.log")) }
        var exit = ProcessExit(code: -1)
        for await value in exits { exit = value }
        limiter.cancel()
        await control.reapLeftovers()
        LeftoverRuns.forget(in: directory)
        output.finish()
        await forwarder.value
        return exit
    }

    /// Streams output chunks to the coordinator in order and keeps a local copy.
    private func forwardLog(_ output: AsyncStream<Data>, runId: String, localLog: URL) async {
        _ = FileManager.default.createFile(atPath: localLog.path, contents: nil)
        let file = try? FileHandle(forWritingTo: localLog)
        defer { try? file?.close() }
        var seq = 0
        var forwarded = 0
        for await data in output {
            try? file?.write(contentsOf: data)
            guard forwarded < Self.forwardedLogBytesMax else { continue }
            var offset = 0
            while offset < data.count {
                let end = min(offset + TaskLogAppend.textBytesMax / 2, data.count)
                let text = String(decoding: data[offset..<end], as: UTF8.self)
                offset = end
                do {
                    try await client.appendTaskLog(TaskLogAppend(runId: runId, seq: seq, text: text), by: node)
                } catch {
                    logger.debug("log chunk not delivered", metadata: ["run": "\(runId)", "error": "\(error)"])
                }
                seq += 1
            }
            forwarded += data.count
        }
    }

    /// Hashes every regular file under `out/` (symbolic links are skipped: they could point anywhere on the
    /// machine) and uploads each by content address.
    private func uploadOutputs(from directory: URL) async throws -> [OutputFile] {
        let base = directory.resolvingSymlinksInPath().path
        guard let enumerator = FileManager.default.enumerator(
            at: directory, includingPropertiesForKeys: [.isRegularFileKey, .isSymbolicLinkKey], options: []
        ) else { return [] }
        var outputs = [OutputFile]()
        var totalBytes: Int64 = 0
        while let url = enumerator.nextObject() as? URL {
            let values = try url.resourceValues(forKeys: [.isRegularFileKey, .isSymbolicLinkKey])
            guard values.isRegularFile == true, values.isSymbolicLink != true else { continue }
            let full = url.resolvingSymlinksInPath().path
            guard full.hasPrefix(base + "/") else { continue }
            let relative = String(full.dropFirst(base.count + 1))
            let data = try Data(contentsOf: url)
            totalBytes += Int64(data.count)
            guard totalBytes <= Self.outputBytesMax else {
                throw CrucibleError(.tooLarge, "outputs exceed \(Self.outputBytesMax >> 20) MiB")
            }
            guard outputs.count < RunReport.outputCountMax else {
                throw CrucibleError(.tooLarge, "more than \(RunReport.outputCountMax) output files")
            }
            let sha256 = try await whileUnreachable(for: .seconds(120)) { try await client.putBlob(data, by: node) }
            outputs.append(OutputFile(path: relative, sha256: sha256, sizeBytes: Int64(data.count)))
        }
        return outputs.sorted { $0.path < $1.path }
    }

    private func describe(_ error: any Error) -> String {
        (error as? CrucibleError)?.message ?? "\(error)"
    }
}
