/// What a task asks of one node: CPU, memory, and GPUs — either a share of one GPU (milli < 1000, several tasks
/// sharing the card) or whole GPUs — optionally restricted to a set of GPU models. Tasks without GPUs ask for none.
public struct PodDemand: Sendable, Hashable {
    public var cpuMilli: Int
    public var memoryMiB: Int
    public var gpus: Int
    /// Per GPU, in thousandths; 1000 for whole GPUs.
    public var gpuMilli: Int
    /// Allowed models; empty allows any.
    public var models: [String]

    public init(cpuMilli: Int, memoryMiB: Int, gpus: Int, gpuMilli: Int, models: [String] = []) {
        self.cpuMilli = cpuMilli
        self.memoryMiB = memoryMiB
        self.gpus = gpus
        self.gpuMilli = gpus == 0 ? 0 : gpuMilli
        self.models = models.sorted()
    }

    public var isFractional: Bool { gpus == 1 && gpuMilli < 1000 }
    /// GPU thousandths requested in all.
    public var totalGPUMilli: Int { gpus * gpuMilli }

    /// The GPU part alone, which is what fragmentation is measured against.
    var shape: Shape { Shape(gpus: gpus, gpuMilli: gpuMilli, models: models) }

    struct Shape: Hashable {
        var gpus: Int
        var gpuMilli: Int
        var models: [String]
    }
}

/// A node's capacity and what is left of it: CPU, memory, and each GPU's free thousandths.
public struct PackingNode: Sendable, Equatable {
    public var model: String
    public var cpuMilli: Int
    public var memoryMiB: Int
    public var cpuFree: Int
    public var memoryFree: Int
    public var gpuFree: [Int]

    public init(model: String, cpuMilli: Int, memoryMiB: Int, gpus: Int) {
        self.model = model
        self.cpuMilli = cpuMilli
        self.memoryMiB = memoryMiB
        cpuFree = cpuMilli
        memoryFree = memoryMiB
        gpuFree = Array(repeating: 1000, count: gpus)
    }

    public var gpuFreeTotal: Int { gpuFree.reduce(0, +) }

    /// The GPUs `demand` could use here, best fit first, or nil if it cannot run here at all.
    func candidateGPUs(for demand: PodDemand) -> [[Int]]? {
        guard demand.cpuMilli <= cpuFree, demand.memoryMiB <= memoryFree else { return nil }
        if demand.gpus == 0 { return [[]] }
        guard demand.models.isEmpty || demand.models.contains(model) else { return nil }
        if demand.isFractional {
            // One choice per distinct free amount: GPUs with equal free capacity are interchangeable.
            var seen = Set<Int>()
            let options = gpuFree.indices.filter { gpuFree[$0] >= demand.gpuMilli && seen.insert(gpuFree[$0]).inserted }
            return options.isEmpty ? nil : options.map { [$0] }
        }
        let whole = gpuFree.indices.filter { gpuFree[$0] == 1000 }
        return whole.count >= demand.gpus ? [Array(whole.prefix(demand.gpus))] : nil
    }

    mutating func take(_ demand: PodDemand, gpus: [Int]) {
        cpuFree -= demand.cpuMilli
        memoryFree -= demand.memoryMiB
        for index in gpus { gpuFree[index] -= demand.gpuMilli }
    }
}

/// The demand a cluster expects, by GPU shape, with the CPU and memory that tasks of each shape ask for: the basis
/// of the fragmentation measure. Built from the tasks seen (a trace, or the network's recent jobs).
public struct WorkloadProfile: Sendable {
    struct ShapeClass {
        var shape: PodDemand.Shape
        /// The class's share of all tasks.
        var weight: Double
        /// Its tasks' distinct CPU and memory requests, with their share within the class.
        var hostRequests: [(cpuMilli: Int, memoryMiB: Int, share: Double)]
    }

    let classes: [ShapeClass]
    /// CPU and memory that GPU tasks ask per thousandth of GPU, on average: what a node must keep to use its GPUs.
    let cpuPerGPUMilli: Double
    let memoryPerGPUMilli: Double

