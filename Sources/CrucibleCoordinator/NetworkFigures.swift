import CrucibleCore
import CrucibleStore

/// The numbers the network publishes (ARCHITECTURE §8) at one moment, computed from the state and from who is online:
/// what `/v1/network` and `/metrics` both show, so that the two never disagree.
public struct NetworkFigures: Sendable, Equatable {
    /// GPUs of one catalog model (or `unlisted`, for a GPU the catalog does not know).
    public struct GPUs: Sendable, Equatable {
        public var registered = 0
        /// On nodes seen within the online window.
        public var online = 0
        /// On nodes whose hardware passed its last challenge.
        public var proven = 0
        /// Given to a run that is running now.
        public var busy = 0
    }

    /// Prices of the runs that started on GPUs of one model, per GPU-hour.
    public struct Prices: Sendable, Equatable {
        public var runs = 0
        public var sumMicro: Int64 = 0
        public var minMicro = Int64.max
        public var maxMicro: Int64 = 0
        public var meanMicro: Int64 { runs == 0 ? 0 : sumMicro / Int64(runs) }

        mutating func add(_ priceMicro: Int64) {
            runs += 1
            sumMicro += priceMicro
            minMicro = min(minMicro, priceMicro)
            maxMicro = max(maxMicro, priceMicro)
        }
    }

    /// The work runs did in one hour.
    public struct HourOfWork: Sendable, Equatable {
        public var hourStartMs: Int64
        public var gpuHours = 0.0
        public var cpuCoreHours = 0.0
    }

    /// What was online and busy over one hour, from the presence samples taken in it.
    public struct HourOfUse: Sendable, Equatable {
        public var hourStartMs: Int64
        public var samples = 0
        public var gpusOnlineMean = 0.0
        public var gpusBusyMean = 0.0
        public var coresOnlineMean = 0.0
        public var coresBusyMean = 0.0
        /// Busy over online GPU-hours in the hour; nil when no GPU was online.
        public var gpuUtilization: Double? { gpusOnlineMean > 0 ? gpusBusyMean / gpusOnlineMean : nil }
        public var coreUtilization: Double? { coresOnlineMean > 0 ? coresBusyMean / coresOnlineMean : nil }
    }

    public static let unlistedModel = "unlisted"

    public var nodesRegistered = 0
    public var nodesOnline = 0
    public var nodesProven = 0
    public var gpusByModel: [String: GPUs] = [:]
    public var provenTops = 0.0
    public var challengesPassed = 0
    public var challengesFailed = 0
    public var jobsByState: [JobRecord.State: Int] = [:]
    public var runsRunning = 0
    /// CPU cores of the nodes online, and those that running runs asked for.
    public var coresOnline = 0
    public var coresBusy = 0
    public var gpuPricesByModel: [String: Prices] = [:]

    public init(state: NetworkState, isOnline: (String) -> Bool) {
        nodesRegistered = state.nodes.count
        for (nodeId, node) in state.nodes {
            let online = isOnline(nodeId), proven = node.proof.status == .proven
            if online {
                nodesOnline += 1
                coresOnline += node.registration.hardware.cpuCores
            }
            if proven {
                nodesProven += 1
                provenTops += node.proof.provenTops
            }
            challengesPassed += node.proof.passed
            challengesFailed += node.proof.failed
            for gpu in node.registration.hardware.gpus {
                gpusByModel[gpu.model ?? Self.unlistedModel, default: GPUs()].count(online: online, proven: proven)
            }
        }
        // Busy: each GPU a running run holds, once however many runs share it.
        var held = Set<NodeGPU>()
        for run in state.runs.values {
            // A GPU run's price is per GPU-hour (its unit is the GPU); the model is its first GPU's.
            if run.startedMs != nil, let nodeId = run.nodeId, let first = run.gpuIndices.first,
               let gpus = state.nodes[nodeId]?.registration.hardware.gpus, gpus.indices.contains(first) {
                gpuPricesByModel[gpus[first].model ?? Self.unlistedModel, default: Prices()].add(run.priceMicroPerUnitHour)
            }
            guard run.state == .running else { continue }
            runsRunning += 1
            coresBusy += state.jobs[run.jobId]?.spec.resources.cpuCores ?? 0
            guard let nodeId = run.nodeId else { continue }
            for position in run.gpuIndices { held.insert(NodeGPU(nodeId: nodeId, position: position)) }
        }
        for gpu in held {
            guard let gpus = state.nodes[gpu.nodeId]?.registration.hardware.gpus, gpus.indices.contains(gpu.position) else { continue }
            gpusByModel[gpus[gpu.position].model ?? Self.unlistedModel, default: GPUs()].busy += 1
        }
        for job in state.jobs.values { jobsByState[job.state, default: 0] += 1 }
    }

    /// Every model together.
    public var gpus: GPUs {
        gpusByModel.values.reduce(into: GPUs()) { total, model in
            total.registered += model.registered
            total.online += model.online
            total.proven += model.proven
            total.busy += model.busy
        }
    }

    /// Busy over online GPUs now; 0 when none is online.
    public var utilization: Double {
        let all = gpus
        return all.online == 0 ? 0 : Double(all.busy) / Double(all.online)
    }

    public var jobsTotal: Int { jobsByState.values.reduce(0, +) }

