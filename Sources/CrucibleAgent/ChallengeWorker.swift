import CrucibleCore
import CrucibleProof
import Foundation

/// Answers challenges through the worker script shipped with the agent (`Resources/challenge_worker.py`): the
/// `cuda` engine on an NVIDIA GPU (PyTorch, torch._int_mm, kernels built from the same C the tests check against
/// the challenge vectors), or the `cpu` engine (NumPy), one worker process per device and challenge.
public final class WorkerChallengeBackend: ChallengeBackend, @unchecked Sendable {
    public let engine: String
    public let python: String
    /// A started worker per device, ready for the next challenge: starting one (Python, PyTorch, the CUDA
    /// context) takes seconds that must not count against a challenge's deadline.
    private var warm: [Int: ChallengeWorkerProcess] = [:]
    private let lock = NSLock()

    public init(engine: String, python: String = "python3") {
        self.engine = engine
        self.python = python
    }

    deinit {
        for worker in warm.values { worker.stop() }
    }

    public var name: String { "\(engine) worker (\(Self.scriptURL?.lastPathComponent ?? "missing script"))" }

    public static var scriptURL: URL? {
        Bundle.module.url(forResource: "challenge_worker", withExtension: "py", subdirectory: "Resources")
    }

    /// Starts a worker for `device` and asks it what it runs on; the worker then stays warm for the first challenge.
    public func probe(device: Int = 0) async -> Result<String, CrucibleError> {
        do {
            let worker = try ChallengeWorkerProcess(python: python, engine: engine, device: device)
            let hello: [String: Any]
            do {
                hello = try await worker.request(["op": "hello"])
            } catch {
                worker.stop()
                throw error
            }
            park(worker, device: device)
            return .success("\(hello["engine"] as? String ?? engine) on \(hello["device"] as? String ?? "?")")
        } catch let error as CrucibleError {
            return .failure(error)
        } catch {
            return .failure(CrucibleError(.unavailable, "\(error)"))
        }
    }

    /// Starts a worker for each device ahead of the challenges.
    public func prewarm(devices: [Int]) {
        for device in devices { _ = try? takeOrStart(device: device).map { park($0, device: device) } }
    }

    public func commit(_ challenge: GPUChallenge, device: Int) async throws -> any ChallengeProof {
        let worker = try takeOrStart(device: device) ?? ChallengeWorkerProcess(python: python, engine: engine, device: device)
        // The next challenge finds a worker ready.
        if let next = try? ChallengeWorkerProcess(python: python, engine: engine, device: device) { park(next, device: device) }
        do {
            let reply = try await worker.request(["op": "commit", "seed": challenge.seed.hexString, "n": challenge.n, "m": challenge.m])
            guard let hex = reply["root"] as? String, let root = Data(hexString: hex), root.count == 32 else {
                throw CrucibleError(.malformed, "the challenge worker answered without a root")
            }
            return WorkerProof(root: root, worker: worker)
        } catch {
            worker.stop()
            throw error
        }
    }

    private func takeOrStart(device: Int) throws -> ChallengeWorkerProcess? {
        lock.lock()
        defer { lock.unlock() }
        if let worker = warm.removeValue(forKey: device), worker.isRunning { return worker }
        return try ChallengeWorkerProcess(python: python, engine: engine, device: device)
    }

    private func park(_ worker: ChallengeWorkerProcess, device: Int) {
        lock.lock()
        let previous = warm.updateValue(worker, forKey: device)
        lock.unlock()
        previous?.stop()
    }
}

/// A commitment held by a worker process, which recomputes opened rows on its device.
final class WorkerProof: ChallengeProof, @unchecked Sendable {
    let root: Data
    let worker: ChallengeWorkerProcess

    init(root: Data, worker: ChallengeWorkerProcess) {
        self.root = root
        self.worker = worker
    }

    deinit { worker.stop() }

    func open(t: Int, i: Int) async throws -> RowOpening {
        let reply = try await worker.request(["op": "open", "t": t, "i": i])
        do {
            return try JSONDecoder().decode(RowOpening.self, from: JSONSerialization.data(withJSONObject: reply))
        } catch {
            throw CrucibleError(.malformed, "the challenge worker's opening is not a row with its Merkle path: \(error)")
        }
    }
}

/// One worker process speaking JSON lines. Requests are answered in order; a cancelled request stops the worker.
final class ChallengeWorkerProcess: @unchecked Sendable {
    private let process = Process()
    private let input = Pipe()
    private let output = Pipe()
    private let lock = NSLock()
    private var buffer = Data()

    init(python: String, engine: String, device: Int) throws {
        guard let script = WorkerChallengeBackend.scriptURL else {
            throw CrucibleError(.unavailable, "the challenge worker script is missing from the agent's resources")
        }
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [python, script.path, "--engine", engine, "--device", "\(device)"]
        process.standardInput = input
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            throw CrucibleError(.unavailable, "cannot start \(python): \(error)")
        }
    }

    var isRunning: Bool { process.isRunning }

    func stop() {
        if process.isRunning { process.terminate() }
    }

    /// Sends one request and waits for its line, off the cooperative pool (the read blocks).
    func request(_ body: [String: Any]) async throws -> [String: Any] {
        let line = try JSONSerialization.data(withJSONObject: body) + Data("\n".utf8)
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<[String: Any], any Error>) in
                DispatchQueue.global().async {
                    do {
                        continuation.resume(returning: try self.exchange(line))
                    } catch {
                        continuation.resume(throwing: error)
                    }
                }
            }
        } onCancel: {
            self.stop()
        }
    }

    private func exchange(_ line: Data) throws -> [String: Any] {
        lock.lock()
        defer { lock.unlock() }
        do {
            try input.fileHandleForWriting.write(contentsOf: line)
        } catch {
            throw CrucibleError(.unavailable, "the challenge worker stopped: \(error)")
        }
        while true {
            if let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                let reply = buffer[buffer.startIndex..<newline]
                buffer = Data(buffer[buffer.index(after: newline)...])
                guard let object = try? JSONSerialization.jsonObject(with: reply) as? [String: Any] else {
                    throw CrucibleError(.malformed, "the challenge worker wrote something that is not a JSON object")
                }
                if let error = object["error"] as? String { throw CrucibleError(.unavailable, "challenge worker: \(error)") }
                return object
            }
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty {
                if Task.isCancelled { throw CancellationError() }
                throw CrucibleError(.unavailable, "the challenge worker exited")
            }
            buffer.append(chunk)
        }
    }
}
