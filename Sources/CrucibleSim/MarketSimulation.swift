import CrucibleCore
import CrucibleMarket
import Foundation

/// `crucible sim market`: Microsoft Philly's job arrivals, durations and sizes replayed against a simulated network
/// (`SimulatedFleet`) with prices, placement rules and agent policies, once with Crucible's engine and once with
/// first-fit FIFO, on the same jobs. Philly's cluster was far smaller than the network simulated, so the trace is
/// overlaid on itself: copies of each job arrive at a random time in the day after the original, as many copies as
/// make the GPU-hours asked match a chosen share of the network's capacity. Sizes and durations are the trace's own
/// (a heavy tail: 84% of its GPU-hours are in jobs longer than a day). Jobs of more than 8 GPUs run as gangs of equal
/// members on datacenter nodes within a round-trip bound.
public struct MarketSimulation: Sendable {
    public struct Configuration: Sendable {
        public var seed: UInt64
        public var gpus: Int
        /// GPU-hours asked per hour of the arrival window, as a share of the network's GPUs.
        public var load: Double
        /// The window of the trace replayed: from this day of it (its first weeks are nearly empty), this many days.
        public var fromDay: Double
        public var days: Double
        public var buckets: Int
        /// Queued jobs the engine tries per pass (backfill), beyond those it can rule out at once.
        public var backfillDepth: Int
        public var gangRoundTripMs: Double

        public init(seed: UInt64 = 1, gpus: Int = 20_000, load: Double = 1.0, fromDay: Double = 28, days: Double = 14, buckets: Int = 48, backfillDepth: Int = 64, gangRoundTripMs: Double = 10) {
            self.seed = seed
            self.gpus = gpus
            self.load = load
            self.fromDay = fromDay
            self.days = days
            self.buckets = buckets
            self.backfillDepth = backfillDepth
            self.gangRoundTripMs = gangRoundTripMs
        }
    }

    public enum Scheduler: String, Sendable, CaseIterable {
        /// The placement engine, with backfill: any queued job that fits may start.
        case crucible
        /// The oldest job first, on the first node (in registration order) that may take it; nothing passes it.
        case firstFitFIFO = "first-fit-fifo"
    }

    /// One job of the replay: the trace's size and duration with a requester's terms.
    struct Job {
        var arrivalS: Double
        var durationS: Double
        var gpus: Int
        var member: Demand
        var members: Int
    }

    public struct Bucket: Sendable {
        public var startS: Double
        public var endS: Double
        /// Busy GPU-seconds over GPU-seconds in the bucket.
        public var utilization: Double
        public var idleGPUs: Double
        public var queuedAtEnd: Int
        public var started: Int
        /// GPU-hour weighted mean price of the jobs started in the bucket, CRU.
        public var meanPrice: Double?
    }

    public struct Outcome: Sendable {
        public var scheduler: Scheduler
        public var buckets: [Bucket]
        public var jobs: Int
        /// Jobs no node of the network could ever take (price, memory, region rules): refused at submission by both.
        public var refused: Int
        public var started: Int
        public var waitingAtEnd: Int
        /// Queueing delay of the jobs that started, seconds.
        public var delayP50S: Double
        public var delayP99S: Double
        /// Over the arrival window.
        public var utilization: Double
        public var meanPrice: Double
        public var seconds: Double
    }

    public let configuration: Configuration
    public let fleet: SimulatedFleet
    let jobs: [Job]
    /// End of the arrival window, simulated seconds.
    public let windowS: Double
    public var jobCount: Int { jobs.count }
    /// Copies of the trace overlaid.
    public let copies: Int
    /// Per job, whether some node of the empty network would take it at some hour (gangs: enough cluster-ready nodes
    /// within the round-trip bound). Both schedulers refuse the others at submission, as the coordinator would.
    let satisfiable: [Bool]