    public init(_ demands: [PodDemand]) {
        var byShape = [PodDemand.Shape: [PodDemand]]()
        for demand in demands { byShape[demand.shape, default: []].append(demand) }
        let total = Double(max(demands.count, 1))
        let gpuTasks = demands.filter { $0.gpus > 0 }
        let gpuMilli = Double(max(gpuTasks.reduce(0) { $0 + $1.totalGPUMilli }, 1))
        cpuPerGPUMilli = Double(gpuTasks.reduce(0) { $0 + $1.cpuMilli }) / gpuMilli
        memoryPerGPUMilli = Double(gpuTasks.reduce(0) { $0 + $1.memoryMiB }) / gpuMilli
        classes = byShape.map { shape, members in
            var counts = [[Int]: Int]()
            for member in members { counts[[member.cpuMilli, member.memoryMiB], default: 0] += 1 }
            let requests = counts.map { (cpuMilli: $0.key[0], memoryMiB: $0.key[1], share: Double($0.value) / Double(members.count)) }
                .sorted { ($0.cpuMilli, $0.memoryMiB) < ($1.cpuMilli, $1.memoryMiB) }
            return ShapeClass(shape: shape, weight: Double(members.count) / total, hostRequests: requests)
        }
        .sorted { ($0.shape.gpus, $0.shape.gpuMilli, $0.shape.models.joined()) < ($1.shape.gpus, $1.shape.gpuMilli, $1.shape.models.joined()) }
    }

    /// The GPU capacity of a node that the expected next task could not use, in thousandths, averaged over the
    /// workload (Weng et al., ATC 2023): for each kind of task, the free capacity on GPUs too full for it, or all of
    /// it when the task cannot run on the node now (CPU, memory, too few GPUs).
    func fragmentation(model: String, cpuFree: Int, memoryFree: Int, gpuFree: [Int]) -> Double {
        let free = gpuFree.reduce(0, +)
        guard free > 0 else { return 0 }
        var expected = 0.0
        for entry in classes {
            let shape = entry.shape
            // A task restricted to other models never runs here whatever is placed: that is no fragmentation that a
            // placement causes, and counting it would only bias every placement toward rarer models.
            if shape.gpus > 0, !shape.models.isEmpty, !shape.models.contains(model) { continue }
            // The share of this class's tasks whose CPU and memory fit what is left.
            var fits = 0.0
            for request in entry.hostRequests where request.cpuMilli <= cpuFree && request.memoryMiB <= memoryFree { fits += request.share }
            var unusable = Double(free)
            if shape.gpus > 0 {
                if shape.gpuMilli < 1000 {
                    if gpuFree.contains(where: { $0 >= shape.gpuMilli }) {
                        unusable = Double(gpuFree.filter { $0 < shape.gpuMilli }.reduce(0, +))
                    }
                } else if gpuFree.filter({ $0 == 1000 }).count >= shape.gpus {
                    unusable = Double(gpuFree.filter { $0 < 1000 }.reduce(0, +))
                }
            }
            expected += entry.weight * (fits * unusable + (1 - fits) * Double(free))
        }
        // Crucible's addition to FGD: GPU capacity that the node's remaining CPU or memory could not feed at the
        // workload's usual ratio is unusable too, whatever shape the next task has. On openb a third of what FGD
        // leaves free sits on nodes whose CPU is gone; counting it lifts the allocated share by about a point on
        // every task mix tried.
        if cpuPerGPUMilli > 0, memoryPerGPUMilli > 0 {
            let feedable = min(Double(cpuFree) / cpuPerGPUMilli, Double(memoryFree) / memoryPerGPUMilli)
            expected += max(0, Double(free) - feedable)
        }
        return expected
    }
}

/// Places tasks on nodes, one at a time, never taking back a placement. `fragmentation` is Crucible's policy: among
/// every feasible node and GPU choice it takes the one that adds least to the cluster's expected fragmentation (FGD's
/// measure plus GPUs stranded without CPU or memory), so capacity stays usable for the tasks that come next; ties go
/// to the fuller node.
public struct GPUPacker: Sendable {
    public enum Policy: String, Sendable, CaseIterable {
        case random
        /// The node left with least GPU (then CPU) capacity, as a share of its total.
        case bestFit = "best-fit"
        case fragmentation
    }

    public private(set) var nodes: [PackingNode]
    let profile: WorkloadProfile
    public private(set) var allocatedGPUMilli = 0
    public let totalGPUMilli: Int
    /// Nodes by state, each group's members in index order: nodes in the same state score the same, so a decision
    /// scores each distinct state once instead of every node. Kept up to date by every placement.
    private var groups: [NodeState: [Int]] = [:]

