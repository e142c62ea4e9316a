import CrucibleCore
import CrucibleMarket
import Foundation

/// A heterogeneous network for `sim market`: datacenter nodes of 8 and 4 GPUs and consumer machines of 1–4 cards,
/// spread over six sites on three continents, each with an ask near its model's reference price and some with the
/// limits real operators set (night hours only, no long jobs). Round trips follow the sites' distance.
public struct SimulatedFleet: Sendable {
    public struct Site: Sendable {
        public var name: String
        public var latitude: Double
        public var longitude: Double
    }

    /// What a kind of machine is, and what share of the network's GPUs machines of that kind hold.
    struct MachineKind {
        var model: String
        var gpusPerNode: [Int]
        var datacenter: Bool
        /// CRU per GPU-hour around which asks are drawn.
        var referencePrice: Double
        var gpuShare: Double
    }

    static let kinds = [
        MachineKind(model: "H100-SXM", gpusPerNode: [8], datacenter: true, referencePrice: 2.5, gpuShare: 0.20),
        MachineKind(model: "A100-80GB", gpusPerNode: [8], datacenter: true, referencePrice: 1.6, gpuShare: 0.25),
        MachineKind(model: "L40S", gpusPerNode: [4], datacenter: true, referencePrice: 1.0, gpuShare: 0.15),
        MachineKind(model: "A10", gpusPerNode: [4], datacenter: true, referencePrice: 0.6, gpuShare: 0.10),
        MachineKind(model: "RTX-4090", gpusPerNode: [1, 2, 4], datacenter: false, referencePrice: 0.4, gpuShare: 0.30),
    ]

    public static let sites = [
        Site(name: "us-east", latitude: 39.0, longitude: -77.5),
        Site(name: "us-west", latitude: 37.4, longitude: -122.0),
        Site(name: "eu-west", latitude: 53.3, longitude: -6.3),
        Site(name: "eu-central", latitude: 50.1, longitude: 8.7),
        Site(name: "ap-south", latitude: 19.1, longitude: 72.9),
        Site(name: "ap-east", latitude: 35.7, longitude: 139.7),
    ]

    public var nodes: [SupplyNode]
    /// Index into `sites` per node.
    public var siteOfNode: [Int]
    /// Datacenter nodes: measured links, so they may join clusters.
    public var clusterReady: [Bool]
    public var gpuCount: Int { nodes.reduce(0) { $0 + $1.gpus.count } }
    /// Round trips between sites, ms.
    let siteRoundTripMs: [[Double]]

    public init(gpus: Int, seed: UInt64) {
        var random = SplitMix64(seed: seed ^ 0xF1EE7)
        var nodes = [SupplyNode]()
        var sites = [Int]()
        var ready = [Bool]()
        for kind in Self.kinds {
            let target = Int((Double(gpus) * kind.gpuShare).rounded())
            var placed = 0
            while placed < target {
                let count = min(kind.gpusPerNode.randomElement(using: &random)!, max(target - placed, 1))
                let catalog = GPUCatalog.model(id: kind.model)!
                // Proven throughput a little under the datasheet, as challenges measure it.
                let cards = (0..<count).map { _ in
                    SupplyNode.GPU(
                        model: kind.model, memoryMiB: catalog.memoryGiB * 1024,
                        provenTops: catalog.denseInt8Tops * Double.random(in: 0.85...0.98, using: &random)
                    )
                }
                // Asks from 85% to 125% of the reference, in 5% steps: operators pick round prices.
                let ask = Int64((kind.referencePrice * Double(Int.random(in: 17...25, using: &random)) / 20 * 1_000_000).rounded())
                var policy = AgentPolicy(askMicroPerGpuHour: ask, askMicroPerCpuCoreHour: 40_000, maxConcurrentRuns: 64)
                if !kind.datacenter {
                    let draw = Double.random(in: 0..<1, using: &random)
                    // Gamers lend their cards at night; some take no job longer than 12 hours.
                    if draw < 0.4 { policy.availableHoursUTC = [.init(fromHour: 18, toHour: 8)] }
                    if draw >= 0.4, draw < 0.6 { policy.maxJobDurationS = 12 * 3600 }
                }
                let cores = kind.datacenter ? 16 * count : max(8 * count, 8)
                let memory = (kind.datacenter ? 128 : 32) * 1024 * count
                let site = Int.random(in: 0..<Self.sites.count, using: &random)
                nodes.append(SupplyNode(
                    nodeId: "n\(nodes.count)", operatorAddress: "op\(nodes.count % 997)", region: Self.sites[site].name, gpus: cards,
                    cpuCores: cores, cpuCoresFree: cores, memoryMiBFree: memory, runSlotsFree: 64, policy: policy
                ))
                sites.append(site)
                ready.append(kind.datacenter)
                placed += count
            }
        }
        // Registration order interleaves the kinds, as operators join over time.
        var order = Array(nodes.indices)
        order.shuffle(using: &random)
        self.nodes = order.map { nodes[$0] }
        siteOfNode = order.map { sites[$0] }
        clusterReady = order.map { ready[$0] }
        for index in self.nodes.indices { self.nodes[index].nodeId = "n\(index)" }
        siteRoundTripMs = Self.sites.map { a in Self.sites.map { b in Self.roundTripMs(a, b) } }
    }

    /// Round trip between two nodes in ms: 1 ms within a site, else light in fibre (about 200 km per ms each way)
    /// over the great-circle distance, plus that millisecond.
    public func roundTripMs(_ lhs: Int, _ rhs: Int) -> Double {
        lhs == rhs ? 0 : siteRoundTripMs[siteOfNode[lhs]][siteOfNode[rhs]]
    }

    static func roundTripMs(_ a: Site, _ b: Site) -> Double {
        if a.name == b.name { return 1 }
        let radians = Double.pi / 180
        let cosine = sin(a.latitude * radians) * sin(b.latitude * radians)
            + cos(a.latitude * radians) * cos(b.latitude * radians) * cos((a.longitude - b.longitude) * radians)
        let km = 6_371 * acos(min(1, max(-1, cosine)))
        return 1 + 2 * km / 200
    }
}
