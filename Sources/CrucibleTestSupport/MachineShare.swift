import Testing

/// How much of the machine a test takes, and so how many like it may run at once.
///
/// The whole suite runs in one process, every test at once unless told otherwise. On two cores that was dozens of
/// coordinators, agents, Blender renders, PyTorch gangs, Ray clusters, PostgreSQL servers and Chromium windows starting
/// together: tasks waited 20 s for a thread at the start of a run, offers lapsed and leases were lost although every
/// agent was well, and which test failed depended on the machine's load. A test (or a suite, for all of its tests)
/// names its share; at most a few of each share run together, and the rest wait their turn before they start — so
/// no deadline inside a test runs while it waits.
public struct MachineShare: SuiteTrait, TestTrait, TestScoping {
    let gate: Gate
    /// Whether the test runs on a thread of its own rather than the cooperative pool (see `onThreadOfItsOwn`).
    var runsOnThreadOfItsOwn = false

    public var isRecursive: Bool { true }

    /// Each test case takes its turn; a suite's own scope is not gated, or it would hold a turn for all its tests.
    public func scopeProvider(for test: Test, testCase: Test.Case?) -> Self? { testCase == nil ? nil : self }

    public func provideScope(for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void) async throws {
        await gate.enter()
        do {
            if runsOnThreadOfItsOwn {
                try await onThreadOfItsOwn { try await function() }
            } else {
                try await function()
            }
        } catch {
            await gate.leave()
            throw error
        }
        await gate.leave()
    }

    /// Turns for one share, first come first served.
    actor Gate {
        let width: Int
        private var inside = 0
        private var waiting: [CheckedContinuation<Void, Never>] = []

        init(width: Int) { self.width = width }

        func enter() async {
            guard inside >= width else {
                inside += 1
                return
            }
            await withCheckedContinuation { waiting.append($0) }
        }

        /// Hands the turn to the next waiting test, or frees it.
        func leave() {
            if waiting.isEmpty {
                inside -= 1
            } else {
                waiting.removeFirst().resume()
            }
        }
    }

    static let networkGate = Gate(width: 4)
    static let processesGate = Gate(width: 2)
    static let computeGate = Gate(width: 1)
}

extension Trait where Self == MachineShare {
    /// A coordinator and agents in this process, whose offers, leases and challenges have deadlines.
    public static var network: Self { MachineShare(gate: MachineShare.networkGate) }
    /// Child processes that take whole cores: Blender, PyTorch, Ray, Chromium, PostgreSQL servers, `crucible` itself.
    public static var heavyProcesses: Self { MachineShare(gate: MachineShare.processesGate) }
    /// Seconds of computation in the test itself (simulations, property checks, fuzzing), on a thread of its own.
    public static var compute: Self { MachineShare(gate: MachineShare.computeGate, runsOnThreadOfItsOwn: true) }
}