    public init(trace: [TraceJob], configuration: Configuration) {
        self.configuration = configuration
        fleet = SimulatedFleet(gpus: configuration.gpus, seed: configuration.seed)
        let windowS = configuration.days * 86_400
        self.windowS = windowS
        // Times are counted from the window's start.
        let startS = Int64(configuration.fromDay * 86_400)
        let taken = trace.filter { $0.arrivalS >= startS && Double($0.arrivalS - startS) < windowS }.map {
            TraceJob(arrivalS: $0.arrivalS - startS, durationS: $0.durationS, gpus: $0.gpus)
        }
        let asked = taken.reduce(0.0) { $0 + Double($1.gpus) * Double($1.durationS) }
        copies = max(1, Int((configuration.load * Double(fleet.gpuCount) * windowS / max(asked, 1)).rounded()))
        var random = SplitMix64(seed: configuration.seed ^ 0xD3A4D)
        var arrivals = [TraceJob]()
        for job in taken {
            arrivals.append(job)
            for _ in 1..<copies {
                var copy = job
                copy.arrivalS += Int64.random(in: 0..<86_400, using: &random)
                arrivals.append(copy)
            }
        }
        arrivals.sort { $0.arrivalS < $1.arrivalS }
        let sites = SimulatedFleet.sites.map(\.name)
        jobs = arrivals.enumerated().map { index, trace in
            let members = trace.gpus <= 8 ? 1 : (trace.gpus + 7) / 8
            let each = (trace.gpus + members - 1) / members
            var placement = JobPlacement()
            let price: Double
            if each >= 8 || members > 1 {
                // Big training jobs want datacenter cards with the memory for them.
                placement.gpuModels = ["A100-80GB", "H100-SXM"]
                price = [2.0, 3.0, 4.0].randomElement(using: &random)!
            } else {
                price = [0.6, 1.2, 2.0, 3.0].randomElement(using: &random)!
                if Double.random(in: 0..<1, using: &random) < 0.25 { placement.minGpuMemoryMiB = 40 * 1024 }
            }
            let rule = Double.random(in: 0..<1, using: &random)
            if rule < 0.10 {
                placement.denyRegions = [sites.randomElement(using: &random)!]
            } else if rule < 0.15 {
                placement.allowRegions = ["eu-west", "eu-central"]
            }
            let duration = Double(max(trace.durationS, 1))
            let member = Demand(
                gpus: each, cpuCores: 4 * each, memoryMiB: 16 * 1024 * each, maxPriceMicroPerUnitHour: Int64(price * 1_000_000),
                placement: placement, requester: "r\(index % 500)", maxDurationS: Int(min(duration * 2, Double(JobSpec.durationSMax)))
            )
            return Job(arrivalS: Double(trace.arrivalS), durationS: duration, gpus: each * members, member: member, members: members)
        }
        satisfiable = Self.satisfiable(jobs, on: fleet, gangRoundTripMs: configuration.gangRoundTripMs)
    }

    static func satisfiable(_ jobs: [Job], on fleet: SimulatedFleet, gangRoundTripMs: Double) -> [Bool] {
        let alwaysOpen = fleet.nodes.map { node in
            var open = node
            open.policy.availableHoursUTC = []
            return open
        }
        let book = MarketBook(nodes: alwaysOpen, engine: PlacementEngine(profile: WorkloadProfile([])))
        var known = [Terms: Bool]()
        return jobs.map { job in
            let terms = Terms(job)
            if let answer = known[terms] { return answer }
            let answer = job.members == 1
                ? book.best(job.member, atMs: 0) != nil
                : book.placeGang(job.member, members: job.members, maxRoundTripMs: gangRoundTripMs, atMs: 0,
                                 clusterReady: { fleet.clusterReady[$0] }, roundTripMs: { fleet.roundTripMs($0, $1) }) != nil
            known[terms] = answer
            return answer
        }
    }

    /// Everything about a job that decides whether it can ever be placed.
    struct Terms: Hashable {
        var key: FailureKey
        var maxPrice: Int64
        var maxDurationS: Int

        init(_ job: Job) {
            key = FailureKey(job)
            maxPrice = job.member.maxPriceMicroPerUnitHour
            maxDurationS = job.member.maxDurationS
        }
    }

    /// Runs every scheduler on the same jobs and fleet.
    public func run(schedulers: [Scheduler] = Scheduler.allCases) -> [Outcome] {
        schedulers.map(run)
    }

    struct Event: Comparable {
        var timeS: Double
        /// 0: a job ends (capacity first), 1: an hour begins (policies' hours), 2: a job arrives.
        var kind: Int
        var id: Int

        static func < (lhs: Event, rhs: Event) -> Bool { (lhs.timeS, lhs.kind, lhs.id) < (rhs.timeS, rhs.kind, rhs.id) }
    }