    /// GPU-hours and CPU core-hours that runs worked in each of the `hours` whole hours up to the one holding `nowMs`,
    /// oldest first; a run still going counts up to `nowMs`.
    public static func hoursOfWork(in state: NetworkState, hours: Int, endingAtMs nowMs: Int64) -> [HourOfWork] {
        let hourMs: Int64 = 3_600_000
        let firstStart = (nowMs / hourMs - Int64(hours - 1)) * hourMs
        var buckets = (0..<hours).map { HourOfWork(hourStartMs: firstStart + Int64($0) * hourMs) }
        for run in state.runs.values {
            guard let started = run.startedMs else { continue }
            let ended = min(run.endedMs ?? nowMs, nowMs)
            guard ended > started, ended > firstStart else { continue }
            let (gpus, cores) = workingUnits(of: run, in: state)
            let first = max(0, Int((started - firstStart) / hourMs)), last = min(hours - 1, Int((ended - 1 - firstStart) / hourMs))
            guard first <= last else { continue }
            for index in first...last {
                let start = buckets[index].hourStartMs
                let overlap = Double(min(ended, start + hourMs) - max(started, start)) / Double(hourMs)
                buckets[index].gpuHours += gpus * overlap
                buckets[index].cpuCoreHours += cores * overlap
            }
        }
        return buckets
    }

    /// How much checking the network does and what it finds (ARCHITECTURE §8: verification).
    public struct Verification: Sendable, Equatable {
        /// Tasks closed verified, and closed failed or lost in a dispute.
        public var tasksVerified = 0
        public var tasksFailed = 0
        /// Nodes slashed for a forged proof of GPU (openings that did not hold), and nodes whose last challenge failed.
        public var spoofersCaught = 0
        public var nodesFailingProof = 0
        /// Unit-hours (GPUs, or CPU cores for CPU work) that primary runs worked, and that replicas and arbiters worked
        /// checking them.
        public var primaryUnitHours = 0.0
        public var checkUnitHours = 0.0
        /// Checking work over the work checked; 0 when nothing ran.
        public var overhead: Double { primaryUnitHours > 0 ? checkUnitHours / primaryUnitHours : 0 }
    }

    public static func verification(in state: NetworkState) -> Verification {
        var figures = Verification()
        for job in state.jobs.values {
            for task in job.tasks {
                switch task.state {
                case .verified: figures.tasksVerified += 1
                case .failed, .disputed: figures.tasksFailed += 1
                default: break
                }
            }
        }
        figures.spoofersCaught = Set(state.slashes.filter { $0.reason == .spoofedHardware }.map(\.nodeId)).count
        figures.nodesFailingProof = state.nodes.values.filter { $0.proof.status == .failed }.count
        for run in state.runs.values {
            guard let started = run.startedMs, let ended = run.endedMs, ended > started else { continue }
            let (gpus, cores) = workingUnits(of: run, in: state)
            let unitHours = (gpus + cores) * Double(ended - started) / 3_600_000
            if run.role == .primary { figures.primaryUnitHours += unitHours } else { figures.checkUnitHours += unitHours }
        }
        return figures
    }

    /// What a run works with: the GPUs it holds, or — for CPU work, and only then — the cores its job asks for.
    static func workingUnits(of run: RunRecord, in state: NetworkState) -> (gpus: Double, cores: Double) {
        run.gpuIndices.isEmpty ? (0, Double(state.jobs[run.jobId]?.spec.resources.cpuCores ?? 0)) : (Double(run.gpuIndices.count), 0)
    }

    /// This moment's presence, as a sample to keep.
    public func presenceSample(atMs: Int64) -> PresenceSample {
        let all = gpus
        return PresenceSample(atMs: atMs, gpusOnline: Int64(all.online), gpusBusy: Int64(all.busy), coresOnline: Int64(coresOnline), coresBusy: Int64(coresBusy))
    }

    /// What was online and busy in each of the `hours` whole hours up to the one holding `nowMs`, oldest first: the
    /// mean over the samples taken in each (an hour nobody sampled has none).
    public static func hoursOfUse(_ samples: [PresenceSample], hours: Int, endingAtMs nowMs: Int64) -> [HourOfUse] {
        let hourMs: Int64 = 3_600_000
        let firstStart = (nowMs / hourMs - Int64(hours - 1)) * hourMs
        var buckets = (0..<hours).map { HourOfUse(hourStartMs: firstStart + Int64($0) * hourMs) }
        var sums = [(gpusOnline: Int64, gpusBusy: Int64, coresOnline: Int64, coresBusy: Int64)](repeating: (0, 0, 0, 0), count: hours)
        for sample in samples where sample.atMs >= firstStart && sample.atMs <= nowMs {
            let index = min(hours - 1, Int((sample.atMs - firstStart) / hourMs))
            buckets[index].samples += 1
            sums[index].gpusOnline += sample.gpusOnline
            sums[index].gpusBusy += sample.gpusBusy
            sums[index].coresOnline += sample.coresOnline
            sums[index].coresBusy += sample.coresBusy
        }
        for index in buckets.indices where buckets[index].samples > 0 {
            let count = Double(buckets[index].samples)
            buckets[index].gpusOnlineMean = Double(sums[index].gpusOnline) / count
            buckets[index].gpusBusyMean = Double(sums[index].gpusBusy) / count
            buckets[index].coresOnlineMean = Double(sums[index].coresOnline) / count
            buckets[index].coresBusyMean = Double(sums[index].coresBusy) / count
        }
        return buckets
    }

    private struct NodeGPU: Hashable {
        let nodeId: String
        let position: Int
    }
}

private extension NetworkFigures.GPUs {
    mutating func count(online: Bool, proven: Bool) {
        registered += 1
        if online { self.online += 1 }
        if proven { self.proven += 1 }
    }
}
