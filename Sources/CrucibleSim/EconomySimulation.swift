import CrucibleCore
import CrucibleLedger
import Foundation

/// `crucible sim economy`: a year of the token economy (ARCHITECTURE §7) on real traces. Supply is Alibaba's
/// production cluster (its nodes and GPU models), owned by operators with a Zipf-distributed number of nodes each;
/// demand is Microsoft Philly's job arrivals, durations and sizes, cycled over the year and scaled. Each weekly
/// epoch pays jobs at per-class prices with the protocol fee burned, credits verified work and proven availability
/// exactly as the coordinator does (availability through Poisson-timed challenges of idle nodes), and mints the
/// epoch's emission with `EpochEmission` — once with the policy's damping and once without, to show what the
/// damping does to the share the largest operators capture.
public struct EconomySimulation {
    public struct Configuration: Sendable {
        public var seed: UInt64
        public var epochs: Int
        /// Operators owning the trace's nodes, and the Zipf exponent of how many nodes each owns.
        public var operators: Int
        public var ownershipExponent: Double
        /// Copies of each trace job, each arriving at a random time in the day after the original.
        public var demandScale: Int
        /// A queued job that finds no GPUs for this long is dropped.
        public var queueLimitS: Int64
        public var policy: EconomyPolicy
        public var feeBps: Int64
        public var challengeMeanIntervalMs: Int64
        /// Ask per GPU-hour by stake class, µCRU.
        public var priceMicroPerGPUHour: [StakeClass: Int64]

        public init(
            seed: UInt64 = 1, epochs: Int = 52, operators: Int = 300, ownershipExponent: Double = 1.0, demandScale: Int = 8,
            queueLimitS: Int64 = 86_400, policy: EconomyPolicy = EconomyPolicy(), feeBps: Int64 = 500,
            challengeMeanIntervalMs: Int64 = 6 * 3_600_000,
            priceMicroPerGPUHour: [StakeClass: Int64] = [.flagship: 2_000_000, .high: 800_000, .mid: 400_000, .entry: 200_000, .cpu: 20_000]
        ) {
            self.seed = seed
            self.epochs = epochs
            self.operators = operators
            self.ownershipExponent = ownershipExponent
            self.demandScale = demandScale
            self.queueLimitS = queueLimitS
            self.policy = policy
            self.feeBps = feeBps
            self.challengeMeanIntervalMs = challengeMeanIntervalMs
            self.priceMicroPerGPUHour = priceMicroPerGPUHour
        }
    }

    /// What a model of the trace can do. Catalog models use the catalog; the P100 has no INT8 tensor cores (its
    /// FP16 rate stands in) and Alibaba's own G1–G3 cards are unpublished, so they are assumed A10-class.
    public static func profile(ofTraceModel model: String) -> (tops: Int64, stakeClass: StakeClass, assumed: Bool) {
        let catalogIds = ["T4": "T4", "V100M16": "V100", "V100M32": "V100", "A10": "A10"]
        if let id = catalogIds[model], let entry = GPUCatalog.model(id: id) {
            return (Int64(entry.denseInt8Tops.rounded()), entry.stakeClass, false)
        }
        if model == "P100" { return (19, .entry, true) }
        return (250, .mid, true)
    }

    public struct EpochFigures: Sendable {
        public var epoch: Int
        public var utilization: Double
        public var jobsServed: Int
        public var jobsDropped: Int
        public var revenueMicro: Int64
        public var burnedMicro: Int64
        public var mintedMicro: Int64
        public var mintedUndampedMicro: Int64
        /// Share of the operators' emission taken by the top 1% of operators, with and without damping.
        public var topShare: Double
        public var topShareUndamped: Double
        public var netSupplyChangeMicro: Int64 { mintedMicro - burnedMicro }
    }

    public struct ClassFigures: Sendable {
        public var stakeClass: StakeClass
        public var gpus: Int
        /// Per GPU per week, averaged over the year: job income (after the fee) and emission.
        public var revenueMicroPerGPUWeek: Int64
        public var emissionMicroPerGPUWeek: Int64
    }

    public struct Report: Sendable {
        public var epochs: [EpochFigures]
        public var classes: [ClassFigures]
        public var gpus: Int
        public var operators: Int
        public var jobs: Int
        public var assumedModels: [String]
    }