    func run(_ scheduler: Scheduler) -> Outcome {
        let clock = ContinuousClock.now
        // The book holds the nodes in the fleet's (registration) order, so a node's index is its index in the fleet.
        var book = MarketBook(nodes: fleet.nodes, engine: PlacementEngine(profile: WorkloadProfile(jobs.map(\.member.podDemand))))
        let totalGPUs = Double(fleet.gpuCount)

        var events = Heap<Event>()
        for index in jobs.indices { events.push(Event(timeS: jobs[index].arrivalS, kind: 2, id: index)) }
        var hour = 1
        while Double(hour) * 3600 < windowS {
            events.push(Event(timeS: Double(hour) * 3600, kind: 1, id: hour))
            hour += 1
        }
        var queue = [Int]()
        var queueHead = 0
        // What each running job holds, by job index.
        var running = [Int: [(node: Int, gpus: [Int])]]()
        var delays = [Double]()
        var buckets = (0..<configuration.buckets).map { index in
            Bucket(
                startS: windowS * Double(index) / Double(configuration.buckets), endS: windowS * Double(index + 1) / Double(configuration.buckets),
                utilization: 0, idleGPUs: 0, queuedAtEnd: 0, started: 0, meanPrice: nil
            )
        }
        var bucketPriceWeight = [Double](repeating: 0, count: configuration.buckets)
        var bucketPriceSum = [Double](repeating: 0, count: configuration.buckets)
        var busyGPUs = 0.0
        var lastS = 0.0
        var priceWeight = 0.0, priceSum = 0.0

        // Busy GPU-seconds, split over the buckets the interval crosses.
        func advance(to timeS: Double) {
            var from = lastS
            let to = min(timeS, windowS)
            while from < to {
                let bucket = min(Int(from / windowS * Double(configuration.buckets)), configuration.buckets - 1)
                let end = min(to, buckets[bucket].endS)
                buckets[bucket].utilization += busyGPUs * (end - from)
                from = end
                if end >= buckets[bucket].endS { buckets[bucket].queuedAtEnd = queue.count - queueHead }
            }
            lastS = max(lastS, timeS)
        }

        func place(_ jobIndex: Int, atS nowS: Double) -> [(node: Int, gpus: [Int])]? {
            let job = jobs[jobIndex]
            let atMs = Int64(nowS * 1000)
            // Not enough nodes with that many whole GPUs free, whatever their price: nothing to score.
            if job.member.gpuMilliEach == 1000, book.nodesWithWholeGPUsFree(atLeast: job.member.gpus) < job.members { return nil }
            switch scheduler {
            case .crucible:
                if job.members == 1 {
                    guard let best = book.best(job.member, atMs: atMs) else { return nil }
                    return [(book.index(of: best.nodeId)!, best.gpuIndices)]
                }
                let gang = book.placeGang(
                    job.member, members: job.members, maxRoundTripMs: configuration.gangRoundTripMs, atMs: atMs,
                    clusterReady: { fleet.clusterReady[$0] }, roundTripMs: { fleet.roundTripMs($0, $1) }
                )
                return gang?.map { (book.index(of: $0.nodeId)!, $0.gpuIndices) }
            case .firstFitFIFO:
                return book.firstFit(job.member, members: job.members, atMs: atMs) { candidate, chosen in
                    job.members == 1 || (fleet.clusterReady[candidate]
                        && chosen.allSatisfy { fleet.roundTripMs($0, candidate) <= configuration.gangRoundTripMs })
                }
            }
        }

        func start(_ jobIndex: Int, on placements: [(node: Int, gpus: [Int])], atS nowS: Double) {
            let job = jobs[jobIndex]
            var price = 0.0
            for placement in placements {
                book.take(job.member, on: placement.node, gpus: placement.gpus)
                price += Double(book.nodes[placement.node].policy.askMicroPerGpuHour) / 1_000_000
            }
            price /= Double(placements.count)
            running[jobIndex] = placements
            busyGPUs += Double(job.gpus)
            delays.append(nowS - job.arrivalS)
            let weight = Double(job.gpus) * job.durationS
            priceWeight += weight
            priceSum += weight * price
            if nowS < windowS {
                let bucket = min(Int(nowS / windowS * Double(configuration.buckets)), configuration.buckets - 1)
                buckets[bucket].started += 1
                bucketPriceWeight[bucket] += weight
                bucketPriceSum[bucket] += weight * price
            }
            events.push(Event(timeS: nowS + job.durationS, kind: 0, id: jobIndex))
        }

        func finish(_ jobIndex: Int) {
            guard let placements = running.removeValue(forKey: jobIndex) else { return }
            let job = jobs[jobIndex]
            for placement in placements { book.release(job.member, on: placement.node, gpus: placement.gpus) }
            busyGPUs -= Double(job.gpus)
        }

        /// Tries queued jobs: FIFO only the head, again and again; the engine up to `backfillDepth` of them, skipping
        /// any whose terms equal one that already failed in this pass.
        func pass(atS nowS: Double) {
            switch scheduler {
            case .firstFitFIFO:
                while queueHead < queue.count, let placements = place(queue[queueHead], atS: nowS) {
                    start(queue[queueHead], on: placements, atS: nowS)
                    queueHead += 1
                }
            case .crucible:
                var failed = [FailureKey: [(price: Int64, durationS: Int)]]()
                func ruledOut(_ job: Job, _ key: FailureKey) -> Bool {
                    // A job that failed at a higher price and a shorter duration rules this one out: no node takes it.
                    failed[key]?.contains { $0.price >= job.member.maxPriceMicroPerUnitHour && $0.durationS <= job.member.maxDurationS } ?? false
                }
                var tried = 0
                var kept = [Int]()
                var cursor = queueHead
                while cursor < queue.count {
                    let jobIndex = queue[cursor]
                    cursor += 1
                    let key = FailureKey(jobs[jobIndex])
                    if tried >= configuration.backfillDepth || ruledOut(jobs[jobIndex], key) {
                        kept.append(jobIndex)
                        continue
                    }
                    tried += 1
                    if let placements = place(jobIndex, atS: nowS) {
                        start(jobIndex, on: placements, atS: nowS)
                    } else {
                        failed[key, default: []].append((jobs[jobIndex].member.maxPriceMicroPerUnitHour, jobs[jobIndex].member.maxDurationS))
                        kept.append(jobIndex)
                    }
                    if tried >= configuration.backfillDepth {
                        kept.append(contentsOf: queue[cursor...])
                        break
                    }
                }
                queue = kept
                queueHead = 0
            }
        }

        while let event = events.pop() {
            advance(to: event.timeS)
            if event.timeS > windowS, event.kind != 0 { continue }
            if event.timeS > windowS { break }
            switch event.kind {
            case 0:
                finish(event.id)
                pass(atS: event.timeS)
            case 1:
                pass(atS: event.timeS)
            default:
                guard satisfiable[event.id] else { continue }
                let waiting = queue.count > queueHead
                queue.append(event.id)
                // An arrival frees nothing for the jobs already waiting: the engine tries just the newcomer, and FIFO
                // tries it only when nothing is ahead of it.
                if scheduler == .crucible {
                    if let placements = place(event.id, atS: event.timeS) {
                        queue.removeLast()
                        start(event.id, on: placements, atS: event.timeS)
                    }
                } else if !waiting {
                    pass(atS: event.timeS)
                }
            }
        }
        advance(to: windowS)
        for index in buckets.indices {
            let length = buckets[index].endS - buckets[index].startS
            let busy = buckets[index].utilization / max(length, 1e-9)
            buckets[index].utilization = busy / totalGPUs
            buckets[index].idleGPUs = totalGPUs - busy
            if bucketPriceWeight[index] > 0 { buckets[index].meanPrice = bucketPriceSum[index] / bucketPriceWeight[index] }
        }
        let sorted = delays.sorted()
        func percentile(_ p: Double) -> Double { sorted.isEmpty ? 0 : sorted[min(Int(Double(sorted.count) * p), sorted.count - 1)] }
        let busySeconds = buckets.reduce(0.0) { $0 + $1.utilization * ($1.endS - $1.startS) }
        return Outcome(
            scheduler: scheduler, buckets: buckets, jobs: jobs.count, refused: satisfiable.filter { !$0 }.count, started: delays.count, waitingAtEnd: queue.count - queueHead,
            delayP50S: percentile(0.5), delayP99S: percentile(0.99), utilization: busySeconds / windowS,
            meanPrice: priceWeight > 0 ? priceSum / priceWeight : 0, seconds: (ContinuousClock.now - clock).totalSeconds
        )
    }

    /// Jobs of the same shape and rules: within one pass, a failure rules out the others that offer no more money and
    /// need no less time. (No simulated policy looks at the requester, so it is not part of the key.)
    struct FailureKey: Hashable {
        var gpus: Int
        var members: Int
        var placement: JobPlacement

        init(_ job: Job) {
            gpus = job.member.gpus
            members = job.members
            placement = job.member.placement
        }
    }
}