    public init(nodes: [PackingNode], profile: WorkloadProfile) {
        self.nodes = nodes
        self.profile = profile
        totalGPUMilli = nodes.reduce(0) { $0 + $1.gpuFree.count * 1000 }
        for (index, node) in nodes.enumerated() { groups[NodeState(node), default: []].append(index) }
    }

    /// Places `demand` by `policy`; false when no node can take it.
    @discardableResult
    public mutating func place(_ demand: PodDemand, policy: Policy, using random: inout some RandomNumberGenerator) -> Bool {
        var best: (node: Int, gpus: [Int], score: Double, tie: Double)?
        var feasible = [(members: [Int], options: [[Int]])]()
        var feasibleNodes = 0
        // Each state's first member stands for the group; visiting groups by it keeps the node-order tie-breaks.
        for members in groups.values.sorted(by: { $0[0] < $1[0] }) {
            let index = members[0]
            let node = nodes[index]
            guard let options = node.candidateGPUs(for: demand) else { continue }
            switch policy {
            case .random:
                feasible.append((members, options))
                feasibleNodes += members.count
            case .bestFit:
                let gpuLeft = Double(node.gpuFreeTotal - demand.totalGPUMilli) / Double(max(node.gpuFree.count * 1000, 1))
                let cpuLeft = Double(node.cpuFree - demand.cpuMilli) / Double(max(node.cpuMilli, 1))
                let score = gpuLeft * 2 + cpuLeft
                // Within the node, the fullest GPU that fits.
                let gpus = options.min { node.gpuFree[$0.first ?? 0] < node.gpuFree[$1.first ?? 0] } ?? []
                if best == nil || score < best!.score { best = (index, gpus, score, 0) }
            case .fragmentation:
                let before = profile.fragmentation(model: node.model, cpuFree: node.cpuFree, memoryFree: node.memoryFree, gpuFree: node.gpuFree)
                let tie = Double(node.gpuFreeTotal - demand.totalGPUMilli)
                for option in options {
                    var after = node
                    after.take(demand, gpus: option)
                    let delta = profile.fragmentation(model: after.model, cpuFree: after.cpuFree, memoryFree: after.memoryFree, gpuFree: after.gpuFree) - before
                    if best == nil || delta < best!.score - 1e-9 || (abs(delta - best!.score) <= 1e-9 && tie < best!.tie) {
                        best = (index, option, delta, tie)
                    }
                }
            }
        }
        let chosen: (node: Int, gpus: [Int])?
        if policy == .random {
            // A node drawn uniformly among all feasible ones, then one of its options.
            var draw = feasibleNodes > 0 ? Int.random(in: 0..<feasibleNodes, using: &random) : -1
            var pick: (node: Int, gpus: [Int])?
            for group in feasible where pick == nil {
                if draw < group.members.count {
                    pick = (group.members[draw], group.options.randomElement(using: &random)!)
                } else {
                    draw -= group.members.count
                }
            }
            chosen = pick
        } else {
            chosen = best.map { ($0.node, $0.gpus) }
        }
        guard let chosen else { return false }
        let old = NodeState(nodes[chosen.node])
        nodes[chosen.node].take(demand, gpus: chosen.gpus)
        move(chosen.node, from: old, to: NodeState(nodes[chosen.node]))
        allocatedGPUMilli += demand.totalGPUMilli
        return true
    }

    private mutating func move(_ index: Int, from old: NodeState, to new: NodeState) {
        guard old != new else { return }
        var members = groups.removeValue(forKey: old) ?? []
        members.removeAll { $0 == index }
        if !members.isEmpty { groups[old] = members }
        var joined = groups[new] ?? []
        joined.insert(index, at: joined.firstIndex { $0 > index } ?? joined.count)
        groups[new] = joined
    }

    struct NodeState: Hashable {
        var model: String
        var cpuMilli: Int
        var cpuFree: Int
        var memoryFree: Int
        var gpuFree: [Int]

        init(_ node: PackingNode) {
            model = node.model
            cpuMilli = node.cpuMilli
            cpuFree = node.cpuFree
            memoryFree = node.memoryFree
            gpuFree = node.gpuFree
        }
    }

    /// The share of the cluster's GPU capacity allocated.
    public var allocatedShare: Double { Double(allocatedGPUMilli) / Double(max(totalGPUMilli, 1)) }
}