    let configuration: Configuration
    let nodes: [TraceNode]
    let jobs: [TraceJob]

    public init(configuration: Configuration, nodes: [TraceNode], jobs: [TraceJob]) {
        self.configuration = configuration
        self.nodes = nodes.filter { $0.gpus > 0 }
        self.jobs = jobs
    }

    // MARK: - The run

    private struct Node {
        var gpus: Int
        var busy = 0
        var owner: Int
        var milliTopsPerGPU: Int64
        var stakeClass: StakeClass
        var idleSinceS: Int64? = 0
        var epochGPUSeconds: Int64 = 0
        var epochIdleSeconds: Int64 = 0
    }

    private struct Running: Comparable {
        var endS: Int64
        var startS: Int64
        var allocation: [(node: Int, gpus: Int)]
        static func < (lhs: Running, rhs: Running) -> Bool { lhs.endS < rhs.endS }
        static func == (lhs: Running, rhs: Running) -> Bool { lhs.endS == rhs.endS && lhs.startS == rhs.startS }
    }

    public func run() throws -> Report {
        let config = configuration
        guard config.epochs > 0, config.operators > 0, config.demandScale > 0, !nodes.isEmpty else {
            throw CrucibleError(.malformed, "the simulation needs epochs, operators, demand and nodes")
        }
        var random = SplitMix64(seed: config.seed)
        let weekS: Int64 = 7 * 86_400
        let horizonS = weekS * Int64(config.epochs)

        // Who owns what: each node goes to an operator drawn with probability ∝ 1/(rank+1)^s.
        let weights = (0..<config.operators).map { 1 / pow(Double($0 + 1), config.ownershipExponent) }
        let cumulative = weights.reduce(into: [Double]()) { $0.append(($0.last ?? 0) + $1) }
        var fleet = nodes.map { node -> Node in
            let draw = Double.random(in: 0..<cumulative.last!, using: &random)
            let owner = cumulative.firstIndex { draw < $0 } ?? config.operators - 1
            let profile = Self.profile(ofTraceModel: node.model)
            return Node(gpus: node.gpus, owner: owner, milliTopsPerGPU: profile.tops * 1000, stakeClass: profile.stakeClass)
        }
        let operatorAddresses = (0..<config.operators).map { Digest.sha256Hex("sim-operator-\($0)") }

        // Demand: the trace cycled over the horizon, each job `demandScale` times within a day of its time.
        let span = max((jobs.map(\.arrivalS).max() ?? 0) + 1, 1)
        var arrivals = [TraceJob]()
        var offset: Int64 = 0
        while offset < horizonS {
            for job in jobs where offset + job.arrivalS < horizonS {
                for _ in 0..<config.demandScale {
                    var copy = job
                    copy.arrivalS = offset + job.arrivalS + Int64.random(in: 0..<86_400, using: &random)
                    arrivals.append(copy)
                }
            }
            offset += span
        }
        arrivals.sort { $0.arrivalS < $1.arrivalS }

        // Nodes by how many GPUs they have free, so a placement never scans the fleet. Arrays, not sets: a set's
        // order differs between instances, and the same seed must give the same year.
        let maxGPUs = fleet.map(\.gpus).max()!
        var byFree = Array(repeating: [Int](), count: maxGPUs + 1)
        var position = [Int](repeating: 0, count: fleet.count)
        func file(_ index: Int, under free: Int) {
            position[index] = byFree[free].count
            byFree[free].append(index)
        }
        func unfile(_ index: Int, from free: Int) {
            let last = byFree[free].removeLast()
            if last != index {
                byFree[free][position[index]] = last
                position[last] = position[index]
            }
        }
        for (index, node) in fleet.enumerated() { file(index, under: node.gpus) }
        var freeGPUs = fleet.reduce(0) { $0 + $1.gpus }
        let totalGPUs = freeGPUs

        func take(_ wanted: Int) -> [(node: Int, gpus: Int)]? {
            guard wanted <= freeGPUs else { return nil }
            // One node that fits best, else the emptiest nodes first for a job larger than any node.
            if wanted <= maxGPUs, let free = (wanted...maxGPUs).first(where: { !byFree[$0].isEmpty }) {
                return [(byFree[free].first!, wanted)]
            }
            var left = wanted
            var allocation = [(node: Int, gpus: Int)]()
            for free in stride(from: maxGPUs, through: 1, by: -1) {
                for index in byFree[free] where left > 0 {
                    let share = min(free, left)
                    allocation.append((index, share))
                    left -= share
                }
                if left == 0 { break }
            }
            return left == 0 ? allocation : nil
        }
        func move(_ index: Int, by delta: Int, at nowS: Int64) {
            var node = fleet[index]
            unfile(index, from: node.gpus - node.busy)
            if node.busy == 0, delta > 0, let since = node.idleSinceS {
                node.epochIdleSeconds += nowS - since
                node.idleSinceS = nil
            }
            node.busy += delta
            if node.busy == 0 { node.idleSinceS = nowS }
            file(index, under: node.gpus - node.busy)
            fleet[index] = node
            freeGPUs -= delta
        }

        var running = Heap<Running>()
        var queue = [(job: TraceJob, since: Int64)]()
        var nextArrival = 0
        var figures = [EpochFigures]()
        var classRevenue = [StakeClass: Int64]()
        var classEmission = [StakeClass: Int64]()
        let price = config.priceMicroPerGPUHour
        var undamped = config.policy
        undamped.dampingRateBps = 10_000

        for epoch in 0..<config.epochs {
            let startS = Int64(epoch) * weekS
            let endS = startS + weekS
            var served = 0
            var dropped = 0
            var revenue: Int64 = 0

            func credit(_ job: Running, from: Int64, to: Int64) {
                guard to > from else { return }
                for part in job.allocation {
                    fleet[part.node].epochGPUSeconds += Int64(part.gpus) * (to - from)
                }
            }
            func startQueued(at nowS: Int64) {
                var index = 0
                while index < queue.count, index < 128 {
                    if nowS - queue[index].since > config.queueLimitS {
                        queue.remove(at: index)
                        dropped += 1
                        continue
                    }
                    if let allocation = take(queue[index].job.gpus) {
                        let job = queue.remove(at: index).job
                        for part in allocation { move(part.node, by: part.gpus, at: nowS) }
                        running.push(Running(endS: nowS + max(job.durationS, 1), startS: nowS, allocation: allocation))
                        served += 1
                    } else {
                        index += 1
                    }
                }
            }

            // Events in time order: job ends free GPUs before arrivals at the same second take them.
            while true {
                let nextEnd = running.peek?.endS ?? .max
                let arrivalAt = nextArrival < arrivals.count ? arrivals[nextArrival].arrivalS : .max
                let now = min(nextEnd, arrivalAt)
                guard now < endS else { break }
                if nextEnd <= arrivalAt {
                    let job = running.pop()!
                    credit(job, from: max(job.startS, startS), to: job.endS)
                    for part in job.allocation { move(part.node, by: -part.gpus, at: job.endS) }
                } else {
                    queue.append((arrivals[nextArrival], now))
                    nextArrival += 1
                }
                startQueued(at: now)
            }
            // The epoch's tail of every running job and idle node.
            for job in running.elements { credit(job, from: max(job.startS, startS), to: endS) }
            for index in fleet.indices {
                if let since = fleet[index].idleSinceS {
                    fleet[index].epochIdleSeconds += endS - max(since, startS)
                    fleet[index].idleSinceS = endS
                }
            }

            // Pay, burn, weigh.
            var work = [String: Int64]()
            var availability = [String: Int64]()
            var nodeWork = [Int64](repeating: 0, count: fleet.count)
            var nodeAvailability = [Int64](repeating: 0, count: fleet.count)
            var burned: Int64 = 0
            var busySeconds: Int64 = 0
            let meanS = Double(config.challengeMeanIntervalMs) / 1000
            for (index, node) in fleet.enumerated() {
                busySeconds += node.epochGPUSeconds
                let paid = node.epochGPUSeconds * (price[node.stakeClass] ?? 0) / 3_600
                let fee = EconomyPolicy.portion(paid, bps: config.feeBps)
                revenue += paid
                burned += fee
                classRevenue[node.stakeClass, default: 0] += paid
                nodeWork[index] = node.epochGPUSeconds * node.milliTopsPerGPU
                let passes = Self.poisson(mean: Double(node.epochIdleSeconds) / meanS, using: &random)
                nodeAvailability[index] = Int64(passes) * config.challengeMeanIntervalMs * node.milliTopsPerGPU * Int64(node.gpus) / 1_000
                work[operatorAddresses[node.owner], default: 0] += nodeWork[index]
                availability[operatorAddresses[node.owner], default: 0] += nodeAvailability[index]
                fleet[index].epochGPUSeconds = 0
                fleet[index].epochIdleSeconds = 0
            }
            let emission = EpochEmission.compute(policy: config.policy, workWeights: work, availabilityWeights: availability)
            let plain = EpochEmission.compute(policy: undamped, workWeights: work, availabilityWeights: availability)
            // An operator's emission goes to its nodes by their share of its weights, to report income by class.
            let shares = Dictionary(uniqueKeysWithValues: emission.shares.map { ($0.address, $0) })
            for (index, node) in fleet.enumerated() {
                let address = operatorAddresses[node.owner]
                guard let share = shares[address] else { continue }
                if let total = work[address], total > 0 { classEmission[node.stakeClass, default: 0] += Amount.scaled(share.workMicro, by: nodeWork[index], over: total) }
                if let total = availability[address], total > 0 {
                    classEmission[node.stakeClass, default: 0] += Amount.scaled(share.availabilityMicro, by: nodeAvailability[index], over: total)
                }
            }
            figures.append(EpochFigures(
                epoch: epoch, utilization: Double(busySeconds) / Double(Int64(totalGPUs) * weekS), jobsServed: served, jobsDropped: dropped,
                revenueMicro: revenue, burnedMicro: burned, mintedMicro: emission.totalMicro, mintedUndampedMicro: plain.totalMicro,
                topShare: Self.topShare(emission, operators: config.operators), topShareUndamped: Self.topShare(plain, operators: config.operators)
            ))
        }

        var gpusByClass = [StakeClass: Int]()
        for node in fleet { gpusByClass[node.stakeClass, default: 0] += node.gpus }
        let classes = gpusByClass.keys.sorted().map { stakeClass in
            let gpuWeeks = Int64(gpusByClass[stakeClass]!) * Int64(config.epochs)
            let net = (classRevenue[stakeClass] ?? 0) - EconomyPolicy.portion(classRevenue[stakeClass] ?? 0, bps: config.feeBps)
            return ClassFigures(
                stakeClass: stakeClass, gpus: gpusByClass[stakeClass]!, revenueMicroPerGPUWeek: net / gpuWeeks,
                emissionMicroPerGPUWeek: (classEmission[stakeClass] ?? 0) / gpuWeeks
            )
        }
        let assumed = Set(nodes.map(\.model)).filter { Self.profile(ofTraceModel: $0).assumed }.sorted()
        return Report(epochs: figures, classes: classes, gpus: totalGPUs, operators: config.operators, jobs: arrivals.count, assumedModels: assumed)
    }

    /// The share of operators' emission (treasury excluded) that the top 1% of all operators took.
    static func topShare(_ emission: EpochEmission, operators: Int) -> Double {
        let amounts = emission.shares.map(\.totalMicro).sorted(by: >)
        let total = amounts.reduce(0, +)
        guard total > 0 else { return 0 }
        let top = max(1, Int((Double(operators) * 0.01).rounded(.up)))
        return Double(amounts.prefix(top).reduce(0, +)) / Double(total)
    }

    /// A Poisson draw: Knuth's method for small means, a rounded normal for large ones.
    static func poisson(mean: Double, using random: inout SplitMix64) -> Int {
        guard mean > 0 else { return 0 }
        if mean > 60 {
            let u1 = Double.random(in: Double.ulpOfOne..<1, using: &random), u2 = Double.random(in: 0..<1, using: &random)
            return max(0, Int((mean + sqrt(mean) * sqrt(-2 * log(u1)) * cos(2 * .pi * u2)).rounded()))
        }
        let limit = exp(-mean)
        var product = Double.random(in: 0..<1, using: &random)
        var count = 0
        while product > limit {
            product *= Double.random(in: 0..<1, using: &random)
            count += 1
        }
        return count
    }
}
