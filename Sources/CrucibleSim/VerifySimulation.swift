import CrucibleCore
import CrucibleProof

/// `crucible sim verify`: how replication policies catch nodes that return wrong results, and what they cost. A
/// population of honest nodes and cheaters does tasks one after another; a cheater returns a wrong result on a share q
/// of its tasks. Each result is re-run on another operator's node with the policy's probability; a re-run of a wrong
/// result exposes it (outputs are deterministic, so honest results never disagree) and the cheater is slashed and gone.
/// Naive cheaters cheat from their first task; patient ones behave for a while to earn trust, then cheat.
public struct VerifySimulation: Sendable {
    public enum Policy: Sendable, Equatable {
        /// Every result re-run with the same probability.
        case fixed(ppm: Int)
        case adaptive(AdaptiveReplication)

        func samplePpm(streak: Int64) -> Int {
            switch self {
            case .fixed(let ppm): ppm
            case .adaptive(let rule): rule.samplePpm(streak: streak)
            }
        }
    }

    public struct Configuration: Sendable {
        public var seed: UInt64
        public var honestNodes: Int
        /// Naive cheaters for each share of tasks they cheat on.
        public var cheatersPerShare: Int
        public var cheatShares: [Double]
        /// Patient cheaters: honest for `patienceTasks`, then cheating on `patientShare` of their tasks.
        public var patientCheaters: Int
        public var patienceTasks: Int
        public var patientShare: Double
        /// Tasks each node does (unless caught first).
        public var tasksPerNode: Int
        /// A cheater counts as caught in time within this many of its cheating tasks.
        public var catchWithinTasks: Int

        public init(
            seed: UInt64 = 1, honestNodes: Int = 1_000, cheatersPerShare: Int = 250, cheatShares: [Double] = [0.1, 0.25, 0.5, 1.0],
            patientCheaters: Int = 250, patienceTasks: Int = 500, patientShare: Double = 0.1, tasksPerNode: Int = 5_000, catchWithinTasks: Int = 100
        ) {
            self.seed = seed
            self.honestNodes = honestNodes
            self.cheatersPerShare = cheatersPerShare
            self.cheatShares = cheatShares
            self.patientCheaters = patientCheaters
            self.patienceTasks = patienceTasks
            self.patientShare = patientShare
            self.tasksPerNode = tasksPerNode
            self.catchWithinTasks = catchWithinTasks
        }
    }

    public struct Outcome: Sendable, Equatable {
        /// Per cheat share: the naive cheaters caught within `catchWithinTasks` tasks, and the median task they were
        /// caught at (nil when fewer than half were).
        public var caughtInTime: [Double: Double]
        public var medianTaskCaught: [Double: Int?]
        /// Patient cheaters caught within `catchWithinTasks` tasks of starting to cheat, and at all.
        public var patientCaughtInTime: Double
        public var patientCaught: Double
        /// Re-runs per task done, over the whole run and over the second half of honest nodes' tasks (steady state).
        public var overhead: Double
        public var steadyOverhead: Double
        /// Wrong results accepted without a re-run, per wrong result returned.
        public var wrongAccepted: Double
    }

    public let configuration: Configuration

    public init(_ configuration: Configuration) {
        self.configuration = configuration
    }

    /// One node's life under `policy`: which task, counted from its first cheating one, it was caught at (nil: never),
    /// with its re-runs, tasks, wrong results and wrong results accepted, and the re-runs and tasks of its second half.
    struct Life {
        var caughtAt: Int?
        var replicas = 0
        var tasks = 0
        var wrong = 0
        var wrongAccepted = 0
        var lateReplicas = 0
        var lateTasks = 0
    }

    func live(cheatShare: Double, honestFor: Int, policy: Policy, using generator: inout SplitMix64) -> Life {
        var life = Life()
        var streak: Int64 = 0
        for task in 0..<configuration.tasksPerNode {
            let cheats = task >= honestFor && Double.random(in: 0..<1, using: &generator) < cheatShare
            let replicate = Replication.shouldReplicate(samplePpm: policy.samplePpm(streak: streak), using: &generator)
            life.tasks += 1
            if task >= configuration.tasksPerNode / 2 { life.lateTasks += 1 }
            if replicate {
                life.replicas += 1
                if task >= configuration.tasksPerNode / 2 { life.lateReplicas += 1 }
            }
            if cheats { life.wrong += 1 }
            if replicate && cheats {
                life.caughtAt = task - honestFor
                return life
            }
            if cheats { life.wrongAccepted += 1 }
            if replicate { streak += 1 }
        }
        return life
    }

    public func run(_ policy: Policy) -> Outcome {
        var generator = SplitMix64(seed: configuration.seed)
        var replicas = 0, tasks = 0, wrong = 0, wrongAccepted = 0, lateReplicas = 0, lateTasks = 0
        func count(_ life: Life, honest: Bool) {
            replicas += life.replicas
            tasks += life.tasks
            wrong += life.wrong
            wrongAccepted += life.wrongAccepted
            if honest {
                lateReplicas += life.lateReplicas
                lateTasks += life.lateTasks
            }
        }
        for _ in 0..<configuration.honestNodes {
            count(live(cheatShare: 0, honestFor: 0, policy: policy, using: &generator), honest: true)
        }
        var caughtInTime = [Double: Double]()
        var medianTaskCaught = [Double: Int?]()
        for share in configuration.cheatShares {
            var caughtAt = [Int]()
            for _ in 0..<configuration.cheatersPerShare {
                let life = live(cheatShare: share, honestFor: 0, policy: policy, using: &generator)
                count(life, honest: false)
                if let at = life.caughtAt { caughtAt.append(at) }
            }
            let cheaters = max(configuration.cheatersPerShare, 1)
            caughtInTime[share] = Double(caughtAt.filter { $0 < configuration.catchWithinTasks }.count) / Double(cheaters)
            caughtAt.sort()
            // The lower median over all cheaters of this share, the uncaught counting as never.
            let middle = (cheaters - 1) / 2
            medianTaskCaught[share] = caughtAt.count > middle ? caughtAt[middle] + 1 : nil
        }
        var patientInTime = 0, patientEver = 0
        for _ in 0..<configuration.patientCheaters {
            let life = live(cheatShare: configuration.patientShare, honestFor: configuration.patienceTasks, policy: policy, using: &generator)
            count(life, honest: false)
            if let at = life.caughtAt {
                patientEver += 1
                if at < configuration.catchWithinTasks { patientInTime += 1 }
            }
        }
        let patients = Double(max(configuration.patientCheaters, 1))
        return Outcome(
            caughtInTime: caughtInTime, medianTaskCaught: medianTaskCaught,
            patientCaughtInTime: Double(patientInTime) / patients, patientCaught: Double(patientEver) / patients,
            overhead: Double(replicas) / Double(max(tasks, 1)), steadyOverhead: Double(lateReplicas) / Double(max(lateTasks, 1)),
            wrongAccepted: Double(wrongAccepted) / Double(max(wrong, 1))
        )
    }
}
